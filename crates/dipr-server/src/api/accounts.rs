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

use crate::auth::Caller;
use crate::error::ApiError;
use crate::error::ApiResult;
use crate::error::ErrorEnvelope;
use crate::error::Json;
use crate::error::Path;
use crate::peer::Peer;
use dipr_registry::accounts::NewAccount;
use dipr_registry::Registry;

type S = AxState<Arc<Registry>>;

pub fn routes() -> OpenApiRouter<Arc<Registry>> {
    OpenApiRouter::new()
        .routes(routes!(signup))
        .routes(routes!(signin))
        .routes(routes!(signout))
        .routes(routes!(me))
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
async fn signout(AxState(st): S, caller: Caller) -> ApiResult<StatusCode> {
    let user = caller.user()?;
    let token = caller.token.as_ref().ok_or_else(ApiError::unauthenticated)?;
    dipr_registry::accounts::revoke_token(&st, user, token.id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The signed-in account and its party.
#[utoipa::path(get, path = "/me", tag = "accounts", security(("bearer" = [])),
    responses((status = 200, body = AccountResponse), (status = 401, body = ErrorEnvelope), (status = "4XX", body = ErrorEnvelope)))]
async fn me(AxState(st): S, caller: Caller) -> ApiResult<Json<AccountResponse>> {
    let user = caller.user()?.clone();
    let party = match user.party_id {
        Some(id) => st.store.party(id).await?,
        None => None,
    };
    Ok(Json(AccountResponse { user, party }))
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
