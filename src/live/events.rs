//! Events: what changed, written in the transaction of the change (the
//! outbox), numbered by the sequencer once committed, and read back in
//! `seq` order by the stream and the webhooks.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use serde::Serialize;
use uuid::Uuid;

use crate::db::schema::{event_counter, events};
use crate::domain::incident::IncidentView;
use crate::error::{ApiError, ApiResult};
use crate::store::Conn;

/// The kinds of change an event tells of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub enum EventType {
    #[serde(rename = "incident.created")]
    IncidentCreated,
    #[serde(rename = "incident.updated")]
    IncidentUpdated,
    #[serde(rename = "incident.deleted")]
    IncidentDeleted,
    #[serde(rename = "claim.created")]
    ClaimCreated,
    #[serde(rename = "claim.retracted")]
    ClaimRetracted,
    #[serde(rename = "claim.voided")]
    ClaimVoided,
}

impl EventType {
    pub const ALL: [EventType; 6] = [
        EventType::IncidentCreated,
        EventType::IncidentUpdated,
        EventType::IncidentDeleted,
        EventType::ClaimCreated,
        EventType::ClaimRetracted,
        EventType::ClaimVoided,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventType::IncidentCreated => "incident.created",
            EventType::IncidentUpdated => "incident.updated",
            EventType::IncidentDeleted => "incident.deleted",
            EventType::ClaimCreated => "claim.created",
            EventType::ClaimRetracted => "claim.retracted",
            EventType::ClaimVoided => "claim.voided",
        }
    }

    pub fn parse(s: &str) -> Result<Self, String> {
        Self::ALL.into_iter().find(|t| t.as_str() == s).ok_or_else(|| {
            format!(
                "`{}` is not an event type: {}",
                crate::api::extract::clip(s),
                Self::ALL.map(|t| t.as_str()).join(", ")
            )
        })
    }
}

#[derive(Insertable)]
#[diesel(table_name = events)]
struct NewEventRow {
    kind: &'static str,
    incident_id: Uuid,
    version: i32,
    payload: serde_json::Value,
}

/// A change to write: the incident as it is after it, and the claim the
/// change is about (for claim events).
pub struct NewEvent<'a> {
    pub kind: EventType,
    pub incident: &'a IncidentView,
    pub claim: Option<&'a serde_json::Value>,
}

/// Writes events in the caller's transaction, after the change they tell
/// of (and the incident's row lock it took).
pub async fn record(conn: &mut Conn, new: &[NewEvent<'_>]) -> ApiResult<()> {
    let rows = new
        .iter()
        .map(|e| {
            let mut payload = serde_json::Map::new();
            payload.insert("incident".into(), serde_json::to_value(e.incident).map_err(ApiError::internal)?);
            if let Some(claim) = e.claim {
                payload.insert("claim".into(), claim.clone());
            }
            Ok(NewEventRow {
                kind: e.kind.as_str(),
                incident_id: e.incident.id,
                version: e.incident.version,
                payload: serde_json::Value::Object(payload),
            })
        })
        .collect::<ApiResult<Vec<_>>>()?;
    for chunk in rows.chunks(5000) {
        diesel::insert_into(events::table).values(chunk).execute(conn).await?;
    }
    Ok(())
}

/// Writes the same kind of event for each of `ids`, each incident as it is
/// now in the transaction (deleted ones too).
pub async fn record_current(conn: &mut Conn, kind: EventType, ids: &[Uuid]) -> ApiResult<()> {
    let mut views = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some(rec) = crate::store::incidents::get(conn, *id).await? {
            views.push(IncidentView::from_record(&rec)?);
        }
    }
    let new: Vec<NewEvent> = views.iter().map(|v| NewEvent { kind, incident: v, claim: None }).collect();
    record(conn, &new).await
}

/// A committed, numbered event, ready to send.
#[derive(Debug)]
pub struct Event {
    pub seq: i64,
    pub kind: String,
    pub at: DateTime<Utc>,
    pub sequenced_at: DateTime<Utc>,
    /// `{"seq", "type", "at", "incident", "claim"?}`, as sent.
    pub body: String,
    /// The incident as the event shows it.
    pub incident: serde_json::Value,
}

type EventRow = (Option<i64>, String, DateTime<Utc>, Option<DateTime<Utc>>, serde_json::Value);

impl Event {
    fn from_row((seq, kind, at, sequenced_at, payload): EventRow) -> Option<Self> {
        let seq = seq?;
        let serde_json::Value::Object(payload) = payload else { return None };
        let mut body = serde_json::Map::new();
        body.insert("seq".into(), seq.into());
        body.insert("type".into(), kind.clone().into());
        body.insert("at".into(), at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true).into());
        let incident = payload.get("incident").cloned().unwrap_or_default();
        body.extend(payload);
        Some(Event {
            seq,
            kind,
            at,
            sequenced_at: sequenced_at.unwrap_or(at),
            body: serde_json::Value::Object(body).to_string(),
            incident,
        })
    }
}

/// Up to `limit` events after `after`, in `seq` order.
pub async fn after(conn: &mut Conn, after: i64, limit: i64) -> QueryResult<Vec<Event>> {
    let rows: Vec<EventRow> = events::table
        .filter(events::seq.gt(after))
        .order(events::seq)
        .limit(limit)
        .select((events::seq, events::kind, events::at, events::sequenced_at, events::payload))
        .load(conn)
        .await?;
    Ok(rows.into_iter().filter_map(Event::from_row).collect())
}

/// The last seq given out.
pub async fn last_seq(conn: &mut Conn) -> QueryResult<i64> {
    event_counter::table.select(event_counter::last_seq).first(conn).await
}

/// The oldest seq kept (none when every event was purged or none was
/// written) and the last given out.
pub async fn bounds(conn: &mut Conn) -> QueryResult<(Option<i64>, i64)> {
    let oldest: Option<i64> = events::table.select(diesel::dsl::min(events::seq)).first(conn).await?;
    Ok((oldest, last_seq(conn).await?))
}

/// Whether committed events wait for their seq.
pub async fn unsequenced(conn: &mut Conn) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(events::table.filter(events::seq.is_null()))).get_result(conn).await
}

/// Runs the sequencer once: how many events it numbered.
pub async fn sequence(conn: &mut Conn, batch: i32) -> QueryResult<i64> {
    #[derive(QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let n: N = diesel::sql_query("SELECT sequence_events($1) AS n")
        .bind::<diesel::sql_types::Integer, _>(batch)
        .get_result(conn)
        .await?;
    Ok(n.n)
}

/// Deletes up to `step` events recorded before `before` (numbered ones),
/// but none that a subscription still delivering has not delivered yet.
pub async fn purge(conn: &mut Conn, before: DateTime<Utc>, step: i64) -> QueryResult<usize> {
    diesel::sql_query(
        "DELETE FROM events WHERE id IN \
         (SELECT id FROM events WHERE at < $1 AND seq IS NOT NULL \
            AND seq <= (SELECT COALESCE(min(delivered_seq), 9223372036854775807) FROM webhooks \
                        WHERE state <> 'disabled') \
            ORDER BY id LIMIT $2)",
    )
    .bind::<diesel::sql_types::Timestamptz, _>(before)
    .bind::<diesel::sql_types::BigInt, _>(step)
    .execute(conn)
    .await
}
