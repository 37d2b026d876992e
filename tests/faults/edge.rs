use std::time::{Duration, Instant};

use serde_json::Value;

use crate::harness::*;

const COUNT: &str = "/v1/stats/incidents?interval=day&from=2024-03-01&to=2024-04-01&tz=Asia/Baku&group_by=type";

struct Read {
    status: u16,
    cache: String,
    etag: String,
    cache_control: String,
    body: Value,
}

async fn read(client: &reqwest::Client, url: &str, etag: Option<&str>) -> Read {
    let mut req = client.get(url);
    if let Some(etag) = etag {
        req = req.header("If-None-Match", etag);
    }
    let res = req.send().await.unwrap();
    let header = |name: &str| res.headers().get(name).map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
    let (status, cache, etag, cache_control) =
        (res.status().as_u16(), header("x-cache-status"), header("etag"), header("cache-control"));
    let text = res.text().await.unwrap();
    Read { status, cache, etag, cache_control, body: serde_json::from_str(&text).unwrap_or(Value::Null) }
}

/// nginx caching in front of two instances, configured with
/// docs/nginx/ceasefire-cache.conf: readers get 200 and 304 from nginx's
/// cache, a stale copy is revalidated with a 304 from the service, and a
/// write through either instance is visible through nginx within the
/// `s-maxage` the instances announce.
#[tokio::test]
async fn nginx_caches_public_reads_in_front_of_two_instances() {
    let _one_at_a_time = SERIAL.lock().await;
    let cluster = Cluster::start("edge");
    let token = prepare(&cluster);
    let staleness = Duration::from_secs(2);
    let edge = [("CEASEFIRE_EDGE_MAX_AGE", "2")];
    let a = Server::spawn(&cluster.url(), &edge);
    let b = Server::spawn(&cluster.url(), &edge);
    a.wait_ready(Duration::from_secs(60)).await;
    b.wait_ready(Duration::from_secs(60)).await;
    let nginx = Nginx::caching(&[a.port, b.port]);
    let client = reqwest::Client::builder().timeout(Duration::from_secs(30)).build().unwrap();
    let post = |base: String, n: usize| {
        let (client, token) = (client.clone(), token.clone());
        async move {
            let res = client.post(format!("{base}/v1/incidents")).bearer_auth(token).json(&incident(n)).send().await;
            assert_eq!(res.unwrap().status().as_u16(), 201);
        }
    };
    post(nginx.base(), 1).await;

    let url = format!("{}{COUNT}", nginx.base());
    let first = read(&client, &url, None).await;
    assert_eq!((first.status, first.cache.as_str()), (200, "MISS"));
    assert_eq!(first.cache_control, "public, max-age=0, must-revalidate, s-maxage=2");
    assert_eq!(first.body["total"], 1);
    let hit = read(&client, &url, None).await;
    assert_eq!((hit.status, hit.cache.as_str(), &hit.etag), (200, "HIT", &first.etag));
    let not_modified = read(&client, &url, Some(&first.etag)).await;
    assert_eq!((not_modified.status, not_modified.cache.as_str()), (304, "HIT"));
    // Once stale, nginx asks the service with the ETag and keeps its copy
    // (nginx counts freshness in whole seconds: up to one more).
    tokio::time::sleep(staleness + Duration::from_millis(1200)).await;
    let revalidated = read(&client, &url, None).await;
    assert_eq!((revalidated.status, revalidated.cache.as_str()), (200, "REVALIDATED"));
    assert_eq!(revalidated.body["total"], 1);

    // Writes through one instance and the other, each read through nginx
    // until it shows: within the staleness allowed (plus nginx's rounding
    // to whole seconds and a margin for a loaded machine).
    let mut seen = Vec::new();
    for (n, base) in [(2, a.base()), (3, b.base()), (4, a.base())] {
        post(base, n).await;
        let written = Instant::now();
        loop {
            let now = read(&client, &url, None).await;
            assert_eq!(now.status, 200);
            if now.body["total"] == n as i64 {
                seen.push(written.elapsed());
                break;
            }
            assert!(written.elapsed() < staleness + Duration::from_secs(2), "write {n} not visible through nginx");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    // Reads with a key go past the cache.
    let keyed = client.get(&url).bearer_auth(&token).send().await.unwrap();
    let keyed_cache = keyed.headers().get("x-cache-status").map(|v| v.to_str().unwrap().to_string());
    assert_eq!(keyed.headers()["cache-control"], "private, no-store");
    assert_eq!(keyed_cache.as_deref(), Some("BYPASS"));
    println!("nginx caching in front of two instances (s-maxage=2): MISS, HIT, 304 HIT, REVALIDATED; writes visible through it after {seen:?}");
}
