//! Building and running the HTTP server; shared by `main` and the tests.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::{web, App, HttpServer};
use anyhow::Context;
use tracing_actix_web::TracingLogger;

use crate::api;
use crate::api::coalesce::Coalescer;
use crate::config::{DatabaseArgs, HttpArgs};
use crate::db;
use crate::db::replica::Replica;

pub use crate::api::state::AppState;

pub struct Application {
    port: u16,
    server: Server,
}

impl Application {
    /// Migrates the database, then binds. `bind` may use port 0.
    pub async fn build(bind: std::net::SocketAddr, database: &DatabaseArgs, http: &HttpArgs) -> anyhow::Result<Self> {
        let url = db::resolve_url(database)?;
        let applied = db::run_migrations_blocking(&url)?;
        if !applied.is_empty() {
            tracing::info!(migrations = ?applied, "applied migrations");
        }
        let pool = db::build_pool(&url, database)?;
        let (cursor_key, rolled_up_zones, known_zones, last_seq) = {
            let mut conn = pool.get().await.context("connecting to PostgreSQL")?;
            let key = crate::api::cursor::CursorKey::new(crate::store::secrets::cursor(&mut conn).await?);
            let rolled_up = Arc::new(std::sync::RwLock::new(crate::store::rollup::zones(&mut conn).await?));
            let known = Arc::new(crate::store::rollup::known_zones(&mut conn).await?.into_iter().collect());
            (key, rolled_up, known, crate::live::events::last_seq(&mut conn).await?)
        };
        // Live delivery: one listener (sequencer and fan-out) and the
        // webhook workers.
        let hub = crate::live::hub::Hub::new(last_seq)?;
        // With a replica, nothing is remembered (see `answers`).
        let remember = database.database_read_url.as_deref().is_none_or(str::is_empty);
        let answers =
            Arc::new(crate::api::answers::Answers::new(http.cache_mb, remember, &http.edge(), hub.commits.clone())?);
        answers.start(url.clone());
        tokio::spawn(crate::live::hub::run(hub.clone(), pool.clone(), url.clone()));
        tokio::spawn(crate::live::hub::keep_purging(
            pool.clone(),
            Duration::from_secs(u64::from(http.events_retention_days) * 86_400),
        ));
        let delivery = http.delivery();
        let sender = crate::live::webhooks::Sender::new(&delivery)?;
        let (outcomes, lag) = crate::live::webhooks::Deliverer::metrics()?;
        crate::live::webhooks::Deliverer {
            pool: pool.clone(),
            sender: sender.clone(),
            config: delivery.clone(),
            wake: hub.watch(),
            outcomes: outcomes.clone(),
            lag: lag.clone(),
        }
        .start();
        // A replica that does not answer quickly is skipped, not waited for.
        let replica = match database.database_read_url.as_deref().filter(|u| !u.is_empty()) {
            Some(read_url) => {
                let wait = Duration::from_millis(database.pool_timeout_ms.min(500));
                tracing::info!("lists, exports and counts may be read from the replica");
                Some(Arc::new(Replica::new(db::build_pool_waiting(read_url, database, wait)?)))
            }
            None => None,
        };
        let listener = TcpListener::bind(bind).with_context(|| format!("binding {bind}"))?;
        let port = listener.local_addr()?.port();
        let stats_flights = Arc::new(Coalescer::new(
            "ceasefire_stats_requests_total",
            "Counts asked for, by whether they ran a query or shared an identical one's",
        ));
        let folded = prometheus::IntCounter::new(
            "ceasefire_stats_folded_total",
            "Changes (of incidents or of claims, whichever queue was longer in each step) folded into the rollups of the counts by this instance",
        )?;
        tokio::spawn(crate::store::rollup::keep_folding(pool.clone(), folded.clone(), Duration::from_secs(1)));
        let incidents = prometheus::IntGauge::new("ceasefire_incidents", "Incidents recorded and not deleted")?;
        let claims = prometheus::IntGauge::new("ceasefire_claims", "Claims on incidents that are not deleted")?;
        tokio::spawn(
            crate::upkeep::Upkeep {
                pool: pool.clone(),
                incidents: incidents.clone(),
                claims: claims.clone(),
                rolled_up_zones: rolled_up_zones.clone(),
                idempotency_ttl: Duration::from_secs(http.idempotency_ttl),
                every: Duration::from_secs(http.totals_refresh),
            }
            .run(),
        );
        let state = AppState {
            pool,
            body_limit: http.body_limit,
            private_reads: http.private_reads,
            replica,
            stats_flights,
            folded,
            batch_slots: Arc::new(tokio::sync::Semaphore::new(http.batch_concurrency.into())),
            cursor_key,
            max_buckets: usize::try_from(http.max_buckets).unwrap_or(usize::MAX),
            expensive: Arc::new(crate::api::expensive::ExpensiveReads::new(
                http.expensive_reads.into(),
                http.expensive_reads_per_client.into(),
            )),
            count_slots: Arc::new(crate::api::expensive::ExpensiveReads::counts(database.pool_size / 2, 8)),
            trusted_proxies: Arc::new(crate::api::client::TrustedProxies::new(
                http.trusted_proxies.clone(),
                http.forwarded_header,
            )),
            rolled_up_zones,
            body_timeout: Duration::from_secs(http.request_timeout),
            readiness: Default::default(),
            body_budget: Arc::new(tokio::sync::Semaphore::new(http.bodies_mb as usize * 1024)),
            bodies_kib: http.bodies_mb.saturating_mul(1024),
            known_zones,
            hub: hub.clone(),
            streams: Arc::new(crate::api::expensive::ExpensiveReads::streams(
                http.streams as usize,
                http.streams_per_client as usize,
            )),
            sender,
            delivery,
            events_retention_days: http.events_retention_days,
            answers: answers.clone(),
        };
        let server = serve(
            listener,
            state,
            http,
            vec![
                Box::new(incidents),
                Box::new(claims),
                Box::new(hub.streams.clone()),
                Box::new(outcomes),
                Box::new(lag),
            ],
        )?;
        tracing::info!(address = %listener_addr(bind, port), "listening");
        Ok(Self { port, server })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Runs until SIGTERM or SIGINT, then stops accepting connections and
    /// lets in-flight requests finish (up to the shutdown timeout).
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let handle = self.server.handle();
        tokio::spawn(async move {
            shutdown_signal().await;
            tracing::info!("shutting down: finishing in-flight requests");
            handle.stop(true).await;
        });
        self.server.await
    }
}

async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

fn listener_addr(bind: std::net::SocketAddr, port: u16) -> std::net::SocketAddr {
    std::net::SocketAddr::new(bind.ip(), port)
}

fn serve(
    listener: TcpListener,
    state: AppState,
    http: &HttpArgs,
    totals: Vec<Box<dyn prometheus::core::Collector>>,
) -> anyhow::Result<Server> {
    let body_limit = http.body_limit;
    let limiter = web::Data::new(api::middleware::RateLimiter::new(http.rate_limit, http.rate_burst));
    let cors_origins = http.cors_origins.clone();
    let mut extra: Vec<Box<dyn prometheus::core::Collector>> =
        state.replica.iter().map(|r| Box::new(r.metric()) as Box<dyn prometheus::core::Collector>).collect();
    extra.push(Box::new(state.stats_flights.metric()));
    extra.push(Box::new(state.folded.clone()));
    extra.extend(state.answers.metrics());
    extra.extend(totals);
    let metrics = web::Data::new(api::metrics::Metrics::with(extra));
    let mut server = HttpServer::new(move || {
        App::new()
            .wrap(actix_web::middleware::from_fn(api::answers::remember))
            .wrap(actix_web::middleware::from_fn(api::middleware::head_as_get))
            .wrap(actix_web::middleware::from_fn(api::middleware::note_writes))
            .wrap(api::middleware::problem_for_every_error())
            .wrap(actix_web::middleware::from_fn(api::middleware::rate_limit))
            .wrap(actix_web::middleware::from_fn(api::middleware::limit_head))
            .wrap(actix_web::middleware::from_fn(api::metrics::record))
            .wrap(actix_web::middleware::from_fn(api::middleware::security_headers))
            .wrap(api::middleware::cors(&cors_origins))
            .wrap(actix_web::middleware::from_fn(api::middleware::request_id_header))
            .wrap(TracingLogger::default())
            .app_data(web::Data::new(state.clone()))
            .app_data(limiter.clone())
            .app_data(metrics.clone())
            .app_data(web::PayloadConfig::new(body_limit))
            .app_data(api::extract::query_config())
            .app_data(api::extract::path_config())
            .configure(api::routes)
    })
    .listen(listener)?
    .disable_signals()
    .shutdown_timeout(http.shutdown_timeout);
    if let Some(workers) = http.workers {
        server = server.workers(workers);
    }
    // Keep-alive long enough for dashboard pollers and load balancers. A
    // request's head must arrive within 5 s (or the request timeout, if
    // shorter): a slow head holds a connection for nothing (408 after).
    server = server
        .keep_alive(Duration::from_secs(75))
        .client_request_timeout(Duration::from_secs(http.request_timeout.min(5)));
    Ok(server.run())
}
