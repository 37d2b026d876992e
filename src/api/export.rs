//! Exports of `GET /v1/incidents`: CSV, GeoJSON and NDJSON, streamed a
//! chunk at a time from the database in constant memory.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use actix_web::web::Bytes;
use futures_util::Stream;
use serde_json::{json, Value};

use super::expensive::{release_when_stalled, ExpensivePermit};
use crate::db::{DbConn, DbPool};
use crate::domain::incident::IncidentView;
use crate::domain::spreadsheet::neutralize;
use crate::domain::zone::Zone;
use crate::domain::{ClaimStatus, Stance};
use crate::error::{ApiError, ApiResult};
use crate::store::incidents as store;
use crate::store::listing::{self, IncidentFilter, Order, Position};

/// Rows read from the database per chunk.
const CHUNK: i64 = 500;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    Csv,
    GeoJson,
    NdJson,
    /// CSV in ACLED's columns.
    Acled,
    /// CSV in UCDP GED's columns.
    Ucdp,
    /// A spreadsheet of the CSV's rows (see `xlsx`); streamed as CSV
    /// into the workbook.
    Xlsx,
}

impl ExportFormat {
    pub fn content_type(self) -> &'static str {
        match self {
            ExportFormat::Csv | ExportFormat::Acled | ExportFormat::Ucdp => "text/csv; charset=utf-8",
            ExportFormat::Xlsx => super::xlsx::CONTENT_TYPE,
            ExportFormat::GeoJson => "application/geo+json",
            ExportFormat::NdJson => "application/x-ndjson",
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            ExportFormat::Csv | ExportFormat::Acled | ExportFormat::Ucdp => "csv",
            ExportFormat::Xlsx => "xlsx",
            ExportFormat::GeoJson => "geojson",
            ExportFormat::NdJson => "ndjson",
        }
    }
}

/// The columns of the CSV export, in order. Party lists are `;`-joined
/// slugs, `divergent` the `;`-joined divergent account fields; `sources`,
/// `external_ids` and `claims` (with their accounts and status) hold JSON.
/// For people: the accusers' and accused's names, the first standing
/// accusation and denial (claimant, date, quote), and how many standing
/// claims of each stance (import ignores these).
pub const CSV_COLUMNS: &[&str] = &[
    "id",
    "version",
    "occurred_at",
    "occurred_until",
    "local_date",
    "time_precision",
    "type",
    "location_name",
    "place",
    "admin1",
    "admin2",
    "border_sector",
    "country",
    "lat",
    "lon",
    "location_precision",
    "origin_name",
    "origin_country",
    "origin_lat",
    "origin_lon",
    "origin_place",
    "direction",
    "cross_border",
    "killed_military",
    "killed_civilian",
    "wounded_military",
    "wounded_civilian",
    "violations",
    "title",
    "description",
    "verification",
    "accusers",
    "accused",
    "deniers",
    "confirmers",
    "acknowledged_by",
    "observed_by",
    "not_observed_by",
    "denied",
    "disputed",
    "divergent",
    "accuser_names",
    "accused_names",
    "first_accuser",
    "first_accusation_stated_at",
    "first_accusation_quote",
    "first_denier",
    "first_denial_stated_at",
    "first_denial_quote",
    "accusations",
    "denials",
    "confirmations",
    "acknowledgements",
    "observations",
    "not_observed",
    "retractions",
    "sources",
    "external_ids",
    "claims",
    "created_at",
    "updated_at",
    "deleted_at",
];

/// A CSV cell: text neutralized for spreadsheets (see
/// `domain::spreadsheet`), numbers and booleans as they are.
pub(crate) fn cell(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => neutralize(s).into_owned(),
        Value::Array(items) if items.iter().all(Value::is_string) => {
            neutralize(&items.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(";")).into_owned()
        }
        other => other.to_string(),
    }
}

/// One incident as a CSV record, in `CSV_COLUMNS` order; `names` gives
/// parties' names (a party missing from it is shown by its slug).
pub fn csv_record(view: &IncidentView, names: &HashMap<String, String>) -> Result<Vec<String>, ApiError> {
    let v = serde_json::to_value(view).map_err(ApiError::internal)?;
    let loc = &v["location"];
    let cas = &v["casualties"];
    let a = &v["attribution"];
    let origin = &v["origin"];
    let name_list = |slugs: &Value| -> Value {
        Value::Array(
            slugs
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .map(|p| Value::String(names.get(p).cloned().unwrap_or_else(|| p.to_string())))
                .collect(),
        )
    };
    // Readable columns from the standing claims, oldest first.
    let standing = || view.claims.iter().filter(|c| c.status == ClaimStatus::Standing);
    let first = |stance: Stance, field: &str| -> Value {
        standing()
            .find(|c| c.stance == stance)
            .and_then(|c| serde_json::to_value(c).ok())
            .map_or(Value::Null, |c| c[field].clone())
    };
    let count = |stance: Stance| standing().filter(|c| c.stance == stance).count().to_string();
    let json_cell = |x: &Value| x.to_string();
    Ok(vec![
        cell(&v["id"]),
        cell(&v["version"]),
        cell(&v["occurred_at"]),
        cell(&v["occurred_until"]),
        cell(&v["local_date"]),
        cell(&v["time_precision"]),
        cell(&v["type"]),
        cell(&loc["name"]),
        cell(&loc["place"]),
        cell(&loc["admin1"]),
        cell(&loc["admin2"]),
        cell(&loc["border_sector"]),
        cell(&loc["country"]),
        cell(&loc["lat"]),
        cell(&loc["lon"]),
        cell(&loc["precision"]),
        cell(&origin["name"]),
        cell(&origin["country"]),
        cell(&origin["lat"]),
        cell(&origin["lon"]),
        cell(&origin["place"]),
        cell(&v["direction"]),
        cell(&v["cross_border"]),
        cell(&cas["killed_military"]),
        cell(&cas["killed_civilian"]),
        cell(&cas["wounded_military"]),
        cell(&cas["wounded_civilian"]),
        cell(&v["violations"]),
        cell(&v["title"]),
        cell(&v["description"]),
        cell(&v["verification"]),
        cell(&a["accusers"]),
        cell(&a["accused"]),
        cell(&a["deniers"]),
        cell(&a["confirmers"]),
        cell(&a["acknowledged_by"]),
        cell(&a["observed_by"]),
        cell(&a["not_observed_by"]),
        cell(&a["denied"]),
        cell(&a["disputed"]),
        cell(&v["accounts"]["divergent"]),
        cell(&name_list(&a["accusers"])),
        cell(&name_list(&a["accused"])),
        cell(&first(Stance::Accuses, "claimant")),
        cell(&first(Stance::Accuses, "stated_at")),
        cell(&first(Stance::Accuses, "quote")),
        cell(&first(Stance::Denies, "claimant")),
        cell(&first(Stance::Denies, "stated_at")),
        cell(&first(Stance::Denies, "quote")),
        count(Stance::Accuses),
        count(Stance::Denies),
        count(Stance::Confirms),
        count(Stance::Acknowledges),
        count(Stance::Observes),
        count(Stance::NotObserved),
        count(Stance::Retracts),
        json_cell(&v["sources"]),
        json_cell(&v["external_ids"]),
        json_cell(&v["claims"]),
        cell(&v["created_at"]),
        cell(&v["updated_at"]),
        cell(&v["deleted_at"]),
    ])
}

/// One incident as a GeoJSON Feature (RFC 7946: [lon, lat]); `None` when it
/// has no coordinates.
pub fn feature(view: &IncidentView) -> Result<Option<Value>, ApiError> {
    let (Some(lat), Some(lon)) = (view.fields.location.lat, view.fields.location.lon) else { return Ok(None) };
    let mut properties = serde_json::to_value(view).map_err(ApiError::internal)?;
    if let Some(p) = properties.as_object_mut() {
        p.remove("id");
    }
    Ok(Some(json!({
        "type": "Feature",
        "id": view.id,
        "geometry": {"type": "Point", "coordinates": [lon, lat]},
        "properties": properties,
    })))
}

/// `wrote_feature` carries across chunks whether a GeoJSON feature came
/// before (so the next one needs a comma).
fn chunk_bytes(s: &ExportState, views: &[IncidentView], wrote_feature: &mut bool) -> Result<Vec<u8>, ApiError> {
    let (format, first) = (s.format, s.first);
    let mut out = Vec::new();
    match format {
        ExportFormat::Csv | ExportFormat::Xlsx => {
            if first && s.opts.bom {
                out.extend_from_slice("\u{feff}".as_bytes());
            }
            let mut w = csv::WriterBuilder::new().has_headers(false).from_writer(&mut out);
            if first {
                w.write_record(CSV_COLUMNS).map_err(ApiError::internal)?;
            }
            for view in views {
                w.write_record(csv_record(view, &s.opts.names)?).map_err(ApiError::internal)?;
            }
            w.flush().map_err(ApiError::internal)?;
        }
        ExportFormat::Acled | ExportFormat::Ucdp => {
            if first && s.opts.bom {
                out.extend_from_slice("\u{feff}".as_bytes());
            }
            let mut w = csv::WriterBuilder::new().has_headers(false).from_writer(&mut out);
            let acled = format == ExportFormat::Acled;
            if first {
                let header = if acled { super::layouts::ACLED_COLUMNS } else { super::layouts::UCDP_COLUMNS };
                w.write_record(header).map_err(ApiError::internal)?;
            }
            for view in views {
                let row = match acled {
                    true => super::layouts::acled_row(view, &s.opts.names, &s.opts.kinds),
                    false => super::layouts::ucdp_row(view, &s.opts.names),
                };
                // Numbers as they are; text neutralized for spreadsheets.
                let cells = row.iter().map(|c| match c.parse::<f64>() {
                    Ok(_) => std::borrow::Cow::Borrowed(c.as_str()),
                    Err(_) => neutralize(c),
                });
                w.write_record(cells.map(|c| c.into_owned())).map_err(ApiError::internal)?;
            }
            w.flush().map_err(ApiError::internal)?;
        }
        ExportFormat::NdJson => {
            for view in views {
                serde_json::to_writer(&mut out, view).map_err(ApiError::internal)?;
                out.push(b'\n');
            }
        }
        ExportFormat::GeoJson => {
            if first {
                out.extend_from_slice(b"{\"type\":\"FeatureCollection\",\"features\":[");
            }
            for view in views {
                if let Some(f) = feature(view)? {
                    if *wrote_feature {
                        out.push(b',');
                    }
                    *wrote_feature = true;
                    serde_json::to_writer(&mut out, &f).map_err(ApiError::internal)?;
                }
            }
        }
    }
    Ok(out)
}

struct ExportState {
    pool: DbPool,
    /// What an export holds while it streams, taken away by the watchdog
    /// when the client stops reading.
    held: Arc<tokio::sync::Mutex<Option<Held>>>,
    /// Seconds since `started` when a chunk was last asked for.
    last_read: Arc<AtomicU64>,
    started: Instant,
    filter: IncidentFilter,
    order: Order,
    format: ExportFormat,
    after: Option<Position>,
    /// Nothing written yet (the header, the opening of the collection).
    first: bool,
    /// A GeoJSON feature has been written (the next needs a comma).
    wrote_feature: bool,
    done: bool,
    opts: ExportOptions,
}

/// How an export is written.
pub struct ExportOptions {
    /// Parties' names, for the readable CSV columns.
    pub names: HashMap<String, String>,
    /// Parties' kinds, for ACLED's interaction codes.
    pub kinds: HashMap<String, String>,
    /// A CSV starts with a byte-order mark (for Excel).
    pub bom: bool,
    /// Where times are shown.
    pub zone: Zone,
}

/// An export's connection (in its snapshot) and its expensive-read permit.
struct Held {
    snapshot: Snapshot,
    _permit: ExpensivePermit,
}

/// A pooled connection inside the export's transaction. Dropped before the
/// transaction ended (a client that went away, an error, a stall), the
/// connection is closed rather than pooled, which ends the transaction.
#[derive(Default)]
struct Snapshot(Option<DbConn>);

impl Drop for Snapshot {
    fn drop(&mut self) {
        if let Some(conn) = self.0.take() {
            drop(deadpool::managed::Object::take(conn));
        }
    }
}

/// The export as a stream of chunks, every one read in the same snapshot.
pub fn stream(
    pool: DbPool,
    filter: IncidentFilter,
    order: Order,
    format: ExportFormat,
    permit: ExpensivePermit,
    opts: ExportOptions,
) -> impl Stream<Item = Result<Bytes, ApiError>> {
    let held = Arc::new(tokio::sync::Mutex::new(Some(Held { snapshot: Snapshot::default(), _permit: permit })));
    let last_read = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    tokio::spawn(release_when_stalled(Arc::downgrade(&held), last_read.clone(), started));
    let state = ExportState {
        pool,
        held,
        last_read,
        started,
        filter,
        order,
        format,
        after: None,
        first: true,
        wrote_feature: false,
        done: false,
        opts,
    };
    futures_util::stream::unfold(state, |mut s| async move {
        if s.done {
            return None;
        }
        let result = next_chunk(&mut s).await;
        if result.is_err() {
            s.done = true;
            // Whatever failed, the connection and the permit go back now.
            s.held.lock().await.take();
        }
        Some((result.map(Bytes::from), s))
    })
}

async fn next_chunk(s: &mut ExportState) -> Result<Vec<u8>, ApiError> {
    s.last_read.store(s.started.elapsed().as_secs(), Ordering::Relaxed);
    let mut guard = s.held.lock().await;
    let Some(held) = guard.as_mut() else {
        return Err(ApiError::unavailable("the export was stopped: its client did not read it for a minute"));
    };
    if held.snapshot.0.is_none() {
        // Kept in the snapshot before BEGIN is sent: dropped half-way, the
        // connection is closed, never pooled inside a transaction.
        let conn = held.snapshot.0.insert(s.pool.get().await?);
        listing::begin_snapshot(conn).await?;
    }
    let conn = held.snapshot.0.as_mut().ok_or_else(|| ApiError::internal("the export's connection is gone"))?;
    let rows = listing::page(conn, &s.filter, s.order, s.after, CHUNK).await?;
    let last_page = (rows.len() as i64) < CHUNK;
    s.after = rows.last().map(|(_, p)| *p).or(s.after);
    let records = store::records(conn, rows.into_iter().map(|(r, _)| r).collect()).await?;
    if last_page {
        listing::end_snapshot(conn).await?;
        // Ended cleanly: the connection goes back to the pool, the permit too.
        if let Some(mut held) = guard.take() {
            drop(held.snapshot.0.take());
        }
    }
    drop(guard);
    s.last_read.store(s.started.elapsed().as_secs(), Ordering::Relaxed);
    let views: Vec<IncidentView> =
        records.iter().map(|r| Ok(IncidentView::from_record(r)?.shown_in(s.opts.zone))).collect::<ApiResult<_>>()?;
    let mut wrote_feature = s.wrote_feature;
    let mut bytes = chunk_bytes(s, &views, &mut wrote_feature)?;
    s.wrote_feature = wrote_feature;
    s.first = false;
    if last_page {
        s.done = true;
        if s.format == ExportFormat::GeoJson {
            bytes.extend_from_slice(b"]}");
        }
    }
    Ok(bytes)
}
