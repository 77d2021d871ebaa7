//! At most once. A state-changing request that names a key — the API's `Idempotency-Key` header, or the
//! key the layout puts on every web form's address ([`crate::web::layout::FORM_KEY`], fresh per rendered form) —
//! runs once per caller and key: the key is claimed before the request runs, and a repeat (a double
//! click, a resent form, a client retrying after a timeout) gets the first answer back instead of changing
//! the register again. A repeat that arrives while the first still runs waits for its answer.
//!
//! The key binds to the request (method, address and a hash of the body): the same key on another request
//! is refused. Answers that changed nothing (a server error) free the key for a retry. Keys outlive a client's
//! retries, not the register: the timer task prunes answered keys last used more than `request_key_days`
//! ago (`dipr_registry::timers::prune_request_keys`), and a repeat after that is a new request.

use std::sync::Arc;
use std::time::Duration;

use axum::body::{to_bytes, Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use dipr_store::{RequestKey, StoredAnswer};
use sha2::{Digest, Sha256};

use crate::error::ApiError;
use crate::web::i18n::Lang;
use crate::web::layout::FORM_KEY;
use dipr_registry::Registry;

const HEADER: &str = "idempotency-key";
/// Answers are stored whole up to this size; page re-renders and JSON answers are far smaller.
const STORED_ANSWER: usize = 8 * 1024 * 1024;
/// How long a repeat waits for the first request's answer before it is told the request is in progress.
const WAIT: Duration = Duration::from_secs(10);
/// Requests never claimed: those whose answers carry a secret (a session or an API token, kept only hashed)
/// and change no register record, the read-only certificate check, and those whose address or body would
/// put a secret into the stored key: a password reset link (single use by itself), and the API's password
/// change (a body of passwords alone, whose plain hash could be guessed from).
const UNKEYED: [&str; 8] = [
    "/api/v1/auth/",
    "/api/v1/me/tokens",
    "/api/v1/me/password",
    "/password/",
    "/signin",
    "/signup",
    "/signout",
    "/check",
];
/// Headers an answer is replayed with. Never `Set-Cookie`: a replay must not hand out a session.
const REPLAYED: [HeaderName; 3] = [header::CONTENT_TYPE, header::LOCATION, header::RETRY_AFTER];

pub async fn layer(State(st): State<Arc<Registry>>, req: Request, next: Next) -> Response {
    let path = req.uri().path();
    if !matches!(*req.method(), Method::POST | Method::PUT | Method::PATCH | Method::DELETE)
        || UNKEYED.iter().any(|p| path.starts_with(p))
    {
        return next.run(req).await;
    }
    let api = path.starts_with("/api/");
    let key = match key_of(&req) {
        Ok(Some(k)) => k,
        Ok(None) => return next.run(req).await,
        Err(e) => return refuse(api, req.headers(), e),
    };
    // Keys belong to their caller: the signed-in user, or nobody.
    let principal = crate::guard::signed_in_user(&st, req.headers())
        .await
        .map_or_else(|| "anonymous".to_string(), |u| format!("user:{}", u.id));
    // The route's body limit is already on the body (`guard::body_limit` runs first): reading it whole here is
    // what the handler would do.
    let (parts, body) = req.into_parts();
    let Ok(bytes) = to_bytes(body, usize::MAX).await else {
        return refuse(api, &parts.headers, ApiError::new("payload_too_large", "the body is too large"));
    };
    let fingerprint = fingerprint(&parts.method, &parts.uri, &bytes);
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let claim = match st.store.claim_request_key(&principal, &key, &fingerprint, st.clock.now()).await {
            Ok(c) => c,
            Err(e) => return refuse(api, &parts.headers, ApiError::from(e)),
        };
        match claim {
            RequestKey::Claimed => break,
            RequestKey::Answered(a) => return replay(a),
            RequestKey::Mismatch => {
                let e = ApiError::new("idempotency_key_reused", "this key was already used for a different request");
                return refuse(api, &parts.headers, e);
            }
            RequestKey::InProgress if tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            RequestKey::InProgress => {
                let e = ApiError::new("request_in_progress", "the same request is still being processed");
                return refuse(api, &parts.headers, e);
            }
        }
    }
    let resp = next.run(Request::from_parts(parts, Body::from(bytes))).await;
    let (rparts, rbody) = resp.into_parts();
    let body = match to_bytes(rbody, STORED_ANSWER).await {
        Ok(b) => b,
        Err(e) => {
            tracing::error!(error = %e, "answer too large to keep for its idempotency key");
            Bytes::new()
        }
    };
    let mut headers = serde_json::Map::new();
    for name in REPLAYED {
        if let Some(v) = rparts.headers.get(&name).and_then(|v| v.to_str().ok()) {
            headers.insert(name.as_str().into(), v.into());
        }
    }
    let answer = StoredAnswer {
        status: rparts.status.as_u16(),
        headers: serde_json::Value::Object(headers).to_string(),
        body: body.to_vec(),
    };
    // A server error rolled its transaction back: the request may be tried again with the same key.
    let retryable = rparts.status.is_server_error();
    if let Err(e) = st.store.answer_request_key(&principal, &key, &answer, retryable).await {
        tracing::error!(error = %e, "could not store the answer to an idempotent request");
    }
    Response::from_parts(rparts, Body::from(body))
}

fn key_of(req: &Request) -> Result<Option<String>, ApiError> {
    let from_header = match req.headers().get(HEADER) {
        Some(v) => Some(v.to_str().map_err(|_| invalid_key())?.to_string()),
        None => None,
    };
    let from_query = req.uri().query().and_then(|q| {
        q.split('&').filter_map(|p| p.split_once('=')).find(|(k, _)| *k == FORM_KEY).map(|(_, v)| v.to_string())
    });
    match from_header.or(from_query) {
        None => Ok(None),
        Some(k) if (8..=128).contains(&k.len()) && k.bytes().all(|b| b.is_ascii_graphic()) => Ok(Some(k)),
        Some(_) => Err(invalid_key()),
    }
}

fn invalid_key() -> ApiError {
    ApiError::new("invalid_idempotency_key", "an idempotency key is 8 to 128 printable ASCII characters")
}

/// The request a key names: method, path, the query without the key, and the body's hash.
fn fingerprint(method: &Method, uri: &axum::http::Uri, body: &[u8]) -> String {
    let query: Vec<&str> =
        uri.query().unwrap_or("").split('&').filter(|p| p.split_once('=').is_none_or(|(k, _)| k != FORM_KEY)).collect();
    format!("{method} {}?{} {}", uri.path(), query.join("&"), hex::encode(Sha256::digest(body)))
}

fn replay(a: StoredAnswer) -> Response {
    let status = StatusCode::from_u16(a.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut resp = (status, a.body).into_response();
    if let Ok(serde_json::Value::Object(map)) = serde_json::from_str(&a.headers) {
        for (name, value) in map {
            if let (Ok(n), Some(Ok(v))) =
                (HeaderName::from_bytes(name.as_bytes()), value.as_str().map(HeaderValue::from_str))
            {
                resp.headers_mut().insert(n, v);
            }
        }
    }
    resp.headers_mut().insert("idempotent-replayed", HeaderValue::from_static("true"));
    resp
}

fn refuse(api: bool, headers: &HeaderMap, e: ApiError) -> Response {
    if api {
        return e.into_response();
    }
    let l = Lang::of(None, headers);
    crate::web::layout::message_page(l, e.status(), &crate::web::messages::refusal(&e, l))
}
