//! The operations of the product: creating incidents (one, a batch, an
//! import), adding claims, patching, deleting, moving parties, counting.
//! Each takes domain types and a connection and holds its transaction,
//! idempotency, attribution and revisions inside; the HTTP handlers and the
//! command line both call these, and neither writes SQL (`store` does).

pub mod claims;
pub mod counts;
pub mod filter;
pub mod idempotency;
pub mod incidents;
pub mod keys;
pub mod parties;
pub mod places;
pub mod prepare;
pub mod rows;
