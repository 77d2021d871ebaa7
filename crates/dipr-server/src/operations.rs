//! Operations on registered products: each runs the domain's rule, stores the record, appends the
//! audit event, logs it in the public ledger (re-issuing the certificate when its statement changed),
//! books any transaction and notifies the parties concerned — all in one transaction.

use chrono::{DateTime, Utc};
use dipr_domain::application::{Application, PartyRef};
use dipr_domain::holding::{self, NewTransaction, Operation, Transaction};
use dipr_domain::lifecycle::{Actor, Context};
use dipr_store::Tx;
use serde_json::json;
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};
use crate::fingerprints::CheckedManifest;
use crate::service::event;
use crate::AppState;

/// The registered party with this credit code or resident ID number.
pub async fn party(state: &AppState, id_number: &str, field: &str) -> ApiResult<PartyRef> {
    let id_number = id_number.trim().to_uppercase();
    let p = state.store.party_by_id_number(&id_number).await?.ok_or_else(|| {
        ApiError::new("party_not_found", format!("{field}: no registered party has the identifier {id_number:?}"))
    })?;
    Ok((&p).into())
}

/// Apply `op` to the registered product `id` now.
pub async fn operate(state: &AppState, id: Uuid, op: Operation, actor: &Actor) -> ApiResult<Application> {
    operate_at(state, id, op, actor, state.clock.now(), None).await
}

/// [`operate`] as of `now`, optionally storing a new data version's manifest in the same transaction.
pub(crate) async fn operate_at(
    state: &AppState,
    id: Uuid,
    op: Operation,
    actor: &Actor,
    now: DateTime<Utc>,
    manifest: Option<CheckedManifest>,
) -> ApiResult<Application> {
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
async fn locked_record(tx: &mut dyn Tx, id: Uuid) -> ApiResult<Application> {
    tx.application_for_update(id).await?.filter(Application::is_public).ok_or_else(|| ApiError::not_found("record"))
}

/// Tell parties what happened to a product they have a stake in (they read it at /me/notifications).
async fn notify(
    tx: &mut dyn Tx,
    parties: &[PartyRef],
    app: &Application,
    kind: &str,
    now: DateTime<Utc>,
) -> ApiResult<()> {
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
pub async fn book_transaction(
    state: &AppState,
    id: Uuid,
    input: NewTransaction,
    actor: &Actor,
) -> ApiResult<Transaction> {
    book_transaction_at(state, id, input, actor, state.clock.now()).await
}

pub(crate) async fn book_transaction_at(
    state: &AppState,
    id: Uuid,
    input: NewTransaction,
    actor: &Actor,
    now: DateTime<Utc>,
) -> ApiResult<Transaction> {
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
pub async fn check_upstreams(state: &AppState, app: &Application) -> ApiResult<()> {
    for u in &app.form.derived_from {
        let parent = state.store.application_by_registration_number(&u.registration_number.to_string()).await?;
        holding::check_upstream(app, u, parent.as_ref()).map_err(ApiError::from)?;
    }
    Ok(())
}
