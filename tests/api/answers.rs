//! Remembered answers (`api::answers`): served again only while nothing
//! was written since, on the instance that took a write and on every other.

use ceasefire::config::HttpArgs;
use diesel_async::SimpleAsyncConnection;
use serde_json::json;

use crate::helpers::{incident, spawn_app, spawn_app_with, Answer, TestApp};

const COUNT: &str = "/v1/stats/incidents?interval=month&from=2024-01-01&to=2025-01-01&tz=Asia/Baku&group_by=type";
const PAGE: &str = "/v1/incidents?limit=5&type=mortar_fire";

/// The instance's hits and misses so far, from /metrics.
async fn outcomes(client: &reqwest::Client, address: &str) -> (u64, u64) {
    let text = client.get(format!("{address}/metrics")).send().await.unwrap().text().await.unwrap();
    let of = |outcome: &str| {
        text.lines()
            .find(|l| l.starts_with(&format!("ceasefire_answer_cache_total{{outcome=\"{outcome}\"}}")))
            .and_then(|l| l.rsplit(' ').next())
            .map_or(0, |v| v.parse().unwrap())
    };
    (of("hit"), of("miss"))
}

/// Waits until `n` instances hold a lease (they answer from memory only then).
async fn leased(app: &TestApp, n: i64) {
    for _ in 0..100 {
        if app.sql_count("SELECT count(*) AS n FROM answer_caches WHERE expires > now()").await >= n {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("{n} instances did not take a lease");
}

async fn get_at(app: &TestApp, address: &str, path: &str) -> Answer {
    app.send(app.client.get(format!("{address}{path}"))).await
}

fn total(answer: &Answer) -> i64 {
    assert_eq!(answer.status, 200, "{}", answer.text);
    answer.body["total"].as_i64().unwrap()
}

async fn post_one(app: &TestApp, day: &str) -> String {
    let res = app.post("/v1/incidents", &incident(&format!("{day}T10:00:00+04:00"), "mortar_fire")).await;
    assert_eq!(res.status, 201, "{}", res.text);
    res.body["id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn a_read_after_a_write_gets_the_written_record() {
    let app = spawn_app().await;
    leased(&app, 1).await;
    let id = post_one(&app, "2024-03-01").await;

    // The same reads twice: the second is remembered, and the same bytes.
    let mut firsts = Vec::new();
    for path in [COUNT, PAGE, &format!("/v1/incidents/{id}"), &format!("/v1/incidents/{id}/history")] {
        let first = app.get(path).await;
        assert_eq!(first.status, 200, "{path}: {}", first.text);
        assert_eq!(first.header("cache-control"), Some("public, max-age=0, must-revalidate"), "{path}");
        let (hits, _) = outcomes(&app.client, &app.address).await;
        let again = app.get(path).await;
        assert_eq!((again.text.as_str(), again.header("etag")), (first.text.as_str(), first.header("etag")), "{path}");
        assert_eq!(outcomes(&app.client, &app.address).await.0, hits + 1, "{path} was answered from memory");
        // A client that has it gets a 304, with what a cache needs.
        let etag = first.header("etag").unwrap().to_string();
        let revalidated = app.send(app.client.get(app.url(path)).header("If-None-Match", &etag)).await;
        assert_eq!((revalidated.status, revalidated.header("etag")), (304, Some(etag.as_str())), "{path}");
        assert_eq!(revalidated.header("cache-control"), Some("public, max-age=0, must-revalidate"));
        firsts.push(first);
    }
    assert_eq!(total(&firsts[0]), 1);

    // A write: every read after its 2xx includes it.
    for n in 2..=6 {
        post_one(&app, "2024-03-02").await;
        assert_eq!(total(&app.get(COUNT).await), n, "the count right after the write");
        let page = app.get(PAGE).await;
        assert_eq!(page.body["data"].as_array().unwrap().len() as i64, n.min(5));
    }
    // Exports stream and stay out of every cache.
    let export = app.get("/v1/incidents?format=csv").await;
    assert_eq!((export.status, export.header("cache-control")), (200, Some("no-store")));
    // A patch: the incident shows its new version at once; the ETag a
    // client holds no longer matches.
    let etag = firsts[2].header("etag").unwrap().to_string();
    let patched = app.patch(&format!("/v1/incidents/{id}"), &json!({"title": "Shelling"}), Some(&etag)).await;
    assert_eq!(patched.status, 200, "{}", patched.text);
    let now = app.send(app.client.get(app.url(&format!("/v1/incidents/{id}"))).header("If-None-Match", &etag)).await;
    assert_eq!((now.status, now.body["title"].as_str()), (200, Some("Shelling")));
    // A delete: 410 at once, and the count drops.
    let etag = now.header("etag").unwrap().to_string();
    assert_eq!(app.delete(&format!("/v1/incidents/{id}"), Some(&etag)).await.status, 204);
    app.get(&format!("/v1/incidents/{id}")).await.assert_problem(410);
    assert_eq!(total(&app.get(COUNT).await), 5);
}

#[tokio::test]
async fn a_write_through_one_instance_is_read_through_another() {
    let app = spawn_app().await;
    let other = app.another_instance(HttpArgs { workers: Some(1), rate_limit: 0, ..HttpArgs::default() }).await;
    leased(&app, 2).await;
    post_one(&app, "2024-05-01").await;
    // No notification of the events' commits: the other instance can only
    // learn of the writes from their announcements, which every write waits
    // for it to acknowledge.
    let mut conn = app.db().await;
    conn.batch_execute("ALTER TABLE events DISABLE TRIGGER events_written").await.unwrap();
    let (hits, _) = outcomes(&app.client, &other).await;
    for n in 1..=20 {
        assert_eq!(total(&get_at(&app, &other, COUNT).await), n);
        assert_eq!(total(&get_at(&app, &other, COUNT).await), n);
        post_one(&app, "2024-05-02").await;
    }
    assert_eq!(total(&get_at(&app, &other, COUNT).await), 21, "the last write, read through the other instance");
    // Most second reads were remembered (the listener's once-a-second
    // check for unnumbered events voids the cache too, now and then).
    let remembered = outcomes(&app.client, &other).await.0 - hits;
    assert!(remembered >= 10, "{remembered} of 20 second reads remembered on the other instance");
    conn.batch_execute("ALTER TABLE events ENABLE TRIGGER events_written").await.unwrap();
}

#[tokio::test]
async fn an_instance_that_cannot_hear_of_writes_stops_answering_from_memory() {
    let app = spawn_app().await;
    let other = app.another_instance(HttpArgs { workers: Some(1), rate_limit: 0, ..HttpArgs::default() }).await;
    leased(&app, 2).await;
    post_one(&app, "2024-06-01").await;
    let mut conn = app.db().await;
    conn.batch_execute("ALTER TABLE events DISABLE TRIGGER events_written").await.unwrap();
    assert_eq!(total(&get_at(&app, &other, COUNT).await), 1);
    assert_eq!(app.sql_count("SELECT count(*) AS n FROM answer_caches WHERE expires > now()").await, 2);
    // Both instances' rows locked: neither can write down what it heard,
    // nor renew its lease.
    let mut holder = app.db().await;
    holder.batch_execute("BEGIN; SELECT * FROM answer_caches FOR UPDATE").await.unwrap();
    let started = std::time::Instant::now();
    post_one(&app, "2024-06-02").await;
    let waited = started.elapsed();
    // The writer waited for the other instance's lease to run out, no longer.
    assert!(waited < std::time::Duration::from_millis(1600), "the write took {waited:?}");
    let (hits, misses) = outcomes(&app.client, &other).await;
    for _ in 0..3 {
        assert_eq!(total(&get_at(&app, &other, COUNT).await), 2, "read through the instance that heard nothing");
    }
    assert_eq!(outcomes(&app.client, &other).await, (hits, misses), "nothing answered from memory without a lease");
    holder.batch_execute("ROLLBACK").await.unwrap();
    // Once it hears from PostgreSQL again, it remembers again.
    let mut remembered = false;
    for _ in 0..100 {
        get_at(&app, &other, COUNT).await;
        if outcomes(&app.client, &other).await.0 > hits {
            remembered = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(remembered, "the instance answers from memory again");
    assert_eq!(total(&get_at(&app, &other, COUNT).await), 2);
    conn.batch_execute("ALTER TABLE events ENABLE TRIGGER events_written").await.unwrap();
}

#[tokio::test]
async fn a_count_asked_while_the_fold_is_held_includes_the_write() {
    let app = spawn_app().await;
    post_one(&app, "2024-07-01").await;
    app.wait_for_rollups().await;
    assert_eq!(total(&app.get(COUNT).await), 1);
    let mut holder = app.db().await;
    holder.batch_execute("BEGIN; UPDATE stat_fold_lock SET folded_at = now()").await.unwrap();
    for n in 2..=4 {
        post_one(&app, "2024-07-02").await;
        assert_eq!(total(&app.get(COUNT).await), n, "counted while the change waits to be folded");
    }
    assert!(app.sql_count("SELECT stat_waiting() AS n").await >= 1);
    holder.batch_execute("ROLLBACK").await.unwrap();
}

#[tokio::test]
async fn the_cache_keeps_to_its_size_and_private_reads_are_not_kept() {
    let app = spawn_app_with(HttpArgs {
        workers: Some(1),
        rate_limit: 0,
        cache_mb: 1,
        edge_max_age: 5,
        edge_stale_while_revalidate: 30,
        ..HttpArgs::default()
    })
    .await;
    let batch: Vec<_> =
        (0..200).map(|i| incident(&format!("2024-02-{:02}T08:00:00Z", i % 28 + 1), "mortar_fire")).collect();
    assert_eq!(app.post("/v1/incidents/batch", &json!({"incidents": batch})).await.status, 201);
    leased(&app, 1).await;
    // Pages of about 40 KB each (an answer may weigh a sixteenth of the
    // cache), far more than a megabyte of them.
    for offset in 0..60 {
        let path =
            format!("/v1/incidents?limit=50&from=2024-01-{:02}&to=2024-03-{:02}", offset % 28 + 1, offset / 28 + 1);
        let res = app.get(&path).await;
        assert_eq!(res.status, 200);
        assert_eq!(res.header("cache-control"), Some("public, max-age=0, s-maxage=5, stale-while-revalidate=30"));
    }
    let text = app.client.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
    let bytes: u64 = text
        .lines()
        .find(|l| l.starts_with("ceasefire_answer_cache_bytes "))
        .and_then(|l| l.rsplit(' ').next())
        .unwrap()
        .parse()
        .unwrap();
    assert!(bytes > 0 && bytes <= 1024 * 1024, "remembered {bytes} bytes with a 1 MB cache");

    // A read with a key is private: not remembered, not for shared caches.
    let (_, misses) = outcomes(&app.client, &app.address).await;
    let mine = app.get_as(COUNT, &app.token).await;
    assert_eq!((mine.status, mine.header("cache-control")), (200, Some("private, no-store")));
    assert_eq!(outcomes(&app.client, &app.address).await.1, misses, "not looked up");
    // A count without `to` ends at its arrival: computed each time.
    let open = "/v1/stats/incidents?interval=month&from=2024-01-01";
    for _ in 0..2 {
        let res = app.get(open).await;
        assert_eq!(res.status, 200);
        assert_eq!(outcomes(&app.client, &app.address).await.1, misses, "not looked up");
    }
}
