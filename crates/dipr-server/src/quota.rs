//! API quotas: every request under `/api/` spends one request of its class (search, read, write, export) from
//! the quota of its API token, of its signed-in account, or else of its client address, and every answer says
//! where that quota stands (`RateLimit-Limit`, `RateLimit-Remaining`, `RateLimit-Reset`, `RateLimit-Policy`).
//! A request over quota gets `429 rate_limited` with `Retry-After`, and changes nothing.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use dipr_registry::accounts::{token_hash, TOKEN_PREFIX};
use dipr_registry::throttle::{Client, QuotaClass, QuotaKey, QuotaState};
use dipr_registry::Registry;
use dipr_store::TokenKind;

use crate::error::ApiError;

/// What a request to `path` with `method` is, or `None` when it spends no API quota: pages, the log's tiles
/// and checkpoint (served for caches and CDNs), and sign-in and sign-up (which have their own limits).
pub fn class(method: &Method, path: &str) -> Option<QuotaClass> {
    let api = path.strip_prefix("/api/")?;
    if api.starts_with("v1/auth/") {
        return None;
    }
    let reading = method == Method::GET || method == Method::HEAD;
    Some(match api {
        "v1/discover" => QuotaClass::Search,
        _ if !reading => QuotaClass::Write,
        "v1/public/records" | "v1/public/notices" | "v1/encumbrances" | "v1/encumbrances/certificate" => {
            QuotaClass::Search
        }
        "v1/log/events" | "v1/log/events/stream" | "v1/statistics.csv" => QuotaClass::Export,
        _ => QuotaClass::Read,
    })
}

/// Whose quota: a valid bearer token's (an API token's own, a session's account's), else the client's.
async fn key(st: &Registry, headers: &HeaderMap, client: Client) -> QuotaKey {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| t.starts_with(TOKEN_PREFIX));
    if let Some(token) = bearer {
        // An unknown token is answered 401 by the handler; until then it spends the client's quota.
        if let Ok(Some((user, token))) = st.store.authenticate(&token_hash(token), st.clock.now()).await {
            return match token.kind {
                TokenKind::Api => QuotaKey::Token(token.id),
                TokenKind::Session => QuotaKey::Account(user.id),
            };
        }
    }
    QuotaKey::Client(client)
}

fn set_headers(h: &mut HeaderMap, q: &QuotaState) {
    for (name, value) in [
        ("ratelimit-limit", q.limit.to_string()),
        ("ratelimit-remaining", q.remaining.to_string()),
        ("ratelimit-reset", q.reset_secs.to_string()),
        ("ratelimit-policy", format!("{};w={}", q.limit, q.window_secs)),
    ] {
        if let Ok(v) = HeaderValue::from_str(&value) {
            h.insert(name, v);
        }
    }
}

pub async fn layer(State(st): State<Arc<Registry>>, req: Request, next: Next) -> Response {
    let Some(class) = class(req.method(), req.uri().path()) else {
        return next.run(req).await;
    };
    let ip = req.extensions().get::<axum::extract::ConnectInfo<std::net::SocketAddr>>().map(|c| c.0.ip());
    let key = key(&st, req.headers(), Client::of(ip)).await;
    match st.quotas.spend(class, key, Instant::now()) {
        None => next.run(req).await,
        Some(Ok(left)) => {
            let mut resp = next.run(req).await;
            set_headers(resp.headers_mut(), &left);
            resp
        }
        Some(Err((state, wait))) => {
            st.metrics.refused(class.as_str());
            let mut resp = ApiError::throttled("rate_limited", wait).into_response();
            set_headers(resp.headers_mut(), &state);
            resp
        }
    }
}
