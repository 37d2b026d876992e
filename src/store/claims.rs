//! Claims: public statements about incidents.

use chrono::{DateTime, Utc};
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use uuid::Uuid;

use super::Conn;
use crate::db::schema::{claims, incidents};

/// A stored claim. Also read from the JSON of its row (`row_to_json`),
/// hence `Deserialize` with the column names.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, serde::Deserialize)]
#[diesel(table_name = claims, check_for_backend(Pg), treat_none_as_default_value = false)]
pub struct ClaimRow {
    pub id: Uuid,
    pub incident_id: Uuid,
    pub claimant: String,
    pub stance: String,
    pub target: Option<String>,
    pub responds_to: Option<Uuid>,
    pub stated_at: Option<DateTime<Utc>>,
    pub quote: Option<String>,
    pub source_url: Option<String>,
    pub created_at: DateTime<Utc>,
    /// Standing and not a retraction (derived with the attribution).
    pub counted: bool,
    /// `stated_at`, or the incident's `occurred_at` when that is unknown.
    pub dated_at: DateTime<Utc>,
    /// standing, retracted or voided (derived with the attribution, but
    /// voided, which an editor sets).
    pub status: String,
    pub voided_at: Option<DateTime<Utc>>,
    pub voided_by: Option<String>,
    pub void_reason: Option<String>,
    #[diesel(embed)]
    #[serde(flatten)]
    pub account: AccountRow,
}

/// The claimant's account, as stored (every column optional).
#[derive(Debug, Clone, Default, PartialEq, Queryable, Selectable, Insertable, serde::Deserialize)]
#[diesel(table_name = claims, check_for_backend(Pg), treat_none_as_default_value = false)]
pub struct AccountRow {
    pub account_occurred_at: Option<DateTime<Utc>>,
    pub account_time_precision: Option<String>,
    pub account_type: Option<String>,
    pub origin_name: Option<String>,
    pub origin_country: Option<String>,
    pub origin_lat: Option<f64>,
    pub origin_lon: Option<f64>,
    pub origin_place: Option<String>,
    pub impact_name: Option<String>,
    pub impact_country: Option<String>,
    pub impact_lat: Option<f64>,
    pub impact_lon: Option<f64>,
    pub impact_place: Option<String>,
    pub killed_military: Option<i32>,
    pub killed_civilian: Option<i32>,
    pub wounded_military: Option<i32>,
    pub wounded_civilian: Option<i32>,
    pub violations: Option<i32>,
}

/// Claims per INSERT: PostgreSQL takes at most 65,535 bound values in a
/// statement, and a claim row binds one per column (34).
const PER_INSERT: usize = 65_535 / 34;

pub async fn insert_many(mut conn: &Conn, rows: &[ClaimRow]) -> QueryResult<()> {
    for chunk in rows.chunks(PER_INSERT) {
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
        .order((claims::dated_at, claims::id))
        .select(ClaimRow::as_select())
        .load(conn)
        .await
}

/// The claims of many incidents, in one statement.
pub async fn for_incidents(conn: &mut Conn, incidents: &[Uuid]) -> QueryResult<Vec<ClaimRow>> {
    claims::table
        .filter(claims::incident_id.eq_any(incidents))
        .order((claims::incident_id, claims::dated_at, claims::id))
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
    pub status: Vec<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub include_deleted: bool,
}

/// One page of claims in (dated_at, id) order, after `after`.
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
    if !f.status.is_empty() {
        q = q.filter(claims::status.eq_any(f.status.clone()));
    }
    if let Some(from) = f.from {
        q = q.filter(claims::dated_at.ge(from));
    }
    if let Some(to) = f.to {
        q = q.filter(claims::dated_at.lt(to));
    }
    if let Some((at, id)) = after {
        // A row comparison, answered from the (dated_at, id) index.
        q = q.filter(
            diesel::dsl::sql::<diesel::sql_types::Bool>("(claims.dated_at, claims.id) > (")
                .bind::<diesel::sql_types::Timestamptz, _>(at)
                .sql(", ")
                .bind::<diesel::sql_types::Uuid, _>(id)
                .sql(")"),
        );
    }
    q.order((claims::dated_at, claims::id)).limit(limit).load(conn).await
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

/// Keeps the date of the claims with no `stated_at` in step with their
/// incident's `occurred_at`.
pub async fn redate(conn: &mut Conn, incident: Uuid, occurred_at: DateTime<Utc>) -> QueryResult<()> {
    diesel::update(claims::table.filter(claims::incident_id.eq(incident)).filter(claims::stated_at.is_null()))
        .set(claims::dated_at.eq(occurred_at))
        .execute(conn)
        .await
        .map(|_| ())
}

/// Marks a claim void.
pub async fn void(conn: &mut Conn, id: Uuid, at: DateTime<Utc>, by: Option<&str>, reason: &str) -> QueryResult<()> {
    diesel::update(claims::table.find(id))
        .set((
            claims::status.eq("voided"),
            claims::voided_at.eq(at),
            claims::voided_by.eq(by),
            claims::void_reason.eq(reason),
        ))
        .execute(conn)
        .await
        .map(|_| ())
}

/// Removes every claim of an incident (it is about to get others).
pub async fn delete_for_incident(conn: &mut Conn, incident: Uuid) -> QueryResult<usize> {
    // One statement: answers and what they answer go together (a foreign
    // key is checked at the statement's end).
    diesel::delete(claims::table.filter(claims::incident_id.eq(incident))).execute(conn).await
}

/// What a claim's row in a file says of its incident.
#[derive(Debug, Clone, Queryable)]
pub struct IncidentContext {
    pub id: Uuid,
    pub occurred_at: DateTime<Utc>,
    pub occurred_offset: i32,
    pub location_name: String,
    pub country: Option<String>,
}

/// The context of these incidents, for the claims' CSV.
pub async fn incident_context(conn: &mut Conn, ids: &[Uuid]) -> QueryResult<Vec<IncidentContext>> {
    incidents::table
        .filter(incidents::id.eq_any(ids))
        .select((
            incidents::id,
            incidents::occurred_at,
            incidents::occurred_offset,
            incidents::location_name,
            incidents::country,
        ))
        .load(conn)
        .await
}
