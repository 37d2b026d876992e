//! `/v1/places`: the gazetteer, places by every name they go by.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

use super::auth::{AsEditor, CanRead};
use super::common::idempotency;
use super::extract::{clip, from_value, JsonValue, QueryParams};
use super::state::AppState;
use crate::domain::place::{NewPlace, PlaceView};
use crate::domain::{CountryCode, PlaceSlug};
use crate::error::{ApiError, ApiResult, Problem};
use crate::ledger::places::{no_place, view};
use crate::store::places::{self, PlaceFilter};

#[derive(Debug, Serialize, ToSchema)]
pub struct PlaceList {
    /// By slug.
    pub data: Vec<PlaceView>,
}

/// List places, by slug.
#[utoipa::path(
    operation_id = "listPlaces",get, path = "/v1/places", tag = "places",
    params(
        ("name" = Option<String>, Query, description = "Places that go by this name, in any of their spellings (case-insensitive): `Kəlbəcər`, `Karvachar` and `Kalbajar` find the same place"),
        ("country" = Option<Vec<String>>, Query, description = "ISO 3166-1 alpha-2 codes", explode = true),
        ("admin1" = Option<Vec<String>>, Query, description = "First-level areas (case-insensitive)", explode = true),
        ("admin2" = Option<Vec<String>>, Query, description = "Second-level areas (case-insensitive)", explode = true),
        ("after" = Option<String>, Query, description = "Only places whose slug sorts after this: the last slug of the previous page (the `Link` header names the next page)"),
        ("limit" = Option<i64>, Query, description = "1 to 1000, default 100", minimum = 1, maximum = 1000),
    ),
    responses(
        (status = 200, description = "Places", body = PlaceList, headers(("Link" = String, description = "`<…>; rel=\"next\"` when there is a next page"))),
        (status = 400, description = "Invalid query", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list(state: web::Data<AppState>, _read: CanRead, req: HttpRequest) -> ApiResult<HttpResponse> {
    let mut q = QueryParams::from_request(&req)?;
    let text = |s: &str| {
        if s.trim().is_empty() || s.chars().count() > 200 {
            Err("1 to 200 characters".to_string())
        } else {
            Ok(s.to_string())
        }
    };
    let filter = PlaceFilter {
        name: q.one_with("name", text)?,
        country: q.list_with("country", |s| CountryCode::parse(s).map(|c| c.as_str().to_string()))?,
        admin1: q.list_with("admin1", text)?,
        admin2: q.list_with("admin2", text)?,
    };
    let after = q.one_with("after", |s| PlaceSlug::parse(s).map(|p| p.as_str().to_string()))?;
    let limit =
        match q.one("limit")? {
            None => 100,
            Some(s) => s.parse::<i64>().ok().filter(|n| (1..=1000).contains(n)).ok_or_else(|| {
                ApiError::bad_query("limit", format!("`{}` is not a number from 1 to 1000", clip(&s)))
            })?,
        };
    q.finish()?;
    let mut conn = state.pool.get().await?;
    let mut rows = places::page(&mut conn, &filter, after.as_deref(), limit + 1).await?;
    let more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let mut res = HttpResponse::Ok();
    if more {
        if let Some(last) = rows.last() {
            let params: Vec<(String, String)> = url::form_urlencoded::parse(req.query_string().as_bytes())
                .into_owned()
                .filter(|(k, _)| k != "after")
                .chain([("after".to_string(), last.slug.clone())])
                .collect();
            let qs = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(params).finish();
            res.insert_header((header::LINK, format!("<{}?{}>; rel=\"next\"", req.path(), qs)));
        }
    }
    Ok(res.json(PlaceList { data: rows.into_iter().map(view).collect() }))
}

/// One place.
#[utoipa::path(
    operation_id = "getPlace",get, path = "/v1/places/{slug}", tag = "places",
    params(("slug" = String, Path, description = "The place's slug")),
    responses(
        (status = 200, description = "The place", body = PlaceView),
        (status = 404, description = "No such place", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get(state: web::Data<AppState>, _read: CanRead, slug: web::Path<String>) -> ApiResult<HttpResponse> {
    let slug = PlaceSlug::parse(&slug).map_err(|_| no_place(&slug))?;
    let mut conn = state.pool.get().await?;
    let row = places::get(&mut conn, slug.as_str()).await?.ok_or_else(|| no_place(slug.as_str()))?;
    Ok(HttpResponse::Ok().json(view(row)))
}

/// Add a place to the gazetteer (editor).
#[utoipa::path(
    operation_id = "createPlace",post, path = "/v1/places", tag = "places", request_body = NewPlace,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe: the same key and body replay the first answer")),
    responses(
        (status = 201, description = "Created", body = PlaceView, headers(("Location" = String))),
        (status = 409, description = "The slug is taken", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid body", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create(
    state: web::Data<AppState>,
    req: HttpRequest,
    AsEditor(actor): AsEditor,
    body: JsonValue,
) -> ApiResult<HttpResponse> {
    let new: NewPlace = from_value(body.0.clone())?;
    let mut errors = Vec::new();
    new.check(&mut errors);
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let idem = idempotency(&req, &actor, &body.0)?;
    let mut conn = state.pool.get().await?;
    Ok(crate::ledger::places::create(&mut conn, &idem, &new).await?.into_response())
}

/// Change a place (JSON merge patch; the slug cannot change). Incidents at
/// the place take its new `admin1` and `admin2` in the same transaction
/// (each a new version, with an `update` revision); their names and
/// coordinates stay as recorded.
#[utoipa::path(
    operation_id = "patchPlace",patch, path = "/v1/places/{slug}", tag = "places",
    request_body(content = Object, content_type = "application/merge-patch+json", description = "Fields of the place to change; null removes an optional one",
        example = json!({"alt_names": ["Kəlbəcər", "Kelbajar", "Karvachar", "Քարվաճառ", "Кельбаджар"]})),
    params(("slug" = String, Path, description = "The place's slug")),
    responses(
        (status = 200, description = "The changed place", body = PlaceView),
        (status = 404, description = "No such place", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid patch", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn patch(
    state: web::Data<AppState>,
    AsEditor(actor): AsEditor,
    slug: web::Path<String>,
    body: JsonValue,
) -> ApiResult<HttpResponse> {
    let slug = PlaceSlug::parse(&slug).map_err(|_| no_place(&slug))?;
    let mut conn = state.pool.get().await?;
    let view = crate::ledger::places::patch(&mut conn, slug.as_str(), &body.0, &actor).await?;
    Ok(HttpResponse::Ok().insert_header((header::CACHE_CONTROL, "no-store")).json(view))
}
