//! `/v1/incidents`: the ledger of incidents, each with its claims,
//! attribution and history. One module per operation; each handler parses
//! the request, calls one `ledger` operation and renders its answer.

pub mod batch;
pub mod create;
pub mod list;
pub mod patch;
pub mod read;

use actix_web::http::header;
use actix_web::HttpRequest;
use uuid::Uuid;

use super::auth::Actor;
use super::extract::clip;
pub use crate::domain::incident::{IncidentFields, IncidentView, NewIncident};
use crate::domain::Role;
use crate::error::{ApiError, ApiResult};
pub use crate::ledger::incidents::etag;

/// A path id that is not a UUID names no incident.
pub fn parse_incident_id(raw: &str) -> ApiResult<Uuid> {
    Uuid::parse_str(raw).map_err(|_| ApiError::not_found(format!("no incident {}", clip(raw))))
}

/// Setting the verification of a new incident is for editors.
fn require_writer(actor: &Actor, incidents: &[serde_json::Value]) -> ApiResult<()> {
    let verifies = incidents.iter().any(|i| i.get("verification").is_some_and(|v| v != "unverified"));
    if verifies {
        actor.require(Role::Editor)?;
    }
    Ok(())
}

/// The `If-Match` precondition of PATCH, DELETE and voiding a claim.
pub(super) fn if_match(req: &HttpRequest) -> ApiResult<String> {
    match req.headers().get(header::IF_MATCH) {
        None => Err(ApiError::precondition_required("send If-Match with the incident's current ETag (GET it first)")),
        Some(v) => v
            .to_str()
            .ok()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty() && s.len() <= 100)
            .ok_or_else(|| ApiError::precondition_failed("If-Match is not an ETag of this incident")),
    }
}
