//! Database access: the connection pool, embedded migrations, the
//! generated schema and the project-local cluster.

pub mod local;
pub mod replica;
pub mod schema;

use std::time::Duration;

use anyhow::Context;
use diesel::Connection;
use diesel_async::async_connection_wrapper::AsyncConnectionWrapper;
use diesel_async::pooled_connection::deadpool::{Object, Pool};
use diesel_async::pooled_connection::{AsyncDieselConnectionManager, ManagerConfig, RecyclingMethod};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};
use futures_util::FutureExt;

use crate::config::DatabaseArgs;

pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

pub type DbPool = Pool<AsyncPgConnection>;
pub type DbConn = Object<AsyncPgConnection>;
pub type PoolError = diesel_async::pooled_connection::deadpool::PoolError;

impl From<PoolError> for crate::error::ApiError {
    fn from(e: PoolError) -> Self {
        tracing::warn!(error = %e, "no database connection");
        Self::unavailable("the database is unavailable; retry shortly")
    }
}

/// Resolves the database URL: the given one, or the project-local cluster
/// (created and started on first use).
pub fn resolve_url(args: &DatabaseArgs) -> anyhow::Result<String> {
    match &args.database_url {
        Some(url) if !url.is_empty() => Ok(url.clone()),
        _ => local::ensure_running(&args.local),
    }
}

/// The runtime whose tasks drive every pooled connection's socket.
///
/// A connection's socket is driven by a task on the runtime that opened it.
/// Each actix worker has a runtime of its own, and the pool is shared by all
/// of them: a worker that stops first (an idle one, during a graceful
/// shutdown) would take the connections it opened with it while the others
/// still draw them from the pool. Opening them here keeps them alive for the
/// whole process.
fn driver_runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: std::sync::OnceLock<tokio::runtime::Runtime> = std::sync::OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("db-connections")
            .enable_all()
            .build()
            .expect("starting the database connection runtime")
    })
}

/// Builds the pool. Every new connection gets the statement timeout, so no
/// query can hold a connection for long.
pub fn build_pool(url: &str, args: &DatabaseArgs) -> anyhow::Result<DbPool> {
    build_pool_waiting(url, args, Duration::from_millis(args.pool_timeout_ms))
}

/// Builds the pool with its own wait for a connection.
pub fn build_pool_waiting(url: &str, args: &DatabaseArgs, timeout: Duration) -> anyhow::Result<DbPool> {
    let statement_timeout = args.statement_timeout_ms;
    let mut config = ManagerConfig::default();
    // No test query on every checkout (a round trip per request): a
    // connection whose socket PostgreSQL closed is dropped as broken anyway.
    config.recycling_method = RecyclingMethod::Fast;
    config.custom_setup = Box::new(move |url| {
        let url = url.to_string();
        // JIT compiles a plan for every large query: hundreds of ms on a
        // count that runs in less, and no plan is reused across requests.
        let setup = async move {
            let mut conn = AsyncPgConnection::establish(&url).await?;
            conn.batch_execute(&format!(
                "SET statement_timeout = {statement_timeout}; SET TIME ZONE 'UTC'; SET jit = off"
            ))
            .await
            .map_err(|e| diesel::ConnectionError::BadConnection(e.to_string()))?;
            Ok(conn)
        };
        async move {
            driver_runtime()
                .spawn(setup)
                .await
                .map_err(|e| diesel::ConnectionError::BadConnection(format!("connecting: {e}")))?
        }
        .boxed()
    });
    let manager = AsyncDieselConnectionManager::<AsyncPgConnection>::new_with_config(url, config);
    Pool::builder(manager)
        .max_size(args.pool_size)
        .runtime(deadpool::Runtime::Tokio1)
        .wait_timeout(Some(timeout))
        .create_timeout(Some(timeout))
        .recycle_timeout(Some(timeout))
        .build()
        .context("building the database pool")
}

/// Applies pending migrations. Runs on a thread of its own: the sync
/// wrapper drives its own runtime there, which actix's current-thread
/// runtime cannot do for it.
pub fn run_migrations_blocking(url: &str) -> anyhow::Result<Vec<String>> {
    let url = url.to_string();
    std::thread::spawn(move || -> anyhow::Result<Vec<String>> {
        let mut conn = <AsyncConnectionWrapper<AsyncPgConnection> as Connection>::establish(&url)
            .context("connecting to PostgreSQL")?;
        // Instances started together take turns: the first applies what is
        // pending, the others then find nothing left to do. The lock is the
        // session's and ends with this connection.
        diesel::connection::SimpleConnection::batch_execute(&mut conn, "SELECT pg_advisory_lock(7273279461)")
            .context("waiting for other instances' migrations")?;
        let applied =
            conn.run_pending_migrations(MIGRATIONS).map_err(|e| anyhow::anyhow!("applying migrations: {e}"))?;
        Ok(applied.iter().map(|v| v.to_string()).collect())
    })
    .join()
    .map_err(|_| anyhow::anyhow!("the migration thread panicked"))?
}

/// True when every embedded migration is recorded as applied.
pub async fn migrations_applied(conn: &mut AsyncPgConnection) -> Result<bool, diesel::result::Error> {
    use diesel::sql_types::Text;
    #[derive(diesel::QueryableByName)]
    struct Version {
        #[diesel(sql_type = Text)]
        version: String,
    }
    let applied: Vec<Version> = diesel::sql_query("SELECT version FROM __diesel_schema_migrations").load(conn).await?;
    let applied: std::collections::HashSet<String> = applied.into_iter().map(|v| v.version).collect();
    let wanted = diesel::migration::MigrationSource::<diesel::pg::Pg>::migrations(&MIGRATIONS)
        .map_err(diesel::result::Error::QueryBuilderError)?;
    Ok(wanted.iter().all(|m| applied.contains(&m.name().version().to_string())))
}
