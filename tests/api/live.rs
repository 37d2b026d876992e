//! Live delivery: webhooks posted to a real receiver started by the test
//! and checked for order, signature and completeness; the event stream
//! read as a browser's EventSource would, and resumed.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use base64::Engine;
use ceasefire::config::HttpArgs;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};

use crate::helpers::{incident, spawn_app_with, TestApp};
use crate::receiver::{Delivery, Receiver};

fn live_args() -> HttpArgs {
    HttpArgs {
        workers: Some(1),
        rate_limit: 0,
        webhook_allow_private: true,
        webhook_retry_base_ms: 100,
        ..HttpArgs::default()
    }
}

async fn until(what: &str, secs: u64, mut check: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The signature, computed here from the specification (not with the
/// server's code): HMAC-SHA256 over `id.timestamp.body`, keyed by the
/// base64-decoded secret after `whsec_`.
fn verify(secret: &str, d: &Delivery) -> bool {
    let b64 = base64::engine::general_purpose::STANDARD;
    let key = b64.decode(secret.strip_prefix("whsec_").unwrap()).unwrap();
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("{}.{}.", d.id, d.timestamp).as_bytes());
    mac.update(&d.body);
    let expected = format!("v1,{}", b64.encode(mac.finalize().into_bytes()));
    let ts: i64 = d.timestamp.parse().unwrap();
    d.signature.split(' ').any(|s| s == expected) && (chrono::Utc::now().timestamp() - ts).abs() < 300
}

async fn subscribe(app: &TestApp, body: Value) -> (String, String) {
    let res = app.post("/v1/webhooks", &body).await;
    assert_eq!(res.status, 201, "{}", res.text);
    let secret = res.body["secret"].as_str().unwrap().to_string();
    assert!(secret.starts_with("whsec_"));
    (res.body["id"].as_str().unwrap().to_string(), secret)
}

async fn post_incident(app: &TestApp, kind: &str) -> String {
    let res = app.post("/v1/incidents", &incident("2025-07-14T04:10:00Z", kind)).await;
    assert_eq!(res.status, 201, "{}", res.text);
    res.body["id"].as_str().unwrap().to_string()
}

fn seqs(ds: &[Delivery]) -> Vec<i64> {
    ds.iter().map(|d| d.json()["seq"].as_i64().unwrap()).collect()
}

fn strictly_increasing(v: &[i64]) -> bool {
    v.windows(2).all(|w| w[0] < w[1])
}

#[tokio::test]
async fn a_subscriber_gets_every_event_of_concurrent_writes_in_seq_order_signed() {
    let app = spawn_app_with(live_args()).await;
    let receiver = Receiver::start().await;
    let (_, secret) = subscribe(&app, json!({"url": receiver.url})).await;
    let writes = (0..200).map(|i| {
        let app = &app;
        async move { post_incident(app, if i % 2 == 0 { "artillery_fire" } else { "small_arms_fire" }).await }
    });
    let mut created = futures_util::future::join_all(writes).await;
    until("200 deliveries", 60, async || receiver.accepted().len() >= 200).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let got = receiver.accepted();
    assert_eq!(got.len(), 200, "each event once");
    let s = seqs(&got);
    assert!(strictly_increasing(&s), "in seq order: {s:?}");
    for d in &got {
        assert!(verify(&secret, d), "signature of {}", d.id);
        let body = d.json();
        assert_eq!(d.id, format!("evt_{}", body["seq"]));
        assert_eq!(body["type"], "incident.created");
        assert!(body["at"].is_string());
        assert_eq!(body["incident"]["version"], 1);
    }
    let mut delivered: Vec<String> =
        got.iter().map(|d| d.json()["incident"]["id"].as_str().unwrap().to_string()).collect();
    delivered.sort();
    created.sort();
    assert_eq!(delivered, created, "exactly the incidents written");
    // The event shows the incident as GET does.
    let one = &got[17].json()["incident"];
    let shown = app.get(&format!("/v1/incidents/{}", one["id"].as_str().unwrap())).await;
    assert_eq!(&shown.body, one);
    receiver.handle.stop(false).await;
}

#[tokio::test]
async fn nothing_is_lost_while_the_receiver_fails_and_delivery_resumes_in_order() {
    let app = spawn_app_with(live_args()).await;
    let receiver = Receiver::start().await;
    receiver.status.store(500, Ordering::SeqCst);
    let (id, secret) = subscribe(&app, json!({"url": receiver.url})).await;
    for _ in 0..5 {
        post_incident(&app, "artillery_fire").await;
    }
    until("retries", 30, async || receiver.all().len() >= 3).await;
    // Only the first event is tried while it fails: later ones wait.
    assert!(receiver.all().iter().all(|d| d.id == receiver.all()[0].id), "{:?}", receiver.all());
    let sub = app.get_as(&format!("/v1/webhooks/{id}"), &app.token).await;
    assert!(sub.body["attempts"].as_i64().unwrap() >= 1, "{}", sub.text);
    assert_eq!(sub.body["last_error"], "HTTP 500 Internal Server Error");
    assert!(sub.body["failing_since"].is_string() && sub.body["next_attempt_at"].is_string());
    let attempts = app.get_as(&format!("/v1/webhooks/{id}/deliveries"), &app.token).await;
    assert_eq!(attempts.body["data"][0]["status_code"], 500, "{}", attempts.text);
    assert!(attempts.body["data"][0]["attempt"].as_i64().unwrap() >= 2);
    receiver.status.store(204, Ordering::SeqCst);
    until("the five events", 30, async || receiver.accepted().len() >= 5).await;
    let got = receiver.accepted();
    assert_eq!(got.len(), 5);
    assert!(strictly_increasing(&seqs(&got)));
    assert!(got.iter().all(|d| verify(&secret, d)));
    // A retry carries the same webhook-id as the failed attempts.
    let first_failed = receiver.all()[0].id.clone();
    assert_eq!(got[0].id, first_failed);
    let sub = app.get_as(&format!("/v1/webhooks/{id}"), &app.token).await;
    assert_eq!(sub.body["attempts"], 0);
    assert_eq!(sub.body["failing_since"], Value::Null);
    assert_eq!(sub.body["state"], "active");
    receiver.handle.stop(false).await;
}

#[tokio::test]
async fn a_receiver_that_is_down_gets_everything_once_it_is_back() {
    let app = spawn_app_with(live_args()).await;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let (id, _) = subscribe(&app, json!({"url": format!("http://127.0.0.1:{port}/hook")})).await;
    for _ in 0..3 {
        post_incident(&app, "artillery_fire").await;
    }
    until("a refused attempt", 30, async || {
        let sub = app.get_as(&format!("/v1/webhooks/{id}"), &app.token).await;
        sub.body["last_error"].as_str().is_some_and(|e| e.starts_with("could not connect"))
    })
    .await;
    let receiver = Receiver::on(std::net::TcpListener::bind(("127.0.0.1", port)).unwrap());
    until("the three events", 30, async || receiver.accepted().len() >= 3).await;
    assert!(strictly_increasing(&seqs(&receiver.accepted())));
    receiver.handle.stop(false).await;
}

#[tokio::test]
async fn two_instances_deliver_each_event_once() {
    let app = spawn_app_with(live_args()).await;
    let second = app.another_instance(live_args()).await;
    let receiver = Receiver::start().await;
    let (_, secret) = subscribe(&app, json!({"url": receiver.url})).await;
    let writes = (0..60).map(|i| {
        let app = &app;
        let second = &second;
        async move {
            let base = if i % 2 == 0 { app.address.clone() } else { second.clone() };
            let res = app
                .client
                .post(format!("{base}/v1/incidents"))
                .bearer_auth(&app.token)
                .json(&incident("2025-07-14T04:10:00Z", "artillery_fire"))
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 201);
        }
    });
    futures_util::future::join_all(writes).await;
    until("60 deliveries", 60, async || receiver.all().len() >= 60).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let got = receiver.all();
    assert_eq!(got.len(), 60, "no event twice: {:?}", got.iter().map(|d| &d.id).collect::<Vec<_>>());
    assert!(strictly_increasing(&seqs(&got)));
    assert!(got.iter().all(|d| verify(&secret, d)));
    receiver.handle.stop(false).await;
}

#[tokio::test]
async fn a_filtered_subscription_gets_only_matching_events() {
    let app = spawn_app_with(live_args()).await;
    app.seed().await;
    let receiver = Receiver::start().await;
    subscribe(
        &app,
        json!({"url": receiver.url, "filter": "type=artillery_fire&accuser_side=azerbaijan", "types": ["claim.created"]}),
    )
    .await;
    let everything = Receiver::start().await;
    subscribe(&app, json!({"url": everything.url})).await;
    let artillery = post_incident(&app, "artillery_fire").await;
    let small_arms = post_incident(&app, "small_arms_fire").await;
    for (id, claimant, target) in [
        (&artillery, "az-mod", "am-armed-forces"),
        (&small_arms, "az-mod", "am-armed-forces"),
        (&artillery, "am-mod", "az-armed-forces"),
    ] {
        let res = app
            .post(
                &format!("/v1/incidents/{id}/claims"),
                &json!({"claimant": claimant, "stance": "accuses", "target": target, "stated_at": "2025-07-14T06:00:00Z"}),
            )
            .await;
        assert_eq!(res.status, 201, "{}", res.text);
    }
    until("every event", 30, async || everything.accepted().len() >= 5).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let got = receiver.accepted();
    // The Azerbaijani accusation of the artillery fire; the Armenian one
    // on the same incident matches too (the incident's accusers include
    // Azerbaijan's ministry by then). Not the creations, not the small arms.
    let types: Vec<Value> = got.iter().map(|d| d.json()["type"].clone()).collect();
    assert_eq!(types, vec![json!("claim.created"), json!("claim.created")], "{types:?}");
    assert!(got.iter().all(|d| d.json()["incident"]["id"] == artillery.as_str()));
    assert_eq!(got[0].json()["claim"]["claimant"], "az-mod");
    assert_eq!(everything.accepted().len(), 5);
    receiver.handle.stop(false).await;
    everything.handle.stop(false).await;
}

#[tokio::test]
async fn webhook_targets_on_private_addresses_and_bad_filters_are_refused() {
    let app = spawn_app_with(HttpArgs { workers: Some(1), rate_limit: 0, ..HttpArgs::default() }).await;
    for url in [
        "http://127.0.0.1:8080/hook",
        "http://localhost/hook",
        "http://10.1.2.3/hook",
        "http://192.168.0.10/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://0.0.0.0/",
        "http://[::127.0.0.1]/hook",
        "http://[2002:7f00:1::]/hook",
        "http://[fec0::1]/hook",
        "http://192.0.0.8/hook",
        "http://2130706433/hook",
        "http://127.1/hook",
        "ftp://example.org/hook",
        "https://user:pass@example.org/hook",
        "not a url",
    ] {
        let res = app.post("/v1/webhooks", &json!({"url": url})).await;
        assert_eq!(res.assert_problem(422), vec!["/url".to_string()], "{url}: {}", res.text);
    }
    for filter in ["q=shelling", "type=nonsense", "colour=red", "include_deleted=true"] {
        let res = app.post("/v1/webhooks", &json!({"url": "http://93.184.215.14/hook", "filter": filter})).await;
        assert_eq!(res.assert_problem(422), vec!["/filter".to_string()], "{filter}: {}", res.text);
    }
    let res =
        app.post("/v1/webhooks", &json!({"url": "http://93.184.215.14/hook", "types": ["incident.exploded"]})).await;
    res.assert_problem(422);
    // Only admins manage subscriptions.
    let editor = app.create_key("editor", ceasefire::domain::Role::Editor).await;
    let res = app
        .send(
            app.client
                .post(app.url("/v1/webhooks"))
                .bearer_auth(&editor)
                .json(&json!({"url": "http://93.184.215.14/"})),
        )
        .await;
    res.assert_problem(403);
    assert_eq!(app.get("/v1/webhooks").await.status, 401);
    assert_eq!(app.sql_count("SELECT count(*) AS n FROM webhooks").await, 0);
}

#[tokio::test]
async fn a_subscription_failing_long_enough_is_marked_then_disabled_and_can_be_turned_on_again() {
    let app = spawn_app_with(HttpArgs { webhook_failing_after: 1, webhook_disable_after: 3, ..live_args() }).await;
    let receiver = Receiver::start().await;
    receiver.status.store(503, Ordering::SeqCst);
    let (id, _) = subscribe(&app, json!({"url": receiver.url, "description": "duty officer"})).await;
    post_incident(&app, "artillery_fire").await;
    until("failing", 30, async || {
        app.get_as(&format!("/v1/webhooks/{id}"), &app.token).await.body["state"] == "failing"
    })
    .await;
    until("disabled", 30, async || {
        app.get_as(&format!("/v1/webhooks/{id}"), &app.token).await.body["state"] == "disabled"
    })
    .await;
    let sub = app.get_as(&format!("/v1/webhooks/{id}"), &app.token).await;
    assert_eq!(sub.body["last_error"], "HTTP 503 Service Unavailable");
    assert!(sub.body["disabled_at"].is_string());
    let tried = receiver.all().len();
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(receiver.all().len(), tried, "a disabled subscription gets nothing");
    receiver.status.store(200, Ordering::SeqCst);
    let res = app.patch(&format!("/v1/webhooks/{id}"), &json!({"enabled": true}), None).await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(res.body["state"], "active");
    until("the event", 30, async || receiver.accepted().len() == 1).await;
    // A ping, signed the same way, shows in the deliveries.
    let ping = app.post(&format!("/v1/webhooks/{id}/test"), &json!({})).await;
    assert_eq!(ping.status, 200, "{}", ping.text);
    assert_eq!(ping.body["status_code"], 200);
    assert_eq!(ping.body["event_type"], "webhook.ping");
    let list = app.get_as(&format!("/v1/webhooks/{id}/deliveries?limit=1"), &app.token).await;
    assert_eq!(list.body["data"][0]["event_type"], "webhook.ping", "{}", list.text);
    assert_eq!(app.delete(&format!("/v1/webhooks/{id}"), None).await.status, 204);
    assert_eq!(app.get_as(&format!("/v1/webhooks/{id}"), &app.token).await.status, 404);
    receiver.handle.stop(false).await;
}

/// An `EventSource`, read by hand.
struct Stream {
    res: reqwest::Response,
    buf: String,
}

impl Stream {
    async fn open(app: &TestApp, query: &str, last_event_id: Option<i64>) -> Self {
        let mut req = app.client.get(app.url(&format!("/v1/events{query}")));
        if let Some(id) = last_event_id {
            req = req.header("Last-Event-ID", id.to_string());
        }
        let res = req.send().await.unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(res.headers()["content-type"], "text/event-stream");
        Self { res, buf: String::new() }
    }

    /// The next event's (id, data), or None when none comes within `wait`.
    async fn next(&mut self, wait: Duration) -> Option<(i64, Value)> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            while let Some(end) = self.buf.find("\n\n") {
                let frame: String = self.buf.drain(..end + 2).collect();
                let id = frame.lines().find_map(|l| l.strip_prefix("id: ")).map(|s| s.parse::<i64>().unwrap());
                let data = frame.lines().find_map(|l| l.strip_prefix("data: "));
                if let (Some(id), Some(data)) = (id, data) {
                    let data: Value = serde_json::from_str(data).unwrap();
                    assert_eq!(data["seq"], id);
                    return Some((id, data));
                }
            }
            match tokio::time::timeout_at(deadline, self.res.chunk()).await {
                Ok(Ok(Some(chunk))) => self.buf.push_str(std::str::from_utf8(&chunk).unwrap()),
                _ => return None,
            }
        }
    }
}

#[tokio::test]
async fn a_stream_resumed_with_last_event_id_gets_exactly_what_it_missed() {
    let app = spawn_app_with(live_args()).await;
    let mut stream = Stream::open(&app, "", None).await;
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(post_incident(&app, "artillery_fire").await);
    }
    let mut seen = Vec::new();
    for _ in 0..3 {
        let (seq, data) = stream.next(Duration::from_secs(10)).await.expect("an event");
        assert_eq!(data["type"], "incident.created");
        seen.push((seq, data["incident"]["id"].as_str().unwrap().to_string()));
    }
    assert_eq!(seen.iter().map(|s| s.1.clone()).collect::<Vec<_>>(), ids);
    let last = seen[2].0;
    drop(stream);
    // Missed while disconnected: a patch, a claim, a delete.
    let inc = &ids[0];
    let res =
        app.patch(&format!("/v1/incidents/{inc}"), &json!({"title": "Artillery fire near Sotk"}), Some("\"1\"")).await;
    assert_eq!(res.status, 200, "{}", res.text);
    app.seed().await;
    let claim = app
        .post(
            &format!("/v1/incidents/{inc}/claims"),
            &json!({"claimant": "az-mod", "stance": "accuses", "target": "am-armed-forces"}),
        )
        .await;
    assert_eq!(claim.status, 201, "{}", claim.text);
    let void = app
        .send(
            app.client
                .post(app.url(&format!("/v1/claims/{}/void", claim.body["id"].as_str().unwrap())))
                .bearer_auth(&app.token)
                .header("If-Match", "\"3\"")
                .json(&json!({"reason": "entered on the wrong incident"})),
        )
        .await;
    assert_eq!(void.status, 200, "{}", void.text);
    assert_eq!(app.delete(&format!("/v1/incidents/{}", ids[1]), Some("\"1\"")).await.status, 204);
    // An invalid write writes no event.
    assert_eq!(app.post("/v1/incidents", &json!({"type": "artillery_fire"})).await.status, 422);
    let mut resumed = Stream::open(&app, "", Some(last)).await;
    let mut missed = Vec::new();
    while let Some((seq, data)) = resumed.next(Duration::from_secs(3)).await {
        missed.push((seq, data));
    }
    let types: Vec<&str> = missed.iter().map(|(_, d)| d["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["incident.updated", "claim.created", "claim.voided", "incident.deleted"]);
    assert_eq!(missed[0].0, last + 1);
    assert!(strictly_increasing(&missed.iter().map(|m| m.0).collect::<Vec<_>>()));
    assert_eq!(missed[0].1["incident"]["title"], "Artillery fire near Sotk");
    assert_eq!(missed[1].1["claim"]["claimant"], "az-mod");
    assert_eq!(missed[1].1["incident"]["attribution"]["accusers"], json!(["az-mod"]));
    assert_eq!(missed[2].1["claim"]["status"], "voided");
    assert!(missed[3].1["incident"]["deleted_at"].is_string());
    assert_eq!(app.sql_count("SELECT count(*) AS n FROM events").await, 7);
    // From the start, filtered: the deletion alone.
    let mut deleted = Stream::open(&app, "?after=0&types=incident.deleted", None).await;
    let (_, d) = deleted.next(Duration::from_secs(3)).await.expect("the deletion");
    assert_eq!(d["incident"]["id"], ids[1].as_str());
    assert!(deleted.next(Duration::from_millis(500)).await.is_none());
    // Bad resumption points and filters are 400s.
    for q in ["?after=-1", "?after=x", "?q=fire", "?types=incident.gone", "?colour=red"] {
        let res = app.get(&format!("/v1/events{q}")).await;
        res.assert_problem(400);
    }
}

#[tokio::test]
async fn a_stream_finds_a_place_by_any_of_its_names_and_refuses_resumption_points_it_cannot_honour() {
    let app = spawn_app_with(live_args()).await;
    app.seed_places().await;
    let at_kalbajar = json!({
        "occurred_at": "2025-07-14T04:10:00+04:00", "type": "artillery_fire",
        "title": "Artillery fire on the Kalbajar sector", "location": {"place": "kalbajar"},
    });
    let res = app.post("/v1/incidents", &at_kalbajar).await;
    assert_eq!(res.status, 201, "{}", res.text);
    post_incident(&app, "artillery_fire").await;
    // Karvachar is an Armenian name of Kalbajar; Кельбаджар its Russian one.
    for name in ["Karvachar", "%D0%9A%D0%B5%D0%BB%D1%8C%D0%B1%D0%B0%D0%B4%D0%B6%D0%B0%D1%80", "kalbajar"] {
        let mut s = Stream::open(&app, &format!("?after=0&place={name}"), None).await;
        let (_, d) = s.next(Duration::from_secs(3)).await.expect("the incident at Kalbajar");
        assert_eq!(d["incident"]["id"], res.body["id"], "{name}");
        assert!(s.next(Duration::from_millis(300)).await.is_none(), "{name}: only the one at Kalbajar");
    }
    // Beyond the last event: a seq of another deployment.
    app.get("/v1/events?after=99").await.assert_problem(400);
    let res = app.send(app.client.get(app.url("/v1/events")).header("Last-Event-ID", "99")).await;
    res.assert_problem(400);
    // Events that were purged cannot be replayed: a 410, not a silent gap.
    let mut conn = app.db().await;
    diesel_async::RunQueryDsl::execute(diesel::sql_query("DELETE FROM events WHERE seq = 1"), &mut conn).await.unwrap();
    app.get("/v1/events?after=0").await.assert_problem(410);
    let mut from_one = Stream::open(&app, "?after=1", None).await;
    assert_eq!(from_one.next(Duration::from_secs(3)).await.expect("the second event").0, 2);
}

#[tokio::test]
async fn a_client_cannot_hold_more_streams_than_its_share() {
    let app = spawn_app_with(HttpArgs { streams_per_client: 2, ..live_args() }).await;
    let first = Stream::open(&app, "", None).await;
    let _second = Stream::open(&app, "", None).await;
    let third = app.get("/v1/events").await;
    third.assert_problem(429);
    assert!(third.header("retry-after").is_some());
    // A stream closed gives its share back once its heartbeats find the
    // connection gone (the second one after the close, 30 s at most).
    drop(first);
    let mut again = None;
    for _ in 0..450 {
        let res = app.client.get(app.url("/v1/events")).send().await.unwrap();
        if res.status() == 200 {
            again = Some(res);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(again.is_some(), "the share of a closed stream was not given back");
}

/// The dashboard of docs/live.md, in headless Chromium: a page of another
/// origin listens with `EventSource`, gets the kept events replayed, then
/// one that commits while it listens.
#[tokio::test]
async fn a_browser_page_listens_with_event_source() {
    let app = spawn_app_with(live_args()).await;
    for kind in ["artillery_fire", "small_arms_fire"] {
        post_incident(&app, kind).await;
    }
    let dir = std::env::temp_dir().join(format!("ceasefire-live-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let page = dir.join("dashboard.html");
    std::fs::write(
        &page,
        format!(
            r#"<!doctype html><html><body><ul id="feed"></ul><script>
  const events = new EventSource("{}/v1/events?after=0");
  let n = 0;
  events.onmessage = (m) => {{
    const e = JSON.parse(m.data);
    const li = document.createElement("li");
    li.dataset.seq = m.lastEventId;
    li.textContent = `${{e.seq}} ${{e.type}} ${{e.incident.type}}`;
    document.getElementById("feed").append(li);
    if (++n === 3) events.close();
  }};
</script></body></html>"#,
            app.address
        ),
    )
    .unwrap();
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "chromium".into());
    let browser = tokio::process::Command::new(&chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            &format!("--user-data-dir={}", dir.join("profile").display()),
            "--virtual-time-budget=30000",
            "--dump-dom",
        ])
        .arg(format!("file://{}", page.display()))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("`{chromium}` could not run ({e}): ./scripts/test installs Debian's chromium"));
    // Once the page listens, a third incident commits.
    until("the page's stream", 60, async || {
        let metrics = app.get("/metrics").await.text;
        metrics.lines().any(|l| l.starts_with("ceasefire_event_streams ") && !l.ends_with(" 0"))
    })
    .await;
    post_incident(&app, "mortar_fire").await;
    let out = tokio::time::timeout(Duration::from_secs(90), browser.wait_with_output())
        .await
        .expect("chromium did not finish")
        .unwrap();
    let dom = String::from_utf8_lossy(&out.stdout);
    let items: Vec<&str> =
        dom.split("<li").skip(1).map(|li| li.split_once('>').unwrap().1.split('<').next().unwrap()).collect();
    assert_eq!(
        items,
        ["1 incident.created artillery_fire", "2 incident.created small_arms_fire", "3 incident.created mortar_fire"],
        "{dom}"
    );
    assert!(dom.contains(r#"data-seq="3""#), "lastEventId is the seq: {dom}");
    let _ = std::fs::remove_dir_all(&dir);
}
