//! Hostile input: every one gets a 4xx problem, the service stays up, and
//! the database is unchanged by each rejected write.

use serde_json::json;

use crate::helpers::{incident, spawn_app};

const NASTY: &str = "<img src=x onerror=alert(1)>'); DELETE FROM parties; --\u{0430}\u{200b}\u{202e}";

#[tokio::test]
async fn hostile_requests_are_refused_and_change_nothing() {
    let app = spawn_app().await;
    app.seed().await;
    let created = app.post("/v1/incidents", &incident("2024-01-01T00:00:00Z", "other")).await;
    let id = created.body["id"].as_str().unwrap().to_string();
    let before = app.row_counts().await;

    // Paths: traversal, encoded slashes, confusables, absurd ids.
    for path in [
        "/v1/parties/..%2F..%2Fetc%2Fpasswd",
        "/v1/parties/%2e%2e",
        "/v1/parties/\u{0430}rmenia",
        "/v1/incidents/..%2Fkeys",
        "/v1/incidents/00000000-0000-0000-0000-000000000000",
        "/v1/claims/%00",
        "/../../etc/passwd",
    ] {
        let res = app.get(path).await;
        assert!(res.status == 404 || res.status == 400, "{path}: {}", res.status);
        res.assert_problem(res.status);
    }
    // A confusable slug is not a slug.
    let res = app.post("/v1/parties", &json!({"slug": "\u{0430}rmenia", "name": "x", "kind": "state"})).await;
    assert_eq!(res.assert_problem(422), vec!["/slug"]);

    // Preconditions and keys that are not what they claim.
    for tag in ["garbage", "\"\"", "W/\"1\"", "\"1\", \"2\"x"] {
        let res = app.patch(&format!("/v1/incidents/{id}"), &json!({"title": "x"}), Some(tag)).await;
        res.assert_problem(412);
    }
    let long_key = "k".repeat(300);
    for key in [long_key.as_str(), "with space", "\u{00e9}t\u{00e9}"] {
        let res = app
            .send(
                app.client
                    .post(app.url("/v1/incidents"))
                    .bearer_auth(&app.token)
                    .header("Idempotency-Key", key.as_bytes())
                    .json(&incident("2024-01-01T00:00:00Z", "other")),
            )
            .await;
        assert_eq!(res.assert_problem(422), vec!["/headers/idempotency-key"], "{key}");
    }

    // NUL, which PostgreSQL cannot store, anywhere.
    let res = app.post("/v1/parties", &json!({"slug": "nul", "name": "a\0b", "kind": "other"})).await;
    assert_eq!(res.assert_problem(422), vec!["/name"]);
    let mut with_nul = incident("2024-01-01T00:00:00Z", "other");
    with_nul["claims"] = json!([{"claimant": "euma", "stance": "confirms", "quote": "\0"}]);
    assert_eq!(app.post("/v1/incidents", &with_nul).await.assert_problem(422), vec!["/claims/0/quote"]);
    app.get("/v1/incidents?q=%00").await.assert_problem(400);
    app.get("/v1/incidents?border_sector=a%00b").await.assert_problem(400);
    app.get("/v1/parties/%00").await.assert_problem(404);

    // Query strings.
    let long_q = format!("q={}", "x".repeat(300));
    for query in [
        "limit=-1",
        "limit=1001",
        "limit=1e3",
        "limit=18446744073709551616",
        "cursor=eyJvIjoib2NjdXJyZWQiLCJhdCI6IngiLCJpZCI6InkifQ",
        "cursor=%00%ff",
        "from=99999-01-01",
        "from=2024-13-45",
        "bbox=NaN,NaN,NaN,NaN",
        "bbox=-inf,0,inf,1",
        long_q.as_str(),
        "type=",
        "type=mortar_fire,,other",
        "incident_id=",
    ] {
        app.get(&format!("/v1/incidents?{query}")).await.assert_problem(400);
    }

    // Bodies.
    let bodies: Vec<(&str, Vec<u8>)> = vec![
        ("application/json", b"{\"title\": \"unterminated".to_vec()),
        ("application/json", b"".to_vec()),
        ("application/json", b"null".to_vec()),
        ("application/json", b"\"just a string\"".to_vec()),
        ("application/json", vec![0xc3, 0x28, b'{', b'}']),
        ("application/json", b"{\"occurred_at\": \"2024-01-01T00:00:00Z\", \"violations\": 1e400}".to_vec()),
        ("application/xml", b"<incident/>".to_vec()),
        ("multipart/form-data; boundary=x", b"--x--".to_vec()),
    ];
    for (content_type, body) in bodies {
        let res = app.post_raw("/v1/incidents", content_type, body).await;
        assert!(matches!(res.status, 400 | 415 | 422), "{content_type}: {} {}", res.status, res.text);
        res.assert_problem(res.status);
    }
    let deep_object = format!("{}{}", "{\"a\":".repeat(10_000), "}".repeat(10_000));
    let res = app.post_raw("/v1/parties", "application/json", deep_object).await;
    res.assert_problem(400);

    // Every text field of every write takes hostile text verbatim or refuses it; none breaks anything.
    let mut body = incident("2024-01-01T00:00:00Z", "other");
    body["sources"] = json!([{"url": "https://example.org/?q=<script>", "title": NASTY, "publisher": NASTY}]);
    body["external_ids"] = json!({"acled": NASTY});
    body["claims"] = json!([{"claimant": "euma", "stance": "confirms", "quote": NASTY}]);
    body["location"]["border_sector"] = json!(NASTY);
    let stored = app.post("/v1/incidents", &body).await;
    assert_eq!(stored.status, 201, "{}", stored.text);
    assert_eq!(stored.body["sources"][0]["title"], NASTY);
    assert_eq!(stored.body["claims"][0]["quote"], NASTY);
    assert_eq!(stored.body["external_ids"]["acled"], NASTY);
    let by_sector = app.get(&format!("/v1/incidents?border_sector={}", urlencoding(NASTY))).await;
    assert_eq!(by_sector.body["data"].as_array().unwrap().len(), 1);
    let party = app.post("/v1/parties", &json!({"slug": "nasty", "name": NASTY, "kind": "other"})).await;
    assert_eq!(party.body["name"], NASTY);

    let mut after = app.row_counts().await;
    for table in ["incidents", "sources", "external_ids", "claims", "incident_parties", "revisions", "parties"] {
        *after.get_mut(table).unwrap() -=
            app.sql_count(&format!("SELECT count(*) AS n FROM {table} WHERE {}", accepted(table))).await;
    }
    assert_eq!(after, before, "only the accepted writes changed the database");
    assert_eq!(app.get("/healthz").await.status, 200);
}

/// Rows written by the two accepted writes at the end of the test above.
fn accepted(table: &str) -> &'static str {
    match table {
        "parties" => "slug = 'nasty'",
        "incidents" => "border_sector IS NOT NULL AND border_sector LIKE '<img%'",
        "revisions" => "incident_id IN (SELECT id FROM incidents WHERE border_sector LIKE '<img%')",
        _ => "incident_id IN (SELECT id FROM incidents WHERE border_sector LIKE '<img%')",
    }
}

fn urlencoding(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[tokio::test]
async fn a_hundred_mebibyte_body_is_refused_and_the_service_stays_up() {
    let app = spawn_app().await;
    let body = vec![b' '; 100 * 1024 * 1024];
    let res = app
        .client
        .post(app.url("/v1/incidents"))
        .bearer_auth(&app.token)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await;
    // The server answers 413 as soon as it sees the length; the client may
    // still be writing when the connection closes, which reqwest reports as an error.
    if let Ok(res) = res {
        assert_eq!(res.status(), 413);
        assert_eq!(res.headers()["content-type"], "application/problem+json");
    }
    assert_eq!(app.get("/healthz").await.status, 200);
    assert_eq!(app.row_counts().await["incidents"], 0);
}
