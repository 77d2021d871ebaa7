//! Accounts and tokens: sign-up, sign-in and sign-out, the signed-in account, and its API tokens.

use std::sync::Arc;

use axum::extract::State as AxState;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use chrono::{DateTime, Utc};
use dipr_domain::party::Party;
use dipr_store::{TokenRecord, UserRecord};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::auth::{Caller, OwnAccount};
use crate::error::ApiError;
use crate::error::ApiResult;
use crate::error::ErrorEnvelope;
use crate::error::Json;
use crate::error::Path;
use crate::peer::Peer;
use dipr_registry::accounts::NewAccount;
use dipr_registry::passwords::{NewPassword, PasswordChange};
use dipr_registry::Registry;

type S = AxState<Arc<Registry>>;

pub fn routes() -> OpenApiRouter<Arc<Registry>> {
    OpenApiRouter::new()
        .routes(routes!(signup))
        .routes(routes!(signin))
        .routes(routes!(signout))
        .routes(routes!(me))
        .routes(routes!(change_password))
        .routes(routes!(change_email))
        .routes(routes!(request_password_reset))
        .routes(routes!(reset_password))
        .routes(routes!(list_tokens, create_token))
        .routes(routes!(revoke_token))
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

/// Create an applicant or agent account with its party.
#[utoipa::path(post, path = "/auth/signup", request_body = NewAccount, tag = "accounts",
    responses((status = 201, body = AccountResponse), (status = "4XX", body = ErrorEnvelope)))]
async fn signup(AxState(st): S, Peer(client): Peer, Json(req): Json<NewAccount>) -> ApiResult<impl IntoResponse> {
    let (user, party) = dipr_registry::accounts::sign_up(&st, req, client).await?;
    Ok((StatusCode::CREATED, Json(AccountResponse { user, party })))
}

/// Exchange a username and password for a session token.
#[utoipa::path(post, path = "/auth/signin", request_body = SigninRequest, tag = "accounts",
    responses((status = 200, body = SigninResponse), (status = 401, body = ErrorEnvelope),
        (status = 429, description = "throttled; see Retry-After", body = ErrorEnvelope), (status = "4XX", body = ErrorEnvelope)))]
async fn signin(AxState(st): S, Peer(client): Peer, Json(req): Json<SigninRequest>) -> ApiResult<Json<SigninResponse>> {
    let (token, record, user) = dipr_registry::accounts::sign_in(&st, &req.username, req.password, client).await?;
    Ok(Json(SigninResponse { token, expires_at: record.expires_at, user }))
}

/// Revoke the token this request was made with.
#[utoipa::path(post, path = "/auth/signout", tag = "accounts", security(("bearer" = [])),
    responses((status = 204), (status = 401, body = ErrorEnvelope), (status = "4XX", body = ErrorEnvelope)))]
async fn signout(AxState(st): S, OwnAccount(caller): OwnAccount) -> ApiResult<StatusCode> {
    let user = caller.user()?;
    let token = caller.token.as_ref().ok_or_else(ApiError::unauthenticated)?;
    dipr_registry::accounts::revoke_token(&st, user, token.id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The signed-in account and its party.
#[utoipa::path(get, path = "/me", tag = "accounts", security(("bearer" = [])),
    responses((status = 200, body = AccountResponse), (status = 401, body = ErrorEnvelope), (status = "4XX", body = ErrorEnvelope)))]
async fn me(AxState(st): S, OwnAccount(caller): OwnAccount) -> ApiResult<Json<AccountResponse>> {
    let user = caller.user()?.clone();
    let party = match user.party_id {
        Some(id) => st.store.party(id).await?,
        None => None,
    };
    Ok(Json(AccountResponse { user, party }))
}

/// Change your password: the current one, and the new one twice. Every other session and API token of the
/// account is revoked; the token this request was made with stays. The one call an account whose password
/// an administrator set may make (besides `/me` and sign-out).
#[utoipa::path(post, path = "/me/password", request_body = PasswordChange, tag = "accounts", security(("bearer" = [])),
    responses((status = 204), (status = 422, description = "wrong_password, weak_password, password_mismatch or \
        password_unchanged at their fields; nothing changed", body = ErrorEnvelope),
        (status = 429, description = "throttled like sign-ins; see Retry-After", body = ErrorEnvelope),
        (status = "4XX", body = ErrorEnvelope)))]
async fn change_password(
    AxState(st): S,
    OwnAccount(caller): OwnAccount,
    Peer(client): Peer,
    Json(req): Json<PasswordChange>,
) -> ApiResult<StatusCode> {
    let user = caller.user()?;
    let keep = caller.token.as_ref().map(|t| t.id);
    dipr_registry::passwords::change_password(&st, user, keep, req, client).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmailChange {
    pub current_password: String,
    /// Where password reset links are sent; empty to remove the address.
    pub email: String,
}

/// Set or remove the e-mail address password reset links are sent to (the current password is asked for).
#[utoipa::path(put, path = "/me/email", request_body = EmailChange, tag = "accounts", security(("bearer" = [])),
    responses((status = 200, body = UserRecord), (status = 422, description = "wrong_password or invalid_email at \
        their fields; nothing changed", body = ErrorEnvelope), (status = "4XX", body = ErrorEnvelope)))]
async fn change_email(
    AxState(st): S,
    caller: Caller,
    Peer(client): Peer,
    Json(req): Json<EmailChange>,
) -> ApiResult<Json<UserRecord>> {
    let user = caller.user()?;
    Ok(Json(dipr_registry::passwords::change_email(&st, user, &req.current_password, &req.email, client).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetRequest {
    /// A username or the e-mail address an account gave.
    pub login: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetConfirm {
    /// The secret at the end of the mailed link (`/password/reset/{token}`).
    pub token: String,
    pub new_password: String,
    pub repeat_password: String,
}

/// Ask for a password reset link, mailed to the account's e-mail address. The answer is 202 whether or not
/// such an account exists or has an address.
#[utoipa::path(post, path = "/auth/password-reset", request_body = ResetRequest, tag = "accounts",
    responses((status = 202), (status = 503, description = "no mail server configured", body = ErrorEnvelope),
        (status = 429, description = "throttled; see Retry-After", body = ErrorEnvelope), (status = "4XX", body = ErrorEnvelope)))]
async fn request_password_reset(
    AxState(st): S,
    Peer(client): Peer,
    Json(req): Json<ResetRequest>,
) -> ApiResult<StatusCode> {
    dipr_registry::passwords::request_reset(&st, &req.login, client).await?;
    Ok(StatusCode::ACCEPTED)
}

/// Set a new password with a mailed reset link's token (single use, 30 minutes). Every session and API
/// token of the account is revoked.
#[utoipa::path(post, path = "/auth/password-reset/confirm", request_body = ResetConfirm, tag = "accounts",
    responses((status = 204), (status = 410, description = "reset_link_invalid", body = ErrorEnvelope),
        (status = "4XX", body = ErrorEnvelope)))]
async fn reset_password(AxState(st): S, Json(req): Json<ResetConfirm>) -> ApiResult<StatusCode> {
    let new = NewPassword { new_password: req.new_password, repeat_password: req.repeat_password };
    dipr_registry::passwords::reset_password(&st, &req.token, new).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/me/tokens", tag = "accounts", security(("bearer" = [])),
    responses((status = 200, body = Vec<TokenRecord>), (status = 401, body = ErrorEnvelope), (status = "4XX", body = ErrorEnvelope)))]
async fn list_tokens(AxState(st): S, caller: Caller) -> ApiResult<Json<Vec<TokenRecord>>> {
    Ok(Json(st.store.tokens_of(caller.user()?.id).await?))
}

/// Create an API token for scripts and the CLI.
#[utoipa::path(post, path = "/me/tokens", request_body = NewTokenRequest, tag = "accounts", security(("bearer" = [])),
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
#[utoipa::path(delete, path = "/me/tokens/{id}", tag = "accounts", security(("bearer" = [])),
    params(("id" = Uuid, Path)), responses((status = 204), (status = "4XX", body = ErrorEnvelope)))]
async fn revoke_token(AxState(st): S, caller: Caller, Path(id): Path<Uuid>) -> ApiResult<StatusCode> {
    dipr_registry::accounts::revoke_token(&st, caller.user()?, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
