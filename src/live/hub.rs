//! One listener per instance: it wakes the sequencer when writers commit
//! events (`ceasefire_outbox`), and when events are numbered
//! (`ceasefire_events`) reads them once and fans them out to every open
//! stream and to the webhook workers of the instance. Streams hold no
//! database connection of their own.

use std::sync::Arc;
use std::time::Duration;

use diesel_async::{AsyncConnection, AsyncPgConnection, SimpleAsyncConnection};
use futures_util::{FutureExt, StreamExt};
use tokio::sync::{broadcast, watch};

use super::events::{self, Event};
use crate::db::DbPool;

/// Events numbered per sequencer step.
const STEP: i32 = 1000;
/// Events or delivery records purged per statement.
const PURGE_STEP: i64 = 1000;

/// The instance's fan-out of numbered events.
pub struct Hub {
    tx: broadcast::Sender<Arc<Event>>,
    last: watch::Sender<i64>,
    /// Event streams open on this instance.
    pub streams: prometheus::IntGauge,
    /// Commits of events PostgreSQL announced (or the check found
    /// unnumbered): each voids the instance's remembered answers.
    pub commits: Arc<std::sync::atomic::AtomicU64>,
}

impl Hub {
    pub fn new(last: i64) -> anyhow::Result<Arc<Self>> {
        let (tx, _) = broadcast::channel(4096);
        Ok(Arc::new(Self {
            tx,
            last: watch::Sender::new(last),
            streams: prometheus::IntGauge::new("ceasefire_event_streams", "Event streams (GET /v1/events) open")?,
            commits: Default::default(),
        }))
    }

    /// Events fanned out from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Event>> {
        self.tx.subscribe()
    }

    /// The last seq fanned out.
    pub fn last(&self) -> i64 {
        *self.last.borrow()
    }

    /// Changes whenever events are fanned out.
    pub fn watch(&self) -> watch::Receiver<i64> {
        self.last.subscribe()
    }
}

/// Runs the instance's listener for as long as the process does:
/// reconnects when the connection drops, and checks once a second for what
/// a lost notification would have said.
pub async fn run(hub: Arc<Hub>, pool: DbPool, url: String) {
    loop {
        match listen(&hub, &pool, &url).await {
            Ok(()) => tracing::warn!("event listener disconnected; reconnecting"),
            Err(e) => tracing::warn!(error = %e, "event listener failed; reconnecting"),
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

async fn listen(hub: &Hub, pool: &DbPool, url: &str) -> anyhow::Result<()> {
    let mut conn = AsyncPgConnection::establish(url).await?;
    conn.batch_execute("LISTEN ceasefire_outbox; LISTEN ceasefire_events").await?;
    // What was committed while no one listened.
    sequence(pool).await?;
    fan_out(hub, pool).await?;
    let mut notifications = std::pin::pin!(conn.notifications_stream());
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            n = notifications.next() => {
                let Some(n) = n else { return Ok(()) };
                let mut outbox = n?.channel == "ceasefire_outbox";
                // Notifications already here are handled by one step.
                while let Some(Some(n)) = notifications.next().now_or_never() {
                    outbox |= n?.channel == "ceasefire_outbox";
                }
                if outbox {
                    hub.commits.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    if let Err(e) = sequence(pool).await {
                        tracing::debug!(error = %e, "sequencing events failed; retrying on the next wake");
                    }
                }
                fan_out(hub, pool).await?;
            }
            _ = tick.tick() => {
                let mut c = pool.get().await?;
                if events::unsequenced(&mut c).await? {
                    hub.commits.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    drop(c);
                    if let Err(e) = sequence(pool).await {
                        tracing::debug!(error = %e, "sequencing events failed; retrying on the next wake");
                    }
                    c = pool.get().await?;
                }
                if events::last_seq(&mut c).await? > hub.last() {
                    drop(c);
                    fan_out(hub, pool).await?;
                }
            }
        }
    }
}

/// Numbers committed events, a step at a time.
pub async fn sequence(pool: &DbPool) -> anyhow::Result<()> {
    let mut conn = pool.get().await?;
    while events::sequence(&mut conn, STEP).await? == i64::from(STEP) {}
    Ok(())
}

/// Reads the events after the last fanned out and sends them to every
/// subscriber, in order.
async fn fan_out(hub: &Hub, pool: &DbPool) -> anyhow::Result<()> {
    let mut conn = pool.get().await?;
    if hub.tx.receiver_count() == 0 {
        // No stream to feed: nothing is read. A stream that opens from now
        // on reads what it needs from the table before it listens here.
        let last = events::last_seq(&mut conn).await?;
        if last > hub.last() {
            hub.last.send_replace(last);
        }
        return Ok(());
    }
    loop {
        let page = events::after(&mut conn, hub.last(), 1000).await?;
        let Some(last) = page.last().map(|e| e.seq) else { return Ok(()) };
        for e in page {
            let _ = hub.tx.send(Arc::new(e));
        }
        hub.last.send_replace(last);
    }
}

/// Purges what is past its retention every ten minutes, apart from the
/// listener so that delivery never waits for it.
pub async fn keep_purging(pool: DbPool, retention: Duration) {
    loop {
        tokio::time::sleep(Duration::from_secs(600)).await;
        if let Err(e) = purge(&pool, retention).await {
            tracing::debug!(error = %e, "purging old events failed");
        }
    }
}

/// Deletes events and delivery records older than `retention`, a step at a time.
async fn purge(pool: &DbPool, retention: Duration) -> anyhow::Result<()> {
    let before = chrono::Utc::now() - chrono::Duration::from_std(retention)?;
    let mut conn = pool.get().await?;
    let mut purged = 0;
    loop {
        let n = events::purge(&mut conn, before, PURGE_STEP).await?
            + super::webhooks::purge_deliveries(&mut conn, before, PURGE_STEP).await?;
        purged += n;
        if n == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    if purged > 0 {
        tracing::info!(purged, "events and delivery records past their retention purged");
    }
    Ok(())
}
