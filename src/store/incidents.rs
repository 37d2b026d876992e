//! Incidents, their sources, external ids and derived attribution.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::sql_types::{Bool, Text};
use diesel_async::RunQueryDsl;
use uuid::Uuid;

use super::claims::ClaimRow;
use super::Conn;
use crate::db::schema::{claims, external_ids, incident_parties, incidents, sources};
use crate::domain::attribution::Attribution;

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = incidents, check_for_backend(Pg), treat_none_as_null = true, treat_none_as_default_value = false)]
pub struct IncidentRow {
    pub id: Uuid,
    pub version: i32,
    pub occurred_at: DateTime<Utc>,
    pub occurred_until: Option<DateTime<Utc>>,
    pub time_precision: String,
    pub type_: String,
    pub location_name: String,
    pub border_sector: Option<String>,
    pub country: Option<String>,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub location_precision: Option<String>,
    pub killed_military: Option<i32>,
    pub killed_civilian: Option<i32>,
    pub wounded_military: Option<i32>,
    pub wounded_civilian: Option<i32>,
    pub violations: i32,
    pub title: String,
    pub description: String,
    pub verification: String,
    pub denied: bool,
    pub disputed: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub deleted_at: Option<DateTime<Utc>>,
    pub origin_name: Option<String>,
    pub origin_country: Option<String>,
    pub origin_lat: Option<f64>,
    pub origin_lon: Option<f64>,
    pub origin_place: Option<String>,
    /// Two standing claimants' accounts disagree (derived with the attribution).
    pub divergent: bool,
    /// The UTC offset `occurred_at` was reported with, in seconds.
    pub occurred_offset: i32,
    /// The gazetteer's place, when the location references one.
    pub place: Option<String>,
    pub admin1: Option<String>,
    pub admin2: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = sources, check_for_backend(Pg))]
pub struct SourceRow {
    pub incident_id: Uuid,
    pub position: i32,
    pub url: String,
    pub title: Option<String>,
    pub publisher: Option<String>,
    pub published_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = external_ids, check_for_backend(Pg))]
pub struct ExternalIdRow {
    pub incident_id: Uuid,
    pub system: String,
    pub value: String,
}

/// An incident with everything stored beside it.
#[derive(Debug, Clone)]
pub struct IncidentRecord {
    pub row: IncidentRow,
    pub sources: Vec<SourceRow>,
    pub external_ids: Vec<ExternalIdRow>,
    pub claims: Vec<ClaimRow>,
    pub roles: Vec<(String, String)>,
}

/// Inserts an incident with its sources and external ids (not its claims).
pub async fn insert(conn: &mut Conn, row: &IncidentRow, srcs: &[SourceRow], ext: &[ExternalIdRow]) -> QueryResult<()> {
    diesel::insert_into(incidents::table).values(row).execute(conn).await?;
    replace_sources(conn, row.id, srcs).await?;
    replace_external_ids(conn, row.id, ext).await
}

/// Inserts many incidents in few statements (the batch endpoint).
pub async fn insert_many(
    conn: &mut Conn,
    rows: &[IncidentRow],
    srcs: &[SourceRow],
    ext: &[ExternalIdRow],
) -> QueryResult<()> {
    // PostgreSQL takes at most 65535 bind parameters per statement.
    for chunk in rows.chunks(1000) {
        match chunk {
            // One row (a single POST): a statement of one shape, prepared
            // once per connection; a slice is planned on every call.
            [one] => diesel::insert_into(incidents::table).values(one).execute(conn).await?,
            _ => diesel::insert_into(incidents::table).values(chunk).execute(conn).await?,
        };
    }
    for chunk in srcs.chunks(5000) {
        diesel::insert_into(sources::table).values(chunk).execute(conn).await?;
    }
    for chunk in ext.chunks(10000) {
        diesel::insert_into(external_ids::table).values(chunk).execute(conn).await?;
    }
    Ok(())
}

pub async fn replace_sources(conn: &mut Conn, id: Uuid, srcs: &[SourceRow]) -> QueryResult<()> {
    diesel::delete(sources::table.filter(sources::incident_id.eq(id))).execute(conn).await?;
    if !srcs.is_empty() {
        diesel::insert_into(sources::table).values(srcs).execute(conn).await?;
    }
    Ok(())
}

pub async fn replace_external_ids(conn: &mut Conn, id: Uuid, ext: &[ExternalIdRow]) -> QueryResult<()> {
    diesel::delete(external_ids::table.filter(external_ids::incident_id.eq(id))).execute(conn).await?;
    if !ext.is_empty() {
        diesel::insert_into(external_ids::table).values(ext).execute(conn).await?;
    }
    Ok(())
}

/// Reads an incident and locks it until the transaction ends, so changes
/// to one incident (its version, its attribution) happen one at a time.
pub async fn lock(conn: &mut Conn, id: Uuid) -> QueryResult<Option<IncidentRow>> {
    incidents::table.find(id).select(IncidentRow::as_select()).for_update().first(conn).await.optional()
}

/// Locks many incidents until the transaction ends, in one order (so two
/// such locks cannot deadlock), as `lock` does one.
pub async fn lock_many(conn: &mut Conn, ids: &[Uuid]) -> QueryResult<()> {
    let mut sorted = ids.to_vec();
    sorted.sort();
    let _: Vec<Uuid> = incidents::table
        .filter(incidents::id.eq_any(&sorted))
        .order(incidents::id)
        .select(incidents::id)
        .for_update()
        .load(conn)
        .await?;
    Ok(())
}

pub async fn update(conn: &mut Conn, row: &IncidentRow) -> QueryResult<()> {
    diesel::update(incidents::table.find(row.id)).set(row).execute(conn).await.map(|_| ())
}

/// Stores an incident's derived attribution and divergence, and which of
/// its claims count and how they stand (a voided claim stays voided).
pub async fn set_attribution(conn: &mut Conn, id: Uuid, a: &Attribution, divergent: bool) -> QueryResult<()> {
    use diesel::sql_types::{Array, Uuid as SqlUuid};
    let counted: Vec<Uuid> = a.counted.iter().copied().collect();
    let retracted: Vec<Uuid> = a.retracted.iter().copied().collect();
    diesel::update(claims::table.filter(claims::incident_id.eq(id)))
        .set((
            claims::counted.eq(claims::id.eq_any(counted)),
            claims::status.eq(diesel::dsl::sql::<Text>(
                "CASE WHEN claims.status = 'voided' THEN 'voided' WHEN claims.id = ANY(",
            )
            .bind::<Array<SqlUuid>, _>(retracted)
            .sql(") THEN 'retracted' ELSE 'standing' END")),
        ))
        .execute(conn)
        .await?;
    diesel::delete(incident_parties::table.filter(incident_parties::incident_id.eq(id))).execute(conn).await?;
    insert_roles(conn, std::iter::once((id, a))).await?;
    diesel::update(incidents::table.find(id))
        .set((incidents::denied.eq(a.denied), incidents::disputed.eq(a.disputed), incidents::divergent.eq(divergent)))
        .execute(conn)
        .await
        .map(|_| ())
}

/// An incident's attribution after a change to the parties' hierarchy.
pub struct Reattributed {
    pub id: Uuid,
    pub denied: bool,
    pub disputed: bool,
    /// `denied` or `disputed` differ from before: a new version.
    pub changed: bool,
}

/// Writes `denied` and `disputed` of many incidents in one statement; the
/// changed ones get a new version and `updated_at`. Every row is written
/// (the counts' trigger re-reads its parties' sides). Returns the new
/// version of each changed incident.
pub async fn reattribute(
    conn: &mut Conn,
    items: &[Reattributed],
    at: DateTime<Utc>,
) -> QueryResult<HashMap<Uuid, i32>> {
    use diesel::sql_types::{Array, Timestamptz, Uuid as SqlUuid};
    #[derive(QueryableByName)]
    struct Version {
        #[diesel(sql_type = SqlUuid)]
        id: Uuid,
        #[diesel(sql_type = diesel::sql_types::Integer)]
        version: i32,
    }
    if items.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<Version> = diesel::sql_query(
        "UPDATE incidents i SET denied = u.denied, disputed = u.disputed, \
             version = i.version + u.changed::int, \
             updated_at = CASE WHEN u.changed THEN $5 ELSE i.updated_at END \
         FROM unnest($1, $2, $3, $4) AS u(id, denied, disputed, changed) \
         WHERE i.id = u.id RETURNING i.id, i.version",
    )
    .bind::<Array<SqlUuid>, _>(items.iter().map(|i| i.id).collect::<Vec<_>>())
    .bind::<Array<Bool>, _>(items.iter().map(|i| i.denied).collect::<Vec<_>>())
    .bind::<Array<Bool>, _>(items.iter().map(|i| i.disputed).collect::<Vec<_>>())
    .bind::<Array<Bool>, _>(items.iter().map(|i| i.changed).collect::<Vec<_>>())
    .bind::<Timestamptz, _>(at)
    .load(conn)
    .await?;
    let changed: std::collections::HashSet<Uuid> = items.iter().filter(|i| i.changed).map(|i| i.id).collect();
    Ok(rows.into_iter().filter(|r| changed.contains(&r.id)).map(|r| (r.id, r.version)).collect())
}

/// Everything stored beside an incident (its sources, external ids, claims
/// and attribution rows, each in its order, as arrays of values), as one
/// JSON text computed in the statement that reads the incident: GET by id
/// reads a record in one snapshot and one round trip. (Lists and exports
/// load many records with one query per table, `records`, which is cheaper
/// in bulk.) A type of its own, not an `sql` literal, so that statements
/// using it are prepared once per connection.
#[derive(Debug, Clone, Copy, diesel::query_builder::QueryId)]
struct Beside;

impl diesel::expression::Expression for Beside {
    type SqlType = Text;
}

impl diesel::expression::ValidGrouping<()> for Beside {
    type IsAggregate = diesel::expression::is_aggregate::Never;
}

impl diesel::expression::AppearsOnTable<incidents::table> for Beside {}

impl diesel::expression::SelectableExpression<incidents::table> for Beside {}

impl diesel::query_builder::QueryFragment<Pg> for Beside {
    fn walk_ast<'b>(&'b self, mut out: diesel::query_builder::AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql(
            "json_build_array(\
               (SELECT coalesce(json_agg(json_build_array(s.position, s.url, s.title, s.publisher, s.published_at) \
                                         ORDER BY s.position), '[]') \
                  FROM sources s WHERE s.incident_id = incidents.id), \
               (SELECT coalesce(json_agg(json_build_array(e.system, e.value) ORDER BY e.system), '[]') \
                  FROM external_ids e WHERE e.incident_id = incidents.id), \
               (SELECT coalesce(json_agg(c ORDER BY c.dated_at, c.id), '[]') \
                  FROM claims c WHERE c.incident_id = incidents.id), \
               (SELECT coalesce(json_agg(json_build_array(p.role, p.party) ORDER BY p.role, p.party), '[]') \
                  FROM incident_parties p WHERE p.incident_id = incidents.id))::text",
        );
        Ok(())
    }
}

type SourceValues = (i32, String, Option<String>, Option<String>, Option<DateTime<Utc>>);

#[derive(serde::Deserialize)]
struct BesideValues(Vec<SourceValues>, Vec<(String, String)>, Vec<ClaimRow>, Vec<(String, String)>);

/// The record of `row` from the text of `Beside`.
fn record(row: IncidentRow, beside: &str) -> QueryResult<IncidentRecord> {
    let BesideValues(srcs, ext, cls, roles) =
        serde_json::from_str(beside).map_err(|e| diesel::result::Error::DeserializationError(Box::new(e)))?;
    let id = row.id;
    Ok(IncidentRecord {
        sources: srcs
            .into_iter()
            .map(|(position, url, title, publisher, published_at)| SourceRow {
                incident_id: id,
                position,
                url,
                title,
                publisher,
                published_at,
            })
            .collect(),
        external_ids: ext.into_iter().map(|(system, value)| ExternalIdRow { incident_id: id, system, value }).collect(),
        claims: cls,
        roles,
        row,
    })
}

/// Loads the records of these incidents, in the order of `rows`.
pub async fn records(conn: &mut Conn, rows: Vec<IncidentRow>) -> QueryResult<Vec<IncidentRecord>> {
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    let mut srcs: HashMap<Uuid, Vec<SourceRow>> = HashMap::new();
    let mut ext: HashMap<Uuid, Vec<ExternalIdRow>> = HashMap::new();
    let mut cls: HashMap<Uuid, Vec<ClaimRow>> = HashMap::new();
    let mut roles: HashMap<Uuid, Vec<(String, String)>> = HashMap::new();
    if !ids.is_empty() {
        // Four independent reads sent together (pipelined): one round trip.
        let conn: &Conn = conn;
        let (s, e, c, p) = futures_util::try_join!(
            sources::table
                .filter(sources::incident_id.eq_any(&ids))
                .order((sources::incident_id, sources::position))
                .select(SourceRow::as_select())
                .load::<SourceRow>(&mut &*conn),
            external_ids::table
                .filter(external_ids::incident_id.eq_any(&ids))
                .order((external_ids::incident_id, external_ids::system))
                .select(ExternalIdRow::as_select())
                .load::<ExternalIdRow>(&mut &*conn),
            claims::table
                .filter(claims::incident_id.eq_any(&ids))
                .order((claims::incident_id, claims::dated_at, claims::id))
                .select(ClaimRow::as_select())
                .load::<ClaimRow>(&mut &*conn),
            incident_parties::table
                .filter(incident_parties::incident_id.eq_any(&ids))
                .order((incident_parties::incident_id, incident_parties::role, incident_parties::party))
                .select((incident_parties::incident_id, incident_parties::role, incident_parties::party))
                .load::<(Uuid, String, String)>(&mut &*conn),
        )?;
        for r in s {
            srcs.entry(r.incident_id).or_default().push(r);
        }
        for r in e {
            ext.entry(r.incident_id).or_default().push(r);
        }
        for r in c {
            cls.entry(r.incident_id).or_default().push(r);
        }
        for (id, role, party) in p {
            roles.entry(id).or_default().push((role, party));
        }
    }
    Ok(rows
        .into_iter()
        .map(|row| IncidentRecord {
            sources: srcs.remove(&row.id).unwrap_or_default(),
            external_ids: ext.remove(&row.id).unwrap_or_default(),
            claims: cls.remove(&row.id).unwrap_or_default(),
            roles: roles.remove(&row.id).unwrap_or_default(),
            row,
        })
        .collect())
}

/// One incident with everything beside it, in one statement.
pub async fn get(conn: &mut Conn, id: Uuid) -> QueryResult<Option<IncidentRecord>> {
    let found: Option<(IncidentRow, String)> =
        incidents::table.find(id).select((IncidentRow::as_select(), Beside)).first(conn).await.optional()?;
    found.map(|(row, text)| record(row, &text)).transpose()
}

/// Stores the attribution roles of new incidents (their `denied` and
/// `disputed` columns were inserted with the rows).
pub async fn insert_roles<'a>(
    mut conn: &Conn,
    items: impl Iterator<Item = (Uuid, &'a Attribution)>,
) -> QueryResult<()> {
    let mut rows = Roles::default();
    for (id, a) in items {
        for (role, party) in a.roles() {
            rows.incident_ids.push(id);
            rows.roles.push(role);
            rows.parties.push(party.to_string());
        }
    }
    if !rows.incident_ids.is_empty() {
        rows.execute(&mut conn).await?;
    }
    Ok(())
}

/// Attribution rows inserted from three arrays: one statement text for any
/// number of rows, so it is prepared once per connection (diesel plans a
/// multi-row `VALUES` afresh each time, its text depending on the count).
#[derive(Default, diesel::query_builder::QueryId)]
struct Roles {
    incident_ids: Vec<Uuid>,
    roles: Vec<&'static str>,
    parties: Vec<String>,
}

impl diesel::query_builder::QueryFragment<Pg> for Roles {
    fn walk_ast<'b>(&'b self, mut out: diesel::query_builder::AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        use diesel::sql_types::{Array, Uuid as SqlUuid};
        out.push_sql("INSERT INTO incident_parties (incident_id, role, party) SELECT * FROM unnest(");
        out.push_bind_param::<Array<SqlUuid>, _>(&self.incident_ids)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Text>, _>(&self.roles)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Text>, _>(&self.parties)?;
        out.push_sql(")");
        Ok(())
    }
}

/// Incidents not deleted, and the claims on them (for `/metrics`).
pub async fn totals(conn: &mut Conn) -> QueryResult<(i64, i64)> {
    let live = incidents::table.filter(incidents::deleted_at.is_null());
    let incidents_n = live.count().get_result::<i64>(conn).await?;
    let claims_n = claims::table
        .filter(claims::incident_id.eq_any(live.select(incidents::id)))
        .count()
        .get_result::<i64>(conn)
        .await?;
    Ok((incidents_n, claims_n))
}

/// Which of `ids` are incidents already (deleted ones included).
pub async fn existing(conn: &mut Conn, ids: &[Uuid]) -> QueryResult<Vec<Uuid>> {
    incidents::table.filter(incidents::id.eq_any(ids)).select(incidents::id).load(conn).await
}
