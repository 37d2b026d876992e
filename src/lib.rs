//! Ceasefire: the record of reported ceasefire violations and of what every
//! party said about them.

pub mod api;
pub mod config;
pub mod db;
pub mod domain;
pub mod error;
pub mod gazetteer;
pub mod import;
pub mod import_layout;
pub mod import_parties;
pub mod ledger;
pub mod live;
pub mod seed;
pub mod startup;
pub mod store;
pub mod telemetry;
pub mod upkeep;
