//! Counts by period: a request as the domain sees it, planned (the rollups
//! or the rows), run within its budget, and folded into a tally that the
//! HTTP layer renders.

use std::collections::{BTreeMap, HashMap};
use std::sync::OnceLock;

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;

use super::filter::RawFilter;
use crate::domain::dimension::{Counted, Dimension, Measure};
use crate::domain::period::{periods, Interval};
use crate::domain::Stance;
use crate::error::{ApiError, ApiResult, FieldError};
use crate::store::claim_rollup::{self, ClaimRollupSpec};
use crate::store::rollup::{self, Basis, RollupSpec};
use crate::store::stats::{self, Count, StatsSpec};
use crate::store::Conn;

/// The most periods one answer may hold.
pub const MAX_PERIODS: usize = 20_000;

pub use crate::store::stats::MAX_GROUP_BY;

/// Which date buckets what is counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum By {
    /// The incident's `occurred_at`.
    Occurred,
    /// When the incident was recorded (`created_at`).
    Reported,
    /// The claim's `stated_at`, or its incident's `occurred_at` when the
    /// statement's date is unknown.
    Stated,
}

impl By {
    pub fn name(self) -> &'static str {
        match self {
            By::Occurred => "occurred",
            By::Reported => "reported",
            By::Stated => "stated",
        }
    }

    fn column(self) -> &'static str {
        match self {
            By::Occurred => "incidents.occurred_at",
            By::Reported => "incidents.created_at",
            By::Stated => "claims.dated_at",
        }
    }
}

/// A count, parsed and checked: what is counted, over which range and
/// periods in which zone, grouped and filtered how.
#[derive(Debug, Clone)]
pub struct CountRequest {
    pub what: Counted,
    pub interval: Interval,
    pub tz: Tz,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub group_by: Vec<Dimension>,
    pub measure: Measure,
    pub by: By,
    /// Claim counts only: these stances.
    pub stances: Vec<Stance>,
    pub filter: RawFilter,
}

/// How a count is read.
#[derive(Debug, Clone)]
pub enum Plan {
    /// From the rollups (see `store::rollup`), when its dimensions and
    /// filters are ones they keep.
    Rollups(RollupSpec),
    /// Claims from their rollups (see `store::claim_rollup`): no incident
    /// filter, only the dimensions they keep.
    ClaimRollups(ClaimRollupSpec),
    /// From the base tables.
    Rows,
}

impl CountRequest {
    /// The periods of the answer; more than `MAX_PERIODS` is a 400.
    pub fn periods(&self) -> ApiResult<Vec<NaiveDate>> {
        periods(self.interval, self.tz, self.from, self.to, MAX_PERIODS).ok_or_else(|| {
            ApiError::bad_query(
                "interval",
                format!("more than {MAX_PERIODS} periods; choose a longer interval or a shorter range"),
            )
        })
    }

    /// The rollups when they can answer: incident counts whose dimensions
    /// and filters they keep (not free text, bbox, `updated_since` or
    /// deleted incidents).
    pub fn plan(&self) -> Plan {
        if self.what == Counted::Claims {
            return self.claim_rollup_spec().map_or(Plan::Rows, Plan::ClaimRollups);
        }
        self.rollup_spec().map_or(Plan::Rows, Plan::Rollups)
    }

    fn claim_rollup_spec(&self) -> Option<ClaimRollupSpec> {
        if !self.filter.is_only_a_range() || self.group_by.iter().any(|d| claim_rollup::kept(*d).is_none()) {
            return None;
        }
        Some(ClaimRollupSpec {
            tz: self.tz,
            by_occurred: self.by == By::Occurred,
            interval: self.interval,
            from: self.from,
            to: self.to,
            measure: self.measure,
            group_by: self.group_by.clone(),
            stances: self.stances.iter().map(|s| s.as_str().to_string()).collect(),
        })
    }

    fn rollup_spec(&self) -> Option<RollupSpec> {
        let raw = &self.filter;
        if self.what == Counted::Claims
            || raw.bbox.is_some()
            || raw.q.is_some()
            || raw.updated_since.is_some()
            || raw.include_deleted
            || !raw.origin_country.is_empty()
            || !raw.place.is_empty()
            || !raw.admin1.is_empty()
            || !raw.admin2.is_empty()
            || raw.divergent.is_some()
        {
            return None;
        }
        if self.group_by.iter().any(|d| d.rollup_column().is_none()) {
            return None;
        }
        let filters: Vec<(Dimension, Vec<String>)> = [
            (Dimension::Type, raw.types.iter().map(|t| t.as_str().to_string()).collect()),
            (Dimension::Verification, raw.verification.iter().map(|v| v.as_str().to_string()).collect()),
            (Dimension::BorderSector, raw.border_sector.clone()),
            (Dimension::Country, raw.country.clone()),
            (Dimension::Denied, raw.denied.map(|d| d.to_string()).into_iter().collect()),
            (Dimension::CrossBorder, raw.cross_border.map(|d| d.to_string()).into_iter().collect()),
            (Dimension::Accuser, raw.accuser.clone()),
            (Dimension::Accused, raw.accused.clone()),
            (Dimension::Claimant, raw.claimant.clone()),
            (Dimension::AccuserSide, raw.accuser_side.clone()),
            (Dimension::AccusedSide, raw.accused_side.clone()),
        ]
        .into_iter()
        .filter(|(_, values)| !values.is_empty())
        .collect();
        Some(RollupSpec {
            tz: self.tz,
            basis: if self.by == By::Reported { Basis::Reported } else { Basis::Occurred },
            interval: self.interval,
            from: self.from,
            to: self.to,
            measure: self.measure,
            group_by: self.group_by.clone(),
            filters,
        })
    }
}

impl Plan {
    /// A count that reads one row per incident (or claim) of its range
    /// rather than the daily rollups of a zone in `rolled_up_zones`: it
    /// takes an expensive-read permit.
    pub fn is_expensive(&self, tz: Tz, rolled_up_zones: &[String]) -> bool {
        match self {
            Plan::Rollups(spec) => !(spec.reads_rollups() && rolled_up_zones.iter().any(|z| z == tz.name())),
            Plan::ClaimRollups(_) => !rolled_up_zones.iter().any(|z| z == tz.name()),
            Plan::Rows => true,
        }
    }
}

/// Runs the count, folding its rows into `tally` as they arrive.
pub async fn run(conn: &mut Conn, request: &CountRequest, plan: &Plan, tally: &mut Tally) -> ApiResult<()> {
    if let Plan::Rollups(spec) = plan {
        // One statement (see `rollup::counts`).
        return Ok(rollup::counts(conn, spec, &mut |c| tally.add(c)).await?);
    }
    if let Plan::ClaimRollups(spec) = plan {
        let sides = crate::store::parties::hierarchy(conn).await?.sides();
        return Ok(claim_rollup::counts(conn, spec, &sides, &mut |c| tally.add(c)).await?);
    }
    conn.build_transaction()
        .read_only()
        .repeatable_read()
        .run::<_, ApiError, _>(async |conn| {
            let h = crate::store::parties::hierarchy(conn).await?;
            let spec = StatsSpec {
                filter: request.filter.resolve(&h),
                date_column: request.by.column(),
                claims: request.what == Counted::Claims,
                stances: request.stances.iter().map(|s| s.as_str().to_string()).collect(),
                from: request.from,
                to: request.to,
                tz: request.tz.name().to_string(),
                interval: request.interval.as_str(),
                measure: request.measure,
                group_by: request.group_by.clone(),
                sides: h.sides(),
            };
            Ok(stats::counts(conn, &spec, &mut |c| tally.add(c)).await?)
        })
        .await
}

/// How large an answer may grow: its size is periods × groups, zero-filled.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    pub periods: usize,
    pub max_buckets: usize,
}

impl Budget {
    /// Ok when `groups` groups fit; otherwise the 400 that names the figure
    /// and the limit. `at_least`: the groups were not all counted (the
    /// reading stopped once over the limit, or none was read yet).
    pub fn check(self, groups: usize, at_least: bool, dimensions: &[Dimension]) -> ApiResult<()> {
        let buckets = self.periods.saturating_mul(groups);
        if buckets <= self.max_buckets {
            return Ok(());
        }
        let (param, advice) = if dimensions.is_empty() {
            ("interval", "choose a longer interval or a shorter range")
        } else {
            ("group_by", "choose a longer interval, a shorter range, fewer group_by dimensions or a filter")
        };
        let figure = if at_least {
            format!("at least {buckets} buckets ({} periods × at least {groups} groups)", self.periods)
        } else {
            format!("{buckets} buckets ({} periods × {groups} groups)", self.periods)
        };
        let detail = format!("this count has {figure}, more than the limit of {}; {advice}", self.max_buckets);
        let mut e = ApiError::new(
            actix_web::http::StatusCode::BAD_REQUEST,
            crate::error::ProblemKind::TooManyBuckets,
            detail.clone(),
        );
        e.errors.push(FieldError::new(format!("/query/{param}"), detail));
        Err(e)
    }
}

/// The values of a group's dimensions, in `group_by` order.
pub type GroupKey = Vec<Option<String>>;

/// The rows of a count folded as they arrive, within the budget: each
/// group's value per period, and the total. Once periods × groups passes
/// the limit, the values are dropped and the reading stops: memory and
/// work stay within the budget whatever the data.
pub struct Tally {
    budget: Budget,
    /// Dimensions per group (the rows carry four, the unused ones null).
    width: usize,
    /// Every group that appears, with its index into `values`' keys.
    groups: BTreeMap<GroupKey, usize>,
    values: HashMap<(NaiveDate, usize), i64>,
    total: i64,
    over: bool,
}

impl Tally {
    pub fn new(budget: Budget, width: usize) -> Self {
        Self { budget, width, groups: BTreeMap::new(), values: HashMap::new(), total: 0, over: false }
    }

    /// Folds one row in; false once over the budget (stop reading).
    fn add(&mut self, c: Count) -> bool {
        let Some(period) = c.period else {
            self.total += c.value;
            return true;
        };
        let key: GroupKey = [c.g0, c.g1, c.g2, c.g3].into_iter().take(self.width).collect();
        let next = self.groups.len();
        let group = *self.groups.entry(key).or_insert(next);
        if self.budget.periods.saturating_mul(self.groups.len()) > self.budget.max_buckets {
            self.over = true;
            self.values = HashMap::new();
            return false;
        }
        *self.values.entry((period, group)).or_default() += c.value;
        true
    }

    /// The 400 of an answer over its budget.
    pub fn check(&self, dimensions: &[Dimension]) -> ApiResult<()> {
        self.budget.check(self.groups.len().max(1), self.over, dimensions)
    }

    /// Every group that appears, in order, with its index.
    pub fn groups(&self) -> impl Iterator<Item = (&GroupKey, usize)> {
        self.groups.iter().map(|(k, i)| (k, *i))
    }

    /// The value of group `index` in `period` (zero when nothing counted).
    pub fn value(&self, period: NaiveDate, index: usize) -> i64 {
        self.values.get(&(period, index)).copied().unwrap_or(0)
    }

    /// The measure over the whole range, each incident (or claim) once.
    pub fn total(&self) -> i64 {
        self.total
    }
}

/// A count as identical requests share it: its tally, and its answer once
/// rendered in each format, with its ETag.
pub struct SharedCounts {
    pub tally: Tally,
    /// The answer in each format (JSON, CSV, SVG, XLSX), rendered once.
    pub rendered: [OnceLock<(bytes::Bytes, String)>; 4],
}

impl SharedCounts {
    pub fn new(tally: Tally) -> Self {
        Self { tally, rendered: Default::default() }
    }
}
