//! Times as readers see them: in the offset an incident was reported
//! with, or in the zone a reader asks for (`tz`).

use chrono::{DateTime, FixedOffset, NaiveDate, SecondsFormat, Utc};
use chrono_tz::Tz;
use serde::Serializer;

/// Where the times of an answer are shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Zone {
    /// Each incident in the offset it was reported with; claims in UTC.
    #[default]
    Reported,
    /// Every time in this zone (`?tz=`).
    Asked(Tz),
}

impl Zone {
    /// `t` as shown: in the zone asked for, else in `reported`.
    pub fn show(self, t: DateTime<Utc>, reported: FixedOffset) -> DateTime<FixedOffset> {
        match self {
            Zone::Reported => t.with_timezone(&reported),
            Zone::Asked(tz) => t.with_timezone(&tz).fixed_offset(),
        }
    }

    /// The zone asked for, if any.
    pub fn asked(self) -> Option<Tz> {
        match self {
            Zone::Reported => None,
            Zone::Asked(tz) => Some(tz),
        }
    }
}

/// The offset of seconds east of UTC; UTC itself when out of range (the
/// database's CHECK keeps stored ones in range).
pub fn offset(seconds: i32) -> FixedOffset {
    FixedOffset::east_opt(seconds).unwrap_or_else(|| FixedOffset::east_opt(0).expect("zero is an offset"))
}

/// The date of `t` where it is shown.
pub fn local_date(t: DateTime<FixedOffset>) -> NaiveDate {
    t.date_naive()
}

/// RFC 3339 with the offset, `Z` for UTC, fractions of a second only when
/// there are some: the way times of the API have always read.
pub fn rfc3339<S: Serializer>(t: &DateTime<FixedOffset>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&t.to_rfc3339_opts(SecondsFormat::AutoSi, true))
}

/// `rfc3339` of an optional time.
pub fn rfc3339_opt<S: Serializer>(t: &Option<DateTime<FixedOffset>>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => rfc3339(t, s),
        None => s.serialize_none(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shown_in_the_reported_offset_or_the_zone_asked() {
        let t: DateTime<Utc> = "2025-07-13T22:00:00Z".parse().unwrap();
        let baku = offset(4 * 3600);
        assert_eq!(Zone::Reported.show(t, baku).to_rfc3339(), "2025-07-14T02:00:00+04:00");
        assert_eq!(local_date(Zone::Reported.show(t, baku)).to_string(), "2025-07-14");
        let asked = Zone::Asked("America/New_York".parse().unwrap()).show(t, baku);
        assert_eq!(asked.to_rfc3339(), "2025-07-13T18:00:00-04:00");
        let mut out = Vec::new();
        rfc3339(&Zone::Reported.show(t, offset(0)), &mut serde_json::Serializer::new(&mut out)).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "\"2025-07-13T22:00:00Z\"");
    }
}
