//! What operators see of each request: a request id (the client's `X-Request-Id` when it sends a sane one,
//! otherwise a new one) returned in the response and carried by every log line of the request, one access log
//! line per request (method, route, path without its query, status, milliseconds, client), and the request
//! metrics by route. `/metrics` serves them in the Prometheus text format to loopback clients, or to anyone
//! presenting the configured `metrics_token`.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use dipr_registry::metrics::{RequestLabels, RouteLabels};
use dipr_registry::Registry;
use sha2::{Digest, Sha256};
use tracing::Instrument;

pub const REQUEST_ID: &str = "x-request-id";

/// The route a request matched, passed from [`route`] (inside the router) to [`layer`] (around it).
#[derive(Clone)]
struct Route(String);

/// Inside the router: note the matched route's pattern on the response, its parameters written `:id` rather
/// than `{id}` (braces inside label values trip some scrapers' parsers).
pub async fn route(req: Request, next: Next) -> Response {
    let matched = req.extensions().get::<MatchedPath>().map(|m| m.as_str().replace('{', ":").replace('}', ""));
    let mut resp = next.run(req).await;
    if let Some(m) = matched {
        resp.extensions_mut().insert(Route(m));
    }
    resp
}

/// A request id the client chose is kept if it is short and plain (it goes into logs).
fn client_id(req: &Request) -> Option<String> {
    let v = req.headers().get(REQUEST_ID)?.to_str().ok()?;
    let plain = !v.is_empty() && v.len() <= 64 && v.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b));
    plain.then(|| v.to_string())
}

/// Around everything: the request id, the access log line and the request metrics.
pub async fn layer(State(st): State<Arc<Registry>>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let id = client_id(&req).unwrap_or_else(|| uuid::Uuid::now_v7().simple().to_string());
    let method = req.method().to_string();
    let path = req.uri().path().to_string();
    let client = req.extensions().get::<axum::extract::ConnectInfo<std::net::SocketAddr>>().map(|c| c.0.ip());
    let span = tracing::info_span!("request", id = %id);
    let mut resp = next.run(req).instrument(span.clone()).await;
    let route = resp.extensions().get::<Route>().map_or_else(|| "unmatched".to_string(), |r| r.0.clone());
    let status = resp.status().as_u16();
    let took = started.elapsed();
    let m = &st.metrics;
    m.requests.get_or_create(&RequestLabels { method: method.clone(), route: route.clone(), status }).inc();
    m.request_seconds
        .get_or_create(&RouteLabels { method: method.clone(), route: route.clone() })
        .observe(took.as_secs_f64());
    span.in_scope(|| {
        tracing::info!(target: "access", %method, %route, %path, status, ms = took.as_millis() as u64, client = ?client);
    });
    if let Ok(v) = HeaderValue::from_str(&id) {
        resp.headers_mut().insert(REQUEST_ID, v);
    }
    resp
}

/// `GET /metrics`: the Prometheus text format (version 0.0.4), for loopback scrapers and bearers of the
/// configured `metrics_token`.
pub async fn metrics(State(st): State<Arc<Registry>>, req: Request) -> Response {
    let peer = req.extensions().get::<axum::extract::ConnectInfo<std::net::SocketAddr>>().map(|c| c.0.ip());
    // No connection: the router driven in-process.
    let local = peer.is_none_or(|ip| ip.to_canonical().is_loopback());
    let bearer =
        req.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "));
    let token_ok = match (&st.config.metrics_token, bearer) {
        // Compared as digests: equal-length inputs, so the comparison's time says nothing of the token.
        (Some(want), Some(got)) => Sha256::digest(want.0.as_bytes()) == Sha256::digest(got.as_bytes()),
        _ => false,
    };
    if !local && !token_ok {
        return (StatusCode::FORBIDDEN, "metrics are served to loopback clients or with the metrics token\n")
            .into_response();
    }
    match dipr_registry::scrape::metrics(&st).await {
        Ok(text) => ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], text).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "metrics could not be read");
            (StatusCode::SERVICE_UNAVAILABLE, "metrics could not be read\n").into_response()
        }
    }
}
