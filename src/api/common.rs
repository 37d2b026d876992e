//! Pieces shared by the resource modules: who is asking, idempotent
//! writes, pagination, entity tags.

use actix_web::http::header::{self, HeaderMap};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Datelike, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::auth::Actor;
use crate::error::{ApiError, FieldError};
use crate::store::idempotency::{self, Begin, SavedResponse};
use crate::store::parties::Hierarchy;
use crate::store::Conn;

/// A write's answer, as it is sent and as it is saved for replays.
pub struct Written {
    pub status: StatusCode,
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
        Ok(Self { status: StatusCode::CREATED, headers, body, replay_body: None })
    }
}

fn into_response(saved: &SavedResponse, replayed: bool) -> HttpResponse {
    let mut res = HttpResponse::build(StatusCode::from_u16(saved.status).unwrap_or(StatusCode::OK));
    for (name, value) in &saved.headers {
        res.insert_header((name.as_str(), value.as_str()));
    }
    if replayed {
        res.insert_header(("idempotent-replayed", "true"));
    }
    res.content_type("application/json").body(saved.body.clone())
}

/// The `Idempotency-Key` header, if any: 1 to 255 visible ASCII characters.
pub fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(value) = headers.get("idempotency-key") else { return Ok(None) };
    let key =
        value.to_str().ok().filter(|k| !k.is_empty() && k.len() <= 255 && k.bytes().all(|b| b.is_ascii_graphic()));
    match key {
        Some(k) => Ok(Some(k.to_string())),
        None => Err(ApiError::validation(vec![FieldError::new(
            "/headers/idempotency-key",
            "an Idempotency-Key is 1 to 255 visible ASCII characters (a UUID is a good choice)",
        )])),
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
    saved: SavedResponse,
    replayed: bool,
}

impl Outcome {
    pub fn into_response(self) -> HttpResponse {
        into_response(&self.saved, self.replayed)
    }
}

impl Idempotency {
    pub fn new(req: &HttpRequest, actor: &Actor, body: &serde_json::Value) -> Result<Self, ApiError> {
        let key = idempotency_key(req.headers())?;
        let mut hasher = Sha256::new();
        hasher.update(req.method().as_str());
        hasher.update(b" ");
        hasher.update(req.path());
        hasher.update(b"\n");
        hasher.update(canonical(body).to_string());
        Ok(Self { key, scope: actor.idempotency_scope().to_string(), hash: hasher.finalize().to_vec() })
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
        let parties = async { Hierarchy::load(conn).await.map_err(ApiError::from) };
        futures_util::try_join!(self.begin(conn), parties)
    }

    /// Saves the answer with the key.
    pub async fn finish(&self, conn: &mut Conn, written: Written) -> Result<Outcome, ApiError> {
        let saved = SavedResponse { status: written.status.as_u16(), headers: written.headers, body: written.body };
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

/// A page of results.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Page<T> {
    pub data: Vec<T>,
    /// Pass as `cursor` to get the next page; null on the last page.
    pub next_cursor: Option<String>,
}

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

/// `limit`: 1 to 1000, default 50.
pub fn parse_limit(raw: Option<String>) -> Result<i64, ApiError> {
    match raw {
        None => Ok(50),
        Some(v) => match v.trim().parse::<i64>() {
            Ok(n) if (1..=1000).contains(&n) => Ok(n),
            _ => Err(ApiError::bad_query("limit", "limit is a whole number from 1 to 1000")),
        },
    }
}

/// Answers a page with its `Link: rel="next"` header and an ETag.
pub fn page_response<T: Serialize>(req: &HttpRequest, page: Page<T>, more: bool) -> Result<HttpResponse, ApiError> {
    let next_link = page.next_cursor.as_ref().filter(|_| more).map(|c| {
        let mut params: Vec<(String, String)> = url::form_urlencoded::parse(req.query_string().as_bytes())
            .into_owned()
            .filter(|(k, _)| k != "cursor")
            .collect();
        params.push(("cursor".into(), c.clone()));
        let qs = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(params).finish();
        format!("<{}?{}>; rel=\"next\"", req.path(), qs)
    });
    let body = serde_json::to_vec(&page).map_err(ApiError::internal)?;
    let etag = body_etag(&body);
    if not_modified(req, &etag) {
        return Ok(HttpResponse::NotModified().insert_header((header::ETAG, etag)).finish());
    }
    let mut res = HttpResponse::Ok();
    res.insert_header((header::ETAG, etag));
    res.insert_header((header::CACHE_CONTROL, "no-cache"));
    if let Some(link) = next_link {
        res.insert_header((header::LINK, link));
    }
    Ok(res.content_type("application/json").body(body))
}

/// A strong ETag derived from the body.
pub fn body_etag(body: &[u8]) -> String {
    let digest = Sha256::digest(body);
    format!("\"{}\"", hex::encode(&digest[..16]))
}

/// True when `If-None-Match` names `etag` (or is `*`).
pub fn not_modified(req: &HttpRequest, etag: &str) -> bool {
    req.headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').map(|t| t.trim().trim_start_matches("W/")).any(|t| t == "*" || t == etag))
}
