//! The HTTP API: routes, the OpenAPI document, and one module per resource.

pub mod claims;
pub mod common;
pub mod extract;
pub mod filters;
pub mod incidents;
pub mod middleware;
pub mod ops;
pub mod parties;

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use utoipa::OpenApi;
use utoipa_swagger_ui::SwaggerUi;

use crate::error::ApiError;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Ceasefire",
        description = "The record of reported ceasefire violations and border incidents, and of what each party said about them: who accused whom, who denied it, who confirmed it.\n\nEvery error is an RFC 9457 `application/problem+json` document; validation problems list each invalid field with a JSON pointer in `errors`.\n\nEvery POST accepts an `Idempotency-Key`: a retry with the same key and body replays the first answer (with `Idempotent-Replayed: true`); the same key with another body is a 422. Keys are kept per API key.",
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
    ),
    paths(
        ops::healthz, ops::readyz,
        parties::list, parties::create, parties::get, parties::patch,
        incidents::list, incidents::create, incidents::batch, incidents::get, incidents::patch, incidents::delete, incidents::history,
        claims::create, claims::list, claims::get,
    ),
    components(schemas(crate::error::Problem, crate::error::FieldError)),
    tags(
        (name = "incidents", description = "Incidents with their claims, attribution and history"),
        (name = "claims", description = "What each party said about an incident"),
        (name = "parties", description = "Who can accuse, be accused, deny or confirm"),
        (name = "operations", description = "Health and readiness"),
    )
)]
pub struct ApiDoc;

/// The OpenAPI document, as served at `/openapi.json`.
pub fn openapi_json() -> String {
    ApiDoc::openapi().to_pretty_json().expect("the OpenAPI document serializes")
}

/// 405 for a method a resource does not have, naming those it has.
fn not_allowed(
    allow: &'static str,
) -> impl Fn(HttpRequest) -> std::future::Ready<Result<HttpResponse, ApiError>> + Clone {
    move |_req| std::future::ready(Err(ApiError::method_not_allowed().with_header(header::ALLOW, allow)))
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/healthz").route(web::get().to(ops::healthz)).default_service(web::to(not_allowed("GET"))),
    )
    .service(web::resource("/readyz").route(web::get().to(ops::readyz)).default_service(web::to(not_allowed("GET"))))
    .service(SwaggerUi::new("/docs/{_:.*}").url("/openapi.json", ApiDoc::openapi()))
    .service(web::redirect("/docs", "/docs/"))
    .service(
        web::scope("/v1")
            .service(
                web::resource("/parties")
                    .route(web::get().to(parties::list))
                    .route(web::post().to(parties::create))
                    .default_service(web::to(not_allowed("GET, POST"))),
            )
            .service(
                web::resource("/parties/{slug}")
                    .route(web::get().to(parties::get))
                    .route(web::patch().to(parties::patch))
                    .default_service(web::to(not_allowed("GET, PATCH"))),
            )
            .service(
                web::resource("/incidents")
                    .route(web::get().to(incidents::list))
                    .route(web::post().to(incidents::create))
                    .default_service(web::to(not_allowed("GET, POST"))),
            )
            .service(
                web::resource("/incidents/batch")
                    .route(web::post().to(incidents::batch))
                    .default_service(web::to(not_allowed("POST"))),
            )
            .service(
                web::resource("/incidents/{id}")
                    .route(web::get().to(incidents::get))
                    .route(web::patch().to(incidents::patch))
                    .route(web::delete().to(incidents::delete))
                    .default_service(web::to(not_allowed("GET, PATCH, DELETE"))),
            )
            .service(
                web::resource("/incidents/{id}/history")
                    .route(web::get().to(incidents::history))
                    .default_service(web::to(not_allowed("GET"))),
            )
            .service(
                web::resource("/incidents/{id}/claims")
                    .route(web::post().to(claims::create))
                    .default_service(web::to(not_allowed("POST"))),
            )
            .service(
                web::resource("/claims")
                    .route(web::get().to(claims::list))
                    .default_service(web::to(not_allowed("GET"))),
            )
            .service(
                web::resource("/claims/{id}")
                    .route(web::get().to(claims::get))
                    .default_service(web::to(not_allowed("GET"))),
            ),
    );
}
