//! Between stored rows and the domain: an incident's fields to its rows
//! and back, the views of records and claims, the facts attribution needs.
//! A stored value that does not parse is an error that is logged (the
//! database's CHECKs make it unreachable), never a silent default.

use uuid::Uuid;

use crate::domain::account::{Account, Accounts, Site};
use crate::domain::attribution::{Attribution, ClaimFacts};
use crate::domain::claim::{ClaimView, Void};
use crate::domain::hierarchy::Hierarchy;
use crate::domain::incident::{AttributionView, Casualties, IncidentFields, IncidentView, Location, Source};
use crate::domain::text::{
    BorderSector, Description, Headcount, PlaceName, Publisher, Quote, SourceTitle, StatedViolations, Title,
    Violations, VoidReason,
};
use crate::domain::{
    ClaimStatus, CountryCode, IncidentType, LocationPrecision, PlaceSlug, Stance, TimePrecision, Verification,
};
use crate::error::{ApiError, ApiResult};
use crate::store::claims::{AccountRow, ClaimRow};
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
        let o = |f: fn(&Site) -> Option<String>| self.origin.as_ref().and_then(f);
        let coordinate = |f: fn(&Site) -> Option<f64>| self.origin.as_ref().and_then(f);
        IncidentRow {
            occurred_at: self.occurred_at.to_utc(),
            occurred_until: self.occurred_until.map(|t| t.to_utc()),
            occurred_offset: self.occurred_at.offset().local_minus_utc(),
            time_precision: self.time_precision.as_str().into(),
            type_: self.incident_type.as_str().into(),
            location_name: self.location.name.to_string(),
            border_sector: self.location.border_sector.as_ref().map(ToString::to_string),
            country: self.location.country.as_ref().map(|c| c.as_str().to_string()),
            lat: self.location.lat,
            lon: self.location.lon,
            location_precision: self.location.precision.map(|p| p.as_str().to_string()),
            place: self.location.place.as_ref().map(|p| p.as_str().to_string()),
            admin1: self.location.admin1.as_ref().map(ToString::to_string),
            admin2: self.location.admin2.as_ref().map(ToString::to_string),
            killed_military: n(c.killed_military),
            killed_civilian: n(c.killed_civilian),
            wounded_military: n(c.wounded_military),
            wounded_civilian: n(c.wounded_civilian),
            violations: self.violations.get() as i32,
            title: self.title.to_string(),
            description: self.description.to_string(),
            verification: self.verification.as_str().into(),
            origin_name: o(|s| s.name.as_ref().map(ToString::to_string)),
            origin_country: o(|s| s.country.as_ref().map(|c| c.as_str().to_string())),
            origin_lat: coordinate(|s| s.lat),
            origin_lon: coordinate(|s| s.lon),
            origin_place: o(|s| s.place.as_ref().map(|p| p.as_str().to_string())),
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
        let reported = crate::domain::zone::offset(r.occurred_offset);
        Ok(IncidentFields {
            occurred_at: r.occurred_at.with_timezone(&reported),
            occurred_until: r.occurred_until.map(|t| t.with_timezone(&reported)),
            time_precision: stored(TimePrecision::parse, &r.time_precision, "incidents.time_precision")?,
            incident_type: stored(IncidentType::parse, &r.type_, "incidents.type")?,
            location: Location {
                name: stored(PlaceName::parse, &r.location_name, "incidents.location_name")?,
                place: r.place.as_deref().map(|p| stored(PlaceSlug::parse, p, "incidents.place")).transpose()?,
                admin1: r.admin1.as_deref().map(|a| stored(PlaceName::parse, a, "incidents.admin1")).transpose()?,
                admin2: r.admin2.as_deref().map(|a| stored(PlaceName::parse, a, "incidents.admin2")).transpose()?,
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
            origin: site(
                [&r.origin_name, &r.origin_country, &r.origin_place],
                (r.origin_lat, r.origin_lon),
                "incidents.origin",
            )?,
            external_ids: rec.external_ids.iter().map(|e| (e.system.clone(), e.value.clone())).collect(),
        })
    }
}

impl IncidentView {
    /// The incident as the API shows it.
    pub fn from_record(rec: &IncidentRecord) -> ApiResult<Self> {
        let role = |name: &str| rec.roles.iter().filter(|(r, _)| r == name).map(|(_, p)| p.clone()).collect::<Vec<_>>();
        let fields = IncidentFields::from_record(rec)?;
        Ok(IncidentView {
            id: rec.row.id,
            version: rec.row.version,
            local_date: fields.occurred_at.date_naive(),
            fields,
            claims: rec.claims.iter().map(ClaimView::from_row).collect::<ApiResult<_>>()?,
            attribution: AttributionView {
                accusers: role("accuser"),
                accused: role("accused"),
                deniers: role("denier"),
                confirmers: role("confirmer"),
                acknowledged_by: role("acknowledger"),
                observed_by: role("observer"),
                not_observed_by: role("non_observer"),
                denied: rec.row.denied,
                disputed: rec.row.disputed,
            },
            direction: rec.row.origin_country.as_ref().zip(rec.row.country.as_ref()).map(|(o, c)| format!("{o}>{c}")),
            cross_border: rec.row.origin_country.as_ref().zip(rec.row.country.as_ref()).is_some_and(|(o, c)| o != c),
            accounts: accounts(&rec.claims)?,
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
            stated_at: r.stated_at.map(|t| t.fixed_offset()),
            quote: r.quote.as_deref().map(|q| stored(Quote::parse, q, "claims.quote")).transpose()?,
            source_url: r.source_url.clone(),
            account: r.account.to_account()?,
            status: stored(ClaimStatus::parse, &r.status, "claims.status")?,
            void: match (r.voided_at, &r.void_reason) {
                (Some(at), Some(reason)) => Some(Void {
                    at,
                    by: r.voided_by.clone(),
                    reason: stored(VoidReason::parse, reason, "claims.void_reason")?,
                }),
                _ => None,
            },
            created_at: r.created_at,
        })
    }
}

/// A stored site: `None` when none of its columns is set.
fn site(text: [&Option<String>; 3], (lat, lon): (Option<f64>, Option<f64>), column: &str) -> ApiResult<Option<Site>> {
    let [name, country, place] = text;
    if name.is_none() && country.is_none() && place.is_none() && lat.is_none() && lon.is_none() {
        return Ok(None);
    }
    Ok(Some(Site {
        name: name.as_deref().map(|v| stored(PlaceName::parse, v, &format!("{column}_name"))).transpose()?,
        country: country.as_deref().map(|v| stored(CountryCode::parse, v, &format!("{column}_country"))).transpose()?,
        lat,
        lon,
        place: place.as_deref().map(|v| stored(PlaceSlug::parse, v, &format!("{column}_place"))).transpose()?,
    }))
}

impl AccountRow {
    /// The columns of `account` (all null for none).
    pub fn from_account(account: Option<&Account>) -> Self {
        let Some(a) = account else { return AccountRow::default() };
        let site = |s: &Option<Site>| {
            let s = s.as_ref();
            (
                s.and_then(|s| s.name.as_ref().map(ToString::to_string)),
                s.and_then(|s| s.country.as_ref().map(|c| c.as_str().to_string())),
                s.and_then(|s| s.lat),
                s.and_then(|s| s.lon),
                s.and_then(|s| s.place.as_ref().map(|p| p.as_str().to_string())),
            )
        };
        let (origin_name, origin_country, origin_lat, origin_lon, origin_place) = site(&a.origin);
        let (impact_name, impact_country, impact_lat, impact_lon, impact_place) = site(&a.impact);
        let c = a.casualties.clone().unwrap_or_default();
        let n = |v: Option<Headcount>| v.map(|v| v.get() as i32);
        AccountRow {
            account_occurred_at: a.occurred_at,
            account_time_precision: a.time_precision.map(|p| p.as_str().to_string()),
            account_type: a.incident_type.map(|t| t.as_str().to_string()),
            origin_name,
            origin_country,
            origin_lat,
            origin_lon,
            origin_place,
            impact_name,
            impact_country,
            impact_lat,
            impact_lon,
            impact_place,
            killed_military: n(c.killed_military),
            killed_civilian: n(c.killed_civilian),
            wounded_military: n(c.wounded_military),
            wounded_civilian: n(c.wounded_civilian),
            violations: a.violations.map(|v| v.get() as i32),
        }
    }

    /// The account these columns hold: `None` when they state nothing.
    pub fn to_account(&self) -> ApiResult<Option<Account>> {
        let n = |v: Option<i32>, column| v.map(|v| stored_number(Headcount::new, v, column)).transpose();
        let casualties = Casualties {
            killed_military: n(self.killed_military, "claims.killed_military")?,
            killed_civilian: n(self.killed_civilian, "claims.killed_civilian")?,
            wounded_military: n(self.wounded_military, "claims.wounded_military")?,
            wounded_civilian: n(self.wounded_civilian, "claims.wounded_civilian")?,
        };
        let account = Account {
            occurred_at: self.account_occurred_at,
            time_precision: self
                .account_time_precision
                .as_deref()
                .map(|p| stored(TimePrecision::parse, p, "claims.account_time_precision"))
                .transpose()?,
            incident_type: self
                .account_type
                .as_deref()
                .map(|t| stored(IncidentType::parse, t, "claims.account_type"))
                .transpose()?,
            origin: site(
                [&self.origin_name, &self.origin_country, &self.origin_place],
                (self.origin_lat, self.origin_lon),
                "claims.origin",
            )?,
            impact: site(
                [&self.impact_name, &self.impact_country, &self.impact_place],
                (self.impact_lat, self.impact_lon),
                "claims.impact",
            )?,
            casualties: (casualties != Casualties::default()).then_some(casualties),
            violations: self
                .violations
                .map(|v| stored_number(StatedViolations::new, v, "claims.violations"))
                .transpose()?,
        };
        Ok((!account.is_empty()).then_some(account))
    }
}

/// What the standing claims (those that count) say happened.
pub fn accounts(rows: &[ClaimRow]) -> ApiResult<Accounts> {
    let stated: Vec<(uuid::Uuid, &str, Account)> = rows
        .iter()
        .filter(|r| r.counted)
        .filter_map(|r| r.account.to_account().map(|a| a.map(|a| (r.id, r.claimant.as_str(), a))).transpose())
        .collect::<ApiResult<_>>()?;
    Ok(Accounts::of(stated.iter().map(|(id, c, a)| (*id, *c, a))))
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
                voided: r.status == ClaimStatus::Voided.as_str(),
            })
        })
        .collect()
}

/// Derives an incident's attribution from all its claims.
pub fn attribution(rows: &[ClaimRow], h: &Hierarchy) -> ApiResult<Attribution> {
    Ok(Attribution::derive(&facts(rows)?, |p| h.side_of(p)))
}

/// The claims with what attribution derived of each: whether it counts and
/// its status (a voided claim stays voided).
pub fn with_status(rows: Vec<ClaimRow>, a: &Attribution) -> Vec<ClaimRow> {
    rows.into_iter()
        .map(|c| {
            let status = if c.status == ClaimStatus::Voided.as_str() {
                ClaimStatus::Voided
            } else if a.retracted.contains(&c.id) {
                ClaimStatus::Retracted
            } else {
                ClaimStatus::Standing
            };
            ClaimRow { counted: a.counted.contains(&c.id), status: status.as_str().to_string(), ..c }
        })
        .collect()
}
