//! Administration pages (`/admin`): users and roles (create staff accounts, disable, enable), the
//! industry code list, the working-day calendar, and the witnesses that cosign the log. Administrators
//! only; every form carries the session's CSRF token; every change goes through the same services as
//! the API, so it is checked and logged the same way. A refused form comes back with its errors next to
//! its fields and what was typed kept.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use chrono::NaiveDate;
use dipr_domain::access::Role;
use dipr_domain::party::{NewParty, PartyKind};
use dipr_domain::time::{local_date, CalendarDay, DayKind};
use dipr_store::{Industry, Page, UserRecord};
use serde::Deserialize;
use uuid::Uuid;

use crate::web::form::Errors;
use crate::web::i18n::Lang;
use crate::web::layout::{error_page, filters, message_page, LangQuery};
use crate::web::session::{csrf_of, posted, signed_in, Senders, SignedIn};
use dipr_registry::audit::actor_of;
use dipr_registry::witnesses::WitnessEndpoint;
use dipr_registry::witnesses::WitnessSet;
use dipr_registry::Error;
use dipr_registry::Registry;

pub fn routes() -> Router<Arc<Registry>> {
    Router::new()
        .route("/admin", get(page))
        .route("/admin/users", post(user_action))
        .route("/admin/users/new", post(create_user))
        .route("/admin/industries", post(save_industry))
        .route("/admin/calendar", post(save_day))
        .route("/admin/witnesses", post(witness_action))
}

/// Administrators only: everyone else is refused the page and its forms.
struct Admins;

impl Senders for Admins {
    fn refusal(user: &UserRecord, l: Lang) -> Option<Response> {
        (user.role != Role::Admin).then(|| message_page(l, StatusCode::FORBIDDEN, &l.t("admin-only-admins")))
    }
}

posted!(UserAction, UserForm, IndustryForm, DayForm, WitnessForm);

/// What the page shows besides the data: a result line, and the refused form's typed values and errors.
#[derive(Default)]
struct Shown {
    message: Option<(bool, String)>,
    user: UserForm,
    industry: IndustryForm,
    day: DayForm,
    witness: WitnessForm,
    errors: Errors,
}

impl Shown {
    fn done(message: String) -> Self {
        Self { message: Some((true, message)), ..Default::default() }
    }

    /// A refusal: field errors go next to their fields (`map` turns the service's field names into the
    /// form's ids); anything else is the result line.
    fn refused(e: &Error, l: Lang, map: &dyn Fn(&str) -> String, fallback_field: Option<&str>) -> Self {
        match fallback_field {
            Some(top) => Self { errors: Errors::of(e, l, map, top), ..Default::default() },
            None => Self { message: Some((false, crate::web::messages::refusal(e, l))), ..Default::default() },
        }
    }
}

async fn page(State(st): State<Arc<Registry>>, Query(q): Query<LangQuery>, headers: HeaderMap) -> Response {
    let l = Lang::of(q.lang(), &headers);
    let (user, secret) = match signed_in(&st, &headers, l).await {
        Ok(found) => found,
        Err(r) => return r,
    };
    if let Some(refused) = Admins::refusal(&user, l) {
        return refused;
    }
    render(&st, l, &csrf_of(&secret), Shown::default()).await
}

fn role_label(r: Role, l: Lang) -> String {
    match r {
        Role::Applicant => l.t("admin-role-applicant"),
        Role::Agent => l.t("admin-role-agent"),
        Role::Examiner => l.t("admin-role-examiner"),
        Role::Admin => l.t("admin-role-admin"),
        Role::Bank => l.t("admin-role-bank"),
        Role::System | Role::Public => String::new(),
    }
}

fn day_kind_label(k: DayKind, l: Lang) -> String {
    match k {
        DayKind::Holiday => l.t("admin-holiday"),
        DayKind::Workday => l.t("admin-workday"),
    }
}

struct UserRow {
    id: Uuid,
    username: String,
    display_name: String,
    role: String,
    disabled: bool,
    /// The id of the tick box that disabling this account needs.
    confirm_id: String,
}

struct FailureRow {
    username: String,
    failed: u64,
    last: String,
}

/// Failed sign-ins since the server started (kept in memory by the throttle), most failures first.
struct Failures {
    failed: u64,
    throttled: u64,
    accounts: Vec<FailureRow>,
}

struct DayRow {
    date: String,
    kind: String,
    note: String,
}

struct WitnessRow {
    /// Its position in the set, which the remove form names.
    index: usize,
    name: String,
    url: String,
}

#[derive(Template)]
#[template(path = "admin/admin.html")]
struct AdminPage {
    l: Lang,
    csrf: String,
    /// The first year the holiday calendar does not cover, once it is near.
    calendar_gap: Option<String>,
    message: Option<(bool, String)>,
    users: Vec<UserRow>,
    failures: Failures,
    last_failure: String,
    roles: Vec<(String, String)>,
    user: UserForm,
    industries: Vec<Industry>,
    industry: IndustryForm,
    day: DayForm,
    kinds: Vec<(String, String)>,
    /// The latest days entered, newest first.
    days: Vec<DayRow>,
    witnesses: Vec<WitnessRow>,
    witness: WitnessForm,
    quorum: String,
    errs: Errors,
}

async fn render(st: &Registry, l: Lang, csrf: &str, shown: Shown) -> Response {
    let users = match st.store.users(Page::new(1, 200)).await {
        Ok(p) => p.items,
        Err(e) => return error_page(l, StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    };
    let industries = match st.store.industries().await {
        Ok(i) => i,
        Err(e) => return error_page(l, StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    };
    let calendar = match st.store.calendar().await {
        Ok(c) => c,
        Err(e) => return error_page(l, StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    };
    let report = st.sign_ins.report();
    let set = st.witnesses();
    let Shown { message, user, industry, day, witness, errors } = shown;
    let quorum = if witness.quorum.is_empty() { set.quorum.to_string() } else { witness.quorum.clone() };
    let view = AdminPage {
        l,
        csrf: csrf.to_string(),
        calendar_gap: st.calendar().coverage_warning(local_date(st.clock.now())).map(|y| y.to_string()),
        message,
        users: users
            .iter()
            .map(|u| UserRow {
                id: u.id,
                username: u.username.clone(),
                display_name: u.display_name.clone(),
                role: role_label(u.role, l),
                disabled: u.disabled,
                confirm_id: format!("confirm-user-{}", u.id),
            })
            .collect(),
        failures: Failures {
            failed: report.failed,
            throttled: report.throttled,
            accounts: report
                .accounts
                .iter()
                .map(|a| FailureRow {
                    username: a.username.clone(),
                    failed: a.failed,
                    last: dipr_domain::shown::minute_zoned(a.last_failed_at, l.en),
                })
                .collect(),
        },
        last_failure: dipr_domain::shown::zoned(&l.t("admin-last-failure"), l.en),
        roles: [("examiner", Role::Examiner), ("bank", Role::Bank), ("admin", Role::Admin)]
            .into_iter()
            .map(|(v, r)| (v.to_string(), role_label(r, l)))
            .collect(),
        user,
        industries,
        industry,
        day,
        kinds: [("holiday", DayKind::Holiday), ("workday", DayKind::Workday)]
            .into_iter()
            .map(|(v, k)| (v.to_string(), day_kind_label(k, l)))
            .collect(),
        days: calendar
            .iter()
            .rev()
            .take(60)
            .map(|d| DayRow { date: d.date.to_string(), kind: day_kind_label(d.kind, l), note: d.note.clone() })
            .collect(),
        witnesses: set
            .witnesses
            .iter()
            .enumerate()
            .map(|(index, w)| WitnessRow {
                index,
                name: w.key.split('+').next().unwrap_or_default().to_string(),
                url: w.url.clone(),
            })
            .collect(),
        witness,
        quorum,
        errs: errors,
    };
    crate::web::layout::page(l, &l.t("admin-title"), "/me", &view, &[])
}

#[derive(Deserialize)]
pub struct UserAction {
    #[serde(default)]
    csrf: String,
    user: Uuid,
    action: String,
    #[serde(default)]
    confirm: Option<String>,
    /// The new password of a `reset-password` action.
    #[serde(default)]
    password: String,
}

async fn user_action(
    State(st): State<Arc<Registry>>,
    SignedIn { l, user: me, secret, form: f, .. }: SignedIn<UserAction, Admins>,
) -> Response {
    let csrf = csrf_of(&secret);
    let disable = f.action == "disable";
    let shown = if f.action == "reset-password" {
        match dipr_registry::passwords::reset_by_administrator(&st, &actor_of(&me), f.user, f.password).await {
            Ok(u) => Shown::done(l.t1("admin-password-reset", "username", u.username)),
            Err(e) => Shown::refused(&e, l, &|_| String::new(), None),
        }
    } else if disable && f.confirm.is_none() {
        Shown {
            message: Some((false, crate::web::layout::field_message("confirmation_required", l))),
            ..Default::default()
        }
    } else {
        match dipr_registry::accounts::set_user_disabled(&st, &actor_of(&me), f.user, disable).await {
            Ok(u) => Shown::done(l.t1(
                if u.disabled { "admin-user-disabled" } else { "admin-user-enabled" },
                "username",
                u.username,
            )),
            Err(e) => Shown::refused(&e, l, &|_| String::new(), None),
        }
    };
    render(&st, l, &csrf, shown).await
}

#[derive(Deserialize, Default)]
pub struct UserForm {
    #[serde(default)]
    csrf: String,
    #[serde(default, rename = "new-username")]
    username: String,
    #[serde(default, rename = "new-display_name")]
    display_name: String,
    #[serde(default, rename = "new-role")]
    role: String,
    #[serde(default, rename = "new-password")]
    password: String,
    #[serde(default, rename = "new-party_name")]
    party_name: String,
    #[serde(default, rename = "new-party_id")]
    party_id: String,
}

async fn create_user(
    State(st): State<Arc<Registry>>,
    SignedIn { l, user: me, secret, form: f, .. }: SignedIn<UserForm, Admins>,
) -> Response {
    let csrf = csrf_of(&secret);
    let role = match f.role.as_str() {
        "examiner" => Role::Examiner,
        "admin" => Role::Admin,
        _ => Role::Bank,
    };
    let party = (role == Role::Bank).then(|| NewParty {
        kind: PartyKind::LegalPerson,
        name: f.party_name.trim().to_string(),
        id_number: f.party_id.trim().to_uppercase(),
        address: String::new(),
        attributes: Default::default(),
    });
    let result = if role == Role::Bank && (f.party_name.trim().is_empty() || f.party_id.trim().is_empty()) {
        let mut missing = Vec::new();
        for (field, value) in [("party.name", &f.party_name), ("party.id_number", &f.party_id)] {
            if value.trim().is_empty() {
                missing.push(dipr_domain::FieldError::new(field, "required", "a bank account names its bank"));
            }
        }
        Err(Error::validation(missing))
    } else {
        let req = dipr_registry::accounts::NewAccount {
            username: f.username.trim().to_string(),
            password: f.password.clone(),
            display_name: f.display_name.clone(),
            role,
            party,
            email: None,
        };
        dipr_registry::accounts::create_account(&st, req, &actor_of(&me), false).await.map(|(u, _)| u)
    };
    match result {
        Ok(u) => render(&st, l, &csrf, Shown::done(l.t1("admin-user-created", "username", u.username))).await,
        Err(e) => {
            let map = |field: &str| -> String {
                match field {
                    "username" | "display_name" | "role" | "password" => format!("new-{field}"),
                    "party.name" | "name" => "new-party_name".into(),
                    _ => "new-party_id".into(),
                }
            };
            let fallback = match e.code {
                "weak_password" => "new-password",
                "username_taken" | "invalid_username" => "new-username",
                "party_exists" | "party_mismatch" | "invalid_credit_code" | "invalid_resident_id" => "new-party_id",
                _ => "user-form",
            };
            let status = crate::web::layout::status_of(&e);
            let mut shown = Shown::refused(&e, l, &map, Some(fallback));
            shown.user = UserForm { password: String::new(), ..f };
            let mut r = render(&st, l, &csrf, shown).await;
            *r.status_mut() = status;
            r
        }
    }
}

#[derive(Deserialize, Default)]
pub struct IndustryForm {
    #[serde(default)]
    csrf: String,
    #[serde(default, rename = "industry-code")]
    code: String,
    #[serde(default, rename = "industry-zh")]
    name_zh: String,
    #[serde(default, rename = "industry-en")]
    name_en: String,
}

async fn save_industry(
    State(st): State<Arc<Registry>>,
    SignedIn { l, user: me, secret, form: f, .. }: SignedIn<IndustryForm, Admins>,
) -> Response {
    let csrf = csrf_of(&secret);
    let position = match st.store.industries().await {
        Ok(v) => v.len() as i64,
        Err(e) => return error_page(l, StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    };
    let ind = Industry {
        code: f.code.trim().into(),
        name_zh: f.name_zh.trim().into(),
        name_en: f.name_en.trim().into(),
        active: true,
        position,
    };
    match dipr_registry::admin::upsert_industry(&st, &actor_of(&me), ind).await {
        Ok(i) => render(&st, l, &csrf, Shown::done(l.t1("admin-saved", "what", i.code))).await,
        Err(e) => {
            let map = |field: &str| -> String {
                match field {
                    "code" => "industry-code".into(),
                    "name_zh" => "industry-zh".into(),
                    "name_en" => "industry-en".into(),
                    _ => "industry-form".into(),
                }
            };
            let status = crate::web::layout::status_of(&e);
            let mut shown = Shown::refused(&e, l, &map, Some("industry-form"));
            shown.industry = f;
            let mut r = render(&st, l, &csrf, shown).await;
            *r.status_mut() = status;
            r
        }
    }
}

#[derive(Deserialize, Default)]
pub struct DayForm {
    #[serde(default)]
    csrf: String,
    #[serde(default, rename = "day-date")]
    date: String,
    #[serde(default, rename = "day-kind")]
    kind: String,
    #[serde(default, rename = "day-note")]
    note: String,
}

async fn save_day(
    State(st): State<Arc<Registry>>,
    SignedIn { l, user: me, secret, form: f, .. }: SignedIn<DayForm, Admins>,
) -> Response {
    let csrf = csrf_of(&secret);
    let result = match NaiveDate::parse_from_str(f.date.trim(), "%Y-%m-%d") {
        Err(_) => Err(Error::validation(vec![dipr_domain::FieldError::new("date", "invalid_date", "YYYY-MM-DD")])),
        Ok(date) => {
            let kind = if f.kind == "workday" { DayKind::Workday } else { DayKind::Holiday };
            let day = CalendarDay { date, kind, note: f.note.trim().into() };
            dipr_registry::admin::upsert_calendar_day(&st, &actor_of(&me), day).await
        }
    };
    match result {
        Ok(d) => render(&st, l, &csrf, Shown::done(l.t1("admin-saved", "what", d.date.to_string()))).await,
        Err(e) => {
            let map = |field: &str| -> String {
                match field {
                    "date" => "day-date".into(),
                    "note" => "day-note".into(),
                    _ => "day-form".into(),
                }
            };
            let status = crate::web::layout::status_of(&e);
            let mut shown = Shown::refused(&e, l, &map, Some("day-form"));
            shown.day = f;
            let mut r = render(&st, l, &csrf, shown).await;
            *r.status_mut() = status;
            r
        }
    }
}

#[derive(Deserialize, Default)]
pub struct WitnessForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    index: usize,
    #[serde(default, rename = "witness-url")]
    url: String,
    #[serde(default, rename = "witness-key")]
    key: String,
    #[serde(default, rename = "witness-quorum")]
    quorum: String,
}

/// Add a witness, remove one, or set the quorum: each makes a new set that is checked as a whole.
async fn witness_action(
    State(st): State<Arc<Registry>>,
    SignedIn { l, user: me, secret, form: f, .. }: SignedIn<WitnessForm, Admins>,
) -> Response {
    let csrf = csrf_of(&secret);
    let mut set: WitnessSet = (*st.witnesses()).clone();
    let result = match f.action.as_str() {
        "add" => {
            set.witnesses.push(WitnessEndpoint { url: f.url.clone(), key: f.key.clone() });
            dipr_registry::witnessing::replace(&st, &actor_of(&me), set).await
        }
        "remove" if f.index < set.witnesses.len() => {
            set.witnesses.remove(f.index);
            set.quorum = set.quorum.min(set.witnesses.len());
            dipr_registry::witnessing::replace(&st, &actor_of(&me), set).await
        }
        "quorum" => match f.quorum.trim().parse() {
            Ok(n) => {
                set.quorum = n;
                dipr_registry::witnessing::replace(&st, &actor_of(&me), set).await
            }
            Err(_) => {
                Err(Error::validation(vec![dipr_domain::FieldError::new("quorum", "out_of_range", "a whole number")]))
            }
        },
        _ => Err(Error::new("bad_request", "unknown witness action")),
    };
    match result {
        Ok(_) => render(&st, l, &csrf, Shown::done(l.t("admin-witnesses-saved"))).await,
        Err(e) => {
            let map = |field: &str| -> String {
                if field == "quorum" {
                    "witness-quorum".into()
                } else if field.ends_with(".url") {
                    "witness-url".into()
                } else if field.ends_with(".key") {
                    "witness-key".into()
                } else {
                    "witness-form".into()
                }
            };
            let status = crate::web::layout::status_of(&e);
            let mut shown = Shown::refused(&e, l, &map, Some("witness-form"));
            shown.witness = f;
            let mut r = render(&st, l, &csrf, shown).await;
            *r.status_mut() = status;
            r
        }
    }
}
