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
    s.samples
        .iter()
        .find(|x| x.metric == name && labels.iter().all(|(k, v)| x.labels.get(k) == Some(*v)))
        .map(|x| match &x.value {
            Sample::Counter(v) | Sample::Gauge(v) | Sample::Untyped(v) => *v,
            Sample::Histogram(b) => b.last().map_or(0.0, |b| b.count),
            Sample::Summary(_) => f64::NAN,
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
    app.call("POST", "/api/v1/auth/signin", None, Some(json!({"username": "nobody", "password": "wrong password"}))).await;

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
    assert_eq!(value(&s, "dipr_sign_in_failures_total", &[]), Some(1.0), "{:?}", s.samples.iter().map(|x| &x.metric).collect::<Vec<_>>());
    assert!(value(&s, "dipr_checkpoint_age_seconds", &[]).unwrap() >= 0.0);
    assert!(value(&s, "dipr_db_connections", &[]).unwrap() >= 1.0);
    assert!(value(&s, "dipr_log_append_duration_seconds", &[]).unwrap() >= size);

    // Scrapes count too, and a second one sees the first.
    let again = scrape(&app).await;
    assert_eq!(value(&again, "dipr_http_requests_total", &[("route", "/metrics")]), Some(1.0));
}

#[tokio::test]
async fn metrics_are_for_loopback_or_the_metrics_token_only() {
    let app = App::with(Config { metrics_token: Some(dipr_registry::state::Secret("s3cret-token".into())), ..config() }, signer()).await;
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
    let body: Value = serde_json::from_slice(&axum::body::to_bytes(ready.into_body(), usize::MAX).await.unwrap()).unwrap();
    assert_eq!(body["database"], "sqlite");
}
