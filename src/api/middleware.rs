//! Middleware that applies to every answer.

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::Method;
use actix_web::http::StatusCode;
use actix_web::middleware::{ErrorHandlerResponse, ErrorHandlers, Next};
use actix_web::{web, Error, HttpMessage, HttpResponse, ResponseError};

use super::client::ClientId;
use crate::api::state::AppState;
use crate::error::{ApiError, ProblemKind, PROBLEM_JSON};

/// Turns every error answer that is not already problem+json (actix's own
/// 404, 405, 413, extractor errors) into one, keeping its status and headers.
pub fn problem_for_every_error<B: MessageBody + 'static>() -> ErrorHandlers<B> {
    ErrorHandlers::new().default_handler(|res: ServiceResponse<B>| {
        let is_problem =
            res.headers().get(header::CONTENT_TYPE).is_some_and(|v| v.as_bytes().starts_with(PROBLEM_JSON.as_bytes()));
        if is_problem {
            return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
        }
        let status = res.status();
        let detail = match status {
            StatusCode::NOT_FOUND => format!("nothing at {}", truncate(res.request().path())),
            StatusCode::METHOD_NOT_ALLOWED => {
                format!("{} is not allowed on {}", res.request().method(), truncate(res.request().path()))
            }
            StatusCode::PAYLOAD_TOO_LARGE => "the request body is larger than this server accepts".to_string(),
            s if s.is_server_error() => {
                "an internal error occurred; quote the X-Request-Id response header when reporting it".into()
            }
            _ => res
                .response()
                .error()
                .map(|e| e.to_string())
                .unwrap_or_else(|| status.canonical_reason().unwrap_or("error").into()),
        };
        let kind = match status {
            StatusCode::NOT_FOUND => ProblemKind::NotFound,
            StatusCode::METHOD_NOT_ALLOWED => ProblemKind::MethodNotAllowed,
            StatusCode::PAYLOAD_TOO_LARGE => ProblemKind::PayloadTooLarge,
            StatusCode::URI_TOO_LONG => ProblemKind::UriTooLong,
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE => ProblemKind::HeadersTooLarge,
            StatusCode::REQUEST_TIMEOUT => ProblemKind::RequestTimeout,
            s if s.is_server_error() => ProblemKind::Internal,
            _ => ProblemKind::BadRequest,
        };
        let problem = ApiError::new(status, kind, detail);
        let (req, old) = res.into_parts();
        let mut new = HttpResponse::build(status);
        for (name, value) in old.headers() {
            if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
                new.append_header((name.clone(), value.clone()));
            }
        }
        let new = new.content_type(PROBLEM_JSON).json(problem.problem());
        Ok(ErrorHandlerResponse::Response(ServiceResponse::new(req, new).map_into_right_body()))
    })
}

fn truncate(s: &str) -> String {
    s.chars().take(200).collect()
}

/// The longest request target (path and query) accepted.
pub const MAX_URI: usize = 16 * 1024;
/// The largest header section accepted (names and values).
pub const MAX_HEADERS: usize = 32 * 1024;

/// Refuses, as problem+json, a request target or header section larger
/// than the API uses (414, 431). Heads beyond what the HTTP layer itself
/// buffers (128 KiB, 96 headers) are cut off there with a bare 431, before
/// any handler runs.
pub async fn limit_head<B: MessageBody>(
    req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<EitherBody<B>>, Error> {
    let uri = req.uri().path_and_query().map_or(0, |pq| pq.as_str().len());
    if uri > MAX_URI {
        return refuse(
            req,
            ApiError::new(
                StatusCode::URI_TOO_LONG,
                crate::error::ProblemKind::UriTooLong,
                format!("the request target is {uri} bytes; at most {MAX_URI} are accepted"),
            ),
        );
    }
    // Compressed request bodies are not taken: a few KiB of gzip would
    // inflate to the body limit in memory.
    let encoded =
        req.headers().get(header::CONTENT_ENCODING).is_some_and(|v| !v.as_bytes().eq_ignore_ascii_case(b"identity"));
    if encoded {
        return refuse(
            req,
            ApiError::unsupported_media_type(
                "request bodies are taken uncompressed; send them without Content-Encoding",
            ),
        );
    }
    let headers: usize = req.headers().iter().map(|(k, v)| k.as_str().len() + v.len() + 4).sum();
    if headers > MAX_HEADERS {
        return refuse(
            req,
            ApiError::new(
                StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
                crate::error::ProblemKind::HeadersTooLarge,
                format!("the headers are {headers} bytes; at most {MAX_HEADERS} are accepted"),
            ),
        );
    }
    next.call(req).await.map(ServiceResponse::map_into_left_body)
}

/// Answers `req` with `problem` itself rather than failing the service, so
/// the outer middleware still add the request id, the security headers and
/// the metrics.
fn refuse<B>(req: ServiceRequest, problem: ApiError) -> Result<ServiceResponse<EitherBody<B>>, Error> {
    Ok(req.into_response(problem.error_response()).map_into_right_body())
}

/// HEAD is answered as GET would be, without the body (the HTTP layer
/// remembers the request was HEAD and sends the headers only): caches and
/// monitors ask HEAD, and CORS allows it.
pub async fn head_as_get(
    mut req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    if req.method() == Method::HEAD {
        req.head_mut().method = Method::GET;
    }
    next.call(req).await
}

/// Echoes the request id that `TracingLogger` gave the request as
/// `X-Request-Id`, so a client can quote it and an operator find the logs.
pub async fn request_id_header(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let id = req.extensions().get::<tracing_actix_web::RequestId>().map(|id| id.to_string());
    let mut res = next.call(req).await?;
    if let Some(id) = id.and_then(|id| HeaderValue::from_str(&id).ok()) {
        res.headers_mut().insert(header::HeaderName::from_static("x-request-id"), id);
    }
    Ok(res)
}

/// After each successful write, before the answer leaves: voids the
/// remembered answers of every instance (see `answers`), and with a read
/// replica records where the primary's WAL stood (see `db::replica`).
pub async fn note_writes(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let write = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let res = next.call(req).await?;
    if let Some(state) = state.as_ref().filter(|_| write && res.status().is_success()) {
        state.answers.bump(&state.pool).await;
    }
    if let Some(state) = state.filter(|_| write && res.status().is_success()) {
        if let Some(replica) = &state.replica {
            replica.note_write(&state.pool).await;
        }
    }
    Ok(res)
}

/// Headers on every answer: no MIME sniffing, no framing, no referrer; and
/// answers to requests that carried a key are never stored by caches.
pub async fn security_headers(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let authenticated = req.headers().contains_key(header::AUTHORIZATION);
    let mut res = next.call(req).await?;
    let headers = res.headers_mut();
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    if authenticated {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    }
    Ok(res)
}

/// CORS: GET and HEAD from any origin (dashboards); every method from the
/// configured origins.
pub fn cors(origins: &[String]) -> actix_cors::Cors {
    let exposed = ["etag", "link", "location", "x-request-id", "retry-after", "idempotent-replayed"];
    let allowed_headers =
        [header::AUTHORIZATION, header::CONTENT_TYPE, header::IF_MATCH, header::IF_NONE_MATCH, header::ACCEPT];
    let origins: Vec<String> = origins.iter().map(|o| o.trim().to_string()).filter(|o| !o.is_empty()).collect();
    let base = actix_cors::Cors::default().expose_headers(exposed).max_age(3600);
    if origins.is_empty() {
        base.allow_any_origin().allowed_methods(["GET", "HEAD"]).allowed_headers(allowed_headers)
    } else {
        let mut cors = base
            .allowed_methods(["GET", "HEAD", "POST", "PATCH", "DELETE"])
            .allowed_headers(allowed_headers)
            .allowed_header(header::HeaderName::from_static("idempotency-key"));
        for origin in &origins {
            cors = cors.allowed_origin(origin);
        }
        cors
    }
}

/// Request rate limits: per API key, or per IP without a key. Requests
/// that carry a key also count against their IP at ten times the rate, so
/// inventing keys does not buy a client new budgets.
pub struct RateLimiter {
    limiter: Option<governor::DefaultKeyedRateLimiter<String>>,
    keyed_ip_limiter: Option<governor::DefaultKeyedRateLimiter<String>>,
}

impl RateLimiter {
    pub fn new(per_second: u32, burst: u32) -> Self {
        let keyed = |factor: u32| {
            std::num::NonZeroU32::new(per_second.saturating_mul(factor)).map(|rate| {
                let burst = std::num::NonZeroU32::new(burst.max(per_second).saturating_mul(factor)).unwrap_or(rate);
                governor::RateLimiter::keyed(governor::Quota::per_second(rate).allow_burst(burst))
            })
        };
        Self { limiter: keyed(1), keyed_ip_limiter: keyed(10) }
    }

    /// `Err(seconds to wait)` when the request is over a rate: its key's (or
    /// its IP's, without a key), and with a key its IP's at ten times that.
    fn check(&self, key: Option<&str>, ip: &str) -> Result<(), u64> {
        match key {
            Some(key) => {
                Self::check_in(self.keyed_ip_limiter.as_ref(), &format!("ip:{ip}"))?;
                Self::check_in(self.limiter.as_ref(), &format!("key:{key}"))
            }
            None => Self::check_in(self.limiter.as_ref(), &format!("ip:{ip}")),
        }
    }

    /// A request whose key was refused (401) costs its address ten more of
    /// the keyed budget: invented keys then buy about the anonymous rate,
    /// not ten times it.
    fn charge_refused_key(&self, ip: &str) {
        if let (Some(limiter), Some(n)) = (self.keyed_ip_limiter.as_ref(), std::num::NonZeroU32::new(10)) {
            let _ = limiter.check_key_n(&format!("ip:{ip}"), n);
        }
    }

    fn check_in(limiter: Option<&governor::DefaultKeyedRateLimiter<String>>, key: &str) -> Result<(), u64> {
        use governor::clock::Clock;
        let Some(limiter) = limiter else { return Ok(()) };
        if limiter.len() > 100_000 {
            limiter.retain_recent();
        }
        limiter.check_key(&key.to_string()).map_err(|not_until| {
            let wait = not_until.wait_time_from(governor::clock::DefaultClock::default().now());
            wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
        })
    }
}

/// Names the request's client (`ClientId`: its key, or its address as
/// `CEASEFIRE_TRUSTED_PROXIES` allow reading it) for every per-client
/// limit, then applies the rate limits. Only the health checks are exempt;
/// `/metrics` is limited like any read (it computes nothing per scrape).
pub async fn rate_limit<B: MessageBody>(
    req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<EitherBody<B>>, Error> {
    // The token's hash (the same whatever the header's spelling), so the
    // limiter holds no secrets and one key is one client.
    let key = req.headers().get(header::AUTHORIZATION).map(|v| {
        let raw = String::from_utf8_lossy(v.as_bytes());
        let token = super::auth::bearer_token(&raw).unwrap_or(raw.trim());
        hex::encode(&crate::domain::keys::hash(token)[..12])
    });
    let peer = req.peer_addr().map(|a| a.ip());
    let ip = match req.app_data::<web::Data<AppState>>() {
        Some(state) => state.trusted_proxies.client_ip(peer, req.headers()),
        None => peer,
    }
    .map(super::client::client_net)
    .unwrap_or_default();
    let client = match &key {
        Some(key) => format!("key:{key}"),
        None => format!("ip:{ip}"),
    };
    req.extensions_mut().insert(ClientId(client));
    let exempt = matches!(req.path(), "/healthz" | "/readyz");
    let limiter = req.app_data::<actix_web::web::Data<RateLimiter>>().cloned();
    if !exempt {
        if let Some(limiter) = &limiter {
            if let Err(wait) = limiter.check(key.as_deref(), &ip) {
                let err = ApiError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    crate::error::ProblemKind::TooManyRequests,
                    format!("slow down: retry in {wait} s"),
                )
                .with_header(header::RETRY_AFTER, &wait.max(1).to_string());
                return refuse(req, err);
            }
        }
    }
    let res = next.call(req).await?;
    if res.status() == StatusCode::UNAUTHORIZED && key.is_some() {
        if let Some(limiter) = &limiter {
            limiter.charge_refused_key(&ip);
        }
    }
    Ok(res.map_into_left_body())
}
