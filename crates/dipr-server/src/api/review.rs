//! The examiner's side: the review queue, decisions on filings and on objections, and overlap warnings.

use std::sync::Arc;

use axum::extract::State as AxState;
use dipr_domain::access::Role;
use dipr_domain::application::{Application, ObjectionOutcome, State};
use dipr_domain::lifecycle::Command;
use dipr_store::{ApplicationFilter, Order, Paged};
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::api::lifecycle::run;
use crate::api::params::{page_of, parse_states, QueueParams};
use crate::auth::Caller;
use crate::error::ApiResult;
use crate::error::ErrorEnvelope;
use crate::error::Json;
use crate::error::Path;
use crate::error::Query;
use dipr_registry::audit::actor_of;
use dipr_registry::Registry;

type S = AxState<Arc<Registry>>;

pub fn routes() -> OpenApiRouter<Arc<Registry>> {
    OpenApiRouter::new()
        .routes(routes!(review_queue))
        .routes(routes!(decide))
        .routes(routes!(decide_objection))
        .routes(routes!(overlaps))
}

#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DecisionAction {
    /// Take a submitted filing into formal review.
    Accept,
    RequestCorrection,
    Reject,
    PassFormalReview,
    Refuse,
    /// Approve for public notice.
    Approve,
    /// Revoke a registration (a ground for refusal found later).
    Revoke,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionRequest {
    pub action: DecisionAction,
    #[serde(default)]
    pub reasons: String,
    /// For `request_correction`: the items to correct.
    #[serde(default)]
    pub items: Vec<String>,
    /// The application's `version` the decision was made on: refused with `stale_version` if it has
    /// changed since (recommended, so a decision never lands on a state its maker did not see).
    #[serde(default)]
    pub version: Option<i64>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ObjectionDecisionRequest {
    pub outcome: ObjectionOutcome,
    pub reasons: String,
}

/// Filings waiting for an examiner, oldest first.
#[utoipa::path(get, path = "/review/queue", tag = "review", security(("bearer" = [])),
    params(QueueParams), responses((status = 200, body = Paged<Application>), (status = "4XX", body = ErrorEnvelope)))]
async fn review_queue(
    AxState(st): S,
    caller: Caller,
    Query(q): Query<QueueParams>,
) -> ApiResult<Json<Paged<Application>>> {
    caller.require(&[Role::Examiner, Role::Admin])?;
    let mut states = parse_states(q.state.as_deref())?;
    if states.is_empty() {
        states = State::ALL.into_iter().filter(|s| s.in_review_queue()).collect();
    }
    let filter = ApplicationFilter { states, order: Order::OldestFirst, ..Default::default() };
    Ok(Json(st.store.applications(&filter, page_of(q.page, q.per_page)?).await?))
}

/// Decide on a filing: accept, request correction, reject, pass formal review, refuse or approve.
#[utoipa::path(post, path = "/review/applications/{id}/decision", request_body = DecisionRequest, tag = "review",
    security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses((status = 200, body = Application), (status = "4XX", body = ErrorEnvelope)))]
async fn decide(
    AxState(st): S,
    caller: Caller,
    Path(id): Path<Uuid>,
    Json(req): Json<DecisionRequest>,
) -> ApiResult<Json<Application>> {
    caller.require(&[Role::Examiner])?;
    let reasons = req.reasons;
    let cmd = match req.action {
        DecisionAction::Accept => Command::AcceptForReview,
        DecisionAction::RequestCorrection => Command::RequestCorrection { items: req.items, reasons },
        DecisionAction::Reject => Command::Reject { reasons },
        DecisionAction::PassFormalReview => Command::PassFormalReview { reasons },
        DecisionAction::Refuse => Command::Refuse { reasons },
        DecisionAction::Approve => Command::Approve { reasons },
        DecisionAction::Revoke => Command::Revoke { reasons },
    };
    match req.version {
        Some(v) => Ok(Json(dipr_registry::filings::execute_on(&st, id, v, cmd, &actor_of(caller.user()?)).await?)),
        None => run(&st, &caller, id, cmd).await,
    }
}

/// Decide an objection: upheld (the filing is refused) or dismissed.
#[utoipa::path(post, path = "/review/applications/{id}/objections/{oid}/decision", request_body = ObjectionDecisionRequest,
    tag = "review", security(("bearer" = [])), params(("id" = Uuid, Path), ("oid" = Uuid, Path)),
    responses((status = 200, body = Application), (status = "4XX", body = ErrorEnvelope)))]
async fn decide_objection(
    AxState(st): S,
    caller: Caller,
    Path((id, oid)): Path<(Uuid, Uuid)>,
    Json(req): Json<ObjectionDecisionRequest>,
) -> ApiResult<Json<Application>> {
    caller.require(&[Role::Examiner])?;
    run(&st, &caller, id, Command::DecideObjection { objection_id: oid, outcome: req.outcome, reasons: req.reasons })
        .await
}

/// For examiners: other filings that already contain much of this filing's data.
#[utoipa::path(get, path = "/review/applications/{id}/overlaps", tag = "review", security(("bearer" = [])),
    params(("id" = Uuid, Path)), responses((status = 200, body = Vec<dipr_registry::fingerprints::Overlap>), (status = "4XX", body = ErrorEnvelope)))]
async fn overlaps(
    AxState(st): S,
    caller: Caller,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<Vec<dipr_registry::fingerprints::Overlap>>> {
    caller.require(&[Role::Examiner, Role::Admin])?;
    Ok(Json(dipr_registry::fingerprints::overlaps(&st, id).await?))
}
