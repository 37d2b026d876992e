//! Live delivery: events written with every change (the outbox), numbered
//! in commit order, fanned out to server-sent event streams and delivered
//! to signed webhooks.

pub mod events;
pub mod filter;
pub mod hub;
pub mod webhooks;
