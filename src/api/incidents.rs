//! `/v1/incidents`: the ledger of incidents, each with its claims,
//! attribution and history.

use std::collections::BTreeMap;

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, NaiveDate, Utc};
use diesel_async::AsyncConnection;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::auth::{Actor, AsEditor, AsReporter, CanRead};
use super::claims::{attribution, prepare_claims, ClaimContext, ClaimView, NewClaim};
use super::common::{bad_cursor, not_modified, page_response, parse_limit, Cursor, Idempotency, Page, Written};
use super::export::ExportFormat;
use super::extract::{clip, from_value_at, JsonBody, JsonValue, QueryParams};
use super::filters::{incident_filter, RawFilter};
use crate::db::{DbConn, DbPool};
use crate::domain::attribution::Attribution;
use crate::domain::{CountryCode, IncidentType, LocationPrecision, Role, TimePrecision, Verification};
use crate::error::{ApiError, ApiResult, FieldError, Problem};
use crate::startup::AppState;
use crate::store::claims::{self as claim_store, ClaimRow};
use crate::store::incidents::{self as store, ExternalIdRow, IncidentRecord, IncidentRow, Order, Position, SourceRow};
use crate::store::parties::Hierarchy;
use crate::store::revisions::{self, NewRevision};
use crate::store::Conn;

/// Largest batch accepted by `POST /v1/incidents/batch`.
pub const MAX_BATCH: usize = 1000;

/// Where the incident happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "Verin Shorzha", "border_sector": "gegharkunik-kalbajar", "country": "AM",
    "lat": 40.1431, "lon": 45.6461, "precision": "settlement"}))]
pub struct Location {
    /// A place name, 1 to 200 characters.
    #[schema(min_length = 1, max_length = 200, pattern = "\\S")]
    pub name: String,
    /// A stretch of border, as the reporting community names it.
    #[schema(min_length = 1, max_length = 200, pattern = "\\S")]
    pub border_sector: Option<String>,
    pub country: Option<CountryCode>,
    /// WGS 84 latitude; given together with `lon`.
    #[schema(minimum = -90, maximum = 90)]
    pub lat: Option<f64>,
    /// WGS 84 longitude; given together with `lat`.
    #[schema(minimum = -180, maximum = 180)]
    pub lon: Option<f64>,
    pub precision: Option<LocationPrecision>,
}

/// People killed and wounded. An absent figure is unknown, not zero.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Casualties {
    #[schema(maximum = 100000)]
    pub killed_military: Option<u32>,
    #[schema(maximum = 100000)]
    pub killed_civilian: Option<u32>,
    #[schema(maximum = 100000)]
    pub wounded_military: Option<u32>,
    #[schema(maximum = 100000)]
    pub wounded_civilian: Option<u32>,
}

/// A published source about the incident.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Source {
    /// http or https, up to 2,000 characters.
    #[schema(format = "uri", max_length = 2000)]
    pub url: String,
    #[schema(max_length = 500)]
    pub title: Option<String>,
    #[schema(max_length = 200)]
    pub publisher: Option<String>,
    pub published_at: Option<DateTime<Utc>>,
}

fn default_violations() -> u32 {
    1
}

/// The fields of an incident that clients write (on create, and through
/// a merge patch).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IncidentFields {
    /// When it happened (RFC 3339, any offset; answered in UTC).
    pub occurred_at: DateTime<Utc>,
    /// When it ended, for incidents that lasted; not before `occurred_at`.
    pub occurred_until: Option<DateTime<Utc>>,
    /// How precisely `occurred_at` is known. Default `minute`.
    #[serde(default = "TimePrecision::default_precision")]
    pub time_precision: TimePrecision,
    #[serde(rename = "type")]
    pub incident_type: IncidentType,
    pub location: Location,
    #[serde(default)]
    pub casualties: Casualties,
    /// How many violations the report covers. Default 1.
    #[serde(default = "default_violations")]
    #[schema(minimum = 1, maximum = 100000)]
    pub violations: u32,
    /// 1 to 500 characters.
    #[schema(min_length = 1, max_length = 500, pattern = "\\S")]
    pub title: String,
    /// Up to 20,000 characters.
    #[serde(default)]
    #[schema(max_length = 20000)]
    pub description: String,
    /// Up to 50.
    #[serde(default)]
    #[schema(max_items = 50)]
    pub sources: Vec<Source>,
    /// Set by editors. Default `unverified`.
    #[serde(default = "Verification::default_verification")]
    pub verification: Verification,
    /// Identifiers of the incident in other datasets, such as
    /// `{"acled": "ARM1234"}`: up to 20, keys `^[a-z0-9][a-z0-9_-]{0,31}$`.
    #[serde(default)]
    pub external_ids: BTreeMap<String, String>,
}

impl TimePrecision {
    fn default_precision() -> Self {
        TimePrecision::Minute
    }
}

impl Verification {
    fn default_verification() -> Self {
        Verification::Unverified
    }
}

/// A new incident: its fields and, optionally, its first claims.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!(verin_shorzha_example()))]
pub struct NewIncident {
    #[serde(flatten)]
    pub fields: IncidentFields,
    /// Claims made about it, checked by the same rules as
    /// `POST /v1/incidents/{id}/claims`. A claim answers an earlier one of
    /// this array with `responds_to_index`.
    #[serde(default)]
    #[schema(max_items = 100)]
    pub claims: Vec<NewClaim>,
}

/// The example used throughout the spec: 15 August 2023, near Verin Shorzha.
pub fn verin_shorzha_example() -> serde_json::Value {
    serde_json::json!({
        "occurred_at": "2023-08-15T11:00:00+04:00",
        "time_precision": "hour",
        "type": "small_arms_fire",
        "location": {"name": "Verin Shorzha", "border_sector": "gegharkunik-kalbajar", "country": "AM",
                     "lat": 40.1431, "lon": 45.6461, "precision": "settlement"},
        "title": "Fire reported near an EU monitoring patrol at Verin Shorzha",
        "description": "Armenia's Ministry of Defence said Azerbaijani forces fired towards an EU mission patrol; Azerbaijan's Ministry of Defence called it impossible; the EU mission confirmed its patrol was in the area.",
        "sources": [{"url": "https://www.mil.am/en/news", "publisher": "Ministry of Defence of Armenia"}],
        "external_ids": {"acled": "ARM1234"},
        "claims": [
            {"claimant": "am-mod", "stance": "accuses", "target": "az-armed-forces", "stated_at": "2023-08-15T12:30:00+04:00",
             "quote": "Units of the Azerbaijani armed forces opened fire in the direction of an EU observation mission patrol."},
            {"claimant": "az-mod", "stance": "denies", "responds_to_index": 0, "stated_at": "2023-08-15T14:00:00+04:00",
             "quote": "The information that our units fired at an EU patrol is not true."},
            {"claimant": "euma", "stance": "confirms", "stated_at": "2023-08-15T18:00:00+04:00",
             "quote": "An EUMA patrol was present in the area at the time of the reported shooting."}
        ]
    })
}

/// Attribution as shown on an incident.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AttributionView {
    pub accusers: Vec<String>,
    pub accused: Vec<String>,
    pub deniers: Vec<String>,
    pub confirmers: Vec<String>,
    pub acknowledged_by: Vec<String>,
    /// A standing accusation is answered by a standing denial from the accused's side.
    pub denied: bool,
    /// Accused and denied, and nobody acknowledged responsibility.
    pub disputed: bool,
}

/// An incident with its claims and attribution.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct IncidentView {
    /// UUID v7, assigned by the server.
    pub id: Uuid,
    /// +1 on every change; the ETag is this number in quotes.
    pub version: i32,
    #[serde(flatten)]
    pub fields: IncidentFields,
    /// Every claim, including retracted ones, oldest statement first.
    pub claims: Vec<ClaimView>,
    pub attribution: AttributionView,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Set when the incident was deleted (deletes are soft).
    pub deleted_at: Option<DateTime<Utc>>,
}

/// One change in an incident's history.
#[derive(Debug, Serialize, ToSchema)]
pub struct RevisionView {
    /// The incident's version after the change.
    pub version: i32,
    /// `create`, `update`, `delete` or `claim`.
    pub action: String,
    /// The id of the API key that made the change, when known.
    pub actor: Option<String>,
    pub at: DateTime<Utc>,
    /// `create`: the incident as created; `update`: `{field: {"from", "to"}}`
    /// for each changed field; `claim`: the claim; `delete`: `{}`.
    #[schema(value_type = Object)]
    pub changes: serde_json::Value,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct History {
    pub data: Vec<RevisionView>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct BatchRequest {
    /// 1 to 1000 incidents, written all together or not at all.
    #[schema(min_items = 1, max_items = 1000)]
    pub incidents: Vec<NewIncident>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BatchResponse {
    /// The created incidents, in the order given.
    pub data: Vec<IncidentView>,
}

pub fn no_incident(id: Uuid) -> ApiError {
    ApiError::not_found(format!("no incident {id}"))
}

pub fn gone(id: Uuid) -> ApiError {
    ApiError::gone(format!("incident {id} was deleted; its history remains at /v1/incidents/{id}/history"))
}

/// A path id that is not a UUID names no incident.
pub fn parse_incident_id(raw: &str) -> ApiResult<Uuid> {
    Uuid::parse_str(raw).map_err(|_| ApiError::not_found(format!("no incident {}", clip(raw))))
}

pub fn etag(version: i32) -> String {
    format!("\"{version}\"")
}

/// http(s) URLs only, up to 2,000 characters.
pub fn check_url(u: &str) -> Result<(), String> {
    if u.len() > 2000 {
        return Err("at most 2,000 characters".into());
    }
    match url::Url::parse(u) {
        Ok(parsed) if matches!(parsed.scheme(), "http" | "https") && parsed.host().is_some() => Ok(()),
        _ => Err("an absolute http or https URL".into()),
    }
}

/// A time in a query: RFC 3339, or a date meaning its midnight UTC.
pub fn parse_time_param(s: &str) -> Result<DateTime<Utc>, String> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        if let Some(t) = d.and_hms_opt(0, 0, 0) {
            return Ok(t.and_utc());
        }
    }
    Err(format!("`{}` is neither an RFC 3339 time nor a YYYY-MM-DD date", clip(s)))
}

fn check_text(value: &str, pointer: String, min: usize, max: usize, errors: &mut Vec<FieldError>) {
    let n = value.chars().count();
    if n < min || n > max || (min > 0 && value.trim().is_empty()) {
        errors.push(FieldError::new(
            pointer,
            if min > 0 { format!("1 to {max} characters, not blank") } else { format!("at most {max} characters") },
        ));
    }
}

impl IncidentFields {
    /// The checks serde cannot make. Pointers start with `prefix`.
    fn check(&self, prefix: &str, now: DateTime<Utc>, errors: &mut Vec<FieldError>) {
        let at = |f: &str| format!("{prefix}/{f}");
        let earliest = NaiveDate::from_ymd_opt(1900, 1, 1).and_then(|d| d.and_hms_opt(0, 0, 0)).map(|t| t.and_utc());
        if Some(self.occurred_at) < earliest || self.occurred_at > now + chrono::Duration::days(1) {
            errors.push(FieldError::new(at("occurred_at"), "must lie between 1900 and now"));
        }
        if let Some(until) = self.occurred_until {
            if until < self.occurred_at {
                errors.push(FieldError::new(at("occurred_until"), "must not be before occurred_at"));
            } else if until > now + chrono::Duration::days(1) {
                errors.push(FieldError::new(at("occurred_until"), "must not be in the future"));
            }
        }
        check_text(&self.title, at("title"), 1, 500, errors);
        check_text(&self.description, at("description"), 0, 20_000, errors);
        check_text(&self.location.name, at("location/name"), 1, 200, errors);
        if let Some(s) = &self.location.border_sector {
            check_text(s, at("location/border_sector"), 1, 200, errors);
        }
        match (self.location.lat, self.location.lon) {
            (Some(lat), Some(lon)) => {
                if !(-90.0..=90.0).contains(&lat) {
                    errors.push(FieldError::new(at("location/lat"), "a latitude lies between -90 and 90"));
                }
                if !(-180.0..=180.0).contains(&lon) {
                    errors.push(FieldError::new(at("location/lon"), "a longitude lies between -180 and 180"));
                }
            }
            (None, None) => {}
            (None, Some(_)) => errors.push(FieldError::new(at("location/lat"), "give lat and lon together")),
            (Some(_), None) => errors.push(FieldError::new(at("location/lon"), "give lat and lon together")),
        }
        let c = &self.casualties;
        for (name, v) in [
            ("killed_military", c.killed_military),
            ("killed_civilian", c.killed_civilian),
            ("wounded_military", c.wounded_military),
            ("wounded_civilian", c.wounded_civilian),
        ] {
            if v.is_some_and(|v| v > 100_000) {
                errors.push(FieldError::new(at(&format!("casualties/{name}")), "at most 100,000"));
            }
        }
        if !(1..=100_000).contains(&self.violations) {
            errors.push(FieldError::new(at("violations"), "1 to 100,000"));
        }
        if self.sources.len() > 50 {
            errors.push(FieldError::new(at("sources"), "at most 50 sources"));
        }
        for (i, s) in self.sources.iter().enumerate() {
            if let Err(e) = check_url(&s.url) {
                errors.push(FieldError::new(at(&format!("sources/{i}/url")), e));
            }
            if let Some(t) = &s.title {
                check_text(t, at(&format!("sources/{i}/title")), 0, 500, errors);
            }
            if let Some(p) = &s.publisher {
                check_text(p, at(&format!("sources/{i}/publisher")), 0, 200, errors);
            }
        }
        if self.external_ids.len() > 20 {
            errors.push(FieldError::new(at("external_ids"), "at most 20 external ids"));
        }
        for (system, value) in &self.external_ids {
            let key_ok = !system.is_empty()
                && system.len() <= 32
                && system
                    .bytes()
                    .enumerate()
                    .all(|(i, b)| b.is_ascii_lowercase() || b.is_ascii_digit() || (i > 0 && (b == b'_' || b == b'-')));
            let pointer = at(&format!("external_ids/{}", system.replace('~', "~0").replace('/', "~1")));
            if !key_ok {
                errors.push(FieldError::new(pointer, "a dataset name is 1 to 32 of a-z, 0-9, _ and -"));
            } else {
                check_text(value, pointer, 1, 200, errors);
            }
        }
    }

    /// The row for these fields; the derived columns keep `base`'s values.
    fn to_row(&self, base: IncidentRow) -> IncidentRow {
        let c = &self.casualties;
        let n = |v: Option<u32>| v.map(|v| v as i32);
        IncidentRow {
            occurred_at: self.occurred_at,
            occurred_until: self.occurred_until,
            time_precision: self.time_precision.as_str().into(),
            type_: self.incident_type.as_str().into(),
            location_name: self.location.name.clone(),
            border_sector: self.location.border_sector.clone(),
            country: self.location.country.as_ref().map(|c| c.as_str().to_string()),
            lat: self.location.lat,
            lon: self.location.lon,
            location_precision: self.location.precision.map(|p| p.as_str().to_string()),
            killed_military: n(c.killed_military),
            killed_civilian: n(c.killed_civilian),
            wounded_military: n(c.wounded_military),
            wounded_civilian: n(c.wounded_civilian),
            violations: self.violations as i32,
            title: self.title.clone(),
            description: self.description.clone(),
            verification: self.verification.as_str().into(),
            ..base
        }
    }

    fn source_rows(&self, id: Uuid) -> Vec<SourceRow> {
        self.sources
            .iter()
            .enumerate()
            .map(|(i, s)| SourceRow {
                incident_id: id,
                position: i as i32,
                url: s.url.clone(),
                title: s.title.clone(),
                publisher: s.publisher.clone(),
                published_at: s.published_at,
            })
            .collect()
    }

    fn external_id_rows(&self, id: Uuid) -> Vec<ExternalIdRow> {
        self.external_ids
            .iter()
            .map(|(k, v)| ExternalIdRow { incident_id: id, system: k.clone(), value: v.clone() })
            .collect()
    }

    fn from_record(rec: &IncidentRecord) -> Self {
        let r = &rec.row;
        let n = |v: Option<i32>| v.map(|v| v as u32);
        IncidentFields {
            occurred_at: r.occurred_at,
            occurred_until: r.occurred_until,
            time_precision: TimePrecision::parse(&r.time_precision).unwrap_or(TimePrecision::Minute),
            incident_type: IncidentType::parse(&r.type_).unwrap_or(IncidentType::Other),
            location: Location {
                name: r.location_name.clone(),
                border_sector: r.border_sector.clone(),
                country: r.country.as_deref().and_then(|c| CountryCode::parse(c).ok()),
                lat: r.lat,
                lon: r.lon,
                precision: r.location_precision.as_deref().and_then(|p| LocationPrecision::parse(p).ok()),
            },
            casualties: Casualties {
                killed_military: n(r.killed_military),
                killed_civilian: n(r.killed_civilian),
                wounded_military: n(r.wounded_military),
                wounded_civilian: n(r.wounded_civilian),
            },
            violations: r.violations.max(1) as u32,
            title: r.title.clone(),
            description: r.description.clone(),
            sources: rec
                .sources
                .iter()
                .map(|s| Source {
                    url: s.url.clone(),
                    title: s.title.clone(),
                    publisher: s.publisher.clone(),
                    published_at: s.published_at,
                })
                .collect(),
            verification: Verification::parse(&r.verification).unwrap_or(Verification::Unverified),
            external_ids: rec.external_ids.iter().map(|e| (e.system.clone(), e.value.clone())).collect(),
        }
    }
}

impl IncidentView {
    pub fn from_record(rec: &IncidentRecord) -> Self {
        let role = |name: &str| rec.roles.iter().filter(|(r, _)| r == name).map(|(_, p)| p.clone()).collect::<Vec<_>>();
        IncidentView {
            id: rec.row.id,
            version: rec.row.version,
            fields: IncidentFields::from_record(rec),
            claims: rec.claims.iter().map(ClaimView::from).collect(),
            attribution: AttributionView {
                accusers: role("accuser"),
                accused: role("accused"),
                deniers: role("denier"),
                confirmers: role("confirmer"),
                acknowledged_by: role("acknowledger"),
                denied: rec.row.denied,
                disputed: rec.row.disputed,
            },
            created_at: rec.row.created_at,
            updated_at: rec.row.updated_at,
            deleted_at: rec.row.deleted_at,
        }
    }
}

/// Bumps nothing itself: writes `row` (whose version the caller already
/// advanced) and the revision that records the change.
pub async fn record_change(
    conn: &mut Conn,
    row: &mut IncidentRow,
    action: &str,
    actor: &Actor,
    changes: serde_json::Value,
) -> ApiResult<()> {
    store::update(conn, row).await?;
    revisions::insert_many(
        conn,
        &[NewRevision { incident_id: row.id, version: row.version, action, actor: actor.key_id.as_deref(), changes }],
    )
    .await?;
    Ok(())
}

/// Setting the verification of a new incident is for editors.
fn require_writer(actor: &Actor, incidents: &[serde_json::Value]) -> ApiResult<()> {
    let verifies = incidents.iter().any(|i| i.get("verification").is_some_and(|v| v != "unverified"));
    if verifies {
        actor.require(Role::Editor)?;
    }
    Ok(())
}

/// A new incident, checked and turned into the rows to insert.
pub struct Prepared {
    record: IncidentRecord,
    attribution: Attribution,
}

/// Parses and checks one new incident found at `prefix` in the body.
fn prepare(
    value: serde_json::Value,
    prefix: &str,
    h: &Hierarchy,
    now: DateTime<Utc>,
    errors: &mut Vec<FieldError>,
) -> Option<Prepared> {
    let serde_json::Value::Object(mut object) = value else {
        errors.push(FieldError::new(prefix.to_string(), "an incident is a JSON object"));
        return None;
    };
    let raw_claims = object.remove("claims").unwrap_or(serde_json::Value::Array(vec![]));
    let fields: Option<IncidentFields> =
        from_value_at(serde_json::Value::Object(object), prefix).map_err(|e| errors.push(e)).ok();
    let claims_prefix = format!("{prefix}/claims");
    let new_claims: Option<Vec<NewClaim>> = match raw_claims {
        serde_json::Value::Array(items) => {
            if items.len() > 100 {
                errors.push(FieldError::new(claims_prefix.clone(), "at most 100 claims with a new incident"));
            }
            let parsed: Vec<Option<NewClaim>> = items
                .into_iter()
                .enumerate()
                .map(|(i, v)| from_value_at(v, &format!("{claims_prefix}/{i}")).map_err(|e| errors.push(e)).ok())
                .collect();
            parsed.into_iter().collect()
        }
        _ => {
            errors.push(FieldError::new(claims_prefix.clone(), "claims is an array"));
            None
        }
    };
    let fields = fields?;
    fields.check(prefix, now, errors);
    let id = Uuid::now_v7();
    let claims = prepare_claims(
        &new_claims?,
        Some(&claims_prefix),
        &ClaimContext { incident_id: id, existing: &[], hierarchy: h, inline: true, now },
        errors,
    );
    Some(assemble(&fields, RowMeta { id, version: 1, created_at: now, updated_at: now, deleted_at: None }, claims, h))
}

/// How an incident's row is written: its id, version and times.
struct RowMeta {
    id: Uuid,
    version: i32,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    deleted_at: Option<DateTime<Utc>>,
}

/// The rows of an incident with its claims, attribution derived.
fn assemble(fields: &IncidentFields, meta: RowMeta, claims: Vec<ClaimRow>, h: &Hierarchy) -> Prepared {
    let attribution = attribution(&claims, h);
    let claims: Vec<ClaimRow> =
        claims.into_iter().map(|c| ClaimRow { counted: attribution.counted.contains(&c.id), ..c }).collect();
    let base = IncidentRow {
        id: meta.id,
        version: meta.version,
        occurred_at: fields.occurred_at,
        occurred_until: None,
        time_precision: String::new(),
        type_: String::new(),
        location_name: String::new(),
        border_sector: None,
        country: None,
        lat: None,
        lon: None,
        location_precision: None,
        killed_military: None,
        killed_civilian: None,
        wounded_military: None,
        wounded_civilian: None,
        violations: 1,
        title: String::new(),
        description: String::new(),
        verification: String::new(),
        denied: attribution.denied,
        disputed: attribution.disputed,
        created_at: meta.created_at,
        updated_at: meta.updated_at,
        deleted_at: meta.deleted_at,
    };
    let record = IncidentRecord {
        sources: fields.source_rows(meta.id),
        external_ids: fields.external_id_rows(meta.id),
        roles: attribution.roles().map(|(r, p)| (r.to_string(), p.to_string())).collect(),
        claims,
        row: fields.to_row(base),
    };
    Prepared { record, attribution }
}

/// An incident as exported (`IncidentView` JSON), checked like a new one
/// and turned into rows that keep its ids, version and times. Errors point
/// into the record.
pub fn prepare_exported(value: serde_json::Value, h: &Hierarchy, errors: &mut Vec<FieldError>) -> Option<Prepared> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct ExportedClaim {
        id: Uuid,
        incident_id: Uuid,
        claimant: crate::domain::PartySlug,
        stance: crate::domain::Stance,
        target: Option<crate::domain::PartySlug>,
        responds_to: Option<Uuid>,
        stated_at: DateTime<Utc>,
        quote: Option<String>,
        source_url: Option<String>,
        created_at: DateTime<Utc>,
    }
    #[derive(Deserialize)]
    struct Kept {
        id: Uuid,
        #[serde(default = "one")]
        version: i32,
        created_at: DateTime<Utc>,
        updated_at: DateTime<Utc>,
        deleted_at: Option<DateTime<Utc>>,
    }
    fn one() -> i32 {
        1
    }
    let serde_json::Value::Object(mut object) = value else {
        errors.push(FieldError::new("", "an incident is a JSON object"));
        return None;
    };
    object.remove("attribution");
    let raw_claims = object.remove("claims").unwrap_or(serde_json::Value::Array(vec![]));
    let mut kept = serde_json::Map::new();
    for key in ["id", "version", "created_at", "updated_at", "deleted_at"] {
        if let Some(v) = object.remove(key) {
            kept.insert(key.to_string(), v);
        }
    }
    let kept: Option<Kept> = from_value_at(serde_json::Value::Object(kept), "").map_err(|e| errors.push(e)).ok();
    let claims: Option<Vec<ExportedClaim>> = match raw_claims {
        serde_json::Value::Array(items) => items
            .into_iter()
            .enumerate()
            .map(|(i, v)| from_value_at(v, &format!("/claims/{i}")).map_err(|e| errors.push(e)).ok())
            .collect::<Vec<_>>()
            .into_iter()
            .collect(),
        _ => {
            errors.push(FieldError::new("/claims", "claims is an array"));
            None
        }
    };
    let fields: Option<IncidentFields> =
        from_value_at(serde_json::Value::Object(object), "").map_err(|e| errors.push(e)).ok();
    let (kept, claims, fields) = (kept?, claims?, fields?);
    fields.check("", crate::store::now().max(kept.updated_at), errors);
    if kept.version < 1 {
        errors.push(FieldError::new("/version", "a version is 1 or more"));
    }
    // Claims in the order given, each checked against those before it.
    let mut rows: Vec<ClaimRow> = Vec::with_capacity(claims.len());
    for (i, c) in claims.iter().enumerate() {
        if c.incident_id != kept.id {
            errors.push(FieldError::new(format!("/claims/{i}/incident_id"), "not this incident's id"));
        }
        let new = NewClaim {
            claimant: c.claimant.clone(),
            stance: c.stance,
            target: c.target.clone(),
            responds_to: c.responds_to,
            responds_to_index: None,
            stated_at: Some(c.stated_at),
            quote: c.quote.clone(),
            source_url: c.source_url.clone(),
        };
        let ctx = ClaimContext {
            incident_id: kept.id,
            existing: &rows,
            hierarchy: h,
            inline: false,
            now: c.created_at.max(c.stated_at),
        };
        let mut claim_errors = Vec::new();
        let prepared = prepare_claims(std::slice::from_ref(&new), None, &ctx, &mut claim_errors);
        for e in claim_errors {
            errors.push(FieldError::new(format!("/claims/{i}{}", e.pointer), e.detail));
        }
        if let Some(row) = prepared.into_iter().next() {
            rows.push(ClaimRow { id: c.id, created_at: c.created_at, ..row });
        }
    }
    let meta = RowMeta {
        id: kept.id,
        version: kept.version,
        created_at: kept.created_at,
        updated_at: kept.updated_at,
        deleted_at: kept.deleted_at,
    };
    Some(assemble(&fields, meta, rows, h))
}

impl Prepared {
    pub fn id(&self) -> Uuid {
        self.record.row.id
    }

    pub fn claim_count(&self) -> usize {
        self.record.claims.len()
    }
}

/// Inserts prepared incidents with their claims, attribution and first revisions.
pub async fn insert_prepared(
    conn: &mut Conn,
    prepared: &[Prepared],
    actor: &Actor,
    action: &str,
) -> ApiResult<Vec<IncidentView>> {
    let rows: Vec<IncidentRow> = prepared.iter().map(|p| p.record.row.clone()).collect();
    let sources: Vec<SourceRow> = prepared.iter().flat_map(|p| p.record.sources.clone()).collect();
    let ext: Vec<ExternalIdRow> = prepared.iter().flat_map(|p| p.record.external_ids.clone()).collect();
    let claims: Vec<ClaimRow> = prepared.iter().flat_map(|p| p.record.claims.clone()).collect();
    let views: Vec<IncidentView> = prepared.iter().map(|p| IncidentView::from_record(&p.record)).collect();
    let revs = views
        .iter()
        .map(|v| {
            Ok(NewRevision {
                incident_id: v.id,
                version: v.version,
                action,
                actor: actor.key_id.as_deref(),
                changes: serde_json::to_value(v).map_err(ApiError::internal)?,
            })
        })
        .collect::<ApiResult<Vec<_>>>()?;
    store::insert_many(conn, &rows, &sources, &ext).await?;
    // What refers to the incidents, sent together (pipelined): PostgreSQL
    // runs them one after the other as ever, in one round trip instead of three.
    let conn: &Conn = conn;
    futures_util::try_join!(
        claim_store::insert_many(conn, &claims),
        store::insert_roles(conn, prepared.iter().map(|p| (p.record.row.id, &p.attribution))),
        revisions::insert_many(conn, &revs),
    )?;
    Ok(views)
}

/// Create an incident, with its sources and first claims, in one transaction.
#[utoipa::path(
    operation_id = "createIncident",post, path = "/v1/incidents", tag = "incidents", request_body = NewIncident,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe: the same key and body replay the first answer; the same key with another body is a 422")),
    responses(
        (status = 201, description = "Created", body = IncidentView, headers(("Location" = String), ("ETag" = String))),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid incident or claim; `errors` points at each field", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create(
    state: web::Data<AppState>,
    req: HttpRequest,
    AsReporter(actor): AsReporter,
    body: JsonValue,
) -> ApiResult<HttpResponse> {
    require_writer(&actor, std::slice::from_ref(&body.0))?;
    let mut conn = state.pool.get().await?;
    let value = body.0;
    let actor2 = actor.clone();
    let idem = Idempotency::new(&req, &actor, &value)?;
    let outcome = conn
        .transaction::<_, ApiError, _>(async |conn| {
            let (replay, h) = idem.begin_with_parties(conn).await?;
            if let Some(replay) = replay {
                return Ok(replay);
            }
            let mut errors = Vec::new();
            let prepared = prepare(value, "", &h, crate::store::now(), &mut errors);
            let prepared = match prepared {
                Some(p) if errors.is_empty() => p,
                _ => return Err(ApiError::validation(errors)),
            };
            let view = insert_prepared(conn, std::slice::from_ref(&prepared), &actor2, "create")
                .await?
                .pop()
                .ok_or_else(|| ApiError::internal("no view"))?;
            let written = Written::created(format!("/v1/incidents/{}", view.id), Some(etag(view.version)), &view)?;
            idem.finish(conn, written).await
        })
        .await?;
    Ok(outcome.into_response())
}

/// Create up to 1000 incidents, all or nothing.
#[utoipa::path(
    operation_id = "createIncidentBatch",post, path = "/v1/incidents/batch", tag = "incidents", request_body = BatchRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe")),
    responses(
        (status = 201, description = "All created", body = BatchResponse),
        (status = 422, description = "Nothing was created; `errors` points at each item and field, such as /incidents/3/claims/0/target", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn batch(
    state: web::Data<AppState>,
    req: HttpRequest,
    AsReporter(actor): AsReporter,
    body: JsonBody,
) -> ApiResult<HttpResponse> {
    // Bounded memory: a batch waits for its turn before it is parsed and
    // written.
    let _turn = state.batch_slots.acquire().await.map_err(ApiError::internal)?;
    let mut value = body.parse()?.0;
    if let Some(extra) = value.as_object().and_then(|o| o.keys().find(|k| *k != "incidents")) {
        return Err(ApiError::field(format!("/{}", clip(extra)), "unknown field"));
    }
    // Hashed for the Idempotency-Key before the items are taken out of the body.
    let idem = Idempotency::new(&req, &actor, &value)?;
    let items = match value.get_mut("incidents").map(serde_json::Value::take) {
        Some(serde_json::Value::Array(items)) => items,
        _ => return Err(ApiError::field("/incidents", "the body is {\"incidents\": [...]}")),
    };
    drop(value);
    require_writer(&actor, &items)?;
    if items.is_empty() || items.len() > MAX_BATCH {
        return Err(ApiError::field(
            "/incidents",
            format!("1 to {MAX_BATCH} incidents per batch; this one has {}", items.len()),
        ));
    }
    let mut conn = state.pool.get().await?;
    let actor2 = actor.clone();
    let outcome = conn
        .transaction::<_, ApiError, _>(async |conn| {
            let (replay, h) = idem.begin_with_parties(conn).await?;
            if let Some(replay) = replay {
                return Ok(replay);
            }
            let now = crate::store::now();
            let mut errors = Vec::new();
            let prepared: Vec<Option<Prepared>> = items
                .into_iter()
                .enumerate()
                .map(|(i, v)| prepare(v, &format!("/incidents/{i}"), &h, now, &mut errors))
                .collect();
            if !errors.is_empty() {
                errors.truncate(100);
                return Err(ApiError::validation(errors));
            }
            let prepared: Vec<Prepared> = prepared.into_iter().flatten().collect();
            let views = insert_prepared(conn, &prepared, &actor2, "create").await?;
            let body = serde_json::to_vec(&BatchResponse { data: views }).map_err(ApiError::internal)?;
            idem.finish(
                conn,
                Written { status: actix_web::http::StatusCode::CREATED, headers: vec![], body, replay_body: None },
            )
            .await
        })
        .await;
    // Sending a batch grew this connection's buffers to megabytes, which a
    // pooled connection keeps for good: it is closed instead of going back
    // to the pool, and the pool opens a fresh one when it needs it.
    drop(deadpool::managed::Object::take(conn));
    Ok(outcome?.into_response())
}

/// One incident with its claims and attribution.
#[utoipa::path(
    operation_id = "getIncident",get, path = "/v1/incidents/{id}", tag = "incidents",
    params(("id" = Uuid, Path, description = "The incident"), ("If-None-Match" = Option<String>, Header, description = "An ETag: 304 when unchanged")),
    responses(
        (status = 200, description = "The incident", body = IncidentView, headers(("ETag" = String))),
        (status = 304, description = "Unchanged since the ETag given"),
        (status = 404, description = "No such incident", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "Deleted", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get(
    state: web::Data<AppState>,
    _read: CanRead,
    req: HttpRequest,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let id = parse_incident_id(&id)?;
    let mut conn = state.pool.get().await?;
    let rec = store::get(&mut conn, id).await?.ok_or_else(|| no_incident(id))?;
    if rec.row.deleted_at.is_some() {
        return Err(gone(id));
    }
    let tag = etag(rec.row.version);
    if not_modified(&req, &tag) {
        return Ok(HttpResponse::NotModified().insert_header((header::ETAG, tag)).finish());
    }
    Ok(HttpResponse::Ok().insert_header((header::ETAG, tag)).json(IncidentView::from_record(&rec)))
}

/// The `If-Match` precondition of PATCH and DELETE.
fn if_match(req: &HttpRequest) -> ApiResult<String> {
    match req.headers().get(header::IF_MATCH) {
        None => Err(ApiError::precondition_required("send If-Match with the incident's current ETag (GET it first)")),
        Some(v) => v
            .to_str()
            .ok()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty() && s.len() <= 100)
            .ok_or_else(|| ApiError::precondition_failed("If-Match is not an ETag of this incident")),
    }
}

/// `If-Match` uses strong comparison (RFC 9110): a weak or malformed tag,
/// or a malformed list, matches nothing.
fn check_if_match(given: &str, row: &IncidentRow) -> ApiResult<()> {
    let current = etag(row.version);
    let tags: Vec<&str> = given.split(',').map(str::trim).collect();
    let well_formed =
        tags.iter().all(|t| t.len() >= 2 && t.starts_with('"') && t.ends_with('"') && !t[1..t.len() - 1].contains('"'));
    if given == "*" || (well_formed && tags.contains(&current.as_str())) {
        Ok(())
    } else {
        Err(ApiError::precondition_failed(format!(
            "the incident changed: its ETag is now {current}; GET it again and reapply the change"
        ))
        .with_header(header::ETAG, &current))
    }
}

/// Fields a patch cannot touch.
const READ_ONLY: &[&str] = &["id", "version", "claims", "attribution", "created_at", "updated_at", "deleted_at"];

/// Change an incident with a JSON merge patch (RFC 7396). `claims` are
/// added through their own endpoint, not patched.
#[utoipa::path(
    operation_id = "patchIncident",patch, path = "/v1/incidents/{id}", tag = "incidents",
    request_body(content = Object, content_type = "application/merge-patch+json", description = "Fields of the incident to change; null removes an optional field",
        example = json!({"verification": "corroborated", "casualties": {"wounded_military": 1}})),
    params(("id" = Uuid, Path, description = "The incident"), ("If-Match" = Option<String>, Header, description = "The ETag of the version being changed. Without it the answer is 428 Precondition Required")),
    responses(
        (status = 200, description = "The changed incident", body = IncidentView, headers(("ETag" = String))),
        (status = 404, description = "No such incident", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "Deleted", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "The incident changed since that ETag", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The patched incident is invalid", body = Problem, content_type = "application/problem+json"),
        (status = 428, description = "If-Match is missing", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn patch(
    state: web::Data<AppState>,
    req: HttpRequest,
    AsEditor(actor): AsEditor,
    id: web::Path<String>,
    body: JsonValue,
) -> ApiResult<HttpResponse> {
    let id = parse_incident_id(&id)?;
    let patch = body.0;
    let Some(object) = patch.as_object() else {
        return Err(ApiError::field("", "a merge patch is a JSON object"));
    };
    if let Some(field) = object.keys().find(|k| READ_ONLY.contains(&k.as_str())) {
        return Err(ApiError::field(
            format!("/{field}"),
            "read-only; claims are added with POST /v1/incidents/{id}/claims",
        ));
    }
    let given = if_match(&req)?;
    let mut conn = state.pool.get().await?;
    let view = conn
        .transaction::<_, ApiError, _>(async |conn| {
            let row = store::lock(conn, id).await?.ok_or_else(|| no_incident(id))?;
            if row.deleted_at.is_some() {
                return Err(gone(id));
            }
            check_if_match(&given, &row)?;
            let rec = store::records(conn, vec![row]).await?.pop().ok_or_else(|| no_incident(id))?;
            let before = IncidentFields::from_record(&rec);
            let before_json = serde_json::to_value(&before).map_err(ApiError::internal)?;
            let mut after_json = before_json.clone();
            json_patch::merge(&mut after_json, &patch);
            let after: IncidentFields =
                from_value_at(after_json.clone(), "").map_err(|e| ApiError::validation(vec![e]))?;
            let now = crate::store::now();
            let mut errors = Vec::new();
            after.check("", now, &mut errors);
            if !errors.is_empty() {
                return Err(ApiError::validation(errors));
            }
            if after == before {
                return Ok(IncidentView::from_record(&rec));
            }
            let after_json = serde_json::to_value(&after).map_err(ApiError::internal)?;
            let changes: serde_json::Map<String, serde_json::Value> = after_json
                .as_object()
                .into_iter()
                .flatten()
                .filter(|(k, v)| before_json.get(k.as_str()) != Some(v))
                .map(|(k, v)| (k.clone(), serde_json::json!({"from": before_json.get(k.as_str()), "to": v})))
                .collect();
            let mut row = after.to_row(rec.row.clone());
            row.version += 1;
            row.updated_at = now;
            if after.sources != before.sources {
                store::replace_sources(conn, id, &after.source_rows(id)).await?;
            }
            if after.external_ids != before.external_ids {
                store::replace_external_ids(conn, id, &after.external_id_rows(id)).await?;
            }
            record_change(conn, &mut row, "update", &actor, serde_json::Value::Object(changes)).await?;
            let rec = store::get(conn, id).await?.ok_or_else(|| no_incident(id))?;
            Ok(IncidentView::from_record(&rec))
        })
        .await?;
    Ok(HttpResponse::Ok().insert_header((header::ETAG, etag(view.version))).json(view))
}

/// Delete an incident. Deletes are soft: the incident leaves lists and
/// counts, GET answers 410, and its history stays.
#[utoipa::path(
    operation_id = "deleteIncident",delete, path = "/v1/incidents/{id}", tag = "incidents",
    params(("id" = Uuid, Path, description = "The incident"), ("If-Match" = Option<String>, Header, description = "The ETag of the version being deleted. Without it the answer is 428 Precondition Required")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such incident", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "Already deleted", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "The incident changed since that ETag", body = Problem, content_type = "application/problem+json"),
        (status = 428, description = "If-Match is missing", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn delete(
    state: web::Data<AppState>,
    req: HttpRequest,
    AsEditor(actor): AsEditor,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let id = parse_incident_id(&id)?;
    let given = if_match(&req)?;
    let mut conn = state.pool.get().await?;
    conn.transaction::<_, ApiError, _>(async |conn| {
        let mut row = store::lock(conn, id).await?.ok_or_else(|| no_incident(id))?;
        if row.deleted_at.is_some() {
            return Err(gone(id));
        }
        check_if_match(&given, &row)?;
        let now = crate::store::now();
        row.version += 1;
        row.updated_at = now;
        row.deleted_at = Some(now);
        record_change(conn, &mut row, "delete", &actor, serde_json::json!({})).await
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Every revision of an incident, oldest first; deleted incidents keep theirs.
#[utoipa::path(
    operation_id = "getIncidentHistory",get, path = "/v1/incidents/{id}/history", tag = "incidents",
    params(("id" = Uuid, Path, description = "The incident")),
    responses(
        (status = 200, description = "The revisions", body = History),
        (status = 404, description = "No such incident", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn history(state: web::Data<AppState>, _read: CanRead, id: web::Path<String>) -> ApiResult<HttpResponse> {
    let id = parse_incident_id(&id)?;
    let mut conn = state.pool.get().await?;
    let revs = revisions::for_incident(&mut conn, id).await?;
    if revs.is_empty() {
        return Err(no_incident(id));
    }
    let data = revs
        .into_iter()
        .map(|r| RevisionView { version: r.version, action: r.action, actor: r.actor, at: r.at, changes: r.changes })
        .collect();
    Ok(HttpResponse::Ok().json(History { data }))
}

/// List incidents, newest first (or in change order with `updated_since`).
#[utoipa::path(
    operation_id = "listIncidents",get, path = "/v1/incidents", tag = "incidents",
    params(super::filters::RangeParams, super::filters::IncidentFilterParams,
        ("limit" = Option<i64>, Query, description = "1 to 1000, default 50 (pages of JSON only)", minimum = 1, maximum = 1000),
        ("cursor" = Option<String>, Query, description = "next_cursor of the previous page, unchanged (pages of JSON only): cursors are signed, and one that does not verify is a 400"),
        ("format" = Option<String>, Query, description = "`json` (a page, default), or an export of every matching incident: `csv`, `geojson`, `ndjson`. Overrides `Accept`"),
    ),
    responses(
        (status = 200, description = "A page of incidents (`Link: rel=\"next\"` names the next one), or an export streamed whole. \
CSV: one row per incident, party lists as `;`-joined slugs, `sources`, `external_ids` and `claims` as JSON; a text cell that a spreadsheet would run as a formula (beginning with `=`, `+`, `-`, `@`, tab or CR) starts with `'`. \
An export is read in one snapshot and holds one of the client's expensive-read permits while it streams. \
GeoJSON: a FeatureCollection of the incidents with coordinates. NDJSON: each incident's full JSON on a line.", content(
            (Page<IncidentView> = "application/json"),
            (String = "text/csv"),
            (Object = "application/geo+json"),
            (String = "application/x-ndjson"),
        ), headers(("ETag" = String), ("Link" = String), ("Content-Disposition" = String))),
        (status = 304, description = "Unchanged since the ETag given"),
        (status = 400, description = "Invalid query, or a cursor that does not verify", body = Problem, content_type = "application/problem+json"),
        (status = 406, description = "The Accept header allows none of JSON, CSV, GeoJSON and NDJSON", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list(state: web::Data<AppState>, _read: CanRead, req: HttpRequest) -> ApiResult<HttpResponse> {
    let mut q = QueryParams::from_request(&req)?;
    let export = export_format(&req, &mut q)?;
    let raw = incident_filter(&mut q)?;
    let (order, ordering) =
        if raw.updated_since.is_some() { (Order::Changed, "changed") } else { (Order::Occurred, "occurred") };
    let limit = q.one("limit")?;
    let cursor = q.one("cursor")?;
    q.finish()?;
    if let Some(format) = export {
        if limit.is_some() || cursor.is_some() {
            return Err(ApiError::bad_query(
                if limit.is_some() { "limit" } else { "cursor" },
                "an export holds every matching incident; it takes no limit or cursor",
            ));
        }
        // An export reads the whole filtered set: it holds an expensive-read
        // permit for as long as it streams.
        let permit = state.expensive.acquire(super::expensive::client_of(&req)).await?;
        let (conn, pool) = lagging_read(&state, &raw).await?;
        let filter = raw.resolve(&Hierarchy::load(&conn).await?);
        drop(conn);
        let name = format!("incidents-{}.{}", crate::store::now().format("%Y%m%dT%H%M%SZ"), format.extension());
        return Ok(HttpResponse::Ok()
            .content_type(format.content_type())
            .insert_header((header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}\"")))
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .streaming(super::export::stream(pool, filter, order, format, permit)));
    }
    let limit = parse_limit(limit)?;
    let after = cursor
        .map(|c| {
            let c = Cursor::decode(&c, ordering, &state.cursor_key)?;
            match (order, c.at, c.seq) {
                (Order::Occurred, Some(at), _) => Ok(Position::Occurred(at, c.id)),
                (Order::Changed, _, Some(seq)) => Ok(Position::Changed(seq, c.id)),
                _ => Err(bad_cursor()),
            }
        })
        .transpose()?;
    let _permit = match raw.is_expensive() {
        true => Some(state.expensive.acquire(super::expensive::client_of(&req)).await?),
        false => None,
    };
    let (mut conn, _) = lagging_read(&state, &raw).await?;
    let h = Hierarchy::load(&conn).await?;
    let filter = raw.resolve(&h);
    let mut rows = store::page(&mut conn, &filter, order, after, limit + 1).await?;
    let more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let cursor_at = |p: Position| match p {
        Position::Occurred(at, id) => Cursor { o: ordering.into(), at: Some(at), seq: None, id },
        Position::Changed(seq, id) => Cursor { o: ordering.into(), at: None, seq: Some(seq), id },
    };
    let last = rows.last().map(|(_, p)| *p).or(after);
    // In change order the cursor is also where to resume polling, so it is
    // given on the last page too (a `Link` only when more rows wait).
    let next_cursor = match order {
        Order::Occurred if more => last.map(|p| cursor_at(p).encode(&state.cursor_key)),
        Order::Occurred => None,
        Order::Changed => last.map(|p| cursor_at(p).encode(&state.cursor_key)),
    };
    let records = store::records(&mut conn, rows.into_iter().map(|(r, _)| r).collect()).await?;
    page_response(&req, Page { data: records.iter().map(IncidentView::from_record).collect(), next_cursor }, more)
}

/// Where a list or export reads. Mirrors polling `updated_since` read the
/// primary: their change order rests on the primary's running transactions.
async fn lagging_read(state: &AppState, raw: &RawFilter) -> ApiResult<(DbConn, DbPool)> {
    if raw.updated_since.is_some() {
        Ok((state.pool.get().await?, state.pool.clone()))
    } else {
        state.lagging_read().await
    }
}

/// An export format asked for by `?format=` or `Accept`; `None` for a page of JSON.
fn export_format(req: &HttpRequest, q: &mut QueryParams) -> ApiResult<Option<ExportFormat>> {
    match q.one("format")?.as_deref() {
        None => {}
        Some("json") => return Ok(None),
        Some("csv") => return Ok(Some(ExportFormat::Csv)),
        Some("geojson") => return Ok(Some(ExportFormat::GeoJson)),
        Some("ndjson") => return Ok(Some(ExportFormat::NdJson)),
        Some(other) => {
            return Err(ApiError::bad_query("format", format!("`{}` is not json, csv, geojson or ndjson", clip(other))))
        }
    }
    let offered = ["application/json", "text/csv", "application/geo+json", "application/x-ndjson"];
    Ok(match super::negotiate::negotiate(req, &offered)? {
        1 => Some(ExportFormat::Csv),
        2 => Some(ExportFormat::GeoJson),
        3 => Some(ExportFormat::NdJson),
        _ => None,
    })
}
