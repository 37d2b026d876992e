//! Integration tests: the real application, over HTTP, on a PostgreSQL
//! database of each test's own.

mod accounts;
mod answers;
mod auth;
mod charts;
mod claims;
mod dimensions;
mod exports;
mod filters;
mod hardening;
mod health;
mod helpers;
mod hostile;
mod idempotency;
mod incidents;
mod layouts;
mod limits;
mod live;
mod openapi;
mod pagination;
mod parties;
mod readers;
#[path = "../common/receiver.rs"]
#[allow(dead_code)]
mod receiver;
mod stats;
mod validation;
