//! A count's answer written as JSON or CSV straight from its tally.

use chrono::NaiveDate;
use serde::Serialize;

use super::request::Format;
use crate::api::common::body_etag;
use crate::domain::dimension::Dimension;
use crate::domain::period::{local_midnight, Interval};
use crate::domain::spreadsheet::neutralize;
use crate::error::{ApiError, ApiResult};
use crate::ledger::counts::{CountRequest, GroupKey, Tally};

/// A count's answer: its request, its periods and its tally.
pub struct Answer<'a> {
    pub request: &'a CountRequest,
    pub periods: &'a [NaiveDate],
    pub tally: &'a Tally,
    /// How a chart is drawn.
    pub chart: &'a super::chart::ChartSpec,
}

impl Answer<'_> {
    /// The body in `format` and its ETag, written straight from the tally
    /// (zero-filled: every period for every group that appears, in period
    /// then group order), so memory follows the answer's bytes only.
    pub fn render(&self, format: Format) -> ApiResult<(bytes::Bytes, String)> {
        let request = self.request;
        let mut groups: Vec<(&GroupKey, usize)> = self.tally.groups().collect();
        if request.group_by.is_empty() && groups.is_empty() {
            groups.push((&NO_GROUP, usize::MAX));
        }
        let buckets = Buckets { answer: self, groups: &groups };
        let bytes = match format {
            Format::Json => {
                let names: Vec<&str> = request.group_by.iter().map(|d| d.name()).collect();
                let tz = request.tz;
                let body = StatsOut {
                    first_period_partial: self.periods.first().is_some_and(|p| local_midnight(tz, *p) != request.from),
                    last_period_partial: self
                        .periods
                        .last()
                        .is_some_and(|p| local_midnight(tz, request.interval.next(*p)) != request.to),
                    interval: request.interval,
                    tz: request.tz.name(),
                    from: request.from.with_timezone(&request.tz).to_rfc3339(),
                    to: request.to.with_timezone(&request.tz).to_rfc3339(),
                    measure: request.measure.name(),
                    by: request.by.name(),
                    group_by: &names,
                    buckets,
                    total: self.tally.total(),
                };
                serde_json::to_vec(&body).map_err(ApiError::internal)?
            }
            Format::Csv => buckets.csv()?,
            Format::Svg => self.svg(&groups)?.into_bytes(),
            Format::Xlsx => {
                let mut sheet = crate::api::xlsx::Sheet::new("counts")?.dated(request.to);
                sheet.add_csv(&buckets.csv()?, true)?;
                sheet.finish()?
            }
        };
        let etag = body_etag(&bytes);
        Ok((bytes.into(), etag))
    }
}

impl Answer<'_> {
    /// The chart: the largest groups as series, the rest summed as "other".
    fn svg(&self, groups: &[(&GroupKey, usize)]) -> ApiResult<String> {
        use super::chart::MAX_SERIES;
        let value = |index: usize| -> Vec<i64> { self.periods.iter().map(|p| self.tally.value(*p, index)).collect() };
        let name = |group: &GroupKey| -> String {
            if group.is_empty() {
                return self.request.measure.name().to_string();
            }
            group.iter().map(|v| v.as_deref().unwrap_or("(none)")).collect::<Vec<_>>().join(" · ")
        };
        let mut series: Vec<(String, Vec<i64>)> = groups.iter().map(|(g, i)| (name(g), value(*i))).collect();
        series.sort_by_key(|(_, v)| std::cmp::Reverse(v.iter().sum::<i64>()));
        if series.len() > MAX_SERIES {
            let rest = series.split_off(MAX_SERIES - 1);
            let mut other = vec![0; self.periods.len()];
            for (_, v) in &rest {
                for (o, x) in other.iter_mut().zip(v) {
                    *o += x;
                }
            }
            series.push((format!("other ({})", rest.len()), other));
        }
        let labels: Vec<String> = self.periods.iter().map(|p| p.to_string()).collect();
        super::chart::svg(self.chart, &labels, &series)
    }
}

static NO_GROUP: GroupKey = Vec::new();

/// `Stats` as it is written: the same fields, the buckets generated.
#[derive(Serialize)]
struct StatsOut<'a> {
    interval: Interval,
    tz: &'a str,
    from: String,
    to: String,
    measure: &'static str,
    by: &'static str,
    group_by: &'a [&'a str],
    first_period_partial: bool,
    last_period_partial: bool,
    buckets: Buckets<'a>,
    total: i64,
}

/// The zero-filled buckets, generated while they are written.
struct Buckets<'a> {
    answer: &'a Answer<'a>,
    groups: &'a [(&'a GroupKey, usize)],
}

impl Buckets<'_> {
    /// Every bucket: its period's start, its group, its value.
    fn each<E>(&self, mut f: impl FnMut(&str, &GroupKey, i64) -> Result<(), E>) -> Result<(), E> {
        for period in self.answer.periods {
            let start = local_midnight(self.answer.request.tz, *period).to_rfc3339();
            for (group, index) in self.groups {
                let value = self.answer.tally.value(*period, *index);
                f(&start, group, value)?;
            }
        }
        Ok(())
    }

    fn csv(&self) -> ApiResult<Vec<u8>> {
        let mut w = csv::Writer::from_writer(Vec::new());
        let mut header = vec!["period_start"];
        header.extend(self.answer.request.group_by.iter().map(|d| d.name()));
        header.push("value");
        w.write_record(&header).map_err(ApiError::internal)?;
        self.each(|start, group, value| {
            let mut row: Vec<std::borrow::Cow<'_, str>> = vec![start.into()];
            row.extend(group.iter().map(|v| v.as_deref().map(neutralize).unwrap_or_default()));
            row.push(value.to_string().into());
            w.write_record(row.iter().map(|c| c.as_bytes())).map_err(ApiError::internal)
        })?;
        w.into_inner().map_err(ApiError::internal)
    }
}

impl Serialize for Buckets<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{SerializeMap, SerializeSeq};
        let dims = &self.answer.request.group_by;
        let mut seq = s.serialize_seq(Some(self.answer.periods.len() * self.groups.len()))?;
        self.each(|start, group, value| seq.serialize_element(&BucketOut { start, dims, group, value }))?;
        return seq.end();

        struct BucketOut<'a> {
            start: &'a str,
            dims: &'a [Dimension],
            group: &'a GroupKey,
            value: i64,
        }
        impl Serialize for BucketOut<'_> {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let mut m = s.serialize_map(Some(self.dims.len() + 2))?;
                m.serialize_entry("period_start", self.start)?;
                for (dim, value) in self.dims.iter().zip(self.group.iter()) {
                    match value {
                        None => m.serialize_entry(dim.name(), &())?,
                        Some(v) if dim.boolean() => m.serialize_entry(dim.name(), &(v == "true"))?,
                        Some(v) => m.serialize_entry(dim.name(), v)?,
                    }
                }
                m.serialize_entry("value", &self.value)?;
                m.end()
            }
        }
    }
}
