//! The open register: the public event stream (pages that prove themselves against the signed checkpoint,
//! resumed from a stored index, and the same as server-sent events) and the Atom feeds, parsed with a real
//! Atom parser.

use axum::http::HeaderMap;
use base64::Engine;
use dipr_ledger::checkpoint::Checkpoint;
use dipr_ledger::merkle::{leaf_hash, verify_range, Hash};
use http_body_util::BodyExt;

use super::*;

fn hashes(v: &Value) -> Vec<Hash> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|h| base64::engine::general_purpose::STANDARD.decode(h.as_str().unwrap()).unwrap().try_into().unwrap())
        .collect()
}

/// Check a page as a client would (the registry's key pinned): exactly the log's entries after `after`.
fn verified(app: &App, page: &Value, after: Option<u64>) -> bool {
    let key = app.state.signer.verifier();
    let Ok((cp, _)) = Checkpoint::open(page["checkpoint"].as_str().unwrap().as_bytes(), &key, key.name()) else {
        return false;
    };
    let start = after.map_or(0, |a| a + 1);
    let events = page["events"].as_array().unwrap();
    let indexes_ok = events.iter().enumerate().all(|(i, e)| e["index"].as_u64() == Some(start + i as u64));
    let leaves = events.iter().map(|e| leaf_hash(e["entry"].as_str().unwrap().as_bytes()));
    indexes_ok && verify_range(start, &hashes(&page["left"]), leaves, cp.size, &cp.root, &hashes(&page["consistency"]))
}

async fn all_entries(app: &App) -> Vec<Vec<u8>> {
    let size = app.state.store.log_size().await.unwrap();
    app.state.store.log_entries(0, size).await.unwrap()
}

#[tokio::test]
async fn the_event_stream_serves_every_public_event_once_provably_and_resumes_after_a_stored_index() {
    let app = App::new().await;
    dipr_registry::demo::seed(&app.state).await.unwrap();
    let log = all_entries(&app).await;
    assert!(log.len() > 20);

    // Read from the start in pages of 7, storing only the last index: every entry once, each page proved.
    let (mut after, mut read) = (None::<u64>, Vec::new());
    loop {
        let q = after.map_or(String::new(), |a| format!("&after={a}"));
        let page = app.ok("GET", &format!("/api/v1/log/events?limit=7{q}"), None, None).await;
        assert!(verified(&app, &page, after), "page after {after:?} verifies: {page}");
        for e in page["events"].as_array().unwrap() {
            read.push(e["entry"].as_str().unwrap().as_bytes().to_vec());
            assert_eq!(e["record"], json!(format!("/records/{}", e["event"]["subject"].as_str().unwrap())));
        }
        after = page["last"].as_u64();
        if page["more"] != json!(true) {
            break;
        }
    }
    assert_eq!(read, log, "the stream is the log");

    // A tampered page, a dropped event or a page claimed at the wrong place fails the client's check.
    let page = app.ok("GET", "/api/v1/log/events?after=4&limit=5", None, None).await;
    assert!(verified(&app, &page, Some(4)));
    let mut changed = page.clone();
    let entry = changed["events"][2]["entry"].as_str().unwrap().replace("\"kind\":\"", "\"kind\":\"x");
    changed["events"][2]["entry"] = json!(entry);
    assert!(!verified(&app, &changed, Some(4)));
    let mut dropped = page.clone();
    dropped["events"].as_array_mut().unwrap().remove(2);
    assert!(!verified(&app, &dropped, Some(4)));
    assert!(!verified(&app, &page, Some(5)));

    // The registry moves on: a client resuming from its stored index gets exactly the new events.
    let last = (log.len() - 1) as u64;
    let page = app.ok("GET", &format!("/api/v1/log/events?after={last}"), None, None).await;
    assert_eq!(page["events"], json!([]));
    assert_eq!(page["last"], json!(last), "an empty page keeps the cursor");
    let admin = app.staff(Role::Admin).await;
    app.advance(&admin, 40).await;
    let grown = all_entries(&app).await;
    assert!(grown.len() > log.len());
    let page = app.ok("GET", &format!("/api/v1/log/events?after={last}&limit=1000"), None, None).await;
    assert!(verified(&app, &page, Some(last)));
    let new: Vec<Vec<u8>> =
        page["events"].as_array().unwrap().iter().map(|e| e["entry"].as_str().unwrap().as_bytes().to_vec()).collect();
    assert_eq!(new, grown[log.len()..].to_vec());

    // Bad cursors and limits are refused with their codes, not served as an empty page.
    let beyond = grown.len() as u64;
    app.err("GET", &format!("/api/v1/log/events?after={beyond}"), None, None, 409, "log_cursor_ahead").await;
    for q in ["limit=0", "limit=1001", "after=-1", "after=x", "from=3"] {
        app.err("GET", &format!("/api/v1/log/events?{q}"), None, None, 400, "bad_request").await;
    }
}

#[tokio::test]
async fn server_sent_events_resume_after_last_event_id_with_a_proof_per_batch() {
    let app = App::new().await;
    dipr_registry::demo::seed(&app.state).await.unwrap();
    let log = all_entries(&app).await;
    let resume = 9u64;
    let req = Request::builder()
        .uri("/api/v1/log/events/stream?after=2")
        .header("last-event-id", resume.to_string())
        .body(Body::empty())
        .unwrap();
    let resp = app.router.clone().oneshot(req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(resp.headers()["content-type"].to_str().unwrap().starts_with("text/event-stream"));
    let mut body = resp.into_body();
    let (mut text, mut ids, mut batch, mut proofs) = (String::new(), Vec::new(), Vec::new(), 0);
    while ids.len() < log.len() - resume as usize - 1 || !batch.is_empty() {
        let frame = tokio::time::timeout(std::time::Duration::from_secs(30), body.frame()).await.unwrap();
        let Some(Ok(frame)) = frame else { panic!("the stream ended") };
        if let Ok(data) = frame.into_data() {
            text.push_str(std::str::from_utf8(&data).unwrap());
        }
        while let Some(end) = text.find("\n\n") {
            let message: String = text.drain(..end + 2).collect();
            let field = |name: &str| {
                message.lines().find_map(|l| l.strip_prefix(&format!("{name}:")).map(|v| v.trim().to_string()))
            };
            match field("event").as_deref() {
                Some("entry") => {
                    let e: Value = serde_json::from_str(&field("data").unwrap()).unwrap();
                    assert_eq!(field("id"), Some(e["index"].to_string()));
                    assert_eq!(e["entry"].as_str().unwrap().as_bytes(), log[e["index"].as_u64().unwrap() as usize]);
                    ids.push(e["index"].as_u64().unwrap());
                    batch.push(e["index"].as_u64().unwrap());
                }
                Some("proof") => {
                    let mut page: Value = serde_json::from_str(&field("data").unwrap()).unwrap();
                    assert_eq!(page["events"], json!([]));
                    assert_eq!(page["last"].as_u64(), batch.last().copied(), "a proof closes its batch");
                    let after = batch[0] - 1;
                    page["events"] = batch
                        .drain(..)
                        .map(|i| json!({"index": i, "entry": String::from_utf8(log[i as usize].clone()).unwrap()}))
                        .collect();
                    assert!(verified(&app, &page, Some(after)), "the batch verifies against its checkpoint");
                    proofs += 1;
                }
                _ => {}
            }
        }
    }
    let expected: Vec<u64> = (resume + 1..log.len() as u64).collect();
    assert_eq!(ids, expected, "Last-Event-ID wins over ?after and nothing is skipped");
    assert_eq!(proofs, expected.len().div_ceil(100), "one proof per batch of 100");

    let req = Request::builder().uri("/api/v1/log/events/stream?after=100000").body(Body::empty()).unwrap();
    assert_eq!(app.router.clone().oneshot(req).await.unwrap().status(), StatusCode::CONFLICT);
}

async fn feed(app: &App, uri: &str) -> (StatusCode, HeaderMap, String) {
    let resp = app.router.clone().oneshot(Request::builder().uri(uri).body(Body::empty()).unwrap()).await.unwrap();
    let (status, headers) = (resp.status(), resp.headers().clone());
    let body = axum::body::to_bytes(resp.into_body(), usize::MAX).await.unwrap();
    (status, headers, String::from_utf8(body.to_vec()).unwrap())
}

fn parse(xml: &str) -> atom_syndication::Feed {
    xml.parse::<atom_syndication::Feed>().unwrap_or_else(|e| panic!("not valid Atom ({e}):\n{xml}"))
}

/// The log's entries (newest first) whose events satisfy `keep`.
fn entries_where(log: &[Vec<u8>], keep: impl Fn(&Value) -> bool) -> Vec<(usize, Value)> {
    let mut v: Vec<(usize, Value)> = log
        .iter()
        .enumerate()
        .map(|(i, e)| (i, serde_json::from_slice::<Value>(e).unwrap()))
        .filter(|(_, e)| keep(e))
        .collect();
    v.reverse();
    v
}

#[tokio::test]
async fn each_feed_is_valid_atom_with_exactly_its_events_in_both_languages() {
    let app = App::new().await;
    dipr_registry::demo::seed(&app.state).await.unwrap();
    let admin = app.staff(Role::Admin).await;
    app.advance(&admin, 40).await;
    // A name a feed must escape.
    let applicant = app.sign_up("feedco").await;
    let examiner = app.staff(Role::Examiner).await;
    let id = app.publish_notice(&applicant, &examiner, "语料 <b>&\"粗体\"</b>").await;
    let log = all_entries(&app).await;

    let kind_in = |kinds: &'static [&'static str]| move |e: &Value| kinds.contains(&e["kind"].as_str().unwrap());
    let registered = |e: &Value| e["to_state"] == json!("registered") && e["from_state"] != json!("registered");
    let cases: Vec<(&str, Vec<(usize, Value)>)> = vec![
        ("notices", entries_where(&log, kind_in(&["notice_published"]))),
        ("registrations", entries_where(&log, registered)),
        ("revocations", entries_where(&log, kind_in(&["revoked", "cancelled", "expired"]))),
        (
            "encumbrances",
            entries_where(
                &log,
                kind_in(&[
                    "pledge_filed",
                    "pledge_registered",
                    "pledge_released",
                    "pledge_enforced",
                    "licence_granted",
                    "licence_terminated",
                    "transferred",
                    "succeeded",
                    "dispute_filed",
                    "dispute_upheld",
                    "dispute_dismissed",
                ]),
            ),
        ),
    ];
    for (name, expected) in &cases {
        let (status, headers, xml) = feed(&app, &format!("/feeds/{name}.atom")).await;
        assert_eq!(status, StatusCode::OK, "{name}");
        assert_eq!(headers["content-type"], "application/atom+xml; charset=utf-8");
        let f = parse(&xml);
        assert_eq!(f.lang.as_deref(), Some("zh-CN"));
        let ids: Vec<String> = f.entries.iter().map(|e| e.id.clone()).collect();
        let want: Vec<String> = expected
            .iter()
            .take(50)
            .map(|(i, e)| format!("http://127.0.0.1:8080/records/{}#log-{i}", e["subject"].as_str().unwrap()))
            .collect();
        assert_eq!(ids, want, "{name}: the newest of its events, newest first");
        for (entry, (_, e)) in f.entries.iter().zip(expected) {
            assert_eq!(entry.categories[0].term, e["kind"].as_str().unwrap());
            assert!(entry.links[0].href.ends_with(&format!("/records/{}", e["subject"].as_str().unwrap())));
            assert!(entry.summary.as_ref().unwrap().value.contains("北京时间"));
        }
        // English: same entries, English words.
        let (_, _, xml) = feed(&app, &format!("/feeds/{name}.atom?lang=en")).await;
        let en = parse(&xml);
        assert_eq!(en.lang.as_deref(), Some("en"));
        assert_eq!(en.entries.iter().map(|e| e.id.clone()).collect::<Vec<_>>(), ids);
        assert!(en.entries.iter().all(|e| e.summary.as_ref().unwrap().value.contains("Beijing time")));
    }
    assert!(!cases[0].1.is_empty() && !cases[1].1.is_empty() && !cases[3].1.is_empty(), "the demo has them all");

    // One record's feed: every public event on it, and the escaped name reads back as it was written.
    let (status, _, xml) = feed(&app, &format!("/records/{id}/feed.atom")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!xml.contains("<b>"), "markup in a name is escaped");
    let f = parse(&xml);
    let own = entries_where(&log, |e| e["subject"] == json!(id));
    assert_eq!(f.entries.len(), own.len());
    assert!(f.title.value.contains("语料 <b>&\"粗体\"</b>"), "{}", f.title.value);
    assert!(f.entries[0].title.value.contains("发布公示"));

    // Unknown feeds and records that are not public have no feed.
    assert_eq!(feed(&app, "/feeds/everything.atom").await.0, StatusCode::NOT_FOUND);
    assert_eq!(feed(&app, "/feeds/notices").await.0, StatusCode::NOT_FOUND);
    let draft = app.draft(&applicant, "未公开的草稿").await;
    assert_eq!(feed(&app, &format!("/records/{draft}/feed.atom")).await.0, StatusCode::NOT_FOUND);
    assert_eq!(feed(&app, "/records/not-a-uuid/feed.atom").await.0, StatusCode::NOT_FOUND);

    // A reader that has the feed revalidates it for free.
    let (_, headers, _) = feed(&app, "/feeds/notices.atom").await;
    let tag = headers["etag"].to_str().unwrap();
    let req = Request::builder().uri("/feeds/notices.atom").header("if-none-match", tag).body(Body::empty()).unwrap();
    assert_eq!(app.router.clone().oneshot(req).await.unwrap().status(), StatusCode::NOT_MODIFIED);
}
