//! `ceasefire import FILE`: loads incidents from this service's own CSV or
//! NDJSON export. Every record is checked first and each bad one reported
//! with its line and field; then all are loaded in one transaction, or none.
//! Incidents that exist already fail the file, are skipped
//! (`--on-existing skip`) or replaced by the file's as their next version
//! (`--on-existing update`); the end says what was inserted, updated and
//! skipped.

use std::collections::HashSet;
use std::io::{BufRead, BufReader, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context};
use diesel_async::AsyncConnection;
use serde_json::{json, Map, Value};
use uuid::Uuid;

use crate::config::OnExisting;
use crate::db::DbPool;
use crate::domain::actor::Actor;
use crate::error::ApiError;
use crate::ledger::incidents::insert_prepared;
use crate::ledger::prepare::{prepare_exported, Prepared};

/// Incidents written per statement batch.
const BATCH: usize = 500;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Csv,
    NdJson,
}

/// One record of the file: its line and its JSON.
type Record = (u64, Value);

/// The records of a file, or the line and reason of one that is unreadable.
type Records = Box<dyn Iterator<Item = Result<Record, (u64, String)>> + Send>;

/// A CSV row back into the JSON of an incident.
fn csv_to_json(header: &csv::StringRecord, row: &csv::StringRecord) -> Result<Value, String> {
    // Cells were neutralized for spreadsheets on export (`domain::spreadsheet`).
    let get = |name: &str| {
        crate::domain::spreadsheet::restore(
            header.iter().position(|h| h == name).and_then(|i| row.get(i)).unwrap_or(""),
        )
    };
    let text = |name: &str| match get(name) {
        "" => Value::Null,
        s => Value::String(s.to_string()),
    };
    let number = |name: &str| -> Result<Value, String> {
        match get(name) {
            "" => Ok(Value::Null),
            s => serde_json::from_str::<serde_json::Number>(s)
                .map(Value::Number)
                .map_err(|_| format!("{name}: `{s}` is not a number")),
        }
    };
    let embedded = |name: &str, empty: Value| -> Result<Value, String> {
        match get(name) {
            "" => Ok(empty),
            s => serde_json::from_str(s).map_err(|e| format!("{name}: not JSON ({e})")),
        }
    };
    for column in ["id", "occurred_at", "type", "title"] {
        if !header.iter().any(|h| h == column) {
            return Err(format!("the header has no `{column}` column; is this a Ceasefire CSV export?"));
        }
    }
    let mut object = Map::new();
    object.insert("id".into(), text("id"));
    object.insert("version".into(), number("version")?);
    object.insert("occurred_at".into(), text("occurred_at"));
    object.insert("occurred_until".into(), text("occurred_until"));
    if let Value::String(p) = text("time_precision") {
        object.insert("time_precision".into(), Value::String(p));
    }
    object.insert("type".into(), text("type"));
    object.insert(
        "location".into(),
        json!({
            "name": get("location_name"),
            "place": text("place"),
            "admin1": text("admin1"),
            "admin2": text("admin2"),
            "border_sector": text("border_sector"),
            "country": text("country"),
            "lat": number("lat")?,
            "lon": number("lon")?,
            "precision": text("location_precision"),
        }),
    );
    let origin = json!({
        "name": text("origin_name"),
        "country": text("origin_country"),
        "lat": number("origin_lat")?,
        "lon": number("origin_lon")?,
        "place": text("origin_place"),
    });
    if origin.as_object().is_some_and(|o| o.values().any(|v| !v.is_null())) {
        object.insert("origin".into(), origin);
    }
    object.insert(
        "casualties".into(),
        json!({
            "killed_military": number("killed_military")?,
            "killed_civilian": number("killed_civilian")?,
            "wounded_military": number("wounded_military")?,
            "wounded_civilian": number("wounded_civilian")?,
        }),
    );
    let violations = number("violations")?;
    if !violations.is_null() {
        object.insert("violations".into(), violations);
    }
    object.insert("title".into(), Value::String(get("title").to_string()));
    object.insert("description".into(), Value::String(get("description").to_string()));
    if let Value::String(v) = text("verification") {
        object.insert("verification".into(), Value::String(v));
    }
    object.insert("sources".into(), embedded("sources", json!([]))?);
    object.insert("external_ids".into(), embedded("external_ids", json!({}))?);
    object.insert("claims".into(), embedded("claims", json!([]))?);
    object.insert("created_at".into(), text("created_at"));
    object.insert("updated_at".into(), text("updated_at"));
    object.insert("deleted_at".into(), text("deleted_at"));
    Ok(Value::Object(object))
}

/// The records of the file, one at a time, each with its line; a record
/// that cannot even be read as one is an error with its line.
fn records(path: &Path, format: Format) -> anyhow::Result<Records> {
    let file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    Ok(match format {
        Format::NdJson => Box::new(BufReader::new(file).lines().enumerate().filter_map(|(i, line)| {
            let line_no = i as u64 + 1;
            match line {
                Err(e) => Some(Err((line_no, format!("unreadable: {e}")))),
                Ok(l) if l.trim().is_empty() => None,
                Ok(l) => Some(
                    serde_json::from_str(l.trim_start_matches('\u{feff}'))
                        .map(|v| (line_no, v))
                        .map_err(|e| (line_no, format!("not JSON: {e}"))),
                ),
            }
        })),
        Format::Csv => {
            let mut reader = csv::ReaderBuilder::new().from_reader(file);
            let header = reader.headers().context("reading the CSV header")?.clone();
            // Lines counted here from the bytes: the reader's own count
            // runs one behind after CRLF line ends (what spreadsheets and
            // Python's csv module write).
            let mut lines = LineCounter::new(std::fs::File::open(path)?);
            let mut failed = false;
            Box::new(reader.into_records().map_while(move |row| {
                if failed {
                    return None;
                }
                Some(match row {
                    Ok(row) => {
                        let line = row.position().map(|p| lines.line_at(p.byte())).unwrap_or(0);
                        csv_to_json(&header, &row).map(|v| (line, v)).map_err(|e| (line, e))
                    }
                    Err(e) => {
                        failed = true;
                        Err((e.position().map(|p| lines.line_at(p.byte())).unwrap_or(0), format!("not CSV: {e}")))
                    }
                })
            }))
        }
    })
}

/// The records of a parties file (`GET /v1/parties?format=csv|ndjson`),
/// or `None` when the file holds incidents.
fn parties_file(path: &Path) -> anyhow::Result<Option<Vec<Record>>> {
    let format = detect(path)?;
    let file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    match format {
        Format::NdJson => {
            let mut out = Vec::new();
            for (i, line) in BufReader::new(file).lines().enumerate() {
                let line = line?;
                let line = line.trim_start_matches('\u{feff}');
                if line.trim().is_empty() {
                    continue;
                }
                let value: Value = match serde_json::from_str(line) {
                    Ok(v) => v,
                    Err(_) if out.is_empty() => return Ok(None),
                    Err(e) => bail!("line {}: not JSON: {e}", i + 1),
                };
                if out.is_empty() && !crate::import_parties::is_party(&value) {
                    return Ok(None);
                }
                out.push((i as u64 + 1, value));
            }
            Ok(Some(out).filter(|o| !o.is_empty()))
        }
        Format::Csv => {
            let mut reader = csv::ReaderBuilder::new().from_reader(file);
            let header: Vec<String> = match reader.headers() {
                Ok(h) => h.iter().map(|c| c.trim_start_matches('\u{feff}').to_string()).collect(),
                Err(_) => return Ok(None),
            };
            let has = |c: &str| header.iter().any(|h| h == c);
            if !(has("slug") && has("kind")) || has("occurred_at") {
                return Ok(None);
            }
            let mut out = Vec::new();
            for row in reader.records() {
                let row = row.map_err(|e| anyhow::anyhow!("not CSV: {e}"))?;
                let line = row.position().map_or(0, |p| p.line());
                let object: Map<String, Value> = header
                    .iter()
                    .zip(row.iter())
                    .map(|(h, c)| (h.clone(), Value::String(crate::domain::spreadsheet::restore(c).to_string())))
                    .collect();
                out.push((line, Value::Object(object)));
            }
            Ok(Some(out))
        }
    }
}

/// The line of a byte offset in a file, for offsets asked in increasing
/// order: reads the file once, counting line ends.
struct LineCounter {
    bytes: std::iter::Peekable<std::io::Bytes<BufReader<std::fs::File>>>,
    /// Bytes read so far, and the line the next byte is on.
    offset: u64,
    line: u64,
}

impl LineCounter {
    fn new(file: std::fs::File) -> Self {
        LineCounter { bytes: BufReader::new(file).bytes().peekable(), offset: 0, line: 1 }
    }

    /// The line of the first character at or after `byte` that is not a
    /// line end (where a record starts).
    fn line_at(&mut self, byte: u64) -> u64 {
        while self.offset < byte {
            match self.bytes.next() {
                Some(Ok(b'\n')) => self.line += 1,
                Some(Ok(_)) => {}
                _ => break,
            }
            self.offset += 1;
        }
        while let Some(Ok(b @ (b'\r' | b'\n'))) = self.bytes.peek() {
            if *b == b'\n' {
                self.line += 1;
            }
            self.bytes.next();
            self.offset += 1;
        }
        self.line
    }
}

/// What the exports that do not load are told.
const LOADABLE: &str = "ceasefire import loads this service's CSV or NDJSON export \
                        (GET /v1/incidents?format=csv or ?format=ndjson)";

fn detect(path: &Path) -> anyhow::Result<Format> {
    let name = path.to_string_lossy().to_lowercase();
    let mut start = [0u8; 256];
    let n = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?.read(&mut start)?;
    let head = String::from_utf8_lossy(&start[..n]);
    if name.ends_with(".geojson") || head.contains("\"FeatureCollection\"") {
        bail!("{} is GeoJSON, which is for maps and does not carry the claims: {LOADABLE}", path.display());
    }
    if name.ends_with(".csv") {
        return Ok(Format::Csv);
    }
    if name.ends_with(".ndjson") || name.ends_with(".jsonl") {
        return Ok(Format::NdJson);
    }
    let first = head.trim_start_matches('\u{feff}').chars().find(|c| !c.is_whitespace());
    Ok(if first == Some('{') { Format::NdJson } else { Format::Csv })
}

/// Copies standard input to a file, since the records are read twice.
fn spool_stdin() -> anyhow::Result<PathBuf> {
    let path = std::env::temp_dir().join(format!("ceasefire-import-{}", Uuid::new_v4()));
    let mut out = std::fs::File::create(&path)?;
    std::io::copy(&mut std::io::stdin().lock(), &mut out)?;
    out.flush()?;
    Ok(path)
}

fn progress(total: u64, what: &str) -> indicatif::ProgressBar {
    if !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(total);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{msg:9} [{bar:40}] {pos}/{len} ({per_sec}, {eta} left)")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar.set_message(what.to_string());
    bar
}

/// What an import did.
#[derive(Debug, Default)]
pub struct Summary {
    pub incidents: usize,
    pub claims: usize,
    /// Incidents in the database already, left as they were.
    pub skipped: usize,
    /// Incidents in the database already, replaced by the file's
    /// (`--on-existing update`).
    pub updated: usize,
}

pub async fn run(pool: &DbPool, file: &str, on_existing: OnExisting) -> anyhow::Result<Summary> {
    crate::api::answers::announced(pool, load(pool, file, on_existing).await).await
}

async fn load(pool: &DbPool, file: &str, on_existing: OnExisting) -> anyhow::Result<Summary> {
    let started = Instant::now();
    let (path, spooled) = if file == "-" { (spool_stdin()?, true) } else { (PathBuf::from(file), false) };
    let result = match parties_file(&path) {
        Ok(Some(records)) => {
            let result = crate::import_parties::run(pool, records, on_existing).await;
            if spooled {
                let _ = std::fs::remove_file(&path);
            }
            result?;
            return Ok(Summary::default());
        }
        Ok(None) => import(pool, &path, on_existing).await,
        Err(e) => Err(e),
    };
    if spooled {
        let _ = std::fs::remove_file(&path);
    }
    let summary = result?;
    eprintln!(
        "imported {} incidents with {} claims from {} in {:.1} s; updated {} and skipped {} that existed already",
        summary.incidents,
        summary.claims,
        if file == "-" { "standard input" } else { file },
        started.elapsed().as_secs_f64(),
        summary.updated,
        summary.skipped,
    );
    Ok(summary)
}

async fn import(pool: &DbPool, path: &Path, on_existing: OnExisting) -> anyhow::Result<Summary> {
    let format = detect(path)?;
    let mut conn = pool.get().await?;
    let h = crate::store::parties::hierarchy(&conn).await?;

    // Pass 1: check every record.
    let count = records(path, format)?.count() as u64;
    let bar = progress(count, "checking");
    let mut problems: Vec<String> = Vec::new();
    let mut seen: HashSet<Uuid> = HashSet::new();
    let mut ids: Vec<Uuid> = Vec::new();
    for record in records(path, format)? {
        bar.inc(1);
        match record {
            Err((line, e)) => problems.push(format!("line {line}: {e}")),
            Ok((line, mut value)) => {
                let mut errors = crate::ledger::places::fill_locations(&mut conn, vec![(String::new(), &mut value)])
                    .await
                    .map_err(|e| anyhow::anyhow!("{}", e.detail))?;
                if let Some(p) =
                    prepare_exported(value, &h, &mut errors).map_err(|e| anyhow::anyhow!("{}", e.detail))?
                {
                    if !seen.insert(p.id()) {
                        errors.push(crate::error::FieldError::new(
                            "/id",
                            format!("incident {} appears twice in the file", p.id()),
                        ));
                    }
                    ids.push(p.id());
                }
                problems.extend(errors.into_iter().map(|e| {
                    format!("line {line}: {}: {}", if e.pointer.is_empty() { "/" } else { &e.pointer }, e.detail)
                }));
            }
        }
    }
    bar.finish_and_clear();
    let mut existing: HashSet<Uuid> = HashSet::new();
    for chunk in ids.chunks(10_000) {
        existing.extend(crate::store::incidents::existing(&mut conn, chunk).await?);
    }
    if on_existing == OnExisting::Fail {
        problems.extend(existing.iter().map(|id| {
            format!(
                "incident {id} exists already in the database (--on-existing skip leaves those as they are, \
                 --on-existing update replaces them by the file's)"
            )
        }));
    }
    if !problems.is_empty() {
        for p in problems.iter().take(100) {
            eprintln!("{p}");
        }
        if problems.len() > 100 {
            eprintln!("... and {} more", problems.len() - 100);
        }
        if problems.iter().any(|p| p.contains(": no party `")) {
            eprintln!(
                "hint: the parties these incidents name are not in this database: load the reference parties \
                 with `ceasefire seed`, import the parties of the database the file came from \
                 (GET /v1/parties?format=ndjson there, then `ceasefire import parties.ndjson` here), \
                 or create the others (POST /v1/parties) before importing"
            );
        }
        bail!("{} problem(s) in {}; nothing was imported", problems.len(), path.display());
    }

    // Pass 2: load everything in one transaction, a batch at a time.
    let bar = progress(count, "importing");
    let actor = Actor::default();
    let mut rows = records(path, format)?;
    let summary = conn
        .transaction::<_, anyhow::Error, _>(async |conn| {
            let mut summary = Summary::default();
            loop {
                let mut batch: Vec<Prepared> = Vec::with_capacity(BATCH);
                let mut read = 0;
                for record in rows.by_ref().take(BATCH) {
                    read += 1;
                    let (line, mut value) = record.map_err(|(line, e)| anyhow::anyhow!("line {line}: {e}"))?;
                    let mut errors = crate::ledger::places::fill_locations(conn, vec![(String::new(), &mut value)])
                        .await
                        .map_err(|e| anyhow::anyhow!("line {line}: {}", e.detail))?;
                    let p = prepare_exported(value, &h, &mut errors)
                        .map_err(|e| anyhow::anyhow!("line {line}: {}", e.detail))?
                        .with_context(|| format!("line {line} changed while it was being imported"))?;
                    if existing.contains(&p.id()) {
                        if on_existing == OnExisting::Update {
                            summary.claims += p.claim_count();
                            crate::ledger::incidents::replace_prepared(conn, &p, &actor)
                                .await
                                .map_err(|e: ApiError| anyhow::anyhow!("line {line}: {}", e.detail))?;
                            summary.updated += 1;
                        } else {
                            summary.skipped += 1;
                        }
                        continue;
                    }
                    summary.claims += p.claim_count();
                    batch.push(p);
                }
                if read == 0 {
                    return Ok(summary);
                }
                if batch.is_empty() {
                    continue;
                }
                insert_prepared(conn, &batch, &actor, "import")
                    .await
                    .map_err(|e: ApiError| anyhow::anyhow!("{}", e.detail))?;
                summary.incidents += batch.len();
                bar.inc(batch.len() as u64);
            }
        })
        .await?;
    bar.finish_and_clear();
    Ok(summary)
}
