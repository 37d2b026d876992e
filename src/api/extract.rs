//! Request parsing that answers with problem+json: JSON bodies with a JSON
//! pointer to the failing field, query strings with repeatable parameters.

use std::collections::BTreeMap;
use std::str::FromStr;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;
use serde::de::DeserializeOwned;

pub use crate::domain::json::{from_value, from_value_at};
use crate::error::ApiError;

/// A JSON body, parsed with the failing field's pointer in any error.
pub struct Json<T>(pub T);

/// A JSON body as a `serde_json::Value`: the content type is checked, the
/// size limited and the syntax verified (400), but not its shape. Handlers
/// that need the body as well as its typed form (idempotency, merge patch,
/// nested claims) start from this.
pub struct JsonValue(pub serde_json::Value, #[allow(dead_code)] BodyShare);

/// A request body's share of the bytes all bodies in flight may hold
/// (`CEASEFIRE_BODIES_MB`), kept while its body or parsed value lives.
type BodyShare = Option<tokio::sync::OwnedSemaphorePermit>;

fn check_content_type(req: &HttpRequest) -> Result<(), ApiError> {
    let ct = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let essence = ct.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    if essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json")) {
        Ok(())
    } else if essence.is_empty() {
        Err(ApiError::unsupported_media_type("send the body as application/json (Content-Type is missing)"))
    } else {
        Err(ApiError::unsupported_media_type(format!(
            "send the body as application/json, not {}",
            essence.chars().take(80).collect::<String>()
        )))
    }
}

impl FromRequest for JsonValue {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let body = JsonBody::from_request(req, payload);
        Box::pin(async move { body.await?.parse() })
    }
}

/// A JSON body read but not parsed yet (the content type checked): for a
/// handler that parses it only when its turn comes (a batch), so that
/// waiting requests hold their bytes, not their parsed trees.
pub struct JsonBody(web::Bytes, BodyShare);

impl JsonBody {
    pub fn parse(self) -> Result<JsonValue, ApiError> {
        let value = serde_json::from_slice(&self.0).map_err(|e| ApiError::malformed_json(e.to_string()))?;
        if let Some(pointer) = find_nul(&value, &mut String::new()) {
            return Err(ApiError::field(pointer, "text cannot contain the NUL character (U+0000)"));
        }
        Ok(JsonValue(value, self.1))
    }
}

impl FromRequest for JsonBody {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let bytes = web::Bytes::from_request(&req, payload);
        let state = req.app_data::<web::Data<crate::api::state::AppState>>().cloned();
        // A body that trickles in must not hold a worker's slot for ever.
        let timeout = state.as_ref().map_or(std::time::Duration::from_secs(30), |s| s.body_timeout);
        Box::pin(async move {
            check_content_type(&req)?;
            // The bytes this body may take (its Content-Length, or the
            // limit), reserved before any is read: however many clients
            // send bodies slowly, together they hold a bounded amount.
            let share = match &state {
                Some(state) => {
                    let declared = req
                        .headers()
                        .get(header::CONTENT_LENGTH)
                        .and_then(|v| v.to_str().ok()?.parse::<usize>().ok())
                        .map_or(state.body_limit, |n| n.min(state.body_limit));
                    let kib = u32::try_from(declared / 1024 + 1).unwrap_or(u32::MAX).min(state.bodies_kib);
                    let wait = std::time::Duration::from_secs(2);
                    match tokio::time::timeout(wait, state.body_budget.clone().acquire_many_owned(kib)).await {
                        Ok(Ok(permit)) => Some(permit),
                        _ => {
                            return Err(ApiError::unavailable(
                                "the server is receiving as many request bodies as it holds at once; retry shortly",
                            ))
                        }
                    }
                }
                None => None,
            };
            let bytes = tokio::time::timeout(timeout, bytes).await.map_err(|_| {
                ApiError::new(
                    actix_web::http::StatusCode::REQUEST_TIMEOUT,
                    crate::error::ProblemKind::RequestTimeout,
                    format!("the request body did not arrive within {} s", timeout.as_secs()),
                )
                .with_header(header::CONNECTION, "close")
            })?;
            let bytes = bytes.map_err(|e| match e.as_response_error().status_code().as_u16() {
                413 => ApiError::payload_too_large("the request body is larger than this server accepts"),
                _ => ApiError::bad_request(format!("the request body could not be read: {e}")),
            })?;
            Ok(JsonBody(bytes, share))
        })
    }
}

/// The pointer to the first string (or key) holding U+0000, which
/// PostgreSQL cannot store in text.
fn find_nul(value: &serde_json::Value, pointer: &mut String) -> Option<String> {
    match value {
        serde_json::Value::String(s) if s.contains('\0') => Some(pointer.clone()),
        serde_json::Value::Array(items) => items.iter().enumerate().find_map(|(i, v)| {
            let len = pointer.len();
            pointer.push_str(&format!("/{i}"));
            let found = find_nul(v, pointer);
            pointer.truncate(len);
            found
        }),
        serde_json::Value::Object(map) => map.iter().find_map(|(k, v)| {
            let len = pointer.len();
            pointer.push('/');
            pointer.push_str(&k.replace('~', "~0").replace('/', "~1"));
            let found = if k.contains('\0') { Some(pointer.clone()) } else { find_nul(v, pointer) };
            pointer.truncate(len);
            found
        }),
        _ => None,
    }
}

impl<T: DeserializeOwned + 'static> FromRequest for Json<T> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let fut = JsonValue::from_request(req, payload);
        Box::pin(async move { from_value(fut.await?.0).map(Json) })
    }
}

/// Errors of actix's own `web::Query` extractor.
pub fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|e, _| ApiError::bad_request(format!("invalid query string: {e}")).into())
}

/// Errors of actix's own `web::Path` extractor.
pub fn path_config() -> web::PathConfig {
    web::PathConfig::default().error_handler(|e, _| ApiError::not_found(format!("invalid path: {e}")).into())
}

/// A query string whose parameters may repeat or carry comma-separated
/// lists. Every parameter must be consumed: an unknown one is a 400, so a
/// typo never silently widens a filter.
pub struct QueryParams {
    params: BTreeMap<String, Vec<String>>,
}

impl QueryParams {
    pub fn from_request(req: &HttpRequest) -> Result<Self, ApiError> {
        Self::parse(req.query_string())
    }

    /// Reads a query string (without its `?`).
    pub fn parse(query: &str) -> Result<Self, ApiError> {
        let mut params: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
            if k.contains('\0') || v.contains('\0') {
                return Err(ApiError::bad_query(
                    &clip(&k.replace('\0', "")),
                    "a query cannot contain the NUL character",
                ));
            }
            params.entry(k.into_owned()).or_default().push(v.into_owned());
        }
        Ok(Self { params })
    }

    /// A parameter given at most once.
    pub fn one(&mut self, name: &str) -> Result<Option<String>, ApiError> {
        match self.params.remove(name) {
            None => Ok(None),
            Some(mut v) if v.len() == 1 => Ok(v.pop()),
            Some(_) => Err(ApiError::bad_query(name, "give this parameter once")),
        }
    }

    pub fn one_parsed<T: FromStr>(&mut self, name: &str, what: &str) -> Result<Option<T>, ApiError> {
        self.one(name)?
            .map(|v| {
                v.trim().parse::<T>().map_err(|_| ApiError::bad_query(name, format!("`{}` is not {what}", clip(&v))))
            })
            .transpose()
    }

    pub fn one_with<T>(
        &mut self,
        name: &str,
        parse: impl Fn(&str) -> Result<T, String>,
    ) -> Result<Option<T>, ApiError> {
        self.one(name)?.map(|v| parse(&v).map_err(|e| ApiError::bad_query(name, e))).transpose()
    }

    /// A list: the parameter repeated, comma-separated, or both.
    pub fn list_with<T>(&mut self, name: &str, parse: impl Fn(&str) -> Result<T, String>) -> Result<Vec<T>, ApiError> {
        let mut out = Vec::new();
        for raw in self.params.remove(name).unwrap_or_default() {
            for item in raw.split(',').map(str::trim) {
                if item.is_empty() {
                    return Err(ApiError::bad_query(name, "an empty value; leave the parameter out instead"));
                }
                out.push(parse(item).map_err(|e| ApiError::bad_query(name, e))?);
            }
        }
        if out.len() > 100 {
            return Err(ApiError::bad_query(name, "at most 100 values"));
        }
        Ok(out)
    }

    pub fn bool(&mut self, name: &str) -> Result<Option<bool>, ApiError> {
        self.one_with(name, |v| match v {
            "true" | "1" => Ok(true),
            "false" | "0" => Ok(false),
            _ => Err(format!("`{}` is not true or false", clip(v))),
        })
    }

    /// Fails on any parameter not consumed.
    pub fn finish(self) -> Result<(), ApiError> {
        match self.params.keys().next() {
            None => Ok(()),
            Some(name) => Err(ApiError::bad_query(&clip(name), "unknown parameter")),
        }
    }
}

pub fn clip(s: &str) -> String {
    s.chars().take(80).collect()
}
