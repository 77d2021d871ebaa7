//! Abuse on loopback, against the real server (`dipr_server::serve` on a socket): floods of wrong sign-ins,
//! anonymous objections by the thousand, idle and slow connections, oversized bodies, and a shutdown with a
//! request in flight. Clients are told apart by their source address (127.0.0.x), as the throttles see them.
//! Every wait is bounded; nothing here asserts speed, only that limits and timeouts hold.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use dipr_registry::throttle::Limits;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};

use super::*;

/// Long enough for any answer on a loaded machine; a test waiting this long has failed.
const PATIENCE: Duration = Duration::from_secs(60);

struct Server {
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Server {
    async fn start(app: &App) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(dipr_server::serve(listener, app.state.clone(), async {
            let _ = stopped.await;
        }));
        Self { addr, stop: Some(stop), task }
    }

    /// Ask the server to stop, as SIGTERM does, and wait until it has.
    async fn stop(mut self) {
        let _ = self.stop.take().unwrap().send(());
        tokio::time::timeout(PATIENCE, self.task).await.expect("the server stops").unwrap().unwrap();
    }
}

fn short_timeouts() -> Config {
    Config { limits: Limits { header_timeout_secs: 1, request_timeout_secs: 2, ..Limits::default() }, ..config() }
}

/// A connection from 127.0.0.`n`.
async fn connect(server: SocketAddr, from: Ipv4Addr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::from((from, 0))).unwrap();
    socket.connect(server).await.unwrap()
}

fn client(n: u16) -> Ipv4Addr {
    Ipv4Addr::new(127, 0, (n >> 8) as u8, (n & 0xff) as u8)
}

struct Reply {
    status: u16,
    head: String,
    body: String,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }
    fn header(&self, name: &str) -> Option<String> {
        self.head.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case(name).then(|| v.trim().to_string())
        })
    }
    fn code(&self) -> String {
        self.json()["error"]["code"].as_str().unwrap_or_default().to_string()
    }
}

/// Read a whole answer until the server closes the connection.
async fn read_reply(conn: &mut TcpStream) -> Reply {
    let mut raw = Vec::new();
    tokio::time::timeout(PATIENCE, conn.read_to_end(&mut raw)).await.expect("an answer").unwrap();
    let text = String::from_utf8_lossy(&raw).to_string();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    Reply { status, head: head.to_string(), body: body.to_string() }
}

/// One request on its own connection from 127.0.0.`from`.
async fn request(
    server: SocketAddr,
    from: Ipv4Addr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Reply {
    let mut conn = connect(server, from).await;
    let mut head =
        format!("{method} {path} HTTP/1.1\r\nhost: dipr\r\nconnection: close\r\ncontent-length: {}\r\n", body.len());
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    conn.write_all(head.as_bytes()).await.unwrap();
    conn.write_all(body).await.unwrap();
    read_reply(&mut conn).await
}

async fn post_json(server: SocketAddr, from: Ipv4Addr, path: &str, token: Option<&str>, body: &Value) -> Reply {
    let auth = token.map(|t| format!("Bearer {t}"));
    let mut headers = vec![("content-type", "application/json")];
    if let Some(a) = &auth {
        headers.push(("authorization", a.as_str()));
    }
    request(server, from, "POST", path, &headers, body.to_string().as_bytes()).await
}

/// An applicant account with the tests' password; its username.
async fn account(app: &App) -> String {
    let username = format!("u-{}", Uuid::now_v7().simple());
    let party = json!({"kind": "legal_person", "name": "受攻击数据有限公司", "id_number": credit_code()});
    app.ok("POST", "/api/v1/auth/signup", None, Some(json!({"username": username, "password": "long enough pw", "display_name": "甲", "role": "applicant", "party": party}))).await;
    username
}

/// The anonymous form's double-submit cookie (`name=value`) and the token in the page.
async fn form_token(resp: axum::response::Response, name: &str) -> (String, String) {
    let cookie = resp
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|c| c.to_str().unwrap().split(';').next().unwrap().to_string())
        .find(|c| c.starts_with(&format!("{name}=")))
        .unwrap();
    let html = String::from_utf8(axum::body::to_bytes(resp.into_body(), usize::MAX).await.unwrap().to_vec()).unwrap();
    let csrf = html.split("name=\"csrf\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_string();
    (cookie, csrf)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_wrong_sign_ins_is_bounded_throttled_counted_and_locks_nobody_out() {
    let limits = Limits { sign_in_client_burst: 10, ..Limits::default() };
    let app = App::with(Config { limits, ..config() }, signer()).await;
    let admin = app.staff(Role::Admin).await;
    let victim = account(&app).await;
    let server = Server::start(&app).await;

    // 12 clients send 10 wrong passwords each, all at once.
    let wrong = json!({"username": victim, "password": "not the password"});
    let mut flood = Vec::new();
    for c in 2..14 {
        for _ in 0..10 {
            let wrong = wrong.clone();
            let addr = server.addr;
            flood.push(tokio::spawn(
                async move { post_json(addr, client(c), "/api/v1/auth/signin", None, &wrong).await },
            ));
        }
    }
    let mut statuses = std::collections::BTreeMap::<u16, usize>::new();
    for f in flood {
        *statuses.entry(f.await.unwrap().status).or_default() += 1;
    }
    assert_eq!(statuses.values().sum::<usize>(), 120);
    assert!(statuses.keys().all(|s| [401, 429].contains(s)), "{statuses:?}");

    // Password hashing never ran more than its bound at once (19 MiB each), so memory stayed flat:
    // unbounded, 120 concurrent hashes would have taken over 2 GiB.
    let report = app.ok("GET", "/api/v1/admin/sign-ins", Some(&admin), None).await;
    let (limit, peak) = (report["hashing_limit"].as_u64().unwrap(), report["hashing_peak"].as_u64().unwrap());
    assert!(peak >= 1 && peak <= limit, "peak {peak}, limit {limit}");
    // The memory this bounds is measured on the server alone, in its own process: dipr-cli's
    // `a_flood_of_wrong_sign_ins_leaves_the_server_process_small` (here other tests share the process).

    // Failures are counted per account, and visible to administrators (API and page).
    let failed = report["sign_ins"]["accounts"].as_array().unwrap().iter().find(|a| a["username"] == victim.as_str());
    assert_eq!(failed.unwrap()["failed"].as_u64().unwrap() as usize, statuses[&401]);

    // An attacking client is now held back, even with the right password, with a Retry-After.
    let right = json!({"username": victim, "password": "long enough pw"});
    for body in [&wrong, &right] {
        let r = post_json(server.addr, client(2), "/api/v1/auth/signin", None, body).await;
        assert_eq!((r.status, r.code().as_str()), (429, "sign_in_throttled"), "{}", r.body);
        assert!(r.header("retry-after").unwrap().parse::<u64>().unwrap() >= 1);
    }
    // The real user, from another client, signs in.
    let r = post_json(server.addr, client(99), "/api/v1/auth/signin", None, &right).await;
    assert_eq!(r.status, 200, "{}", r.body);

    // One client spraying many accounts runs out of its own budget.
    let mut refused = 0;
    for i in 0..12 {
        let body = json!({"username": format!("nobody-{i}"), "password": "guessed password"});
        let r = post_json(server.addr, client(100), "/api/v1/auth/signin", None, &body).await;
        if r.status == 429 {
            refused += 1;
        }
    }
    assert_eq!(refused, 2, "a budget of 10 attempts at once");
    server.stop().await;
}

#[tokio::test]
async fn the_web_sign_in_goes_through_the_same_throttle() {
    let app = App::new().await;
    let victim = account(&app).await;
    let send = |req: Request<Body>| app.router.clone().oneshot(req);
    let resp = send(Request::builder().uri("/signin").body(Body::empty()).unwrap()).await.unwrap();
    let (cookie, csrf) = form_token(resp, "dipr_login_csrf").await;
    let attempt = || {
        Request::builder()
            .method("POST")
            .uri("/signin?lang=en")
            .header("content-type", "application/x-www-form-urlencoded")
            .header("cookie", &cookie)
            .body(Body::from(format!("csrf={csrf}&username={victim}&password=wrong+password+x")))
            .unwrap()
    };
    for _ in 0..5 {
        assert_eq!(send(attempt()).await.unwrap().status(), StatusCode::UNAUTHORIZED);
    }
    let resp = send(attempt()).await.unwrap();
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(resp.headers().contains_key("retry-after"));
    let html = String::from_utf8(axum::body::to_bytes(resp.into_body(), usize::MAX).await.unwrap().to_vec()).unwrap();
    assert!(html.contains("Too many sign-in attempts"), "translated: {html}");
    // Counted for administrators, on their page.
    let admin = app.staff(Role::Admin).await;
    let req = Request::builder().uri("/admin").header("cookie", format!("dipr_session={admin}")).body(Body::empty());
    let page = send(req.unwrap()).await.unwrap();
    let html = String::from_utf8(axum::body::to_bytes(page.into_body(), usize::MAX).await.unwrap().to_vec()).unwrap();
    assert!(html.contains("id=\"failed-sign-ins\">5<"), "the admin page counts failed sign-ins");
}

#[tokio::test]
async fn an_account_keeps_a_bounded_number_of_sessions() {
    let limits = Limits { sessions_per_account: 3, ..Limits::default() };
    let app = App::with(Config { limits, ..config() }, signer()).await;
    let user = account(&app).await;
    let mut sessions = Vec::new();
    for _ in 0..5 {
        sessions.push(app.session(&user).await);
    }
    for (i, s) in sessions.iter().enumerate() {
        let (status, _) = app.call("GET", "/api/v1/me", Some(s), None).await;
        let expected = if i < 2 { StatusCode::UNAUTHORIZED } else { StatusCode::OK };
        assert_eq!(status, expected, "session {i}: the oldest end when a new one opens");
    }
}

/// The record's stored documents (`applications.doc`, `applications.public_doc`): each with its length as the
/// database counts it.
async fn stored_documents(app: &App, id: &str) -> ((i64, String), (i64, String)) {
    let path = app.db_path.as_ref().unwrap();
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", path.display())).await.unwrap();
    let row: (i64, String, i64, String) =
        sqlx::query_as("SELECT length(doc), doc, length(public_doc), public_doc FROM applications WHERE id = $1")
            .bind(id)
            .fetch_one(&pool)
            .await
            .unwrap();
    pool.close().await;
    ((row.0, row.1), (row.2, row.3))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_anonymous_objections_cannot_bloat_a_record() {
    let app = App::new().await;
    let (a, e, _) = actors(&app).await;
    let id = app.publish_notice(&a, &e, "被刷异议的记录").await;
    let server = Server::start(&app).await;
    let path = format!("/api/v1/public/records/{id}/objections");

    // Every field is capped, each refused on its own field (and a refused one spends no budget).
    let long = json!({"objector_name": "某公司", "objector_contact": "x".repeat(201), "grounds": "理由"});
    let r = post_json(server.addr, client(1), &path, None, &long).await;
    assert_eq!((r.status, r.code().as_str()), (422, "validation_failed"));
    assert_eq!(r.json()["error"]["details"][0]["field"], "objector_contact");
    assert_eq!(r.json()["error"]["details"][0]["code"], "too_long");

    // Objections of the largest size allowed. The first one puts the record in `objection_pending`; from then on
    // its stored documents are measured.
    let objection =
        json!({"objector_name": "刷子", "objector_contact": "c".repeat(200), "grounds": "异".repeat(20_000)});
    let r = post_json(server.addr, client(2), &path, None, &objection).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let ((doc_len, doc), (public_len, public)) = stored_documents(&app, &id).await;
    let events_before = app.ok("GET", &format!("/api/v1/applications/{id}/history"), Some(&a), None).await;

    // 1,000 more, from 50 clients at once.
    let mut senders = Vec::new();
    for c in 0..50u16 {
        let (objection, path, addr) = (objection.clone(), path.clone(), server.addr);
        senders.push(tokio::spawn(async move {
            let mut out = Vec::new();
            for _ in 0..20 {
                let r = post_json(addr, client(256 + c), &path, None, &objection).await;
                out.push((r.status, r.code(), r.header("retry-after").is_some()));
            }
            out
        }));
    }
    let mut filed = 1;
    for s in senders {
        for (status, code, retry_after) in s.await.unwrap() {
            match status {
                201 => filed += 1,
                429 => assert!(code == "objections_throttled" && retry_after),
                other => panic!("unexpected {other} {code}"),
            }
        }
    }
    let limits = Limits::default();
    assert_eq!(filed, limits.objection_record_burst as usize, "anonymous objections per record are budgeted");

    // The stored documents did not grow at all: the public projection is unchanged to the byte, and the document
    // differs only in its version and the time of the last change (objections are rows of their own).
    let ((doc_len_after, doc_after), (public_len_after, public_after)) = stored_documents(&app, &id).await;
    assert_eq!(public_len_after, public_len, "public_doc grew by {} bytes", public_len_after - public_len);
    assert_eq!(public_after, public);
    let without_version = |doc: &str| {
        let mut v: Value = serde_json::from_str(doc).unwrap();
        let o = v.as_object_mut().unwrap();
        let changing =
            o.remove("version").unwrap().to_string().len() + o.remove("updated_at").unwrap().to_string().len();
        (v, changing as i64)
    };
    let ((rest, changing), (rest_after, changing_after)) = (without_version(&doc), without_version(&doc_after));
    assert_eq!(rest_after, rest, "only the version and the time of the last change differ");
    assert_eq!(
        doc_len_after - doc_len,
        changing_after - changing,
        "doc grew by {} bytes beyond its version and time",
        doc_len_after - doc_len - (changing_after - changing)
    );
    assert_eq!(rest["objections"], json!([]));

    // …while every objection is on the record, whole: to the applicant, and in public.
    let full = app.ok("GET", &format!("/api/v1/applications/{id}"), Some(&a), None).await;
    let objections = full["objections"].as_array().unwrap();
    assert_eq!(objections.len(), filed);
    assert!(objections.iter().all(|o| o["grounds"].as_str().unwrap().chars().count() == 20_000));
    let record = app.ok("GET", &format!("/api/v1/public/records/{id}"), None, None).await;
    assert_eq!(record["record"]["objections"].as_array().unwrap().len(), filed);
    let events_after = app.ok("GET", &format!("/api/v1/applications/{id}/history"), Some(&a), None).await;
    let new_events = events_after.as_array().unwrap().len() - events_before.as_array().unwrap().len();
    assert_eq!(new_events, filed - 1, "one event (and log entry) per filed objection only");

    // A signed-in objector is held to their own budget, not the record's anonymous one.
    let b = app.sign_up("乙").await;
    let r =
        post_json(server.addr, client(1), &path, Some(&b), &json!({"objector_name": "乙公司", "grounds": "我方数据"}))
            .await;
    assert_eq!(r.status, 201, "{}", r.body);
    server.stop().await;

    // The web form answers the same, translated, with Retry-After.
    let req = Request::builder().uri(format!("/records/{id}?lang=en")).body(Body::empty()).unwrap();
    let resp = app.router.clone().oneshot(req).await.unwrap();
    let (cookie, csrf) = form_token(resp, "dipr_csrf").await;
    let form = |fields: String| {
        Request::builder()
            .method("POST")
            .uri(format!("/records/{id}/objections?lang=en"))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("cookie", &cookie)
            .body(Body::from(format!("csrf={csrf}&{fields}")))
            .unwrap()
    };
    let resp =
        app.router.clone().oneshot(form(format!("objector_name=x&objector_contact={}&grounds=g", "c".repeat(201))));
    let resp = resp.await.unwrap();
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = String::from_utf8(axum::body::to_bytes(resp.into_body(), usize::MAX).await.unwrap().to_vec()).unwrap();
    assert!(html.contains("id=\"err-objector_contact\">Too long."), "the field's own translated error");
    let resp = app.router.clone().oneshot(form("objector_name=x&grounds=g".into())).await.unwrap();
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(resp.headers().contains_key("retry-after"));
    let html = String::from_utf8(axum::body::to_bytes(resp.into_body(), usize::MAX).await.unwrap().to_vec()).unwrap();
    assert!(html.contains("Too many objections right now"));
}

/// Bytes until the server closes the connection (or resets it), within `PATIENCE`.
async fn closed_by_server(conn: &mut TcpStream) -> String {
    let mut raw = Vec::new();
    let read = tokio::time::timeout(PATIENCE, conn.read_to_end(&mut raw)).await;
    assert!(read.is_ok(), "the server kept the connection open");
    String::from_utf8_lossy(&raw).to_string()
}

#[tokio::test]
async fn idle_slow_and_half_open_connections_are_closed_after_the_timeout() {
    let app = App::with(short_timeouts(), signer()).await;
    let server = Server::start(&app).await;

    // Hundreds of connections that send nothing do not stop others from being answered...
    let mut idle = Vec::new();
    for _ in 0..200 {
        idle.push(connect(server.addr, client(2)).await);
    }
    let r = request(server.addr, client(3), "GET", "/healthz", &[], b"").await;
    assert_eq!(r.status, 200);
    // ...and are closed once the header timeout passes, without an answer.
    for conn in idle.iter_mut().step_by(20) {
        assert_eq!(closed_by_server(conn).await, "");
    }

    // Half a request head, then silence.
    let mut half = connect(server.addr, client(4)).await;
    half.write_all(b"GET /healthz HTTP/1.1\r\nhost: dipr\r\nx-slow: ").await.unwrap();
    assert_eq!(closed_by_server(&mut half).await, "");

    // An idle keep-alive connection after a request is closed too.
    let mut keep = connect(server.addr, client(5)).await;
    keep.write_all(b"GET /healthz HTTP/1.1\r\nhost: dipr\r\n\r\n").await.unwrap();
    let text = closed_by_server(&mut keep).await;
    assert!(text.starts_with("HTTP/1.1 200") && text.contains("\"status\""), "{text}");

    // A body that never arrives: the request times out with a stable error code.
    let mut slow = connect(server.addr, client(6)).await;
    slow.write_all(
        b"POST /api/v1/auth/signin HTTP/1.1\r\nhost: dipr\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{\"user",
    )
    .await
    .unwrap();
    let r = read_reply(&mut slow).await;
    assert_eq!((r.status, r.code().as_str()), (408, "request_timeout"), "{}", r.body);
    server.stop().await;
}

#[tokio::test]
async fn oversized_and_anonymous_bodies_are_refused_before_they_are_read() {
    let app = App::new().await;
    let a = app.sign_up("甲").await;
    let id = app.draft(&a, "大文件").await;
    let server = Server::start(&app).await;
    // Only the head is sent: an answer proves the server did not wait for the body.
    let head_only = |path: String, length: u64| async move {
        let mut conn = connect(server.addr, client(2)).await;
        let head = format!(
            "POST {path} HTTP/1.1\r\nhost: dipr\r\ncontent-type: application/json\r\ncontent-length: {length}\r\n\r\n"
        );
        conn.write_all(head.as_bytes()).await.unwrap();
        read_reply(&mut conn).await
    };
    // A bulk upload route: anonymous callers are refused before the body...
    let r = head_only("/api/v1/discover".into(), 60_000_000).await;
    assert_eq!((r.status, r.code().as_str()), (401, "unauthenticated"), "{}", r.body);
    let r = head_only(format!("/me/filings/{id}/manifest"), 30_000_000).await;
    assert_eq!((r.status, r.header("location").as_deref()), (303, Some("/signin")));
    // ...and bodies over a route's limit are refused on their declared length, signed in or not.
    let r = head_only(format!("/api/v1/applications/{id}/manifest"), 60_000_000).await;
    assert_eq!((r.status, r.code().as_str()), (413, "payload_too_large"), "{}", r.body);
    let r = head_only("/api/v1/auth/signup".into(), 60_000_000).await;
    assert_eq!((r.status, r.code().as_str()), (413, "payload_too_large"));
    let r = head_only("/check".into(), 60_000_000).await;
    assert_eq!(r.status, 413, "the public check takes bundles up to 32 MB only");

    // A streamed body without a length is cut off at the limit (64 KiB in these tests).
    let mut conn = connect(server.addr, client(3)).await;
    conn.write_all(b"POST /api/v1/auth/signup HTTP/1.1\r\nhost: dipr\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n")
        .await
        .unwrap();
    let chunk = format!("{:x}\r\n{}\r\n", 16 * 1024, "a".repeat(16 * 1024));
    for _ in 0..8 {
        if conn.write_all(chunk.as_bytes()).await.is_err() {
            break;
        }
    }
    let r = read_reply(&mut conn).await;
    assert_eq!((r.status, r.code().as_str()), (413, "payload_too_large"), "{}", r.body);
    server.stop().await;
}

#[tokio::test]
async fn shutdown_answers_the_request_in_flight_then_stops_accepting() {
    let app = App::new().await;
    let user = account(&app).await;
    let server = Server::start(&app).await;
    let addr = server.addr;
    let body = json!({"username": user, "password": "long enough pw"}).to_string();
    let (first, rest) = body.split_at(10);
    let mut conn = connect(addr, client(2)).await;
    let head = format!(
        "POST /api/v1/auth/signin HTTP/1.1\r\nhost: dipr\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{first}",
        body.len()
    );
    conn.write_all(head.as_bytes()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let Server { stop, task, .. } = server;
    stop.unwrap().send(()).unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(TcpStream::connect(addr).await.is_err(), "no new connections once stopping");
    assert!(!task.is_finished(), "the server waits for the request in flight");
    conn.write_all(rest.as_bytes()).await.unwrap();
    let r = read_reply(&mut conn).await;
    assert_eq!(r.status, 200, "the request in flight is answered: {}", r.body);
    assert!(r.json()["token"].is_string());
    tokio::time::timeout(PATIENCE, task).await.expect("then the server stops").unwrap().unwrap();
}

#[tokio::test]
async fn sign_ups_are_budgeted_per_client() {
    let limits = Limits { sign_up_client_burst: 2, ..Limits::default() };
    let app = App::with(Config { limits, ..config() }, signer()).await;
    let server = Server::start(&app).await;
    let sign_up = |from: Ipv4Addr, id_number: String| async move {
        let party = json!({"kind": "legal_person", "name": "新注册数据有限公司", "id_number": id_number});
        let body = json!({"username": format!("s-{}", Uuid::now_v7().simple()), "password": "long enough pw", "display_name": "新", "role": "applicant", "party": party});
        post_json(server.addr, from, "/api/v1/auth/signup", None, &body).await
    };
    // A refused sign-up spends nothing; two accounts do.
    assert_eq!(sign_up(client(2), "not a code".into()).await.status, 422);
    assert_eq!(sign_up(client(2), credit_code()).await.status, 201);
    assert_eq!(sign_up(client(2), credit_code()).await.status, 201);
    let r = sign_up(client(2), credit_code()).await;
    assert_eq!((r.status, r.code().as_str()), (429, "sign_ups_throttled"), "{}", r.body);
    assert!(r.header("retry-after").is_some());
    // Another client is not held back.
    assert_eq!(sign_up(client(3), credit_code()).await.status, 201);
    server.stop().await;
}

#[tokio::test]
async fn an_account_keeps_a_bounded_number_of_api_tokens() {
    let limits = Limits { api_tokens_per_account: 2, ..Limits::default() };
    let app = App::with(Config { limits, ..config() }, signer()).await;
    let session = app.session(&account(&app).await).await;
    let first = app.ok("POST", "/api/v1/me/tokens", Some(&session), Some(json!({"name": "一"}))).await;
    app.ok("POST", "/api/v1/me/tokens", Some(&session), Some(json!({"name": "二"}))).await;
    let v = app
        .err("POST", "/api/v1/me/tokens", Some(&session), Some(json!({"name": "三"})), 422, "validation_failed")
        .await;
    assert_eq!(v["error"]["details"][0]["code"], "too_many");
    let id = first["record"]["id"].as_str().unwrap();
    app.ok("DELETE", &format!("/api/v1/me/tokens/{id}"), Some(&session), None).await;
    app.ok("POST", "/api/v1/me/tokens", Some(&session), Some(json!({"name": "三"}))).await;
}
