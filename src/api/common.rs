//! Pieces shared by the resource modules: who is asking, idempotent
//! writes, pagination, entity tags.

use actix_web::http::header::{self, HeaderMap};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::auth::Actor;
use crate::error::{ApiError, FieldError};

pub use crate::ledger::idempotency::{Idempotency, Outcome, Written};

impl Outcome {
    /// The answer as sent: the first time, or replayed (`Idempotent-Replayed: true`).
    pub fn into_response(self) -> HttpResponse {
        let mut res = HttpResponse::build(StatusCode::from_u16(self.saved.status).unwrap_or(StatusCode::OK));
        for (name, value) in &self.saved.headers {
            res.insert_header((name.as_str(), value.as_str()));
        }
        if self.replayed {
            res.insert_header(("idempotent-replayed", "true"));
        }
        res.content_type("application/json").body(self.saved.body)
    }
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

/// The idempotency of a POST: its `Idempotency-Key` in the actor's scope,
/// with the request it was first used for.
pub fn idempotency(req: &HttpRequest, actor: &Actor, body: &serde_json::Value) -> Result<Idempotency, ApiError> {
    let key = idempotency_key(req.headers())?;
    Ok(Idempotency::new(key, actor.idempotency_scope(), req.method().as_str(), req.path(), body))
}

/// A page of results.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Page<T> {
    pub data: Vec<T>,
    /// Pass as `cursor` to get the next page; null on the last page.
    pub next_cursor: Option<String>,
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
    let body = serde_json::to_vec(&page).map_err(ApiError::internal)?;
    page_response_as(req, body, "application/json", page.next_cursor.as_deref(), more)
}

/// Answers a page already written as `body` in `content_type`, with its
/// `Link: rel="next"` header and an ETag.
pub fn page_response_as(
    req: &HttpRequest,
    body: Vec<u8>,
    content_type: &str,
    next_cursor: Option<&str>,
    more: bool,
) -> Result<HttpResponse, ApiError> {
    let next_link = next_cursor.filter(|_| more).map(|c| {
        let mut params: Vec<(String, String)> = url::form_urlencoded::parse(req.query_string().as_bytes())
            .into_owned()
            .filter(|(k, _)| k != "cursor")
            .collect();
        params.push(("cursor".into(), c.to_string()));
        let qs = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(params).finish();
        format!("<{}?{}>; rel=\"next\"", req.path(), qs)
    });
    let etag = body_etag(&body);
    if not_modified(req, &etag) {
        return Ok(HttpResponse::NotModified().insert_header((header::ETAG, etag)).finish());
    }
    let mut res = HttpResponse::Ok();
    res.insert_header((header::ETAG, etag));
    res.insert_header((header::CACHE_CONTROL, "no-cache"));
    res.insert_header((header::VARY, "Accept"));
    if let Some(link) = next_link {
        res.insert_header((header::LINK, link));
    }
    Ok(res.content_type(content_type).body(body))
}

/// A strong ETag derived from the body.
pub fn body_etag(body: &[u8]) -> String {
    let digest = Sha256::digest(body);
    format!("\"{}\"", hex::encode(&digest[..16]))
}

/// True when `If-None-Match` names `etag` (or is `*`).
pub fn not_modified(req: &HttpRequest, etag: &str) -> bool {
    req.headers().get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()).is_some_and(|v| lists_etag(v, etag))
}

/// True when an `If-None-Match` value names `etag` (weakly) or is `*`.
pub fn lists_etag(if_none_match: &str, etag: &str) -> bool {
    if_none_match.split(',').map(|t| t.trim().trim_start_matches("W/")).any(|t| t == "*" || t == etag)
}
