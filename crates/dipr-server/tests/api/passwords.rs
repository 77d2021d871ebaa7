//! Passwords through the real router: changing one's own (API and web), each refusal changing nothing,
//! other sessions ending; an administrator-set password that must be changed before anything else (web and
//! API); a forgotten password reset by a link mailed through a real SMTP server on loopback, on SQLite and
//! (when `DIPR_TEST_POSTGRES_URL` is set) PostgreSQL: single use, expiry, no account enumeration, rate
//! limits; and the home page's sign-in entry.

use std::sync::mpsc;
use std::time::Duration;

use dipr_registry::accounts::token_hash;
use dipr_registry::watches::{SmtpSettings, SmtpTls};

use super::watches::{app_on, backends, smtp_server};
use super::web::{body_text, enc, error_at, hidden, Web};
use super::*;

const OLD: &str = "long enough pw";
const NEW: &str = "a brand new passphrase";

/// An applicant signed up through the API with `email`: its username and id.
async fn applicant(app: &App, email: Option<&str>) -> (String, String) {
    let username = format!("p-{}", Uuid::now_v7().simple());
    let party = json!({"kind": "legal_person", "name": "密码测试数据有限公司", "id_number": credit_code()});
    let v = app
        .ok(
            "POST",
            "/api/v1/auth/signup",
            None,
            Some(json!({"username": username, "password": OLD, "display_name": "王五", "role": "applicant",
                "party": party, "email": email})),
        )
        .await;
    (username, v["user"]["id"].as_str().unwrap().to_string())
}

async fn sign_in_with(app: &App, username: &str, password: &str) -> (StatusCode, Value) {
    app.call("POST", "/api/v1/auth/signin", None, Some(json!({"username": username, "password": password}))).await
}

fn change(current: &str, new: &str, repeat: &str) -> Value {
    json!({"current_password": current, "new_password": new, "repeat_password": repeat})
}

/// The audit events of an account, by kind.
async fn account_events(app: &App, id: &str) -> Vec<dipr_store::EventRecord> {
    app.state.store.events("user", id).await.unwrap()
}

#[tokio::test]
async fn a_password_change_refuses_each_problem_at_its_field_and_then_ends_the_other_sessions() {
    let app = App::new().await;
    let (username, id) = applicant(&app, None).await;
    let session = app.session(&username).await;
    let other_session = app.session(&username).await;
    let api_token = app.sign_in(&username).await;

    // Each refusal names its field and code, and changes nothing.
    let before = app.row_counts().await;
    for (body, field, code) in [
        (change("not my password", NEW, NEW), "current_password", "wrong_password"),
        (change(OLD, "short", "short"), "new_password", "weak_password"),
        (change(OLD, NEW, "a brand new passphrasf"), "repeat_password", "password_mismatch"),
        (change(OLD, OLD, OLD), "new_password", "password_unchanged"),
    ] {
        let v = app.err("POST", "/api/v1/me/password", Some(&session), Some(body), 422, "validation_failed").await;
        let details = v["error"]["details"].as_array().unwrap();
        assert_eq!(details.len(), 1, "{v}");
        assert_eq!((details[0]["field"].as_str(), details[0]["code"].as_str()), (Some(field), Some(code)));
    }
    // Every problem at once.
    let v = app
        .err("POST", "/api/v1/me/password", Some(&session), Some(change("wrong", "x", "y")), 422, "validation_failed")
        .await;
    let fields: Vec<&str> =
        v["error"]["details"].as_array().unwrap().iter().map(|d| d["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["current_password", "new_password", "repeat_password"]);
    assert_eq!(app.row_counts().await, before, "a refused change writes nothing");
    app.ok("GET", "/api/v1/me", Some(&other_session), None).await;
    assert_eq!(sign_in_with(&app, &username, OLD).await.0, StatusCode::OK, "the old password still works");

    // The change: the session that made it stays, every other session and API token ends.
    let (status, _) = app.call("POST", "/api/v1/me/password", Some(&session), Some(change(OLD, NEW, NEW))).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    app.ok("GET", "/api/v1/me", Some(&session), None).await;
    for ended in [&other_session, &api_token] {
        app.err("GET", "/api/v1/me", Some(ended), None, 401, "unauthenticated").await;
    }
    let (status, v) = sign_in_with(&app, &username, OLD).await;
    assert_eq!((status, v["error"]["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("invalid_credentials")));
    assert_eq!(sign_in_with(&app, &username, NEW).await.0, StatusCode::OK);

    // Recorded, never with a password.
    let events = account_events(&app, &id).await;
    let changed = events.iter().find(|e| e.kind == "password_changed").expect("an audit event");
    assert_eq!(changed.actor_id.map(|a| a.to_string()), Some(id.clone()));
    let all = serde_json::to_string(&events.iter().map(|e| &e.payload).collect::<Vec<_>>()).unwrap();
    assert!(!all.contains(NEW) && !all.contains(OLD), "{all}");
}

#[tokio::test]
async fn wrong_current_passwords_count_against_the_sign_in_throttle() {
    let app = App::new().await;
    let (username, _) = applicant(&app, None).await;
    let session = app.session(&username).await;
    let free = app.state.config.limits.sign_in_free_failures;
    for _ in 0..free {
        app.err(
            "POST",
            "/api/v1/me/password",
            Some(&session),
            Some(change("guess", NEW, NEW)),
            422,
            "validation_failed",
        )
        .await;
    }
    app.err("POST", "/api/v1/me/password", Some(&session), Some(change(OLD, NEW, NEW)), 429, "sign_in_throttled").await;
    let (status, v) = sign_in_with(&app, &username, OLD).await;
    assert_eq!((status.as_u16(), v["error"]["code"].as_str()), (429, Some("sign_in_throttled")), "one budget for both");
    assert_eq!(app.state.sign_ins.report().accounts[0].failed, u64::from(free));
}

async fn post_change(web: &Web<'_>, csrf: &str, current: &str, new: &str, repeat: &str) -> (StatusCode, String) {
    let fields = [("csrf", csrf), ("current_password", current), ("new_password", new), ("repeat_password", repeat)];
    web.post("/me/password", &fields).await
}

#[tokio::test]
async fn the_web_change_page_explains_each_refusal_and_confirms_the_change() {
    let app = App::new().await;
    let (username, _) = applicant(&app, None).await;
    let session = app.session(&username).await;
    let other = app.session(&username).await;
    let web = Web::new(&app, &session);
    let (status, html) = web.get("/me").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("href=\"/me/password\"") && html.contains("修改密码"), "linked from my registry");
    let (status, html) = web.get("/me/password").await;
    assert_eq!(status, StatusCode::OK);
    let csrf = hidden(&html, "csrf");
    let before = app.row_counts().await;
    let (status, html) = post_change(&web, &csrf, "wrong password", NEW, NEW).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error_at(&html, "current_password").as_deref(), Some("当前密码不正确。"));
    let (_, html) = post_change(&web, &csrf, OLD, "short", "short").await;
    assert_eq!(error_at(&html, "new_password").as_deref(), Some("密码至少 10 个字符。"));
    let (_, html) = post_change(&web, &csrf, OLD, NEW, "something else entirely").await;
    assert_eq!(error_at(&html, "repeat_password").as_deref(), Some("两次输入的新密码不一致。"));
    assert!(!html.contains(NEW), "a password is never sent back");
    assert_eq!(app.row_counts().await, before);

    let (status, html) = post_change(&web, &csrf, OLD, NEW, NEW).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("id=\"password-done\"") && html.contains("密码已修改"), "{html}");
    assert_eq!(web.get("/me").await.0, StatusCode::OK, "this session stays");
    app.err("GET", "/api/v1/me", Some(&other), None, 401, "unauthenticated").await;

    // The English page.
    let (_, html) = web.get("/me/password?lang=en").await;
    assert!(html.contains("Current password") && html.contains("New password again"));
}

#[tokio::test]
async fn an_administrator_set_password_must_be_changed_before_anything_else() {
    let app = App::new().await;
    let admin = app.staff(Role::Admin).await;
    let name = format!("e-{}", Uuid::now_v7().simple());
    let v = app
        .ok(
            "POST",
            "/api/v1/admin/users",
            Some(&admin),
            Some(json!({"username": name, "password": OLD, "display_name": "新审查员", "role": "examiner"})),
        )
        .await;
    assert_eq!(v["user"]["must_change_password"], true);
    let id = v["user"]["id"].as_str().unwrap().to_string();
    let session = app.session(&name).await;

    // The API: only the account itself, and the change.
    assert_eq!(app.ok("GET", "/api/v1/me", Some(&session), None).await["user"]["must_change_password"], true);
    app.err("GET", "/api/v1/review/queue", Some(&session), None, 403, "password_change_required").await;
    app.err("POST", "/api/v1/me/tokens", Some(&session), Some(json!({"name": "x"})), 403, "password_change_required")
        .await;

    // The web: every page leads to the change page, which says why.
    let web = Web::new(&app, &session);
    for path in ["/me", "/me/watches", "/admin"] {
        let req = Request::builder().uri(path).header("cookie", format!("dipr_session={session}")).body(Body::empty());
        let resp = app.router.clone().oneshot(req.unwrap()).await.unwrap();
        let to = resp.headers().get("location").and_then(|v| v.to_str().ok()).map(str::to_string);
        assert_eq!((resp.status(), to.as_deref()), (StatusCode::SEE_OTHER, Some("/me/password")), "{path}");
    }
    let (status, html) = web.get("/me/password").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("id=\"password-required\"") && html.contains("您的密码由管理员设置"));
    let csrf = hidden(&html, "csrf");
    let (_, html) = web.get("/me/password?lang=en").await;
    assert!(html.contains("Your password was set by an administrator"));
    // Another form is sent to the change page too, before anything is done.
    let before = app.row_counts().await;
    let form = [("csrf", csrf.as_str()), ("new-username", "x-someone"), ("new-role", "examiner")];
    let req = Request::builder()
        .method("POST")
        .uri("/admin/users/new")
        .header("content-type", "application/x-www-form-urlencoded")
        .header("cookie", format!("dipr_session={session}"))
        .body(Body::from(form.iter().map(|(k, v)| format!("{k}={}", enc(v))).collect::<Vec<_>>().join("&")))
        .unwrap();
    let resp = app.router.clone().oneshot(req).await.unwrap();
    assert_eq!(resp.headers().get("location").and_then(|v| v.to_str().ok()), Some("/me/password"));
    assert_eq!(app.row_counts().await, before);
    let (status, _) = post_change(&web, &csrf, OLD, NEW, NEW).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(web.get("/me").await.0, StatusCode::OK);
    app.ok("GET", "/api/v1/review/queue", Some(&session), None).await;

    // An administrator's reset on the web: every session ends, and the mark is back.
    let admin_web = Web::new(&app, &admin);
    let (_, html) = admin_web.get("/admin").await;
    let admin_csrf = hidden(&html, "csrf");
    let (status, html) = admin_web
        .post(
            "/admin/users",
            &[("csrf", &admin_csrf), ("user", &id), ("action", "reset-password"), ("password", "short")],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("密码至少 10 个字符"), "a weak password is refused");
    assert_eq!(sign_in_with(&app, &name, NEW).await.0, StatusCode::OK, "nothing changed");
    let (_, html) = admin_web
        .post(
            "/admin/users",
            &[("csrf", &admin_csrf), ("user", &id), ("action", "reset-password"), ("password", "set by the admin")],
        )
        .await;
    assert!(html.contains(&format!("已重置 {name} 的密码")), "{html}");
    app.err("GET", "/api/v1/me", Some(&session), None, 401, "unauthenticated").await;
    let (status, v) = sign_in_with(&app, &name, "set by the admin").await;
    assert_eq!(status, StatusCode::OK);
    let again = v["token"].as_str().unwrap().to_string();
    assert_eq!(app.ok("GET", "/api/v1/me", Some(&again), None).await["user"]["must_change_password"], true);
    app.err("GET", "/api/v1/review/queue", Some(&again), None, 403, "password_change_required").await;
    let kinds: Vec<String> = account_events(&app, &id).await.into_iter().map(|e| e.kind).collect();
    assert!(kinds.contains(&"password_changed".into()) && kinds.contains(&"password_reset_by_administrator".into()));

    // The same through the API.
    let path = format!("/api/v1/admin/users/{id}/password");
    app.err("POST", &path, Some(&admin), Some(json!({"password": "short"})), 422, "weak_password").await;
    let v = app.ok("POST", &path, Some(&admin), Some(json!({"password": "the api set this one"}))).await;
    assert_eq!(v["must_change_password"], true);
    app.err("GET", "/api/v1/me", Some(&again), None, 401, "unauthenticated").await;
    let (status, v) = sign_in_with(&app, &name, "the api set this one").await;
    assert_eq!(status, StatusCode::OK);
    let token = v["token"].as_str().unwrap();
    app.err("GET", "/api/v1/review/queue", Some(token), None, 403, "password_change_required").await;
    // Not one's own: that would end the administrator's own sessions; the change page is for that.
    let own = app.ok("GET", "/api/v1/me", Some(&admin), None).await["user"]["id"].as_str().unwrap().to_string();
    let path = format!("/api/v1/admin/users/{own}/password");
    app.err("POST", &path, Some(&admin), Some(json!({"password": "my own new one"})), 403, "reset_own_password").await;
    app.ok("GET", "/api/v1/me", Some(&admin), None).await;
}

// ---------------------------------------------------------------------------------------------------
// Reset by e-mail

fn with_smtp(port: u16) -> Config {
    Config {
        smtp: Some(SmtpSettings {
            host: "127.0.0.1".into(),
            port,
            from: "dipr <accounts@dipr.test>".into(),
            tls: SmtpTls::None,
            username: None,
            password: None,
            timeout_secs: 10,
        }),
        ..config()
    }
}

/// An anonymous browser's request: the answer's status, body and the form cookie it set.
async fn anonymous(
    app: &App,
    method: &str,
    path: &str,
    cookie: &str,
    form: &[(&str, &str)],
) -> (StatusCode, String, String) {
    let body: Vec<String> = form.iter().map(|(k, v)| format!("{}={}", enc(k), enc(v))).collect();
    let req = Request::builder()
        .method(method)
        .uri(path)
        .header("content-type", "application/x-www-form-urlencoded")
        .header("cookie", cookie)
        .body(Body::from(body.join("&")))
        .unwrap();
    let resp = app.router.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let set = resp
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.contains("_csrf="))
        .map(|c| c.split(';').next().unwrap().to_string())
        .unwrap_or_default();
    (status, body_text(resp).await, set)
}

/// Ask for a reset link on the web for `login`: the page's answer.
async fn forgot(app: &App, login: &str) -> (StatusCode, String) {
    let (_, html, cookie) = anonymous(app, "GET", "/password/forgot", "", &[]).await;
    let csrf = hidden(&html, "csrf");
    let (status, html, _) =
        anonymous(app, "POST", "/password/forgot", &cookie, &[("csrf", &csrf), ("login", login)]).await;
    (status, html)
}

/// The next mail, waited for without blocking the runtime (the registry sends it from a task of its own).
async fn next_mail(mail: &mpsc::Receiver<String>, within: Duration) -> Option<String> {
    let until = std::time::Instant::now() + within;
    loop {
        if let Ok(m) = mail.try_recv() {
            return Some(m);
        }
        if std::time::Instant::now() > until {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The mail's link path (`/password/reset/…`), with the mail.
async fn mailed_link(mail: &mpsc::Receiver<String>) -> (String, String) {
    let m = next_mail(mail, Duration::from_secs(20)).await.expect("a reset mail");
    let at = m.find("/password/reset/").expect("a link in the mail");
    let path: String = m[at..].chars().take_while(|c| !c.is_whitespace()).collect();
    (path, m)
}

/// The paragraph the forgot page answers with.
fn answer(html: &str) -> &str {
    let at = html.find("id=\"reset-sent\"").expect("the answer");
    &html[at..at + html[at..].find("</p>").unwrap()]
}

#[tokio::test]
async fn a_forgotten_password_is_reset_by_a_mailed_link_once_and_in_time() {
    for backend in backends() {
        let (port, mail) = smtp_server();
        let (app, _) = app_on(&backend, with_smtp(port)).await;
        let address = format!("{}@example.cn", Uuid::now_v7().simple());
        let (username, id) = applicant(&app, Some(&address.to_uppercase())).await;
        let session = app.session(&username).await;
        let api_token = app.sign_in(&username).await;

        // The sign-in page leads to the form; asking by e-mail address (any case) mails a link.
        let (_, html, _) = anonymous(&app, "GET", "/signin", "", &[]).await;
        assert!(html.contains("href=\"/password/forgot\"") && html.contains("忘记密码"));
        let (status, html) = forgot(&app, &address.to_uppercase()).await;
        assert_eq!(status, StatusCode::OK);
        let known = answer(&html).to_string();
        assert!(known.contains("30 分钟"), "{known}");
        let (link, m) = mailed_link(&mail).await;
        assert!(m.to_lowercase().contains(&format!("rcpt to:<{address}>")), "{m}");
        assert!(m.contains(&username) && m.contains("申请重置密码") && m.contains("reset the password"), "{m}");

        // Unknown accounts get the same answer, and no mail goes anywhere.
        let (status, html) = forgot(&app, "nobody-at-all").await;
        assert_eq!((status, answer(&html)), (StatusCode::OK, known.as_str()));
        let (status, html) = forgot(&app, "nobody@example.cn").await;
        assert_eq!((status, answer(&html)), (StatusCode::OK, known.as_str()));
        let (s, _) = app.call("POST", "/api/v1/auth/password-reset", None, Some(json!({"login": "nobody"}))).await;
        assert_eq!(s, StatusCode::ACCEPTED);

        // Only the hash is stored.
        let secret = link.trim_start_matches("/password/reset/");
        let stored = app.state.store.password_reset(&token_hash(secret)).await.unwrap().expect("stored by its hash");
        assert_eq!(stored.user_id.to_string(), id);
        assert!(app.state.store.password_reset(secret).await.unwrap().is_none());

        // Following the link: the form, each refusal at its field, then the new password.
        let (status, html, cookie) = anonymous(&app, "GET", &link, "", &[]).await;
        assert_eq!(status, StatusCode::OK);
        let csrf = hidden(&html, "csrf");
        let (status, html, _) = anonymous(
            &app,
            "POST",
            &link,
            &cookie,
            &[("csrf", &csrf), ("new_password", NEW), ("repeat_password", "not the same thing")],
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(error_at(&html, "repeat_password").as_deref(), Some("两次输入的新密码不一致。"));
        assert_eq!(sign_in_with(&app, &username, OLD).await.0, StatusCode::OK, "nothing changed yet");
        // Sent as the page sends it, with its form key: the key is not kept, since the address holds the secret.
        let keyed = format!("{link}?once=00112233445566778899aabbccddeeff");
        let form = [("csrf", csrf.as_str()), ("new_password", NEW), ("repeat_password", NEW)];
        let (status, html, _) = anonymous(&app, "POST", &keyed, &cookie, &form).await;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains("新密码已设置"), "{html}");
        if let Some(path) = &app.db_path {
            let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", path.display())).await.unwrap();
            let kept: i64 =
                sqlx::query_scalar("SELECT COUNT(*) FROM request_keys WHERE fingerprint LIKE '%' || $1 || '%'")
                    .bind(secret)
                    .fetch_one(&pool)
                    .await
                    .unwrap();
            assert_eq!(kept, 0, "the reset secret is stored nowhere in the clear");
            pool.close().await;
        }
        for ended in [&session, &api_token] {
            app.err("GET", "/api/v1/me", Some(ended), None, 401, "unauthenticated").await;
        }
        assert_eq!(sign_in_with(&app, &username, OLD).await.0, StatusCode::UNAUTHORIZED);
        assert_eq!(sign_in_with(&app, &username, NEW).await.0, StatusCode::OK);
        let kinds: Vec<String> = account_events(&app, &id).await.into_iter().map(|e| e.kind).collect();
        assert!(kinds.contains(&"password_reset_requested".into()) && kinds.contains(&"password_reset".into()));

        // Single use.
        let (status, html, _) = anonymous(&app, "GET", &link, "", &[]).await;
        assert_eq!(status, StatusCode::GONE);
        assert!(html.contains("id=\"reset-invalid\"") && html.contains("已使用或已过期"));
        app.err(
            "POST",
            "/api/v1/auth/password-reset/confirm",
            None,
            Some(json!({"token": secret, "new_password": "yet another password", "repeat_password": "yet another password"})),
            410,
            "reset_link_invalid",
        )
        .await;

        // Valid for 30 minutes only (asked through the API this time, by username).
        let (s, _) = app.call("POST", "/api/v1/auth/password-reset", None, Some(json!({"login": username}))).await;
        assert_eq!(s, StatusCode::ACCEPTED);
        let (late, _) = mailed_link(&mail).await;
        assert_eq!(anonymous(&app, "GET", &late, "", &[]).await.0, StatusCode::OK);
        app.state.adjustable.as_ref().unwrap().advance(chrono::Duration::minutes(31));
        let (status, html, _) = anonymous(&app, "GET", &late, "", &[]).await;
        assert_eq!(status, StatusCode::GONE);
        assert!(html.contains("reset-invalid"));
        assert_eq!(sign_in_with(&app, &username, NEW).await.0, StatusCode::OK);
        assert!(next_mail(&mail, Duration::from_millis(500)).await.is_none(), "no mail for the unknown accounts");
    }
}

#[tokio::test]
async fn reset_requests_are_limited_per_client_and_per_account() {
    let (port, mail) = smtp_server();
    let mut config = with_smtp(port);
    config.limits.password_reset_client_burst = 6;
    let app = App::with(config, signer()).await;
    let address = format!("{}@example.cn", Uuid::now_v7().simple());
    let (username, _) = applicant(&app, Some(&address)).await;
    // At most three links an hour to one account, whoever asks; the answer does not change.
    for _ in 0..5 {
        let (s, _) = app.call("POST", "/api/v1/auth/password-reset", None, Some(json!({"login": username}))).await;
        assert_eq!(s, StatusCode::ACCEPTED);
    }
    for _ in 0..3 {
        mailed_link(&mail).await;
    }
    assert!(next_mail(&mail, Duration::from_secs(1)).await.is_none(), "no fourth link this hour");
    // Then the client's budget: the page says so, with Retry-After.
    let (status, html) = forgot(&app, &address).await;
    assert_eq!(status, StatusCode::OK, "the sixth request is within the budget");
    answer(&html);
    let (status, html) = forgot(&app, "someone-else").await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert!(html.contains("重置密码的请求过于频繁"), "{html}");
    app.err("POST", "/api/v1/auth/password-reset", None, Some(json!({"login": "x"})), 429, "password_resets_throttled")
        .await;
}

#[tokio::test]
async fn without_a_mail_server_the_forgot_page_says_to_contact_the_registry() {
    let app = App::new().await;
    let (status, html, _) = anonymous(&app, "GET", "/password/forgot", "", &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("id=\"reset-unavailable\"") && html.contains("请携带身份证明联系登记机构"));
    let (_, html, _) = anonymous(&app, "GET", "/password/forgot?lang=en", "", &[]).await;
    assert!(html.contains("Please contact the registry"));
    app.err(
        "POST",
        "/api/v1/auth/password-reset",
        None,
        Some(json!({"login": "x"})),
        503,
        "password_reset_unavailable",
    )
    .await;
}

#[tokio::test]
async fn the_home_page_offers_sign_in_and_sign_up_or_greets_the_signed_in() {
    let app = App::new().await;
    let (_, html, _) = anonymous(&app, "GET", "/", "", &[]).await;
    assert!(html.contains("id=\"home-signin\" href=\"/signin\">登录<") && html.contains("href=\"/signup\">注册<"));
    let (_, html, _) = anonymous(&app, "GET", "/?lang=en", "", &[]).await;
    assert!(html.contains(">Sign in<") && html.contains(">Sign up<"));
    let (username, _) = applicant(&app, None).await;
    let session = app.session(&username).await;
    let (_, html) = Web::new(&app, &session).get("/").await;
    assert!(html.contains("您好，王五") && html.contains("href=\"/me\""), "{html}");
    assert!(!html.contains("id=\"home-signin\""));
}

#[tokio::test]
async fn an_account_sets_its_e_mail_address_with_its_password() {
    let (port, mail) = smtp_server();
    let app = App::with(with_smtp(port), signer()).await;
    let (username, _) = applicant(&app, None).await;
    let session = app.session(&username).await;
    let address = format!("{}@example.cn", Uuid::now_v7().simple());

    // The API: each problem at its field, nothing changed.
    let before = app.row_counts().await;
    let v = app
        .err(
            "PUT",
            "/api/v1/me/email",
            Some(&session),
            Some(json!({"current_password": "not it", "email": "not an address"})),
            422,
            "validation_failed",
        )
        .await;
    let codes: Vec<&str> =
        v["error"]["details"].as_array().unwrap().iter().map(|d| d["code"].as_str().unwrap()).collect();
    assert_eq!(codes, ["wrong_password", "invalid_email"]);
    assert_eq!(app.row_counts().await, before);
    assert!(app.ok("GET", "/api/v1/me", Some(&session), None).await["user"]["email"].is_null());

    // The web page: the address is set, and reset links go there.
    let web = Web::new(&app, &session);
    let (_, html) = web.get("/me").await;
    assert!(html.contains("href=\"/me/email\""));
    let (status, html) = web.get("/me/email").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("尚未留电子邮箱"));
    let csrf = hidden(&html, "csrf");
    let (status, html) =
        web.post("/me/email", &[("csrf", &csrf), ("email", &address), ("current_password", "no")]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error_at(&html, "current_password").as_deref(), Some("当前密码不正确。"));
    let (status, html) =
        web.post("/me/email", &[("csrf", &csrf), ("email", &address), ("current_password", OLD)]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("电子邮箱已保存"));
    assert_eq!(app.ok("GET", "/api/v1/me", Some(&session), None).await["user"]["email"], address.as_str());
    let (_, html) = web.get("/me/email?lang=en").await;
    assert!(html.contains(&format!("Password reset links are sent to {address}")));
    forgot(&app, &address).await;
    let (_, m) = mailed_link(&mail).await;
    assert!(m.contains(&username));

    // Removed again through the API.
    let v =
        app.ok("PUT", "/api/v1/me/email", Some(&session), Some(json!({"current_password": OLD, "email": ""}))).await;
    assert!(v["email"].is_null());
}
