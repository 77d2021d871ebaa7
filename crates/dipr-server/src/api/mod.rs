//! REST + JSON under `/api/v1`, the OpenAPI document, and `/healthz`. Its routes are in
//! [`routes`]; handlers stay thin and call [`crate::service`].

pub mod holdings;
pub mod params;

use std::sync::Arc;

use axum::extract::State as AxState;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post, put};
use axum::Router;
use chrono::{DateTime, NaiveDate, Utc};
use dipr_domain::access::Role;
use dipr_domain::application::{
    check_objection_text, Application, ApplicationForm, NewObjection, ObjectType, ObjectionOutcome, State,
};
use dipr_domain::lifecycle::Command;
use dipr_domain::party::{NewParty, Party};
use dipr_domain::public::PublicRecord;
use dipr_domain::shown;
use dipr_domain::time::{CalendarDay, DayKind};
use dipr_store::{ApplicationFilter, EventRecord, Industry, Order, Page, Paged, TokenRecord, UserRecord};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use utoipa::{IntoParams, OpenApi, ToSchema};
use uuid::Uuid;

use crate::api::params::PageParams;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::error::ApiResult;
use crate::error::ErrorEnvelope;
use crate::error::Json;
use crate::error::Path;
use crate::error::Query;
use crate::peer::Peer;
use dipr_registry::accounts::NewAccount;
use dipr_registry::audit::actor_of;
use dipr_registry::error::ERROR_CODES;
use dipr_registry::records::public_detail;
use dipr_registry::records::PublicRecordDetail;
use dipr_registry::timers::TimerReport;
use dipr_registry::Registry;

type S = AxState<Arc<Registry>>;

/// The JSON API, the OpenAPI document, the log's checkpoint and tiles, and the health check.
pub fn routes() -> Router<Arc<Registry>> {
    let v1 = Router::new()
        .route("/auth/signup", post(signup))
        .route("/auth/signin", post(signin))
        .route("/auth/signout", post(signout))
        .route("/me", get(me))
        .route("/me/tokens", get(list_tokens).post(create_token))
        .route("/me/tokens/{id}", axum::routing::delete(revoke_token))
        .route("/applications", get(my_applications).post(create_application))
        .route("/applications/{id}", get(get_application).put(edit_application))
        .route("/applications/{id}/history", get(application_history))
        .route("/applications/{id}/manifest", get(get_manifest).put(attach_manifest))
        .route("/fingerprint/discovery-key", get(discovery_key))
        .route("/discover", post(discover))
        .route("/review/applications/{id}/overlaps", get(overlaps))
        .route("/applications/{id}/submit", post(submit))
        .route("/applications/{id}/resubmit", post(resubmit))
        .route("/applications/{id}/withdraw", post(withdraw))
        .route("/applications/{id}/discard", post(discard))
        .route("/applications/{id}/cancel", post(cancel))
        .route("/applications/{id}/objections/{oid}/response", post(respond_to_objection))
        .route("/review/queue", get(review_queue))
        .route("/review/applications/{id}/decision", post(decide))
        .route("/review/applications/{id}/objections/{oid}/decision", post(decide_objection))
        .route("/public/records", get(search_records))
        .route("/public/records/{id}", get(public_record))
        .route("/public/records/{id}/objections", post(file_objection))
        .route("/public/notices", get(notices))
        .route("/public/records/{id}/certificate", get(certificate))
        .route("/public/records/{id}/certificate.pdf", get(certificate_pdf))
        .route("/log/proofs/inclusion", get(inclusion_proof))
        .route("/log/proofs/consistency", get(consistency_proof))
        .route("/industries", get(industries))
        .route("/calendar", get(calendar))
        .route("/errors", get(error_codes))
        .route("/admin/users", get(list_users).post(create_user))
        .route("/admin/sign-ins", get(sign_in_report))
        .route("/admin/users/{id}/disable", post(disable_user))
        .route("/admin/users/{id}/enable", post(enable_user))
        .route("/admin/industries/{code}", put(save_industry))
        .route("/admin/calendar/{date}", put(save_calendar_day))
        .route("/admin/clock", get(clock).post(advance_clock))
        .route("/admin/timers/run", post(run_timers))
        .route("/admin/witnesses/run", post(run_witnesses))
        .route("/admin/witnesses", get(get_witnesses).put(put_witnesses))
        .merge(crate::api::holdings::routes())
        .fallback(|| async { ApiError::not_found("endpoint") });
    Router::new()
        .nest("/api/v1", v1)
        .route("/api/openapi.json", get(openapi_json))
        .route("/log/checkpoint", get(log_checkpoint))
        .route("/log/tile/{*path}", get(log_tile))
        .route("/healthz", get(healthz))
}

// ---------------------------------------------------------------------------------------------------
// Shared request and response shapes

fn page_of(page: Option<u32>, per_page: Option<u32>) -> ApiResult<Page> {
    let (p, n) = (page.unwrap_or(1), per_page.unwrap_or(20));
    if p == 0 || p > 1_000_000 || n == 0 || n > Page::MAX_PER_PAGE {
        return Err(ApiError::new("bad_request", "page must be ≥ 1 and per_page between 1 and 100"));
    }
    Ok(Page::new(p, n))
}

fn parse_states(s: Option<&str>) -> ApiResult<Vec<State>> {
    let Some(s) = s.filter(|s| !s.is_empty()) else { return Ok(Vec::new()) };
    let mut out = Vec::new();
    for part in s.split(',') {
        match part.trim() {
            "notice" => out.extend([State::PublicNotice, State::ObjectionPending]),
            other => out.push(
                State::parse(other).ok_or_else(|| ApiError::new("bad_request", format!("unknown state {other:?}")))?,
            ),
        }
    }
    Ok(out)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AccountResponse {
    pub user: UserRecord,
    pub party: Option<Party>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SigninRequest {
    pub username: String,
    pub password: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SigninResponse {
    /// Send as `Authorization: Bearer <token>`.
    pub token: String,
    pub expires_at: Option<DateTime<Utc>>,
    pub user: UserRecord,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTokenRequest {
    pub name: String,
    /// Omit for a token that lives until revoked.
    pub expires_in_days: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NewTokenResponse {
    /// Shown once; only its hash is stored.
    pub token: String,
    pub record: TokenRecord,
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

#[derive(Debug, Serialize, ToSchema)]
pub struct ObjectionFiled {
    pub id: Uuid,
    pub decide_by: DateTime<Utc>,
    pub record: PublicRecord,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct QueueParams {
    /// Comma-separated states; default: everything waiting for an examiner.
    pub state: Option<String>,
    pub page: Option<u32>,
    pub per_page: Option<u32>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct SearchParams {
    /// Words in the product name, holder name or registration number (Chinese substrings work).
    pub q: Option<String>,
    /// Part of the holder's name.
    pub holder: Option<String>,
    pub object_type: Option<ObjectType>,
    /// Industry code.
    pub industry: Option<String>,
    /// `notice`, `registered`, `refused`, … (comma-separated states).
    pub status: Option<String>,
    pub page: Option<u32>,
    pub per_page: Option<u32>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IndustryRequest {
    pub name_zh: String,
    pub name_en: String,
    #[serde(default = "yes")]
    pub active: bool,
    #[serde(default)]
    pub position: i64,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CalendarDayRequest {
    pub kind: DayKind,
    #[serde(default)]
    pub note: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AdvanceClockRequest {
    #[serde(default)]
    pub days: u32,
    #[serde(default)]
    pub hours: u32,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ClockResponse {
    pub now: DateTime<Utc>,
    pub adjustable: bool,
    pub offset_seconds: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorCodeInfo {
    pub code: &'static str,
    pub status: u16,
    pub meaning: &'static str,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    pub status: &'static str,
    pub database: &'static str,
    pub now: DateTime<Utc>,
}

// ---------------------------------------------------------------------------------------------------
// Accounts and tokens

/// Create an applicant or agent account with its party.
#[utoipa::path(post, path = "/api/v1/auth/signup", request_body = NewAccount, tag = "accounts",
    responses((status = 201, body = AccountResponse), (status = "4XX", body = ErrorEnvelope)))]
async fn signup(AxState(st): S, Peer(client): Peer, Json(req): Json<NewAccount>) -> ApiResult<impl IntoResponse> {
    let (user, party) = dipr_registry::accounts::sign_up(&st, req, client).await?;
    Ok((StatusCode::CREATED, Json(AccountResponse { user, party })))
}

/// Exchange a username and password for a session token.
#[utoipa::path(post, path = "/api/v1/auth/signin", request_body = SigninRequest, tag = "accounts",
    responses((status = 200, body = SigninResponse), (status = 401, body = ErrorEnvelope),
        (status = 429, description = "throttled; see Retry-After", body = ErrorEnvelope)))]
async fn signin(AxState(st): S, Peer(client): Peer, Json(req): Json<SigninRequest>) -> ApiResult<Json<SigninResponse>> {
    let (token, record, user) = dipr_registry::accounts::sign_in(&st, &req.username, req.password, client).await?;
    Ok(Json(SigninResponse { token, expires_at: record.expires_at, user }))
}

/// Revoke the token this request was made with.
#[utoipa::path(post, path = "/api/v1/auth/signout", tag = "accounts", security(("bearer" = [])),
    responses((status = 204), (status = 401, body = ErrorEnvelope)))]
async fn signout(AxState(st): S, caller: Caller) -> ApiResult<StatusCode> {
    let user = caller.user()?;
    let token = caller.token.as_ref().ok_or_else(ApiError::unauthenticated)?;
    dipr_registry::accounts::revoke_token(&st, user, token.id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The signed-in account and its party.
#[utoipa::path(get, path = "/api/v1/me", tag = "accounts", security(("bearer" = [])),
    responses((status = 200, body = AccountResponse), (status = 401, body = ErrorEnvelope)))]
async fn me(AxState(st): S, caller: Caller) -> ApiResult<Json<AccountResponse>> {
    let user = caller.user()?.clone();
    let party = match user.party_id {
        Some(id) => st.store.party(id).await?,
        None => None,
    };
    Ok(Json(AccountResponse { user, party }))
}

#[utoipa::path(get, path = "/api/v1/me/tokens", tag = "accounts", security(("bearer" = [])),
    responses((status = 200, body = Vec<TokenRecord>), (status = 401, body = ErrorEnvelope)))]
async fn list_tokens(AxState(st): S, caller: Caller) -> ApiResult<Json<Vec<TokenRecord>>> {
    Ok(Json(st.store.tokens_of(caller.user()?.id).await?))
}

/// Create an API token for scripts and the CLI.
#[utoipa::path(post, path = "/api/v1/me/tokens", request_body = NewTokenRequest, tag = "accounts", security(("bearer" = [])),
    responses((status = 201, body = NewTokenResponse), (status = "4XX", body = ErrorEnvelope)))]
async fn create_token(
    AxState(st): S,
    caller: Caller,
    Json(req): Json<NewTokenRequest>,
) -> ApiResult<impl IntoResponse> {
    let (token, record) =
        dipr_registry::accounts::create_api_token(&st, caller.user()?, &req.name, req.expires_in_days).await?;
    Ok((StatusCode::CREATED, Json(NewTokenResponse { token, record })))
}

/// Revoke one of your tokens. It stops working at once.
#[utoipa::path(delete, path = "/api/v1/me/tokens/{id}", tag = "accounts", security(("bearer" = [])),
    params(("id" = Uuid, Path)), responses((status = 204), (status = "4XX", body = ErrorEnvelope)))]
async fn revoke_token(AxState(st): S, caller: Caller, Path(id): Path<Uuid>) -> ApiResult<StatusCode> {
    dipr_registry::accounts::revoke_token(&st, caller.user()?, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---------------------------------------------------------------------------------------------------
// Applicant side

/// Your filings (as applicant, or filed by you as agent).
#[utoipa::path(get, path = "/api/v1/applications", tag = "applications", security(("bearer" = [])),
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
#[utoipa::path(post, path = "/api/v1/applications", request_body = CreateApplicationRequest, tag = "applications", security(("bearer" = [])),
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
#[utoipa::path(get, path = "/api/v1/applications/{id}", tag = "applications", security(("bearer" = [])),
    params(("id" = Uuid, Path)), responses((status = 200, body = Application), (status = "4XX", body = ErrorEnvelope)))]
async fn get_application(AxState(st): S, caller: Caller, Path(id): Path<Uuid>) -> ApiResult<Json<Application>> {
    caller.user()?;
    Ok(Json(visible(&caller, st.store.application(id).await?)?))
}

/// Replace the form of a draft, or of a filing sent back for correction.
#[utoipa::path(put, path = "/api/v1/applications/{id}", request_body = EditApplicationRequest, tag = "applications", security(("bearer" = [])),
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
#[utoipa::path(get, path = "/api/v1/applications/{id}/history", tag = "applications", security(("bearer" = [])),
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

async fn run(st: &Registry, caller: &Caller, id: Uuid, cmd: Command) -> ApiResult<Json<Application>> {
    let user = caller.user()?;
    Ok(Json(dipr_registry::filings::execute(st, id, cmd, &actor_of(user)).await?))
}

/// Submit a complete draft for examination.
#[utoipa::path(post, path = "/api/v1/applications/{id}/submit", tag = "applications", security(("bearer" = [])),
    params(("id" = Uuid, Path)), responses((status = 200, body = Application), (status = "4XX", body = ErrorEnvelope)))]
async fn submit(AxState(st): S, caller: Caller, Path(id): Path<Uuid>) -> ApiResult<Json<Application>> {
    run(&st, &caller, id, Command::Submit).await
}

/// Send the corrected filing back before the correction deadline.
#[utoipa::path(post, path = "/api/v1/applications/{id}/resubmit", request_body = TextRequest, tag = "applications", security(("bearer" = [])),
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
#[utoipa::path(post, path = "/api/v1/applications/{id}/discard", tag = "applications", security(("bearer" = [])),
    params(("id" = Uuid, Path)), responses((status = 200, body = Application), (status = "4XX", body = ErrorEnvelope)))]
async fn discard(AxState(st): S, caller: Caller, Path(id): Path<Uuid>) -> ApiResult<Json<Application>> {
    run(&st, &caller, id, Command::Discard).await
}

/// Withdraw a submitted filing before registration (the same product may not be filed again for the bar
/// period; a draft is discarded instead).
#[utoipa::path(post, path = "/api/v1/applications/{id}/withdraw", request_body = TextRequest, tag = "applications", security(("bearer" = [])),
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
#[utoipa::path(post, path = "/api/v1/applications/{id}/cancel", request_body = TextRequest, tag = "applications", security(("bearer" = [])),
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
#[utoipa::path(post, path = "/api/v1/applications/{id}/objections/{oid}/response", request_body = TextRequest, tag = "applications",
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
#[utoipa::path(put, path = "/api/v1/applications/{id}/manifest", tag = "fingerprints", security(("bearer" = [])),
    params(("id" = Uuid, Path)), request_body(content = Object, description = "dipr-fingerprint-manifest/v1"),
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
#[utoipa::path(get, path = "/api/v1/applications/{id}/manifest", tag = "fingerprints", security(("bearer" = [])),
    params(("id" = Uuid, Path)), responses((status = 200, description = "dipr-fingerprint-manifest/v1", body = Object), (status = "4XX", body = ErrorEnvelope)))]
async fn get_manifest(
    AxState(st): S,
    caller: Caller,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<dipr_fingerprint::Manifest>> {
    caller.user()?;
    let app = visible(&caller, st.store.application(id).await?)?;
    Ok(Json(dipr_registry::fingerprints::current_manifest(&st, &app).await?))
}

/// The registry's discovery key, for fingerprinting data to file or to look up.
#[utoipa::path(get, path = "/api/v1/fingerprint/discovery-key", tag = "fingerprints", security(("bearer" = [])),
    responses((status = 200, body = dipr_registry::fingerprints::DiscoveryKey), (status = 401, body = ErrorEnvelope)))]
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

/// Which registered products does a suspect dataset contain? Send its discovery sketch (`dipr discover`).
#[utoipa::path(post, path = "/api/v1/discover", tag = "fingerprints", security(("bearer" = [])), params(DiscoverParams),
    request_body(content = Object, description = "{key_id, scale, sketch: [hex]}"),
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

/// For examiners: other filings that already contain much of this filing's data.
#[utoipa::path(get, path = "/api/v1/review/applications/{id}/overlaps", tag = "review", security(("bearer" = [])),
    params(("id" = Uuid, Path)), responses((status = 200, body = Vec<dipr_registry::fingerprints::Overlap>), (status = "4XX", body = ErrorEnvelope)))]
async fn overlaps(
    AxState(st): S,
    caller: Caller,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<Vec<dipr_registry::fingerprints::Overlap>>> {
    caller.require(&[Role::Examiner, Role::Admin])?;
    Ok(Json(dipr_registry::fingerprints::overlaps(&st, id).await?))
}

// ---------------------------------------------------------------------------------------------------
// Examiner side

/// Filings waiting for an examiner, oldest first.
#[utoipa::path(get, path = "/api/v1/review/queue", tag = "review", security(("bearer" = [])),
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
#[utoipa::path(post, path = "/api/v1/review/applications/{id}/decision", request_body = DecisionRequest, tag = "review",
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
#[utoipa::path(post, path = "/api/v1/review/applications/{id}/objections/{oid}/decision", request_body = ObjectionDecisionRequest,
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

// ---------------------------------------------------------------------------------------------------
// Public side

/// Search published records (notices and registrations).
#[utoipa::path(get, path = "/api/v1/public/records", tag = "public", params(SearchParams),
    responses((status = 200, body = Paged<PublicRecord>), (status = "4XX", body = ErrorEnvelope)))]
async fn search_records(AxState(st): S, Query(q): Query<SearchParams>) -> ApiResult<Json<Paged<Box<RawValue>>>> {
    if q.q.as_deref().is_some_and(|s| s.chars().count() > 200) {
        return Err(ApiError::new("bad_request", "q must be at most 200 characters"));
    }
    let filter = ApplicationFilter {
        public_only: true,
        text: q.q,
        holder: q.holder,
        object_type: q.object_type,
        industry: q.industry,
        states: parse_states(q.status.as_deref())?,
        ..Default::default()
    };
    Ok(Json(st.store.public_records(&filter, page_of(q.page, q.per_page)?).await?))
}

/// Records in their public notice period, open to objections.
#[utoipa::path(get, path = "/api/v1/public/notices", tag = "public", params(PageParams),
    responses((status = 200, body = Paged<PublicRecord>), (status = "4XX", body = ErrorEnvelope)))]
async fn notices(AxState(st): S, Query(q): Query<PageParams>) -> ApiResult<Json<Paged<Box<RawValue>>>> {
    let filter = ApplicationFilter {
        public_only: true,
        states: vec![State::PublicNotice, State::ObjectionPending],
        order: Order::OldestFirst,
        ..Default::default()
    };
    Ok(Json(st.store.public_records(&filter, page_of(q.page, q.per_page)?).await?))
}

/// A published record with its public history.
#[utoipa::path(get, path = "/api/v1/public/records/{id}", tag = "public", params(("id" = Uuid, Path)),
    responses((status = 200, body = PublicRecordDetail), (status = 404, body = ErrorEnvelope)))]
async fn public_record(AxState(st): S, Path(id): Path<Uuid>) -> ApiResult<Json<PublicRecordDetail>> {
    Ok(Json(public_detail(&st, id).await?))
}

/// File an objection during the notice period. Anyone may; signing in is optional.
#[utoipa::path(post, path = "/api/v1/public/records/{id}/objections", request_body = NewObjection, tag = "public",
    params(("id" = Uuid, Path)), responses((status = 201, body = ObjectionFiled), (status = "4XX", body = ErrorEnvelope),
        (status = 429, description = "too many objections; see Retry-After", body = ErrorEnvelope)))]
async fn file_objection(
    AxState(st): S,
    caller: Caller,
    crate::peer::Peer(client): crate::peer::Peer,
    Path(id): Path<Uuid>,
    Json(req): Json<NewObjection>,
) -> ApiResult<impl IntoResponse> {
    let problems = check_objection_text(&req.objector_name, &req.objector_contact, &req.grounds, &req.evidence);
    dipr_registry::filings::admit_objection(&st, problems, client, id, caller.user.is_none())?;
    let mut actor = caller.actor();
    if caller.user.is_none() {
        actor.name = req.objector_name.trim().to_string();
    }
    let oid = Uuid::now_v7();
    let app =
        dipr_registry::filings::execute(&st, id, Command::FileObjection { objection: req, id: oid }, &actor).await?;
    let decide_by = app.objections.iter().find(|o| o.id == oid).map(|o| o.decide_by).expect("just filed");
    let record = PublicRecord::of(&app).expect("objections are only filed on published records");
    Ok((StatusCode::CREATED, Json(ObjectionFiled { id: oid, decide_by, record })))
}

/// The industry code list.
#[utoipa::path(get, path = "/api/v1/industries", tag = "public", responses((status = 200, body = Vec<Industry>)))]
async fn industries(AxState(st): S) -> ApiResult<Json<Vec<Industry>>> {
    Ok(Json(st.store.industries().await?))
}

/// Public holidays and 调休 working days that deadlines are counted with.
#[utoipa::path(get, path = "/api/v1/calendar", tag = "public", responses((status = 200, body = Vec<CalendarDay>)))]
async fn calendar(AxState(st): S) -> ApiResult<Json<Vec<CalendarDay>>> {
    Ok(Json(st.store.calendar().await?))
}

/// The table of error codes: code → HTTP status → meaning.
#[utoipa::path(get, path = "/api/v1/errors", tag = "meta", responses((status = 200, body = Vec<ErrorCodeInfo>)))]
async fn error_codes() -> Json<Vec<ErrorCodeInfo>> {
    Json(ERROR_CODES.iter().map(|(code, status, meaning)| ErrorCodeInfo { code, status: *status, meaning }).collect())
}

/// The certificate issued on registration (JSON, verifiable offline with `dipr verify`).
#[utoipa::path(get, path = "/api/v1/public/records/{id}/certificate", tag = "ledger", params(("id" = Uuid, Path)),
    responses((status = 200, description = "dipr-certificate/v1 JSON", content_type = "application/json"), (status = 404, body = ErrorEnvelope)))]
async fn certificate(AxState(st): S, Path(id): Path<Uuid>) -> ApiResult<impl IntoResponse> {
    let doc = st.store.certificate(id).await?.ok_or_else(|| ApiError::not_found("certificate"))?;
    let doc = dipr_registry::witnessing::with_cosignatures(&st, doc).await?;
    let name = st
        .store
        .application(id)
        .await?
        .and_then(|a| a.registration)
        .map(|r| r.certificate_number.to_string())
        .unwrap_or_default();
    Ok((
        [
            (axum::http::header::CONTENT_TYPE, "application/json".to_string()),
            (axum::http::header::CONTENT_DISPOSITION, format!("attachment; filename=\"dipr-certificate-{name}.json\"")),
        ],
        doc,
    ))
}

/// The certificate as a PDF (Chinese with English alongside, QR code to the public record).
#[utoipa::path(get, path = "/api/v1/public/records/{id}/certificate.pdf", tag = "ledger", params(("id" = Uuid, Path)),
    responses((status = 200, description = "PDF", content_type = "application/pdf"), (status = 404, body = ErrorEnvelope)))]
async fn certificate_pdf(AxState(st): S, Path(id): Path<Uuid>) -> ApiResult<impl IntoResponse> {
    let doc = st.store.certificate(id).await?.ok_or_else(|| ApiError::not_found("certificate"))?;
    let doc = dipr_registry::witnessing::with_cosignatures(&st, doc).await?;
    let cert = dipr_ledger::certificate::Certificate::parse(doc.as_bytes()).map_err(ApiError::internal)?;
    let industry = st
        .store
        .industries()
        .await?
        .into_iter()
        .find(|i| i.code == cert.statement.product.industry)
        .map(|i| (i.name_zh, i.name_en));
    // A registration no longer in force gets a visible mark: the PDF must not pass for a valid certificate.
    let detail = public_detail(&st, id).await?;
    let not_in_force = dipr_registry::standing::Standing::of(&detail, st.clock.now()).and_then(|s| s.ended).map(|e| {
        let (zh, en) = dipr_registry::standing::mark(e.state);
        dipr_pdf::NotInForce { zh: zh.into(), en: en.into(), since: shown::date_both(e.at) }
    });
    let number = cert.statement.certificate_number.clone();
    let names = dipr_pdf::Names { industry, not_in_force };
    let pdf = tokio::task::spawn_blocking(move || dipr_pdf::render(&cert, &names))
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::internal)?;
    Ok((
        [
            (axum::http::header::CONTENT_TYPE, "application/pdf".to_string()),
            (
                axum::http::header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"dipr-certificate-{number}.pdf\""),
            ),
        ],
        pdf,
    ))
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
#[utoipa::path(get, path = "/api/v1/log/proofs/inclusion", tag = "ledger", params(InclusionParams),
    responses((status = 200, body = ProofResponse), (status = "4XX", body = ErrorEnvelope)))]
async fn inclusion_proof(AxState(st): S, Query(q): Query<InclusionParams>) -> ApiResult<Json<ProofResponse>> {
    let (size, checkpoint) = checkpoint_note(&st, q.size).await?;
    let hashes = dipr_registry::ledger::prove_inclusion(st.store.as_ref(), q.index, size).await?;
    Ok(Json(ProofResponse { index: Some(q.index), old_size: None, size, hashes: b64_hashes(hashes), checkpoint }))
}

/// Consistency proof between two checkpoints.
#[utoipa::path(get, path = "/api/v1/log/proofs/consistency", tag = "ledger", params(ConsistencyParams),
    responses((status = 200, body = ProofResponse), (status = "4XX", body = ErrorEnvelope)))]
async fn consistency_proof(AxState(st): S, Query(q): Query<ConsistencyParams>) -> ApiResult<Json<ProofResponse>> {
    let (size, checkpoint) = checkpoint_note(&st, q.new).await?;
    let hashes = dipr_registry::ledger::prove_consistency(st.store.as_ref(), q.old, size).await?;
    Ok(Json(ProofResponse { index: None, old_size: Some(q.old), size, hashes: b64_hashes(hashes), checkpoint }))
}

/// The latest signed checkpoint (C2SP tlog-checkpoint), as text.
async fn log_checkpoint(AxState(st): S) -> ApiResult<impl IntoResponse> {
    let (_, note) = checkpoint_note(&st, None).await?;
    Ok((
        [
            (axum::http::header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (axum::http::header::CACHE_CONTROL, "no-store"),
        ],
        note,
    ))
}

/// C2SP tlog-tiles: hash tiles `tile/<L>/<N>[.p/<W>]` and entry bundles `tile/entries/<N>[.p/<W>]`.
async fn log_tile(
    AxState(st): S,
    axum::extract::Path(path): axum::extract::Path<String>,
) -> ApiResult<impl IntoResponse> {
    use dipr_ledger::tile::{TileRequest, TILE_HEIGHT, TILE_WIDTH};
    let req = TileRequest::parse(&path).ok_or_else(|| ApiError::not_found("tile"))?;
    let size = st.store.log_size().await?;
    // Hashes available at this tile's level of the tree.
    let level_shift = req.level.map_or(0, |l| u32::from(l) * u32::from(TILE_HEIGHT));
    let available = size >> level_shift;
    let start = req.index.checked_mul(TILE_WIDTH).ok_or_else(|| ApiError::not_found("tile"))?;
    let width = req.partial.unwrap_or(TILE_WIDTH);
    if start + width > available {
        return Err(ApiError::not_found("tile"));
    }
    let body = match req.level {
        Some(_) => {
            let keys: Vec<(u8, u64)> = (start..start + width).map(|i| (level_shift as u8, i)).collect();
            let nodes = st.store.log_nodes(&keys).await?;
            let mut out = Vec::with_capacity(keys.len() * 32);
            for k in &keys {
                out.extend_from_slice(
                    nodes.get(k).ok_or_else(|| ApiError::internal(format!("missing log hash {k:?}")))?,
                );
            }
            out
        }
        None => {
            let mut out = Vec::new();
            for e in st.store.log_entries(start, start + width).await? {
                out.extend_from_slice(&(e.len() as u16).to_be_bytes());
                out.extend_from_slice(&e);
            }
            out
        }
    };
    // Full tiles never change; partial ones are replaced by wider ones.
    let cache = if req.partial.is_none() { "public, max-age=31536000, immutable" } else { "public, max-age=60" };
    Ok((
        [(axum::http::header::CONTENT_TYPE, "application/octet-stream"), (axum::http::header::CACHE_CONTROL, cache)],
        body,
    ))
}

// ---------------------------------------------------------------------------------------------------
// Administration

#[utoipa::path(get, path = "/api/v1/admin/users", tag = "admin", security(("bearer" = [])), params(PageParams),
    responses((status = 200, body = Paged<UserRecord>), (status = "4XX", body = ErrorEnvelope)))]
async fn list_users(AxState(st): S, caller: Caller, Query(q): Query<PageParams>) -> ApiResult<Json<Paged<UserRecord>>> {
    caller.require(&[Role::Admin])?;
    Ok(Json(st.store.users(page_of(q.page, q.per_page)?).await?))
}

/// What the sign-in throttle saw since the server started, and the bound on concurrent password hashing.
#[derive(Debug, Serialize, ToSchema)]
pub struct SignInReportResponse {
    pub sign_ins: dipr_registry::throttle::SignInReport,
    /// Password hashes (19 MiB each) that may run at once.
    pub hashing_limit: usize,
    /// The most that ever ran at once.
    pub hashing_peak: usize,
}

/// Failed and throttled sign-ins since the server started, by account.
#[utoipa::path(get, path = "/api/v1/admin/sign-ins", tag = "admin", security(("bearer" = [])),
    responses((status = 200, body = SignInReportResponse), (status = "4XX", body = ErrorEnvelope)))]
async fn sign_in_report(AxState(st): S, caller: Caller) -> ApiResult<Json<SignInReportResponse>> {
    caller.require(&[Role::Admin])?;
    let (hashing_limit, hashing_peak) = dipr_registry::accounts::hashing_concurrency();
    Ok(Json(SignInReportResponse { sign_ins: st.sign_ins.report(), hashing_limit, hashing_peak }))
}

/// Create an account of any role (examiners, banks, administrators).
#[utoipa::path(post, path = "/api/v1/admin/users", request_body = NewAccount, tag = "admin", security(("bearer" = [])),
    responses((status = 201, body = AccountResponse), (status = "4XX", body = ErrorEnvelope)))]
async fn create_user(AxState(st): S, caller: Caller, Json(req): Json<NewAccount>) -> ApiResult<impl IntoResponse> {
    let admin = caller.require(&[Role::Admin])?;
    let (user, party) = dipr_registry::accounts::create_account(&st, req, &actor_of(admin), false).await?;
    Ok((StatusCode::CREATED, Json(AccountResponse { user, party })))
}

/// Disable an account and revoke all its tokens.
#[utoipa::path(post, path = "/api/v1/admin/users/{id}/disable", tag = "admin", security(("bearer" = [])),
    params(("id" = Uuid, Path)), responses((status = 200, body = UserRecord), (status = "4XX", body = ErrorEnvelope)))]
async fn disable_user(AxState(st): S, caller: Caller, Path(id): Path<Uuid>) -> ApiResult<Json<UserRecord>> {
    let admin = caller.require(&[Role::Admin])?;
    Ok(Json(dipr_registry::accounts::set_user_disabled(&st, &actor_of(admin), id, true).await?))
}

#[utoipa::path(post, path = "/api/v1/admin/users/{id}/enable", tag = "admin", security(("bearer" = [])),
    params(("id" = Uuid, Path)), responses((status = 200, body = UserRecord), (status = "4XX", body = ErrorEnvelope)))]
async fn enable_user(AxState(st): S, caller: Caller, Path(id): Path<Uuid>) -> ApiResult<Json<UserRecord>> {
    let admin = caller.require(&[Role::Admin])?;
    Ok(Json(dipr_registry::accounts::set_user_disabled(&st, &actor_of(admin), id, false).await?))
}

/// Add or change an industry code (deactivate instead of deleting).
#[utoipa::path(put, path = "/api/v1/admin/industries/{code}", request_body = IndustryRequest, tag = "admin", security(("bearer" = [])),
    params(("code" = String, Path)), responses((status = 200, body = Industry), (status = "4XX", body = ErrorEnvelope)))]
async fn save_industry(
    AxState(st): S,
    caller: Caller,
    Path(code): Path<String>,
    Json(req): Json<IndustryRequest>,
) -> ApiResult<Json<Industry>> {
    let admin = caller.require(&[Role::Admin])?;
    let ind = Industry {
        code,
        name_zh: req.name_zh.trim().into(),
        name_en: req.name_en.trim().into(),
        active: req.active,
        position: req.position,
    };
    Ok(Json(dipr_registry::admin::upsert_industry(&st, &actor_of(admin), ind).await?))
}

/// Declare a date a holiday, or a weekend day a working day (调休).
#[utoipa::path(put, path = "/api/v1/admin/calendar/{date}", request_body = CalendarDayRequest, tag = "admin", security(("bearer" = [])),
    params(("date" = String, Path, description = "YYYY-MM-DD")), responses((status = 200, body = CalendarDay), (status = "4XX", body = ErrorEnvelope)))]
async fn save_calendar_day(
    AxState(st): S,
    caller: Caller,
    Path(date): Path<String>,
    Json(req): Json<CalendarDayRequest>,
) -> ApiResult<Json<CalendarDay>> {
    let admin = caller.require(&[Role::Admin])?;
    let date = NaiveDate::parse_from_str(&date, "%Y-%m-%d")
        .map_err(|_| ApiError::new("bad_request", format!("{date:?} is not a YYYY-MM-DD date")))?;
    let day = CalendarDay { date, kind: req.kind, note: req.note.trim().into() };
    Ok(Json(dipr_registry::admin::upsert_calendar_day(&st, &actor_of(admin), day).await?))
}

fn clock_response(st: &Registry) -> ClockResponse {
    ClockResponse {
        now: st.clock.now(),
        adjustable: st.adjustable.is_some(),
        offset_seconds: st.adjustable.as_ref().map_or(0, |c| c.offset().num_seconds()),
    }
}

/// The registry's current time.
#[utoipa::path(get, path = "/api/v1/admin/clock", tag = "admin", security(("bearer" = [])),
    responses((status = 200, body = ClockResponse), (status = "4XX", body = ErrorEnvelope)))]
async fn clock(AxState(st): S, caller: Caller) -> ApiResult<Json<ClockResponse>> {
    caller.require(&[Role::Admin])?;
    Ok(Json(clock_response(&st)))
}

/// Move the clock forward (demo and test servers only), then run the timers.
#[utoipa::path(post, path = "/api/v1/admin/clock", request_body = AdvanceClockRequest, tag = "admin", security(("bearer" = [])),
    responses((status = 200, body = ClockResponse), (status = "4XX", body = ErrorEnvelope)))]
async fn advance_clock(
    AxState(st): S,
    caller: Caller,
    Json(req): Json<AdvanceClockRequest>,
) -> ApiResult<Json<ClockResponse>> {
    let admin = caller.require(&[Role::Admin])?;
    let clock = st
        .adjustable
        .as_ref()
        .ok_or_else(|| ApiError::new("clock_not_adjustable", "this server runs on the real clock"))?;
    if req.days > 3650 || req.hours > 24 * 3650 {
        return Err(ApiError::new("bad_request", "advance by at most 3650 days"));
    }
    let by = chrono::Duration::days(i64::from(req.days)) + chrono::Duration::hours(i64::from(req.hours));
    let now = st.clock.now();
    let mut tx = st.store.begin().await?;
    let mut e = dipr_registry::audit::event(&actor_of(admin), now, "setting", "clock", "clock_advanced");
    e.payload = serde_json::json!({"seconds": by.num_seconds()});
    tx.append_event(&e).await?;
    tx.commit().await?;
    clock.advance(by);
    dipr_registry::timers::run_once(&st).await?;
    Ok(Json(clock_response(&st)))
}

/// Run the deadline timers now instead of waiting for the next interval.
#[utoipa::path(post, path = "/api/v1/admin/timers/run", tag = "admin", security(("bearer" = [])),
    responses((status = 200, body = TimerReport), (status = "4XX", body = ErrorEnvelope)))]
async fn run_timers(AxState(st): S, caller: Caller) -> ApiResult<Json<TimerReport>> {
    caller.require(&[Role::Admin])?;
    Ok(Json(dipr_registry::timers::run_once(&st).await?))
}

/// Send the latest checkpoint to the configured witnesses now.
#[utoipa::path(post, path = "/api/v1/admin/witnesses/run", tag = "admin", security(("bearer" = [])),
    responses((status = 200, body = Vec<dipr_registry::witnessing::WitnessOutcome>), (status = "4XX", body = ErrorEnvelope)))]
async fn run_witnesses(
    AxState(st): S,
    caller: Caller,
) -> ApiResult<Json<Vec<dipr_registry::witnessing::WitnessOutcome>>> {
    caller.require(&[Role::Admin])?;
    Ok(Json(dipr_registry::witnessing::collect_once(&st).await?))
}

/// The witnesses the registry sends checkpoints to, and the quorum certificates wait for.
#[utoipa::path(get, path = "/api/v1/admin/witnesses", tag = "admin", security(("bearer" = [])),
    responses((status = 200, body = dipr_registry::witnesses::WitnessSet), (status = "4XX", body = ErrorEnvelope)))]
async fn get_witnesses(AxState(st): S, caller: Caller) -> ApiResult<Json<dipr_registry::witnesses::WitnessSet>> {
    caller.require(&[Role::Admin])?;
    Ok(Json((*st.witnesses()).clone()))
}

/// Replace the witness set (checked, stored and logged; used from the next round on).
#[utoipa::path(put, path = "/api/v1/admin/witnesses", tag = "admin", security(("bearer" = [])),
    request_body = dipr_registry::witnesses::WitnessSet,
    responses((status = 200, body = dipr_registry::witnesses::WitnessSet), (status = "4XX", body = ErrorEnvelope)))]
async fn put_witnesses(
    AxState(st): S,
    caller: Caller,
    Json(set): Json<dipr_registry::witnesses::WitnessSet>,
) -> ApiResult<Json<dipr_registry::witnesses::WitnessSet>> {
    caller.require(&[Role::Admin])?;
    Ok(Json(dipr_registry::witnessing::replace(&st, &actor_of(caller.user()?), set).await?))
}

// ---------------------------------------------------------------------------------------------------
// Meta

/// Liveness and database reachability.
#[utoipa::path(get, path = "/healthz", tag = "meta", responses((status = 200, body = Health), (status = 503, body = Health)))]
async fn healthz(AxState(st): S) -> impl IntoResponse {
    let ok = st.store.ping().await.is_ok();
    let body = Health { status: if ok { "ok" } else { "degraded" }, database: st.store.backend(), now: st.clock.now() };
    (if ok { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE }, axum::Json(body))
}

async fn openapi_json() -> impl IntoResponse {
    axum::Json(ApiDoc::openapi())
}

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "dipr", description = "Registry for intellectual property in data products. Errors: see /api/v1/errors."),
    modifiers(&BearerAuth),
    paths(
        signup, signin, signout, me, list_tokens, create_token, revoke_token,
        my_applications, create_application, get_application, edit_application, application_history,
        submit, resubmit, discard, withdraw, cancel, respond_to_objection, attach_manifest, get_manifest, discovery_key, discover, overlaps,
        review_queue, decide, decide_objection,
        search_records, notices, public_record, file_objection, industries, calendar, error_codes,
        certificate, certificate_pdf, inclusion_proof, consistency_proof,
        list_users, sign_in_report, create_user, disable_user, enable_user, save_industry, save_calendar_day, clock, advance_clock, run_timers, run_witnesses, get_witnesses, put_witnesses,
        healthz,
        crate::api::holdings::change_holder_details, crate::api::holdings::transfer, crate::api::holdings::succession,
        crate::api::holdings::grant_licence, crate::api::holdings::terminate_licence, crate::api::holdings::book_transaction,
        crate::api::holdings::list_transactions, crate::api::holdings::file_pledge, crate::api::holdings::consent_to_pledge,
        crate::api::holdings::release_pledge, crate::api::holdings::enforce_pledge, crate::api::holdings::give_consent,
        crate::api::holdings::add_version, crate::api::holdings::renew, crate::api::holdings::file_dispute,
        crate::api::holdings::decide_dispute, crate::api::holdings::encumbrance_search, crate::api::holdings::statistics,
        crate::api::holdings::statistics_csv, crate::api::holdings::notifications,
    ),
    tags(
        (name = "accounts", description = "Sign-up, sign-in, tokens"),
        (name = "applications", description = "Applicant and agent side of a filing"),
        (name = "review", description = "Examiner decisions"),
        (name = "public", description = "Search, notices, objections (no sign-in needed)"),
        (name = "fingerprints", description = "Fingerprint manifests, overlap warnings, discovery"),
        (name = "ledger", description = "Certificates and proofs from the public log (tiles: /log/checkpoint, /log/tile/…)"),
        (name = "registered", description = "Registered products: holder changes, transfers, licences, transactions, pledges, versions, disputes; encumbrance search"),
        (name = "statistics", description = "The administration's statistics (JSON and CSV)"),
        (name = "admin", description = "Users, code lists, calendar, clock"),
        (name = "meta", description = "Health and error codes"),
    )
)]
pub struct ApiDoc;
