//! `GET /v1/incidents`: pages, and exports of the whole filtered set.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};

use crate::api::auth::CanRead;
use crate::api::common::{page_response, parse_limit, Page};
use crate::api::cursor::{bad_cursor, Cursor};
use crate::api::export::ExportFormat;
use crate::api::extract::{clip, QueryParams};
use crate::api::filters::{incident_filter, read_zone, RawFilter};
use crate::api::state::AppState;
use crate::db::{DbConn, DbPool};
use crate::domain::incident::IncidentView;
use crate::error::{ApiError, ApiResult, Problem};
use crate::store::incidents as store;
use crate::store::listing::{self, Order, Position};

/// List incidents, newest first (or in change order with `updated_since`).
#[utoipa::path(
    operation_id = "listIncidents",get, path = "/v1/incidents", tag = "incidents",
    params(crate::api::filters::RangeParams, crate::api::filters::IncidentFilterParams,
        ("limit" = Option<i64>, Query, description = "1 to 1000, default 50 (pages of JSON only)", minimum = 1, maximum = 1000),
        ("cursor" = Option<String>, Query, description = "next_cursor of the previous page, unchanged (pages of JSON only): cursors are signed, and one that does not verify is a 400"),
        ("bom" = Option<bool>, Query, description = "With `format=csv`: start the file with a UTF-8 byte-order mark, so that Excel reads it as UTF-8. `ceasefire import` reads past it"),
        ("format" = Option<String>, Query, description = "`json` (a page, default), or an export of every matching incident: `csv`, `geojson`, `ndjson`, or CSV in the column layouts of ACLED (`acled`) and of UCDP GED (`ucdp`), mapped as docs/research-layouts.md says (dates are local dates in `tz`, or in each incident's reported offset), or `xlsx`: the CSV's columns as a spreadsheet with typed cells and a frozen header, at most 100,000 incidents (a 400 beyond: the CSV streams any number). Overrides `Accept`"),
    ),
    responses(
        (status = 200, description = "A page of incidents (`Link: rel=\"next\"` names the next one), or an export streamed whole. \
CSV: one row per incident, party lists as `;`-joined slugs, `sources`, `external_ids` and `claims` as JSON; a text cell that a spreadsheet would run as a formula (beginning with `=`, `+`, `-`, `@`, tab or CR) starts with `'`. \
An export is read in one snapshot and holds one of the client's expensive-read permits while it streams. \
GeoJSON: a FeatureCollection of the incidents with coordinates. NDJSON: each incident's full JSON on a line.", content(
            (Page<IncidentView> = "application/json"),
            (String = "text/csv"),
            (Object = "application/geo+json"),
            (String = "application/x-ndjson"),
            (String = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        ), headers(("ETag" = String), ("Link" = String), ("Content-Disposition" = String))),
        (status = 304, description = "Unchanged since the ETag given"),
        (status = 400, description = "Invalid query, or a cursor that does not verify", body = Problem, content_type = "application/problem+json"),
        (status = 406, description = "The Accept header allows none of JSON, CSV, GeoJSON and NDJSON", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list(state: web::Data<AppState>, _read: CanRead, req: HttpRequest) -> ApiResult<HttpResponse> {
    let mut q = QueryParams::from_request(&req)?;
    let export = export_format(&req, &mut q)?;
    let zone = read_zone(&mut q)?;
    let raw = incident_filter(&mut q, zone.asked().unwrap_or(chrono_tz::Tz::UTC))?;
    let (order, ordering) =
        if raw.updated_since.is_some() { (Order::Changed, "changed") } else { (Order::Occurred, "occurred") };
    let limit = q.one("limit")?;
    let cursor = q.one("cursor")?;
    let bom = q.bool("bom")?.unwrap_or(false);
    q.finish()?;
    if bom && !matches!(export, Some(ExportFormat::Csv | ExportFormat::Acled | ExportFormat::Ucdp)) {
        return Err(ApiError::bad_query("bom", "a byte-order mark is for the CSV exports (format=csv, acled or ucdp)"));
    }
    if let Some(format) = export {
        if limit.is_some() || cursor.is_some() {
            return Err(ApiError::bad_query(
                if limit.is_some() { "limit" } else { "cursor" },
                "an export holds every matching incident; it takes no limit or cursor",
            ));
        }
        // An export reads the whole filtered set: it holds an expensive-read
        // permit for as long as it streams.
        let permit = state.expensive.acquire(crate::api::expensive::client_of(&req)).await?;
        let (mut conn, pool) = lagging_read(&state, &raw).await?;
        let filter = raw.resolve(&crate::store::parties::hierarchy(&conn).await?);
        let parties = crate::store::parties::list(&mut conn).await?;
        let kinds = parties.iter().map(|p| (p.slug.clone(), p.kind.clone())).collect();
        let names = parties.into_iter().map(|p| (p.slug, p.name)).collect();
        drop(conn);
        let name = format!("incidents-{}.{}", crate::store::now().format("%Y%m%dT%H%M%SZ"), format.extension());
        let opts = crate::api::export::ExportOptions { names, kinds, bom, zone };
        if format == ExportFormat::Xlsx {
            let chunks = crate::api::export::stream(pool, filter, order, format, permit, opts);
            let (body, permit) = spreadsheet(&state, crate::api::expensive::client_of(&req), chunks).await?;
            let len = body.len() as u64;
            return Ok(HttpResponse::Ok()
                .content_type(format.content_type())
                .insert_header((header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}\"")))
                .insert_header((header::CACHE_CONTROL, "no-store"))
                .body(actix_web::body::SizedStream::new(len, crate::api::expensive::held_body(body.into(), permit))));
        }
        return Ok(HttpResponse::Ok()
            .content_type(format.content_type())
            .insert_header((header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}\"")))
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .streaming(crate::api::export::stream(pool, filter, order, format, permit, opts)));
    }
    let limit = parse_limit(limit)?;
    let after = cursor
        .map(|c| {
            let c = Cursor::decode(&c, ordering, &state.cursor_key)?;
            match (order, c.at, c.seq) {
                (Order::Occurred, Some(at), _) => Ok(Position::Occurred(at, c.id)),
                (Order::Changed, _, Some(seq)) => Ok(Position::Changed(seq, c.id)),
                _ => Err(bad_cursor()),
            }
        })
        .transpose()?;
    let _permit = match raw.is_expensive() {
        true => Some(state.expensive.acquire(crate::api::expensive::client_of(&req)).await?),
        false => None,
    };
    let (mut conn, _) = lagging_read(&state, &raw).await?;
    let h = crate::store::parties::hierarchy(&conn).await?;
    let filter = raw.resolve(&h);
    let mut rows = listing::page(&mut conn, &filter, order, after, limit + 1).await?;
    let more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let cursor_at = |p: Position| match p {
        Position::Occurred(at, id) => Cursor { o: ordering.into(), at: Some(at), seq: None, id },
        Position::Changed(seq, id) => Cursor { o: ordering.into(), at: None, seq: Some(seq), id },
    };
    let last = rows.last().map(|(_, p)| *p).or(after);
    // In change order the cursor is also where to resume polling, so it is
    // given on the last page too (a `Link` only when more rows wait).
    let next_cursor = match order {
        Order::Occurred if more => last.map(|p| cursor_at(p).encode(&state.cursor_key)),
        Order::Occurred => None,
        Order::Changed => last.map(|p| cursor_at(p).encode(&state.cursor_key)),
    };
    let records = store::records(&mut conn, rows.into_iter().map(|(r, _)| r).collect()).await?;
    let data = records.iter().map(|r| Ok(IncidentView::from_record(r)?.shown_in(zone))).collect::<ApiResult<_>>()?;
    page_response(&req, Page { data, next_cursor }, more)
}

/// The export's CSV rows written into a spreadsheet as they arrive (off
/// the workers' threads); the finished file is built and sent holding an
/// expensive-read permit of its own, as the rows were read holding one.
async fn spreadsheet(
    state: &AppState,
    client: String,
    chunks: impl futures_util::Stream<Item = Result<actix_web::web::Bytes, ApiError>>,
) -> ApiResult<(Vec<u8>, crate::api::expensive::ExpensivePermit)> {
    use futures_util::StreamExt;
    let mut sheet = crate::api::xlsx::Sheet::new("incidents")?;
    let mut chunks = std::pin::pin!(chunks);
    let mut first = true;
    while let Some(chunk) = chunks.next().await {
        let chunk = chunk?;
        sheet = actix_web::web::block(move || sheet.add_csv(&chunk, first).map(|()| sheet))
            .await
            .map_err(ApiError::internal)??;
        first = false;
    }
    let permit = state.expensive.acquire(client).await?;
    let body = actix_web::web::block(move || sheet.finish()).await.map_err(ApiError::internal)??;
    Ok((body, permit))
}

/// Where a list or export reads. Mirrors polling `updated_since` read the
/// primary: their change order rests on the primary's running transactions.
async fn lagging_read(state: &AppState, raw: &RawFilter) -> ApiResult<(DbConn, DbPool)> {
    if raw.updated_since.is_some() {
        Ok((state.pool.get().await?, state.pool.clone()))
    } else {
        state.lagging_read().await
    }
}

/// An export format asked for by `?format=` or `Accept`; `None` for a page of JSON.
fn export_format(req: &HttpRequest, q: &mut QueryParams) -> ApiResult<Option<ExportFormat>> {
    match q.one("format")?.as_deref() {
        None => {}
        Some("json") => return Ok(None),
        Some("csv") => return Ok(Some(ExportFormat::Csv)),
        Some("geojson") => return Ok(Some(ExportFormat::GeoJson)),
        Some("ndjson") => return Ok(Some(ExportFormat::NdJson)),
        Some("acled") => return Ok(Some(ExportFormat::Acled)),
        Some("ucdp") => return Ok(Some(ExportFormat::Ucdp)),
        Some("xlsx") => return Ok(Some(ExportFormat::Xlsx)),
        Some(other) => {
            return Err(ApiError::bad_query(
                "format",
                format!("`{}` is not json, csv, geojson, ndjson, acled, ucdp or xlsx", clip(other)),
            ))
        }
    }
    let offered = ["application/json", "text/csv", "application/geo+json", "application/x-ndjson"];
    Ok(match crate::api::negotiate::negotiate(req, &offered)? {
        1 => Some(ExportFormat::Csv),
        2 => Some(ExportFormat::GeoJson),
        3 => Some(ExportFormat::NdJson),
        _ => None,
    })
}
