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

/// How long an expensive read waits for one of the instance's permits.
const WAIT: Duration = Duration::from_secs(1);

pub struct ExpensiveReads {
    instance: Arc<Semaphore>,
    per_client: usize,
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
    pub fn new(instance: usize, per_client: usize) -> Self {
        Self { instance: Arc::new(Semaphore::new(instance)), per_client, held: Default::default() }
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
                    &format!(
                        "this client already runs {} expensive reads (counts the rollups cannot answer, q, bbox, include_deleted, exports); retry when one has finished",
                        self.per_client
                    ),
                    1,
                ));
            }
            *n += 1;
        }
        let share = ClientShare { client, held: self.held.clone() };
        match tokio::time::timeout(WAIT, self.instance.clone().acquire_owned()).await {
            Ok(Ok(permit)) => Ok(ExpensivePermit { _instance: permit, _share: share }),
            _ => Err(too_many("the server is busy with expensive reads; retry shortly", 2)),
        }
    }
}
