//! Idempotent writes: an `Idempotency-Key` is stored in the same
//! transaction as the work it made, with the answer, so that a retry gets
//! that answer back instead of writing twice.

use sha2::{Digest, Sha256};

use crate::domain::hierarchy::Hierarchy;
use crate::error::ApiError;
use crate::store::idempotency::{self, Begin, SavedResponse};
use crate::store::Conn;

/// A write's answer, as it is sent and as it is saved for replays.
pub struct Written {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    /// The JSON answer, serialized once.
    pub body: Vec<u8>,
    /// What a replay answers instead of `body`, when the first answer holds
    /// a secret that must not be stored (a new API key).
    pub replay_body: Option<Vec<u8>>,
}

impl Written {
    pub fn created(location: String, etag: Option<String>, body: &impl serde::Serialize) -> Result<Self, ApiError> {
        let mut headers = vec![("location".to_string(), location)];
        if let Some(etag) = etag {
            headers.push(("etag".to_string(), etag));
        }
        let body = serde_json::to_vec(body).map_err(ApiError::internal)?;
        Ok(Self { status: 201, headers, body, replay_body: None })
    }
}

/// The `Idempotency-Key` of a POST, used inside the write's transaction:
/// `begin` first (a retry with the same body gets the first answer back;
/// the same key with another body is a 422), then `finish` saves the answer
/// in the same transaction as the work. The hash covers the method, path
/// and the parsed body, so whitespace and key order do not matter.
pub struct Idempotency {
    key: Option<String>,
    scope: String,
    hash: Vec<u8>,
}

/// A write's answer, ready to send.
pub struct Outcome {
    pub saved: SavedResponse,
    /// A retry's: the first answer, sent again.
    pub replayed: bool,
}

impl Idempotency {
    /// `key` (if the request had one) in `scope` (one per API key), for the
    /// request `method path` with `body`.
    pub fn new(key: Option<String>, scope: &str, method: &str, path: &str, body: &serde_json::Value) -> Self {
        let mut hasher = Sha256::new();
        hasher.update(method);
        hasher.update(b" ");
        hasher.update(path);
        hasher.update(b"\n");
        hasher.update(canonical(body).to_string());
        Self { key, scope: scope.to_string(), hash: hasher.finalize().to_vec() }
    }

    /// The saved answer when this is a retry.
    pub async fn begin(&self, conn: &Conn) -> Result<Option<Outcome>, ApiError> {
        let Some(key) = &self.key else { return Ok(None) };
        match idempotency::begin(conn, &self.scope, key, &self.hash).await? {
            Begin::Fresh => Ok(None),
            Begin::Replay(saved) => Ok(Some(Outcome { saved, replayed: true })),
            Begin::Mismatch => Err(ApiError::idempotency_mismatch()),
        }
    }

    /// `begin`, and the parties' hierarchy that a write checks against,
    /// sent together: one round trip instead of two.
    pub async fn begin_with_parties(&self, conn: &Conn) -> Result<(Option<Outcome>, Hierarchy), ApiError> {
        let parties = async { crate::store::parties::hierarchy(conn).await.map_err(ApiError::from) };
        futures_util::try_join!(self.begin(conn), parties)
    }

    /// Saves the answer with the key.
    pub async fn finish(&self, conn: &mut Conn, written: Written) -> Result<Outcome, ApiError> {
        let saved = SavedResponse { status: written.status, headers: written.headers, body: written.body };
        if let Some(key) = &self.key {
            match written.replay_body {
                Some(replay) => {
                    let stored = SavedResponse { status: saved.status, headers: saved.headers.clone(), body: replay };
                    idempotency::save(conn, &self.scope, key, &stored).await?;
                }
                None => idempotency::save(conn, &self.scope, key, &saved).await?,
            }
        }
        Ok(Outcome { saved, replayed: false })
    }
}

/// The value with every object's keys sorted, so that equal JSON hashes equally.
fn canonical(value: &serde_json::Value) -> serde_json::Value {
    match value {
        serde_json::Value::Object(map) => {
            let mut entries: Vec<(&String, &serde_json::Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            serde_json::Value::Object(entries.into_iter().map(|(k, v)| (k.clone(), canonical(v))).collect())
        }
        serde_json::Value::Array(items) => serde_json::Value::Array(items.iter().map(canonical).collect()),
        other => other.clone(),
    }
}
