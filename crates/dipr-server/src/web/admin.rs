//! Administration pages (`/admin`): users and roles (create staff accounts, disable, enable), the
//! industry code list, the working-day calendar, and the witnesses that cosign the log. Administrators
//! only; every form carries the session's CSRF token; every change goes through the same services as
//! the API, so it is checked and logged the same way. A refused form comes back with its errors next to
//! its fields and what was typed kept.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use chrono::NaiveDate;
use dipr_domain::access::Role;
use dipr_domain::party::{NewParty, PartyKind};
use dipr_domain::time::{local_date, CalendarDay, DayKind};
use dipr_store::{Industry, Page, UserRecord};
use serde::Deserialize;
use uuid::Uuid;

use crate::web::form::{input, select, Errors};
use crate::web::i18n::Lang;
use crate::web::layout::{esc, layout, message_page, LangQuery};
use crate::web::session::{csrf_of, session};
use dipr_registry::accounts::actor_of;
use dipr_registry::witnessing::WitnessEndpoint;
use dipr_registry::witnessing::WitnessSet;
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

async fn admin(st: &Registry, headers: &HeaderMap, l: Lang) -> Result<(UserRecord, String), Response> {
    match session(st, headers).await {
        Some((u, s)) if u.role == Role::Admin => Ok((u, s)),
        Some(_) => Err(not_admin(l)),
        None => Err(Redirect::to("/signin").into_response()),
    }
}

fn not_admin(l: Lang) -> Response {
    message_page(l, StatusCode::FORBIDDEN, l.tt("仅限系统管理员。", "Administrators only."))
}

/// An administrator's post: the session's user and CSRF token, once the posted token matches it.
async fn admin_post(
    st: &Registry,
    headers: &HeaderMap,
    posted: &str,
    l: Lang,
) -> Result<(UserRecord, String), Response> {
    let (me, secret) = crate::web::session::signed_in_post(st, headers, posted, l).await?;
    if me.role != Role::Admin {
        return Err(not_admin(l));
    }
    Ok((me, csrf_of(&secret)))
}

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
    let (_, secret) = match admin(&st, &headers, l).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    render(&st, l, &csrf_of(&secret), Shown::default()).await
}

fn role_label(r: Role, l: Lang) -> &'static str {
    match r {
        Role::Applicant => l.tt("申请人", "Applicant"),
        Role::Agent => l.tt("代理机构", "Agent"),
        Role::Examiner => l.tt("审查员", "Examiner"),
        Role::Admin => l.tt("管理员", "Administrator"),
        Role::Bank => l.tt("银行", "Bank"),
        Role::System | Role::Public => "",
    }
}

/// Failed sign-ins since the server started (kept in memory by the throttle), most failures first.
fn sign_in_failures(st: &Registry, l: Lang) -> String {
    let r = st.sign_ins.report();
    let mut out = format!(
        "<h3 id=\"sign-in-failures\">{}</h3><p>{}: <span id=\"failed-sign-ins\">{}</span>; {}: {}</p>",
        l.tt("登录失败（自本次启动）", "Failed sign-ins (since the server started)"),
        l.tt("密码或用户名错误", "Wrong username or password"),
        r.failed,
        l.tt("因过于频繁被拒", "refused as too frequent"),
        r.throttled,
    );
    if !r.accounts.is_empty() {
        out.push_str(&format!(
            "<div class=\"scroll\"><table class=\"list\"><tr><th>{}</th><th>{}</th><th>{}</th></tr>",
            l.tt("用户名", "Username"),
            l.tt("失败次数", "Failures"),
            dipr_domain::shown::zoned(l.tt("最近一次", "Last"), l.en)
        ));
        for a in &r.accounts {
            out.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&a.username),
                a.failed,
                dipr_domain::shown::minute_zoned(a.last_failed_at, l.en)
            ));
        }
        out.push_str("</table></div>");
    }
    out
}

async fn render(st: &Registry, l: Lang, csrf: &str, shown: Shown) -> Response {
    let users = st.store.users(Page::new(1, 200)).await.map(|p| p.items).unwrap_or_default();
    let industries = st.store.industries().await.unwrap_or_default();
    let calendar = st.store.calendar().await.unwrap_or_default();
    let hidden = format!("<input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">");
    let e = &shown.errors;
    let mut body = format!("<h1>{}</h1>", l.tt("系统管理", "Administration"));
    if let Some(year) = st.calendar().coverage_warning(local_date(st.clock.now())) {
        body.push_str(&format!(
            "<div class=\"result bad\" role=\"alert\" id=\"calendar-warning\"><h2>{}</h2><p>{}</p></div>",
            if l.en {
                format!("The holiday calendar does not cover {year} yet")
            } else {
                format!("节假日日历尚未录入 {year} 年")
            },
            if l.en {
                format!("Working-day deadlines that reach {year} are counted by the weekend rule alone (Monday to Friday) and the pages showing them say so. Enter the State Council's {year} holiday arrangement below as soon as it is published.")
            } else {
                format!("期限落入 {year} 年的，暂按周末规则（周一至周五为工作日）计算，并在显示该期限的页面上注明。国务院办公厅发布 {year} 年节假日安排后，请尽快在下方录入。")
            }
        ));
    }
    if let Some((ok, m)) = &shown.message {
        body.push_str(&format!(
            "<p class=\"result {}\" role=\"status\" id=\"admin-message\">{}</p>",
            if *ok { "good" } else { "bad" },
            esc(m)
        ));
    }

    // Users and roles.
    body.push_str(&format!(
        "<h2 id=\"users-h\">{}</h2><div class=\"scroll\"><table class=\"list\" id=\"users\"><tr><th>{}</th><th>{}</th><th>{}</th><th><span class=\"sr-only\">{}</span></th></tr>",
        l.tt("用户与角色", "Users and roles"),
        l.tt("用户名", "Username"),
        l.tt("名称", "Name"),
        l.tt("角色", "Role"),
        l.tt("操作", "Actions")
    ));
    for u in &users {
        let form = |action: &str, confirm: &str, label: &str| {
            format!(
                "<form method=\"post\" action=\"/admin/users\" class=\"stack\">{hidden}\
                 <input type=\"hidden\" name=\"user\" value=\"{}\"><input type=\"hidden\" name=\"action\" value=\"{action}\">\
                 {confirm}<button class=\"secondary\" aria-label=\"{label} {}\">{label}</button></form>",
                u.id,
                esc(&u.username),
            )
        };
        // Disabling ends the account's sessions at once: it asks for a tick first. Enabling does not.
        let action = if u.disabled {
            form("enable", "", l.tt("启用", "Enable"))
        } else {
            format!(
                "<details><summary>{}</summary>{}</details>",
                l.tt("停用", "Disable"),
                form(
                    "disable",
                    &crate::web::layout::confirm_box(l, &format!("confirm-user-{}", u.id), String::new()),
                    l.tt("确认停用", "Disable the account")
                )
            )
        };
        body.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}{}</td><td>{action}</td></tr>",
            esc(&u.username),
            esc(&u.display_name),
            role_label(u.role, l),
            if u.disabled {
                format!(" <span class=\"tag\">{}</span>", l.tt("已停用", "disabled"))
            } else {
                String::new()
            },
        ));
    }
    body.push_str("</table></div>");
    body.push_str(&sign_in_failures(st, l));
    let roles = [
        ("examiner", role_label(Role::Examiner, l).to_string()),
        ("bank", role_label(Role::Bank, l).to_string()),
        ("admin", role_label(Role::Admin, l).to_string()),
    ];
    let u = &shown.user;
    body.push_str(&format!(
        "<h3>{}</h3><form method=\"post\" action=\"/admin/users/new\" class=\"stack\" data-width=\"narrow\" novalidate>{hidden}{}{}{}{}{}<p class=\"muted\">{}</p>{}{}<button id=\"create-user\">{}</button></form>",
        l.tt("新建工作人员账号", "Create a staff account"),
        e.html_at("user-form"),
        input("new-username", l.tt("用户名", "Username"), &u.username, e, "text"),
        input("new-display_name", l.tt("姓名 / 名称", "Name"), &u.display_name, e, "text"),
        select("new-role", l.tt("角色", "Role"), &u.role, &roles, e),
        input("new-password", l.tt("初始密码（至少 10 个字符）", "Initial password (at least 10 characters)"), "", e, "password"),
        l.tt("银行账号须填写银行的名称和统一社会信用代码：", "A bank account names the bank and its credit code:"),
        input("new-party_name", l.tt("银行名称", "Bank's name"), &u.party_name, e, "text"),
        input("new-party_id", l.tt("统一社会信用代码", "Credit code"), &u.party_id, e, "text"),
        l.tt("创建账号", "Create the account"),
    ));

    // Industry codes.
    body.push_str(&format!(
        "<h2>{}</h2><div class=\"scroll\"><table class=\"list\" id=\"industries\"><tr><th>{}</th><th>中文</th><th>English</th><th>{}</th></tr>",
        l.tt("行业代码", "Industry codes"),
        l.tt("代码", "Code"),
        l.tt("启用", "Active")
    ));
    for i in &industries {
        body.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&i.code),
            esc(&i.name_zh),
            esc(&i.name_en),
            if i.active { "✓" } else { "—" }
        ));
    }
    let i = &shown.industry;
    body.push_str(&format!(
        "</table></div><form method=\"post\" action=\"/admin/industries\" class=\"stack\" data-width=\"narrow\" novalidate>{hidden}{}{}{}{}<button>{}</button></form>",
        e.html_at("industry-form"),
        input("industry-code", l.tt("代码（小写字母、数字、下划线）", "Code (a-z, 0-9, _)"), &i.code, e, "text"),
        input("industry-zh", "中文名称", &i.name_zh, e, "text"),
        input("industry-en", "English name", &i.name_en, e, "text"),
        l.tt("保存行业", "Save the industry")
    ));

    // The working-day calendar.
    let d = &shown.day;
    let kinds =
        [("holiday", l.tt("节假日", "Holiday").to_string()), ("workday", l.tt("调休上班", "Working day").to_string())];
    body.push_str(&format!(
        "<h2>{}</h2><form method=\"post\" action=\"/admin/calendar\" class=\"stack\" data-width=\"narrow\" novalidate>{hidden}{}{}{}{}<button>{}</button></form>\
         <div class=\"scroll\"><table class=\"list\" id=\"calendar\"><tr><th>{}</th><th>{}</th><th>{}</th></tr>",
        l.tt("节假日与调休", "Holidays and working weekends"),
        e.html_at("day-form"),
        input("day-date", l.tt("日期（YYYY-MM-DD）", "Date (YYYY-MM-DD)"), &d.date, e, "text"),
        select("day-kind", l.tt("类型", "Kind"), &d.kind, &kinds, e),
        input("day-note", l.tt("说明", "Note"), &d.note, e, "text"),
        l.tt("保存", "Save"),
        l.tt("日期", "Date"),
        l.tt("类型", "Kind"),
        l.tt("说明", "Note")
    ));
    for d in calendar.iter().rev().take(60) {
        let kind = match d.kind {
            DayKind::Holiday => l.tt("节假日", "Holiday"),
            DayKind::Workday => l.tt("调休上班", "Working day"),
        };
        body.push_str(&format!("<tr><td>{}</td><td>{kind}</td><td>{}</td></tr>", d.date, esc(&d.note)));
    }
    body.push_str("</table></div>");
    body.push_str(&witness_section(st, l, &hidden, &shown));
    layout(l, l.tt("系统管理", "Administration"), "/me", &body, &[])
}

fn witness_section(st: &Registry, l: Lang, hidden: &str, shown: &Shown) -> String {
    let set = st.witnesses();
    let e = &shown.errors;
    let mut rows = String::new();
    for (i, w) in set.witnesses.iter().enumerate() {
        let name = w.key.split('+').next().unwrap_or_default();
        rows.push_str(&format!(
            "<tr><td>{}</td><td><code>{}</code></td><td><form method=\"post\" action=\"/admin/witnesses\">{hidden}\
             <input type=\"hidden\" name=\"action\" value=\"remove\"><input type=\"hidden\" name=\"index\" value=\"{i}\">\
             <button class=\"secondary\" aria-label=\"{} {}\">{}</button></form></td></tr>",
            esc(name),
            esc(&w.url),
            l.tt("移除", "Remove"),
            esc(name),
            l.tt("移除", "Remove")
        ));
    }
    let w = &shown.witness;
    let quorum = if w.quorum.is_empty() { set.quorum.to_string() } else { w.quorum.clone() };
    format!(
        "<h2 id=\"witnesses-h\">{h}</h2><p class=\"muted\">{lead}</p>\
         <div class=\"scroll\"><table class=\"list\" id=\"witnesses\"><tr><th>{c1}</th><th>URL</th><th><span class=\"sr-only\">{act}</span></th></tr>{rows}</table></div>\
         <form method=\"post\" action=\"/admin/witnesses\" class=\"stack\" data-width=\"narrow\" novalidate>{hidden}\
         <input type=\"hidden\" name=\"action\" value=\"add\">{top}{url}{key}<button id=\"add-witness\">{add}</button></form>\
         <form method=\"post\" action=\"/admin/witnesses\" class=\"stack\" data-width=\"narrow\" novalidate>{hidden}\
         <input type=\"hidden\" name=\"action\" value=\"quorum\">{q}<button>{save}</button></form>",
        h = l.tt("见证人", "Witnesses"),
        lead = l.tt(
            "见证人独立联署账本检查点；证书在达到法定人数的联署后附带联署。更改即时生效并记入事件日志。",
            "Witnesses cosign the log's checkpoints independently; certificates carry the cosignatures once a quorum has signed. Changes take effect at once and are logged."
        ),
        c1 = l.tt("名称", "Name"),
        act = l.tt("操作", "Actions"),
        top = e.html_at("witness-form"),
        url = input("witness-url", "URL (https://…)", &w.url, e, "text"),
        key = input("witness-key", l.tt("见证人公钥（cosignature/v1）", "Witness key (cosignature/v1)"), &w.key, e, "text"),
        add = l.tt("添加见证人", "Add the witness"),
        q = input("witness-quorum", l.tt("法定人数（0 表示不等待联署）", "Quorum (0: do not wait for cosignatures)"), &quorum, e, "text"),
        save = l.tt("保存法定人数", "Save the quorum"),
    )
}

#[derive(Deserialize)]
pub struct UserAction {
    #[serde(default)]
    csrf: String,
    user: Uuid,
    action: String,
    #[serde(default)]
    confirm: Option<String>,
}

async fn user_action(
    State(st): State<Arc<Registry>>,
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
    Form(f): Form<UserAction>,
) -> Response {
    let l = Lang::of(q.lang(), &headers);
    let (me, csrf) = match admin_post(&st, &headers, &f.csrf, l).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let disable = f.action == "disable";
    let shown = if disable && f.confirm.is_none() {
        Shown {
            message: Some((false, crate::web::layout::field_message("confirmation_required", l))),
            ..Default::default()
        }
    } else {
        match dipr_registry::accounts::set_user_disabled(&st, &actor_of(&me), f.user, disable).await {
            Ok(u) => Shown::done(format!(
                "{} {}",
                u.username,
                if u.disabled { l.tt("已停用", "disabled") } else { l.tt("已启用", "enabled") }
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
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
    Form(f): Form<UserForm>,
) -> Response {
    let l = Lang::of(q.lang(), &headers);
    let (me, csrf) = match admin_post(&st, &headers, &f.csrf, l).await {
        Ok(x) => x,
        Err(r) => return r,
    };
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
        };
        dipr_registry::accounts::create_account(&st, req, &actor_of(&me), false).await.map(|(u, _)| u)
    };
    match result {
        Ok(u) => render(&st, l, &csrf, Shown::done(format!("{} {}", u.username, l.tt("已创建", "created")))).await,
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
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
    Form(f): Form<IndustryForm>,
) -> Response {
    let l = Lang::of(q.lang(), &headers);
    let (me, csrf) = match admin_post(&st, &headers, &f.csrf, l).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let position = st.store.industries().await.map(|v| v.len() as i64).unwrap_or(0);
    let ind = Industry {
        code: f.code.trim().into(),
        name_zh: f.name_zh.trim().into(),
        name_en: f.name_en.trim().into(),
        active: true,
        position,
    };
    match dipr_registry::admin::upsert_industry(&st, &actor_of(&me), ind).await {
        Ok(i) => render(&st, l, &csrf, Shown::done(format!("{} {}", i.code, l.tt("已保存", "saved")))).await,
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
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
    Form(f): Form<DayForm>,
) -> Response {
    let l = Lang::of(q.lang(), &headers);
    let (me, csrf) = match admin_post(&st, &headers, &f.csrf, l).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let result = match NaiveDate::parse_from_str(f.date.trim(), "%Y-%m-%d") {
        Err(_) => Err(Error::validation(vec![dipr_domain::FieldError::new("date", "invalid_date", "YYYY-MM-DD")])),
        Ok(date) => {
            let kind = if f.kind == "workday" { DayKind::Workday } else { DayKind::Holiday };
            let day = CalendarDay { date, kind, note: f.note.trim().into() };
            dipr_registry::admin::upsert_calendar_day(&st, &actor_of(&me), day).await
        }
    };
    match result {
        Ok(d) => render(&st, l, &csrf, Shown::done(format!("{} {}", d.date, l.tt("已保存", "saved")))).await,
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
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
    Form(f): Form<WitnessForm>,
) -> Response {
    let l = Lang::of(q.lang(), &headers);
    let (me, csrf) = match admin_post(&st, &headers, &f.csrf, l).await {
        Ok(x) => x,
        Err(r) => return r,
    };
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
        Ok(_) => render(&st, l, &csrf, Shown::done(l.tt("见证人设置已保存", "Witnesses saved").to_string())).await,
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
