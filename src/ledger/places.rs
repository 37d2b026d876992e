//! The gazetteer: places created and changed, and the locations of
//! incidents that reference one filled from it.

use diesel_async::AsyncConnection;
use serde_json::Value;

use super::idempotency::{Idempotency, Outcome, Written};
use crate::domain::json::from_value_at;
use crate::domain::place::{NewPlace, PlaceView};
use crate::error::{ApiError, ApiResult, FieldError};
use crate::store::places::{self, PlaceRow};
use crate::store::Conn;

pub fn no_place(slug: &str) -> ApiError {
    ApiError::not_found(format!("no place `{}`", slug.chars().take(80).collect::<String>()))
}

pub fn view(row: PlaceRow) -> PlaceView {
    PlaceView {
        slug: row.slug,
        name: row.name,
        alt_names: row.alt_names,
        country: row.country,
        admin1: row.admin1,
        admin2: row.admin2,
        lat: row.lat,
        lon: row.lon,
        created_at: row.created_at,
        updated_at: row.updated_at,
    }
}

fn row_of(new: &NewPlace, created_at: chrono::DateTime<chrono::Utc>, now: chrono::DateTime<chrono::Utc>) -> PlaceRow {
    let mut alt_names: Vec<String> = Vec::new();
    for n in &new.alt_names {
        let n = n.as_str().trim().to_string();
        if n != new.name.as_str().trim() && !alt_names.contains(&n) {
            alt_names.push(n);
        }
    }
    PlaceRow {
        slug: new.slug.as_str().to_string(),
        name: new.name.as_str().trim().to_string(),
        alt_names,
        country: new.country.as_ref().map(|c| c.as_str().to_string()),
        admin1: new.admin1.as_ref().map(|a| a.as_str().trim().to_string()),
        admin2: new.admin2.as_ref().map(|a| a.as_str().trim().to_string()),
        lat: new.lat,
        lon: new.lon,
        created_at,
        updated_at: now,
    }
}

/// Creates a place (checked already), with its idempotency key.
pub async fn create(conn: &mut Conn, idem: &Idempotency, new: &NewPlace) -> ApiResult<Outcome> {
    conn.transaction::<_, ApiError, _>(async |conn| {
        if let Some(replay) = idem.begin(conn).await? {
            return Ok(replay);
        }
        let now = crate::store::now();
        let row = row_of(new, now, now);
        if !places::insert(conn, &row).await? {
            return Err(ApiError::conflict(format!("a place `{}` exists already", row.slug)));
        }
        let body = serde_json::to_value(view(row)).map_err(ApiError::internal)?;
        idem.finish(conn, Written::created(format!("/v1/places/{}", new.slug.as_str()), None, &body)?).await
    })
    .await
}

/// Inserts places that do not exist yet (the seed); how many were new.
pub async fn insert_missing(conn: &mut Conn, new: &[NewPlace]) -> ApiResult<usize> {
    let now = crate::store::now();
    let mut n = 0;
    for p in new {
        if places::insert(conn, &row_of(p, now, now)).await? {
            n += 1;
        }
    }
    Ok(n)
}

/// Changes a place with a JSON merge patch (the slug cannot change);
/// incidents at it take its administrative areas again.
pub async fn patch(
    conn: &mut Conn,
    slug: &str,
    patch: &Value,
    actor: &crate::domain::actor::Actor,
) -> ApiResult<PlaceView> {
    if !patch.is_object() {
        return Err(ApiError::field("", "a merge patch is a JSON object"));
    }
    if patch.get("slug").is_some_and(|s| s.as_str() != Some(slug)) {
        return Err(ApiError::field("/slug", "a place's slug cannot change"));
    }
    conn.transaction::<_, ApiError, _>(async |conn| {
        places::lock_incidents_at(conn, slug).await?;
        let before = places::lock(conn, slug).await?.ok_or_else(|| no_place(slug))?;
        let mut json = serde_json::to_value(view(before.clone())).map_err(ApiError::internal)?;
        if let Value::Object(o) = &mut json {
            o.remove("created_at");
            o.remove("updated_at");
        }
        json_patch::merge(&mut json, patch);
        let after: NewPlace = from_value_at(json, "").map_err(|e| ApiError::validation(vec![e]))?;
        let mut errors = Vec::new();
        after.check(&mut errors);
        if !errors.is_empty() {
            return Err(ApiError::validation(errors));
        }
        let now = crate::store::now();
        let row = row_of(&after, before.created_at, now);
        if (PlaceRow { updated_at: before.updated_at, ..row.clone() }) == before {
            return Ok(view(before));
        }
        let stored = places::update(conn, &row).await?;
        let restated = places::restate_incidents(conn, &stored, now).await?;
        // Each a revision of its incident, like any other change to it.
        let revisions: Vec<crate::store::revisions::NewRevision> = restated
            .iter()
            .map(|(id, version, admin1, admin2)| crate::store::revisions::NewRevision {
                incident_id: *id,
                version: *version,
                action: "update",
                actor: actor.key_id.as_deref(),
                changes: serde_json::json!({"location": {
                    "from": {"place": slug, "admin1": admin1, "admin2": admin2},
                    "to": {"place": slug, "admin1": stored.admin1, "admin2": stored.admin2},
                }}),
            })
            .collect();
        crate::store::revisions::insert_many(conn, &revisions).await?;
        let ids: Vec<uuid::Uuid> = restated.iter().map(|(id, ..)| *id).collect();
        crate::live::events::record_current(conn, crate::live::events::EventType::IncidentUpdated, &ids).await?;
        Ok(view(stored))
    })
    .await
}

/// Fills the locations that reference a place: the name, country,
/// coordinates and precision they leave out, and the place's
/// administrative areas. Each item is the pointer of an incident and its
/// JSON; an unknown place is an error at its `location/place`.
pub async fn fill_locations(conn: &mut Conn, items: Vec<(String, &mut Value)>) -> ApiResult<Vec<FieldError>> {
    let referenced = |v: &Value| v.pointer("/location/place").and_then(Value::as_str).map(str::to_string);
    let mut slugs: Vec<String> = items.iter().filter_map(|(_, v)| referenced(v)).collect();
    if slugs.is_empty() {
        return Ok(Vec::new());
    }
    slugs.sort();
    slugs.dedup();
    let known = places::by_slugs(conn, &slugs).await?;
    let mut errors = Vec::new();
    for (prefix, value) in items {
        let Some(slug) = referenced(value) else { continue };
        let Some(place) = known.iter().find(|p| p.slug == slug) else {
            errors.push(FieldError::new(
                format!("{prefix}/location/place"),
                format!(
                    "no place `{}` in the gazetteer: see GET /v1/places, or add it with POST /v1/places",
                    slug.chars().take(80).collect::<String>()
                ),
            ));
            continue;
        };
        let Some(location) = value.get_mut("location").and_then(Value::as_object_mut) else { continue };
        let mut fill = |key: &str, v: Option<Value>| {
            if location.get(key).is_none_or(Value::is_null) {
                if let Some(v) = v {
                    location.insert(key.to_string(), v);
                }
            }
        };
        fill("name", Some(Value::String(place.name.clone())));
        fill("country", place.country.clone().map(Value::String));
        fill("precision", Some(Value::String("settlement".into())));
        if location.get("lat").is_none_or(Value::is_null) && location.get("lon").is_none_or(Value::is_null) {
            if let (Some(lat), Some(lon)) = (place.lat, place.lon) {
                location.insert("lat".into(), lat.into());
                location.insert("lon".into(), lon.into());
            }
        }
        location.insert("admin1".into(), place.admin1.clone().map_or(Value::Null, Value::String));
        location.insert("admin2".into(), place.admin2.clone().map_or(Value::Null, Value::String));
    }
    Ok(errors)
}
