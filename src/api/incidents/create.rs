//! `POST /v1/incidents`.

use actix_web::{web, HttpRequest, HttpResponse};

use super::require_writer;
use crate::api::auth::AsReporter;
use crate::api::common::idempotency;
use crate::api::extract::JsonValue;
use crate::api::state::AppState;
use crate::domain::incident::{IncidentView, NewIncident};
use crate::error::{ApiResult, Problem};
use crate::ledger;

/// Create an incident, with its sources and first claims, in one transaction.
#[utoipa::path(
    operation_id = "createIncident",post, path = "/v1/incidents", tag = "incidents", request_body = NewIncident,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe: the same key and body replay the first answer; the same key with another body is a 422")),
    responses(
        (status = 201, description = "Created", body = IncidentView, headers(("Location" = String), ("ETag" = String))),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid incident or claim; `errors` points at each field", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create(
    state: web::Data<AppState>,
    req: HttpRequest,
    AsReporter(actor): AsReporter,
    body: JsonValue,
) -> ApiResult<HttpResponse> {
    require_writer(&actor, std::slice::from_ref(&body.0))?;
    let idem = idempotency(&req, &actor, &body.0)?;
    let mut conn = state.pool.get().await?;
    Ok(ledger::incidents::create(&mut conn, &idem, body.0, &actor).await?.into_response())
}
