//! Remembered answers: public reads served from memory, still exact.
//!
//! A dashboard on a news site is thousands of readers asking the same few
//! questions. The rendered answer of a public read (a count with its `to`,
//! a page of incidents or claims, an incident, a history) is kept by its
//! normalized request, with its ETag, and served again for as long as
//! nothing has been written since it was computed.
//!
//! "Nothing written since" is decided by a generation kept in PostgreSQL
//! (the sequence `answers_generation`). Every instance takes a number from
//! it after each write it acknowledges: after the commit, before the answer
//! leaves (`bump`). Before serving a remembered answer, an instance reads
//! the generation; an answer computed under another generation is computed
//! again. The read is sent after the request arrived, so a write answered
//! 2xx before a read arrived — on this instance or any other — has always
//! moved the generation that read sees: read-your-writes holds everywhere.
//! Reads of the generation are shared: one is in flight at a time, and every
//! request that arrived before it was sent waits for it, so under load one
//! round trip serves many readers.
//!
//! Two local counters also invalidate everything: this instance's own
//! writes, and the commits PostgreSQL announces to the event listener
//! (`ceasefire_outbox`), which also covers a writer that died between its
//! commit and its bump, and the command line's imports.
//!
//! Not remembered: requests with a key (their answers are private), counts
//! without `to` (their range ends at their arrival), the change feed
//! (`updated_since`: a change is listed once every older transaction has
//! ended, which no write announces), anything but 200
//! answers whose body is already whole (exports stream), answers larger
//! than an eighth of the cache. With a read replica nothing is remembered:
//! the replica may lag behind the generation.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{web, Error, HttpResponse};
use bytes::Bytes;
use diesel::QueryableByName;
use diesel_async::{AsyncConnection, AsyncPgConnection};
use prometheus::{IntCounterVec, IntGauge, Opts};
use tokio::sync::{watch, Notify};

use crate::api::state::AppState;
use crate::db::DbPool;

/// How long a request waits for the generation before it is answered
/// without the cache.
const CHECK_WAIT: Duration = Duration::from_secs(1);

/// One remembered answer.
pub struct Entry {
    generation: i64,
    epoch: u64,
    etag: HeaderValue,
    headers: Vec<(HeaderName, HeaderValue)>,
    body: Bytes,
}

#[derive(Clone)]
struct Weight;

impl quick_cache::Weighter<String, Arc<Entry>> for Weight {
    fn weight(&self, key: &String, val: &Arc<Entry>) -> u64 {
        let headers: usize = val.headers.iter().map(|(n, v)| n.as_str().len() + v.len() + 64).sum();
        (key.len() + val.body.len() + headers + 256) as u64
    }
}

/// The edge's part: what `Cache-Control` public reads carry.
#[derive(Clone, Debug, Default)]
pub struct EdgeCaching {
    /// `s-maxage`: seconds a shared cache may answer without asking.
    pub s_maxage: u32,
    /// `stale-while-revalidate`: seconds a shared cache may answer a stale
    /// copy while it asks.
    pub stale_while_revalidate: u32,
}

impl EdgeCaching {
    /// `public, max-age=0, must-revalidate` (browsers ask again every
    /// time, with the ETag), plus what shared caches were allowed.
    /// `must-revalidate` forbids a stale answer, so it gives way to
    /// `stale-while-revalidate` when that is configured.
    pub fn header(&self) -> HeaderValue {
        let mut v = String::from("public, max-age=0");
        if self.stale_while_revalidate == 0 {
            v.push_str(", must-revalidate");
        }
        if self.s_maxage > 0 {
            v.push_str(&format!(", s-maxage={}", self.s_maxage));
        }
        if self.stale_while_revalidate > 0 {
            v.push_str(&format!(", stale-while-revalidate={}", self.stale_while_revalidate));
        }
        HeaderValue::from_str(&v).expect("a valid header")
    }
}

/// The instance's remembered answers.
pub struct Answers {
    cache: Option<quick_cache::sync::Cache<String, Arc<Entry>, Weight>>,
    max_entry: usize,
    generation: Generation,
    /// Writes this instance acknowledged.
    writes: AtomicU64,
    /// Commits announced by PostgreSQL (counted by the event listener).
    commits: Arc<AtomicU64>,
    cache_control: HeaderValue,
    outcomes: IntCounterVec,
    bytes: IntGauge,
}

impl Answers {
    /// `megabytes` 0 keeps nothing (public reads still carry their
    /// `Cache-Control`). `commits` is counted by the event listener.
    pub fn new(megabytes: u32, edge: &EdgeCaching, commits: Arc<AtomicU64>) -> anyhow::Result<Self> {
        let capacity = u64::from(megabytes) * 1024 * 1024;
        let cache = (capacity > 0).then(|| quick_cache::sync::Cache::with_weighter(4096, capacity, Weight));
        Ok(Self {
            cache,
            max_entry: (capacity / 8) as usize,
            generation: Generation::new(),
            writes: AtomicU64::new(0),
            commits,
            cache_control: edge.header(),
            outcomes: IntCounterVec::new(
                Opts::new(
                    "ceasefire_answer_cache_total",
                    "Public reads by whether a remembered answer served them (hit) or they were computed (miss)",
                ),
                &["outcome"],
            )?,
            bytes: IntGauge::new("ceasefire_answer_cache_bytes", "Bytes the remembered answers weigh")?,
        })
    }

    pub fn metrics(&self) -> Vec<Box<dyn prometheus::core::Collector>> {
        vec![Box::new(self.outcomes.clone()), Box::new(self.bytes.clone())]
    }

    /// Starts the reader of the generation (one connection of its own).
    pub fn start(self: &Arc<Self>, url: String) {
        if self.cache.is_some() {
            tokio::spawn(self.clone().read_generations(url));
        }
    }

    fn epoch(&self) -> u64 {
        self.writes.load(Ordering::SeqCst).wrapping_add(self.commits.load(Ordering::SeqCst))
    }

    /// After a write this instance acknowledges: everything remembered here
    /// is void at once, and the generation moves for every other instance.
    pub async fn bump(&self, pool: &DbPool) {
        self.writes.fetch_add(1, Ordering::SeqCst);
        if let Err(e) = bump(pool).await {
            tracing::warn!(error = %e, "moving the answers' generation failed; other instances learn of the write from its notification");
        }
    }

    async fn read_generations(self: Arc<Self>, url: String) {
        let mut conn: Option<AsyncPgConnection> = None;
        loop {
            self.generation.wake.notified().await;
            let round = self.generation.next_round.fetch_add(1, Ordering::SeqCst);
            let read = async {
                if conn.is_none() {
                    conn = Some(AsyncPgConnection::establish(&url).await?);
                }
                Ok::<_, anyhow::Error>(current(conn.as_mut().expect("connected")).await?)
            };
            let generation = match tokio::time::timeout(CHECK_WAIT, read).await {
                Ok(Ok(g)) => Some(g),
                Ok(Err(e)) => {
                    tracing::debug!(error = %e, "reading the answers' generation failed");
                    conn = None;
                    None
                }
                Err(_) => {
                    conn = None;
                    None
                }
            };
            self.generation.done.send_replace((round, generation));
            if generation.is_none() {
                // Not a busy loop while the database is away.
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// The generation as read after a request arrived, shared by the requests
/// that arrived before the read was sent.
struct Generation {
    /// The round that has not started yet.
    next_round: AtomicU64,
    wake: Notify,
    /// The last round done, and what it read (`None`: it failed).
    done: watch::Sender<(u64, Option<i64>)>,
}

impl Generation {
    fn new() -> Self {
        Self { next_round: AtomicU64::new(1), wake: Notify::new(), done: watch::Sender::new((0, None)) }
    }

    /// The generation, read by a round that started after this call.
    async fn current(&self) -> Option<i64> {
        let round = self.next_round.load(Ordering::SeqCst);
        let mut done = self.done.subscribe();
        self.wake.notify_one();
        let wait = async { done.wait_for(|(r, _)| *r >= round).await.ok().and_then(|seen| seen.1) };
        tokio::time::timeout(CHECK_WAIT, wait).await.ok().flatten()
    }
}

#[derive(QueryableByName)]
struct G {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    g: i64,
}

async fn current(conn: &mut AsyncPgConnection) -> diesel::QueryResult<i64> {
    use diesel_async::RunQueryDsl;
    // `is_called` tells the fresh sequence (1, not taken) from its first number.
    let row: G =
        diesel::sql_query("SELECT last_value + is_called::int AS g FROM answers_generation").get_result(conn).await?;
    Ok(row.g)
}

/// Moves the generation: after a write commits, before it is acknowledged.
/// The command line calls it after its imports.
pub async fn bump(pool: &DbPool) -> anyhow::Result<()> {
    let mut conn = pool.get().await?;
    bump_on(&mut conn).await
}

pub async fn bump_on(conn: &mut AsyncPgConnection) -> anyhow::Result<()> {
    use diesel_async::RunQueryDsl;
    diesel::sql_query("SELECT nextval('answers_generation')").execute(conn).await?;
    Ok(())
}

/// Which reads are public answers, and how their key is made.
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    /// Its answer does not depend on `Accept`.
    Plain,
    /// Negotiates its format with `Accept`.
    Negotiated,
    /// Public, but its answer moves without a write: a count without `to`
    /// (its range ends at its arrival), the change feed (`updated_since`).
    Unrepeatable,
}

fn kind(path: &str, query: &str) -> Option<Kind> {
    let parts: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    let given = |name: &str| url::form_urlencoded::parse(query.as_bytes()).any(|(k, _)| k == name);
    match parts.as_slice() {
        // The change feed lists a change once every older transaction has
        // ended: its answer moves without a write.
        ["", "v1", "incidents"] | ["", "v1", "claims"] if given("updated_since") => Some(Kind::Unrepeatable),
        ["", "v1", "incidents"] | ["", "v1", "claims"] => Some(Kind::Negotiated),
        ["", "v1", "incidents", _] | ["", "v1", "incidents", _, "history"] | ["", "v1", "claims", _] => {
            Some(Kind::Plain)
        }
        ["", "v1", "stats", "incidents" | "claims"] if given("to") => Some(Kind::Negotiated),
        ["", "v1", "stats", "incidents" | "claims"] => Some(Kind::Unrepeatable),
        _ => None,
    }
}

/// The request as the cache knows it: path, parameters in a stable order
/// (by name, keeping the order of a repeated one's values, which matters
/// for `group_by`), and `Accept` where it chooses the format.
fn key(req: &ServiceRequest, kind: Kind) -> String {
    let mut pairs: Vec<(String, String)> =
        url::form_urlencoded::parse(req.query_string().as_bytes()).into_owned().collect();
    pairs.sort_by(|a, b| a.0.cmp(&b.0));
    let mut key = url::form_urlencoded::Serializer::new(format!("{}?", req.path()));
    key.extend_pairs(pairs);
    let mut key = key.finish();
    if kind == Kind::Negotiated {
        key.push('\n');
        if let Some(accept) = req.headers().get(header::ACCEPT) {
            key.push_str(&String::from_utf8_lossy(accept.as_bytes()));
        }
    }
    key
}

fn matches(inm: Option<&HeaderValue>, etag: &HeaderValue) -> bool {
    let (Some(inm), Ok(etag)) = (inm.and_then(|v| v.to_str().ok()), etag.to_str()) else { return false };
    inm.split(',').map(|t| t.trim().trim_start_matches("W/")).any(|t| t == "*" || t == etag)
}

/// 304 with what a cache needs to refresh its copy.
fn not_modified(etag: &HeaderValue, headers: &[(HeaderName, HeaderValue)]) -> HttpResponse {
    let mut res = HttpResponse::NotModified();
    res.insert_header((header::ETAG, etag.clone()));
    for (n, v) in headers.iter().filter(|(n, _)| *n == header::CACHE_CONTROL || *n == header::VARY) {
        res.insert_header((n.clone(), v.clone()));
    }
    res.finish()
}

fn from_entry(entry: &Entry, inm: Option<&HeaderValue>) -> HttpResponse {
    if matches(inm, &entry.etag) {
        return not_modified(&entry.etag, &entry.headers);
    }
    let mut res = HttpResponse::Ok();
    for (n, v) in &entry.headers {
        res.insert_header((n.clone(), v.clone()));
    }
    res.body(entry.body.clone())
}

/// The middleware: public reads answered from memory when nothing was
/// written since, every public read with the edge's `Cache-Control`, and a
/// 304 for an `If-None-Match` that names the answer's ETag.
pub async fn remember(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let kind = state
        .as_ref()
        .filter(|s| {
            req.method() == Method::GET && !s.private_reads && !req.headers().contains_key(header::AUTHORIZATION)
        })
        .and_then(|_| kind(req.path(), req.query_string()));
    let (Some(state), Some(kind)) = (state, kind) else {
        return next.call(req).await.map(ServiceResponse::map_into_boxed_body);
    };
    let answers = state.answers.clone();
    let inm = req.headers_mut().remove(header::IF_NONE_MATCH).next();
    let cache = answers.cache.as_ref().filter(|_| kind != Kind::Unrepeatable && state.replica.is_none());
    let mut remembered = None;
    if let Some(cache) = cache {
        let key = key(&req, kind);
        let epoch = answers.epoch();
        let generation = answers.generation.current().await;
        if let Some(g) = generation {
            if let Some(entry) = cache.get(&key).filter(|e| e.generation == g && e.epoch == epoch) {
                answers.outcomes.with_label_values(&["hit"]).inc();
                let res = from_entry(&entry, inm.as_ref());
                return Ok(req.into_response(res));
            }
            answers.outcomes.with_label_values(&["miss"]).inc();
            remembered = Some((key, g, epoch));
        }
    }
    let mut res = next.call(req).await?;
    if res.status() != StatusCode::OK {
        return Ok(res.map_into_boxed_body());
    }
    res.headers_mut().insert(header::CACHE_CONTROL, answers.cache_control.clone());
    let Some(etag) = res.headers().get(header::ETAG).cloned() else {
        return Ok(res.map_into_boxed_body());
    };
    let (req, res) = res.into_parts();
    let (head, body) = res.into_parts();
    let body = match body.try_into_bytes() {
        Ok(bytes) => bytes,
        Err(body) => {
            // A body that streams (a large count): answered, not remembered.
            let res = if matches(inm.as_ref(), &etag) {
                let headers: Vec<_> = head.headers().iter().map(|(n, v)| (n.clone(), v.clone())).collect();
                not_modified(&etag, &headers)
            } else {
                head.set_body(body).map_into_boxed_body()
            };
            return Ok(ServiceResponse::new(req, res));
        }
    };
    let entry = Entry {
        generation: remembered.as_ref().map_or(0, |r| r.1),
        epoch: remembered.as_ref().map_or(0, |r| r.2),
        etag,
        headers: head.headers().iter().map(|(n, v)| (n.clone(), v.clone())).collect(),
        body,
    };
    let res = from_entry(&entry, inm.as_ref());
    if let (Some(cache), Some((key, _, _))) = (cache, remembered) {
        if entry.body.len() <= answers.max_entry {
            cache.insert(key, Arc::new(entry));
            answers.bytes.set(cache.weight() as i64);
        }
    }
    Ok(ServiceResponse::new(req, res))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edge_header() {
        assert_eq!(EdgeCaching::default().header(), "public, max-age=0, must-revalidate");
        let e = EdgeCaching { s_maxage: 2, stale_while_revalidate: 0 };
        assert_eq!(e.header(), "public, max-age=0, must-revalidate, s-maxage=2");
        let e = EdgeCaching { s_maxage: 2, stale_while_revalidate: 30 };
        assert_eq!(e.header(), "public, max-age=0, s-maxage=2, stale-while-revalidate=30");
    }

    #[test]
    fn which_reads_are_answers() {
        assert!(kind("/v1/incidents", "") == Some(Kind::Negotiated));
        assert!(kind("/v1/incidents/abc", "") == Some(Kind::Plain));
        assert!(kind("/v1/incidents/abc/history", "") == Some(Kind::Plain));
        assert!(kind("/v1/stats/incidents", "from=2024-01-01") == Some(Kind::Unrepeatable));
        assert!(kind("/v1/stats/claims", "to=2024-01-01") == Some(Kind::Negotiated));
        assert!(kind("/v1/incidents", "limit=5&updated_since=2024-01-01") == Some(Kind::Unrepeatable));
        assert!(kind("/v1/events", "").is_none());
        assert!(kind("/v1/webhooks", "").is_none());
        assert!(kind("/v1/keys", "").is_none());
    }

    #[test]
    fn if_none_match() {
        let tag = HeaderValue::from_static("\"abc\"");
        assert!(matches(Some(&HeaderValue::from_static("\"x\", W/\"abc\"")), &tag));
        assert!(matches(Some(&HeaderValue::from_static("*")), &tag));
        assert!(!matches(Some(&HeaderValue::from_static("\"abcd\"")), &tag));
        assert!(!matches(None, &tag));
    }
}
