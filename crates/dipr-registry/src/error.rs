//! The registry's one error type. Every refusal has a stable `code` from [`ERROR_CODES`], the one table
//! from which the API's responses, the web's messages (the `errors.ftl` catalogues) and docs/ERRORS.md
//! are derived.

use dipr_domain::{DomainError, FieldError};
use dipr_store::StoreError;

/// code → HTTP status → meaning.
pub const ERROR_CODES: &[(&str, u16, &str)] = &[
    ("bad_request", 400, "The request is malformed (query string or path parameter)."),
    ("invalid_json", 400, "The body is not valid JSON or does not match the expected shape."),
    ("unsupported_media_type", 415, "Send the body as application/json."),
    ("payload_too_large", 413, "The body exceeds the configured size limit."),
    ("unauthenticated", 401, "Sign in, or send a valid bearer token."),
    ("invalid_credentials", 401, "Wrong username or password."),
    (
        "sign_in_throttled",
        429,
        "Too many sign-in attempts from this client; wait the seconds in Retry-After and try again.",
    ),
    (
        "objections_throttled",
        429,
        "Too many objections from this client or, anonymously, on this record; wait the seconds in Retry-After.",
    ),
    ("sign_ups_throttled", 429, "Too many accounts created from this client; wait the seconds in Retry-After."),
    (
        "password_resets_throttled",
        429,
        "Too many password reset requests from this client; wait the seconds in Retry-After.",
    ),
    (
        "password_change_required",
        403,
        "This account's password was set by an administrator: change it (POST /api/v1/me/password) first.",
    ),
    (
        "reset_own_password",
        403,
        "An administrator changes their own password as everyone does (POST /api/v1/me/password), with the current one.",
    ),
    ("password_reset_unavailable", 503, "This registry sends no mail, so passwords cannot be reset by e-mail."),
    ("reset_link_invalid", 410, "The password reset link is unknown, already used or expired; ask for a new one."),
    (
        "rate_limited",
        429,
        "This client, account or API token has used its quota of this kind of request (RateLimit-* headers); \
         wait the seconds in Retry-After.",
    ),
    ("request_timeout", 408, "The request took too long to arrive or to answer."),
    ("forbidden", 403, "Your role or relation to this record does not allow this."),
    ("conflict_of_interest", 403, "An examiner may not decide on a filing they made or are party to."),
    ("not_found", 404, "No such record, or it is not visible to you."),
    ("clock_not_adjustable", 404, "This server runs on the real clock; start it with --demo or --adjustable-clock."),
    ("validation_failed", 422, "One or more fields are invalid; see details."),
    ("invalid_credit_code", 422, "Not a valid unified social credit code (GB 32100-2015)."),
    ("invalid_resident_id", 422, "Not a valid resident identity number (GB 11643-1999)."),
    ("invalid_registration_number", 422, "Not a valid registration number."),
    ("invalid_certificate_number", 422, "Not a valid certificate number."),
    ("invalid_period", 422, "Not a valid period (10wd, 30d, 3m, 3y)."),
    ("reasons_required", 422, "This decision must state its reasons."),
    ("weak_password", 422, "Passwords need at least 10 characters."),
    ("invalid_manifest", 422, "The fingerprint manifest is malformed, unsigned, or inconsistent."),
    (
        "discovery_key_mismatch",
        422,
        "The manifest was not made with this registry's discovery key (dipr fingerprint --discovery-key).",
    ),
    ("no_manifest", 409, "The application has no fingerprint manifest."),
    ("illegal_transition", 409, "The application's current state does not allow this action."),
    ("refiling_barred", 409, "The same product was withdrawn recently and may not be filed again yet."),
    ("notice_period_over", 409, "The public notice period has ended; objections are closed."),
    ("deadline_not_reached", 409, "The deadline has not passed yet."),
    ("objection_not_found", 404, "No such objection on this application."),
    ("objection_already_decided", 409, "The objection has already been decided."),
    ("username_taken", 409, "That username is already registered."),
    ("party_exists", 409, "A party with this credit code or ID number is already registered."),
    ("party_mismatch", 409, "The identifier belongs to a registered party with a different name."),
    ("concurrent_modification", 409, "The record changed while you were acting on it; reload and retry."),
    ("party_not_found", 404, "No registered party has this credit code or ID number."),
    ("licence_not_found", 404, "No such licence on this product."),
    ("pledge_not_found", 404, "No such pledge on this product."),
    ("licence_conflict", 409, "The licence overlaps an exclusive or sole licence in term, territory and scope."),
    ("licence_terminated", 409, "The licence has already ended."),
    ("pledgee_consent_required", 409, "The product is pledged: this needs the consent of every active pledgee."),
    ("pledge_rank", 409, "The rank stated in the pledge filing is not the rank it would take."),
    ("pledge_not_pending", 409, "The pledge is not waiting for the holder's consent."),
    ("pledge_not_active", 409, "The pledge is not active (pending, released or enforced)."),
    ("pledge_not_senior", 409, "A pledge of higher rank must be enforced or released first."),
    ("same_holder", 409, "The product already belongs to this party."),
    ("renewal_not_open", 409, "Renewal opens only within the renewal window before the validity ends."),
    ("renewal_beyond_licence", 409, "A renewal cannot extend the validity past the end of a data source's licence."),
    ("upstream_not_found", 422, "A product named as a source is not registered here."),
    ("upstream_not_registered", 409, "A product named as a source is not (or no longer) registered."),
    ("upstream_licence_required", 409, "Deriving from another holder's product needs the licence that allows it."),
    ("upstream_licence_invalid", 409, "The licence named is not an active licence of that product to the applicant."),
    ("invalid_idempotency_key", 400, "An idempotency key is 8 to 128 printable ASCII characters."),
    ("idempotency_key_reused", 422, "This idempotency key was already used for a different request."),
    ("request_in_progress", 409, "The same request (same idempotency key) is still being processed; retry shortly."),
    (
        "stale_version",
        409,
        "The record changed after the page or the request named its version; reload and decide again.",
    ),
    ("duplicate_pledge", 409, "An identical pledge (same pledgee, amount and term) is already waiting for consent."),
    (
        "log_behind",
        503,
        "The database's log is behind the newest checkpoint the registry has signed (a restored backup or a \
         rollback): nothing is signed until an operator resolves it (docs/OPERATIONS.md).",
    ),
    (
        "log_cursor_ahead",
        409,
        "The cursor is beyond the published log: it did not come from this log, or the log was rolled back.",
    ),
    ("too_many_watches", 409, "You have as many live watches or webhook endpoints as an account may have."),
    ("email_not_configured", 409, "This registry sends no e-mail: its administrator has configured no SMTP server."),
    (
        "webhook_target_refused",
        422,
        "The webhook address does not resolve, or resolves to a private, loopback or link-local address, which \
         only an administrator can allow.",
    ),
    ("internal", 500, "An internal error; it has been logged."),
];

/// A refusal or a failure, with its stable code.
#[derive(Debug, thiserror::Error)]
#[error("{code}: {message}")]
pub struct Error {
    pub code: &'static str,
    pub message: String,
    pub details: Vec<FieldError>,
    /// The moment a refusal ends, when it has one (`refiling_barred`: filing is possible again from then).
    pub until: Option<chrono::DateTime<chrono::Utc>>,
    /// Seconds to wait before trying again, for throttled requests.
    pub retry_after: Option<u64>,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        debug_assert!(ERROR_CODES.iter().any(|(c, _, _)| *c == code), "undocumented error code {code}");
        Self { code, message: message.into(), details: Vec::new(), retry_after: None, until: None }
    }
    /// A throttled request: try again after `wait` (rounded up to whole seconds).
    pub fn throttled(code: &'static str, wait: std::time::Duration) -> Self {
        let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        Self { retry_after: Some(secs.max(1)), ..Self::new(code, format!("too many requests; try again in {secs} s")) }
    }
    pub fn not_found(what: &str) -> Self {
        Self::new("not_found", format!("{what} not found"))
    }
    pub fn unauthenticated() -> Self {
        Self::new("unauthenticated", "sign in or send a valid bearer token")
    }
    pub fn forbidden(why: impl Into<String>) -> Self {
        Self::new("forbidden", why)
    }
    pub fn validation(details: Vec<FieldError>) -> Self {
        Self {
            code: "validation_failed",
            message: format!("the request has {} invalid field(s)", details.len()),
            details,
            until: None,
            retry_after: None,
        }
    }
    pub fn internal(e: impl std::fmt::Display) -> Self {
        tracing::error!(error = %e, "internal error");
        Self::new("internal", "internal error")
    }
    /// The HTTP status the table gives this code.
    pub fn status(&self) -> u16 {
        ERROR_CODES.iter().find(|(c, _, _)| *c == self.code).map_or(500, |(_, s, _)| *s)
    }
}

impl From<DomainError> for Error {
    fn from(e: DomainError) -> Self {
        match e {
            DomainError::Validation(details) => Self::validation(details),
            DomainError::Invariant(m) => Self::internal(m),
            DomainError::RefilingBarred { ref barred_until, .. } => {
                let until = chrono::DateTime::parse_from_rfc3339(barred_until).ok().map(|t| t.to_utc());
                Self { until, ..Self::new(e.code(), e.to_string()) }
            }
            other => Self::new(other.code(), other.to_string()),
        }
    }
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(m) => Self::new("concurrent_modification", m),
            StoreError::Duplicate(what) if what.contains("username") => {
                Self::new("username_taken", "that username is already registered")
            }
            StoreError::Duplicate(what) if what.contains("id_number") => {
                Self::new("party_exists", "a party with this identifier is already registered")
            }
            other => Self::internal(other),
        }
    }
}
