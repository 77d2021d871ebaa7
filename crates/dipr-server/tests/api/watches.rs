//! Watches end to end, on SQLite and (when `DIPR_TEST_POSTGRES_URL` is set) PostgreSQL: alerts in the portal
//! and the API, mail received by a real SMTP server on loopback, webhooks received by a real HTTP server on
//! loopback whose signatures the test checks, retries, disabling, refused private targets, and two
//! dispatchers racing over one database.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};

use base64::Engine as _;
use dipr_registry::watches::{SmtpSettings, SmtpTls, WebhookSettings};
use dipr_registry::{Config, Registry};
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use uuid::Uuid;

use super::{config, signer, App};

/// The databases to run on: SQLite always, PostgreSQL when configured (each test in its own schema).
pub(super) fn backends() -> Vec<Option<String>> {
    let mut out = vec![None];
    if let Ok(url) = std::env::var("DIPR_TEST_POSTGRES_URL") {
        out.push(Some(url));
    } else {
        eprintln!("DIPR_TEST_POSTGRES_URL not set: watches tested on SQLite only here");
    }
    out
}

/// An app on a new database of `backend`, and the PostgreSQL schema it is in.
pub(super) async fn app_on(backend: &Option<String>, config: Config) -> (App, Option<String>) {
    match backend {
        None => (App::with(config, signer()).await, None),
        Some(url) => {
            let schema = format!("watches_{}", Uuid::now_v7().simple());
            let store = Arc::new(dipr_store::PgStore::connect_in_schema(url, &schema).await.unwrap());
            let state = Registry::new(store, config, signer()).await.unwrap();
            (App { router: dipr_server::router(state.clone()), state, db_path: None }, Some(schema))
        }
    }
}

/// A second registry on `app`'s database, with `config`: on PostgreSQL through a pool of its own, as another
/// server process would; on SQLite through the same store (one writer per database and process).
async fn second(app: &App, backend: &Option<String>, schema: &Option<String>, config: Config) -> Arc<Registry> {
    let store: Arc<dyn dipr_store::Store> = match (backend, schema) {
        (Some(url), Some(schema)) => Arc::new(dipr_store::PgStore::connect_in_schema(url, schema).await.unwrap()),
        _ => app.state.store.clone(),
    };
    Registry::new(store, config, signer()).await.unwrap()
}

// ---------------------------------------------------------------------------------------------------
// A real SMTP server and a real HTTP receiver on loopback

/// Speaks enough SMTP for a client to hand over mail; each message (envelope lines, then the data) is sent
/// on the returned channel.
pub(super) fn smtp_server() -> (u16, mpsc::Receiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            let tx = tx.clone();
            std::thread::spawn(move || smtp_session(stream, tx));
        }
    });
    (port, rx)
}

fn smtp_session(stream: TcpStream, tx: mpsc::Sender<String>) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut w = stream;
    w.write_all(b"220 mail.test ESMTP\r\n")?;
    let mut envelope = String::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let command = line.trim_end().to_ascii_uppercase();
        if command.starts_with("EHLO") {
            w.write_all(b"250-mail.test\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n")?;
        } else if command.starts_with("HELO") || command == "RSET" || command == "NOOP" {
            w.write_all(b"250 OK\r\n")?;
        } else if command.starts_with("MAIL FROM") || command.starts_with("RCPT TO") {
            envelope.push_str(line.trim_end());
            envelope.push('\n');
            w.write_all(b"250 OK\r\n")?;
        } else if command == "DATA" {
            w.write_all(b"354 go ahead\r\n")?;
            let mut data = Vec::new();
            loop {
                let mut l = Vec::new();
                if reader.read_until(b'\n', &mut l)? == 0 {
                    return Ok(());
                }
                if l == b".\r\n" {
                    break;
                }
                // Dot-stuffing undone.
                data.extend_from_slice(l.strip_prefix(b".").filter(|_| l.starts_with(b"..")).unwrap_or(&l));
            }
            tx.send(format!("{envelope}\n{}", String::from_utf8_lossy(&data))).unwrap();
            envelope.clear();
            w.write_all(b"250 queued\r\n")?;
        } else if command == "QUIT" {
            w.write_all(b"221 bye\r\n")?;
            return Ok(());
        } else {
            w.write_all(b"502 not implemented\r\n")?;
        }
    }
}

/// One request the receiver got: its headers (names in lower case) and body.
struct Received {
    headers: std::collections::HashMap<String, String>,
    body: Vec<u8>,
}

/// An HTTP server that answers the n-th request (from 0) with `status(n)`, and sends each request it got on
/// the returned channel.
fn receiver(status: impl Fn(usize) -> u16 + Send + Sync + 'static) -> (u16, mpsc::Receiver<Received>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = mpsc::channel();
    let count = Arc::new(AtomicUsize::new(0));
    let status = Arc::new(status);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            let (tx, count, status) = (tx.clone(), count.clone(), status.clone());
            std::thread::spawn(move || {
                let Ok(r) = read_request(&stream) else { return };
                let code = status(count.fetch_add(1, Ordering::SeqCst));
                tx.send(r).unwrap();
                let mut w = stream;
                let _ = write!(w, "HTTP/1.1 {code} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
            });
        }
    });
    (port, rx)
}

fn read_request(stream: &TcpStream) -> std::io::Result<Received> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut headers = std::collections::HashMap::new();
    let mut line = String::new();
    reader.read_line(&mut line)?;
    loop {
        line.clear();
        reader.read_line(&mut line)?;
        let Some((k, v)) = line.trim_end().split_once(':') else { break };
        headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
    }
    let len: usize = headers.get("content-length").and_then(|l| l.parse().ok()).unwrap_or(0);
    let mut body = vec![0; len];
    reader.read_exact(&mut body)?;
    Ok(Received { headers, body })
}

/// Check a delivery's signature the Standard Webhooks way, independently of the registry's code.
fn verify(secret: &str, r: &Received) -> bool {
    let b64 = base64::engine::general_purpose::STANDARD;
    let key = b64.decode(secret.strip_prefix("whsec_").unwrap()).unwrap();
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(&key).unwrap();
    let signed = format!("{}.{}.", r.headers["webhook-id"], r.headers["webhook-timestamp"]);
    mac.update(signed.as_bytes());
    mac.update(&r.body);
    let expected = format!("v1,{}", b64.encode(mac.finalize().into_bytes()));
    r.headers["webhook-signature"].split(' ').any(|s| s == expected)
}

fn watch_config(smtp_port: Option<u16>, webhooks: WebhookSettings) -> Config {
    Config {
        smtp: smtp_port.map(|port| SmtpSettings {
            host: "127.0.0.1".into(),
            port,
            from: "dipr <alerts@dipr.test>".into(),
            tls: SmtpTls::None,
            username: None,
            password: None,
            timeout_secs: 10,
        }),
        webhooks,
        ..config()
    }
}

/// An account that signs up with a known username: (username, API token).
async fn account(app: &App, name: &str) -> (String, String) {
    account_of(app, name, &super::credit_code()).await
}

/// The same, for the party with credit code `code`.
async fn account_of(app: &App, name: &str, code: &str) -> (String, String) {
    let username = format!("w-{}", Uuid::now_v7().simple());
    let party = json!({"kind": "legal_person", "name": format!("{name}公司"), "id_number": code});
    app.ok("POST", "/api/v1/auth/signup", None, Some(json!({"username": username, "password": "long enough pw", "display_name": name, "role": "applicant", "party": party}))).await;
    let token = app.sign_in(&username).await;
    (username, token)
}

fn advance(app: &App, secs: i64) {
    app.state.adjustable.as_ref().unwrap().advance(chrono::Duration::seconds(secs));
}

// ---------------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_watch_alerts_in_the_portal_by_mail_and_by_a_signed_webhook_retried_after_two_failures() {
    for backend in backends() {
        let (smtp_port, mails) = smtp_server();
        let (hook_port, hooks) = receiver(|n| if n < 2 { 500 } else { 204 });
        let webhooks = WebhookSettings { allow_private: true, retry_base_secs: 60, ..Default::default() };
        let (app, _) = app_on(&backend, watch_config(Some(smtp_port), webhooks)).await;
        let (a, e, admin) = super::actors(&app).await;
        let id = app.publish_notice(&a, &e, "城市交通流量数据集").await;
        let (username, w) = account(&app, "关注者").await;

        let v = app
            .ok(
                "POST",
                "/api/v1/me/webhooks",
                Some(&w),
                Some(json!({"url": format!("http://127.0.0.1:{hook_port}/hook"), "description": "风控系统"})),
            )
            .await;
        let secret = v["secret"].as_str().unwrap().to_string();
        assert!(secret.starts_with("whsec_"));
        let endpoint = v["endpoint"]["id"].as_str().unwrap().to_string();
        assert!(v["endpoint"].get("secret").is_none(), "the secret is shown once, beside the endpoint");
        let watch = app
            .ok("POST", "/api/v1/me/watches", Some(&w), Some(json!({"kind": "registration", "target": id, "email": "risk@bank.test", "email_mode": "immediate", "endpoint_id": endpoint})))
            .await;
        assert_eq!(watch["label"], "城市交通流量数据集");

        // The notice ends: the record is registered, a public event in the log.
        app.advance(&admin, 20).await;
        let matched = dipr_registry::watches::dispatch(&app.state).await.unwrap();
        assert_eq!(matched.alerts, 1, "{matched:?}");

        // In the portal: the API's alerts and the signed-in page.
        let alerts = app.ok("GET", "/api/v1/me/alerts", Some(&w), None).await;
        let items = alerts["items"].as_array().unwrap();
        assert_eq!(items.len(), 1);
        assert_eq!(
            (items[0]["kind"].as_str(), items[0]["application_id"].as_str()),
            (Some("notice_ended"), Some(id.as_str()))
        );
        let log_index = items[0]["log_index"].as_u64().unwrap();
        let session = app.session(&username).await;
        let page = web_page(&app, "/me", &session).await;
        assert!(page.contains("id=\"portal-alerts\"") && page.contains("城市交通流量数据集"), "{page}");
        // Nobody else sees them.
        assert_eq!(app.ok("GET", "/api/v1/me/alerts", Some(&a), None).await["items"], json!([]));

        // First pass: the mail goes out, the webhook fails.
        let sent = dipr_registry::watches::deliver(&app.state).await.unwrap();
        assert_eq!((sent.delivered, sent.failed), (1, 1));
        let mail = mails.recv_timeout(std::time::Duration::from_secs(30)).unwrap();
        assert!(mail.contains("RCPT TO:<risk@bank.test>"), "{mail}");
        assert!(mail.contains("城市交通流量数据集") && mail.contains("notice_ended"), "{mail}");
        assert!(mail.contains(&format!("/records/{id}")) && mail.contains(&format!("log index {log_index}")), "{mail}");
        let first = hooks.recv_timeout(std::time::Duration::from_secs(30)).unwrap();

        // Not due again before the back-off; then a second failure, and the third attempt (after twice the
        // wait) is answered.
        assert_eq!(dipr_registry::watches::deliver(&app.state).await.unwrap().failed, 0);
        advance(&app, 61);
        assert_eq!(dipr_registry::watches::deliver(&app.state).await.unwrap().failed, 1);
        let second_try = hooks.recv_timeout(std::time::Duration::from_secs(30)).unwrap();
        advance(&app, 61);
        assert_eq!(dipr_registry::watches::deliver(&app.state).await.unwrap(), Default::default(), "120 s after");
        advance(&app, 60);
        assert_eq!(dipr_registry::watches::deliver(&app.state).await.unwrap().delivered, 1);
        let third = hooks.recv_timeout(std::time::Duration::from_secs(30)).unwrap();

        for r in [&first, &second_try, &third] {
            assert!(verify(&secret, r), "signature of {:?}", r.headers);
            assert!(!verify("whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", r));
            assert_eq!(r.headers["webhook-id"], first.headers["webhook-id"], "the same message id on every attempt");
        }
        let body: Value = serde_json::from_slice(&third.body).unwrap();
        assert_eq!(body["type"], "watch.alert");
        assert_eq!(
            (body["data"]["kind"].as_str(), body["data"]["log_index"].as_u64()),
            (Some("notice_ended"), Some(log_index))
        );
        assert_eq!(body["data"]["watch_id"], watch["id"]);

        // The endpoint's event log, to its owner only.
        let log = app.ok("GET", &format!("/api/v1/me/webhooks/{endpoint}"), Some(&w), None).await;
        let statuses: Vec<Value> = log["attempts"].as_array().unwrap().iter().map(|a| a["status"].clone()).collect();
        assert_eq!(statuses, [json!(204), json!(500), json!(500)]);
        assert_eq!(log["attempts"][0]["delivery_state"], "delivered");
        assert_eq!(log["endpoint"]["failures"], 0);
        app.err("GET", &format!("/api/v1/me/webhooks/{endpoint}"), Some(&a), None, 404, "not_found").await;
        let html = web_page(&app, &format!("/me/webhooks/{endpoint}"), &session).await;
        assert!(html.contains("id=\"delivery-log\"") && html.contains(first.headers["webhook-id"].as_str()), "{html}");

        // Nothing is matched or sent twice; a stopped watch alerts no more.
        assert_eq!(dipr_registry::watches::dispatch(&app.state).await.unwrap().alerts, 0);
        app.ok("POST", &format!("/api/v1/me/watches/{}/stop", watch["id"].as_str().unwrap()), Some(&w), None).await;
        app.err(
            "POST",
            &format!("/api/v1/me/watches/{}/stop", watch["id"].as_str().unwrap()),
            Some(&a),
            None,
            404,
            "not_found",
        )
        .await;
        let reg = app.ok("GET", &format!("/api/v1/applications/{id}"), Some(&a), None).await;
        let number = reg["registration"]["registration_number"].as_str().unwrap().to_string();
        let dispute = json!({"objector_name": "某公司", "grounds": "权属争议"});
        app.ok("POST", &format!("/api/v1/records/{id}/disputes"), Some(&admin), Some(dispute)).await;
        assert_eq!(dipr_registry::watches::dispatch(&app.state).await.unwrap().alerts, 0);
        let listed = app.ok("GET", "/api/v1/me/watches", Some(&w), None).await;
        assert!(listed["watches"][0]["stopped_at"].is_string(), "{listed}");

        // A watch by registration number resolves to the record.
        let by_number = app
            .ok("POST", "/api/v1/me/watches", Some(&w), Some(json!({"kind": "registration", "target": number})))
            .await;
        assert_eq!(by_number["target"], id.as_str());
        assert!(mails.try_recv().is_err(), "one mail only");
    }
}

async fn web_page(app: &App, path: &str, session: &str) -> String {
    use tower::ServiceExt;
    let req = axum::http::Request::builder()
        .uri(path)
        .header("cookie", format!("dipr_session={session}"))
        .body(axum::body::Body::empty())
        .unwrap();
    let resp = app.router.clone().oneshot(req).await.unwrap();
    assert_eq!(resp.status(), 200, "{path}");
    String::from_utf8(axum::body::to_bytes(resp.into_body(), usize::MAX).await.unwrap().to_vec()).unwrap()
}

#[tokio::test]
async fn private_webhook_targets_are_refused_unless_allowed_and_checked_again_at_delivery() {
    for backend in backends() {
        let (app, _) = app_on(&backend, watch_config(None, WebhookSettings::default())).await;
        let (_, w) = account(&app, "甲").await;
        for url in [
            "http://127.0.0.1:9/hook",
            "http://localhost:8080/",
            "http://169.254.169.254/latest",
            "http://[::1]/x",
            "http://10.0.0.8/",
            "http://[::ffff:192.168.1.1]/",
        ] {
            app.err("POST", "/api/v1/me/webhooks", Some(&w), Some(json!({"url": url})), 422, "webhook_target_refused")
                .await;
        }
        let v = app
            .err(
                "POST",
                "/api/v1/me/webhooks",
                Some(&w),
                Some(json!({"url": "ftp://example.cn/x"})),
                422,
                "validation_failed",
            )
            .await;
        assert_eq!(v["error"]["details"][0]["code"], "invalid_webhook_url");
        app.err(
            "POST",
            "/api/v1/me/watches",
            Some(&w),
            Some(json!({"kind": "search", "target": "语料", "email": "a@b.test", "email_mode": "daily"})),
            409,
            "email_not_configured",
        )
        .await;
        assert_eq!(app.ok("GET", "/api/v1/me/watches", Some(&w), None).await, json!({"watches": [], "endpoints": []}));

        // Allowed by the configuration, the endpoint is registered; a registry that does not allow private
        // addresses refuses to call it after resolving the name, at delivery.
        let (hook_port, hooks) = receiver(|_| 200);
        let allowed = WebhookSettings { allow_private: true, ..Default::default() };
        let (open, schema) = app_on(&backend, watch_config(None, allowed)).await;
        let (a, e, _) = super::actors(&open).await;
        let (_, w) = account(&open, "乙").await;
        let url = format!("http://localhost:{hook_port}/hook");
        let v = open.ok("POST", "/api/v1/me/webhooks", Some(&w), Some(json!({"url": url}))).await;
        let endpoint = v["endpoint"]["id"].as_str().unwrap().to_string();
        open.ok(
            "POST",
            "/api/v1/me/watches",
            Some(&w),
            Some(json!({"kind": "search", "target": "气象 数据", "endpoint_id": endpoint})),
        )
        .await;
        open.publish_notice(&a, &e, "气象观测数据").await;
        let strict = second(&open, &backend, &schema, watch_config(None, WebhookSettings::default())).await;
        assert_eq!(dipr_registry::watches::dispatch(&strict).await.unwrap().alerts, 1);
        assert_eq!(dipr_registry::watches::deliver(&strict).await.unwrap().failed, 1);
        let log = open.ok("GET", &format!("/api/v1/me/webhooks/{endpoint}"), Some(&w), None).await;
        let error = log["attempts"][0]["error"].as_str().unwrap();
        assert!(error.contains("private, loopback or link-local"), "{error}");
        assert!(hooks.try_recv().is_err(), "nothing reached the private address");
    }
}

#[tokio::test]
async fn an_endpoint_that_keeps_failing_is_disabled_and_its_owner_can_enable_it() {
    for backend in backends() {
        let (hook_port, hooks) = receiver(|_| 503);
        let webhooks =
            WebhookSettings { allow_private: true, retry_base_secs: 10, disable_after: 3, ..Default::default() };
        let (app, _) = app_on(&backend, watch_config(None, webhooks)).await;
        let code = super::credit_code();
        let (_, a) = account_of(&app, "港航数据", &code).await;
        let e = app.staff(dipr_domain::access::Role::Examiner).await;
        let (_, w) = account(&app, "丙").await;
        let v = app
            .ok("POST", "/api/v1/me/webhooks", Some(&w), Some(json!({"url": format!("http://127.0.0.1:{hook_port}/")})))
            .await;
        let endpoint = v["endpoint"]["id"].as_str().unwrap().to_string();
        // The holder's credit code: every record it files or holds.
        app.ok(
            "POST",
            "/api/v1/me/watches",
            Some(&w),
            Some(json!({"kind": "holder", "target": code, "endpoint_id": endpoint})),
        )
        .await;
        app.publish_notice(&a, &e, "港口吞吐数据").await;
        app.publish_notice(&a, &e, "航运指数数据").await;
        assert_eq!(dipr_registry::watches::dispatch(&app.state).await.unwrap().alerts, 2);

        // Two failures in the first pass, a third after the back-off: disabled.
        assert_eq!(dipr_registry::watches::deliver(&app.state).await.unwrap().failed, 2);
        advance(&app, 11);
        assert_eq!(dipr_registry::watches::deliver(&app.state).await.unwrap().failed, 1);
        let log = app.ok("GET", &format!("/api/v1/me/webhooks/{endpoint}"), Some(&w), None).await;
        assert_eq!(
            (log["endpoint"]["disabled_reason"].as_str(), log["endpoint"]["failures"].as_u64()),
            (Some("failing"), Some(3))
        );
        assert_eq!(log["attempts"].as_array().unwrap().len(), 3);
        // Disabled, it is not called, however long one waits.
        advance(&app, 3600);
        assert_eq!(dipr_registry::watches::deliver(&app.state).await.unwrap(), Default::default());
        assert_eq!(hooks.try_iter().count(), 3);
        // Nobody else can enable it; its owner can, and deliveries resume.
        let (_, other) = account(&app, "丁").await;
        app.err(
            "POST",
            &format!("/api/v1/me/webhooks/{endpoint}/state"),
            Some(&other),
            Some(json!({"enabled": true})),
            404,
            "not_found",
        )
        .await;
        let v = app
            .ok("POST", &format!("/api/v1/me/webhooks/{endpoint}/state"), Some(&w), Some(json!({"enabled": true})))
            .await;
        assert!(v["disabled_at"].is_null());
        assert_eq!(dipr_registry::watches::deliver(&app.state).await.unwrap().failed, 2);
    }
}

#[tokio::test]
async fn two_dispatchers_racing_produce_each_alert_once_and_send_each_delivery_once() {
    for backend in backends() {
        let (hook_port, hooks) = receiver(|_| 200);
        let webhooks = WebhookSettings { allow_private: true, ..Default::default() };
        let (app, schema) = app_on(&backend, watch_config(None, webhooks.clone())).await;
        let other = second(&app, &backend, &schema, watch_config(None, webhooks)).await;
        let (a, e, _) = super::actors(&app).await;
        let mut endpoints = Vec::new();
        for name in ["戊", "己", "庚"] {
            let (_, w) = account(&app, name).await;
            let v = app
                .ok(
                    "POST",
                    "/api/v1/me/webhooks",
                    Some(&w),
                    Some(json!({"url": format!("http://127.0.0.1:{hook_port}/")})),
                )
                .await;
            let endpoint = v["endpoint"]["id"].as_str().unwrap().to_string();
            app.ok(
                "POST",
                "/api/v1/me/watches",
                Some(&w),
                Some(json!({"kind": "search", "target": "电力", "endpoint_id": endpoint})),
            )
            .await;
            endpoints.push(w);
        }
        for i in 0..4 {
            app.publish_notice(&a, &e, &format!("电力负荷数据{i}")).await;
        }
        // Each notice is one public event matching the three searches.
        let (x, y) =
            tokio::join!(dipr_registry::watches::dispatch(&app.state), dipr_registry::watches::dispatch(&other));
        let (x, y) = (x.unwrap(), y.unwrap());
        assert_eq!(x.alerts + y.alerts, 12, "{x:?} {y:?}");
        let (x, y) = tokio::join!(dipr_registry::watches::deliver(&app.state), dipr_registry::watches::deliver(&other));
        let (x, y) = (x.unwrap(), y.unwrap());
        assert_eq!(x.delivered + y.delivered, 12, "{x:?} {y:?}");
        let ids: Vec<String> = hooks.try_iter().map(|r| r.headers["webhook-id"].clone()).collect();
        let distinct: std::collections::HashSet<&String> = ids.iter().collect();
        assert_eq!((ids.len(), distinct.len()), (12, 12));
        for w in &endpoints {
            assert_eq!(app.ok("GET", "/api/v1/me/alerts", Some(w), None).await["items"].as_array().unwrap().len(), 4);
        }
    }
}

fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker).unwrap_or_else(|| panic!("no {name} in page")) + marker.len();
    html[start..].split('"').next().unwrap().to_string()
}

#[tokio::test]
async fn the_watch_pages_make_list_and_stop_watches_and_endpoints_for_their_owner_only() {
    for backend in backends() {
        let webhooks = WebhookSettings { allow_private: true, ..Default::default() };
        let (app, _) = app_on(&backend, watch_config(None, webhooks)).await;
        let (a, e, _) = super::actors(&app).await;
        let id = app.publish_notice(&a, &e, "企业征信数据").await;
        let (_, w) = account(&app, "律所").await;
        let (_, stranger) = account(&app, "他人").await;
        let web = super::web::Web::new(&app, &w);

        // The record page offers to watch it; the page it leads to has the form filled in.
        let (status, record) = super::web::Web::new(&app, "").get(&format!("/records/{id}")).await;
        assert_eq!(status, 200);
        assert!(record.contains(&format!("href=\"/me/watches?watch={id}#new-watch\"")), "{record}");
        let (status, html) = web.get(&format!("/me/watches?watch={id}")).await;
        assert_eq!(status, 200);
        assert!(html.contains(&format!("value=\"{id}\"")), "{html}");
        let csrf = hidden(&html, "csrf");

        // A bad target is explained at its field, in Chinese, and nothing is written.
        let bad = [("csrf", csrf.as_str()), ("kind", "registration"), ("target", "不是编号"), ("email_mode", "none")];
        let (status, html) = web.post("/me/watches?once=web-watch-bad-1", &bad).await;
        assert_eq!(status, 422);
        assert!(html.contains("id=\"err-target\">请填写登记编号或公开记录的编号（ID）。"), "{html}");
        assert!(html.contains("value=\"不是编号\""), "what was typed is kept");
        let (status, _) = web.post("/me/watches?once=web-watch-bad-2", &[("kind", "search"), ("target", "征信")]).await;
        assert_ne!(status, 303, "no CSRF token, no watch");
        assert_eq!(app.ok("GET", "/api/v1/me/watches", Some(&w), None).await["watches"], json!([]));

        // Made once, however often the form is sent.
        let good = [("csrf", csrf.as_str()), ("kind", "registration"), ("target", id.as_str()), ("email_mode", "none")];
        for _ in 0..2 {
            let (status, _) = web.post("/me/watches?once=web-watch-good", &good).await;
            assert_eq!(status, 303);
        }
        let listed = app.ok("GET", "/api/v1/me/watches", Some(&w), None).await;
        assert_eq!(listed["watches"].as_array().unwrap().len(), 1);
        let watch = listed["watches"][0]["id"].as_str().unwrap().to_string();
        let (_, html) = web.get("/me/watches").await;
        assert!(html.contains("id=\"my-watches\"") && html.contains("企业征信数据"), "{html}");
        let (_, theirs) = super::web::Web::new(&app, &stranger).get("/me/watches").await;
        assert!(!theirs.contains("企业征信数据"), "another account sees none of it");

        // An endpoint: its secret shown once, its page to its owner only.
        let (hook_port, _hooks) = receiver(|_| 200);
        let url = format!("http://127.0.0.1:{hook_port}/hook");
        let (status, html) = web
            .post(
                "/me/webhooks?once=web-endpoint",
                &[("csrf", csrf.as_str()), ("url", url.as_str()), ("description", "<script>x</script>")],
            )
            .await;
        assert_eq!(status, 201);
        assert!(html.contains("id=\"webhook-secret\"") && html.contains("whsec_"), "{html}");
        assert!(html.contains("script&#62;x") && !html.contains("<script>x"), "escaped: {html}");
        let endpoint = app.ok("GET", "/api/v1/me/watches", Some(&w), None).await["endpoints"][0]["id"]
            .as_str()
            .unwrap()
            .to_string();
        let (status, html) = web.get(&format!("/me/webhooks/{endpoint}")).await;
        assert_eq!(status, 200);
        assert!(html.contains(&url) && html.contains("id=\"disable-endpoint\""), "{html}");
        let (status, _) = super::web::Web::new(&app, &stranger).get(&format!("/me/webhooks/{endpoint}")).await;
        assert_eq!(status, 404);
        let (status, _) = web
            .post(
                "/me/webhooks/state?once=web-disable",
                &[("csrf", csrf.as_str()), ("endpoint", endpoint.as_str()), ("enabled", "false")],
            )
            .await;
        assert_eq!(status, 303);
        let (_, html) = web.get(&format!("/me/webhooks/{endpoint}")).await;
        assert!(html.contains("id=\"enable-endpoint\""), "{html}");

        // Stopped by its owner only; it stays listed.
        let stranger_csrf = hidden(&super::web::Web::new(&app, &stranger).get("/me/watches").await.1, "csrf");
        let (status, _) = super::web::Web::new(&app, &stranger)
            .post("/me/watches/stop?once=web-stop-1", &[("csrf", stranger_csrf.as_str()), ("watch", watch.as_str())])
            .await;
        assert_eq!(status, 404);
        let (status, _) =
            web.post("/me/watches/stop?once=web-stop-2", &[("csrf", csrf.as_str()), ("watch", watch.as_str())]).await;
        assert_eq!(status, 303);
        let (_, html) = web.get("/me/watches").await;
        assert!(html.contains("已于") && html.contains("停止"), "{html}");
    }
}

#[tokio::test]
async fn a_daily_digest_gathers_the_days_alerts_into_one_mail_at_the_hour() {
    for backend in backends() {
        let (smtp_port, mails) = smtp_server();
        let (app, _) = app_on(&backend, watch_config(Some(smtp_port), WebhookSettings::default())).await;
        let (a, e, _) = super::actors(&app).await;
        let (_, w) = account(&app, "投资人").await;
        let watch = json!({"kind": "search", "target": "医疗", "email": "digest@fund.test", "email_mode": "daily"});
        app.ok("POST", "/api/v1/me/watches", Some(&w), Some(watch)).await;
        let bad = json!({"kind": "search", "target": "医疗", "email": "not an address", "email_mode": "immediate"});
        let v = app.err("POST", "/api/v1/me/watches", Some(&w), Some(bad), 422, "validation_failed").await;
        assert_eq!(v["error"]["details"][0]["code"], "invalid_email");
        app.publish_notice(&a, &e, "医疗影像数据").await;
        app.publish_notice(&a, &e, "医疗保险理赔数据").await;
        assert_eq!(dipr_registry::watches::dispatch(&app.state).await.unwrap().alerts, 2);

        // Nothing before the digest hour (08:00 Beijing time), then one mail with both.
        assert_eq!(dipr_registry::watches::deliver(&app.state).await.unwrap(), Default::default());
        advance(&app, 24 * 3600);
        assert_eq!(dipr_registry::watches::deliver(&app.state).await.unwrap().delivered, 2);
        let mail = mails.recv_timeout(std::time::Duration::from_secs(30)).unwrap();
        assert!(
            mail.contains("RCPT TO:<digest@fund.test>")
                && mail.contains("医疗影像数据")
                && mail.contains("医疗保险理赔数据"),
            "{mail}"
        );
        assert!(mails.try_recv().is_err(), "one mail for the day");
    }
}
