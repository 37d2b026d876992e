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
use diesel_async::{AsyncConnection, RunQueryDsl};
use hmac::{Hmac, Mac};
use rand::Rng;
use serde::Serialize;
use uuid::Uuid;

use super::events::{self, Event};
use super::filter::LiveFilter;
use crate::db::schema::{event_counter, webhook_deliveries, webhooks};
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

#[derive(Debug, Clone, Queryable, Selectable)]
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
                || o[0] >= 240
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return forbidden(IpAddr::V4(v4));
            }
            let s = v6.segments();
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00
                || (s[0] & 0xffc0) == 0xfe80
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
) -> QueryResult<()> {
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
        .execute(conn)
        .await
        .map(drop)
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
                "Seconds from an event's commit to its first delivery attempt",
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
                    // (retries are checked every second).
                    let _ = tokio::time::timeout(Duration::from_secs(1), wake.changed()).await;
                }
                Err(e) => {
                    tracing::debug!(error = %e, "no webhook claimed");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    }

    /// Leases a subscription with events to deliver and due, if any.
    async fn claim(&self) -> anyhow::Result<Option<(WebhookRow, Uuid)>> {
        let mut conn = self.pool.get().await?;
        let token = Uuid::new_v4();
        let now = Utc::now();
        let lease_until = now + chrono::Duration::from_std(LEASE)?;
        let claimed = conn
            .transaction::<_, diesel::result::Error, _>(async |c| {
                let last = event_counter::table.select(event_counter::last_seq).single_value().assume_not_null();
                let id: Option<Uuid> = webhooks::table
                    .filter(webhooks::state.ne("disabled"))
                    .filter(webhooks::next_attempt_at.le(now))
                    .filter(webhooks::lease_until.is_null().or(webhooks::lease_until.lt(now)))
                    .filter(webhooks::delivered_seq.lt(last))
                    .order(webhooks::next_attempt_at)
                    .select(webhooks::id)
                    .for_update()
                    .skip_locked()
                    .first(c)
                    .await
                    .optional()?;
                let Some(id) = id else { return Ok(None) };
                diesel::update(webhooks::table.find(id))
                    .set((webhooks::lease_token.eq(token), webhooks::lease_until.eq(lease_until)))
                    .returning(WebhookRow::as_returning())
                    .get_result(c)
                    .await
                    .optional()
            })
            .await?;
        Ok(claimed.map(|row| (row, token)))
    }

    /// Delivers the leased subscription's events in order until it is
    /// caught up, an attempt fails, or its turn is over.
    async fn serve(&self, (sub, token): (WebhookRow, Uuid)) -> anyhow::Result<()> {
        let started = Instant::now();
        let filter = LiveFilter::parse(&sub.filter).unwrap_or_default();
        let wanted_types: Vec<String> = sub.types.clone();
        let conn = self.pool.get().await?;
        let matcher = filter.resolve(&crate::store::parties::hierarchy(&conn).await?);
        drop(conn);
        let mut cursor = sub.delivered_seq;
        let mut attempts = sub.attempts;
        'turn: loop {
            let mut conn = self.pool.get().await?;
            let page = events::after(&mut conn, cursor, 100).await?;
            drop(conn);
            if page.is_empty() {
                break;
            }
            for ev in page {
                let wanted = (wanted_types.is_empty() || wanted_types.contains(&ev.kind))
                    && matcher.matches(&ev.kind, &ev.incident);
                if !wanted {
                    cursor = ev.seq;
                    continue;
                }
                if !self.deliver(&sub, token, &ev, &mut attempts, &mut cursor).await? {
                    return Ok(());
                }
                if started.elapsed() > TURN {
                    break 'turn;
                }
            }
        }
        let mut conn = self.pool.get().await?;
        diesel::update(webhooks::table.find(sub.id))
            .filter(webhooks::lease_token.eq(token))
            .set((
                webhooks::delivered_seq.eq(cursor),
                webhooks::lease_token.eq(None::<Uuid>),
                webhooks::lease_until.eq(None::<DateTime<Utc>>),
            ))
            .execute(&mut conn)
            .await?;
        Ok(())
    }

    /// One attempt of `ev`; true when delivered (and recorded, with the
    /// lease renewed), false when it failed or the lease was lost.
    async fn deliver(
        &self,
        sub: &WebhookRow,
        token: Uuid,
        ev: &Event,
        attempts: &mut i32,
        cursor: &mut i64,
    ) -> anyhow::Result<bool> {
        let message_id = format!("evt_{}", ev.seq);
        let attempt = *attempts + 1;
        if attempt == 1 {
            let lag = (Utc::now() - ev.sequenced_at).num_milliseconds().max(0) as f64 / 1000.0;
            self.lag.observe(lag);
        }
        let outcome = self.sender.send(&sub.url, &sub.secret, &message_id, &ev.body).await;
        let now = Utc::now();
        let mut conn = self.pool.get().await?;
        record_attempt(&mut conn, sub.id, &message_id, &ev.kind, Some(ev.seq), attempt, &outcome).await?;
        if outcome.ok() {
            self.outcomes.with_label_values(&["delivered"]).inc();
            *cursor = ev.seq;
            *attempts = 0;
            let renewed = diesel::update(webhooks::table.find(sub.id))
                .filter(webhooks::lease_token.eq(token))
                .set((
                    webhooks::delivered_seq.eq(ev.seq),
                    webhooks::attempts.eq(0),
                    webhooks::failing_since.eq(None::<DateTime<Utc>>),
                    webhooks::last_error.eq(None::<String>),
                    webhooks::last_success_at.eq(now),
                    webhooks::state.eq(diesel::dsl::sql::<diesel::sql_types::Text>(
                        "CASE WHEN state = 'failing' THEN 'active' ELSE state END",
                    )),
                    webhooks::lease_until.eq(now + chrono::Duration::from_std(LEASE)?),
                ))
                .execute(&mut conn)
                .await?;
            return Ok(renewed == 1);
        }
        self.outcomes.with_label_values(&["failed"]).inc();
        let failing_since = sub.failing_since.unwrap_or(now);
        let failing_for = (now - failing_since).to_std().unwrap_or_default();
        let (state, disabled_at) = if failing_for >= self.config.disable_after {
            ("disabled", Some(now))
        } else if failing_for >= self.config.failing_after {
            ("failing", None)
        } else {
            (sub.state.as_str(), None)
        };
        let next = now + chrono::Duration::from_std(backoff(self.config.retry_base, attempt))?;
        diesel::update(webhooks::table.find(sub.id))
            .filter(webhooks::lease_token.eq(token))
            .set((
                webhooks::delivered_seq.eq(*cursor),
                webhooks::attempts.eq(attempt),
                webhooks::failing_since.eq(failing_since),
                webhooks::last_error.eq(outcome.error.clone()),
                webhooks::next_attempt_at.eq(next),
                webhooks::state.eq(state),
                webhooks::disabled_at.eq(disabled_at),
                webhooks::lease_token.eq(None::<Uuid>),
                webhooks::lease_until.eq(None::<DateTime<Utc>>),
            ))
            .execute(&mut conn)
            .await?;
        if state == "disabled" {
            tracing::warn!(webhook = %sub.id, "webhook disabled after failing since {failing_since}");
        }
        Ok(false)
    }
}

/// The wait before attempt `attempt + 1`: `base`·2^(attempt−1), at most an
/// hour, within ±20 % (jitter, so receivers coming back are not hit by
/// every sender at once).
pub fn backoff(base: Duration, attempt: i32) -> Duration {
    let exp = u32::try_from(attempt.saturating_sub(1)).unwrap_or(0).min(30);
    let plain = base.saturating_mul(1u32 << exp.min(20)).min(RETRY_CAP);
    plain.mul_f64(rand::thread_rng().gen_range(0.8..1.2))
}
