//! Webhook subscriptions: stored, signed as the Standard Webhooks
//! specification says, and delivered by workers in every instance that
//! take turns through PostgreSQL. A worker leases one subscription at a
//! time and posts its events in `seq` order; a failure stops that
//! subscription until its next attempt, with exponential backoff and
//! jitter, so nothing is skipped and nothing overtakes.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use hmac::{Hmac, Mac};
use rand::Rng;
use serde::Serialize;
use uuid::Uuid;

use super::events::{self, Event};
use super::filter::LiveFilter;
use crate::db::schema::{webhook_deliveries, webhooks};
use crate::db::DbPool;
use crate::store::Conn;

/// How deliveries are made (`ServeArgs`' webhook options).
#[derive(Debug, Clone)]
pub struct DeliveryConfig {
    /// Targets on loopback, link-local and private addresses are allowed.
    pub allow_private: bool,
    /// The whole attempt, connection to answer.
    pub timeout: Duration,
    /// The first retry's delay; each next one doubles, up to an hour.
    pub retry_base: Duration,
    /// A subscription failing this long is marked `failing`.
    pub failing_after: Duration,
    /// A subscription failing this long is `disabled`.
    pub disable_after: Duration,
    /// Workers per instance.
    pub workers: usize,
}

/// The longest wait between two attempts.
const RETRY_CAP: Duration = Duration::from_secs(3600);
/// How long a worker holds a subscription without renewing.
const LEASE: Duration = Duration::from_secs(60);
/// The longest a worker serves one subscription before letting others in.
const TURN: Duration = Duration::from_secs(20);

#[derive(Debug, Clone, Queryable, QueryableByName, Selectable)]
#[diesel(table_name = webhooks, check_for_backend(diesel::pg::Pg))]
pub struct WebhookRow {
    pub id: Uuid,
    pub url: String,
    pub description: Option<String>,
    pub filter: String,
    pub types: Vec<String>,
    pub secret: String,
    pub state: String,
    pub created_by: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub delivered_seq: i64,
    pub attempts: i32,
    pub next_attempt_at: DateTime<Utc>,
    pub failing_since: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub last_success_at: Option<DateTime<Utc>>,
    pub disabled_at: Option<DateTime<Utc>>,
    pub lease_token: Option<Uuid>,
    pub lease_until: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = webhooks)]
pub struct NewWebhookRow {
    pub id: Uuid,
    pub url: String,
    pub description: Option<String>,
    pub filter: String,
    pub types: Vec<String>,
    pub secret: String,
    pub created_by: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub delivered_seq: i64,
}

/// One attempt to deliver.
#[derive(Debug, Clone, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = webhook_deliveries, check_for_backend(diesel::pg::Pg))]
pub struct DeliveryRow {
    #[serde(skip)]
    pub id: i64,
    #[serde(skip)]
    pub webhook_id: Uuid,
    /// The `webhook-id` header: the same on every attempt of one event
    /// (`evt_<seq>`), so a receiver can drop duplicates.
    pub message_id: String,
    /// The event's type, or `webhook.ping` for a test.
    pub event_type: String,
    /// The event's seq (none for a test).
    pub seq: Option<i64>,
    /// 1 for the first attempt of this event.
    pub attempt: i32,
    /// The receiver's HTTP status, when it answered.
    pub status_code: Option<i32>,
    /// From the request's start to the answer's head (or the failure).
    pub latency_ms: i32,
    /// Why the attempt failed, when it did.
    pub error: Option<String>,
    pub at: DateTime<Utc>,
}

#[derive(Insertable)]
#[diesel(table_name = webhook_deliveries)]
struct NewDelivery<'a> {
    webhook_id: Uuid,
    message_id: &'a str,
    event_type: &'a str,
    seq: Option<i64>,
    attempt: i32,
    status_code: Option<i32>,
    latency_ms: i32,
    error: Option<&'a str>,
}

/// A new secret: `whsec_` and 32 random bytes in base64.
pub fn new_secret() -> String {
    let bytes: [u8; 32] = rand::thread_rng().gen();
    format!("whsec_{}", base64::engine::general_purpose::STANDARD.encode(bytes))
}

/// The `webhook-signature` value: `v1,` and the base64 HMAC-SHA256, keyed
/// by the secret's bytes, of `id.timestamp.body`.
pub fn signature(secret: &str, id: &str, timestamp: i64, body: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD;
    let key = b64.decode(secret.strip_prefix("whsec_").unwrap_or(secret)).unwrap_or_default();
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(&key).expect("HMAC takes keys of any length");
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(body);
    format!("v1,{}", b64.encode(mac.finalize().into_bytes()))
}

/// Addresses a target may not have unless private targets are allowed:
/// loopback, private, link-local, shared (CGNAT), unspecified, multicast,
/// broadcast and documentation ranges, and IPv6's equivalents.
pub fn forbidden(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || o[0] == 0
                || (o[0] == 100 && (64..128).contains(&o[1]))
                || (o[0] == 198 && (18..20).contains(&o[1]))
                || (o[0] == 192 && o[1] == 0 && o[2] == 0)
                || (o[0] == 192 && o[1] == 88 && o[2] == 99)
                || o[0] >= 240
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            // IPv4-mapped (`::ffff:a.b.c.d`) and IPv4-compatible (`::a.b.c.d`).
            if s[..5] == [0; 5] && (s[5] == 0xffff || (s[5] == 0 && s[6] != 0)) {
                if let Some(v4) = v6.to_ipv4() {
                    return forbidden(IpAddr::V4(v4));
                }
            }
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00
                || (s[0] & 0xffc0) == 0xfe80
                || (s[0] & 0xffc0) == 0xfec0
                || s[0] == 0x2002
                || (s[0] == 0x2001 && s[1] == 0x0db8)
                || (s[0] == 0x64 && s[1] == 0xff9b)
        }
    }
}

/// Checks a target URL: http or https, a host, at most 2,000 characters,
/// and (unless private targets are allowed) a host that is not, and does
/// not resolve to, a forbidden address.
pub async fn check_target(url: &str, allow_private: bool) -> Result<url::Url, String> {
    if url.len() > 2000 {
        return Err("at most 2,000 characters".into());
    }
    let parsed = url::Url::parse(url).map_err(|_| "an absolute http or https URL".to_string())?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host().is_none() {
        return Err("an absolute http or https URL".into());
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err("no credentials in the URL; the signature authenticates each delivery".into());
    }
    if allow_private {
        return Ok(parsed);
    }
    let port = parsed.port_or_known_default().unwrap_or(443);
    let addrs: Vec<IpAddr> = match parsed.host() {
        Some(url::Host::Ipv4(ip)) => vec![IpAddr::V4(ip)],
        Some(url::Host::Ipv6(ip)) => vec![IpAddr::V6(ip)],
        Some(url::Host::Domain(name)) => {
            match tokio::time::timeout(Duration::from_secs(5), tokio::net::lookup_host((name, port))).await {
                Ok(Ok(found)) => found.map(|a| a.ip()).collect(),
                _ => return Err(format!("`{name}` does not resolve")),
            }
        }
        None => vec![],
    };
    match addrs.iter().find(|ip| forbidden(**ip)) {
        Some(ip) => Err(format!(
            "the target is at {ip}, a loopback, private, link-local or reserved address; webhooks go to public addresses"
        )),
        None if addrs.is_empty() => Err("the host resolves to no address".into()),
        None => Ok(parsed),
    }
}

/// Resolves names for deliveries and refuses forbidden addresses, so a name
/// that resolved to a public address when the subscription was made cannot
/// point the worker inward later.
struct GuardedResolver;

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        Box::pin(async move {
            let found: Vec<SocketAddr> = tokio::net::lookup_host((name.as_str(), 0)).await?.collect();
            let allowed: Vec<SocketAddr> = found.into_iter().filter(|a| !forbidden(a.ip())).collect();
            if allowed.is_empty() {
                return Err(format!("`{}` resolves to no public address", name.as_str()).into());
            }
            Ok(Box::new(allowed.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// What an attempt came to.
pub struct Attempt {
    pub status_code: Option<i32>,
    pub latency_ms: i32,
    pub error: Option<String>,
}

impl Attempt {
    pub fn ok(&self) -> bool {
        self.error.is_none()
    }
}

/// Posts signed bodies to targets.
#[derive(Clone)]
pub struct Sender {
    client: reqwest::Client,
    allow_private: bool,
}

impl Sender {
    pub fn new(config: &DeliveryConfig) -> anyhow::Result<Self> {
        let mut builder = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(config.timeout)
            .connect_timeout(config.timeout.min(Duration::from_secs(5)))
            .user_agent(concat!("Ceasefire-Webhooks/", env!("CARGO_PKG_VERSION")))
            .no_proxy();
        if !config.allow_private {
            builder = builder.dns_resolver(Arc::new(GuardedResolver));
        }
        Ok(Self { client: builder.build()?, allow_private: config.allow_private })
    }

    /// Sends `body` to `url` signed with `secret`; any 2xx is a delivery.
    /// The answer's body is never read.
    pub async fn send(&self, url: &str, secret: &str, message_id: &str, body: &str) -> Attempt {
        let started = Instant::now();
        let latency = |started: Instant| i32::try_from(started.elapsed().as_millis()).unwrap_or(i32::MAX);
        if !self.allow_private {
            let literal = url::Url::parse(url).ok().and_then(|u| match u.host() {
                Some(url::Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
                Some(url::Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
                _ => None,
            });
            if let Some(ip) = literal.filter(|ip| forbidden(*ip)) {
                return Attempt {
                    status_code: None,
                    latency_ms: 0,
                    error: Some(format!("refused: {ip} is not a public address")),
                };
            }
        }
        let timestamp = Utc::now().timestamp();
        let result = self
            .client
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header("webhook-id", message_id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature(secret, message_id, timestamp, body.as_bytes()))
            .body(body.to_string())
            .send()
            .await;
        match result {
            Ok(res) => {
                let status = res.status();
                drop(res);
                Attempt {
                    status_code: Some(i32::from(status.as_u16())),
                    latency_ms: latency(started),
                    error: (!status.is_success()).then(|| {
                        if status.is_redirection() {
                            format!("HTTP {status}: redirects are not followed")
                        } else {
                            format!("HTTP {status}")
                        }
                    }),
                }
            }
            Err(e) => {
                let what = if e.is_timeout() {
                    "timed out".to_string()
                } else if e.is_connect() {
                    format!("could not connect: {}", root_cause(&e))
                } else {
                    root_cause(&e)
                };
                Attempt { status_code: None, latency_ms: latency(started), error: Some(what) }
            }
        }
    }
}

fn root_cause(e: &dyn std::error::Error) -> String {
    let mut last = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        last = c.to_string();
        cur = c.source();
    }
    last
}

/// Records an attempt.
pub async fn record_attempt(
    conn: &mut Conn,
    webhook_id: Uuid,
    message_id: &str,
    event_type: &str,
    seq: Option<i64>,
    attempt: i32,
    a: &Attempt,
) -> QueryResult<DeliveryRow> {
    diesel::insert_into(webhook_deliveries::table)
        .values(NewDelivery {
            webhook_id,
            message_id,
            event_type,
            seq,
            attempt,
            status_code: a.status_code,
            latency_ms: a.latency_ms,
            error: a.error.as_deref(),
        })
        .returning(DeliveryRow::as_returning())
        .get_result(conn)
        .await
}

pub async fn deliveries(conn: &mut Conn, webhook_id: Uuid, limit: i64) -> QueryResult<Vec<DeliveryRow>> {
    webhook_deliveries::table
        .filter(webhook_deliveries::webhook_id.eq(webhook_id))
        .order(webhook_deliveries::id.desc())
        .limit(limit)
        .select(DeliveryRow::as_select())
        .load(conn)
        .await
}

pub async fn purge_deliveries(conn: &mut Conn, before: DateTime<Utc>, step: i64) -> QueryResult<usize> {
    diesel::sql_query(
        "DELETE FROM webhook_deliveries WHERE id IN \
         (SELECT id FROM webhook_deliveries WHERE at < $1 ORDER BY id LIMIT $2)",
    )
    .bind::<diesel::sql_types::Timestamptz, _>(before)
    .bind::<diesel::sql_types::BigInt, _>(step)
    .execute(conn)
    .await
}

pub async fn insert(conn: &mut Conn, row: &NewWebhookRow) -> QueryResult<WebhookRow> {
    diesel::insert_into(webhooks::table).values(row).returning(WebhookRow::as_returning()).get_result(conn).await
}

pub async fn get(conn: &mut Conn, id: Uuid) -> QueryResult<Option<WebhookRow>> {
    webhooks::table.find(id).select(WebhookRow::as_select()).first(conn).await.optional()
}

pub async fn list(conn: &mut Conn) -> QueryResult<Vec<WebhookRow>> {
    webhooks::table.order(webhooks::created_at).select(WebhookRow::as_select()).load(conn).await
}

pub async fn delete(conn: &mut Conn, id: Uuid) -> QueryResult<bool> {
    Ok(diesel::delete(webhooks::table.find(id)).execute(conn).await? > 0)
}

/// The fields a PATCH may change.
#[derive(AsChangeset)]
#[diesel(table_name = webhooks)]
pub struct WebhookChanges {
    pub url: Option<String>,
    pub description: Option<Option<String>>,
    pub filter: Option<String>,
    pub types: Option<Vec<String>>,
    pub updated_at: DateTime<Utc>,
}

pub async fn update(conn: &mut Conn, id: Uuid, changes: &WebhookChanges) -> QueryResult<Option<WebhookRow>> {
    diesel::update(webhooks::table.find(id))
        .set(changes)
        .returning(WebhookRow::as_returning())
        .get_result(conn)
        .await
        .optional()
}

/// Turns delivery on again (from now on, retrying the event it stopped
/// at first) or off.
pub async fn set_enabled(conn: &mut Conn, id: Uuid, enabled: bool) -> QueryResult<Option<WebhookRow>> {
    let q = diesel::update(webhooks::table.find(id));
    let now = Utc::now();
    let r = if enabled {
        q.filter(webhooks::state.ne("active").or(webhooks::failing_since.is_not_null()))
            .set((
                webhooks::state.eq("active"),
                webhooks::attempts.eq(0),
                webhooks::failing_since.eq(None::<DateTime<Utc>>),
                webhooks::disabled_at.eq(None::<DateTime<Utc>>),
                webhooks::next_attempt_at.eq(now),
                webhooks::updated_at.eq(now),
            ))
            .execute(conn)
            .await?
    } else {
        q.filter(webhooks::state.ne("disabled"))
            .set((webhooks::state.eq("disabled"), webhooks::disabled_at.eq(now), webhooks::updated_at.eq(now)))
            .execute(conn)
            .await?
    };
    let _ = r;
    get(conn, id).await
}

/// The instance's delivery workers.
pub struct Deliverer {
    pub pool: DbPool,
    pub sender: Sender,
    pub config: DeliveryConfig,
    pub wake: tokio::sync::watch::Receiver<i64>,
    pub outcomes: prometheus::IntCounterVec,
    pub lag: prometheus::Histogram,
}

impl Deliverer {
    pub fn metrics() -> anyhow::Result<(prometheus::IntCounterVec, prometheus::Histogram)> {
        let outcomes = prometheus::IntCounterVec::new(
            prometheus::Opts::new(
                "ceasefire_webhook_deliveries_total",
                "Webhook delivery attempts by outcome (delivered, failed)",
            ),
            &["outcome"],
        )?;
        let lag = prometheus::Histogram::with_opts(
            prometheus::HistogramOpts::new(
                "ceasefire_webhook_delivery_lag_seconds",
                "Seconds from an event's numbering (just after its commit) to its first delivery attempt",
            )
            .buckets(vec![0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0]),
        )?;
        Ok((outcomes, lag))
    }

    /// Starts the workers.
    pub fn start(self) {
        let me = Arc::new(self);
        for _ in 0..me.config.workers.max(1) {
            let me = me.clone();
            tokio::spawn(async move { me.work().await });
        }
    }

    async fn work(&self) {
        let mut wake = self.wake.clone();
        loop {
            match self.claim().await {
                Ok(Some(sub)) => {
                    if let Err(e) = self.serve(sub).await {
                        tracing::warn!(error = %e, "webhook delivery interrupted");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                }
                Ok(None) => {
                    // New events or the next retry, whichever comes first
                    // (retries are checked every second); under a stream of
                    // writes, a worker with nothing to do asks at most ten
                    // times a second.
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    let _ = tokio::time::timeout(Duration::from_secs(1), wake.changed()).await;
                }
                Err(e) => {
                    tracing::debug!(error = %e, "no webhook claimed");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    }

    /// Leases a subscription with events to deliver and due, if any. Lease
    /// times are the database's, so the instances' clocks do not matter.
    async fn claim(&self) -> anyhow::Result<Option<(WebhookRow, Uuid)>> {
        let mut conn = self.pool.get().await?;
        let token = Uuid::new_v4();
        let claimed: Option<WebhookRow> = diesel::sql_query(
            "UPDATE webhooks SET lease_token = $1, lease_until = now() + make_interval(secs => $2) \
             WHERE id = (SELECT id FROM webhooks \
                 WHERE state <> 'disabled' AND next_attempt_at <= now() \
                   AND (lease_until IS NULL OR lease_until < now()) \
                   AND delivered_seq < (SELECT last_seq FROM event_counter) \
                 ORDER BY next_attempt_at FOR UPDATE SKIP LOCKED LIMIT 1) \
             RETURNING *",
        )
        .bind::<diesel::sql_types::Uuid, _>(token)
        .bind::<diesel::sql_types::Double, _>(LEASE.as_secs_f64())
        .get_result(&mut conn)
        .await
        .optional()?;
        Ok(claimed.map(|row| (row, token)))
    }

    /// Renews the lease and saves the cursor; the subscription as it is now
    /// (an admin may have changed it), or None when the lease was lost, the
    /// subscription deleted or disabled.
    async fn renew(&self, id: Uuid, token: Uuid, cursor: i64) -> anyhow::Result<Option<WebhookRow>> {
        let mut conn = self.pool.get().await?;
        Ok(diesel::sql_query(
            "UPDATE webhooks SET delivered_seq = GREATEST(delivered_seq, $3), \
                 lease_until = now() + make_interval(secs => $4) \
             WHERE id = $1 AND lease_token = $2 AND state <> 'disabled' RETURNING *",
        )
        .bind::<diesel::sql_types::Uuid, _>(id)
        .bind::<diesel::sql_types::Uuid, _>(token)
        .bind::<diesel::sql_types::BigInt, _>(cursor)
        .bind::<diesel::sql_types::Double, _>(LEASE.as_secs_f64())
        .get_result(&mut conn)
        .await
        .optional()?)
    }

    /// Delivers the leased subscription's events in order until it is
    /// caught up, an attempt fails, the lease is lost, or its turn is over;
    /// the lease is renewed and the cursor saved at every page.
    async fn serve(&self, (sub, token): (WebhookRow, Uuid)) -> anyhow::Result<()> {
        let started = Instant::now();
        let mut sub = sub;
        let mut cursor = sub.delivered_seq;
        loop {
            let matcher = match LiveFilter::parse(&sub.filter) {
                Ok(f) => {
                    let mut conn = self.pool.get().await?;
                    Some(f.matcher(&mut conn).await?)
                }
                Err(e) => {
                    tracing::error!(webhook = %sub.id, error = %e, "a stored filter no longer parses; nothing matches it");
                    None
                }
            };
            let page = {
                let mut conn = self.pool.get().await?;
                events::after(&mut conn, cursor, 100).await?
            };
            let Some(last) = page.last().map(|e| e.seq) else { break };
            for ev in &page {
                let wanted = (sub.types.is_empty() || sub.types.contains(&ev.kind))
                    && matcher.as_ref().is_some_and(|m| m.matches(&ev.kind, &ev.incident));
                if wanted && !self.deliver(&sub, token, ev, &mut cursor).await? {
                    return Ok(());
                }
                cursor = ev.seq;
            }
            debug_assert_eq!(cursor, last);
            match self.renew(sub.id, token, cursor).await? {
                Some(now) if started.elapsed() < TURN => sub = now,
                _ => break,
            }
        }
        // Let the others in: the lease ends, and the subscription goes to
        // the back of the queue.
        let mut conn = self.pool.get().await?;
        diesel::sql_query(
            "UPDATE webhooks SET delivered_seq = GREATEST(delivered_seq, $3), lease_token = NULL, \
                 lease_until = NULL, next_attempt_at = now() \
             WHERE id = $1 AND lease_token = $2",
        )
        .bind::<diesel::sql_types::Uuid, _>(sub.id)
        .bind::<diesel::sql_types::Uuid, _>(token)
        .bind::<diesel::sql_types::BigInt, _>(cursor)
        .execute(&mut conn)
        .await?;
        Ok(())
    }

    /// One attempt of `ev`; true when delivered (and recorded, with the
    /// lease renewed), false when it failed or the lease was lost. The
    /// subscription's state is computed by the database from what it holds
    /// now, not from what the worker read when it took the lease.
    async fn deliver(&self, sub: &WebhookRow, token: Uuid, ev: &Event, cursor: &mut i64) -> anyhow::Result<bool> {
        let message_id = format!("evt_{}", ev.seq);
        let attempt = if sub.delivered_seq == *cursor { sub.attempts + 1 } else { 1 };
        if attempt == 1 {
            let lag = (Utc::now() - ev.sequenced_at).num_milliseconds().max(0) as f64 / 1000.0;
            self.lag.observe(lag);
        }
        let outcome = self.sender.send(&sub.url, &sub.secret, &message_id, &ev.body).await;
        let mut conn = self.pool.get().await?;
        record_attempt(&mut conn, sub.id, &message_id, &ev.kind, Some(ev.seq), attempt, &outcome).await?;
        if outcome.ok() {
            self.outcomes.with_label_values(&["delivered"]).inc();
            let renewed = diesel::sql_query(
                "UPDATE webhooks SET delivered_seq = $3, attempts = 0, failing_since = NULL, last_error = NULL, \
                     last_success_at = now(), state = 'active', lease_until = now() + make_interval(secs => $4) \
                 WHERE id = $1 AND lease_token = $2 AND state <> 'disabled'",
            )
            .bind::<diesel::sql_types::Uuid, _>(sub.id)
            .bind::<diesel::sql_types::Uuid, _>(token)
            .bind::<diesel::sql_types::BigInt, _>(ev.seq)
            .bind::<diesel::sql_types::Double, _>(LEASE.as_secs_f64())
            .execute(&mut conn)
            .await?;
            *cursor = ev.seq;
            return Ok(renewed == 1);
        }
        self.outcomes.with_label_values(&["failed"]).inc();
        let wait = backoff(self.config.retry_base, attempt);
        let state: Option<String> = diesel::sql_query(
            "UPDATE webhooks SET delivered_seq = $3, attempts = $4, \
                 failing_since = COALESCE(failing_since, now()), last_error = $5, \
                 next_attempt_at = now() + make_interval(secs => $6), \
                 state = CASE WHEN now() - COALESCE(failing_since, now()) >= make_interval(secs => $8) THEN 'disabled' \
                              WHEN now() - COALESCE(failing_since, now()) >= make_interval(secs => $7) THEN 'failing' \
                              ELSE state END, \
                 disabled_at = CASE WHEN now() - COALESCE(failing_since, now()) >= make_interval(secs => $8) \
                              THEN now() END, \
                 lease_token = NULL, lease_until = NULL \
             WHERE id = $1 AND lease_token = $2 AND state <> 'disabled' RETURNING state",
        )
        .bind::<diesel::sql_types::Uuid, _>(sub.id)
        .bind::<diesel::sql_types::Uuid, _>(token)
        .bind::<diesel::sql_types::BigInt, _>(*cursor)
        .bind::<diesel::sql_types::Integer, _>(attempt)
        .bind::<diesel::sql_types::Nullable<diesel::sql_types::Text>, _>(outcome.error.as_deref())
        .bind::<diesel::sql_types::Double, _>(wait.as_secs_f64())
        .bind::<diesel::sql_types::Double, _>(self.config.failing_after.as_secs_f64())
        .bind::<diesel::sql_types::Double, _>(self.config.disable_after.as_secs_f64())
        .get_result::<StateRow>(&mut conn)
        .await
        .optional()?
        .map(|r| r.state);
        if state.as_deref() == Some("disabled") {
            tracing::warn!(webhook = %sub.id, "webhook disabled: its deliveries kept failing");
        }
        Ok(false)
    }
}

#[derive(QueryableByName)]
struct StateRow {
    #[diesel(sql_type = diesel::sql_types::Text)]
    state: String,
}

/// The wait before attempt `attempt + 1`: `base`·2^(attempt−1), at most an
/// hour, within ±20 % (jitter, so receivers coming back are not hit by
/// every sender at once).
pub fn backoff(base: Duration, attempt: i32) -> Duration {
    let exp = u32::try_from(attempt.saturating_sub(1)).unwrap_or(0).min(30);
    let plain = base.saturating_mul(1u32 << exp.min(20)).min(RETRY_CAP);
    plain.mul_f64(rand::thread_rng().gen_range(0.8..1.2))
}
