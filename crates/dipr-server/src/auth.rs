//! Who is asking: passwords (Argon2id), bearer tokens (random, stored hashed), and the [`Caller`]
//! extractor every handler uses.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock};

use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use base64::Engine;
use dipr_domain::lifecycle::{Actor, Role};
use dipr_store::{TokenRecord, UserRecord};
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::error::{ApiError, ApiResult};
use crate::AppState;

/// Prefix of every token dipr issues, so leaked tokens are recognisable by secret scanners.
pub const TOKEN_PREFIX: &str = "dipr_";

/// Argon2id with its default parameters holds 19 MiB while it runs: at most one run per core at a time, so
/// a flood of sign-ins queues (and is throttled) instead of growing memory without bound.
struct Hashing {
    permits: tokio::sync::Semaphore,
    limit: usize,
    running: AtomicUsize,
    peak: AtomicUsize,
}

static HASHING: LazyLock<Hashing> = LazyLock::new(|| {
    let limit = std::thread::available_parallelism().map_or(2, |n| n.get());
    Hashing {
        permits: tokio::sync::Semaphore::new(limit),
        limit,
        running: AtomicUsize::new(0),
        peak: AtomicUsize::new(0),
    }
});

/// How many password hashes may run at once, and the most that ever ran at once in this process.
pub fn hashing_concurrency() -> (usize, usize) {
    (HASHING.limit, HASHING.peak.load(Ordering::Relaxed))
}

async fn with_hashing_permit<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> ApiResult<T> {
    let _permit = HASHING.permits.acquire().await.map_err(ApiError::internal)?;
    let running = HASHING.running.fetch_add(1, Ordering::Relaxed) + 1;
    HASHING.peak.fetch_max(running, Ordering::Relaxed);
    let out = tokio::task::spawn_blocking(work).await;
    HASHING.running.fetch_sub(1, Ordering::Relaxed);
    out.map_err(ApiError::internal)
}

pub async fn hash_password(password: String) -> ApiResult<String> {
    with_hashing_permit(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default().hash_password(password.as_bytes(), &salt).map(|h| h.to_string())
    })
    .await?
    .map_err(ApiError::internal)
}

/// Verify `password` against `hash`; with no hash (unknown user) the same work is done against a
/// fixed hash so response time does not reveal which usernames exist.
pub async fn verify_password(password: String, hash: Option<String>) -> ApiResult<bool> {
    with_hashing_permit(move || {
        const DUMMY: &str =
            "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$ZJ3d3rZ0m3pp5V3bE6lZ0uT1QPcGvHe6V0bXlp3wXNw";
        let known = hash.is_some();
        let hash = hash.unwrap_or_else(|| DUMMY.to_string());
        let parsed = PasswordHash::new(&hash).map_err(ApiError::internal)?;
        Ok(Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok() && known)
    })
    .await?
}

pub fn check_password_strength(password: &str) -> ApiResult<()> {
    if password.chars().count() < 10 || password.len() > 1024 {
        return Err(ApiError::new("weak_password", "passwords need 10 to 1024 characters"));
    }
    Ok(())
}

/// A new random token and the hash the store keeps of it.
pub fn new_token() -> (String, String) {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    let token = format!("{TOKEN_PREFIX}{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes));
    let hash = token_hash(&token);
    (token, hash)
}

pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

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

pub fn actor_of(u: &UserRecord) -> Actor {
    Actor { user_id: Some(u.id), name: u.display_name.clone(), role: u.role, party_id: u.party_id }
}

impl FromRequestParts<Arc<AppState>> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &Arc<AppState>) -> Result<Self, Self::Rejection> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn passwords_hash_with_argon2id_and_verify() {
        let h = hash_password("correct horse battery".into()).await.unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct horse battery".into(), Some(h.clone())).await.unwrap());
        assert!(!verify_password("wrong password!".into(), Some(h)).await.unwrap());
        assert!(!verify_password("anything at all".into(), None).await.unwrap());
    }

    #[test]
    fn tokens_are_random_and_hashed() {
        let (a, ha) = new_token();
        let (b, _) = new_token();
        assert_ne!(a, b);
        assert!(a.starts_with(TOKEN_PREFIX) && a.len() > 40);
        assert_eq!(token_hash(&a), ha);
        assert_ne!(ha, a);
    }
}
