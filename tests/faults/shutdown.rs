use std::time::{Duration, Instant};

use serde_json::Value;

use crate::harness::*;

/// SIGTERM under load: requests already accepted finish (a long export
/// among them), new connections are refused, no 5xx, a clean exit.
#[tokio::test]
async fn sigterm_lets_accepted_requests_finish() {
    let _one_at_a_time = SERIAL.lock().await;
    let cluster = Cluster::start("shutdown");
    let token = prepare(&cluster);
    let mut server = Server::spawn(&cluster.url(), &[]);
    server.wait_ready(Duration::from_secs(60)).await;
    let client = reqwest::Client::builder().timeout(Duration::from_secs(60)).build().unwrap();

    // Enough incidents that an export of all of them takes a while.
    let preloaded = 3000;
    for batch in 0..preloaded / 1000 {
        let incidents: Vec<Value> = (0..1000).map(|i| incident(50_000_000 + batch * 1000 + i)).collect();
        let res = client
            .post(format!("{}/v1/incidents/batch", server.base()))
            .bearer_auth(&token)
            .json(&serde_json::json!({ "incidents": incidents }))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    }

    let load = Load::start(&server.base(), &token, 8);
    tokio::time::sleep(Duration::from_secs(1)).await;
    // An export whose answer has begun when the signal arrives.
    let export = client.get(format!("{}/v1/incidents?format=csv", server.base())).send().await.unwrap();
    assert_eq!(export.status(), 200);
    server.terminate();
    let signalled = Instant::now();

    // New connections are refused soon after the signal.
    let mut refused_after = None;
    while signalled.elapsed() < Duration::from_secs(10) {
        let fresh = reqwest::Client::builder().pool_max_idle_per_host(0).build().unwrap();
        if fresh.get(format!("{}/healthz", server.base())).send().await.is_err() {
            refused_after = Some(signalled.elapsed());
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let csv = match export.text().await {
        Ok(csv) => csv,
        Err(e) => panic!("the export in flight was cut off: {e:?}\nserver log:\n{}", server.log_text()),
    };
    let rows = csv.lines().count() - 1;
    let tally = load.finish().await;
    let code = server.wait_exit(Duration::from_secs(40));
    let found = whole_incidents(&cluster, &tally.acknowledged).await;
    // A request whose connection was cut as the server stopped (one still
    // queued for a worker) may or may not have been written: the client
    // cannot tell, so it retries with its Idempotency-Key, here against the
    // restarted server. Each must then exist exactly once.
    let written_before_retry = stored(&cluster, tally.cut_off_requests.iter().map(|(n, _)| *n)).await;
    let restarted = Server::spawn(&cluster.url(), &[]);
    restarted.wait_ready(Duration::from_secs(60)).await;
    let mut retried = std::collections::BTreeMap::new();
    for (n, key) in &tally.cut_off_requests {
        let res = client
            .post(format!("{}/v1/incidents", restarted.base()))
            .bearer_auth(&token)
            .header("Idempotency-Key", key)
            .json(&incident(*n))
            .send()
            .await
            .unwrap();
        let replayed = res.headers().contains_key("idempotent-replayed");
        *retried.entry((res.status().as_u16(), replayed)).or_insert(0) += 1;
    }
    let after_retry = stored(&cluster, tally.cut_off_requests.iter().map(|(n, _)| *n)).await;
    println!(
        "SIGTERM under load: {}; new connections refused {} ms after the signal; \
         the export in flight finished with {rows} rows; exit code {code:?}; {found} acknowledged incidents found; \
         cut-off requests: {written_before_retry} had been written, retried with their keys: \
         (status, replayed) {retried:?}, then {after_retry} stored",
        tally.summary(),
        refused_after.map_or(-1, |d| d.as_millis() as i64),
    );
    assert!(refused_after.is_some(), "the server still accepted connections 10 s after SIGTERM");
    assert!(rows >= preloaded, "the export lost rows: {rows}");
    assert!(csv.ends_with('\n'));
    assert_eq!(tally.five_xx(), 0, "{}", tally.summary());
    assert_eq!(after_retry as usize, tally.cut_off_requests.len(), "each cut-off request exists once after its retry");
    assert!(retried.keys().all(|(status, _)| *status == 201), "{retried:?}");
    assert!(tally.acknowledged.len() >= 10, "too little load to show anything: {}", tally.summary());
    assert_eq!(found as usize, tally.acknowledged.len());
    assert_eq!(code, Some(0));
}
