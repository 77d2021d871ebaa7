//! What every request passes before its handler: a deadline, and a body limit applied before the body is
//! read (a declared `Content-Length` over the limit is refused at once; a streamed body is cut at the limit).
//! The few routes that take large uploads are listed here with their limits; those that need a signed-in
//! caller check the credential before a byte of the body is read.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{MatchedPath, Request, State};
use axum::http::header::CONTENT_LENGTH;
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};

use crate::error::ApiError;
use dipr_registry::Registry;

const MIB: usize = 1024 * 1024;

/// Routes that take large uploads: their body limit, and whether only a signed-in caller may send one.
/// Every other body is limited to `body_limit`.
const UPLOADS: &[(&str, usize, bool)] = &[
    ("/api/v1/applications/{id}/manifest", 32 * MIB, true),
    ("/api/v1/discover", 64 * MIB, true),
    ("/me/filings/{id}/manifest", 32 * MIB, true),
    ("/check", crate::web::check::BUNDLE_LIMIT, false),
];

/// Answer `request_timeout` when the handler (reading the body included) takes longer than
/// `request_timeout_secs`.
pub async fn deadline(State(st): State<Arc<Registry>>, req: Request, next: Next) -> Response {
    let limit = Duration::from_secs(st.config.limits.request_timeout_secs);
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(resp) => resp,
        Err(_) => ApiError::new("request_timeout", format!("no answer within {} s", limit.as_secs())).into_response(),
    }
}

/// The body limit of the matched route, enforced before the handler reads the body.
pub async fn body_limit(State(st): State<Arc<Registry>>, req: Request, next: Next) -> Response {
    let route = req.extensions().get::<MatchedPath>().map(|p| p.as_str().to_string()).unwrap_or_default();
    let (limit, sign_in) =
        UPLOADS.iter().find(|(r, _, _)| *r == route).map_or((st.config.body_limit, false), |(_, l, s)| (*l, *s));
    let declared = req.headers().get(CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return ApiError::new("payload_too_large", format!("the body exceeds {limit} bytes")).into_response();
    }
    if sign_in && signed_in_user(&st, req.headers()).await.is_none() {
        return if route.starts_with("/api/") {
            ApiError::unauthenticated().into_response()
        } else {
            Redirect::to("/signin").into_response()
        };
    }
    next.run(req.map(|body| axum::body::Body::new(http_body_util::Limited::new(body, limit)))).await
}

/// The user behind a valid bearer token (API) or session cookie (web).
pub(crate) async fn signed_in_user(st: &Registry, headers: &HeaderMap) -> Option<dipr_store::UserRecord> {
    let bearer = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|h| h.to_str().ok()?.strip_prefix("Bearer "))
        .map(|t| dipr_registry::accounts::token_hash(t.trim()));
    match bearer {
        Some(hash) => st.store.authenticate(&hash, st.clock.now()).await.ok()?.map(|(user, _)| user),
        // A store that cannot be read counts as no session here, as it counts as no token above.
        None => crate::web::session::session(st, headers).await.ok().flatten().map(|(user, _)| user),
    }
}
