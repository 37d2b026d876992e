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

/// What a typed client relies on: buckets name their dimensions, closed
/// vocabularies are enums, security says which reads are public, and every
/// problem the server answered in these tests is a listed `type`.
#[tokio::test]
async fn the_spec_is_as_precise_as_the_server() {
    let app = spawn_app().await;
    let spec = app.get("/openapi.json").await.body;
    let schemas = &spec["components"]["schemas"];
    for d in ceasefire::domain::dimension::Dimension::ALL {
        let field = &schemas["Bucket"]["properties"][d.name()];
        let kind = if d.boolean() { "boolean" } else { "string" };
        assert_eq!(field["type"], serde_json::json!([kind, "null"]), "Bucket.{}", d.name());
    }
    let param = |path: &str, name: &str| -> serde_json::Value {
        spec["paths"][path]["get"]["parameters"].as_array().unwrap().iter().find(|p| p["name"] == name).unwrap().clone()
    };
    let group_by = param("/v1/stats/incidents", "group_by");
    assert_eq!((group_by["style"].as_str(), group_by["explode"].as_bool()), (Some("form"), Some(true)));
    let names: Vec<&str> =
        group_by["schema"]["items"]["enum"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    assert!(names.contains(&"accuser_side") && !names.contains(&"stance"), "{names:?}");
    assert_eq!(
        param("/v1/stats/claims", "measure")["schema"]["enum"],
        serde_json::json!(["claims", "violations", "killed", "wounded"])
    );
    assert_eq!(
        param("/v1/incidents", "format")["schema"]["enum"],
        serde_json::json!(["json", "csv", "geojson", "ndjson"])
    );
    // Public reads may send a key; the keys need the admin's; writes need one.
    assert_eq!(spec["paths"]["/v1/incidents"]["get"]["security"], serde_json::json!([{}, {"bearer": []}]));
    assert_eq!(spec["paths"]["/v1/keys"]["get"]["security"], serde_json::json!([{"bearer": []}]));
    assert_eq!(spec["paths"]["/v1/incidents"]["post"]["security"], serde_json::json!([{"bearer": []}]));
    // Problems the server answers are in the enum of Problem.type.
    let types = &schemas["Problem"]["properties"]["type"]["enum"];
    for answer in [
        app.get("/v1/nowhere").await,
        app.get("/v1/stats/incidents?interval=fortnight").await,
        app.post("/v1/incidents", &serde_json::json!({"title": ""})).await,
        app.send(app.client.post(app.url("/v1/incidents")).body("{")).await,
    ] {
        assert!(types.as_array().unwrap().contains(&answer.body["type"]), "{} not listed", answer.body["type"]);
    }
    // JSON is each answer's first content type, so a typed client gets it by default.
    for (path, method) in [("/v1/incidents", "get"), ("/v1/stats/incidents", "get"), ("/v1/stats/claims", "get")] {
        let content = spec["paths"][path][method]["responses"]["200"]["content"].as_object().unwrap();
        assert_eq!(content.keys().next().map(String::as_str), Some("application/json"), "{path}");
    }
}
