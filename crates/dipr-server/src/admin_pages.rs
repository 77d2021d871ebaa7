//! Administration pages (`/admin`): users and roles (disable, enable), the industry code list, and the
//! working-day calendar. Administrators only; every form carries the session's CSRF token; every change
//! goes through the same services as the API, so it is logged.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use chrono::NaiveDate;
use dipr_domain::lifecycle::Role;
use dipr_domain::time::{CalendarDay, DayKind};
use dipr_store::{Industry, Page, UserRecord};
use serde::Deserialize;
use uuid::Uuid;

use crate::auth::actor_of;
use crate::portal::{csrf_of, session};
use crate::web::{esc, layout, Lang, LangQuery};
use crate::AppState;

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/admin", get(page))
        .route("/admin/users", post(user_action))
        .route("/admin/industries", post(save_industry))
        .route("/admin/calendar", post(save_day))
}

async fn admin(st: &AppState, headers: &HeaderMap) -> Result<(UserRecord, String), Response> {
    match session(st, headers).await {
        Some((u, s)) if u.role == Role::Admin => Ok((u, s)),
        Some(_) => Err((StatusCode::FORBIDDEN, "administrators only").into_response()),
        None => Err(Redirect::to("/signin").into_response()),
    }
}

/// An administrator's post: the session's user and CSRF token, once the posted token matches it.
async fn admin_post(st: &AppState, headers: &HeaderMap, posted: &str) -> Result<(UserRecord, String), Response> {
    let (me, secret) = admin(st, headers).await?;
    let csrf = csrf_of(&secret);
    if posted != csrf {
        return Err((StatusCode::FORBIDDEN, "the form expired").into_response());
    }
    Ok((me, csrf))
}

async fn page(State(st): State<Arc<AppState>>, Query(q): Query<LangQuery>, headers: HeaderMap) -> Response {
    let l = Lang::of(q.lang(), &headers);
    let (_, secret) = match admin(&st, &headers).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    render(&st, l, &csrf_of(&secret), None).await
}

async fn render(st: &AppState, l: Lang, csrf: &str, message: Option<(bool, String)>) -> Response {
    let users = st.store.users(Page::new(1, 100)).await.map(|p| p.items).unwrap_or_default();
    let industries = st.store.industries().await.unwrap_or_default();
    let calendar = st.store.calendar().await.unwrap_or_default();
    let hidden = format!("<input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">");
    let mut body = format!("<h1>{}</h1>", l.t("系统管理", "Administration"));
    if let Some((ok, m)) = message {
        body.push_str(&format!(
            "<p class=\"result {}\" role=\"status\" id=\"admin-message\">{}</p>",
            if ok { "good" } else { "bad" },
            esc(&m)
        ));
    }
    body.push_str(&format!(
        "<h2>{}</h2><div class=\"scroll\"><table class=\"list\" id=\"users\"><tr><th>{}</th><th>{}</th><th>{}</th><th></th></tr>",
        l.t("用户与角色", "Users and roles"),
        l.t("用户名", "Username"),
        l.t("名称", "Name"),
        l.t("角色", "Role")
    ));
    for u in &users {
        let (action, label) =
            if u.disabled { ("enable", l.t("启用", "Enable")) } else { ("disable", l.t("停用", "Disable")) };
        body.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td><form method=\"post\" action=\"/admin/users\">{hidden}\
             <input type=\"hidden\" name=\"user\" value=\"{}\"><input type=\"hidden\" name=\"action\" value=\"{action}\">\
             <button class=\"secondary\">{label}</button></form></td></tr>",
            esc(&u.username),
            esc(&u.display_name),
            u.role.as_str(),
            u.id
        ));
    }
    body.push_str("</table></div>");
    body.push_str(&format!(
        "<h2>{}</h2><div class=\"scroll\"><table class=\"list\" id=\"industries\"><tr><th>{}</th><th>中文</th><th>English</th><th>{}</th></tr>",
        l.t("行业代码", "Industry codes"),
        l.t("代码", "Code"),
        l.t("启用", "Active")
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
    body.push_str(&format!(
        "</table></div><form method=\"post\" action=\"/admin/industries\" class=\"filters\">{hidden}\
         <label>{}<input name=\"code\" id=\"industry-code\"></label><label>中文<input name=\"name_zh\" id=\"industry-zh\"></label>\
         <label>English<input name=\"name_en\" id=\"industry-en\"></label><button>{}</button></form>",
        l.t("代码", "Code"),
        l.t("保存行业", "Save the industry")
    ));
    body.push_str(&format!(
        "<h2>{}</h2><form method=\"post\" action=\"/admin/calendar\" class=\"filters\">{hidden}\
         <label>{}<input name=\"date\" id=\"day-date\" placeholder=\"2027-01-01\"></label>\
         <label>{}<select name=\"kind\" id=\"day-kind\"><option value=\"holiday\">{}</option><option value=\"workday\">{}</option></select></label>\
         <label>{}<input name=\"note\" id=\"day-note\"></label><button>{}</button></form>\
         <div class=\"scroll\"><table class=\"list\" id=\"calendar\"><tr><th>{}</th><th>{}</th><th>{}</th></tr>",
        l.t("节假日与调休", "Holidays and working weekends"),
        l.t("日期", "Date"),
        l.t("类型", "Kind"),
        l.t("节假日", "Holiday"),
        l.t("调休上班", "Working day"),
        l.t("说明", "Note"),
        l.t("保存", "Save"),
        l.t("日期", "Date"),
        l.t("类型", "Kind"),
        l.t("说明", "Note")
    ));
    for d in calendar.iter().rev().take(60) {
        let kind = match d.kind {
            DayKind::Holiday => l.t("节假日", "Holiday"),
            DayKind::Workday => l.t("调休上班", "Working day"),
        };
        body.push_str(&format!("<tr><td>{}</td><td>{kind}</td><td>{}</td></tr>", d.date, esc(&d.note)));
    }
    body.push_str(&format!(
        "</table></div><p class=\"muted\">{}</p>",
        l.t(
            "见证人在配置文件中设置（witnesses、witness_quorum），见 docs/OPERATIONS.md。",
            "Witnesses are configured in the configuration file (witnesses, witness_quorum); see docs/OPERATIONS.md."
        )
    ));
    layout(l, l.t("系统管理", "Administration"), "/me", &body, &[])
}

#[derive(Deserialize)]
pub struct UserAction {
    #[serde(default)]
    csrf: String,
    user: Uuid,
    action: String,
}

async fn user_action(
    State(st): State<Arc<AppState>>,
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
    Form(f): Form<UserAction>,
) -> Response {
    let l = Lang::of(q.lang(), &headers);
    let (me, csrf) = match admin_post(&st, &headers, &f.csrf).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let result = crate::service::set_user_disabled(&st, &actor_of(&me), f.user, f.action == "disable").await;
    let message = match result {
        Ok(u) => (
            true,
            format!(
                "{} {}",
                esc(&u.username),
                if u.disabled { l.t("已停用", "disabled") } else { l.t("已启用", "enabled") }
            ),
        ),
        Err(e) => (false, crate::messages::refusal(&e, l)),
    };
    render(&st, l, &csrf, Some(message)).await
}

#[derive(Deserialize)]
pub struct IndustryForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    name_zh: String,
    #[serde(default)]
    name_en: String,
}

async fn save_industry(
    State(st): State<Arc<AppState>>,
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
    Form(f): Form<IndustryForm>,
) -> Response {
    let l = Lang::of(q.lang(), &headers);
    let (me, csrf) = match admin_post(&st, &headers, &f.csrf).await {
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
    let message = match crate::service::upsert_industry(&st, &actor_of(&me), ind).await {
        Ok(i) => (true, format!("{} {}", esc(&i.code), l.t("已保存", "saved"))),
        Err(e) => (
            false,
            e.details
                .first()
                .map_or(e.message.clone(), |d| format!("{}: {}", d.field, crate::web::field_message(&d.code, l))),
        ),
    };
    render(&st, l, &csrf, Some(message)).await
}

#[derive(Deserialize)]
pub struct DayForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    date: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    note: String,
}

async fn save_day(
    State(st): State<Arc<AppState>>,
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
    Form(f): Form<DayForm>,
) -> Response {
    let l = Lang::of(q.lang(), &headers);
    let (me, csrf) = match admin_post(&st, &headers, &f.csrf).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let Ok(date) = NaiveDate::parse_from_str(f.date.trim(), "%Y-%m-%d") else {
        let mut r = render(&st, l, &csrf, Some((false, crate::web::field_message("invalid_date", l)))).await;
        *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
        return r;
    };
    let kind = if f.kind == "workday" { DayKind::Workday } else { DayKind::Holiday };
    let day = CalendarDay { date, kind, note: f.note.trim().into() };
    let message = match crate::service::upsert_calendar_day(&st, &actor_of(&me), day).await {
        Ok(d) => (true, format!("{} {}", d.date, l.t("已保存", "saved"))),
        Err(e) => (false, crate::messages::refusal(&e, l)),
    };
    render(&st, l, &csrf, Some(message)).await
}
