//! What each instance does in the background besides folding the counts:
//! the totals that `/metrics` shows (so a scrape costs no query), the zones
//! the rollups keep (so a request can tell a cheap count from an expensive
//! one without asking), and the purge of expired idempotency records.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use crate::db::DbPool;
use crate::store;

/// Records purged per statement.
const PURGE_STEP: i64 = 1_000;

pub struct Upkeep {
    pub pool: DbPool,
    pub incidents: prometheus::IntGauge,
    pub claims: prometheus::IntGauge,
    pub rolled_up_zones: Arc<RwLock<Vec<String>>>,
    pub idempotency_ttl: Duration,
    pub every: Duration,
}

impl Upkeep {
    /// Runs for as long as the process does, once every `every`.
    pub async fn run(self) {
        loop {
            if let Err(e) = self.once().await {
                tracing::debug!(error = %e, "upkeep skipped");
            }
            tokio::time::sleep(self.every).await;
        }
    }

    async fn once(&self) -> anyhow::Result<()> {
        let mut conn = self.pool.get().await?;
        let zones = store::rollup::zones(&mut conn).await?;
        *self.rolled_up_zones.write().unwrap_or_else(|e| e.into_inner()) = zones;
        let (incidents, claims) = store::incidents::totals(&mut conn).await?;
        self.incidents.set(incidents);
        self.claims.set(claims);
        let ttl = chrono::Duration::from_std(self.idempotency_ttl)?;
        let before = chrono::Utc::now() - ttl;
        let mut purged = 0;
        loop {
            let n = store::idempotency::purge(&mut conn, before, PURGE_STEP).await?;
            purged += n;
            if n < PURGE_STEP as usize {
                break;
            }
        }
        if purged > 0 {
            tracing::info!(purged, "expired idempotency records purged");
        }
        Ok(())
    }
}
