//! Claims: public statements about incidents.

use chrono::{DateTime, Utc};
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use uuid::Uuid;

use super::Conn;
use crate::db::schema::{claims, incidents};

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = claims, check_for_backend(Pg), treat_none_as_default_value = false)]
pub struct ClaimRow {
    pub id: Uuid,
    pub incident_id: Uuid,
    pub claimant: String,
    pub stance: String,
    pub target: Option<String>,
    pub responds_to: Option<Uuid>,
    pub stated_at: DateTime<Utc>,
    pub quote: Option<String>,
    pub source_url: Option<String>,
    pub created_at: DateTime<Utc>,
    /// Standing and not a retraction (derived with the attribution).
    pub counted: bool,
}

pub async fn insert_many(mut conn: &Conn, rows: &[ClaimRow]) -> QueryResult<()> {
    for chunk in rows.chunks(5000) {
        match chunk {
            // One row (a single POST): a statement of one shape, prepared
            // once per connection; a slice is planned on every call.
            [one] => diesel::insert_into(claims::table).values(one).execute(&mut conn).await?,
            _ => diesel::insert_into(claims::table).values(chunk).execute(&mut conn).await?,
        };
    }
    Ok(())
}

pub async fn for_incident(conn: &mut Conn, incident: Uuid) -> QueryResult<Vec<ClaimRow>> {
    claims::table
        .filter(claims::incident_id.eq(incident))
        .order((claims::stated_at, claims::id))
        .select(ClaimRow::as_select())
        .load(conn)
        .await
}

/// The claims of many incidents, in one statement.
pub async fn for_incidents(conn: &mut Conn, incidents: &[Uuid]) -> QueryResult<Vec<ClaimRow>> {
    claims::table
        .filter(claims::incident_id.eq_any(incidents))
        .order((claims::incident_id, claims::stated_at, claims::id))
        .select(ClaimRow::as_select())
        .load(conn)
        .await
}

#[derive(Debug, Clone, Default)]
pub struct ClaimFilter {
    pub incident_id: Vec<Uuid>,
    pub claimant: Vec<String>,
    pub stance: Vec<String>,
    pub target: Vec<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub include_deleted: bool,
}

/// One page of claims in (stated_at, id) order, after `after`.
pub async fn page(
    conn: &mut Conn,
    f: &ClaimFilter,
    after: Option<(DateTime<Utc>, Uuid)>,
    limit: i64,
) -> QueryResult<Vec<ClaimRow>> {
    let mut q = claims::table.into_boxed::<Pg>().select(ClaimRow::as_select());
    if !f.include_deleted {
        q = q.filter(
            claims::incident_id.eq_any(incidents::table.select(incidents::id).filter(incidents::deleted_at.is_null())),
        );
    }
    if !f.incident_id.is_empty() {
        q = q.filter(claims::incident_id.eq_any(f.incident_id.clone()));
    }
    if !f.claimant.is_empty() {
        q = q.filter(claims::claimant.eq_any(f.claimant.clone()));
    }
    if !f.stance.is_empty() {
        q = q.filter(claims::stance.eq_any(f.stance.clone()));
    }
    if !f.target.is_empty() {
        q = q.filter(claims::target.eq_any(f.target.clone()));
    }
    if let Some(from) = f.from {
        q = q.filter(claims::stated_at.ge(from));
    }
    if let Some(to) = f.to {
        q = q.filter(claims::stated_at.lt(to));
    }
    if let Some((at, id)) = after {
        // A row comparison, answered from the (stated_at, id) index.
        q = q.filter(
            diesel::dsl::sql::<diesel::sql_types::Bool>("(claims.stated_at, claims.id) > (")
                .bind::<diesel::sql_types::Timestamptz, _>(at)
                .sql(", ")
                .bind::<diesel::sql_types::Uuid, _>(id)
                .sql(")"),
        );
    }
    q.order((claims::stated_at, claims::id)).limit(limit).load(conn).await
}

/// Incidents with a claim by or against any of `parties`.
pub async fn incidents_involving(conn: &mut Conn, parties: &[String]) -> QueryResult<Vec<Uuid>> {
    claims::table
        .filter(claims::claimant.eq_any(parties).or(claims::target.eq_any(parties)))
        .select(claims::incident_id)
        .distinct()
        .load(conn)
        .await
}

pub async fn get(conn: &mut Conn, id: Uuid) -> QueryResult<Option<ClaimRow>> {
    claims::table.find(id).select(ClaimRow::as_select()).first(conn).await.optional()
}
