//! A claim: one party's public statement about one incident, as clients
//! write it and as they read it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::text::Quote;
use super::{PartySlug, Stance};

/// A new claim: one public statement about one incident.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"claimant": "az-mod", "stance": "denies", "responds_to": "0190f1c2-7a00-7000-8000-000000000001",
    "stated_at": "2023-08-15T14:00:00+04:00", "quote": "The information is not true.", "source_url": "https://mod.gov.az/"}))]
pub struct NewClaim {
    /// The party that made the statement.
    pub claimant: PartySlug,
    pub stance: Stance,
    /// Who is accused (required for `accuses`, on another side than the
    /// claimant) or, for `confirms`, who the confirmation names. Other
    /// stances take no target.
    pub target: Option<PartySlug>,
    /// The claim this one answers, on the same incident. Required for
    /// `retracts` (the claimant's own claim); for `denies`, an accusation.
    pub responds_to: Option<Uuid>,
    /// Only in the `claims` of a new incident: the index, in that array, of
    /// an earlier claim this one answers (its id is not known yet).
    #[schema(minimum = 0)]
    pub responds_to_index: Option<usize>,
    /// When the statement was made (RFC 3339); default: now.
    pub stated_at: Option<DateTime<Utc>>,
    #[schema(schema_with = Quote::nullable_schema)]
    pub quote: Option<Quote>,
    /// Where the statement was published (http or https).
    #[schema(format = "uri", max_length = 2000)]
    pub source_url: Option<String>,
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
    pub stated_at: DateTime<Utc>,
    #[schema(schema_with = Quote::nullable_schema)]
    pub quote: Option<Quote>,
    pub source_url: Option<String>,
    pub created_at: DateTime<Utc>,
}
