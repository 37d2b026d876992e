//! Counts by period against a brute-force count made here from the
//! incidents as the list answers them, over randomized data.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};

use diesel_async::SimpleAsyncConnection;

use crate::helpers::{spawn_app, TestApp};

const TYPES: &[&str] = &["small_arms_fire", "mortar_fire", "drone_strike", "sniper_fire"];
const SECTORS: &[&str] = &["sotk", "tegh", "yeraskh", "gegharkunik"];

/// (party, side) of the parties that accuse and deny in the data.
const ARMENIAN: &[&str] = &["am-mod", "am-armed-forces"];
const AZERBAIJANI: &[&str] = &["az-mod", "az-armed-forces", "az-state-border-service"];

fn random_incident(rng: &mut StdRng) -> Value {
    let start = Utc.with_ymd_and_hms(2023, 1, 1, 0, 0, 0).unwrap();
    let at = start + Duration::minutes(rng.gen_range(0..(2 * 365 * 24 * 60)));
    let (own, other) = if rng.gen_bool(0.5) { (ARMENIAN, AZERBAIJANI) } else { (AZERBAIJANI, ARMENIAN) };
    let mut claims = vec![];
    if rng.gen_bool(0.85) {
        let accuser = own[rng.gen_range(0..own.len())];
        claims.push(json!({"claimant": accuser, "stance": "accuses", "target": other[rng.gen_range(0..other.len())], "stated_at": (at + Duration::hours(rng.gen_range(1..72))).to_rfc3339()}));
        if rng.gen_bool(0.3) {
            let second = own[(own.iter().position(|p| *p == accuser).unwrap() + 1) % own.len()];
            claims.push(json!({"claimant": second, "stance": "accuses", "target": other[0], "stated_at": (at + Duration::hours(2)).to_rfc3339()}));
        }
        if rng.gen_bool(0.5) {
            claims.push(json!({"claimant": other[0], "stance": "denies", "responds_to_index": 0, "stated_at": (at + Duration::hours(80)).to_rfc3339()}));
        }
        if rng.gen_bool(0.15) {
            claims.push(json!({"claimant": accuser, "stance": "retracts", "responds_to_index": 0, "stated_at": (at + Duration::hours(100)).to_rfc3339()}));
        }
    }
    if rng.gen_bool(0.2) {
        claims.push(
            json!({"claimant": "euma", "stance": "confirms", "stated_at": (at + Duration::hours(5)).to_rfc3339()}),
        );
    }
    let verification = ["unverified", "corroborated", "confirmed"][rng.gen_range(0..3)];
    json!({
        "occurred_at": at.to_rfc3339(),
        "type": TYPES[rng.gen_range(0..TYPES.len())],
        "location": {"name": "x", "border_sector": SECTORS[rng.gen_range(0..SECTORS.len())], "country": if rng.gen_bool(0.5) { "AM" } else { "AZ" }},
        "title": "generated",
        "violations": rng.gen_range(1..20),
        "verification": verification,
        "casualties": if rng.gen_bool(0.3) { json!({"killed_military": rng.gen_range(0..3), "wounded_civilian": rng.gen_range(0..4)}) } else { json!({}) },
        "claims": claims,
    })
}

async fn all_incidents(app: &TestApp) -> Vec<Value> {
    let mut out = Vec::new();
    let mut path = "/v1/incidents?limit=1000".to_string();
    loop {
        let page = app.get(&path).await;
        out.extend(page.body["data"].as_array().unwrap().iter().cloned());
        match page.body["next_cursor"].as_str() {
            Some(c) => path = format!("/v1/incidents?limit=1000&cursor={c}"),
            None => return out,
        }
    }
}

fn floor(interval: &str, d: NaiveDate) -> NaiveDate {
    match interval {
        "day" => d,
        "week" => d - Duration::days(d.weekday().num_days_from_monday() as i64),
        "month" => d.with_day(1).unwrap(),
        "quarter" => NaiveDate::from_ymd_opt(d.year(), (d.month() - 1) / 3 * 3 + 1, 1).unwrap(),
        "year" => NaiveDate::from_ymd_opt(d.year(), 1, 1).unwrap(),
        _ => unreachable!(),
    }
}

fn period_start(tz: Tz, d: NaiveDate) -> String {
    tz.from_local_datetime(&d.and_hms_opt(0, 0, 0).unwrap()).earliest().unwrap().to_rfc3339()
}

fn strings(v: &Value) -> Vec<Value> {
    v.as_array().unwrap().clone()
}

/// The values of one dimension for one incident (several for party roles).
fn dimension(incident: &Value, dim: &str, sides: &HashMap<String, String>) -> Vec<Value> {
    let a = &incident["attribution"];
    let side_values = |list: &Value| {
        let mut v: Vec<String> = list.as_array().unwrap().iter().map(|p| sides[p.as_str().unwrap()].clone()).collect();
        v.sort();
        v.dedup();
        v.into_iter().map(Value::String).collect::<Vec<_>>()
    };
    let values = match dim {
        "type" => vec![incident["type"].clone()],
        "verification" => vec![incident["verification"].clone()],
        "border_sector" => vec![incident["location"]["border_sector"].clone()],
        "country" => vec![incident["location"]["country"].clone()],
        "denied" => vec![a["denied"].clone()],
        "accuser" => strings(&a["accusers"]),
        "accused" => strings(&a["accused"]),
        "accuser_side" => side_values(&a["accusers"]),
        "accused_side" => side_values(&a["accused"]),
        _ => unreachable!(),
    };
    if values.is_empty() {
        vec![Value::Null]
    } else {
        values
    }
}

fn measure(incident: &Value, m: &str) -> i64 {
    let c = &incident["casualties"];
    let n = |k: &str| c[k].as_i64().unwrap_or(0);
    match m {
        "incidents" => 1,
        "violations" => incident["violations"].as_i64().unwrap(),
        "killed" => n("killed_military") + n("killed_civilian"),
        "wounded" => n("wounded_military") + n("wounded_civilian"),
        _ => unreachable!(),
    }
}

type Counts = BTreeMap<(String, Vec<String>), i64>;

fn from_api(body: &Value, dims: &[&str]) -> Counts {
    body["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["value"].as_i64().unwrap() != 0)
        .map(|b| {
            let group = dims.iter().map(|d| b[*d].to_string()).collect();
            ((b["period_start"].as_str().unwrap().to_string(), group), b["value"].as_i64().unwrap())
        })
        .collect()
}

#[allow(clippy::too_many_arguments)]
fn brute_force(
    incidents: &[Value],
    sides: &HashMap<String, String>,
    tz: Tz,
    interval: &str,
    dims: &[&str],
    filters: &[(&str, Vec<Value>)],
    m: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> (Counts, i64) {
    let mut counts = Counts::new();
    let mut total = 0;
    for incident in incidents {
        let at: DateTime<Utc> = incident["occurred_at"].as_str().unwrap().parse().unwrap();
        if at < from || at >= to {
            continue;
        }
        if !filters.iter().all(|(dim, wanted)| dimension(incident, dim, sides).iter().any(|v| wanted.contains(v))) {
            continue;
        }
        let v = measure(incident, m);
        total += v;
        let start = period_start(tz, floor(interval, at.with_timezone(&tz).date_naive()));
        let mut groups: Vec<Vec<String>> = vec![vec![]];
        for dim in dims {
            let values = dimension(incident, dim, sides);
            groups = groups
                .into_iter()
                .flat_map(|g| values.iter().map(move |v| [g.clone(), vec![v.to_string()]].concat()))
                .collect();
        }
        for g in groups {
            *counts.entry((start.clone(), g)).or_default() += v;
        }
    }
    counts.retain(|_, v| *v != 0);
    (counts, total)
}

/// Compares counts in several zones, intervals, groupings, filters and
/// measures with the brute-force count. Asked with a key: computed every
/// time, never a remembered answer.
async fn check_counts(app: &TestApp, incidents: &[Value], sides: &HashMap<String, String>) {
    let from: DateTime<Utc> = "2023-02-10T13:00:00Z".parse().unwrap();
    let to: DateTime<Utc> = "2024-11-20T00:00:00Z".parse().unwrap();
    let zones = ["UTC", "Asia/Baku", "Asia/Kathmandu", "America/New_York", "Europe/Berlin"];
    let filters: Vec<Vec<(&str, Vec<Value>)>> = vec![
        vec![],
        vec![("type", vec![json!("mortar_fire")])],
        vec![("accuser_side", vec![json!("armenia")])],
        vec![("denied", vec![json!(true)]), ("type", vec![json!("small_arms_fire"), json!("sniper_fire")])],
        vec![("accuser", vec![json!("am-mod"), json!("az-mod")])],
        vec![("verification", vec![json!("confirmed"), json!("corroborated")])],
        vec![],
    ];
    let groupings: [&[&str]; 6] = [
        &[],
        &["accuser"],
        &["accuser_side", "type"],
        &["denied"],
        &["accused", "verification"],
        &["border_sector", "country", "accused_side"],
    ];
    let measures = ["incidents", "violations", "killed", "wounded"];
    let mut checked = 0;
    for (i, zone) in zones.iter().enumerate() {
        let tz: Tz = zone.parse().unwrap();
        for (j, interval) in ["day", "week", "month", "quarter", "year"].iter().enumerate() {
            let dims = groupings[(i + j) % groupings.len()];
            let m = measures[(i * 5 + j) % measures.len()];
            let filter = &filters[(i * 2 + j) % filters.len()];
            let mut query = format!(
                "/v1/stats/incidents?interval={interval}&tz={zone}&from={}&to={}&measure={m}{}",
                from.to_rfc3339().replace('+', "%2B"),
                to.to_rfc3339().replace('+', "%2B"),
                if dims.is_empty() { String::new() } else { format!("&group_by={}", dims.join(",")) }
            );
            for (name, values) in filter {
                let values: Vec<String> =
                    values.iter().map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string)).collect();
                query.push_str(&format!("&{name}={}", values.join(",")));
            }
            let res = app.get_as(&query, &app.token).await;
            assert_eq!(res.status, 200, "{query}: {}", res.text);
            let (expected, total) = brute_force(incidents, sides, tz, interval, dims, filter, m, from, to);
            assert_eq!(from_api(&res.body, dims), expected, "{query}");
            assert_eq!(res.body["total"], total, "{query}");
            // Zero-filled: every period for every group that appears.
            let groups: std::collections::BTreeSet<String> = res.body["buckets"]
                .as_array()
                .unwrap()
                .iter()
                .map(|b| dims.iter().map(|d| b[*d].to_string()).collect::<Vec<_>>().join("|"))
                .collect();
            let periods: std::collections::BTreeSet<&str> =
                res.body["buckets"].as_array().unwrap().iter().map(|b| b["period_start"].as_str().unwrap()).collect();
            assert_eq!(res.body["buckets"].as_array().unwrap().len(), groups.len() * periods.len(), "{query}");
            let first = period_start(tz, floor(interval, from.with_timezone(&tz).date_naive()));
            assert_eq!(res.body["buckets"][0]["period_start"], first.as_str(), "{query}");
            checked += 1;
        }
    }
    assert_eq!(checked, 25);
    // One or two dimensions, which the day and month rollups answer.
    for (zone, interval, query, dims, filter) in [
        (
            "Asia/Yerevan",
            "day",
            "type=mortar_fire&denied=true",
            vec![],
            vec![("type", vec![json!("mortar_fire")]), ("denied", vec![json!(true)])],
        ),
        (
            "UTC",
            "week",
            "group_by=accuser_side&type=sniper_fire",
            vec!["accuser_side"],
            vec![("type", vec![json!("sniper_fire")])],
        ),
        ("Asia/Baku", "month", "group_by=accused_side,accuser_side", vec!["accused_side", "accuser_side"], vec![]),
        (
            "UTC",
            "year",
            "group_by=type&accuser_side=azerbaijan",
            vec!["type"],
            vec![("accuser_side", vec![json!("azerbaijan")])],
        ),
        ("Asia/Baku", "week", "group_by=accuser_side", vec!["accuser_side"], vec![]),
        ("UTC", "month", "group_by=type", vec!["type"], vec![]),
        ("Asia/Baku", "quarter", "group_by=accuser", vec!["accuser"], vec![]),
        ("UTC", "day", "accuser=am-mod", vec![], vec![("accuser", vec![json!("am-mod")])]),
        (
            "Asia/Baku",
            "month",
            "group_by=verification&verification=confirmed,unverified",
            vec!["verification"],
            vec![("verification", vec![json!("confirmed"), json!("unverified")])],
        ),
    ] {
        let tz: Tz = zone.parse().unwrap();
        for (from, to) in
            [(from, to), ("2023-03-01T00:00:00Z".parse().unwrap(), "2024-10-01T00:00:00Z".parse().unwrap())]
        {
            let path = format!(
                "/v1/stats/incidents?interval={interval}&tz={zone}&from={}&to={}&{query}",
                from.to_rfc3339().replace('+', "%2B"),
                to.to_rfc3339().replace('+', "%2B"),
            );
            let res = app.get_as(&path, &app.token).await;
            assert_eq!(res.status, 200, "{path}: {}", res.text);
            let (expected, total) = brute_force(incidents, sides, tz, interval, &dims, &filter, "incidents", from, to);
            assert_eq!(from_api(&res.body, &dims), expected, "{path}");
            assert_eq!(res.body["total"], total, "{path}");
        }
    }
}

async fn sides(app: &TestApp) -> HashMap<String, String> {
    app.get("/v1/parties").await.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["slug"].as_str().unwrap().to_string(), p["side"].as_str().unwrap().to_string()))
        .collect()
}

#[tokio::test]
async fn counts_match_a_brute_force_count() {
    let app = spawn_app().await;
    app.seed().await;
    // Hold the fold back until the first round of counts is done.
    let mut holder = app.db().await;
    holder.batch_execute("BEGIN; UPDATE stat_fold_lock SET folded_at = now()").await.unwrap();
    let mut rng = StdRng::seed_from_u64(20230815);
    let items: Vec<Value> = (0..300).map(|_| random_incident(&mut rng)).collect();
    let created = app.post("/v1/incidents/batch", &json!({"incidents": items})).await;
    assert_eq!(created.status, 201, "{}", created.text);
    // Some changes after the fact: deletes, a retraction, a patch.
    let ids: Vec<String> =
        created.body["data"].as_array().unwrap().iter().map(|i| i["id"].as_str().unwrap().to_string()).collect();
    for id in ids.iter().step_by(17) {
        let etag = app.get(&format!("/v1/incidents/{id}")).await.header("etag").unwrap().to_string();
        assert_eq!(app.delete(&format!("/v1/incidents/{id}"), Some(&etag)).await.status, 204);
    }
    for id in ids.iter().enumerate().filter(|(i, _)| i % 23 == 3 && i % 17 != 0).map(|(_, id)| id) {
        let etag = app.get(&format!("/v1/incidents/{id}")).await.header("etag").unwrap().to_string();
        assert_eq!(
            app.patch(&format!("/v1/incidents/{id}"), &json!({"type": "rocket_fire", "violations": 7}), Some(&etag))
                .await
                .status,
            200
        );
    }
    let incidents = all_incidents(&app).await;
    assert!(incidents.len() > 250);
    let sides = sides(&app).await;

    // Every count twice: while the changes wait to be folded (the fold is
    // held back by a transaction that holds its lock), and once they are in
    // the rollups.
    assert!(app.sql_count("SELECT stat_waiting() AS n").await > 0, "the changes wait for the fold");
    check_counts(&app, &incidents, &sides).await;
    // Compacted while they wait (as an instance does when the fold is held
    // for long): the same counts from the groups.
    app.sql_count("SELECT stat_compact(1000000)::int8 AS n").await;
    assert_eq!(app.sql_count("SELECT count(*) AS n FROM stat_dirty").await, 0);
    assert!(app.sql_count("SELECT count(*) AS n FROM stat_dirty_sums").await > 0);
    check_counts(&app, &incidents, &sides).await;
    holder.batch_execute("ROLLBACK").await.unwrap();
    app.wait_for_rollups().await;
    assert_eq!(app.sql_count("SELECT count(*) AS n FROM stat_current").await, incidents.len() as i64);
    check_counts(&app, &incidents, &sides).await;

    // The same counts as CSV, read with a CSV parser.
    let json_answer =
        app.get("/v1/stats/incidents?interval=month&from=2023-01-01&to=2025-01-01&group_by=accuser_side,type").await;
    let csv_answer = app
        .send(
            app.client
                .get(
                    app.url(
                        "/v1/stats/incidents?interval=month&from=2023-01-01&to=2025-01-01&group_by=accuser_side,type",
                    ),
                )
                .header("Accept", "text/csv"),
        )
        .await;
    assert!(csv_answer.content_type().starts_with("text/csv"));
    let mut reader = csv::Reader::from_reader(csv_answer.text.as_bytes());
    assert_eq!(reader.headers().unwrap().iter().collect::<Vec<_>>(), ["period_start", "accuser_side", "type", "value"]);
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    let buckets = json_answer.body["buckets"].as_array().unwrap();
    assert_eq!(rows.len(), buckets.len());
    for (row, b) in rows.iter().zip(buckets) {
        assert_eq!(row[0], *b["period_start"].as_str().unwrap());
        assert_eq!(row[1], *b["accuser_side"].as_str().unwrap_or(""));
        assert_eq!(row[3].parse::<i64>().unwrap(), b["value"].as_i64().unwrap());
    }
    assert_eq!(
        app.get("/v1/stats/incidents?interval=month&from=2023-01-01&to=2025-01-01&format=csv")
            .await
            .text
            .lines()
            .count(),
        25
    );

    // Claims: standing accusations per claimant, side by side.
    check_claim_counts(&app, &incidents).await;
}

/// Standing claims per claimant and stance, counted by the API against a
/// count made here from the incidents' claims.
async fn check_claim_counts(app: &TestApp, incidents: &[Value]) {
    let res = app
        .get_as("/v1/stats/claims?interval=year&from=2022-01-01&to=2026-01-01&group_by=claimant,stance", &app.token)
        .await;
    assert_eq!(res.status, 200, "{}", res.text);
    let mut expected: BTreeMap<(String, String), i64> = BTreeMap::new();
    for incident in incidents {
        let claims = incident["claims"].as_array().unwrap();
        for c in claims {
            let retracted = claims
                .iter()
                .any(|r| r["stance"] == "retracts" && r["responds_to"] == c["id"] && r["claimant"] == c["claimant"]);
            if c["stance"] == "retracts" || retracted {
                continue;
            }
            *expected
                .entry((c["claimant"].as_str().unwrap().into(), c["stance"].as_str().unwrap().into()))
                .or_default() += 1;
        }
    }
    let mut got: BTreeMap<(String, String), i64> = BTreeMap::new();
    for b in res.body["buckets"].as_array().unwrap() {
        *got.entry((b["claimant"].as_str().unwrap().into(), b["stance"].as_str().unwrap().into())).or_default() +=
            b["value"].as_i64().unwrap();
    }
    got.retain(|_, v| *v != 0);
    assert_eq!(got, expected);
    assert_eq!(res.body["total"], expected.values().sum::<i64>());
}

/// Rebuilding the rollups (a new zone) lets writers go on: held at its
/// last step (the swap, which waits for a long reader of the rollups), the
/// rebuild has done all its work while writes are acknowledged, counts
/// during and after it equal the brute-force count, and the writes made
/// meanwhile are folded into the new rollups.
#[tokio::test]
async fn a_rebuild_lets_writers_go_on_and_counts_stay_exact() {
    use diesel_async::{AsyncConnection, AsyncPgConnection};
    let app = spawn_app().await;
    app.seed().await;
    let mut rng = StdRng::seed_from_u64(20240601);
    let items: Vec<Value> = (0..120).map(|_| random_incident(&mut rng)).collect();
    assert_eq!(app.post("/v1/incidents/batch", &json!({"incidents": items})).await.status, 201);
    // Some changes wait in the queue when the rebuild begins.
    let mut holder = app.db().await;
    holder.batch_execute("BEGIN; UPDATE stat_fold_lock SET folded_at = now()").await.unwrap();
    let items: Vec<Value> = (0..30).map(|_| random_incident(&mut rng)).collect();
    assert_eq!(app.post("/v1/incidents/batch", &json!({"incidents": items})).await.status, 201);
    holder.batch_execute("ROLLBACK").await.unwrap();

    // A long reader of the rollups holds the swap back.
    let mut reader = AsyncPgConnection::establish(&crate::helpers::url_for(&app.db_name)).await.unwrap();
    reader.batch_execute("BEGIN; LOCK TABLE stat_claim IN ACCESS SHARE MODE").await.unwrap();
    let zones: Vec<String> = ["UTC", "Asia/Baku", "Asia/Yerevan", "Europe/Berlin"].map(String::from).to_vec();
    let rebuild = tokio::spawn({
        let pool = app.pool();
        async move {
            let mut conn = pool.get().await.unwrap();
            ceasefire::store::rollup::set_zones(&mut conn, &zones).await
        }
    });
    let mut waiting = false;
    for _ in 0..600 {
        waiting = app
            .sql_count(
                "SELECT count(*) AS n FROM pg_stat_activity WHERE query LIKE '%stat_rebuild_beside%' \
                 AND wait_event_type = 'Lock' AND wait_event = 'relation' AND pid <> pg_backend_pid()",
            )
            .await
            == 1;
        if waiting {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(waiting, "the rebuild never reached its swap");

    // Writers go on: new incidents, a patch, a delete, a claim.
    let items: Vec<Value> = (0..40).map(|_| random_incident(&mut rng)).collect();
    let written = tokio::time::timeout(
        std::time::Duration::from_secs(60),
        app.post("/v1/incidents/batch", &json!({"incidents": items})),
    )
    .await
    .expect("a write waited for the rebuild");
    assert_eq!(written.status, 201, "{}", written.text);
    let ids: Vec<String> =
        written.body["data"].as_array().unwrap().iter().map(|i| i["id"].as_str().unwrap().to_string()).collect();
    let etag = app.get(&format!("/v1/incidents/{}", ids[0])).await.header("etag").unwrap().to_string();
    assert_eq!(app.delete(&format!("/v1/incidents/{}", ids[0]), Some(&etag)).await.status, 204);
    let etag = app.get(&format!("/v1/incidents/{}", ids[1])).await.header("etag").unwrap().to_string();
    let patched = app.patch(&format!("/v1/incidents/{}", ids[1]), &json!({"type": "rocket_fire"}), Some(&etag)).await;
    assert_eq!(patched.status, 200, "{}", patched.text);
    let claimed =
        app.post(&format!("/v1/incidents/{}/claims", ids[2]), &json!({"claimant": "euma", "stance": "confirms"})).await;
    assert_eq!(claimed.status, 201, "{}", claimed.text);
    assert!(!rebuild.is_finished(), "the rebuild waits for the reader");

    // Counts while the rebuild waits: the old rollups and the whole queue.
    let incidents = all_incidents(&app).await;
    assert_eq!(incidents.len(), 189);
    let sides = sides(&app).await;
    check_counts(&app, &incidents, &sides).await;
    check_claim_counts(&app, &incidents).await;

    reader.batch_execute("COMMIT").await.unwrap();
    let rebuilt = rebuild.await.unwrap().unwrap();
    assert!(rebuilt >= 150, "{rebuilt}");
    assert_eq!(app.sql_count("SELECT count(*) AS n FROM stat_zones WHERE zone = 'Europe/Berlin'").await, 1);
    assert!(app.sql_count("SELECT count(*) AS n FROM stat_single WHERE zone = 'Europe/Berlin' AND dim = ''").await > 0);
    // The new rollups with the writes made during the rebuild still queued,
    // then folded in.
    check_counts(&app, &incidents, &sides).await;
    check_claim_counts(&app, &incidents).await;
    app.wait_for_rollups().await;
    check_counts(&app, &incidents, &sides).await;
    check_claim_counts(&app, &incidents).await;
}

/// While the fold is held for long (a rebuild), an instance compacts what
/// waits: a bulk load of like incidents becomes one weighted group, counts
/// read it exactly, and the fold later moves it into the rollups.
#[tokio::test]
async fn changes_waiting_for_a_held_fold_are_compacted_and_still_counted() {
    let app = spawn_app().await;
    app.seed().await;
    let mut holder = app.db().await;
    holder.batch_execute("BEGIN; UPDATE stat_fold_lock SET folded_at = now()").await.unwrap();
    let one = crate::helpers::incident("2024-05-01T10:00:00Z", "mortar_fire");
    let batch = app.post("/v1/incidents/batch", &json!({"incidents": vec![one; 200]})).await;
    assert_eq!(batch.status, 201, "{}", batch.text);
    let count = "/v1/stats/incidents?interval=month&tz=Asia/Baku&from=2024-01-01&to=2025-01-01&group_by=type";
    let may = |body: &Value| {
        body["buckets"]
            .as_array()
            .unwrap()
            .iter()
            .find(|b| b["period_start"].as_str().unwrap().starts_with("2024-05-01") && b["type"] == "mortar_fire")
            .map(|b| b["value"].as_i64().unwrap())
    };
    let before = app.get(count).await;
    assert_eq!((before.body["total"].as_i64(), may(&before.body)), (Some(200), Some(200)), "{}", before.text);
    // The instance compacts once the fold has been held for 5 s.
    for _ in 0..300 {
        if app.sql_count("SELECT count(*) AS n FROM stat_dirty").await == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(app.sql_count("SELECT count(*) AS n FROM stat_dirty").await, 0, "compacted");
    assert_eq!(app.sql_count("SELECT count(*) AS n FROM stat_dirty_sums").await, 1, "one group");
    assert_eq!(app.sql_count("SELECT sum(n)::int8 AS n FROM stat_dirty_sums").await, 200);
    let compacted = app.get_as(count, &app.create_key("reader", ceasefire::domain::Role::Reader).await).await;
    assert_eq!(compacted.body["total"].as_i64(), Some(200), "{}", compacted.text);
    assert_eq!(compacted.body["buckets"], before.body["buckets"]);
    holder.batch_execute("ROLLBACK").await.unwrap();
    app.wait_for_rollups().await;
    assert_eq!(app.sql_count("SELECT count(*) AS n FROM stat_dirty_sums").await, 0, "folded");
    let folded = app.get_as(count, &app.create_key("reader2", ceasefire::domain::Role::Reader).await).await;
    assert_eq!(folded.body["buckets"], before.body["buckets"]);
    assert_eq!(folded.body["total"].as_i64(), Some(200));
}

#[tokio::test]
async fn counts_follow_every_write_at_once() {
    let app = spawn_app().await;
    app.seed().await;
    let q = "/v1/stats/incidents?interval=day&from=2024-05-01&to=2024-05-03&tz=Asia/Baku&group_by=accuser";
    let value = |body: &Value, accuser: Value, day: &str| {
        body["buckets"]
            .as_array()
            .unwrap()
            .iter()
            .find(|b| b["accuser"] == accuser && b["period_start"].as_str().unwrap().starts_with(day))
            .map(|b| b["value"].as_i64().unwrap())
    };
    let empty = app.get(q).await;
    assert_eq!(empty.body["buckets"].as_array().unwrap().len(), 0, "no group appears yet");
    assert_eq!(empty.body["total"], 0);

    // 23:30 UTC on 1 May is 03:30 on 2 May in Baku.
    let mut body = crate::helpers::incident("2024-05-01T23:30:00Z", "mortar_fire");
    body["claims"] = json!([
        {"claimant": "am-mod", "stance": "accuses", "target": "az-armed-forces"},
        {"claimant": "am-armed-forces", "stance": "accuses", "target": "az-armed-forces"}
    ]);
    let created = app.post("/v1/incidents", &body).await;
    let id = created.body["id"].as_str().unwrap().to_string();
    let after = app.get(q).await;
    assert_eq!(value(&after.body, json!("am-mod"), "2024-05-02"), Some(1), "read-your-writes: {}", after.text);
    assert_eq!(value(&after.body, json!("am-armed-forces"), "2024-05-02"), Some(1));
    assert_eq!(value(&after.body, json!("am-mod"), "2024-05-01"), Some(0), "zero-filled");
    assert_eq!(after.body["total"], 1, "an incident with two accusers counts once in the total");
    let by_side = app.get("/v1/stats/incidents?interval=day&from=2024-05-01&to=2024-05-03&group_by=accuser_side").await;
    assert_eq!(by_side.body["total"], 1);
    assert_eq!(
        by_side.body["buckets"].as_array().unwrap().iter().map(|b| b["value"].as_i64().unwrap()).sum::<i64>(),
        1,
        "two accusers of one side count once under it"
    );

    // A retraction removes that accuser's count.
    let accusation = created.body["claims"][0]["id"].as_str().unwrap();
    app.post(
        &format!("/v1/incidents/{id}/claims"),
        &json!({"claimant": "am-mod", "stance": "retracts", "responds_to": accusation}),
    )
    .await;
    let after = app.get(q).await;
    assert_eq!(
        value(&after.body, json!("am-mod"), "2024-05-02"),
        None,
        "no standing accusation by am-mod is left in the range"
    );
    assert_eq!(value(&after.body, json!("am-armed-forces"), "2024-05-02"), Some(1));
    let claims =
        app.get("/v1/stats/claims?interval=day&from=2024-05-01&to=2030-01-01&group_by=claimant&stance=accuses").await;
    assert_eq!(claims.body["total"], 1, "the retracted accusation and the retraction do not count: {}", claims.text);

    // A patch moves it; a delete removes it.
    let etag = app.get(&format!("/v1/incidents/{id}")).await.header("etag").unwrap().to_string();
    app.patch(&format!("/v1/incidents/{id}"), &json!({"occurred_at": "2024-05-01T10:00:00Z"}), Some(&etag)).await;
    let after = app.get(q).await;
    assert_eq!(value(&after.body, json!("am-armed-forces"), "2024-05-01"), Some(1));
    assert_eq!(value(&after.body, json!("am-armed-forces"), "2024-05-02"), Some(0));
    let etag = app.get(&format!("/v1/incidents/{id}")).await.header("etag").unwrap().to_string();
    app.delete(&format!("/v1/incidents/{id}"), Some(&etag)).await;
    assert_eq!(app.get(q).await.body["total"], 0);

    // by=reported counts the day it was recorded.
    let today = Utc::now().date_naive();
    let res = app
        .get(&format!("/v1/stats/incidents?interval=day&by=reported&from={}&to={}", today, today + Duration::days(1)))
        .await;
    assert_eq!(res.body["total"], 0, "the only incident is deleted");
    app.post("/v1/incidents", &crate::helpers::incident("2020-01-01T00:00:00Z", "other")).await;
    let res = app
        .get(&format!(
            "/v1/stats/incidents?interval=day&by=reported&from={}&to={}",
            today - Duration::days(1),
            today + Duration::days(2)
        ))
        .await;
    assert_eq!(res.body["total"], 1, "{}", res.text);

    let etag = res.header("etag").unwrap().to_string();
    let again = app
        .send(
            app.client
                .get(app.url(&format!(
                    "/v1/stats/incidents?interval=day&by=reported&from={}&to={}",
                    today - Duration::days(1),
                    today + Duration::days(2)
                )))
                .header("If-None-Match", &etag),
        )
        .await;
    assert_eq!(again.status, 304);
}

#[tokio::test]
async fn bad_stats_queries_are_400() {
    let app = spawn_app().await;
    for query in [
        "interval=fortnight",
        "tz=Mars/Olympus_Mons",
        "group_by=weather",
        "group_by=stance",
        "group_by=type,type",
        "group_by=type,country,denied,accuser,accused",
        "from=2024-01-01&to=2024-01-01",
        "from=2024-02-01&to=2024-01-01",
        "interval=day&from=1950-01-01&to=2024-01-01",
        "measure=rumours",
        "by=heard",
        "format=xml",
    ] {
        app.get(&format!("/v1/stats/incidents?{query}")).await.assert_problem(400);
    }
    app.get("/v1/stats/claims?group_by=accuser").await.assert_problem(400);
    app.get("/v1/stats/claims?measure=incidents").await.assert_problem(400);
    let ok = app.get("/v1/stats/claims?group_by=claimant_side,target_side").await;
    assert_eq!(ok.status, 200, "{}", ok.text);
}

fn metric(text: &str, line_prefix: &str) -> i64 {
    text.lines().find_map(|l| l.strip_prefix(line_prefix)).map_or(0, |v| v.trim().parse().unwrap())
}

/// Identical counts asked for while another is running wait for it and
/// then share one query, and every answer includes the writes acknowledged
/// before it was asked.
#[tokio::test]
async fn identical_concurrent_counts_share_one_query() {
    use diesel_async::{AsyncConnection, AsyncPgConnection, SimpleAsyncConnection};
    let http = ceasefire::config::HttpArgs { workers: Some(2), rate_limit: 0, ..Default::default() };
    // Connections to spare: sharing must not depend on waiting for one.
    let app = crate::helpers::spawn_app_with_pool(http, 5, 10_000, 30_000).await;
    app.seed().await;
    let created = app.post("/v1/incidents", &crate::helpers::incident("2024-03-05T10:00:00Z", "mortar_fire")).await;
    assert_eq!(created.status, 201);

    // Hold the table of rolled-up zones, which this count reads, so the
    // first count waits inside its query while the others arrive.
    let mut blocker = AsyncPgConnection::establish(&crate::helpers::url_for(&app.db_name)).await.unwrap();
    blocker.batch_execute("BEGIN; LOCK TABLE stat_zones IN ACCESS EXCLUSIVE MODE").await.unwrap();
    let path = "/v1/stats/incidents?interval=month&from=2024-01-01&to=2025-01-01&group_by=type";
    let first = tokio::spawn({
        let (client, url) = (app.client.clone(), app.url(path));
        async move { client.get(url).send().await.unwrap().text().await.unwrap() }
    });
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let others: Vec<_> = (0..11)
        .map(|_| {
            let (client, url) = (app.client.clone(), app.url(path));
            tokio::spawn(async move { client.get(url).send().await.unwrap().text().await.unwrap() })
        })
        .collect();
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    blocker.batch_execute("COMMIT").await.unwrap();

    let mut bodies = vec![first.await.unwrap()];
    for o in others {
        bodies.push(o.await.unwrap());
    }
    for body in &bodies {
        let v: Value = serde_json::from_str(body).unwrap();
        assert_eq!(v["total"], 1, "{body}");
        assert_eq!(body, &bodies[0]);
    }
    let metrics = app.get("/metrics").await.text;
    let queried = metric(&metrics, "ceasefire_stats_requests_total{outcome=\"queried\"} ");
    let shared = metric(&metrics, "ceasefire_stats_requests_total{outcome=\"shared\"} ");
    assert_eq!(queried + shared, 12, "{metrics}");
    assert!(queried <= 3, "the waiting counts should have shared a query: {queried} queried, {shared} shared");
}

/// A count without `to` runs up to its own arrival. While an earlier
/// identical-looking count waits for its turn, a write is answered, and a
/// count asked after it must include it: it may not join the earlier
/// request's range.
#[tokio::test]
async fn count_without_to_includes_writes_answered_before_it() {
    use diesel_async::{AsyncConnection, AsyncPgConnection, SimpleAsyncConnection};
    let http = ceasefire::config::HttpArgs { workers: Some(2), rate_limit: 0, ..Default::default() };
    let app = crate::helpers::spawn_app_with_pool(http, 5, 10_000, 30_000).await;
    app.seed().await;
    let from = (chrono::Utc::now() - chrono::Duration::days(2)).format("%Y-%m-%d");
    let path = format!("/v1/stats/incidents?interval=day&by=reported&from={from}");
    let total = |body: &str| serde_json::from_str::<Value>(body).unwrap()["total"].as_i64().unwrap();
    let created = app.post("/v1/incidents", &crate::helpers::incident("2024-03-05T10:00:00Z", "mortar_fire")).await;
    assert_eq!(created.status, 201);
    let before = app.get(&path).await;
    assert_eq!(before.status, 200, "{}", before.text);
    assert_eq!(total(&before.text), 1, "{}", before.text);

    // Hold the daily rollups, which these counts read: the first waits
    // inside its query, the second waits for its turn.
    let mut blocker = AsyncPgConnection::establish(&crate::helpers::url_for(&app.db_name)).await.unwrap();
    blocker.batch_execute("BEGIN; LOCK TABLE stat_single IN ACCESS EXCLUSIVE MODE").await.unwrap();
    let ask = || {
        let (client, url) = (app.client.clone(), app.url(&path));
        tokio::spawn(async move { client.get(url).send().await.unwrap().text().await.unwrap() })
    };
    let running = ask();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let waiting = ask();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let written = app.post("/v1/incidents", &crate::helpers::incident("2024-03-06T10:00:00Z", "mortar_fire")).await;
    assert_eq!(written.status, 201, "{}", written.text);
    let after = ask();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    blocker.batch_execute("COMMIT").await.unwrap();

    assert_eq!(total(&running.await.unwrap()), 1);
    assert_eq!(total(&waiting.await.unwrap()), 1);
    let after = after.await.unwrap();
    assert_eq!(total(&after), 2, "a count asked after a write's 201 must include it: {after}");
}

#[tokio::test]
async fn an_answer_says_when_its_first_or_last_period_is_cut() {
    let app = spawn_app().await;
    for (query, first, last) in [
        ("interval=week&from=2025-07-01&to=2025-07-15", true, true),
        ("interval=week&from=2025-06-30&to=2025-07-14", false, false),
        ("interval=week&from=2025-06-30&tz=Asia/Baku&to=2025-07-14", false, false),
        ("interval=week&from=2025-06-30T00:00:00Z&tz=Asia/Baku&to=2025-07-14", true, false),
        ("interval=month&from=2025-01-01&to=2025-03-15", false, true),
    ] {
        let res = app.get(&format!("/v1/stats/incidents?{query}")).await;
        assert_eq!(res.status, 200, "{query}: {}", res.text);
        assert_eq!(
            (res.body["first_period_partial"].as_bool(), res.body["last_period_partial"].as_bool()),
            (Some(first), Some(last)),
            "{query}"
        );
    }
}
