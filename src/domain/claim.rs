//! A claim: one party's public statement about one incident, as clients
//! write it and as they read it.

use chrono::{DateTime, FixedOffset, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::account::Account;
use super::text::{Quote, VoidReason};
use super::{ClaimStatus, PartySlug, Stance};

/// A new claim: one public statement about one incident.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"claimant": "az-mod", "stance": "accuses", "target": "am-armed-forces",
    "stated_at": "2025-07-04T09:00:00+04:00",
    "quote": "Units of the Armenian armed forces fired from positions near Basarkechar at our positions in the Kalbajar direction.",
    "source_url": "https://mod.gov.az/",
    "account": {"occurred_at": "2025-07-03T21:40:00+04:00", "type": "small_arms_fire",
                "origin": {"name": "Basarkechar (Vardenis)", "country": "AM"},
                "impact": {"name": "Kalbajar direction", "country": "AZ"}}}))]
pub struct NewClaim {
    /// The party that made the statement.
    pub claimant: PartySlug,
    pub stance: Stance,
    /// Who is accused (required for `accuses`, on another side than the
    /// claimant) or, for `confirms` and `observes`, who the claim names.
    /// Other stances take no target.
    pub target: Option<PartySlug>,
    /// The claim this one answers, on the same incident, not voided.
    /// Required for `retracts` (the claimant's own claim); for `denies`, an
    /// accusation.
    pub responds_to: Option<Uuid>,
    /// Only in the `claims` of a new incident: the index, in that array, of
    /// an earlier claim this one answers (its id is not known yet).
    #[schema(minimum = 0)]
    pub responds_to_index: Option<usize>,
    /// When the statement was made (RFC 3339); absent or `null`: unknown.
    /// Counts and lists by statement date then use the incident's
    /// `occurred_at`.
    pub stated_at: Option<DateTime<Utc>>,
    #[schema(schema_with = Quote::nullable_schema)]
    pub quote: Option<Quote>,
    /// Where the statement was published (http or https).
    #[schema(format = "uri", max_length = 2000)]
    pub source_url: Option<String>,
    /// What the claimant says happened; every field optional. Not on a
    /// `retracts`.
    pub account: Option<Account>,
}

/// Who voided a claim, when, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Void {
    pub at: DateTime<Utc>,
    /// The id of the API key that voided it, as the history records it.
    pub by: Option<String>,
    #[schema(inline)]
    pub reason: VoidReason,
}

impl ClaimView {
    /// The claim with `stated_at` in the zone asked for (else UTC).
    pub fn shown_in(mut self, zone: super::zone::Zone) -> Self {
        self.stated_at = self.stated_at.map(|t| zone.show(t.to_utc(), chrono::FixedOffset::east_opt(0).expect("UTC")));
        self
    }
}

/// The body of `POST /v1/claims/{id}/void`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"reason": "Entered against the wrong incident; the statement is about 4 July."}))]
pub struct VoidRequest {
    #[schema(inline)]
    pub reason: VoidReason,
}

/// A claim as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ClaimView {
    pub id: Uuid,
    pub incident_id: Uuid,
    pub claimant: String,
    pub stance: Stance,
    pub target: Option<String>,
    pub responds_to: Option<Uuid>,
    /// When the statement was made; `null`: unknown. In UTC, or in the
    /// zone asked for with `tz`.
    #[serde(serialize_with = "super::zone::rfc3339_opt")]
    pub stated_at: Option<DateTime<FixedOffset>>,
    #[schema(schema_with = Quote::nullable_schema)]
    pub quote: Option<Quote>,
    pub source_url: Option<String>,
    /// What the claimant says happened, when it said.
    pub account: Option<Account>,
    /// Only `standing` claims count, in attribution and in counts
    /// (retractions, standing or not, count nowhere).
    pub status: ClaimStatus,
    /// Set when an editor voided the claim.
    pub void: Option<Void>,
    pub created_at: DateTime<Utc>,
}
