use crate::helpers::spawn_app;

#[tokio::test]
async fn liveness_and_readiness() {
    let app = spawn_app().await;
    let live = app.get("/healthz").await;
    assert_eq!(live.status, 200);
    assert_eq!(live.body["status"], "ok");
    let ready = app.get("/readyz").await;
    assert_eq!(ready.status, 200, "{}", ready.text);
    assert_eq!(ready.body["status"], "ready");
    assert!(ready.header("x-request-id").is_some_and(|id| !id.is_empty()));
}

#[tokio::test]
async fn unknown_route_is_a_problem() {
    let app = spawn_app().await;
    let res = app.get("/v1/nothing-here").await;
    res.assert_problem(404);
    assert!(res.body["detail"].as_str().unwrap().contains("/v1/nothing-here"));
}

#[tokio::test]
async fn wrong_method_is_a_problem_naming_the_allowed_ones() {
    let app = spawn_app().await;
    let res = app.send(app.client.put(app.url("/v1/incidents")).bearer_auth(&app.token)).await;
    res.assert_problem(405);
    assert_eq!(res.header("allow"), Some("GET, POST"));
    let res = app.send(app.client.delete(app.url("/healthz"))).await;
    res.assert_problem(405);
}

#[tokio::test]
async fn bad_json_is_a_problem() {
    let app = spawn_app().await;
    let res = app.post_raw("/v1/incidents", "application/json", "{\"title\": ").await;
    res.assert_problem(400);
    assert_eq!(res.body["type"], "urn:ceasefire:problem:malformed-json");
}

#[tokio::test]
async fn wrong_content_type_is_a_problem() {
    let app = spawn_app().await;
    let res = app.post_raw("/v1/incidents", "text/plain", "{}").await;
    res.assert_problem(415);
}

#[tokio::test]
async fn body_over_the_limit_is_a_problem() {
    let app = spawn_app().await;
    let big = format!("{{\"title\": \"{}\"}}", "x".repeat(5 * 1024 * 1024));
    let res = app.post_raw("/v1/incidents", "application/json", big).await;
    res.assert_problem(413);
    assert_eq!(app.row_counts().await["incidents"], 0);
}

#[tokio::test]
async fn bad_query_string_is_a_problem() {
    let app = spawn_app().await;
    app.get("/v1/incidents?limit=0").await.assert_problem(400);
    app.get("/v1/incidents?limit=-5").await.assert_problem(400);
    app.get("/v1/incidents?limit=99999999999999999999").await.assert_problem(400);
    app.get("/v1/incidents?from=yesterday").await.assert_problem(400);
    app.get("/v1/incidents?cursor=bogus").await.assert_problem(400);
    app.get("/v1/incidents?type=laser").await.assert_problem(400);
    let res = app.get("/v1/incidents?tpye=mortar_fire").await;
    assert_eq!(res.assert_problem(400), vec!["/query/tpye"]);
}
