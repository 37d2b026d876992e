//! What a claimant says happened (its account), where fire came from and
//! landed (sites), and how far the standing accounts of an incident agree.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::incident::Casualties;
use super::text::{PlaceName, StatedViolations};
use super::{CountryCode, IncidentType, PlaceSlug, TimePrecision};
use crate::error::FieldError;

/// A point named by an account, or an incident's origin: every field
/// optional, but at least one of `name`, `country`, coordinates or `place`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "Basarkechar (Vardenis)", "country": "AM", "lat": 40.1817, "lon": 45.7306}))]
pub struct Site {
    #[schema(schema_with = PlaceName::nullable_schema)]
    pub name: Option<PlaceName>,
    pub country: Option<CountryCode>,
    /// WGS 84 latitude; given together with `lon`.
    #[schema(minimum = -90, maximum = 90)]
    pub lat: Option<f64>,
    /// WGS 84 longitude; given together with `lat`.
    #[schema(minimum = -180, maximum = 180)]
    pub lon: Option<f64>,
    /// The gazetteer's slug for the place, when it has one.
    pub place: Option<PlaceSlug>,
}

impl Site {
    /// The checks serde cannot make; pointers start with `at`.
    pub fn check(&self, at: &str, errors: &mut Vec<FieldError>) {
        if self.name.is_none()
            && self.country.is_none()
            && self.lat.is_none()
            && self.lon.is_none()
            && self.place.is_none()
        {
            errors.push(FieldError::new(at, "name at least one of name, country, lat and lon, or place"));
        }
        match (self.lat, self.lon) {
            (Some(lat), Some(lon)) => {
                if !(-90.0..=90.0).contains(&lat) {
                    errors.push(FieldError::new(format!("{at}/lat"), "a latitude lies between -90 and 90"));
                }
                if !(-180.0..=180.0).contains(&lon) {
                    errors.push(FieldError::new(format!("{at}/lon"), "a longitude lies between -180 and 180"));
                }
            }
            (None, None) => {}
            (None, Some(_)) => errors.push(FieldError::new(format!("{at}/lat"), "give lat and lon together")),
            (Some(_), None) => errors.push(FieldError::new(format!("{at}/lon"), "give lat and lon together")),
        }
    }
}

/// A claimant's own version of the facts. Every field is optional: an
/// absent one is not stated (a casualty count of `0` states none).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "occurred_at": "2025-07-03T21:40:00+04:00", "time_precision": "minute", "type": "small_arms_fire",
    "origin": {"name": "Basarkechar (Vardenis)", "country": "AM"},
    "impact": {"name": "Kalbajar direction", "country": "AZ"},
    "casualties": {"killed_military": 0, "wounded_military": 1}
}))]
pub struct Account {
    /// When the claimant says it happened.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub occurred_at: Option<DateTime<Utc>>,
    /// How precisely the claimant dates it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time_precision: Option<TimePrecision>,
    /// What the claimant says happened.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub incident_type: Option<IncidentType>,
    /// Where the claimant says the fire or the act came from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub origin: Option<Site>,
    /// Where the claimant says it landed or happened.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub impact: Option<Site>,
    /// The claimant's casualty figures.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub casualties: Option<Casualties>,
    /// How many violations the claimant counts.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(schema_with = StatedViolations::nullable_schema)]
    pub violations: Option<StatedViolations>,
}

impl Account {
    /// Whether it states nothing at all.
    pub fn is_empty(&self) -> bool {
        self.occurred_at.is_none()
            && self.time_precision.is_none()
            && self.incident_type.is_none()
            && self.origin.is_none()
            && self.impact.is_none()
            && self.casualties.as_ref().is_none_or(|c| *c == Casualties::default())
            && self.violations.is_none()
    }

    /// The checks serde cannot make; pointers start with `at`.
    pub fn check(&self, at: &str, now: DateTime<Utc>, errors: &mut Vec<FieldError>) {
        if let Some(t) = self.occurred_at {
            let earliest =
                chrono::NaiveDate::from_ymd_opt(1900, 1, 1).and_then(|d| d.and_hms_opt(0, 0, 0)).map(|t| t.and_utc());
            if Some(t) < earliest || t > now + chrono::Duration::days(1) {
                errors.push(FieldError::new(format!("{at}/occurred_at"), "must lie between 1900 and now"));
            }
        }
        if let Some(o) = &self.origin {
            o.check(&format!("{at}/origin"), errors);
        }
        if let Some(i) = &self.impact {
            i.check(&format!("{at}/impact"), errors);
        }
        if self.is_empty() {
            errors.push(FieldError::new(at, "an account states at least one field; leave it out to state none"));
        }
    }

    /// Every stated field, by its path (`origin.country`), with its value.
    pub fn fields(&self) -> Vec<(&'static str, Stated)> {
        let mut out: Vec<(&'static str, Stated)> = Vec::new();
        if let Some(t) = self.occurred_at {
            let precision = self.time_precision.unwrap_or(TimePrecision::Minute);
            out.push(("occurred_at", Stated::Time(t, precision)));
        }
        if let Some(p) = self.time_precision {
            out.push(("time_precision", Stated::Loose(p.as_str().to_string().into())));
        }
        if let Some(t) = self.incident_type {
            out.push(("type", Stated::Exact(t.as_str().to_string().into())));
        }
        for (names, site) in [
            (["origin.name", "origin.country", "origin.lat", "origin.lon", "origin.place"], &self.origin),
            (["impact.name", "impact.country", "impact.lat", "impact.lon", "impact.place"], &self.impact),
        ] {
            let Some(s) = site else { continue };
            if let Some(n) = &s.name {
                out.push((names[0], Stated::Loose(n.to_string().into())));
            }
            if let Some(c) = &s.country {
                out.push((names[1], Stated::Exact(c.as_str().to_string().into())));
            }
            if let (Some(lat), Some(lon)) = (s.lat, s.lon) {
                out.push((names[2], Stated::Loose(lat.into())));
                out.push((names[3], Stated::Loose(lon.into())));
            }
            if let Some(p) = &s.place {
                out.push((names[4], Stated::Exact(p.as_str().to_string().into())));
            }
        }
        if let Some(c) = &self.casualties {
            for (name, v) in [
                ("casualties.killed_military", c.killed_military),
                ("casualties.killed_civilian", c.killed_civilian),
                ("casualties.wounded_military", c.wounded_military),
                ("casualties.wounded_civilian", c.wounded_civilian),
            ] {
                if let Some(v) = v {
                    out.push((name, Stated::Exact(v.get().into())));
                }
            }
        }
        if let Some(v) = self.violations {
            out.push(("violations", Stated::Exact(v.get().into())));
        }
        out
    }
}

/// One stated value, and how two of them are compared.
#[derive(Debug, Clone, PartialEq)]
pub enum Stated {
    /// Different values disagree.
    Exact(serde_json::Value),
    /// Free text and coordinates: shown, never a disagreement (spellings
    /// and fixes differ without the facts differing).
    Loose(serde_json::Value),
    /// A time stands for the period its precision gives it (`period_end`);
    /// two disagree when their periods do not overlap.
    Time(DateTime<Utc>, TimePrecision),
}

impl Stated {
    fn value(&self) -> serde_json::Value {
        match self {
            Stated::Exact(v) | Stated::Loose(v) => v.clone(),
            Stated::Time(t, _) => serde_json::Value::String(t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)),
        }
    }

    fn disagrees(&self, other: &Stated) -> bool {
        match (self, other) {
            (Stated::Exact(a), Stated::Exact(b)) => a != b,
            (Stated::Time(a, pa), Stated::Time(b, pb)) => {
                let (end_a, end_b) = (period_end(*a, *pa), period_end(*b, *pb));
                end_a <= *b || end_b <= *a
            }
            _ => false,
        }
    }
}

/// The end of the period a time stated with precision `p` stands for:
/// from the time given, a minute, an hour, a day, 7 days or a calendar
/// month later.
fn period_end(t: DateTime<Utc>, p: TimePrecision) -> DateTime<Utc> {
    match p {
        TimePrecision::Minute => t + chrono::Duration::minutes(1),
        TimePrecision::Hour => t + chrono::Duration::hours(1),
        TimePrecision::Day => t + chrono::Duration::days(1),
        TimePrecision::Week => t + chrono::Duration::days(7),
        TimePrecision::Month => t.checked_add_months(chrono::Months::new(1)).unwrap_or(t + chrono::Duration::days(31)),
    }
}

/// One claim's value of one account field.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct StatedValue {
    pub claim_id: Uuid,
    pub claimant: String,
    #[schema(schema_with = stated_value_schema)]
    pub value: serde_json::Value,
}

fn stated_value_schema() -> utoipa::openapi::schema::Object {
    use utoipa::openapi::schema::{SchemaType, Type};
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::String, Type::Number]))
        .description(Some("As the account gives it: a number, a text, or an RFC 3339 time."))
        .build()
}

/// What the standing claims of an incident say happened, field by field.
#[derive(Debug, Clone, Default, PartialEq, Serialize, ToSchema)]
#[schema(example = json!({
    "fields": {
        "origin.country": [{"claim_id": "0197d7a0-1c00-7000-8000-000000000001", "claimant": "az-mod", "value": "AM"}],
        "casualties.wounded_military": [
            {"claim_id": "0197d7a0-1c00-7000-8000-000000000001", "claimant": "az-mod", "value": 1},
            {"claim_id": "0197d7a0-1c00-7000-8000-000000000002", "claimant": "am-mod", "value": 0}
        ]
    },
    "divergent": ["casualties.wounded_military"]
}))]
pub struct Accounts {
    /// For each field that a standing claim's account states (by its path,
    /// such as `casualties.killed_military` or `origin.country`), every
    /// value stated, in the order of the claims.
    pub fields: BTreeMap<String, Vec<StatedValue>>,
    /// The fields on which two standing claimants disagree, sorted. Names
    /// and coordinates are shown but never make a field divergent (the
    /// same place is spelled and fixed differently); a time stands for the
    /// period its precision gives it (from the time given, a minute, an
    /// hour, a day, 7 days or a calendar month long) and two disagree when
    /// their periods do not overlap; every other field when the values
    /// differ.
    pub divergent: Vec<String>,
}

impl Accounts {
    /// The accounts of the standing claims: `(claim id, claimant, account)`.
    pub fn of<'a>(standing: impl IntoIterator<Item = (Uuid, &'a str, &'a Account)>) -> Self {
        let mut stated: BTreeMap<&'static str, Vec<(Uuid, &str, Stated)>> = BTreeMap::new();
        for (id, claimant, account) in standing {
            for (field, value) in account.fields() {
                stated.entry(field).or_default().push((id, claimant, value));
            }
        }
        let divergent = stated
            .iter()
            .filter(|(_, values)| {
                values
                    .iter()
                    .enumerate()
                    .any(|(i, (_, ca, a))| values[i + 1..].iter().any(|(_, cb, b)| ca != cb && a.disagrees(b)))
            })
            .map(|(f, _)| f.to_string())
            .collect();
        let fields = stated
            .into_iter()
            .map(|(f, values)| {
                let values = values
                    .into_iter()
                    .map(|(claim_id, claimant, v)| StatedValue {
                        claim_id,
                        claimant: claimant.to_string(),
                        value: v.value(),
                    })
                    .collect();
                (f.to_string(), values)
            })
            .collect();
        Accounts { fields, divergent }
    }

    pub fn is_divergent(&self) -> bool {
        !self.divergent.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn account(v: serde_json::Value) -> Account {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn figures_of_two_ministries_diverge_names_do_not() {
        let az = account(json!({"origin": {"name": "Basarkechar (Vardenis)", "country": "AM"},
                                "casualties": {"wounded_military": 1}}));
        let am = account(json!({"origin": {"name": "Vardenis", "country": "AM"},
                                "casualties": {"wounded_military": 0}}));
        let (a, b) = (Uuid::from_u128(1), Uuid::from_u128(2));
        let accounts = Accounts::of([(a, "az-mod", &az), (b, "am-mod", &am)]);
        assert_eq!(accounts.divergent, vec!["casualties.wounded_military".to_string()]);
        assert_eq!(accounts.fields["origin.name"].len(), 2);
        assert_eq!(accounts.fields["casualties.wounded_military"][1].value, json!(0));
        // One claimant's two figures are not a disagreement.
        let revised = account(json!({"casualties": {"wounded_military": 2}}));
        let one = Accounts::of([(a, "az-mod", &az), (b, "az-mod", &revised)]);
        assert!(!one.is_divergent());
    }

    #[test]
    fn times_disagree_beyond_their_precision() {
        let a = account(json!({"occurred_at": "2025-07-03T17:40:00Z", "time_precision": "day"}));
        let b = account(json!({"occurred_at": "2025-07-03T23:00:00Z"}));
        let c = account(json!({"occurred_at": "2025-07-05T23:00:00Z"}));
        let ids = (Uuid::from_u128(1), Uuid::from_u128(2));
        assert!(!Accounts::of([(ids.0, "x", &a), (ids.1, "y", &b)]).divergent.contains(&"occurred_at".to_string()));
        assert!(Accounts::of([(ids.0, "x", &a), (ids.1, "y", &c)]).divergent.contains(&"occurred_at".to_string()));
        // June and July are two months, though 30 days apart.
        let june = account(json!({"occurred_at": "2025-06-01T00:00:00Z", "time_precision": "month"}));
        let july = account(json!({"occurred_at": "2025-07-01T00:00:00Z", "time_precision": "month"}));
        let mid_june = account(json!({"occurred_at": "2025-06-20T08:00:00Z"}));
        let of = |x: &Account, y: &Account| Accounts::of([(ids.0, "x", x), (ids.1, "y", y)]).is_divergent();
        assert!(of(&june, &july));
        assert!(!of(&june, &mid_june));
        assert!(of(&july, &mid_june));
    }

    #[test]
    fn empty_sites_and_accounts_are_refused() {
        let mut errors = Vec::new();
        account(json!({"origin": {}})).check("/account", Utc::now(), &mut errors);
        assert_eq!(errors[0].pointer, "/account/origin");
        let mut errors = Vec::new();
        Account::default().check("/account", Utc::now(), &mut errors);
        assert_eq!(errors[0].pointer, "/account");
        assert!(serde_json::from_value::<Account>(json!({"killed": 3})).is_err());
    }
}
