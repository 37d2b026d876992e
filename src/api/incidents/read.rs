//! `GET /v1/incidents/{id}` and its history.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::{etag, parse_incident_id};
use crate::api::auth::CanRead;
use crate::api::common::not_modified;
use crate::api::state::AppState;
use crate::domain::incident::IncidentView;
use crate::error::{ApiResult, Problem};
use crate::ledger;

/// One change in an incident's history.
#[derive(Debug, Serialize, ToSchema)]
pub struct RevisionView {
    /// The incident's version after the change.
    pub version: i32,
    /// `create`, `update`, `delete`, `claim`, `import` (loaded by
    /// `ceasefire import`) or `reattributed` (a party moved in the
    /// hierarchy changed the attribution).
    pub action: String,
    /// The id of the API key that made the change, when known.
    pub actor: Option<String>,
    pub at: DateTime<Utc>,
    /// `create` and `import`: the incident as created; `update`:
    /// `{field: {"from", "to"}}` for each changed field; `claim`: the claim;
    /// `delete`: `{}`; `reattributed`: `{"party", "parent": {"from", "to"},
    /// "attribution": {"from", "to"}}`.
    #[schema(value_type = Object)]
    pub changes: serde_json::Value,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct History {
    pub data: Vec<RevisionView>,
}

/// One incident with its claims and attribution.
#[utoipa::path(
    operation_id = "getIncident",get, path = "/v1/incidents/{id}", tag = "incidents",
    params(("id" = Uuid, Path, description = "The incident"), ("If-None-Match" = Option<String>, Header, description = "An ETag: 304 when unchanged"),
        ("tz" = Option<String>, Query, description = "An IANA time zone (`Asia/Baku`) to show every time in (the incident's and its claims'), `local_date` its date there. Without it the incident's times are shown in the offset they were reported with, claims' in UTC"),
    ),
    responses(
        (status = 200, description = "The incident", body = IncidentView, headers(("ETag" = String))),
        (status = 304, description = "Unchanged since the ETag given"),
        (status = 400, description = "`tz` is not an IANA time zone", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such incident", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "Deleted", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get(
    state: web::Data<AppState>,
    _read: CanRead,
    req: HttpRequest,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let id = parse_incident_id(&id)?;
    let zone = crate::api::filters::read_zone(&mut crate::api::extract::QueryParams::from_request(&req)?)?;
    let mut conn = state.pool.get().await?;
    let view = ledger::incidents::get(&mut conn, id).await?.shown_in(zone);
    let tag = etag(view.version);
    if not_modified(&req, &tag) {
        return Ok(HttpResponse::NotModified().insert_header((header::ETAG, tag)).finish());
    }
    Ok(HttpResponse::Ok().insert_header((header::ETAG, tag)).json(view))
}
/// Every revision of an incident, oldest first; deleted incidents keep theirs.
#[utoipa::path(
    operation_id = "getIncidentHistory",get, path = "/v1/incidents/{id}/history", tag = "incidents",
    params(("id" = Uuid, Path, description = "The incident")),
    responses(
        (status = 200, description = "The revisions", body = History),
        (status = 404, description = "No such incident", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn history(state: web::Data<AppState>, _read: CanRead, id: web::Path<String>) -> ApiResult<HttpResponse> {
    let id = parse_incident_id(&id)?;
    let mut conn = state.pool.get().await?;
    let data = ledger::incidents::history(&mut conn, id)
        .await?
        .into_iter()
        .map(|r| RevisionView { version: r.version, action: r.action, actor: r.actor, at: r.at, changes: r.changes })
        .collect();
    Ok(HttpResponse::Ok().json(History { data }))
}
