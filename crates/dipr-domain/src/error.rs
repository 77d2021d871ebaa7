use serde::Serialize;

/// A problem with one field of a submitted form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FieldError {
    /// Dotted path of the field, e.g. `product.name` or `sources[0].legality_statement`.
    pub field: String,
    /// Stable code of the problem, e.g. `required`, `too_long`, `unknown_industry`.
    pub code: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, code: &str, message: impl Into<String>) -> Self {
        Self { field: field.into(), code: code.to_string(), message: message.into() }
    }
}

/// Every way a domain rule can refuse. Each variant has a stable code (see `docs/ERRORS.md`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    #[error("invalid unified social credit code {0}")]
    InvalidCreditCode(String),
    #[error("invalid resident identity number: {0}")]
    InvalidResidentId(String),
    #[error("invalid registration number {0:?}")]
    InvalidRegistrationNumber(String),
    #[error("invalid certificate number {0:?}")]
    InvalidCertificateNumber(String),
    #[error("invalid period {0:?}: use e.g. 10wd (working days), 30d, 3m or 3y")]
    InvalidPeriod(String),
    #[error("the form has {} problem(s)", .0.len())]
    Validation(Vec<FieldError>),
    #[error("cannot {action} an application in state {state}")]
    IllegalTransition { action: &'static str, state: &'static str },
    #[error("{0}")]
    Forbidden(String),
    #[error("an examiner may not decide on a filing they made or are party to")]
    ConflictOfInterest,
    #[error("the same product was withdrawn on {withdrawn_on}; it may be filed again from {barred_until}")]
    RefilingBarred { withdrawn_on: String, barred_until: String },
    #[error("the public notice period ended at {0}; objections are closed")]
    NoticePeriodOver(String),
    #[error("the deadline has not passed yet ({0})")]
    DeadlineNotReached(String),
    #[error("objection {0} not found on this application")]
    ObjectionNotFound(String),
    #[error("objection {0} is already decided")]
    ObjectionAlreadyDecided(String),
    #[error("reasons are required for this decision")]
    ReasonsRequired,
    /// A rule of the register refuses the operation; `code` names the rule (e.g. `licence_conflict`).
    #[error("{message}")]
    Refused { code: &'static str, message: String },
    #[error("internal invariant broken: {0}")]
    Invariant(String),
}

impl DomainError {
    pub fn refused(code: &'static str, message: impl Into<String>) -> Self {
        Self::Refused { code, message: message.into() }
    }

    /// Stable, documented error code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidCreditCode(_) => "invalid_credit_code",
            Self::InvalidResidentId(_) => "invalid_resident_id",
            Self::InvalidRegistrationNumber(_) => "invalid_registration_number",
            Self::InvalidCertificateNumber(_) => "invalid_certificate_number",
            Self::InvalidPeriod(_) => "invalid_period",
            Self::Validation(_) => "validation_failed",
            Self::IllegalTransition { .. } => "illegal_transition",
            Self::Forbidden(_) => "forbidden",
            Self::ConflictOfInterest => "conflict_of_interest",
            Self::RefilingBarred { .. } => "refiling_barred",
            Self::NoticePeriodOver(_) => "notice_period_over",
            Self::DeadlineNotReached(_) => "deadline_not_reached",
            Self::ObjectionNotFound(_) => "objection_not_found",
            Self::ObjectionAlreadyDecided(_) => "objection_already_decided",
            Self::ReasonsRequired => "reasons_required",
            Self::Refused { code, .. } => code,
            Self::Invariant(_) => "internal",
        }
    }
}
