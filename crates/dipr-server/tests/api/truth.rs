//! What the registry tells people must be true: a verification shows the registration's current status
//! (a genuine signature over a revoked registration is a red result, and its PDF is marked), and one
//! certificate shows the same dates on every page, in the PDF and in the CLI report, in Beijing time
//! with the zone named.

use super::web::Web;
use super::*;

/// Beijing date of an RFC 3339 instant, computed here independently of the server's formatter.
fn beijing(rfc3339: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(rfc3339)
        .unwrap()
        .with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).unwrap())
        .format("%Y-%m-%d")
        .to_string()
}

async fn get_bytes(app: &App, uri: &str) -> (StatusCode, Vec<u8>) {
    let resp = app.router.clone().oneshot(Request::builder().uri(uri).body(Body::empty()).unwrap()).await.unwrap();
    let status = resp.status();
    (status, axum::body::to_bytes(resp.into_body(), usize::MAX).await.unwrap().to_vec())
}

/// The text of a PDF, extracted by poppler's `pdftotext` (.ci/run installs poppler-utils).
fn pdf_text(pdf: &[u8]) -> String {
    use std::io::Write;
    let mut child = std::process::Command::new("pdftotext")
        .args(["-enc", "UTF-8", "-", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("pdftotext (Debian package poppler-utils) is needed to read the PDF's text");
    child.stdin.take().unwrap().write_all(pdf).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "pdftotext failed");
    String::from_utf8(out.stdout).unwrap()
}

async fn certificate_text(app: &App, id: &str) -> String {
    app.ok("GET", &format!("/api/v1/public/records/{id}/certificate"), None, None).await.to_string()
}

/// The last public event of a record (what ended it), as JSON.
async fn last_event(app: &App, id: &str) -> Value {
    let rec = app.ok("GET", &format!("/api/v1/public/records/{id}"), None, None).await;
    rec["history"].as_array().unwrap().last().unwrap().clone()
}

/// Four registrations: one cancelled by its holder, one revoked by an examiner, one expired, and one
/// registered later and still in force. Returns (in force, cancelled, revoked, expired, applicant).
async fn ended_three_ways(app: &App) -> (String, String, String, String, String) {
    let (a, e, admin) = actors(app).await;
    let mut ids = Vec::new();
    for name in ["注销的产品", "撤销的产品", "届满的产品"] {
        ids.push(app.publish_notice(&a, &e, name).await);
    }
    app.advance(&admin, 20).await;
    app.ok("POST", &format!("/api/v1/applications/{}/cancel", ids[0]), Some(&a), Some(json!({"text": "停止运营"})))
        .await;
    app.ok(
        "POST",
        &format!("/api/v1/review/applications/{}/decision", ids[1]),
        Some(&e),
        Some(json!({"action": "revoke", "reasons": "数据来源不合法，撤销登记"})),
    )
    .await;
    app.advance(&admin, 365 * 3 + 20).await;
    assert_eq!(app.state_of(&a, &ids[2]).await, "expired");
    let live = app.publish_notice(&a, &e, "有效的产品").await;
    app.advance(&admin, 20).await;
    assert_eq!(app.state_of(&a, &live).await, "registered");
    let [c, r, x]: [String; 3] = ids.try_into().unwrap();
    (live, c, r, x, a)
}

#[tokio::test]
async fn check_gives_a_red_result_for_revoked_cancelled_and_expired_certificates() {
    let app = App::new().await;
    let (live, cancelled, revoked, expired, a) = ended_three_ways(&app).await;
    let web = Web::new(&app, &a);
    for (id, headline, kind) in [
        (&revoked, "证书所载登记已撤销", "revoked"),
        (&cancelled, "证书所载登记已注销", "cancelled"),
        (&expired, "证书所载登记已失效", "expired"),
    ] {
        let cert = certificate_text(&app, id).await;
        // The signature itself still verifies: only the status makes the result red.
        let c = dipr_ledger::certificate::Certificate::parse(cert.as_bytes()).unwrap();
        assert!(dipr_ledger::certificate::verify(&c, Some(&app.state.signer.verifier()), None).ok);
        let (status, html) = web.post("/check", &[("certificate", &cert)]).await;
        assert_eq!(status, StatusCode::OK, "a verdict, not an error of the request");
        assert!(html.contains("class=\"result bad\" id=\"check-result\""), "{kind}: red result\n{html}");
        assert!(html.contains(headline) && !html.contains("证书有效"), "{kind}: says what ended it\n{html}");
        assert!(html.contains("class=\"result bad\" id=\"check-status\""), "{kind}: red status box");
        let ended = last_event(&app, id).await;
        assert_eq!(ended["kind"], kind);
        let on = format!("{}（北京时间）", beijing(ended["at"].as_str().unwrap()));
        assert!(html.contains(&on), "{kind}: the date it ended, {on}\n{html}");
    }
    let (_, html) = web.post("/check", &[("certificate", &certificate_text(&app, &revoked).await)]).await;
    assert!(html.contains("数据来源不合法，撤销登记"), "the decision that ended it");
    let (_, html) = web.post("/check?lang=en", &[("certificate", &certificate_text(&app, &revoked).await)]).await;
    assert!(html.contains("was revoked") && html.contains("(Beijing time)"), "{html}");

    // A registration in force: green, with its status and encumbrances next to the checks.
    let (_, html) = web.post("/check", &[("certificate", &certificate_text(&app, &live).await)]).await;
    assert!(html.contains("class=\"result good\" id=\"check-result\"") && html.contains("证书有效"), "{html}");
    assert!(html.contains("id=\"check-status\"") && html.contains("登记现状：有效") && html.contains("权利负担"));

    // The public record page shows the same status box.
    let (_, html) = web.get(&format!("/records/{revoked}")).await;
    assert!(html.contains("class=\"result bad\" id=\"record-status\"") && html.contains("已撤销"), "{html}");
    let (_, html) = web.get(&format!("/records/{live}")).await;
    assert!(html.contains("class=\"result good\" id=\"record-status\""), "{html}");
}

#[tokio::test]
async fn check_gives_a_red_result_for_an_evidence_bundle_of_a_revoked_registration() {
    use dipr_fingerprint::evidence::{EvidenceBundle, SuspectInfo};
    let app = App::new().await;
    let (a, e, admin) = actors(&app).await;
    let secrets = dipr_fingerprint::Secrets::generate("owner").unwrap();
    let opts = dipr_fingerprint::Options {
        format: dipr_fingerprint::Format::Csv,
        product: "撤销的证据包语料".into(),
        version: 1,
        views: vec![],
        scale: 256,
        keep_fingerprints: false,
        discovery_key: Some(app.state.discovery_key),
    };
    let fp = dipr_fingerprint::fingerprint(dataset(0, 1_000).as_bytes(), &opts, &secrets, &mut |_| {}).unwrap();
    let id = app.draft(&a, "撤销的证据包语料").await;
    let manifest = Some(serde_json::to_value(&fp.manifest).unwrap());
    app.ok("PUT", &format!("/api/v1/applications/{id}/manifest"), Some(&a), manifest).await;
    app.ok("POST", &format!("/api/v1/applications/{id}/submit"), Some(&a), None).await;
    for action in ["accept", "pass_formal_review", "approve"] {
        app.decide(&e, &id, action).await;
    }
    app.advance(&admin, 20).await;
    let certificate =
        dipr_ledger::certificate::Certificate::parse(certificate_text(&app, &id).await.as_bytes()).unwrap();
    app.decide(&e, &id, "revoke").await;
    let report = dipr_fingerprint::ContainmentReport {
        product: "撤销的证据包语料".into(),
        root: fp.manifest.root.clone(),
        suspect_records: 1_000,
        views: vec![],
    };
    let suspect = SuspectInfo { file_name: "copy.csv".into(), sha256: "cd".repeat(32), bytes: 9_000, records: 1_000 };
    let bundle =
        EvidenceBundle::new(certificate, fp.manifest.clone(), suspect, &report, vec![], vec![], &secrets.signer);
    let (status, html) =
        Web::new(&app, &a).post("/check", &[("certificate", &serde_json::to_string(&bundle).unwrap())]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("class=\"result bad\" id=\"check-result\"") && html.contains("证书所载登记已撤销"), "{html}");
    assert!(!html.contains("证据包有效"), "{html}");
}

#[tokio::test]
async fn the_pdf_of_a_registration_no_longer_in_force_is_marked() {
    let app = App::new().await;
    let (live, cancelled, revoked, expired, _) = ended_three_ways(&app).await;
    for (id, zh, en) in
        [(&revoked, "已撤销", "REVOKED"), (&cancelled, "已注销", "CANCELLED"), (&expired, "已失效", "EXPIRED")]
    {
        let (status, pdf) = get_bytes(&app, &format!("/api/v1/public/records/{id}/certificate.pdf")).await;
        assert_eq!(status, StatusCode::OK);
        let text = pdf_text(&pdf);
        let on = beijing(last_event(&app, id).await["at"].as_str().unwrap());
        assert!(text.contains(zh) && text.contains(en) && text.contains(&on), "{en}: marked with the date\n{text}");
    }
    let text = pdf_text(&get_bytes(&app, &format!("/api/v1/public/records/{live}/certificate.pdf")).await.1);
    assert!(text.contains("数据知识产权登记证书"), "{text}");
    for mark in ["已撤销", "REVOKED", "已注销", "已失效", "EXPIRED", "不再有效"] {
        assert!(!text.contains(mark), "a registration in force carries no mark {mark}\n{text}");
    }
}

#[tokio::test]
async fn one_certificate_shows_the_same_dates_everywhere() {
    let app = App::new().await;
    let (a, e, admin) = actors(&app).await;
    // Work at about 18:00 UTC, when the Beijing date is already the next day: a page that printed UTC
    // dates would disagree with one that printed Beijing dates.
    let hour = chrono::Timelike::hour(&app.state.clock.now());
    let hours = (18 + 24 - hour) % 24;
    app.ok("POST", "/api/v1/admin/clock", Some(&admin), Some(json!({"days": 0, "hours": hours}))).await;
    let id = app.publish_notice(&a, &e, "日期一致的语料").await;
    app.advance(&admin, 20).await;
    let rec = app.ok("GET", &format!("/api/v1/public/records/{id}"), None, None).await;
    let reg = &rec["record"]["registration"];
    let registered_on = beijing(reg["registered_at"].as_str().unwrap());
    let (from, until) = (beijing(reg["valid_from"].as_str().unwrap()), beijing(reg["valid_until"].as_str().unwrap()));
    assert_eq!(from, registered_on, "validity runs from the registration date, not the notice's start");
    let notice_start = beijing(rec["record"]["notice_started_at"].as_str().unwrap());
    assert_ne!(from, notice_start);
    let period = format!("{from} 至 {until}（北京时间）");

    let web = Web::new(&app, &a);
    let (_, page) = web.get(&format!("/records/{id}")).await;
    assert!(page.contains(&period), "record page: {period}\n{page}");
    let (_, page_en) = web.get(&format!("/records/{id}?lang=en")).await;
    assert!(page_en.contains(&format!("{from} to {until} (Beijing time)")), "{page_en}");

    let cert = certificate_text(&app, &id).await;
    let (_, check) = web.post("/check", &[("certificate", &cert)]).await;
    assert!(check.contains(&period), "/check: {period}\n{check}");

    let pdf = pdf_text(&get_bytes(&app, &format!("/api/v1/public/records/{id}/certificate.pdf")).await.1);
    assert!(pdf.contains(&format!("{from} 至 to {until}")) && pdf.contains("北京时间 Beijing time"), "PDF:\n{pdf}");
    assert!(pdf.contains(&registered_on), "{pdf}");

    let (_, me) = web.get("/me").await;
    assert!(me.contains(&format!("有效期至 {until}（北京时间）")), "/me: {until}\n{me}");

    let c = dipr_ledger::certificate::Certificate::parse(cert.as_bytes()).unwrap();
    let report = dipr_ledger::certificate::verify(&c, Some(&app.state.signer.verifier()), None);
    let text = dipr_ledger::certificate::render_report(&report);
    assert!(text.contains(&format!("{from} 至 to {until}（北京时间 Beijing time）")), "CLI report:\n{text}");
}

#[tokio::test]
async fn public_histories_are_in_time_order() {
    let app = App::new().await;
    dipr_registry::demo::seed(&app.state).await.unwrap();
    let all = app.state.store.applications(&Default::default(), dipr_store::Page::new(1, 500)).await.unwrap();
    let mut checked = 0;
    for a in all.items.iter().filter(|a| a.is_public()) {
        let rec = app.ok("GET", &format!("/api/v1/public/records/{}", a.id), None, None).await;
        let times: Vec<chrono::DateTime<chrono::Utc>> = rec["history"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| serde_json::from_value(e["at"].clone()).unwrap())
            .collect();
        assert!(times.windows(2).all(|w| w[0] <= w[1]), "history of {} out of order: {times:?}", a.id);
        checked += 1;
    }
    assert!(checked > 20, "{checked}");
}

#[tokio::test]
async fn the_2027_calendar_is_seeded_and_administrators_are_warned_before_it_runs_out() {
    let app = App::new().await;
    let (a, e, admin) = actors(&app).await;
    let days = app.ok("GET", "/api/v1/calendar", None, None).await;
    let holiday = |d: &str| days.as_array().unwrap().iter().any(|x| x["date"] == d && x["kind"] == "holiday");
    for d in ["2027-01-01", "2027-02-05", "2027-02-08", "2027-04-05", "2027-06-09", "2027-09-15", "2027-10-01"] {
        assert!(holiday(d), "{d} is a statutory holiday of 2027");
    }

    // From 1 October of the last covered year (2027) /admin warns that 2028 is not covered.
    let today = |app: &App| dipr_domain::time::local_date(app.state.clock.now());
    let date = |s: &str| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
    let web = Web::new(&app, &admin);
    let to = |target: &str, app: &App| (date(target) - today(app)).num_days().max(0) as u32 + 1;
    if today(&app) < date("2027-10-01") {
        let (_, html) = web.get("/admin").await;
        assert!(!html.contains("id=\"calendar-warning\""), "no warning a quarter ahead of the gap");
        app.advance(&admin, to("2027-10-01", &app)).await;
    }
    let (_, html) = web.get("/admin").await;
    assert!(html.contains("id=\"calendar-warning\"") && html.contains("节假日日历尚未录入 2028 年"), "{html}");

    // A correction deadline that reaches 2028 is counted by the weekend rule, and the page says so.
    app.advance(&admin, to("2027-12-27", &app)).await;
    let id = app.draft(&a, "跨年补正的语料").await;
    app.ok("POST", &format!("/api/v1/applications/{id}/submit"), Some(&a), None).await;
    app.decide(&e, &id, "accept").await;
    app.decide(&e, &id, "request_correction").await;
    let (_, html) = Web::new(&app, &a).get(&format!("/me/filings/{id}")).await;
    assert!(html.contains("补正截止") && html.contains("暂按周末规则计算"), "{html}");
}

/// The one rule is kept by construction: outside `dipr_domain::shown`, no page, PDF, CLI or report code
/// (the evidence report too; the rest of the fingerprint crate formats data, not times for people)
/// formats an instant as a date or time itself.
#[test]
fn no_code_outside_the_one_rule_formats_a_date() {
    let crates = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf();
    let mut found = Vec::new();
    let mut files = Vec::new();
    let mut dirs: Vec<_> =
        ["dipr-server/src", "dipr-server/templates", "dipr-pdf/src", "dipr-cli/src", "dipr-ledger/src"]
            .iter()
            .map(|d| crates.join(d))
            .collect();
    files.push(crates.join("dipr-fingerprint/src/evidence.rs"));
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                files.push(path);
            }
        }
    }
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap();
        for (n, line) in text.lines().enumerate() {
            if ["format(\"%Y-", "%H:%M", "get(..10)", "FixedOffset"].iter().any(|p| line.contains(p)) {
                found.push(format!("{}:{}: {}", path.display(), n + 1, line.trim()));
            }
        }
    }
    assert!(found.is_empty(), "format dates through dipr_domain::shown:\n{}", found.join("\n"));
}

#[tokio::test]
async fn check_says_when_a_certificate_was_superseded_by_a_newer_one() {
    let app = App::new().await;
    let (a, e, admin) = actors(&app).await;
    let id = app.publish_notice(&a, &e, "更名前的语料").await;
    app.advance(&admin, 20).await;
    let old = certificate_text(&app, &id).await;
    let details = format!("/api/v1/records/{id}/holder-details");
    app.ok("POST", &details, Some(&a), Some(json!({"name": "更名后数据集团有限公司", "reasons": "更名"}))).await;
    let web = Web::new(&app, &a);
    // The old certificate is still genuine, but it names a holder the register no longer has.
    let (status, html) = web.post("/check", &[("certificate", &old)]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("class=\"result bad\" id=\"check-result\"") && html.contains("证书已被新版本取代"), "{html}");
    assert!(html.contains("更名后数据集团有限公司") && !html.contains("证书有效"), "{html}");
    let (_, html) = web.post("/check", &[("certificate", &certificate_text(&app, &id).await)]).await;
    assert!(html.contains("class=\"result good\" id=\"check-result\"") && html.contains("证书有效"), "{html}");
}

/// A GET through `router`, with `If-None-Match` when given: the status, the `ETag` and the body.
async fn get_tagged(router: &axum::Router, uri: &str, if_none_match: Option<&str>) -> (StatusCode, String, Vec<u8>) {
    let mut req = Request::builder().uri(uri);
    if let Some(tag) = if_none_match {
        req = req.header("if-none-match", tag);
    }
    let resp = router.clone().oneshot(req.body(Body::empty()).unwrap()).await.unwrap();
    let status = resp.status();
    let tag = resp.headers().get("etag").map(|t| t.to_str().unwrap().to_string()).unwrap_or_default();
    (status, tag, axum::body::to_bytes(resp.into_body(), usize::MAX).await.unwrap().to_vec())
}

/// Text without white space: a wrapped line may break anywhere in a URL.
fn flat(text: &str) -> String {
    text.split_whitespace().collect()
}

#[tokio::test]
async fn a_certificate_pdf_names_its_registrar_and_date_of_issue_and_links_to_the_configured_address() {
    let config = Config {
        public_url: Some("https://dipr.example.cn/".into()),
        registrar_name: "上海数据交易所数据产品登记中心".into(),
        registrar_name_en: "Shanghai Data Exchange Data Product Registration Centre".into(),
        ..config()
    };
    let app = App::with(config, signer()).await;
    let (a, e, admin) = actors(&app).await;
    let id = app.publish_notice(&a, &e, "登记机构语料").await;
    app.advance(&admin, 20).await;
    let cert = dipr_ledger::certificate::Certificate::parse(certificate_text(&app, &id).await.as_bytes()).unwrap();
    assert_eq!(cert.statement.record_url, format!("https://dipr.example.cn/records/{id}"), "a new statement");
    let registered_on = beijing(&cert.statement.registered_at);

    let pdf = get_bytes(&app, &format!("/api/v1/public/records/{id}/certificate.pdf")).await.1;
    let text = pdf_text(&pdf);
    for needle in [
        "上海数据交易所数据产品登记中心",
        "Shanghai Data Exchange Data Product Registration Centre",
        "Registrar code 3100",
        "发证日期 Date of issue",
        &format!("{registered_on}（北京时间 Beijing time）"),
        "扫码或打开",
        &format!("https://dipr.example.cn/records/{id}"),
        "https://dipr.example.cn/check",
        "dipr verify",
        "JSON 证书是机器可核验的原件",
        "登记机构印章",
    ] {
        assert!(flat(&text).contains(&flat(needle)), "missing {needle:?}\n{text}");
    }
    assert!(!text.contains("127.0.0.1") && !text.contains("可读副本"), "{text}");

    // Issued again days later (the holder's name changed): dated by the new certificate, registered as before.
    app.advance(&admin, 3).await;
    let details = format!("/api/v1/records/{id}/holder-details");
    app.ok("POST", &details, Some(&a), Some(json!({"name": "更名后数据集团有限公司", "reasons": "更名"}))).await;
    let reissued_on = beijing(last_event(&app, &id).await["at"].as_str().unwrap());
    assert_ne!(reissued_on, registered_on);
    let text = pdf_text(&get_bytes(&app, &format!("/api/v1/public/records/{id}/certificate.pdf")).await.1);
    // The page's columns interleave in the extracted text: the date of issue is the only one of its day.
    let issued = flat(&format!("{reissued_on}（北京时间 Beijing time）"));
    assert!(flat(&text).contains("发证日期Dateofissue") && flat(&text).contains(&issued), "{text}");
    assert!(flat(&text).contains(&flat(&format!("{registered_on}（北京时间 Beijing time）"))), "registered on\n{text}");
}

#[tokio::test]
async fn a_certificate_pdf_follows_the_registry_to_its_public_address_and_the_signed_json_stays() {
    // No public_url: the registry answered on its default address when it registered this product.
    let app = App::new().await;
    let (a, e, admin) = actors(&app).await;
    let id = app.publish_notice(&a, &e, "迁址前登记的语料").await;
    app.advance(&admin, 20).await;
    let json_uri = format!("/api/v1/public/records/{id}/certificate");
    let json_before = get_tagged(&app.router, &json_uri, None).await.2;
    let cert = dipr_ledger::certificate::Certificate::parse(&json_before).unwrap();
    let old = format!("{}/records/{id}", dipr_registry::state::DEFAULT_PUBLIC_URL);
    assert_eq!(cert.statement.record_url, old);
    let pdf_uri = format!("/api/v1/public/records/{id}/certificate.pdf");
    let (_, tag, pdf) = get_tagged(&app.router, &pdf_uri, None).await;
    assert!(flat(&pdf_text(&pdf)).contains(&old));

    // The same register served at its public address.
    let config = Config { public_url: Some("https://dipr.example.cn".into()), ..config() };
    let moved = Registry::new(app.state.store.clone(), config, app.state.signer.clone()).await.unwrap();
    let router = dipr_server::router(moved);
    let (status, new_tag, pdf) = get_tagged(&router, &pdf_uri, Some(&tag)).await;
    assert_eq!(status, StatusCode::OK, "the address is an input of the rendering: a new tag");
    let text = pdf_text(&pdf);
    assert!(flat(&text).contains(&format!("https://dipr.example.cn/records/{id}")), "{text}");
    assert!(flat(&text).contains("https://dipr.example.cn/check") && !text.contains("127.0.0.1"), "{text}");
    assert_eq!(get_tagged(&router, &pdf_uri, Some(&new_tag)).await.0, StatusCode::NOT_MODIFIED);
    // The signed certificate is not rewritten.
    assert_eq!(get_tagged(&router, &json_uri, None).await.2, json_before);
}

#[tokio::test]
async fn a_registrar_seal_is_checked_at_start_and_printed_on_every_certificate() {
    let dir = temp_db().parent().unwrap().to_path_buf();
    let start = |seal: std::path::PathBuf| async move {
        let store = Arc::new(dipr_store::SqliteStore::open(&temp_db()).await.unwrap());
        Registry::new(store, Config { seal_image: Some(seal), ..config() }, signer()).await.err().unwrap().to_string()
    };
    let missing = start(dir.join("missing.png")).await;
    assert!(missing.contains("seal_image") && missing.contains("missing.png"), "{missing}");
    std::fs::write(dir.join("seal.gif"), b"GIF89a\x01\x00\x01\x00").unwrap();
    let not_png = start(dir.join("seal.gif")).await;
    assert!(not_png.contains("seal.gif") && not_png.contains("not a PNG file"), "{not_png}");

    std::fs::write(dir.join("seal.png"), include_bytes!("../../../dipr-pdf/tests/seal.png")).unwrap();
    let app = App::with(Config { seal_image: Some(dir.join("seal.png")), ..config() }, signer()).await;
    let (a, e, admin) = actors(&app).await;
    let id = app.publish_notice(&a, &e, "盖章的语料").await;
    app.advance(&admin, 20).await;
    let pdf = get_bytes(&app, &format!("/api/v1/public/records/{id}/certificate.pdf")).await.1;
    assert!(!pdf_text(&pdf).contains("登记机构印章"), "the seal, not the empty place for it");
    std::fs::write(dir.join("certificate.pdf"), &pdf).unwrap();
    let out = std::process::Command::new("pdfimages").arg("-list").arg(dir.join("certificate.pdf")).output().unwrap();
    assert_eq!(String::from_utf8(out.stdout).unwrap().lines().skip(2).count(), 1, "one image: the seal");
}
