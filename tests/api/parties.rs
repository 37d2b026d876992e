use serde_json::json;

use crate::helpers::spawn_app;

#[tokio::test]
async fn seed_loads_the_reference_parties_once() {
    let app = spawn_app().await;
    app.seed().await;
    app.seed().await;
    let list = app.get("/v1/parties").await;
    assert_eq!(list.status, 200);
    let data = list.body["data"].as_array().unwrap();
    assert_eq!(data.len(), ceasefire::seed::PARTIES.len());
    let az_mod = app.get("/v1/parties/az-mod").await;
    assert_eq!(az_mod.body["side"], "azerbaijan");
    assert_eq!(az_mod.body["parent"], "azerbaijan");
    let euma = app.get("/v1/parties/euma").await;
    assert_eq!(euma.body["side"], "eu");
    assert_eq!(euma.body["kind"], "monitoring_mission");
}

#[tokio::test]
async fn create_party_and_refuse_duplicates_and_bad_input() {
    let app = spawn_app().await;
    app.seed().await;
    let new = json!({"slug": "am-nss", "name": "National Security Service of Armenia", "kind": "government_body", "country": "AM", "parent": "armenia"});
    let res = app.post("/v1/parties", &new).await;
    assert_eq!(res.status, 201, "{}", res.text);
    assert_eq!(res.header("location"), Some("/v1/parties/am-nss"));
    assert_eq!(res.body["side"], "armenia");
    app.post("/v1/parties", &new).await.assert_problem(409);

    let before = app.row_counts().await;
    let cases = [
        (json!({"slug": "Bad Slug", "name": "x", "kind": "state"}), "/slug"),
        (json!({"slug": "../etc", "name": "x", "kind": "state"}), "/slug"),
        (json!({"slug": "x", "name": "x", "kind": "empire"}), "/kind"),
        (json!({"slug": "x", "name": "x", "kind": "state", "parent": "atlantis"}), "/parent"),
        (json!({"slug": "x", "name": "x", "kind": "state", "country": "ARM"}), "/country"),
        (json!({"slug": "x", "name": "  ", "kind": "state"}), "/name"),
        (json!({"slug": "x", "kind": "state"}), "/name"),
        (json!({"slug": "x", "name": "x", "kind": "state", "colour": "red"}), "/colour"),
    ];
    for (body, pointer) in cases {
        let res = app.post("/v1/parties", &body).await;
        assert_eq!(res.assert_problem(422), vec![pointer.to_string()], "{body}");
    }
    assert_eq!(app.row_counts().await, before);
    app.get("/v1/parties/atlantis").await.assert_problem(404);
}

#[tokio::test]
async fn reparenting_refuses_cycles() {
    let app = spawn_app().await;
    app.seed().await;
    let res = app.patch("/v1/parties/armenia", &json!({"parent": "am-mod"}), None).await;
    assert_eq!(res.assert_problem(422), vec!["/parent"]);
    let res = app.patch("/v1/parties/armenia", &json!({"parent": "armenia"}), None).await;
    assert_eq!(res.assert_problem(422), vec!["/parent"]);
    let res = app.patch("/v1/parties/armenia", &json!({"slug": "arm"}), None).await;
    res.assert_problem(422);
    assert_eq!(app.get("/v1/parties/armenia").await.body["parent"], serde_json::Value::Null);
}

#[tokio::test]
async fn reparenting_changes_sides_and_rederives_attribution() {
    let app = spawn_app().await;
    app.seed().await;
    let militia = json!({"slug": "irregulars", "name": "Irregular unit", "kind": "armed_forces"});
    assert_eq!(app.post("/v1/parties", &militia).await.status, 201);
    let mut incident = crate::helpers::incident("2024-03-01T10:00:00Z", "small_arms_fire");
    incident["claims"] = json!([
        {"claimant": "am-mod", "stance": "accuses", "target": "irregulars"},
        {"claimant": "az-mod", "stance": "denies", "responds_to_index": 0},
    ]);
    let created = app.post("/v1/incidents", &incident).await;
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!(created.body["attribution"]["denied"], false, "a denial from another side answers nothing");
    let id = created.body["id"].as_str().unwrap().to_string();
    let by_accused_side =
        "/v1/stats/incidents?interval=month&from=2024-01-01&to=2025-01-01&tz=Asia/Baku&group_by=accused_side";
    let accused_side = |body: &serde_json::Value| -> Vec<(String, i64)> {
        body["buckets"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|b| b["value"].as_i64().unwrap() > 0)
            .map(|b| (b["accused_side"].as_str().unwrap_or("none").to_string(), b["value"].as_i64().unwrap()))
            .collect()
    };
    app.wait_for_rollups().await;
    assert_eq!(accused_side(&app.get(by_accused_side).await.body), vec![("irregulars".to_string(), 1)]);

    let moved = app.patch("/v1/parties/irregulars", &json!({"parent": "azerbaijan"}), None).await;
    assert_eq!(moved.status, 200, "{}", moved.text);
    assert_eq!(moved.body["side"], "azerbaijan");
    let after = app.get(&format!("/v1/incidents/{id}")).await;
    assert_eq!(after.body["attribution"]["denied"], true);
    assert_eq!(after.body["attribution"]["disputed"], true);
    let by_side = app.get("/v1/incidents?accused_side=azerbaijan").await;
    assert_eq!(by_side.body["data"].as_array().unwrap().len(), 1);
    // The counts follow the new side, before and after the rollups catch up.
    assert_eq!(accused_side(&app.get(by_accused_side).await.body), vec![("azerbaijan".to_string(), 1)]);
    app.wait_for_rollups().await;
    assert_eq!(accused_side(&app.get(by_accused_side).await.body), vec![("azerbaijan".to_string(), 1)]);
}
