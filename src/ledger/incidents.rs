//! Incidents: create one, a batch, or an import's; patch; delete; read the
//! history. Each write is one transaction with its revision.

use diesel_async::AsyncConnection;
use uuid::Uuid;

use super::idempotency::{Idempotency, Outcome, Written};
use super::prepare::{prepare, Prepared};
use crate::domain::actor::Actor;
use crate::domain::incident::{IncidentFields, IncidentView};
use crate::domain::json::from_value_at;
use crate::error::{ApiError, ApiResult};
use crate::live::events::{self as live, EventType, NewEvent};
use crate::store::claims::{self as claim_store, ClaimRow};
use crate::store::incidents::{self as store, ExternalIdRow, IncidentRow, SourceRow};
use crate::store::revisions::{self, NewRevision, RevisionRow};
use crate::store::Conn;

/// Largest batch accepted by `POST /v1/incidents/batch`.
pub const MAX_BATCH: usize = 1000;

pub fn no_incident(id: Uuid) -> ApiError {
    ApiError::not_found(format!("no incident {id}"))
}

pub fn gone(id: Uuid) -> ApiError {
    ApiError::gone(format!("incident {id} was deleted; its history remains at /v1/incidents/{id}/history"))
}

/// An incident's ETag: its version in quotes.
pub fn etag(version: i32) -> String {
    format!("\"{version}\"")
}

/// `If-Match` uses strong comparison (RFC 9110): a weak or malformed tag,
/// or a malformed list, matches nothing.
pub(super) fn check_if_match(given: &str, row: &IncidentRow) -> ApiResult<()> {
    let current = etag(row.version);
    let tags: Vec<&str> = given.split(',').map(str::trim).collect();
    let well_formed =
        tags.iter().all(|t| t.len() >= 2 && t.starts_with('"') && t.ends_with('"') && !t[1..t.len() - 1].contains('"'));
    if given == "*" || (well_formed && tags.contains(&current.as_str())) {
        Ok(())
    } else {
        Err(ApiError::precondition_failed(format!(
            "the incident changed: its ETag is now {current}; GET it again and reapply the change"
        ))
        .with_header(actix_web::http::header::ETAG, &current))
    }
}

/// Inserts prepared incidents with their claims, attribution and first revisions.
pub async fn insert_prepared(
    conn: &mut Conn,
    prepared: &[Prepared],
    actor: &Actor,
    action: &str,
) -> ApiResult<Vec<IncidentView>> {
    let rows: Vec<IncidentRow> = prepared.iter().map(|p| p.record.row.clone()).collect();
    let sources: Vec<SourceRow> = prepared.iter().flat_map(|p| p.record.sources.clone()).collect();
    let ext: Vec<ExternalIdRow> = prepared.iter().flat_map(|p| p.record.external_ids.clone()).collect();
    let claims: Vec<ClaimRow> = prepared.iter().flat_map(|p| p.record.claims.clone()).collect();
    let views: Vec<IncidentView> =
        prepared.iter().map(|p| IncidentView::from_record(&p.record)).collect::<ApiResult<_>>()?;
    let revs = views
        .iter()
        .map(|v| {
            Ok(NewRevision {
                incident_id: v.id,
                version: v.version,
                action,
                actor: actor.key_id.as_deref(),
                changes: serde_json::to_value(v).map_err(ApiError::internal)?,
            })
        })
        .collect::<ApiResult<Vec<_>>>()?;
    store::insert_many(conn, &rows, &sources, &ext).await?;
    // What refers to the incidents, sent together (pipelined): PostgreSQL
    // runs them one after the other as ever, in one round trip instead of three.
    let shared: &Conn = conn;
    futures_util::try_join!(
        claim_store::insert_many(shared, &claims),
        store::insert_roles(shared, prepared.iter().map(|p| (p.record.row.id, &p.attribution))),
        revisions::insert_many(shared, &revs),
    )?;
    let created: Vec<NewEvent> =
        views.iter().map(|v| NewEvent { kind: EventType::IncidentCreated, incident: v, claim: None }).collect();
    live::record(conn, &created).await?;
    Ok(views)
}

/// Replaces a stored incident by a prepared one with the same id (an
/// import with `--on-existing update`): its fields, sources, external ids,
/// claims and attribution become the file's, as the next version of the
/// stored one, recorded as an `import` revision.
pub async fn replace_prepared(conn: &mut Conn, p: &Prepared, actor: &Actor) -> ApiResult<IncidentView> {
    let id = p.record.row.id;
    let stored = store::lock(conn, id).await?.ok_or_else(|| no_incident(id))?;
    let now = crate::store::now();
    let mut record = p.record.clone();
    record.row.version = stored.version + 1;
    record.row.created_at = stored.created_at;
    record.row.updated_at = now;
    for c in &mut record.claims {
        c.incident_id = id;
    }
    store::update(conn, &record.row).await?;
    store::replace_sources(conn, id, &record.sources).await?;
    store::replace_external_ids(conn, id, &record.external_ids).await?;
    claim_store::delete_for_incident(conn, id).await?;
    claim_store::insert_many(conn, &record.claims).await?;
    store::set_attribution(conn, id, &p.attribution, record.row.divergent).await?;
    let view = IncidentView::from_record(&record)?;
    revisions::insert_many(
        conn,
        &[NewRevision {
            incident_id: id,
            version: view.version,
            action: "import",
            actor: actor.key_id.as_deref(),
            changes: serde_json::to_value(&view).map_err(ApiError::internal)?,
        }],
    )
    .await?;
    live::record(conn, &[NewEvent { kind: EventType::IncidentUpdated, incident: &view, claim: None }]).await?;
    Ok(view)
}

/// Bumps nothing itself: writes `row` (whose version the caller already
/// advanced) and the revision that records the change.
pub async fn record_change(
    conn: &mut Conn,
    row: &IncidentRow,
    action: &str,
    actor: &Actor,
    changes: serde_json::Value,
) -> ApiResult<()> {
    store::update(conn, row).await?;
    revisions::insert_many(
        conn,
        &[NewRevision { incident_id: row.id, version: row.version, action, actor: actor.key_id.as_deref(), changes }],
    )
    .await?;
    Ok(())
}

/// Creates one incident (its JSON, with its first claims) in one
/// transaction with its idempotency key.
pub async fn create(
    conn: &mut Conn,
    idem: &Idempotency,
    value: serde_json::Value,
    actor: &Actor,
) -> ApiResult<Outcome> {
    conn.transaction::<_, ApiError, _>(async |conn| {
        let (replay, h) = idem.begin_with_parties(conn).await?;
        if let Some(replay) = replay {
            return Ok(replay);
        }
        let mut value = value;
        let mut errors = super::places::fill_locations(conn, vec![(String::new(), &mut value)]).await?;
        let prepared = match prepare(value, "", &h, crate::store::now(), &mut errors)? {
            Some(p) if errors.is_empty() => p,
            _ => return Err(ApiError::validation(errors)),
        };
        let view = insert_prepared(conn, std::slice::from_ref(&prepared), actor, "create")
            .await?
            .pop()
            .ok_or_else(|| ApiError::internal("no view"))?;
        let written = Written::created(format!("/v1/incidents/{}", view.id), Some(etag(view.version)), &view)?;
        idem.finish(conn, written).await
    })
    .await
}

/// Creates up to `MAX_BATCH` incidents (their JSON), all or none, in one
/// transaction with the idempotency key. Errors point at
/// `/incidents/{index}/...`.
pub async fn batch(
    conn: &mut Conn,
    idem: &Idempotency,
    items: Vec<serde_json::Value>,
    actor: &Actor,
) -> ApiResult<Outcome> {
    if items.is_empty() || items.len() > MAX_BATCH {
        return Err(ApiError::field(
            "/incidents",
            format!("1 to {MAX_BATCH} incidents per batch; this one has {}", items.len()),
        ));
    }
    conn.transaction::<_, ApiError, _>(async |conn| {
        let (replay, h) = idem.begin_with_parties(conn).await?;
        if let Some(replay) = replay {
            return Ok(replay);
        }
        let now = crate::store::now();
        let mut items = items;
        let mut errors = super::places::fill_locations(
            conn,
            items.iter_mut().enumerate().map(|(i, v)| (format!("/incidents/{i}"), v)).collect(),
        )
        .await?;
        let mut prepared = Vec::with_capacity(items.len());
        for (i, v) in items.into_iter().enumerate() {
            prepared.push(prepare(v, &format!("/incidents/{i}"), &h, now, &mut errors)?);
        }
        if !errors.is_empty() {
            errors.truncate(100);
            return Err(ApiError::validation(errors));
        }
        let prepared: Vec<Prepared> = prepared.into_iter().flatten().collect();
        let views = insert_prepared(conn, &prepared, actor, "create").await?;
        let body = serde_json::to_vec(&serde_json::json!({ "data": views })).map_err(ApiError::internal)?;
        idem.finish(conn, Written { status: 201, headers: vec![], body, replay_body: None }).await
    })
    .await
}

/// Fields a patch cannot touch.
const READ_ONLY: &[&str] = &["id", "version", "claims", "attribution", "created_at", "updated_at", "deleted_at"];

/// A JSON merge patch (RFC 7396) of an incident's fields: an object that
/// touches no read-only field.
pub struct IncidentPatch(serde_json::Value);

impl IncidentPatch {
    pub fn parse(value: serde_json::Value) -> ApiResult<Self> {
        let Some(object) = value.as_object() else {
            return Err(ApiError::field("", "a merge patch is a JSON object"));
        };
        if let Some(field) = object.keys().find(|k| READ_ONLY.contains(&k.as_str())) {
            return Err(ApiError::field(
                format!("/{field}"),
                "read-only; claims are added with POST /v1/incidents/{id}/claims",
            ));
        }
        Ok(Self(value))
    }
}

/// Applies `patch` to the incident whose ETag is `if_match`; a patch that
/// changes nothing writes nothing.
pub async fn patch(
    conn: &mut Conn,
    id: Uuid,
    if_match: &str,
    patch: &IncidentPatch,
    actor: &Actor,
) -> ApiResult<IncidentView> {
    conn.transaction::<_, ApiError, _>(async |conn| {
        let row = store::lock(conn, id).await?.ok_or_else(|| no_incident(id))?;
        if row.deleted_at.is_some() {
            return Err(gone(id));
        }
        check_if_match(if_match, &row)?;
        let rec = store::records(conn, vec![row]).await?.pop().ok_or_else(|| no_incident(id))?;
        let before = IncidentFields::from_record(&rec)?;
        let before_json = serde_json::to_value(&before).map_err(ApiError::internal)?;
        let mut after_json = before_json.clone();
        json_patch::merge(&mut after_json, &patch.0);
        let errors = super::places::fill_locations(conn, vec![(String::new(), &mut after_json)]).await?;
        if !errors.is_empty() {
            return Err(ApiError::validation(errors));
        }
        let after: IncidentFields = from_value_at(after_json.clone(), "").map_err(|e| ApiError::validation(vec![e]))?;
        let now = crate::store::now();
        let mut errors = Vec::new();
        after.check("", now, &mut errors);
        if !errors.is_empty() {
            return Err(ApiError::validation(errors));
        }
        // Times compare as instants: a new offset alone is a change too.
        if after == before && after.occurred_at.offset() == before.occurred_at.offset() {
            return IncidentView::from_record(&rec);
        }
        let after_json = serde_json::to_value(&after).map_err(ApiError::internal)?;
        let changes: serde_json::Map<String, serde_json::Value> = after_json
            .as_object()
            .into_iter()
            .flatten()
            .filter(|(k, v)| before_json.get(k.as_str()) != Some(v))
            .map(|(k, v)| (k.clone(), serde_json::json!({"from": before_json.get(k.as_str()), "to": v})))
            .collect();
        let mut row = after.to_row(rec.row.clone());
        row.version += 1;
        row.updated_at = now;
        if after.sources != before.sources {
            store::replace_sources(conn, id, &after.source_rows(id)).await?;
        }
        if after.external_ids != before.external_ids {
            store::replace_external_ids(conn, id, &after.external_id_rows(id)).await?;
        }
        record_change(conn, &row, "update", actor, serde_json::Value::Object(changes)).await?;
        if after.occurred_at != before.occurred_at {
            claim_store::redate(conn, id, after.occurred_at.to_utc()).await?;
        }
        let rec = store::get(conn, id).await?.ok_or_else(|| no_incident(id))?;
        let view = IncidentView::from_record(&rec)?;
        live::record(conn, &[NewEvent { kind: EventType::IncidentUpdated, incident: &view, claim: None }]).await?;
        Ok(view)
    })
    .await
}

/// Deletes (softly) the incident whose ETag is `if_match`.
pub async fn delete(conn: &mut Conn, id: Uuid, if_match: &str, actor: &Actor) -> ApiResult<()> {
    conn.transaction::<_, ApiError, _>(async |conn| {
        let mut row = store::lock(conn, id).await?.ok_or_else(|| no_incident(id))?;
        if row.deleted_at.is_some() {
            return Err(gone(id));
        }
        check_if_match(if_match, &row)?;
        let now = crate::store::now();
        row.version += 1;
        row.updated_at = now;
        row.deleted_at = Some(now);
        record_change(conn, &row, "delete", actor, serde_json::json!({})).await?;
        live::record_current(conn, EventType::IncidentDeleted, &[id]).await
    })
    .await
}

/// One incident that is not deleted.
pub async fn get(conn: &mut Conn, id: Uuid) -> ApiResult<IncidentView> {
    let rec = store::get(conn, id).await?.ok_or_else(|| no_incident(id))?;
    if rec.row.deleted_at.is_some() {
        return Err(gone(id));
    }
    IncidentView::from_record(&rec)
}

/// Every revision of an incident, oldest first (deleted ones keep theirs).
pub async fn history(conn: &mut Conn, id: Uuid) -> ApiResult<Vec<RevisionRow>> {
    let revs = revisions::for_incident(conn, id).await?;
    if revs.is_empty() {
        return Err(no_incident(id));
    }
    Ok(revs)
}
