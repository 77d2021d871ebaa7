//! Errors as HTTP responses: every error leaves as `{"error": {"code", "message", "details"?}}` with the
//! stable code and status of the registry's table (`dipr_registry::error::ERROR_CODES`, served at
//! `/api/v1/errors`).

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use dipr_domain::{DomainError, FieldError};
use dipr_registry::error::Error;
use dipr_store::StoreError;
use serde::Serialize;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub code: &'static str,
    pub message: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<FieldError>,
    /// When the refusal ends, if it does (`refiling_barred`), as an RFC 3339 instant.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub until: Option<chrono::DateTime<chrono::Utc>>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorEnvelope {
    pub error: ErrorBody,
}

/// A registry error on its way out as an HTTP response.
#[derive(Debug)]
pub struct ApiError(pub Error);

pub type ApiResult<T> = Result<T, ApiError>;

impl std::ops::Deref for ApiError {
    type Target = Error;
    fn deref(&self) -> &Error {
        &self.0
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        Self(e)
    }
}

impl From<DomainError> for ApiError {
    fn from(e: DomainError) -> Self {
        Self(e.into())
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        Self(e.into())
    }
}

impl ApiError {
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self(Error::new(code, message))
    }
    pub fn not_found(what: &str) -> Self {
        Self(Error::not_found(what))
    }
    pub fn unauthenticated() -> Self {
        Self(Error::unauthenticated())
    }
    pub fn forbidden(why: impl Into<String>) -> Self {
        Self(Error::forbidden(why))
    }
    pub fn validation(details: Vec<FieldError>) -> Self {
        Self(Error::validation(details))
    }
    pub fn internal(e: impl std::fmt::Display) -> Self {
        Self(Error::internal(e))
    }
    pub fn throttled(code: &'static str, wait: std::time::Duration) -> Self {
        Self(Error::throttled(code, wait))
    }
    pub fn status(&self) -> StatusCode {
        StatusCode::from_u16(self.0.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }
    /// Add `Retry-After` to a response (a web page) when this error asks the client to wait.
    pub fn retry_after_on(&self, resp: &mut Response) {
        if let Some(secs) = self.retry_after {
            *resp.status_mut() = self.status();
            resp.headers_mut().insert(axum::http::header::RETRY_AFTER, secs.into());
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let Error { code, message, details, until, retry_after } = self.0;
        let error = ErrorBody { code, message, details, until };
        let mut resp = (status, axum::Json(ErrorEnvelope { error })).into_response();
        if let Some(secs) = retry_after {
            resp.headers_mut().insert(axum::http::header::RETRY_AFTER, secs.into());
        }
        resp
    }
}

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> Self {
        match r.status() {
            StatusCode::PAYLOAD_TOO_LARGE => Self::new("payload_too_large", r.body_text()),
            StatusCode::UNSUPPORTED_MEDIA_TYPE => Self::new("unsupported_media_type", r.body_text()),
            _ => Self::new("invalid_json", r.body_text()),
        }
    }
}

impl From<QueryRejection> for ApiError {
    fn from(r: QueryRejection) -> Self {
        Self::new("bad_request", r.body_text())
    }
}

impl From<PathRejection> for ApiError {
    fn from(r: PathRejection) -> Self {
        Self::new("bad_request", r.body_text())
    }
}

/// `Json` whose rejections are [`ApiError`]s.
#[derive(axum::extract::FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct Json<T>(pub T);

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

/// `Query` whose rejections are [`ApiError`]s.
#[derive(axum::extract::FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct Query<T>(pub T);

/// `Path` whose rejections are [`ApiError`]s.
#[derive(axum::extract::FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct Path<T>(pub T);
