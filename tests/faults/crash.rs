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
