//! Invalid bodies get a 4xx problem with a pointer to the field, and leave
//! the database as it was.

use serde_json::{json, Value};

use crate::helpers::{incident, spawn_app};

fn with(mut base: Value, pointer: &str, value: Value) -> Value {
    *base.pointer_mut(pointer).unwrap_or_else(|| panic!("{pointer}")) = value;
    base
}

fn without(mut base: Value, field: &str) -> Value {
    base.as_object_mut().unwrap().remove(field);
    base
}

#[tokio::test]
async fn invalid_incidents_point_at_the_field_and_change_nothing() {
    let app = spawn_app().await;
    app.seed().await;
    let valid = incident("2024-05-01T03:15:00Z", "mortar_fire");
    assert_eq!(app.post("/v1/incidents", &valid).await.status, 201);
    let other = app.post("/v1/incidents", &valid).await;
    let other_claim = app
        .post(
            &format!("/v1/incidents/{}/claims", other.body["id"].as_str().unwrap()),
            &json!({"claimant": "euma", "stance": "confirms"}),
        )
        .await;
    let other_claim_id = other_claim.body["id"].as_str().unwrap().to_string();
    let before = app.row_counts().await;

    let claims = |c: Value| {
        with(valid.clone(), "/title", json!("t"))
            .as_object()
            .cloned()
            .map(|mut o| {
                o.insert("claims".into(), c);
                Value::Object(o)
            })
            .unwrap()
    };
    let cases: Vec<(Value, &str)> = vec![
        (with(valid.clone(), "/title", json!(42)), "/title"),
        (with(valid.clone(), "/title", json!("")), "/title"),
        (with(valid.clone(), "/title", json!("x".repeat(501))), "/title"),
        (with(valid.clone(), "/type", json!("laser_fire")), "/type"),
        (with(valid.clone(), "/occurred_at", json!("yesterday")), "/occurred_at"),
        (with(valid.clone(), "/occurred_at", json!("99999-01-01T00:00:00Z")), "/occurred_at"),
        (with(valid.clone(), "/occurred_at", json!("1850-01-01T00:00:00Z")), "/occurred_at"),
        (with(valid.clone(), "/occurred_at", json!("2999-01-01T00:00:00Z")), "/occurred_at"),
        (without(valid.clone(), "occurred_at"), "/occurred_at"),
        (without(valid.clone(), "location"), "/location"),
        (without(valid.clone(), "title"), "/title"),
        (with(valid.clone(), "/location/lat", json!(91.0)), "/location/lat"),
        (with(valid.clone(), "/location/lon", json!("east")), "/location/lon"),
        (with(valid.clone(), "/location/lat", Value::Null), "/location/lat"),
        (with(valid.clone(), "/location/country", json!("Armenia")), "/location/country"),
        (with(valid.clone(), "/location", json!({"name": "x", "precision": "galaxy"})), "/location/precision"),
        (with(with(valid.clone(), "/title", json!("t")), "/title", json!(["t"])), "/title"),
        (
            json!({"occurred_at": "2024-05-01T03:15:00Z", "type": "other", "location": {"name": "x"}, "title": "t", "casualties": {"killed_civilian": -1}}),
            "/casualties/killed_civilian",
        ),
        (
            json!({"occurred_at": "2024-05-01T03:15:00Z", "type": "other", "location": {"name": "x"}, "title": "t", "casualties": {"killed_civilian": 1e300}}),
            "/casualties/killed_civilian",
        ),
        (
            json!({"occurred_at": "2024-05-01T03:15:00Z", "type": "other", "location": {"name": "x"}, "title": "t", "violations": 0}),
            "/violations",
        ),
        (
            json!({"occurred_at": "2024-05-01T03:15:00Z", "type": "other", "location": {"name": "x"}, "title": "t", "violations": 12345678901234567890u64}),
            "/violations",
        ),
        (
            json!({"occurred_at": "2024-05-01T03:15:00Z", "occurred_until": "2024-04-30T00:00:00Z", "type": "other", "location": {"name": "x"}, "title": "t"}),
            "/occurred_until",
        ),
        (
            json!({"occurred_at": "2024-05-01T03:15:00Z", "type": "other", "location": {"name": "x"}, "title": "t", "sources": [{"url": "ftp://x"}]}),
            "/sources/0/url",
        ),
        (
            json!({"occurred_at": "2024-05-01T03:15:00Z", "type": "other", "location": {"name": "x"}, "title": "t", "sources": [{"title": "no url"}]}),
            "/sources/0/url",
        ),
        (
            json!({"occurred_at": "2024-05-01T03:15:00Z", "type": "other", "location": {"name": "x"}, "title": "t", "external_ids": {"ACLED!": "1"}}),
            "/external_ids/ACLED!",
        ),
        (
            json!({"occurred_at": "2024-05-01T03:15:00Z", "type": "other", "location": {"name": "x"}, "title": "t", "verification": "true"}),
            "/verification",
        ),
        (
            json!({"occurred_at": "2024-05-01T03:15:00Z", "type": "other", "location": {"name": "x"}, "title": "t", "id": "mine"}),
            "/id",
        ),
        (claims(json!([{"claimant": "atlantis", "stance": "confirms"}])), "/claims/0/claimant"),
        (claims(json!([{"claimant": "am-mod", "stance": "accuses"}])), "/claims/0/target"),
        (
            claims(
                json!([{"claimant": "euma", "stance": "confirms"}, {"claimant": "am-mod", "stance": "accuses", "target": "am-mod"}]),
            ),
            "/claims/1/target",
        ),
        (
            claims(json!([{"claimant": "am-mod", "stance": "denies", "responds_to": other_claim_id}])),
            "/claims/0/responds_to",
        ),
        (
            claims(json!([{"claimant": "am-mod", "stance": "retracts", "responds_to_index": 0}])),
            "/claims/0/responds_to_index",
        ),
        (claims(json!([{"stance": "confirms"}])), "/claims/0/claimant"),
        (claims(json!({"claimant": "euma"})), "/claims"),
        (json!([1, 2]), ""),
    ];
    for (body, pointer) in cases {
        let res = app.post("/v1/incidents", &body).await;
        let pointers = res.assert_problem(422);
        assert_eq!(pointers, vec![pointer.to_string()], "{body}: {}", res.text);
    }
    // NaN and Infinity are not JSON.
    for raw in [r#"{"title": NaN}"#, r#"{"violations": Infinity}"#, "{\"title\": \"\u{0}", "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["] {
        let res = app.post_raw("/v1/incidents", "application/json", raw).await;
        res.assert_problem(400);
    }
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let res = app.post_raw("/v1/incidents", "application/json", deep).await;
    res.assert_problem(400);
    let res = app.post_raw("/v1/incidents", "application/json", vec![0xff, 0xfe, b'{']).await;
    res.assert_problem(400);
    assert_eq!(app.row_counts().await, before, "rejected writes changed nothing");
}

#[tokio::test]
async fn text_is_stored_verbatim() {
    let app = spawn_app().await;
    let hostile = "<script>alert('x')</script>'; DROP TABLE incidents; -- \u{202e}Ꭺrmenia \u{202e} 🇦🇲";
    let mut body = incident("2024-05-01T03:15:00Z", "other");
    body["title"] = json!(hostile);
    body["description"] = json!(hostile);
    body["location"]["name"] = json!(hostile);
    let res = app.post("/v1/incidents", &body).await;
    assert_eq!(res.status, 201, "{}", res.text);
    let got = app.get(&format!("/v1/incidents/{}", res.body["id"].as_str().unwrap())).await;
    assert_eq!(got.body["title"], hostile);
    assert_eq!(got.body["description"], hostile);
    assert_eq!(got.body["location"]["name"], hostile);
    let found = app.get("/v1/incidents?q=DROP%20TABLE").await;
    assert_eq!(found.body["data"].as_array().unwrap().len(), 1);
}
