//! Text and number fields with their limits: each type's constructor is the only
//! check, and the same limits describe it in the OpenAPI document, so the
//! spec, the check and the error's pointer (the field's, through serde)
//! come from one place.

use serde::{Deserialize, Deserializer, Serialize};

/// The check of a text field: `min` to `max` characters, and not blank
/// when `min` is 1 or more.
fn check(value: &str, min: usize, max: usize) -> Result<(), String> {
    let n = value.chars().count();
    if n < min || n > max || (min > 0 && value.trim().is_empty()) {
        return Err(if min > 0 {
            format!("1 to {max} characters, not blank")
        } else {
            format!("at most {max} characters")
        });
    }
    Ok(())
}

macro_rules! text {
    ($(#[$meta:meta])* $name:ident, $description:literal, $min:literal, $max:literal $(, $pattern:literal)?) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            fn schema_of(kind: utoipa::openapi::schema::SchemaType) -> utoipa::openapi::schema::Object {
                let schema = utoipa::openapi::ObjectBuilder::new()
                    .schema_type(kind)
                    .description(Some($description))
                    .max_length(Some($max));
                let schema = if $min > 0 { schema.min_length(Some($min)) } else { schema };
                $(let schema = schema.pattern(Some($pattern));)?
                schema.build()
            }

            /// The schema of an optional field of this type (`null` allowed).
            pub fn nullable_schema() -> utoipa::openapi::schema::Object {
                use utoipa::openapi::schema::{SchemaType, Type};
                Self::schema_of(SchemaType::from_iter([Type::String, Type::Null]))
            }
        }

        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                Self::schema_of(utoipa::openapi::schema::Type::String.into()).into()
            }
        }

        impl utoipa::ToSchema for $name {}

        impl $name {
            pub fn parse(s: &str) -> Result<Self, String> {
                check(s, $min, $max).map(|()| Self(s.to_string()))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }

            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                Self::parse(&String::deserialize(d)?).map_err(serde::de::Error::custom)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

text!(
    /// An incident's title: 1 to 500 characters, not blank.
    Title, "1 to 500 characters.", 1, 500, "\\S"
);

text!(
    /// What an incident's report says, beyond its title.
    Description, "Up to 20,000 characters.", 0, 20000
);

text!(
    /// A place's name.
    PlaceName, "A place name, 1 to 200 characters.", 1, 200, "\\S"
);

text!(
    /// A stretch of border, as the reporting community names it.
    BorderSector, "A stretch of border, as the reporting community names it.", 1, 200, "\\S"
);

text!(
    /// A source's title.
    SourceTitle, "Up to 500 characters.", 0, 500
);

text!(
    /// Who published a source.
    Publisher, "Up to 200 characters.", 0, 200
);

text!(
    /// What a claimant said, in its words.
    Quote, "Up to 5,000 characters.", 0, 5000
);

text!(
    /// A party's name.
    PartyName, "1 to 200 characters.", 1, 200, "\\S"
);

text!(
    /// Why an editor voided a claim.
    VoidReason, "Why the claim was voided: 1 to 2,000 characters, not blank.", 1, 2000, "\\S"
);

macro_rules! number {
    ($(#[$meta:meta])* $name:ident, $description:literal, $min:literal, $max:literal) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
        #[serde(transparent)]
        pub struct $name(u32);

        impl $name {
            pub fn new(n: i64) -> Result<Self, String> {
                match u32::try_from(n) {
                    Ok(v) if ($min..=$max).contains(&v) => Ok(Self(v)),
                    _ => Err(format!("{} to {}", $min, $max)),
                }
            }

            pub fn get(self) -> u32 {
                self.0
            }

            fn schema_of(kind: utoipa::openapi::schema::SchemaType) -> utoipa::openapi::schema::Object {
                utoipa::openapi::ObjectBuilder::new()
                    .schema_type(kind)
                    .format(Some(utoipa::openapi::schema::SchemaFormat::KnownFormat(
                        utoipa::openapi::schema::KnownFormat::Int32,
                    )))
                    .description(Some($description))
                    .minimum(Some($min))
                    .maximum(Some($max))
                    .build()
            }

            /// The schema of an optional field of this type (`null` allowed).
            pub fn nullable_schema() -> utoipa::openapi::schema::Object {
                use utoipa::openapi::schema::{SchemaType, Type};
                Self::schema_of(SchemaType::from_iter([Type::Integer, Type::Null]))
            }
        }

        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                Self::schema_of(utoipa::openapi::schema::Type::Integer.into()).into()
            }
        }

        impl utoipa::ToSchema for $name {}

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                // Any JSON number, so that a float or a huge one gets this
                // type's message rather than serde's.
                let n = serde_json::Number::deserialize(d)?;
                n.as_i64().ok_or_else(|| format!("{} to {}", $min, $max)).and_then(Self::new).map_err(serde::de::Error::custom)
            }
        }
    };
}

number!(
    /// How many violations a report covers.
    Violations, "How many violations the report covers. Default 1.", 1, 100000
);

impl Default for Violations {
    fn default() -> Self {
        Self(1)
    }
}

number!(
    /// People killed or wounded, of one kind.
    Headcount, "People, as reported; absent is unknown, not zero.", 0, 100000
);

number!(
    /// How many violations a claimant says an incident covers.
    StatedViolations, "How many violations the claimant says the incident covers; 0 states none.", 0, 100000
);

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn texts_hold_their_limits() {
        assert!(Title::parse("Fire near Sotk").is_ok());
        assert_eq!(Title::parse("  ").unwrap_err(), "1 to 500 characters, not blank");
        assert!(Title::parse(&"é".repeat(500)).is_ok(), "characters, not bytes");
        assert!(Title::parse(&"é".repeat(501)).is_err());
        assert!(Description::parse("").is_ok());
        assert_eq!(Quote::parse(&"q".repeat(5001)).unwrap_err(), "at most 5000 characters");
        assert!(serde_json::from_value::<PlaceName>(json!("")).is_err());
        assert_eq!(serde_json::to_value(PartyName::parse("EU").unwrap()).unwrap(), json!("EU"));
    }

    #[test]
    fn numbers_hold_their_limits_whatever_json_number_comes() {
        for bad in [json!(0), json!(100_001), json!(-1), json!(1.5), json!(1e300), json!(12345678901234567890u64)] {
            assert!(serde_json::from_value::<Violations>(bad.clone()).is_err(), "{bad}");
        }
        assert_eq!(serde_json::from_value::<Violations>(json!(46)).unwrap().get(), 46);
        assert_eq!(Violations::default().get(), 1);
        assert!(serde_json::from_value::<Headcount>(json!(0)).is_ok());
        assert!(serde_json::from_value::<Headcount>(json!(-1)).is_err());
    }
}
