//! What every handler can reach: the pools and the instance's shared
//! limits and caches. `startup` builds it; the handlers read it.

use std::sync::Arc;
use std::time::Duration;

use super::coalesce::Coalescer;
use crate::db::replica::Replica;
use crate::db::{DbConn, DbPool};
use crate::error::ApiError;

/// A readiness check's answer (its problem's detail when not ready) and when
/// it was made.
pub type Readiness = (std::time::Instant, Result<(), String>);

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub pool: DbPool,
    pub body_limit: usize,
    /// Reads need a key too.
    pub private_reads: bool,
    /// Where lists, exports and counts may go.
    pub replica: Option<Arc<Replica>>,
    /// Counts being computed, which an identical request may still join.
    pub stats_flights: Arc<Coalescer<crate::ledger::counts::SharedCounts>>,
    /// Changes folded into the rollups (see `store::rollup`).
    pub folded: prometheus::IntCounter,
    /// Turns for writing a batch (`HttpArgs::batch_concurrency`).
    pub batch_slots: Arc<tokio::sync::Semaphore>,
    /// Signs and verifies pagination cursors.
    pub cursor_key: crate::api::cursor::CursorKey,
    /// The most buckets one count may answer.
    pub max_buckets: usize,
    /// Permits for expensive reads.
    pub expensive: Arc<crate::api::expensive::ExpensiveReads>,
    /// Slots for counts of any kind (half the pool at most).
    pub count_slots: Arc<crate::api::expensive::ExpensiveReads>,
    /// Whose forwarding headers name the client.
    pub trusted_proxies: Arc<crate::api::client::TrustedProxies>,
    /// The zones the rollups keep (refreshed in the background), to tell a
    /// count the rollups answer from one that reads the rows.
    pub rolled_up_zones: Arc<std::sync::RwLock<Vec<String>>>,
    /// The time zones the database knows; a count in another is a 400.
    pub known_zones: Arc<std::collections::HashSet<String>>,
    /// The KiB all request bodies in flight may hold together, as permits.
    pub body_budget: Arc<tokio::sync::Semaphore>,
    /// Its size, in KiB.
    pub bodies_kib: u32,
    /// How long a client has to send a request body.
    pub body_timeout: Duration,
    /// The last readiness check and when it was made (see `ops::readyz`).
    pub readiness: Arc<tokio::sync::Mutex<Option<Readiness>>>,
    /// The instance's fan-out of events to its streams.
    pub hub: Arc<crate::live::hub::Hub>,
    /// Event streams open, per instance and per client.
    pub streams: Arc<crate::api::expensive::ExpensiveReads>,
    /// Posts signed webhook bodies (pings from the API; the workers have theirs).
    pub sender: crate::live::webhooks::Sender,
    /// How webhooks are delivered.
    pub delivery: crate::live::webhooks::DeliveryConfig,
    /// Days events are kept.
    pub events_retention_days: u32,
    /// Public answers remembered until a write voids them.
    pub answers: Arc<super::answers::Answers>,
}

impl AppState {
    /// A connection for a read that may be served by the replica (a list,
    /// an export, a count), with the pool it came from.
    pub async fn lagging_read(&self) -> Result<(DbConn, DbPool), ApiError> {
        if let Some(replica) = &self.replica {
            if let Some(chosen) = replica.fresh_connection().await {
                return Ok(chosen);
            }
        }
        Ok((self.pool.get().await?, self.pool.clone()))
    }
}
