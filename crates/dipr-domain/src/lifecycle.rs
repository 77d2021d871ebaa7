//! The registration lifecycle: who may do what, in which state, and what it changes.
//!
//! [`apply`] is the only way an application changes state. It is pure: it takes the record, the command,
//! who is asking and the time, and either changes the record and describes the event, or refuses with a
//! [`DomainError`] and leaves the record untouched.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::access::{require_examiner, require_holder, Actor, Role};
use crate::application::{
    check_objection_text, Application, ApplicationForm, CorrectionRequest, Decision, NewObjection, Notice, Objection,
    ObjectionDecision, ObjectionOutcome, Registration, SourceKind, State,
};
use crate::error::{DomainError, FieldError};
use crate::ids::{CertificateNumber, RegistrationNumber};
use crate::time::{start_of_local_day, Period, WorkingCalendar};
/// The registry's time rules, from configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Rules {
    pub notice_period: Period,
    pub correction_period: Period,
    pub objection_decision_period: Period,
    pub validity: Period,
    pub refiling_bar: Period,
    /// How long before the validity ends a registration may be renewed.
    pub renewal_window: Period,
    /// Four-digit registrar code in certificate numbers.
    pub registrar_code: u16,
}

impl Default for Rules {
    fn default() -> Self {
        Self {
            notice_period: Period::WorkingDays(10),
            correction_period: Period::Days(30),
            objection_decision_period: Period::Days(60),
            validity: Period::Years(3),
            refiling_bar: Period::Months(3),
            renewal_window: Period::Months(6),
            registrar_code: 3100,
        }
    }
}

/// Everything [`apply`] needs besides the record.
pub struct Context<'a> {
    pub now: DateTime<Utc>,
    pub calendar: &'a WorkingCalendar,
    pub rules: &'a Rules,
}

/// What can be asked of an application.
#[derive(Debug, Clone)]
pub enum Command {
    Submit,
    Resubmit {
        response: String,
    },
    Withdraw {
        reason: String,
    },
    /// Throw away a draft that was never submitted.
    Discard,
    AcceptForReview,
    RequestCorrection {
        items: Vec<String>,
        reasons: String,
    },
    Reject {
        reasons: String,
    },
    PassFormalReview {
        reasons: String,
    },
    Refuse {
        reasons: String,
    },
    Approve {
        reasons: String,
    },
    FileObjection {
        objection: NewObjection,
        id: Uuid,
    },
    RespondToObjection {
        objection_id: Uuid,
        response: String,
    },
    DecideObjection {
        objection_id: Uuid,
        outcome: ObjectionOutcome,
        reasons: String,
    },
    ExpireCorrection,
    EndNotice,
    /// The holder gives up the registration.
    Cancel {
        reason: String,
    },
    /// The registry withdraws the registration when a ground for refusal is found later.
    Revoke {
        reasons: String,
    },
    /// The validity period has ended (the timer).
    Expire,
}

impl Command {
    /// Stable event name recorded in the history.
    pub fn event_kind(&self) -> &'static str {
        match self {
            Self::Submit => "submitted",
            Self::Resubmit { .. } => "resubmitted",
            Self::Withdraw { .. } => "withdrawn",
            Self::Discard => "draft_discarded",
            Self::AcceptForReview => "accepted_for_review",
            Self::RequestCorrection { .. } => "correction_requested",
            Self::Reject { .. } => "rejected",
            Self::PassFormalReview { .. } => "formal_review_passed",
            Self::Refuse { .. } => "refused",
            Self::Approve { .. } => "notice_published",
            Self::FileObjection { .. } => "objection_filed",
            Self::RespondToObjection { .. } => "objection_answered",
            Self::DecideObjection { outcome: ObjectionOutcome::Upheld, .. } => "objection_upheld",
            Self::DecideObjection { outcome: ObjectionOutcome::Dismissed, .. } => "objection_dismissed",
            Self::ExpireCorrection => "deemed_withdrawn",
            Self::EndNotice => "notice_ended",
            Self::Cancel { .. } => "cancelled",
            Self::Revoke { .. } => "revoked",
            Self::Expire => "expired",
        }
    }

    fn verb(&self) -> &'static str {
        match self {
            Self::Submit => "submit",
            Self::Resubmit { .. } => "resubmit",
            Self::Withdraw { .. } => "withdraw",
            Self::Discard => "discard",
            Self::AcceptForReview => "accept for review",
            Self::RequestCorrection { .. } => "request correction of",
            Self::Reject { .. } => "reject",
            Self::PassFormalReview { .. } => "pass formal review of",
            Self::Refuse { .. } => "refuse",
            Self::Approve { .. } => "publish a notice for",
            Self::FileObjection { .. } => "object to",
            Self::RespondToObjection { .. } => "answer an objection to",
            Self::DecideObjection { .. } => "decide an objection to",
            Self::ExpireCorrection => "deem withdrawn",
            Self::EndNotice => "end the notice of",
            Self::Cancel { .. } => "cancel",
            Self::Revoke { .. } => "revoke",
            Self::Expire => "expire",
        }
    }
}

/// The outcome of a successful command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    pub kind: &'static str,
    pub from: State,
    pub to: State,
    pub reasons: String,
    /// The application reached `registered`: the caller must allocate numbers and call [`register`].
    pub needs_registration: bool,
}

pub(crate) fn reasons_required(r: &str) -> Result<String, DomainError> {
    let r = r.trim();
    if r.is_empty() {
        Err(DomainError::ReasonsRequired)
    } else if r.chars().count() > 20_000 {
        Err(DomainError::Validation(vec![FieldError::new("reasons", "too_long", "at most 20000 characters")]))
    } else {
        Ok(r.to_string())
    }
}

fn require_owner(actor: &Actor, app: &Application) -> Result<(), DomainError> {
    if actor.owns(app) {
        Ok(())
    } else {
        Err(DomainError::Forbidden("only the applicant or its filing agent may do this".into()))
    }
}

/// Apply `cmd` to `app`. On error `app` is unchanged.
pub fn apply(app: &mut Application, cmd: Command, actor: &Actor, ctx: &Context) -> Result<Transition, DomainError> {
    let mut next = app.clone();
    let transition = step(&mut next, cmd, actor, ctx)?;
    next.version += 1;
    next.updated_at = ctx.now;
    *app = next;
    Ok(transition)
}

fn step(app: &mut Application, cmd: Command, actor: &Actor, ctx: &Context) -> Result<Transition, DomainError> {
    use State::*;
    let from = app.state;
    let kind = cmd.event_kind();
    let illegal = DomainError::IllegalTransition { action: cmd.verb(), state: from.as_str() };
    let now = ctx.now;
    let mut needs_registration = false;
    let decision = |app: &mut Application, reasons: &str| {
        app.decisions.push(Decision {
            action: kind.to_string(),
            reasons: reasons.to_string(),
            examiner_id: actor.user_id.unwrap_or_default(),
            examiner_name: actor.name.clone(),
            decided_at: now,
        })
    };

    let (to, reasons) = match cmd {
        Command::Submit => {
            require_owner(actor, app)?;
            if from != Draft {
                return Err(illegal);
            }
            app.submitted_at = Some(now);
            (Submitted, String::new())
        }
        Command::Resubmit { response } => {
            require_owner(actor, app)?;
            if from != CorrectionRequested {
                return Err(illegal);
            }
            let c = app.correction.as_mut().ok_or_else(|| DomainError::Invariant("no correction request".into()))?;
            if now >= c.due {
                return Err(DomainError::IllegalTransition {
                    action: "resubmit after the deadline",
                    state: from.as_str(),
                });
            }
            c.response = Some(response.trim().to_string());
            (FormalReview, String::new())
        }
        Command::Withdraw { reason } => {
            require_owner(actor, app)?;
            // A draft was never filed: it is discarded, not withdrawn (which bars re-filing).
            if from.is_final() || from == Draft {
                return Err(illegal);
            }
            app.withdrawn_at = Some(now);
            (Withdrawn, reason.trim().to_string())
        }
        Command::Discard => {
            require_owner(actor, app)?;
            if from != Draft {
                return Err(illegal);
            }
            (Discarded, String::new())
        }
        Command::AcceptForReview => {
            require_examiner(actor, app)?;
            if from != Submitted {
                return Err(illegal);
            }
            app.examiner_id = actor.user_id;
            (FormalReview, String::new())
        }
        Command::RequestCorrection { items, reasons } => {
            require_examiner(actor, app)?;
            if from != FormalReview {
                return Err(illegal);
            }
            let reasons = reasons_required(&reasons)?;
            let due = ctx.calendar.deadline(now, ctx.rules.correction_period);
            app.correction =
                Some(CorrectionRequest { items, reasons: reasons.clone(), requested_at: now, due, response: None });
            decision(app, &reasons);
            (CorrectionRequested, reasons)
        }
        Command::Reject { reasons } => {
            require_examiner(actor, app)?;
            if from != FormalReview {
                return Err(illegal);
            }
            let reasons = reasons_required(&reasons)?;
            decision(app, &reasons);
            (Rejected, reasons)
        }
        Command::PassFormalReview { reasons } => {
            require_examiner(actor, app)?;
            if from != FormalReview {
                return Err(illegal);
            }
            let reasons = reasons_required(&reasons)?;
            decision(app, &reasons);
            (SubstantiveReview, reasons)
        }
        Command::Refuse { reasons } => {
            require_examiner(actor, app)?;
            if from != SubstantiveReview {
                return Err(illegal);
            }
            let reasons = reasons_required(&reasons)?;
            decision(app, &reasons);
            (Refused, reasons)
        }
        Command::Approve { reasons } => {
            require_examiner(actor, app)?;
            if from != SubstantiveReview {
                return Err(illegal);
            }
            let reasons = reasons_required(&reasons)?;
            decision(app, &reasons);
            app.notice = Some(Notice { started_at: now, ends_at: ctx.calendar.deadline(now, ctx.rules.notice_period) });
            (PublicNotice, reasons)
        }
        Command::FileObjection { objection, id } => {
            if !matches!(from, PublicNotice | ObjectionPending) {
                return Err(illegal);
            }
            let notice = app.notice.as_ref().ok_or_else(|| DomainError::Invariant("no notice".into()))?;
            if now >= notice.ends_at {
                return Err(DomainError::NoticePeriodOver(notice.ends_at.to_rfc3339()));
            }
            if actor.is_party_to(app) {
                return Err(DomainError::Forbidden("the applicant cannot object to its own filing".into()));
            }
            let errors = check_objection_text(
                &objection.objector_name,
                &objection.objector_contact,
                &objection.grounds,
                &objection.evidence,
            );
            if !errors.is_empty() {
                return Err(DomainError::Validation(errors));
            }
            app.objections.push(Objection {
                id,
                filed_at: now,
                filed_by: actor.user_id,
                objector_name: objection.objector_name.trim().to_string(),
                objector_contact: objection.objector_contact.trim().to_string(),
                grounds: objection.grounds.trim().to_string(),
                evidence: objection.evidence,
                decide_by: ctx.calendar.deadline(now, ctx.rules.objection_decision_period),
                response: None,
                responded_at: None,
                decision: None,
            });
            (ObjectionPending, String::new())
        }
        Command::RespondToObjection { objection_id, response } => {
            require_owner(actor, app)?;
            if from != ObjectionPending {
                return Err(illegal);
            }
            let o = app
                .objections
                .iter_mut()
                .find(|o| o.id == objection_id)
                .ok_or_else(|| DomainError::ObjectionNotFound(objection_id.to_string()))?;
            if o.decision.is_some() {
                return Err(DomainError::ObjectionAlreadyDecided(objection_id.to_string()));
            }
            let response = response.trim();
            if response.is_empty() {
                return Err(DomainError::Validation(vec![FieldError::new(
                    "response",
                    "required",
                    "response is required",
                )]));
            }
            o.response = Some(response.to_string());
            o.responded_at = Some(now);
            (ObjectionPending, String::new())
        }
        Command::DecideObjection { objection_id, outcome, reasons } => {
            require_examiner(actor, app)?;
            if from != ObjectionPending {
                return Err(illegal);
            }
            let reasons = reasons_required(&reasons)?;
            let o = app
                .objections
                .iter_mut()
                .find(|o| o.id == objection_id)
                .ok_or_else(|| DomainError::ObjectionNotFound(objection_id.to_string()))?;
            if o.decision.is_some() {
                return Err(DomainError::ObjectionAlreadyDecided(objection_id.to_string()));
            }
            if o.filed_by.is_some() && o.filed_by == actor.user_id {
                return Err(DomainError::ConflictOfInterest);
            }
            o.decision = Some(ObjectionDecision {
                outcome,
                reasons: reasons.clone(),
                examiner_id: actor.user_id.unwrap_or_default(),
                examiner_name: actor.name.clone(),
                decided_at: now,
            });
            decision(app, &reasons);
            let notice_over = app.notice.as_ref().is_some_and(|n| now >= n.ends_at);
            let to = match outcome {
                ObjectionOutcome::Upheld => Refused,
                _ if app.pending_objections() > 0 => ObjectionPending,
                _ if notice_over => Registered,
                _ => PublicNotice,
            };
            needs_registration = to == Registered;
            (to, reasons)
        }
        Command::ExpireCorrection => {
            if actor.role != Role::System {
                return Err(DomainError::Forbidden("only the registry's timer deems filings withdrawn".into()));
            }
            if from != CorrectionRequested {
                return Err(illegal);
            }
            let due =
                app.correction.as_ref().map(|c| c.due).ok_or_else(|| DomainError::Invariant("no correction".into()))?;
            if now < due {
                return Err(DomainError::DeadlineNotReached(due.to_rfc3339()));
            }
            app.withdrawn_at = Some(now);
            (DeemedWithdrawn, format!("no correction was received by {}", due.to_rfc3339()))
        }
        Command::EndNotice => {
            if actor.role != Role::System {
                return Err(DomainError::Forbidden("only the registry's timer ends a notice".into()));
            }
            if from != PublicNotice {
                return Err(illegal);
            }
            let ends =
                app.notice.as_ref().map(|n| n.ends_at).ok_or_else(|| DomainError::Invariant("no notice".into()))?;
            if now < ends {
                return Err(DomainError::DeadlineNotReached(ends.to_rfc3339()));
            }
            needs_registration = true;
            (Registered, "the notice period ended without a pending objection".into())
        }
        Command::Cancel { reason } => {
            require_holder(actor, app)?;
            if from != Registered {
                return Err(illegal);
            }
            if let Some(h) = app.holding.as_mut() {
                h.encumbrances.use_consents(crate::encumbrance::ConsentPurpose::Cancellation, None, now)?;
            }
            (Cancelled, reason.trim().to_string())
        }
        Command::Revoke { reasons } => {
            require_examiner(actor, app)?;
            if from != Registered {
                return Err(illegal);
            }
            let reasons = reasons_required(&reasons)?;
            decision(app, &reasons);
            (Revoked, reasons)
        }
        Command::Expire => {
            if actor.role != Role::System {
                return Err(DomainError::Forbidden("only the registry's timer expires registrations".into()));
            }
            if from != Registered {
                return Err(illegal);
            }
            let until = app
                .registration
                .as_ref()
                .map(|r| r.valid_until)
                .ok_or_else(|| DomainError::Invariant("no registration".into()))?;
            if now < until {
                return Err(DomainError::DeadlineNotReached(until.to_rfc3339()));
            }
            (Expired, format!("the validity ended at {}", until.to_rfc3339()))
        }
    };
    app.state = to;
    Ok(Transition { kind, from, to, reasons, needs_registration })
}

/// Check the re-filing bar: a product the same applicant withdrew may not be filed again for a while.
pub fn check_refiling_bar(
    withdrawn_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    rules: &Rules,
) -> Result<(), DomainError> {
    let Some(at) = withdrawn_at else {
        return Ok(());
    };
    let until = WorkingCalendar::add_exact(at, rules.refiling_bar);
    if now < until {
        return Err(DomainError::RefilingBarred { withdrawn_on: at.to_rfc3339(), barred_until: until.to_rfc3339() });
    }
    Ok(())
}

/// Give a newly registered application its numbers and validity.
///
/// Validity runs from the start of the notice for the configured term, capped at the end of the
/// shortest underlying data licence.
pub fn register(
    app: &mut Application,
    registration_sequence: u64,
    certificate_serial: u64,
    now: DateTime<Utc>,
    rules: &Rules,
) -> Result<(), DomainError> {
    if app.state != State::Registered || app.registration.is_some() {
        return Err(DomainError::Invariant("register() on an application that is not newly registered".into()));
    }
    let filed = app.submitted_at.unwrap_or(app.created_at);
    let local_filed = filed.with_timezone(&crate::time::local_offset());
    let local_now = now.with_timezone(&crate::time::local_offset());
    use chrono::Datelike;
    let registration_number = RegistrationNumber::new(
        local_filed.year(),
        app.form.source_code(),
        app.applicant.kind.registrant_code(),
        registration_sequence,
    )?;
    let certificate_number =
        CertificateNumber::new(local_now.year(), local_now.month(), rules.registrar_code, certificate_serial)?;
    // Validity runs from registration, not from the notice that preceded it.
    let valid_from = now;
    let valid_until = validity_end(app, valid_from, rules);
    app.registration =
        Some(Registration { registration_number, certificate_number, registered_at: now, valid_from, valid_until });
    app.holding = Some(crate::application::Holding::new(app, now));
    Ok(())
}

/// When a validity term that starts at `from` ends (registration, and renewal from the current end): the
/// rules' validity, but never past the end of the licence a licensed source is held under.
pub fn validity_end(app: &Application, from: DateTime<Utc>, rules: &Rules) -> DateTime<Utc> {
    let term_end = WorkingCalendar::add_exact(from, rules.validity);
    let licence_end =
        app.form.sources.iter().filter(|s| s.kind == SourceKind::Licensed).filter_map(|s| s.licence_end).min();
    match licence_end {
        Some(end) => term_end.min(start_of_local_day(end.succ_opt().unwrap_or(end))),
        None => term_end,
    }
}

/// Edit the form of a draft, or of a filing sent back for correction.
pub fn edit(
    app: &mut Application,
    form: ApplicationForm,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<(), DomainError> {
    require_owner(actor, app)?;
    if !matches!(app.state, State::Draft | State::CorrectionRequested) {
        return Err(DomainError::IllegalTransition { action: "edit", state: app.state.as_str() });
    }
    app.form = form;
    app.version += 1;
    app.updated_at = now;
    Ok(())
}
