use serde_json::json;

use crate::helpers::{incident, spawn_app};

#[tokio::test]
async fn a_retry_replays_the_first_answer() {
    let app = spawn_app().await;
    let body = incident("2024-05-01T03:15:00Z", "mortar_fire");
    let first = app.post_with_key("/v1/incidents", &body, "retry-1").await;
    assert_eq!(first.status, 201);
    // The same JSON with its keys in another order is the same request.
    let reordered: serde_json::Value = serde_json::from_str(&body.to_string()).unwrap();
    let second = app
        .send(
            app.client
                .post(app.url("/v1/incidents"))
                .bearer_auth(&app.token)
                .header("Idempotency-Key", "retry-1")
                .json(&reordered),
        )
        .await;
    assert_eq!(second.status, 201);
    assert_eq!(second.body, first.body);
    assert_eq!(second.header("location"), first.header("location"));
    assert_eq!(second.header("etag"), first.header("etag"));
    assert_eq!(second.header("idempotent-replayed"), Some("true"));
    assert_eq!(app.sql_count("SELECT count(*) AS n FROM incidents").await, 1);

    let other = app.post_with_key("/v1/incidents", &incident("2024-05-02T03:15:00Z", "mortar_fire"), "retry-1").await;
    other.assert_problem(422);
    assert_eq!(other.body["type"], "urn:ceasefire:problem:idempotency-key-reused");
    assert_eq!(app.sql_count("SELECT count(*) AS n FROM incidents").await, 1);

    // A key is bound to its path too.
    app.seed().await;
    let party = app.post_with_key("/v1/parties", &json!({"slug": "x", "name": "X", "kind": "other"}), "retry-1").await;
    party.assert_problem(422);

    let bad = app.post_with_key("/v1/incidents", &body, "").await;
    assert_eq!(bad.assert_problem(422), vec!["/headers/idempotency-key"]);
}

#[tokio::test]
async fn a_failed_write_does_not_burn_the_key() {
    let app = spawn_app().await;
    let mut body = incident("2024-05-01T03:15:00Z", "mortar_fire");
    body["claims"] = json!([{"claimant": "nobody", "stance": "confirms"}]);
    app.post_with_key("/v1/incidents", &body, "k").await.assert_problem(422);
    app.seed().await;
    app.post("/v1/parties", &json!({"slug": "nobody", "name": "Nobody", "kind": "other"})).await;
    let retry = app.post_with_key("/v1/incidents", &body, "k").await;
    assert_eq!(retry.status, 201, "{}", retry.text);
}

#[tokio::test]
async fn concurrent_requests_with_one_key_write_once() {
    let app = spawn_app().await;
    let body = incident("2024-05-01T03:15:00Z", "mortar_fire");
    let attempts = (0..10).map(|_| app.post_with_key("/v1/incidents", &body, "same-key"));
    let answers = futures_util::future::join_all(attempts).await;
    let ids: std::collections::HashSet<String> = answers
        .iter()
        .map(|a| {
            assert_eq!(a.status, 201, "{}", a.text);
            a.body["id"].as_str().unwrap().to_string()
        })
        .collect();
    assert_eq!(ids.len(), 1);
    assert_eq!(app.sql_count("SELECT count(*) AS n FROM incidents").await, 1);
    assert_eq!(app.sql_count("SELECT count(*) AS n FROM revisions").await, 1);
}
