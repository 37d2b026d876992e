use std::time::Duration;

use crate::harness::*;

/// `kill -9` under a stream of POSTs: every acknowledged incident is in the
/// database, whole, and served after the restart; nothing is half-written.
#[tokio::test]
async fn acknowledged_writes_survive_kill_9() {
    let _one_at_a_time = SERIAL.lock().await;
    let cluster = Cluster::start("crash");
    let token = prepare(&cluster);
    let mut server = Server::spawn(&cluster.url(), &[]);
    server.wait_ready(Duration::from_secs(60)).await;

    let load = Load::start(&server.base(), &token, 8);
    tokio::time::sleep(Duration::from_secs(3)).await;
    server.kill_hard();
    let tally = load.finish().await;

    let restarted = Server::spawn(&cluster.url(), &[]);
    restarted.wait_ready(Duration::from_secs(60)).await;
    let found = whole_incidents(&cluster, &tally.acknowledged).await;
    let broken = half_written(&cluster).await;
    let stored = cluster.count("SELECT count(*) AS n FROM incidents").await;
    let client = reqwest::Client::new();
    let mut served = 0;
    for id in &tally.acknowledged {
        let res = client.get(format!("{}/v1/incidents/{id}", restarted.base())).send().await.unwrap();
        if res.status() == 200 {
            served += 1;
        }
    }
    println!(
        "kill -9: {}; in the database: {found} of them whole, {stored} incidents in all \
         (a write can commit as its answer is lost), {broken} half-written; {served} served after restart",
        tally.summary()
    );
    assert!(tally.acknowledged.len() >= 20, "too little load to show anything: {}", tally.summary());
    assert_eq!(found as usize, tally.acknowledged.len(), "acknowledged incidents were lost");
    assert_eq!(broken, 0, "half-written records after the crash");
    assert_eq!(served, tally.acknowledged.len());
    assert!(tally.bad_5xx.is_empty(), "{:?}", tally.bad_5xx);
}

/// `kill -9` between the commit of changes and their delivery: the events
/// were written with the changes, so the restarted server delivers every
/// one, in order, once its receiver is back.
#[tokio::test]
async fn committed_events_are_delivered_after_kill_9() {
    let _one_at_a_time = SERIAL.lock().await;
    let cluster = Cluster::start("crash-webhooks");
    let token = prepare(&cluster);
    let live = [("CEASEFIRE_WEBHOOK_ALLOW_PRIVATE", "true"), ("CEASEFIRE_WEBHOOK_RETRY_BASE_MS", "200")];
    let mut server = Server::spawn(&cluster.url(), &live);
    server.wait_ready(Duration::from_secs(60)).await;
    let client = reqwest::Client::new();
    // The receiver is down: its port is free, nothing listens yet.
    let port = free_port();
    let res = client
        .post(format!("{}/v1/webhooks", server.base()))
        .bearer_auth(&token)
        .json(&serde_json::json!({"url": format!("http://127.0.0.1:{port}/hook")}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let load = Load::start(&server.base(), &token, 4);
    tokio::time::sleep(Duration::from_secs(2)).await;
    server.kill_hard();
    let tally = load.finish().await;
    let attempted = cluster.count("SELECT count(*) AS n FROM webhook_deliveries").await;

    let receiver = crate::receiver::Receiver::on(std::net::TcpListener::bind(("127.0.0.1", port)).unwrap());
    let restarted = Server::spawn(&cluster.url(), &live);
    restarted.wait_ready(Duration::from_secs(60)).await;
    let written = cluster.count("SELECT count(*) AS n FROM incidents").await as usize;
    // A delivery that fails again after the restart (a receiver slow under
    // the other tests' load) waits out its backoff, which after the failures
    // before the kill is over a minute: at least once, not at once.
    let deadline = std::time::Instant::now() + Duration::from_secs(180);
    while receiver.accepted().len() < written && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let got = receiver.accepted();
    let seqs: Vec<i64> = got.iter().map(|d| d.json()["seq"].as_i64().unwrap()).collect();
    let delivered: std::collections::BTreeSet<String> =
        got.iter().map(|d| d.json()["incident"]["id"].as_str().unwrap().to_string()).collect();
    let missing = tally.acknowledged.iter().filter(|id| !delivered.contains(*id)).count();
    println!(
        "kill -9 before delivery: {}; {attempted} failed attempts before the kill; \
         {} of {written} committed incidents delivered after restart, {missing} acknowledged ones missing",
        tally.summary(),
        got.len()
    );
    assert!(tally.acknowledged.len() >= 10, "too little load: {}", tally.summary());
    assert!(attempted >= 1, "no delivery was tried before the kill");
    assert_eq!(missing, 0, "acknowledged changes whose events were never delivered");
    assert_eq!(got.len(), written, "each committed incident's event once");
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "in seq order: {seqs:?}");
    receiver.handle.stop(false).await;
}
