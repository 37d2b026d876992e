//! Each party's own account: the July 2025 story near Kalbajar, casualty
//! figures that disagree, a voided claim, a claim with no date, and counts
//! by direction and by account figures against a brute-force count.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Datelike, Duration, TimeZone, Utc};
use chrono_tz::Tz;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};

use crate::helpers::{spawn_app, TestApp};

fn strings(v: &Value) -> Vec<String> {
    v.as_array().unwrap().iter().map(|s| s.as_str().unwrap().to_string()).collect()
}

async fn etag(app: &TestApp, id: &str) -> String {
    app.get(&format!("/v1/incidents/{id}")).await.header("etag").unwrap().to_string()
}

async fn void(app: &TestApp, claim: &str, if_match: Option<&str>, body: &Value) -> crate::helpers::Answer {
    let mut req = app.client.post(app.url(&format!("/v1/claims/{claim}/void"))).bearer_auth(&app.token).json(body);
    if let Some(tag) = if_match {
        req = req.header("If-Match", tag);
    }
    app.send(req).await
}

/// 3 July 2025 near Kalbajar: an accusation with its account, the denial,
/// the EU mission's `not_observed` (the example `ceasefire seed --example`
/// loads).
fn kalbajar() -> Value {
    ceasefire::seed::example()[0].clone()
}

/// Two nights later, an exchange whose casualty figures the two ministries
/// give differently.
fn exchange() -> Value {
    ceasefire::seed::example()[1].clone()
}

#[tokio::test]
async fn the_kalbajar_story_accounts_direction_and_divergence() {
    let app = spawn_app().await;
    app.seed().await;
    let first = app.post("/v1/incidents", &kalbajar()).await;
    assert_eq!(first.status, 201, "{}", first.text);
    let id = first.body["id"].as_str().unwrap().to_string();
    let a = &first.body["attribution"];
    assert_eq!(strings(&a["accusers"]), ["az-mod"]);
    assert_eq!(strings(&a["accused"]), ["am-armed-forces"]);
    assert_eq!(strings(&a["deniers"]), ["am-mod"]);
    assert_eq!(strings(&a["not_observed_by"]), ["euma"]);
    assert!(strings(&a["confirmers"]).is_empty() && strings(&a["observed_by"]).is_empty());
    assert_eq!((a["denied"].clone(), a["disputed"].clone()), (json!(true), json!(true)));
    let account = &first.body["claims"][0]["account"];
    assert_eq!(account["origin"]["country"], "AM");
    assert_eq!(account["impact"]["name"], "Kalbajar direction");
    assert_eq!(account["occurred_at"], "2025-07-03T17:40:00Z");
    assert!(first.body["claims"][1]["account"].is_null(), "a claim without an account shows null");
    assert_eq!(first.body["claims"][2]["status"], "standing");
    // Where the fire came from is the accuser's account, not the incident's
    // origin: that stays unknown until an editor sets it.
    assert!(first.body["origin"].is_null() && first.body["direction"].is_null());
    assert_eq!(first.body["cross_border"], false);
    assert_eq!(first.body["accounts"]["fields"]["origin.country"][0]["claimant"], "az-mod");
    assert_eq!(first.body["accounts"]["divergent"], json!([]));

    let patched = app
        .patch(
            &format!("/v1/incidents/{id}"),
            &json!({"origin": {"name": "Basarkechar (Vardenis)", "country": "AM"}}),
            Some(&etag(&app, &id).await),
        )
        .await;
    assert_eq!(patched.status, 200, "{}", patched.text);
    assert_eq!(
        (patched.body["direction"].clone(), patched.body["cross_border"].clone()),
        (json!("AM>AZ"), json!(true))
    );

    let second = app.post("/v1/incidents", &exchange()).await;
    assert_eq!(second.status, 201, "{}", second.text);
    let second_id = second.body["id"].as_str().unwrap().to_string();
    let accounts = &second.body["accounts"];
    assert_eq!(accounts["divergent"], json!(["casualties.killed_military", "origin.country", "type"]));
    let killed: Vec<(String, i64)> = accounts["fields"]["casualties.killed_military"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| (v["claimant"].as_str().unwrap().to_string(), v["value"].as_i64().unwrap()))
        .collect();
    assert_eq!(killed, [("az-mod".to_string(), 1), ("am-mod".to_string(), 0)]);
    assert_eq!(accounts["fields"]["casualties.wounded_military"].as_array().unwrap().len(), 2);

    // Filters on direction and divergence.
    let list = |q: &str| {
        let path = format!("/v1/incidents?{q}");
        let app = &app;
        async move {
            let res = app.get(&path).await;
            assert_eq!(res.status, 200, "{path}: {}", res.text);
            let mut ids: Vec<String> =
                res.body["data"].as_array().unwrap().iter().map(|i| i["id"].as_str().unwrap().to_string()).collect();
            ids.sort();
            ids
        }
    };
    let mut both = vec![id.clone(), second_id.clone()];
    both.sort();
    assert_eq!(list("divergent=true").await, vec![second_id.clone()]);
    assert_eq!(list("divergent=false").await, vec![id.clone()]);
    assert_eq!(list("cross_border=true").await, both);
    assert_eq!(list("origin_country=AM").await, both);
    assert!(list("origin_country=AZ").await.is_empty());

    // The two ministries' figures, side by side.
    let res = app
        .get("/v1/stats/claims?interval=month&from=2025-07-01&to=2025-08-01&tz=Asia/Baku&measure=killed&group_by=claimant")
        .await;
    assert_eq!(res.status, 200, "{}", res.text);
    let by_claimant: BTreeMap<String, i64> = res.body["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| (b["claimant"].as_str().unwrap_or("-").to_string(), b["value"].as_i64().unwrap()))
        .collect();
    assert_eq!(by_claimant, BTreeMap::from([("am-mod".into(), 0), ("az-mod".into(), 1), ("euma".into(), 0)]));
    let res = app
        .get("/v1/stats/claims?interval=month&from=2025-07-01&to=2025-08-01&group_by=direction,claimant&stance=accuses")
        .await;
    let directions: BTreeMap<(String, String), i64> = res.body["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            (
                (b["direction"].as_str().unwrap_or("-").into(), b["claimant"].as_str().unwrap().into()),
                b["value"].as_i64().unwrap(),
            )
        })
        .collect();
    // az-mod's second account names no impact: the incident's country stands in.
    assert_eq!(
        directions,
        BTreeMap::from([(("AM>AZ".into(), "az-mod".into()), 2), (("AZ>AM".into(), "am-mod".into()), 1)])
    );
    let res = app.get("/v1/stats/incidents?interval=month&from=2025-07-01&to=2025-08-01&group_by=direction").await;
    assert_eq!(res.body["buckets"][0]["direction"], "AM>AZ");
    assert_eq!(res.body["buckets"][0]["value"], 2);

    // An account that states nothing, a site with nothing in it, and an
    // account on a retraction are refused, pointing at the field.
    let claims = format!("/v1/incidents/{id}/claims");
    for (body, pointer) in [
        (json!({"claimant": "az-mod", "stance": "confirms", "account": {}}), "/account"),
        (json!({"claimant": "az-mod", "stance": "confirms", "account": {"origin": {}}}), "/account/origin"),
        (
            json!({"claimant": "az-mod", "stance": "confirms", "account": {"impact": {"lat": 40.1}}}),
            "/account/impact/lon",
        ),
        (
            json!({"claimant": "az-mod", "stance": "confirms", "account": {"casualties": {"killed_military": -1}}}),
            "/account/casualties/killed_military",
        ),
        (json!({"claimant": "euma", "stance": "not_observed", "target": "am-mod"}), "/target"),
        (
            json!({"claimant": "az-mod", "stance": "retracts", "responds_to": first.body["claims"][0]["id"], "account": {"violations": 1}}),
            "/account",
        ),
    ] {
        let before = app.row_counts().await;
        let res = app.post(&claims, &body).await;
        assert_eq!(res.assert_problem(422), [pointer], "{body}");
        assert_eq!(app.row_counts().await, before);
    }
    // A monitor that observed it may say who did it.
    let seen = app.post(&claims, &json!({"claimant": "euma", "stance": "observes", "target": "am-armed-forces"})).await;
    assert_eq!(seen.status, 201, "{}", seen.text);
    let got = app.get(&format!("/v1/incidents/{id}")).await;
    assert_eq!(strings(&got.body["attribution"]["observed_by"]), ["euma"]);
}

#[tokio::test]
async fn a_voided_claim_stays_listed_and_counts_nowhere() {
    let app = spawn_app().await;
    app.seed().await;
    let created = app.post("/v1/incidents", &kalbajar()).await;
    let id = created.body["id"].as_str().unwrap().to_string();
    let denial = created.body["claims"][1]["id"].as_str().unwrap().to_string();
    let reason = json!({"reason": "Entered against the wrong incident."});

    // The preconditions and the role, each refused without a change.
    let before = app.row_counts().await;
    void(&app, &denial, None, &reason).await.assert_problem(428);
    assert_eq!(void(&app, &denial, None, &json!({"reason": "x", "extra": 1})).await.assert_problem(422), ["/extra"]);
    void(&app, &denial, Some("\"7\""), &reason).await.assert_problem(412);
    let tag = etag(&app, &id).await;
    assert_eq!(void(&app, &denial, Some(&tag), &json!({})).await.assert_problem(422), ["/reason"]);
    assert_eq!(void(&app, &denial, Some(&tag), &json!({"reason": " "})).await.assert_problem(422), ["/reason"]);
    void(&app, "0190f1c2-7a00-7000-8000-000000000001", Some(&tag), &reason).await.assert_problem(404);
    let reporter = app.create_key("reporter", ceasefire::domain::Role::Reporter).await;
    let as_reporter = app
        .send(
            app.client
                .post(app.url(&format!("/v1/claims/{denial}/void")))
                .bearer_auth(&reporter)
                .header("If-Match", &tag)
                .json(&reason),
        )
        .await;
    as_reporter.assert_problem(403);
    let mut after = app.row_counts().await;
    after.remove("api_keys");
    let mut before = before;
    before.remove("api_keys");
    assert_eq!(after, before);

    let voided = void(&app, &denial, Some(&tag), &reason).await;
    assert_eq!(voided.status, 200, "{}", voided.text);
    assert_eq!(voided.body["status"], "voided");
    assert_eq!(voided.body["void"]["reason"], "Entered against the wrong incident.");
    assert!(voided.body["void"]["at"].is_string());
    assert_eq!(voided.header("etag"), Some("\"2\""));
    let got = app.get(&format!("/v1/incidents/{id}")).await;
    let a = &got.body["attribution"];
    assert!(strings(&a["deniers"]).is_empty());
    assert_eq!((a["denied"].clone(), a["disputed"].clone()), (json!(false), json!(false)));
    assert_eq!(strings(&a["accusers"]), ["az-mod"], "the accusation still stands");
    assert_eq!(got.body["claims"].as_array().unwrap().len(), 3, "a voided claim stays listed");
    let history = app.get(&format!("/v1/incidents/{id}/history")).await;
    let actions: Vec<&str> =
        history.body["data"].as_array().unwrap().iter().map(|r| r["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["create", "void"], "{}", history.text);

    // Listed by status; counted nowhere.
    let listed = app.get("/v1/claims?status=voided").await;
    assert_eq!(listed.status, 200, "{}", listed.text);
    assert_eq!(
        strings(&Value::Array(listed.body["data"].as_array().unwrap().iter().map(|c| c["id"].clone()).collect())),
        vec![denial.clone()]
    );
    assert_eq!(app.get("/v1/claims?status=standing").await.body["data"].as_array().unwrap().len(), 2);
    // The CSV of the claims spells out status, void and account.
    let csv_answer =
        app.send(app.client.get(app.url(&format!("/v1/claims?incident_id={id}"))).header("Accept", "text/csv")).await;
    assert_eq!(csv_answer.status, 200, "{}", csv_answer.text);
    assert!(csv_answer.content_type().starts_with("text/csv"));
    let mut reader = csv::Reader::from_reader(csv_answer.text.as_bytes());
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    let rows: Vec<BTreeMap<String, String>> =
        reader.records().map(|r| header.iter().cloned().zip(r.unwrap().iter().map(String::from)).collect()).collect();
    assert_eq!(rows.len(), 3);
    let statuses: Vec<&str> = rows.iter().map(|r| r["status"].as_str()).collect();
    assert_eq!(statuses, ["standing", "voided", "standing"]);
    assert_eq!(rows[1]["void_reason"], "Entered against the wrong incident.");
    assert_eq!((rows[0]["origin_country"].as_str(), rows[0]["impact_name"].as_str()), ("AM", "Kalbajar direction"));
    assert_eq!(rows[1]["origin_country"], "", "no account: empty cells");
    let paged = app.get(&format!("/v1/claims?incident_id={id}&format=csv&limit=2")).await;
    assert!(paged.header("link").is_some_and(|l| l.contains("rel=\"next\"") && l.contains("format=csv")));
    assert_eq!(paged.text.lines().count(), 3, "a header and two claims");
    let counts = app.get("/v1/stats/claims?interval=year&from=2025-01-01&to=2026-01-01&group_by=stance").await;
    let stances: Vec<&str> =
        counts.body["buckets"].as_array().unwrap().iter().map(|b| b["stance"].as_str().unwrap()).collect();
    assert_eq!(stances, ["accuses", "not_observed"]);
    assert_eq!(app.get("/v1/incidents?denied=true").await.body["data"].as_array().unwrap().len(), 0);

    // Voided twice is a conflict; nothing answers a voided claim.
    void(&app, &denial, Some("\"2\""), &reason).await.assert_problem(409);
    let answer = app
        .post(
            &format!("/v1/incidents/{id}/claims"),
            &json!({"claimant": "am-mod", "stance": "retracts", "responds_to": denial}),
        )
        .await;
    assert_eq!(answer.assert_problem(422), ["/responds_to"]);

    // Voiding the accusation leaves nothing accused.
    let accusation = created.body["claims"][0]["id"].as_str().unwrap();
    assert_eq!(void(&app, accusation, Some("\"2\""), &reason).await.status, 200);
    let a = &app.get(&format!("/v1/incidents/{id}")).await.body["attribution"];
    assert!(strings(&a["accusers"]).is_empty() && strings(&a["accused"]).is_empty());
}

#[tokio::test]
async fn a_claim_without_a_date_counts_on_its_incidents_date() {
    let app = spawn_app().await;
    app.seed().await;
    let mut body = crate::helpers::incident("2023-08-15T07:00:00Z", "small_arms_fire");
    body["claims"] = json!([{"claimant": "am-mod", "stance": "accuses", "target": "az-armed-forces"}]);
    let created = app.post("/v1/incidents", &body).await;
    assert_eq!(created.status, 201, "{}", created.text);
    let id = created.body["id"].as_str().unwrap().to_string();
    assert!(created.body["claims"][0]["stated_at"].is_null(), "unknown, not now: {}", created.text);
    let month = |m: &str| {
        format!("/v1/stats/claims?interval=month&from=2023-08-01&to=2023-10-01&group_by=claimant&by=stated{m}")
    };
    let values = |body: &Value| -> Vec<i64> {
        body["buckets"].as_array().unwrap().iter().map(|b| b["value"].as_i64().unwrap()).collect()
    };
    assert_eq!(values(&app.get(&month("")).await.body), [1, 0]);
    assert_eq!(app.get("/v1/claims?from=2023-08-01&to=2023-09-01").await.body["data"].as_array().unwrap().len(), 1);

    // The incident's date moves: so does the claim's.
    let res = app
        .patch(
            &format!("/v1/incidents/{id}"),
            &json!({"occurred_at": "2023-09-20T07:00:00Z"}),
            Some(&etag(&app, &id).await),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(values(&app.get(&month("")).await.body), [0, 1]);
    assert_eq!(app.get("/v1/claims?from=2023-09-01&to=2023-10-01").await.body["data"].as_array().unwrap().len(), 1);
}

const ARMENIAN: &[&str] = &["am-mod", "am-armed-forces"];
const AZERBAIJANI: &[&str] = &["az-mod", "az-armed-forces"];
const COUNTRIES: &[&str] = &["AM", "AZ", "GE"];

fn maybe_country(rng: &mut StdRng) -> Option<&'static str> {
    rng.gen_bool(0.7).then(|| COUNTRIES[rng.gen_range(0..COUNTRIES.len())])
}

fn random_account(rng: &mut StdRng) -> Value {
    let mut a = serde_json::Map::new();
    if let Some(c) = maybe_country(rng) {
        a.insert("origin".into(), json!({"country": c}));
    }
    if rng.gen_bool(0.4) {
        if let Some(c) = maybe_country(rng) {
            a.insert("impact".into(), json!({"name": "somewhere", "country": c}));
        }
    }
    if rng.gen_bool(0.6) {
        a.insert(
            "casualties".into(),
            json!({"killed_military": rng.gen_range(0..3), "killed_civilian": if rng.gen_bool(0.3) { json!(1) } else { Value::Null },
                   "wounded_military": rng.gen_range(0..4)}),
        );
    }
    if rng.gen_bool(0.3) {
        a.insert("violations".into(), json!(rng.gen_range(0..40)));
    }
    if a.is_empty() {
        a.insert("type".into(), json!("sniper_fire"));
    }
    Value::Object(a)
}

fn random_incident(rng: &mut StdRng) -> Value {
    let start = Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap();
    let at = start + Duration::minutes(rng.gen_range(0..(365 * 24 * 60)));
    let (own, other) = if rng.gen_bool(0.5) { (ARMENIAN, AZERBAIJANI) } else { (AZERBAIJANI, ARMENIAN) };
    let mut claims = vec![];
    let stated = |rng: &mut StdRng, hours: i64| -> Value {
        if rng.gen_bool(0.25) {
            Value::Null
        } else {
            json!((at + Duration::hours(rng.gen_range(1..hours))).to_rfc3339())
        }
    };
    let mut accusation = json!({"claimant": own[rng.gen_range(0..2)], "stance": "accuses", "target": other[rng.gen_range(0..2)], "stated_at": stated(rng, 72)});
    if rng.gen_bool(0.8) {
        accusation["account"] = random_account(rng);
    }
    claims.push(accusation);
    if rng.gen_bool(0.5) {
        let mut denial =
            json!({"claimant": other[0], "stance": "denies", "responds_to_index": 0, "stated_at": stated(rng, 96)});
        if rng.gen_bool(0.6) {
            denial["account"] = random_account(rng);
        }
        claims.push(denial);
    }
    if rng.gen_bool(0.3) {
        let stance = if rng.gen_bool(0.5) { "observes" } else { "not_observed" };
        claims.push(
            json!({"claimant": "euma", "stance": stance, "stated_at": stated(rng, 30), "account": random_account(rng)}),
        );
    }
    if rng.gen_bool(0.1) {
        claims.push(json!({"claimant": claims[0]["claimant"], "stance": "retracts", "responds_to_index": 0}));
    }
    let kind = ["small_arms_fire", "mortar_fire", "drone_strike"][rng.gen_range(0..3)];
    let mut incident = json!({
        "occurred_at": at.to_rfc3339(),
        "type": kind,
        "location": {"name": "x", "country": COUNTRIES[rng.gen_range(0..2)]},
        "title": "generated",
        "claims": claims,
    });
    if let Some(c) = maybe_country(rng) {
        incident["origin"] = json!({"country": c});
    }
    incident
}

/// What a claim adds to a count, as the brute force sees it.
fn claim_measure(c: &Value, m: &str) -> i64 {
    let cas = &c["account"]["casualties"];
    let n = |k: &str| cas[k].as_i64().unwrap_or(0);
    match m {
        "claims" => 1,
        "killed" => n("killed_military") + n("killed_civilian"),
        "wounded" => n("wounded_military") + n("wounded_civilian"),
        "violations" => c["account"]["violations"].as_i64().unwrap_or(0),
        _ => unreachable!(),
    }
}

fn claim_dimension(incident: &Value, c: &Value, dim: &str, sides: &HashMap<String, String>) -> Value {
    match dim {
        "claimant" => c["claimant"].clone(),
        "claimant_side" => json!(sides[c["claimant"].as_str().unwrap()]),
        "stance" => c["stance"].clone(),
        "target" => c["target"].clone(),
        "target_side" => c["target"].as_str().map_or(Value::Null, |t| json!(sides[t])),
        "type" => incident["type"].clone(),
        "direction" => {
            let origin = c["account"]["origin"]["country"].as_str();
            let impact = c["account"]["impact"]["country"].as_str().or(incident["location"]["country"].as_str());
            match (origin, impact) {
                (Some(o), Some(i)) => json!(format!("{o}>{i}")),
                _ => Value::Null,
            }
        }
        _ => unreachable!(),
    }
}

fn month_start(tz: Tz, at: DateTime<Utc>) -> String {
    let d = at.with_timezone(&tz).date_naive().with_day(1).unwrap();
    tz.from_local_datetime(&d.and_hms_opt(0, 0, 0).unwrap()).earliest().unwrap().to_rfc3339()
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

#[tokio::test]
async fn counts_by_direction_and_account_figures_match_a_brute_force_count() {
    let app = spawn_app().await;
    app.seed().await;
    let mut rng = StdRng::seed_from_u64(20250703);
    let items: Vec<Value> = (0..200).map(|_| random_incident(&mut rng)).collect();
    let created = app.post("/v1/incidents/batch", &json!({"incidents": items})).await;
    assert_eq!(created.status, 201, "{}", created.text);
    // Void some claims after the fact.
    for incident in created.body["data"].as_array().unwrap().iter().step_by(7) {
        let id = incident["id"].as_str().unwrap();
        let claim = incident["claims"][0]["id"].as_str().unwrap();
        let res = void(&app, claim, Some(&etag(&app, id).await), &json!({"reason": "test"})).await;
        assert_eq!(res.status, 200, "{}", res.text);
    }
    let incidents = all_incidents(&app).await;
    assert_eq!(incidents.len(), 200);
    let sides: HashMap<String, String> = app.get("/v1/parties").await.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["slug"].as_str().unwrap().to_string(), p["side"].as_str().unwrap().to_string()))
        .collect();
    let divergent = incidents.iter().filter(|i| !i["accounts"]["divergent"].as_array().unwrap().is_empty()).count();
    assert!(divergent > 10 && divergent < 190, "the data has some divergence, not all: {divergent}");

    let (from, to): (DateTime<Utc>, DateTime<Utc>) =
        ("2024-01-01T00:00:00Z".parse().unwrap(), "2025-02-01T00:00:00Z".parse().unwrap());
    let mut checked = 0;
    // Twice: while the changes wait to be folded, and once they are in the
    // rollups. Without an incident filter, claim counts read their rollups
    // (Europe/Berlin is not rolled up: its count reads the claims).
    for _ in 0..2 {
        for (zone, measure, dims, filter) in [
            ("UTC", "killed", vec!["claimant"], ""),
            ("Asia/Baku", "claims", vec!["direction"], ""),
            ("Asia/Baku", "wounded", vec!["claimant", "direction"], ""),
            ("UTC", "violations", vec!["claimant_side", "stance"], "cross_border=true"),
            ("Asia/Yerevan", "killed", vec!["target", "type"], "divergent=true"),
            ("UTC", "claims", vec!["stance"], "origin_country=AM,GE"),
            ("Europe/Berlin", "killed", vec!["claimant_side", "type"], ""),
            ("Asia/Yerevan", "violations", vec!["target_side", "direction"], ""),
        ] {
            let tz: Tz = zone.parse().unwrap();
            let path = format!(
                "/v1/stats/claims?interval=month&tz={zone}&from=2024-01-01T00:00:00Z&to=2025-02-01T00:00:00Z&measure={measure}&group_by={}&{filter}",
                dims.join(",")
            );
            let res = app.get(&path).await;
            assert_eq!(res.status, 200, "{path}: {}", res.text);
            let mut expected = Counts::new();
            let mut total = 0;
            for incident in &incidents {
                let keep = match filter {
                    "cross_border=true" => incident["cross_border"] == true,
                    "divergent=true" => !incident["accounts"]["divergent"].as_array().unwrap().is_empty(),
                    "origin_country=AM,GE" => {
                        ["AM", "GE"].contains(&incident["origin"]["country"].as_str().unwrap_or(""))
                    }
                    _ => true,
                };
                if !keep {
                    continue;
                }
                for c in incident["claims"].as_array().unwrap() {
                    if c["status"] != "standing" || c["stance"] == "retracts" {
                        continue;
                    }
                    let at: DateTime<Utc> =
                        c["stated_at"].as_str().or(incident["occurred_at"].as_str()).unwrap().parse().unwrap();
                    if at < from || at >= to {
                        continue;
                    }
                    let v = claim_measure(c, measure);
                    total += v;
                    let group = dims.iter().map(|d| claim_dimension(incident, c, d, &sides).to_string()).collect();
                    *expected.entry((month_start(tz, at), group)).or_default() += v;
                }
            }
            expected.retain(|_, v| *v != 0);
            assert!(!expected.is_empty(), "{path}");
            assert_eq!(from_api(&res.body, &dims), expected, "{path}");
            assert_eq!(res.body["total"], total, "{path}");
            checked += 1;
        }
        app.wait_for_rollups().await;
    }
    // Incidents by their own direction: from the rollups (one dimension),
    // from the narrow rows (a dimension and a filter), and from the
    // incidents (divergent).
    let tz: Tz = "Asia/Baku".parse().unwrap();
    let from = tz.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap().with_timezone(&Utc);
    let to = tz.with_ymd_and_hms(2025, 2, 1, 0, 0, 0).unwrap().with_timezone(&Utc);
    let direction_of =
        |incident: &Value| match (incident["origin"]["country"].as_str(), incident["location"]["country"].as_str()) {
            (Some(o), Some(l)) => json!(format!("{o}>{l}")),
            _ => Value::Null,
        };
    for _ in 0..2 {
        for (group, filter) in [
            ("direction", ""),
            ("cross_border", ""),
            ("direction", "cross_border=false"),
            ("type", "cross_border=true"),
            ("direction", "divergent=true"),
        ] {
            let path = format!(
                "/v1/stats/incidents?interval=month&tz=Asia/Baku&from=2024-01-01&to=2025-02-01&group_by={group}&{filter}"
            );
            let res = app.get(&path).await;
            assert_eq!(res.status, 200, "{path}: {}", res.text);
            let mut expected = Counts::new();
            for incident in &incidents {
                let keep = match filter {
                    "cross_border=false" => incident["cross_border"] == false,
                    "cross_border=true" => incident["cross_border"] == true,
                    "divergent=true" => !incident["accounts"]["divergent"].as_array().unwrap().is_empty(),
                    _ => true,
                };
                let at: DateTime<Utc> = incident["occurred_at"].as_str().unwrap().parse().unwrap();
                if !keep || at < from || at >= to {
                    continue;
                }
                assert_eq!(incident["direction"], direction_of(incident));
                let value = match group {
                    "direction" => direction_of(incident),
                    "cross_border" => incident["cross_border"].clone(),
                    _ => incident["type"].clone(),
                };
                *expected.entry((month_start(tz, at), vec![value.to_string()])).or_default() += 1;
            }
            assert_eq!(from_api(&res.body, &[group]), expected, "{path}");
            checked += 1;
        }
        // Again once the changes are folded into the rollups.
        app.wait_for_rollups().await;
    }
    assert_eq!(checked, 26);
}

#[tokio::test]
async fn the_example_is_seeded_once_and_shows_the_disagreement() {
    let app = spawn_app().await;
    app.seed().await;
    let pool = ceasefire::db::build_pool(
        &crate::helpers::url_for(&app.db_name),
        &ceasefire::config::DatabaseArgs {
            database_url: None,
            database_read_url: None,
            local: ceasefire::config::LocalDbArgs { local_db_dir: ".local/unused".into(), local_db_port: 0 },
            pool_size: 1,
            pool_timeout_ms: 5000,
            statement_timeout_ms: 30000,
        },
    )
    .unwrap();
    assert_eq!(ceasefire::seed::load_example(&pool).await.unwrap(), 2);
    assert_eq!(ceasefire::seed::load_example(&pool).await.unwrap(), 0, "once");
    let divergent = app.get("/v1/incidents?divergent=true").await;
    assert_eq!(divergent.body["data"].as_array().unwrap().len(), 1);
    assert_eq!(divergent.body["data"][0]["accounts"]["divergent"][0], "casualties.killed_military");
    let denied = app.get("/v1/incidents?denied=true").await;
    assert_eq!(strings(&denied.body["data"][0]["attribution"]["not_observed_by"]), ["euma"]);
}

#[tokio::test]
async fn a_full_batch_of_incidents_with_accounts_is_written_whole() {
    let app = spawn_app().await;
    app.seed().await;
    // 1000 incidents of 2 claims with accounts: more claims than one
    // statement can bind, so they go in several.
    let items: Vec<Value> = (0..1000)
        .map(|i| {
            let mut incident = exchange();
            incident["external_ids"] = json!({"test": format!("n{i}")});
            incident
        })
        .collect();
    let created = app.post("/v1/incidents/batch", &json!({"incidents": items})).await;
    assert_eq!(created.status, 201, "{}", &created.text[..created.text.len().min(500)]);
    assert_eq!(app.sql_count("SELECT count(*) AS n FROM claims WHERE killed_military IS NOT NULL").await, 2000);
    let res =
        app.get("/v1/stats/claims?interval=year&from=2025-01-01&to=2026-01-01&measure=killed&group_by=claimant").await;
    let killed: BTreeMap<String, i64> = res.body["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| (b["claimant"].as_str().unwrap().to_string(), b["value"].as_i64().unwrap()))
        .collect();
    assert_eq!(killed, BTreeMap::from([("am-mod".into(), 0), ("az-mod".into(), 1000)]));
}

#[tokio::test]
async fn an_incident_holds_at_most_a_thousand_claims() {
    let app = spawn_app().await;
    app.seed().await;
    let created = app.post("/v1/incidents", &crate::helpers::incident("2024-05-01T10:00:00Z", "other")).await;
    let id = created.body["id"].as_str().unwrap().to_string();
    // Filled in bulk, as a busy incident would be over the years.
    let mut db = app.db().await;
    diesel_async::SimpleAsyncConnection::batch_execute(
        &mut db,
        &format!(
            "INSERT INTO claims (id, incident_id, claimant, stance, dated_at, counted) \
             SELECT gen_random_uuid(), '{id}', 'euma', 'observes', now(), true FROM generate_series(1, 999)"
        ),
    )
    .await
    .unwrap();
    let claims = format!("/v1/incidents/{id}/claims");
    assert_eq!(app.post(&claims, &json!({"claimant": "euma", "stance": "observes"})).await.status, 201);
    let before = app.row_counts().await;
    let refused = app.post(&claims, &json!({"claimant": "euma", "stance": "observes"})).await;
    assert_eq!(refused.assert_problem(422), [""]);
    assert!(refused.text.contains("at most 1000 claims"), "{}", refused.text);
    assert_eq!(app.row_counts().await, before);
}
