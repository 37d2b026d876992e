use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;

/// A party's identifier: `^[a-z0-9][a-z0-9-]{0,62}$`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, ToSchema)]
#[schema(value_type = String, pattern = "^[a-z0-9][a-z0-9-]{0,62}$", example = "am-mod")]
pub struct PartySlug(String);

impl PartySlug {
    pub fn parse(s: &str) -> Result<Self, String> {
        let ok = !s.is_empty()
            && s.len() <= 63
            && s.bytes().enumerate().all(|(i, b)| b.is_ascii_lowercase() || b.is_ascii_digit() || (i > 0 && b == b'-'));
        if ok {
            Ok(Self(s.to_string()))
        } else {
            Err(format!(
                "`{}` is not a party slug (lowercase letters, digits and dashes, 1 to 63, not starting with a dash)",
                truncate(s)
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

fn truncate(s: &str) -> String {
    s.chars().take(80).collect()
}

impl fmt::Display for PartySlug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for PartySlug {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// A place's identifier in the gazetteer: `^[a-z0-9][a-z0-9-]{0,62}$`,
/// such as `vardenis`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, ToSchema)]
#[schema(value_type = String, pattern = "^[a-z0-9][a-z0-9-]{0,62}$", example = "vardenis")]
pub struct PlaceSlug(String);

impl PlaceSlug {
    pub fn parse(s: &str) -> Result<Self, String> {
        PartySlug::parse(s).map(|p| Self(p.0)).map_err(|_| {
            format!(
                "`{}` is not a place slug (lowercase letters, digits and dashes, 1 to 63, not starting with a dash)",
                truncate(s)
            )
        })
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for PlaceSlug {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// An ISO 3166-1 alpha-2 country code, upper case.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, ToSchema)]
#[schema(value_type = String, pattern = "^[A-Z]{2}$", example = "AM")]
pub struct CountryCode(String);

impl CountryCode {
    pub fn parse(s: &str) -> Result<Self, String> {
        if s.len() == 2 && s.bytes().all(|b| b.is_ascii_uppercase()) {
            Ok(Self(s.to_string()))
        } else {
            Err(format!("`{}` is not an ISO 3166-1 alpha-2 code such as AM or AZ", truncate(s)))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for CountryCode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs() {
        assert!(PartySlug::parse("am-mod").is_ok());
        assert!(PartySlug::parse("9th-brigade").is_ok());
        assert!(PartySlug::parse("-x").is_err());
        assert!(PartySlug::parse("Am").is_err());
        assert!(PartySlug::parse("").is_err());
        assert!(PartySlug::parse("../etc").is_err());
        assert!(PartySlug::parse(&"a".repeat(64)).is_err());
        assert!(PartySlug::parse(&"a".repeat(63)).is_ok());
    }

    #[test]
    fn countries() {
        assert!(CountryCode::parse("AM").is_ok());
        assert!(CountryCode::parse("am").is_err());
        assert!(CountryCode::parse("ARM").is_err());
    }
}
