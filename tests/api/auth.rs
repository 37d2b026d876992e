//! API keys and roles: each role can do exactly what it should.

use ceasefire::config::HttpArgs;
use ceasefire::domain::Role;
use serde_json::{json, Value};

use crate::helpers::{incident, spawn_app, spawn_app_with, url_for, Answer, TestApp};

async fn as_key(
    app: &TestApp,
    key: Option<&str>,
    method: &str,
    path: &str,
    body: Option<Value>,
    if_match: Option<&str>,
) -> Answer {
    let mut req = match method {
        "GET" => app.client.get(app.url(path)),
        "POST" => app.client.post(app.url(path)),
        "PATCH" => app.client.patch(app.url(path)),
        "DELETE" => app.client.delete(app.url(path)),
        _ => unreachable!(),
    };
    if let Some(key) = key {
        req = req.bearer_auth(key);
    }
    if let Some(body) = body {
        req = req.header("content-type", "application/json").body(body.to_string());
    }
    if let Some(tag) = if_match {
        req = req.header("If-Match", tag);
    }
    app.send(req).await
}

#[tokio::test]
async fn each_role_can_do_exactly_what_it_should() {
    let app = spawn_app().await;
    app.seed().await;
    let reader = app.create_key("reader", Role::Reader).await;
    let reporter = app.create_key("reporter", Role::Reporter).await;
    let editor = app.create_key("editor", Role::Editor).await;
    let admin = app.token.clone();
    let keys: [(&str, Option<&str>); 5] = [
        ("anonymous", None),
        ("reader", Some(&reader)),
        ("reporter", Some(&reporter)),
        ("editor", Some(&editor)),
        ("admin", Some(&admin)),
    ];

    // (operation, the least role that may do it; None = anyone)
    for (who, key) in keys {
        let rank = match who {
            "anonymous" => 0,
            "reader" => 1,
            "reporter" => 2,
            "editor" => 3,
            _ => 4,
        };
        let expect = |least: usize, ok: u16, res: &Answer, what: &str| {
            let wanted = if rank >= least {
                ok
            } else if rank == 0 {
                401
            } else {
                403
            };
            assert_eq!(res.status, wanted, "{who} {what}: {}", res.text);
            if wanted == 401 || wanted == 403 {
                res.assert_problem(wanted);
                assert!(res.header("www-authenticate").is_some_and(|h| h.starts_with("Bearer")), "{who} {what}");
            }
        };
        let created =
            as_key(&app, key, "POST", "/v1/incidents", Some(incident("2024-01-01T00:00:00Z", "other")), None).await;
        expect(2, 201, &created, "creates an incident");
        let verified = {
            let mut body = incident("2024-01-01T00:00:00Z", "other");
            body["verification"] = json!("confirmed");
            as_key(&app, key, "POST", "/v1/incidents", Some(body), None).await
        };
        expect(3, 201, &verified, "creates a verified incident");
        // Every other write works on an incident of the admin's.
        let own = app.post("/v1/incidents", &incident("2024-01-01T00:00:00Z", "other")).await;
        let id = own.body["id"].as_str().unwrap();
        let etag = own.header("etag").unwrap();
        let claim = as_key(
            &app,
            key,
            "POST",
            &format!("/v1/incidents/{id}/claims"),
            Some(json!({"claimant": "euma", "stance": "confirms"})),
            None,
        )
        .await;
        expect(2, 201, &claim, "adds a claim");
        let etag_now = app.get(&format!("/v1/incidents/{id}")).await.header("etag").unwrap().to_string();
        let _ = etag;
        let patched = as_key(
            &app,
            key,
            "PATCH",
            &format!("/v1/incidents/{id}"),
            Some(json!({"verification": "corroborated"})),
            Some(&etag_now),
        )
        .await;
        expect(3, 200, &patched, "patches an incident");
        let etag_now = app.get(&format!("/v1/incidents/{id}")).await.header("etag").unwrap().to_string();
        let deleted = as_key(&app, key, "DELETE", &format!("/v1/incidents/{id}"), None, Some(&etag_now)).await;
        expect(3, 204, &deleted, "deletes an incident");
        let party = as_key(
            &app,
            key,
            "POST",
            "/v1/parties",
            Some(json!({"slug": format!("p-{who}"), "name": "P", "kind": "other"})),
            None,
        )
        .await;
        expect(3, 201, &party, "creates a party");
        let party_patch = as_key(&app, key, "PATCH", "/v1/parties/osce", Some(json!({"name": "OSCE"})), None).await;
        expect(3, 200, &party_patch, "patches a party");
        let keys_list = as_key(&app, key, "GET", "/v1/keys", None, None).await;
        expect(4, 200, &keys_list, "lists keys");
        let new_key = as_key(&app, key, "POST", "/v1/keys", Some(json!({"name": "n", "role": "reader"})), None).await;
        expect(4, 201, &new_key, "creates a key");
        // Reads are public by default.
        let read = as_key(&app, key, "GET", "/v1/incidents", None, None).await;
        expect(0, 200, &read, "reads");
    }
}

#[tokio::test]
async fn keys_are_shown_once_stored_hashed_and_revoked_at_once() {
    let app = spawn_app().await;
    let created =
        app.post_with_key("/v1/keys", &json!({"name": "euma field team", "role": "reporter"}), "new-key-1").await;
    assert_eq!(created.status, 201, "{}", created.text);
    let key = created.body["key"].as_str().unwrap().to_string();
    let id = created.body["id"].as_str().unwrap().to_string();
    assert!(key.starts_with("cf_") && key.len() >= 40);
    assert_eq!(created.body["role"], "reporter");
    let replay =
        app.post_with_key("/v1/keys", &json!({"name": "euma field team", "role": "reporter"}), "new-key-1").await;
    assert_eq!(replay.status, 201);
    assert_eq!(replay.body["id"], created.body["id"], "a retry creates no second key");
    assert!(replay.body["key"].is_null(), "and never shows the key again");
    assert_eq!(
        app.sql_count(&format!(
            "SELECT count(*) AS n FROM idempotency_keys WHERE position('{key}'::bytea IN body) > 0"
        ))
        .await,
        0,
        "the saved answer does not hold the key"
    );

    let list = app.send(app.client.get(app.url("/v1/keys")).bearer_auth(&app.token)).await;
    assert!(!list.text.contains(&key), "a listing never shows a key");
    assert_eq!(list.body["data"].as_array().unwrap().len(), 2);
    assert_eq!(list.header("cache-control"), Some("private, no-store"));
    assert_eq!(
        app.sql_count(&format!("SELECT count(*) AS n FROM api_keys WHERE encode(key_hash, 'escape') LIKE '%{key}%'"))
            .await,
        0
    );
    assert_eq!(
        app.sql_count(&format!("SELECT count(*) AS n FROM api_keys WHERE key_hash = sha256('{key}'::bytea)")).await,
        1,
        "the database holds the key's SHA-256"
    );

    let write =
        as_key(&app, Some(&key), "POST", "/v1/incidents", Some(incident("2024-01-01T00:00:00Z", "other")), None).await;
    assert_eq!(write.status, 201);
    let incident_id = write.body["id"].as_str().unwrap();
    let history = app.get(&format!("/v1/incidents/{incident_id}/history")).await;
    assert_eq!(history.body["data"][0]["actor"], id.as_str(), "the history names the key");
    let used = app.send(app.client.get(app.url("/v1/keys")).bearer_auth(&app.token)).await;
    let entry = used.body["data"].as_array().unwrap().iter().find(|k| k["id"] == id.as_str()).unwrap().clone();
    assert!(entry["last_used_at"].is_string());

    let revoked = app.delete(&format!("/v1/keys/{id}"), None).await;
    assert_eq!(revoked.status, 204);
    let after =
        as_key(&app, Some(&key), "POST", "/v1/incidents", Some(incident("2024-01-01T00:00:00Z", "other")), None).await;
    after.assert_problem(401);
    assert!(after.header("www-authenticate").unwrap().contains("invalid_token"));
    app.delete(&format!("/v1/keys/{}", uuid::Uuid::now_v7()), None).await.assert_problem(404);

    for bad in ["Bearer nonsense", "Basic YWRtaW46YWRtaW4=", "Bearer ", "cf_123"] {
        let res = app.send(app.client.get(app.url("/v1/incidents")).header("Authorization", bad)).await;
        res.assert_problem(401);
    }
    let res = app.post("/v1/keys", &json!({"name": "x", "role": "god"})).await;
    assert_eq!(res.assert_problem(422), vec!["/role"]);
}

#[tokio::test]
async fn the_cli_prints_a_working_key_on_its_last_line() {
    let app = spawn_app().await;
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ceasefire"))
        .args(["keys", "create", "--name", "cli reporter", "--role", "reporter"])
        .env("DATABASE_URL", url_for(&app.db_name))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8(out.stdout).unwrap();
    let key = stdout.lines().last().unwrap().trim();
    let res =
        as_key(&app, Some(key), "POST", "/v1/incidents", Some(incident("2024-01-01T00:00:00Z", "other")), None).await;
    assert_eq!(res.status, 201, "{}", res.text);
}

#[tokio::test]
async fn private_reads_need_a_key() {
    let app =
        spawn_app_with(HttpArgs { workers: Some(1), rate_limit: 0, private_reads: true, ..HttpArgs::default() }).await;
    let reader = app.create_key("reader", Role::Reader).await;
    app.get("/v1/incidents").await.assert_problem(401);
    app.get("/v1/parties").await.assert_problem(401);
    assert_eq!(as_key(&app, Some(&reader), "GET", "/v1/incidents", None, None).await.status, 200);
    assert_eq!(app.get("/healthz").await.status, 200, "operations stay open");
    assert_eq!(app.get("/openapi.json").await.status, 200);
}

#[tokio::test]
async fn rate_limits_answer_429_with_retry_after() {
    let app = spawn_app_with(HttpArgs { workers: Some(1), rate_limit: 2, rate_burst: 5, ..HttpArgs::default() }).await;
    let mut statuses = Vec::new();
    for _ in 0..12 {
        let res = app.get("/v1/parties").await;
        if res.status == 429 {
            res.assert_problem(429);
            assert!(res.header("retry-after").unwrap().parse::<u64>().unwrap() >= 1);
        }
        statuses.push(res.status);
    }
    assert!(statuses.iter().filter(|s| **s == 200).count() >= 5, "{statuses:?}");
    assert!(statuses.contains(&429), "{statuses:?}");
    // Another client (a key) has its own budget; health checks have none.
    let with_key = app.send(app.client.get(app.url("/v1/parties")).bearer_auth(&app.token)).await;
    assert_eq!(with_key.status, 200);
    for _ in 0..20 {
        assert_eq!(app.get("/healthz").await.status, 200);
    }
    // Inventing keys buys no new budget beyond ten times the rate per IP.
    let mut invented = Vec::new();
    for i in 0..200 {
        let res = app.send(app.client.get(app.url("/v1/parties")).bearer_auth(format!("cf_invented_{i}"))).await;
        invented.push(res.status);
    }
    assert!(invented.contains(&429), "{invented:?}");
    assert!(invented.iter().all(|s| *s == 401 || *s == 429), "{invented:?}");
}

#[tokio::test]
async fn cors_and_security_headers() {
    let app = spawn_app().await;
    let res = app.send(app.client.get(app.url("/v1/incidents")).header("Origin", "https://dashboard.example")).await;
    assert_eq!(res.header("access-control-allow-origin"), Some("https://dashboard.example"));
    assert_eq!(res.header("x-content-type-options"), Some("nosniff"));
    assert!(res.header("server").is_none(), "no server banner");
    let preflight = app
        .send(
            app.client
                .request(reqwest::Method::OPTIONS, app.url("/v1/incidents"))
                .header("Origin", "https://dashboard.example")
                .header("Access-Control-Request-Method", "POST"),
        )
        .await;
    assert!(preflight.status >= 400, "writes from an unlisted origin are not allowed: {}", preflight.status);

    let open = spawn_app_with(HttpArgs {
        workers: Some(1),
        rate_limit: 0,
        cors_origins: vec!["https://mission.example".into()],
        ..HttpArgs::default()
    })
    .await;
    let preflight = open
        .send(
            open.client
                .request(reqwest::Method::OPTIONS, open.url("/v1/incidents"))
                .header("Origin", "https://mission.example")
                .header("Access-Control-Request-Method", "POST")
                .header("Access-Control-Request-Headers", "authorization, content-type, idempotency-key"),
        )
        .await;
    assert_eq!(preflight.status, 200);
    assert_eq!(preflight.header("access-control-allow-origin"), Some("https://mission.example"));
}
