//! The public log: inclusion and consistency proofs under `/api/v1`; the signed checkpoint and the C2SP
//! tiles, and the health check, at the site's root.

use std::sync::Arc;

use axum::extract::State as AxState;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::conditional;
use crate::error::ApiError;
use crate::error::ApiResult;
use crate::error::ErrorEnvelope;
use crate::error::Json;
use crate::error::Query;
use dipr_registry::Registry;

type S = AxState<Arc<Registry>>;

pub fn routes() -> OpenApiRouter<Arc<Registry>> {
    OpenApiRouter::new().routes(routes!(inclusion_proof)).routes(routes!(consistency_proof))
}

/// Served at the root, where tlog clients and load balancers look for them. The checkpoint and the tiles
/// are text and bytes that C2SP specifies, not JSON operations, so they stay out of the OpenAPI document
/// (its `ledger` tag points to them).
pub fn root_routes() -> OpenApiRouter<Arc<Registry>> {
    OpenApiRouter::new()
        .routes(routes!(healthz))
        .routes(routes!(readyz))
        .routes(routes!(livez))
        .route("/log/checkpoint", get(log_checkpoint))
        .route("/log/tile/{*path}", get(log_tile))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// `ok`, or `degraded` (with the reasons in `problems`).
    pub status: &'static str,
    pub database: &'static str,
    pub now: DateTime<Utc>,
    /// The log: its size, witnessing, and whether the database is behind what was published.
    pub log: Option<dipr_registry::witnessing::LogHealth>,
    pub problems: Vec<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct InclusionParams {
    pub index: u64,
    /// Tree size of the checkpoint to prove against (default: the latest).
    pub size: Option<u64>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ConsistencyParams {
    pub old: u64,
    /// Default: the latest checkpoint's size.
    pub new: Option<u64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProofResponse {
    pub index: Option<u64>,
    pub old_size: Option<u64>,
    pub size: u64,
    /// Base64 SHA-256 hashes, RFC 9162 order.
    pub hashes: Vec<String>,
    /// The signed checkpoint of `size`.
    pub checkpoint: String,
}

fn b64_hashes(h: Vec<dipr_ledger::Hash>) -> Vec<String> {
    use base64::Engine;
    h.iter().map(|h| base64::engine::general_purpose::STANDARD.encode(h)).collect()
}

async fn checkpoint_note(st: &Registry, size: Option<u64>) -> ApiResult<(u64, String)> {
    st.store.checkpoint(size).await?.ok_or_else(|| match size {
        Some(s) => ApiError::new("bad_request", format!("no checkpoint of size {s}")),
        None => ApiError::not_found("checkpoint (the log is empty)"),
    })
}

/// Inclusion proof of a log entry in a signed checkpoint.
#[utoipa::path(get, path = "/log/proofs/inclusion", tag = "ledger", params(InclusionParams),
    responses((status = 200, body = ProofResponse), (status = "4XX", body = ErrorEnvelope)))]
async fn inclusion_proof(AxState(st): S, Query(q): Query<InclusionParams>) -> ApiResult<Json<ProofResponse>> {
    let (size, checkpoint) = checkpoint_note(&st, q.size).await?;
    let hashes = dipr_registry::ledger::prove_inclusion(st.store.as_ref(), q.index, size).await?;
    Ok(Json(ProofResponse { index: Some(q.index), old_size: None, size, hashes: b64_hashes(hashes), checkpoint }))
}

/// Consistency proof between two checkpoints.
#[utoipa::path(get, path = "/log/proofs/consistency", tag = "ledger", params(ConsistencyParams),
    responses((status = 200, body = ProofResponse), (status = "4XX", body = ErrorEnvelope)))]
async fn consistency_proof(AxState(st): S, Query(q): Query<ConsistencyParams>) -> ApiResult<Json<ProofResponse>> {
    let (size, checkpoint) = checkpoint_note(&st, q.new).await?;
    let hashes = dipr_registry::ledger::prove_consistency(st.store.as_ref(), q.old, size).await?;
    Ok(Json(ProofResponse { index: None, old_size: Some(q.old), size, hashes: b64_hashes(hashes), checkpoint }))
}

/// The latest signed checkpoint (C2SP tlog-checkpoint) with its witnesses' cosignatures (with a quorum
/// configured, the newest that has it), as text: cached a few seconds at most, never transformed, revalidated
/// by its entity tag.
async fn log_checkpoint(AxState(st): S, headers: HeaderMap) -> Response {
    let published = dipr_registry::witnessing::published_checkpoint(&st)
        .await
        .map_err(ApiError::from)
        .and_then(|n| n.ok_or_else(|| ApiError::not_found("checkpoint (the log is empty)")));
    match published {
        Ok(note) => conditional::answer(
            &headers,
            conditional::CHECKPOINT,
            &[(header::CONTENT_TYPE, "text/plain; charset=utf-8".into())],
            note.into_bytes(),
        ),
        Err(e) => conditional::uncached(e),
    }
}

/// C2SP tlog-tiles: hash tiles `tile/<L>/<N>[.p/<W>]` and entry bundles `tile/entries/<N>[.p/<W>]`. What an
/// address holds never changes, partial tiles included: immutable, with an entity tag.
async fn log_tile(
    AxState(st): S,
    axum::extract::Path(path): axum::extract::Path<String>,
    headers: HeaderMap,
) -> Response {
    let Some(req) = dipr_ledger::tile::TileRequest::parse(&path) else {
        return conditional::uncached(ApiError::not_found("tile"));
    };
    match dipr_registry::tiles::tile(st.store.as_ref(), &req).await {
        Ok(Some(body)) => conditional::answer(
            &headers,
            conditional::IMMUTABLE,
            &[(header::CONTENT_TYPE, "application/octet-stream".into())],
            body,
        ),
        // Not there yet: it will be once the log grows, so no cache may keep the refusal.
        Ok(None) => conditional::uncached(ApiError::not_found("tile")),
        Err(e) => conditional::uncached(ApiError::from(e)),
    }
}

/// Liveness, database reachability and the log's health: 503 when the database is unreachable, when its log
/// is behind the checkpoint the registry has published (a rollback), or when the newest checkpoint has waited
/// too long for its witnesses (`witness_max_lag_secs`).
#[utoipa::path(get, path = "/healthz", tag = "meta", responses((status = 200, body = Health), (status = 503, body = Health)))]
async fn healthz(AxState(st): S) -> impl IntoResponse {
    readiness(&st).await
}

/// Readiness, for load balancers: the same checks as `/healthz` (a process whose database or log is unhealthy
/// should get no traffic).
#[utoipa::path(get, path = "/readyz", tag = "meta", responses((status = 200, body = Health), (status = 503, body = Health)))]
async fn readyz(AxState(st): S) -> impl IntoResponse {
    readiness(&st).await
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Alive {
    pub status: &'static str,
}

/// Liveness, for process supervisors: the process answers requests. It reads nothing, so a database outage
/// does not get healthy processes restarted (readiness takes them out of rotation instead).
#[utoipa::path(get, path = "/livez", tag = "meta", responses((status = 200, body = Alive)))]
async fn livez() -> Json<Alive> {
    Json(Alive { status: "ok" })
}

async fn readiness(st: &Registry) -> impl IntoResponse {
    let mut problems = Vec::new();
    let log = match st.store.ping().await {
        Err(e) => {
            problems.push(format!("the database does not answer: {e}"));
            None
        }
        Ok(()) => match dipr_registry::witnessing::log_health(st).await {
            Ok(log) => Some(log),
            Err(e) => {
                problems.push(format!("the log cannot be read: {}", e.message));
                None
            }
        },
    };
    problems.extend(log.iter().flat_map(|l| l.problems.iter().cloned()));
    let ok = problems.is_empty();
    let body = Health {
        status: if ok { "ok" } else { "degraded" },
        database: st.store.backend(),
        now: st.clock.now(),
        log,
        problems,
    };
    (if ok { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE }, axum::Json(body))
}
