//! The incident filters of DESIGN.md as a client gives them, shared by the
//! list, the exports and the counts.

use chrono::{DateTime, Utc};

use crate::domain::hierarchy::Hierarchy;
use crate::domain::{IncidentType, Verification};
use crate::store::listing::IncidentFilter;

/// The filters as given, before sides are expanded to their parties.
#[derive(Debug, Clone, Default)]
pub struct RawFilter {
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub types: Vec<IncidentType>,
    pub accuser: Vec<String>,
    pub accused: Vec<String>,
    pub claimant: Vec<String>,
    pub accuser_side: Vec<String>,
    pub accused_side: Vec<String>,
    pub denied: Option<bool>,
    pub verification: Vec<Verification>,
    pub border_sector: Vec<String>,
    pub country: Vec<String>,
    /// Places of the gazetteer, by slug or by any of their names.
    pub place: Vec<String>,
    pub admin1: Vec<String>,
    pub admin2: Vec<String>,
    pub origin_country: Vec<String>,
    pub cross_border: Option<bool>,
    pub divergent: Option<bool>,
    pub bbox: Option<[f64; 4]>,
    pub q: Option<String>,
    pub updated_since: Option<DateTime<Utc>>,
    pub include_deleted: bool,
}

impl RawFilter {
    /// Filters that read the full incidents rather than an index or the
    /// rollups (a place's names may match many locations): the request then
    /// takes an expensive-read permit.
    pub fn is_expensive(&self) -> bool {
        self.q.is_some() || self.bbox.is_some() || self.include_deleted || !self.place.is_empty()
    }
}

impl RawFilter {
    /// No filter but the time range.
    pub fn is_only_a_range(&self) -> bool {
        let RawFilter {
            from: _,
            to: _,
            types,
            accuser,
            accused,
            claimant,
            accuser_side,
            accused_side,
            denied,
            verification,
            border_sector,
            country,
            place,
            admin1,
            admin2,
            origin_country,
            cross_border,
            divergent,
            bbox,
            q,
            updated_since,
            include_deleted,
        } = self;
        types.is_empty()
            && verification.is_empty()
            && [
                accuser,
                accused,
                claimant,
                accuser_side,
                accused_side,
                border_sector,
                country,
                place,
                admin1,
                admin2,
                origin_country,
            ]
            .iter()
            .all(|v| v.is_empty())
            && denied.is_none()
            && cross_border.is_none()
            && divergent.is_none()
            && bbox.is_none()
            && q.is_none()
            && updated_since.is_none()
            && !include_deleted
    }

    /// Expands sides to their parties. A side with no parties matches nothing.
    pub fn resolve(&self, h: &Hierarchy) -> IncidentFilter {
        let mut roles: Vec<(&'static str, Vec<String>)> = Vec::new();
        for (role, parties) in [("accuser", &self.accuser), ("accused", &self.accused), ("claimant", &self.claimant)] {
            if !parties.is_empty() {
                roles.push((role, parties.clone()));
            }
        }
        for (role, sides) in [("accuser", &self.accuser_side), ("accused", &self.accused_side)] {
            if !sides.is_empty() {
                roles.push((role, h.members_of_sides(sides)));
            }
        }
        IncidentFilter {
            from: self.from,
            to: self.to,
            types: self.types.iter().map(|t| t.as_str().to_string()).collect(),
            roles,
            denied: self.denied,
            verification: self.verification.iter().map(|v| v.as_str().to_string()).collect(),
            border_sector: self.border_sector.clone(),
            country: self.country.clone(),
            place: self.place.clone(),
            admin1: self.admin1.clone(),
            admin2: self.admin2.clone(),
            origin_country: self.origin_country.clone(),
            cross_border: self.cross_border,
            divergent: self.divergent,
            bbox: self.bbox,
            q: self.q.clone(),
            updated_since: self.updated_since,
            include_deleted: self.include_deleted,
        }
    }
}
