//! Calendar periods in a time zone: the buckets of the counts.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The length of a bucket. Weeks are ISO weeks, starting on Monday.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Interval {
    Day,
    Week,
    Month,
    Quarter,
    Year,
}

impl Interval {
    pub fn parse(s: &str) -> Result<Self, String> {
        match s {
            "day" => Ok(Self::Day),
            "week" => Ok(Self::Week),
            "month" => Ok(Self::Month),
            "quarter" => Ok(Self::Quarter),
            "year" => Ok(Self::Year),
            _ => Err(format!(
                "`{}` is not one of day, week, month, quarter, year",
                s.chars().take(40).collect::<String>()
            )),
        }
    }

    /// PostgreSQL's `date_trunc` field, which truncates the same way.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Day => "day",
            Self::Week => "week",
            Self::Month => "month",
            Self::Quarter => "quarter",
            Self::Year => "year",
        }
    }

    /// The first day of the period holding `date`.
    pub fn floor(self, date: NaiveDate) -> NaiveDate {
        let ymd = |y, m| NaiveDate::from_ymd_opt(y, m, 1).unwrap_or(date);
        match self {
            Self::Day => date,
            Self::Week => date - Duration::days(i64::from(date.weekday().num_days_from_monday())),
            Self::Month => ymd(date.year(), date.month()),
            Self::Quarter => ymd(date.year(), (date.month() - 1) / 3 * 3 + 1),
            Self::Year => ymd(date.year(), 1),
        }
    }

    /// The first day of the next period.
    pub fn next(self, start: NaiveDate) -> NaiveDate {
        let add_months = |d: NaiveDate, n: u32| d.checked_add_months(chrono::Months::new(n)).unwrap_or(NaiveDate::MAX);
        match self {
            Self::Day => start + Duration::days(1),
            Self::Week => start + Duration::days(7),
            Self::Month => add_months(start, 1),
            Self::Quarter => add_months(start, 3),
            Self::Year => add_months(start, 12),
        }
    }
}

/// The instant a local midnight falls on. Where a zone skips midnight
/// (a daylight-saving change at 00:00), the period starts at the first
/// instant that exists.
pub fn local_midnight(tz: Tz, date: NaiveDate) -> DateTime<Tz> {
    let midnight = date.and_hms_opt(0, 0, 0).unwrap_or_default();
    let mut local: NaiveDateTime = midnight;
    for _ in 0..48 {
        if let Some(t) = tz.from_local_datetime(&local).earliest() {
            return t;
        }
        local += Duration::minutes(30);
    }
    tz.from_utc_datetime(&midnight)
}

/// The periods (as local start dates) that overlap `[from, to)`.
/// `None` when there would be more than `max`.
pub fn periods(
    interval: Interval,
    tz: Tz,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    max: usize,
) -> Option<Vec<NaiveDate>> {
    let mut start = interval.floor(from.with_timezone(&tz).date_naive());
    let mut out = Vec::new();
    while local_midnight(tz, start).with_timezone(&Utc) < to {
        if out.len() == max {
            return None;
        }
        out.push(start);
        start = interval.next(start);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn floors() {
        assert_eq!(Interval::Week.floor(d(2023, 8, 20)), d(2023, 8, 14), "ISO weeks start on Monday");
        assert_eq!(Interval::Week.floor(d(2023, 8, 14)), d(2023, 8, 14));
        assert_eq!(Interval::Quarter.floor(d(2023, 8, 20)), d(2023, 7, 1));
        assert_eq!(Interval::Month.next(d(2023, 12, 1)), d(2024, 1, 1));
        assert_eq!(Interval::Year.floor(d(2023, 8, 20)), d(2023, 1, 1));
    }

    #[test]
    fn daylight_saving_days_are_23_and_25_hours() {
        let tz: Tz = "Europe/Berlin".parse().unwrap();
        let spring = local_midnight(tz, d(2024, 3, 31));
        let next = local_midnight(tz, d(2024, 4, 1));
        assert_eq!((next - spring).num_hours(), 23);
        let autumn = local_midnight(tz, d(2024, 10, 27));
        assert_eq!((local_midnight(tz, d(2024, 10, 28)) - autumn).num_hours(), 25);
    }

    #[test]
    fn odd_offsets() {
        let tz: Tz = "Asia/Kathmandu".parse().unwrap();
        assert_eq!(local_midnight(tz, d(2024, 1, 1)).to_rfc3339(), "2024-01-01T00:00:00+05:45");
        let from = "2023-12-31T18:14:00Z".parse().unwrap();
        let to = "2023-12-31T18:16:00Z".parse().unwrap();
        assert_eq!(periods(Interval::Day, tz, from, to, 10).unwrap(), vec![d(2023, 12, 31), d(2024, 1, 1)]);
    }

    #[test]
    fn too_many_periods() {
        let from = "2000-01-01T00:00:00Z".parse().unwrap();
        let to = "2100-01-01T00:00:00Z".parse().unwrap();
        assert!(periods(Interval::Day, Tz::UTC, from, to, 20_000).is_none());
        assert_eq!(periods(Interval::Year, Tz::UTC, from, to, 20_000).unwrap().len(), 100);
    }
}
