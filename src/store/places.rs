//! The gazetteer: places by every name they go by.

use chrono::{DateTime, Utc};
use diesel::dsl::sql;
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::sql_types::{Array, Bool, Nullable, Text};
use diesel_async::RunQueryDsl;

use super::Conn;
use crate::db::schema::{incidents, places};

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = places, check_for_backend(Pg), treat_none_as_null = true)]
pub struct PlaceRow {
    pub slug: String,
    pub name: String,
    pub alt_names: Vec<String>,
    pub country: Option<String>,
    pub admin1: Option<String>,
    pub admin2: Option<String>,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Places whose name or alternate name is `name` (case folded by the
/// database, the same way on both sides).
fn named(name: &str) -> Box<dyn BoxableExpression<places::table, Pg, SqlType = Bool>> {
    Box::new(sql::<Bool>("places.folded_names @> ARRAY[lower(").bind::<Text, _>(name.to_string()).sql(")]"))
}

/// Inserts a place; `false` when the slug is taken.
pub async fn insert(conn: &mut Conn, row: &PlaceRow) -> QueryResult<bool> {
    let n = diesel::insert_into(places::table).values(row).on_conflict_do_nothing().execute(conn).await?;
    Ok(n == 1)
}

pub async fn get(conn: &mut Conn, slug: &str) -> QueryResult<Option<PlaceRow>> {
    places::table.find(slug).select(PlaceRow::as_select()).first(conn).await.optional()
}

/// Locks the incidents at a place, in id order: a place's change takes
/// them before the place itself, the order an incident's change takes
/// them in (its incident, then its place), so that the two never wait on
/// each other in a cycle.
pub async fn lock_incidents_at(conn: &mut Conn, slug: &str) -> QueryResult<()> {
    let _: Vec<uuid::Uuid> = incidents::table
        .filter(incidents::place.eq(slug))
        .order(incidents::id)
        .select(incidents::id)
        .for_update()
        .load(conn)
        .await?;
    Ok(())
}

/// The place for update, locked until the transaction ends.
pub async fn lock(conn: &mut Conn, slug: &str) -> QueryResult<Option<PlaceRow>> {
    places::table.find(slug).select(PlaceRow::as_select()).for_update().first(conn).await.optional()
}

pub async fn update(conn: &mut Conn, row: &PlaceRow) -> QueryResult<PlaceRow> {
    diesel::update(places::table.find(&row.slug)).set(row).returning(PlaceRow::as_returning()).get_result(conn).await
}

/// These places (those that exist), share-locked until the transaction
/// ends: a concurrent change of a place's areas waits for the incidents
/// that take them now, or they wait for it and read its result.
pub async fn by_slugs(conn: &mut Conn, slugs: &[String]) -> QueryResult<Vec<PlaceRow>> {
    let mut sorted = slugs.to_vec();
    sorted.sort();
    places::table
        .filter(places::slug.eq_any(sorted))
        .order(places::slug)
        .select(PlaceRow::as_select())
        .for_share()
        .load(conn)
        .await
}

/// What a list of places is filtered by.
#[derive(Debug, Clone, Default)]
pub struct PlaceFilter {
    /// Any of its names is this (case-insensitive).
    pub name: Option<String>,
    pub country: Vec<String>,
    pub admin1: Vec<String>,
    pub admin2: Vec<String>,
}

/// A page of places by slug, after `after`.
pub async fn page(conn: &mut Conn, f: &PlaceFilter, after: Option<&str>, limit: i64) -> QueryResult<Vec<PlaceRow>> {
    let mut q = places::table.select(PlaceRow::as_select()).order(places::slug).limit(limit).into_boxed();
    if let Some(name) = &f.name {
        q = q.filter(named(name));
    }
    if !f.country.is_empty() {
        q = q.filter(places::country.eq_any(f.country.clone()));
    }
    if !f.admin1.is_empty() {
        q = q.filter(folded_in("places.admin1", &f.admin1));
    }
    if !f.admin2.is_empty() {
        q = q.filter(folded_in("places.admin2", &f.admin2));
    }
    if let Some(after) = after {
        q = q.filter(places::slug.gt(after.to_string()));
    }
    q.load(conn).await
}

/// `column`, case folded, is one of `values` (folded the same way).
pub fn folded_in<QS: 'static>(
    column: &'static str,
    values: &[String],
) -> Box<dyn BoxableExpression<QS, Pg, SqlType = Bool>> {
    Box::new(
        sql::<Bool>(&format!("lower({column}) = ANY(ARRAY(SELECT lower(v) FROM unnest("))
            .bind::<Array<Text>, _>(values.to_vec())
            .sql(") AS v))"),
    )
}

/// Incidents at the place take its administrative areas again (a new
/// version of each, so that caches and mirrors see it); each changed
/// incident's id, new version and former areas.
pub async fn restate_incidents(
    conn: &mut Conn,
    place: &PlaceRow,
    now: DateTime<Utc>,
) -> QueryResult<Vec<(uuid::Uuid, i32, Option<String>, Option<String>)>> {
    let before: Vec<(uuid::Uuid, Option<String>, Option<String>)> = incidents::table
        .filter(incidents::place.eq(&place.slug))
        .select((incidents::id, incidents::admin1, incidents::admin2))
        .for_update()
        .load(conn)
        .await?;
    let changed: Vec<(uuid::Uuid, i32)> = diesel::update(
        incidents::table.filter(incidents::place.eq(&place.slug)).filter(
            sql::<Bool>("(incidents.admin1, incidents.admin2) IS DISTINCT FROM (")
                .bind::<Nullable<Text>, _>(place.admin1.clone())
                .sql(", ")
                .bind::<Nullable<Text>, _>(place.admin2.clone())
                .sql(")"),
        ),
    )
    .set((
        incidents::admin1.eq(&place.admin1),
        incidents::admin2.eq(&place.admin2),
        incidents::version.eq(incidents::version + 1),
        incidents::updated_at.eq(now),
    ))
    .returning((incidents::id, incidents::version))
    .get_results(conn)
    .await?;
    Ok(changed
        .into_iter()
        .filter_map(|(id, version)| {
            before.iter().find(|(b, _, _)| *b == id).map(|(_, a1, a2)| (id, version, a1.clone(), a2.clone()))
        })
        .collect())
}

/// The places that `values` name (by slug, or by any name in any
/// spelling): their slugs, and every one of their names case folded.
pub async fn names_of(conn: &mut Conn, values: &[String]) -> QueryResult<(Vec<String>, Vec<String>)> {
    #[derive(QueryableByName)]
    struct Named {
        #[diesel(sql_type = Text)]
        slug: String,
        #[diesel(sql_type = Array<Text>)]
        folded_names: Vec<String>,
    }
    let found: Vec<Named> = diesel::sql_query(
        "SELECT slug, folded_names FROM places \
         WHERE slug = ANY($1) OR folded_names && ARRAY(SELECT lower(v) FROM unnest($1) AS v)",
    )
    .bind::<Array<Text>, _>(values.to_vec())
    .load(conn)
    .await?;
    let slugs = found.iter().map(|p| p.slug.clone()).collect();
    // Folded again here: lower() of a cluster with the C locale leaves
    // non-ASCII letters as they are, and matching happens in Rust.
    let names = found.into_iter().flat_map(|p| p.folded_names).map(|n| n.to_lowercase()).collect();
    Ok((slugs, names))
}
