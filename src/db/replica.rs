//! Reads that may lag a little (lists, exports and counts) can go to a
//! streaming replica. Read-your-writes still holds for every client of this
//! process: a lagging read goes to the replica only once the replica has
//! replayed the last write this process acknowledged; otherwise, and
//! whenever the replica cannot be reached, it goes to the primary.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use diesel::sql_types::BigInt;
use prometheus::{IntCounterVec, Opts};

use super::{DbConn, DbPool};

/// The WAL position a server has reached: what it has replayed when it is a
/// standby, what it has written when it is a primary.
const POSITION: &str = "SELECT (CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() \
     ELSE pg_current_wal_lsn() END - '0/0'::pg_lsn)::bigint AS lsn";

/// After a failure the replica is left alone this long.
const BACK_OFF: Duration = Duration::from_secs(5);

#[derive(diesel::QueryableByName)]
struct Position {
    #[diesel(sql_type = diesel::sql_types::Nullable<BigInt>)]
    lsn: Option<i64>,
}

async fn position(conn: &mut DbConn) -> Option<i64> {
    use diesel_async::RunQueryDsl;
    let row: Position = diesel::sql_query(POSITION).get_result(&mut **conn).await.ok()?;
    row.lsn
}

pub struct Replica {
    pool: DbPool,
    /// WAL position after the latest write this process acknowledged.
    acknowledged: AtomicI64,
    /// The latest replay position read from the replica.
    replayed: AtomicI64,
    /// Milliseconds after `epoch` before which the replica is not tried.
    skip_until: AtomicU64,
    epoch: Instant,
    served: IntCounterVec,
}

impl Replica {
    pub fn new(pool: DbPool) -> Self {
        let served = IntCounterVec::new(
            Opts::new(
                "ceasefire_lagging_reads_total",
                "Lists, exports and counts, by the server that answered them: replica or primary",
            ),
            &["server"],
        )
        .expect("valid metric");
        Self {
            pool,
            acknowledged: AtomicI64::new(0),
            replayed: AtomicI64::new(0),
            skip_until: AtomicU64::new(0),
            epoch: Instant::now(),
            served,
        }
    }

    pub fn metric(&self) -> IntCounterVec {
        self.served.clone()
    }

    /// Records the primary's WAL position after a write committed; called
    /// before the write's answer leaves, so the client's next read sees it.
    pub async fn note_write(&self, primary: &DbPool) {
        let Ok(mut conn) = primary.get().await else { return };
        match position(&mut conn).await {
            Some(lsn) => {
                self.acknowledged.fetch_max(lsn, Ordering::AcqRel);
            }
            // Without the position no replica read can be proven fresh.
            None => self.acknowledged.store(i64::MAX, Ordering::Release),
        }
    }

    fn now_ms(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }

    /// A replica connection that has replayed every acknowledged write, or
    /// `None` when the primary must answer.
    pub async fn fresh_connection(&self) -> Option<(DbConn, DbPool)> {
        let chosen = self.try_replica().await;
        self.served.with_label_values(&[if chosen.is_some() { "replica" } else { "primary" }]).inc();
        chosen
    }

    async fn try_replica(&self) -> Option<(DbConn, DbPool)> {
        if self.now_ms() < self.skip_until.load(Ordering::Acquire) {
            return None;
        }
        let needed = self.acknowledged.load(Ordering::Acquire);
        let mut conn = match self.pool.get().await {
            Ok(conn) => conn,
            Err(e) => {
                tracing::warn!(error = %e, "the read replica is unreachable; reading from the primary");
                self.skip_until.store(self.now_ms() + BACK_OFF.as_millis() as u64, Ordering::Release);
                return None;
            }
        };
        if self.replayed.load(Ordering::Acquire) < needed {
            let lsn = position(&mut conn).await?;
            self.replayed.fetch_max(lsn, Ordering::AcqRel);
            if lsn < needed {
                return None;
            }
        }
        Some((conn, self.pool.clone()))
    }
}
