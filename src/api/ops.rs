//! Operations endpoints: liveness and readiness.

use std::time::Duration;

use actix_web::{web, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

use crate::api::state::AppState;
use crate::db;
use crate::error::{ApiError, Problem};

#[derive(Serialize, ToSchema)]
pub struct Status {
    #[schema(example = "ok")]
    pub status: &'static str,
}

/// The process is up.
#[utoipa::path(get, path = "/healthz", tag = "operations", responses((status = 200, description = "The process is up", body = Status)))]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(Status { status: "ok" })
}

/// The database is reachable and every migration is applied.
#[utoipa::path(
    get, path = "/readyz", tag = "operations",
    responses(
        (status = 200, description = "Ready to serve", body = Status),
        (status = 503, description = "The database is unreachable or not migrated", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn readyz(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    // One check at a time, its answer reused for a second: a flood of
    // probes (exempt from rate limits) costs one connection a second.
    let mut last = state.readiness.lock().await;
    let answer = match last.as_ref() {
        Some((at, answer)) if at.elapsed() < Duration::from_secs(1) => answer.clone(),
        _ => {
            let answer = check_ready(&state).await.map_err(|e| e.detail);
            *last = Some((std::time::Instant::now(), answer.clone()));
            answer
        }
    };
    drop(last);
    match answer {
        Ok(()) => Ok(HttpResponse::Ok().json(Status { status: "ready" })),
        Err(detail) => Err(ApiError::unavailable(detail)),
    }
}

async fn check_ready(state: &AppState) -> Result<(), ApiError> {
    let check = async {
        let mut conn =
            state.pool.get().await.map_err(|e| ApiError::unavailable(format!("no database connection: {e}")))?;
        match db::migrations_applied(&mut conn).await {
            Ok(true) => Ok(()),
            Ok(false) => Err(ApiError::unavailable("database migrations are pending")),
            Err(e) => Err(ApiError::unavailable(format!("the database did not answer: {e}"))),
        }
    };
    match tokio::time::timeout(Duration::from_secs(3), check).await {
        Ok(result) => result,
        Err(_) => Err(ApiError::unavailable("the database did not answer within 3 s")),
    }
}
