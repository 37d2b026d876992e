//! Identical reads asked for at the same moment share one query.
//!
//! Dashboards poll the same counts from many screens, and a count over
//! years of incidents is the slowest read there is. At most one query per
//! distinct request runs at a time; identical requests that arrive
//! meanwhile wait together for the next one. A request joins only a query
//! that has not taken its snapshot yet, so the shared answer includes every
//! write acknowledged before any of the joined requests arrived, exactly as
//! if each had run its own query.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

use prometheus::{IntCounterVec, Opts};
use tokio::sync::OnceCell;

use crate::error::ApiError;

type Flight<T> = Arc<OnceCell<Arc<T>>>;

/// One distinct request: whose turn it is to query, and the flight that
/// newcomers still may join.
struct Entry<T> {
    turn: Arc<tokio::sync::Mutex<()>>,
    open: Option<Flight<T>>,
}

type Entries<T> = Arc<Mutex<HashMap<String, Entry<T>>>>;

pub struct Coalescer<T> {
    entries: Entries<T>,
    counted: IntCounterVec,
}

fn lock<T>(entries: &Entries<T>) -> std::sync::MutexGuard<'_, HashMap<String, Entry<T>>> {
    entries.lock().unwrap_or_else(|e| e.into_inner())
}

/// Closes `flight` to newcomers, if it is still the open one.
fn close<T>(entries: &Entries<T>, key: &str, flight: &Flight<T>) {
    if let Some(entry) = lock(entries).get_mut(key) {
        if entry.open.as_ref().is_some_and(|f| Arc::ptr_eq(f, flight)) {
            entry.open = None;
        }
    }
}

/// A request's part in a flight, left when dropped.
struct Leave<'a, T> {
    entries: &'a Entries<T>,
    key: &'a str,
    flight: Flight<T>,
    turn: Arc<tokio::sync::Mutex<()>>,
}

impl<T> Drop for Leave<'_, T> {
    fn drop(&mut self) {
        if self.flight.get().is_none() {
            close(self.entries, self.key, &self.flight);
        }
        let mut entries = lock(self.entries);
        // The entry's own turn and this request's: nobody else is waiting.
        let idle = entries.get(self.key).is_some_and(|e| e.open.is_none() && Arc::strong_count(&e.turn) <= 2);
        if idle {
            entries.remove(self.key);
        }
    }
}

impl<T: Send + Sync + 'static> Coalescer<T> {
    pub fn new(name: &str, help: &str) -> Self {
        let counted = IntCounterVec::new(Opts::new(name, help), &["outcome"]).expect("valid metric");
        Self { entries: Arc::new(Mutex::new(HashMap::new())), counted }
    }

    pub fn metric(&self) -> IntCounterVec {
        self.counted.clone()
    }

    /// The answer for `key`: shared with identical requests that join
    /// before it starts, or computed by `run`. `run` gets a callback to call
    /// once it holds its connection, right before its snapshot; from then
    /// on nobody else joins.
    pub async fn run<F, Fut>(&self, key: String, run: F) -> Result<Arc<T>, ApiError>
    where
        F: FnOnce(Box<dyn FnOnce() + Send>) -> Fut,
        Fut: Future<Output = Result<T, ApiError>>,
    {
        let (flight, turn) = {
            let mut entries = lock(&self.entries);
            let entry = entries
                .entry(key.clone())
                .or_insert_with(|| Entry { turn: Arc::new(tokio::sync::Mutex::new(())), open: None });
            (entry.open.get_or_insert_with(|| Arc::new(OnceCell::new())).clone(), entry.turn.clone())
        };
        // Leaves the flight however this request ends, answered, failed or
        // dropped (its client gone): a flight nobody answered is closed, and
        // an entry nobody asks for any more is forgotten.
        let leave = Leave { entries: &self.entries, key: &key, flight: flight.clone(), turn };
        let mut ran = false;
        let result = flight
            .get_or_try_init(|| {
                ran = true;
                let (entries, key, mine) = (self.entries.clone(), key.clone(), flight.clone());
                let closing: Box<dyn FnOnce() + Send> = Box::new(move || close(&entries, &key, &mine));
                let turn = leave.turn.clone();
                async move {
                    // The previous identical query finishes first; meanwhile
                    // identical requests keep joining this flight.
                    let _turn = turn.lock().await;
                    run(closing).await.map(Arc::new)
                }
            })
            .await
            .cloned();
        self.counted.with_label_values(&[if ran { "queried" } else { "shared" }]).inc();
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_request_dropped_mid_flight_leaves_nothing_behind() {
        let flights: Coalescer<u32> = Coalescer::new("test_flights", "test");
        // A count whose client goes away while it runs.
        let dropped = tokio::time::timeout(
            std::time::Duration::from_millis(50),
            flights.run("k".into(), |_close| std::future::pending::<Result<u32, ApiError>>()),
        )
        .await;
        assert!(dropped.is_err(), "it was still running");
        assert!(lock(&flights.entries).is_empty(), "its entry was forgotten");
        // An answered one leaves nothing either, and answers.
        let answered = flights.run("k".into(), |close| async move {
            close();
            Ok(7)
        });
        assert_eq!(*answered.await.unwrap(), 7);
        assert!(lock(&flights.entries).is_empty());
    }
}
