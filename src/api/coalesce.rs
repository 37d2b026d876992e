//! Identical reads asked for at the same moment share one query.
//!
//! Dashboards poll the same counts from many screens, and a count over
//! years of incidents is the slowest read there is. A request joins another
//! identical one only while that one is still waiting for its database
//! connection, before its snapshot is taken: the shared answer therefore
//! includes every write acknowledged before any of the joined requests
//! arrived, exactly as if each had run its own query.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

use prometheus::{IntCounterVec, Opts};
use tokio::sync::OnceCell;

use crate::error::ApiError;

type Flight<T> = Arc<OnceCell<Arc<T>>>;
type Waiting<T> = Arc<Mutex<HashMap<String, Flight<T>>>>;

pub struct Coalescer<T> {
    waiting: Waiting<T>,
    counted: IntCounterVec,
}

/// Takes `key`'s flight out of the map, if it is still `flight`.
fn close<T>(waiting: &Waiting<T>, key: &str, flight: &Flight<T>) {
    let mut map = waiting.lock().unwrap_or_else(|e| e.into_inner());
    if map.get(key).is_some_and(|f| Arc::ptr_eq(f, flight)) {
        map.remove(key);
    }
}

impl<T: Send + Sync + 'static> Coalescer<T> {
    pub fn new(name: &str, help: &str) -> Self {
        let counted = IntCounterVec::new(Opts::new(name, help), &["outcome"]).expect("valid metric");
        Self { waiting: Arc::new(Mutex::new(HashMap::new())), counted }
    }

    pub fn metric(&self) -> IntCounterVec {
        self.counted.clone()
    }

    /// The answer for `key`: shared with an identical request that has not
    /// started its query yet, or computed by `run`. `run` gets a callback to
    /// call once it holds its connection, right before its snapshot; from
    /// then on nobody else joins.
    pub async fn run<F, Fut>(&self, key: String, run: F) -> Result<Arc<T>, ApiError>
    where
        F: FnOnce(Box<dyn FnOnce() + Send>) -> Fut,
        Fut: Future<Output = Result<T, ApiError>>,
    {
        let flight = {
            let mut waiting = self.waiting.lock().unwrap_or_else(|e| e.into_inner());
            waiting.entry(key.clone()).or_insert_with(|| Arc::new(OnceCell::new())).clone()
        };
        let mut ran = false;
        let result = flight
            .get_or_try_init(|| {
                ran = true;
                let (waiting, key, mine) = (self.waiting.clone(), key.clone(), flight.clone());
                let closing: Box<dyn FnOnce() + Send> = Box::new(move || close(&waiting, &key, &mine));
                async move { run(closing).await.map(Arc::new) }
            })
            .await
            .cloned();
        if result.is_err() {
            close(&self.waiting, &key, &flight);
        }
        self.counted.with_label_values(&[if ran { "queried" } else { "shared" }]).inc();
        result
    }
}
