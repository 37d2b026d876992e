//! `PATCH` and `DELETE /v1/incidents/{id}`.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};

use super::{etag, if_match, parse_incident_id};
use crate::api::auth::AsEditor;
use crate::api::extract::JsonValue;
use crate::api::state::AppState;
use crate::domain::incident::IncidentView;
use crate::error::{ApiResult, Problem};
use crate::ledger;

/// Change an incident with a JSON merge patch (RFC 7396). `claims` are
/// added through their own endpoint, not patched.
#[utoipa::path(
    operation_id = "patchIncident",patch, path = "/v1/incidents/{id}", tag = "incidents",
    request_body(content = Object, content_type = "application/merge-patch+json", description = "Fields of the incident to change; null removes an optional field",
        example = json!({"verification": "corroborated", "casualties": {"wounded_military": 1}})),
    params(("id" = Uuid, Path, description = "The incident"), ("If-Match" = Option<String>, Header, description = "The ETag of the version being changed. Without it the answer is 428 Precondition Required")),
    responses(
        (status = 200, description = "The changed incident", body = IncidentView, headers(("ETag" = String))),
        (status = 404, description = "No such incident", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "Deleted", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "The incident changed since that ETag", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The patched incident is invalid", body = Problem, content_type = "application/problem+json"),
        (status = 428, description = "If-Match is missing", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn patch(
    state: web::Data<AppState>,
    req: HttpRequest,
    AsEditor(actor): AsEditor,
    id: web::Path<String>,
    body: JsonValue,
) -> ApiResult<HttpResponse> {
    let id = parse_incident_id(&id)?;
    let patch = ledger::incidents::IncidentPatch::parse(body.0)?;
    let given = if_match(&req)?;
    let mut conn = state.pool.get().await?;
    let view = ledger::incidents::patch(&mut conn, id, &given, &patch, &actor).await?;
    Ok(HttpResponse::Ok().insert_header((header::ETAG, etag(view.version))).json(view))
}
/// Delete an incident. Deletes are soft: the incident leaves lists and
/// counts, GET answers 410, and its history stays.
#[utoipa::path(
    operation_id = "deleteIncident",delete, path = "/v1/incidents/{id}", tag = "incidents",
    params(("id" = Uuid, Path, description = "The incident"), ("If-Match" = Option<String>, Header, description = "The ETag of the version being deleted. Without it the answer is 428 Precondition Required")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such incident", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "Already deleted", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "The incident changed since that ETag", body = Problem, content_type = "application/problem+json"),
        (status = 428, description = "If-Match is missing", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn delete(
    state: web::Data<AppState>,
    req: HttpRequest,
    AsEditor(actor): AsEditor,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let id = parse_incident_id(&id)?;
    let given = if_match(&req)?;
    let mut conn = state.pool.get().await?;
    ledger::incidents::delete(&mut conn, id, &given, &actor).await?;
    Ok(HttpResponse::NoContent().finish())
}
