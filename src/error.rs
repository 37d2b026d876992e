//! The one error type of the HTTP API. Every error answer is an RFC 9457
//! `application/problem+json` document.

use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::ToSchema;

pub const PROBLEM_JSON: &str = "application/problem+json";

/// Every kind of problem the server answers: the last part of a problem's
/// `type` (`urn:ceasefire:problem:<kind>`), its `title`, and what it means.
/// The OpenAPI document lists them as the enum of `Problem.type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProblemKind {
    /// The request could not be understood: a header, the body or the query string.
    BadRequest,
    /// A query parameter is unknown, repeated, or has a value it cannot take; `errors` points at it as `/query/<name>`.
    InvalidQuery,
    /// The body is not valid JSON.
    MalformedJson,
    /// The body (or a header) breaks a rule; `errors` lists each field with a JSON pointer.
    Validation,
    /// The body is not sent as JSON.
    UnsupportedMediaType,
    /// The Accept header allows none of the operation's formats.
    NotAcceptable,
    /// Nothing exists at this path or id.
    NotFound,
    /// The incident was deleted; its history remains.
    Gone,
    /// The resource does not support this method; `Allow` lists those it does.
    MethodNotAllowed,
    /// A record with this identifier exists already.
    Conflict,
    /// The body is larger than the server accepts.
    PayloadTooLarge,
    /// `If-Match` does not name the current version; `ETag` has the current one.
    PreconditionFailed,
    /// The change needs `If-Match` with the resource's ETag.
    PreconditionRequired,
    /// The `Idempotency-Key` was first used with a different request.
    IdempotencyKeyReused,
    /// The database is unavailable or the query took too long; retry after `Retry-After`.
    Unavailable,
    /// An unexpected failure; quote `X-Request-Id` when reporting it.
    Internal,
    /// No valid API key was sent (`WWW-Authenticate` says why).
    Unauthorized,
    /// The API key's role is below what the operation needs.
    Forbidden,
    /// Over the rate limit or this client's share of expensive reads; retry after `Retry-After`.
    TooManyRequests,
    /// A count would hold more buckets (periods × groups) than the server's limit; `detail` names both.
    TooManyBuckets,
    /// The request's head or body did not arrive within the request timeout.
    RequestTimeout,
    /// The request target is longer than the server accepts.
    UriTooLong,
    /// The header section is larger than the server accepts.
    HeadersTooLarge,
}

impl ProblemKind {
    pub const ALL: [ProblemKind; 23] = [
        ProblemKind::BadRequest,
        ProblemKind::InvalidQuery,
        ProblemKind::MalformedJson,
        ProblemKind::Validation,
        ProblemKind::UnsupportedMediaType,
        ProblemKind::NotAcceptable,
        ProblemKind::NotFound,
        ProblemKind::Gone,
        ProblemKind::MethodNotAllowed,
        ProblemKind::Conflict,
        ProblemKind::PayloadTooLarge,
        ProblemKind::PreconditionFailed,
        ProblemKind::PreconditionRequired,
        ProblemKind::IdempotencyKeyReused,
        ProblemKind::Unavailable,
        ProblemKind::Internal,
        ProblemKind::Unauthorized,
        ProblemKind::Forbidden,
        ProblemKind::TooManyRequests,
        ProblemKind::TooManyBuckets,
        ProblemKind::RequestTimeout,
        ProblemKind::UriTooLong,
        ProblemKind::HeadersTooLarge,
    ];

    pub fn name(self) -> &'static str {
        match self {
            ProblemKind::BadRequest => "bad-request",
            ProblemKind::InvalidQuery => "invalid-query",
            ProblemKind::MalformedJson => "malformed-json",
            ProblemKind::Validation => "validation",
            ProblemKind::UnsupportedMediaType => "unsupported-media-type",
            ProblemKind::NotAcceptable => "not-acceptable",
            ProblemKind::NotFound => "not-found",
            ProblemKind::Gone => "gone",
            ProblemKind::MethodNotAllowed => "method-not-allowed",
            ProblemKind::Conflict => "conflict",
            ProblemKind::PayloadTooLarge => "payload-too-large",
            ProblemKind::PreconditionFailed => "precondition-failed",
            ProblemKind::PreconditionRequired => "precondition-required",
            ProblemKind::IdempotencyKeyReused => "idempotency-key-reused",
            ProblemKind::Unavailable => "unavailable",
            ProblemKind::Internal => "internal",
            ProblemKind::Unauthorized => "unauthorized",
            ProblemKind::Forbidden => "forbidden",
            ProblemKind::TooManyRequests => "too-many-requests",
            ProblemKind::TooManyBuckets => "too-many-buckets",
            ProblemKind::RequestTimeout => "request-timeout",
            ProblemKind::UriTooLong => "uri-too-long",
            ProblemKind::HeadersTooLarge => "headers-too-large",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            ProblemKind::BadRequest => "The request is malformed",
            ProblemKind::InvalidQuery => "A query parameter is invalid",
            ProblemKind::MalformedJson => "The body is not valid JSON",
            ProblemKind::Validation => "The request is invalid",
            ProblemKind::UnsupportedMediaType => "Unsupported content type",
            ProblemKind::NotAcceptable => "No acceptable representation",
            ProblemKind::NotFound => "Not found",
            ProblemKind::Gone => "Deleted",
            ProblemKind::MethodNotAllowed => "Method not allowed",
            ProblemKind::Conflict => "Conflict",
            ProblemKind::PayloadTooLarge => "The body is too large",
            ProblemKind::PreconditionFailed => "The resource has changed",
            ProblemKind::PreconditionRequired => "If-Match is required",
            ProblemKind::IdempotencyKeyReused => "Idempotency-Key reused with another request",
            ProblemKind::Unavailable => "Service unavailable",
            ProblemKind::Internal => "Internal error",
            ProblemKind::Unauthorized => "A valid API key is required",
            ProblemKind::Forbidden => "The key's role does not allow this",
            ProblemKind::TooManyRequests => "Too many requests",
            ProblemKind::TooManyBuckets => "The answer would be too large",
            ProblemKind::RequestTimeout => "The request took too long to arrive",
            ProblemKind::UriTooLong => "The URI is too long",
            ProblemKind::HeadersTooLarge => "The headers are too large",
        }
    }

    pub fn description(self) -> &'static str {
        match self {
            ProblemKind::BadRequest => "The request could not be understood: a header, the body or the query string.",
            ProblemKind::InvalidQuery => "A query parameter is unknown, repeated, or has a value it cannot take; `errors` points at it as `/query/<name>`.",
            ProblemKind::MalformedJson => "The body is not valid JSON.",
            ProblemKind::Validation => "The body (or a header) breaks a rule; `errors` lists each field with a JSON pointer.",
            ProblemKind::UnsupportedMediaType => "The body is not sent as JSON.",
            ProblemKind::NotAcceptable => "The Accept header allows none of the operation's formats.",
            ProblemKind::NotFound => "Nothing exists at this path or id.",
            ProblemKind::Gone => "The incident was deleted; its history remains.",
            ProblemKind::MethodNotAllowed => "The resource does not support this method; `Allow` lists those it does.",
            ProblemKind::Conflict => "A record with this identifier exists already.",
            ProblemKind::PayloadTooLarge => "The body is larger than the server accepts.",
            ProblemKind::PreconditionFailed => "`If-Match` does not name the current version; `ETag` has the current one.",
            ProblemKind::PreconditionRequired => "The change needs `If-Match` with the resource's ETag.",
            ProblemKind::IdempotencyKeyReused => "The `Idempotency-Key` was first used with a different request.",
            ProblemKind::Unavailable => "The database is unavailable or the query took too long; retry after `Retry-After`.",
            ProblemKind::Internal => "An unexpected failure; quote `X-Request-Id` when reporting it.",
            ProblemKind::Unauthorized => "No valid API key was sent (`WWW-Authenticate` says why).",
            ProblemKind::Forbidden => "The API key's role is below what the operation needs.",
            ProblemKind::TooManyRequests => "Over the rate limit or this client's share of expensive reads; retry after `Retry-After`.",
            ProblemKind::TooManyBuckets => "A count would hold more buckets (periods × groups) than the server's limit; `detail` names both.",
            ProblemKind::RequestTimeout => "The request's head or body did not arrive within the request timeout.",
            ProblemKind::UriTooLong => "The request target is longer than the server accepts.",
            ProblemKind::HeadersTooLarge => "The header section is larger than the server accepts.",
        }
    }

    /// The problem's `type`.
    pub fn urn(self) -> String {
        format!("urn:ceasefire:problem:{}", self.name())
    }
}

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
#[error("{status} {}: {detail}", kind.name())]
pub struct ApiError {
    pub status: StatusCode,
    pub kind: ProblemKind,
    pub detail: String,
    pub errors: Vec<FieldError>,
    pub headers: Vec<(HeaderName, HeaderValue)>,
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn new(status: StatusCode, kind: ProblemKind, detail: impl Into<String>) -> Self {
        Self { status, kind, detail: detail.into(), errors: Vec::new(), headers: Vec::new() }
    }

    pub fn with_header(mut self, name: HeaderName, value: &str) -> Self {
        if let Ok(v) = HeaderValue::from_str(value) {
            self.headers.push((name, v));
        }
        self
    }

    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, ProblemKind::BadRequest, detail)
    }

    /// A query parameter that cannot be understood.
    pub fn bad_query(name: &str, detail: impl Into<String>) -> Self {
        let detail = detail.into();
        let mut e = Self::bad_request(format!("query parameter `{name}`: {detail}"));
        e.kind = ProblemKind::InvalidQuery;
        e.errors.push(FieldError::new(format!("/query/{name}"), detail));
        e
    }

    pub fn malformed_json(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, ProblemKind::MalformedJson, detail)
    }

    pub fn validation(errors: Vec<FieldError>) -> Self {
        let detail = match errors.as_slice() {
            [one] => format!("{}: {}", one.pointer, one.detail),
            many => format!("{} fields are invalid", many.len()),
        };
        Self { errors, ..Self::new(StatusCode::UNPROCESSABLE_ENTITY, ProblemKind::Validation, detail) }
    }

    pub fn field(pointer: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::validation(vec![FieldError::new(pointer, detail)])
    }

    pub fn unsupported_media_type(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, ProblemKind::UnsupportedMediaType, detail)
    }

    pub fn not_acceptable(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_ACCEPTABLE, ProblemKind::NotAcceptable, detail)
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, ProblemKind::NotFound, detail)
    }

    pub fn gone(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::GONE, ProblemKind::Gone, detail)
    }

    pub fn method_not_allowed() -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            ProblemKind::MethodNotAllowed,
            "this resource does not support that method",
        )
    }

    pub fn conflict(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, ProblemKind::Conflict, detail)
    }

    pub fn payload_too_large(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::PAYLOAD_TOO_LARGE, ProblemKind::PayloadTooLarge, detail)
    }

    pub fn precondition_failed(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::PRECONDITION_FAILED, ProblemKind::PreconditionFailed, detail)
    }

    pub fn precondition_required(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::PRECONDITION_REQUIRED, ProblemKind::PreconditionRequired, detail)
    }

    pub fn idempotency_mismatch() -> Self {
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            ProblemKind::IdempotencyKeyReused,
            "this Idempotency-Key was first used with a different request; use a new key for a new request",
        )
    }

    pub fn unavailable(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, ProblemKind::Unavailable, detail)
            .with_header(header::RETRY_AFTER, "1")
    }

    /// An unexpected failure. The cause is logged (inside the request's
    /// span, so with its request id) and never sent to the client.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            ProblemKind::Internal,
            "an internal error occurred; quote the X-Request-Id response header when reporting it",
        )
    }

    pub fn problem(&self) -> Problem {
        Problem {
            type_: self.kind.urn(),
            title: self.kind.title().to_string(),
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
                    ProblemKind::Validation,
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
        "not recognized",
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
