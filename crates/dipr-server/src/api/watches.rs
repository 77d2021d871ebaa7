//! Watches and their alerts: a signed-in account follows a registration, a holder or a search, reads its
//! alerts, and registers webhook endpoints (each with its delivery log). Every route acts on the caller's own
//! watches and endpoints only; another account's are "not found".

use std::sync::Arc;

use axum::extract::State as AxState;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use dipr_registry::watches::{NewEndpoint, NewWatch, Overview};
use dipr_registry::Registry;
use dipr_store::{AlertRecord, AttemptRecord, EndpointRecord, WatchRecord};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::auth::Caller;
use crate::error::{ApiResult, ErrorEnvelope, Json, Path, Query};

type S = AxState<Arc<Registry>>;

pub fn routes() -> OpenApiRouter<Arc<Registry>> {
    OpenApiRouter::new()
        .routes(routes!(list_watches, create_watch))
        .routes(routes!(stop_watch))
        .routes(routes!(alerts))
        .routes(routes!(create_endpoint))
        .routes(routes!(endpoint_log))
        .routes(routes!(set_endpoint_enabled))
}

/// Your watches and webhook endpoints, stopped and disabled ones too.
#[utoipa::path(get, path = "/me/watches", tag = "watches", security(("bearer" = [])),
    responses((status = 200, body = Overview), (status = "4XX", body = ErrorEnvelope)))]
async fn list_watches(AxState(st): S, caller: Caller) -> ApiResult<Json<Overview>> {
    Ok(Json(dipr_registry::watches::overview(&st, caller.user()?).await?))
}

/// Watch a registration (by registration number or record id), a holder (by credit code) or a search. Alerts
/// start with the next public event.
#[utoipa::path(post, path = "/me/watches", request_body = NewWatch, tag = "watches", security(("bearer" = [])),
    responses((status = 201, body = WatchRecord), (status = "4XX", body = ErrorEnvelope)))]
async fn create_watch(AxState(st): S, caller: Caller, Json(req): Json<NewWatch>) -> ApiResult<impl IntoResponse> {
    let watch = dipr_registry::watches::create_watch(&st, caller.user()?, req).await?;
    Ok((StatusCode::CREATED, Json(watch)))
}

/// Stop one of your watches. It stays listed, with its alerts.
#[utoipa::path(post, path = "/me/watches/{id}/stop", tag = "watches", security(("bearer" = [])),
    params(("id" = Uuid, Path)), responses((status = 204), (status = "4XX", body = ErrorEnvelope)))]
async fn stop_watch(AxState(st): S, caller: Caller, Path(id): Path<Uuid>) -> ApiResult<StatusCode> {
    dipr_registry::watches::stop_watch(&st, caller.user()?, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct AlertsQuery {
    /// At most this many, newest first (1–200; 50 when omitted).
    limit: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Alerts {
    pub items: Vec<AlertRecord>,
}

/// Your newest alerts: each public log entry that matched one of your watches, with its log index.
#[utoipa::path(get, path = "/me/alerts", tag = "watches", security(("bearer" = [])), params(AlertsQuery),
    responses((status = 200, body = Alerts), (status = "4XX", body = ErrorEnvelope)))]
async fn alerts(AxState(st): S, caller: Caller, Query(q): Query<AlertsQuery>) -> ApiResult<Json<Alerts>> {
    let items = dipr_registry::watches::alerts(&st, caller.user()?, q.limit.unwrap_or(50)).await?;
    Ok(Json(Alerts { items }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NewEndpointResponse {
    pub endpoint: EndpointRecord,
    /// The signing secret (`whsec_…`, Standard Webhooks). Shown once: keep it.
    pub secret: String,
}

/// Register a webhook endpoint. Each alert is POSTed to it as JSON with the headers `webhook-id`,
/// `webhook-timestamp` and `webhook-signature` (`v1,` + base64 HMAC-SHA256 of `id.timestamp.body` keyed with
/// the secret's bytes), retried with exponential back-off; an endpoint that keeps failing is disabled.
/// Private, loopback and link-local addresses are refused unless the registry allows them.
#[utoipa::path(post, path = "/me/webhooks", request_body = NewEndpoint, tag = "watches", security(("bearer" = [])),
    responses((status = 201, body = NewEndpointResponse), (status = "4XX", body = ErrorEnvelope)))]
async fn create_endpoint(AxState(st): S, caller: Caller, Json(req): Json<NewEndpoint>) -> ApiResult<impl IntoResponse> {
    let (endpoint, secret) = dipr_registry::watches::create_endpoint(&st, caller.user()?, req).await?;
    Ok((StatusCode::CREATED, Json(NewEndpointResponse { endpoint, secret })))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EndpointLog {
    pub endpoint: EndpointRecord,
    /// The newest delivery attempts, newest first.
    pub attempts: Vec<AttemptRecord>,
}

/// One of your webhook endpoints and its delivery log.
#[utoipa::path(get, path = "/me/webhooks/{id}", tag = "watches", security(("bearer" = [])),
    params(("id" = Uuid, Path)), responses((status = 200, body = EndpointLog), (status = "4XX", body = ErrorEnvelope)))]
async fn endpoint_log(AxState(st): S, caller: Caller, Path(id): Path<Uuid>) -> ApiResult<Json<EndpointLog>> {
    let (endpoint, attempts) = dipr_registry::watches::endpoint_log(&st, caller.user()?, id).await?;
    Ok(Json(EndpointLog { endpoint, attempts }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EndpointState {
    pub enabled: bool,
}

/// Enable or disable one of your webhook endpoints (enabling one disabled for failing resets its count).
#[utoipa::path(post, path = "/me/webhooks/{id}/state", request_body = EndpointState, tag = "watches",
    security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses((status = 200, body = EndpointRecord), (status = "4XX", body = ErrorEnvelope)))]
async fn set_endpoint_enabled(
    AxState(st): S,
    caller: Caller,
    Path(id): Path<Uuid>,
    Json(req): Json<EndpointState>,
) -> ApiResult<Json<EndpointRecord>> {
    Ok(Json(dipr_registry::watches::set_endpoint_enabled(&st, caller.user()?, id, req.enabled).await?))
}
