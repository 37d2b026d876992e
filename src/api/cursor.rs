//! Pagination cursors: where the next page starts, opaque to clients and
//! signed, so that a cursor the server did not make is refused before its
//! content reaches a query.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Datelike, Utc};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use uuid::Uuid;

use crate::error::ApiError;

/// Where the next page starts, opaque to clients.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub struct Cursor {
    /// Which ordering the cursor belongs to.
    pub o: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq: Option<i64>,
    pub id: Uuid,
}

pub fn bad_cursor() -> ApiError {
    ApiError::bad_query("cursor", "bad cursor: not a cursor from this API (pass next_cursor back unchanged)")
}

/// The key that signs cursors (HMAC-SHA-256, from `server_secrets`, so
/// every instance of one database signs alike). A cursor is its JSON and
/// its signature, both base64url, joined by a dot; one whose signature does
/// not verify is refused before its content is even parsed.
#[derive(Clone)]
pub struct CursorKey(std::sync::Arc<Vec<u8>>);

/// Bytes of the HMAC kept in a cursor (128 bits).
const CURSOR_MAC_LEN: usize = 16;

impl CursorKey {
    pub fn new(secret: Vec<u8>) -> Self {
        Self(std::sync::Arc::new(secret))
    }

    fn mac(&self, payload: &str) -> hmac::Hmac<Sha256> {
        use hmac::Mac;
        let mut mac = <hmac::Hmac<Sha256> as Mac>::new_from_slice(&self.0).expect("HMAC takes any key length");
        mac.update(payload.as_bytes());
        mac
    }
}

impl Cursor {
    pub fn encode(&self, key: &CursorKey) -> String {
        use hmac::Mac;
        let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(self).unwrap_or_default());
        let tag = key.mac(&payload).finalize().into_bytes();
        format!("{payload}.{}", URL_SAFE_NO_PAD.encode(&tag[..CURSOR_MAC_LEN]))
    }

    pub fn decode(s: &str, ordering: &str, key: &CursorKey) -> Result<Self, ApiError> {
        use hmac::Mac;
        let bad = bad_cursor;
        let (payload, tag) = s.trim().split_once('.').ok_or_else(bad)?;
        let tag = URL_SAFE_NO_PAD.decode(tag).map_err(|_| bad())?;
        if tag.len() != CURSOR_MAC_LEN {
            return Err(bad());
        }
        key.mac(payload).verify_truncated_left(&tag).map_err(|_| bad())?;
        let bytes = URL_SAFE_NO_PAD.decode(payload).map_err(|_| bad())?;
        let c: Cursor = serde_json::from_slice(&bytes).map_err(|_| bad())?;
        // Signed cursors come from this API, but a leaked secret or an
        // older format must still not reach PostgreSQL out of range.
        let in_range = c.at.is_none_or(|at| (1..=9999).contains(&at.year())) && c.seq.is_none_or(|s| s >= 0);
        if !in_range {
            return Err(bad());
        }
        if c.o != ordering {
            return Err(ApiError::bad_query("cursor", "this cursor belongs to another listing or ordering"));
        }
        Ok(c)
    }
}
