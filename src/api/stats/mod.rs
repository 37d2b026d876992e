//! `/v1/stats/incidents` and `/v1/stats/claims`: counts by calendar period
//! in any time zone, grouped, zero-filled, as JSON or CSV. The query is
//! parsed (`request`), planned and run by the ledger (`ledger::counts`),
//! and the tally rendered (`render`).

pub mod chart;
pub mod render;
pub mod request;

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;
use utoipa::{IntoParams, ToSchema};

use self::render::Answer;
use super::auth::CanRead;
use super::common::not_modified;
use super::state::AppState;
use crate::domain::dimension::Counted;
use crate::domain::period::Interval;
use crate::error::{ApiError, ApiResult, Problem};
use crate::ledger::counts::{self, Budget, SharedCounts, Tally};

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
    /// The first period starts before `from`: its buckets count only the
    /// part of it from `from` on (a week of `interval=week` begins on a
    /// Monday, whatever day `from` is).
    pub first_period_partial: bool,
    /// The last period ends after `to`: its buckets count only the part
    /// before `to`.
    pub last_period_partial: bool,
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
    /// `json` (default), `csv`, `xlsx` (the CSV's rows as a spreadsheet:
    /// dates, numbers, a frozen header), or `svg`: the count drawn as a bar chart
    /// (bars per period, one series per group, the 11 largest groups and
    /// the rest summed as "other", a legend, periods labelled by their
    /// first day in `tz`, a title from the request), to embed with `<img>`
    /// in an article or a dashboard's text panel; at most 3,000 bars.
    /// Overrides `Accept`.
    format: Option<String>,
    /// With `format=svg`: the chart's width in pixels, 200 to 3000. Default 800.
    #[param(minimum = 200, maximum = 3000)]
    width: Option<u32>,
    /// With `format=svg`: the chart's height in pixels, 150 to 2000. Default 400.
    #[param(minimum = 150, maximum = 2000)]
    height: Option<u32>,
}

/// Buckets above which an answer counts as an expensive read (about 800 KB
/// of JSON).
const LARGE_ANSWER: usize = 10_000;

async fn answer(state: web::Data<AppState>, req: HttpRequest, what: Counted) -> ApiResult<HttpResponse> {
    let parsed = request::parse(&req, what, crate::store::now())?;
    let (request, format, chart) = (parsed.request, parsed.format, parsed.chart);
    if !state.known_zones.contains(request.tz.name()) {
        return Err(ApiError::bad_query(
            "tz",
            format!("`{}` is not a time zone this server's database knows (its tzdata is older)", request.tz.name()),
        ));
    }
    let periods = request.periods()?;
    let budget = Budget { periods: periods.len(), max_buckets: state.max_buckets };
    // Periods alone may be over the limit: refused before any query.
    budget.check(1, true, &request.group_by)?;

    // Identical counts asked for at once share one query (see `coalesce`).
    // Without `to`, a count runs up to its own arrival: two such requests
    // are identical only if they arrived at the same instant (sharing an
    // earlier one's range could leave out a write answered in between).
    let mut key = url::form_urlencoded::Serializer::new(format!("{}?", req.path()));
    key.extend_pairs(url::form_urlencoded::parse(req.query_string().as_bytes()).filter(|(k, _)| k != "format"));
    if !parsed.to_given {
        key.append_pair("to", &request.to.to_rfc3339_opts(chrono::SecondsFormat::Micros, true));
    }
    let key = key.finish();
    let plan = request.plan();
    // Counts the rollups cannot answer read the rows: an expensive read.
    let expensive = plan.is_expensive(request.tz, &state.rolled_up_zones.read().unwrap_or_else(|e| e.into_inner()));
    let client = super::expensive::client_of(&req);
    let flights = state.stats_flights.clone();
    let shared = flights
        .run(key, |close| async {
            // Every count that queries takes one of the count slots (half
            // the pool), an expensive one a permit as well.
            let _slot = state.count_slots.acquire(client.clone()).await?;
            let _permit = match expensive {
                true => Some(state.expensive.acquire(client).await?),
                false => None,
            };
            let (mut conn, _) = state.lagging_read().await?;
            close();
            let mut tally = Tally::new(budget, request.group_by.len());
            counts::run(&mut conn, &request, &plan, &mut tally).await?;
            Ok(SharedCounts::new(tally))
        })
        .await?;
    shared.tally.check(&request.group_by)?;
    // A large answer (up to the budget: megabytes) is rendered off the
    // workers' threads and sent while it holds an expensive-read permit, so
    // that neither its rendering nor a client that does not read it can
    // starve the others; small ones go as they are.
    let large = periods.len().saturating_mul(shared.tally.groups().count().max(1)) > LARGE_ANSWER;
    let permit = match large {
        true => Some(state.expensive.acquire(super::expensive::client_of(&req)).await?),
        false => None,
    };
    let cell = &shared.rendered[format as usize];
    let (bytes, etag) = match cell.get() {
        Some(rendered) => rendered.clone(),
        None if large => {
            let (shared, request, periods, chart) = (shared.clone(), request.clone(), periods.clone(), chart.clone());
            let rendered = actix_web::web::block(move || {
                let rendered = Answer { request: &request, periods: &periods, tally: &shared.tally, chart: &chart }
                    .render(format)?;
                let _ = shared.rendered[format as usize].set(rendered.clone());
                Ok::<_, ApiError>(rendered)
            })
            .await
            .map_err(ApiError::internal)??;
            rendered
        }
        None => {
            // Requests that shared the query also share its answer, rendered
            // once per format (identical requests, identical bodies).
            let rendered =
                Answer { request: &request, periods: &periods, tally: &shared.tally, chart: &chart }.render(format)?;
            let _ = cell.set(rendered.clone());
            rendered
        }
    };
    if not_modified(&req, &etag) {
        return Ok(HttpResponse::NotModified().insert_header((header::ETAG, etag)).finish());
    }
    let mut res = HttpResponse::Ok();
    res.insert_header((header::ETAG, etag))
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .insert_header((header::VARY, "Accept"))
        .content_type(format.content_type());
    Ok(match permit {
        Some(permit) => {
            let len = bytes.len() as u64;
            res.body(actix_web::body::SizedStream::new(len, super::expensive::held_body(bytes, permit)))
        }
        None => res.body(bytes),
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
/// `bbox`, `updated_since`, `include_deleted`, `origin_country` or
/// `divergent` read the full incidents and are the slowest.
///
/// Counts that the rollups cannot answer, and counts whose answer passes
/// 10,000 buckets, are expensive reads: they share a few permits per
/// instance and per client (429 with `Retry-After` beyond).
/// An answer holds at most `CEASEFIRE_MAX_BUCKETS` buckets (100,000 by
/// default); a larger one is refused with a 400 that names its size. In
/// CSV, a group value that a spreadsheet would run as a formula starts
/// with `'`.
#[utoipa::path(get, path = "/v1/stats/incidents", tag = "stats", operation_id = "incidentStats",
    params(
        StatsParams,
        ("measure" = Option<String>, Query, description = "`incidents` (default), `violations`, `killed` or `wounded`"),
        ("by" = Option<String>, Query, description = "`occurred` (default) or `reported`"),
        crate::api::filters::IncidentFilterParams,
    ),
    responses(
        (status = 200, description = "Counts by period", content(
            (Stats = "application/json"),
            (String = "text/csv", example = "period_start,accuser,value\n2023-08-14T00:00:00+04:00,am-mod,3\n"),
            (String = "image/svg+xml"),
            (String = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        ), headers(("ETag" = String))),
        (status = 304, description = "Unchanged since the ETag given"),
        (status = 400, description = "Invalid query: unknown zone or dimension, `from` not before `to`, more than 20,000 periods, or more buckets (periods × groups, zero-filled) than the server's limit (100,000 unless `CEASEFIRE_MAX_BUCKETS` says otherwise), with type `urn:ceasefire:problem:too-many-buckets` and the figure in `detail`", body = Problem, content_type = "application/problem+json"),
        (status = 406, description = "The Accept header allows none of JSON, CSV, SVG and XLSX", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn incidents(state: web::Data<AppState>, _read: CanRead, req: HttpRequest) -> ApiResult<HttpResponse> {
    answer(state, req, Counted::Incidents).await
}

/// Claims per period: the side-by-side view of what each party says.
///
/// Counts standing claims (not retracted, not voided, not retractions) of
/// incidents that are not deleted and that pass the incident filters;
/// `stance` narrows the claims. `by=stated` (default) buckets by
/// `stated_at`, or by the incident's `occurred_at` for a claim whose
/// statement date is unknown; `by=occurred` by the incident's
/// `occurred_at`.
///
/// `measure=claims` (default) counts the claims; `killed`, `wounded` and
/// `violations` sum the figures of the claims' own accounts (military and
/// civilian together; a figure an account does not state adds nothing), so
/// `measure=killed&group_by=claimant` sets each party's casualty figures
/// side by side. `group_by=direction` groups by the account's direction:
/// its origin country, `>`, its impact country (or the incident's location
/// country when the account names no impact country); a claim whose
/// account names no origin country counts under null. `type` is the
/// incident's type.
///
/// Speed: without incident filters (`stance` is not one), grouped by
/// `claimant`, `claimant_side`, `stance`, `target`, `target_side`,
/// `direction` and `type`, in a rolled-up zone, these counts read daily
/// rollups of the claims, whatever the measure: their cost follows the
/// number of days. Any incident filter, or a zone that is not rolled up,
/// reads one row per claim of the range: an expensive read (see the
/// incident counts).
#[utoipa::path(get, path = "/v1/stats/claims", tag = "stats", operation_id = "claimStats",
    params(
        StatsParams,
        ("measure" = Option<String>, Query, description = "`claims` (default), or the sum over the standing claims' accounts of `killed`, `wounded` or `violations`"),
        ("by" = Option<String>, Query, description = "`stated` (default: `stated_at`, or the incident's `occurred_at` when that is unknown) or `occurred`"),
        ("stance" = Option<Vec<crate::domain::Stance>>, Query, description = "Only these stances", explode = true),
        crate::api::filters::IncidentFilterParams,
    ),
    responses(
        (status = 200, description = "Counts by period", content(
            (Stats = "application/json"),
            (String = "text/csv", example = "period_start,claimant,stance,value\n2023-08-14T00:00:00+04:00,am-mod,accuses,5\n"),
            (String = "image/svg+xml"),
            (String = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        ), headers(("ETag" = String))),
        (status = 304, description = "Unchanged since the ETag given"),
        (status = 400, description = "Invalid query, or more buckets than the server's limit (`urn:ceasefire:problem:too-many-buckets`)", body = Problem, content_type = "application/problem+json"),
        (status = 406, description = "The Accept header allows none of JSON, CSV, SVG and XLSX", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn claims(state: web::Data<AppState>, _read: CanRead, req: HttpRequest) -> ApiResult<HttpResponse> {
    answer(state, req, Counted::Claims).await
}
