//! The store: every SQL statement of the service lives here.

pub mod claim_rollup;
pub mod claims;
pub mod idempotency;
pub mod incidents;
pub mod keys;
pub mod listing;
pub mod parties;
pub mod places;
pub mod revisions;
pub mod rollup;
pub mod secrets;
pub mod stats;

pub use diesel_async::AsyncPgConnection as Conn;

/// The current time at PostgreSQL's precision (microseconds), so that what
/// a write answers equals what a later read returns.
pub fn now() -> chrono::DateTime<chrono::Utc> {
    use chrono::{DurationRound, TimeDelta};
    let now = chrono::Utc::now();
    now.duration_trunc(TimeDelta::microseconds(1)).unwrap_or(now)
}
