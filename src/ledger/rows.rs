//! Between stored rows and the domain: an incident's fields to its rows
//! and back, the views of records and claims, the facts attribution needs.
//! A stored value that does not parse is an error that is logged (the
//! database's CHECKs make it unreachable), never a silent default.

use uuid::Uuid;

use crate::domain::attribution::{Attribution, ClaimFacts};
use crate::domain::claim::ClaimView;
use crate::domain::hierarchy::Hierarchy;
use crate::domain::incident::{AttributionView, Casualties, IncidentFields, IncidentView, Location, Source};
use crate::domain::text::{
    BorderSector, Description, Headcount, PlaceName, Publisher, Quote, SourceTitle, Title, Violations,
};
use crate::domain::{CountryCode, IncidentType, LocationPrecision, Stance, TimePrecision, Verification};
use crate::error::{ApiError, ApiResult};
use crate::store::claims::ClaimRow;
use crate::store::incidents::{ExternalIdRow, IncidentRecord, IncidentRow, SourceRow};

/// A stored number parsed back, like `stored`.
fn stored_number<T>(new: impl Fn(i64) -> Result<T, String>, value: i32, column: &str) -> ApiResult<T> {
    new(value.into()).map_err(|e| ApiError::internal(format!("stored {column} `{value}` does not parse: {e}")))
}

/// A stored value parsed back; one that does not parse is a logged 500.
pub fn stored<T>(parse: impl Fn(&str) -> Result<T, String>, value: &str, column: &str) -> ApiResult<T> {
    parse(value).map_err(|e| ApiError::internal(format!("stored {column} `{value}` does not parse: {e}")))
}

impl IncidentFields {
    /// The row for these fields; the derived columns keep `base`'s values.
    pub fn to_row(&self, base: IncidentRow) -> IncidentRow {
        let c = &self.casualties;
        let n = |v: Option<Headcount>| v.map(|v| v.get() as i32);
        IncidentRow {
            occurred_at: self.occurred_at,
            occurred_until: self.occurred_until,
            time_precision: self.time_precision.as_str().into(),
            type_: self.incident_type.as_str().into(),
            location_name: self.location.name.to_string(),
            border_sector: self.location.border_sector.as_ref().map(ToString::to_string),
            country: self.location.country.as_ref().map(|c| c.as_str().to_string()),
            lat: self.location.lat,
            lon: self.location.lon,
            location_precision: self.location.precision.map(|p| p.as_str().to_string()),
            killed_military: n(c.killed_military),
            killed_civilian: n(c.killed_civilian),
            wounded_military: n(c.wounded_military),
            wounded_civilian: n(c.wounded_civilian),
            violations: self.violations.get() as i32,
            title: self.title.to_string(),
            description: self.description.to_string(),
            verification: self.verification.as_str().into(),
            ..base
        }
    }

    pub fn source_rows(&self, id: Uuid) -> Vec<SourceRow> {
        self.sources
            .iter()
            .enumerate()
            .map(|(i, s)| SourceRow {
                incident_id: id,
                position: i as i32,
                url: s.url.clone(),
                title: s.title.as_ref().map(ToString::to_string),
                publisher: s.publisher.as_ref().map(ToString::to_string),
                published_at: s.published_at,
            })
            .collect()
    }

    pub fn external_id_rows(&self, id: Uuid) -> Vec<ExternalIdRow> {
        self.external_ids
            .iter()
            .map(|(k, v)| ExternalIdRow { incident_id: id, system: k.clone(), value: v.clone() })
            .collect()
    }

    /// The fields as stored. A stored value that does not parse is an
    /// error (logged), never replaced by a default.
    pub fn from_record(rec: &IncidentRecord) -> ApiResult<Self> {
        let r = &rec.row;
        let n = |v: Option<i32>, column| v.map(|v| stored_number(Headcount::new, v, column)).transpose();
        Ok(IncidentFields {
            occurred_at: r.occurred_at,
            occurred_until: r.occurred_until,
            time_precision: stored(TimePrecision::parse, &r.time_precision, "incidents.time_precision")?,
            incident_type: stored(IncidentType::parse, &r.type_, "incidents.type")?,
            location: Location {
                name: stored(PlaceName::parse, &r.location_name, "incidents.location_name")?,
                border_sector: r
                    .border_sector
                    .as_deref()
                    .map(|b| stored(BorderSector::parse, b, "incidents.border_sector"))
                    .transpose()?,
                country: r
                    .country
                    .as_deref()
                    .map(|c| stored(CountryCode::parse, c, "incidents.country"))
                    .transpose()?,
                lat: r.lat,
                lon: r.lon,
                precision: r
                    .location_precision
                    .as_deref()
                    .map(|p| stored(LocationPrecision::parse, p, "incidents.location_precision"))
                    .transpose()?,
            },
            casualties: Casualties {
                killed_military: n(r.killed_military, "incidents.killed_military")?,
                killed_civilian: n(r.killed_civilian, "incidents.killed_civilian")?,
                wounded_military: n(r.wounded_military, "incidents.wounded_military")?,
                wounded_civilian: n(r.wounded_civilian, "incidents.wounded_civilian")?,
            },
            violations: stored_number(Violations::new, r.violations, "incidents.violations")?,
            title: stored(Title::parse, &r.title, "incidents.title")?,
            description: stored(Description::parse, &r.description, "incidents.description")?,
            sources: rec
                .sources
                .iter()
                .map(|s| {
                    Ok(Source {
                        url: s.url.clone(),
                        title: s
                            .title
                            .as_deref()
                            .map(|t| stored(SourceTitle::parse, t, "sources.title"))
                            .transpose()?,
                        publisher: s
                            .publisher
                            .as_deref()
                            .map(|p| stored(Publisher::parse, p, "sources.publisher"))
                            .transpose()?,
                        published_at: s.published_at,
                    })
                })
                .collect::<ApiResult<_>>()?,
            verification: stored(Verification::parse, &r.verification, "incidents.verification")?,
            external_ids: rec.external_ids.iter().map(|e| (e.system.clone(), e.value.clone())).collect(),
        })
    }
}

impl IncidentView {
    /// The incident as the API shows it.
    pub fn from_record(rec: &IncidentRecord) -> ApiResult<Self> {
        let role = |name: &str| rec.roles.iter().filter(|(r, _)| r == name).map(|(_, p)| p.clone()).collect::<Vec<_>>();
        Ok(IncidentView {
            id: rec.row.id,
            version: rec.row.version,
            fields: IncidentFields::from_record(rec)?,
            claims: rec.claims.iter().map(ClaimView::from_row).collect::<ApiResult<_>>()?,
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
        })
    }
}

impl ClaimView {
    /// The claim as the API shows it.
    pub fn from_row(r: &ClaimRow) -> ApiResult<Self> {
        Ok(ClaimView {
            id: r.id,
            incident_id: r.incident_id,
            claimant: r.claimant.clone(),
            stance: stored(Stance::parse, &r.stance, "claims.stance")?,
            target: r.target.clone(),
            responds_to: r.responds_to,
            stated_at: r.stated_at,
            quote: r.quote.as_deref().map(|q| stored(Quote::parse, q, "claims.quote")).transpose()?,
            source_url: r.source_url.clone(),
            created_at: r.created_at,
        })
    }
}

/// What attribution needs of each stored claim.
pub fn facts(rows: &[ClaimRow]) -> ApiResult<Vec<ClaimFacts>> {
    rows.iter()
        .map(|r| {
            Ok(ClaimFacts {
                id: r.id,
                claimant: r.claimant.clone(),
                stance: stored(Stance::parse, &r.stance, "claims.stance")?,
                target: r.target.clone(),
                responds_to: r.responds_to,
            })
        })
        .collect()
}

/// Derives an incident's attribution from all its claims.
pub fn attribution(rows: &[ClaimRow], h: &Hierarchy) -> ApiResult<Attribution> {
    Ok(Attribution::derive(&facts(rows)?, |p| h.side_of(p)))
}
