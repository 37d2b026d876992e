//! Who makes a change: anonymous, or the holder of an API key.

use super::Role;

/// The caller: anonymous, or the holder of a valid API key (`api::auth`
/// finds it from the request and checks its role).
#[derive(Debug, Clone, Default)]
pub struct Actor {
    /// The API key's id, recorded in the history.
    pub key_id: Option<String>,
    pub role: Option<Role>,
}

impl Actor {
    /// The scope in which Idempotency-Keys are unique: one per API key.
    pub fn idempotency_scope(&self) -> &str {
        self.key_id.as_deref().unwrap_or("anonymous")
    }
}
