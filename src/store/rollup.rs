//! Counts of incidents from the rollups (migration `rollups`).
//!
//! Two sources, both exact in the caller's snapshot:
//! - `stat_single`: per local day and month of each zone in `stat_zones`,
//!   one dimension at a time, and two at a time for the dimensions with few
//!   values (`Dimension::paired`, by occurred_at). It answers a count that involves at
//!   most one dimension, or two of those, as grouping or filter, without
//!   looking at single incidents; the changes the background fold has not
//!   moved in yet (`stat_pending`) are added.
//! - `stat_current`: one narrow row per incident with its attribution
//!   already resolved (parties and sides as arrays), indexed by both dates,
//!   kept by the writes' own transactions. It answers every other count
//!   over the incident dimensions, in any zone, reading only the incidents
//!   of the requested range.
//!
//! Free text, bounding boxes, `updated_since` and deleted incidents are not
//! kept there; those counts read the base tables (`stats::counts`).
//!
//! Longer than the other modules (about 600 lines) on purpose: a count from
//! the rollups is one statement, and its parts (the gates, the day ranges,
//! the single and the narrow reads) share private types that a split would
//! make public for no other caller; the fold and the zones follow them.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use chrono_tz::Tz;
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::result::DatabaseErrorKind;
use diesel::sql_types::{Array, Date, Integer, Text, Timestamptz, Untyped};
use diesel_async::RunQueryDsl;

use super::stats::{Count, Measure, MAX_GROUP_BY};
use super::Conn;
use crate::domain::dimension::Dimension;
use crate::domain::period::{local_midnight, Interval};

/// How the rollups keep a dimension (`Dimension::rollup_column`).
trait Kept {
    /// Its column in `stat_current`.
    fn column(self) -> &'static str;
    /// The values of row `r` as a set of rows of one column `val`; none is
    /// one null.
    fn values(self, r: &str) -> String;
    /// The condition "row `r` has one of the values bound next".
    fn matches(self, r: &str) -> String;
}

impl Kept for Dimension {
    fn column(self) -> &'static str {
        self.rollup_column().unwrap_or("NULL")
    }

    fn values(self, r: &str) -> String {
        match (self.multi(), self.boolean()) {
            (true, _) => format!("SELECT unnest(coalesce(nullif({r}.{}, '{{}}'), '{{NULL}}')) AS val", self.column()),
            (false, true) => format!("SELECT {r}.{}::text AS val", self.column()),
            (false, false) => format!("SELECT {r}.{} AS val", self.column()),
        }
    }

    fn matches(self, r: &str) -> String {
        match (self.multi(), self.boolean()) {
            (true, _) => format!("{r}.{} && ", self.column()),
            (false, true) => format!("{r}.{}::text = ANY(", self.column()),
            (false, false) => format!("{r}.{} = ANY(", self.column()),
        }
    }
}

/// Which date buckets an incident.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Basis {
    Occurred,
    Reported,
}

impl Basis {
    fn code(self) -> &'static str {
        match self {
            Basis::Occurred => "o",
            Basis::Reported => "r",
        }
    }

    fn column(self) -> &'static str {
        match self {
            Basis::Occurred => "occurred_at",
            Basis::Reported => "created_at",
        }
    }
}

/// A count of incidents the rollups can answer.
#[derive(Debug, Clone)]
pub struct RollupSpec {
    pub tz: Tz,
    pub basis: Basis,
    pub interval: Interval,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub measure: Measure,
    /// Dimensions the rollups keep (`Dimension::rollup_column`).
    pub group_by: Vec<Dimension>,
    /// Each filter keeps incidents with one of the values (`"true"` or
    /// `"false"` for denied); several filters must all hold.
    pub filters: Vec<(Dimension, Vec<String>)>,
}

/// What `stat_single` is read for: the rows of up to two dimensions (none:
/// the total), in the order of their names, each optionally narrowed to
/// some values.
#[derive(Debug, Clone, PartialEq)]
struct Slice {
    dims: Vec<(Dimension, Option<Vec<String>>)>,
    /// The group columns, in the order asked for: indices into `dims`.
    groups: Vec<usize>,
}

impl Slice {
    fn new(mut dims: Vec<(Dimension, Option<Vec<String>>)>, group_by: &[Dimension]) -> Self {
        dims.sort_by_key(|(d, _)| d.name());
        let groups = group_by.iter().filter_map(|g| dims.iter().position(|(d, _)| d == g)).collect();
        Slice { dims, groups }
    }

    fn name(&self, i: usize) -> &'static str {
        self.dims.get(i).map_or("", |(d, _)| d.name())
    }
}

impl RollupSpec {
    /// True when the rollups answer this count in a rolled-up zone (at
    /// most two dimensions they keep); otherwise it reads one row per
    /// incident of the range.
    pub fn reads_rollups(&self) -> bool {
        self.slices().is_some()
    }

    /// The `stat_single` reads for the buckets and for the total, when at
    /// most two dimensions are involved and the rollups keep them.
    fn slices(&self) -> Option<(Slice, Slice)> {
        let mut dims: Vec<(Dimension, Option<Vec<String>>)> = Vec::new();
        for (f, values) in &self.filters {
            // Values of one incident must not be summed twice: several
            // values of a multi-valued dimension, or grouping by the
            // dimension a filter narrows, need the incidents themselves.
            if f.multi() && (values.len() != 1 || self.group_by.contains(f)) {
                return None;
            }
            dims.push((*f, Some(values.clone())));
        }
        let filtered = Slice::new(dims.clone(), &[]);
        for g in &self.group_by {
            if !dims.iter().any(|(d, _)| d == g) {
                dims.push((*g, None));
            }
        }
        match dims.len() {
            0 | 1 => {}
            2 if self.basis == Basis::Occurred && dims.iter().all(|(d, _)| d.paired()) => {}
            _ => return None,
        }
        Some((Slice::new(dims, &self.group_by), filtered))
    }

    fn measure(&self) -> &'static str {
        match self.measure {
            Measure::Incidents | Measure::Claims => "n",
            Measure::Violations => "violations",
            Measure::Killed => "killed",
            Measure::Wounded => "wounded",
        }
    }
}

/// The whole local days `[first, last)` of a range in a zone (none when
/// `first >= last`), and the whole months among them when the interval is
/// a month or longer: what a count reads from its rollups.
pub struct WholeDays {
    pub first: NaiveDate,
    pub last: NaiveDate,
    pub months: Option<(NaiveDate, NaiveDate)>,
}

impl WholeDays {
    pub fn of(tz: Tz, interval: Interval, from: DateTime<Utc>, to: DateTime<Utc>) -> Self {
        let first = from.with_timezone(&tz).date_naive();
        let first = if local_midnight(tz, first) == from { first } else { first + Duration::days(1) };
        let last = to.with_timezone(&tz).date_naive();
        let months = matches!(interval, Interval::Month | Interval::Quarter | Interval::Year)
            .then(|| {
                let m_from = Interval::Month.floor(first);
                let m_from = if m_from == first { first } else { Interval::Month.next(m_from) };
                (m_from, Interval::Month.floor(last))
            })
            .filter(|(a, b)| a < b);
        WholeDays { first, last, months }
    }
}

/// The counts per period and group, and the total, as `stats::counts`
/// gives them, in one statement (`Combined`): from the rollups when
/// `stat_zones` holds the zone, else from `stat_current`.
pub async fn counts(conn: &mut Conn, spec: &RollupSpec, sink: &mut impl FnMut(Count) -> bool) -> QueryResult<()> {
    let whole = |gate| {
        [false, true].map(|total| (gate, Part::Narrow(NarrowQuery { spec, from: spec.from, to: spec.to, total })))
    };
    // Whole local days come from the rollups, the parts of days at either
    // end (a `from` or `to` that is not a local midnight) from the rows.
    let tz = spec.tz;
    let WholeDays { first, last, months } = WholeDays::of(tz, spec.interval, spec.from, spec.to);
    let slices = spec.slices().filter(|_| first < last);
    let Some((buckets, total)) = &slices else {
        return Combined { zone: tz.name(), parts: whole(Gate::Always).into() }.counts(conn, sink).await;
    };
    let (start, end) = (local_midnight(tz, first).with_timezone(&Utc), local_midnight(tz, last).with_timezone(&Utc));
    // The pending changes that can fall on those days: a day's margin
    // either side (a zone's midnight can repeat when a clock goes back).
    let near = (start - Duration::days(1), end + Duration::days(1));
    let days = Days { zone: tz.name(), basis: spec.basis, first, last, months, near };
    let mut parts = vec![
        (Gate::RolledUp, Part::Single(SingleQuery { spec, days: &days, single: buckets, total: false })),
        (Gate::RolledUp, Part::Single(SingleQuery { spec, days: &days, single: total, total: true })),
    ];
    for (from, to) in [(spec.from, start), (end, spec.to)] {
        if from < to {
            for total in [false, true] {
                parts.push((Gate::RolledUp, Part::Narrow(NarrowQuery { spec, from, to, total })));
            }
        }
    }
    // A zone that is not rolled up reads the rows for the whole range.
    parts.extend(whole(Gate::NotRolledUp));
    Combined { zone: tz.name(), parts }.counts(conn, sink).await
}

/// When a part of a count is read.
#[derive(Clone, Copy)]
enum Gate {
    Always,
    /// Only if the zone is in `stat_zones`.
    RolledUp,
    /// Only if it is not.
    NotRolledUp,
}

enum Part<'a> {
    Single(SingleQuery<'a>),
    Narrow(NarrowQuery<'a>),
}

/// A whole count as one statement: the rows of its parts (a total is a row
/// without a period), each read only when its gate holds, which PostgreSQL
/// decides once before reading. One statement sees one snapshot, so the
/// count needs no transaction and costs one round trip.
struct Combined<'a> {
    zone: &'a str,
    parts: Vec<(Gate, Part<'a>)>,
}

impl Combined<'_> {
    /// Streams the rows into `sink` as they arrive: the caller keeps what
    /// its answer needs, within its own budget (totals are rows without a
    /// period), and answers false to stop reading.
    async fn counts(self, conn: &mut Conn, sink: &mut impl FnMut(Count) -> bool) -> QueryResult<()> {
        use futures_util::TryStreamExt;
        let mut rows = self.load_stream::<Count>(conn).await?;
        while let Some(row) = rows.try_next().await? {
            if !sink(row) {
                break;
            }
        }
        Ok(())
    }
}

impl QueryFragment<Pg> for Combined<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        for (i, (gate, part)) in self.parts.iter().enumerate() {
            if i > 0 {
                out.push_sql(" UNION ALL ");
            }
            out.push_sql("SELECT * FROM (");
            match part {
                Part::Single(q) => q.walk_ast(out.reborrow())?,
                Part::Narrow(q) => q.walk_ast(out.reborrow())?,
            }
            out.push_sql(&format!(") q{i}"));
            let exists = match gate {
                Gate::Always => continue,
                Gate::RolledUp => " WHERE EXISTS",
                Gate::NotRolledUp => " WHERE NOT EXISTS",
            };
            out.push_sql(exists);
            out.push_sql(" (SELECT FROM stat_zones WHERE zone = ");
            out.push_bind_param::<Text, _>(&self.zone)?;
            out.push_sql(")");
        }
        Ok(())
    }
}

/// The local days `[first, last)` read from `stat_single`, the months
/// `[m_from, m_to)` among them from its month rows.
struct Days<'a> {
    zone: &'a str,
    basis: Basis,
    first: NaiveDate,
    last: NaiveDate,
    months: Option<(NaiveDate, NaiveDate)>,
    /// Instants around `[first, last)`: pending changes outside are not
    /// bucketed at all.
    near: (DateTime<Utc>, DateTime<Utc>),
}

struct SingleQuery<'a> {
    spec: &'a RollupSpec,
    days: &'a Days<'a>,
    single: &'a Slice,
    /// One row: the measure over everything read.
    total: bool,
}

struct NarrowQuery<'a> {
    spec: &'a RollupSpec,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    total: bool,
}

macro_rules! untyped_query {
    ($t:ident) => {
        impl QueryId for $t<'_> {
            type QueryId = ();
            const HAS_STATIC_QUERY_ID: bool = false;
        }
        impl Query for $t<'_> {
            type SqlType = Untyped;
        }
    };
}

/// `NULL::text AS gI` for the group columns from `from` on.
pub(super) fn unused_groups(from: usize) -> String {
    (from..MAX_GROUP_BY).map(|i| format!(", NULL::text AS g{i}")).collect()
}

/// `day >= from AND day < to`.
pub(super) fn day_range<'b>(out: &mut AstPass<'_, 'b, Pg>, from: &'b NaiveDate, to: &'b NaiveDate) -> QueryResult<()> {
    out.push_sql("day >= ");
    out.push_bind_param::<Date, _>(from)?;
    out.push_sql(" AND day < ");
    out.push_bind_param::<Date, _>(to)?;
    Ok(())
}

impl QueryFragment<Pg> for SingleQuery<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        let d = self.days;
        let s = self.single;
        let measure = self.spec.measure();
        out.push_sql(
            "WITH src AS (SELECT day, val, val2, n, violations, killed, wounded FROM stat_single WHERE zone = ",
        );
        out.push_bind_param::<Text, _>(&d.zone)?;
        out.push_sql(" AND basis = ");
        out.push_bind_param::<Text, _>(d.basis.code())?;
        out.push_sql("::\"char\" AND dim = ");
        out.push_bind_param::<Text, _>(s.name(0))?;
        out.push_sql(" AND dim2 = ");
        out.push_bind_param::<Text, _>(s.name(1))?;
        match &d.months {
            Some((m_from, m_to)) => {
                out.push_sql(" AND ((grain = 'm' AND ");
                day_range(&mut out, m_from, m_to)?;
                out.push_sql(") OR (grain = 'd' AND ((");
                day_range(&mut out, &d.first, m_from)?;
                out.push_sql(") OR (");
                day_range(&mut out, m_to, &d.last)?;
                out.push_sql("))))");
            }
            None => {
                out.push_sql(" AND grain = 'd' AND ");
                day_range(&mut out, &d.first, &d.last)?;
            }
        }
        let columns = ["val", "val2"];
        for (i, (_, values)) in s.dims.iter().enumerate() {
            if let Some(values) = values {
                out.push_sql(&format!(" AND {} = ANY(", columns[i]));
                out.push_bind_param::<Array<Text>, _>(values)?;
                out.push_sql(")");
            }
        }
        // The changes not folded yet (single or compacted, weighted),
        // bucketed the same way.
        out.push_sql(&format!(
            " UNION ALL SELECT p.day, {}, {}, p.n, p.violations, p.killed, p.wounded \
             FROM (SELECT s.*, (s.{} AT TIME ZONE ",
            if s.dims.is_empty() { "NULL::text" } else { "v0.val" },
            if s.dims.len() < 2 { "NULL::text" } else { "v1.val" },
            d.basis.column()
        ));
        out.push_bind_param::<Text, _>(&d.zone)?;
        out.push_sql(&format!(")::date AS day FROM stat_pending s WHERE s.{} >= ", d.basis.column()));
        out.push_bind_param::<Timestamptz, _>(&d.near.0)?;
        out.push_sql(&format!(" AND s.{} < ", d.basis.column()));
        out.push_bind_param::<Timestamptz, _>(&d.near.1)?;
        out.push_sql(") p");
        for (i, (dim, _)) in s.dims.iter().enumerate() {
            out.push_sql(&format!(" CROSS JOIN LATERAL ({}) v{i}", dim.values("p")));
        }
        out.push_sql(" WHERE ");
        day_range(&mut out, &d.first, &d.last)?;
        for (i, (_, values)) in s.dims.iter().enumerate() {
            if let Some(values) = values {
                out.push_sql(&format!(" AND v{i}.val = ANY("));
                out.push_bind_param::<Array<Text>, _>(values)?;
                out.push_sql(")");
            }
        }
        out.push_sql(") ");
        if self.total {
            out.push_sql(&format!("SELECT NULL::date AS period, coalesce(sum({measure}), 0)::int8 AS value"));
            out.push_sql(&unused_groups(0));
            out.push_sql(" FROM src");
            return Ok(());
        }
        let interval = self.spec.interval.as_str();
        out.push_sql(&format!("SELECT date_trunc('{interval}', day)::date AS period, sum({measure})::int8 AS value"));
        for (i, slot) in s.groups.iter().enumerate() {
            out.push_sql(&format!(", {} AS g{i}", columns[*slot]));
        }
        out.push_sql(&unused_groups(s.groups.len()));
        out.push_sql(" FROM src GROUP BY 1");
        for i in 0..s.groups.len() {
            out.push_sql(&format!(", {}", i + 3));
        }
        out.push_sql(" HAVING sum(n) <> 0");
        Ok(())
    }
}

const COLUMNS: &str = "type, verification, border_sector, country, denied, accusers, accused, accuser_sides, \
                       accused_sides, claimants, direction, cross_border";

impl NarrowQuery<'_> {
    fn rows<'b>(&'b self, out: &mut AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        let at = self.spec.basis.column();
        let columns = COLUMNS.split(", ").map(|c| format!("r.{c}")).collect::<Vec<_>>().join(", ");
        out.push_sql(&format!(
            "SELECT r.{at} AS at, {columns}, 1::int8 AS n, r.violations, r.killed, r.wounded \
             FROM stat_current r WHERE r.{at} >= "
        ));
        out.push_bind_param::<Timestamptz, _>(&self.from)?;
        out.push_sql(&format!(" AND r.{at} < "));
        out.push_bind_param::<Timestamptz, _>(&self.to)?;
        for (dim, values) in &self.spec.filters {
            out.push_sql(&format!(" AND {}", dim.matches("r")));
            out.push_bind_param::<Array<Text>, _>(values)?;
            if !dim.multi() {
                out.push_sql(")");
            }
        }
        Ok(())
    }
}

impl QueryFragment<Pg> for NarrowQuery<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        let measure = self.spec.measure();
        // stat_current changes in the writes' own transactions: it is
        // exact without the pending changes.
        out.push_sql("WITH src AS (");
        self.rows(&mut out)?;
        out.push_sql(") ");
        if self.total {
            out.push_sql(&format!("SELECT NULL::date AS period, coalesce(sum(src.{measure}), 0)::int8 AS value"));
            out.push_sql(&unused_groups(0));
            out.push_sql(" FROM src");
            return Ok(());
        }
        let groups = &self.spec.group_by;
        out.push_sql(&format!("SELECT date_trunc('{}', src.at AT TIME ZONE ", self.spec.interval.as_str()));
        out.push_bind_param::<Text, _>(self.spec.tz.name())?;
        out.push_sql(&format!(")::date AS period, sum(src.{measure})::int8 AS value"));
        for i in 0..groups.len() {
            out.push_sql(&format!(", g{i}.val AS g{i}"));
        }
        out.push_sql(&unused_groups(groups.len()));
        out.push_sql(" FROM src");
        for (i, dim) in groups.iter().enumerate() {
            out.push_sql(&format!(" CROSS JOIN LATERAL ({}) g{i}", dim.values("src")));
        }
        out.push_sql(" GROUP BY 1");
        for i in 0..groups.len() {
            out.push_sql(&format!(", {}", i + 3));
        }
        out.push_sql(" HAVING sum(src.n) <> 0");
        Ok(())
    }
}

untyped_query!(SingleQuery);
untyped_query!(NarrowQuery);
untyped_query!(Combined);

/// Folds up to `limit` pending changes into the rollups, in a transaction
/// of its own; the number folded, or -1 when another holds the fold's lock
/// (a fold, a rebuild). A fold that commits while this one runs makes it
/// fail with a serialization error, which changes nothing.
pub async fn fold(conn: &mut Conn, limit: i32) -> QueryResult<i32> {
    #[derive(QueryableByName)]
    struct Folded {
        #[diesel(sql_type = Integer)]
        folded: i32,
    }
    conn.build_transaction()
        .repeatable_read()
        .run(async |conn| {
            // A step over many days of history takes a while; it holds up
            // no writer and no reader.
            diesel::sql_query("SET LOCAL statement_timeout = 0").execute(conn).await?;
            let row: Folded =
                diesel::sql_query("SELECT stat_fold($1) AS folded").bind::<Integer, _>(limit).get_result(conn).await?;
            Ok(row.folded)
        })
        .await
}

/// Compacts up to `limit` changes waiting to be folded (`stat_compact`,
/// beside folds and rebuilds); the number taken.
pub async fn compact(conn: &mut Conn, limit: i32) -> QueryResult<i32> {
    #[derive(QueryableByName)]
    struct Taken {
        #[diesel(sql_type = Integer)]
        taken: i32,
    }
    let row: Taken =
        diesel::sql_query("SELECT stat_compact($1) AS taken").bind::<Integer, _>(limit).get_result(conn).await?;
    Ok(row.taken)
}

/// How many changes wait to be folded.
pub async fn pending(conn: &mut Conn) -> QueryResult<i64> {
    #[derive(QueryableByName)]
    struct Pending {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        pending: i64,
    }
    let row: Pending = diesel::sql_query("SELECT stat_waiting() AS pending").get_result(conn).await?;
    Ok(row.pending)
}

/// Replaces the zones whose local days are rolled up and rebuilds the
/// rollups from `stat_current` beside the live ones (`stat_rebuild_beside`):
/// writers go on, folds give way until it commits, counts stay exact and
/// wait only for the final swap. The number of incidents rolled up.
pub async fn set_zones(conn: &mut Conn, zones: &[String]) -> QueryResult<i32> {
    #[derive(QueryableByName)]
    struct Rebuilt {
        #[diesel(sql_type = Integer)]
        rebuilt: i32,
    }
    let mut attempt = 0;
    loop {
        let rebuilt = conn
            .build_transaction()
            .repeatable_read()
            .run(async |conn| {
                // A rebuild reads every incident: no statement time limit.
                diesel::sql_query("SET LOCAL statement_timeout = 0").execute(conn).await?;
                // Waits for a fold that is running to commit, before the
                // snapshot is taken (LOCK takes none): a snapshot from
                // before its commit could not take the fold's lock after
                // it. Folds that start meanwhile give way, as they do to
                // the rebuild's own hold on the lock's row.
                diesel::sql_query("LOCK TABLE stat_fold_lock IN SHARE MODE").execute(conn).await?;
                diesel::sql_query("DELETE FROM stat_zones").execute(conn).await?;
                diesel::sql_query("INSERT INTO stat_zones SELECT DISTINCT unnest($1::text[])")
                    .bind::<Array<Text>, _>(zones)
                    .execute(conn)
                    .await?;
                let row: Rebuilt =
                    diesel::sql_query("SELECT stat_rebuild_beside() AS rebuilt").get_result(conn).await?;
                Ok(row.rebuilt)
            })
            .await;
        match rebuilt {
            // A fold or compaction that committed after this snapshot was
            // taken touched what this rebuild took (or a deadlock with a
            // fold that started as the lock was asked for): again, from a
            // snapshot that has it.
            Err(diesel::result::Error::DatabaseError(kind, info))
                if attempt < 20
                    && (matches!(kind, DatabaseErrorKind::SerializationFailure)
                        || info.message().starts_with("deadlock detected")) =>
            {
                attempt += 1;
                tracing::info!(attempt, error = info.message(), "the rebuild met a fold; starting again");
                tokio::time::sleep(std::time::Duration::from_millis(200 * attempt.min(10))).await;
            }
            other => return other,
        }
    }
}

/// Every time zone this PostgreSQL knows (its tzdata may be older than
/// the server's, so a zone the server parses can still be unknown here).
pub async fn known_zones(conn: &mut Conn) -> QueryResult<Vec<String>> {
    #[derive(QueryableByName)]
    struct Zone {
        #[diesel(sql_type = Text)]
        name: String,
    }
    let rows: Vec<Zone> = diesel::sql_query("SELECT name FROM pg_timezone_names").load(conn).await?;
    Ok(rows.into_iter().map(|z| z.name).collect())
}

/// The zones whose local days are rolled up.
pub async fn zones(conn: &mut Conn) -> QueryResult<Vec<String>> {
    #[derive(QueryableByName)]
    struct Zone {
        #[diesel(sql_type = Text)]
        zone: String,
    }
    let rows: Vec<Zone> = diesel::sql_query("SELECT zone FROM stat_zones ORDER BY zone").load(conn).await?;
    Ok(rows.into_iter().map(|z| z.zone).collect())
}

/// How many changes one fold moves at most: a bulk import is folded in
/// steps, each a short transaction.
const FOLD_BATCH: i32 = 10_000;

/// How long one transaction may hold the fold's lock before the instances
/// compact the changes waiting meanwhile: a rebuild holds it for minutes,
/// a fold step (each in a transaction of its own) for a few seconds.
const COMPACT_AFTER: std::time::Duration = std::time::Duration::from_secs(10);

/// The transaction that holds the fold's lock (the row's `xmax`), if any.
async fn fold_lock_holder(pool: &crate::db::DbPool) -> Option<String> {
    #[derive(QueryableByName)]
    struct Holder {
        #[diesel(sql_type = Text)]
        xmax: String,
    }
    let mut conn = pool.get().await.ok()?;
    let row: Holder =
        diesel::sql_query("SELECT xmax::text AS xmax FROM stat_fold_lock").get_result(&mut conn).await.ok()?;
    Some(row.xmax)
}

/// Folds pending changes into the rollups for as long as the process runs:
/// at once while there are any, then every `idle`. Every instance runs one;
/// they take turns. While one transaction holds the fold's lock for longer
/// than `COMPACT_AFTER` (a rebuild), compacts what waits instead, so counts
/// stay fast.
/// Counts are exact whether or not this keeps up; it only keeps them fast.
pub async fn keep_folding(pool: crate::db::DbPool, folded_total: prometheus::IntCounter, idle: std::time::Duration) {
    let mut last_report = std::time::Instant::now();
    let mut since_report = 0u64;
    // The holder of the fold's lock this instance last found, and since when.
    let mut held: Option<(String, std::time::Instant)> = None;
    loop {
        let step = async {
            let mut conn = pool.get().await.map_err(|e| e.to_string())?;
            fold(&mut conn, FOLD_BATCH).await.map_err(|e| e.to_string())
        };
        let folded = step.await;
        if !matches!(folded, Ok(-1)) {
            held = None;
        }
        match folded {
            Ok(-1) => {
                let holder = fold_lock_holder(&pool).await;
                match (&held, holder) {
                    (Some((known, since)), Some(now)) if *known == now => {
                        if since.elapsed() >= COMPACT_AFTER {
                            keep_compacting(&pool).await;
                        }
                    }
                    (_, Some(now)) => held = Some((now, std::time::Instant::now())),
                    (_, None) => held = None,
                }
                tokio::time::sleep(idle).await;
            }
            Ok(n) if n < FOLD_BATCH => {
                // Caught up: the next changes are folded together later.
                folded_total.inc_by(n as u64);
                if since_report > 0 {
                    // The end of a backlog (an import, a rebuild's writes).
                    tracing::info!(folded = since_report + n as u64, "the rollups are up to date");
                    since_report = 0;
                }
                tokio::time::sleep(idle).await;
            }
            Ok(n) => {
                folded_total.inc_by(n as u64);
                since_report += n as u64;
                if last_report.elapsed() >= std::time::Duration::from_secs(10) {
                    let left = match pool.get().await {
                        Ok(mut conn) => pending(&mut conn).await.unwrap_or(-1),
                        Err(_) => -1,
                    };
                    tracing::info!(folded = since_report, left, "folding changes into the rollups");
                    last_report = std::time::Instant::now();
                }
            }
            Err(e) => {
                // Another instance folding (a serialization failure), or the
                // database away: try again later.
                tracing::debug!(error = %e, "fold skipped");
                tokio::time::sleep(idle * 5).await;
            }
        }
    }
}

/// Compacts what waits to be folded, a step at a time, until little is left.
async fn keep_compacting(pool: &crate::db::DbPool) {
    let mut taken = 0u64;
    loop {
        let step = async {
            let mut conn = pool.get().await.map_err(|e| e.to_string())?;
            compact(&mut conn, FOLD_BATCH).await.map_err(|e| e.to_string())
        };
        match step.await {
            Ok(n) => {
                taken += n as u64;
                if n < FOLD_BATCH {
                    break;
                }
            }
            Err(e) => {
                tracing::debug!(error = %e, "compaction skipped");
                break;
            }
        }
    }
    if taken > 0 {
        tracing::info!(taken, "the fold is held: compacted the changes waiting for it");
    }
}
