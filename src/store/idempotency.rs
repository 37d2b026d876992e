//! Saved answers of POST requests, so that a retry with the same
//! `Idempotency-Key` replays the first answer instead of writing twice.
//!
//! The key row is inserted in the same transaction as the write. A
//! concurrent request with the same key blocks on that insert until the
//! first commits, then finds the saved answer.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::Conn;
use crate::db::schema::idempotency_keys as keys;

/// A saved answer.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct SavedResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// A stored record: the request's hash, and the answer once saved.
type Stored = (Vec<u8>, Option<i16>, Option<serde_json::Value>, Option<Vec<u8>>);

pub enum Begin {
    /// First use of the key: do the work, then `save`.
    Fresh,
    /// A finished earlier request with the same body.
    Replay(SavedResponse),
    /// The key was used with another request.
    Mismatch,
}

/// Takes a shared connection, so that it can be sent in the same round trip
/// as another statement (pipelined).
pub async fn begin(mut conn: &Conn, scope: &str, key: &str, request_hash: &[u8]) -> QueryResult<Begin> {
    // Twice at most: a record found taken but gone when read was purged
    // (expired) in between, and the key is free again.
    for _ in 0..2 {
        let inserted = diesel::insert_into(keys::table)
            .values((keys::scope.eq(scope), keys::key.eq(key), keys::request_hash.eq(request_hash)))
            .on_conflict_do_nothing()
            .execute(&mut conn)
            .await?;
        if inserted == 1 {
            return Ok(Begin::Fresh);
        }
        let found: Option<Stored> = keys::table
            .find((scope, key))
            .select((keys::request_hash, keys::status, keys::headers, keys::body))
            .first(&mut conn)
            .await
            .optional()?;
        let Some((hash, status, headers, body)) = found else { continue };
        if hash != request_hash {
            return Ok(Begin::Mismatch);
        }
        return match (status, headers, body) {
            (Some(status), Some(headers), Some(body)) => Ok(Begin::Replay(SavedResponse {
                status: status as u16,
                headers: serde_json::from_value(headers)
                    .map_err(|e| diesel::result::Error::DeserializationError(Box::new(e)))?,
                body,
            })),
            // Saved rows always carry their answer; this cannot be reached
            // through the API, but treat it as a mismatch rather than replaying nothing.
            _ => Ok(Begin::Mismatch),
        };
    }
    Err(diesel::result::Error::NotFound)
}

pub async fn save(conn: &mut Conn, scope: &str, key: &str, response: &SavedResponse) -> QueryResult<()> {
    let save = Save {
        scope,
        key,
        status: response.status as i16,
        headers: serde_json::to_value(&response.headers).unwrap_or_default(),
        body: &response.body,
    };
    save.execute(conn).await.map(|_| ())
}

/// `UPDATE idempotency_keys SET …` written as a statement of its own:
/// diesel never caches an update, and this one runs on every POST with a
/// key, so it is prepared once per connection instead of planned each time.
struct Save<'a> {
    scope: &'a str,
    key: &'a str,
    status: i16,
    headers: serde_json::Value,
    body: &'a [u8],
}

impl diesel::query_builder::QueryFragment<diesel::pg::Pg> for Save<'_> {
    fn walk_ast<'b>(&'b self, mut out: diesel::query_builder::AstPass<'_, 'b, diesel::pg::Pg>) -> QueryResult<()> {
        use diesel::sql_types::{Binary, Int2, Jsonb, Text};
        out.push_sql("UPDATE idempotency_keys SET status = ");
        out.push_bind_param::<Int2, _>(&self.status)?;
        out.push_sql(", headers = ");
        out.push_bind_param::<Jsonb, _>(&self.headers)?;
        out.push_sql(", body = ");
        out.push_bind_param::<Binary, _>(&self.body)?;
        out.push_sql(" WHERE scope = ");
        out.push_bind_param::<Text, _>(&self.scope)?;
        out.push_sql(" AND key = ");
        out.push_bind_param::<Text, _>(&self.key)?;
        Ok(())
    }
}

impl diesel::query_builder::QueryId for Save<'_> {
    type QueryId = Save<'static>;
    const HAS_STATIC_QUERY_ID: bool = true;
}

/// Deletes up to `limit` records made before `before`; how many went.
/// Small steps, so the purge never holds many locks or a long transaction.
pub async fn purge(conn: &mut Conn, before: chrono::DateTime<chrono::Utc>, limit: i64) -> QueryResult<usize> {
    diesel::sql_query(
        "DELETE FROM idempotency_keys WHERE ctid = ANY(ARRAY(\
         SELECT ctid FROM idempotency_keys WHERE created_at < $1 LIMIT $2 FOR UPDATE SKIP LOCKED))",
    )
    .bind::<diesel::sql_types::Timestamptz, _>(before)
    .bind::<diesel::sql_types::BigInt, _>(limit)
    .execute(conn)
    .await
}
