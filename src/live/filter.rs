//! Which events a stream or a webhook wants: the incident filters of the
//! lists, matched against the incident as each event shows it, and the
//! event types.

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::events::EventType;
use crate::api::extract::QueryParams;
use crate::api::filters::{incident_filter, read_zone, RawFilter};
use crate::error::{ApiError, ApiResult};
use crate::store::listing::IncidentFilter;
use crate::store::Conn;
use diesel::QueryResult;

/// The filters as given.
#[derive(Debug, Clone, Default)]
pub struct LiveFilter {
    pub types: Vec<EventType>,
    pub raw: RawFilter,
}

impl LiveFilter {
    /// Reads the filters (`types`, `tz` and the incident filters) from `q`,
    /// consuming them. Full-text search and the change feed's own
    /// parameters are not filters of events.
    pub fn read(q: &mut QueryParams) -> ApiResult<Self> {
        let tz = read_zone(q)?.asked().unwrap_or(chrono_tz::UTC);
        let raw = incident_filter(q, tz)?;
        for (name, given) in [
            ("q", raw.q.is_some()),
            ("updated_since", raw.updated_since.is_some()),
            ("include_deleted", raw.include_deleted),
        ] {
            if given {
                return Err(ApiError::bad_query(
                    name,
                    "not a filter of events (deletions are events of their own: `types=incident.deleted`)",
                ));
            }
        }
        let types = q.list_with("types", EventType::parse)?;
        Ok(Self { types, raw })
    }

    /// Parses a stored or posted filter: a query string in the vocabulary
    /// of the incident filters (`accuser_side=azerbaijan&type=artillery_fire`).
    pub fn parse(query: &str) -> ApiResult<Self> {
        let mut q = QueryParams::parse(query)?;
        let f = Self::read(&mut q)?;
        q.finish()?;
        Ok(f)
    }

    /// Expands sides to their parties and places to every name they go by,
    /// as the hierarchy and the gazetteer stand now.
    pub async fn matcher(&self, conn: &mut Conn) -> QueryResult<Matcher> {
        let h = crate::store::parties::hierarchy(conn).await?;
        let (place_slugs, place_names) = if self.raw.place.is_empty() {
            (Vec::new(), Vec::new())
        } else {
            crate::store::places::names_of(conn, &self.raw.place).await?
        };
        Ok(Matcher { types: self.types.clone(), f: self.raw.resolve(&h), place_slugs, place_names })
    }
}

/// A filter ready to match events.
#[derive(Debug, Clone)]
pub struct Matcher {
    types: Vec<EventType>,
    f: IncidentFilter,
    /// The places `place` names, by slug, and all their names, case folded.
    place_slugs: Vec<String>,
    place_names: Vec<String>,
}

fn text<'a>(v: &'a Value, pointer: &str) -> Option<&'a str> {
    v.pointer(pointer).and_then(Value::as_str)
}

fn one_of(list: &[String], value: Option<&str>) -> bool {
    list.is_empty() || value.is_some_and(|v| list.iter().any(|l| l == v))
}

fn one_of_folded(list: &[String], value: Option<&str>) -> bool {
    list.is_empty() || value.is_some_and(|v| list.iter().any(|l| l.to_lowercase() == v.to_lowercase()))
}

fn strings(v: Option<&Value>) -> impl Iterator<Item = &str> {
    v.and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str)
}

impl Matcher {
    /// Whether an event of `kind` showing `incident` passes.
    pub fn matches(&self, kind: &str, incident: &Value) -> bool {
        if !self.types.is_empty() && !self.types.iter().any(|t| t.as_str() == kind) {
            return false;
        }
        let f = &self.f;
        let occurred = text(incident, "/occurred_at")
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.with_timezone(&Utc));
        if f.from.is_some_and(|from| occurred.is_none_or(|t| t < from)) {
            return false;
        }
        if f.to.is_some_and(|to| occurred.is_none_or(|t| t >= to)) {
            return false;
        }
        let roles_ok = f.roles.iter().all(|(role, parties)| {
            let has = |p: &str| parties.iter().any(|x| x == p);
            match *role {
                "accuser" => strings(incident.pointer("/attribution/accusers")).any(has),
                "accused" => strings(incident.pointer("/attribution/accused")).any(has),
                _ => incident.get("claims").and_then(Value::as_array).into_iter().flatten().any(|c| {
                    text(c, "/status") == Some("standing")
                        && text(c, "/stance") != Some("retracts")
                        && text(c, "/claimant").is_some_and(has)
                }),
            }
        });
        let bool_ok = |want: Option<bool>, got: bool| want.is_none_or(|w| w == got);
        let name = text(incident, "/location/name").map(str::to_lowercase);
        let place_ok = f.place.is_empty()
            || one_of(&self.place_slugs, text(incident, "/location/place"))
            || name.as_ref().is_some_and(|n| self.place_names.contains(n))
            || one_of_folded(&f.place, name.as_deref());
        let bbox_ok = f.bbox.is_none_or(|[min_lon, min_lat, max_lon, max_lat]| {
            match (
                incident.pointer("/location/lon").and_then(Value::as_f64),
                incident.pointer("/location/lat").and_then(Value::as_f64),
            ) {
                (Some(lon), Some(lat)) => (min_lon..=max_lon).contains(&lon) && (min_lat..=max_lat).contains(&lat),
                _ => false,
            }
        });
        let divergent =
            incident.pointer("/accounts/divergent").and_then(Value::as_array).is_some_and(|d| !d.is_empty());
        roles_ok
            && one_of(&f.types, text(incident, "/type"))
            && bool_ok(f.denied, incident.pointer("/attribution/denied").and_then(Value::as_bool).unwrap_or(false))
            && one_of(&f.verification, text(incident, "/verification"))
            && one_of(&f.border_sector, text(incident, "/location/border_sector"))
            && one_of(&f.country, text(incident, "/location/country"))
            && place_ok
            && one_of_folded(&f.admin1, text(incident, "/location/admin1"))
            && one_of_folded(&f.admin2, text(incident, "/location/admin2"))
            && one_of(&f.origin_country, text(incident, "/origin/country"))
            && bool_ok(f.cross_border, incident.get("cross_border").and_then(Value::as_bool).unwrap_or(false))
            && bool_ok(f.divergent, divergent)
            && bbox_ok
    }
}
