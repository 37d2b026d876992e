use std::collections::HashSet;

use serde_json::json;

use crate::helpers::{incident, spawn_app};

#[tokio::test]
async fn keyset_pages_neither_skip_nor_repeat_under_concurrent_inserts() {
    let app = spawn_app().await;
    let items: Vec<_> = (0..120)
        .map(|i| incident(&format!("2024-03-{:02}T{:02}:00:00Z", 1 + i % 28, i % 24), "small_arms_fire"))
        .collect();
    let created = app.post("/v1/incidents/batch", &json!({"incidents": items})).await;
    assert_eq!(created.status, 201);
    let originals: HashSet<String> =
        created.body["data"].as_array().unwrap().iter().map(|i| i["id"].as_str().unwrap().to_string()).collect();

    let mut seen: Vec<String> = Vec::new();
    let mut path = "/v1/incidents?limit=25&type=small_arms_fire".to_string();
    let mut pages = 0;
    let mut last_key: Option<(String, String)> = None;
    loop {
        // Others insert between page reads, before and after the cursor.
        for day in ["2024-02-01T00:00:00Z", "2024-03-15T12:30:00Z", "2024-04-01T00:00:00Z"] {
            assert_eq!(app.post("/v1/incidents", &incident(day, "small_arms_fire")).await.status, 201);
        }
        let page = app.get(&path).await;
        assert_eq!(page.status, 200, "{}", page.text);
        pages += 1;
        for item in page.body["data"].as_array().unwrap() {
            let key = (item["occurred_at"].as_str().unwrap().to_string(), item["id"].as_str().unwrap().to_string());
            if let Some(last) = &last_key {
                assert!(key < *last, "pages are in (occurred_at, id) descending order");
            }
            last_key = Some(key);
            seen.push(item["id"].as_str().unwrap().to_string());
        }
        match page.body["next_cursor"].as_str() {
            Some(cursor) => {
                let link = page.header("link").unwrap();
                assert!(link.contains("rel=\"next\"") && link.contains(cursor), "{link}");
                path = format!("/v1/incidents?limit=25&type=small_arms_fire&cursor={cursor}");
            }
            None => {
                assert!(page.header("link").is_none());
                break;
            }
        }
        assert!(pages < 100);
    }
    let unique: HashSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "no row repeats");
    assert!(originals.iter().all(|id| unique.contains(id)), "no row present from the start is skipped");

    // A cursor of another ordering is refused.
    use base64::Engine;
    let changed = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(json!({"o": "changed", "seq": 1, "id": uuid::Uuid::nil()}).to_string());
    app.get(&format!("/v1/incidents?cursor={changed}")).await.assert_problem(400);
    let occurred = path.rsplit("cursor=").next().unwrap().to_string();
    app.get(&format!("/v1/incidents?updated_since=2000-01-01&cursor={occurred}")).await.assert_problem(400);
    // ETag on lists.
    let list = app.get("/v1/incidents?limit=5").await;
    let etag = list.header("etag").unwrap();
    let again = app.send(app.client.get(app.url("/v1/incidents?limit=5")).header("If-None-Match", etag)).await;
    assert_eq!(again.status, 304);
}
