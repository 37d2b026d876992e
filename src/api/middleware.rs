//! Middleware that applies to every answer.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::middleware::{ErrorHandlerResponse, ErrorHandlers, Next};
use actix_web::{Error, HttpMessage, HttpResponse};

use crate::error::{ApiError, PROBLEM_JSON};

/// Turns every error answer that is not already problem+json (actix's own
/// 404, 405, 413, extractor errors) into one, keeping its status and headers.
pub fn problem_for_every_error<B: MessageBody + 'static>() -> ErrorHandlers<B> {
    ErrorHandlers::new().default_handler(|res: ServiceResponse<B>| {
        let is_problem =
            res.headers().get(header::CONTENT_TYPE).is_some_and(|v| v.as_bytes().starts_with(PROBLEM_JSON.as_bytes()));
        if is_problem {
            return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
        }
        let status = res.status();
        let detail = match status {
            StatusCode::NOT_FOUND => format!("nothing at {}", truncate(res.request().path())),
            StatusCode::METHOD_NOT_ALLOWED => {
                format!("{} is not allowed on {}", res.request().method(), truncate(res.request().path()))
            }
            StatusCode::PAYLOAD_TOO_LARGE => "the request body is larger than this server accepts".to_string(),
            s if s.is_server_error() => {
                "an internal error occurred; quote the X-Request-Id response header when reporting it".into()
            }
            _ => res
                .response()
                .error()
                .map(|e| e.to_string())
                .unwrap_or_else(|| status.canonical_reason().unwrap_or("error").into()),
        };
        let (kind, title) = match status {
            StatusCode::NOT_FOUND => ("not-found", "Not found"),
            StatusCode::METHOD_NOT_ALLOWED => ("method-not-allowed", "Method not allowed"),
            StatusCode::PAYLOAD_TOO_LARGE => ("payload-too-large", "The body is too large"),
            s if s.is_server_error() => ("internal", "Internal error"),
            _ => ("bad-request", "The request is malformed"),
        };
        let problem = ApiError::new(status, kind, title, detail);
        let (req, old) = res.into_parts();
        let mut new = HttpResponse::build(status);
        for (name, value) in old.headers() {
            if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
                new.append_header((name.clone(), value.clone()));
            }
        }
        let new = new.content_type(PROBLEM_JSON).json(problem.problem());
        Ok(ErrorHandlerResponse::Response(ServiceResponse::new(req, new).map_into_right_body()))
    })
}

fn truncate(s: &str) -> String {
    s.chars().take(200).collect()
}

/// Echoes the request id that `TracingLogger` gave the request as
/// `X-Request-Id`, so a client can quote it and an operator find the logs.
pub async fn request_id_header(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let id = req.extensions().get::<tracing_actix_web::RequestId>().map(|id| id.to_string());
    let mut res = next.call(req).await?;
    if let Some(id) = id.and_then(|id| HeaderValue::from_str(&id).ok()) {
        res.headers_mut().insert(header::HeaderName::from_static("x-request-id"), id);
    }
    Ok(res)
}
