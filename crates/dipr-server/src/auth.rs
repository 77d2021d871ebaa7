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

/// The bearer token's account, whatever the state of its password.
async fn authenticated(parts: &Parts, state: &Registry) -> ApiResult<Caller> {
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

/// Every route but [`OwnAccount`]'s refuses an account that must change the password an administrator
/// set: until it does, that password is known to someone else.
impl FromRequestParts<Arc<Registry>> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &Arc<Registry>) -> Result<Self, Self::Rejection> {
        let caller = authenticated(parts, state).await?;
        if caller.user.as_ref().is_some_and(|u| u.must_change_password) {
            return Err(ApiError::new(
                "password_change_required",
                "the password was set by an administrator: change it with POST /api/v1/me/password first",
            ));
        }
        Ok(caller)
    }
}

/// A caller acting on its own account only (reading it, changing its password, signing out): admitted
/// even while its password must be changed.
pub struct OwnAccount(pub Caller);

impl FromRequestParts<Arc<Registry>> for OwnAccount {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &Arc<Registry>) -> Result<Self, Self::Rejection> {
        authenticated(parts, state).await.map(OwnAccount)
    }
}
