//! `/v1/parties`: who can accuse, be accused, deny or confirm.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

use super::auth::{AsEditor, CanRead};
use super::common::idempotency;
use super::extract::{from_value, JsonValue};
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

/// List every party.
#[utoipa::path(
    operation_id = "listParties",get, path = "/v1/parties", tag = "parties", responses((status = 200, description = "All parties, by slug", body = PartyList)))]
pub async fn list(state: web::Data<AppState>, _read: CanRead) -> ApiResult<HttpResponse> {
    let mut conn = state.pool.get().await?;
    Ok(HttpResponse::Ok().json(PartyList { data: ledger::parties::list(&mut conn).await? }))
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
