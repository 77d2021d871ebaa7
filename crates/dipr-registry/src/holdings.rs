//! Operations on registered products: each runs the domain's rule, stores the record, appends the
//! audit event, logs it in the public ledger (re-issuing the certificate when its statement changed),
//! books any transaction and notifies the parties concerned — all in one transaction.

use chrono::{DateTime, Utc};
use dipr_domain::access::Actor;
use dipr_domain::application::Application;
use dipr_domain::holding::{self, NewTransaction, Operation, Transaction};
use dipr_domain::lifecycle::Context;
use dipr_domain::party::PartyRef;
use dipr_store::Tx;
use serde_json::json;
use uuid::Uuid;

use crate::audit::actor_of;
use crate::audit::event;
use crate::error::Error;
use crate::error::Result;
use crate::fingerprints::CheckedManifest;
use crate::input::Amount;
use crate::input::Fields;
use crate::state::Registry;
use dipr_domain::access::Role;
use dipr_domain::encumbrance::Licence;
use dipr_domain::encumbrance::LicenceKind;
use dipr_domain::encumbrance::Reach;
use dipr_domain::holding::TransactionKind;
use dipr_domain::FieldError;
use dipr_store::UserRecord;
use serde::Deserialize;
use utoipa::ToSchema;

/// The registered party with this credit code or resident ID number.
pub async fn party(state: &Registry, id_number: &str, field: &str) -> Result<PartyRef> {
    let id_number = id_number.trim().to_uppercase();
    let p = state.store.party_by_id_number(&id_number).await?.ok_or_else(|| {
        Error::new("party_not_found", format!("{field}: no registered party has the identifier {id_number:?}"))
    })?;
    Ok((&p).into())
}

/// Apply `op` to the registered product `id` now.
pub async fn operate(state: &Registry, id: Uuid, op: Operation, actor: &Actor) -> Result<Application> {
    operate_at(state, id, op, actor, state.clock.now(), None).await
}

/// [`operate`] as of `now`, optionally storing a new data version's manifest in the same transaction.
pub async fn operate_at(
    state: &Registry,
    id: Uuid,
    op: Operation,
    actor: &Actor,
    now: DateTime<Utc>,
    manifest: Option<CheckedManifest>,
) -> Result<Application> {
    let calendar = state.calendar();
    let ctx = Context { now, calendar: &calendar, rules: &state.config.rules };
    let mut tx = state.store.begin().await?;
    let mut app = locked_record(tx.as_mut(), id).await?;
    let done = holding::operate(&mut app, op, actor, &ctx)?;
    if let Some(m) = manifest {
        tx.insert_manifest(id, &m.sha, &m.doc, &m.sketch, now).await?;
    }
    tx.update_application(&app).await?;
    let mut e = event(actor, now, "application", id, done.kind);
    e.from_state = Some(done.from.as_str().into());
    e.to_state = Some(done.to.as_str().into());
    e.reasons = done.reasons.clone();
    e.payload = json!({"public": done.public, "reissue_certificate": done.reissue_certificate});
    let event_id = tx.append_event(&e).await?;
    crate::ledger::record(state, tx.as_mut(), &app, event_id, &e).await?;
    if let Some(t) = &done.transaction {
        tx.insert_transaction(t, &app, event_id).await?;
    }
    notify(tx.as_mut(), &done.notify, &app, done.kind, now).await?;
    tx.commit().await?;
    Ok(app)
}

/// A published record, locked for update; anything else is "not found".
async fn locked_record(tx: &mut dyn Tx, id: Uuid) -> Result<Application> {
    tx.application_for_update(id).await?.filter(Application::is_public).ok_or_else(|| Error::not_found("record"))
}

/// Tell parties what happened to a product they have a stake in (they read it at /me/notifications).
async fn notify(
    tx: &mut dyn Tx,
    parties: &[PartyRef],
    app: &Application,
    kind: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    for p in parties {
        let mut e = event(&Actor::system(), now, "party", p.id, "notification");
        e.payload = json!({
            "application_id": app.id,
            "product_name": app.form.product_name,
            "registration_number": app.registration.as_ref().map(|r| r.registration_number.to_string()),
            "event": kind,
        });
        tx.append_event(&e).await?;
    }
    Ok(())
}

/// Book a transaction against a registered product (the holder only).
pub async fn record_transaction(
    state: &Registry,
    id: Uuid,
    input: NewTransaction,
    actor: &Actor,
) -> Result<Transaction> {
    book_transaction_at(state, id, input, actor, state.clock.now()).await
}

pub(crate) async fn book_transaction_at(
    state: &Registry,
    id: Uuid,
    input: NewTransaction,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<Transaction> {
    let mut tx = state.store.begin().await?;
    let app = locked_record(tx.as_mut(), id).await?;
    let t = holding::check_transaction(&app, input, actor, now)?;
    let mut e = event(actor, now, "application", id, "transaction_recorded");
    e.from_state = Some(app.state.as_str().into());
    e.to_state = e.from_state.clone();
    e.payload = json!({"public": {
        "transaction_id": t.id,
        "transaction_kind": t.kind,
        "amount": t.amount,
        "occurred_on": t.occurred_on,
    }});
    let event_id = tx.append_event(&e).await?;
    crate::ledger::record(state, tx.as_mut(), &app, event_id, &e).await?;
    tx.insert_transaction(&t, &app, event_id).await?;
    tx.commit().await?;
    Ok(t)
}

/// Check that every product a filing names as its source allows the derivation.
pub async fn check_upstreams(state: &Registry, app: &Application) -> Result<()> {
    for u in &app.form.derived_from {
        let parent = state.store.application_by_registration_number(&u.registration_number.to_string()).await?;
        holding::check_upstream(app, u, parent.as_ref()).map_err(Error::from)?;
    }
    Ok(())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LicenceRequest {
    /// Credit code (or ID number) of the registered licensee.
    pub licensee: String,
    pub kind: LicenceKind,
    /// First day, `YYYY-MM-DD`.
    pub start: String,
    /// Last day, `YYYY-MM-DD`.
    pub end: String,
    /// Empty: everywhere.
    #[serde(default)]
    pub territories: Vec<String>,
    /// Empty: every use.
    #[serde(default)]
    pub scopes: Vec<String>,
    #[serde(default)]
    pub fee: Option<Amount>,
}

/// Check a licence request (every bad field at once) and register it: the API's and the web's way in.
pub async fn grant_licence(st: &Registry, actor: &Actor, id: Uuid, req: LicenceRequest) -> Result<Application> {
    let mut f = Fields::default();
    let term = f.term(&req.start, &req.end);
    let fee = req.fee.as_ref().and_then(|a| f.money("fee", a));
    let clean = |v: Vec<String>| -> Vec<String> {
        v.into_iter().map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect()
    };
    let reach = Reach { territories: clean(req.territories), scopes: clean(req.scopes) };
    if reach.territories.len() + reach.scopes.len() > 100 {
        f.0.push(FieldError::new("territories", "too_many", "at most 100 territories and scopes"));
    }
    f.done()?;
    let licensee = party(st, &req.licensee, "licensee").await?;
    let licence = Licence {
        id: Uuid::now_v7(),
        licensee,
        kind: req.kind,
        term: term.expect("checked"),
        reach,
        fee,
        granted_at: st.clock.now(),
        terminated_at: None,
    };
    operate(st, id, Operation::GrantLicence { licence }, actor).await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransactionRequest {
    pub kind: TransactionKind,
    pub amount: Amount,
    /// `YYYY-MM-DD`, not in the future.
    pub occurred_on: String,
    pub counterparty: String,
    #[serde(default)]
    pub licence_id: Option<Uuid>,
    #[serde(default)]
    pub note: String,
}

/// Check a transaction (every bad field at once) and book it: the API's and the web's way in.
pub async fn book_transaction(st: &Registry, actor: &Actor, id: Uuid, req: TransactionRequest) -> Result<Transaction> {
    let mut f = Fields::default();
    let amount = f.money("amount", &req.amount);
    let occurred_on = f.date("occurred_on", &req.occurred_on);
    f.done()?;
    let input = NewTransaction {
        kind: req.kind,
        amount: amount.expect("checked"),
        occurred_on: occurred_on.expect("checked"),
        counterparty: req.counterparty,
        licence_id: req.licence_id,
        note: req.note,
    };
    record_transaction(st, id, input, actor).await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PledgeRequest {
    /// Whose loan it secures (credit code or ID number); the holder when absent.
    #[serde(default)]
    pub debtor: Option<String>,
    pub secured: Amount,
    /// The loan's first day, `YYYY-MM-DD`.
    pub start: String,
    /// The loan's last day.
    pub end: String,
    /// The rank this pledge will take: 1 if no pledge was ever registered on the product, and so on.
    pub rank: u32,
}

/// A bank files a pledge on a published record (the API and the bank's web form).
pub async fn file_pledge(st: &Registry, user: &UserRecord, id: Uuid, req: &PledgeRequest) -> Result<Application> {
    if user.role != Role::Bank {
        return Err(Error::forbidden("only a bank registers pledges"));
    }
    let mut f = Fields::default();
    let secured = f.money("secured", &req.secured);
    let term = f.term(&req.start, &req.end);
    if req.rank == 0 {
        f.0.push(FieldError::new("rank", "pledge_rank", "ranks start at 1"));
    }
    f.done()?;
    let bank_party = user.party_id.ok_or_else(|| Error::forbidden("this bank account has no party"))?;
    let bank = st.store.party(bank_party).await?.ok_or_else(|| Error::internal("bank party missing"))?;
    let app =
        st.store.application(id).await?.filter(Application::is_public).ok_or_else(|| Error::not_found("record"))?;
    let debtor = match &req.debtor {
        Some(d) if !d.trim().is_empty() => party(st, d, "debtor").await?,
        _ => app.holder().clone(),
    };
    let pledge = holding::new_pledge(
        (&bank).into(),
        debtor,
        secured.expect("checked"),
        term.expect("checked"),
        req.rank,
        st.clock.now(),
    );
    operate(st, id, Operation::FilePledge { pledge }, &actor_of(user)).await
}
