//! Parties: who can accuse, be accused, deny or confirm, as clients write
//! and read them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::text::PartyName;
use super::{CountryCode, PartyKind, PartySlug};
use crate::error::FieldError;

/// A party as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"slug": "az-mod", "name": "Ministry of Defence of Azerbaijan", "kind": "government_body",
    "country": "AZ", "parent": "azerbaijan", "side": "azerbaijan",
    "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z"}))]
pub struct PartyView {
    pub slug: String,
    pub name: String,
    pub kind: PartyKind,
    /// ISO 3166-1 alpha-2.
    pub country: Option<String>,
    /// The slug of the party this one belongs to.
    pub parent: Option<String>,
    /// The top-most ancestor (the party itself when it has no parent).
    pub side: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A new party.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"slug": "am-mod", "name": "Ministry of Defence of Armenia", "kind": "government_body", "country": "AM", "parent": "armenia"}))]
pub struct NewParty {
    pub slug: PartySlug,
    #[schema(inline)]
    pub name: PartyName,
    pub kind: PartyKind,
    pub country: Option<CountryCode>,
    pub parent: Option<PartySlug>,
}

/// A JSON merge patch (RFC 7396) of a party; the slug cannot change.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"parent": "armenia"}))]
pub struct PartyPatch {
    #[schema(schema_with = PartyName::nullable_schema)]
    pub name: Option<PartyName>,
    pub kind: Option<PartyKind>,
    /// null removes it.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub country: Option<Option<CountryCode>>,
    /// null makes the party a side of its own.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub parent: Option<Option<PartySlug>>,
}

/// Tells a field set to null (`Some(None)`) from an absent one (`None`).
fn double_option<'de, T: Deserialize<'de>, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

impl NewParty {
    /// The check serde cannot make.
    pub fn check(&self, errors: &mut Vec<FieldError>) {
        if self.parent.as_ref() == Some(&self.slug) {
            errors.push(FieldError::new("/parent", "a party cannot be its own parent"));
        }
    }
}
