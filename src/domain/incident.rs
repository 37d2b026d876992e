//! An incident: what clients write (its fields, checked here beyond what
//! serde checks) and what they read (its view, with claims and
//! attribution). No I/O: `ledger` turns these into rows and back.

use std::collections::BTreeMap;

use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::account::{Accounts, Site};
use super::claim::{ClaimView, NewClaim};
use super::text::{BorderSector, Description, Headcount, PlaceName, Publisher, SourceTitle, Title, Violations};
use super::{CountryCode, IncidentType, LocationPrecision, PlaceSlug, TimePrecision, Verification};
use crate::error::FieldError;

/// Where the incident happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "Verin Shorzha", "place": "verin-shorzha", "border_sector": "gegharkunik-kalbajar", "country": "AM",
    "admin1": "Gegharkunik", "admin2": null, "lat": 40.1431, "lon": 45.6461, "precision": "settlement"}))]
pub struct Location {
    /// Required, unless `place` is given: then, when left out, the
    /// place's name.
    #[schema(inline)]
    pub name: PlaceName,
    /// A place of the gazetteer (`GET /v1/places`). It fills what the
    /// location leaves out (name, country, coordinates, precision
    /// `settlement`), and sets `admin1` and `admin2` to the place's, kept
    /// in step when the place changes. An unknown place is a 422.
    #[serde(default)]
    pub place: Option<PlaceSlug>,
    /// The first-level administrative area (a marz, an economic region):
    /// the place's when `place` is given, else as written.
    #[serde(default)]
    #[schema(schema_with = PlaceName::nullable_schema)]
    pub admin1: Option<PlaceName>,
    /// The second-level area (a district, a rayon), like `admin1`.
    #[serde(default)]
    #[schema(schema_with = PlaceName::nullable_schema)]
    pub admin2: Option<PlaceName>,
    #[schema(schema_with = BorderSector::nullable_schema)]
    pub border_sector: Option<BorderSector>,
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
    #[schema(schema_with = Headcount::nullable_schema)]
    pub killed_military: Option<Headcount>,
    #[schema(schema_with = Headcount::nullable_schema)]
    pub killed_civilian: Option<Headcount>,
    #[schema(schema_with = Headcount::nullable_schema)]
    pub wounded_military: Option<Headcount>,
    #[schema(schema_with = Headcount::nullable_schema)]
    pub wounded_civilian: Option<Headcount>,
}

/// A published source about the incident.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Source {
    /// http or https, up to 2,000 characters.
    #[schema(format = "uri", max_length = 2000)]
    pub url: String,
    #[schema(schema_with = SourceTitle::nullable_schema)]
    pub title: Option<SourceTitle>,
    #[schema(schema_with = Publisher::nullable_schema)]
    pub publisher: Option<Publisher>,
    pub published_at: Option<DateTime<Utc>>,
}

/// The fields of an incident that clients write (on create, and through
/// a merge patch).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IncidentFields {
    /// When it happened (RFC 3339, any offset). Answered in the offset it
    /// was reported with (`+04:00` stays `+04:00`), or in the zone a reader
    /// asks for with `tz`.
    #[serde(serialize_with = "super::zone::rfc3339")]
    pub occurred_at: DateTime<FixedOffset>,
    /// When it ended, for incidents that lasted; not before `occurred_at`.
    /// Answered in the offset of `occurred_at`.
    #[serde(default, serialize_with = "super::zone::rfc3339_opt")]
    pub occurred_until: Option<DateTime<FixedOffset>>,
    /// How precisely `occurred_at` is known. Default `minute`.
    #[serde(default = "TimePrecision::default_precision")]
    pub time_precision: TimePrecision,
    #[serde(rename = "type")]
    pub incident_type: IncidentType,
    /// Where it happened, or where the fire landed.
    pub location: Location,
    /// Where the fire or the act came from, when known: set by whoever
    /// records the incident, never copied from a claim's account. With
    /// both countries known, the incident has a `direction`.
    #[serde(default)]
    pub origin: Option<Site>,
    #[serde(default)]
    pub casualties: Casualties,
    #[serde(default)]
    #[schema(inline)]
    pub violations: Violations,
    #[schema(inline)]
    pub title: Title,
    #[serde(default)]
    #[schema(inline)]
    pub description: Description,
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
    /// Claimants of standing `observes`: they saw the incident themselves.
    pub observed_by: Vec<String>,
    /// Claimants of standing `not_observed`: they saw no such incident
    /// where they were present. This never makes an incident denied or
    /// disputed.
    pub not_observed_by: Vec<String>,
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
    /// The date of `occurred_at` where it is shown: in the offset it was
    /// reported with, or in the zone asked for with `tz`.
    #[schema(value_type = String, format = Date, example = "2025-07-14")]
    pub local_date: NaiveDate,
    /// `origin.country>location.country` (such as `AM>AZ`) when both are
    /// known, else `null`.
    #[schema(example = "AM>AZ")]
    pub direction: Option<String>,
    /// Both countries known and different.
    pub cross_border: bool,
    /// Every claim, retracted and voided ones included (see `status`),
    /// oldest first (by `stated_at`, or `occurred_at` when that is unknown).
    pub claims: Vec<ClaimView>,
    pub attribution: AttributionView,
    /// What the standing claims' accounts say, field by field, and where
    /// the claimants disagree.
    pub accounts: Accounts,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Set when the incident was deleted (deletes are soft).
    pub deleted_at: Option<DateTime<Utc>>,
}

impl IncidentView {
    /// The view with its times shown in `zone`: the incident's in its
    /// reported offset unless a zone is asked for, the claims' in UTC or
    /// the zone asked for.
    pub fn shown_in(mut self, zone: super::zone::Zone) -> Self {
        let reported = *self.fields.occurred_at.offset();
        self.fields.occurred_at = zone.show(self.fields.occurred_at.to_utc(), reported);
        self.fields.occurred_until = self.fields.occurred_until.map(|t| zone.show(t.to_utc(), reported));
        self.local_date = self.fields.occurred_at.date_naive();
        if zone.asked().is_some() {
            for c in &mut self.claims {
                c.stated_at = c.stated_at.map(|t| zone.show(t.to_utc(), *t.offset()));
            }
        }
        self
    }
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
    pub fn check(&self, prefix: &str, now: DateTime<Utc>, errors: &mut Vec<FieldError>) {
        let at = |f: &str| format!("{prefix}/{f}");
        let earliest = NaiveDate::from_ymd_opt(1900, 1, 1).and_then(|d| d.and_hms_opt(0, 0, 0)).map(|t| t.and_utc());
        if Some(self.occurred_at.to_utc()) < earliest || self.occurred_at > now + chrono::Duration::days(1) {
            errors.push(FieldError::new(at("occurred_at"), "must lie between 1900 and now"));
        }
        if let Some(until) = self.occurred_until {
            if until < self.occurred_at {
                errors.push(FieldError::new(at("occurred_until"), "must not be before occurred_at"));
            } else if until > now + chrono::Duration::days(1) {
                errors.push(FieldError::new(at("occurred_until"), "must not be in the future"));
            }
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
        if let Some(o) = &self.origin {
            o.check(&at("origin"), errors);
        }
        if self.sources.len() > 50 {
            errors.push(FieldError::new(at("sources"), "at most 50 sources"));
        }
        for (i, s) in self.sources.iter().enumerate() {
            if let Err(e) = check_url(&s.url) {
                errors.push(FieldError::new(at(&format!("sources/{i}/url")), e));
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
}
