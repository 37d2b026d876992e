//! The HTTP API: routes, the OpenAPI document, and one module per resource.

pub mod answers;
pub mod auth;
pub mod claims;
pub mod client;
pub mod coalesce;
pub mod common;
pub mod cursor;
pub mod expensive;
pub mod export;
pub mod extract;
pub mod filters;
pub mod incidents;
pub mod keys;
pub mod layouts;
pub mod live;
pub mod metrics;
pub mod middleware;
pub mod negotiate;
pub mod ops;
pub mod parties;
pub mod places;
pub mod spec;
pub mod state;
pub mod stats;
pub mod xlsx;

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use utoipa::OpenApi;
use utoipa_swagger_ui::SwaggerUi;

use crate::error::ApiError;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Ceasefire",
        description = "The record of reported ceasefire violations and border incidents, and of what each party said about them: who accused whom, who denied it, who confirmed it.\n\nEvery error is an RFC 9457 `application/problem+json` document; validation problems list each invalid field with a JSON pointer in `errors`.\n\nEvery POST accepts an `Idempotency-Key`: a retry with the same key and body replays the first answer (with `Idempotent-Replayed: true`); the same key with another body is a 422. Keys are kept per API key, for 24 hours by default (`CEASEFIRE_IDEMPOTENCY_TTL`).\n\nLimits that protect the service: a count answers at most 100,000 buckets (periods × groups, `CEASEFIRE_MAX_BUCKETS`), refused before any work with a 400 `urn:ceasefire:problem:too-many-buckets` that names the figure; expensive reads (counts the rollups cannot answer, `q`, `bbox`, `include_deleted`, exports) share a few permits per instance and per client, and beyond them get 429 with `Retry-After`; reads by id and writes never wait for them. Cursors are signed: one that does not verify is a 400. Every CSV cell of text that a spreadsheet would run as a formula (beginning with `=`, `+`, `-`, `@`, tab or CR) starts with a `'`, which `ceasefire import` removes again. The incident list and the counts, which answer several formats, negotiate `Accept` with quality values: a header that allows none of them gets 406.\n\nCaching. Public reads (incidents, their history, claims, lists, counts) carry a strong `ETag` and `Cache-Control: public, max-age=0, must-revalidate`, plus `s-maxage` and `stale-while-revalidate` when the operator allows shared caches to answer for a while (`CEASEFIRE_EDGE_MAX_AGE`, `CEASEFIRE_EDGE_STALE_WHILE_REVALIDATE`); `If-None-Match` gets a 304. Answers to requests with a key are `private, no-store`. Each instance remembers rendered public answers (`CEASEFIRE_CACHE_MB`, 64 by default) and serves one again only when no write has been acknowledged since it was computed, by any instance (a write is answered once every instance has voided what it remembered): a read that arrives after a write's 2xx always includes the write. Counts without `to` and the change feed (`updated_since`) are computed for every request.",
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
    ),
    paths(
        ops::healthz, ops::readyz, metrics::metrics,
        parties::list, parties::create, parties::get, parties::patch,
        places::list, places::create, places::get, places::patch,
        incidents::list::list, incidents::create::create, incidents::batch::batch, incidents::read::get, incidents::patch::patch, incidents::patch::delete, incidents::read::history,
        claims::create, claims::list, claims::get, claims::void,
        keys::create, keys::list, keys::revoke,
        stats::incidents, stats::claims,
        live::stream, live::create, live::list, live::get, live::patch, live::delete, live::deliveries, live::test,
    ),
    modifiers(&CommonAnswers),
    components(schemas(crate::error::Problem, crate::error::FieldError)),
    tags(
        (name = "incidents", description = "Incidents with their claims, attribution and history"),
        (name = "claims", description = "What each party said about an incident"),
        (name = "parties", description = "Who can accuse, be accused, deny or confirm"),
        (name = "places", description = "The gazetteer: places by every name they go by, with their administrative areas"),
        (name = "stats", description = "Counts by period, for dashboards"),
        (name = "live", description = "Changes as they commit: a server-sent event stream, and signed webhooks (Standard Webhooks) delivered at least once, in order"),
        (name = "keys", description = "API keys (admin)"),
        (name = "operations", description = "Health and readiness"),
    )
)]
pub struct ApiDoc;

/// Adds to every operation the answers any request may get (bad query,
/// missing or weak key, rate limit, unavailable database) and the bearer
/// security scheme.
struct CommonAnswers;

impl utoipa::Modify for CommonAnswers {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
        use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};

        let components = openapi.components.get_or_insert_with(Default::default);
        // IncidentFields refuses unknown fields as a request, but is also
        // part of IncidentView, where more fields follow.
        if let Some(utoipa::openapi::RefOr::T(utoipa::openapi::Schema::Object(fields))) =
            components.schemas.get_mut("IncidentFields")
        {
            fields.additional_properties = None;
        }
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("An API key: `Authorization: Bearer cf_...`, made by `ceasefire keys create` or `POST /v1/keys`. Writes need one of the role each operation names (reporter, editor, admin). Reads are public (an operation listing `{}` needs no key) unless the server runs with `--private-reads` (`CEASEFIRE_PRIVATE_READS=true`); then every read needs a key of any role, and an anonymous read is a 401."))
                    .build(),
            ),
        );
        let problem = |description: &str| {
            ResponseBuilder::new()
                .description(description)
                .content(
                    "application/problem+json",
                    ContentBuilder::new().schema(Some(Ref::from_schema_name("Problem"))).build(),
                )
                .build()
        };
        // The stream takes the incident filters but for the full-text
        // search and the change feed's own parameters.
        if let Some(get) = openapi.paths.paths.get_mut("/v1/events").and_then(|item| item.get.as_mut()) {
            if let Some(params) = get.parameters.as_mut() {
                params.retain(|p| !matches!(p.name.as_str(), "q" | "updated_since" | "include_deleted"));
            }
        }
        for (path, item) in openapi.paths.paths.iter_mut() {
            let api = path.starts_with("/v1/");
            for (method, op) in [
                ("get", &mut item.get),
                ("post", &mut item.post),
                ("patch", &mut item.patch),
                ("delete", &mut item.delete),
            ] {
                let Some(op) = op.as_mut() else { continue };
                let mut add = |status: &str, description: &str| {
                    op.responses.responses.entry(status.to_string()).or_insert_with(|| problem(description).into());
                };
                if !api {
                    continue;
                }
                add("400", "Malformed request: a query parameter, header or body that cannot be parsed");
                add("401", "No valid API key (writes always need one; reads when they are private)");
                add("403", "The API key's role does not allow this");
                add("414", "The request target is longer than 16 KiB");
                add("431", "The header section is larger than 32 KiB");
                add(
                    "429",
                    "Too many requests: the rate limit, or this client's share of expensive reads (counts the rollups cannot answer, `q`, `bbox`, `include_deleted`, exports); see Retry-After",
                );
                add("503", "The database is unavailable, or the request bodies being received fill the server's budget; retry shortly");
                if method != "get" && method != "delete" {
                    add("413", "The body is larger than the server accepts");
                    add("415", "The body is not JSON, or is compressed (request bodies are taken uncompressed)");
                    add("422", "The body is invalid; `errors` points at each field");
                    add("408", "The body did not arrive within the request timeout (30 s by default)");
                }
                // An operation that names its security (the admin's keys)
                // keeps it; reads need no key unless the server runs with
                // private reads (then any key); writes need one.
                if op.security.is_none() {
                    let mut security = vec![SecurityRequirement::new("bearer", Vec::<String>::new())];
                    if method == "get" {
                        security.insert(0, SecurityRequirement::default());
                    }
                    op.security = Some(security);
                }
            }
        }
    }
}

/// The OpenAPI document, as served at `/openapi.json`.
pub fn openapi_json() -> String {
    spec::document().to_pretty_json().expect("the OpenAPI document serializes")
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
    .service(
        web::resource("/metrics").route(web::get().to(metrics::metrics)).default_service(web::to(not_allowed("GET"))),
    )
    .service(
        // Deep links open an operation (`/docs/#/stats/incidentStats`); "try
        // it out" is on, so enums show as drop-downs at once.
        SwaggerUi::new("/docs/{_:.*}")
            .url("/openapi.json", spec::document())
            .config(utoipa_swagger_ui::Config::default().deep_linking(true).try_it_out_enabled(true)),
    )
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
                web::resource("/places")
                    .route(web::get().to(places::list))
                    .route(web::post().to(places::create))
                    .default_service(web::to(not_allowed("GET, POST"))),
            )
            .service(
                web::resource("/places/{slug}")
                    .route(web::get().to(places::get))
                    .route(web::patch().to(places::patch))
                    .default_service(web::to(not_allowed("GET, PATCH"))),
            )
            .service(
                web::resource("/incidents")
                    .route(web::get().to(incidents::list::list))
                    .route(web::post().to(incidents::create::create))
                    .default_service(web::to(not_allowed("GET, POST"))),
            )
            .service(
                web::resource("/incidents/batch")
                    .route(web::post().to(incidents::batch::batch))
                    .default_service(web::to(not_allowed("POST"))),
            )
            .service(
                web::resource("/incidents/{id}")
                    .route(web::get().to(incidents::read::get))
                    .route(web::patch().to(incidents::patch::patch))
                    .route(web::delete().to(incidents::patch::delete))
                    .default_service(web::to(not_allowed("GET, PATCH, DELETE"))),
            )
            .service(
                web::resource("/incidents/{id}/history")
                    .route(web::get().to(incidents::read::history))
                    .default_service(web::to(not_allowed("GET"))),
            )
            .service(
                web::resource("/incidents/{id}/claims")
                    .route(web::post().to(claims::create))
                    .default_service(web::to(not_allowed("POST"))),
            )
            .service(
                web::resource("/stats/incidents")
                    .route(web::get().to(stats::incidents))
                    .default_service(web::to(not_allowed("GET"))),
            )
            .service(
                web::resource("/stats/claims")
                    .route(web::get().to(stats::claims))
                    .default_service(web::to(not_allowed("GET"))),
            )
            .service(
                web::resource("/keys")
                    .route(web::get().to(keys::list))
                    .route(web::post().to(keys::create))
                    .default_service(web::to(not_allowed("GET, POST"))),
            )
            .service(
                web::resource("/keys/{id}")
                    .route(web::delete().to(keys::revoke))
                    .default_service(web::to(not_allowed("DELETE"))),
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
            )
            .service(
                web::resource("/claims/{id}/void")
                    .route(web::post().to(claims::void))
                    .default_service(web::to(not_allowed("POST"))),
            )
            .service(
                web::resource("/events")
                    .route(web::get().to(live::stream))
                    .default_service(web::to(not_allowed("GET"))),
            )
            .service(
                web::resource("/webhooks")
                    .route(web::get().to(live::list))
                    .route(web::post().to(live::create))
                    .default_service(web::to(not_allowed("GET, POST"))),
            )
            .service(
                web::resource("/webhooks/{id}")
                    .route(web::get().to(live::get))
                    .route(web::patch().to(live::patch))
                    .route(web::delete().to(live::delete))
                    .default_service(web::to(not_allowed("GET, PATCH, DELETE"))),
            )
            .service(
                web::resource("/webhooks/{id}/deliveries")
                    .route(web::get().to(live::deliveries))
                    .default_service(web::to(not_allowed("GET"))),
            )
            .service(
                web::resource("/webhooks/{id}/test")
                    .route(web::post().to(live::test))
                    .default_service(web::to(not_allowed("POST"))),
            ),
    );
}
