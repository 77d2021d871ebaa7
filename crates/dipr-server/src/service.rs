//! Registry services: each public function is one unit of work that reads, applies the domain's rules,
//! and writes the change with its audit event in one transaction. Handlers, the timer task, the demo
//! seeder and the CLI all go through here.

use std::collections::HashSet;
use std::time::Instant;

use chrono::{DateTime, Datelike, Duration, Utc};
use dipr_domain::application::{Application, ApplicationForm, Completeness};
use dipr_domain::lifecycle::{self, Actor, Command, Context, Role};
use dipr_domain::party::{NewParty, Party, PartyKind};
use dipr_domain::time::{default_calendar_days, local_offset, CalendarDay};
use dipr_domain::FieldError;
use dipr_store::{Industry, NewEvent, TokenKind, TokenRecord, Tx, UserRecord};
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use crate::auth::{self, check_password_strength};
use crate::error::{ApiError, ApiResult};
use crate::throttle::Client;
use crate::AppState;

pub fn event(actor: &Actor, at: DateTime<Utc>, subject_type: &str, subject_id: impl ToString, kind: &str) -> NewEvent {
    NewEvent {
        at,
        actor_id: actor.user_id,
        actor_name: actor.name.clone(),
        actor_role: actor.role,
        subject_type: subject_type.into(),
        subject_id: subject_id.to_string(),
        kind: kind.into(),
        from_state: None,
        to_state: None,
        reasons: String::new(),
        payload: json!({}),
    }
}

/// The industry code list a new registry starts with (administrators extend it).
pub const DEFAULT_INDUSTRIES: &[(&str, &str, &str)] = &[
    ("model_corpus", "模型语料", "Model corpora"),
    ("computing", "算力调度", "Computing-power scheduling"),
    ("ai", "人工智能", "Artificial intelligence"),
    ("biopharma", "生物医药", "Biopharmaceuticals"),
    ("finance", "金融服务", "Financial services"),
    ("healthcare", "医疗健康", "Healthcare"),
    ("transport", "交通运输", "Transportation"),
    ("ecommerce", "电子商务", "E-commerce"),
    ("manufacturing", "智能制造", "Manufacturing"),
    ("education_culture", "教育文化", "Education and culture"),
    ("geospatial", "时空地理", "Geospatial"),
    ("energy", "能源环保", "Energy and environment"),
    ("agriculture", "农业农村", "Agriculture"),
    ("other", "其他", "Other"),
];

/// Seed the industry list into a database that has never had it, and each year of the default holiday
/// calendar once (so a registry seeded before a year was added gets it too), keeping any day an
/// administrator already entered.
pub async fn seed_defaults(state: &AppState) -> ApiResult<()> {
    let first = state.store.setting("defaults_seeded").await?.is_none();
    let mut years: Vec<i32> = default_calendar_days().iter().map(|d| d.date.year()).collect();
    years.dedup();
    let mut unseeded = Vec::new();
    for y in years {
        if state.store.setting(&format!("calendar_seeded_{y}")).await?.is_none() {
            unseeded.push(y);
        }
    }
    if !first && unseeded.is_empty() {
        return Ok(());
    }
    let entered: HashSet<_> = state.store.calendar().await?.into_iter().map(|d| d.date).collect();
    let actor = Actor::system();
    let now = state.clock.now();
    let mut tx = state.store.begin().await?;
    for day in default_calendar_days() {
        if unseeded.contains(&day.date.year()) && !entered.contains(&day.date) {
            tx.upsert_calendar_day(&day).await?;
        }
    }
    for y in &unseeded {
        tx.set_setting(&format!("calendar_seeded_{y}"), &now.to_rfc3339()).await?;
    }
    if first {
        for (i, (code, zh, en)) in DEFAULT_INDUSTRIES.iter().enumerate() {
            let ind = Industry {
                code: (*code).into(),
                name_zh: (*zh).into(),
                name_en: (*en).into(),
                active: true,
                position: i as i64,
            };
            tx.upsert_industry(&ind).await?;
        }
        tx.set_setting("defaults_seeded", &now.to_rfc3339()).await?;
        tx.append_event(&event(&actor, now, "setting", "defaults", "defaults_seeded")).await?;
    } else {
        tx.append_event(&event(&actor, now, "setting", "calendar", "calendar_seeded")).await?;
    }
    tx.commit().await?;
    Ok(())
}

async fn known_industries(state: &AppState) -> ApiResult<HashSet<String>> {
    Ok(state.store.industries().await?.into_iter().filter(|i| i.active).map(|i| i.code).collect())
}

fn check_username(name: &str) -> ApiResult<()> {
    let ok = (3..=64).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-@".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(ApiError::validation(vec![FieldError::new(
            "username",
            "invalid_username",
            "3 to 64 characters: letters, digits, . _ - @",
        )]))
    }
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAccount {
    pub username: String,
    pub password: String,
    pub display_name: String,
    /// `applicant` or `agent` at sign-up; administrators may also create `examiner`, `bank`, `admin`.
    pub role: Role,
    /// The party the account acts for. Required for applicants and agents.
    pub party: Option<NewParty>,
}

/// Create an account (and its party, if new). `by` is the administrator, or the system for sign-up and
/// bootstrap; sign-up may only create applicants and agents.
pub async fn create_account(
    state: &AppState,
    req: NewAccount,
    by: &Actor,
    self_service: bool,
) -> ApiResult<(UserRecord, Option<Party>)> {
    check_username(&req.username)?;
    check_password_strength(&req.password)?;
    let hash = auth::hash_password(req.password.clone()).await?;
    create_account_hashed(state, req, hash, by, self_service, state.clock.now()).await
}

/// Self-service sign-up (API and web): an applicant or agent account, within the client's sign-up budget
/// (refused attempts do not spend it).
pub async fn sign_up(state: &AppState, req: NewAccount, client: Client) -> ApiResult<(UserRecord, Option<Party>)> {
    if let Err(wait) = state.sign_ups.check(client, Instant::now()) {
        tracing::warn!(client = %client.0, "sign-up throttled");
        return Err(ApiError::throttled("sign_ups_throttled", wait));
    }
    let created = create_account(state, req, &Actor::public("sign-up"), true).await?;
    state.sign_ups.spend(client, Instant::now());
    Ok(created)
}

/// [`create_account`] with the password already hashed (the demo seeder hashes its one password once).
pub(crate) async fn create_account_hashed(
    state: &AppState,
    req: NewAccount,
    password_hash: String,
    by: &Actor,
    self_service: bool,
    now: DateTime<Utc>,
) -> ApiResult<(UserRecord, Option<Party>)> {
    check_username(&req.username)?;
    let display_name = req.display_name.trim().to_string();
    if display_name.is_empty() || display_name.chars().count() > 100 {
        return Err(ApiError::validation(vec![FieldError::new("display_name", "required", "1 to 100 characters")]));
    }
    if self_service && !matches!(req.role, Role::Applicant | Role::Agent) {
        return Err(ApiError::forbidden("sign-up creates applicant and agent accounts only"));
    }
    if matches!(req.role, Role::System | Role::Public) {
        return Err(ApiError::validation(vec![FieldError::new("role", "invalid_role", "not an account role")]));
    }
    let party = match req.party {
        Some(mut np) => {
            if req.role == Role::Agent {
                if np.kind == PartyKind::NaturalPerson {
                    return Err(ApiError::validation(vec![FieldError::new(
                        "party.kind",
                        "agent_must_be_organisation",
                        "a filing agency is an organisation with a credit code",
                    )]));
                }
                np.attributes.filing_agency = true;
            }
            Some(np.parse(Uuid::now_v7())?)
        }
        None if matches!(req.role, Role::Applicant | Role::Agent) => {
            return Err(ApiError::validation(vec![FieldError::new(
                "party",
                "required",
                "applicants and agents act for a party",
            )]))
        }
        None => None,
    };
    if let Some(p) = &party {
        if state.store.party_by_id_number(p.identifier.as_str()).await?.is_some() {
            return Err(ApiError::new("party_exists", "a party with this identifier already has an account"));
        }
    }
    let user = UserRecord {
        id: Uuid::now_v7(),
        username: req.username.trim().to_string(),
        display_name,
        password_hash,
        role: req.role,
        party_id: party.as_ref().map(|p| p.id),
        disabled: false,
        created_at: now,
    };
    let mut tx = state.store.begin().await?;
    if let Some(p) = &party {
        tx.insert_party(p, now).await?;
        let mut e = event(by, now, "party", p.id, "party_registered");
        e.payload = json!({"kind": p.kind, "name": p.name});
        tx.append_event(&e).await?;
    }
    tx.insert_user(&user).await?;
    let mut e = event(by, now, "user", user.id, if self_service { "signed_up" } else { "account_created" });
    e.payload = json!({"username": user.username, "role": user.role});
    tx.append_event(&e).await?;
    tx.commit().await?;
    Ok((user, party))
}

/// Before an objection or a dispute is filed: its text is well-formed (`problems`, from
/// `check_objection_text`: a typo does not spend the budget), and the client (and, when anonymous, the
/// record) still has objections to spend.
pub fn admit_objection(
    state: &AppState,
    problems: Vec<FieldError>,
    client: Client,
    record: Uuid,
    anonymous: bool,
) -> ApiResult<()> {
    if !problems.is_empty() {
        return Err(ApiError::validation(problems));
    }
    state
        .objections
        .admit(client, record, anonymous, Instant::now())
        .map_err(|wait| ApiError::throttled("objections_throttled", wait))
}

/// Check a password and open a session, for the API and the web sign-in alike: throttled per client and per
/// account and client before any password is hashed; failures logged (never the password) and counted. An
/// account keeps at most `sessions_per_account` live sessions: the oldest end when a new one opens.
pub async fn sign_in(
    state: &AppState,
    username: &str,
    password: String,
    client: Client,
) -> ApiResult<(String, TokenRecord, UserRecord)> {
    let shown = crate::throttle::account_key(username);
    if let Err(wait) = state.sign_ins.admit(username, client, Instant::now()) {
        tracing::warn!(username = shown, client = %client.0, wait_secs = wait.as_secs(), "sign-in throttled");
        return Err(ApiError::throttled("sign_in_throttled", wait));
    }
    let user = state.store.user_by_username(username.trim()).await?;
    let ok = auth::verify_password(password, user.as_ref().map(|u| u.password_hash.clone())).await?;
    let user = match user {
        Some(u) if ok && !u.disabled => u,
        user => {
            let now = state.clock.now();
            tracing::warn!(username = shown, client = %client.0, known = user.is_some(), "sign-in failed");
            state.sign_ins.failed(
                username,
                client,
                user.as_ref().map(|u| (u.id, u.username.as_str())),
                Instant::now(),
                now,
            );
            return Err(ApiError::new("invalid_credentials", "wrong username or password"));
        }
    };
    state.sign_ins.succeeded(username, client);
    let now = state.clock.now();
    let (secret, record) =
        issue_token(&user, TokenKind::Session, "session", Some(now + Duration::hours(state.config.session_hours)), now);
    let mut live: Vec<TokenRecord> = state
        .store
        .tokens_of(user.id)
        .await?
        .into_iter()
        .filter(|t| t.kind == TokenKind::Session && t.is_live(now))
        .collect();
    live.sort_by_key(|t| std::cmp::Reverse(t.created_at));
    let mut tx = state.store.begin().await?;
    tx.insert_token(&record).await?;
    for old in live.iter().skip(state.config.limits.sessions_per_account.max(1) - 1) {
        tx.revoke_token(old.id, user.id, now).await?;
    }
    tx.append_event(&event(&auth::actor_of(&user), now, "user", user.id, "signed_in")).await?;
    tx.commit().await?;
    Ok((secret, record, user))
}

fn issue_token(
    user: &UserRecord,
    kind: TokenKind,
    name: &str,
    expires_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> (String, TokenRecord) {
    let (secret, token_hash) = auth::new_token();
    let record = TokenRecord {
        id: Uuid::now_v7(),
        user_id: user.id,
        token_hash,
        kind,
        name: name.into(),
        created_at: now,
        expires_at,
        revoked_at: None,
    };
    (secret, record)
}

/// A long-lived token for scripts. The secret is shown once.
pub async fn create_api_token(
    state: &AppState,
    user: &UserRecord,
    name: &str,
    expires_in_days: Option<u32>,
) -> ApiResult<(String, TokenRecord)> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(ApiError::validation(vec![FieldError::new(
            "name",
            "required",
            "name the token (1 to 100 characters)",
        )]));
    }
    if expires_in_days == Some(0) || expires_in_days.is_some_and(|d| d > 3650) {
        return Err(ApiError::validation(vec![FieldError::new("expires_in_days", "out_of_range", "1 to 3650 days")]));
    }
    let now = state.clock.now();
    let live = state.store.tokens_of(user.id).await?.into_iter().filter(|t| t.kind == TokenKind::Api && t.is_live(now));
    let cap = state.config.limits.api_tokens_per_account;
    if live.count() >= cap {
        return Err(ApiError::validation(vec![FieldError::new(
            "name",
            "too_many",
            format!("at most {cap} live API tokens per account: revoke one first"),
        )]));
    }
    let expires = expires_in_days.map(|d| now + Duration::days(i64::from(d)));
    let (secret, record) = issue_token(user, TokenKind::Api, name, expires, now);
    let mut tx = state.store.begin().await?;
    tx.insert_token(&record).await?;
    let mut e = event(&auth::actor_of(user), now, "token", record.id, "token_created");
    e.payload = json!({"name": name, "expires_at": expires});
    tx.append_event(&e).await?;
    tx.commit().await?;
    Ok((secret, record))
}

pub async fn revoke_token(state: &AppState, user: &UserRecord, token_id: Uuid) -> ApiResult<()> {
    let now = state.clock.now();
    let mut tx = state.store.begin().await?;
    if !tx.revoke_token(token_id, user.id, now).await? {
        return Err(ApiError::not_found("live token"));
    }
    tx.append_event(&event(&auth::actor_of(user), now, "token", token_id, "token_revoked")).await?;
    tx.commit().await?;
    Ok(())
}

pub async fn set_user_disabled(
    state: &AppState,
    admin: &Actor,
    user_id: Uuid,
    disabled: bool,
) -> ApiResult<UserRecord> {
    if admin.user_id == Some(user_id) && disabled {
        return Err(ApiError::forbidden("administrators cannot disable their own account"));
    }
    let now = state.clock.now();
    let mut tx = state.store.begin().await?;
    if !tx.set_user_disabled(user_id, disabled).await? {
        return Err(ApiError::not_found("user"));
    }
    if disabled {
        tx.revoke_all_tokens(user_id, now).await?;
    }
    tx.append_event(&event(admin, now, "user", user_id, if disabled { "account_disabled" } else { "account_enabled" }))
        .await?;
    tx.commit().await?;
    state.store.user(user_id).await?.ok_or_else(|| ApiError::not_found("user"))
}

/// May this caller read the full filing (contacts, samples, secrecy measures)?
/// Staff see a filing once it is submitted: a draft is its applicant's (and agent's) alone.
pub fn can_read_full(actor: &Actor, app: &Application) -> bool {
    actor.owns(app) || (matches!(actor.role, Role::Examiner | Role::Admin) && !app.is_draft())
}

/// Start a draft. Agents name the applicant party they file for; everyone else files for their own.
pub async fn create_application(
    state: &AppState,
    user: &UserRecord,
    applicant: Option<NewParty>,
    form: ApplicationForm,
) -> ApiResult<Application> {
    create_application_at(state, user, applicant, form, state.clock.now(), false).await
}

/// Start a filing and submit it in one transaction: a refused submission leaves no draft behind.
pub async fn create_and_submit(
    state: &AppState,
    user: &UserRecord,
    applicant: Option<NewParty>,
    form: ApplicationForm,
) -> ApiResult<Application> {
    create_application_at(state, user, applicant, form, state.clock.now(), true).await
}

pub(crate) async fn create_application_at(
    state: &AppState,
    user: &UserRecord,
    applicant: Option<NewParty>,
    form: ApplicationForm,
    now: DateTime<Utc>,
    submit: bool,
) -> ApiResult<Application> {
    let actor = auth::actor_of(user);
    let industries = known_industries(state).await?;
    form.check(Completeness::Draft, &|c| industries.contains(c))?;
    let own_party = match user.party_id {
        Some(id) => Some(state.store.party(id).await?.ok_or_else(|| ApiError::internal("user's party is missing"))?),
        None => None,
    };
    let (applicant_party, agent, new_party) = match (user.role, applicant) {
        (Role::Agent, Some(np)) => {
            let parsed = np.parse(Uuid::now_v7())?;
            match state.store.party_by_id_number(parsed.identifier.as_str()).await? {
                Some(existing) if existing.name != parsed.name => {
                    return Err(ApiError::new(
                        "party_mismatch",
                        format!("{} is registered under the name {:?}", parsed.identifier.as_str(), existing.name),
                    ))
                }
                Some(existing) => (existing, own_party, None),
                None => (parsed.clone(), own_party, Some(parsed)),
            }
        }
        (Role::Agent, None) => {
            return Err(ApiError::validation(vec![FieldError::new(
                "applicant",
                "required",
                "an agent names the applicant it files for",
            )]))
        }
        (_, Some(_)) => return Err(ApiError::forbidden("only agents file for another party")),
        (_, None) => match own_party {
            Some(p) => (p, None, None),
            None => return Err(ApiError::forbidden("this account acts for no party and cannot file")),
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
) -> ApiResult<()> {
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
    state: &AppState,
    user: &UserRecord,
    id: Uuid,
    form: ApplicationForm,
) -> ApiResult<Application> {
    let industries = known_industries(state).await?;
    let mut tx = state.store.begin().await?;
    let app = edit_in(tx.as_mut(), user, id, form, &industries, state.clock.now()).await?;
    tx.commit().await?;
    Ok(app)
}

/// Save the edited form and submit (a draft) or resubmit (after a correction request) in one transaction,
/// so a refused submission saves nothing.
pub async fn edit_and_send(
    state: &AppState,
    user: &UserRecord,
    id: Uuid,
    form: ApplicationForm,
    cmd: Command,
) -> ApiResult<Application> {
    let industries = known_industries(state).await?;
    let now = state.clock.now();
    let mut tx = state.store.begin().await?;
    edit_in(tx.as_mut(), user, id, form, &industries, now).await?;
    let app = execute_in(state, tx.as_mut(), id, cmd, &auth::actor_of(user), now, None).await?;
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
) -> ApiResult<Application> {
    let actor = auth::actor_of(user);
    let mut app = tx
        .application_for_update(id)
        .await?
        .filter(|a| can_read_full(&actor, a))
        .ok_or_else(|| ApiError::not_found("application"))?;
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
pub async fn execute(state: &AppState, id: Uuid, cmd: Command, actor: &Actor) -> ApiResult<Application> {
    execute_at(state, id, cmd, actor, state.clock.now()).await
}

/// Run a decision made on the filing as it stood at `version`: refused (`stale_version`) if it has moved on
/// since, so a decision is never applied to a state its maker did not see.
pub async fn execute_on(
    state: &AppState,
    id: Uuid,
    version: i64,
    cmd: Command,
    actor: &Actor,
) -> ApiResult<Application> {
    let mut tx = state.store.begin().await?;
    let app = execute_in(state, tx.as_mut(), id, cmd, actor, state.clock.now(), Some(version)).await?;
    tx.commit().await?;
    Ok(app)
}

/// Run one lifecycle command as of `now` (the demo seeder replays a year of history this way).
pub async fn execute_at(
    state: &AppState,
    id: Uuid,
    cmd: Command,
    actor: &Actor,
    now: DateTime<Utc>,
) -> ApiResult<Application> {
    let mut tx = state.store.begin().await?;
    let app = execute_in(state, tx.as_mut(), id, cmd, actor, now, None).await?;
    tx.commit().await?;
    Ok(app)
}

/// The refusal for a decision made on an older version of a record.
fn check_version(current: i64, expected: Option<i64>) -> ApiResult<()> {
    match expected {
        Some(v) if v != current => Err(ApiError::new(
            "stale_version",
            format!("the record is at version {current}; the decision was made on version {v}"),
        )),
        _ => Ok(()),
    }
}

/// One lifecycle command inside the caller's transaction: rule, numbers, event and log entry.
async fn execute_in(
    state: &AppState,
    tx: &mut dyn Tx,
    id: Uuid,
    cmd: Command,
    actor: &Actor,
    now: DateTime<Utc>,
    expected_version: Option<i64>,
) -> ApiResult<Application> {
    let calendar = state.calendar();
    let rules = &state.config.rules;
    let ctx = Context { now, calendar: &calendar, rules };
    let checks_form = matches!(cmd, Command::Submit | Command::Resubmit { .. });
    let industries = if checks_form { known_industries(state).await? } else { HashSet::new() };

    let mut app = tx.application_for_update(id).await?.ok_or_else(|| ApiError::not_found("application"))?;
    let visible = can_read_full(actor, &app)
        || actor.role == Role::System
        || (app.is_public() && matches!(cmd, Command::FileObjection { .. }));
    if !visible {
        return Err(ApiError::not_found("application"));
    }
    check_version(app.version, expected_version)?;
    if checks_form && actor.owns(&app) {
        app.form.check(Completeness::Submission, &|c| industries.contains(c))?;
        crate::operations::check_upstreams(state, &app).await?;
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

pub async fn upsert_industry(state: &AppState, admin: &Actor, ind: Industry) -> ApiResult<Industry> {
    let mut errors = Vec::new();
    let code_ok = (1..=40).contains(&ind.code.len())
        && ind.code.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if !code_ok {
        errors.push(FieldError::new("code", "invalid_code", "1 to 40 characters: a-z, 0-9, _"));
    }
    if ind.name_zh.trim().is_empty() {
        errors.push(FieldError::new("name_zh", "required", "name_zh is required"));
    }
    if ind.name_en.trim().is_empty() {
        errors.push(FieldError::new("name_en", "required", "name_en is required"));
    }
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let now = state.clock.now();
    let mut tx = state.store.begin().await?;
    tx.upsert_industry(&ind).await?;
    let mut e = event(admin, now, "industry", &ind.code, "industry_saved");
    e.payload = serde_json::to_value(&ind).map_err(ApiError::internal)?;
    tx.append_event(&e).await?;
    tx.commit().await?;
    Ok(ind)
}

pub async fn upsert_calendar_day(state: &AppState, admin: &Actor, day: CalendarDay) -> ApiResult<CalendarDay> {
    let now = state.clock.now();
    let mut tx = state.store.begin().await?;
    tx.upsert_calendar_day(&day).await?;
    let mut e = event(admin, now, "calendar", day.date, "calendar_day_saved");
    e.payload = serde_json::to_value(&day).map_err(ApiError::internal)?;
    tx.append_event(&e).await?;
    tx.commit().await?;
    state.reload_calendar().await?;
    Ok(day)
}
