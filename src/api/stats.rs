//! `/v1/stats/incidents` and `/v1/stats/claims`: counts by calendar period
//! in any time zone, grouped, zero-filled, as JSON or CSV.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use chrono_tz::Tz;
use serde::Serialize;
use utoipa::{IntoParams, ToSchema};

use super::auth::CanRead;
use super::common::{body_etag, not_modified};
use super::extract::{clip, QueryParams};
use super::filters::{incident_filter, RawFilter};
use crate::api::state::AppState;
use crate::domain::period::{local_midnight, periods, Interval};
use crate::domain::spreadsheet::neutralize;
use crate::error::{ApiError, ApiResult, Problem};
use crate::store::rollup::{self, Basis, Dim, RollupSpec};
use crate::store::stats::{self, Count, Dimension, Measure, StatsSpec, MAX_GROUP_BY};

/// The most periods one answer may hold.
pub const MAX_PERIODS: usize = 20_000;

/// One group's value in one period. The group's dimensions appear as
/// fields named after them (`accuser`, `type`, ...); null is "none" (an
/// incident nobody accused, a claim without target).
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"period_start": "2023-08-14T00:00:00+04:00", "accuser": "am-mod", "value": 3}))]
pub struct Bucket {
    /// The start of the calendar period in the requested zone.
    pub period_start: String,
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub group: serde_json::Map<String, serde_json::Value>,
    pub value: i64,
}

/// Counts by period, in long format, zero-filled: every period of
/// `[from, to)` appears for every group that appears in the range.
#[derive(Debug, Serialize, ToSchema)]
pub struct Stats {
    pub interval: Interval,
    pub tz: String,
    pub from: String,
    pub to: String,
    pub measure: String,
    /// `occurred` or `reported` for incidents; `stated` or `occurred` for claims.
    pub by: String,
    pub group_by: Vec<String>,
    pub buckets: Vec<Bucket>,
    /// The measure over the whole range, each incident (or claim) once,
    /// however many groups it falls in.
    pub total: i64,
}

/// Parameters of both counts (with every filter of the incident list).
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct StatsParams {
    /// Length of the periods. Default `week`.
    #[param(inline)]
    interval: Option<Interval>,
    /// Start of the range (inclusive): RFC 3339, or a date meaning its
    /// midnight in `tz`. Default: a year before `to`.
    from: Option<String>,
    /// End of the range (exclusive). Default: now.
    to: Option<String>,
    /// An IANA time zone such as `Asia/Baku`. Default `UTC`.
    #[param(example = "Asia/Baku")]
    tz: Option<String>,
    /// Up to 4 dimensions, repeated or comma-separated.
    #[param(explode = true)]
    group_by: Option<Vec<String>>,
    /// `json` (default) or `csv`; overrides `Accept`.
    format: Option<String>,
}

fn parse_dimension(s: &str, claims: bool) -> Result<(String, Dimension), String> {
    let dim = match (s, claims) {
        ("type", _) => Dimension::Type,
        ("verification", _) => Dimension::Verification,
        ("border_sector", _) => Dimension::BorderSector,
        ("country", _) => Dimension::Country,
        ("denied", _) => Dimension::Denied,
        ("accuser", false) => Dimension::Role("accuser"),
        ("accused", false) => Dimension::Role("accused"),
        ("accuser_side", false) => Dimension::RoleSide("accuser"),
        ("accused_side", false) => Dimension::RoleSide("accused"),
        ("claimant", false) => Dimension::Role("claimant"),
        ("claimant", true) => Dimension::Claimant,
        ("claimant_side", true) => Dimension::ClaimantSide,
        ("stance", true) => Dimension::Stance,
        ("target", true) => Dimension::Target,
        ("target_side", true) => Dimension::TargetSide,
        _ => {
            let allowed = if claims {
                "claimant, claimant_side, stance, target, target_side, type, verification, border_sector, country, denied"
            } else {
                "type, accuser, accused, accuser_side, accused_side, claimant, denied, verification, border_sector, country"
            };
            return Err(format!("`{}` is not one of {allowed}", clip(s)));
        }
    };
    Ok((s.to_string(), dim))
}

/// A `from`/`to` value: RFC 3339, or a date at midnight in `tz`.
fn parse_bound(s: &str, tz: Tz) -> Result<DateTime<Utc>, String> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map(|d| local_midnight(tz, d).with_timezone(&Utc))
        .map_err(|_| format!("`{}` is neither an RFC 3339 time nor a YYYY-MM-DD date", clip(s)))
}

#[derive(Clone, Copy)]
enum Format {
    Json,
    Csv,
}

fn format(req: &HttpRequest, q: &mut QueryParams) -> ApiResult<Format> {
    match q.one("format")?.as_deref() {
        Some("json") => Ok(Format::Json),
        Some("csv") => Ok(Format::Csv),
        Some(other) => Err(ApiError::bad_query("format", format!("`{}` is not json or csv", clip(other)))),
        None => match super::negotiate::negotiate(req, &["application/json", "text/csv"])? {
            0 => Ok(Format::Json),
            _ => Ok(Format::Csv),
        },
    }
}

async fn answer(state: web::Data<AppState>, req: HttpRequest, claims: bool) -> ApiResult<HttpResponse> {
    let mut q = QueryParams::from_request(&req)?;
    let format = format(&req, &mut q)?;
    let interval = q.one_with("interval", Interval::parse)?.unwrap_or(Interval::Week);
    let tz_name = q.one("tz")?.unwrap_or_else(|| "UTC".into());
    let tz: Tz = tz_name
        .parse()
        .map_err(|_| ApiError::bad_query("tz", format!("`{}` is not an IANA time zone", clip(&tz_name))))?;
    let from_raw = q.one("from")?;
    let to_raw = q.one("to")?;
    let to = match &to_raw {
        Some(s) => parse_bound(s, tz).map_err(|e| ApiError::bad_query("to", e))?,
        None => crate::store::now(),
    };
    let from = match &from_raw {
        Some(s) => parse_bound(s, tz).map_err(|e| ApiError::bad_query("from", e))?,
        None => to - Duration::days(365),
    };
    if from >= to {
        return Err(ApiError::bad_query("from", "`from` must be before `to`"));
    }
    let group_by = q.list_with("group_by", |s| parse_dimension(s, claims))?;
    if group_by.len() > MAX_GROUP_BY {
        return Err(ApiError::bad_query("group_by", format!("at most {MAX_GROUP_BY} dimensions")));
    }
    if group_by.iter().map(|(n, _)| n).collect::<BTreeSet<_>>().len() != group_by.len() {
        return Err(ApiError::bad_query("group_by", "a dimension is named twice"));
    }
    let measure = match (q.one("measure")?.as_deref(), claims) {
        (None | Some("incidents"), false) => Measure::Incidents,
        (Some("violations"), false) => Measure::Violations,
        (Some("killed"), false) => Measure::Killed,
        (Some("wounded"), false) => Measure::Wounded,
        (None | Some("claims"), true) => Measure::Claims,
        (Some(other), _) => {
            let allowed = if claims { "claims" } else { "incidents, violations, killed, wounded" };
            return Err(ApiError::bad_query("measure", format!("`{}` is not one of {allowed}", clip(other))));
        }
    };
    let (by, date_column) = match (q.one("by")?.as_deref(), claims) {
        (None | Some("occurred"), false) => ("occurred", "incidents.occurred_at"),
        (Some("reported"), false) => ("reported", "incidents.created_at"),
        (None | Some("stated"), true) => ("stated", "claims.stated_at"),
        (Some("occurred"), true) => ("occurred", "incidents.occurred_at"),
        (Some(other), _) => {
            let allowed = if claims { "stated, occurred" } else { "occurred, reported" };
            return Err(ApiError::bad_query("by", format!("`{}` is not one of {allowed}", clip(other))));
        }
    };
    let stances = if claims {
        q.list_with("stance", |s| crate::domain::Stance::parse(s).map(|s| s.as_str().to_string()))?
    } else {
        Vec::new()
    };
    let raw = incident_filter(&mut q)?;
    q.finish()?;
    let periods = periods(interval, tz, from, to, MAX_PERIODS).ok_or_else(|| {
        ApiError::bad_query(
            "interval",
            format!("more than {MAX_PERIODS} periods; choose a longer interval or a shorter range"),
        )
    })?;

    // Identical counts asked for at once share one query (see `coalesce`).
    // Without `to`, a count runs up to its own arrival: two such requests
    // are identical only if they arrived at the same instant (sharing an
    // earlier one's range could leave out a write answered in between).
    let mut key = url::form_urlencoded::Serializer::new(format!("{}?", req.path()));
    key.extend_pairs(url::form_urlencoded::parse(req.query_string().as_bytes()).filter(|(k, _)| k != "format"));
    if to_raw.is_none() {
        key.append_pair("to", &to.to_rfc3339_opts(chrono::SecondsFormat::Micros, true));
    }
    let key = key.finish();
    let dimensions: Vec<Dimension> = group_by.iter().map(|(_, d)| *d).collect();
    let rollup = if claims { None } else { rollup_spec(&raw, &dimensions, tz, by, interval, from, to, measure) };
    let tz_name = tz.name().to_string();
    // Counts the rollups cannot answer read the rows: an expensive read.
    let rolled_up = rollup.as_ref().is_some_and(RollupSpec::reads_rollups)
        && state.rolled_up_zones.read().unwrap_or_else(|e| e.into_inner()).contains(&tz_name);
    let client = (!rolled_up).then(|| super::expensive::client_of(&req));
    let flights = state.stats_flights.clone();
    let budget = Budget { periods: periods.len(), max_buckets: state.max_buckets };
    // Periods alone may be over the limit: refused before any query.
    budget.check(1, &group_by)?;
    let width = group_by.len();
    let shared = flights
        .run(key, |close| async move {
            let _permit = match client {
                Some(client) => Some(state.expensive.acquire(client).await?),
                None => None,
            };
            let (mut conn, _) = state.lagging_read().await?;
            close();
            let mut tally = Tally::new(budget, width);
            if let Some(spec) = &rollup {
                // One statement (see `rollup::counts`).
                rollup::counts(&mut conn, spec, &mut |c| tally.add(c)).await?;
                return Ok(SharedCounts::new(tally));
            }
            conn.build_transaction()
                .read_only()
                .repeatable_read()
                .run::<_, ApiError, _>(async |conn| {
                    let h = crate::store::parties::hierarchy(conn).await?;
                    let sides = h.sides();
                    let spec = StatsSpec {
                        filter: raw.resolve(&h),
                        date_column,
                        claims,
                        stances,
                        from,
                        to,
                        tz: tz_name,
                        interval: interval.as_str(),
                        measure,
                        group_by: dimensions,
                        sides,
                    };
                    Ok(stats::counts(conn, &spec, &mut |c| tally.add(c)).await?)
                })
                .await?;
            Ok(SharedCounts::new(tally))
        })
        .await?;
    shared.tally.check(&group_by)?;
    // Requests that shared the query also share its answer, rendered once
    // per format (identical requests, identical bodies).
    let cell = match format {
        Format::Json => &shared.json,
        Format::Csv => &shared.csv,
    };
    let (bytes, etag) = match cell.get() {
        Some(rendered) => rendered.clone(),
        None => {
            let answer = Answer {
                names: group_by.into_iter().map(|(n, _)| n).collect(),
                periods: &periods,
                tz,
                from,
                to,
                interval,
                measure,
                by,
            };
            let rendered = answer.render(&shared.tally, format)?;
            let _ = cell.set(rendered.clone());
            rendered
        }
    };
    if not_modified(&req, &etag) {
        return Ok(HttpResponse::NotModified().insert_header((header::ETAG, etag)).finish());
    }
    let content_type = match format {
        Format::Json => "application/json",
        Format::Csv => "text/csv; charset=utf-8",
    };
    Ok(HttpResponse::Ok()
        .insert_header((header::ETAG, etag))
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .insert_header((header::VARY, "Accept"))
        .content_type(content_type)
        .body(bytes))
}

/// A count as identical requests share it: its rows folded, and the answer
/// once rendered in each format, with its ETag.
pub struct SharedCounts {
    tally: Tally,
    json: std::sync::OnceLock<(web::Bytes, String)>,
    csv: std::sync::OnceLock<(web::Bytes, String)>,
}

impl SharedCounts {
    fn new(tally: Tally) -> Self {
        Self { tally, json: Default::default(), csv: Default::default() }
    }
}

/// How large an answer may grow: its size is periods × groups, zero-filled.
#[derive(Clone, Copy)]
struct Budget {
    periods: usize,
    max_buckets: usize,
}

impl Budget {
    /// The answer of `buckets` buckets, or the 400 that names the figure
    /// and the limit (`groups` is a lower bound before the query).
    fn check(self, groups: usize, dimensions: &[(String, Dimension)]) -> ApiResult<()> {
        let buckets = self.periods.saturating_mul(groups);
        if buckets <= self.max_buckets {
            return Ok(());
        }
        let (param, advice) = if dimensions.is_empty() {
            ("interval", "choose a longer interval or a shorter range")
        } else {
            ("group_by", "choose a longer interval, a shorter range, fewer group_by dimensions or a filter")
        };
        let detail = format!(
            "this count has {buckets} buckets ({} periods × {groups} groups), more than the limit of {}; {advice}",
            self.periods, self.max_buckets
        );
        let mut e = ApiError::new(
            actix_web::http::StatusCode::BAD_REQUEST,
            "too-many-buckets",
            "The answer would be too large",
            detail.clone(),
        );
        e.errors.push(crate::error::FieldError::new(format!("/query/{param}"), detail));
        Err(e)
    }
}

/// The values of a group's dimensions, in `group_by` order.
type GroupKey = Vec<Option<String>>;

/// The rows of a count folded as they arrive, within the budget: each
/// group's value per period, and the total. Once periods × groups passes
/// the limit, the values are dropped and only the groups are still
/// counted, so that the refusal can name the figure.
struct Tally {
    budget: Budget,
    /// Dimensions per group (the rows carry four, the unused ones null).
    width: usize,
    /// Every group that appears, with its index into `values`' keys.
    groups: BTreeMap<GroupKey, usize>,
    values: HashMap<(NaiveDate, usize), i64>,
    total: i64,
    over: bool,
}

impl Tally {
    fn new(budget: Budget, width: usize) -> Self {
        Self { budget, width, groups: BTreeMap::new(), values: HashMap::new(), total: 0, over: false }
    }

    fn add(&mut self, c: Count) {
        let Some(period) = c.period else {
            self.total += c.value;
            return;
        };
        let key: GroupKey = [c.g0, c.g1, c.g2, c.g3].into_iter().take(self.width).collect();
        let next = self.groups.len();
        let group = *self.groups.entry(key).or_insert(next);
        if self.over {
            return;
        }
        if self.budget.periods.saturating_mul(self.groups.len()) > self.budget.max_buckets {
            self.over = true;
            self.values = HashMap::new();
            return;
        }
        *self.values.entry((period, group)).or_default() += c.value;
    }

    fn check(&self, dimensions: &[(String, Dimension)]) -> ApiResult<()> {
        self.budget.check(self.groups.len().max(1), dimensions)
    }
}

/// What an answer says besides its buckets.
struct Answer<'a> {
    names: Vec<String>,
    periods: &'a [NaiveDate],
    tz: Tz,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    interval: Interval,
    measure: Measure,
    by: &'a str,
}

impl Answer<'_> {
    /// The body in `format` and its ETag, written straight from the tally
    /// (zero-filled: every period for every group that appears, in period
    /// then group order), so memory follows the answer's bytes only.
    fn render(&self, tally: &Tally, format: Format) -> ApiResult<(web::Bytes, String)> {
        let mut groups: Vec<(&GroupKey, usize)> = tally.groups.iter().map(|(k, i)| (k, *i)).collect();
        if self.names.is_empty() && groups.is_empty() {
            groups.push((&NO_GROUP, usize::MAX));
        }
        let buckets = Buckets { answer: self, tally, groups: &groups };
        let bytes = match format {
            Format::Json => {
                let body = StatsOut {
                    interval: self.interval,
                    tz: self.tz.name(),
                    from: self.from.with_timezone(&self.tz).to_rfc3339(),
                    to: self.to.with_timezone(&self.tz).to_rfc3339(),
                    measure: measure_name(self.measure),
                    by: self.by,
                    group_by: &self.names,
                    buckets,
                    total: tally.total,
                };
                serde_json::to_vec(&body).map_err(ApiError::internal)?
            }
            Format::Csv => buckets.csv()?,
        };
        let etag = body_etag(&bytes);
        Ok((bytes.into(), etag))
    }
}

static NO_GROUP: GroupKey = Vec::new();

fn measure_name(m: Measure) -> &'static str {
    match m {
        Measure::Incidents => "incidents",
        Measure::Violations => "violations",
        Measure::Killed => "killed",
        Measure::Wounded => "wounded",
        Measure::Claims => "claims",
    }
}

/// `Stats` as it is written: the same fields, the buckets generated.
#[derive(Serialize)]
struct StatsOut<'a> {
    interval: Interval,
    tz: &'a str,
    from: String,
    to: String,
    measure: &'static str,
    by: &'a str,
    group_by: &'a [String],
    buckets: Buckets<'a>,
    total: i64,
}

/// The zero-filled buckets, generated while they are written.
struct Buckets<'a> {
    answer: &'a Answer<'a>,
    tally: &'a Tally,
    groups: &'a [(&'a GroupKey, usize)],
}

impl Buckets<'_> {
    /// Every bucket: its period's start, its group, its value.
    fn each<E>(&self, mut f: impl FnMut(&str, &GroupKey, i64) -> Result<(), E>) -> Result<(), E> {
        for period in self.answer.periods {
            let start = local_midnight(self.answer.tz, *period).to_rfc3339();
            for (group, index) in self.groups {
                let value = self.tally.values.get(&(*period, *index)).copied().unwrap_or(0);
                f(&start, group, value)?;
            }
        }
        Ok(())
    }

    fn csv(&self) -> ApiResult<Vec<u8>> {
        let names = &self.answer.names;
        let mut w = csv::Writer::from_writer(Vec::new());
        let mut header = vec!["period_start"];
        header.extend(names.iter().map(String::as_str));
        header.push("value");
        w.write_record(&header).map_err(ApiError::internal)?;
        self.each(|start, group, value| {
            let mut row: Vec<std::borrow::Cow<'_, str>> = vec![start.into()];
            row.extend(group.iter().map(|v| v.as_deref().map(neutralize).unwrap_or_default()));
            row.push(value.to_string().into());
            w.write_record(row.iter().map(|c| c.as_bytes())).map_err(ApiError::internal)
        })?;
        w.into_inner().map_err(ApiError::internal)
    }
}

impl Serialize for Buckets<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{SerializeMap, SerializeSeq};
        let names = &self.answer.names;
        let mut seq = s.serialize_seq(Some(self.answer.periods.len() * self.groups.len()))?;
        self.each(|start, group, value| seq.serialize_element(&BucketOut { start, names, group, value }))?;
        return seq.end();

        struct BucketOut<'a> {
            start: &'a str,
            names: &'a [String],
            group: &'a GroupKey,
            value: i64,
        }
        impl Serialize for BucketOut<'_> {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let mut m = s.serialize_map(Some(self.names.len() + 2))?;
                m.serialize_entry("period_start", self.start)?;
                for (name, value) in self.names.iter().zip(self.group.iter()) {
                    match (name.as_str(), value) {
                        (_, None) => m.serialize_entry(name, &())?,
                        ("denied", Some(v)) => m.serialize_entry(name, &(v == "true"))?,
                        (_, Some(v)) => m.serialize_entry(name, v)?,
                    }
                }
                m.serialize_entry("value", &self.value)?;
                m.end()
            }
        }
    }
}

/// The count as the rollups take it, when they can answer it: filters on
/// the incident dimensions only (not free text, bbox, `updated_since` or
/// deleted incidents).
#[allow(clippy::too_many_arguments)]
fn rollup_spec(
    raw: &RawFilter,
    dimensions: &[Dimension],
    tz: Tz,
    by: &str,
    interval: Interval,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    measure: Measure,
) -> Option<RollupSpec> {
    if raw.bbox.is_some() || raw.q.is_some() || raw.updated_since.is_some() || raw.include_deleted {
        return None;
    }
    let group_by = dimensions.iter().map(|d| Dim::of(*d)).collect::<Option<Vec<_>>>()?;
    let mut filters = Vec::new();
    let mut filter = |d: Dimension, values: Vec<String>| -> Option<()> {
        if !values.is_empty() {
            filters.push((Dim::of(d)?, values));
        }
        Some(())
    };
    filter(Dimension::Type, raw.types.iter().map(|t| t.as_str().to_string()).collect())?;
    filter(Dimension::Verification, raw.verification.iter().map(|v| v.as_str().to_string()).collect())?;
    filter(Dimension::BorderSector, raw.border_sector.clone())?;
    filter(Dimension::Country, raw.country.clone())?;
    filter(Dimension::Denied, raw.denied.map(|d| d.to_string()).into_iter().collect())?;
    filter(Dimension::Role("accuser"), raw.accuser.clone())?;
    filter(Dimension::Role("accused"), raw.accused.clone())?;
    filter(Dimension::Role("claimant"), raw.claimant.clone())?;
    filter(Dimension::RoleSide("accuser"), raw.accuser_side.clone())?;
    filter(Dimension::RoleSide("accused"), raw.accused_side.clone())?;
    Some(RollupSpec {
        tz,
        basis: if by == "reported" { Basis::Reported } else { Basis::Occurred },
        interval,
        from,
        to,
        measure,
        group_by,
        filters,
    })
}

/// Incidents per period.
///
/// Counting rules: an incident with two accusers (or two types of any
/// other multi-valued dimension) counts once under each, and once in
/// `total`; an incident without any value of a dimension counts under null.
/// Deleted incidents and retracted claims never count. `by=occurred` buckets
/// by `occurred_at`, `by=reported` by when the incident was recorded
/// (`created_at`). Counts are exact and include every write answered before
/// the request. Identical requests that arrive while one of them is still
/// waiting to start share its computation (dashboards polling the same
/// panel), which keeps that guarantee; a request without `to` counts up to
/// its own arrival, so it shares only with requests of the same instant.
///
/// Speed: in a zone the server keeps daily rollups for (`UTC`, `Asia/Baku`
/// and `Asia/Yerevan` unless the operator chose others), a count that groups
/// or filters by one dimension, or by two of `type`, `verification`,
/// `country`, `denied`, `accuser_side` and `accused_side` (by occurred
/// date), reads those rollups: its cost follows the number of days, not of
/// incidents. Every other count over the dimensions above, in any zone,
/// reads one narrow row per incident of the range. Counts that use `q`,
/// `bbox`, `updated_since` or `include_deleted` read the full incidents and
/// are the slowest.
///
/// Counts that the rollups cannot answer are expensive reads: they share a
/// few permits per instance and per client (429 with `Retry-After` beyond).
/// An answer holds at most `CEASEFIRE_MAX_BUCKETS` buckets (100,000 by
/// default); a larger one is refused with a 400 that names its size. In
/// CSV, a group value that a spreadsheet would run as a formula starts
/// with `'`.
#[utoipa::path(get, path = "/v1/stats/incidents", tag = "stats", operation_id = "incidentStats",
    params(
        StatsParams,
        ("measure" = Option<String>, Query, description = "`incidents` (default), `violations`, `killed` or `wounded`"),
        ("by" = Option<String>, Query, description = "`occurred` (default) or `reported`"),
        super::filters::IncidentFilterParams,
    ),
    responses(
        (status = 200, description = "Counts by period", content(
            (Stats = "application/json"),
            (String = "text/csv", example = "period_start,accuser,value\n2023-08-14T00:00:00+04:00,am-mod,3\n"),
        ), headers(("ETag" = String))),
        (status = 304, description = "Unchanged since the ETag given"),
        (status = 400, description = "Invalid query: unknown zone or dimension, `from` not before `to`, more than 20,000 periods, or more buckets (periods × groups, zero-filled) than the server's limit (100,000 unless `CEASEFIRE_MAX_BUCKETS` says otherwise), with type `urn:ceasefire:problem:too-many-buckets` and the figure in `detail`", body = Problem, content_type = "application/problem+json"),
        (status = 406, description = "The Accept header allows neither JSON nor CSV", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn incidents(state: web::Data<AppState>, _read: CanRead, req: HttpRequest) -> ApiResult<HttpResponse> {
    answer(state, req, false).await
}

/// Claims per period: the side-by-side view of what each party says.
///
/// Counts standing claims (not retracted, not retractions) of incidents that
/// are not deleted and that pass the incident filters; `stance` narrows the
/// claims. `by=stated` (default) buckets by `stated_at`, `by=occurred` by
/// the incident's `occurred_at`.
#[utoipa::path(get, path = "/v1/stats/claims", tag = "stats", operation_id = "claimStats",
    params(
        StatsParams,
        ("measure" = Option<String>, Query, description = "`claims` (the only one)"),
        ("by" = Option<String>, Query, description = "`stated` (default) or `occurred`"),
        ("stance" = Option<Vec<crate::domain::Stance>>, Query, description = "Only these stances", explode = true),
        super::filters::IncidentFilterParams,
    ),
    responses(
        (status = 200, description = "Counts by period", content(
            (Stats = "application/json"),
            (String = "text/csv", example = "period_start,claimant,stance,value\n2023-08-14T00:00:00+04:00,am-mod,accuses,5\n"),
        ), headers(("ETag" = String))),
        (status = 304, description = "Unchanged since the ETag given"),
        (status = 400, description = "Invalid query, or more buckets than the server's limit (`urn:ceasefire:problem:too-many-buckets`)", body = Problem, content_type = "application/problem+json"),
        (status = 406, description = "The Accept header allows neither JSON nor CSV", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn claims(state: web::Data<AppState>, _read: CanRead, req: HttpRequest) -> ApiResult<HttpResponse> {
    answer(state, req, true).await
}
