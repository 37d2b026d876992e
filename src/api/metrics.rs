//! `GET /metrics`: Prometheus text exposition.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{web, Error, HttpResponse};
use prometheus::{Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts, Registry, TextEncoder};

use crate::api::state::AppState;
use crate::error::{ApiError, ApiResult};

/// The service's metrics.
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    pool: IntGaugeVec,
}

impl Metrics {
    pub fn new() -> Self {
        Self::with(Vec::new())
    }

    /// The service's metrics and these others.
    pub fn with(extra: Vec<Box<dyn prometheus::core::Collector>>) -> Self {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new("ceasefire_http_requests_total", "HTTP requests answered, by route, method and status"),
            &["route", "method", "status"],
        )
        .expect("valid metric");
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "ceasefire_http_request_duration_seconds",
                "Time to answer HTTP requests, by route and method",
            )
            .buckets(vec![0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0]),
            &["route", "method"],
        )
        .expect("valid metric");
        let pool = IntGaugeVec::new(
            Opts::new(
                "ceasefire_db_pool_connections",
                "Database pool connections: in_use, idle, waiting (requests queued for one), max",
            ),
            &["state"],
        )
        .expect("valid metric");
        for c in [
            Box::new(requests.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(latency.clone()),
            Box::new(pool.clone()),
            Box::new(prometheus::process_collector::ProcessCollector::for_self()),
        ]
        .into_iter()
        .chain(extra)
        {
            registry.register(c).expect("metrics register once");
        }
        Self { registry, requests, latency, pool }
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

/// Counts and times every request under its route pattern (not its path,
/// so ids do not explode the label set).
pub async fn record(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let started = Instant::now();
    let metrics = req.app_data::<web::Data<Metrics>>().cloned();
    let method = req.method().as_str().to_string();
    let res = next.call(req).await?;
    if let Some(m) = metrics {
        let route = res.request().match_pattern().unwrap_or_else(|| "unmatched".into());
        let status = res.status().as_u16().to_string();
        m.requests.with_label_values(&[&route, &method, &status]).inc();
        m.latency.with_label_values(&[&route, &method]).observe(started.elapsed().as_secs_f64());
    }
    Ok(res)
}

/// Prometheus metrics: requests, latency, the database pool, totals.
///
/// A scrape computes nothing in the database: the totals
/// (`ceasefire_incidents`, `ceasefire_claims`) are refreshed in the
/// background every `CEASEFIRE_TOTALS_REFRESH` seconds (30 by default).
/// Rate limited like every other read.
#[utoipa::path(get, path = "/metrics", tag = "operations", operation_id = "metrics",
    responses(
        (status = 200, description = "Prometheus text exposition format", content_type = "text/plain; version=0.0.4", body = String),
        (status = 429, description = "Over the rate limit; see Retry-After", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
pub async fn metrics(state: web::Data<AppState>, metrics: web::Data<Metrics>) -> ApiResult<HttpResponse> {
    let status = state.pool.status();
    metrics.pool.with_label_values(&["in_use"]).set((status.size - status.available) as i64);
    metrics.pool.with_label_values(&["idle"]).set(status.available as i64);
    metrics.pool.with_label_values(&["waiting"]).set(status.waiting as i64);
    metrics.pool.with_label_values(&["max"]).set(status.max_size as i64);
    let mut out = Vec::new();
    TextEncoder::new().encode(&metrics.registry.gather(), &mut out).map_err(ApiError::internal)?;
    Ok(HttpResponse::Ok().content_type("text/plain; version=0.0.4; charset=utf-8").body(out))
}
