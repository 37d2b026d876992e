//! API keys, stored as SHA-256 hashes.

use chrono::{DateTime, Utc};
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use uuid::Uuid;

use super::Conn;
use crate::db::schema::api_keys;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = api_keys, check_for_backend(Pg))]
pub struct KeyRow {
    pub id: Uuid,
    pub name: String,
    pub role: String,
    pub key_hash: Vec<u8>,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

pub async fn insert(conn: &mut Conn, row: &KeyRow) -> QueryResult<()> {
    diesel::insert_into(api_keys::table).values(row).execute(conn).await.map(|_| ())
}

/// The key with this hash, unless revoked.
pub async fn find_active(conn: &mut Conn, hash: &[u8]) -> QueryResult<Option<KeyRow>> {
    api_keys::table
        .filter(api_keys::key_hash.eq(hash))
        .filter(api_keys::revoked_at.is_null())
        .select(KeyRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// How often a key's `last_used_at` is brought up to date.
const TOUCH_EVERY: chrono::TimeDelta = chrono::TimeDelta::seconds(60);

/// Records a use of `key`, at most once a minute per key so that reads stay
/// reads: nothing is sent when the row just read says the last record is
/// recent, and the update re-checks it, for concurrent requests.
pub async fn touch(conn: &mut Conn, key: &KeyRow) -> QueryResult<()> {
    let due = Utc::now() - TOUCH_EVERY;
    if key.last_used_at.is_some_and(|t| t >= due) {
        return Ok(());
    }
    diesel::update(api_keys::table.find(key.id))
        .filter(api_keys::last_used_at.is_null().or(api_keys::last_used_at.lt(due)))
        .set(api_keys::last_used_at.eq(diesel::dsl::now))
        .execute(conn)
        .await
        .map(|_| ())
}

pub async fn list(conn: &mut Conn) -> QueryResult<Vec<KeyRow>> {
    api_keys::table.order(api_keys::created_at).select(KeyRow::as_select()).load(conn).await
}

/// Revokes a key; `None` when there is no such key.
pub async fn revoke(conn: &mut Conn, id: Uuid) -> QueryResult<Option<KeyRow>> {
    let found = api_keys::table.find(id).select(KeyRow::as_select()).first(conn).await.optional()?;
    if found.as_ref().is_some_and(|k| k.revoked_at.is_none()) {
        diesel::update(api_keys::table.find(id)).set(api_keys::revoked_at.eq(diesel::dsl::now)).execute(conn).await?;
    }
    Ok(found)
}
