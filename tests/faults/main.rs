//! Fault scenarios: the real `ceasefire` binary as a child process, on
//! PostgreSQL clusters of their own that the tests stop, start and
//! replicate, with nginx in front of two instances. Run them with
//! `scripts/faults`; each prints what it counted.

mod crash;
mod edge;
mod harness;
mod hostile;
mod instances;
mod outage;
#[path = "../common/receiver.rs"]
#[allow(dead_code)]
mod receiver;
mod replica;
mod shutdown;
