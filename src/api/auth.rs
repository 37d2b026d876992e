//! Who is asking: API keys (`Authorization: Bearer <key>`) and their roles.

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::http::StatusCode;
use actix_web::{web, FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;
use subtle::ConstantTimeEq;

use crate::api::state::AppState;
use crate::domain::{keys, Role};
use crate::error::{ApiError, ApiResult};
use crate::store::keys as key_store;

pub use crate::domain::actor::Actor;

impl Actor {
    /// 401 without a key, 403 with a key of a lower role.
    pub fn require(&self, needed: Role) -> ApiResult<()> {
        match self.role {
            None => Err(unauthorized("invalid_request", format!("this needs an API key of role {needed} or above"))),
            Some(role) if role >= needed => Ok(()),
            Some(role) => Err(ApiError::new(
                StatusCode::FORBIDDEN,
                crate::error::ProblemKind::Forbidden,
                format!("this needs role {needed} or above; the key is a {role} key"),
            )
            .with_header(header::WWW_AUTHENTICATE, "Bearer realm=\"ceasefire\", error=\"insufficient_scope\"")),
        }
    }
}

fn unauthorized(error: &str, detail: String) -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, crate::error::ProblemKind::Unauthorized, detail)
        .with_header(header::WWW_AUTHENTICATE, &format!("Bearer realm=\"ceasefire\", error=\"{error}\""))
}

/// The token of an `Authorization: Bearer <token>` header (the scheme in
/// any case, spaces around the token ignored).
pub fn bearer_token(header: &str) -> Option<&str> {
    let (scheme, token) = header.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty() && token.len() <= 200).then_some(token)
}

impl FromRequest for Actor {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let authorization = req.headers().get(header::AUTHORIZATION).cloned();
        Box::pin(async move {
            let Some(authorization) = authorization else { return Ok(Actor::default()) };
            let token = authorization.to_str().ok().and_then(bearer_token).ok_or_else(|| {
                unauthorized("invalid_request", "send the key as `Authorization: Bearer <key>`".into())
            })?;
            let state = state.ok_or_else(|| ApiError::internal("no application state"))?;
            let hash = keys::hash(token);
            let mut conn = state.pool.get().await?;
            let key = key_store::find_active(&mut conn, &hash)
                .await?
                .filter(|k| bool::from(k.key_hash.as_slice().ct_eq(&hash)))
                .ok_or_else(|| unauthorized("invalid_token", "the key is unknown or revoked".into()))?;
            key_store::touch(&mut conn, &key).await?;
            Ok(Actor { key_id: Some(key.id.to_string()), role: Role::parse(&key.role).ok() })
        })
    }
}

/// Permission to read: anyone, unless the server runs with private reads,
/// when a key of any role is needed.
pub struct CanRead(pub Actor);

impl FromRequest for CanRead {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let private = req.app_data::<web::Data<AppState>>().is_some_and(|s| s.private_reads);
        let actor = Actor::from_request(req, payload);
        Box::pin(async move {
            let actor = actor.await?;
            if private {
                actor.require(Role::Reader)?;
            }
            Ok(CanRead(actor))
        })
    }
}

macro_rules! role_extractor {
    ($(#[$meta:meta])* $name:ident, $role:expr) => {
        $(#[$meta])*
        pub struct $name(pub Actor);

        impl FromRequest for $name {
            type Error = ApiError;
            type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

            fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
                let actor = Actor::from_request(req, payload);
                Box::pin(async move {
                    let actor = actor.await?;
                    actor.require($role)?;
                    Ok($name(actor))
                })
            }
        }
    };
}

role_extractor!(
    /// A caller with a reporter key or better; checked before the body is read.
    AsReporter,
    Role::Reporter
);
role_extractor!(
    /// A caller with an editor key or better.
    AsEditor,
    Role::Editor
);
role_extractor!(
    /// A caller with an admin key.
    AsAdmin,
    Role::Admin
);
