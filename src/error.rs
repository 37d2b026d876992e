//! The one error type of the HTTP API. Every error answer is an RFC 9457
//! `application/problem+json` document.

use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::ToSchema;

pub const PROBLEM_JSON: &str = "application/problem+json";

/// One invalid field of a request.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq, Eq)]
pub struct FieldError {
    /// JSON Pointer (RFC 6901) to the field in the request body, or
    /// `/query/<name>` for a query parameter and `/headers/<name>` for a header.
    #[schema(example = "/claims/0/target")]
    pub pointer: String,
    /// What is wrong with it.
    #[schema(example = "an accusation needs a target")]
    pub detail: String,
}

impl FieldError {
    pub fn new(pointer: impl Into<String>, detail: impl Into<String>) -> Self {
        Self { pointer: pointer.into(), detail: detail.into() }
    }
}

/// An RFC 9457 problem document.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "type": "urn:ceasefire:problem:validation",
    "title": "The request is invalid",
    "status": 422,
    "detail": "1 field is invalid",
    "errors": [{"pointer": "/claims/0/target", "detail": "an accusation needs a target"}]
}))]
pub struct Problem {
    /// A URI naming the kind of problem: `urn:ceasefire:problem:<kind>`.
    #[serde(rename = "type")]
    pub type_: String,
    /// A short summary of the kind of problem.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// What went wrong with this request.
    pub detail: String,
    /// The invalid fields, for validation problems.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<FieldError>>,
}

#[derive(Debug, thiserror::Error)]
#[error("{status} {kind}: {detail}")]
pub struct ApiError {
    pub status: StatusCode,
    pub kind: &'static str,
    pub title: &'static str,
    pub detail: String,
    pub errors: Vec<FieldError>,
    pub headers: Vec<(HeaderName, HeaderValue)>,
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn new(status: StatusCode, kind: &'static str, title: &'static str, detail: impl Into<String>) -> Self {
        Self { status, kind, title, detail: detail.into(), errors: Vec::new(), headers: Vec::new() }
    }

    pub fn with_header(mut self, name: HeaderName, value: &str) -> Self {
        if let Ok(v) = HeaderValue::from_str(value) {
            self.headers.push((name, v));
        }
        self
    }

    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad-request", "The request is malformed", detail)
    }

    /// A query parameter that cannot be understood.
    pub fn bad_query(name: &str, detail: impl Into<String>) -> Self {
        let detail = detail.into();
        let mut e = Self::bad_request(format!("query parameter `{name}`: {detail}"));
        e.kind = "invalid-query";
        e.title = "A query parameter is invalid";
        e.errors.push(FieldError::new(format!("/query/{name}"), detail));
        e
    }

    pub fn malformed_json(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "malformed-json", "The body is not valid JSON", detail)
    }

    pub fn validation(errors: Vec<FieldError>) -> Self {
        let detail = match errors.as_slice() {
            [one] => format!("{}: {}", one.pointer, one.detail),
            many => format!("{} fields are invalid", many.len()),
        };
        Self { errors, ..Self::new(StatusCode::UNPROCESSABLE_ENTITY, "validation", "The request is invalid", detail) }
    }

    pub fn field(pointer: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::validation(vec![FieldError::new(pointer, detail)])
    }

    pub fn unsupported_media_type(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported-media-type", "Unsupported content type", detail)
    }

    pub fn not_acceptable(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_ACCEPTABLE, "not-acceptable", "No acceptable representation", detail)
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not-found", "Not found", detail)
    }

    pub fn gone(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::GONE, "gone", "Deleted", detail)
    }

    pub fn method_not_allowed() -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method-not-allowed",
            "Method not allowed",
            "this resource does not support that method",
        )
    }

    pub fn conflict(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "conflict", "Conflict", detail)
    }

    pub fn payload_too_large(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::PAYLOAD_TOO_LARGE, "payload-too-large", "The body is too large", detail)
    }

    pub fn precondition_failed(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::PRECONDITION_FAILED, "precondition-failed", "The resource has changed", detail)
    }

    pub fn precondition_required(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::PRECONDITION_REQUIRED, "precondition-required", "If-Match is required", detail)
    }

    pub fn idempotency_mismatch() -> Self {
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "idempotency-key-reused",
            "Idempotency-Key reused with another request",
            "this Idempotency-Key was first used with a different request; use a new key for a new request",
        )
    }

    pub fn unavailable(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", "Service unavailable", detail)
            .with_header(header::RETRY_AFTER, "1")
    }

    /// An unexpected failure. The cause is logged (inside the request's
    /// span, so with its request id) and never sent to the client.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Internal error",
            "an internal error occurred; quote the X-Request-Id response header when reporting it",
        )
    }

    pub fn problem(&self) -> Problem {
        Problem {
            type_: format!("urn:ceasefire:problem:{}", self.kind),
            title: self.title.to_string(),
            status: self.status.as_u16(),
            detail: self.detail.clone(),
            errors: if self.errors.is_empty() { None } else { Some(self.errors.clone()) },
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut res = HttpResponse::build(self.status);
        res.content_type(PROBLEM_JSON);
        for (name, value) in &self.headers {
            res.insert_header((name.clone(), value.clone()));
        }
        res.json(self.problem())
    }
}

impl From<diesel::result::Error> for ApiError {
    fn from(e: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind, Error};
        match &e {
            Error::NotFound => Self::not_found("no such record"),
            Error::DatabaseError(DatabaseErrorKind::SerializationFailure, _) => {
                Self::unavailable("the write conflicted with a concurrent one; retry it")
            }
            Error::DatabaseError(DatabaseErrorKind::Unknown, info) if info.message().contains("statement timeout") => {
                Self::unavailable("the query took too long and was cancelled")
            }
            Error::DatabaseError(DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand, _)
            | Error::BrokenTransactionManager => Self::unavailable("the database connection was lost; retry"),
            // The server is stopping, starting or failing over (SQLSTATE 57P01-57P03 and friends).
            Error::DatabaseError(_, info) if is_server_going_away(info.message()) => {
                Self::unavailable("the database is restarting; retry shortly")
            }
            // The database's own rules back up the checks made in code; a
            // request that slips past those is still the client's error.
            Error::DatabaseError(DatabaseErrorKind::CheckViolation | DatabaseErrorKind::ForeignKeyViolation, info) => {
                tracing::warn!(error = %info.message(), "a database rule refused a write the code let through");
                Self::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "validation",
                    "The request is invalid",
                    format!("the record breaks a rule: {}", info.message()),
                )
            }
            Error::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => Self::conflict("the record exists already"),
            // A value PostgreSQL cannot take (SQLSTATE class 22: out of
            // range, invalid syntax, overflow) came from the request, since
            // stored values are valid: the client's error, never a 500.
            Error::DatabaseError(DatabaseErrorKind::Unknown, info) if is_data_exception(info.message()) => {
                tracing::warn!(error = %info.message(), "PostgreSQL refused a value the code let through");
                Self::bad_request(format!("a value of the request is out of range: {}", info.message()))
            }
            _ => Self::internal(format!("{e} ({e:?})")),
        }
    }
}

/// The messages of PostgreSQL's data exceptions (SQLSTATE class 22), which
/// diesel-async does not pass on as codes.
fn is_data_exception(message: &str) -> bool {
    [
        "out of range",
        "invalid input syntax",
        "invalid input value",
        "numeric field overflow",
        "value too long",
        "division by zero",
        "invalid regular expression",
        "invalid escape",
        "is not recognized",
        "invalid byte sequence",
        "null character not permitted",
        "unsupported Unicode escape",
        "invalid time zone",
        "invalid value for",
        "array size exceeds",
    ]
    .iter()
    .any(|m| message.contains(m))
}

fn is_server_going_away(message: &str) -> bool {
    ["terminating connection", "shutting down", "starting up", "in recovery", "connection reset", "connection closed"]
        .iter()
        .any(|m| message.contains(m))
}
