//! Parties and their hierarchy.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::Conn;
use crate::db::schema::parties;
pub use crate::domain::hierarchy::Hierarchy;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = parties, check_for_backend(diesel::pg::Pg))]
pub struct PartyRow {
    pub slug: String,
    pub name: String,
    pub kind: String,
    pub country: Option<String>,
    pub parent: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = parties)]
pub struct NewPartyRow<'a> {
    pub slug: &'a str,
    pub name: &'a str,
    pub kind: &'a str,
    pub country: Option<&'a str>,
    pub parent: Option<&'a str>,
}

#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = parties)]
pub struct PartyChanges {
    pub name: Option<String>,
    pub kind: Option<String>,
    pub country: Option<Option<String>>,
    pub parent: Option<Option<String>>,
    pub updated_at: Option<DateTime<Utc>>,
}

pub async fn list(conn: &mut Conn) -> QueryResult<Vec<PartyRow>> {
    parties::table.select(PartyRow::as_select()).order(parties::slug).load(conn).await
}

pub async fn get(conn: &mut Conn, slug: &str) -> QueryResult<Option<PartyRow>> {
    parties::table.find(slug).select(PartyRow::as_select()).first(conn).await.optional()
}

/// Inserts a party; `false` when the slug is taken.
pub async fn insert(conn: &mut Conn, row: &NewPartyRow<'_>) -> QueryResult<bool> {
    let n = diesel::insert_into(parties::table).values(row).on_conflict_do_nothing().execute(conn).await?;
    Ok(n == 1)
}

pub async fn update(conn: &mut Conn, slug: &str, changes: &PartyChanges) -> QueryResult<PartyRow> {
    diesel::update(parties::table.find(slug)).set(changes).returning(PartyRow::as_returning()).get_result(conn).await
}

/// Serialises changes to the hierarchy, so two concurrent re-parentings
/// cannot together make a cycle.
pub async fn lock_hierarchy(conn: &mut Conn) -> QueryResult<()> {
    diesel::sql_query("LOCK TABLE parties IN SHARE ROW EXCLUSIVE MODE").execute(conn).await.map(|_| ())
}

/// Every party's parent, for walking the hierarchy in memory (the table
/// is small: hundreds of rows).
pub async fn parents(mut conn: &Conn) -> QueryResult<HashMap<String, Option<String>>> {
    let rows: Vec<(String, Option<String>)> =
        parties::table.select((parties::slug, parties::parent)).load(&mut conn).await?;
    Ok(rows.into_iter().collect())
}

/// The hierarchy of parties, read once per request that needs sides.
/// Takes a shared connection, so that it can be read in the same round
/// trip as another statement (pipelined).
pub async fn hierarchy(conn: &Conn) -> QueryResult<Hierarchy> {
    Ok(Hierarchy::new(parents(conn).await?))
}
