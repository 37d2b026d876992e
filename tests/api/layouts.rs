//! The layouts researchers already use: ACLED's and UCDP GED's columns,
//! out of the export and into `ceasefire import --from`.

use std::collections::HashMap;

use ceasefire::import_layout::{run, Layout};

use crate::helpers::spawn_app;

/// The fields of an ACLED event as published by ACLED's API (the
/// `acled` data model of its documentation), in order.
const ACLED_FIELDS: &[&str] = &[
    "event_id_cnty",
    "event_date",
    "year",
    "time_precision",
    "disorder_type",
    "event_type",
    "sub_event_type",
    "actor1",
    "assoc_actor_1",
    "inter1",
    "actor2",
    "assoc_actor_2",
    "inter2",
    "interaction",
    "civilian_targeting",
    "iso",
    "region",
    "country",
    "admin1",
    "admin2",
    "admin3",
    "location",
    "latitude",
    "longitude",
    "geo_precision",
    "source",
    "source_scale",
    "notes",
    "fatalities",
    "tags",
    "timestamp",
];

/// The variables of the UCDP Georeferenced Event Dataset codebook (24.1).
const UCDP_GED_VARIABLES: &[&str] = &[
    "id",
    "relid",
    "year",
    "active_year",
    "code_status",
    "type_of_violence",
    "conflict_dset_id",
    "conflict_new_id",
    "conflict_name",
    "dyad_dset_id",
    "dyad_new_id",
    "dyad_name",
    "side_a_dset_id",
    "side_a_new_id",
    "side_a",
    "side_b_dset_id",
    "side_b_new_id",
    "side_b",
    "number_of_sources",
    "source_article",
    "source_office",
    "source_date",
    "source_headline",
    "source_original",
    "where_prec",
    "where_coordinates",
    "where_description",
    "adm_1",
    "adm_2",
    "latitude",
    "longitude",
    "geom_wkt",
    "priogrid_gid",
    "country",
    "country_id",
    "region",
    "event_clarity",
    "date_prec",
    "date_start",
    "date_end",
    "deaths_a",
    "deaths_b",
    "deaths_civilians",
    "deaths_unknown",
    "best",
    "high",
    "low",
    "gwnoa",
    "gwnob",
];

fn table(text: &str) -> (Vec<String>, Vec<HashMap<String, String>>) {
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header: Vec<String> = reader.headers().unwrap().iter().map(str::to_string).collect();
    let rows =
        reader.records().map(|r| header.iter().cloned().zip(r.unwrap().iter().map(str::to_string)).collect()).collect();
    (header, rows)
}

#[tokio::test]
async fn the_acled_layout_has_acleds_fields_and_value_types() {
    let app = spawn_app().await;
    app.seed().await;
    for story in ceasefire::seed::example() {
        assert_eq!(app.post("/v1/incidents", &story).await.status, 201);
    }
    let res = app.get("/v1/incidents?format=acled&tz=Asia/Baku").await;
    assert_eq!(res.status, 200, "{}", res.text);
    let (header, rows) = table(&res.text);
    assert_eq!(header, ACLED_FIELDS);
    assert_eq!(rows.len(), 2);
    for r in &rows {
        assert!(chrono::NaiveDate::parse_from_str(&r["event_date"], "%Y-%m-%d").is_ok());
        assert_eq!(r["year"], "2025");
        for (field, allowed) in [("time_precision", &["1", "2", "3"][..]), ("geo_precision", &["1", "2", "3"][..])] {
            assert!(allowed.contains(&r[field].as_str()), "{field} = {}", r[field]);
        }
        for field in ["iso", "fatalities", "timestamp"] {
            assert!(r[field].parse::<i64>().is_ok(), "{field} = `{}` is not an integer", r[field]);
        }
        assert!(r["latitude"].parse::<f64>().is_ok() && r["longitude"].parse::<f64>().is_ok());
        assert_eq!((r["iso"].as_str(), r["country"].as_str()), ("31", "Azerbaijan"));
        assert_eq!(r["admin1"], "East Zangezur");
        assert_eq!(r["actor1"], "Armed Forces of Armenia", "the accused first");
    }
    let first = rows.iter().find(|r| r["event_date"] == "2025-07-03").unwrap();
    assert_eq!((first["event_type"].as_str(), first["sub_event_type"].as_str()), ("Battles", "Armed clash"));
    assert_eq!(first["actor2"], "Ministry of Defence of Azerbaijan");
    assert_eq!((first["inter1"].as_str(), first["inter2"].as_str(), first["interaction"].as_str()), ("1", "1", "11"));
    let second = rows.iter().find(|r| r["event_date"] == "2025-07-05").unwrap();
    assert_eq!(second["sub_event_type"], "Shelling/artillery/missile attack");
}

#[tokio::test]
async fn a_ucdp_file_round_trips_through_import_and_updates_on_a_second_import() {
    let app = spawn_app().await;
    app.seed().await;
    let fixture = |best_civilians: &str| {
        let mut row: HashMap<&str, String> = UCDP_GED_VARIABLES.iter().map(|v| (*v, String::new())).collect();
        for (k, v) in [
            ("id", "424242"),
            ("relid", "ARM-2022-1-424242"),
            ("year", "2022"),
            ("type_of_violence", "1"),
            ("side_a", "Government of Azerbaijan"),
            ("side_b", "Armed Forces of Armenia"),
            ("source_article", "https://example.org/report;https://example.org/other"),
            ("source_headline", "Shelling reported near Jermuk"),
            ("where_prec", "1"),
            ("where_coordinates", "Jermuk town"),
            ("where_description", "Jermuk, Vayots Dzor"),
            ("adm_1", "Vayots Dzor province"),
            ("latitude", "39.8417"),
            ("longitude", "45.6722"),
            ("country", "Armenia"),
            ("country_id", "371"),
            ("region", "Europe"),
            ("date_prec", "1"),
            ("date_start", "2022-09-13"),
            ("date_end", "2022-09-14"),
            ("deaths_a", "0"),
            ("deaths_b", "3"),
            ("deaths_unknown", "0"),
        ] {
            row.insert(k, v.to_string());
        }
        row.insert("deaths_civilians", best_civilians.to_string());
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record(UCDP_GED_VARIABLES).unwrap();
        w.write_record(UCDP_GED_VARIABLES.iter().map(|v| row[v].clone())).unwrap();
        String::from_utf8(w.into_inner().unwrap()).unwrap()
    };
    let dir = std::env::temp_dir().join(format!("ceasefire-ucdp-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("ged.csv");
    std::fs::write(&path, fixture("1")).unwrap();
    let summary = run(&app.pool(), &path, Layout::Ucdp).await.unwrap();
    assert_eq!((summary.inserted, summary.updated), (1, 0));
    assert!(
        summary.notes.iter().any(|n| n.contains("side_a `Government of Azerbaijan` matches no party")),
        "{:?}",
        summary.notes
    );
    let list = app.get("/v1/incidents").await;
    let incident = &list.body["data"][0];
    assert_eq!(incident["external_ids"]["ucdp"], "424242");
    assert_eq!(incident["occurred_at"], "2022-09-13T00:00:00+04:00");
    assert_eq!(incident["location"]["admin1"], "Vayots Dzor province");
    assert!(incident["description"].as_str().unwrap().contains("Government of Azerbaijan"), "kept by name");
    // Out again in the same layout: the same event.
    let out = app.get("/v1/incidents?format=ucdp").await;
    assert_eq!(out.status, 200, "{}", out.text);
    let (header, rows) = table(&out.text);
    assert_eq!(header, UCDP_GED_VARIABLES);
    let r = &rows[0];
    for (k, v) in [
        ("id", "424242"),
        ("date_start", "2022-09-13"),
        ("date_end", "2022-09-14"),
        ("date_prec", "1"),
        ("where_prec", "1"),
        ("adm_1", "Vayots Dzor province"),
        ("latitude", "39.8417"),
        ("longitude", "45.6722"),
        ("country", "Armenia"),
        ("country_id", "371"),
        ("deaths_civilians", "1"),
        ("best", "4"),
        ("source_headline", "Shelling reported near Jermuk"),
        ("number_of_sources", "2"),
    ] {
        assert_eq!(r[k], v, "{k}");
    }
    // The same event again, revised: updated in place, not duplicated.
    std::fs::write(&path, fixture("2")).unwrap();
    let again = run(&app.pool(), &path, Layout::Ucdp).await.unwrap();
    assert_eq!((again.inserted, again.updated), (0, 1));
    let list = app.get("/v1/incidents").await;
    assert_eq!(list.body["data"].as_array().unwrap().len(), 1);
    assert_eq!(list.body["data"][0]["casualties"]["killed_civilian"], 2);
    assert_eq!(list.body["data"][0]["version"], 2);
    // A row that cannot be read names its line, and nothing loads.
    std::fs::write(&path, fixture("1").replace("2022-09-13", "13/09/2022")).unwrap();
    let err = run(&app.pool(), &path, Layout::Ucdp).await.unwrap_err();
    assert!(err.to_string().contains("cannot be loaded"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}
