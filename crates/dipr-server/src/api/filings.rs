//! An applicant's (or agent's) filings: drafts and edits, the lifecycle commands on them, their history,
//! and the fingerprint manifest a filing names.

use std::sync::Arc;

use axum::extract::State as AxState;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use dipr_domain::access::Role;
use dipr_domain::application::{Application, ApplicationForm};
use dipr_domain::lifecycle::Command;
use dipr_domain::party::NewParty;
use dipr_store::{ApplicationFilter, EventRecord, Paged};
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::api::lifecycle::run;
use crate::api::params::{page_of, parse_states, QueueParams};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::error::ApiResult;
use crate::error::ErrorEnvelope;
use crate::error::Json;
use crate::error::Path;
use crate::error::Query;
use dipr_registry::Registry;

type S = AxState<Arc<Registry>>;

pub fn routes() -> OpenApiRouter<Arc<Registry>> {
    OpenApiRouter::new()
        .routes(routes!(my_applications, create_application))
        .routes(routes!(get_application, edit_application))
        .routes(routes!(application_history))
        .routes(routes!(submit))
        .routes(routes!(resubmit))
        .routes(routes!(discard))
        .routes(routes!(withdraw))
        .routes(routes!(cancel))
        .routes(routes!(respond_to_objection))
        .routes(routes!(attach_manifest, get_manifest))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateApplicationRequest {
    /// Agents only: the party they file for (found by identifier, or registered).
    pub applicant: Option<NewParty>,
    pub form: ApplicationForm,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EditApplicationRequest {
    pub form: ApplicationForm,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TextRequest {
    /// The applicant's answer, or the withdrawal reason.
    #[serde(default)]
    pub text: String,
}

/// Your filings (as applicant, or filed by you as agent).
#[utoipa::path(get, path = "/applications", tag = "applications", security(("bearer" = [])),
    params(QueueParams), responses((status = 200, body = Paged<Application>), (status = "4XX", body = ErrorEnvelope)))]
async fn my_applications(
    AxState(st): S,
    caller: Caller,
    Query(q): Query<QueueParams>,
) -> ApiResult<Json<Paged<Application>>> {
    let user = caller.user()?;
    let filter = ApplicationFilter {
        owned_by: Some((user.id, user.party_id)),
        states: parse_states(q.state.as_deref())?,
        ..Default::default()
    };
    Ok(Json(st.store.applications(&filter, page_of(q.page, q.per_page)?).await?))
}

/// Start a draft application.
#[utoipa::path(post, path = "/applications", request_body = CreateApplicationRequest, tag = "applications", security(("bearer" = [])),
    responses((status = 201, body = Application), (status = "4XX", body = ErrorEnvelope)))]
async fn create_application(
    AxState(st): S,
    caller: Caller,
    Json(req): Json<CreateApplicationRequest>,
) -> ApiResult<impl IntoResponse> {
    let user = caller.require(&[Role::Applicant, Role::Agent, Role::Examiner, Role::Admin, Role::Bank])?;
    let app = dipr_registry::filings::create_application(&st, user, req.applicant, req.form).await?;
    Ok((StatusCode::CREATED, Json(app)))
}

fn visible(caller: &Caller, app: Option<Application>) -> ApiResult<Application> {
    app.filter(|a| dipr_domain::access::can_read_full(&caller.actor(), a))
        .ok_or_else(|| ApiError::not_found("application"))
}

/// A filing in full: its applicant, filer, examiners and administrators only.
#[utoipa::path(get, path = "/applications/{id}", tag = "applications", security(("bearer" = [])),
    params(("id" = Uuid, Path)), responses((status = 200, body = Application), (status = "4XX", body = ErrorEnvelope)))]
async fn get_application(AxState(st): S, caller: Caller, Path(id): Path<Uuid>) -> ApiResult<Json<Application>> {
    caller.user()?;
    Ok(Json(visible(&caller, st.store.application(id).await?)?))
}

/// Replace the form of a draft, or of a filing sent back for correction.
#[utoipa::path(put, path = "/applications/{id}", request_body = EditApplicationRequest, tag = "applications", security(("bearer" = [])),
    params(("id" = Uuid, Path)), responses((status = 200, body = Application), (status = "4XX", body = ErrorEnvelope)))]
async fn edit_application(
    AxState(st): S,
    caller: Caller,
    Path(id): Path<Uuid>,
    Json(req): Json<EditApplicationRequest>,
) -> ApiResult<Json<Application>> {
    Ok(Json(dipr_registry::filings::edit_application(&st, caller.user()?, id, req.form).await?))
}

/// Every event of a filing, with actors and reasons.
#[utoipa::path(get, path = "/applications/{id}/history", tag = "applications", security(("bearer" = [])),
    params(("id" = Uuid, Path)), responses((status = 200, body = Vec<EventRecord>), (status = "4XX", body = ErrorEnvelope)))]
async fn application_history(
    AxState(st): S,
    caller: Caller,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<Vec<EventRecord>>> {
    caller.user()?;
    visible(&caller, st.store.application(id).await?)?;
    Ok(Json(st.store.events("application", &id.to_string()).await?))
}

/// Submit a complete draft for examination.
#[utoipa::path(post, path = "/applications/{id}/submit", tag = "applications", security(("bearer" = [])),
    params(("id" = Uuid, Path)), responses((status = 200, body = Application), (status = "4XX", body = ErrorEnvelope)))]
async fn submit(AxState(st): S, caller: Caller, Path(id): Path<Uuid>) -> ApiResult<Json<Application>> {
    run(&st, &caller, id, Command::Submit).await
}

/// Send the corrected filing back before the correction deadline.
#[utoipa::path(post, path = "/applications/{id}/resubmit", request_body = TextRequest, tag = "applications", security(("bearer" = [])),
    params(("id" = Uuid, Path)), responses((status = 200, body = Application), (status = "4XX", body = ErrorEnvelope)))]
async fn resubmit(
    AxState(st): S,
    caller: Caller,
    Path(id): Path<Uuid>,
    Json(req): Json<TextRequest>,
) -> ApiResult<Json<Application>> {
    run(&st, &caller, id, Command::Resubmit { response: req.text }).await
}

/// Discard a draft that was never submitted: it leaves the applicant's lists (the audit trail keeps it) and
/// puts no bar on filing the product again.
#[utoipa::path(post, path = "/applications/{id}/discard", tag = "applications", security(("bearer" = [])),
    params(("id" = Uuid, Path)), responses((status = 200, body = Application), (status = "4XX", body = ErrorEnvelope)))]
async fn discard(AxState(st): S, caller: Caller, Path(id): Path<Uuid>) -> ApiResult<Json<Application>> {
    run(&st, &caller, id, Command::Discard).await
}

/// Withdraw a submitted filing before registration (the same product may not be filed again for the bar
/// period; a draft is discarded instead).
#[utoipa::path(post, path = "/applications/{id}/withdraw", request_body = TextRequest, tag = "applications", security(("bearer" = [])),
    params(("id" = Uuid, Path)), responses((status = 200, body = Application), (status = "4XX", body = ErrorEnvelope)))]
async fn withdraw(
    AxState(st): S,
    caller: Caller,
    Path(id): Path<Uuid>,
    Json(req): Json<TextRequest>,
) -> ApiResult<Json<Application>> {
    run(&st, &caller, id, Command::Withdraw { reason: req.text }).await
}

/// Cancel a registration (the holder gives it up). Logged in the public ledger.
#[utoipa::path(post, path = "/applications/{id}/cancel", request_body = TextRequest, tag = "applications", security(("bearer" = [])),
    params(("id" = Uuid, Path)), responses((status = 200, body = Application), (status = "4XX", body = ErrorEnvelope)))]
async fn cancel(
    AxState(st): S,
    caller: Caller,
    Path(id): Path<Uuid>,
    Json(req): Json<TextRequest>,
) -> ApiResult<Json<Application>> {
    run(&st, &caller, id, Command::Cancel { reason: req.text }).await
}

/// Answer an objection.
#[utoipa::path(post, path = "/applications/{id}/objections/{oid}/response", request_body = TextRequest, tag = "applications",
    security(("bearer" = [])), params(("id" = Uuid, Path), ("oid" = Uuid, Path)),
    responses((status = 200, body = Application), (status = "4XX", body = ErrorEnvelope)))]
async fn respond_to_objection(
    AxState(st): S,
    caller: Caller,
    Path((id, oid)): Path<(Uuid, Uuid)>,
    Json(req): Json<TextRequest>,
) -> ApiResult<Json<Application>> {
    run(&st, &caller, id, Command::RespondToObjection { objection_id: oid, response: req.text }).await
}

/// File the fingerprint manifest (from `dipr fingerprint --discovery-key …`): it becomes the content
/// commitment. Drafts and filings sent back for correction only.
#[utoipa::path(put, path = "/applications/{id}/manifest", tag = "fingerprints", security(("bearer" = [])),
    params(("id" = Uuid, Path)), request_body(content = Object, description = "a signed dipr-fingerprint-manifest/v2 (v1 still read): a dataset's, or with `format: package` an algorithm package's"),
    responses((status = 200, body = Application), (status = "4XX", body = ErrorEnvelope)))]
async fn attach_manifest(
    AxState(st): S,
    caller: Caller,
    Path(id): Path<Uuid>,
    Json(m): Json<dipr_fingerprint::Manifest>,
) -> ApiResult<Json<Application>> {
    Ok(Json(dipr_registry::fingerprints::attach(&st, caller.user()?, id, m).await?))
}

/// The manifest a filing names (applicant, examiners and administrators).
#[utoipa::path(get, path = "/applications/{id}/manifest", tag = "fingerprints", security(("bearer" = [])),
    params(("id" = Uuid, Path)), responses((status = 200, description = "the signed manifest (dipr-fingerprint-manifest/v1 or v2; `format: package` for an algorithm package)", body = Object), (status = "4XX", body = ErrorEnvelope)))]
async fn get_manifest(
    AxState(st): S,
    caller: Caller,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<dipr_fingerprint::Manifest>> {
    caller.user()?;
    let app = visible(&caller, st.store.application(id).await?)?;
    Ok(Json(dipr_registry::fingerprints::current_manifest(&st, &app).await?))
}
