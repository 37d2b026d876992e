//! Counts by period, straight from the base tables.
//!
//! The filtered rows (incidents, or counted claims with their incidents)
//! come from the same Diesel filters as the lists; this module wraps them in
//! the grouping SQL: each requested dimension becomes a lateral subquery of
//! distinct values per row, so an incident with two accusers counts once
//! under each, and the total counts it once.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::dsl::sql;
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::{Array, BigInt, Date, Nullable, Text, Timestamptz, Untyped};
use diesel_async::RunQueryDsl;

use super::listing::{filtered, IncidentFilter};
use super::Conn;
use crate::db::schema::{claims, incidents};
pub use crate::domain::dimension::{Dimension, Measure};

/// The SQL of what is summed, per row: of the incident, or of the claim's
/// account (a figure it does not state adds nothing).
fn measure_sql(m: Measure, claims: bool) -> &'static str {
    match (m, claims) {
        (Measure::Incidents | Measure::Claims, _) => "1::int8",
        (Measure::Violations, false) => "incidents.violations::int8",
        (Measure::Killed, false) => {
            "(coalesce(incidents.killed_military, 0) + coalesce(incidents.killed_civilian, 0))::int8"
        }
        (Measure::Wounded, false) => {
            "(coalesce(incidents.wounded_military, 0) + coalesce(incidents.wounded_civilian, 0))::int8"
        }
        (Measure::Violations, true) => "coalesce(claims.violations, 0)::int8",
        (Measure::Killed, true) => "(coalesce(claims.killed_military, 0) + coalesce(claims.killed_civilian, 0))::int8",
        (Measure::Wounded, true) => {
            "(coalesce(claims.wounded_military, 0) + coalesce(claims.wounded_civilian, 0))::int8"
        }
    }
}

/// The direction of a claim's account, as SQL over the claim and its incident.
pub const CLAIM_DIRECTION: &str =
    "(claims.origin_country || '>' || coalesce(claims.impact_country, incidents.country))";

/// The SQL giving `d`'s values for the row `r`, as a lateral subquery of
/// one text column `val`.
fn lateral(d: Dimension) -> String {
    let by_role = |role: &str| {
        format!("SELECT ip.party AS val FROM incident_parties ip WHERE ip.incident_id = r.incident_id AND ip.role = '{role}'")
    };
    let role_side = |role: &str| {
        format!(
            "SELECT DISTINCT sm.side AS val FROM incident_parties ip JOIN side_map sm ON sm.party = ip.party \
             WHERE ip.incident_id = r.incident_id AND ip.role = '{role}'"
        )
    };
    match d {
        Dimension::Type => "SELECT r.type AS val".into(),
        Dimension::Verification => "SELECT r.verification AS val".into(),
        Dimension::BorderSector => "SELECT r.border_sector AS val".into(),
        Dimension::Country => "SELECT r.country AS val".into(),
        Dimension::Denied => "SELECT r.denied::text AS val".into(),
        Dimension::Accuser => by_role("accuser"),
        Dimension::Accused => by_role("accused"),
        Dimension::Claimant => by_role("claimant"),
        Dimension::AccuserSide => role_side("accuser"),
        Dimension::AccusedSide => role_side("accused"),
        Dimension::ClaimClaimant => "SELECT r.claimant AS val".into(),
        Dimension::ClaimantSide => "SELECT sm.side AS val FROM side_map sm WHERE sm.party = r.claimant".into(),
        Dimension::Stance => "SELECT r.stance AS val".into(),
        Dimension::Target => "SELECT r.target AS val".into(),
        Dimension::TargetSide => "SELECT sm.side AS val FROM side_map sm WHERE sm.party = r.target".into(),
        Dimension::Direction | Dimension::ClaimDirection => "SELECT r.direction AS val".into(),
        Dimension::CrossBorder => "SELECT r.cross_border::text AS val".into(),
        Dimension::Admin1 => "SELECT r.admin1 AS val".into(),
        Dimension::Admin2 => "SELECT r.admin2 AS val".into(),
    }
}

/// Which rows are counted, and by which date.
#[derive(Debug, Clone)]
pub struct StatsSpec {
    pub filter: IncidentFilter,
    /// `incidents.occurred_at`, `incidents.created_at` or `claims.dated_at`.
    pub date_column: &'static str,
    /// Count claims (counted ones, of the filtered incidents) instead of incidents.
    pub claims: bool,
    pub stances: Vec<String>,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub tz: String,
    pub interval: &'static str,
    pub measure: Measure,
    pub group_by: Vec<Dimension>,
    /// Every party and its side, for the side dimensions.
    pub sides: (Vec<String>, Vec<String>),
}

type RowsQuery = diesel::query_builder::BoxedSelectStatement<
    'static,
    RowSqlType,
    diesel::query_builder::FromClause<diesel::helper_types::InnerJoinQuerySource<claims::table, incidents::table>>,
    Pg,
>;

/// The rows to count, before grouping.
enum Rows {
    Incidents(incidents::BoxedQuery<'static, Pg, RowSqlType>),
    Claims(RowsQuery),
}

/// incident id, date, measure, type, verification, border_sector, country,
/// denied, claimant, stance, target, direction, cross_border, admin1, admin2.
type RowSqlType = (
    diesel::sql_types::Uuid,
    Timestamptz,
    BigInt,
    Text,
    Text,
    Nullable<Text>,
    Nullable<Text>,
    diesel::sql_types::Bool,
    Nullable<Text>,
    Nullable<Text>,
    Nullable<Text>,
    Nullable<Text>,
    diesel::sql_types::Bool,
    Nullable<Text>,
    Nullable<Text>,
);

fn rows(spec: &StatsSpec) -> Rows {
    let date = || sql::<Timestamptz>(spec.date_column);
    let none = || sql::<Nullable<Text>>("NULL::text");
    let mut filter = spec.filter.clone();
    filter.from = None;
    filter.to = None;
    if spec.claims {
        let mut q = claims::table
            .inner_join(incidents::table)
            .select((
                claims::incident_id,
                date(),
                sql::<BigInt>(measure_sql(spec.measure, true)),
                incidents::type_,
                incidents::verification,
                incidents::border_sector,
                incidents::country,
                incidents::denied,
                claims::claimant.nullable(),
                claims::stance.nullable(),
                claims::target,
                sql::<Nullable<Text>>(CLAIM_DIRECTION),
                incidents::cross_border,
                incidents::admin1,
                incidents::admin2,
            ))
            .filter(claims::counted)
            .filter(claims::incident_id.eq_any(filtered(&filter).select(incidents::id)))
            .filter(date().ge(spec.from))
            .filter(date().lt(spec.to))
            .into_boxed();
        if !spec.stances.is_empty() {
            q = q.filter(claims::stance.eq_any(spec.stances.clone()));
        }
        Rows::Claims(q)
    } else {
        let q = filtered(&filter)
            .select((
                incidents::id,
                date(),
                sql::<BigInt>(measure_sql(spec.measure, false)),
                incidents::type_,
                incidents::verification,
                incidents::border_sector,
                incidents::country,
                incidents::denied,
                none(),
                none(),
                none(),
                incidents::direction,
                incidents::cross_border,
                incidents::admin1,
                incidents::admin2,
            ))
            .filter(date().ge(spec.from))
            .filter(date().lt(spec.to));
        Rows::Incidents(q)
    }
}

/// The grouping around the filtered rows.
struct Grouped<'a> {
    spec: &'a StatsSpec,
    rows: Rows,
    /// Only the total, not the groups.
    total_only: bool,
}

impl QueryId for Grouped<'_> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl Query for Grouped<'_> {
    type SqlType = Untyped;
}

impl QueryFragment<Pg> for Grouped<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql("WITH side_map AS (SELECT * FROM unnest(");
        out.push_bind_param::<Array<Text>, _>(&self.spec.sides.0)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Text>, _>(&self.spec.sides.1)?;
        out.push_sql(") AS s(party, side)), r(incident_id, at, v, type, verification, border_sector, country, denied, claimant, stance, target, direction, cross_border, admin1, admin2) AS (");
        match &self.rows {
            Rows::Incidents(q) => QueryFragment::<Pg>::walk_ast(q, out.reborrow())?,
            Rows::Claims(q) => QueryFragment::<Pg>::walk_ast(q, out.reborrow())?,
        }
        out.push_sql(") ");
        let dims = self.spec.group_by.len();
        let unused = || (dims..MAX_GROUP_BY).map(|i| format!(", NULL::text AS g{i}")).collect::<String>();
        if self.total_only {
            out.push_sql("SELECT NULL::date AS period, coalesce(sum(v), 0)::int8 AS value");
            for i in 0..dims {
                out.push_sql(&format!(", NULL::text AS g{i}"));
            }
            out.push_sql(&unused());
            out.push_sql(" FROM r");
            return Ok(());
        }
        out.push_sql(&format!("SELECT date_trunc('{}', r.at AT TIME ZONE ", self.spec.interval));
        out.push_bind_param::<Text, _>(&self.spec.tz)?;
        out.push_sql(")::date AS period, sum(r.v)::int8 AS value");
        for i in 0..dims {
            out.push_sql(&format!(", d{i}.val AS g{i}"));
        }
        out.push_sql(&unused());
        out.push_sql(" FROM r");
        for (i, dim) in self.spec.group_by.iter().enumerate() {
            out.push_sql(&format!(" LEFT JOIN LATERAL ({}) d{i} ON true", lateral(*dim)));
        }
        out.push_sql(" GROUP BY 1");
        for i in 0..self.spec.group_by.len() {
            out.push_sql(&format!(", {}", i + 3));
        }
        Ok(())
    }
}

/// One group's value in one period.
#[derive(Debug, Clone, QueryableByName)]
pub struct Count {
    #[diesel(sql_type = Nullable<Date>)]
    pub period: Option<NaiveDate>,
    #[diesel(sql_type = BigInt)]
    pub value: i64,
    #[diesel(sql_type = Nullable<Text>)]
    pub g0: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub g1: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub g2: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub g3: Option<String>,
}

pub const MAX_GROUP_BY: usize = 4;

/// The counts per period and group, then the total (each row once, as a
/// row without a period), streamed into `sink` as they arrive; `sink`
/// answers false to stop reading (the rest, the total too, is not read).
pub async fn counts(conn: &mut Conn, spec: &StatsSpec, sink: &mut impl FnMut(Count) -> bool) -> QueryResult<()> {
    use futures_util::TryStreamExt;
    for total_only in [false, true] {
        let mut rows = Grouped { spec, rows: rows(spec), total_only }.load_stream::<Count>(conn).await?;
        while let Some(row) = rows.try_next().await? {
            if !sink(row) {
                return Ok(());
            }
        }
    }
    Ok(())
}
