//! Claims: a party's statement added to an incident, its attribution
//! derived again in the same transaction.

use diesel_async::AsyncConnection;
use uuid::Uuid;

use super::idempotency::{Idempotency, Outcome, Written};
use super::incidents::{gone, no_incident, record_change};
use super::prepare::{prepare_claims, ClaimContext};
use super::rows::attribution;
use crate::domain::actor::Actor;
use crate::domain::claim::{ClaimView, NewClaim};
use crate::error::{ApiError, ApiResult};
use crate::store::{claims, incidents, Conn};

/// Adds `new` to the incident `incident_id`, with its idempotency key: the
/// claim, the incident's new attribution and version, and the revision
/// that records the claim, in one transaction.
pub async fn add(
    conn: &mut Conn,
    idem: &Idempotency,
    incident_id: Uuid,
    new: &NewClaim,
    actor: &Actor,
) -> ApiResult<Outcome> {
    conn.transaction::<_, ApiError, _>(async |conn| {
        if let Some(replay) = idem.begin(conn).await? {
            return Ok(replay);
        }
        let mut row = incidents::lock(conn, incident_id).await?.ok_or_else(|| no_incident(incident_id))?;
        if row.deleted_at.is_some() {
            return Err(gone(incident_id));
        }
        let h = crate::store::parties::hierarchy(conn).await?;
        let mut existing = claims::for_incident(conn, incident_id).await?;
        let now = crate::store::now();
        let mut errors = Vec::new();
        let mut rows = prepare_claims(
            std::slice::from_ref(new),
            None,
            &ClaimContext { incident_id, existing: &existing, hierarchy: &h, inline: false, now },
            &mut errors,
        );
        if !errors.is_empty() {
            return Err(ApiError::validation(errors));
        }
        claims::insert_many(conn, &rows).await?;
        let claim = rows.pop().ok_or_else(|| ApiError::internal("no claim prepared"))?;
        existing.push(claim.clone());
        let derived = attribution(&existing, &h)?;
        incidents::set_attribution(conn, incident_id, &derived).await?;
        (row.denied, row.disputed) = (derived.denied, derived.disputed);
        row.version += 1;
        row.updated_at = now;
        let view = ClaimView::from_row(&claim)?;
        let body = serde_json::to_value(&view).map_err(ApiError::internal)?;
        record_change(conn, &row, "claim", actor, serde_json::json!({ "claim": body })).await?;
        idem.finish(conn, Written::created(format!("/v1/claims/{}", claim.id), None, &body)?).await
    })
    .await
}
