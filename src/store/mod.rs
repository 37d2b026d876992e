//! The store: every SQL statement of the service lives here.

pub mod claims;
pub mod idempotency;
pub mod incidents;
pub mod parties;
pub mod revisions;

pub use diesel_async::AsyncPgConnection as Conn;
