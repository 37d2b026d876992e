//! `/v1/keys`: API keys, managed by admins.

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use diesel_async::AsyncConnection;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::auth::AsAdmin;
use super::common::{Idempotency, Written};
use super::extract::{clip, from_value, JsonValue};
use crate::domain::{keys, Role};
use crate::error::{ApiError, ApiResult, Problem};
use crate::startup::AppState;
use crate::store::keys::{self as store, KeyRow};
use crate::store::Conn;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "euma-field-reports", "role": "reporter"}))]
pub struct NewKey {
    /// Who holds the key, 1 to 100 characters.
    #[schema(min_length = 1, max_length = 100, pattern = "\\S")]
    pub name: String,
    pub role: Role,
}

/// A key as listed: never the key itself.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct KeyView {
    pub id: Uuid,
    pub name: String,
    pub role: Role,
    pub created_at: DateTime<Utc>,
    /// To the minute.
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A new key, shown this once.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedKey {
    #[serde(flatten)]
    pub view: KeyView,
    /// The key: send it as `Authorization: Bearer <key>`. It is not stored
    /// and cannot be shown again: a retry with the same `Idempotency-Key`
    /// answers null here.
    pub key: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct KeyList {
    pub data: Vec<KeyView>,
}

fn view(row: &KeyRow) -> KeyView {
    KeyView {
        id: row.id,
        name: row.name.clone(),
        role: Role::parse(&row.role).unwrap_or(Role::Reader),
        created_at: row.created_at,
        last_used_at: row.last_used_at,
        revoked_at: row.revoked_at,
    }
}

/// Creates a key; shared by the API and `ceasefire keys create`.
pub async fn create_key(conn: &mut Conn, name: &str, role: Role) -> ApiResult<CreatedKey> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(ApiError::field("/name", "1 to 100 characters, not blank"));
    }
    let key = keys::generate();
    let row = KeyRow {
        id: Uuid::now_v7(),
        name: name.to_string(),
        role: role.as_str().to_string(),
        key_hash: keys::hash(&key).to_vec(),
        created_at: crate::store::now(),
        last_used_at: None,
        revoked_at: None,
    };
    store::insert(conn, &row).await?;
    Ok(CreatedKey { view: view(&row), key: Some(key) })
}

/// Create an API key (admin).
#[utoipa::path(post, path = "/v1/keys", tag = "keys", operation_id = "createKey", request_body = NewKey,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe")),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Created; the key is in the body, shown this once", body = CreatedKey, headers(("Location" = String))),
        (status = 422, description = "Invalid body", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create(
    state: web::Data<AppState>,
    req: HttpRequest,
    AsAdmin(actor): AsAdmin,
    body: JsonValue,
) -> ApiResult<HttpResponse> {
    let new: NewKey = from_value(body.0.clone())?;
    let idem = Idempotency::new(&req, &actor, &body.0)?;
    let mut conn = state.pool.get().await?;
    let outcome = conn
        .transaction::<_, ApiError, _>(async |conn| {
            if let Some(replay) = idem.begin(conn).await? {
                return Ok(replay);
            }
            let created = create_key(conn, &new.name, new.role).await?;
            let body = serde_json::to_value(&created).map_err(ApiError::internal)?;
            let mut written = Written::created(format!("/v1/keys/{}", created.view.id), None, &body)?;
            // The key is shown once: a replay answers without it.
            let mut replay = body;
            replay["key"] = serde_json::Value::Null;
            written.replay_body = Some(serde_json::to_vec(&replay).map_err(ApiError::internal)?);
            idem.finish(conn, written).await
        })
        .await?;
    Ok(outcome.into_response())
}

/// List API keys (admin).
#[utoipa::path(get, path = "/v1/keys", tag = "keys", operation_id = "listKeys", security(("bearer" = [])),
    responses((status = 200, description = "Every key, oldest first; never the keys themselves", body = KeyList)))]
pub async fn list(state: web::Data<AppState>, _admin: AsAdmin) -> ApiResult<HttpResponse> {
    let mut conn = state.pool.get().await?;
    let rows = store::list(&mut conn).await?;
    Ok(HttpResponse::Ok().json(KeyList { data: rows.iter().map(view).collect() }))
}

/// Revoke an API key (admin). It stops working at once.
#[utoipa::path(delete, path = "/v1/keys/{id}", tag = "keys", operation_id = "revokeKey", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The key's id")),
    responses(
        (status = 204, description = "Revoked (or already revoked)"),
        (status = 404, description = "No such key", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn revoke(state: web::Data<AppState>, _admin: AsAdmin, id: web::Path<String>) -> ApiResult<HttpResponse> {
    let not_found = || ApiError::not_found(format!("no key {}", clip(&id)));
    let key_id = Uuid::parse_str(&id).map_err(|_| not_found())?;
    let mut conn = state.pool.get().await?;
    store::revoke(&mut conn, key_id).await?.ok_or_else(not_found)?;
    Ok(HttpResponse::NoContent().finish())
}
