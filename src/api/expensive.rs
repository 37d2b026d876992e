//! Permits for expensive reads: counts the rollups cannot answer, lists and
//! counts with `q`, `bbox` or `include_deleted`, and exports. They share a
//! few permits per instance and a few per client, so that however many of
//! them arrive, the rest of the pool stays free for reads by id and writes,
//! which never take a permit.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::http::{header, StatusCode};
use actix_web::{HttpMessage, HttpRequest};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::client::ClientId;
use crate::error::ApiError;

pub struct ExpensiveReads {
    /// What the permits are for, in the 429's words.
    what: &'static str,
    instance: Arc<Semaphore>,
    per_client: usize,
    /// How long a read waits for one of the instance's permits.
    wait: Duration,
    /// Permits held per client; a client without any is not in the map.
    held: Arc<Mutex<HashMap<String, usize>>>,
}

/// Held while an expensive read runs (an export: while it streams).
pub struct ExpensivePermit {
    _instance: OwnedSemaphorePermit,
    _share: ClientShare,
}

/// One of a client's permits, given back when dropped.
struct ClientShare {
    client: String,
    held: Arc<Mutex<HashMap<String, usize>>>,
}

impl Drop for ClientShare {
    fn drop(&mut self) {
        let mut held = self.held.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = held.get_mut(&self.client) {
            *n -= 1;
            if *n == 0 {
                held.remove(&self.client);
            }
        }
    }
}

fn too_many(detail: &str, wait: u64) -> ApiError {
    ApiError::new(StatusCode::TOO_MANY_REQUESTS, crate::error::ProblemKind::TooManyRequests, detail)
        .with_header(header::RETRY_AFTER, &wait.to_string())
}

/// Who a request counts against (named by the rate limiter).
pub fn client_of(req: &HttpRequest) -> String {
    req.extensions().get::<ClientId>().map(|c| c.0.clone()).unwrap_or_default()
}

impl ExpensiveReads {
    /// Permits for expensive reads: a few per instance and per client.
    pub fn new(instance: usize, per_client: usize) -> Self {
        Self::of(
            "expensive reads (counts the rollups cannot answer or whose answer is large, q, bbox, include_deleted, exports)",
            instance,
            per_client,
            Duration::from_secs(1),
        )
    }

    /// Slots for counts of any kind: they read the rollups quickly, but a
    /// burst of them must not take every pooled connection.
    pub fn counts(instance: usize, per_client: usize) -> Self {
        Self::of("counts", instance, per_client, Duration::from_secs(2))
    }

    /// Event streams: long-lived, so a client's share is refused at once
    /// and so is a stream beyond the instance's.
    pub fn streams(instance: usize, per_client: usize) -> Self {
        Self::of("event streams", instance, per_client, Duration::from_millis(10))
    }

    fn of(what: &'static str, instance: usize, per_client: usize, wait: Duration) -> Self {
        Self { what, instance: Arc::new(Semaphore::new(instance.max(1))), per_client, wait, held: Default::default() }
    }

    /// A permit for `client` (see `client_of`): 429 at once when that
    /// client holds its share already, 429 after a short wait when the
    /// instance's permits stay taken.
    pub async fn acquire(&self, client: String) -> Result<ExpensivePermit, ApiError> {
        {
            let mut held = self.held.lock().unwrap_or_else(|e| e.into_inner());
            let n = held.entry(client.clone()).or_insert(0);
            if *n >= self.per_client {
                return Err(too_many(
                    &format!("this client already runs {} {}; retry when one has finished", self.per_client, self.what),
                    1,
                ));
            }
            *n += 1;
        }
        let share = ClientShare { client, held: self.held.clone() };
        match tokio::time::timeout(self.wait, self.instance.clone().acquire_owned()).await {
            Ok(Ok(permit)) => Ok(ExpensivePermit { _instance: permit, _share: share }),
            _ => Err(too_many(&format!("the server is busy with {}; retry shortly", self.what), 2)),
        }
    }
}

/// How long a long answer (an export, a large count) may wait for its
/// client to read on before it gives back its permit and what it holds: a
/// client that stops reading must not keep them for as long as it keeps the
/// socket open.
pub const STALLED: Duration = Duration::from_secs(60);

/// Takes what a long answer holds (`held`: its connection, its bytes, its
/// permit) once its client has not read for `STALLED`, going by
/// `last_read` (seconds since `started`); ends when the answer does.
pub async fn release_when_stalled<T: Send + 'static>(
    held: std::sync::Weak<tokio::sync::Mutex<Option<T>>>,
    last_read: Arc<std::sync::atomic::AtomicU64>,
    started: std::time::Instant,
) {
    use std::sync::atomic::Ordering;
    loop {
        tokio::time::sleep(STALLED / 6).await;
        let Some(held) = held.upgrade() else { return };
        let idle = started.elapsed().as_secs().saturating_sub(last_read.load(Ordering::Relaxed));
        if idle >= STALLED.as_secs() {
            if let Ok(mut held) = held.try_lock() {
                if held.take().is_some() {
                    tracing::warn!(idle_s = idle, "a client stopped reading a long answer; what it held was released");
                }
                return;
            }
        }
    }
}

/// A rendered answer sent a slice at a time while it holds `permit`; if the
/// client stops reading, the bytes and the permit go back after `STALLED`.
pub fn held_body(
    bytes: actix_web::web::Bytes,
    permit: ExpensivePermit,
) -> impl futures_util::Stream<Item = Result<actix_web::web::Bytes, ApiError>> {
    use std::sync::atomic::{AtomicU64, Ordering};
    const SLICE: usize = 256 * 1024;
    let held = Arc::new(tokio::sync::Mutex::new(Some((bytes, permit))));
    let last_read = Arc::new(AtomicU64::new(0));
    let started = std::time::Instant::now();
    tokio::spawn(release_when_stalled(Arc::downgrade(&held), last_read.clone(), started));
    futures_util::stream::unfold((held, last_read), move |(held, last_read)| async move {
        last_read.store(started.elapsed().as_secs(), Ordering::Relaxed);
        let mut guard = held.lock().await;
        let (bytes, _) = guard.as_mut()?;
        if bytes.is_empty() {
            guard.take();
            return None;
        }
        let slice = bytes.split_to(bytes.len().min(SLICE));
        drop(guard);
        Some((Ok(slice), (held, last_read)))
    })
}
