//! Filings: drafts, edits, submissions and every lifecycle command, each one unit of work that reads,
//! applies the domain's rules, and writes the change with its audit event (and log entry) in one
//! transaction. The API, the web, the timer task and the demo seeder all go through here.

use std::collections::HashSet;
use std::time::Instant;

use chrono::{DateTime, Datelike, Utc};
use dipr_domain::access::{can_read_full, Actor, Role};
use dipr_domain::application::{Application, ApplicationForm, Completeness};
use dipr_domain::lifecycle::{self, Command, Context};
use dipr_domain::party::{NewParty, Party};
use dipr_domain::time::local_offset;
use dipr_domain::FieldError;
use dipr_store::{Tx, UserRecord};
use serde_json::json;
use uuid::Uuid;

use crate::audit::event;
use crate::error::Error;
use crate::error::Result;
use crate::state::Registry;
use crate::throttle::Client;

async fn known_industries(state: &Registry) -> Result<HashSet<String>> {
    Ok(state.store.industries().await?.into_iter().filter(|i| i.active).map(|i| i.code).collect())
}

/// Before an objection or a dispute is filed: its text is well-formed (`problems`, from
/// `check_objection_text`: a typo does not spend the budget), and the client (and, when anonymous, the
/// record) still has objections to spend.
pub fn admit_objection(
    state: &Registry,
    problems: Vec<FieldError>,
    client: Client,
    record: Uuid,
    anonymous: bool,
) -> Result<()> {
    if !problems.is_empty() {
        return Err(Error::validation(problems));
    }
    state
        .objections
        .admit(client, record, anonymous, Instant::now())
        .map_err(|wait| Error::throttled("objections_throttled", wait))
}

/// Start a draft. Agents name the applicant party they file for; everyone else files for their own.
pub async fn create_application(
    state: &Registry,
    user: &UserRecord,
    applicant: Option<NewParty>,
    form: ApplicationForm,
) -> Result<Application> {
    create_application_at(state, user, applicant, form, state.clock.now(), false).await
}

/// Start a filing and submit it in one transaction: a refused submission leaves no draft behind.
pub async fn create_and_submit(
    state: &Registry,
    user: &UserRecord,
    applicant: Option<NewParty>,
    form: ApplicationForm,
) -> Result<Application> {
    create_application_at(state, user, applicant, form, state.clock.now(), true).await
}

pub(crate) async fn create_application_at(
    state: &Registry,
    user: &UserRecord,
    applicant: Option<NewParty>,
    form: ApplicationForm,
    now: DateTime<Utc>,
    submit: bool,
) -> Result<Application> {
    let actor = crate::audit::actor_of(user);
    let industries = known_industries(state).await?;
    form.check(Completeness::Draft, &|c| industries.contains(c))?;
    let own_party = match user.party_id {
        Some(id) => Some(state.store.party(id).await?.ok_or_else(|| Error::internal("user's party is missing"))?),
        None => None,
    };
    let (applicant_party, agent, new_party) = match (user.role, applicant) {
        (Role::Agent, Some(np)) => {
            let parsed = np.parse(Uuid::now_v7())?;
            match state.store.party_by_id_number(parsed.identifier.as_str()).await? {
                Some(existing) if existing.name != parsed.name => {
                    return Err(Error::new(
                        "party_mismatch",
                        format!("{} is registered under the name {:?}", parsed.identifier.as_str(), existing.name),
                    ))
                }
                Some(existing) => (existing, own_party, None),
                None => (parsed.clone(), own_party, Some(parsed)),
            }
        }
        (Role::Agent, None) => {
            return Err(Error::validation(vec![FieldError::new(
                "applicant",
                "required",
                "an agent names the applicant it files for",
            )]))
        }
        (_, Some(_)) => return Err(Error::forbidden("only agents file for another party")),
        (_, None) => match own_party {
            Some(p) => (p, None, None),
            None => return Err(Error::forbidden("this account acts for no party and cannot file")),
        },
    };
    let app = Application::new_draft(Uuid::now_v7(), &applicant_party, user.id, agent.as_ref(), form, now);
    let mut tx = state.store.begin().await?;
    write_draft(tx.as_mut(), &actor, &app, new_party.as_ref(), now).await?;
    if submit {
        let app = execute_in(state, tx.as_mut(), app.id, Command::Submit, &actor, now, None).await?;
        tx.commit().await?;
        return Ok(app);
    }
    tx.commit().await?;
    Ok(app)
}

async fn write_draft(
    tx: &mut dyn Tx,
    actor: &Actor,
    app: &Application,
    new_party: Option<&Party>,
    now: DateTime<Utc>,
) -> Result<()> {
    if let Some(p) = new_party {
        tx.insert_party(p, now).await?;
        let mut e = event(actor, now, "party", p.id, "party_registered");
        e.payload = json!({"kind": p.kind, "name": p.name, "by_agent": true});
        tx.append_event(&e).await?;
    }
    tx.insert_application(app).await?;
    let mut e = event(actor, now, "application", app.id, "draft_created");
    e.to_state = Some(app.state.as_str().into());
    tx.append_event(&e).await?;
    Ok(())
}

pub async fn edit_application(
    state: &Registry,
    user: &UserRecord,
    id: Uuid,
    form: ApplicationForm,
) -> Result<Application> {
    let industries = known_industries(state).await?;
    let mut tx = state.store.begin().await?;
    let app = edit_in(tx.as_mut(), user, id, form, &industries, state.clock.now()).await?;
    tx.commit().await?;
    Ok(app)
}

/// Save the edited form and submit (a draft) or resubmit (after a correction request) in one transaction,
/// so a refused submission saves nothing.
pub async fn edit_and_send(
    state: &Registry,
    user: &UserRecord,
    id: Uuid,
    form: ApplicationForm,
    cmd: Command,
) -> Result<Application> {
    let industries = known_industries(state).await?;
    let now = state.clock.now();
    let mut tx = state.store.begin().await?;
    edit_in(tx.as_mut(), user, id, form, &industries, now).await?;
    let app = execute_in(state, tx.as_mut(), id, cmd, &crate::audit::actor_of(user), now, None).await?;
    tx.commit().await?;
    Ok(app)
}

async fn edit_in(
    tx: &mut dyn Tx,
    user: &UserRecord,
    id: Uuid,
    form: ApplicationForm,
    industries: &HashSet<String>,
    now: DateTime<Utc>,
) -> Result<Application> {
    let actor = crate::audit::actor_of(user);
    let mut app = tx
        .application_for_update(id)
        .await?
        .filter(|a| can_read_full(&actor, a))
        .ok_or_else(|| Error::not_found("application"))?;
    form.check(Completeness::Draft, &|c| industries.contains(c))?;
    lifecycle::edit(&mut app, form, &actor, now)?;
    tx.update_application(&app).await?;
    let mut e = event(&actor, now, "application", app.id, "edited");
    e.from_state = Some(app.state.as_str().into());
    e.to_state = e.from_state.clone();
    tx.append_event(&e).await?;
    Ok(app)
}

/// Run one lifecycle command at the current time.
pub async fn execute(state: &Registry, id: Uuid, cmd: Command, actor: &Actor) -> Result<Application> {
    execute_at(state, id, cmd, actor, state.clock.now()).await
}

/// Run a decision made on the filing as it stood at `version`: refused (`stale_version`) if it has moved on
/// since, so a decision is never applied to a state its maker did not see.
pub async fn execute_on(state: &Registry, id: Uuid, version: i64, cmd: Command, actor: &Actor) -> Result<Application> {
    let mut tx = state.store.begin().await?;
    let app = execute_in(state, tx.as_mut(), id, cmd, actor, state.clock.now(), Some(version)).await?;
    tx.commit().await?;
    Ok(app)
}

/// Run one lifecycle command as of `now` (the demo seeder replays a year of history this way).
pub async fn execute_at(
    state: &Registry,
    id: Uuid,
    cmd: Command,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<Application> {
    let mut tx = state.store.begin().await?;
    let app = execute_in(state, tx.as_mut(), id, cmd, actor, now, None).await?;
    tx.commit().await?;
    Ok(app)
}

/// The refusal for a decision made on an older version of a record.
fn check_version(current: i64, expected: Option<i64>) -> Result<()> {
    match expected {
        Some(v) if v != current => Err(Error::new(
            "stale_version",
            format!("the record is at version {current}; the decision was made on version {v}"),
        )),
        _ => Ok(()),
    }
}

/// One lifecycle command inside the caller's transaction: rule, numbers, event and log entry.
async fn execute_in(
    state: &Registry,
    tx: &mut dyn Tx,
    id: Uuid,
    cmd: Command,
    actor: &Actor,
    now: DateTime<Utc>,
    expected_version: Option<i64>,
) -> Result<Application> {
    let calendar = state.calendar();
    let rules = &state.config.rules;
    let ctx = Context { now, calendar: &calendar, rules };
    let checks_form = matches!(cmd, Command::Submit | Command::Resubmit { .. });
    let industries = if checks_form { known_industries(state).await? } else { HashSet::new() };

    let mut app = tx.application_for_update(id).await?.ok_or_else(|| Error::not_found("application"))?;
    let visible = can_read_full(actor, &app)
        || actor.role == Role::System
        || (app.is_public() && matches!(cmd, Command::FileObjection { .. }));
    if !visible {
        return Err(Error::not_found("application"));
    }
    check_version(app.version, expected_version)?;
    if checks_form && actor.owns(&app) {
        app.form.check(Completeness::Submission, &|c| industries.contains(c))?;
        crate::holdings::check_upstreams(state, &app).await?;
    }
    if matches!(cmd, Command::Submit) && actor.owns(&app) {
        let last = state.store.last_withdrawal(app.applicant.id, &app.form.product_key()).await?;
        lifecycle::check_refiling_bar(last, now, rules)?;
    }
    let payload = match &cmd {
        Command::RequestCorrection { items, .. } => json!({"items": items}),
        Command::FileObjection { id, .. } => json!({"objection_id": id}),
        Command::RespondToObjection { objection_id, .. } | Command::DecideObjection { objection_id, .. } => {
            json!({"objection_id": objection_id})
        }
        _ => json!({}),
    };
    let t = lifecycle::apply(&mut app, cmd, actor, &ctx)?;
    let mut payload = payload;
    if t.needs_registration {
        let local = now.with_timezone(&local_offset());
        let filed_year = app.submitted_at.unwrap_or(app.created_at).with_timezone(&local_offset()).year();
        let reg_seq = tx.next_sequence(&format!("registration:{filed_year}")).await?;
        let cert_seq = tx.next_sequence(&format!("certificate:{}{:02}", local.year(), local.month())).await?;
        lifecycle::register(&mut app, reg_seq as u64, cert_seq as u64, now, rules)?;
        let reg = app.registration.as_ref().expect("just registered");
        payload = json!({
            "registration_number": reg.registration_number,
            "certificate_number": reg.certificate_number,
            "valid_until": reg.valid_until,
        });
    }
    if let Some(due) = app.next_deadline() {
        payload["deadline"] = json!(due);
    }
    tx.update_application(&app).await?;
    let mut e = event(actor, now, "application", app.id, t.kind);
    e.from_state = Some(t.from.as_str().into());
    e.to_state = Some(t.to.as_str().into());
    e.reasons = t.reasons;
    e.payload = payload;
    let event_id = tx.append_event(&e).await?;
    crate::ledger::record(state, tx, &app, event_id, &e).await?;
    Ok(app)
}
