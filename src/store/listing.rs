//! Lists of incidents: the filters, keyset pages in either order, and the
//! snapshot a long read (an export) is made in.

use chrono::{DateTime, Utc};
use diesel::dsl::sql;
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::sql_types::{Array, Bool, Text};
use diesel_async::RunQueryDsl;
use uuid::Uuid;

use super::incidents::IncidentRow;
use super::Conn;
use crate::db::schema::{incident_parties, incidents};

/// Filters on incidents, shared by the list, the export and the stats.
/// Party filters hold slugs already expanded from sides.
#[derive(Debug, Clone, Default)]
pub struct IncidentFilter {
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub types: Vec<String>,
    /// (role, parties): the incident has one of these parties in this role.
    pub roles: Vec<(&'static str, Vec<String>)>,
    pub denied: Option<bool>,
    pub verification: Vec<String>,
    pub border_sector: Vec<String>,
    pub country: Vec<String>,
    /// Places by slug or any of their names: incidents that reference
    /// one, or whose location is named by one of its names.
    pub place: Vec<String>,
    pub admin1: Vec<String>,
    pub admin2: Vec<String>,
    pub origin_country: Vec<String>,
    pub cross_border: Option<bool>,
    pub divergent: Option<bool>,
    /// min_lon, min_lat, max_lon, max_lat
    pub bbox: Option<[f64; 4]>,
    pub q: Option<String>,
    pub updated_since: Option<DateTime<Utc>>,
    pub include_deleted: bool,
}

/// The order of a list.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Order {
    /// Newest first: (occurred_at, id) descending.
    Occurred,
    /// Change order, for mirrors: by the transaction that last changed each
    /// incident, listing only changes below the oldest transaction still
    /// running, so nothing that commits later can sort before what was listed.
    Changed,
}

/// A row's place in its list's order; a page starts after one.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Position {
    Occurred(DateTime<Utc>, Uuid),
    Changed(i64, Uuid),
}

pub fn filtered(f: &IncidentFilter) -> incidents::BoxedQuery<'static, Pg> {
    let mut q = incidents::table.into_boxed::<Pg>();
    if !f.include_deleted {
        q = q.filter(incidents::deleted_at.is_null());
    }
    if let Some(from) = f.from {
        q = q.filter(incidents::occurred_at.ge(from));
    }
    if let Some(to) = f.to {
        q = q.filter(incidents::occurred_at.lt(to));
    }
    if !f.types.is_empty() {
        q = q.filter(incidents::type_.eq_any(f.types.clone()));
    }
    for (role, parties) in &f.roles {
        let sub = incident_parties::table
            .select(incident_parties::incident_id)
            .filter(incident_parties::role.eq(*role))
            .filter(incident_parties::party.eq_any(parties.clone()));
        q = q.filter(incidents::id.eq_any(sub));
    }
    if let Some(d) = f.denied {
        q = q.filter(incidents::denied.eq(d));
    }
    if !f.verification.is_empty() {
        q = q.filter(incidents::verification.eq_any(f.verification.clone()));
    }
    if !f.border_sector.is_empty() {
        q = q.filter(incidents::border_sector.eq_any(f.border_sector.clone()));
    }
    if !f.country.is_empty() {
        q = q.filter(incidents::country.eq_any(f.country.clone()));
    }
    if !f.place.is_empty() {
        q = q.filter(
            sql::<Bool>(
                "(incidents.place = ANY(ARRAY(SELECT p.slug FROM places p WHERE p.slug = ANY(",
            )
            .bind::<Array<Text>, _>(f.place.clone())
            .sql(") OR p.folded_names && ARRAY(SELECT lower(v) FROM unnest(")
            .bind::<Array<Text>, _>(f.place.clone())
            .sql(") AS v))) OR lower(incidents.location_name) = ANY(ARRAY(SELECT DISTINCT n FROM places p, unnest(p.folded_names) AS n WHERE p.slug = ANY(")
            .bind::<Array<Text>, _>(f.place.clone())
            .sql(") OR p.folded_names && ARRAY(SELECT lower(v) FROM unnest(")
            .bind::<Array<Text>, _>(f.place.clone())
            .sql(") AS v))))"),
        );
    }
    if !f.admin1.is_empty() {
        q = q.filter(crate::store::places::folded_in("incidents.admin1", &f.admin1));
    }
    if !f.admin2.is_empty() {
        q = q.filter(crate::store::places::folded_in("incidents.admin2", &f.admin2));
    }
    if !f.origin_country.is_empty() {
        q = q.filter(incidents::origin_country.eq_any(f.origin_country.clone()));
    }
    if let Some(c) = f.cross_border {
        q = q.filter(incidents::cross_border.eq(c));
    }
    if let Some(d) = f.divergent {
        q = q.filter(incidents::divergent.eq(d));
    }
    if let Some([min_lon, min_lat, max_lon, max_lat]) = f.bbox {
        q = q.filter(incidents::lon.between(min_lon, max_lon)).filter(incidents::lat.between(min_lat, max_lat));
    }
    if let Some(text) = &f.q {
        // The words as given, or any name of a place that goes by them:
        // "Kəlbəcər" also finds incidents written about Kalbajar and
        // Karvachar, and those at that place.
        let named = "FROM places p WHERE p.folded_names @> ARRAY[lower(";
        q = q.filter(
            sql::<Bool>(
                "(to_tsvector('simple', title || ' ' || description) @@ (SELECT coalesce(websearch_to_tsquery('simple', ",
            )
            .bind::<Text, _>(text.clone())
            .sql(") || (SELECT to_tsquery('simple', string_agg('(' || phraseto_tsquery('simple', n)::text || ')', ' | ')) FROM places p, unnest(array_prepend(p.name, p.alt_names)) AS n WHERE p.folded_names @> ARRAY[lower(")
            .bind::<Text, _>(text.clone())
            .sql(")] AND phraseto_tsquery('simple', n)::text <> ''), websearch_to_tsquery('simple', ")
            .bind::<Text, _>(text.clone())
            .sql("))) OR incidents.place = ANY(ARRAY(SELECT p.slug ")
            .sql(named)
            .bind::<Text, _>(text.clone())
            .sql(")])) OR lower(incidents.location_name) = ANY(ARRAY(SELECT DISTINCT n FROM (SELECT p.folded_names ")
            .sql(named)
            .bind::<Text, _>(text.clone())
            .sql(")]) AS f, unnest(f.folded_names) AS n)))"),
        );
    }
    if let Some(since) = f.updated_since {
        q = q.filter(incidents::updated_at.ge(since));
    }
    q
}

/// One page of incidents after `after` (exclusive), `limit` rows, each
/// with its position.
pub async fn page(
    conn: &mut Conn,
    f: &IncidentFilter,
    order: Order,
    after: Option<Position>,
    limit: i64,
) -> QueryResult<Vec<(IncidentRow, Position)>> {
    let mut q = filtered(f).select((IncidentRow::as_select(), incidents::change_seq)).limit(limit);
    // Row comparisons, which PostgreSQL answers from the (key, id) index;
    // the equivalent OR of two conditions makes it scan from the start.
    match after {
        Some(Position::Occurred(at, id)) => {
            q = q.filter(
                sql::<Bool>("(incidents.occurred_at, incidents.id) < (")
                    .bind::<diesel::sql_types::Timestamptz, _>(at)
                    .sql(", ")
                    .bind::<diesel::sql_types::Uuid, _>(id)
                    .sql(")"),
            )
        }
        Some(Position::Changed(seq, id)) => {
            q = q.filter(
                sql::<Bool>("(incidents.change_seq, incidents.id) > (")
                    .bind::<diesel::sql_types::BigInt, _>(seq)
                    .sql(", ")
                    .bind::<diesel::sql_types::Uuid, _>(id)
                    .sql(")"),
            )
        }
        None => {}
    }
    q = match order {
        Order::Occurred => q.order((incidents::occurred_at.desc(), incidents::id.desc())),
        Order::Changed => q
            .filter(
                incidents::change_seq
                    .lt(sql::<diesel::sql_types::BigInt>("pg_snapshot_xmin(pg_current_snapshot())::text::bigint")),
            )
            .order((incidents::change_seq.asc(), incidents::id.asc())),
    };
    let rows: Vec<(IncidentRow, i64)> = q.load(conn).await?;
    Ok(rows
        .into_iter()
        .map(|(row, seq)| {
            let position = match order {
                Order::Occurred => Position::Occurred(row.occurred_at, row.id),
                Order::Changed => Position::Changed(seq, row.id),
            };
            (row, position)
        })
        .collect())
}

/// Starts the read-only repeatable-read transaction that a long read (an
/// export, chunk after chunk) sees the ledger in: one snapshot throughout.
pub async fn begin_snapshot(conn: &mut Conn) -> QueryResult<()> {
    use diesel_async::SimpleAsyncConnection;
    // PostgreSQL ends the session too if the transaction idles (a client
    // that stopped reading), whatever happens to the process.
    conn.batch_execute(
        "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SET LOCAL idle_in_transaction_session_timeout = '120s'",
    )
    .await
}

/// Ends the transaction of `begin_snapshot`.
pub async fn end_snapshot(conn: &mut Conn) -> QueryResult<()> {
    use diesel_async::SimpleAsyncConnection;
    conn.batch_execute("COMMIT").await
}
