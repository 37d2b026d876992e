//! No request can hang: a statement that waits too long is cancelled, and a
//! request that cannot get a database connection soon gets a 503.

use ceasefire::config::HttpArgs;
use diesel_async::{AsyncConnection, AsyncPgConnection, SimpleAsyncConnection};
use std::time::{Duration, Instant};

use crate::helpers::{incident, spawn_app_with_pool, url_for};

#[tokio::test]
async fn statement_timeout_and_pool_exhaustion_answer_503_fast() {
    // One pooled connection, a 300 ms wait for it, 1.5 s per statement.
    let app =
        spawn_app_with_pool(HttpArgs { workers: Some(1), rate_limit: 0, ..HttpArgs::default() }, 1, 300, 1500).await;
    // Another session holds the Idempotency-Key row the POST will need, so
    // the POST waits on a lock while holding the only pooled connection.
    let mut blocker = AsyncPgConnection::establish(&url_for(&app.db_name)).await.unwrap();
    blocker
        .batch_execute(
            "BEGIN; INSERT INTO idempotency_keys (scope, key, request_hash) \
             SELECT id::text, 'held', '\\x00' FROM api_keys WHERE name = 'test admin'",
        )
        .await
        .unwrap();

    let post = {
        let (client, url, token) = (app.client.clone(), app.url("/v1/incidents"), app.token.clone());
        tokio::spawn(async move {
            let started = Instant::now();
            let res = client
                .post(url)
                .bearer_auth(token)
                .header("Idempotency-Key", "held")
                .json(&incident("2024-01-01T00:00:00Z", "other"))
                .send()
                .await
                .unwrap();
            (res.status().as_u16(), started.elapsed(), res.headers().get("content-type").cloned())
        })
    };
    // Wait until the POST is blocked on the lock, holding the connection.
    for _ in 0..100 {
        let waiting = app
            .sql_count("SELECT count(*) AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()")
            .await;
        if waiting > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let started = Instant::now();
    let waiting = app.get("/v1/incidents").await;
    waiting.assert_problem(503);
    assert!(waiting.header("retry-after").is_some());
    assert!(started.elapsed() < Duration::from_secs(2), "no connection: answered in {:?}", started.elapsed());

    let (status, took, content_type) = post.await.unwrap();
    assert_eq!(status, 503, "the statement waiting on the lock was cancelled");
    assert!(took < Duration::from_secs(4), "cancelled after {took:?}");
    assert_eq!(content_type.unwrap(), "application/problem+json");

    blocker.batch_execute("ROLLBACK").await.unwrap();
    // The service is whole again, and the cancelled POST wrote nothing.
    assert_eq!(app.get("/readyz").await.status, 200);
    assert_eq!(app.sql_count("SELECT count(*) AS n FROM incidents").await, 0);
    let retry = app.post_with_key("/v1/incidents", &incident("2024-01-01T00:00:00Z", "other"), "held").await;
    assert_eq!(retry.status, 201, "{}", retry.text);
}
