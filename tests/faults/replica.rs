use std::time::{Duration, Instant};

use serde_json::Value;

use crate::harness::*;

async fn lagging_reads(client: &reqwest::Client, base: &str, server: &str) -> u64 {
    let text = client.get(format!("{base}/metrics")).send().await.unwrap().text().await.unwrap();
    let prefix = format!("ceasefire_lagging_reads_total{{server=\"{server}\"}} ");
    text.lines().find_map(|l| l.strip_prefix(&prefix)).map_or(0, |n| n.trim().parse().unwrap())
}

async fn listed_ids(client: &reqwest::Client, base: &str) -> Vec<String> {
    let page: Value = client.get(format!("{base}/v1/incidents?limit=1000")).send().await.unwrap().json().await.unwrap();
    page["data"].as_array().unwrap().iter().map(|i| i["id"].as_str().unwrap().to_string()).collect()
}

async fn counted(client: &reqwest::Client, base: &str) -> i64 {
    let url = format!("{base}/v1/stats/incidents?interval=year&from=2024-01-01&to=2025-01-01");
    let stats: Value = client.get(url).send().await.unwrap().json().await.unwrap();
    stats["total"].as_i64().unwrap()
}

/// With `--database-read-url`, lists and counts are read from a streaming
/// replica, yet a client always sees its own writes: while the replica
/// lags (replay paused) or is down, the primary answers.
#[tokio::test]
async fn lists_and_counts_go_to_a_replica_without_losing_read_your_writes() {
    let _one_at_a_time = SERIAL.lock().await;
    let primary = Cluster::start("primary");
    let token = prepare(&primary);
    let replica = primary.replica();
    let server = Server::spawn(&primary.url(), &[("DATABASE_READ_URL", replica.url().as_str())]);
    server.wait_ready(Duration::from_secs(60)).await;
    let client = reqwest::Client::builder().timeout(Duration::from_secs(20)).build().unwrap();
    let base = server.base();

    let post = |n: usize| {
        let (client, base, token) = (client.clone(), base.clone(), token.clone());
        async move {
            let res = client.post(format!("{base}/v1/incidents")).bearer_auth(token).json(&incident(n)).send().await;
            let res = res.unwrap();
            assert_eq!(res.status(), 201);
            res.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_string()
        }
    };

    // Each write is seen by the list and the count asked for right after it.
    let mut missed = 0;
    for n in 0..20 {
        let id = post(n).await;
        if !listed_ids(&client, &base).await.contains(&id) || counted(&client, &base).await != n as i64 + 1 {
            missed += 1;
        }
    }
    // Reads with no write in between are the replica's once it has caught up.
    let caught_up = Instant::now();
    loop {
        let before = lagging_reads(&client, &base, "replica").await;
        listed_ids(&client, &base).await;
        if lagging_reads(&client, &base, "replica").await > before {
            break;
        }
        assert!(caught_up.elapsed() < Duration::from_secs(20), "the replica never caught up");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let before = lagging_reads(&client, &base, "replica").await;
    for _ in 0..20 {
        assert_eq!(listed_ids(&client, &base).await.len(), 20);
    }
    let on_replica = lagging_reads(&client, &base, "replica").await - before;
    let replica_incidents = replica.count("SELECT count(*) AS n FROM incidents").await;

    // Replay paused: the replica lags, so the primary answers, fresh.
    replica.count("SELECT count(*) AS n FROM (SELECT pg_wal_replay_pause()) p").await;
    let primary_before = lagging_reads(&client, &base, "primary").await;
    let id = post(100).await;
    let seen_while_lagging = listed_ids(&client, &base).await.contains(&id) && counted(&client, &base).await == 21;
    let on_primary_while_lagging = lagging_reads(&client, &base, "primary").await - primary_before;
    let replica_behind = replica.count("SELECT count(*) AS n FROM incidents").await;
    replica.count("SELECT count(*) AS n FROM (SELECT pg_wal_replay_resume()) p").await;

    // Replica down: lists still answer, from the primary, quickly.
    replica.stop();
    let asked = Instant::now();
    let listed_while_down = listed_ids(&client, &base).await.len();
    let down_took = asked.elapsed();
    let res = client.get(format!("{base}/v1/incidents?limit=5")).send().await.unwrap();
    let status_while_down = res.status().as_u16();

    println!(
        "replica: 20 writes each followed by a list and a count: {missed} missed the write; \
         20 later lists: {on_replica} answered by the replica (which holds {replica_incidents} incidents); \
         replay paused: the new write was {} by {on_primary_while_lagging} reads the primary answered \
         (the replica held {replica_behind}); replica stopped: a list answered {status_while_down} with \
         {listed_while_down} incidents in {} ms",
        if seen_while_lagging { "seen" } else { "NOT seen" },
        down_took.as_millis()
    );
    assert_eq!(missed, 0);
    assert_eq!(on_replica, 20, "lists should be the replica's");
    assert_eq!(replica_incidents, 20);
    assert!(seen_while_lagging);
    assert_eq!(on_primary_while_lagging, 2);
    assert_eq!(replica_behind, 20, "replay was not paused");
    assert_eq!(listed_while_down, 21);
    assert_eq!(status_while_down, 200);
    assert!(down_took < Duration::from_secs(3));
}
