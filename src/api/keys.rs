//! `/v1/keys`: API keys (admin).

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::auth::AsAdmin;
use super::common::idempotency;
use super::extract::{clip, from_value, JsonValue};
use super::state::AppState;
use crate::error::{ApiError, ApiResult, Problem};
use crate::ledger;
pub use crate::ledger::keys::{CreatedKey, KeyView, NewKey};
use crate::store::keys as store;

#[derive(Debug, Serialize, ToSchema)]
pub struct KeyList {
    pub data: Vec<KeyView>,
}

/// Create an API key (admin).
#[utoipa::path(post, path = "/v1/keys", tag = "keys", operation_id = "createKey", request_body = NewKey,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe")),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Created; the key is in the body, shown this once", body = CreatedKey, headers(("Location" = String))),
        (status = 422, description = "Invalid body", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create(
    state: web::Data<AppState>,
    req: HttpRequest,
    AsAdmin(actor): AsAdmin,
    body: JsonValue,
) -> ApiResult<HttpResponse> {
    let new: NewKey = from_value(body.0.clone())?;
    let idem = idempotency(&req, &actor, &body.0)?;
    let mut conn = state.pool.get().await?;
    Ok(ledger::keys::create(&mut conn, &idem, &new).await?.into_response())
}

/// List API keys (admin).
#[utoipa::path(get, path = "/v1/keys", tag = "keys", operation_id = "listKeys", security(("bearer" = [])),
    responses((status = 200, description = "Every key, oldest first; never the keys themselves", body = KeyList)))]
pub async fn list(state: web::Data<AppState>, _admin: AsAdmin) -> ApiResult<HttpResponse> {
    let mut conn = state.pool.get().await?;
    Ok(HttpResponse::Ok().json(KeyList { data: ledger::keys::list(&mut conn).await? }))
}

/// Revoke an API key (admin). It stops working at once.
#[utoipa::path(delete, path = "/v1/keys/{id}", tag = "keys", operation_id = "revokeKey", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The key's id")),
    responses(
        (status = 204, description = "Revoked (or already revoked)"),
        (status = 404, description = "No such key", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn revoke(state: web::Data<AppState>, _admin: AsAdmin, id: web::Path<String>) -> ApiResult<HttpResponse> {
    let not_found = || ApiError::not_found(format!("no key {}", clip(&id)));
    let key_id = Uuid::parse_str(&id).map_err(|_| not_found())?;
    let mut conn = state.pool.get().await?;
    store::revoke(&mut conn, key_id).await?.ok_or_else(not_found)?;
    Ok(HttpResponse::NoContent().finish())
}
