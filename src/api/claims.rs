//! Claims: who said what about an incident. `POST /v1/incidents/{id}/claims`,
//! `GET /v1/claims`, `GET /v1/claims/{id}`.

use actix_web::{web, HttpRequest, HttpResponse};
use uuid::Uuid;

use super::auth::{AsEditor, AsReporter, CanRead};
use super::common::{idempotency, page_response, page_response_as, parse_limit, Page};
use super::cursor::{bad_cursor, Cursor};
use super::extract::{clip, from_value, JsonValue, QueryParams};
use super::filters::{parse_bound, read_zone};
use super::incidents::{if_match, parse_incident_id};
use super::state::AppState;
pub use crate::domain::claim::{ClaimView, NewClaim, VoidRequest};
use crate::domain::zone::Zone;
use crate::domain::{ClaimStatus, PartySlug, Stance};
use crate::error::{ApiError, ApiResult, Problem};
use crate::ledger;
use crate::store::claims::{self, ClaimFilter};

/// Add a claim to an incident. Its attribution is derived again in the same
/// transaction, and the history records the claim.
#[utoipa::path(
    operation_id = "createClaim",post, path = "/v1/incidents/{id}/claims", tag = "claims", request_body = NewClaim,
    params(
        ("id" = Uuid, Path, description = "The incident"),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe: the same key and body replay the first answer"),
    ),
    responses(
        (status = 201, description = "Created", body = ClaimView, headers(("Location" = String))),
        (status = 404, description = "No such incident", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "The incident was deleted", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid claim (a stance rule, an unknown party, a claim of another incident, or an incident that holds 1,000 claims already)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create(
    state: web::Data<AppState>,
    req: HttpRequest,
    AsReporter(actor): AsReporter,
    id: web::Path<String>,
    body: JsonValue,
) -> ApiResult<HttpResponse> {
    let incident_id = parse_incident_id(&id)?;
    let new: NewClaim = from_value(body.0.clone())?;
    let idem = idempotency(&req, &actor, &body.0)?;
    let mut conn = state.pool.get().await?;
    Ok(ledger::claims::add(&mut conn, &idem, incident_id, &new, &actor).await?.into_response())
}

/// Void a mis-entered claim (editors). Unlike a `retracts`, which says
/// that the claimant withdrew something it said, a void says that the
/// claim should never have been recorded: it stays listed, with `status`
/// `voided` and who voided it, when and why (`void`), but counts nowhere
/// (attribution, `denied`, counts, accounts); the incident gets a new
/// version and the void is kept in its history. Needs `If-Match` with the
/// incident's ETag; the answer carries the new one.
#[utoipa::path(
    operation_id = "voidClaim", post, path = "/v1/claims/{id}/void", tag = "claims", request_body = VoidRequest,
    params(
        ("id" = Uuid, Path, description = "The claim"),
        ("If-Match" = Option<String>, Header, description = "The ETag of the claim's incident. Without it the answer is 428 Precondition Required"),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe: the same key and body replay the first answer"),
    ),
    responses(
        (status = 200, description = "The voided claim", body = ClaimView, headers(("ETag" = String, description = "The incident's new ETag"))),
        (status = 404, description = "No such claim", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The claim was already voided", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "The incident was deleted", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "The incident changed since the ETag given", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "No reason given", body = Problem, content_type = "application/problem+json"),
        (status = 428, description = "If-Match is missing", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn void(
    state: web::Data<AppState>,
    req: HttpRequest,
    AsEditor(actor): AsEditor,
    id: web::Path<String>,
    body: JsonValue,
) -> ApiResult<HttpResponse> {
    let claim_id = Uuid::parse_str(&id).map_err(|_| ApiError::not_found(format!("no claim {}", clip(&id))))?;
    // The body is checked before the precondition: a bad body is a 422
    // whatever the If-Match.
    let request: VoidRequest = from_value(body.0.clone())?;
    let given = if_match(&req)?;
    let idem = idempotency(&req, &actor, &body.0)?;
    let mut conn = state.pool.get().await?;
    Ok(ledger::claims::void(&mut conn, &idem, claim_id, &given, &request.reason, &actor).await?.into_response())
}

/// One claim.
#[utoipa::path(
    operation_id = "getClaim",get, path = "/v1/claims/{id}", tag = "claims",
    params(("id" = Uuid, Path, description = "The claim")),
    responses(
        (status = 200, description = "The claim", body = ClaimView),
        (status = 404, description = "No such claim", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get(state: web::Data<AppState>, _read: CanRead, id: web::Path<String>) -> ApiResult<HttpResponse> {
    let not_found = || ApiError::not_found(format!("no claim {}", clip(&id)));
    let claim_id = Uuid::parse_str(&id).map_err(|_| not_found())?;
    let mut conn = state.pool.get().await?;
    let row = claims::get(&mut conn, claim_id).await?.ok_or_else(not_found)?;
    Ok(HttpResponse::Ok().json(ClaimView::from_row(&row)?))
}

/// List claims, oldest first: by `stated_at`, or the incident's
/// `occurred_at` when the statement's date is unknown. Voided and
/// retracted claims are listed too, with their `status`.
#[utoipa::path(
    operation_id = "listClaims",get, path = "/v1/claims", tag = "claims",
    params(
        ("incident_id" = Option<Vec<Uuid>>, Query, description = "Only these incidents (repeat or comma-separate)", explode = true),
        ("claimant" = Option<Vec<String>>, Query, description = "Only claims by these parties", explode = true),
        ("stance" = Option<Vec<Stance>>, Query, description = "Only these stances", explode = true),
        ("target" = Option<Vec<String>>, Query, description = "Only claims naming these parties", explode = true),
        ("status" = Option<Vec<ClaimStatus>>, Query, description = "Only claims in these states (default: all)", explode = true),
        ("from" = Option<String>, Query, description = "Claims dated on or after this (RFC 3339, or a date meaning its midnight in `tz`): `stated_at`, or the incident's `occurred_at` when the statement's date is unknown"),
        ("to" = Option<String>, Query, description = "Claims dated before this, read and dated as for `from`"),
        ("tz" = Option<String>, Query, description = "An IANA time zone (`Asia/Baku`): bare dates of `from` and `to` are its midnights, and `stated_at` is shown with its offset (default UTC). In CSV, the incident's time and `incident_local_date` are shown in it too (without it, in the offset the incident was reported with)"),
        ("include_deleted" = Option<bool>, Query, description = "Also claims of deleted incidents"),
        ("limit" = Option<i64>, Query, description = "1 to 1000, default 50", minimum = 1, maximum = 1000),
        ("cursor" = Option<String>, Query, description = "next_cursor of the previous page, unchanged: cursors are signed, and one that does not verify is a 400"),
        ("format" = Option<String>, Query, description = "`json` (default), `csv`: the same page as flat columns, its account and void spelled out, the next page's URL in the `Link` header, or `xlsx`: those columns as a spreadsheet (typed cells, frozen header). Overrides `Accept`"),
    ),
    responses(
        (status = 200, description = "A page of claims", content(
            (Page<ClaimView> = "application/json"),
            (String = "text/csv", example = "id,incident_id,incident_occurred_at,incident_local_date,incident_location,incident_country,claimant,stance,target,responds_to,stated_at,status,voided_at,voided_by,void_reason,account_occurred_at,account_time_precision,account_type,origin_name,origin_country,origin_lat,origin_lon,origin_place,impact_name,impact_country,impact_lat,impact_lon,impact_place,killed_military,killed_civilian,wounded_military,wounded_civilian,violations,quote,source_url,created_at\n"),
            (String = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        ), headers(("Link" = String, description = "`<…>; rel=\"next\"` when there is a next page"))),
        (status = 400, description = "Invalid query", body = Problem, content_type = "application/problem+json"),
        (status = 406, description = "The Accept header allows none of JSON, CSV and XLSX", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list(state: web::Data<AppState>, _read: CanRead, req: HttpRequest) -> ApiResult<HttpResponse> {
    let mut q = QueryParams::from_request(&req)?;
    let zone = read_zone(&mut q)?;
    let tz = zone.asked().unwrap_or(chrono_tz::Tz::UTC);
    let bound = |s: &str| parse_bound(s, tz);
    let filter = ClaimFilter {
        incident_id: q
            .list_with("incident_id", |s| Uuid::parse_str(s).map_err(|_| format!("`{}` is not a UUID", clip(s))))?,
        claimant: q.list_with("claimant", |s| PartySlug::parse(s).map(PartySlug::into_string))?,
        stance: q.list_with("stance", |s| Stance::parse(s).map(|s| s.as_str().to_string()))?,
        target: q.list_with("target", |s| PartySlug::parse(s).map(PartySlug::into_string))?,
        status: q.list_with("status", |s| ClaimStatus::parse(s).map(|s| s.as_str().to_string()))?,
        from: q.one_with("from", bound)?,
        to: q.one_with("to", bound)?,
        include_deleted: q.bool("include_deleted")?.unwrap_or(false),
    };
    let limit = parse_limit(q.one("limit")?)?;
    let (csv, xlsx) = match q.one("format")?.as_deref() {
        Some("json") => (false, false),
        Some("csv") => (true, false),
        Some("xlsx") => (true, true),
        Some(other) => {
            return Err(ApiError::bad_query("format", format!("`{}` is not json, csv or xlsx", clip(other))))
        }
        None => {
            match super::negotiate::negotiate(&req, &["application/json", "text/csv", super::xlsx::CONTENT_TYPE])? {
                0 => (false, false),
                1 => (true, false),
                _ => (true, true),
            }
        }
    };
    let after = q.one("cursor")?.map(|c| Cursor::decode(&c, "claims", &state.cursor_key)).transpose()?;
    q.finish()?;
    let _permit = match filter.include_deleted {
        true => Some(state.expensive.acquire(super::expensive::client_of(&req)).await?),
        false => None,
    };
    let (mut conn, _) = state.lagging_read().await?;
    let after = after.map(|c| c.at.map(|at| (at, c.id)).ok_or_else(bad_cursor)).transpose()?;
    let mut rows = claims::page(&mut conn, &filter, after, limit + 1).await?;
    let more = rows.len() as i64 > limit;
    let next_cursor = if more {
        rows.truncate(limit as usize);
        rows.last()
            .map(|r| Cursor { o: "claims".into(), at: Some(r.dated_at), seq: None, id: r.id }.encode(&state.cursor_key))
    } else {
        None
    };
    let data: Vec<ClaimView> =
        rows.iter().map(|r| Ok(ClaimView::from_row(r)?.shown_in(zone))).collect::<ApiResult<_>>()?;
    if csv {
        let ids: Vec<Uuid> = data.iter().map(|c| c.incident_id).collect();
        let incidents = claims::incident_context(&mut conn, &ids).await?;
        let body = csv_page(&data, &incidents, zone)?;
        if xlsx {
            // Dated by its newest claim: the same page is the same bytes.
            let newest = data.iter().map(|c| c.created_at).max().unwrap_or(chrono::DateTime::UNIX_EPOCH);
            let mut sheet = super::xlsx::Sheet::new("claims")?.dated(newest);
            sheet.add_csv(&body, true)?;
            let body = actix_web::web::block(move || sheet.finish()).await.map_err(ApiError::internal)??;
            return page_response_as(&req, body, super::xlsx::CONTENT_TYPE, next_cursor.as_deref(), more);
        }
        return page_response_as(&req, body, "text/csv; charset=utf-8", next_cursor.as_deref(), more);
    }
    page_response(&req, Page { data, next_cursor }, more)
}

/// The columns of the claims' CSV, in order.
pub const CSV_COLUMNS: &[&str] = &[
    "id",
    "incident_id",
    "incident_occurred_at",
    "incident_local_date",
    "incident_location",
    "incident_country",
    "claimant",
    "stance",
    "target",
    "responds_to",
    "stated_at",
    "status",
    "voided_at",
    "voided_by",
    "void_reason",
    "account_occurred_at",
    "account_time_precision",
    "account_type",
    "origin_name",
    "origin_country",
    "origin_lat",
    "origin_lon",
    "origin_place",
    "impact_name",
    "impact_country",
    "impact_lat",
    "impact_lon",
    "impact_place",
    "killed_military",
    "killed_civilian",
    "wounded_military",
    "wounded_civilian",
    "violations",
    "quote",
    "source_url",
    "created_at",
];

/// Claims as CSV records under `CSV_COLUMNS`, text cells neutralized for
/// spreadsheets.
fn csv_page(claims: &[ClaimView], incidents: &[claims::IncidentContext], zone: Zone) -> ApiResult<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(CSV_COLUMNS).map_err(ApiError::internal)?;
    for claim in claims {
        let v = serde_json::to_value(claim).map_err(ApiError::internal)?;
        let (a, void) = (&v["account"], &v["void"]);
        let (o, i, c) = (&a["origin"], &a["impact"], &a["casualties"]);
        let incident = incidents.iter().find(|i| i.id == claim.incident_id);
        let at = incident.map(|i| zone.show(i.occurred_at, crate::domain::zone::offset(i.occurred_offset)));
        let text = |s: Option<String>| s.map_or(serde_json::Value::Null, serde_json::Value::String);
        let (incident_at, local_date, location, country) = (
            text(at.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))),
            text(at.map(|t| t.date_naive().to_string())),
            text(incident.map(|i| i.location_name.clone())),
            text(incident.and_then(|i| i.country.clone())),
        );
        let record = [
            &v["id"],
            &v["incident_id"],
            &incident_at,
            &local_date,
            &location,
            &country,
            &v["claimant"],
            &v["stance"],
            &v["target"],
            &v["responds_to"],
            &v["stated_at"],
            &v["status"],
            &void["at"],
            &void["by"],
            &void["reason"],
            &a["occurred_at"],
            &a["time_precision"],
            &a["type"],
            &o["name"],
            &o["country"],
            &o["lat"],
            &o["lon"],
            &o["place"],
            &i["name"],
            &i["country"],
            &i["lat"],
            &i["lon"],
            &i["place"],
            &c["killed_military"],
            &c["killed_civilian"],
            &c["wounded_military"],
            &c["wounded_civilian"],
            &a["violations"],
            &v["quote"],
            &v["source_url"],
            &v["created_at"],
        ];
        w.write_record(record.iter().map(|x| super::export::cell(x))).map_err(ApiError::internal)?;
    }
    w.into_inner().map_err(ApiError::internal)
}
