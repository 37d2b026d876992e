//! `POST /v1/incidents/batch`.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::require_writer;
use crate::api::auth::AsReporter;
use crate::api::common::idempotency;
use crate::api::extract::{clip, JsonBody};
use crate::api::state::AppState;
use crate::domain::incident::{IncidentView, NewIncident};
use crate::error::{ApiError, ApiResult, Problem};
use crate::ledger;

#[derive(Debug, Deserialize, ToSchema)]
pub struct BatchRequest {
    /// 1 to 1000 incidents, written all together or not at all.
    #[schema(min_items = 1, max_items = 1000)]
    pub incidents: Vec<NewIncident>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BatchResponse {
    /// The created incidents, in the order given.
    pub data: Vec<IncidentView>,
}

/// Create up to 1000 incidents, all or nothing.
#[utoipa::path(
    operation_id = "createIncidentBatch",post, path = "/v1/incidents/batch", tag = "incidents", request_body = BatchRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe")),
    responses(
        (status = 201, description = "All created", body = BatchResponse),
        (status = 422, description = "Nothing was created; `errors` points at each item and field, such as /incidents/3/claims/0/target", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn batch(
    state: web::Data<AppState>,
    req: HttpRequest,
    AsReporter(actor): AsReporter,
    body: JsonBody,
) -> ApiResult<HttpResponse> {
    // Bounded memory: a batch waits for its turn before it is parsed and
    // written.
    let _turn = state.batch_slots.acquire().await.map_err(ApiError::internal)?;
    let mut value = body.parse()?.0;
    if let Some(extra) = value.as_object().and_then(|o| o.keys().find(|k| *k != "incidents")) {
        return Err(ApiError::field(format!("/{}", clip(extra)), "unknown field"));
    }
    // Hashed for the Idempotency-Key before the items are taken out of the body.
    let idem = idempotency(&req, &actor, &value)?;
    let items = match value.get_mut("incidents").map(serde_json::Value::take) {
        Some(serde_json::Value::Array(items)) => items,
        _ => return Err(ApiError::field("/incidents", "the body is {\"incidents\": [...]}")),
    };
    drop(value);
    require_writer(&actor, &items)?;
    let mut conn = state.pool.get().await?;
    let outcome = ledger::incidents::batch(&mut conn, &idem, items, &actor).await;
    // Sending a batch grew this connection's buffers to megabytes, which a
    // pooled connection keeps for good: it is closed instead of going back
    // to the pool, and the pool opens a fresh one when it needs it.
    drop(deadpool::managed::Object::take(conn));
    Ok(outcome?.into_response())
}
