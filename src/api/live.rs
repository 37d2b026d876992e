//! `/v1/events` (server-sent events) and `/v1/webhooks` (signed delivery):
//! the record's changes as they commit.

use std::sync::Arc;
use std::time::Duration;

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use bytes::Bytes;
use chrono::{DateTime, Utc};
use diesel_async::AsyncConnection;
use serde::{Deserialize, Serialize};
use tokio::sync::{broadcast, mpsc};
use utoipa::ToSchema;
use uuid::Uuid;

use super::auth::{AsAdmin, CanRead};
use super::common::{idempotency, Written};
use super::expensive::{client_of, ExpensivePermit};
use super::extract::{clip, JsonValue, QueryParams};
use super::state::AppState;
use crate::db::DbPool;
use crate::domain::json::from_value;
use crate::error::{ApiError, ApiResult, Problem};
use crate::live::events::{self, Event, EventType};
use crate::live::filter::{LiveFilter, Matcher};
use crate::live::hub::Hub;
use crate::live::webhooks::{self, DeliveryRow, WebhookChanges, WebhookRow};

/// Seconds between heartbeat comments on an idle stream.
const HEARTBEAT: Duration = Duration::from_secs(15);

fn parse_seq(s: &str) -> Result<i64, String> {
    s.trim().parse::<i64>().ok().filter(|n| *n >= 0).ok_or_else(|| format!("`{}` is not a seq (0 or more)", clip(s)))
}

/// Stream the record's changes (server-sent events).
///
/// Each event is `id: <seq>` and `data: {"seq", "type", "at", "incident",
/// "claim"?}` (no `event:` field: `EventSource.onmessage` gets them all,
/// `type` is in the data), in `seq` order. Without `after` or
/// `Last-Event-ID` the stream starts with the next change; with one of
/// them it first replays every kept event after that seq (events are kept
/// for 30 days by default), so a client that reconnects with the last
/// `id` it saw misses nothing and gets nothing twice (410 when events
/// after it were purged already, 400 when it is beyond the last event). A
/// comment line (`: heartbeat`) comes every 15 s. Filters are
/// those of the incident list, matched against the incident as each event
/// shows it (`place` by slug or by the location's name); `q`,
/// `updated_since` and `include_deleted` are not filters of events. Each
/// instance holds one database connection for all its streams; a client
/// may keep 20 streams open at once per instance
/// (`CEASEFIRE_STREAMS_PER_CLIENT`), an instance 10,000
/// (`CEASEFIRE_STREAMS`).
#[utoipa::path(
    operation_id = "streamEvents", get, path = "/v1/events", tag = "live",
    params(
        ("after" = Option<i64>, Query, description = "Replay the events after this seq first", minimum = 0),
        ("Last-Event-ID" = Option<String>, Header, description = "As `after` (sent by `EventSource` when it reconnects); wins over `after`"),
        ("types" = Option<Vec<EventType>>, Query, description = "Event types; repeat or comma-separate (default: all)", explode = true),
        crate::api::filters::RangeParams,
        crate::api::filters::IncidentFilterParams,
    ),
    responses(
        (status = 200, description = "The stream: `id:` lines carry the seq, `data:` lines one event each (JSON, one line)", content_type = "text/event-stream", body = String,
            example = json!("retry: 3000\n\nid: 42\ndata: {\"seq\":42,\"type\":\"claim.created\",\"at\":\"2026-07-14T04:10:00.000000Z\",\"incident\":{\"id\":\"…\"},\"claim\":{\"id\":\"…\"}}\n\n: heartbeat\n\n")),
        (status = 400, description = "Invalid query, or `after`/`Last-Event-ID` beyond the last event", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "Events after `after`/`Last-Event-ID` were purged (past their retention)", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "This client has its streams open on this instance already (20 by default), or the instance all it serves", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn stream(state: web::Data<AppState>, _read: CanRead, req: HttpRequest) -> ApiResult<HttpResponse> {
    let mut q = QueryParams::from_request(&req)?;
    let after = q.one_with("after", parse_seq)?;
    let filter = LiveFilter::read(&mut q)?;
    q.finish()?;
    let last_event_id = match req.headers().get("last-event-id") {
        None => None,
        Some(v) => Some(
            v.to_str()
                .map_err(|_| "not a seq".to_string())
                .and_then(parse_seq)
                .map_err(|e| ApiError::bad_request(format!("Last-Event-ID: {e}")))?,
        ),
    };
    let permit = state.streams.acquire(client_of(&req)).await?;
    let hub = state.hub.clone();
    let (start, matcher) = {
        let mut conn = state.pool.get().await?;
        let start = match last_event_id.or(after) {
            None => hub.last(),
            Some(after) => {
                let (oldest, last) = events::bounds(&mut conn).await?;
                if after > last {
                    return Err(ApiError::bad_request(format!(
                        "no event {after} yet: the last one is {last} (a seq of another deployment?)"
                    )));
                }
                if after < last && oldest.is_none_or(|o| o > after + 1) {
                    return Err(ApiError::gone(format!(
                        "events after {after} were purged (they are kept {} days); the oldest kept is {}: \
                         catch up with GET /v1/incidents?updated_since=… and stream from now",
                        state.events_retention_days,
                        oldest.map_or_else(|| "none".to_string(), |o| o.to_string()),
                    )));
                }
                after
            }
        };
        (start, filter.matcher(&mut conn).await?)
    };
    let (tx, rx) = mpsc::channel::<Bytes>(64);
    tokio::spawn(pump(state.pool.clone(), hub, matcher, start, tx, permit));
    let body = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|chunk| (Ok::<_, actix_web::Error>(chunk), rx))
    });
    Ok(HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header(("x-accel-buffering", "no"))
        .streaming(body))
}

fn frame(e: &Event) -> Bytes {
    Bytes::from(format!("id: {}\ndata: {}\n\n", e.seq, e.body))
}

/// Feeds one stream: what the table holds after `last`, then what the hub
/// fans out, reading the table again when this stream fell behind.
async fn pump(
    pool: DbPool,
    hub: Arc<Hub>,
    matcher: Matcher,
    mut last: i64,
    tx: mpsc::Sender<Bytes>,
    _permit: ExpensivePermit,
) {
    struct Open<'a>(&'a prometheus::IntGauge);
    impl Drop for Open<'_> {
        fn drop(&mut self) {
            self.0.dec();
        }
    }
    hub.streams.inc();
    let _open = Open(&hub.streams);
    let mut rx = hub.subscribe();
    // Reconnections after a restart spread over a few seconds.
    let retry = format!("retry: {}\n\n", rand::Rng::gen_range(&mut rand::thread_rng(), 2000..5000));
    if tx.send(Bytes::from(retry)).await.is_err() {
        return;
    }
    if !catch_up(&pool, &matcher, &mut last, &tx).await {
        return;
    }
    let mut beat = tokio::time::interval_at(tokio::time::Instant::now() + HEARTBEAT, HEARTBEAT);
    loop {
        tokio::select! {
            r = rx.recv() => match r {
                Ok(e) => {
                    if e.seq > last {
                        last = e.seq;
                        if matcher.matches(&e.kind, &e.incident) && !send(&tx, frame(&e)).await {
                            return;
                        }
                    }
                }
                Err(broadcast::error::RecvError::Lagged(_)) => {
                    if !catch_up(&pool, &matcher, &mut last, &tx).await {
                        return;
                    }
                }
                Err(broadcast::error::RecvError::Closed) => return,
            },
            _ = beat.tick() => {
                if !send(&tx, Bytes::from_static(b": heartbeat\n\n")).await {
                    return;
                }
            }
            _ = tx.closed() => return,
        }
    }
}

/// How long a stream waits for its client to read on before it ends (and
/// gives back its permit): a client that stops reading but keeps the
/// socket open must not hold a stream forever.
const STALLED: Duration = Duration::from_secs(60);

/// Sends a chunk; false when the client is gone or stalled.
async fn send(tx: &mpsc::Sender<Bytes>, chunk: Bytes) -> bool {
    tx.send_timeout(chunk, STALLED).await.is_ok()
}

/// Sends the stored events after `last`; false when the client is gone or
/// the database is not there (the stream ends; the client reconnects).
async fn catch_up(pool: &DbPool, matcher: &Matcher, last: &mut i64, tx: &mpsc::Sender<Bytes>) -> bool {
    loop {
        let page = match pool.get().await {
            Ok(mut conn) => events::after(&mut conn, *last, 500).await,
            Err(_) => return false,
        };
        let Ok(page) = page else { return false };
        let full = page.len() == 500;
        for e in page {
            *last = e.seq;
            if matcher.matches(&e.kind, &e.incident) && !send(tx, frame(&e)).await {
                return false;
            }
        }
        if !full {
            return true;
        }
    }
}

/// A webhook subscription.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookView {
    pub id: Uuid,
    /// Where events are posted.
    #[schema(example = "https://alerts.example.org/ceasefire")]
    pub url: String,
    pub description: Option<String>,
    /// Incident filters as a query string, in the vocabulary of
    /// `GET /v1/incidents` (empty: every incident).
    #[schema(example = "accuser_side=azerbaijan&type=artillery_fire")]
    pub filter: String,
    /// Event types wanted (empty: all).
    pub types: Vec<String>,
    /// `active`; `failing` once deliveries have failed for 24 hours (still
    /// retried, at most an hour apart); `disabled` after 3 days of failure
    /// or when turned off (nothing is sent; `PATCH {"enabled": true}`
    /// resumes from the first event not delivered).
    #[schema(example = "active")]
    pub state: String,
    /// Every event up to this seq was delivered or did not match.
    pub delivered_seq: i64,
    /// Failed attempts of the event delivery stopped at (0 when healthy).
    pub attempts: i32,
    /// When the next attempt is due, while failing.
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// Since when deliveries have failed without a success between.
    pub failing_since: Option<DateTime<Utc>>,
    /// Why the last attempt failed, while failing.
    pub last_error: Option<String>,
    pub last_success_at: Option<DateTime<Utc>>,
    pub disabled_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The signing secret (`whsec_…`): only in the answer to the POST that
    /// creates the subscription. Keep it; it cannot be read again.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

fn view(row: WebhookRow, secret: bool) -> WebhookView {
    WebhookView {
        id: row.id,
        url: row.url,
        description: row.description,
        filter: row.filter,
        types: row.types,
        next_attempt_at: (row.attempts > 0 && row.state != "disabled").then_some(row.next_attempt_at),
        state: row.state,
        delivered_seq: row.delivered_seq,
        attempts: row.attempts,
        failing_since: row.failing_since,
        last_error: row.last_error,
        last_success_at: row.last_success_at,
        disabled_at: row.disabled_at,
        created_at: row.created_at,
        updated_at: row.updated_at,
        secret: secret.then_some(row.secret),
    }
}

/// A new subscription.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewWebhook {
    /// An http or https URL on a public address (loopback, private and
    /// link-local targets are refused unless the server allows them with
    /// `CEASEFIRE_WEBHOOK_ALLOW_PRIVATE=true`). Redirects are not followed.
    #[schema(example = "https://alerts.example.org/ceasefire")]
    pub url: String,
    /// Event types wanted (default: all).
    #[serde(default)]
    pub types: Vec<EventType>,
    /// Incident filters as a query string, as `GET /v1/incidents` takes
    /// them (`tz` for bare dates; not `q`, `updated_since` or
    /// `include_deleted`).
    #[serde(default)]
    #[schema(example = "accuser_side=azerbaijan&type=artillery_fire")]
    pub filter: Option<String>,
    /// Up to 500 characters.
    #[serde(default)]
    pub description: Option<String>,
}

fn no_webhook(id: &str) -> ApiError {
    ApiError::not_found(format!("no webhook {}", clip(id)))
}

fn webhook_id(raw: &str) -> ApiResult<Uuid> {
    Uuid::parse_str(raw).map_err(|_| no_webhook(raw))
}

fn check_filter(filter: &str) -> ApiResult<String> {
    let filter = filter.trim().trim_start_matches('?').to_string();
    if filter.len() > 2000 {
        return Err(ApiError::field("/filter", "at most 2,000 characters"));
    }
    LiveFilter::parse(&filter).map_err(|e| ApiError::field("/filter", e.detail))?;
    Ok(filter)
}

fn check_description(d: Option<String>) -> ApiResult<Option<String>> {
    match d {
        Some(d) if d.chars().count() > 500 => Err(ApiError::field("/description", "at most 500 characters")),
        Some(d) if d.trim().is_empty() => Ok(None),
        d => Ok(d),
    }
}

fn type_names(types: &[EventType]) -> Vec<String> {
    let mut names: Vec<String> = types.iter().map(|t| t.as_str().to_string()).collect();
    names.sort();
    names.dedup();
    names
}

/// Subscribe a URL to events (admin).
///
/// Deliveries follow the Standard Webhooks specification: a POST of the
/// event's JSON (as the stream's `data`) with `webhook-id` (`evt_<seq>`,
/// the same on every retry), `webhook-timestamp` (Unix seconds) and
/// `webhook-signature` (`v1,` and the base64 HMAC-SHA256 of
/// `id.timestamp.body`, keyed by the secret's base64-decoded bytes after
/// `whsec_`). Any 2xx within the timeout (`CEASEFIRE_WEBHOOK_TIMEOUT`,
/// 10 s by default) is a delivery; anything else is retried with
/// exponential backoff (from `CEASEFIRE_WEBHOOK_RETRY_BASE_MS`, 5 s by
/// default, doubling, at most an hour apart, ±20 %), and later events wait:
/// each subscription gets every event at least once (a repeat carries the
/// same `webhook-id`), in `seq` order, from the first change after it was
/// created.
#[utoipa::path(
    operation_id = "createWebhook", post, path = "/v1/webhooks", tag = "live", request_body = NewWebhook,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe: the same key and body replay the first answer (without the secret)")),
    responses(
        (status = 201, description = "Subscribed; `secret` is shown this once", body = WebhookView, headers(("Location" = String))),
        (status = 422, description = "Invalid body (a refused target, an unknown filter)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn create(
    state: web::Data<AppState>,
    req: HttpRequest,
    AsAdmin(actor): AsAdmin,
    body: JsonValue,
) -> ApiResult<HttpResponse> {
    let new: NewWebhook = from_value(body.0.clone())?;
    let url = webhooks::check_target(&new.url, state.delivery.allow_private)
        .await
        .map_err(|e| ApiError::field("/url", e))?
        .to_string();
    let filter = check_filter(new.filter.as_deref().unwrap_or(""))?;
    let description = check_description(new.description)?;
    let idem = idempotency(&req, &actor, &body.0)?;
    let mut conn = state.pool.get().await?;
    let outcome = conn
        .transaction::<_, ApiError, _>(async |conn| {
            if let Some(replay) = idem.begin(conn).await? {
                return Ok(replay);
            }
            let now = crate::store::now();
            let delivered_seq = events::last_seq(conn).await?;
            let row = webhooks::insert(
                conn,
                &webhooks::NewWebhookRow {
                    id: Uuid::now_v7(),
                    url,
                    description,
                    filter,
                    types: type_names(&new.types),
                    secret: webhooks::new_secret(),
                    created_by: actor.key_id.clone(),
                    created_at: now,
                    updated_at: now,
                    delivered_seq,
                },
            )
            .await?;
            let body = serde_json::to_value(view(row.clone(), true)).map_err(ApiError::internal)?;
            let mut written = Written::created(format!("/v1/webhooks/{}", row.id), None, &body)?;
            let replay = serde_json::to_value(view(row, false)).map_err(ApiError::internal)?;
            written.replay_body = Some(serde_json::to_vec(&replay).map_err(ApiError::internal)?);
            idem.finish(conn, written).await
        })
        .await?;
    Ok(outcome.into_response())
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookList {
    /// Oldest first.
    pub data: Vec<WebhookView>,
}

/// List webhook subscriptions (admin).
#[utoipa::path(
    operation_id = "listWebhooks", get, path = "/v1/webhooks", tag = "live",
    responses((status = 200, description = "Every subscription, without secrets", body = WebhookList)),
    security(("bearer" = [])))]
pub async fn list(state: web::Data<AppState>, _admin: AsAdmin) -> ApiResult<HttpResponse> {
    let mut conn = state.pool.get().await?;
    let rows = webhooks::list(&mut conn).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(WebhookList { data: rows.into_iter().map(|r| view(r, false)).collect() }))
}

/// One webhook subscription, with its delivery state (admin).
#[utoipa::path(
    operation_id = "getWebhook", get, path = "/v1/webhooks/{id}", tag = "live",
    params(("id" = Uuid, Path, description = "The subscription's id")),
    responses(
        (status = 200, description = "The subscription", body = WebhookView),
        (status = 404, description = "No such subscription", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn get(state: web::Data<AppState>, _admin: AsAdmin, id: web::Path<String>) -> ApiResult<HttpResponse> {
    let id = webhook_id(&id)?;
    let mut conn = state.pool.get().await?;
    let row = webhooks::get(&mut conn, id).await?.ok_or_else(|| no_webhook(&id.to_string()))?;
    Ok(HttpResponse::Ok().insert_header((header::CACHE_CONTROL, "no-store")).json(view(row, false)))
}

/// Change a subscription (admin; JSON merge patch).
///
/// `url`, `types`, `filter` and `description` as in the POST; `enabled`:
/// `false` stops deliveries, `true` resumes a disabled or failing one at
/// once, from the first event it has not delivered.
#[utoipa::path(
    operation_id = "patchWebhook", patch, path = "/v1/webhooks/{id}", tag = "live",
    params(("id" = Uuid, Path, description = "The subscription's id")),
    request_body(content = Object, content_type = "application/merge-patch+json", description = "Fields to change, and `enabled`",
        example = json!({"enabled": true, "filter": "accuser_side=azerbaijan"})),
    responses(
        (status = 200, description = "The changed subscription", body = WebhookView),
        (status = 404, description = "No such subscription", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid patch", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn patch(
    state: web::Data<AppState>,
    _admin: AsAdmin,
    id: web::Path<String>,
    body: JsonValue,
) -> ApiResult<HttpResponse> {
    let id = webhook_id(&id)?;
    let Some(fields) = body.0.as_object() else {
        return Err(ApiError::field("", "a merge patch is a JSON object"));
    };
    let mut changes =
        WebhookChanges { url: None, description: None, filter: None, types: None, updated_at: Utc::now() };
    let mut enabled = None;
    for (k, v) in fields {
        let at = format!("/{k}");
        match (k.as_str(), v) {
            ("url", serde_json::Value::String(u)) => {
                let u = webhooks::check_target(u, state.delivery.allow_private)
                    .await
                    .map_err(|e| ApiError::field(&at, e))?;
                changes.url = Some(u.to_string());
            }
            ("filter", serde_json::Value::Null) => changes.filter = Some(String::new()),
            ("filter", serde_json::Value::String(f)) => changes.filter = Some(check_filter(f)?),
            ("description", serde_json::Value::Null) => changes.description = Some(None),
            ("description", serde_json::Value::String(d)) => {
                changes.description = Some(check_description(Some(d.clone()))?)
            }
            ("types", serde_json::Value::Null) => changes.types = Some(Vec::new()),
            ("types", v @ serde_json::Value::Array(_)) => {
                let types: Vec<EventType> = crate::domain::json::from_value_at(v.clone(), "/types")
                    .map_err(|e| ApiError::validation(vec![e]))?;
                changes.types = Some(type_names(&types));
            }
            ("enabled", serde_json::Value::Bool(b)) => enabled = Some(*b),
            ("url" | "filter" | "description" | "types" | "enabled", _) => {
                return Err(ApiError::field(&at, "wrong type; see the schema of NewWebhook (and `enabled`, a boolean)"))
            }
            _ => {
                return Err(ApiError::field(
                    &at,
                    "unknown field: url, types, filter, description and enabled can change",
                ))
            }
        }
    }
    let mut conn = state.pool.get().await?;
    let row = conn
        .transaction::<_, ApiError, _>(async |conn| {
            let Some(mut row) = webhooks::update(conn, id, &changes).await? else {
                return Err(no_webhook(&id.to_string()));
            };
            if let Some(enabled) = enabled {
                row = webhooks::set_enabled(conn, id, enabled).await?.ok_or_else(|| no_webhook(&id.to_string()))?;
            }
            Ok(row)
        })
        .await?;
    Ok(HttpResponse::Ok().insert_header((header::CACHE_CONTROL, "no-store")).json(view(row, false)))
}

/// Delete a subscription and its delivery records (admin).
#[utoipa::path(
    operation_id = "deleteWebhook", delete, path = "/v1/webhooks/{id}", tag = "live",
    params(("id" = Uuid, Path, description = "The subscription's id")),
    responses(
        (status = 204, description = "Deleted; nothing more is sent"),
        (status = 404, description = "No such subscription", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn delete(state: web::Data<AppState>, _admin: AsAdmin, id: web::Path<String>) -> ApiResult<HttpResponse> {
    let id = webhook_id(&id)?;
    let mut conn = state.pool.get().await?;
    if !webhooks::delete(&mut conn, id).await? {
        return Err(no_webhook(&id.to_string()));
    }
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryList {
    /// Newest first.
    pub data: Vec<DeliveryRow>,
}

/// Delivery attempts of a subscription, newest first (admin).
#[utoipa::path(
    operation_id = "listWebhookDeliveries", get, path = "/v1/webhooks/{id}/deliveries", tag = "live",
    params(
        ("id" = Uuid, Path, description = "The subscription's id"),
        ("limit" = Option<i64>, Query, description = "1 to 1000, default 50", minimum = 1, maximum = 1000),
    ),
    responses(
        (status = 200, description = "Attempts with their status codes and latency", body = DeliveryList),
        (status = 404, description = "No such subscription", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn deliveries(
    state: web::Data<AppState>,
    _admin: AsAdmin,
    id: web::Path<String>,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    let id = webhook_id(&id)?;
    let mut q = QueryParams::from_request(&req)?;
    let limit = super::common::parse_limit(q.one("limit")?)?;
    q.finish()?;
    let mut conn = state.pool.get().await?;
    webhooks::get(&mut conn, id).await?.ok_or_else(|| no_webhook(&id.to_string()))?;
    let data = webhooks::deliveries(&mut conn, id, limit).await?;
    Ok(HttpResponse::Ok().insert_header((header::CACHE_CONTROL, "no-store")).json(DeliveryList { data }))
}

/// Send a signed ping to the subscription's URL now (admin).
///
/// The body is `{"type": "webhook.ping", "at", "webhook_id"}`, signed like
/// every delivery; the answer is the attempt, also listed among the
/// deliveries. A ping does not touch the delivery of events.
#[utoipa::path(
    operation_id = "testWebhook", post, path = "/v1/webhooks/{id}/test", tag = "live",
    params(("id" = Uuid, Path, description = "The subscription's id")),
    responses(
        (status = 200, description = "The attempt (`error` set when the receiver did not answer 2xx)", body = DeliveryRow),
        (status = 404, description = "No such subscription", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn test(state: web::Data<AppState>, _admin: AsAdmin, id: web::Path<String>) -> ApiResult<HttpResponse> {
    let id = webhook_id(&id)?;
    let mut conn = state.pool.get().await?;
    let row = webhooks::get(&mut conn, id).await?.ok_or_else(|| no_webhook(&id.to_string()))?;
    drop(conn);
    let message_id = format!("ping_{}", Uuid::now_v7().simple());
    let body = serde_json::json!({
        "type": "webhook.ping",
        "at": Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        "webhook_id": id,
    })
    .to_string();
    let attempt = state.sender.send(&row.url, &row.secret, &message_id, &body).await;
    let mut conn = state.pool.get().await?;
    let recorded = webhooks::record_attempt(&mut conn, id, &message_id, "webhook.ping", None, 1, &attempt)
        .await
        .map_err(|e| match e {
            // Deleted meanwhile.
            diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::ForeignKeyViolation, _) => {
                no_webhook(&id.to_string())
            }
            e => e.into(),
        })?;
    Ok(HttpResponse::Ok().insert_header((header::CACHE_CONTROL, "no-store")).json(recorded))
}
