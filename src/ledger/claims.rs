//! Claims: a party's statement added to an incident, its attribution
//! derived again in the same transaction.

use diesel_async::AsyncConnection;
use uuid::Uuid;

use super::idempotency::{Idempotency, Outcome, Written};
use super::incidents::{check_if_match, etag, gone, no_incident, record_change};
use super::prepare::{prepare_claims, ClaimContext};
use super::rows::{accounts, attribution, with_status};
use crate::domain::actor::Actor;
use crate::domain::claim::{ClaimView, NewClaim};
use crate::domain::hierarchy::Hierarchy;
use crate::domain::incident::IncidentView;
use crate::domain::text::VoidReason;
use crate::domain::ClaimStatus;
use crate::error::{ApiError, ApiResult};
use crate::live::events::{EventType, NewEvent};
use crate::store::claims::ClaimRow;
use crate::store::incidents::IncidentRow;
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
            &ClaimContext {
                incident_id,
                existing: &existing,
                hierarchy: &h,
                inline: false,
                now,
                occurred_at: row.occurred_at,
            },
            &mut errors,
        );
        if !errors.is_empty() {
            return Err(ApiError::validation(errors));
        }
        claims::insert_many(conn, &rows).await?;
        let claim = rows.pop().ok_or_else(|| ApiError::internal("no claim prepared"))?;
        let id = claim.id;
        existing.push(claim);
        let existing = derive(conn, &mut row, existing, &h).await?;
        row.version += 1;
        row.updated_at = now;
        let claim = existing.iter().find(|c| c.id == id).ok_or_else(|| ApiError::internal("no claim prepared"))?;
        let view = ClaimView::from_row(claim)?;
        let body = serde_json::to_value(&view).map_err(ApiError::internal)?;
        record_change(conn, &row, "claim", actor, serde_json::json!({ "claim": body })).await?;
        let kind = if claim.stance == crate::domain::Stance::Retracts.as_str() {
            EventType::ClaimRetracted
        } else {
            EventType::ClaimCreated
        };
        let claim_id = claim.id;
        event_with_claim(conn, incident_id, kind, &body).await?;
        idem.finish(conn, Written::created(format!("/v1/claims/{claim_id}"), None, &body)?).await
    })
    .await
}

/// Writes the event of a claim's change: the incident as it is now, and the claim.
async fn event_with_claim(
    conn: &mut Conn,
    incident_id: Uuid,
    kind: EventType,
    claim: &serde_json::Value,
) -> ApiResult<()> {
    let rec = incidents::get(conn, incident_id).await?.ok_or_else(|| no_incident(incident_id))?;
    let view = IncidentView::from_record(&rec)?;
    crate::live::events::record(conn, &[NewEvent { kind, incident: &view, claim: Some(claim) }]).await
}

/// Derives the incident's attribution and divergence from `claims` again
/// and stores them (on `row` too), with each claim's status; returns the
/// claims as stored.
async fn derive(
    conn: &mut Conn,
    row: &mut IncidentRow,
    claims: Vec<ClaimRow>,
    h: &Hierarchy,
) -> ApiResult<Vec<ClaimRow>> {
    let derived = attribution(&claims, h)?;
    let claims = with_status(claims, &derived);
    let divergent = accounts(&claims)?.is_divergent();
    incidents::set_attribution(conn, row.id, &derived, divergent).await?;
    (row.denied, row.disputed, row.divergent) = (derived.denied, derived.disputed, divergent);
    Ok(claims)
}

/// Voids the claim `claim_id` (an editor's: it was mis-entered), when its
/// incident's ETag is `if_match`: it stays listed, with who voided it and
/// why, and counts nowhere; the incident's attribution is derived again,
/// its version bumped and the void kept in its history.
pub async fn void(
    conn: &mut Conn,
    idem: &Idempotency,
    claim_id: Uuid,
    if_match: &str,
    reason: &VoidReason,
    actor: &Actor,
) -> ApiResult<Outcome> {
    conn.transaction::<_, ApiError, _>(async |conn| {
        if let Some(replay) = idem.begin(conn).await? {
            return Ok(replay);
        }
        let no_claim = || ApiError::not_found(format!("no claim {claim_id}"));
        let incident_id = claims::get(conn, claim_id).await?.ok_or_else(no_claim)?.incident_id;
        let mut row = incidents::lock(conn, incident_id).await?.ok_or_else(|| no_incident(incident_id))?;
        if row.deleted_at.is_some() {
            return Err(gone(incident_id));
        }
        check_if_match(if_match, &row)?;
        // Read again under the incident's lock: a concurrent void or claim
        // of the same incident has committed by now.
        let claim = claims::get(conn, claim_id).await?.ok_or_else(no_claim)?;
        if claim.status == ClaimStatus::Voided.as_str() {
            return Err(ApiError::conflict(format!(
                "claim {claim_id} was already voided at {}",
                claim.voided_at.map(|t| t.to_rfc3339()).unwrap_or_default()
            )));
        }
        let now = crate::store::now();
        claims::void(conn, claim_id, now, actor.key_id.as_deref(), reason.as_str()).await?;
        let h = crate::store::parties::hierarchy(conn).await?;
        let existing = claims::for_incident(conn, incident_id).await?;
        let existing = derive(conn, &mut row, existing, &h).await?;
        row.version += 1;
        row.updated_at = now;
        let claim = existing.iter().find(|c| c.id == claim_id).ok_or_else(no_claim)?;
        let view = ClaimView::from_row(claim)?;
        let body = serde_json::to_value(&view).map_err(ApiError::internal)?;
        record_change(conn, &row, "void", actor, serde_json::json!({ "claim": body })).await?;
        event_with_claim(conn, incident_id, EventType::ClaimVoided, &body).await?;
        let written = Written {
            status: 200,
            headers: vec![("etag".to_string(), etag(row.version))],
            body: serde_json::to_vec(&body).map_err(ApiError::internal)?,
            replay_body: None,
        };
        idem.finish(conn, written).await
    })
    .await
}
