//! What operators rely on: `/metrics` in the Prometheus text format (parsed with a real parser), request ids,
//! liveness distinct from readiness.

use std::net::SocketAddr;

use axum::extract::ConnectInfo;
use prometheus_parse::{Scrape, Value as Sample};

use super::*;

async fn get_from(app: &App, uri: &str, peer: Option<&str>, headers: &[(&str, &str)]) -> axum::response::Response {
    let mut req = Request::builder().uri(uri);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let mut req = req.body(Body::empty()).unwrap();
    if let Some(p) = peer {
        req.extensions_mut().insert(ConnectInfo(p.parse::<SocketAddr>().unwrap()));
    }
    app.router.clone().oneshot(req).await.unwrap()
}

async fn scrape(app: &App) -> Scrape {
    let resp = get_from(app, "/metrics", Some("127.0.0.1:50000"), &[]).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["content-type"], "text/plain; version=0.0.4; charset=utf-8");
    let body = axum::body::to_bytes(resp.into_body(), usize::MAX).await.unwrap();
    let text = String::from_utf8(body.to_vec()).unwrap();
    Scrape::parse(text.lines().map(|l| Ok(l.to_string()))).expect("the Prometheus text format")
}

fn value(s: &Scrape, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    s.samples.iter().find(|x| x.metric == name && labels.iter().all(|(k, v)| x.labels.get(k) == Some(*v))).map(|x| {
        match &x.value {
            Sample::Counter(v) | Sample::Gauge(v) | Sample::Untyped(v) => *v,
            Sample::Histogram(b) => b.last().map_or(0.0, |b| b.count),
            Sample::Summary(_) => f64::NAN,
        }
    })
}

#[tokio::test]
async fn metrics_count_requests_by_route_and_read_the_log_when_scraped() {
    let app = App::new().await;
    dipr_registry::demo::seed(&app.state).await.unwrap();
    for _ in 0..3 {
        app.ok("GET", "/api/v1/public/records?q=%E8%AF%AD%E6%96%99", None, None).await;
    }
    let id = Uuid::now_v7();
    app.call("GET", &format!("/api/v1/public/records/{id}"), None, None).await;
    app.call("POST", "/api/v1/auth/signin", None, Some(json!({"username": "nobody", "password": "wrong password"})))
        .await;

    let s = scrape(&app).await;
    let records = [("method", "GET"), ("route", "/api/v1/public/records"), ("status", "200")];
    assert_eq!(value(&s, "dipr_http_requests_total", &records), Some(3.0));
    // The route's pattern, not the path: one series for every record id.
    let one = [("route", "/api/v1/public/records/:id"), ("status", "404")];
    assert_eq!(value(&s, "dipr_http_requests_total", &one), Some(1.0));
    let latency = [("method", "GET"), ("route", "/api/v1/public/records")];
    assert_eq!(value(&s, "dipr_http_request_duration_seconds", &latency), Some(3.0), "a histogram of 3");
    let size = app.state.store.log_size().await.unwrap() as f64;
    assert_eq!(value(&s, "dipr_log_entries", &[]), Some(size));
    assert_eq!(value(&s, "dipr_log_appends_total", &[]), Some(size), "every entry of the demo appended here");
    assert_eq!(
        value(&s, "dipr_sign_in_failures_total", &[]),
        Some(1.0),
        "{:?}",
        s.samples.iter().map(|x| &x.metric).collect::<Vec<_>>()
    );
    assert!(value(&s, "dipr_checkpoint_age_seconds", &[]).unwrap() >= 0.0);
    assert!(value(&s, "dipr_db_connections", &[]).unwrap() >= 1.0);
    assert!(value(&s, "dipr_log_append_duration_seconds", &[]).unwrap() >= size);

    // Scrapes count too, and a second one sees the first.
    let again = scrape(&app).await;
    assert_eq!(value(&again, "dipr_http_requests_total", &[("route", "/metrics")]), Some(1.0));
}

#[tokio::test]
async fn metrics_are_for_loopback_or_the_metrics_token_only() {
    let app = App::with(
        Config { metrics_token: Some(dipr_registry::state::Secret("s3cret-token".into())), ..config() },
        signer(),
    )
    .await;
    let far = Some("203.0.113.9:40000");
    assert_eq!(get_from(&app, "/metrics", far, &[]).await.status(), StatusCode::FORBIDDEN);
    let wrong = [("authorization", "Bearer not-it")];
    assert_eq!(get_from(&app, "/metrics", far, &wrong).await.status(), StatusCode::FORBIDDEN);
    let right = [("authorization", "Bearer s3cret-token")];
    assert_eq!(get_from(&app, "/metrics", far, &right).await.status(), StatusCode::OK);
    assert_eq!(get_from(&app, "/metrics", Some("[::1]:40000"), &[]).await.status(), StatusCode::OK);
    assert!(!format!("{:?}", app.state.config).contains("s3cret"), "the token never reaches a log");
}

#[tokio::test]
async fn every_answer_carries_a_request_id_and_liveness_is_not_readiness() {
    let app = App::new().await;
    let resp = get_from(&app, "/api/v1/industries", None, &[]).await;
    let id = resp.headers()["x-request-id"].to_str().unwrap().to_string();
    assert_eq!(id.len(), 32);
    assert!(id.bytes().all(|b| b.is_ascii_hexdigit()));
    let other = get_from(&app, "/nowhere", None, &[]).await;
    assert_ne!(other.headers()["x-request-id"].to_str().unwrap(), id, "one per request, errors too");
    let kept = get_from(&app, "/", None, &[("x-request-id", "lb-7f3a.2")]).await;
    assert_eq!(kept.headers()["x-request-id"], "lb-7f3a.2", "a load balancer's id is kept");
    let odd = get_from(&app, "/", None, &[("x-request-id", "two words")]).await;
    assert_ne!(odd.headers()["x-request-id"], "two words", "an id that could forge log lines is replaced");

    assert_eq!(get_from(&app, "/livez", None, &[]).await.status(), StatusCode::OK);
    let ready = get_from(&app, "/readyz", None, &[]).await;
    assert_eq!(ready.status(), StatusCode::OK);
    let body: Value =
        serde_json::from_slice(&axum::body::to_bytes(ready.into_body(), usize::MAX).await.unwrap()).unwrap();
    assert_eq!(body["database"], "sqlite");
}

fn limited(search: u32, exempt: Vec<Uuid>) -> Config {
    let mut c = config();
    c.limits.api_window_secs = 3600;
    c.limits.api_search_quota = search;
    c.limits.api_write_quota = 0;
    c.limits.api_quota_exempt_tokens = exempt;
    c
}

async fn search(app: &App, token: Option<&str>) -> axum::response::Response {
    let auth = token.map(|t| format!("Bearer {t}"));
    let headers: Vec<(&str, &str)> = auth.iter().map(|a| ("authorization", a.as_str())).collect();
    get_from(app, "/api/v1/public/records?q=x", Some("198.51.100.7:1234"), &headers).await
}

fn h(resp: &axum::response::Response, name: &str) -> String {
    resp.headers().get(name).map_or(String::new(), |v| v.to_str().unwrap().to_string())
}

#[tokio::test]
async fn an_api_client_over_its_quota_gets_429_with_retry_after_and_every_answer_states_the_quota() {
    let app = App::with(limited(3, Vec::new()), signer()).await;
    for left in [2, 1, 0] {
        let resp = search(&app, None).await;
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!((h(&resp, "ratelimit-limit"), h(&resp, "ratelimit-remaining")), ("3".into(), left.to_string()));
        assert_eq!(h(&resp, "ratelimit-policy"), "3;w=3600");
    }
    let refused = search(&app, None).await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = h(&refused, "retry-after").parse().unwrap();
    assert!((1..=1200).contains(&wait), "one request's share of the hour: {wait}");
    assert_eq!(h(&refused, "ratelimit-remaining"), "0");
    let body: Value =
        serde_json::from_slice(&axum::body::to_bytes(refused.into_body(), usize::MAX).await.unwrap()).unwrap();
    assert_eq!(body["error"]["code"], "rate_limited");

    // Other classes, other clients, signed-in accounts and pages are not held back by this client's searches.
    let read = get_from(&app, "/api/v1/industries", Some("198.51.100.7:1234"), &[]).await;
    assert_eq!(read.status(), StatusCode::OK);
    assert_eq!(h(&read, "ratelimit-limit"), "3000");
    assert_eq!(
        get_from(&app, "/api/v1/public/records?q=x", Some("198.51.100.8:1"), &[]).await.status(),
        StatusCode::OK
    );
    let user = app.sign_up("quota").await;
    assert_eq!(search(&app, Some(&user)).await.status(), StatusCode::OK, "the account's own quota");
    assert_eq!(get_from(&app, "/search?q=x", Some("198.51.100.7:1234"), &[]).await.status(), StatusCode::OK);
    // A lifted class (writes: 0) carries no quota headers at all.
    let draft = app.call("POST", "/api/v1/applications", Some(&user), Some(json!({"form": full_form("配额")}))).await;
    assert_eq!(draft.0, StatusCode::CREATED);

    let s = scrape(&app).await;
    assert_eq!(value(&s, "dipr_refusals_total", &[("class", "search")]), Some(1.0));
}

#[tokio::test]
async fn an_exempt_api_token_is_never_limited_and_other_tokens_have_their_own_quota() {
    // Find a token's id first (the operator reads it from /me/tokens), then configure its exemption.
    let probe = App::new().await;
    let user = probe.sign_up("mirror").await;
    let created = probe.ok("POST", "/api/v1/me/tokens", Some(&user), Some(json!({"name": "mirror"}))).await;
    let id: Uuid = created["record"]["id"].as_str().unwrap().parse().unwrap();
    let token = created["token"].as_str().unwrap().to_string();
    let other = probe.ok("POST", "/api/v1/me/tokens", Some(&user), Some(json!({"name": "script"}))).await;
    let other = other["token"].as_str().unwrap().to_string();
    let path = probe.db_path.clone().unwrap();
    drop(probe);
    let store = Arc::new(dipr_store::SqliteStore::open(&path).await.unwrap());
    let state = Registry::new(store, limited(2, vec![id]), signer()).await.unwrap();
    let app = App { router: dipr_server::router(state.clone()), state, db_path: Some(path) };

    for _ in 0..10 {
        let resp = search(&app, Some(&token)).await;
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(h(&resp, "ratelimit-limit"), "", "no quota, no quota headers");
    }
    assert_eq!(search(&app, Some(&other)).await.status(), StatusCode::OK);
    assert_eq!(search(&app, Some(&other)).await.status(), StatusCode::OK);
    assert_eq!(search(&app, Some(&other)).await.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(search(&app, None).await.status(), StatusCode::OK, "the address has its own");
}

#[tokio::test]
async fn pages_assets_and_json_are_compressed_as_the_client_accepts() {
    let app = App::new().await;
    for (uri, encoding) in [("/", "br"), ("/assets/style.css", "gzip"), ("/api/openapi.json", "gzip")] {
        let resp = get_from(&app, uri, None, &[("accept-encoding", encoding)]).await;
        assert_eq!(resp.status(), StatusCode::OK, "{uri}");
        assert_eq!(resp.headers()["content-encoding"], encoding, "{uri}");
        let plain = get_from(&app, uri, None, &[]).await;
        assert!(plain.headers().get("content-encoding").is_none(), "{uri}: identity unless asked");
        let (zipped, plain) = (
            axum::body::to_bytes(resp.into_body(), usize::MAX).await.unwrap(),
            axum::body::to_bytes(plain.into_body(), usize::MAX).await.unwrap(),
        );
        assert!(zipped.len() * 2 < plain.len(), "{uri}: {} of {} bytes", zipped.len(), plain.len());
    }
    let json: Value = {
        let resp = get_from(&app, "/api/v1/industries", None, &[("accept-encoding", "gzip")]).await;
        let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX).await.unwrap();
        let mut text = String::new();
        std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&bytes[..]), &mut text).unwrap();
        serde_json::from_str(&text).unwrap()
    };
    assert!(json.as_array().is_some_and(|a| !a.is_empty()), "gzip round-trips to the same JSON");
}

#[tokio::test]
async fn public_json_carries_an_entity_tag_and_an_unchanged_answer_is_304() {
    let app = App::new().await;
    dipr_registry::demo::seed(&app.state).await.unwrap();
    for uri in ["/api/v1/public/records?q=%E8%AF%AD%E6%96%99", "/api/v1/industries", "/api/openapi.json"] {
        let first = get_from(&app, uri, None, &[]).await;
        assert_eq!(first.status(), StatusCode::OK);
        let tag = h(&first, "etag");
        assert!(tag.starts_with('"') && tag.len() == 34, "{uri}: {tag}");
        assert_eq!(h(&first, "cache-control"), "public, no-cache");
        let again = get_from(&app, uri, None, &[("if-none-match", &tag)]).await;
        assert_eq!(again.status(), StatusCode::NOT_MODIFIED, "{uri}");
        assert!(axum::body::to_bytes(again.into_body(), usize::MAX).await.unwrap().is_empty());
    }
    // A changed answer has another tag: the old one gets the new body.
    let uri = "/api/v1/public/notices";
    let tag = h(&get_from(&app, uri, None, &[]).await, "etag");
    let applicant = app.sign_up("etag").await;
    let examiner = app.staff(Role::Examiner).await;
    app.publish_notice(&applicant, &examiner, "新公示的产品").await;
    let fresh = get_from(&app, uri, None, &[("if-none-match", &tag)]).await;
    assert_eq!(fresh.status(), StatusCode::OK);
    assert_ne!(h(&fresh, "etag"), tag);
    // Private answers are not tagged for caches.
    let me = get_from(&app, "/api/v1/me", None, &[("authorization", &format!("Bearer {applicant}"))]).await;
    assert_eq!(h(&me, "etag"), "");
}
