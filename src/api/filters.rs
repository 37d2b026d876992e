//! The incident filters of DESIGN.md, shared by the list, the exports and
//! the stats.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use chrono_tz::Tz;
use utoipa::IntoParams;

use super::extract::{clip, QueryParams};
use crate::domain::period::local_midnight;
use crate::domain::zone::Zone;
use crate::domain::{CountryCode, IncidentType, PartySlug, Verification};
use crate::error::{ApiError, ApiResult};
pub use crate::ledger::filter::RawFilter;

/// Documentation of the time range of the list (parsed by `incident_filter`).
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct RangeParams {
    /// occurred_at on or after this: RFC 3339, or a date meaning its
    /// midnight in `tz` (UTC when no `tz` is given).
    from: Option<String>,
    /// occurred_at before this (half-open range), read like `from`.
    to: Option<String>,
    /// An IANA time zone (`Asia/Baku`): bare dates of `from`, `to` and
    /// `updated_since` are its midnights, and every time of the answer is
    /// shown with its offset, `local_date` its date. Without it an
    /// incident's times are shown in the offset they were reported with,
    /// claims' in UTC.
    #[param(example = "Asia/Baku")]
    tz: Option<String>,
}

/// Documentation of the other filter parameters (parsed by `incident_filter`).
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct IncidentFilterParams {
    /// Incident types; repeat or comma-separate.
    #[param(explode = true)]
    r#type: Option<Vec<IncidentType>>,
    /// Parties with a standing accusation about the incident.
    #[param(explode = true)]
    accuser: Option<Vec<String>>,
    /// Parties a standing accusation names.
    #[param(explode = true)]
    accused: Option<Vec<String>>,
    /// Parties with any standing claim about the incident.
    #[param(explode = true)]
    claimant: Option<Vec<String>>,
    /// Sides (top-level parties) of an accuser.
    #[param(explode = true)]
    accuser_side: Option<Vec<String>>,
    /// Sides (top-level parties) of an accused.
    #[param(explode = true)]
    accused_side: Option<Vec<String>>,
    /// Whether an accusation is answered by a denial from the accused's side.
    denied: Option<bool>,
    /// Verification states.
    #[param(explode = true)]
    verification: Option<Vec<Verification>>,
    /// Border sectors.
    #[param(explode = true)]
    border_sector: Option<Vec<String>>,
    /// ISO 3166-1 alpha-2 codes of the location.
    #[param(explode = true)]
    country: Option<Vec<String>>,
    /// Places of the gazetteer, each by its slug or by any of its names in
    /// any spelling (`kalbajar`, `Kəlbəcər`, `Karvachar`): incidents that
    /// reference one, or whose location is named by one of its names.
    #[param(explode = true)]
    place: Option<Vec<String>>,
    /// First-level administrative areas of the location (a marz, an
    /// economic region; case-insensitive), such as `Tavush`.
    #[param(explode = true)]
    admin1: Option<Vec<String>>,
    /// Second-level areas (a district, a rayon; case-insensitive).
    #[param(explode = true)]
    admin2: Option<Vec<String>>,
    /// ISO 3166-1 alpha-2 codes of the incident's `origin` (where the fire
    /// came from, as recorded on the incident, not in claims' accounts).
    #[param(explode = true)]
    origin_country: Option<Vec<String>>,
    /// Whether the origin and the location are in two different countries
    /// (`false` includes incidents whose origin or location country is unknown).
    cross_border: Option<bool>,
    /// Whether two standing claimants' accounts disagree (see `accounts`
    /// on an incident).
    divergent: Option<bool>,
    /// `min_lon,min_lat,max_lon,max_lat` (WGS 84).
    #[param(example = "45.0,39.5,46.5,41.5")]
    bbox: Option<String>,
    /// Full-text search over title and description (web-search syntax).
    /// When the words are a name of a place in the gazetteer, in any of its
    /// spellings, also incidents at that place or mentioning any of its
    /// names: `Kəlbəcər`, `Karvachar` and `Kalbajar` find the same ones.
    q: Option<String>,
    /// Only incidents changed at or after this, listed in the order of the
    /// changes, deleted ones included with `include_deleted=true`: the way to
    /// keep a mirror in step. A change is listed once every transaction that
    /// began before it on the database has ended, so nothing that commits
    /// later can sort before what was already listed; `next_cursor` is
    /// always given, and polling with it returns exactly the changes since.
    updated_since: Option<String>,
    /// Include deleted incidents (with `deleted_at` set).
    include_deleted: Option<bool>,
}

/// A place or an area as a filter names it.
fn area(s: &str) -> Result<String, String> {
    if s.trim().is_empty() || s.chars().count() > 200 {
        Err("1 to 200 characters".into())
    } else {
        Ok(s.to_string())
    }
}

fn slug(s: &str) -> Result<String, String> {
    PartySlug::parse(s).map(PartySlug::into_string)
}

/// Reads `tz`: the zone times are shown in and bare dates are read in.
pub fn read_zone(q: &mut QueryParams) -> ApiResult<Zone> {
    match q.one("tz")? {
        None => Ok(Zone::Reported),
        Some(name) => name
            .parse::<Tz>()
            .map(Zone::Asked)
            .map_err(|_| ApiError::bad_query("tz", format!("`{}` is not an IANA time zone", clip(&name)))),
    }
}

/// Reads the filter parameters; bare dates are midnights in `tz`.
pub fn incident_filter(q: &mut QueryParams, tz: Tz) -> ApiResult<RawFilter> {
    let bound = |s: &str| parse_bound(s, tz);
    let f = RawFilter {
        from: q.one_with("from", bound)?,
        to: q.one_with("to", bound)?,
        types: q.list_with("type", IncidentType::parse)?,
        accuser: q.list_with("accuser", slug)?,
        accused: q.list_with("accused", slug)?,
        claimant: q.list_with("claimant", slug)?,
        accuser_side: q.list_with("accuser_side", slug)?,
        accused_side: q.list_with("accused_side", slug)?,
        denied: q.bool("denied")?,
        verification: q.list_with("verification", Verification::parse)?,
        border_sector: q.list_with("border_sector", |s| Ok(s.to_string()))?,
        country: q.list_with("country", |s| CountryCode::parse(s).map(|c| c.as_str().to_string()))?,
        place: q.list_with("place", area)?,
        admin1: q.list_with("admin1", area)?,
        admin2: q.list_with("admin2", area)?,
        origin_country: q.list_with("origin_country", |s| CountryCode::parse(s).map(|c| c.as_str().to_string()))?,
        cross_border: q.bool("cross_border")?,
        divergent: q.bool("divergent")?,
        bbox: q.one_with("bbox", parse_bbox)?,
        q: q.one_with("q", |s| {
            if s.chars().count() > 200 {
                Err("at most 200 characters".into())
            } else {
                Ok(s.to_string())
            }
        })?
        .filter(|s| !s.trim().is_empty()),
        updated_since: q.one_with("updated_since", bound)?,
        include_deleted: q.bool("include_deleted")?.unwrap_or(false),
    };
    if let (Some(from), Some(to)) = (f.from, f.to) {
        if from > to {
            return Err(ApiError::bad_query("to", "`to` is before `from`"));
        }
    }
    Ok(f)
}

fn parse_bbox(s: &str) -> Result<[f64; 4], String> {
    let parts: Vec<f64> = s
        .split(',')
        .map(|p| p.trim().parse::<f64>())
        .collect::<Result<_, _>>()
        .map_err(|_| "four numbers: min_lon,min_lat,max_lon,max_lat".to_string())?;
    let [min_lon, min_lat, max_lon, max_lat]: [f64; 4] =
        parts.try_into().map_err(|_| "four numbers: min_lon,min_lat,max_lon,max_lat".to_string())?;
    let lon_ok = |v: f64| (-180.0..=180.0).contains(&v);
    let lat_ok = |v: f64| (-90.0..=90.0).contains(&v);
    if !(lon_ok(min_lon) && lon_ok(max_lon) && lat_ok(min_lat) && lat_ok(max_lat)) {
        return Err("longitudes lie in -180..180 and latitudes in -90..90".into());
    }
    if min_lon > max_lon || min_lat > max_lat {
        return Err("the minimum corner comes first: min_lon,min_lat,max_lon,max_lat".into());
    }
    Ok([min_lon, min_lat, max_lon, max_lat])
}

/// A time in a query: RFC 3339, or a date meaning its midnight in `tz`.
/// Years 1 to 9999 only: the calendar arithmetic of periods (and
/// PostgreSQL) stops short of chrono's own limits.
pub fn parse_bound(s: &str, tz: Tz) -> Result<DateTime<Utc>, String> {
    let parsed = match DateTime::parse_from_rfc3339(s) {
        Ok(t) => t.with_timezone(&Utc),
        Err(_) => NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .ok()
            .filter(|d| (1..=9999).contains(&d.year()))
            .map(|d| local_midnight(tz, d).with_timezone(&Utc))
            .ok_or_else(|| format!("`{}` is neither an RFC 3339 time nor a YYYY-MM-DD date", clip(s)))?,
    };
    in_years(parsed, s)
}

/// A time of the years 1 to 9999, what PostgreSQL and the calendar
/// arithmetic of counts handle.
pub fn in_years(t: DateTime<Utc>, raw: &str) -> Result<DateTime<Utc>, String> {
    if (1..=9999).contains(&t.year()) {
        Ok(t)
    } else {
        Err(format!("`{}` is outside the years 1 to 9999", clip(raw)))
    }
}
