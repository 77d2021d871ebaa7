//! Administration: accounts of any role, the sign-in report, industry codes, the working calendar, the
//! clock of demo and test servers, the timers, and the witness set.

use std::sync::Arc;

use axum::extract::State as AxState;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use chrono::{DateTime, NaiveDate, Utc};
use dipr_domain::access::Role;
use dipr_domain::time::{CalendarDay, DayKind};
use dipr_store::{Industry, Paged, UserRecord};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::api::accounts::AccountResponse;
use crate::api::params::{page_of, PageParams};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::error::ApiResult;
use crate::error::ErrorEnvelope;
use crate::error::Json;
use crate::error::Path;
use crate::error::Query;
use dipr_registry::accounts::NewAccount;
use dipr_registry::audit::actor_of;
use dipr_registry::timers::TimerReport;
use dipr_registry::Registry;

type S = AxState<Arc<Registry>>;

pub fn routes() -> OpenApiRouter<Arc<Registry>> {
    OpenApiRouter::new()
        .routes(routes!(list_users, create_user))
        .routes(routes!(sign_in_report))
        .routes(routes!(disable_user))
        .routes(routes!(enable_user))
        .routes(routes!(reset_password))
        .routes(routes!(save_industry))
        .routes(routes!(save_calendar_day))
        .routes(routes!(clock, advance_clock))
        .routes(routes!(run_timers))
        .routes(routes!(run_witnesses))
        .routes(routes!(get_witnesses, put_witnesses))
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

#[utoipa::path(get, path = "/admin/users", tag = "admin", security(("bearer" = [])), params(PageParams),
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
#[utoipa::path(get, path = "/admin/sign-ins", tag = "admin", security(("bearer" = [])),
    responses((status = 200, body = SignInReportResponse), (status = "4XX", body = ErrorEnvelope)))]
async fn sign_in_report(AxState(st): S, caller: Caller) -> ApiResult<Json<SignInReportResponse>> {
    caller.require(&[Role::Admin])?;
    let (hashing_limit, hashing_peak) = dipr_registry::accounts::hashing_concurrency();
    Ok(Json(SignInReportResponse { sign_ins: st.sign_ins.report(), hashing_limit, hashing_peak }))
}

/// Create an account of any role (examiners, banks, administrators).
#[utoipa::path(post, path = "/admin/users", request_body = NewAccount, tag = "admin", security(("bearer" = [])),
    responses((status = 201, body = AccountResponse), (status = "4XX", body = ErrorEnvelope)))]
async fn create_user(AxState(st): S, caller: Caller, Json(req): Json<NewAccount>) -> ApiResult<impl IntoResponse> {
    let admin = caller.require(&[Role::Admin])?;
    let (user, party) = dipr_registry::accounts::create_account(&st, req, &actor_of(admin), false).await?;
    Ok((StatusCode::CREATED, Json(AccountResponse { user, party })))
}

/// Disable an account and revoke all its tokens.
#[utoipa::path(post, path = "/admin/users/{id}/disable", tag = "admin", security(("bearer" = [])),
    params(("id" = Uuid, Path)), responses((status = 200, body = UserRecord), (status = "4XX", body = ErrorEnvelope)))]
async fn disable_user(AxState(st): S, caller: Caller, Path(id): Path<Uuid>) -> ApiResult<Json<UserRecord>> {
    let admin = caller.require(&[Role::Admin])?;
    Ok(Json(dipr_registry::accounts::set_user_disabled(&st, &actor_of(admin), id, true).await?))
}

#[utoipa::path(post, path = "/admin/users/{id}/enable", tag = "admin", security(("bearer" = [])),
    params(("id" = Uuid, Path)), responses((status = 200, body = UserRecord), (status = "4XX", body = ErrorEnvelope)))]
async fn enable_user(AxState(st): S, caller: Caller, Path(id): Path<Uuid>) -> ApiResult<Json<UserRecord>> {
    let admin = caller.require(&[Role::Admin])?;
    Ok(Json(dipr_registry::accounts::set_user_disabled(&st, &actor_of(admin), id, false).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordResetRequest {
    /// The new password (at least 10 characters), to be changed by the account at its next sign-in.
    pub password: String,
}

/// Reset a forgotten password: every session and token of the account ends, and until it changes the
/// password it gets `password_change_required`.
#[utoipa::path(post, path = "/admin/users/{id}/password", request_body = PasswordResetRequest, tag = "admin",
    security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses((status = 200, body = UserRecord), (status = "4XX", body = ErrorEnvelope)))]
async fn reset_password(
    AxState(st): S,
    caller: Caller,
    Path(id): Path<Uuid>,
    Json(req): Json<PasswordResetRequest>,
) -> ApiResult<Json<UserRecord>> {
    let admin = caller.require(&[Role::Admin])?;
    Ok(Json(dipr_registry::passwords::reset_by_administrator(&st, &actor_of(admin), id, req.password).await?))
}

/// Add or change an industry code (deactivate instead of deleting).
#[utoipa::path(put, path = "/admin/industries/{code}", request_body = IndustryRequest, tag = "admin", security(("bearer" = [])),
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
#[utoipa::path(put, path = "/admin/calendar/{date}", request_body = CalendarDayRequest, tag = "admin", security(("bearer" = [])),
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
#[utoipa::path(get, path = "/admin/clock", tag = "admin", security(("bearer" = [])),
    responses((status = 200, body = ClockResponse), (status = "4XX", body = ErrorEnvelope)))]
async fn clock(AxState(st): S, caller: Caller) -> ApiResult<Json<ClockResponse>> {
    caller.require(&[Role::Admin])?;
    Ok(Json(clock_response(&st)))
}

/// Move the clock forward (demo and test servers only), then run the timers.
#[utoipa::path(post, path = "/admin/clock", request_body = AdvanceClockRequest, tag = "admin", security(("bearer" = [])),
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
    // Logged as the timer task logs its passes, so each process's share of what fired can be told apart.
    let r = dipr_registry::timers::run_once(&st).await?;
    if r != dipr_registry::timers::TimerReport::default() {
        tracing::info!(?r, "timer pass after moving the clock");
    }
    Ok(Json(clock_response(&st)))
}

/// Run the deadline timers now instead of waiting for the next interval.
#[utoipa::path(post, path = "/admin/timers/run", tag = "admin", security(("bearer" = [])),
    responses((status = 200, body = TimerReport), (status = "4XX", body = ErrorEnvelope)))]
async fn run_timers(AxState(st): S, caller: Caller) -> ApiResult<Json<TimerReport>> {
    caller.require(&[Role::Admin])?;
    Ok(Json(dipr_registry::timers::run_once(&st).await?))
}

/// Send the latest checkpoint to the configured witnesses now.
#[utoipa::path(post, path = "/admin/witnesses/run", tag = "admin", security(("bearer" = [])),
    responses((status = 200, body = Vec<dipr_registry::witnessing::WitnessOutcome>), (status = "4XX", body = ErrorEnvelope)))]
async fn run_witnesses(
    AxState(st): S,
    caller: Caller,
) -> ApiResult<Json<Vec<dipr_registry::witnessing::WitnessOutcome>>> {
    caller.require(&[Role::Admin])?;
    Ok(Json(dipr_registry::witnessing::collect_once(&st).await?))
}

/// The witnesses the registry sends checkpoints to, and the quorum certificates wait for.
#[utoipa::path(get, path = "/admin/witnesses", tag = "admin", security(("bearer" = [])),
    responses((status = 200, body = dipr_registry::witnesses::WitnessSet), (status = "4XX", body = ErrorEnvelope)))]
async fn get_witnesses(AxState(st): S, caller: Caller) -> ApiResult<Json<dipr_registry::witnesses::WitnessSet>> {
    caller.require(&[Role::Admin])?;
    Ok(Json((*st.witnesses()).clone()))
}

/// Replace the witness set (checked, stored and logged; used from the next round on).
#[utoipa::path(put, path = "/admin/witnesses", tag = "admin", security(("bearer" = [])),
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
