use crate::helpers::spawn_app;

#[tokio::test]
async fn served_spec_equals_the_committed_file() {
    let app = spawn_app().await;
    let served = app.get("/openapi.json").await;
    assert_eq!(served.status, 200);
    let committed: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/openapi.json")).unwrap(),
    )
    .unwrap();
    assert!(
        served.body == committed,
        "openapi/openapi.json is stale: regenerate it with `cargo run -q -- openapi > openapi/openapi.json`"
    );
    assert_eq!(served.body["openapi"], "3.1.0");
    for path in [
        "/v1/incidents",
        "/v1/incidents/{id}",
        "/v1/incidents/{id}/claims",
        "/v1/claims",
        "/v1/parties",
        "/v1/incidents/batch",
    ] {
        assert!(served.body["paths"][path].is_object(), "{path} is not documented");
    }
}

#[tokio::test]
async fn swagger_ui_is_served() {
    let app = spawn_app().await;
    let res = app.get("/docs/").await;
    assert_eq!(res.status, 200);
    assert!(res.text.contains("swagger"), "{}", &res.text[..res.text.len().min(300)]);
}
