use std::time::{Duration, Instant};

use crate::harness::*;

/// PostgreSQL stops under load: answers are fast 503 problem+json, `/readyz`
/// turns 503, and the same process heals once PostgreSQL is back.
#[tokio::test]
async fn database_outage_fails_fast_and_heals() {
    let _one_at_a_time = SERIAL.lock().await;
    let cluster = Cluster::start("outage");
    let token = prepare(&cluster);
    let server = Server::spawn(&cluster.url(), &[]);
    server.wait_ready(Duration::from_secs(60)).await;
    let client = reqwest::Client::builder().timeout(Duration::from_secs(20)).build().unwrap();

    let load = Load::start(&server.base(), &token, 8);
    tokio::time::sleep(Duration::from_secs(2)).await;
    cluster.stop();
    let stopped = Instant::now();

    // Readiness turns 503.
    let mut not_ready_after = None;
    while stopped.elapsed() < Duration::from_secs(10) {
        let res = client.get(format!("{}/readyz", server.base())).send().await.unwrap();
        if res.status() == 503 {
            not_ready_after = Some(stopped.elapsed());
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let not_ready_after = not_ready_after.expect("/readyz still 200 ten seconds into the outage");

    // Reads fail fast too, with a problem.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let asked = Instant::now();
    let res = client.get(format!("{}/v1/incidents", server.base())).send().await.unwrap();
    let read_took = asked.elapsed();
    assert_eq!(res.status(), 503);
    assert!(res.headers()["content-type"].to_str().unwrap().starts_with("application/problem+json"));

    cluster.start_again();
    let restarted = Instant::now();
    let ready_after = wait_ready_at(&server.base(), Duration::from_secs(30))
        .await
        .expect("the server did not become ready within 30 s of PostgreSQL's restart");
    // The first write that goes through after the restart.
    let mut write_after = None;
    for n in 0..300 {
        let res = client
            .post(format!("{}/v1/incidents", server.base()))
            .bearer_auth(&token)
            .json(&incident(90_000_000 + n))
            .send()
            .await
            .unwrap();
        if res.status() == 201 {
            write_after = Some(restarted.elapsed());
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let write_after = write_after.expect("no write succeeded after the restart");
    tokio::time::sleep(Duration::from_secs(1)).await;
    let tally = load.finish().await;
    let found = whole_incidents(&cluster, &tally.acknowledged).await;
    let broken = half_written(&cluster).await;
    println!(
        "database outage: {}; /readyz 503 after {} ms; a read during the outage answered 503 in {} ms; \
         ready again {} ms and writing again {} ms after PostgreSQL restarted; \
         {found} acknowledged incidents found whole, {broken} half-written",
        tally.summary(),
        not_ready_after.as_millis(),
        read_took.as_millis(),
        ready_after.as_millis(),
        write_after.as_millis()
    );
    assert!(
        tally.bad_5xx.is_empty(),
        "5xx other than problem+json 503: {:?}\nserver errors:\n{}",
        tally.bad_5xx,
        server.log_text().lines().filter(|l| l.contains("ERROR")).collect::<Vec<_>>().join("\n")
    );
    assert!(tally.count(503) > 0, "the outage was not seen: {}", tally.summary());
    assert!(tally.slowest < Duration::from_secs(6), "an answer hung: {}", tally.summary());
    assert!(read_took < Duration::from_secs(3));
    assert!(ready_after < Duration::from_secs(10));
    assert!(write_after < Duration::from_secs(10));
    assert_eq!(found as usize, tally.acknowledged.len(), "acknowledged incidents were lost");
    assert_eq!(broken, 0);
}
