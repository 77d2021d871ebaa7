//! A registered product after registration: who holds it, what rests on it, its data versions and
//! disputes, and the operations that change them.
//!
//! [`operate`] is to a registered product what [`crate::lifecycle::apply`] is to a filing: pure, all or
//! nothing, and it says what happened so the caller can log it. Transactions (fees and prices earned)
//! are checked by [`check_transaction`] and stored apart from the record: there can be millions.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::application::{
    check_objection_text, Application, ContentCommitment, DataVersion, Dispute, Holding, ObjectionDecision,
    ObjectionOutcome, State, VersionReason,
};

use crate::access::{require_examiner, require_holder, Actor, Role};
use crate::encumbrance::{Consent, ConsentPurpose, Licence, Money, Pledge, PledgeStatus, Term};
use crate::error::{DomainError, FieldError};
use crate::lifecycle::{reasons_required, Context};
use crate::party::PartyRef;
use crate::time::{local_date, WorkingCalendar};
fn require_party(actor: &Actor, party: Uuid, who: &str) -> Result<(), DomainError> {
    if actor.party_id == Some(party) {
        Ok(())
    } else {
        Err(DomainError::Forbidden(format!("only {who} may do this")))
    }
}

fn field(field: &str, code: &str, message: impl Into<String>) -> DomainError {
    DomainError::Validation(vec![FieldError::new(field, code, message)])
}

/// What can be done with a registered product.
#[derive(Debug, Clone)]
pub enum Operation {
    /// The holder's name changed (renaming, reorganisation); its identifier stays.
    ChangeHolderDetails {
        name: String,
        reasons: String,
    },
    Transfer {
        to: PartyRef,
        price: Option<Money>,
    },
    /// Unilateral change of holder recorded by an examiner (inheritance, merger), with the evidence named.
    Succession {
        to: PartyRef,
        reasons: String,
    },
    GrantLicence {
        licence: Licence,
    },
    TerminateLicence {
        licence_id: Uuid,
        reasons: String,
    },
    FilePledge {
        pledge: Pledge,
    },
    /// The holder consents to a filed pledge, which registers it.
    ConsentToPledge {
        pledge_id: Uuid,
    },
    ReleasePledge {
        pledge_id: Uuid,
    },
    /// On default: the product goes to the named party.
    EnforcePledge {
        pledge_id: Uuid,
        to: PartyRef,
        reasons: String,
    },
    GiveConsent {
        consent: Consent,
    },
    NewVersion {
        commitment: ContentCommitment,
        note: String,
    },
    Renew {
        commitment: ContentCommitment,
    },
    FileDispute {
        dispute: Dispute,
    },
    DecideDispute {
        dispute_id: Uuid,
        outcome: ObjectionOutcome,
        reasons: String,
    },
}

impl Operation {
    fn verb(&self) -> &'static str {
        match self {
            Self::ChangeHolderDetails { .. } => "change the holder details of",
            Self::Transfer { .. } => "transfer",
            Self::Succession { .. } => "record a succession to",
            Self::GrantLicence { .. } => "license",
            Self::TerminateLicence { .. } => "end a licence of",
            Self::FilePledge { .. } => "pledge",
            Self::ConsentToPledge { .. } => "consent to a pledge of",
            Self::ReleasePledge { .. } => "release a pledge of",
            Self::EnforcePledge { .. } => "enforce a pledge of",
            Self::GiveConsent { .. } => "consent to an operation on",
            Self::NewVersion { .. } => "add a data version to",
            Self::Renew { .. } => "renew",
            Self::FileDispute { .. } => "dispute",
            Self::DecideDispute { .. } => "decide a dispute about",
        }
    }
}

/// What an operation did, for the audit event and the public log.
#[derive(Debug, Clone, PartialEq)]
pub struct Done {
    pub kind: &'static str,
    pub from: State,
    pub to: State,
    pub reasons: String,
    /// Public facts of the event, logged with it.
    pub public: Value,
    /// Parties to notify (pledgees of a further pledge, the holder of a pledge filing or dispute).
    pub notify: Vec<PartyRef>,
    /// The certificate's statement changed: issue it again.
    pub reissue_certificate: bool,
    /// A price paid on transfer, booked as a trade.
    pub transaction: Option<Transaction>,
}

fn party_json(p: &PartyRef) -> Value {
    json!({"name": p.name, "id_number": p.public_id_number()})
}

/// Apply `op` to the registered product `app`. On error `app` is unchanged.
pub fn operate(app: &mut Application, op: Operation, actor: &Actor, ctx: &Context) -> Result<Done, DomainError> {
    let mut next = app.clone();
    let done = step(&mut next, op, actor, ctx)?;
    next.version += 1;
    next.updated_at = ctx.now;
    *app = next;
    Ok(done)
}

fn step(app: &mut Application, op: Operation, actor: &Actor, ctx: &Context) -> Result<Done, DomainError> {
    let from = app.state;
    if from != State::Registered {
        return Err(DomainError::IllegalTransition { action: op.verb(), state: from.as_str() });
    }
    let now = ctx.now;
    if app.holding.is_none() {
        // Registered before holdings existed: start one from the filing.
        app.holding = Some(Holding::new(app, app.registration.as_ref().map_or(now, |r| r.registered_at)));
    }
    let app_id = app.id;
    let holder_check = require_holder(actor, app);
    let examiner_check = require_examiner(actor, app);
    let valid_until = app.registration.as_ref().map(|r| r.valid_until).unwrap_or(now);
    // A renewal adds a term to the current end, under the same cap as registration.
    let renewed_until = crate::lifecycle::validity_end(app, valid_until, ctx.rules);
    let h = app.holding.as_mut().expect("set above");
    let holder = h.holder.clone();
    let mut done = Done {
        kind: "",
        from,
        to: from,
        reasons: String::new(),
        public: json!({}),
        notify: Vec::new(),
        reissue_certificate: false,
        transaction: None,
    };
    let new_holder = |h: &mut Holding, to: PartyRef| -> Result<(), DomainError> {
        if to.id == h.holder.id {
            return Err(DomainError::refused("same_holder", "the product already belongs to this party"));
        }
        h.holder = to;
        h.holder_since = now;
        Ok(())
    };
    match op {
        Operation::ChangeHolderDetails { name, reasons } => {
            holder_check?;
            let name = name.trim().to_string();
            if name.is_empty() || name.chars().count() > 200 {
                return Err(field("name", "required", "the new name is required (at most 200 characters)"));
            }
            if name == h.holder.name {
                return Err(field("name", "unchanged", "the name is the same as before"));
            }
            done.public = json!({"previous_name": h.holder.name, "name": name});
            h.holder.name = name;
            done.kind = "holder_details_changed";
            done.reasons = reasons.trim().to_string();
            done.reissue_certificate = true;
        }
        Operation::Transfer { to, price } => {
            holder_check?;
            h.encumbrances.use_consents(ConsentPurpose::Transfer, Some(to.id), now)?;
            let price = price.map(|p| p.positive("price")).transpose()?;
            done.public = json!({"from": party_json(&h.holder), "to": party_json(&to)});
            if let Some(price) = price {
                done.transaction = Some(Transaction {
                    id: Uuid::now_v7(),
                    application_id: app_id,
                    kind: TransactionKind::Trade,
                    amount: price,
                    occurred_on: local_date(now),
                    counterparty: to.name.clone(),
                    licence_id: None,
                    note: "transfer price".into(),
                    recorded_at: now,
                });
            }
            new_holder(h, to)?;
            done.kind = "transferred";
            done.reissue_certificate = true;
        }
        Operation::Succession { to, reasons } => {
            examiner_check?;
            done.reasons = reasons_required(&reasons)?;
            done.public = json!({"from": party_json(&h.holder), "to": party_json(&to)});
            new_holder(h, to)?;
            done.kind = "succeeded";
            done.reissue_certificate = true;
        }
        Operation::GrantLicence { licence } => {
            holder_check?;
            if licence.licensee.id == h.holder.id {
                return Err(field("licensee", "licensee_is_holder", "the holder cannot license itself"));
            }
            if licence.term.end < local_date(now) {
                return Err(field("term.end", "term_in_past", "the licence term has already ended"));
            }
            if let Some(fee) = licence.fee {
                fee.positive("fee")?;
            }
            done.public = json!({
                "licence_id": licence.id,
                "licence_kind": licence.kind,
                "licensee": party_json(&licence.licensee),
                "term": licence.term,
                "reach": licence.reach,
            });
            h.encumbrances.add_licence(licence, now)?;
            done.kind = "licence_granted";
        }
        Operation::TerminateLicence { licence_id, reasons } => {
            let licensee = h.encumbrances.licences.iter().find(|l| l.id == licence_id).map(|l| l.licensee.id);
            if holder_check.is_err() && actor.party_id.is_none_or(|p| Some(p) != licensee) {
                return Err(DomainError::Forbidden("only the holder or the licensee may end a licence".into()));
            }
            h.encumbrances.terminate_licence(licence_id, now)?;
            done.public = json!({"licence_id": licence_id});
            done.kind = "licence_terminated";
            done.reasons = reasons.trim().to_string();
        }
        Operation::FilePledge { pledge } => {
            if actor.role != Role::Bank {
                return Err(DomainError::Forbidden("only a bank registers pledges".into()));
            }
            require_party(actor, pledge.pledgee.id, "the pledgee bank")?;
            pledge.secured.positive("secured")?;
            if pledge.term.end < local_date(now) {
                return Err(field("term.end", "term_in_past", "the loan term has already ended"));
            }
            if pledge.pledgee.id == h.holder.id {
                return Err(field(
                    "pledgee",
                    "pledgee_is_holder",
                    "the holder cannot take a pledge on its own product",
                ));
            }
            done.public = json!({"pledge_id": pledge.id, "pledgee": party_json(&pledge.pledgee), "stated_rank": pledge.stated_rank});
            h.encumbrances.file_pledge(pledge)?;
            done.kind = "pledge_filed";
            done.notify = vec![holder];
        }
        Operation::ConsentToPledge { pledge_id } => {
            holder_check?;
            done.notify = h.encumbrances.register_pledge(pledge_id, now)?;
            let p = h.encumbrances.pledges.iter().find(|p| p.id == pledge_id).expect("just registered");
            done.public = json!({
                "pledge_id": pledge_id,
                "rank": p.rank,
                "pledgee": party_json(&p.pledgee),
                "debtor": party_json(&p.debtor),
                "secured": p.secured,
                "term": p.term,
            });
            done.kind = "pledge_registered";
        }
        Operation::ReleasePledge { pledge_id } => {
            let by = actor.party_id.ok_or_else(|| DomainError::Forbidden("only the pledgee may do this".into()))?;
            h.encumbrances.release_pledge(pledge_id, by, now)?;
            done.public = json!({"pledge_id": pledge_id});
            done.kind = "pledge_released";
            done.notify = vec![holder];
        }
        Operation::EnforcePledge { pledge_id, to, reasons } => {
            let by = actor.party_id.ok_or_else(|| DomainError::Forbidden("only the pledgee may do this".into()))?;
            done.reasons = reasons_required(&reasons)?;
            h.encumbrances.enforce_pledge(pledge_id, by, now)?;
            done.public = json!({"pledge_id": pledge_id, "from": party_json(&h.holder), "to": party_json(&to)});
            new_holder(h, to)?;
            done.kind = "pledge_enforced";
            done.notify = vec![holder];
            done.reissue_certificate = true;
        }
        Operation::GiveConsent { consent } => {
            let by = actor.party_id.ok_or_else(|| DomainError::Forbidden("only the pledgee may do this".into()))?;
            done.public = json!({"pledge_id": consent.pledge_id, "purpose": consent.purpose});
            h.encumbrances.give_consent(consent, by)?;
            done.kind = "consent_given";
            done.notify = vec![holder];
        }
        Operation::NewVersion { commitment, note } => {
            holder_check?;
            let number = h.versions.len() as u32 + 1;
            done.public =
                json!({"version": number, "root": commitment.root, "manifest_sha256": commitment.manifest_sha256});
            h.versions.push(DataVersion {
                number,
                commitment: Some(commitment),
                attested_at: now,
                reason: VersionReason::Update,
                note: note.trim().to_string(),
            });
            done.kind = "version_added";
            done.reissue_certificate = true;
        }
        Operation::Renew { commitment } => {
            holder_check?;
            let opens = WorkingCalendar::add_exact(now, ctx.rules.renewal_window);
            if opens < valid_until {
                return Err(DomainError::refused(
                    "renewal_not_open",
                    format!(
                        "renewal opens {} before the validity ends ({})",
                        ctx.rules.renewal_window,
                        valid_until.to_rfc3339()
                    ),
                ));
            }
            if renewed_until <= valid_until {
                return Err(DomainError::refused(
                    "renewal_beyond_licence",
                    "a data source's licence ends before the current validity: renewal cannot extend it",
                ));
            }
            let number = h.versions.len() as u32 + 1;
            h.versions.push(DataVersion {
                number,
                commitment: Some(commitment.clone()),
                attested_at: now,
                reason: VersionReason::Renewal,
                note: String::new(),
            });
            let reg = app.registration.as_mut().ok_or_else(|| DomainError::Invariant("no registration".into()))?;
            reg.valid_until = renewed_until;
            done.public = json!({"version": number, "root": commitment.root, "valid_until": renewed_until});
            done.kind = "renewed";
            done.reissue_certificate = true;
        }
        Operation::FileDispute { dispute } => {
            let errors = check_objection_text(&dispute.objector_name, &dispute.objector_contact, &dispute.grounds, &[]);
            if !errors.is_empty() {
                return Err(DomainError::Validation(errors));
            }
            done.public = json!({"dispute_id": dispute.id});
            h.disputes.push(dispute);
            done.kind = "dispute_filed";
            done.notify = vec![holder];
        }
        Operation::DecideDispute { dispute_id, outcome, reasons } => {
            examiner_check?;
            let reasons = reasons_required(&reasons)?;
            let d = h
                .disputes
                .iter_mut()
                .find(|d| d.id == dispute_id)
                .ok_or_else(|| DomainError::ObjectionNotFound(dispute_id.to_string()))?;
            if d.decision.is_some() {
                return Err(DomainError::ObjectionAlreadyDecided(dispute_id.to_string()));
            }
            d.decision = Some(ObjectionDecision {
                outcome,
                reasons: reasons.clone(),
                examiner_id: actor.user_id.unwrap_or_default(),
                examiner_name: actor.name.clone(),
                decided_at: now,
            });
            done.public = json!({"dispute_id": dispute_id, "outcome": outcome});
            done.reasons = reasons;
            done.notify = vec![holder];
            if outcome == ObjectionOutcome::Upheld {
                done.kind = "dispute_upheld";
                done.to = State::Revoked;
            } else {
                done.kind = "dispute_dismissed";
            }
        }
    }
    if done.to == State::Revoked {
        app.decisions.push(crate::application::Decision {
            action: done.kind.into(),
            reasons: done.reasons.clone(),
            examiner_id: actor.user_id.unwrap_or_default(),
            examiner_name: actor.name.clone(),
            decided_at: now,
        });
    }
    app.state = done.to;
    Ok(done)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum TransactionKind {
    LicenceFee,
    Trade,
    ServiceFee,
}

impl TransactionKind {
    pub const ALL: [Self; 3] = [Self::LicenceFee, Self::Trade, Self::ServiceFee];
    pub fn as_str(self) -> &'static str {
        match self {
            Self::LicenceFee => "licence_fee",
            Self::Trade => "trade",
            Self::ServiceFee => "service_fee",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// Money earned with a registered product: its economic value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Transaction {
    pub id: Uuid,
    pub application_id: Uuid,
    pub kind: TransactionKind,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub amount: Money,
    pub occurred_on: NaiveDate,
    pub counterparty: String,
    pub licence_id: Option<Uuid>,
    pub note: String,
    pub recorded_at: DateTime<Utc>,
}

/// A transaction as the holder reports it.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewTransaction {
    pub kind: TransactionKind,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub amount: Money,
    pub occurred_on: NaiveDate,
    pub counterparty: String,
    #[serde(default)]
    pub licence_id: Option<Uuid>,
    #[serde(default)]
    pub note: String,
}

/// Check a transaction the holder books against a registered product.
pub fn check_transaction(
    app: &Application,
    t: NewTransaction,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<Transaction, DomainError> {
    if app.state != State::Registered {
        return Err(DomainError::IllegalTransition { action: "book a transaction on", state: app.state.as_str() });
    }
    require_holder(actor, app)?;
    let mut errors = Vec::new();
    if t.amount.fen() == 0 {
        errors.push(FieldError::new("amount", "invalid_amount", "the amount must be more than zero"));
    }
    if t.occurred_on > local_date(now) {
        errors.push(FieldError::new("occurred_on", "date_in_future", "the transaction date is in the future"));
    }
    let registered = app.registration.as_ref().map(|r| local_date(r.valid_from));
    if registered.is_some_and(|r| t.occurred_on < r) {
        errors.push(FieldError::new(
            "occurred_on",
            "before_registration",
            "the date is before the registration took effect",
        ));
    }
    let counterparty = t.counterparty.trim().to_string();
    if counterparty.is_empty() || counterparty.chars().count() > 200 {
        errors.push(FieldError::new("counterparty", "required", "name the counterparty (at most 200 characters)"));
    }
    if t.note.chars().count() > 2000 {
        errors.push(FieldError::new("note", "too_long", "at most 2000 characters"));
    }
    if let Some(l) = t.licence_id {
        let known = app.holding.as_ref().is_some_and(|h| h.encumbrances.licences.iter().any(|x| x.id == l));
        if !known {
            errors.push(FieldError::new("licence_id", "licence_not_found", "no such licence on this product"));
        }
    }
    if !errors.is_empty() {
        return Err(DomainError::Validation(errors));
    }
    Ok(Transaction {
        id: Uuid::now_v7(),
        application_id: app.id,
        kind: t.kind,
        amount: t.amount,
        occurred_on: t.occurred_on,
        counterparty,
        licence_id: t.licence_id,
        note: t.note.trim().to_string(),
        recorded_at: now,
    })
}

/// A pledge as a bank files it (the registry adds the parties).
pub fn new_pledge(
    pledgee: PartyRef,
    debtor: PartyRef,
    secured: Money,
    term: Term,
    stated_rank: u32,
    now: DateTime<Utc>,
) -> Pledge {
    Pledge {
        id: Uuid::now_v7(),
        pledgee,
        debtor,
        secured,
        term,
        stated_rank,
        rank: None,
        status: PledgeStatus::Pending,
        filed_at: now,
        registered_at: None,
        closed_at: None,
    }
}

/// May `app` name `parent` (the application registered under `upstream.registration_number`, if any)
/// as a source? The parent must be registered; when another party holds it, `upstream.licence_id`
/// must name an active licence from it to the applicant.
pub fn check_upstream(
    app: &Application,
    upstream: &crate::application::Upstream,
    parent: Option<&Application>,
) -> Result<(), DomainError> {
    let number = upstream.registration_number.to_string();
    let parent = parent.ok_or_else(|| {
        DomainError::refused("upstream_not_found", format!("no registration {number} to derive from"))
    })?;
    if parent.state != State::Registered {
        return Err(DomainError::refused(
            "upstream_not_registered",
            format!("registration {number} is {}, not registered", parent.state.as_str()),
        ));
    }
    if parent.holder().id == app.applicant.id {
        return Ok(());
    }
    let Some(licence_id) = upstream.licence_id else {
        return Err(DomainError::refused(
            "upstream_licence_required",
            format!("{number} belongs to {}: name the licence that allows the derivation", parent.holder().name),
        ));
    };
    let licensed = parent.holding.as_ref().is_some_and(|h| {
        h.encumbrances.active_licences().any(|l| l.id == licence_id && l.licensee.id == app.applicant.id)
    });
    if !licensed {
        return Err(DomainError::refused(
            "upstream_licence_invalid",
            format!("licence {licence_id} is not an active licence of {number} to the applicant"),
        ));
    }
    Ok(())
}
