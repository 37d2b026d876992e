use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::harness::*;

/// Incidents loaded before the attacks, on this many border sectors.
const INCIDENTS: usize = 10_000;
const SECTORS: usize = 50;

/// A field of `/proc/PID/status` in KiB (`VmRSS`, `VmHWM`).
fn status_kib(pid: i32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with(field)).unwrap_or_else(|| panic!("no {field}"));
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v.get(v.len() / 2).copied().unwrap_or_default()
}

/// Reads one incident by id, one request after another, until `stop`:
/// what an ordinary reader sees while the attack runs.
fn reader(base: String, id: String, stop: Arc<AtomicBool>) -> tokio::task::JoinHandle<(Vec<Duration>, Vec<u16>)> {
    tokio::spawn(async move {
        let client = reqwest::Client::builder().timeout(Duration::from_secs(30)).build().unwrap();
        let (mut took, mut statuses) = (Vec::new(), Vec::new());
        while !stop.load(Ordering::Relaxed) {
            let started = Instant::now();
            let status =
                client.get(format!("{base}/v1/incidents/{id}")).send().await.map_or(0, |r| r.status().as_u16());
            took.push(started.elapsed());
            statuses.push(status);
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        (took, statuses)
    })
}

/// Runs `tasks` concurrent loops of `request(task, round)` for `rounds`
/// rounds each; returns every status.
async fn flood<F, Fut>(tasks: usize, rounds: usize, request: F) -> Vec<u16>
where
    F: Fn(reqwest::Client, usize, usize) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = u16> + Send,
{
    let client = reqwest::Client::builder().timeout(Duration::from_secs(60)).build().unwrap();
    let mut handles = Vec::new();
    for task in 0..tasks {
        let (client, request) = (client.clone(), request.clone());
        handles.push(tokio::spawn(async move {
            let mut statuses = Vec::new();
            for round in 0..rounds {
                statuses.push(request(client.clone(), task, round).await);
            }
            statuses
        }));
    }
    let mut all = Vec::new();
    for h in handles {
        all.extend(h.await.unwrap());
    }
    all
}

fn tally(statuses: &[u16]) -> String {
    let mut by: std::collections::BTreeMap<u16, usize> = Default::default();
    for s in statuses {
        *by.entry(*s).or_default() += 1;
    }
    by.iter().map(|(s, n)| format!("{s}: {n}")).collect::<Vec<_>>().join(", ")
}

/// The attacks of the outside test, against the real binary with 10,000
/// incidents: a bucket bomb must be refused without the server's memory
/// growing, and floods of `/metrics` scrapes and of heavy anonymous counts
/// must leave reads by id fast and never 503.
#[tokio::test]
async fn one_anonymous_client_cannot_take_the_service_down() {
    let _one_at_a_time = SERIAL.lock().await;
    let cluster = Cluster::start("hostile");
    let token = prepare(&cluster);
    let server = Server::spawn(&cluster.url(), &[]);
    server.wait_ready(Duration::from_secs(60)).await;
    let base = server.base();
    let client = reqwest::Client::builder().timeout(Duration::from_secs(120)).build().unwrap();

    // HOSTILE_SYNTHETIC=100000 adds that many incidents of bench/synthetic.sql
    // (and rebuilds the rollups), as large as the ledger of the outside test.
    if let Some(n) = std::env::var("HOSTILE_SYNTHETIC").ok().and_then(|v| v.parse::<u64>().ok()) {
        let psql = ceasefire::db::local::bin_dir().unwrap().join("psql");
        let file = concat!(env!("CARGO_MANIFEST_DIR"), "/bench/synthetic.sql");
        for args in [vec!["-v", &format!("n={n}"), "-f", file], vec!["-c", "SELECT stat_rebuild()"]] {
            let out = std::process::Command::new(&psql).arg(cluster.url()).arg("-q").args(&args).output().unwrap();
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        }
        println!("hostile: loaded {n} synthetic incidents");
    }

    // Ten years of incidents on fifty sectors, each with an accusation.
    for batch in 0..INCIDENTS / 1000 {
        let items: Vec<Value> = (0..1000)
            .map(|i| {
                let n = batch * 1000 + i;
                let mut one = incident(n);
                one["occurred_at"] = json!(format!("{}-{:02}-{:02}T10:00:00Z", 2014 + n % 10, 1 + n % 12, 1 + n % 28));
                one["location"]["border_sector"] = json!(format!("sector-{}", n % SECTORS));
                one
            })
            .collect();
        let res = client
            .post(format!("{base}/v1/incidents/batch"))
            .bearer_auth(&token)
            .json(&json!({"incidents": items}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    }
    let listed: Value = client.get(format!("{base}/v1/incidents?limit=1")).send().await.unwrap().json().await.unwrap();
    let id = listed["data"][0]["id"].as_str().unwrap().to_string();

    // 1. Bucket bombs. The peak RSS is reset first (clear_refs 5), so VmHWM
    // afterwards is the peak of the bombs alone.
    let pid = server.pid();
    std::fs::write(format!("/proc/{pid}/clear_refs"), "5").unwrap();
    let rss_before = status_kib(pid, "VmRSS");
    let bombs = [
        "/v1/stats/incidents?interval=day&from=1970-01-01&to=2024-01-01&group_by=border_sector",
        "/v1/stats/incidents?interval=day&from=2012-01-01&to=2024-01-01&group_by=border_sector,type,country,accuser",
        "/v1/stats/incidents?interval=day&from=1974-01-01&to=2024-01-01&group_by=border_sector,type",
        "/v1/stats/claims?interval=day&by=occurred&from=1970-01-01&to=2024-01-01&group_by=claimant,stance,target,border_sector",
    ];
    let mut bomb_statuses = Vec::new();
    for bomb in bombs {
        let started = Instant::now();
        let res = client.get(format!("{base}{bomb}")).send().await;
        let took = started.elapsed();
        let (status, bytes) = match res {
            Ok(r) => (r.status().as_u16(), r.bytes().await.map_or(0, |b| b.len())),
            Err(_) => (0, 0),
        };
        println!("hostile: bucket bomb {bomb}: {status}, {bytes} bytes in {took:.2?}");
        bomb_statuses.push(status);
    }
    let alive = client.get(format!("{base}/healthz")).send().await.map_or(0, |r| r.status().as_u16());
    let peak = status_kib(pid, "VmHWM");
    let rise_mib = peak.saturating_sub(rss_before) as f64 / 1024.0;
    println!("hostile: bucket bombs: RSS {rss_before} KiB before, peak {peak} KiB during (+{rise_mib:.1} MiB); /healthz {alive}");

    // 2. A /metrics flood: 400 scrapes, 16 at a time, while a reader reads by id.
    let stop = Arc::new(AtomicBool::new(false));
    let reading = reader(base.clone(), id.clone(), stop.clone());
    tokio::time::sleep(Duration::from_millis(500)).await;
    let scrape_base = base.clone();
    let scrapes = flood(16, 25, move |c, _, _| {
        let url = format!("{scrape_base}/metrics");
        async move { c.get(url).send().await.map_or(0, |r| r.status().as_u16()) }
    })
    .await;
    stop.store(true, Ordering::Relaxed);
    let (metrics_took, metrics_reads) = reading.await.unwrap();
    let metrics_median = median(metrics_took.clone());
    println!(
        "hostile: /metrics flood ({}): reads by id median {metrics_median:.2?} over {} reads ({})",
        tally(&scrapes),
        metrics_took.len(),
        tally(&metrics_reads)
    );

    // 3. Fifteen anonymous clients' worth of heavy counts (four dimensions,
    // each with a `from` of its own, so none is shared), while a reader reads by id.
    let stop = Arc::new(AtomicBool::new(false));
    let reading = reader(base.clone(), id.clone(), stop.clone());
    tokio::time::sleep(Duration::from_millis(500)).await;
    let count_base = base.clone();
    let counts = flood(15, 8, move |c, task, round| {
        let url = format!(
            "{count_base}/v1/stats/incidents?interval=month&from=2014-01-{:02}T{:02}:00:00Z&to=2024-01-01\
             &group_by=type,country,accuser,border_sector",
            1 + task % 28,
            round % 24
        );
        async move { c.get(url).send().await.map_or(0, |r| r.status().as_u16()) }
    })
    .await;
    stop.store(true, Ordering::Relaxed);
    let (counts_took, counts_reads) = reading.await.unwrap();
    let counts_median = median(counts_took.clone());
    println!(
        "hostile: heavy count flood ({}): reads by id median {counts_median:.2?} over {} reads ({})",
        tally(&counts),
        counts_took.len(),
        tally(&counts_reads)
    );

    assert!(bomb_statuses.iter().all(|s| *s == 400), "every bomb is refused: {bomb_statuses:?}");
    assert_eq!(alive, 200);
    assert!(rise_mib < 50.0, "the bombs raised the peak RSS by {rise_mib:.1} MiB");
    assert!(scrapes.iter().all(|s| *s == 200 || *s == 429), "{}", tally(&scrapes));
    assert!(metrics_reads.iter().all(|s| *s == 200), "{}", tally(&metrics_reads));
    assert!(metrics_median < Duration::from_millis(20), "{metrics_median:?}");
    assert!(counts.iter().all(|s| *s == 200 || *s == 429), "{}", tally(&counts));
    assert!(counts.contains(&200), "some counts are answered: {}", tally(&counts));
    assert!(counts_reads.iter().all(|s| *s == 200), "{}", tally(&counts_reads));
    assert!(counts_median < Duration::from_millis(20), "{counts_median:?}");
}
