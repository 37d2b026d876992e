//! API keys: made (by an admin through the API, or by the command line),
//! listed, revoked. Only their hashes are stored.

use chrono::{DateTime, Utc};
use diesel_async::AsyncConnection;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::idempotency::{Idempotency, Outcome, Written};
use super::rows::stored;
use crate::domain::{keys, Role};
use crate::error::{ApiError, ApiResult};
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

/// A key as listed.
pub fn view(row: &KeyRow) -> ApiResult<KeyView> {
    Ok(KeyView {
        id: row.id,
        name: row.name.clone(),
        role: stored(Role::parse, &row.role, "api_keys.role")?,
        created_at: row.created_at,
        last_used_at: row.last_used_at,
        revoked_at: row.revoked_at,
    })
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
    Ok(CreatedKey { view: view(&row)?, key: Some(key) })
}

/// Creates a key with its idempotency key: a replay answers without the
/// key itself, which is shown once.
pub async fn create(conn: &mut Conn, idem: &Idempotency, new: &NewKey) -> ApiResult<Outcome> {
    conn.transaction::<_, ApiError, _>(async |conn| {
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
    .await
}

/// Every key, oldest first.
pub async fn list(conn: &mut Conn) -> ApiResult<Vec<KeyView>> {
    store::list(conn).await?.iter().map(view).collect()
}
