//! Every filter of GET /v1/incidents, each against a set where exactly the
//! expected incidents match.

use serde_json::{json, Value};

use crate::helpers::{spawn_app, TestApp};

async fn create(app: &TestApp, body: Value) -> String {
    let res = app.post("/v1/incidents", &body).await;
    assert_eq!(res.status, 201, "{}", res.text);
    res.body["id"].as_str().unwrap().to_string()
}

async fn ids(app: &TestApp, query: &str) -> Vec<String> {
    let res = app.get(&format!("/v1/incidents?{query}")).await;
    assert_eq!(res.status, 200, "{query}: {}", res.text);
    let mut ids: Vec<String> =
        res.body["data"].as_array().unwrap().iter().map(|i| i["id"].as_str().unwrap().to_string()).collect();
    ids.sort();
    ids
}

fn sorted(items: &[&String]) -> Vec<String> {
    let mut v: Vec<String> = items.iter().map(|s| s.to_string()).collect();
    v.sort();
    v
}

#[tokio::test]
async fn each_filter_selects_exactly_its_incidents() {
    let app = spawn_app().await;
    app.seed().await;
    let a = create(&app, json!({
        "occurred_at": "2023-08-15T07:00:00Z", "type": "small_arms_fire", "verification": "confirmed",
        "location": {"name": "Verin Shorzha", "border_sector": "gegharkunik", "country": "AM", "lat": 40.14, "lon": 45.64},
        "title": "Fire near an EU patrol", "description": "Shots towards observers",
        "claims": [
            {"claimant": "am-mod", "stance": "accuses", "target": "az-armed-forces"},
            {"claimant": "az-mod", "stance": "denies", "responds_to_index": 0},
            {"claimant": "euma", "stance": "confirms"}
        ]
    })).await;
    let b = create(
        &app,
        json!({
            "occurred_at": "2023-09-01T12:00:00Z", "type": "mortar_fire",
            "location": {"name": "Sotk", "border_sector": "sotk", "country": "AM", "lat": 40.2, "lon": 45.9},
            "title": "Mortar shelling of Sotk",
            "claims": [{"claimant": "am-mod", "stance": "accuses", "target": "az-armed-forces"}]
        }),
    )
    .await;
    let c = create(
        &app,
        json!({
            "occurred_at": "2023-10-10T00:00:00Z", "type": "drone_strike", "verification": "disputed",
            "location": {"name": "Lachin road", "border_sector": "lachin", "country": "AZ", "lat": 39.6, "lon": 46.5},
            "title": "Drone over a checkpoint",
            "claims": [{"claimant": "az-mod", "stance": "accuses", "target": "am-armed-forces"}]
        }),
    )
    .await;
    let d = create(
        &app,
        json!({
            "occurred_at": "2024-01-01T00:00:00Z", "type": "other",
            "location": {"name": "Unknown"},
            "title": "Unattributed report"
        }),
    )
    .await;

    assert_eq!(ids(&app, "").await, sorted(&[&a, &b, &c, &d]));
    assert_eq!(ids(&app, "from=2023-09-01T12:00:00Z").await, sorted(&[&b, &c, &d]), "from is inclusive");
    assert_eq!(ids(&app, "to=2023-09-01T12:00:00Z").await, sorted(&[&a]), "to is exclusive");
    assert_eq!(ids(&app, "from=2023-08-01&to=2023-10-01").await, sorted(&[&a, &b]));
    assert_eq!(ids(&app, "type=mortar_fire,drone_strike").await, sorted(&[&b, &c]));
    assert_eq!(ids(&app, "type=mortar_fire&type=drone_strike").await, sorted(&[&b, &c]));
    assert_eq!(ids(&app, "accuser=am-mod").await, sorted(&[&a, &b]));
    assert_eq!(ids(&app, "accused=am-armed-forces").await, sorted(&[&c]));
    assert_eq!(ids(&app, "claimant=euma").await, sorted(&[&a]));
    assert_eq!(ids(&app, "claimant=az-mod").await, sorted(&[&a, &c]));
    assert_eq!(ids(&app, "accuser_side=armenia").await, sorted(&[&a, &b]));
    assert_eq!(ids(&app, "accused_side=armenia").await, sorted(&[&c]));
    assert_eq!(ids(&app, "accuser_side=armenia,azerbaijan").await, sorted(&[&a, &b, &c]));
    assert_eq!(ids(&app, "accuser_side=eu").await, Vec::<String>::new());
    assert_eq!(ids(&app, "denied=true").await, sorted(&[&a]));
    assert_eq!(ids(&app, "denied=false").await, sorted(&[&b, &c, &d]));
    assert_eq!(ids(&app, "verification=confirmed,disputed").await, sorted(&[&a, &c]));
    assert_eq!(ids(&app, "border_sector=sotk").await, sorted(&[&b]));
    assert_eq!(ids(&app, "country=AZ").await, sorted(&[&c]));
    assert_eq!(ids(&app, "bbox=45.5,40.0,46.0,40.5").await, sorted(&[&a, &b]));
    assert_eq!(ids(&app, "q=mortar").await, sorted(&[&b]));
    assert_eq!(ids(&app, "q=observers").await, sorted(&[&a]), "q searches the description too");
    assert_eq!(ids(&app, "accuser=am-mod&type=mortar_fire").await, sorted(&[&b]), "filters combine with AND");
    assert_eq!(ids(&app, "accuser_side=armenia&denied=false").await, sorted(&[&b]));

    // updated_since lists in change order, with tombstones on request.
    let patched_at = chrono::Utc::now().to_rfc3339();
    let etag = app.get(&format!("/v1/incidents/{c}")).await.header("etag").unwrap().to_string();
    assert_eq!(app.patch(&format!("/v1/incidents/{c}"), &json!({"violations": 3}), Some(&etag)).await.status, 200);
    let etag = app.get(&format!("/v1/incidents/{d}")).await.header("etag").unwrap().to_string();
    assert_eq!(app.delete(&format!("/v1/incidents/{d}"), Some(&etag)).await.status, 204);
    let since = format!("updated_since={}", urlencode(&patched_at));
    // Change order lists a change once every older transaction on the
    // server has ended; other tests run beside this one, so poll briefly.
    let mut listed = ids(&app, &format!("{since}&include_deleted=true")).await;
    for _ in 0..300 {
        if listed.len() == 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        listed = ids(&app, &format!("{since}&include_deleted=true")).await;
    }
    assert_eq!(listed, sorted(&[&c, &d]));
    assert_eq!(ids(&app, &since).await, sorted(&[&c]));

    for bad in [
        "bbox=1,2,3",
        "bbox=10,10,0,0",
        "bbox=0,0,200,10",
        "denied=maybe",
        "country=arm",
        "accuser=Not%20A%20Slug",
        "from=2024-01-01&to=2023-01-01",
        "include_deleted=yes",
    ] {
        app.get(&format!("/v1/incidents?{bad}")).await.assert_problem(400);
    }
}

fn urlencode(s: &str) -> String {
    s.replace('+', "%2B").replace(':', "%3A")
}
