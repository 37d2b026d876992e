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
        Ok(Ok(())) => Ok(HttpResponse::Ok().json(Status { status: "ready" })),
        Ok(Err(e)) => Err(e),
        Err(_) => Err(ApiError::unavailable("the database did not answer within 3 s")),
    }
}
