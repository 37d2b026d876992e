use serde_json::json;

use crate::helpers::{incident, spawn_app};

#[tokio::test]
async fn create_get_and_not_modified() {
    let app = spawn_app().await;
    let res = app.post("/v1/incidents", &incident("2024-05-01T03:15:00+04:00", "mortar_fire")).await;
    assert_eq!(res.status, 201, "{}", res.text);
    let id = res.body["id"].as_str().unwrap();
    assert_eq!(uuid::Uuid::parse_str(id).unwrap().get_version_num(), 7);
    assert_eq!(res.body["version"], 1);
    assert_eq!(res.body["occurred_at"], "2024-05-01T03:15:00+04:00", "in the offset it was reported with");
    assert_eq!(res.body["violations"], 1);
    assert_eq!(res.body["verification"], "unverified");
    assert_eq!(res.body["time_precision"], "minute");
    assert_eq!(res.body["casualties"]["killed_civilian"], serde_json::Value::Null, "unknown is not zero");
    assert_eq!(res.header("location"), Some(format!("/v1/incidents/{id}").as_str()));
    let etag = res.header("etag").unwrap().to_string();

    let got = app.get(&format!("/v1/incidents/{id}")).await;
    assert_eq!(got.status, 200);
    assert_eq!(got.body, res.body);
    assert_eq!(got.header("etag"), Some(etag.as_str()));
    let cached = app.send(app.client.get(app.url(&format!("/v1/incidents/{id}"))).header("If-None-Match", &etag)).await;
    assert_eq!(cached.status, 304);

    app.get(&format!("/v1/incidents/{}", uuid::Uuid::now_v7())).await.assert_problem(404);
    app.get("/v1/incidents/not-a-uuid").await.assert_problem(404);
}

#[tokio::test]
async fn patch_needs_the_current_etag() {
    let app = spawn_app().await;
    let res = app.post("/v1/incidents", &incident("2024-05-01T03:15:00Z", "mortar_fire")).await;
    let id = res.body["id"].as_str().unwrap().to_string();
    let path = format!("/v1/incidents/{id}");
    let etag = res.header("etag").unwrap().to_string();

    app.patch(&path, &json!({"verification": "corroborated"}), None).await.assert_problem(428);
    app.patch(&path, &json!({"verification": "corroborated"}), Some("\"99\"")).await.assert_problem(412);

    let patched = app.patch(&path, &json!({"verification": "corroborated", "casualties": {"wounded_military": 2}, "location": {"border_sector": null}}), Some(&etag)).await;
    assert_eq!(patched.status, 200, "{}", patched.text);
    assert_eq!(patched.body["version"], 2);
    assert_eq!(patched.body["verification"], "corroborated");
    assert_eq!(patched.body["casualties"]["wounded_military"], 2);
    assert_eq!(patched.body["location"]["border_sector"], serde_json::Value::Null);
    assert_eq!(patched.body["location"]["name"], "Sotk", "a merge patch keeps what it does not name");
    let new_etag = patched.header("etag").unwrap().to_string();
    assert_ne!(new_etag, etag);

    // The old ETag is stale now.
    let stale = app.patch(&path, &json!({"title": "Another title"}), Some(&etag)).await;
    stale.assert_problem(412);
    assert_eq!(stale.header("etag"), Some(new_etag.as_str()));

    let before = app.row_counts().await;
    for (patch, pointer) in [
        (json!({"occurred_until": "2024-04-01T00:00:00Z"}), "/occurred_until"),
        (json!({"claims": []}), "/claims"),
        (json!({"id": "x"}), "/id"),
        (json!({"occurred_at": null}), "/occurred_at"),
        (json!({"casualties": {"killed_civilian": -1}}), "/casualties/killed_civilian"),
        (json!({"type": "laser"}), "/type"),
        (json!({"unknown": 1}), "/unknown"),
    ] {
        let res = app.patch(&path, &patch, Some(&new_etag)).await;
        assert_eq!(res.assert_problem(422), vec![pointer.to_string()], "{patch}: {}", res.text);
    }
    assert_eq!(app.row_counts().await, before);
    assert_eq!(app.get(&path).await.body["version"], 2);
}

#[tokio::test]
async fn concurrent_patches_with_one_etag_one_wins() {
    let app = spawn_app().await;
    let res = app.post("/v1/incidents", &incident("2024-05-01T03:15:00Z", "mortar_fire")).await;
    let path = format!("/v1/incidents/{}", res.body["id"].as_str().unwrap());
    let etag = res.header("etag").unwrap().to_string();
    let attempts = (0..8).map(|i| {
        let (app, path, etag) = (&app, path.clone(), etag.clone());
        async move { app.patch(&path, &json!({"title": format!("Title {i}")}), Some(&etag)).await.status }
    });
    let mut statuses = futures_util::future::join_all(attempts).await;
    statuses.sort();
    assert_eq!(statuses, [200, 412, 412, 412, 412, 412, 412, 412]);
    assert_eq!(app.get(&path).await.body["version"], 2);
}

#[tokio::test]
async fn delete_is_soft_and_history_keeps_everything() {
    let app = spawn_app().await;
    app.seed().await;
    let res = app.post("/v1/incidents", &incident("2024-05-01T03:15:00Z", "mortar_fire")).await;
    let id = res.body["id"].as_str().unwrap().to_string();
    let path = format!("/v1/incidents/{id}");
    let etag = res.header("etag").unwrap().to_string();
    let patched = app.patch(&path, &json!({"title": "Mortar fire on Sotk"}), Some(&etag)).await;
    let claim = app
        .post(
            &format!("{path}/claims"),
            &json!({"claimant": "am-mod", "stance": "accuses", "target": "az-armed-forces"}),
        )
        .await;
    assert_eq!(claim.status, 201);

    app.delete(&path, None).await.assert_problem(428);
    app.delete(&path, Some(patched.header("etag").unwrap())).await.assert_problem(412);
    let current = app.get(&path).await.header("etag").unwrap().to_string();
    let deleted = app.delete(&path, Some(&current)).await;
    assert_eq!(deleted.status, 204, "{}", deleted.text);

    app.get(&path).await.assert_problem(410);
    app.delete(&path, Some(&current)).await.assert_problem(410);
    app.post(&format!("{path}/claims"), &json!({"claimant": "euma", "stance": "confirms"})).await.assert_problem(410);
    assert_eq!(app.get("/v1/incidents").await.body["data"].as_array().unwrap().len(), 0);
    let with_deleted = app.get("/v1/incidents?include_deleted=true").await;
    assert_eq!(with_deleted.body["data"][0]["id"], id.as_str());
    assert!(with_deleted.body["data"][0]["deleted_at"].is_string());
    assert_eq!(app.get("/v1/claims").await.body["data"].as_array().unwrap().len(), 0);
    assert_eq!(app.sql_count("SELECT count(*) AS n FROM incidents").await, 1, "nothing is hard-deleted");

    let history = app.get(&format!("{path}/history")).await;
    assert_eq!(history.status, 200);
    let revs = history.body["data"].as_array().unwrap();
    let actions: Vec<&str> = revs.iter().map(|r| r["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["create", "update", "claim", "delete"]);
    let versions: Vec<i64> = revs.iter().map(|r| r["version"].as_i64().unwrap()).collect();
    assert_eq!(versions, [1, 2, 3, 4]);
    assert_eq!(revs[0]["changes"]["title"], "Mortar fire reported");
    assert_eq!(revs[1]["changes"], json!({"title": {"from": "Mortar fire reported", "to": "Mortar fire on Sotk"}}));
    assert_eq!(revs[2]["changes"]["claim"]["stance"], "accuses");
    assert!(revs.iter().all(|r| r["at"].is_string()));
    app.get(&format!("/v1/incidents/{}/history", uuid::Uuid::now_v7())).await.assert_problem(404);
}

#[tokio::test]
async fn batch_is_all_or_nothing() {
    let app = spawn_app().await;
    app.seed().await;
    let mut items: Vec<_> = (0..5).map(|i| incident(&format!("2024-01-0{}T10:00:00Z", i + 1), "sniper_fire")).collect();
    items[2]["claims"] = json!([{"claimant": "am-mod", "stance": "accuses", "target": "az-armed-forces"}]);
    let ok = app.post("/v1/incidents/batch", &json!({"incidents": items})).await;
    assert_eq!(ok.status, 201, "{}", ok.text);
    let data = ok.body["data"].as_array().unwrap();
    assert_eq!(data.len(), 5);
    assert_eq!(data[2]["attribution"]["accusers"], json!(["am-mod"]));
    assert_eq!(app.get("/v1/incidents?accuser=am-mod").await.body["data"].as_array().unwrap().len(), 1);

    let before = app.row_counts().await;
    let mut bad = items.clone();
    bad[3]["claims"] = json!([{"claimant": "am-mod", "stance": "accuses", "target": "am-armed-forces"}]);
    bad[4]["violations"] = json!(0);
    let res = app.post("/v1/incidents/batch", &json!({"incidents": bad})).await;
    assert_eq!(res.assert_problem(422), vec!["/incidents/3/claims/0/target", "/incidents/4/violations"]);

    let too_many: Vec<_> = (0..1001).map(|_| incident("2024-01-01T10:00:00Z", "other")).collect();
    let res = app.post("/v1/incidents/batch", &json!({"incidents": too_many})).await;
    assert_eq!(res.assert_problem(422), vec!["/incidents"]);
    app.post("/v1/incidents/batch", &json!({"incidents": []})).await.assert_problem(422);
    app.post("/v1/incidents/batch", &json!([])).await.assert_problem(422);
    assert_eq!(app.row_counts().await, before);

    let thousand: Vec<_> = (0..1000).map(|i| incident(&format!("2024-02-01T10:{:02}:00Z", i % 60), "other")).collect();
    let res = app.post("/v1/incidents/batch", &json!({"incidents": thousand})).await;
    assert_eq!(res.status, 201);
    assert_eq!(app.sql_count("SELECT count(*) AS n FROM incidents").await, 1005);
    assert_eq!(app.sql_count("SELECT count(*) AS n FROM revisions").await, 1005);
}

/// GET by id reads an incident with everything beside it in one statement,
/// lists and exports load many at once: both give the same record, fields
/// of every kind included (times with microseconds and offsets, nulls,
/// several sources, external ids, a denial answering an accusation).
#[tokio::test]
async fn get_and_list_give_the_same_record() {
    let app = spawn_app().await;
    app.seed().await;
    let mut body = incident("2024-05-01T03:15:00.123456+04:00", "mortar_fire");
    body["sources"] = json!([
        {"url": "https://example.org/a", "title": "A \"quoted\" title ✓", "publisher": "P",
         "published_at": "2024-05-01T11:22:33.654321+04:00"},
        {"url": "https://example.org/b"}
    ]);
    body["external_ids"] = json!({"acled": "ARM1", "ucdp": "U-2"});
    body["claims"] = json!([{"claimant": "am-mod", "stance": "accuses", "target": "az-armed-forces",
                             "stated_at": "2024-05-01T12:00:00Z", "quote": "line 1\nline 2"}]);
    let created = app.post("/v1/incidents", &body).await;
    assert_eq!(created.status, 201, "{}", created.text);
    let id = created.body["id"].as_str().unwrap().to_string();
    let accusation = created.body["claims"][0]["id"].as_str().unwrap().to_string();
    let denial = app
        .post(
            &format!("/v1/incidents/{id}/claims"),
            &json!({"claimant": "az-mod", "stance": "denies", "responds_to": accusation,
                    "stated_at": "2024-05-02T00:00:00Z"}),
        )
        .await;
    assert_eq!(denial.status, 201, "{}", denial.text);

    let one = app.get(&format!("/v1/incidents/{id}")).await;
    assert_eq!(one.status, 200);
    assert_eq!(one.body["sources"][0]["published_at"], "2024-05-01T07:22:33.654321Z");
    assert_eq!(one.body["sources"][1]["published_at"], serde_json::Value::Null);
    assert_eq!(one.body["external_ids"], json!({"acled": "ARM1", "ucdp": "U-2"}));
    assert_eq!(one.body["claims"][1]["responds_to"], accusation.as_str());
    assert_eq!(one.body["claims"][0]["quote"], "line 1\nline 2");
    assert_eq!(one.body["attribution"]["deniers"], json!(["az-mod"]));
    let list = app.get("/v1/incidents?limit=10").await;
    assert_eq!(list.status, 200);
    assert_eq!(list.body["data"][0], one.body);
}

#[tokio::test]
async fn a_body_that_is_no_merge_patch_is_422_before_any_precondition() {
    let app = spawn_app().await;
    let created = app.post("/v1/incidents", &incident("2024-01-01T00:00:00Z", "other")).await;
    let path = format!("/v1/incidents/{}", created.body["id"].as_str().unwrap());
    for tag in [None, Some(""), Some("\"9\"")] {
        assert_eq!(app.patch(&path, &json!([null, null]), tag).await.assert_problem(422), vec![""], "{tag:?}");
        assert_eq!(app.patch(&path, &json!({"version": 3}), tag).await.assert_problem(422), vec!["/version"]);
    }
}
