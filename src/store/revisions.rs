//! The history of every incident: one row per change, never deleted.

use chrono::{DateTime, Utc};
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use uuid::Uuid;

use super::Conn;
use crate::db::schema::revisions;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = revisions, check_for_backend(Pg))]
pub struct RevisionRow {
    pub id: i64,
    pub incident_id: Uuid,
    pub version: i32,
    pub action: String,
    pub actor: Option<String>,
    pub changes: serde_json::Value,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = revisions, treat_none_as_default_value = false)]
pub struct NewRevision<'a> {
    pub incident_id: Uuid,
    pub version: i32,
    pub action: &'a str,
    pub actor: Option<&'a str>,
    pub changes: serde_json::Value,
}

pub async fn insert_many(mut conn: &Conn, rows: &[NewRevision<'_>]) -> QueryResult<()> {
    for chunk in rows.chunks(5000) {
        match chunk {
            // One row (a single POST): a statement of one shape, prepared
            // once per connection; a slice is planned on every call.
            [one] => diesel::insert_into(revisions::table).values(one).execute(&mut conn).await?,
            _ => diesel::insert_into(revisions::table).values(chunk).execute(&mut conn).await?,
        };
    }
    Ok(())
}

pub async fn for_incident(conn: &mut Conn, incident: Uuid) -> QueryResult<Vec<RevisionRow>> {
    revisions::table
        .filter(revisions::incident_id.eq(incident))
        .order(revisions::id)
        .select(RevisionRow::as_select())
        .load(conn)
        .await
}
