//! For the people who read the record: local time on lists, exports and
//! claims; files a journalist can open.

use serde_json::{json, Value};

use crate::helpers::{incident, spawn_app};

fn ids(page: &Value) -> Vec<String> {
    let mut ids: Vec<String> =
        page["data"].as_array().unwrap().iter().map(|i| i["id"].as_str().unwrap().to_string()).collect();
    ids.sort();
    ids
}

#[tokio::test]
async fn a_list_in_baku_time_agrees_with_the_weekly_baku_count() {
    let app = spawn_app().await;
    let mut posted = Vec::new();
    // 02:00 on 14 July in Baku is 13 July in UTC; 01:30 on 21 July in Baku
    // is 20 July in UTC: the week of 14 July in Baku holds the first three.
    for at in ["2025-07-14T02:00:00+04:00", "2025-07-16T12:00:00Z", "2025-07-20T19:59:00Z", "2025-07-20T21:30:00Z"] {
        let res = app.post("/v1/incidents", &incident(at, "artillery_fire")).await;
        assert_eq!(res.status, 201, "{}", res.text);
        posted.push(res.body["id"].as_str().unwrap().to_string());
    }
    let count = app.get("/v1/stats/incidents?interval=week&from=2025-07-14&to=2025-07-21&tz=Asia/Baku").await;
    assert_eq!(count.status, 200, "{}", count.text);
    assert_eq!(count.body["total"], 3, "{}", count.text);
    let list = app.get("/v1/incidents?from=2025-07-14&to=2025-07-21&tz=Asia/Baku").await;
    assert_eq!(list.status, 200, "{}", list.text);
    let mut expected = posted[..3].to_vec();
    expected.sort();
    assert_eq!(ids(&list.body), expected);
    // In UTC the same dates hold a different set: the first is on 13 July.
    let utc = app.get("/v1/incidents?from=2025-07-14&to=2025-07-21").await;
    let mut expected = posted[1..].to_vec();
    expected.sort();
    assert_eq!(ids(&utc.body), expected);
    // Every time of a zoned answer is shown in it, with its local date.
    for item in list.body["data"].as_array().unwrap() {
        let at = item["occurred_at"].as_str().unwrap();
        assert!(at.ends_with("+04:00"), "{at}");
        assert_eq!(item["local_date"].as_str().unwrap(), &at[..10]);
    }
    // The export reads the same range the same way.
    let csv = app.get("/v1/incidents?from=2025-07-14&to=2025-07-21&tz=Asia/Baku&format=csv").await;
    assert_eq!(csv.status, 200, "{}", csv.text);
    let mut reader = csv::Reader::from_reader(csv.text.as_bytes());
    let header = reader.headers().unwrap().clone();
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    assert_eq!(rows.len(), 3);
    let mut dates: Vec<&str> = rows.iter().map(|r| &r[col("local_date")]).collect();
    dates.sort();
    assert_eq!(dates, ["2025-07-14", "2025-07-16", "2025-07-20"]);
    assert!(rows.iter().all(|r| r[col("occurred_at")].ends_with("+04:00")));
    // A zone that does not exist is a 400 that names it.
    let bad = app.get("/v1/incidents?tz=Asia/Atlantis").await;
    assert_eq!(bad.assert_problem(400), ["/query/tz"]);
}

#[tokio::test]
async fn an_incident_keeps_the_offset_it_was_reported_with() {
    let app = spawn_app().await;
    app.seed().await;
    let mut body = incident("2025-07-14T00:00:00+04:00", "mortar_fire");
    body["time_precision"] = json!("day");
    body["occurred_until"] = json!("2025-07-14T20:00:00Z");
    body["claims"] = json!([{"claimant": "az-mod", "stance": "accuses", "target": "am-armed-forces",
                            "stated_at": "2025-07-14T09:00:00+04:00"}]);
    let created = app.post("/v1/incidents", &body).await;
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!(created.body["occurred_at"], "2025-07-14T00:00:00+04:00");
    assert_eq!(created.body["occurred_until"], "2025-07-15T00:00:00+04:00");
    assert_eq!(created.body["local_date"], "2025-07-14");
    let id = created.body["id"].as_str().unwrap().to_string();
    let read = app.get(&format!("/v1/incidents/{id}")).await;
    assert_eq!(read.body["occurred_at"], "2025-07-14T00:00:00+04:00");
    assert_eq!(read.body["claims"][0]["stated_at"], "2025-07-14T05:00:00Z", "claims are in UTC unless asked");
    // Asked in another zone, every time moves to it, the local date too.
    let utc = app.get(&format!("/v1/incidents/{id}?tz=UTC")).await;
    assert_eq!(utc.body["occurred_at"], "2025-07-13T20:00:00Z");
    assert_eq!(utc.body["local_date"], "2025-07-13");
    let yerevan = app.get(&format!("/v1/incidents/{id}?tz=Asia/Yerevan")).await;
    assert_eq!(yerevan.body["claims"][0]["stated_at"], "2025-07-14T09:00:00+04:00");
    // A patch that changes the time keeps the offset it is given.
    let tag = read.header("etag").unwrap().to_string();
    let patched = app
        .patch(&format!("/v1/incidents/{id}"), &json!({"occurred_at": "2025-07-14T06:30:00+03:00"}), Some(&tag))
        .await;
    assert_eq!(patched.status, 200, "{}", patched.text);
    assert_eq!(patched.body["occurred_at"], "2025-07-14T06:30:00+03:00");
    // The same instant in another offset is a change too.
    let tag = patched.header("etag").unwrap().to_string();
    let moved =
        app.patch(&format!("/v1/incidents/{id}"), &json!({"occurred_at": "2025-07-14T03:30:00Z"}), Some(&tag)).await;
    assert_eq!(moved.status, 200, "{}", moved.text);
    assert_eq!(
        (moved.body["occurred_at"].clone(), moved.body["version"].clone()),
        (json!("2025-07-14T03:30:00Z"), json!(3))
    );
    let tag = moved.header("etag").unwrap().to_string();
    let back = app
        .patch(&format!("/v1/incidents/{id}"), &json!({"occurred_at": "2025-07-14T06:30:00+03:00"}), Some(&tag))
        .await;
    assert_eq!(back.body["version"], 4);
    // The export keeps it and loads back with it (NDJSON is the lossless one).
    let nd = app.get("/v1/incidents?format=ndjson").await;
    let line: Value = serde_json::from_str(nd.text.lines().next().unwrap()).unwrap();
    assert_eq!(line["occurred_at"], "2025-07-14T06:30:00+03:00");
}

#[tokio::test]
async fn the_claims_csv_has_one_row_per_claim_with_its_incidents_date_and_place() {
    let app = spawn_app().await;
    app.seed().await;
    for story in ceasefire::seed::example() {
        let res = app.post("/v1/incidents", &story).await;
        assert_eq!(res.status, 201, "{}", res.text);
    }
    let json_page = app.get("/v1/claims?limit=1000").await;
    let n = json_page.body["data"].as_array().unwrap().len();
    assert!(n >= 5, "{}", json_page.text);
    let res = app.get("/v1/claims?format=csv&limit=1000&tz=Asia/Baku").await;
    assert_eq!(res.status, 200, "{}", res.text);
    let mut reader = csv::Reader::from_reader(res.text.as_bytes());
    let header = reader.headers().unwrap().clone();
    let col = |name: &str| header.iter().position(|h| h == name).unwrap_or_else(|| panic!("no {name}"));
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    assert_eq!(rows.len(), n);
    let mut claim_ids: Vec<&str> = rows.iter().map(|r| &r[col("id")]).collect();
    claim_ids.sort();
    claim_ids.dedup();
    assert_eq!(claim_ids.len(), n, "one row per claim");
    for r in &rows {
        assert!(r[col("incident_occurred_at")].ends_with("+04:00"), "{r:?}");
        assert_eq!(&r[col("incident_local_date")], &r[col("incident_occurred_at")][..10]);
        assert!(!r[col("incident_location")].is_empty());
        assert!(["standing", "retracted", "voided"].contains(&&r[col("status")]));
        let stated = &r[col("stated_at")];
        assert!(stated.is_empty() || stated.ends_with("+04:00"), "{stated}");
    }
    assert!(rows.iter().any(|r| &r[col("incident_local_date")] == "2025-07-03"), "{}", res.text);
}

async fn search(app: &crate::helpers::TestApp, query: &str) -> Vec<String> {
    let path = format!("/v1/incidents?{query}");
    let res = app.get(&path).await;
    assert_eq!(res.status, 200, "{path}: {}", res.text);
    ids(&res.body)
}

#[tokio::test]
async fn a_place_is_found_by_any_of_its_names_and_areas_are_filters_and_dimensions() {
    let app = spawn_app().await;
    app.seed().await;
    let kalbajar = app.get("/v1/places?name=Karvachar").await;
    assert_eq!(kalbajar.status, 200, "{}", kalbajar.text);
    assert_eq!(kalbajar.body["data"][0]["slug"], "kalbajar", "{}", kalbajar.text);
    assert_eq!(kalbajar.body["data"].as_array().unwrap().len(), 1);
    let mut at_kalbajar = Vec::new();
    for story in ceasefire::seed::example() {
        let res = app.post("/v1/incidents", &story).await;
        assert_eq!(res.status, 201, "{}", res.text);
        assert_eq!(res.body["location"]["admin1"], "East Zangezur");
        assert_eq!(res.body["location"]["admin2"], "Kalbajar District");
        at_kalbajar.push(res.body["id"].as_str().unwrap().to_string());
    }
    // Written by someone who knows the place by its Armenian name, without
    // a reference to the gazetteer.
    let mut karvachar = incident("2025-07-06T10:00:00+04:00", "small_arms_fire");
    karvachar["location"] = json!({"name": "Karvachar", "country": "AZ"});
    karvachar["title"] = json!("Shots heard");
    let res = app.post("/v1/incidents", &karvachar).await;
    assert_eq!(res.status, 201, "{}", res.text);
    at_kalbajar.push(res.body["id"].as_str().unwrap().to_string());
    // Elsewhere: a place in Tavush, filled from the gazetteer.
    let mut berd = incident("2025-07-07T10:00:00+04:00", "mortar_fire");
    berd["location"] = json!({"place": "berd"});
    let res = app.post("/v1/incidents", &berd).await;
    assert_eq!(res.status, 201, "{}", res.text);
    let berd_id = res.body["id"].as_str().unwrap().to_string();
    let loc = &res.body["location"];
    assert_eq!(
        (loc["name"].as_str(), loc["country"].as_str(), loc["admin1"].as_str()),
        (Some("Berd"), Some("AM"), Some("Tavush"))
    );
    assert_eq!(loc["lat"], 40.8808);
    at_kalbajar.sort();
    for name in [
        "Kalbajar",
        "K%C9%99lb%C9%99c%C9%99r",
        "Karvachar",
        "%D0%9A%D0%B5%D0%BB%D1%8C%D0%B1%D0%B0%D0%B4%D0%B6%D0%B0%D1%80",
    ] {
        assert_eq!(search(&app, &format!("q={name}")).await, at_kalbajar, "q={name}");
        assert_eq!(search(&app, &format!("place={name}")).await, at_kalbajar, "place={name}");
    }
    assert_eq!(search(&app, "place=kalbajar").await, at_kalbajar);
    assert_eq!(search(&app, "admin1=tavush").await, vec![berd_id]);
    assert_eq!(search(&app, "admin2=Kalbajar%20District").await.len(), 2, "the two that reference the place");
    assert!(search(&app, "q=Tbilisi").await.is_empty());
    // Areas are dimensions of counts.
    let count = app.get("/v1/stats/incidents?interval=month&from=2025-07-01&to=2025-08-01&group_by=admin1").await;
    assert_eq!(count.status, 200, "{}", count.text);
    let mut by_area: Vec<(String, i64)> = count.body["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["value"].as_i64().unwrap() > 0)
        .map(|b| (b["admin1"].as_str().unwrap_or("").to_string(), b["value"].as_i64().unwrap()))
        .collect();
    by_area.sort();
    assert_eq!(
        by_area,
        [("".to_string(), 1), ("East Zangezur".to_string(), 2), ("Tavush".to_string(), 1)],
        "{}",
        count.text
    );
    let tavush = app.get("/v1/stats/incidents?interval=month&from=2025-07-01&to=2025-08-01&admin1=Tavush").await;
    assert_eq!(tavush.body["total"], 1, "{}", tavush.text);
}

#[tokio::test]
async fn editors_manage_places_and_incidents_follow_their_areas() {
    let app = spawn_app().await;
    app.seed().await;
    let new = json!({"slug": "sotk-mine", "name": "Sotk gold mine", "alt_names": ["Zod mine", "Сотк рудник"],
                     "country": "AM", "admin1": "Gegharkunik", "lat": 40.21, "lon": 45.93});
    let created = app.post("/v1/places", &new).await;
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!(created.header("location"), Some("/v1/places/sotk-mine"));
    assert_eq!(app.post("/v1/places", &new).await.status, 409);
    let bad = app.post("/v1/places", &json!({"slug": "x", "name": "X", "lat": 40.0})).await;
    assert_eq!(bad.assert_problem(422), ["/lon"]);
    let reporter = app.create_key("reporter", ceasefire::domain::Role::Reporter).await;
    let refused = app
        .send(app.client.post(app.url("/v1/places")).bearer_auth(&reporter).json(&json!({"slug": "y", "name": "Y"})))
        .await;
    assert_eq!(refused.status, 403, "{}", refused.text);
    // An incident at an unknown place is refused where the place is named.
    let mut nowhere = incident("2025-07-07T10:00:00Z", "mortar_fire");
    nowhere["location"] = json!({"place": "atlantis"});
    assert!(app.post("/v1/incidents", &nowhere).await.assert_problem(422).contains(&"/location/place".to_string()));
    let mut at_mine = incident("2025-07-07T10:00:00Z", "mortar_fire");
    at_mine["location"] = json!({"place": "sotk-mine", "name": "Sotk mine, north gate"});
    let res = app.post("/v1/incidents", &at_mine).await;
    assert_eq!(res.status, 201, "{}", res.text);
    assert_eq!(res.body["location"]["name"], "Sotk mine, north gate", "a name given is kept");
    let id = res.body["id"].as_str().unwrap().to_string();
    assert_eq!(search(&app, "q=Zod%20mine").await, std::slice::from_ref(&id));
    // The place moves to another area: its incidents follow, as a new version.
    let patched = app
        .send(
            app.client
                .patch(app.url("/v1/places/sotk-mine"))
                .bearer_auth(&app.token)
                .header("Content-Type", "application/merge-patch+json")
                .body(r#"{"admin2": "Vardenis community", "alt_names": ["Zod mine"]}"#),
        )
        .await;
    assert_eq!(patched.status, 200, "{}", patched.text);
    assert_eq!(patched.body["alt_names"], json!(["Zod mine"]));
    let after = app.get(&format!("/v1/incidents/{id}")).await;
    assert_eq!(after.body["location"]["admin2"], "Vardenis community");
    assert_eq!(after.body["version"], 2);
    let history = app.get(&format!("/v1/incidents/{id}/history")).await;
    let last = history.body["data"].as_array().unwrap().last().unwrap().clone();
    assert_eq!((last["version"].clone(), last["action"].clone()), (json!(2), json!("update")), "{last}");
    assert_eq!(last["changes"]["location"]["to"]["admin2"], "Vardenis community");
    assert_eq!(app.get("/v1/places/sotk-mine").await.body["admin2"], "Vardenis community");
    assert_eq!(app.get("/v1/places/nowhere").await.status, 404);
    let page = app.get("/v1/places?limit=2").await;
    assert_eq!(page.body["data"].as_array().unwrap().len(), 2);
    assert!(page.header("link").unwrap().contains("after="), "{:?}", page.header("link"));
}

/// The first sheet of an xlsx answer, read by calamine.
async fn sheet(app: &crate::helpers::TestApp, path: &str) -> calamine::Range<calamine::Data> {
    use calamine::Reader;
    let res = app.client.get(app.url(path)).send().await.unwrap();
    let status = res.status();
    if status != 200 {
        panic!("{path}: {status} {}", res.text().await.unwrap());
    }
    assert_eq!(
        res.headers()["content-type"].to_str().unwrap(),
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    );
    let bytes = res.bytes().await.unwrap();
    let mut book: calamine::Xlsx<_> = calamine::open_workbook_from_rs(std::io::Cursor::new(bytes.to_vec())).unwrap();
    let name = book.sheet_names()[0].clone();
    book.worksheet_range(&name).unwrap()
}

#[tokio::test]
async fn spreadsheets_of_incidents_claims_and_counts_have_typed_cells() {
    use calamine::{Data, DataType};
    let app = spawn_app().await;
    app.seed().await;
    for story in ceasefire::seed::example() {
        assert_eq!(app.post("/v1/incidents", &story).await.status, 201);
    }
    let incidents = sheet(&app, "/v1/incidents?format=xlsx&tz=Asia/Baku").await;
    assert_eq!(incidents.height(), 3, "a header and two incidents");
    let header: Vec<String> = incidents.rows().next().unwrap().iter().map(|c| c.to_string()).collect();
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let row = incidents.rows().nth(1).unwrap();
    assert!(row[col("occurred_at")].is_datetime(), "{:?}", row[col("occurred_at")]);
    assert_eq!(row[col("occurred_at")].as_datetime().unwrap().to_string(), "2025-07-05 02:10:00", "Baku time");
    assert!(matches!(row[col("local_date")], Data::DateTime(_)));
    assert!(matches!(row[col("version")], Data::Float(v) if v == 1.0));
    assert!(matches!(row[col("denied")], Data::Bool(_)));
    assert!(matches!(&row[col("title")], Data::String(t) if t.starts_with("Exchange of fire")));
    assert!(matches!(&row[col("admin1")], Data::String(t) if t == "East Zangezur"));
    let claims = sheet(&app, "/v1/claims?format=xlsx&limit=1000").await;
    assert_eq!(claims.height(), 1 + 5);
    let counts = sheet(&app, "/v1/stats/incidents?interval=month&from=2025-07-01&to=2025-09-01&format=xlsx").await;
    assert_eq!(counts.height(), 3);
    let values: Vec<f64> = counts.rows().skip(1).map(|r| r[1].as_f64().unwrap()).collect();
    assert_eq!(values, [2.0, 0.0]);
    // Past the limit a spreadsheet is refused in favour of the CSV; not tried
    // here with 100,000 incidents: the limit is a constant of `Sheet`, tested
    // in its unit tests' place by the bom check below.
    assert_eq!(app.get("/v1/incidents?format=xlsx&bom=true").await.assert_problem(400), ["/query/bom"]);
}
