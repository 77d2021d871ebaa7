//! Fingerprints outside a filing: the registry's discovery key, and which registered products a suspect
//! dataset contains.

use std::sync::Arc;

use axum::extract::State as AxState;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::Caller;
use crate::error::ApiResult;
use crate::error::ErrorEnvelope;
use crate::error::Json;
use crate::error::Query;
use dipr_registry::Registry;

type S = AxState<Arc<Registry>>;

pub fn routes() -> OpenApiRouter<Arc<Registry>> {
    OpenApiRouter::new().routes(routes!(discovery_key)).routes(routes!(discover))
}

/// The registry's discovery key, for fingerprinting data to file or to look up.
#[utoipa::path(get, path = "/fingerprint/discovery-key", tag = "fingerprints", security(("bearer" = [])),
    responses((status = 200, body = dipr_registry::fingerprints::DiscoveryKey), (status = 401, body = ErrorEnvelope), (status = "4XX", body = ErrorEnvelope)))]
async fn discovery_key(AxState(st): S, caller: Caller) -> ApiResult<Json<dipr_registry::fingerprints::DiscoveryKey>> {
    caller.user()?;
    Ok(Json(dipr_registry::fingerprints::discovery_key(&st)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct DiscoverParams {
    /// At most this many products (default 20).
    pub limit: Option<usize>,
}

/// Which registered products does a suspect dataset or package contain? Send its discovery sketch (`dipr
/// discover`): scale 256 for a dataset, 8 for a package.
#[utoipa::path(post, path = "/discover", tag = "fingerprints", security(("bearer" = [])), params(DiscoverParams),
    request_body(content = Object, description = "{key_id, scale (256: a dataset; 8: a package), sketch: [hex]}"),
    responses((status = 200, body = Vec<dipr_registry::fingerprints::Discovery>), (status = "4XX", body = ErrorEnvelope)))]
async fn discover(
    AxState(st): S,
    caller: Caller,
    Query(q): Query<DiscoverParams>,
    Json(sketch): Json<dipr_fingerprint::DiscoverySketch>,
) -> ApiResult<Json<Vec<dipr_registry::fingerprints::Discovery>>> {
    caller.user()?;
    Ok(Json(dipr_registry::fingerprints::discover(&st, &sketch, q.limit.unwrap_or(20).clamp(1, 100)).await?))
}
