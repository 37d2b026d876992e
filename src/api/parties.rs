//! `/v1/parties`: who can accuse, be accused, deny or confirm.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

use super::auth::{AsEditor, CanRead};
use super::common::idempotency;
use super::extract::{from_value, JsonValue, QueryParams};
use super::state::AppState;
use crate::domain::party::{NewParty, PartyPatch, PartyView};
use crate::domain::PartySlug;
use crate::error::{ApiError, ApiResult, Problem};
use crate::ledger;
use crate::ledger::parties::no_party;

#[derive(Debug, Serialize, ToSchema)]
pub struct PartyList {
    pub data: Vec<PartyView>,
}

/// The columns of the parties' CSV.
pub const CSV_COLUMNS: &[&str] = &["slug", "name", "kind", "country", "parent", "side", "created_at", "updated_at"];

/// List every party: JSON, or a file for another database (`ceasefire
/// import` loads it before the incidents that name these parties).
#[utoipa::path(
    operation_id = "listParties",get, path = "/v1/parties", tag = "parties",
    params(("format" = Option<String>, Query, description = "`json` (default), `csv` (one row per party, the columns of a party) or `ndjson` (a party per line): files that `ceasefire import` loads into another database before its incidents")),
    responses(
        (status = 200, description = "All parties, by slug", content(
            (PartyList = "application/json"),
            (String = "text/csv", example = "slug,name,kind,country,parent,side,created_at,updated_at\n"),
            (String = "application/x-ndjson"),
        )),
        (status = 400, description = "Invalid query", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list(state: web::Data<AppState>, _read: CanRead, req: HttpRequest) -> ApiResult<HttpResponse> {
    let mut q = QueryParams::from_request(&req)?;
    let format = q.one("format")?;
    q.finish()?;
    let mut conn = state.pool.get().await?;
    let data = ledger::parties::list(&mut conn).await?;
    match format.as_deref() {
        None | Some("json") => Ok(HttpResponse::Ok().json(PartyList { data })),
        Some("ndjson") => {
            let mut out = Vec::new();
            for p in &data {
                serde_json::to_writer(&mut out, p).map_err(ApiError::internal)?;
                out.push(b'\n');
            }
            Ok(attachment("application/x-ndjson", "parties.ndjson", out))
        }
        Some("csv") => {
            let mut w = csv::Writer::from_writer(Vec::new());
            w.write_record(CSV_COLUMNS).map_err(ApiError::internal)?;
            for p in &data {
                let v = serde_json::to_value(p).map_err(ApiError::internal)?;
                w.write_record(CSV_COLUMNS.iter().map(|c| super::export::cell(&v[*c]))).map_err(ApiError::internal)?;
            }
            Ok(attachment("text/csv; charset=utf-8", "parties.csv", w.into_inner().map_err(ApiError::internal)?))
        }
        Some(other) => {
            Err(ApiError::bad_query("format", format!("`{}` is not json, csv or ndjson", super::extract::clip(other))))
        }
    }
}

fn attachment(content_type: &str, name: &str, body: Vec<u8>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}\"")))
        .body(body)
}

/// One party.
#[utoipa::path(
    operation_id = "getParty",get, path = "/v1/parties/{slug}", tag = "parties",
    params(("slug" = String, Path, description = "The party's slug")),
    responses(
        (status = 200, description = "The party", body = PartyView),
        (status = 404, description = "No such party", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get(state: web::Data<AppState>, _read: CanRead, slug: web::Path<String>) -> ApiResult<HttpResponse> {
    let slug = PartySlug::parse(&slug).map_err(|_| no_party(&slug))?;
    let mut conn = state.pool.get().await?;
    Ok(HttpResponse::Ok().json(ledger::parties::get(&mut conn, &slug).await?))
}

/// Create a party.
#[utoipa::path(
    operation_id = "createParty",post, path = "/v1/parties", tag = "parties", request_body = NewParty,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe: the same key and body replay the first answer")),
    responses(
        (status = 201, description = "Created", body = PartyView, headers(("Location" = String))),
        (status = 409, description = "The slug is taken", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid body", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create(
    state: web::Data<AppState>,
    req: HttpRequest,
    AsEditor(actor): AsEditor,
    body: JsonValue,
) -> ApiResult<HttpResponse> {
    let new: NewParty = from_value(body.0.clone())?;
    let mut errors = Vec::new();
    new.check(&mut errors);
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let idem = idempotency(&req, &actor, &body.0)?;
    let mut conn = state.pool.get().await?;
    Ok(ledger::parties::create(&mut conn, &idem, &new).await?.into_response())
}

/// Change a party (JSON merge patch). Re-parenting refuses cycles and
/// re-derives the attribution of every incident the moved parties took
/// part in, since sides decide what a denial answers.
#[utoipa::path(
    operation_id = "patchParty",patch, path = "/v1/parties/{slug}", tag = "parties", request_body(content = PartyPatch, content_type = "application/merge-patch+json"),
    params(("slug" = String, Path, description = "The party's slug")),
    responses(
        (status = 200, description = "The changed party", body = PartyView),
        (status = 404, description = "No such party", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid patch", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn patch(
    state: web::Data<AppState>,
    AsEditor(actor): AsEditor,
    slug: web::Path<String>,
    body: JsonValue,
) -> ApiResult<HttpResponse> {
    let patch: PartyPatch = from_value(body.0)?;
    let slug = PartySlug::parse(&slug).map_err(|_| no_party(&slug))?;
    let mut conn = state.pool.get().await?;
    let view = ledger::parties::patch(&mut conn, &slug, patch, &actor).await?;
    Ok(HttpResponse::Ok().insert_header((header::CACHE_CONTROL, "no-store")).json(view))
}
