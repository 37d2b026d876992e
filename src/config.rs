//! Command-line and environment configuration.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// What an import does with an incident that exists already.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OnExisting {
    Fail,
    Skip,
    /// Replace the stored incident by the file's, as its next version.
    Update,
}

#[derive(Debug, Parser)]
#[command(
    name = "ceasefire",
    version,
    about = "The record of reported ceasefire violations and of what every party said about them"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// Log format.
    #[arg(long, global = true, env = "CEASEFIRE_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Apply pending migrations, then serve the HTTP API.
    Serve(ServeArgs),
    /// Apply pending migrations and exit.
    Migrate(DatabaseArgs),
    /// Print the OpenAPI document (openapi/openapi.json is this output).
    Openapi,
    /// Load the reference parties of the South Caucasus and the gazetteer's border settlements (idempotent).
    Seed {
        /// Also load the example of July 2025 near Kalbajar: two incidents
        /// with each party's account, once.
        #[arg(long)]
        example: bool,
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// Load incidents from this service's own CSV or NDJSON export (`-`: standard input), a parties file, or ACLED or UCDP GED rows (`--from`).
    Import {
        /// The file; CSV or NDJSON, told apart by extension or content.
        file: String,
        /// What to do with an incident whose id is in the database already:
        /// refuse the whole file (`fail`), leave the stored one (`skip`), or
        /// replace it by the file's, as its next version (`update`).
        #[arg(long, value_enum, default_value_t = OnExisting::Fail)]
        on_existing: OnExisting,
        /// The file's layout: this service's export (`ceasefire`), or rows
        /// of ACLED (`acled`) or UCDP GED (`ucdp`), brought in as incidents
        /// keyed by their id there (`external_ids.acled`/`.ucdp`): a row
        /// whose id is here already updates that incident.
        #[arg(long = "from", value_enum, default_value_t = crate::import_layout::Layout::Ceasefire)]
        from: crate::import_layout::Layout,
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// Show the time zones whose local days the counts keep rollups for, or
    /// set them (`--set UTC,Asia/Baku`) and rebuild the rollups. Counts in
    /// other zones are exact too, only slower.
    #[command(name = "rollup-zones")]
    RollupZones {
        /// The new list of IANA zones, comma-separated.
        #[arg(long, value_delimiter = ',')]
        set: Option<Vec<String>>,
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// Manage API keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Manage the project-local PostgreSQL cluster used when no DATABASE_URL is given.
    #[command(name = "local-db", subcommand)]
    LocalDb(LocalDbCommand),
}

#[derive(Debug, Clone, Args)]
pub struct DatabaseArgs {
    /// PostgreSQL connection URL. When absent, a project-local cluster is
    /// created (on first use) and started under --local-db-dir.
    #[arg(long, env = "DATABASE_URL")]
    pub database_url: Option<String>,
    /// A streaming replica of that database. Lists, exports and counts go
    /// to it once it has replayed the last write this process acknowledged;
    /// everything else, and every read while it lags or is down, goes to
    /// the primary.
    #[arg(long, env = "DATABASE_READ_URL")]
    pub database_read_url: Option<String>,
    #[command(flatten)]
    pub local: LocalDbArgs,
    /// Largest number of pooled database connections.
    #[arg(long, env = "CEASEFIRE_POOL_SIZE", default_value_t = 10)]
    pub pool_size: usize,
    /// How long a request waits for a pooled connection before it gets a 503, in milliseconds.
    #[arg(long, env = "CEASEFIRE_POOL_TIMEOUT_MS", default_value_t = 2000)]
    pub pool_timeout_ms: u64,
    /// PostgreSQL statement_timeout for every pooled connection, in milliseconds.
    #[arg(long, env = "CEASEFIRE_STATEMENT_TIMEOUT_MS", default_value_t = 30000)]
    pub statement_timeout_ms: u64,
}

#[derive(Debug, Clone, Args)]
pub struct LocalDbArgs {
    /// Data directory of the project-local PostgreSQL cluster.
    #[arg(long, env = "CEASEFIRE_LOCAL_DB_DIR", default_value = ".local/postgres")]
    pub local_db_dir: PathBuf,
    /// TCP port (on 127.0.0.1) of the project-local PostgreSQL cluster.
    #[arg(long, env = "CEASEFIRE_LOCAL_DB_PORT", default_value_t = 54329)]
    pub local_db_port: u16,
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "CEASEFIRE_BIND", default_value = "127.0.0.1:8080")]
    pub bind: SocketAddr,
    #[command(flatten)]
    pub database: DatabaseArgs,
    #[command(flatten)]
    pub http: HttpArgs,
}

#[derive(Debug, Clone, Args)]
pub struct HttpArgs {
    /// Largest accepted request body, in bytes.
    #[arg(long, env = "CEASEFIRE_BODY_LIMIT", default_value_t = 4 * 1024 * 1024)]
    pub body_limit: usize,
    /// Number of HTTP worker threads (default: one per core).
    #[arg(long, env = "CEASEFIRE_WORKERS")]
    pub workers: Option<usize>,
    /// Seconds given to in-flight requests on SIGTERM/SIGINT before the server stops.
    #[arg(long, env = "CEASEFIRE_SHUTDOWN_TIMEOUT", default_value_t = 30)]
    pub shutdown_timeout: u64,
    /// Require a key (of any role) for reads too.
    #[arg(long, env = "CEASEFIRE_PRIVATE_READS")]
    pub private_reads: bool,
    /// Sustained requests per second allowed per API key, or per client IP
    /// without a key (0: no limit).
    #[arg(long, env = "CEASEFIRE_RATE_LIMIT", default_value_t = 50)]
    pub rate_limit: u32,
    /// Requests a key or IP may send at once above the sustained rate.
    #[arg(long, env = "CEASEFIRE_RATE_BURST", default_value_t = 200)]
    pub rate_burst: u32,
    /// Origins allowed to call the API from a browser with any method
    /// (comma-separated). GET and HEAD are open to every origin.
    #[arg(long, env = "CEASEFIRE_CORS_ORIGINS", value_delimiter = ',')]
    pub cors_origins: Vec<String>,
    /// Batches (POST /v1/incidents/batch) written at once by this instance;
    /// more wait their turn. A batch of 1000 holds about 25 MiB while it is
    /// written, so this bounds the server's memory.
    #[arg(long, env = "CEASEFIRE_BATCH_CONCURRENCY", default_value_t = 2, value_parser = clap::value_parser!(u16).range(1..))]
    pub batch_concurrency: u16,
    /// The most buckets (periods × groups) one count may answer; a larger
    /// one is a 400 that names its size, refused before it is rendered.
    #[arg(long, env = "CEASEFIRE_MAX_BUCKETS", default_value_t = 100_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub max_buckets: u64,
    /// Expensive reads (counts the rollups cannot answer, `q`, `bbox`,
    /// `include_deleted`, exports) this instance runs at once; more wait up
    /// to a second, then get 429. Reads by id and writes never wait for them.
    #[arg(long, env = "CEASEFIRE_EXPENSIVE_READS", default_value_t = 3, value_parser = clap::value_parser!(u16).range(1..))]
    pub expensive_reads: u16,
    /// Expensive reads one client (API key, or address without a key) runs
    /// at once on this instance; one more is a 429 at once.
    #[arg(long, env = "CEASEFIRE_EXPENSIVE_READS_PER_CLIENT", default_value_t = 2, value_parser = clap::value_parser!(u16).range(1..))]
    pub expensive_reads_per_client: u16,
    /// Proxies (addresses or CIDRs, comma-separated) whose forwarding
    /// header (`--forwarded-header`) names the client, for per-client
    /// limits. Headers from any other peer are ignored.
    #[arg(long, env = "CEASEFIRE_TRUSTED_PROXIES", value_delimiter = ',', value_parser = parse_net)]
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// The header the trusted proxies append the client's address to; any
    /// other forwarding header is ignored.
    #[arg(long, env = "CEASEFIRE_FORWARDED_HEADER", value_enum, default_value_t = ForwardedHeader::XForwardedFor)]
    pub forwarded_header: ForwardedHeader,
    /// MiB that all request bodies being received (and their parsed values
    /// in use) may hold together; a body that does not fit within 2 s gets
    /// 503. Each body reserves its Content-Length (or the body limit).
    #[arg(long, env = "CEASEFIRE_BODIES_MB", default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub bodies_mb: u32,
    /// Seconds a client has to send a request's body (its head: 5 s, or
    /// this if shorter); slower ones get 408.
    #[arg(long, env = "CEASEFIRE_REQUEST_TIMEOUT", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..))]
    pub request_timeout: u64,
    /// How long an `Idempotency-Key` is remembered, in seconds (default 24
    /// hours); older ones are purged in the background.
    #[arg(long, env = "CEASEFIRE_IDEMPOTENCY_TTL", default_value_t = 86_400, value_parser = clap::value_parser!(u64).range(60..))]
    pub idempotency_ttl: u64,
    /// Seconds between the refreshes of the totals on /metrics (incidents,
    /// claims), which a scrape never computes itself.
    #[arg(long, env = "CEASEFIRE_TOTALS_REFRESH", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..))]
    pub totals_refresh: u64,
    /// Days events (and webhook delivery records) are kept, for streams and
    /// webhooks to catch up from; older ones are purged in small batches.
    #[arg(long, env = "CEASEFIRE_EVENTS_RETENTION_DAYS", default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..))]
    pub events_retention_days: u32,
    /// Let webhooks target loopback, link-local and private addresses
    /// (for tests and closed networks; off, such targets are refused).
    #[arg(long, env = "CEASEFIRE_WEBHOOK_ALLOW_PRIVATE", default_value_t = false, action = clap::ArgAction::Set)]
    pub webhook_allow_private: bool,
    /// Seconds one delivery attempt may take, connection to answer (at
    /// most 25: a worker's lease on a subscription lasts 60).
    #[arg(long, env = "CEASEFIRE_WEBHOOK_TIMEOUT", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=25))]
    pub webhook_timeout: u64,
    /// Milliseconds before the first retry of a failed delivery; each next
    /// retry waits twice as long (with ±20 % jitter), at most an hour.
    #[arg(long, env = "CEASEFIRE_WEBHOOK_RETRY_BASE_MS", default_value_t = 5_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub webhook_retry_base_ms: u64,
    /// Seconds a subscription keeps failing before it is marked `failing`
    /// (default 24 hours; it is still retried, at most an hour apart).
    #[arg(long, env = "CEASEFIRE_WEBHOOK_FAILING_AFTER", default_value_t = 86_400, value_parser = clap::value_parser!(u64).range(1..))]
    pub webhook_failing_after: u64,
    /// Seconds a subscription keeps failing before it is disabled (default
    /// 3 days; PATCH `{"enabled": true}` turns it on again, from the event
    /// it stopped at).
    #[arg(long, env = "CEASEFIRE_WEBHOOK_DISABLE_AFTER", default_value_t = 259_200, value_parser = clap::value_parser!(u64).range(1..))]
    pub webhook_disable_after: u64,
    /// Event streams (`GET /v1/events`) this instance keeps open at once;
    /// beyond, 429.
    #[arg(long, env = "CEASEFIRE_STREAMS", default_value_t = 10_000, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub streams: u32,
    /// Event streams one client (API key, or address without a key) keeps
    /// open at once on this instance; beyond, 429.
    #[arg(long, env = "CEASEFIRE_STREAMS_PER_CLIENT", default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub streams_per_client: u32,
    /// Webhook delivery workers per instance (each serves one subscription at a time).
    #[arg(long, env = "CEASEFIRE_WEBHOOK_WORKERS", default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub webhook_workers: u16,
    /// Megabytes of rendered public answers (counts with `to`, pages,
    /// incidents) this instance remembers until a write voids them; 0
    /// remembers nothing.
    #[arg(long, env = "CEASEFIRE_CACHE_MB", default_value_t = 64, value_parser = clap::value_parser!(u32).range(0..=65_536))]
    pub cache_mb: u32,
    /// `s-maxage` on public reads: seconds a shared cache in front (a CDN,
    /// nginx's `proxy_cache`) may answer without asking again, so how stale
    /// it may be. 0 (default) leaves it out: every copy is revalidated.
    #[arg(long, env = "CEASEFIRE_EDGE_MAX_AGE", default_value_t = 0, value_parser = clap::value_parser!(u32).range(0..=86_400))]
    pub edge_max_age: u32,
    /// `stale-while-revalidate` on public reads: seconds a shared cache
    /// may answer a stale copy while it revalidates. 0 (default) leaves it
    /// out and keeps `must-revalidate`.
    #[arg(long, env = "CEASEFIRE_EDGE_STALE_WHILE_REVALIDATE", default_value_t = 0, value_parser = clap::value_parser!(u32).range(0..=86_400))]
    pub edge_stale_while_revalidate: u32,
}

impl HttpArgs {
    /// How webhooks are delivered.
    pub fn delivery(&self) -> crate::live::webhooks::DeliveryConfig {
        use std::time::Duration;
        crate::live::webhooks::DeliveryConfig {
            allow_private: self.webhook_allow_private,
            timeout: Duration::from_secs(self.webhook_timeout),
            retry_base: Duration::from_millis(self.webhook_retry_base_ms),
            failing_after: Duration::from_secs(self.webhook_failing_after),
            disable_after: Duration::from_secs(self.webhook_disable_after),
            workers: self.webhook_workers.into(),
        }
    }

    /// What `Cache-Control` public reads carry.
    pub fn edge(&self) -> crate::api::answers::EdgeCaching {
        crate::api::answers::EdgeCaching {
            s_maxage: self.edge_max_age,
            stale_while_revalidate: self.edge_stale_while_revalidate,
        }
    }
}

impl Default for HttpArgs {
    fn default() -> Self {
        Self {
            body_limit: 4 * 1024 * 1024,
            workers: None,
            shutdown_timeout: 30,
            private_reads: false,
            rate_limit: 50,
            rate_burst: 200,
            cors_origins: Vec::new(),
            batch_concurrency: 2,
            max_buckets: 100_000,
            expensive_reads: 3,
            expensive_reads_per_client: 2,
            trusted_proxies: Vec::new(),
            forwarded_header: ForwardedHeader::XForwardedFor,
            bodies_mb: 64,
            request_timeout: 30,
            idempotency_ttl: 86_400,
            totals_refresh: 30,
            events_retention_days: 30,
            webhook_allow_private: false,
            webhook_timeout: 10,
            webhook_retry_base_ms: 5_000,
            webhook_failing_after: 86_400,
            webhook_disable_after: 259_200,
            webhook_workers: 4,
            streams: 10_000,
            streams_per_client: 20,
            cache_mb: 64,
            edge_max_age: 0,
            edge_stale_while_revalidate: 0,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum LocalDbCommand {
    /// Create the cluster if needed, start it, and print its connection URL.
    Start(LocalDbArgs),
    /// Stop the cluster.
    Stop(LocalDbArgs),
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Create a key; prints it alone on the last line of stdout (it is shown once).
    Create {
        /// Who holds the key.
        #[arg(long)]
        name: String,
        /// reader, reporter, editor or admin.
        #[arg(long, value_parser = parse_role)]
        role: crate::domain::Role,
        #[command(flatten)]
        database: DatabaseArgs,
    },
}

/// The header trusted proxies name the client in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum ForwardedHeader {
    /// `X-Forwarded-For` (nginx's `$proxy_add_x_forwarded_for`, most cloud balancers).
    #[default]
    #[value(name = "x-forwarded-for")]
    XForwardedFor,
    /// `Forwarded` (RFC 7239).
    Forwarded,
}

/// An address or a CIDR block.
pub fn parse_net(s: &str) -> Result<ipnet::IpNet, String> {
    let s = s.trim();
    s.parse::<ipnet::IpNet>()
        .or_else(|_| s.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
        .map_err(|_| format!("`{s}` is neither an IP address nor a CIDR block"))
}

fn parse_role(s: &str) -> Result<crate::domain::Role, String> {
    crate::domain::Role::parse(s)
}
