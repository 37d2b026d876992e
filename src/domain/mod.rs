//! Domain types and rules, with no I/O. Each type parses its input once, so
//! a value that exists is valid and is never checked again.

pub mod account;
pub mod actor;
pub mod attribution;
pub mod claim;
pub mod dimension;
pub mod enums;
pub mod hierarchy;
pub mod incident;
pub mod json;
pub mod keys;
pub mod party;
pub mod period;
pub mod place;
pub mod slug;
pub mod spreadsheet;
pub mod text;
pub mod zone;

pub use enums::*;
pub use slug::{CountryCode, PartySlug, PlaceSlug};
