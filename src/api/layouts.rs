//! Exports in the column layouts researchers' pipelines are built on:
//! ACLED's (`format=acled`) and UCDP GED's (`format=ucdp`). The mapping of
//! every column is in `docs/research-layouts.md`.

use std::collections::HashMap;

use crate::domain::incident::IncidentView;
use crate::domain::{ClaimStatus, IncidentType, LocationPrecision, Stance, TimePrecision};

/// ACLED's columns, in the order of its API's CSV export.
pub const ACLED_COLUMNS: &[&str] = &[
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

/// UCDP GED's columns (codebook version 24.1), in its order.
pub const UCDP_COLUMNS: &[&str] = &[
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

/// A country of the region: ISO alpha-2, name, ISO 3166 numeric, ACLED's
/// region, Gleditsch–Ward number, UCDP's region.
pub const COUNTRIES: &[(&str, &str, u16, &str, u16, &str)] = &[
    ("AM", "Armenia", 51, "Caucasus and Central Asia", 371, "Europe"),
    ("AZ", "Azerbaijan", 31, "Caucasus and Central Asia", 373, "Europe"),
    ("GE", "Georgia", 268, "Caucasus and Central Asia", 372, "Europe"),
    ("IR", "Iran", 364, "Middle East", 630, "Middle East"),
    ("TR", "Turkey", 792, "Middle East", 640, "Europe"),
    ("RU", "Russia", 643, "Europe", 365, "Europe"),
];

fn country(code: Option<&str>) -> Option<&'static (&'static str, &'static str, u16, &'static str, u16, &'static str)> {
    code.and_then(|c| COUNTRIES.iter().find(|k| k.0 == c))
}

/// The alpha-2 code of a country named as ACLED and UCDP name it.
pub fn country_code(name: &str) -> Option<&'static str> {
    COUNTRIES.iter().find(|k| k.1.eq_ignore_ascii_case(name.trim())).map(|k| k.0)
}

/// ACLED's disorder type, event type and sub-event type of an incident type.
pub fn acled_event(t: IncidentType) -> (&'static str, &'static str, &'static str) {
    const VIOLENCE: &str = "Political violence";
    const STRATEGIC: &str = "Strategic developments";
    match t {
        IncidentType::SmallArmsFire | IncidentType::SniperFire => (VIOLENCE, "Battles", "Armed clash"),
        IncidentType::MortarFire | IncidentType::ArtilleryFire | IncidentType::RocketFire => {
            (VIOLENCE, "Explosions/Remote violence", "Shelling/artillery/missile attack")
        }
        IncidentType::DroneStrike => (VIOLENCE, "Explosions/Remote violence", "Air/drone strike"),
        IncidentType::MineExplosion => (VIOLENCE, "Explosions/Remote violence", "Remote explosive/landmine/IED"),
        IncidentType::Detention => (STRATEGIC, "Strategic developments", "Arrests"),
        IncidentType::FortificationWorks => (STRATEGIC, "Strategic developments", "Change to group/activity"),
        IncidentType::AirspaceViolation | IncidentType::BorderCrossing | IncidentType::Other => {
            (STRATEGIC, "Strategic developments", "Other")
        }
    }
}

/// The incident type of ACLED's sub-event type (`other` when none fits).
pub fn type_of_acled(sub_event_type: &str) -> IncidentType {
    match sub_event_type.trim() {
        "Armed clash" => IncidentType::SmallArmsFire,
        "Shelling/artillery/missile attack" => IncidentType::ArtilleryFire,
        "Air/drone strike" => IncidentType::DroneStrike,
        "Remote explosive/landmine/IED" => IncidentType::MineExplosion,
        "Arrests" => IncidentType::Detention,
        "Change to group/activity" => IncidentType::FortificationWorks,
        _ => IncidentType::Other,
    }
}

/// ACLED's time precision: 1 a day, 2 a week, 3 a month.
fn acled_time(p: TimePrecision) -> u8 {
    match p {
        TimePrecision::Minute | TimePrecision::Hour | TimePrecision::Day => 1,
        TimePrecision::Week => 2,
        TimePrecision::Month => 3,
    }
}

/// UCDP's date precision: 1 the day, 3 the week, 4 the month.
fn ucdp_date(p: TimePrecision) -> u8 {
    match p {
        TimePrecision::Minute | TimePrecision::Hour | TimePrecision::Day => 1,
        TimePrecision::Week => 3,
        TimePrecision::Month => 4,
    }
}

/// The time precision of UCDP's `date_prec` (and of ACLED's, with `acled`).
pub fn time_precision_of(code: &str, acled: bool) -> TimePrecision {
    match (code.trim(), acled) {
        ("2", true) | ("2" | "3", false) => TimePrecision::Week,
        ("3", true) | ("4" | "5", false) => TimePrecision::Month,
        _ => TimePrecision::Day,
    }
}

/// Who is named: the accused (actor 1, side A) and the accusers (actor 2,
/// side B), by name, in the order of their first standing accusation.
fn actors(view: &IncidentView, names: &HashMap<String, String>) -> (Vec<String>, Vec<String>) {
    let mut accused: Vec<String> = Vec::new();
    let mut accusers: Vec<String> = Vec::new();
    for c in view.claims.iter().filter(|c| c.status == ClaimStatus::Standing && c.stance == Stance::Accuses) {
        let name = |slug: &str| names.get(slug).cloned().unwrap_or_else(|| slug.to_string());
        if let Some(t) = &c.target {
            if !accused.contains(&name(t)) {
                accused.push(name(t));
            }
        }
        if !accusers.contains(&name(&c.claimant)) {
            accusers.push(name(&c.claimant));
        }
    }
    (accused, accusers)
}

/// ACLED's interaction code of a party's kind: 1 state forces, 8 external
/// and other forces.
fn inter(kind: Option<&String>) -> &'static str {
    match kind.map(String::as_str) {
        Some("state" | "armed_forces" | "government_body") => "1",
        Some(_) => "8",
        None => "",
    }
}

fn num(v: Option<f64>) -> String {
    v.map(|x| x.to_string()).unwrap_or_default()
}

/// One incident as an ACLED row, in `ACLED_COLUMNS` order.
pub fn acled_row(view: &IncidentView, names: &HashMap<String, String>, kinds: &HashMap<String, String>) -> Vec<String> {
    let f = &view.fields;
    let (disorder, event, sub_event) = acled_event(f.incident_type);
    let (accused, accusers) = actors(view, names);
    let kind_of = |name: &str| names.iter().find(|(_, n)| n.as_str() == name).and_then(|(slug, _)| kinds.get(slug));
    let (inter1, inter2) =
        (accused.first().map_or("", |a| inter(kind_of(a))), accusers.first().map_or("", |a| inter(kind_of(a))));
    let c = country(f.location.country.as_ref().map(|c| c.as_str()));
    let cas = &f.casualties;
    let killed = cas.killed_military.map_or(0, |k| k.get()) + cas.killed_civilian.map_or(0, |k| k.get());
    let civilians_hit =
        cas.killed_civilian.is_some_and(|k| k.get() > 0) || cas.wounded_civilian.is_some_and(|k| k.get() > 0);
    let sources: Vec<String> =
        f.sources.iter().map(|s| s.publisher.as_ref().map_or_else(|| s.url.clone(), |p| p.to_string())).collect();
    let notes = match f.description.as_str().trim() {
        "" => f.title.to_string(),
        d => format!("{}. {d}", f.title.as_str().trim_end_matches('.')),
    };
    let mut interaction: Vec<&str> = [inter1, inter2].into_iter().filter(|s| !s.is_empty()).collect();
    interaction.sort();
    vec![
        f.external_ids.get("acled").cloned().unwrap_or_else(|| view.id.to_string()),
        view.local_date.to_string(),
        view.local_date.format("%Y").to_string(),
        acled_time(f.time_precision).to_string(),
        disorder.into(),
        event.into(),
        sub_event.into(),
        accused.first().cloned().unwrap_or_default(),
        accused.iter().skip(1).cloned().collect::<Vec<_>>().join("; "),
        inter1.into(),
        accusers.first().cloned().unwrap_or_default(),
        accusers.iter().skip(1).cloned().collect::<Vec<_>>().join("; "),
        inter2.into(),
        interaction.concat(),
        if civilians_hit { "Civilian targeting".into() } else { String::new() },
        c.map(|c| c.2.to_string()).unwrap_or_default(),
        c.map(|c| c.3.to_string()).unwrap_or_default(),
        c.map(|c| c.1.to_string()).unwrap_or_default(),
        f.location.admin1.as_ref().map(ToString::to_string).unwrap_or_default(),
        f.location.admin2.as_ref().map(ToString::to_string).unwrap_or_default(),
        String::new(),
        f.location.name.to_string(),
        num(f.location.lat),
        num(f.location.lon),
        match f.location.precision {
            Some(LocationPrecision::Exact | LocationPrecision::Settlement) => "1",
            Some(LocationPrecision::District) => "2",
            Some(LocationPrecision::Region) | None => "3",
        }
        .into(),
        sources.join("; "),
        String::new(),
        notes,
        killed.to_string(),
        String::new(),
        view.updated_at.timestamp().to_string(),
    ]
}

/// One incident as a UCDP GED row, in `UCDP_COLUMNS` order.
pub fn ucdp_row(view: &IncidentView, names: &HashMap<String, String>) -> Vec<String> {
    let f = &view.fields;
    let (accused, accusers) = actors(view, names);
    let side_a = accused.join("; ");
    let side_b = accusers.join("; ");
    let c = country(f.location.country.as_ref().map(|c| c.as_str()));
    let cas = &f.casualties;
    let (military, civilians) =
        (cas.killed_military.map_or(0, |k| k.get()), cas.killed_civilian.map_or(0, |k| k.get()));
    let best = military + civilians;
    let gw = |side: &[String]| -> String {
        // The GW number of the country of a side named after a state.
        side.first()
            .and_then(|n| COUNTRIES.iter().find(|k| n.contains(k.1)))
            .map(|k| k.4.to_string())
            .unwrap_or_default()
    };
    let dyad = if side_a.is_empty() && side_b.is_empty() { String::new() } else { format!("{side_a} - {side_b}") };
    let until = f.occurred_until.map(|t| t.date_naive()).unwrap_or(view.local_date);
    let first = f.sources.first();
    vec![
        f.external_ids.get("ucdp").cloned().unwrap_or_else(|| view.id.to_string()),
        view.id.to_string(),
        view.local_date.format("%Y").to_string(),
        String::new(),
        String::new(),
        "1".into(),
        String::new(),
        String::new(),
        dyad.clone(),
        String::new(),
        String::new(),
        dyad,
        String::new(),
        String::new(),
        side_a,
        String::new(),
        String::new(),
        side_b,
        f.sources.len().to_string(),
        f.sources.iter().map(|s| s.url.clone()).collect::<Vec<_>>().join(";"),
        first.and_then(|s| s.publisher.as_ref()).map(ToString::to_string).unwrap_or_default(),
        first.and_then(|s| s.published_at).map(|t| t.date_naive().to_string()).unwrap_or_default(),
        f.title.to_string(),
        String::new(),
        match f.location.precision {
            Some(LocationPrecision::Exact | LocationPrecision::Settlement) => "1",
            Some(LocationPrecision::District) => "3",
            Some(LocationPrecision::Region) => "4",
            None => "6",
        }
        .into(),
        f.location.name.to_string(),
        f.description.to_string(),
        f.location.admin1.as_ref().map(ToString::to_string).unwrap_or_default(),
        f.location.admin2.as_ref().map(ToString::to_string).unwrap_or_default(),
        num(f.location.lat),
        num(f.location.lon),
        match (f.location.lat, f.location.lon) {
            (Some(lat), Some(lon)) => format!("POINT ({lon} {lat})"),
            _ => String::new(),
        },
        String::new(),
        c.map(|c| c.1.to_string()).unwrap_or_default(),
        c.map(|c| c.4.to_string()).unwrap_or_default(),
        c.map(|c| c.5.to_string()).unwrap_or_default(),
        "1".into(),
        ucdp_date(f.time_precision).to_string(),
        view.local_date.to_string(),
        until.to_string(),
        "0".into(),
        "0".into(),
        civilians.to_string(),
        military.to_string(),
        best.to_string(),
        best.to_string(),
        best.to_string(),
        gw(&accused),
        gw(&accusers),
    ]
}
