//! Who is asking: the [`Caller`] extractor every API handler uses (a bearer token, or nobody).

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use dipr_domain::access::{Actor, Role};
use dipr_registry::accounts::{token_hash, TOKEN_PREFIX};
use dipr_registry::audit::actor_of;
use dipr_store::{TokenRecord, UserRecord};

use crate::error::ApiError;
use crate::error::ApiResult;
use dipr_registry::Registry;

/// The authenticated user behind a request, if any.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user: Option<UserRecord>,
    pub token: Option<TokenRecord>,
}

impl Caller {
    pub fn anonymous() -> Self {
        Self { user: None, token: None }
    }

    pub fn user(&self) -> ApiResult<&UserRecord> {
        self.user.as_ref().ok_or_else(ApiError::unauthenticated)
    }

    pub fn require(&self, roles: &[Role]) -> ApiResult<&UserRecord> {
        let u = self.user()?;
        if roles.contains(&u.role) {
            Ok(u)
        } else {
            let names: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
            Err(ApiError::forbidden(format!("this needs the role {}", names.join(" or "))))
        }
    }

    pub fn actor(&self) -> Actor {
        match &self.user {
            Some(u) => actor_of(u),
            None => Actor::public("public"),
        }
    }
}

impl FromRequestParts<Arc<Registry>> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &Arc<Registry>) -> Result<Self, Self::Rejection> {
        let Some(header) = parts.headers.get(axum::http::header::AUTHORIZATION) else {
            return Ok(Caller::anonymous());
        };
        // A credential that is present but wrong is an error, never a silent downgrade to anonymous.
        let token = header
            .to_str()
            .ok()
            .and_then(|h| h.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|t| t.starts_with(TOKEN_PREFIX))
            .ok_or_else(|| ApiError::new("unauthenticated", "expected `Authorization: Bearer dipr_…`"))?;
        let found = state.store.authenticate(&token_hash(token), state.clock.now()).await?;
        match found {
            Some((user, token)) => Ok(Caller { user: Some(user), token: Some(token) }),
            None => Err(ApiError::new("unauthenticated", "the token is unknown, expired or revoked")),
        }
    }
}
