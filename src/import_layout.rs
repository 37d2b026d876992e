//! `ceasefire import --from acled|ucdp FILE`: rows in ACLED's or UCDP
//! GED's column layout brought in as incidents, keyed by their id in that
//! dataset (`external_ids.acled` or `.ucdp`): a row whose id is here
//! already updates that incident rather than adding another. What cannot be
//! mapped is said per line; an actor that matches no party is kept by name
//! in the description and reported, never a reason to drop the row. The
//! whole file loads in one transaction, or nothing does.

use std::collections::HashMap;

use anyhow::{bail, Context};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};
use serde_json::{json, Map, Value};
use uuid::Uuid;

use crate::api::layouts::{country_code, time_precision_of, type_of_acled};
use crate::db::schema::{external_ids, incidents};
use crate::db::DbPool;
use crate::domain::actor::Actor;
use crate::error::ApiError;

/// A dataset whose layout loads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Layout {
    /// This service's own export (CSV or NDJSON).
    Ceasefire,
    Acled,
    Ucdp,
}

impl Layout {
    fn system(self) -> &'static str {
        match self {
            Layout::Acled => "acled",
            Layout::Ucdp => "ucdp",
            Layout::Ceasefire => "ceasefire",
        }
    }
}

/// What a layout import did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct LayoutSummary {
    pub inserted: usize,
    pub updated: usize,
    /// Lines with something that could not be mapped (kept, and said).
    pub notes: Vec<String>,
}

/// The offset an incident of this country is reported in: local time of
/// the South Caucasus, else UTC.
fn offset_of(country: Option<&str>) -> &'static str {
    match country {
        Some("AM" | "AZ" | "GE") => "+04:00",
        _ => "Z",
    }
}

fn cut(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

/// One row as the JSON of a new incident, and what could not be mapped.
fn row_to_incident(
    layout: Layout,
    get: &dyn Fn(&str) -> String,
    parties: &HashMap<String, String>,
) -> Result<(String, Value, Vec<String>), String> {
    let mut notes = Vec::new();
    let acled = layout == Layout::Acled;
    let id = get(if acled { "event_id_cnty" } else { "id" });
    if id.is_empty() {
        return Err(format!("no {}", if acled { "event_id_cnty" } else { "id" }));
    }
    let date = get(if acled { "event_date" } else { "date_start" });
    let date = chrono::NaiveDate::parse_from_str(&date, "%Y-%m-%d")
        .map_err(|_| format!("`{}` is not a YYYY-MM-DD date", cut(&date, 40)))?;
    let country_name = get("country");
    let country = country_code(&country_name);
    if country.is_none() && !country_name.is_empty() {
        notes
            .push(format!("country `{}` is not one this service maps; kept without a country", cut(&country_name, 60)));
    }
    let offset = offset_of(country);
    let at = |d: chrono::NaiveDate| format!("{d}T00:00:00{offset}");
    let number = |name: &str| -> Result<Option<f64>, String> {
        match get(name).trim() {
            "" => Ok(None),
            s => s.parse::<f64>().map(Some).map_err(|_| format!("{name}: `{}` is not a number", cut(s, 40))),
        }
    };
    let count = |name: &str| -> Result<u64, String> { Ok(number(name)?.map_or(0, |n| n.max(0.0) as u64)) };
    let (lat, lon) = match (number("latitude")?, number("longitude")?) {
        (Some(lat), Some(lon)) => (json!(lat), json!(lon)),
        _ => (Value::Null, Value::Null),
    };
    let precision = match (acled, get(if acled { "geo_precision" } else { "where_prec" }).trim()) {
        (true, "1") | (false, "1" | "2") => json!("settlement"),
        (true, "2") | (false, "3") => json!("district"),
        (true, "3") | (false, "4" | "5" | "6" | "7") => json!("region"),
        _ => Value::Null,
    };
    let name = get(if acled { "location" } else { "where_coordinates" });
    let text = |s: String| if s.trim().is_empty() { Value::Null } else { Value::String(cut(s.trim(), 200)) };
    let location = json!({
        "name": if name.trim().is_empty() { "unknown".to_string() } else { cut(name.trim(), 200) },
        "country": country, "lat": lat, "lon": lon, "precision": precision,
        "admin1": text(get(if acled { "admin1" } else { "adm_1" })),
        "admin2": text(get(if acled { "admin2" } else { "adm_2" })),
    });
    // Actors by name: a party whose name or slug they are, else kept by name.
    let actors: Vec<(&str, String)> = if acled {
        vec![("actor1", get("actor1")), ("actor2", get("actor2"))]
    } else {
        vec![("side_a", get("side_a")), ("side_b", get("side_b"))]
    };
    let mut described = Vec::new();
    for (column, actor) in actors.iter().filter(|(_, a)| !a.trim().is_empty()) {
        let known = parties.get(&actor.trim().to_lowercase());
        match known {
            Some(slug) => described.push(format!("{column}: {} ({slug})", actor.trim())),
            None => {
                notes.push(format!(
                    "{column} `{}` matches no party; kept by name in the description",
                    cut(actor.trim(), 80)
                ));
                described.push(format!("{column}: {}", actor.trim()));
            }
        }
    }
    let (title, mut description, kind, casualties, until, time_precision) = if acled {
        let notes_text = get("notes");
        let title = match notes_text.trim() {
            "" => format!("{} ({})", get("sub_event_type").trim(), id),
            n => cut(n.split(". ").next().unwrap_or(n), 300),
        };
        let fatalities = count("fatalities")?;
        let civilian = !get("civilian_targeting").trim().is_empty();
        let casualties =
            if civilian { json!({"killed_civilian": fatalities}) } else { json!({"killed_military": fatalities}) };
        let kind = type_of_acled(&get("sub_event_type"));
        if kind == crate::domain::IncidentType::Other && !get("sub_event_type").trim().is_empty() {
            notes.push(format!(
                "sub_event_type `{}` has no type here; recorded as `other`",
                cut(get("sub_event_type").trim(), 60)
            ));
        }
        (title, notes_text, kind.as_str(), casualties, None, time_precision_of(&get("time_precision"), true))
    } else {
        let headline = get("source_headline");
        let title = if headline.trim().is_empty() { format!("UCDP GED event {id}") } else { cut(headline.trim(), 300) };
        let military = count("deaths_a")? + count("deaths_b")? + count("deaths_unknown")?;
        let casualties = json!({"killed_military": military, "killed_civilian": count("deaths_civilians")?,
                                "wounded_military": null, "wounded_civilian": null});
        let end = get("date_end");
        let until = chrono::NaiveDate::parse_from_str(end.trim(), "%Y-%m-%d").ok().filter(|e| *e > date);
        (title, get("where_description"), "other", casualties, until, time_precision_of(&get("date_prec"), false))
    };
    if !described.is_empty() {
        description = format!(
            "{}{}{}",
            description.trim(),
            if description.trim().is_empty() { "" } else { "\n\n" },
            described.join("; ")
        );
    }
    let mut sources = Vec::new();
    let urls = get(if acled { "source" } else { "source_article" });
    for url in urls.split(';').map(str::trim).filter(|u| u.starts_with("http://") || u.starts_with("https://")).take(50)
    {
        if crate::domain::incident::check_url(url).is_ok() {
            sources.push(json!({"url": url}));
        }
    }
    let mut object = Map::new();
    object.insert("occurred_at".into(), json!(at(date)));
    // Always given (null when none): a second import replaces it.
    object.insert("occurred_until".into(), until.map_or(Value::Null, |u| json!(at(u))));
    object.insert("time_precision".into(), json!(time_precision.as_str()));
    object.insert("type".into(), json!(kind));
    object.insert("location".into(), location);
    object.insert("casualties".into(), casualties);
    object.insert("title".into(), json!(cut(&title, 500)));
    object.insert("description".into(), json!(cut(&description, 20_000)));
    object.insert("sources".into(), json!(sources));
    object.insert("external_ids".into(), json!({ layout.system(): cut(&id, 200) }));
    Ok((id, Value::Object(object), notes))
}

pub async fn run(pool: &DbPool, path: &std::path::Path, layout: Layout) -> anyhow::Result<LayoutSummary> {
    crate::api::answers::announced(pool, load(pool, path, layout).await).await
}

async fn load(pool: &DbPool, path: &std::path::Path, layout: Layout) -> anyhow::Result<LayoutSummary> {
    let mut conn = pool.get().await?;
    let h = crate::store::parties::hierarchy(&conn).await?;
    let mut parties: HashMap<String, String> = HashMap::new();
    for p in crate::store::parties::list(&mut conn).await? {
        parties.insert(p.name.to_lowercase(), p.slug.clone());
        parties.insert(p.slug.clone(), p.slug);
    }
    let file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(file);
    let header: Vec<String> = reader
        .headers()
        .context("reading the CSV header")?
        .iter()
        .map(|h| h.trim_start_matches('\u{feff}').trim().to_string())
        .collect();
    let needed: &[&str] = match layout {
        Layout::Acled => &["event_id_cnty", "event_date"],
        Layout::Ucdp => &["id", "date_start"],
        Layout::Ceasefire => bail!("this service's own export loads without --from"),
    };
    for column in needed {
        if !header.iter().any(|h| h == column) {
            bail!("the header has no `{column}` column; is this a {} file?", layout.system().to_uppercase());
        }
    }
    let mut rows = Vec::new();
    let mut problems = Vec::new();
    let mut summary = LayoutSummary::default();
    for (i, record) in reader.records().enumerate() {
        let line = record.as_ref().ok().and_then(|r| r.position()).map_or(i as u64 + 2, |p| p.line());
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                problems.push(format!("line {line}: not CSV: {e}"));
                continue;
            }
        };
        let get = |name: &str| -> String {
            let cell = header.iter().position(|h| h == name).and_then(|i| record.get(i)).unwrap_or("");
            crate::domain::spreadsheet::restore(cell).to_string()
        };
        match row_to_incident(layout, &get, &parties) {
            Ok((id, value, notes)) => {
                summary.notes.extend(notes.into_iter().map(|n| format!("line {line}: {n}")));
                rows.push((line, id, value));
            }
            Err(e) => problems.push(format!("line {line}: {e}")),
        }
    }
    if !problems.is_empty() {
        for p in problems.iter().take(100) {
            eprintln!("{p}");
        }
        bail!("{} line(s) cannot be loaded; nothing was imported", problems.len());
    }
    let actor = Actor::default();
    let system = layout.system();
    let (inserted, updated) = conn
        .transaction::<_, anyhow::Error, _>(async |conn| {
            let (mut inserted, mut updated) = (0, 0);
            for (line, id, value) in rows {
                let existing: Option<Uuid> = external_ids::table
                    .inner_join(incidents::table)
                    .filter(external_ids::system.eq(system))
                    .filter(external_ids::value.eq(&id))
                    .filter(incidents::deleted_at.is_null())
                    .select(external_ids::incident_id)
                    .first(conn)
                    .await
                    .optional()?;
                let fail = |e: ApiError| anyhow::anyhow!("line {line}: {}", describe(&e));
                match existing {
                    Some(incident) => {
                        let patch = crate::ledger::incidents::IncidentPatch::parse(value).map_err(fail)?;
                        crate::ledger::incidents::patch(conn, incident, "*", &patch, &actor).await.map_err(fail)?;
                        updated += 1;
                    }
                    None => {
                        let mut errors = Vec::new();
                        let prepared = crate::ledger::prepare::prepare(value, "", &h, crate::store::now(), &mut errors)
                            .map_err(fail)?;
                        let Some(prepared) = prepared.filter(|_| errors.is_empty()) else {
                            bail!(
                                "line {line}: {}",
                                errors
                                    .iter()
                                    .map(|e| format!("{}: {}", e.pointer, e.detail))
                                    .collect::<Vec<_>>()
                                    .join("; ")
                            );
                        };
                        crate::ledger::incidents::insert_prepared(conn, &[prepared], &actor, "import")
                            .await
                            .map_err(fail)?;
                        inserted += 1;
                    }
                }
            }
            Ok((inserted, updated))
        })
        .await?;
    summary.inserted = inserted;
    summary.updated = updated;
    for n in &summary.notes {
        eprintln!("{n}");
    }
    eprintln!(
        "imported from {}: {inserted} new incidents, {updated} updated (keyed by external_ids.{system})",
        path.display()
    );
    Ok(summary)
}

fn describe(e: &ApiError) -> String {
    let p = e.problem();
    match p.errors.as_deref() {
        Some(errors) if !errors.is_empty() => {
            errors.iter().map(|e| format!("{}: {}", e.pointer, e.detail)).collect::<Vec<_>>().join("; ")
        }
        _ => p.detail.clone(),
    }
}
