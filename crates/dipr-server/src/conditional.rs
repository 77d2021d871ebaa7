//! Conditional GET for what caches may keep: the log's checkpoint and tiles, certificates (JSON and PDF). An
//! answer carries an entity tag and its `Cache-Control`; a request whose `If-None-Match` names the tag gets
//! `304 Not Modified` with no body, so a client or a CDN revalidates without downloading again.

use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

/// Full and partial tiles: the bytes at a tile's address never change (C2SP tlog-tiles: "this endpoint is
/// immutable, so its caching headers SHOULD be long-lived"). A partial tile is not replaced as the log grows:
/// a larger log needs a wider partial tile, at another address.
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// The checkpoint changes with every append (C2SP: "its headers SHOULD prevent caching beyond a few
/// seconds"); no proxy may alter the signed note.
pub const CHECKPOINT: &str = "public, max-age=5, no-transform";
/// Certificates are public but may change (a new revision, newer cosignatures, a registration ended):
/// kept, and revalidated on every use.
pub const REVALIDATE: &str = "public, no-cache";
/// Answers that are not the resource (not found yet, an error): never kept.
pub const NO_STORE: &str = "no-store";

/// A strong entity tag: the SHA-256 of the bytes served (the first 128 bits, in hex).
pub fn strong_tag(body: &[u8]) -> String {
    format!("\"{}\"", &hex::encode(Sha256::digest(body))[..32])
}

/// A weak entity tag over what a rendering is made from, for answers that are equivalent, not byte-identical,
/// whenever their inputs are (a PDF rendered from the same certificate); computed without rendering.
pub fn weak_tag(inputs: &[&[u8]]) -> String {
    let mut h = Sha256::new();
    for i in inputs {
        h.update((i.len() as u64).to_be_bytes());
        h.update(i);
    }
    format!("W/\"{}\"", &hex::encode(h.finalize())[..32])
}

/// Whether the request's `If-None-Match` names `tag` (or `*`). Comparison is weak, as RFC 9110 requires for
/// `If-None-Match`: `W/"x"` and `"x"` match.
pub fn not_modified(request: &HeaderMap, tag: &str) -> bool {
    let opaque = |t: &str| t.trim().trim_start_matches("W/").to_string();
    let want = opaque(tag);
    request
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| t.trim() == "*" || opaque(t) == want)
}

/// `304 Not Modified` for `tag`, with the caching headers the full answer would carry.
pub fn unchanged(tag: &str, cache_control: &'static str) -> Response {
    let mut resp = StatusCode::NOT_MODIFIED.into_response();
    set(resp.headers_mut(), tag, cache_control);
    resp
}

/// `body` with its content type and caching headers, or `304` when the client holds the same bytes already.
pub fn answer(
    request: &HeaderMap,
    cache_control: &'static str,
    headers: &[(header::HeaderName, String)],
    body: Vec<u8>,
) -> Response {
    let tag = strong_tag(&body);
    if not_modified(request, &tag) {
        return unchanged(&tag, cache_control);
    }
    with_tag(&tag, cache_control, headers, body)
}

/// `body` with its headers, an entity tag already computed and the caching headers.
pub fn with_tag(
    tag: &str,
    cache_control: &'static str,
    headers: &[(header::HeaderName, String)],
    body: Vec<u8>,
) -> Response {
    let mut resp = body.into_response();
    let h = resp.headers_mut();
    for (name, value) in headers {
        if let Ok(v) = HeaderValue::from_str(value) {
            h.insert(name.clone(), v);
        }
    }
    set(h, tag, cache_control);
    resp
}

fn set(h: &mut HeaderMap, tag: &str, cache_control: &'static str) {
    if let Ok(t) = HeaderValue::from_str(tag) {
        h.insert(header::ETAG, t);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache_control));
}

/// Public JSON reads that carry an entity tag computed from what they answer (their answers are small).
const TAGGED: &[&str] = &[
    "/api/v1/public/",
    "/api/v1/industries",
    "/api/v1/calendar",
    "/api/v1/errors",
    "/api/v1/statistics",
    "/api/v1/encumbrances",
    "/api/v1/log/proofs/",
    "/api/openapi.json",
];
/// Larger answers are passed on untagged rather than held in memory.
const TAG_LIMIT: usize = 8 << 20;

/// Conditional GET for public JSON: a `200` answer gets a strong entity tag of its bytes and
/// `Cache-Control: public, no-cache`, and a request that names the tag gets `304` without the body.
pub async fn layer(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let tagged = req.method() == axum::http::Method::GET && TAGGED.iter().any(|p| req.uri().path().starts_with(p));
    let asked = req.headers().clone();
    let resp = next.run(req).await;
    let json = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !tagged || resp.status() != axum::http::StatusCode::OK || !json || resp.headers().contains_key(header::ETAG) {
        return resp;
    }
    let (mut parts, body) = resp.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, TAG_LIMIT).await else {
        return (axum::http::StatusCode::INTERNAL_SERVER_ERROR, "answer too large to tag").into_response();
    };
    let tag = strong_tag(&bytes);
    if not_modified(&asked, &tag) {
        return unchanged(&tag, REVALIDATE);
    }
    set(&mut parts.headers, &tag, REVALIDATE);
    Response::from_parts(parts, axum::body::Body::from(bytes))
}

/// An error answer that no cache may keep (a tile not there yet will be soon).
pub fn uncached(resp: impl IntoResponse) -> Response {
    let mut resp = resp.into_response();
    resp.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static(NO_STORE));
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_none_match_lists_and_weak_tags() {
        let tag = strong_tag(b"tile");
        let mut h = HeaderMap::new();
        assert!(!not_modified(&h, &tag));
        h.insert(header::IF_NONE_MATCH, HeaderValue::from_str(&format!("\"other\", W/{tag}")).unwrap());
        assert!(not_modified(&h, &tag));
        h.insert(header::IF_NONE_MATCH, HeaderValue::from_static("\"other\""));
        assert!(!not_modified(&h, &tag));
        h.insert(header::IF_NONE_MATCH, HeaderValue::from_static("*"));
        assert!(not_modified(&h, &tag));
        assert_ne!(weak_tag(&[b"ab", b"c"]), weak_tag(&[b"a", b"bc"]), "inputs are delimited");
    }
}
