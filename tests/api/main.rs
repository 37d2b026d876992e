//! Integration tests: the real application, over HTTP, on a PostgreSQL
//! database of each test's own.

mod accounts;
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
mod stats;
mod validation;
