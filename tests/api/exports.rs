//! Exports, the import that reads them back, conditional requests, change
//! order for mirrors, and the metrics.

use std::process::Command;

use serde_json::{json, Value};

use ceasefire::config::HttpArgs;

use crate::helpers::{incident, spawn_app, spawn_app_with, url_for, TestApp};

async fn sample(app: &TestApp) -> Vec<String> {
    app.seed().await;
    let mut items = vec![];
    for i in 0..30 {
        let mut body = incident(
            &format!("2024-0{}-1{}T0{}:30:00+04:00", 1 + i % 9, i % 9, i % 9),
            if i % 2 == 0 { "mortar_fire" } else { "sniper_fire" },
        );
        body["title"] = json!(format!("Shelling, \"heavy\" {i}\nsecond line"));
        body["sources"] = json!([{"url": format!("https://example.org/r?a={i},b"), "publisher": "Agency; Ltd"}]);
        body["external_ids"] = json!({"acled": format!("ARM{i}")});
        if i % 3 == 0 {
            body["location"] = json!({"name": "somewhere unknown"});
        }
        if i % 2 == 1 {
            body["claims"] = json!([
                {"claimant": "am-mod", "stance": "accuses", "target": "az-armed-forces"},
                {"claimant": "am-armed-forces", "stance": "accuses", "target": "az-mod"},
                {"claimant": "az-mod", "stance": "denies", "responds_to_index": 0}
            ]);
        }
        items.push(body);
    }
    let res = app.post("/v1/incidents/batch", &json!({"incidents": items})).await;
    assert_eq!(res.status, 201, "{}", res.text);
    res.body["data"].as_array().unwrap().iter().map(|i| i["id"].as_str().unwrap().to_string()).collect()
}

#[tokio::test]
async fn csv_export_is_rfc4180_with_attribution_columns_and_honours_filters() {
    let app = spawn_app().await;
    sample(&app).await;
    let res = app.get("/v1/incidents?format=csv&type=sniper_fire").await;
    assert_eq!(res.status, 200);
    assert!(res.content_type().starts_with("text/csv"));
    assert!(res.header("content-disposition").unwrap().starts_with("attachment; filename=\"incidents-"));
    let mut reader = csv::Reader::from_reader(res.text.as_bytes());
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(header, ceasefire::api::export::CSV_COLUMNS);
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    assert_eq!(rows.len(), 15, "only the filtered incidents");
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    for row in &rows {
        assert_eq!(&row[col("type")], "sniper_fire");
        assert_eq!(&row[col("accusers")], "am-armed-forces;am-mod");
        assert_eq!(&row[col("deniers")], "az-mod");
        assert_eq!(&row[col("denied")], "true");
        assert!(
            row[col("title")].starts_with("Shelling, \"heavy\" ") && row[col("title")].contains('\n'),
            "quoting kept the text whole"
        );
        let claims: Value = serde_json::from_str(&row[col("claims")]).unwrap();
        assert_eq!(claims.as_array().unwrap().len(), 3);
    }
    // Accept works as ?format= does.
    let by_accept =
        app.send(app.client.get(app.url("/v1/incidents?type=sniper_fire")).header("Accept", "text/csv")).await;
    assert_eq!(by_accept.text.lines().next(), res.text.lines().next());
    app.get("/v1/incidents?format=csv&limit=5").await.assert_problem(400);
    app.get("/v1/incidents?format=xls").await.assert_problem(400);
}

#[tokio::test]
async fn geojson_and_ndjson_exports() {
    let app = spawn_app().await;
    sample(&app).await;
    let geo = app.get("/v1/incidents?format=geojson").await;
    assert_eq!(geo.content_type(), "application/geo+json");
    assert_eq!(geo.body["type"], "FeatureCollection");
    let features = geo.body["features"].as_array().unwrap();
    assert_eq!(features.len(), 20, "the incidents with coordinates");
    for f in features {
        assert_eq!(f["type"], "Feature");
        assert_eq!(f["geometry"]["type"], "Point");
        let c = f["geometry"]["coordinates"].as_array().unwrap();
        assert_eq!((c[0].as_f64().unwrap(), c[1].as_f64().unwrap()), (45.9, 40.2), "RFC 7946: longitude first");
        assert!(f["properties"]["title"].is_string());
        assert!(f["properties"]["attribution"].is_object());
    }
    let filtered = app.get("/v1/incidents?format=geojson&accuser=am-mod").await;
    assert_eq!(filtered.body["features"].as_array().unwrap().len(), 10);
    let empty = app.get("/v1/incidents?format=geojson&type=other").await;
    assert_eq!(empty.body, json!({"type": "FeatureCollection", "features": []}));

    let nd = app
        .send(app.client.get(app.url("/v1/incidents?accuser_side=armenia")).header("Accept", "application/x-ndjson"))
        .await;
    assert_eq!(nd.content_type(), "application/x-ndjson");
    let lines: Vec<Value> = nd.text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 15);
    let one = app.get(&format!("/v1/incidents/{}", lines[0]["id"].as_str().unwrap())).await;
    assert_eq!(one.body, lines[0], "each line is the incident's full JSON");
}

fn import(app: &TestApp, file: &std::path::Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_ceasefire"))
        .arg("import")
        .arg(file)
        .env("DATABASE_URL", url_for(&app.db_name))
        .output()
        .unwrap()
}

#[tokio::test]
async fn export_import_export_is_byte_identical() {
    let app = spawn_app().await;
    let ids = sample(&app).await;
    // Some history: a retraction, a patch, a delete.
    let first = app.get(&format!("/v1/incidents/{}", ids[1])).await;
    app.post(
        &format!("/v1/incidents/{}/claims", ids[1]),
        &json!({"claimant": "az-mod", "stance": "retracts", "responds_to": first.body["claims"][2]["id"]}),
    )
    .await;
    let etag = app.get(&format!("/v1/incidents/{}", ids[2])).await.header("etag").unwrap().to_string();
    app.patch(&format!("/v1/incidents/{}", ids[2]), &json!({"verification": "confirmed"}), Some(&etag)).await;
    // Accounts, an origin, observers, a claim with no date, a voided claim.
    let told = app
        .post(
            "/v1/incidents",
            &json!({"occurred_at": "2025-07-05T02:10:00+04:00", "type": "mortar_fire", "title": "Exchange",
            "location": {"name": "Kalbajar direction", "country": "AZ"},
            "origin": {"name": "Basarkechar", "country": "AM", "lat": 40.18, "lon": 45.73, "place": "vardenis"},
            "claims": [
                {"claimant": "az-mod", "stance": "accuses", "target": "am-armed-forces",
                 "account": {"occurred_at": "2025-07-04T22:10:00Z", "time_precision": "hour", "type": "mortar_fire",
                             "origin": {"name": "Basarkechar", "country": "AM"},
                             "impact": {"name": "=Kalbajar", "country": "AZ", "lat": 40.1, "lon": 46.0},
                             "casualties": {"killed_military": 1}, "violations": 0}},
                {"claimant": "am-mod", "stance": "denies", "responds_to_index": 0,
                 "account": {"casualties": {"killed_military": 0}}},
                {"claimant": "euma", "stance": "not_observed", "stated_at": "2025-07-05T12:00:00Z"},
                {"claimant": "euma", "stance": "observes", "stated_at": "2025-07-05T13:00:00Z"}
            ]}),
        )
        .await;
    assert_eq!(told.status, 201, "{}", told.text);
    let voided = app
        .send(
            app.client
                .post(app.url(&format!("/v1/claims/{}/void", told.body["claims"][3]["id"].as_str().unwrap())))
                .bearer_auth(&app.token)
                .header("If-Match", "\"1\"")
                .json(&json!({"reason": "Mis-entered"})),
        )
        .await;
    assert_eq!(voided.status, 200, "{}", voided.text);
    let dir = std::env::temp_dir().join(format!("ceasefire-roundtrip-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    for format in ["csv", "ndjson"] {
        let exported = app.get(&format!("/v1/incidents?format={format}")).await.text;
        let file = dir.join(format!("export.{format}"));
        std::fs::write(&file, &exported).unwrap();
        let target = spawn_app().await;
        target.seed().await;
        let out = import(&target, &file);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("imported 31 incidents"),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let again = target.get(&format!("/v1/incidents?format={format}")).await.text;
        assert!(again == exported, "{format}: the second export differs from the first");
        // Importing the same file again is refused whole.
        let before = target.row_counts().await;
        let out = import(&target, &file);
        assert!(!out.status.success());
        assert!(String::from_utf8_lossy(&out.stderr).contains("exists already"));
        assert_eq!(target.row_counts().await, before);
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn a_bad_row_is_reported_by_line_and_nothing_is_loaded() {
    let app = spawn_app().await;
    sample(&app).await;
    let mut lines: Vec<Value> =
        app.get("/v1/incidents?format=ndjson").await.text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    lines[1]["claims"][0]["claimant"] = json!("atlantis");
    lines[4]["violations"] = json!(-3);
    lines[6]["occurred_until"] = json!("1999-01-01T00:00:00Z");
    let mut text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    text.push_str("{not json\n");
    let dir = std::env::temp_dir().join(format!("ceasefire-bad-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("bad.ndjson");
    std::fs::write(&file, text).unwrap();

    let target = spawn_app().await;
    target.seed().await;
    let before = target.row_counts().await;
    let out = import(&target, &file);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("line 2: /claims/0/claimant: no party `atlantis`"), "{stderr}");
    assert!(stderr.contains("line 5: /violations"), "{stderr}");
    assert!(stderr.contains("line 7: /occurred_until"), "{stderr}");
    assert!(stderr.contains("line 31: not JSON"), "{stderr}");
    assert!(stderr.contains("nothing was imported"), "{stderr}");
    assert_eq!(target.row_counts().await, before);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn mirrors_follow_changes_in_order_with_tombstones() {
    let app = spawn_app().await;
    let ids = sample(&app).await;
    let sync = |cursor: Option<String>| {
        let app = &app;
        async move {
            let path = match cursor {
                None => "/v1/incidents?updated_since=2000-01-01&include_deleted=true&limit=1000".to_string(),
                Some(c) => format!("/v1/incidents?updated_since=2000-01-01&include_deleted=true&limit=1000&cursor={c}"),
            };
            let res = app.get(&path).await;
            assert_eq!(res.status, 200, "{}", res.text);
            res
        }
    };
    // Changes are listed once every older transaction on the server has
    // ended (other tests' transactions run beside these), so poll briefly.
    let mut first = sync(None).await;
    for _ in 0..300 {
        if first.body["data"].as_array().unwrap().len() == 30 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        first = sync(None).await;
    }
    assert_eq!(first.body["data"].as_array().unwrap().len(), 30);
    let cursor =
        first.body["next_cursor"].as_str().expect("change order always gives a cursor to resume from").to_string();
    assert!(first.header("link").is_none(), "no more rows now");
    let nothing = sync(Some(cursor.clone())).await;
    assert_eq!(nothing.body["data"].as_array().unwrap().len(), 0);
    assert_eq!(nothing.body["next_cursor"], cursor.as_str(), "polling keeps its place");

    let etag = app.get(&format!("/v1/incidents/{}", ids[5])).await.header("etag").unwrap().to_string();
    let patched = app.patch(&format!("/v1/incidents/{}", ids[5]), &json!({"title": "changed"}), Some(&etag)).await;
    assert_eq!(patched.status, 200, "{}", patched.text);
    let etag = app.get(&format!("/v1/incidents/{}", ids[7])).await.header("etag").unwrap().to_string();
    assert_eq!(app.delete(&format!("/v1/incidents/{}", ids[7]), Some(&etag)).await.status, 204);
    let claim =
        app.post(&format!("/v1/incidents/{}/claims", ids[9]), &json!({"claimant": "euma", "stance": "confirms"})).await;
    assert_eq!(claim.status, 201, "{}", claim.text);
    let mut changes = sync(Some(cursor.clone())).await;
    for _ in 0..300 {
        if changes.body["data"].as_array().unwrap().len() >= 3 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        changes = sync(Some(cursor.clone())).await;
    }
    let changed: Vec<&str> =
        changes.body["data"].as_array().unwrap().iter().map(|i| i["id"].as_str().unwrap()).collect();
    assert_eq!(changed, [ids[5].as_str(), ids[7].as_str(), ids[9].as_str()], "in the order the changes were made");
    assert!(changes.body["data"][1]["deleted_at"].is_string(), "a tombstone");
}

#[tokio::test]
async fn metrics_count_requests_by_route() {
    let app =
        spawn_app_with(HttpArgs { workers: Some(1), rate_limit: 0, totals_refresh: 1, ..HttpArgs::default() }).await;
    for _ in 0..3 {
        app.get(&format!("/v1/incidents/{}", uuid::Uuid::now_v7())).await;
    }
    app.post("/v1/incidents", &incident("2024-01-01T00:00:00Z", "other")).await;
    // The totals are refreshed in the background (every second here), never by a scrape.
    let mut res = app.get("/metrics").await;
    for _ in 0..50 {
        if res.text.lines().any(|l| l == "ceasefire_incidents 1") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        res = app.get("/metrics").await;
    }
    assert_eq!(res.status, 200);
    assert!(res.content_type().starts_with("text/plain; version=0.0.4"));
    let line = |prefix: &str| {
        res.text.lines().find(|l| l.starts_with(prefix)).map(|l| l.rsplit(' ').next().unwrap().to_string())
    };
    assert_eq!(
        line("ceasefire_http_requests_total{method=\"GET\",route=\"/v1/incidents/{id}\",status=\"404\"}").as_deref(),
        Some("3")
    );
    assert_eq!(line("ceasefire_incidents ").as_deref(), Some("1"));
    assert!(line("ceasefire_http_request_duration_seconds_count{method=\"POST\",route=\"/v1/incidents\"}").is_some());
    assert!(line("ceasefire_db_pool_connections{state=\"max\"}").is_some());
    assert!(line("process_resident_memory_bytes").is_some());
    // Every sample line is `name{labels} value`.
    for l in res.text.lines().filter(|l| !l.starts_with('#') && !l.is_empty()) {
        let value = l.rsplit(' ').next().unwrap();
        assert!(value.parse::<f64>().is_ok() || value == "+Inf", "{l}");
    }
}

fn import_with(app: &TestApp, file: &std::path::Path, args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_ceasefire"))
        .arg("import")
        .args(args)
        .arg(file)
        .env("DATABASE_URL", url_for(&app.db_name))
        .output()
        .unwrap();
    (out.status.success(), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// What spreadsheets and scripts do to a file, and the ordinary mistakes:
/// CRLF line ends and a byte-order mark, a bad row, an unseeded database,
/// a GeoJSON file, the same file twice.
#[tokio::test]
async fn an_import_forgives_the_ordinary_and_says_what_it_did() {
    let app = spawn_app().await;
    sample(&app).await;
    let dir = std::env::temp_dir().join(format!("ceasefire-forgiving-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let exported = app.get("/v1/incidents?format=csv").await.text;
    // As Excel or Python's csv module writes it: CRLF, and a BOM.
    let crlf = format!("\u{feff}{}", exported.replace("\r\n", "\n").replace('\n', "\r\n"));
    let good = dir.join("crlf.csv");
    std::fs::write(&good, &crlf).unwrap();

    // A bad row is reported on the line where its record starts.
    let bad_text = crlf.replacen(",mortar_fire,", ",mortar_fires,", 1);
    let record_start = bad_text[..bad_text.find(",mortar_fires,").unwrap()].rfind("\r\n").unwrap();
    let line = bad_text[..record_start].matches('\n').count() + 2;
    let bad = dir.join("bad.csv");
    std::fs::write(&bad, &bad_text).unwrap();
    let target = spawn_app().await;
    target.seed().await;
    let (ok, stderr) = import_with(&target, &bad, &[]);
    assert!(!ok);
    assert!(stderr.contains(&format!("line {line}: /type")), "expected line {line}: {stderr}");

    // An unseeded database: the file names parties it does not have.
    let unseeded = spawn_app().await;
    let (ok, stderr) = import_with(&unseeded, &good, &[]);
    assert!(!ok);
    assert!(stderr.contains("no party `am-mod`") && stderr.contains("ceasefire seed"), "{stderr}");

    // GeoJSON is for maps: said in a sentence, whatever the file is called.
    let geojson = dir.join("all.json");
    std::fs::write(&geojson, app.get("/v1/incidents?format=geojson").await.text).unwrap();
    let (ok, stderr) = import_with(&target, &geojson, &[]);
    assert!(!ok);
    assert!(stderr.contains("is GeoJSON") && stderr.contains("format=ndjson"), "{stderr}");

    // The good file loads; again, it fails whole, or skips what exists.
    let (ok, stderr) = import_with(&target, &good, &[]);
    assert!(ok, "{stderr}");
    assert!(stderr.contains("imported 30 incidents"), "{stderr}");
    let before = target.row_counts().await;
    let (ok, stderr) = import_with(&target, &good, &[]);
    assert!(!ok && stderr.contains("exists already") && stderr.contains("--on-existing skip"), "{stderr}");
    let (ok, stderr) = import_with(&target, &good, &["--on-existing", "skip"]);
    assert!(ok, "{stderr}");
    assert!(stderr.contains("imported 0 incidents") && stderr.contains("skipped 30"), "{stderr}");
    assert_eq!(target.row_counts().await, before);
    let ids = |body: &Value| -> Vec<String> {
        body["data"].as_array().unwrap().iter().map(|i| i["id"].as_str().unwrap().to_string()).collect()
    };
    assert_eq!(
        ids(&target.get("/v1/incidents?limit=100").await.body),
        ids(&app.get("/v1/incidents?limit=100").await.body)
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The CSV a journalist opens: names beside slugs, the first accusation and
/// denial spelled out, counts of each stance, a BOM on request.
#[tokio::test]
async fn the_csv_export_reads_without_the_json_columns() {
    let app = spawn_app().await;
    sample(&app).await;
    let res = app.get("/v1/incidents?format=csv&bom=true&type=sniper_fire").await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert!(res.text.starts_with('\u{feff}'), "a byte-order mark for Excel");
    let mut reader = csv::Reader::from_reader(res.text.trim_start_matches('\u{feff}').as_bytes());
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    let rows: Vec<std::collections::BTreeMap<String, String>> =
        reader.records().map(|r| header.iter().cloned().zip(r.unwrap().iter().map(String::from)).collect()).collect();
    assert_eq!(rows.len(), 15);
    for row in &rows {
        assert_eq!(row["accuser_names"], "Armed Forces of Armenia;Ministry of Defence of Armenia");
        assert_eq!(row["first_accuser"], "am-mod");
        assert_eq!(row["first_denier"], "az-mod");
        assert_eq!((row["accusations"].as_str(), row["denials"].as_str()), ("2", "1"));
        assert_eq!((row["confirmations"].as_str(), row["retractions"].as_str()), ("0", "0"));
    }
    app.get("/v1/incidents?format=ndjson&bom=true").await.assert_problem(400);
}

/// Parties travel with their incidents: exported, imported first into an
/// unseeded database; and `--on-existing update` puts back what a file says.
#[tokio::test]
async fn parties_travel_first_and_an_import_can_update_what_exists() {
    let app = spawn_app().await;
    app.seed().await;
    let nss = json!({"slug": "am-nss", "name": "National Security Service of Armenia", "kind": "government_body",
                     "country": "AM", "parent": "armenia"});
    assert_eq!(app.post("/v1/parties", &nss).await.status, 201);
    let mut story = ceasefire::seed::example()[0].clone();
    story["claims"][1]["claimant"] = json!("am-nss");
    let created = app.post("/v1/incidents", &story).await;
    assert_eq!(created.status, 201, "{}", created.text);
    let id = created.body["id"].as_str().unwrap().to_string();
    let dir = std::env::temp_dir().join(format!("ceasefire-parties-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let parties_csv = app.get("/v1/parties?format=csv").await;
    assert_eq!(parties_csv.status, 200, "{}", parties_csv.text);
    assert!(parties_csv.text.lines().any(|l| l.starts_with("am-nss,National Security Service of Armenia,")));
    let parties_nd = app.get("/v1/parties?format=ndjson").await;
    assert_eq!(parties_nd.text.lines().count(), ceasefire::seed::PARTIES.len() + 1);
    let (parties_file, incidents_file) = (dir.join("parties.ndjson"), dir.join("incidents.ndjson"));
    std::fs::write(&parties_file, &parties_nd.text).unwrap();
    std::fs::write(&incidents_file, app.get("/v1/incidents?format=ndjson").await.text).unwrap();

    // Into a database that was never seeded: the parties, then the incidents.
    let target = spawn_app().await;
    target.seed_places().await;
    let (ok, stderr) = import_with(&target, &incidents_file, &[]);
    assert!(!ok && stderr.contains("no party") && stderr.contains("format=ndjson"), "{stderr}");
    let (ok, stderr) = import_with(&target, &parties_file, &[]);
    assert!(ok, "{stderr}");
    assert!(stderr.contains(&format!("parties: {} new", ceasefire::seed::PARTIES.len() + 1)), "{stderr}");
    let (ok, stderr) = import_with(&target, &parties_file, &[]);
    assert!(ok && stderr.contains("0 new") && stderr.contains("unchanged"), "{stderr}");
    let (ok, stderr) = import_with(&target, &incidents_file, &[]);
    assert!(ok, "{stderr}");
    let there = target.get(&format!("/v1/incidents/{id}")).await;
    assert_eq!(there.body["attribution"]["deniers"], json!(["am-nss"]));

    // Changed here since; `update` puts back the file's, as a new version.
    let tag = there.header("etag").unwrap().to_string();
    let patched = target.patch(&format!("/v1/incidents/{id}"), &json!({"title": "Changed"}), Some(&tag)).await;
    assert_eq!(patched.status, 200, "{}", patched.text);
    let (ok, stderr) = import_with(&target, &incidents_file, &["--on-existing", "skip"]);
    assert!(ok && stderr.contains("skipped 1"), "{stderr}");
    assert_eq!(target.get(&format!("/v1/incidents/{id}")).await.body["title"], "Changed");
    let (ok, stderr) = import_with(&target, &incidents_file, &["--on-existing", "update"]);
    assert!(ok && stderr.contains("updated 1"), "{stderr}");
    let after = target.get(&format!("/v1/incidents/{id}")).await;
    assert_eq!(after.body["title"], story["title"]);
    assert_eq!(after.body["version"], 3, "the next version of the stored one");
    assert_eq!(after.body["claims"].as_array().unwrap().len(), 3);
    assert_eq!(after.body["attribution"]["deniers"], json!(["am-nss"]));
    let history = target.get(&format!("/v1/incidents/{id}/history")).await;
    assert_eq!(history.body["data"].as_array().unwrap().last().unwrap()["action"], "import");
    std::fs::remove_dir_all(&dir).unwrap();
}
