//! Remembered answers: public reads served from memory, still exact.
//!
//! A dashboard on a news site is thousands of readers asking the same few
//! questions. The rendered answer of a public read (a count with its `to`,
//! a page of incidents or claims, an incident, a history) is kept by its
//! normalized request, with its ETag, and served again for as long as
//! nothing has been written since it was computed.
//!
//! Exact on every instance, without asking PostgreSQL on every read:
//!
//! - After each write it acknowledges (after the commit, before the answer
//!   leaves), an instance voids what it remembers, takes the next number of
//!   the generation and announces it on `ceasefire_answers`
//!   (`answers_announce()`). It then answers the writer only once every
//!   other instance that remembers answers has heard of that generation:
//!   their rows in `answer_caches` say so. Alone, it announces nothing.
//! - Every instance listens (one connection): on each announcement it voids
//!   what it remembers, then writes down the generation it has heard of.
//!   The same write renews its lease, every 250 ms. It answers from memory
//!   only while its lease runs by its own clock (counted from before the
//!   renewal was sent, so it ends before PostgreSQL's view of it): an
//!   instance that stops hearing from PostgreSQL stops answering from
//!   memory, and writers wait for it no longer than the lease (1 s).
//!
//! So a read that arrives after a write's 2xx, on whichever instance, is
//! answered from a cache that has already voided what came before that
//! write. Commits the event listener hears of (`ceasefire_outbox`) void it
//! too: a writer that died between its commit and its announcement.
//!
//! Not remembered: requests with a key (their answers are private), counts
//! without `to` (their range ends at their arrival), the change feed
//! (`updated_since`: a change is listed once every older transaction has
//! ended, which no write announces), anything but 200 answers whose body
//! is already whole (exports stream), answers larger than an eighth of the
//! cache. An instance with a read replica remembers nothing: the replica
//! may lag behind the writes it would be told of.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{web, Error, HttpResponse};
use bytes::Bytes;
use diesel::sql_types::{BigInt, Uuid as SqlUuid};
use diesel::QueryableByName;
use diesel_async::{AsyncConnection, AsyncPgConnection, SimpleAsyncConnection};
use futures_util::{FutureExt, StreamExt};
use prometheus::{IntCounterVec, IntGauge, Opts};
use uuid::Uuid;

use crate::api::state::AppState;
use crate::db::DbPool;

/// How long an instance may answer from memory after it last told
/// PostgreSQL what it has heard of; the longest a writer waits for a
/// silent instance.
const LEASE: Duration = Duration::from_millis(1000);
/// How often the lease is renewed.
const RENEW: Duration = Duration::from_millis(250);
/// Taken off the lease, for the time the renewal took to be recorded.
const MARGIN: Duration = Duration::from_millis(200);
/// Shards of the cache; an answer may weigh half of one.
const SHARDS: usize = 8;

/// One remembered answer.
pub struct Entry {
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
    /// None: nothing remembered (no room, or a replica).
    cache: Option<quick_cache::sync::Cache<String, Arc<Entry>, Weight>>,
    max_entry: usize,
    /// This instance, in `answer_caches`.
    id: Uuid,
    /// Voids: this instance's writes and the announcements it heard.
    voided: AtomicU64,
    /// Commits announced by PostgreSQL (counted by the event listener).
    commits: Arc<AtomicU64>,
    /// Milliseconds after `start` until which the lease runs (0: none).
    lease_until: AtomicU64,
    start: Instant,
    cache_control: HeaderValue,
    outcomes: IntCounterVec,
    bytes: IntGauge,
}

impl Answers {
    /// `megabytes` 0 keeps nothing, as does `remember` false (public reads
    /// still carry their `Cache-Control`). `commits` is counted by the
    /// event listener.
    pub fn new(megabytes: u32, remember: bool, edge: &EdgeCaching, commits: Arc<AtomicU64>) -> anyhow::Result<Self> {
        let capacity = u64::from(megabytes) * 1024 * 1024;
        // A fixed number of shards, each an eighth of the capacity, so that
        // what fits does not depend on the machine's cores.
        let options = quick_cache::OptionsBuilder::new()
            .estimated_items_capacity(4096)
            .weight_capacity(capacity.max(1))
            .shards(SHARDS)
            .build()?;
        let cache = (capacity > 0 && remember)
            .then(|| quick_cache::sync::Cache::with_options(options, Weight, Default::default(), Default::default()));
        Ok(Self {
            cache,
            max_entry: (capacity / SHARDS as u64 / 2) as usize,
            id: Uuid::new_v4(),
            voided: AtomicU64::new(0),
            commits,
            lease_until: AtomicU64::new(0),
            start: Instant::now(),
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

    /// Starts listening for other instances' writes (one connection of its
    /// own), if anything is remembered.
    pub fn start(self: &Arc<Self>, url: String) {
        if self.cache.is_some() {
            tokio::spawn(self.clone().keep_lease(url));
        }
    }

    fn epoch(&self) -> u64 {
        self.voided.load(Ordering::SeqCst).wrapping_add(self.commits.load(Ordering::SeqCst))
    }

    fn void(&self) {
        self.voided.fetch_add(1, Ordering::SeqCst);
    }

    fn millis(&self) -> u64 {
        self.start.elapsed().as_millis() as u64
    }

    fn leased(&self) -> bool {
        self.millis() < self.lease_until.load(Ordering::SeqCst)
    }

    /// After a write this instance acknowledges: voids what it remembers,
    /// and waits until every other instance has heard of the write.
    pub async fn bump(&self, pool: &DbPool) {
        self.void();
        if let Err(e) = written(pool, self.id).await {
            tracing::warn!(error = %e, "announcing a write to the other instances' caches failed; they learn of it from its commit's notification");
        }
    }

    async fn keep_lease(self: Arc<Self>, url: String) {
        loop {
            if let Err(e) = self.listen(&url).await {
                tracing::debug!(error = %e, "the answers' listener failed; reconnecting");
            }
            // Nothing from memory until the listener is back.
            self.lease_until.store(0, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    async fn listen(&self, url: &str) -> anyhow::Result<()> {
        let mut conn = AsyncPgConnection::establish(url).await?;
        conn.batch_execute("LISTEN ceasefire_answers; SET statement_timeout = 1000").await?;
        // What was written before listening: voided with everything
        // remembered so far.
        let mut heard = current(&mut conn).await?;
        self.void();
        diesel_async::RunQueryDsl::execute(
            diesel::sql_query("DELETE FROM answer_caches WHERE expires < now() - interval '1 hour'"),
            &mut conn,
        )
        .await?;
        // A generation handed out that this listener has not heard of by
        // its next renewal: announcements are not reaching it (a pooler in
        // transaction mode drops LISTEN), so it must not answer from memory.
        let mut unheard: Option<i64> = None;
        loop {
            let latest = self.renew(&mut conn, heard).await?;
            if let Some(g) = unheard.filter(|g| heard < *g) {
                anyhow::bail!("generation {g} was announced but not heard within {RENEW:?}");
            }
            unheard = (latest > heard).then_some(latest);
            let mut announced = None;
            {
                let mut notifications = std::pin::pin!(conn.notifications_stream());
                let first = match tokio::time::timeout(RENEW, notifications.next()).await {
                    Err(_) => None,
                    Ok(None) => anyhow::bail!("the connection closed"),
                    Ok(Some(n)) => Some(n?),
                };
                if let Some(first) = first {
                    // Every announcement already here is handled at once (a
                    // payload that is no generation still voids).
                    let mut g = first.payload.parse::<i64>().unwrap_or(0);
                    while let Some(Some(n)) = notifications.next().now_or_never() {
                        g = g.max(n?.payload.parse::<i64>().unwrap_or(0));
                    }
                    announced = Some(g);
                }
            }
            if let Some(g) = announced {
                // Voided before the writer is told it was heard.
                self.void();
                heard = heard.max(g);
            }
        }
    }

    /// Tells PostgreSQL which generation this instance has heard of, and
    /// extends its lease from the moment the statement was sent; the last
    /// generation handed out.
    async fn renew(&self, conn: &mut AsyncPgConnection, heard: i64) -> anyhow::Result<i64> {
        let sent = self.millis();
        let row: G = diesel_async::RunQueryDsl::get_result(
            diesel::sql_query(
                "INSERT INTO answer_caches (instance, seen, expires) VALUES ($1, $2, clock_timestamp() + $3 * interval '1 millisecond') \
                 ON CONFLICT (instance) DO UPDATE SET seen = GREATEST(answer_caches.seen, EXCLUDED.seen), expires = EXCLUDED.expires \
                 RETURNING answers_current() AS g",
            )
            .bind::<SqlUuid, _>(self.id)
            .bind::<BigInt, _>(heard)
            .bind::<BigInt, _>(LEASE.as_millis() as i64),
            conn,
        )
        .await?;
        // A lease that ran out meanwhile (a slow renewal) may have been
        // skipped by writers that found no instance to tell: what was
        // remembered before is void.
        if self.millis() >= self.lease_until.load(Ordering::SeqCst) {
            self.void();
        }
        let until = sent + (LEASE - MARGIN).as_millis() as u64;
        self.lease_until.fetch_max(until, Ordering::SeqCst);
        Ok(row.g)
    }
}

#[derive(QueryableByName)]
struct G {
    #[diesel(sql_type = BigInt)]
    g: i64,
}

#[derive(QueryableByName)]
struct Unseen {
    #[diesel(sql_type = BigInt)]
    g: i64,
    #[diesel(sql_type = BigInt)]
    unseen: i64,
}

async fn current(conn: &mut AsyncPgConnection) -> diesel::QueryResult<i64> {
    let row: G =
        diesel_async::RunQueryDsl::get_result(diesel::sql_query("SELECT answers_current() AS g"), conn).await?;
    Ok(row.g)
}

/// Announces a write and waits (up to twice the lease) until every
/// instance other than `me` whose lease runs has heard of it.
async fn written(pool: &DbPool, me: Uuid) -> anyhow::Result<()> {
    use diesel_async::RunQueryDsl;
    let mut conn = pool.get().await?;
    let row: Unseen = diesel::sql_query("SELECT g, unseen FROM answers_announce($1)")
        .bind::<SqlUuid, _>(me)
        .get_result(&mut conn)
        .await?;
    let (g, mut unseen) = (row.g, row.unseen);
    let deadline = Instant::now() + 2 * LEASE;
    let mut pause = Duration::from_millis(1);
    while unseen > 0 {
        if Instant::now() > deadline {
            anyhow::bail!("{unseen} instances did not hear of generation {g} within {:?}", 2 * LEASE);
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_millis(50));
        let row: G = diesel::sql_query("SELECT answers_unseen($1, $2) AS g")
            .bind::<BigInt, _>(g)
            .bind::<SqlUuid, _>(me)
            .get_result(&mut conn)
            .await?;
        unseen = row.g;
    }
    Ok(())
}

/// After a write made outside a server (an import, the seed): whatever of
/// it was committed (an import that failed may have committed its first
/// batches) is announced to every instance, as a server does after a write
/// it acknowledges, before the caller hears of it. The write's own outcome
/// comes first; a failed announcement is an error only after a success.
pub async fn announced<T>(pool: &DbPool, outcome: anyhow::Result<T>) -> anyhow::Result<T> {
    let told = written(pool, Uuid::nil()).await;
    let value = outcome?;
    told?;
    Ok(value)
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
    crate::api::common::lists_etag(inm, etag)
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
    let cache = answers.cache.as_ref().filter(|_| kind != Kind::Unrepeatable);
    let mut remembered = None;
    if let Some(cache) = cache.filter(|_| answers.leased()) {
        let key = key(&req, kind);
        // Read before the answer is looked up or computed: a void that
        // comes later leaves this answer unused.
        let epoch = answers.epoch();
        if let Some(entry) = cache.get(&key).filter(|e| e.epoch == epoch) {
            answers.outcomes.with_label_values(&["hit"]).inc();
            let res = from_entry(&entry, inm.as_ref());
            return Ok(req.into_response(res));
        }
        answers.outcomes.with_label_values(&["miss"]).inc();
        remembered = Some((key, epoch));
    }
    let mut res = next.call(req).await?;
    let no_store = res.headers().get(header::CACHE_CONTROL).is_some_and(|v| v.as_bytes() == b"no-store");
    if res.status() != StatusCode::OK || kind == Kind::Unrepeatable || no_store {
        // Errors, answers that move without a write, and exports (no-store)
        // keep what their handler said.
        return Ok(res.map_into_boxed_body());
    }
    res.headers_mut().insert(header::CACHE_CONTROL, answers.cache_control.clone());
    let (req, res) = res.into_parts();
    let (mut head, body) = res.into_parts();
    let body = match body.try_into_bytes() {
        Ok(bytes) => bytes,
        Err(body) => {
            // A body that streams (a large count): answered, not remembered.
            let Some(etag) = head.headers().get(header::ETAG).cloned() else {
                return Ok(ServiceResponse::new(req, head.set_body(body).map_into_boxed_body()));
            };
            let res = if matches(inm.as_ref(), &etag) {
                let headers: Vec<_> = head.headers().iter().map(|(n, v)| (n.clone(), v.clone())).collect();
                not_modified(&etag, &headers)
            } else {
                head.set_body(body).map_into_boxed_body()
            };
            return Ok(ServiceResponse::new(req, res));
        }
    };
    // An answer without an ETag of its own (a history, a claim) gets one
    // from its bytes, for caches to revalidate it.
    let etag = match head.headers().get(header::ETAG) {
        Some(etag) => etag.clone(),
        None => {
            let etag = HeaderValue::from_str(&crate::api::common::body_etag(&body)).expect("hex is a valid header");
            head.headers_mut().insert(header::ETAG, etag.clone());
            etag
        }
    };
    let entry = Entry {
        epoch: remembered.as_ref().map_or(0, |r| r.1),
        etag,
        headers: head.headers().iter().map(|(n, v)| (n.clone(), v.clone())).collect(),
        body,
    };
    let res = from_entry(&entry, inm.as_ref());
    if let (Some(cache), Some((key, _))) = (cache, remembered) {
        if entry.body.len() <= answers.max_entry && answers.leased() {
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
