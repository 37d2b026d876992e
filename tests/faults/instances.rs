use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{json, Value};

use crate::harness::*;

/// Two servers on one database behind nginx: a retried Idempotency-Key sent
/// to both at once makes one incident; PATCHes with one If-Match sent to
/// both let exactly one win.
#[tokio::test]
async fn two_instances_agree_on_retries_and_if_match() {
    let _one_at_a_time = SERIAL.lock().await;
    let cluster = Cluster::start("instances");
    let token = prepare(&cluster);
    let a = Server::spawn(&cluster.url(), &[]);
    let b = Server::spawn(&cluster.url(), &[]);
    a.wait_ready(Duration::from_secs(60)).await;
    b.wait_ready(Duration::from_secs(60)).await;
    let nginx = Nginx::start(&[a.port, b.port]);
    let client = reqwest::Client::builder().timeout(Duration::from_secs(30)).build().unwrap();

    // The same request, retried 24 times at once through the proxy and
    // straight at each instance.
    let key = uuid::Uuid::new_v4().to_string();
    let body = incident(42);
    let targets = [nginx.base(), a.base(), b.base()];
    let sends = (0..24).map(|i| {
        let (client, url, token, key, body) =
            (client.clone(), format!("{}/v1/incidents", targets[i % 3]), token.clone(), key.clone(), body.clone());
        tokio::spawn(async move {
            let res =
                client.post(url).bearer_auth(token).header("Idempotency-Key", key).json(&body).send().await.unwrap();
            let upstream = res.headers().get("x-upstream").map(|v| v.to_str().unwrap().to_string());
            let status = res.status().as_u16();
            let v: Value = res.json().await.unwrap();
            (status, v["id"].as_str().map(str::to_string), upstream)
        })
    });
    let answers: Vec<_> = futures_util::future::join_all(sends).await.into_iter().map(Result::unwrap).collect();
    let statuses: BTreeMap<u16, usize> = answers.iter().fold(BTreeMap::new(), |mut m, (s, _, _)| {
        *m.entry(*s).or_default() += 1;
        m
    });
    let ids: std::collections::BTreeSet<_> = answers.iter().filter_map(|(_, id, _)| id.clone()).collect();
    let upstreams: std::collections::BTreeSet<_> = answers.iter().filter_map(|(_, _, u)| u.clone()).collect();
    let stored =
        cluster.count("SELECT count(*) AS n FROM incidents WHERE title = 'Fire reported, load test #42'").await;
    println!(
        "idempotent retries: 24 sent (8 via nginx to {upstreams:?}, 8 to each instance); answers {statuses:?}; \
         {} distinct ids; {stored} incident stored",
        ids.len()
    );
    assert_eq!(statuses.get(&201), Some(&24), "{answers:?}");
    assert_eq!(ids.len(), 1);
    assert_eq!(stored, 1);
    assert_eq!(upstreams.len(), 2, "nginx should have spread the retries over both instances");

    // One If-Match, eight PATCHes over both instances.
    let id = ids.into_iter().next().unwrap();
    let res = client.get(format!("{}/v1/incidents/{id}", nginx.base())).send().await.unwrap();
    let etag = res.headers()["etag"].to_str().unwrap().to_string();
    let patches = (0..8).map(|i| {
        let (client, url, token, etag) =
            (client.clone(), format!("{}/v1/incidents/{id}", targets[i % 3]), token.clone(), etag.clone());
        tokio::spawn(async move {
            client
                .patch(url)
                .bearer_auth(token)
                .header("If-Match", etag)
                .header("Content-Type", "application/merge-patch+json")
                .body(json!({"title": format!("Corrected title {i}")}).to_string())
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        })
    });
    let statuses: Vec<u16> = futures_util::future::join_all(patches).await.into_iter().map(Result::unwrap).collect();
    let updates = cluster
        .count(&format!("SELECT count(*) AS n FROM revisions WHERE incident_id = '{id}' AND action = 'update'"))
        .await;
    println!("concurrent PATCHes with one If-Match: answers {statuses:?}; {updates} update stored");
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 1, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 412).count(), 7, "{statuses:?}");
    assert_eq!(updates, 1);
}

/// Instances started together on a new database: each applies the pending
/// migrations or waits for the one that does; none fails.
#[tokio::test]
async fn instances_started_together_migrate_once() {
    let _one_at_a_time = SERIAL.lock().await;
    let cluster = Cluster::start("migrate");
    let children: Vec<_> = (0..4)
        .map(|_| {
            std::process::Command::new(BIN)
                .arg("migrate")
                .env("DATABASE_URL", cluster.url())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let outputs: Vec<_> = children.into_iter().map(|c| c.wait_with_output().unwrap()).collect();
    let failed: Vec<String> = outputs
        .iter()
        .filter(|o| !o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stderr).into_owned())
        .collect();
    let applied = cluster.count("SELECT count(*) AS n FROM __diesel_schema_migrations").await;
    println!("4 concurrent migrations: {} failed, {applied} migrations recorded", failed.len());
    assert!(failed.is_empty(), "{failed:?}");
    assert_eq!(
        applied as usize,
        std::fs::read_dir("migrations").unwrap().filter(|e| e.as_ref().unwrap().path().is_dir()).count()
    );
}
