//! A count's query string parsed once into a `CountRequest` (and the
//! answer's format), every bad parameter a 400 naming it.

use std::collections::BTreeSet;

use actix_web::HttpRequest;
use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;

use super::chart::{self, ChartSpec};
use crate::api::extract::{clip, QueryParams};
use crate::api::filters::{incident_filter, parse_bound, read_zone};
use crate::domain::dimension::{Counted, Dimension, Measure};
use crate::domain::period::Interval;
use crate::domain::Stance;
use crate::error::{ApiError, ApiResult};
use crate::ledger::counts::{By, CountRequest, MAX_GROUP_BY};

/// How the answer is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Csv,
    Svg,
    Xlsx,
}

impl Format {
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Json => "application/json",
            Format::Csv => "text/csv; charset=utf-8",
            Format::Svg => "image/svg+xml",
            Format::Xlsx => crate::api::xlsx::CONTENT_TYPE,
        }
    }
}

/// A parsed count: the request, its format, and whether `to` was given
/// (without it the count runs up to its own arrival).
#[derive(Debug)]
pub struct Parsed {
    pub request: CountRequest,
    pub format: Format,
    pub to_given: bool,
    /// How a chart is drawn (`format=svg`).
    pub chart: ChartSpec,
}

/// Parses the count of `what` that `req` asks for; `now` ends a range
/// without `to`.
pub fn parse(req: &HttpRequest, what: Counted, now: DateTime<Utc>) -> ApiResult<Parsed> {
    let mut q = QueryParams::from_request(req)?;
    let format = match q.one("format")?.as_deref() {
        Some("json") => Format::Json,
        Some("csv") => Format::Csv,
        Some("svg") => Format::Svg,
        Some("xlsx") => Format::Xlsx,
        Some(other) => {
            return Err(ApiError::bad_query("format", format!("`{}` is not json, csv, svg or xlsx", clip(other))))
        }
        None => match crate::api::negotiate::negotiate(
            req,
            &["application/json", "text/csv", "image/svg+xml", crate::api::xlsx::CONTENT_TYPE],
        )? {
            0 => Format::Json,
            1 => Format::Csv,
            2 => Format::Svg,
            _ => Format::Xlsx,
        },
    };
    let size = |name: &'static str, range: std::ops::RangeInclusive<u32>| {
        move |s: &str| -> Result<u32, String> {
            s.parse::<u32>()
                .ok()
                .filter(|n| range.contains(n))
                .ok_or_else(|| format!("`{}` is not a {name} of {} to {} pixels", clip(s), range.start(), range.end()))
        }
    };
    let width = q.one_with("width", size("width", chart::WIDTHS))?;
    let height = q.one_with("height", size("height", chart::HEIGHTS))?;
    if format != Format::Svg && (width.is_some() || height.is_some()) {
        let param = if width.is_some() { "width" } else { "height" };
        return Err(ApiError::bad_query(param, "a size is for a chart (format=svg)"));
    }
    let interval = q.one_with("interval", Interval::parse)?.unwrap_or(Interval::Week);
    let tz: Tz = read_zone(&mut q)?.asked().unwrap_or(Tz::UTC);
    let from_raw = q.one("from")?;
    let to_raw = q.one("to")?;
    let to = match &to_raw {
        Some(s) => parse_bound(s, tz).map_err(|e| ApiError::bad_query("to", e))?,
        None => now,
    };
    let from = match &from_raw {
        Some(s) => parse_bound(s, tz).map_err(|e| ApiError::bad_query("from", e))?,
        None => to - Duration::days(365),
    };
    if from >= to {
        return Err(ApiError::bad_query("from", "`from` must be before `to`"));
    }
    let group_by = q.list_with("group_by", |s| Dimension::parse(s, what))?;
    if group_by.len() > MAX_GROUP_BY {
        return Err(ApiError::bad_query("group_by", format!("at most {MAX_GROUP_BY} dimensions")));
    }
    if group_by.iter().map(|d| d.name()).collect::<BTreeSet<_>>().len() != group_by.len() {
        return Err(ApiError::bad_query("group_by", "a dimension is named twice"));
    }
    let measure = match (q.one("measure")?.as_deref(), what) {
        (None | Some("incidents"), Counted::Incidents) => Measure::Incidents,
        (Some("violations"), Counted::Incidents) => Measure::Violations,
        (Some("killed"), Counted::Incidents) => Measure::Killed,
        (Some("wounded"), Counted::Incidents) => Measure::Wounded,
        (None | Some("claims"), Counted::Claims) => Measure::Claims,
        (Some("violations"), Counted::Claims) => Measure::Violations,
        (Some("killed"), Counted::Claims) => Measure::Killed,
        (Some("wounded"), Counted::Claims) => Measure::Wounded,
        (Some(other), _) => {
            let allowed = match what {
                Counted::Claims => "claims, violations, killed, wounded",
                Counted::Incidents => "incidents, violations, killed, wounded",
            };
            return Err(ApiError::bad_query("measure", format!("`{}` is not one of {allowed}", clip(other))));
        }
    };
    let by = match (q.one("by")?.as_deref(), what) {
        (None | Some("occurred"), Counted::Incidents) => By::Occurred,
        (Some("reported"), Counted::Incidents) => By::Reported,
        (None | Some("stated"), Counted::Claims) => By::Stated,
        (Some("occurred"), Counted::Claims) => By::Occurred,
        (Some(other), _) => {
            let allowed = match what {
                Counted::Claims => "stated, occurred",
                Counted::Incidents => "occurred, reported",
            };
            return Err(ApiError::bad_query("by", format!("`{}` is not one of {allowed}", clip(other))));
        }
    };
    let stances = match what {
        Counted::Claims => q.list_with("stance", Stance::parse)?,
        Counted::Incidents => Vec::new(),
    };
    let filter = incident_filter(&mut q, tz)?;
    q.finish()?;
    let request = CountRequest { what, interval, tz, from, to, group_by, measure, by, stances, filter };
    let chart = ChartSpec {
        width: width.unwrap_or(800),
        height: height.unwrap_or(400),
        title: chart_title(&request),
        subtitle: chart_filters(req),
    };
    Ok(Parsed { request, format, to_given: to_raw.is_some(), chart })
}

/// "Claims per week by claimant, Asia/Baku, 2025-07-01 to 2025-08-01".
fn chart_title(r: &CountRequest) -> String {
    let what = match r.measure {
        Measure::Incidents => "Incidents",
        Measure::Claims => "Claims",
        Measure::Violations => "Violations",
        Measure::Killed => "Killed",
        Measure::Wounded => "Wounded",
    };
    let by = match r.group_by.is_empty() {
        true => String::new(),
        false => format!(" by {}", r.group_by.iter().map(|d| d.name()).collect::<Vec<_>>().join(", ")),
    };
    let day = |t: DateTime<Utc>| t.with_timezone(&r.tz).format("%Y-%m-%d %H:%M").to_string().replace(" 00:00", "");
    format!("{what} per {}{by}, {}, {} to {}", r.interval.as_str(), r.tz.name(), day(r.from), day(r.to))
}

/// The filters of the request, as given: the chart's second line.
fn chart_filters(req: &HttpRequest) -> String {
    let shown = ["interval", "tz", "from", "to", "group_by", "measure", "format", "width", "height"];
    url::form_urlencoded::parse(req.query_string().as_bytes())
        .filter(|(k, _)| !shown.contains(&k.as_ref()))
        .map(|(k, v)| format!("{k}={}", v.chars().take(60).collect::<String>()))
        .take(12)
        .collect::<Vec<_>>()
        .join(" · ")
}

#[cfg(test)]
mod tests {
    use actix_web::http::header;
    use actix_web::test::TestRequest;
    use chrono::TimeZone;

    use super::*;
    use crate::ledger::counts::Plan;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 7, 20, 12, 0, 0).unwrap()
    }

    fn parse_query(query: &str, what: Counted) -> ApiResult<Parsed> {
        parse(&TestRequest::get().uri(&format!("/v1/stats/incidents?{query}")).to_http_request(), what, now())
    }

    fn bad(query: &str, what: Counted) -> String {
        let e = parse_query(query, what).unwrap_err();
        assert_eq!(e.status.as_u16(), 400, "{query}");
        e.errors[0].pointer.clone()
    }

    #[test]
    fn a_week_by_accuser_side_in_baku() {
        let p = parse_query(
            "interval=week&from=2025-07-14&to=2025-07-21&tz=Asia/Baku&group_by=accuser_side&type=artillery_fire",
            Counted::Incidents,
        )
        .unwrap();
        let r = &p.request;
        assert_eq!((p.format, p.to_given), (Format::Json, true));
        assert_eq!(r.from, Utc.with_ymd_and_hms(2025, 7, 13, 20, 0, 0).unwrap(), "midnight in Baku (+04:00)");
        assert_eq!(r.group_by, [Dimension::AccuserSide]);
        assert_eq!((r.measure, r.by), (Measure::Incidents, By::Occurred));
        assert_eq!(r.periods().unwrap().len(), 1);
        // One dimension and one filter the rollups keep: they answer it.
        let plan = r.plan();
        assert!(matches!(plan, Plan::Rollups(_)));
        assert!(!plan.is_expensive(r.tz, &["Asia/Baku".to_string()]));
        assert!(plan.is_expensive(r.tz, &["UTC".to_string()]), "a zone not rolled up reads the rows");
    }

    #[test]
    fn defaults_and_claims() {
        let p = parse_query("group_by=claimant,stance&stance=accuses&format=csv", Counted::Claims).unwrap();
        let r = &p.request;
        assert_eq!((p.format, p.to_given), (Format::Csv, false));
        assert_eq!((r.to, r.to - r.from), (now(), Duration::days(365)));
        assert_eq!(r.group_by, [Dimension::ClaimClaimant, Dimension::Stance]);
        assert_eq!((r.measure, r.by, r.stances.as_slice()), (Measure::Claims, By::Stated, &[Stance::Accuses][..]));
        assert!(matches!(r.plan(), Plan::ClaimRollups(_)), "claims by what they keep are counted from their rollups");
        assert!(!r.plan().is_expensive(r.tz, &["UTC".to_string()]));
        let filtered = parse_query("group_by=claimant&denied=true", Counted::Claims).unwrap();
        assert!(matches!(filtered.request.plan(), Plan::Rows), "an incident filter reads the rows");
        let verified = parse_query("group_by=verification", Counted::Claims).unwrap();
        assert!(matches!(verified.request.plan(), Plan::Rows), "so does a dimension the claim rollups do not keep");
    }

    #[test]
    fn free_text_and_many_dimensions_read_the_rows() {
        let q = parse_query("q=mortar", Counted::Incidents).unwrap();
        assert!(matches!(q.request.plan(), Plan::Rows));
        let many = parse_query("group_by=type,country,border_sector", Counted::Incidents).unwrap();
        let plan = many.request.plan();
        assert!(plan.is_expensive(many.request.tz, &["UTC".to_string()]), "three dimensions are not rolled up");
    }

    #[test]
    fn each_bad_parameter_is_named() {
        assert_eq!(bad("tz=Mars/Olympus", Counted::Incidents), "/query/tz");
        assert_eq!(bad("from=2025-01-02&to=2025-01-01", Counted::Incidents), "/query/from");
        assert_eq!(bad("group_by=stance", Counted::Incidents), "/query/group_by");
        assert_eq!(bad("group_by=type,type", Counted::Incidents), "/query/group_by");
        assert_eq!(bad("group_by=type,country,denied,accuser,accused", Counted::Incidents), "/query/group_by");
        assert_eq!(bad("measure=claims", Counted::Incidents), "/query/measure");
        assert_eq!(bad("by=stated", Counted::Incidents), "/query/by");
        assert_eq!(bad("interval=fortnight", Counted::Incidents), "/query/interval");
        assert_eq!(bad("format=xml", Counted::Incidents), "/query/format");
        assert_eq!(bad("colour=red", Counted::Incidents), "/query/colour");
        assert_eq!(bad("interval=week&from=-262143-01-01&to=-262143-02-01", Counted::Incidents), "/query/to");
        assert_eq!(bad("from=0000-12-31T00:00:00Z", Counted::Claims), "/query/from");
    }

    #[test]
    fn accept_chooses_the_format() {
        let req = TestRequest::get()
            .uri("/v1/stats/incidents")
            .insert_header((header::ACCEPT, "application/json;q=0.5, text/csv"))
            .to_http_request();
        assert_eq!(parse(&req, Counted::Incidents, now()).unwrap().format, Format::Csv);
    }
}
