//! Signed-in pages: sign-in and sign-out with a session cookie, and "my registry" — an applicant's filings
//! with their deadlines, certificates and pledges awaiting consent; an examiner's queue with deadlines;
//! everyone's notifications.
//!
//! The session cookie holds the same session token the API issues (stored hashed, revocable), and is
//! HttpOnly, SameSite=Lax, and Secure when the registry is served over https. Every form that changes
//! something carries a CSRF token derived from the session secret, which a cross-site page cannot read.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use dipr_domain::application::{Application, State as Status};
use dipr_domain::encumbrance::PledgeStatus;
use dipr_domain::holding::Operation;
use dipr_domain::lifecycle::Role;
use dipr_store::{ApplicationFilter, Order, Page, UserRecord};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::auth::{actor_of, token_hash};
use crate::web::{esc, layout, Lang, LangQuery};
use crate::AppState;

const SESSION_COOKIE: &str = "dipr_session";
const LOGIN_CSRF_COOKIE: &str = "dipr_login_csrf";
pub(crate) const SIGNUP_CSRF_COOKIE: &str = "dipr_signup_csrf";
pub(crate) const OBJECTION_CSRF_COOKIE: &str = "dipr_csrf";

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/signin", get(signin_form).post(signin))
        .route("/signout", post(signout))
        .route("/me", get(me))
        .route("/me/pledges/consent", post(consent))
        .route("/me/pledges", post(file_pledge))
        .route("/review/{id}", get(review).post(decide))
}

/// A token for an anonymous form (sign-in, sign-up, objection) and the cookie that carries it: the
/// post must return the cookie's value (double submit), and SameSite=Strict keeps other sites from
/// sending the cookie. Each form has its own cookie, scoped to its path, so tabs do not clash.
pub(crate) fn form_token(st: &AppState, name: &str, path: &str) -> (String, String) {
    let token = crate::auth::new_token().0;
    let cookie = format!("{name}={token}; Path={path}; HttpOnly; SameSite=Strict{}", secure(st));
    (token, cookie)
}

pub(crate) fn form_token_matches(headers: &HeaderMap, name: &str, posted: &str) -> bool {
    !posted.is_empty() && cookie(headers, name).as_deref() == Some(posted)
}

pub(crate) fn session_cookie(st: &AppState, secret: &str) -> String {
    format!(
        "{SESSION_COOKIE}={secret}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{}",
        st.config.session_hours * 3600,
        secure(st)
    )
}

pub(crate) fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    let raw = headers.get(header::COOKIE)?.to_str().ok()?;
    raw.split(';').filter_map(|c| c.trim().split_once('=')).find(|(k, _)| *k == name).map(|(_, v)| v.to_string())
}

pub(crate) fn secure(st: &AppState) -> &'static str {
    if st.config.public_url.starts_with("https://") {
        "; Secure"
    } else {
        ""
    }
}

pub(crate) fn csrf_of(session: &str) -> String {
    hex::encode(Sha256::digest(format!("dipr-csrf\n{session}").as_bytes()))
}

/// The signed-in user and the session secret, from the cookie.
pub(crate) async fn session(st: &AppState, headers: &HeaderMap) -> Option<(UserRecord, String)> {
    let secret = cookie(headers, SESSION_COOKIE)?;
    let (user, _) = st.store.authenticate(&token_hash(&secret), st.clock.now()).await.ok()??;
    Some((user, secret))
}

pub(crate) fn with_cookie(mut resp: Response, cookie: &str) -> Response {
    if let Ok(v) = HeaderValue::from_str(cookie) {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
    resp
}

fn signin_page(st: &AppState, l: Lang, username: &str, error: Option<&str>) -> Response {
    let (token, cookie) = form_token(st, LOGIN_CSRF_COOKIE, "/signin");
    let error = error
        .map(|e| format!("<p class=\"result bad\" role=\"alert\" id=\"signin-error\">{}</p>", esc(e)))
        .unwrap_or_default();
    let body = format!(
        "<h1>{h1}</h1>{error}<form method=\"post\" action=\"/signin\" class=\"stack\" style=\"max-width:28rem\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{token}\">\
         <label for=\"username\">{user_l}</label><input id=\"username\" name=\"username\" autocomplete=\"username\" value=\"{username}\">\
         <label for=\"password\">{pw_l}</label><input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\">\
         <button>{go}</button></form><p class=\"muted\">{hint}</p>",
        h1 = l.t("登录", "Sign in"),
        user_l = l.t("用户名", "Username"),
        username = esc(username),
        pw_l = l.t("密码", "Password"),
        go = l.t("登录", "Sign in"),
        hint = l.t("还没有账号？<a href=\"/signup\">注册申请人账号</a>", "No account yet? <a href=\"/signup\">Create an applicant account</a>"),
    );
    let resp = layout(l, l.t("登录", "Sign in"), "/signin", &body, &[]);
    with_cookie(resp, &cookie)
}

async fn signin_form(State(st): State<Arc<AppState>>, Query(q): Query<LangQuery>, headers: HeaderMap) -> Response {
    let l = Lang::of(q.lang(), &headers);
    signin_page(&st, l, "", None)
}

#[derive(Deserialize)]
pub struct SigninForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
}

async fn signin(
    State(st): State<Arc<AppState>>,
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
    Form(form): Form<SigninForm>,
) -> Response {
    let l = Lang::of(q.lang(), &headers);
    if !form_token_matches(&headers, LOGIN_CSRF_COOKIE, &form.csrf) {
        return signin_page(
            &st,
            l,
            &form.username,
            Some(l.t("表单已过期，请重新提交。", "The form expired; please submit it again.")),
        );
    }
    match crate::service::sign_in(&st, &form.username, form.password).await {
        Ok((secret, _, _)) => with_cookie(Redirect::to("/me").into_response(), &session_cookie(&st, &secret)),
        Err(e) if e.code == "invalid_credentials" => {
            let mut r =
                signin_page(&st, l, &form.username, Some(l.t("用户名或密码错误。", "Wrong username or password.")));
            *r.status_mut() = StatusCode::UNAUTHORIZED;
            r
        }
        Err(e) => signin_page(&st, l, &form.username, Some(&crate::messages::refusal(&e, l))),
    }
}

#[derive(Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

async fn signout(State(st): State<Arc<AppState>>, headers: HeaderMap, Form(form): Form<CsrfForm>) -> Response {
    if let Some((user, secret)) = session(&st, &headers).await {
        if form.csrf == csrf_of(&secret) {
            if let Ok(Some((_, token))) = st.store.authenticate(&token_hash(&secret), st.clock.now()).await {
                let _ = crate::service::revoke_token(&st, &user, token.id).await;
            }
        }
    }
    with_cookie(
        Redirect::to("/").into_response(),
        &format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0"),
    )
}

fn deadline_label(app: &Application, l: Lang) -> String {
    app.next_deadline()
        .map(|d| {
            let what = match app.state {
                Status::CorrectionRequested => l.t("补正截止", "correct by"),
                Status::PublicNotice => l.t("公示结束", "notice ends"),
                Status::Registered => l.t("有效期至", "valid until"),
                _ => "",
            };
            format!("{what} {}", d.with_timezone(&dipr_domain::time::local_offset()).format("%Y-%m-%d"))
        })
        .unwrap_or_default()
}

async fn me(State(st): State<Arc<AppState>>, Query(q): Query<LangQuery>, headers: HeaderMap) -> Response {
    let l = Lang::of(q.lang(), &headers);
    let Some((user, secret)) = session(&st, &headers).await else {
        return Redirect::to("/signin").into_response();
    };
    me_page(&st, l, &user, &secret, &PledgeForm::default(), &[], None).await
}

#[derive(Deserialize, Default)]
pub struct PledgeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    registration_number: String,
    #[serde(default)]
    secured: String,
    #[serde(default)]
    start: String,
    #[serde(default)]
    end: String,
    #[serde(default)]
    rank: String,
}

/// The bank's form: register a pledge on a product by its registration number.
fn pledge_form(
    l: Lang,
    f: &PledgeForm,
    errors: &[dipr_domain::FieldError],
    refusal: Option<&str>,
    csrf: &str,
) -> String {
    let err = |field: &str| crate::web::field_errors(errors, field, l);
    let refusal = refusal
        .map(|r| format!("<p class=\"result bad\" role=\"alert\" id=\"pledge-refused\">{}</p>", esc(r)))
        .unwrap_or_default();
    let field = |name: &str, label: &str, value: &str, placeholder: &str| {
        format!(
            "<label for=\"{name}\">{label}</label><input id=\"{name}\" name=\"{name}\" value=\"{}\" placeholder=\"{placeholder}\" aria-describedby=\"err-{name}\">{}",
            esc(value),
            err(name)
        )
    };
    format!(
        "<h2>{}</h2>{refusal}<form method=\"post\" action=\"/me/pledges\" class=\"stack\" style=\"max-width:36rem\" novalidate>\
         <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">{}{}{}{}{}<button>{}</button></form>\
         <p class=\"muted\">{}</p>",
        l.t("申请质押登记", "Register a pledge"),
        field("registration_number", l.t("登记号", "Registration number"), &f.registration_number, ""),
        field("secured", l.t("担保金额（元）", "Secured amount (yuan)"), &f.secured, "5,000,000.00"),
        field("start", l.t("借款起始日", "Loan starts"), &f.start, "2026-12-01"),
        field("end", l.t("借款到期日", "Loan ends"), &f.end, "2028-11-30"),
        field("rank", l.t("顺位（首个质押为 1）", "Rank (1 for the first pledge)"), &f.rank, "1"),
        l.t("提交质押登记", "File the pledge"),
        l.t("质押经权利人同意后生效；在先质权人将收到通知。", "The pledge takes effect when the holder consents; earlier pledgees are notified."),
    )
}

async fn file_pledge(
    State(st): State<Arc<AppState>>,
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
    Form(f): Form<PledgeForm>,
) -> Response {
    let l = Lang::of(q.lang(), &headers);
    let Some((user, secret)) = session(&st, &headers).await else {
        return Redirect::to("/signin").into_response();
    };
    if f.csrf != csrf_of(&secret) {
        return (StatusCode::FORBIDDEN, l.t("表单已过期。", "The form expired.")).into_response();
    }
    let app = st.store.application_by_registration_number(f.registration_number.trim()).await.ok().flatten();
    let Some(app) = app else {
        let errors = vec![dipr_domain::FieldError::new("registration_number", "not_found", "")];
        let refusal = l.t("没有这一登记号。", "No registration has this number.");
        let mut r = me_page(&st, l, &user, &secret, &f, &errors, Some(refusal)).await;
        *r.status_mut() = StatusCode::NOT_FOUND;
        return r;
    };
    let req = crate::api_holdings::PledgeRequest {
        debtor: None,
        secured: crate::api_holdings::Amount::Text(f.secured.clone()),
        start: f.start.clone(),
        end: f.end.clone(),
        rank: f.rank.trim().parse().unwrap_or(0),
    };
    match crate::api_holdings::file_pledge_as(&st, &user, app.id, &req).await {
        Ok(_) => Redirect::to(&format!("/records/{}", app.id)).into_response(),
        Err(e) => {
            let refusal = if e.details.is_empty() { Some(crate::messages::refusal(&e, l)) } else { None };
            let mut r = me_page(&st, l, &user, &secret, &f, &e.details, refusal.as_deref()).await;
            *r.status_mut() = e.status();
            r
        }
    }
}

async fn me_page(
    st: &AppState,
    l: Lang,
    user: &UserRecord,
    secret: &str,
    pledge: &PledgeForm,
    pledge_errors: &[dipr_domain::FieldError],
    pledge_refusal: Option<&str>,
) -> Response {
    let user = user.clone();
    let csrf = csrf_of(secret);
    let mut body = format!(
        "<h1>{} · {}</h1><form method=\"post\" action=\"/signout\"><input type=\"hidden\" name=\"csrf\" value=\"{csrf}\"><button class=\"secondary\">{}</button></form>",
        l.t("我的登记", "My registry"),
        esc(&user.display_name),
        l.t("退出", "Sign out")
    );
    match user.role {
        Role::Applicant | Role::Agent => {
            let filter = ApplicationFilter { owned_by: Some((user.id, user.party_id)), ..Default::default() };
            let apps = st.store.applications(&filter, Page::new(1, 100)).await.map(|p| p.items).unwrap_or_default();
            body.push_str(&format!(
                "<h2>{}</h2><p><a class=\"button\" id=\"new-filing\" href=\"/me/file\">{}</a></p>",
                l.t("我的申请与登记", "My filings and registrations"),
                l.t("提交新的登记申请", "File a new application")
            ));
            let mut rows = String::new();
            let mut consents = String::new();
            for a in &apps {
                let cert = if a.registration.is_some() {
                    format!(
                        "<a href=\"/api/v1/public/records/{0}/certificate.pdf\">PDF</a> · <a href=\"/api/v1/public/records/{0}/certificate\">JSON</a>",
                        a.id
                    )
                } else {
                    String::new()
                };
                let name = format!("<a href=\"/me/filings/{}\">{}</a>", a.id, esc(&a.form.product_name));
                rows.push_str(&format!(
                    "<tr><td>{name}</td><td>{}</td><td>{}</td><td>{cert}</td></tr>",
                    crate::web::state_label(a.state, l),
                    deadline_label(a, l)
                ));
                let pending = a
                    .holding
                    .iter()
                    .flat_map(|h| &h.encumbrances.pledges)
                    .filter(|p| p.status == PledgeStatus::Pending);
                for p in pending {
                    consents.push_str(&format!(
                        "<tr><td>{}</td><td>{}</td><td>¥{}</td><td>{}</td><td>{} — {}</td><td><form method=\"post\" action=\"/me/pledges/consent\">\
                         <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\"><input type=\"hidden\" name=\"record\" value=\"{}\">\
                         <input type=\"hidden\" name=\"pledge\" value=\"{}\"><button>{}</button></form></td></tr>",
                        esc(&a.form.product_name),
                        esc(&p.pledgee.name),
                        p.secured,
                        p.stated_rank,
                        p.term.start,
                        p.term.end,
                        a.id,
                        p.id,
                        l.t("同意质押", "Consent")
                    ));
                }
            }
            body.push_str(&format!(
                "<div class=\"scroll\"><table class=\"list\" id=\"my-filings\"><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>{rows}</table></div>",
                l.t("产品", "Product"),
                l.t("状态", "Status"),
                l.t("期限", "Deadline"),
                l.t("证书", "Certificate")
            ));
            if !consents.is_empty() {
                body.push_str(&format!(
                    "<h2>{}</h2><div class=\"scroll\"><table class=\"list\" id=\"pending-pledges\"><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th></th></tr>{consents}</table></div>",
                    l.t("待同意的质押", "Pledges awaiting your consent"),
                    l.t("产品", "Product"),
                    l.t("质权人", "Pledgee"),
                    l.t("担保金额", "Secured"),
                    l.t("声明顺位", "Stated rank"),
                    l.t("期限", "Term")
                ));
            }
        }
        Role::Examiner => {
            let filter = ApplicationFilter {
                states: Status::ALL.into_iter().filter(|s| s.in_review_queue()).collect(),
                order: Order::OldestFirst,
                ..Default::default()
            };
            let apps = st.store.applications(&filter, Page::new(1, 100)).await.map(|p| p.items).unwrap_or_default();
            let mut rows = String::new();
            for a in &apps {
                let due = a.objections.iter().filter(|o| o.decision.is_none()).map(|o| o.decide_by).min();
                rows.push_str(&format!(
                    "<tr><td><a href=\"/review/{}\">{}</a></td><td>{}</td><td>{}</td><td>{}</td></tr>",
                    a.id,
                    esc(&a.form.product_name),
                    esc(&a.applicant.name),
                    crate::web::state_label(a.state, l),
                    due.map(|d| format!("{} {}", l.t("异议决定截止", "decide objection by"), d.format("%Y-%m-%d")))
                        .unwrap_or_default()
                ));
            }
            body.push_str(&format!(
                "<h2>{}</h2><div class=\"scroll\"><table class=\"list\" id=\"review-queue\"><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>{rows}</table></div>",
                l.t("待审查（先到先审）", "Review queue (oldest first)"),
                l.t("产品", "Product"),
                l.t("申请人", "Applicant"),
                l.t("状态", "Status"),
                l.t("期限", "Deadline")
            ));
        }
        _ => {}
    }
    if let Some(party) = user.party_id {
        let mut notes = st.store.events("party", &party.to_string()).await.unwrap_or_default();
        notes.retain(|e| e.kind == "notification");
        notes.reverse();
        let mut rows = String::new();
        for n in notes.iter().take(30) {
            rows.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                n.at.format("%Y-%m-%d"),
                esc(n.payload["product_name"].as_str().unwrap_or_default()),
                esc(&crate::pages::event_label(n.payload["event"].as_str().unwrap_or_default(), l.en))
            ));
        }
        body.push_str(&format!("<h2>{}</h2>", l.t("通知", "Notifications")));
        if rows.is_empty() {
            body.push_str(&format!("<p class=\"muted\">{}</p>", l.t("无", "None")));
        } else {
            body.push_str(&format!("<table class=\"list\" id=\"notifications\">{rows}</table>"));
        }
    }
    if user.role == Role::Admin {
        body.push_str(&format!(
            "<p><a class=\"button\" id=\"admin-link\" href=\"/admin\">{}</a></p>",
            l.t("系统管理", "Administration")
        ));
    }
    if user.role == Role::Bank {
        body.push_str(&format!(
            "<p><a class=\"button\" href=\"/encumbrances\">{}</a></p>",
            l.t("放贷前查询权利负担", "Search encumbrances before lending")
        ));
        body.push_str(&pledge_form(l, pledge, pledge_errors, pledge_refusal, &csrf));
    }
    layout(l, l.t("我的登记", "My registry"), "/me", &body, &[])
}

#[derive(Deserialize)]
pub struct ConsentForm {
    #[serde(default)]
    csrf: String,
    record: Uuid,
    pledge: Uuid,
}

async fn consent(
    State(st): State<Arc<AppState>>,
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
    Form(form): Form<ConsentForm>,
) -> Response {
    let l = Lang::of(q.lang(), &headers);
    let Some((user, secret)) = session(&st, &headers).await else {
        return Redirect::to("/signin").into_response();
    };
    if form.csrf != csrf_of(&secret) {
        return (StatusCode::FORBIDDEN, l.t("表单已过期。", "The form expired.")).into_response();
    }
    match crate::operations::operate(
        &st,
        form.record,
        Operation::ConsentToPledge { pledge_id: form.pledge },
        &actor_of(&user),
    )
    .await
    {
        Ok(_) => Redirect::to(&format!("/records/{}", form.record)).into_response(),
        Err(e) => {
            let body = format!(
                "<h1>{}</h1><p class=\"result bad\" role=\"alert\">{}</p><p><a href=\"/me\">{}</a></p>",
                l.t("未能登记质押", "The pledge was not registered"),
                esc(&crate::messages::refusal(&e, l)),
                l.t("返回", "Back")
            );
            let mut r = layout(l, l.t("质押", "Pledge"), "/me", &body, &[]);
            *r.status_mut() = e.status();
            r
        }
    }
}

/// The decisions an examiner can take on a filing in this state.
fn actions(state: Status) -> &'static [(&'static str, &'static str, &'static str)] {
    match state {
        Status::Submitted => &[("accept", "受理，进入形式审查", "Accept into formal review")],
        Status::FormalReview => &[
            ("pass_formal_review", "形式审查合格", "Pass formal review"),
            ("request_correction", "要求补正", "Request correction"),
            ("reject", "不予受理", "Reject"),
        ],
        Status::SubstantiveReview => {
            &[("approve", "予以公示", "Approve for public notice"), ("refuse", "不予登记", "Refuse")]
        }
        Status::Registered => &[("revoke", "撤销登记", "Revoke the registration")],
        _ => &[],
    }
}

/// The typed values of the decision form, kept when it is shown again with an error.
struct Typed<'a> {
    action: &'a str,
    reasons: &'a str,
}

fn review_page(
    l: Lang,
    app: &Application,
    overlaps: &[crate::fingerprints::Overlap],
    csrf: &str,
    typed: Typed,
    error: Option<String>,
) -> Response {
    let f = &app.form;
    let mut body = format!(
        "<h1>{} <span class=\"badge\">{}</span></h1><p><a href=\"/me\">{}</a></p><table>",
        esc(&f.product_name),
        crate::web::state_label(app.state, l),
        l.t("返回审查队列", "Back to the queue")
    );
    for (k, v) in [
        (l.t("申请人", "Applicant"), format!("{}（{}）", esc(&app.applicant.name), esc(&app.applicant.id_number))),
        (
            l.t("登记对象", "Object type"),
            crate::web::object_type_label(f.object_type.map(|t| t.as_str()).unwrap_or(""), l).to_string(),
        ),
        (l.t("行业", "Industry"), esc(&f.industry)),
        (l.t("简介", "Summary"), esc(&f.summary)),
        (l.t("数据来源与合法性", "Sources and legality"), esc(&f.legality_statement)),
        (l.t("加工规则", "Processing"), esc(&f.processing)),
        (l.t("样例", "Samples"), esc(&f.samples.join("\n"))),
        (
            l.t("内容承诺", "Content commitment"),
            f.content_commitment.as_ref().map(|c| format!("<code>{}</code>", esc(&c.root))).unwrap_or_default(),
        ),
    ] {
        body.push_str(&format!("<tr><th>{k}</th><td>{v}</td></tr>"));
    }
    body.push_str("</table>");
    if !overlaps.is_empty() {
        body.push_str(&format!(
            "<h2>{}</h2><table class=\"list\" id=\"overlaps\"><tr><th>{}</th><th>{}</th><th>{}</th></tr>",
            l.t("数据重合预警", "Overlap warnings"),
            l.t("其他申请", "Other filing"),
            l.t("权利人", "Holder"),
            l.t("本申请数据包含于其中的比例", "Share of this filing's records in it")
        ));
        for o in overlaps {
            body.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td>{:.0}%（95%: {:.0}–{:.0}%）</td></tr>",
                esc(&o.product_name),
                esc(&o.holder),
                o.containment * 100.0,
                o.low * 100.0,
                o.high * 100.0
            ));
        }
        body.push_str("</table>");
    }
    let choices = actions(app.state);
    if !choices.is_empty() {
        let mut opts = String::new();
        for (v, zh, en) in choices {
            let sel = if *v == typed.action { " selected" } else { "" };
            opts.push_str(&format!("<option value=\"{v}\"{sel}>{}</option>", l.t(zh, en)));
        }
        let error = error
            .map(|e| format!("<span class=\"field-error\" role=\"alert\" id=\"err-reasons\">{}</span>", esc(&e)))
            .unwrap_or_default();
        body.push_str(&format!(
            "<h2>{}</h2><form method=\"post\" action=\"/review/{}\" class=\"stack\" novalidate><input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
             <label for=\"action\">{}</label><select id=\"action\" name=\"action\">{opts}</select>\
             <label for=\"reasons\">{}</label><textarea id=\"reasons\" name=\"reasons\" rows=\"4\" aria-describedby=\"err-reasons\">{}</textarea>{error}\
             <button>{}</button></form>",
            l.t("决定", "Decision"),
            app.id,
            l.t("决定事项", "Action"),
            l.t("理由（将记录审查员身份）", "Reasons (recorded with your name)"),
            esc(typed.reasons),
            l.t("作出决定", "Decide")
        ));
    }
    layout(l, l.t("审查", "Review"), "/me", &body, &[])
}

async fn review(
    State(st): State<Arc<AppState>>,
    axum::extract::Path(id): axum::extract::Path<Uuid>,
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
) -> Response {
    let l = Lang::of(q.lang(), &headers);
    let Some((user, secret)) = session(&st, &headers).await else {
        return Redirect::to("/signin").into_response();
    };
    if user.role != Role::Examiner {
        return (StatusCode::FORBIDDEN, l.t("只有审查员可以审查。", "Only examiners review.")).into_response();
    }
    let Ok(Some(app)) = st.store.application(id).await else {
        return (StatusCode::NOT_FOUND, "not found").into_response();
    };
    let overlaps = crate::fingerprints::overlaps(&st, id).await.unwrap_or_default();
    review_page(l, &app, &overlaps, &csrf_of(&secret), Typed { action: "", reasons: "" }, None)
}

#[derive(Deserialize)]
pub struct DecisionForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    reasons: String,
}

async fn decide(
    State(st): State<Arc<AppState>>,
    axum::extract::Path(id): axum::extract::Path<Uuid>,
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
    Form(form): Form<DecisionForm>,
) -> Response {
    use dipr_domain::lifecycle::Command;
    let l = Lang::of(q.lang(), &headers);
    let Some((user, secret)) = session(&st, &headers).await else {
        return Redirect::to("/signin").into_response();
    };
    if user.role != Role::Examiner || form.csrf != csrf_of(&secret) {
        return (StatusCode::FORBIDDEN, l.t("表单已过期或无权操作。", "The form expired, or you may not do this."))
            .into_response();
    }
    let reasons = form.reasons.clone();
    let cmd = match form.action.as_str() {
        "accept" => Command::AcceptForReview,
        "pass_formal_review" => Command::PassFormalReview { reasons },
        "request_correction" => Command::RequestCorrection { items: Vec::new(), reasons },
        "reject" => Command::Reject { reasons },
        "approve" => Command::Approve { reasons },
        "refuse" => Command::Refuse { reasons },
        "revoke" => Command::Revoke { reasons },
        _ => return (StatusCode::UNPROCESSABLE_ENTITY, "unknown action").into_response(),
    };
    match crate::service::execute(&st, id, cmd, &actor_of(&user)).await {
        Ok(_) => Redirect::to(&format!("/review/{id}")).into_response(),
        Err(e) => {
            let message = crate::messages::refusal(&e, l);
            let Ok(Some(app)) = st.store.application(id).await else {
                return (StatusCode::NOT_FOUND, "not found").into_response();
            };
            let typed = Typed { action: &form.action, reasons: &form.reasons };
            let mut r = review_page(l, &app, &[], &csrf_of(&secret), typed, Some(message));
            *r.status_mut() = e.status();
            r
        }
    }
}
