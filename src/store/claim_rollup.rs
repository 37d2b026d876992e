//! Counts of claims from their rollups (migration `claim_rollups`): what
//! each party says, per local day and month of each rolled-up zone, by
//! claimant, stance, target, the account's direction and the incident's
//! type, with the accounts' figures summed.
//!
//! One statement, exact in its snapshot: whole local days (and months)
//! from `stat_claim`, the changes not folded yet from `stat_claim_dirty`,
//! and the parts of days at either end of the range from the narrow rows
//! of `stat_claim_current`; in a zone that is not rolled up, those narrow
//! rows for the whole range. Sides come from the hierarchy at the time of
//! the count, as in every count.

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use diesel::pg::Pg;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::{Array, Text, Timestamptz, Untyped};
use diesel::QueryResult;
use diesel_async::RunQueryDsl;

use super::rollup::{day_range, unused_groups, WholeDays};
use super::stats::{Count, Measure};
use super::Conn;
use crate::domain::dimension::Dimension;
use crate::domain::period::{local_midnight, Interval};

/// The dimensions the claim rollups keep, with the SQL of their value.
pub fn kept(d: Dimension) -> Option<&'static str> {
    Some(match d {
        Dimension::ClaimClaimant => "src.claimant",
        Dimension::ClaimantSide => "cs.side",
        Dimension::Stance => "src.stance",
        Dimension::Target => "src.target",
        Dimension::TargetSide => "ts.side",
        Dimension::ClaimDirection => "src.direction",
        Dimension::Type => "src.type",
        _ => return None,
    })
}

/// A count of claims the rollups answer: no incident filter, only the
/// dimensions they keep.
#[derive(Debug, Clone)]
pub struct ClaimRollupSpec {
    pub tz: Tz,
    /// By the claim's date (`dated_at`) or by its incident's `occurred_at`.
    pub by_occurred: bool,
    pub interval: Interval,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub measure: Measure,
    pub group_by: Vec<Dimension>,
    /// Only these stances (all when empty).
    pub stances: Vec<String>,
}

struct ClaimQuery<'a> {
    spec: &'a ClaimRollupSpec,
    sides: &'a (Vec<String>, Vec<String>),
    /// The whole local days `[first, last)`, and the whole months among them.
    first: NaiveDate,
    last: NaiveDate,
    months: Option<(NaiveDate, NaiveDate)>,
    /// The instants of `first` and `last`.
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    /// A day's margin around them: pending changes outside are not
    /// bucketed at all (a zone's midnight can repeat when a clock goes back).
    near: (DateTime<Utc>, DateTime<Utc>),
}

impl QueryId for ClaimQuery<'_> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl Query for ClaimQuery<'_> {
    type SqlType = Untyped;
}

impl ClaimQuery<'_> {
    fn stances<'b>(&'b self, out: &mut AstPass<'_, 'b, Pg>, table: &str) -> QueryResult<()> {
        if !self.spec.stances.is_empty() {
            out.push_sql(&format!(" AND {table}.stance = ANY("));
            out.push_bind_param::<Array<Text>, _>(&self.spec.stances)?;
            out.push_sql(")");
        }
        Ok(())
    }

    /// Reads the part only if the zone is rolled up (or only if it is
    /// not): a condition PostgreSQL decides once, before reading.
    fn gate<'b>(&'b self, out: &mut AstPass<'_, 'b, Pg>, rolled_up: bool) -> QueryResult<()> {
        out.push_sql(if rolled_up { " AND EXISTS" } else { " AND NOT EXISTS" });
        out.push_sql(" (SELECT FROM stat_zones WHERE zone = ");
        out.push_bind_param::<Text, _>(self.spec.tz.name())?;
        out.push_sql(")");
        Ok(())
    }

    fn instants<'b>(
        &self,
        out: &mut AstPass<'_, 'b, Pg>,
        at: &str,
        from: &'b DateTime<Utc>,
        to: &'b DateTime<Utc>,
    ) -> QueryResult<()> {
        out.push_sql(&format!("(c.{at} >= "));
        out.push_bind_param::<Timestamptz, _>(from)?;
        out.push_sql(&format!(" AND c.{at} < "));
        out.push_bind_param::<Timestamptz, _>(to)?;
        out.push_sql(")");
        Ok(())
    }
}

impl QueryFragment<Pg> for ClaimQuery<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        let spec = self.spec;
        let (basis, at) = if spec.by_occurred { ("o", "occurred_at") } else { ("s", "dated_at") };
        let zone = spec.tz.name();
        let columns = "claimant, stance, target, direction, type";
        out.push_sql("WITH side_map AS (SELECT * FROM unnest(");
        out.push_bind_param::<Array<Text>, _>(&self.sides.0)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Text>, _>(&self.sides.1)?;
        out.push_sql(") AS s(party, side)), src AS (");
        // Whole days and months from the rollups.
        out.push_sql(&format!("SELECT day, {columns}, n, violations, killed, wounded FROM stat_claim WHERE zone = "));
        out.push_bind_param::<Text, _>(zone)?;
        out.push_sql(&format!(" AND basis = '{basis}' AND "));
        match &self.months {
            Some((m_from, m_to)) => {
                out.push_sql("((grain = 'm' AND ");
                day_range(&mut out, m_from, m_to)?;
                out.push_sql(") OR (grain = 'd' AND ((");
                day_range(&mut out, &self.first, m_from)?;
                out.push_sql(") OR (");
                day_range(&mut out, m_to, &self.last)?;
                out.push_sql("))))");
            }
            None => {
                out.push_sql("grain = 'd' AND ");
                day_range(&mut out, &self.first, &self.last)?;
            }
        }
        self.stances(&mut out, "stat_claim")?;
        self.gate(&mut out, true)?;
        // The changes not folded yet, bucketed the same way.
        out.push_sql(&format!(
            " UNION ALL SELECT p.day, {columns}, p.sign::int8, p.sign * p.violations, p.sign * p.killed, \
             p.sign * p.wounded FROM (SELECT d.*, (d.{at} AT TIME ZONE "
        ));
        out.push_bind_param::<Text, _>(zone)?;
        out.push_sql(&format!(")::date AS day FROM stat_claim_dirty d WHERE d.{at} >= "));
        out.push_bind_param::<Timestamptz, _>(&self.near.0)?;
        out.push_sql(&format!(" AND d.{at} < "));
        out.push_bind_param::<Timestamptz, _>(&self.near.1)?;
        out.push_sql(") p WHERE ");
        day_range(&mut out, &self.first, &self.last)?;
        self.stances(&mut out, "p")?;
        self.gate(&mut out, true)?;
        // The claims themselves: the parts of days at either end, or the
        // whole range in a zone that is not rolled up. Each a plain range,
        // read from the index on the date.
        for (from, to, rolled_up) in
            [(&spec.from, &self.start, true), (&self.end, &spec.to, true), (&spec.from, &spec.to, false)]
        {
            out.push_sql(&format!(" UNION ALL SELECT (c.{at} AT TIME ZONE "));
            out.push_bind_param::<Text, _>(zone)?;
            out.push_sql(&format!(
                ")::date, {columns}, 1::int8, c.violations, c.killed, c.wounded FROM stat_claim_current c WHERE "
            ));
            self.instants(&mut out, at, from, to)?;
            self.stances(&mut out, "c")?;
            self.gate(&mut out, rolled_up)?;
        }
        out.push_sql(") ");

        let measure = match spec.measure {
            Measure::Incidents | Measure::Claims => "n",
            Measure::Violations => "violations",
            Measure::Killed => "killed",
            Measure::Wounded => "wounded",
        };
        let groups: Vec<&str> = spec.group_by.iter().map(|d| kept(*d).unwrap_or("NULL::text")).collect();
        out.push_sql(&format!(
            "SELECT date_trunc('{}', day)::date AS period, sum(src.{measure})::int8 AS value",
            spec.interval.as_str()
        ));
        for (i, g) in groups.iter().enumerate() {
            out.push_sql(&format!(", {g} AS g{i}"));
        }
        out.push_sql(&unused_groups(groups.len()));
        out.push_sql(
            " FROM src LEFT JOIN side_map cs ON cs.party = src.claimant LEFT JOIN side_map ts ON ts.party = src.target \
             GROUP BY 1",
        );
        for i in 0..groups.len() {
            out.push_sql(&format!(", {}", i + 3));
        }
        // A group whose claims all cancelled out is no group.
        out.push_sql(" HAVING sum(src.n) <> 0");
        out.push_sql(&format!(
            " UNION ALL SELECT NULL::date, coalesce(sum(src.{measure}), 0)::int8{} FROM src",
            unused_groups(0)
        ));
        Ok(())
    }
}

/// The counts per period and group, then the total (a row without a
/// period), streamed into `sink`, which answers false to stop reading.
pub async fn counts(
    conn: &mut Conn,
    spec: &ClaimRollupSpec,
    sides: &(Vec<String>, Vec<String>),
    sink: &mut impl FnMut(Count) -> bool,
) -> QueryResult<()> {
    use futures_util::TryStreamExt;
    let tz = spec.tz;
    let WholeDays { first, last, months } = WholeDays::of(tz, spec.interval, spec.from, spec.to);
    let (last, months, start, end) = if first < last {
        (last, months, local_midnight(tz, first).with_timezone(&Utc), local_midnight(tz, last).with_timezone(&Utc))
    } else {
        // No whole day: the claims themselves, for the whole range.
        (first, None, spec.to, spec.to)
    };
    let near = (start - chrono::Duration::days(1), end + chrono::Duration::days(1));
    let query = ClaimQuery { spec, sides, first, last, months, start, end, near };
    let mut rows = query.load_stream::<Count>(conn).await?;
    while let Some(row) = rows.try_next().await? {
        if !sink(row) {
            break;
        }
    }
    Ok(())
}
