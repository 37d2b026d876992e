//! Places of the gazetteer: a settlement or position by every name it goes
//! by, with its administrative areas, as clients write and read it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::text::PlaceName;
use super::{CountryCode, PlaceSlug};
use crate::error::FieldError;

/// Alternate names a place may have.
pub const MAX_ALT_NAMES: usize = 50;

/// A place as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!(kalbajar_example()))]
pub struct PlaceView {
    pub slug: String,
    /// The name it is shown by.
    pub name: String,
    /// Every other name it goes by, in any script or transliteration; `q`
    /// and the `place` filter match these as well as `name`.
    pub alt_names: Vec<String>,
    /// ISO 3166-1 alpha-2.
    pub country: Option<String>,
    /// The first-level administrative area (a marz of Armenia, an economic
    /// region of Azerbaijan).
    pub admin1: Option<String>,
    /// The second-level area (a district, a rayon), when there is one.
    pub admin2: Option<String>,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The example of the spec.
pub fn kalbajar_example() -> serde_json::Value {
    serde_json::json!({
        "slug": "kalbajar", "name": "Kalbajar",
        "alt_names": ["Kəlbəcər", "Kelbajar", "Karvachar", "Քարվաճառ", "Кельбаджар", "Карвачар"],
        "country": "AZ", "admin1": "East Zangezur", "admin2": "Kalbajar District", "lat": 40.1047, "lon": 46.0389
    })
}

/// A new place, or a place after a merge patch (which cannot change the slug).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!(kalbajar_example()))]
pub struct NewPlace {
    pub slug: PlaceSlug,
    #[schema(inline)]
    pub name: PlaceName,
    /// Up to 50, each 1 to 200 characters.
    #[serde(default)]
    #[schema(max_items = 50, value_type = Vec<String>)]
    pub alt_names: Vec<PlaceName>,
    pub country: Option<CountryCode>,
    #[schema(schema_with = PlaceName::nullable_schema)]
    pub admin1: Option<PlaceName>,
    #[schema(schema_with = PlaceName::nullable_schema)]
    pub admin2: Option<PlaceName>,
    /// WGS 84; given together with `lon`.
    #[schema(minimum = -90, maximum = 90)]
    pub lat: Option<f64>,
    #[schema(minimum = -180, maximum = 180)]
    pub lon: Option<f64>,
}

impl NewPlace {
    /// The checks serde cannot make.
    pub fn check(&self, errors: &mut Vec<FieldError>) {
        if self.alt_names.len() > MAX_ALT_NAMES {
            errors.push(FieldError::new("/alt_names", format!("at most {MAX_ALT_NAMES} alternate names")));
        }
        match (self.lat, self.lon) {
            (Some(lat), Some(lon)) => {
                if !(-90.0..=90.0).contains(&lat) {
                    errors.push(FieldError::new("/lat", "a latitude lies between -90 and 90"));
                }
                if !(-180.0..=180.0).contains(&lon) {
                    errors.push(FieldError::new("/lon", "a longitude lies between -180 and 180"));
                }
            }
            (None, None) => {}
            (None, Some(_)) => errors.push(FieldError::new("/lat", "give lat and lon together")),
            (Some(_), None) => errors.push(FieldError::new("/lon", "give lat and lon together")),
        }
    }
}
