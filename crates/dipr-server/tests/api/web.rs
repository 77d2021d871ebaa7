//! The web console's forms through the real router, signed in with a session cookie: the applicant's
//! filing page, the holder's licences and transactions, the examiner's objection decisions, the bank's
//! pledge book and the administration page. Each refused form must answer with the field's translated
//! error, keep what was typed, and change nothing.

use super::*;

/// A browser: a session cookie, and form posts the way a page sends them.
pub(super) struct Web<'a> {
    app: &'a App,
    cookie: String,
}

pub(super) fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

impl<'a> Web<'a> {
    /// Signed in as the owner of this API token (a session cookie holds the same kind of token).
    pub(super) fn new(app: &'a App, token: &str) -> Self {
        Self { app, cookie: format!("dipr_session={token}") }
    }

    pub(super) async fn get(&self, path: &str) -> (StatusCode, String) {
        let req = Request::builder().uri(path).header("cookie", &self.cookie).body(Body::empty()).unwrap();
        let resp = self.app.router.clone().oneshot(req).await.unwrap();
        let status = resp.status();
        (status, body_text(resp).await)
    }

    pub(super) async fn post(&self, path: &str, fields: &[(&str, &str)]) -> (StatusCode, String) {
        let body: Vec<String> = fields.iter().map(|(k, v)| format!("{}={}", enc(k), enc(v))).collect();
        let req = Request::builder()
            .method("POST")
            .uri(path)
            .header("content-type", "application/x-www-form-urlencoded")
            .header("cookie", &self.cookie)
            .body(Body::from(body.join("&")))
            .unwrap();
        let resp = self.app.router.clone().oneshot(req).await.unwrap();
        let status = resp.status();
        (status, body_text(resp).await)
    }

    /// The session's CSRF token, as a page carries it.
    async fn csrf(&self) -> String {
        let (status, html) = self.get("/me").await;
        assert_eq!(status, StatusCode::OK);
        hidden(&html, "csrf")
    }
}

pub(super) async fn body_text(resp: axum::response::Response) -> String {
    String::from_utf8(axum::body::to_bytes(resp.into_body(), usize::MAX).await.unwrap().to_vec()).unwrap()
}

pub(super) fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker).unwrap_or_else(|| panic!("no {name} in page")) + marker.len();
    html[start..].split('"').next().unwrap().to_string()
}

/// The translated error shown next to a field (`id="err-FIELD"`), if any.
pub(super) fn error_at(html: &str, field: &str) -> Option<String> {
    let marker = format!("id=\"err-{field}\">");
    let start = html.find(&marker)? + marker.len();
    Some(html[start..].split('<').next().unwrap().to_string())
}

/// The deadline line of a filing page.
fn deadline_of(html: &str) -> String {
    let marker = "id=\"deadline\"><strong>";
    let start = html.find(marker).expect("a deadline line") + marker.len();
    html[start..].split('<').next().unwrap().to_string()
}

/// The value an input shows.
fn value_of(html: &str, id: &str) -> String {
    let marker = format!("id=\"{id}\"");
    let at = html.find(&marker).unwrap_or_else(|| panic!("no #{id}"));
    let tag = &html[at..at + html[at..].find('>').unwrap()];
    tag.split("value=\"").nth(1).map(|v| v.split('"').next().unwrap().to_string()).unwrap_or_default()
}

fn web_form<'b>(csrf: &'b str, name: &'b str, intent: &'b str) -> Vec<(&'b str, &'b str)> {
    vec![
        ("csrf", csrf),
        ("intent", intent),
        ("product_name", name),
        ("object_type", "data_collection"),
        ("industry", "model_corpus"),
        ("scenarios", "大模型训练, 检索"),
        ("summary", "经清洗与标注的中文语料"),
        ("source_kind", "self_collected"),
        ("source_description", "自有平台采集"),
        ("legality_statement", "数据来源合法"),
        ("no_infringement", "on"),
        ("processing", "去重、清洗、脱敏"),
        ("structure", "text:string\nlabel:string"),
        ("format", "jsonl"),
        ("update_frequency", "monthly"),
        ("secrecy_measures", "访问控制"),
        ("samples", "{\"text\": \"示例\"}"),
        ("contact_name", "张三"),
        ("contact_phone", "021-1234"),
        ("contact_email", "a@example.cn"),
    ]
}

fn location(id: &str) -> String {
    format!("/me/filings/{id}")
}

#[tokio::test]
async fn applicant_saves_a_draft_submits_and_answers_a_correction_on_the_web() {
    let app = App::new().await;
    let (a, e, _) = actors(&app).await;
    let web = Web::new(&app, &a);
    let csrf = web.csrf().await;

    // A draft needs only a name and a type.
    let before = app.row_counts().await;
    let (status, _) =
        web.post("/me/file", &[("csrf", &csrf), ("intent", "save"), ("object_type", "data_product")]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "no name: refused");
    assert_eq!(app.row_counts().await, before, "a refused draft writes nothing");
    let req = Request::builder()
        .method("POST")
        .uri("/me/file")
        .header("content-type", "application/x-www-form-urlencoded")
        .header("cookie", &web.cookie)
        .body(Body::from(format!("csrf={csrf}&intent=save&product_name={}&object_type=data_product", enc("网页草稿"))))
        .unwrap();
    let resp = app.router.clone().oneshot(req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let to = resp.headers()["location"].to_str().unwrap().to_string();
    let id = to.trim_start_matches("/me/filings/").to_string();
    assert_eq!(app.state_of(&a, &id).await, "draft");

    // Submitting an incomplete draft: every missing field explained in place, what was typed kept,
    // and the stored draft untouched.
    let (status, html) = web.get(&location(&id)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(value_of(&html, "product_name"), "网页草稿");
    let before = app.row_counts().await;
    let fields = [
        ("csrf", csrf.as_str()),
        ("intent", "submit"),
        ("product_name", "改过的名称"),
        ("object_type", "data_product"),
    ];
    let (status, html) = web.post(&location(&id), &fields).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error_at(&html, "summary").as_deref(), Some("必填。"));
    assert_eq!(error_at(&html, "no_infringement").as_deref(), Some("必填。"));
    assert_eq!(value_of(&html, "product_name"), "改过的名称", "typed input is kept");
    assert_eq!(app.row_counts().await, before);
    let stored = app.ok("GET", &format!("/api/v1/applications/{id}"), Some(&a), None).await;
    assert_eq!(stored["form"]["product_name"], "网页草稿");

    // Saving keeps edits in the draft; submitting the full form sends it.
    let (status, _) = web.post(&location(&id), &web_form(&csrf, "网页语料", "save")).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let stored = app.ok("GET", &format!("/api/v1/applications/{id}"), Some(&a), None).await;
    assert_eq!(
        (stored["state"].as_str(), stored["form"]["structure"][1]["name"].as_str()),
        (Some("draft"), Some("label"))
    );
    let (status, _) = web.post(&location(&id), &web_form(&csrf, "网页语料", "submit")).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(app.state_of(&a, &id).await, "submitted");

    // The examiner asks for a correction; the page shows it, and resubmission needs a note.
    app.decide(&e, &id, "accept").await;
    app.decide(&e, &id, "request_correction").await;
    let (_, html) = web.get(&location(&id)).await;
    assert!(html.contains("id=\"correction\"") && html.contains("理由：request_correction"));
    assert!(deadline_of(&html).starts_with("补正截止 "), "the page states the deadline");
    let (status, html) = web.post(&location(&id), &web_form(&csrf, "网页语料（补正）", "submit")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error_at(&html, "response").as_deref(), Some("必填。"));
    let mut fields = web_form(&csrf, "网页语料（补正）", "submit");
    fields.push(("response", "补充了数据结构说明"));
    let (status, _) = web.post(&location(&id), &fields).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let stored = app.ok("GET", &format!("/api/v1/applications/{id}"), Some(&a), None).await;
    assert_eq!(stored["state"], "formal_review");
    assert_eq!(stored["form"]["product_name"], "网页语料（补正）");
    assert_eq!(stored["correction"]["response"], "补充了数据结构说明");

    // Another applicant cannot see or post to the page; a forged token changes nothing.
    let stranger = Web::new(&app, &app.sign_up("旁人").await);
    assert_eq!(stranger.get(&location(&id)).await.0, StatusCode::NOT_FOUND);
    let (status, html) = web.get("/me/filings/not-an-id").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "a mistyped address is a translated page, not a bare 400");
    assert!(html.contains("没有这项申请"));
    let before = app.row_counts().await;
    let (status, _) = web.post(&format!("/me/filings/{id}/withdraw"), &[("csrf", "forged"), ("text", "x")]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(app.row_counts().await, before);

    // Withdrawal needs a reason and a ticked confirmation, in English too; it names the version it was shown.
    let (_, page) = web.get(&location(&id)).await;
    let version = hidden(&page, "version");
    let withdraw = format!("/me/filings/{id}/withdraw");
    let (status, html) =
        web.post(&format!("{withdraw}?lang=en"), &[("csrf", &csrf), ("version", &version), ("text", " ")]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error_at(&html, "reason").as_deref(), Some("Required."));
    assert_eq!(error_at(&html, "confirm").as_deref(), Some("Tick the box to confirm this action."));
    // A page older than the filing's last change is refused, and nothing changes.
    let stale = (version.parse::<i64>().unwrap() - 1).to_string();
    let before = app.row_counts().await;
    let (status, html) =
        web.post(&withdraw, &[("csrf", &csrf), ("version", &stale), ("text", "不再需要"), ("confirm", "yes")]).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(html.contains("该记录已发生变化"), "{html}");
    assert_eq!(app.row_counts().await, before);
    let (status, _) =
        web.post(&withdraw, &[("csrf", &csrf), ("version", &version), ("text", "不再需要"), ("confirm", "yes")]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(app.state_of(&a, &id).await, "withdrawn");
    // The page it lands on is the receipt: what was done, when in Beijing time, by whom.
    let (_, html) = web.get(&format!("{}?receipt=1", location(&id))).await;
    let receipt = &html[html.find("id=\"receipt\"").expect("a receipt")..];
    let receipt = &receipt[..receipt.find("</div>").unwrap()];
    assert!(receipt.contains("申请人撤回") && receipt.contains("（北京时间）"), "{receipt}");
}

#[tokio::test]
async fn the_fingerprint_manifest_is_filed_from_the_page() {
    let app = App::new().await;
    let a = app.sign_up("指纹").await;
    let web = Web::new(&app, &a);
    let csrf = web.csrf().await;
    let id = app.draft(&a, "网页指纹").await;
    let url = format!("/me/filings/{id}/manifest");

    let (status, html) = web.post(&url, &[("csrf", &csrf), ("manifest", "")]).await;
    assert_eq!((status, error_at(&html, "manifest").as_deref()), (StatusCode::UNPROCESSABLE_ENTITY, Some("必填。")));
    let (status, html) = web.post(&url, &[("csrf", &csrf), ("manifest", "{\"not\": \"a manifest\"}")]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(error_at(&html, "manifest").unwrap().starts_with("数据指纹清单无效"), "{:?}", error_at(&html, "manifest"));
    assert!(html.contains("{&#34;not&#34;: &#34;a manifest&#34;}"), "what was pasted is kept, escaped");

    let manifest = manifest_for(&app, &dataset(0, 2_000), "web");
    let mut forged = manifest.clone();
    forged["distinct_records"] = json!(1);
    let (status, html) = web.post(&url, &[("csrf", &csrf), ("manifest", &forged.to_string())]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(error_at(&html, "manifest").is_some());

    let (status, _) = web.post(&url, &[("csrf", &csrf), ("manifest", &manifest.to_string())]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, html) = web.get(&location(&id)).await;
    assert!(html.contains(manifest["root"].as_str().unwrap()), "the page shows the new commitment");
    let stored = app.ok("GET", &format!("/api/v1/applications/{id}"), Some(&a), None).await;
    assert_eq!(stored["form"]["content_commitment"]["root"], manifest["root"]);
}

#[tokio::test]
async fn objections_are_answered_and_decided_on_the_web() {
    let app = App::new().await;
    let (a, e, _) = actors(&app).await;
    let id = app.publish_notice(&a, &e, "网页异议语料").await;
    let v = app
        .ok(
            "POST",
            &format!("/api/v1/public/records/{id}/objections"),
            None,
            Some(json!({"objector_name": "某公司", "objector_contact": "x@example.cn", "grounds": "数据来自我方"})),
        )
        .await;
    let oid = v["id"].as_str().unwrap().to_string();

    let applicant = Web::new(&app, &a);
    let csrf = applicant.csrf().await;
    let answer = format!("/me/filings/{id}/objections/{oid}");
    let (status, html) = applicant.post(&answer, &[("csrf", &csrf), ("text", "")]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error_at(&html, &format!("response-{oid}")).as_deref(), Some("必填。"));
    assert_eq!(applicant.post(&answer, &[("csrf", &csrf), ("text", "数据为自行采集")]).await.0, StatusCode::SEE_OTHER);

    let examiner = Web::new(&app, &e);
    let (status, html) = examiner.get(&format!("/review/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("数据为自行采集") && html.contains("x@example.cn"),
        "the examiner sees the answer and the contact"
    );
    let csrf = hidden(&html, "csrf");
    let decide = format!("/review/{id}/objections/{oid}");
    let before = app.row_counts().await;
    let (status, html) = examiner.post(&decide, &[("csrf", &csrf), ("action", ""), ("reasons", "理由")]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error_at(&html, &format!("reasons-{oid}")).as_deref(), Some("不是可选的值。"));
    assert!(html.contains(">理由</textarea>"), "typed reasons are kept");
    let (status, html) = examiner.post(&decide, &[("csrf", &csrf), ("action", "dismissed"), ("reasons", " ")]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error_at(&html, &format!("reasons-{oid}")).as_deref(), Some("此决定必须写明理由。"));
    assert_eq!(app.row_counts().await, before);
    let (status, html) = applicant.get(&format!("/review/{id}")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(html.contains("只有审查员可以审查"), "a refusal is a page in the layout");
    assert_eq!(examiner.get("/review/xyz").await.0, StatusCode::NOT_FOUND);
    // Only examiners decide.
    assert_eq!(
        applicant.post(&decide, &[("csrf", &csrf), ("action", "dismissed"), ("reasons", "x")]).await.0,
        StatusCode::FORBIDDEN
    );
    let (status, _) =
        examiner.post(&decide, &[("csrf", &csrf), ("action", "dismissed"), ("reasons", "证据不足")]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let stored = app.ok("GET", &format!("/api/v1/applications/{id}"), Some(&a), None).await;
    assert_eq!(stored["objections"][0]["decision"]["outcome"], "dismissed");
    assert_eq!(stored["state"], "public_notice");
}

#[tokio::test]
async fn holders_register_licences_and_book_transactions_and_examiners_decide_disputes() {
    let app = App::new().await;
    let (a, e, admin) = actors(&app).await;
    let id = app.publish_notice(&a, &e, "网页许可语料").await;
    app.advance(&admin, 20).await;
    let licensee_code = credit_code();
    let party = json!({"kind": "legal_person", "name": "被许可数据有限公司", "id_number": licensee_code});
    app.ok("POST", "/api/v1/auth/signup", None, Some(json!({"username": format!("l-{}", Uuid::now_v7().simple()), "password": "long enough pw", "display_name": "被许可", "role": "applicant", "party": party}))).await;

    let holder = Web::new(&app, &a);
    let csrf = holder.csrf().await;
    let url = format!("/me/filings/{id}/licences");
    let before = app.row_counts().await;
    let bad = [
        ("csrf", csrf.as_str()),
        ("lic-licensee", licensee_code.as_str()),
        ("lic-kind", "exclusive"),
        ("lic-start", "2027-13-01"),
        ("lic-end", "2026-01-01"),
        ("lic-fee", "-5"),
    ];
    let (status, html) = holder.post(&url, &bad).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error_at(&html, "lic-start").as_deref(), Some("日期格式应为 YYYY-MM-DD。"));
    assert_eq!(error_at(&html, "lic-fee").as_deref(), Some("金额应大于零，最多两位小数。"));
    assert_eq!(value_of(&html, "lic-fee"), "-5");
    let unknown = [
        ("csrf", csrf.as_str()),
        ("lic-licensee", "91310000MA1FL0000X"),
        ("lic-kind", "sole"),
        ("lic-start", "2026-12-01"),
        ("lic-end", "2027-11-30"),
    ];
    let (status, html) = holder.post(&url, &unknown).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(error_at(&html, "lic-licensee").is_some());
    assert_eq!(app.row_counts().await, before);
    let start = (app.state.clock.now().date_naive() + chrono::Days::new(1)).to_string();
    let good = [
        ("csrf", csrf.as_str()),
        ("lic-licensee", licensee_code.as_str()),
        ("lic-kind", "non_exclusive"),
        ("lic-start", &start),
        ("lic-end", "2030-12-31"),
        ("lic-territories", "上海, 北京"),
        ("lic-fee", "120,000"),
    ];
    assert_eq!(holder.post(&url, &good).await.0, StatusCode::SEE_OTHER);
    let rec = app.ok("GET", &format!("/api/v1/public/records/{id}"), None, None).await;
    assert_eq!(rec["record"]["licences"][0]["reach"]["territories"], json!(["上海", "北京"]));
    let lid = rec["record"]["licences"][0]["id"].as_str().unwrap().to_string();
    let (_, html) = holder.get(&location(&id)).await;
    assert!(html.contains(&format!("/licences/{lid}/terminate")), "an active licence can be ended");

    let url = format!("/me/filings/{id}/transactions");
    let today = dipr_domain::time::local_date(app.state.clock.now()).to_string();
    let (status, html) = holder
        .post(
            &url,
            &[
                ("csrf", &csrf),
                ("tx-kind", "trade"),
                ("tx-amount", "abc"),
                ("tx-occurred_on", &today),
                ("tx-counterparty", "买方"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error_at(&html, "tx-amount").as_deref(), Some("金额应大于零，最多两位小数。"));
    assert_eq!(value_of(&html, "tx-counterparty"), "买方");
    let (status, html) = holder
        .post(
            &url,
            &[
                ("csrf", &csrf),
                ("tx-kind", "trade"),
                ("tx-amount", "10"),
                ("tx-occurred_on", "2099-01-01"),
                ("tx-counterparty", "买方"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error_at(&html, "tx-occurred_on").as_deref(), Some("日期不能晚于今天。"));
    assert_eq!(
        holder
            .post(
                &url,
                &[
                    ("csrf", &csrf),
                    ("tx-kind", "trade"),
                    ("tx-amount", "8,800.50"),
                    ("tx-occurred_on", &today),
                    ("tx-counterparty", "买方")
                ]
            )
            .await
            .0,
        StatusCode::SEE_OTHER
    );
    let (_, html) = holder.get(&location(&id)).await;
    assert!(html.contains("¥8800.50"), "the booked transaction is listed");
    // Someone who does not hold the product cannot book against it.
    let other = Web::new(&app, &app.sign_up("他人").await);
    let other_csrf = other.csrf().await;
    assert_eq!(
        other
            .post(
                &url,
                &[
                    ("csrf", &other_csrf),
                    ("tx-kind", "trade"),
                    ("tx-amount", "1"),
                    ("tx-occurred_on", &today),
                    ("tx-counterparty", "x")
                ]
            )
            .await
            .0,
        StatusCode::NOT_FOUND
    );

    // An objection after grant reaches the examiners' queue and is decided there.
    let v = app
        .ok(
            "POST",
            &format!("/api/v1/records/{id}/disputes"),
            None,
            Some(json!({"objector_name": "某公司", "objector_contact": "010-1", "grounds": "涉嫌侵权"})),
        )
        .await;
    let did = v["holding"]["disputes"][0]["id"].as_str().unwrap().to_string();
    let examiner = Web::new(&app, &e);
    let (_, me) = examiner.get("/me").await;
    assert!(me.contains("id=\"dispute-queue\"") && me.contains(&format!("/review/{id}#disputes")));
    let csrf = hidden(&me, "csrf");
    let decide = format!("/review/{id}/disputes/{did}");
    let (status, html) = examiner.post(&decide, &[("csrf", &csrf), ("action", "upheld"), ("reasons", "")]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error_at(&html, &format!("reasons-{did}")).as_deref(), Some("此决定必须写明理由。"));
    assert_eq!(
        examiner.post(&decide, &[("csrf", &csrf), ("action", "dismissed"), ("reasons", "来源合法")]).await.0,
        StatusCode::SEE_OTHER
    );
    let (_, me) = examiner.get("/me").await;
    assert!(!me.contains("id=\"dispute-queue\""), "a decided dispute leaves the queue");

    // The holder ends the licence, then gives up the registration (a reason is required).
    let holder_csrf = holder.csrf().await;
    let end = format!("/me/filings/{id}/licences/{lid}/terminate");
    assert_eq!(holder.post(&end, &[("csrf", &holder_csrf), ("text", "")]).await.0, StatusCode::SEE_OTHER);
    let rec = app.ok("GET", &format!("/api/v1/public/records/{id}"), None, None).await;
    assert!(rec["record"]["licences"].as_array().unwrap().iter().all(|l| !l["terminated_at"].is_null()), "{rec}");
    let (status, html) = holder.post(&end, &[("csrf", &holder_csrf), ("text", "")]).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(error_at(&html, "lic-form").as_deref(), Some("该许可已终止。"));
    let cancel = format!("/me/filings/{id}/withdraw");
    let (_, html) = holder.get(&location(&id)).await;
    assert!(html.contains("id=\"cancel-registration\""));
    let version = hidden(&html, "version");
    let (status, html) = holder.post(&cancel, &[("csrf", &holder_csrf), ("version", &version), ("text", " ")]).await;
    assert_eq!((status, error_at(&html, "reason").as_deref()), (StatusCode::UNPROCESSABLE_ENTITY, Some("必填。")));
    assert_eq!(
        holder
            .post(
                &cancel,
                &[("csrf", &holder_csrf), ("version", &version), ("text", "产品停止运营"), ("confirm", "yes")]
            )
            .await
            .0,
        StatusCode::SEE_OTHER
    );
    assert_eq!(app.state_of(&a, &id).await, "cancelled");
}

#[tokio::test]
async fn banks_release_and_enforce_pledges_on_the_web() {
    let app = App::new().await;
    let (a, e, admin) = actors(&app).await;
    let bank_user = format!("bank-{}", Uuid::now_v7().simple());
    let bank_party =
        serde_json::from_value(json!({"kind": "legal_person", "name": "网页银行", "id_number": credit_code()}))
            .unwrap();
    let req = NewAccount {
        username: bank_user.clone(),
        password: "long enough pw".into(),
        display_name: "网页银行".into(),
        role: Role::Bank,
        party: Some(bank_party),
        email: None,
    };
    dipr_registry::accounts::create_account(&app.state, req, &Actor::public("test"), false).await.unwrap();
    let b = app.sign_in(&bank_user).await;
    let mut ids = Vec::new();
    for name in ["网页质押甲", "网页质押乙"] {
        let id = app.publish_notice(&a, &e, name).await;
        ids.push(id);
    }
    app.advance(&admin, 20).await;
    let today = app.state.clock.now().date_naive();
    for id in &ids {
        let v = app.ok("POST", &format!("/api/v1/records/{id}/pledges"), Some(&b), Some(json!({"secured": "1000000", "start": today.to_string(), "end": (today + chrono::Days::new(365)).to_string(), "rank": 1}))).await;
        let pid = v["holding"]["encumbrances"]["pledges"][0]["id"].as_str().unwrap().to_string();
        app.ok("POST", &format!("/api/v1/records/{id}/pledges/{pid}/consent"), Some(&a), None).await;
    }
    let bank = Web::new(&app, &b);
    let (_, html) = bank.get("/me").await;
    assert!(html.contains("id=\"pledge-book\"") && html.contains("网页质押甲") && html.contains("网页质押乙"));
    let csrf = hidden(&html, "csrf");
    let pledge_of = |v: &Value| v["holding"]["encumbrances"]["pledges"][0]["id"].as_str().unwrap().to_string();
    let first = app.ok("GET", &format!("/api/v1/applications/{}", ids[0]), Some(&a), None).await;
    let second = app.ok("GET", &format!("/api/v1/applications/{}", ids[1]), Some(&a), None).await;
    let (p1, p2) = (pledge_of(&first), pledge_of(&second));

    // Enforcement names the transferee and the default; a wrong identifier is explained at its field.
    let before = app.row_counts().await;
    let (status, html) = bank
        .post(
            "/me/pledges/enforce",
            &[("csrf", &csrf), ("record", &ids[1]), ("pledge", &p2), ("to", ""), ("reasons", "")],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error_at(&html, &format!("to-{p2}")).as_deref(), Some("必填。"));
    assert_eq!(error_at(&html, &format!("reasons-{p2}")).as_deref(), Some("必填。"));
    assert_eq!(error_at(&html, &format!("confirm-enforce-{p2}")).as_deref(), Some("请勾选确认后再执行此操作。"));
    let (status, html) = bank
        .post(
            "/me/pledges/enforce",
            &[
                ("csrf", &csrf),
                ("record", &ids[1]),
                ("pledge", &p2),
                ("to", "91310000MA1FL0000X"),
                ("reasons", "借款逾期"),
                ("confirm", "yes"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(error_at(&html, &format!("to-{p2}")).unwrap().contains("没有以此代码"));
    assert!(html.contains(">借款逾期</textarea>"));
    assert_eq!(app.row_counts().await, before);
    // The holder cannot release the bank's pledge.
    let holder = Web::new(&app, &a);
    let holder_csrf = holder.csrf().await;
    let (status, _) = holder
        .post(
            "/me/pledges/release",
            &[("csrf", &holder_csrf), ("record", &ids[0]), ("pledge", &p1), ("confirm", "yes")],
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Release is one tick away, never one click: unconfirmed, it is refused and nothing changes.
    let release = [("csrf", csrf.as_str()), ("record", ids[0].as_str()), ("pledge", p1.as_str())];
    let before = app.row_counts().await;
    let (status, html) = bank.post("/me/pledges/release", &release).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error_at(&html, &format!("confirm-release-{p1}")).as_deref(), Some("请勾选确认后再执行此操作。"));
    assert_eq!(app.row_counts().await, before);
    let confirmed: Vec<(&str, &str)> = release.iter().copied().chain([("confirm", "yes")]).collect();
    assert_eq!(bank.post("/me/pledges/release", &confirmed).await.0, StatusCode::SEE_OTHER);
    let rec = app.ok("GET", &format!("/api/v1/public/records/{}", ids[0]), None, None).await;
    assert_eq!(rec["record"]["pledges"][0]["status"], "released");
    let buyer = credit_code();
    let party = json!({"kind": "legal_person", "name": "受让数据有限公司", "id_number": buyer});
    let buyer_user = format!("t-{}", Uuid::now_v7().simple());
    app.ok("POST", "/api/v1/auth/signup", None, Some(json!({"username": buyer_user, "password": "long enough pw", "display_name": "受让", "role": "applicant", "party": party}))).await;
    let (status, _) = bank
        .post(
            "/me/pledges/enforce",
            &[
                ("csrf", &csrf),
                ("record", &ids[1]),
                ("pledge", &p2),
                ("to", &buyer),
                ("reasons", "借款逾期，依法院裁定"),
                ("confirm", "yes"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let rec = app.ok("GET", &format!("/api/v1/public/records/{}", ids[1]), None, None).await;
    assert_eq!(rec["record"]["pledges"][0]["status"], "enforced");
    assert_eq!(rec["record"]["holder"]["name"], "受让数据有限公司");
    // The product is now on the new holder's "my registry", with the holder's forms.
    let new_holder = Web::new(&app, &app.sign_in(&buyer_user).await);
    let (_, html) = new_holder.get("/me").await;
    assert!(html.contains(&format!("/me/filings/{}", ids[1])));
    let (status, html) = new_holder.get(&location(&ids[1])).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("id=\"grant-licence\""));
    let (_, html) = holder.get(&location(&ids[1])).await;
    assert!(!html.contains("id=\"grant-licence\""), "the former holder keeps the history, not the holder's forms");
    let (_, html) = bank.get("/me").await;
    assert!(!html.contains("id=\"pledge-book\""), "closed pledges leave the book");
}

#[tokio::test]
async fn administrators_create_staff_accounts_and_edit_witnesses() {
    let app = App::new().await;
    let admin = app.staff(Role::Admin).await;
    let web = Web::new(&app, &admin);
    let (status, html) = web.get("/admin").await;
    assert_eq!(status, StatusCode::OK);
    let csrf = hidden(&html, "csrf");

    let before = app.row_counts().await;
    let name = format!("e-{}", Uuid::now_v7().simple());
    let (status, html) = web
        .post(
            "/admin/users/new",
            &[
                ("csrf", &csrf),
                ("new-username", &name),
                ("new-display_name", "新审查员"),
                ("new-role", "examiner"),
                ("new-password", "short"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error_at(&html, "new-password").as_deref(), Some("密码至少 10 个字符。"));
    assert_eq!(value_of(&html, "new-username"), name);
    assert_eq!(value_of(&html, "new-password"), "", "a password is never sent back");
    let (status, html) = web
        .post(
            "/admin/users/new",
            &[
                ("csrf", &csrf),
                ("new-username", &name),
                ("new-display_name", "某银行"),
                ("new-role", "bank"),
                ("new-password", "long enough pw"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error_at(&html, "new-party_id").as_deref(), Some("必填。"));
    assert_eq!(app.row_counts().await, before);
    let (status, html) = web
        .post(
            "/admin/users/new",
            &[
                ("csrf", &csrf),
                ("new-username", &name),
                ("new-display_name", "新审查员"),
                ("new-role", "examiner"),
                ("new-password", "long enough pw"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("id=\"admin-message\"") && html.contains(&name));
    let e = app.first_sign_in(&name).await;
    assert_eq!(app.ok("GET", "/api/v1/me", Some(&e), None).await["user"]["role"], "examiner");

    // Witnesses: a bad key is explained at its field and nothing is stored; a good one is used at once.
    let before = app.row_counts().await;
    let (status, html) = web
        .post(
            "/admin/witnesses",
            &[("csrf", &csrf), ("action", "add"), ("witness-url", "ftp://w"), ("witness-key", "nonsense")],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error_at(&html, "witness-url").as_deref(), Some("应为 http:// 或 https:// 开头的网址。"));
    assert_eq!(error_at(&html, "witness-key").as_deref(), Some("不是有效的 cosignature/v1 见证人公钥。"));
    assert_eq!(value_of(&html, "witness-url"), "ftp://w");
    assert_eq!(app.row_counts().await, before);
    let witness_key =
        dipr_ledger::note::NoteSigner::generate("witness.example/w1").unwrap().cosigner_verifier().to_string();
    let (status, _) = web
        .post(
            "/admin/witnesses",
            &[("csrf", &csrf), ("action", "add"), ("witness-url", "https://w1.example"), ("witness-key", &witness_key)],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let set = app.ok("GET", "/api/v1/admin/witnesses", Some(&admin), None).await;
    assert_eq!(set["witnesses"][0]["url"], "https://w1.example");
    assert_eq!(app.state.witnesses().witnesses.len(), 1);
    let (status, html) =
        web.post("/admin/witnesses", &[("csrf", &csrf), ("action", "quorum"), ("witness-quorum", "2")]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error_at(&html, "witness-quorum").as_deref(), Some("超出允许范围。"));
    assert_eq!(
        web.post("/admin/witnesses", &[("csrf", &csrf), ("action", "quorum"), ("witness-quorum", "1")]).await.0,
        StatusCode::OK
    );
    assert_eq!(app.state.witnesses().quorum, 1);
    let events = app.state.store.events("registry", "witnesses").await.unwrap();
    assert_eq!(events.len(), 2, "each change is logged");
    // The stored set survives a restart.
    let reopened = dipr_registry::witnesses::load(app.state.store.as_ref(), Default::default()).await.unwrap();
    assert_eq!(reopened.quorum, 1);
    // Non-administrators are refused.
    let a = Web::new(&app, &app.sign_up("非管理员").await);
    assert_eq!(a.get("/admin").await.0, StatusCode::FORBIDDEN);
    app.err("PUT", "/api/v1/admin/witnesses", Some(&e), Some(json!({"witnesses": [], "quorum": 0})), 403, "forbidden")
        .await;
}

#[tokio::test]
async fn agents_file_for_an_applicant_on_the_web() {
    let app = App::new().await;
    let username = format!("agent-{}", Uuid::now_v7().simple());
    let agency = json!({"kind": "legal_person", "name": "网页代理有限公司", "id_number": credit_code()});
    app.ok("POST", "/api/v1/auth/signup", None, Some(json!({"username": username, "password": "long enough pw", "display_name": "代理", "role": "agent", "party": agency}))).await;
    let agent = app.sign_in(&username).await;
    let web = Web::new(&app, &agent);
    let (_, html) = web.get("/me/file").await;
    assert!(html.contains("id=\"applicant_name\""), "an agent's form names the applicant");
    let csrf = hidden(&html, "csrf");

    // A bad ID number and a missing summary are reported together; nothing is written.
    let before = app.row_counts().await;
    let mut fields = web_form(&csrf, "代理网页语料", "submit");
    fields.retain(|(k, _)| *k != "summary");
    fields.extend([
        ("applicant_kind", "natural_person"),
        ("applicant_name", "王芳"),
        ("applicant_id", "110101199003070000"),
    ]);
    let (status, html) = web.post("/me/file", &fields).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error_at(&html, "applicant_id").as_deref(), Some("居民身份证号码无效。"));
    assert_eq!(error_at(&html, "summary").as_deref(), Some("必填。"));
    assert_eq!(value_of(&html, "applicant_name"), "王芳");
    assert_eq!(app.row_counts().await, before);

    let id = resident_id();
    let mut fields = web_form(&csrf, "代理网页语料", "submit");
    fields.extend([("applicant_kind", "natural_person"), ("applicant_name", "王芳"), ("applicant_id", id.as_str())]);
    assert_eq!(web.post("/me/file", &fields).await.0, StatusCode::SEE_OTHER);
    let mine = app.ok("GET", "/api/v1/applications", Some(&agent), None).await;
    let filed = &mine["items"][0];
    assert_eq!(
        (filed["applicant"]["name"].as_str(), filed["agent"]["name"].as_str()),
        (Some("王芳"), Some("网页代理有限公司"))
    );
    assert_eq!(filed["state"], "submitted");
    // The same ID under another name is refused at the field.
    let mut fields = web_form(&csrf, "代理网页语料二", "submit");
    fields.extend([("applicant_kind", "natural_person"), ("applicant_name", "李四"), ("applicant_id", id.as_str())]);
    let (status, html) = web.post("/me/file", &fields).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(error_at(&html, "applicant_id").as_deref(), Some("该证件号属于另一名称的主体。"));
}

/// Licensed data can be filed on the web: the licensor, the contract and the licence's end have fields
/// of their own, and a missing licensor or a bad date is reported at its field with nothing written.
#[tokio::test]
async fn licensed_data_is_filed_on_the_web_with_its_licensor() {
    let app = App::new().await;
    let (a, e, _) = actors(&app).await;
    let web = Web::new(&app, &a);
    let (_, html) = web.get("/me/file").await;
    let csrf = hidden(&html, "csrf");
    let licensed = |name: &'static str| {
        let mut f = web_form(&csrf, name, "submit");
        f.retain(|(k, _)| *k != "source_kind");
        f.push(("source_kind", "licensed"));
        f
    };

    let before = app.row_counts().await;
    let (status, html) = web.post("/me/file", &licensed("授权语料")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error_at(&html, "source_counterparty").as_deref(), Some("必填。"));
    assert_eq!(error_at(&html, "source_description"), None, "the error is at the licensor, not the description");
    let mut bad_date = licensed("授权语料");
    bad_date.extend([("source_counterparty", "某数据交易所"), ("source_licence_end", "2029-13-01")]);
    let (status, html) = web.post("/me/file", &bad_date).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error_at(&html, "source_licence_end").as_deref(), Some("日期格式应为 YYYY-MM-DD。"));
    assert_eq!(value_of(&html, "source_counterparty"), "某数据交易所", "what was typed stays");
    assert_eq!(app.row_counts().await, before);

    let mut fields = licensed("授权语料");
    fields.extend([
        ("source_counterparty", "某数据交易所"),
        ("source_contract_ref", "SJS-2026-0042"),
        ("source_licence_end", "2029-06-30"),
    ]);
    assert_eq!(web.post("/me/file", &fields).await.0, StatusCode::SEE_OTHER);
    let mine = app.ok("GET", "/api/v1/applications", Some(&a), None).await;
    let filed = &mine["items"][0];
    assert_eq!(filed["state"], "submitted");
    let source = &filed["form"]["sources"][0];
    assert_eq!(
        (source["kind"].as_str(), source["counterparty"].as_str(), source["contract_ref"].as_str()),
        (Some("licensed"), Some("某数据交易所"), Some("SJS-2026-0042"))
    );
    assert_eq!(source["licence_end"], "2029-06-30");
    // The applicant keeps a copy of what was filed, and the examiner reviews every field of it.
    let page = location(filed["id"].as_str().unwrap());
    let (_, html) = web.get(&page).await;
    for shown in [
        "申请内容",
        "许可方或授权单位：某数据交易所",
        "合同或授权文件编号：SJS-2026-0042",
        "许可期限截止日：2029-06-30",
        "每月",
    ] {
        assert!(html.contains(shown), "the applicant's copy shows {shown}");
    }
    let (_, review) = Web::new(&app, &e).get(&format!("/review/{}", filed["id"].as_str().unwrap())).await;
    for shown in [
        "许可方或授权单位：某数据交易所",
        "数据结构",
        "text: string",
        "保密措施",
        "访问控制",
        "张三 · 021-1234 · a@example.cn",
    ] {
        assert!(review.contains(shown), "the review page shows {shown}");
    }
}

#[tokio::test]
async fn the_check_page_verifies_certificates_and_evidence_bundles() {
    use dipr_fingerprint::evidence::{EvidenceBundle, SuspectInfo};
    let app = App::new().await;
    let (a, e, admin) = actors(&app).await;
    let secrets = dipr_fingerprint::Secrets::generate("owner").unwrap();
    let opts = dipr_fingerprint::Options {
        format: dipr_fingerprint::Format::Csv,
        product: "证据包语料".into(),
        version: 1,
        views: vec![],
        scale: 256,
        keep_fingerprints: true,
        discovery_key: Some(app.state.discovery_key),
    };
    let fp = dipr_fingerprint::fingerprint(dataset(0, 3_000).as_bytes(), &opts, &secrets, &mut |_| {}).unwrap();
    let id = app.draft(&a, "证据包语料").await;
    app.ok(
        "PUT",
        &format!("/api/v1/applications/{id}/manifest"),
        Some(&a),
        Some(serde_json::to_value(&fp.manifest).unwrap()),
    )
    .await;
    app.ok("POST", &format!("/api/v1/applications/{id}/submit"), Some(&a), None).await;
    for action in ["accept", "pass_formal_review", "approve"] {
        app.decide(&e, &id, action).await;
    }
    app.advance(&admin, 20).await;
    let (_, cert) = app.raw("GET", &format!("/api/v1/public/records/{id}/certificate"), None, None, "").await;
    let cert_text = cert.to_string();
    let web = Web::new(&app, &a);

    let (status, html) = web.post("/check", &[("certificate", &cert_text)]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("class=\"result good\"") && html.contains("证书有效"), "a genuine certificate");
    let forged = cert_text.replace("证据包语料", "别人的语料");
    let (_, html) = web.post("/check?lang=en", &[("certificate", &forged)]).await;
    assert!(html.contains("class=\"result bad\"") && html.contains("NOT valid"), "a changed certificate");
    let (status, html) = web.post("/check", &[("certificate", "{\"hello\": 1}")]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        html.contains("无法读取") && html.contains("{&#34;hello&#34;: 1}"),
        "unreadable input is explained and kept"
    );

    // An evidence bundle: certificate, manifest, the owner's measurement (exact: a third of the records),
    // signed by the owner.
    let scraped = dataset(0, 1_000);
    let format = dipr_fingerprint::Format::Csv;
    let report =
        dipr_fingerprint::contain(&fp.manifest, &secrets, scraped.as_bytes(), format, fp.kept.as_ref(), &mut |_| {})
            .unwrap();
    let suspect =
        SuspectInfo { file_name: "scraped.csv".into(), sha256: "ab".repeat(32), bytes: 12_345, records: 1_000 };
    let certificate = dipr_ledger::certificate::Certificate::parse(cert_text.as_bytes()).unwrap();
    let bundle =
        EvidenceBundle::new(certificate, fp.manifest.clone(), suspect, &report, vec![], vec![], &secrets.signer);
    let bundle_text = serde_json::to_string(&bundle).unwrap();
    let (status, html) = web.post("/check", &[("certificate", &bundle_text)]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("证据包有效") && html.contains("scraped.csv"), "a genuine bundle");
    // It begins with the conclusion its report and `dipr verify` begin with.
    let said = "登记数据（共 3000 条）中至少 1000 条（33.33%，精确计数）出现在被控文件“scraped.csv”中";
    assert!(html.contains("id=\"bundle-conclusion\"") && html.contains(said), "{html}");
    let (_, html) = web.post("/check?lang=en", &[("certificate", &bundle_text)]).await;
    assert!(html.contains("At least 1000 of the 3000 registered records, 33.33% (exact count)"), "{html}");
    let mut changed = bundle.clone();
    changed.suspect.records = 999_999;
    let (_, html) = web.post("/check", &[("certificate", &serde_json::to_string(&changed).unwrap())]).await;
    assert!(html.contains("证据包无效"), "a changed bundle fails");
}

#[tokio::test]
async fn my_registry_pages_long_lists_and_shows_every_pledge_awaiting_consent() {
    let app = App::new().await;
    let (a, e, admin) = actors(&app).await;
    // A registered product gets a pledge; 55 newer drafts then push it to the second page.
    let id = app.publish_notice(&a, &e, "第二页的质押语料").await;
    app.advance(&admin, 20).await;
    let bank_user = format!("bank-{}", Uuid::now_v7().simple());
    let bank_party =
        serde_json::from_value(json!({"kind": "legal_person", "name": "分页银行", "id_number": credit_code()}))
            .unwrap();
    let req = NewAccount {
        username: bank_user.clone(),
        password: "long enough pw".into(),
        display_name: "分页银行".into(),
        role: Role::Bank,
        party: Some(bank_party),
        email: None,
    };
    dipr_registry::accounts::create_account(&app.state, req, &Actor::public("test"), false).await.unwrap();
    let b = app.sign_in(&bank_user).await;
    let day = app.state.clock.now().date_naive();
    app.ok("POST", &format!("/api/v1/records/{id}/pledges"), Some(&b), Some(json!({"secured": "1000", "start": day.to_string(), "end": (day + chrono::Days::new(30)).to_string(), "rank": 1}))).await;

    for i in 0..55 {
        app.draft(&a, &format!("草稿{i:02}")).await;
    }
    let web = Web::new(&app, &a);
    let (_, first) = web.get("/me").await;
    assert_eq!(first.matches("href=\"/me/filings/").count(), 50, "fifty a page");
    assert!(first.contains("1 / 2") && first.contains("href=\"/me?page=2\""));
    assert!(!first.contains(&format!("href=\"/me/filings/{id}\"")), "the registered product is on page 2");
    assert!(
        first.contains("id=\"pending-pledges\"") && first.contains("分页银行"),
        "its pledge still asks for consent"
    );
    let (_, second) = web.get("/me?page=2").await;
    assert_eq!(second.matches("href=\"/me/filings/").count(), 6);
    assert!(second.contains(&format!("href=\"/me/filings/{id}\"")));
}

// ---------------------------------------------------------------------------------------------------
// At most once: double clicks, resent forms, stale pages

/// The address a page's form posts to (with its single-use key), as a browser would send it.
fn form_action(html: &str, path: &str) -> String {
    let marker = format!("action=\"{path}?once=");
    let start = html.find(&marker).unwrap_or_else(|| panic!("no keyed form for {path}")) + "action=\"".len();
    html[start..].split('"').next().unwrap().replace("&amp;", "&")
}

/// How many events of this kind the filing has.
async fn events_of(app: &App, id: &str, kind: &str) -> usize {
    let history = app.state.store.events("application", id).await.unwrap();
    history.iter().filter(|e| e.kind == kind).count()
}

#[tokio::test]
async fn a_double_submitted_decision_changes_the_register_once() {
    let app = App::new().await;
    let (a, e, _) = actors(&app).await;
    let id = app.draft(&a, "双击测试语料").await;
    app.ok("POST", &format!("/api/v1/applications/{id}/submit"), Some(&a), None).await;
    let examiner = Web::new(&app, &e);
    let (_, page) = examiner.get(&format!("/review/{id}")).await;
    let action = form_action(&page, &format!("/review/{id}"));
    let fields = [("csrf", hidden(&page, "csrf")), ("version", hidden(&page, "version"))];
    let fields: Vec<(&str, &str)> =
        fields.iter().map(|(k, v)| (*k, v.as_str())).chain([("action", "accept"), ("reasons", "")]).collect();
    // Two clicks on the same form, at the same time and again afterwards: one decision.
    let (first, second) = tokio::join!(examiner.post(&action, &fields), examiner.post(&action, &fields));
    assert_eq!((first.0, second.0), (StatusCode::SEE_OTHER, StatusCode::SEE_OTHER));
    assert_eq!(examiner.post(&action, &fields).await.0, StatusCode::SEE_OTHER);
    assert_eq!(app.state_of(&a, &id).await, "formal_review");
    assert_eq!(events_of(&app, &id, "accepted_for_review").await, 1);

    // The same form sent again with another action is refused: its key was used for another request.
    let mut next: Vec<(&str, &str)> = fields.iter().filter(|(k, _)| *k != "action").copied().collect();
    next.push(("action", "pass_formal_review"));
    let before = app.row_counts().await;
    let (status, html) = examiner.post(&action, &next).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("此表单（或幂等键）已用于另一项请求"), "{html}");
    // A decision made on the old version under a fresh key (another tab) is refused too, with the reason.
    let (_, fresh) = examiner.get(&format!("/review/{id}")).await;
    let (status, html) = examiner.post(&form_action(&fresh, &format!("/review/{id}")), &next).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(html.contains("该记录已发生变化"), "{html}");
    assert_eq!(app.row_counts().await, before);
    assert_eq!(app.state_of(&a, &id).await, "formal_review");
}

#[tokio::test]
async fn a_triple_submitted_pledge_form_files_one_pledge() {
    let app = App::new().await;
    let (a, e, admin) = actors(&app).await;
    let id = app.publish_notice(&a, &e, "三击质押语料").await;
    app.advance(&admin, 20).await;
    let number = app.ok("GET", &format!("/api/v1/applications/{id}"), Some(&a), None).await["registration"]
        ["registration_number"]
        .as_str()
        .unwrap()
        .to_string();
    let bank = Web::new(&app, &super::registered::bank(&app, "三击银行").await.0);
    let (_, page) = bank.get("/me").await;
    let action = form_action(&page, "/me/pledges");
    let csrf = hidden(&page, "csrf");
    let day = app.state.clock.now().date_naive();
    let (start, end) = (day.to_string(), (day + chrono::Days::new(365)).to_string());
    let fields = [
        ("csrf", csrf.as_str()),
        ("registration_number", number.as_str()),
        ("secured", "5000000"),
        ("start", start.as_str()),
        ("end", end.as_str()),
        ("rank", "1"),
    ];
    let (r1, r2, r3) =
        tokio::join!(bank.post(&action, &fields), bank.post(&action, &fields), bank.post(&action, &fields));
    assert_eq!([r1.0, r2.0, r3.0], [StatusCode::SEE_OTHER; 3]);
    let pledges = |v: Value| v["holding"]["encumbrances"]["pledges"].as_array().unwrap().len();
    assert_eq!(pledges(app.ok("GET", &format!("/api/v1/applications/{id}"), Some(&a), None).await), 1);

    // The same pledge filed again from a fresh page is an identical pending pledge: refused, nothing written.
    let (_, page) = bank.get("/me").await;
    let before = app.row_counts().await;
    let (status, html) = bank.post(&form_action(&page, "/me/pledges"), &fields).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(html.contains("已有一项相同的质押"), "{html}");
    assert_eq!(app.row_counts().await, before);
    assert_eq!(pledges(app.ok("GET", &format!("/api/v1/applications/{id}"), Some(&a), None).await), 1);
}

#[tokio::test]
async fn a_refused_save_and_submit_saves_nothing() {
    let app = App::new().await;
    let (a, _, _) = actors(&app).await;
    // The product was withdrawn after submission: filing it again is barred for three months.
    let old = app.draft(&a, "被撤回的语料").await;
    app.ok("POST", &format!("/api/v1/applications/{old}/submit"), Some(&a), None).await;
    app.ok("POST", &format!("/api/v1/applications/{old}/withdraw"), Some(&a), Some(json!({"text": "调整"}))).await;
    let web = Web::new(&app, &a);
    let csrf = web.csrf().await;

    // "File and submit" on /me/file: refused, and no orphan draft is left behind.
    let before = app.row_counts().await;
    let (status, html) = web.post("/me/file", &web_form(&csrf, "被撤回的语料", "submit")).await;
    assert_eq!(status, StatusCode::CONFLICT, "{html}");
    // The refusal says from when the product may be filed again.
    let withdrawn = app.state.clock.now().with_timezone(&dipr_domain::time::local_offset());
    let from = (withdrawn + chrono::Months::new(3)).format("%Y-%m-%d").to_string();
    assert!(html.contains(&format!("可于 {from}")), "{html}");
    assert_eq!(app.row_counts().await, before);

    // "Save and submit" on a draft's page: refused, and the edit is not saved either.
    let id = app.draft(&a, "另一份语料").await;
    let doc = app.ok("GET", &format!("/api/v1/applications/{id}"), Some(&a), None).await;
    let before = app.row_counts().await;
    let (status, _) = web.post(&location(&id), &web_form(&csrf, "被撤回的语料", "submit")).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(app.row_counts().await, before);
    assert_eq!(app.ok("GET", &format!("/api/v1/applications/{id}"), Some(&a), None).await, doc);
}

#[tokio::test]
async fn a_discarded_draft_leaves_no_refiling_bar() {
    let app = App::new().await;
    let (a, e, _) = actors(&app).await;
    let id = app.draft(&a, "丢弃的草稿").await;
    let web = Web::new(&app, &a);
    let (_, page) = web.get(&location(&id)).await;
    assert!(
        page.contains("id=\"discard\"") && !page.contains("id=\"withdraw\""),
        "a draft is discarded, not withdrawn"
    );
    // Drafts are the applicant's alone.
    assert_eq!(Web::new(&app, &e).get(&format!("/review/{id}")).await.0, StatusCode::NOT_FOUND);
    let fields = [("csrf", hidden(&page, "csrf")), ("version", hidden(&page, "version")), ("confirm", "yes".into())];
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (status, _) = web.post(&format!("/me/filings/{id}/withdraw"), &fields).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(app.state_of(&a, &id).await, "discarded");
    assert_eq!(events_of(&app, &id, "draft_discarded").await, 1, "the audit trail keeps it");
    let (_, me) = web.get("/me").await;
    assert!(!me.contains(&location(&id)), "a discarded draft leaves the applicant's list");
    // The same product is filed and submitted at once: no bar.
    let again = app.draft(&a, "丢弃的草稿").await;
    let v = app.ok("POST", &format!("/api/v1/applications/{again}/submit"), Some(&a), None).await;
    assert_eq!(v["state"], "submitted");
    // Withdrawing a draft is not a thing: it would bar the product.
    let other = app.draft(&a, "另一份草稿").await;
    app.err(
        "POST",
        &format!("/api/v1/applications/{other}/withdraw"),
        Some(&a),
        Some(json!({"text": "x"})),
        409,
        "illegal_transition",
    )
    .await;
    app.ok("POST", &format!("/api/v1/applications/{other}/discard"), Some(&a), None).await;
}

#[tokio::test]
async fn the_api_answers_a_repeated_idempotency_key_with_the_first_answer() {
    let app = App::new().await;
    let (a, _, _) = actors(&app).await;
    let call = |key: &'static str, name: &'static str| {
        let req = Request::builder()
            .method("POST")
            .uri("/api/v1/applications")
            .header("authorization", format!("Bearer {a}"))
            .header("content-type", "application/json")
            .header("idempotency-key", key)
            .body(Body::from(json!({"form": full_form(name)}).to_string()))
            .unwrap();
        let router = app.router.clone();
        async move {
            let resp = router.oneshot(req).await.unwrap();
            let replayed = resp.headers().contains_key("idempotent-replayed");
            (resp.status(), replayed, body_text(resp).await)
        }
    };
    let first = call("key-0001-abcdef", "幂等语料").await;
    let second = call("key-0001-abcdef", "幂等语料").await;
    assert_eq!((first.0, first.1), (StatusCode::CREATED, false), "{}", first.2);
    assert_eq!((second.0, second.1, &second.2), (StatusCode::CREATED, true, &first.2));
    assert_eq!(app.ok("GET", "/api/v1/applications", Some(&a), None).await["total"], 1);
    // The same key on another request is refused; a malformed key too.
    let other = call("key-0001-abcdef", "别的语料").await;
    assert_eq!(other.0, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(other.2.contains("idempotency_key_reused"));
    assert_eq!(call("short", "幂等语料").await.0, StatusCode::BAD_REQUEST);
    assert_eq!(app.ok("GET", "/api/v1/applications", Some(&a), None).await["total"], 1);
}

#[tokio::test]
async fn an_idempotency_key_is_kept_request_key_days_and_then_a_repeat_is_a_new_request() {
    let app = App::new().await;
    assert_eq!(app.state.config.request_key_days, 7, "the default");
    let (a, _, _) = actors(&app).await;
    let call = || {
        let req = Request::builder()
            .method("POST")
            .uri("/api/v1/applications")
            .header("authorization", format!("Bearer {a}"))
            .header("content-type", "application/json")
            .header("idempotency-key", "key-0002-pruned")
            .body(Body::from(json!({"form": full_form("剪枝语料")}).to_string()))
            .unwrap();
        let router = app.router.clone();
        async move {
            let resp = router.oneshot(req).await.unwrap();
            (resp.status(), resp.headers().contains_key("idempotent-replayed"))
        }
    };
    let clock = app.state.adjustable.clone().unwrap();
    assert_eq!(call().await, (StatusCode::CREATED, false));
    // Six days on, a retry is still answered with the first answer.
    clock.advance(chrono::Duration::days(6));
    assert_eq!(dipr_registry::timers::prune_request_keys(&app.state).await.unwrap(), 0);
    assert_eq!(call().await, (StatusCode::CREATED, true));
    // Past request_key_days the key is pruned, and the same request with it runs again.
    clock.advance(chrono::Duration::days(2));
    assert_eq!(dipr_registry::timers::prune_request_keys(&app.state).await.unwrap(), 1);
    assert_eq!(call().await, (StatusCode::CREATED, false));
    assert_eq!(app.ok("GET", "/api/v1/applications", Some(&a), None).await["total"], 2);
    // The API's document says so.
    let about = app.ok("GET", "/api/openapi.json", None, None).await["info"]["description"].to_string();
    assert!(about.contains("Idempotency-Key") && about.contains("request_key_days") && about.contains("new request"));

    // request_key_days = 0 keeps keys for ever.
    let keep = App::with(Config { request_key_days: 0, ..config() }, signer()).await;
    let b = keep.sign_up("永久").await;
    let keyed = || {
        let req = Request::builder()
            .method("POST")
            .uri("/api/v1/applications")
            .header("authorization", format!("Bearer {b}"))
            .header("content-type", "application/json")
            .header("idempotency-key", "key-0003-forever")
            .body(Body::from(json!({"form": full_form("永久语料")}).to_string()))
            .unwrap();
        let router = keep.router.clone();
        async move { router.oneshot(req).await.unwrap().headers().contains_key("idempotent-replayed") }
    };
    assert!(!keyed().await);
    keep.state.adjustable.as_ref().unwrap().advance(chrono::Duration::days(3650));
    assert_eq!(dipr_registry::timers::prune_request_keys(&keep.state).await.unwrap(), 0);
    assert!(keyed().await, "still answered from the key ten years on");
}

// ---------------------------------------------------------------------------------------------------
// Injection: every link and form the site offers, with hostile values

const SCRIPT: &str = "\"><script>alert(1)</script>";
const JS_URL: &str = "javascript:alert(1)";

/// The value of every `attr="…"` in a piece of HTML, unescaped the way a browser reads it.
fn attr_values(html: &str, attr: &str) -> Vec<String> {
    let marker = format!(" {attr}=\"");
    html.match_indices(&marker)
        .map(|(i, _)| {
            let rest = &html[i + marker.len()..];
            rest[..rest.find('"').unwrap_or(rest.len())].replace("&amp;", "&")
        })
        .collect()
}

/// A form as a browser sees it: where it goes, how, and its fields with their current values.
struct FoundForm {
    action: String,
    post: bool,
    fields: Vec<(String, String)>,
}

fn forms(html: &str) -> Vec<FoundForm> {
    let mut out = Vec::new();
    for part in html.split("<form").skip(1) {
        let Some(end) = part.find("</form>") else { continue };
        let (tag, body) = part.split_at(part.find('>').unwrap_or(0));
        let body = &body[..end - tag.len()];
        let action = attr_values(tag, "action").pop().unwrap_or_default();
        let post = tag.contains("method=\"post\"");
        let mut fields = Vec::new();
        for piece in
            body.split('<').filter(|p| p.starts_with("input") || p.starts_with("textarea") || p.starts_with("select"))
        {
            let tag = &piece[..piece.find('>').unwrap_or(piece.len())];
            if let Some(name) = attr_values(tag, "name").pop() {
                let value = attr_values(tag, "value").pop().unwrap_or_else(|| "1".into());
                fields.push((name, value));
            }
        }
        out.push(FoundForm { action, post, fields });
    }
    out
}

/// A path with its identifiers replaced, so one record page stands for all of them.
fn shape(path: &str) -> String {
    path.split('?')
        .next()
        .unwrap()
        .split('/')
        .map(|seg| if seg.len() >= 16 && seg.chars().all(|c| c.is_ascii_hexdigit() || c == '-') { "{id}" } else { seg })
        .collect::<Vec<_>>()
        .join("/")
}

fn query_string(fields: &[(String, String)]) -> String {
    fields.iter().map(|(k, v)| format!("{}={}", enc(k), enc(v))).collect::<Vec<_>>().join("&")
}

/// What must never come back: the script unescaped, or a link or form that runs the payload.
fn assert_inert(html: &str, what: &str) {
    assert!(!html.contains("<script>alert(1)"), "{what}: the script came back unescaped");
    for attr in ["href", "src", "action", "formaction"] {
        assert!(!html.contains(&format!("{attr}=\"javascript:")), "{what}: a javascript: URL in {attr}");
    }
}

#[tokio::test]
async fn no_page_echoes_a_script_or_a_javascript_url_and_every_page_sends_the_security_headers() {
    let app = App::new().await;
    dipr_registry::demo::seed(&app.state).await.unwrap();
    let mut visitors = vec![Web { app: &app, cookie: String::new() }];
    for user in ["user01", "agent1", "examiner1", "bank1", "admin"] {
        let v = app
            .ok("POST", "/api/v1/auth/signin", None, Some(json!({"username": user, "password": "dipr-demo-2026"})))
            .await;
        visitors.push(Web::new(&app, v["token"].as_str().unwrap()));
    }
    let mut requests = 0;
    for web in &visitors {
        // Walk the site from the home page and "my registry", at most two pages of each shape.
        let mut queue: std::collections::VecDeque<String> = ["/".to_string(), "/me".into()].into();
        let mut seen_shapes: std::collections::HashMap<String, usize> = Default::default();
        let mut seen = std::collections::HashSet::new();
        let mut found_forms = Vec::new();
        let mut links = Vec::new();
        while let Some(path) = queue.pop_front() {
            if !seen.insert(path.clone()) {
                continue;
            }
            let n = seen_shapes.entry(shape(&path)).or_default();
            *n += 1;
            if *n > 2 {
                continue;
            }
            let req = Request::builder().uri(&path).header("cookie", &web.cookie).body(Body::empty()).unwrap();
            let resp = app.router.clone().oneshot(req).await.unwrap();
            requests += 1;
            let headers = resp.headers().clone();
            let html = body_text(resp).await;
            let is_html = headers.get("content-type").is_some_and(|v| v.to_str().unwrap().starts_with("text/html"));
            if !is_html {
                continue;
            }
            assert_eq!(
                headers.get("content-security-policy").map(|v| v.to_str().unwrap()),
                Some(dipr_server::headers::CONTENT_SECURITY_POLICY),
                "{path}"
            );
            assert_eq!(headers.get("x-content-type-options").unwrap(), "nosniff", "{path}");
            assert_eq!(headers.get("x-frame-options").unwrap(), "DENY", "{path}");
            assert!(headers.contains_key("referrer-policy"), "{path}");
            assert!(!html.contains("<script>") && !html.contains(" style=\""), "{path}: inline script or style");
            for href in attr_values(&html, "href") {
                if href.starts_with('/')
                    && !href.starts_with("/assets/")
                    && !href.starts_with("/api/")
                    && !href.contains("signout")
                {
                    let href = href.split('#').next().unwrap().to_string();
                    links.push(href.clone());
                    queue.push_back(href);
                }
            }
            found_forms.extend(forms(&html));
        }
        // Every query parameter of every link, and every field of every form, carrying each payload.
        for payload in [SCRIPT, JS_URL] {
            for link in &links {
                let (path, query) = link.split_once('?').unwrap_or((link, ""));
                let params: Vec<(String, String)> = query
                    .split('&')
                    .filter_map(|p| p.split_once('='))
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .chain([("lang".to_string(), "zh".to_string()), ("page".into(), "2".into())])
                    .collect();
                for i in 0..params.len() {
                    let mut hostile = params.clone();
                    hostile[i].1 = payload.to_string();
                    let url = format!("{path}?{}", query_string(&hostile));
                    let (_, html) = web.get(&url).await;
                    requests += 1;
                    assert_inert(&html, &url);
                }
            }
            for form in &found_forms {
                if form.action.contains("signout") || form.action.contains("disable") {
                    continue;
                }
                let action = form.action.split("?once=").next().unwrap().to_string();
                for i in 0..form.fields.len() {
                    if form.fields[i].0 == "csrf" {
                        continue;
                    }
                    let mut hostile = form.fields.clone();
                    hostile[i].1 = payload.to_string();
                    let pairs: Vec<(&str, &str)> = hostile.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
                    let html = if form.post {
                        web.post(&action, &pairs).await.1
                    } else {
                        let target = if action.is_empty() { "/".to_string() } else { action.clone() };
                        web.get(&format!("{target}?{}", query_string(&hostile))).await.1
                    };
                    requests += 1;
                    assert_inert(&html, &format!("{action} field {}", form.fields[i].0));
                }
            }
        }
    }
    assert!(requests > 500, "the walk reached only {requests} requests");
}

#[tokio::test]
async fn answers_that_carry_a_token_are_never_kept_for_replay() {
    let app = App::new().await;
    let username = format!("u-{}", Uuid::now_v7().simple());
    let party = json!({"kind": "legal_person", "name": "令牌数据有限公司", "id_number": credit_code()});
    app.ok("POST", "/api/v1/auth/signup", None, Some(json!({"username": username, "password": "long enough pw", "display_name": "令牌", "role": "applicant", "party": party}))).await;
    let sign_in = || {
        let req = Request::builder()
            .method("POST")
            .uri("/api/v1/auth/signin")
            .header("content-type", "application/json")
            .header("idempotency-key", "sign-in-key-0001")
            .body(Body::from(json!({"username": username, "password": "long enough pw"}).to_string()))
            .unwrap();
        let router = app.router.clone();
        async move { body_text(router.oneshot(req).await.unwrap()).await }
    };
    let (first, second) = (sign_in().await, sign_in().await);
    let token = |s: &str| serde_json::from_str::<Value>(s).unwrap()["token"].as_str().unwrap().to_string();
    assert_ne!(token(&first), token(&second), "each sign-in issues its own session; none is stored to replay");
}

#[tokio::test]
async fn revoking_a_registration_and_disabling_an_account_need_a_tick() {
    let app = App::new().await;
    let (a, e, admin) = actors(&app).await;
    let id = app.publish_notice(&a, &e, "撤销确认语料").await;
    app.advance(&admin, 20).await;
    let examiner = Web::new(&app, &e);
    let (_, page) = examiner.get(&format!("/review/{id}")).await;
    assert!(page.contains("name=\"confirm\""), "revocation is offered with its tick box");
    let revoke = |confirm: bool| {
        let mut f = vec![("csrf", hidden(&page, "csrf")), ("version", hidden(&page, "version"))];
        f.extend([("action", "revoke".to_string()), ("reasons", "来源不合法".to_string())]);
        if confirm {
            f.push(("confirm", "yes".into()));
        }
        f
    };
    let before = app.row_counts().await;
    let fields = revoke(false);
    let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (status, html) = examiner.post(&form_action(&page, &format!("/review/{id}")), &pairs).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("请勾选确认后再执行此操作。"), "{html}");
    assert_eq!(app.row_counts().await, before);
    // Ticked, from the page the refusal shows (its form has a fresh key).
    let fields = revoke(true);
    let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert_eq!(examiner.post(&form_action(&html, &format!("/review/{id}")), &pairs).await.0, StatusCode::SEE_OTHER);
    assert_eq!(app.state_of(&a, &id).await, "revoked");

    // Disabling an account: refused without the tick; the account keeps working.
    let web = Web::new(&app, &admin);
    let (_, page) = web.get("/admin").await;
    let user_id = app.ok("GET", "/api/v1/me", Some(&a), None).await["user"]["id"].as_str().unwrap().to_string();
    let fields = [("csrf", hidden(&page, "csrf")), ("user", user_id), ("action", "disable".into())];
    let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (_, html) = web.post("/admin/users", &pairs).await;
    assert!(html.contains("请勾选确认后再执行此操作。"), "{html}");
    app.ok("GET", "/api/v1/me", Some(&a), None).await;
    let mut confirmed = pairs.clone();
    confirmed.push(("confirm", "yes"));
    web.post("/admin/users", &confirmed).await;
    app.err("GET", "/api/v1/me", Some(&a), None, 401, "unauthenticated").await;
}

/// A form post: who sends it, where, and its fields besides the CSRF token.
struct Post<'b> {
    by: &'b Web<'b>,
    path: String,
    fields: Vec<(&'static str, &'static str)>,
}

/// Every signed-in form post of the site, as the user it belongs to, with fields that would change
/// something (`id` is a submitted filing of the applicant's).
fn signed_in_posts<'b>(id: &str, applicant: &'b Web<'b>, examiner: &'b Web<'b>, admin: &'b Web<'b>) -> Vec<Post<'b>> {
    let post = |by, path: String, fields: &[(&'static str, &'static str)]| Post { by, path, fields: fields.to_vec() };
    let nil = "00000000-0000-0000-0000-000000000000";
    let mine = |tail: &str| format!("/me/filings/{id}{tail}");
    let staff = [
        ("new-username", "examiner-from-the-web"),
        ("new-display_name", "网页审查员"),
        ("new-role", "examiner"),
        ("new-password", "long enough pw"),
    ];
    vec![
        post(applicant, "/me/file".into(), &[("intent", "save"), ("product_name", "不该有的草稿")]),
        post(applicant, mine(""), &[("intent", "save"), ("product_name", "不该改的名称")]),
        post(applicant, mine("/withdraw"), &[("version", "1"), ("text", "不再需要"), ("confirm", "yes")]),
        post(applicant, mine("/manifest"), &[("manifest", "{}")]),
        post(applicant, format!("{}/{nil}", mine("/objections")), &[("text", "答复")]),
        post(applicant, mine("/licences"), &[("lic-kind", "sole")]),
        post(applicant, format!("{}/{nil}/terminate", mine("/licences")), &[("text", "到期")]),
        post(applicant, mine("/transactions"), &[("tx-kind", "trade")]),
        post(applicant, "/me/pledges".into(), &[("registration_number", "X")]),
        post(applicant, "/me/pledges/consent".into(), &[("record", nil), ("pledge", nil)]),
        post(applicant, "/me/pledges/release".into(), &[("record", nil), ("pledge", nil), ("confirm", "yes")]),
        post(applicant, "/me/pledges/enforce".into(), &[("record", nil), ("pledge", nil), ("confirm", "yes")]),
        post(examiner, format!("/review/{id}"), &[("action", "accept"), ("version", "2")]),
        post(examiner, format!("/review/{id}/objections/{nil}"), &[("action", "dismissed"), ("reasons", "x")]),
        post(examiner, format!("/review/{id}/disputes/{nil}"), &[("action", "dismissed"), ("reasons", "x")]),
        post(admin, "/admin/users".into(), &[("user", nil), ("action", "disable"), ("confirm", "yes")]),
        post(admin, "/admin/users/new".into(), &staff),
        post(admin, "/admin/industries".into(), &[("industry-code", "never"), ("industry-zh", "无")]),
        post(admin, "/admin/calendar".into(), &[("day-date", "2031-01-02"), ("day-kind", "holiday")]),
        post(admin, "/admin/witnesses".into(), &[("action", "quorum"), ("witness-quorum", "0")]),
    ]
}

#[tokio::test]
async fn a_signed_in_post_with_a_wrong_token_or_without_a_session_changes_nothing() {
    let app = App::new().await;
    let (a, e, admin) = actors(&app).await;
    let id = app.draft(&a, "令牌检查语料").await;
    app.ok("POST", &format!("/api/v1/applications/{id}/submit"), Some(&a), None).await;
    let (applicant, examiner, admin) = (Web::new(&app, &a), Web::new(&app, &e), Web::new(&app, &admin));
    let other = Web::new(&app, &app.sign_up("旁人").await).csrf().await;
    let posts = signed_in_posts(&id, &applicant, &examiner, &admin);
    let before = app.row_counts().await;
    for Post { by: web, path, fields } in &posts {
        // Another session's token, a forged one, or none at all: the "form expired" page.
        for csrf in [other.as_str(), "forged", ""] {
            let mut sent = vec![("csrf", csrf)];
            sent.extend(fields.iter().copied());
            let (status, html) = web.post(path, &sent).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{path} with the token {csrf:?}: {html}");
            assert!(html.contains("表单已过期，请返回重试。"), "{path}: {html}");
        }
        // No session at all: the sign-in page.
        let body: Vec<String> = fields.iter().map(|(k, v)| format!("{}={}", enc(k), enc(v))).collect();
        let req = Request::builder()
            .method("POST")
            .uri(path)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from(format!("csrf=forged&{}", body.join("&"))))
            .unwrap();
        let resp = app.router.clone().oneshot(req).await.unwrap();
        let to = resp.headers().get("location").map(|v| v.to_str().unwrap().to_string());
        assert_eq!((resp.status(), to.as_deref()), (StatusCode::SEE_OTHER, Some("/signin")), "{path}");
    }
    assert_eq!(app.row_counts().await, before);
    assert_eq!(app.state_of(&a, &id).await, "submitted");
    // The expired page speaks the language the address asks for.
    let (status, html) = applicant.post(&format!("/me/filings/{id}/withdraw?lang=en"), &[("csrf", "forged")]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(html.contains("The form expired; go back and try again."), "{html}");
    // With the session's own token the same fields go through: the token was the refusal.
    let csrf = admin.csrf().await;
    let Post { path, fields, .. } = posts.iter().find(|p| p.path == "/admin/users/new").unwrap();
    let mut sent = vec![("csrf", csrf.as_str())];
    sent.extend(fields.iter().copied());
    let (status, html) = admin.post(path, &sent).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("examiner-from-the-web"), "{html}");
    assert_ne!(app.row_counts().await, before);
}

#[tokio::test]
async fn a_session_the_store_cannot_read_is_an_error_page_not_the_sign_in_page() {
    let app = App::new().await;
    let a = app.sign_up("甲").await;
    let web = Web::new(&app, &a);
    let csrf = web.csrf().await;
    let before = app.row_counts().await;
    // The sessions' table out of reach, as in a failing database.
    let path = app.db_path.as_ref().unwrap();
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", path.display())).await.unwrap();
    sqlx::query("ALTER TABLE tokens RENAME TO tokens_away").execute(&pool).await.unwrap();
    for page in ["/me", "/me/file", "/admin"] {
        let (status, html) = web.get(page).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{page}: {html}");
        assert!(html.contains("系统内部错误，已记录。"), "{page}: {html}");
    }
    let fields =
        [("csrf", csrf.as_str()), ("intent", "save"), ("product_name", "草稿"), ("object_type", "data_product")];
    let (status, html) = web.post("/me/file", &fields).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{html}");
    // Signing out cannot be recorded either: the page says so, rather than pretending the session ended.
    let (status, html) = web.post("/signout", &[("csrf", csrf.as_str())]).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{html}");
    sqlx::query("ALTER TABLE tokens_away RENAME TO tokens").execute(&pool).await.unwrap();
    pool.close().await;
    assert_eq!(app.row_counts().await, before, "nothing was filed");
    assert_eq!(web.get("/me").await.0, StatusCode::OK, "the session itself was never lost");
    // Once the store answers, signing out ends the session on the server too.
    assert_eq!(web.post("/signout", &[("csrf", csrf.as_str())]).await.0, StatusCode::SEE_OTHER);
    assert_eq!(web.get("/me").await.0, StatusCode::SEE_OTHER, "the revoked session no longer opens /me");
}

/// Switching the language keeps what the reader searched for and filtered by (and never a form's key).
#[tokio::test]
async fn the_language_switch_keeps_the_search_and_its_filters() {
    let app = App::new().await;
    let a = app.sign_up("甲").await;
    let web = Web::new(&app, &a);
    let switch_of = |html: &str| {
        let marker = "id=\"lang-switch\" href=\"";
        let start = html.find(marker).expect("a language switch") + marker.len();
        html[start..].split('"').next().unwrap().replace("&#38;", "&")
    };
    let (status, html) = web.get("/search?q=%E8%AF%AD%E6%96%99&status=registered&lang=zh&page=1").await;
    assert_eq!(status, StatusCode::OK);
    let switch = switch_of(&html);
    assert_eq!(switch, "?q=%E8%AF%AD%E6%96%99&status=registered&page=1&lang=en");
    let (status, html) = web.get(&format!("/search{switch}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("<html lang=\"en\">") && html.contains("value=\"语料\""), "{html}");
    assert!(html.contains("value=\"registered\" selected"), "the status filter is kept: {html}");
    assert_eq!(switch_of(&html), "?q=%E8%AF%AD%E6%96%99&status=registered&page=1&lang=zh");
    // A page answering a form post: its single-use key is not carried into the link.
    let (_, html) = web.get("/me?once=0123456789abcdef").await;
    assert_eq!(switch_of(&html), "?lang=en");
}

/// This workspace's own ledger crate: real source code, always at hand.
fn ledger_sources(to: &std::path::Path, rename: &[(&str, &str)]) {
    std::fs::create_dir_all(to).unwrap();
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../dipr-ledger/src");
    for e in std::fs::read_dir(src).unwrap() {
        let p = e.unwrap().path();
        let mut text = std::fs::read_to_string(&p).unwrap();
        for (from, to) in rename {
            text = text.replace(from, to);
        }
        std::fs::write(to.join(p.file_name().unwrap()), text).unwrap();
    }
}

fn package_manifest(app: &App, dir: &std::path::Path, owner: &str) -> (Value, dipr_fingerprint::Secrets) {
    use dipr_fingerprint::package::{fingerprint_package, PackageOptions};
    let secrets = dipr_fingerprint::Secrets::generate(owner).unwrap();
    let opts =
        PackageOptions { product: owner.into(), version: 1, scale: 256, discovery_key: Some(app.state.discovery_key) };
    let source = dipr_package::source::Source::Dir(dir.into());
    let fp = fingerprint_package(&mut |each| source.read(each), &opts, &Default::default(), &secrets).unwrap();
    (serde_json::to_value(&fp.manifest).unwrap(), secrets)
}

#[tokio::test]
async fn a_second_filing_of_registered_code_is_flagged_and_both_pages_show_the_package() {
    let app = App::new().await;
    let (a, e, admin) = actors(&app).await;
    let b = app.sign_up("乙").await;
    let tmp = std::env::temp_dir().join(format!("dipr-web-package-{}", Uuid::now_v7()));
    // A registers a package of real code; B files the same code with its names changed.
    ledger_sources(&tmp.join("a"), &[]);
    ledger_sources(&tmp.join("b"), &[("Checkpoint", "Head"), ("verify", "check_it"), ("leaf", "item")]);
    let id_a = app.draft(&a, "甲的算法").await;
    let (ma, secrets_a) = package_manifest(&app, &tmp.join("a"), "a");
    let v = app.ok("PUT", &format!("/api/v1/applications/{id_a}/manifest"), Some(&a), Some(ma.clone())).await;
    let c = &v["form"]["content_commitment"];
    assert_eq!((c["algorithm"].as_str(), &c["root"]), (Some("dipr-package/1"), &ma["root"]));
    assert_eq!(c["record_count"], ma["package"]["files"]);
    app.ok("POST", &format!("/api/v1/applications/{id_a}/submit"), Some(&a), None).await;
    for action in ["accept", "pass_formal_review", "approve"] {
        app.decide(&e, &id_a, action).await;
    }
    app.advance(&admin, 20).await;
    assert_eq!(app.state_of(&a, &id_a).await, "registered");

    let id_b = app.draft(&b, "乙的算法").await;
    let (mb, _) = package_manifest(&app, &tmp.join("b"), "b");
    app.ok("PUT", &format!("/api/v1/applications/{id_b}/manifest"), Some(&b), Some(mb)).await;
    app.ok("POST", &format!("/api/v1/applications/{id_b}/submit"), Some(&b), None).await;
    let overlaps = app.ok("GET", &format!("/api/v1/review/applications/{id_b}/overlaps"), Some(&e), None).await;
    assert_eq!(overlaps[0]["application_id"].as_str(), Some(id_a.as_str()), "{overlaps}");
    assert!(overlaps[0]["containment"].as_f64().unwrap() > 0.9, "{overlaps}");

    // The examiner's review shows what the manifest commits to, and the overlap with A.
    let (status, review) = Web::new(&app, &e).get(&format!("/review/{id_b}")).await;
    assert_eq!(status, StatusCode::OK);
    let files = std::fs::read_dir(tmp.join("b")).unwrap().count();
    for shown in ["算法包（源代码、模型，按文件承诺）", &format!("rust {files} 个文件"), "源代码指纹", "甲的算法"]
    {
        assert!(review.contains(shown), "the review page shows {shown}");
    }
    // So does the applicant's filing page, in English too.
    let (_, page) = Web::new(&app, &a).get(&format!("/me/filings/{id_a}?lang=en")).await;
    assert!(page.contains("Algorithm package") && page.contains(ma["root"].as_str().unwrap()), "{page}");

    // A suspect package's sketch finds A's registered code.
    let sketch = dipr_fingerprint::package::package_discovery_sketch(
        &mut |each| dipr_package::source::Source::Dir(tmp.join("b")).read(each),
        &app.state.discovery_key,
    )
    .unwrap();
    let found = app.ok("POST", "/api/v1/discover", Some(&b), Some(serde_json::to_value(&sketch).unwrap())).await;
    assert_eq!(found[0]["application_id"].as_str(), Some(id_a.as_str()), "{found}");

    // A's court bundle against B's copy checks on the /check page, its conclusion first.
    let manifest: dipr_fingerprint::Manifest = serde_json::from_value(ma).unwrap();
    let e = dipr_fingerprint::package::prove_package(
        &manifest,
        &secrets_a,
        None,
        &mut |each| dipr_package::source::Source::Dir(tmp.join("a")).read(each),
        &mut |each| dipr_package::source::Source::Dir(tmp.join("b")).read(each),
        "copy",
        5,
    )
    .unwrap();
    let (_, cert) = app.call("GET", &format!("/api/v1/public/records/{id_a}/certificate"), None, None).await;
    let certificate = serde_json::from_value(cert).unwrap();
    let bundle = dipr_fingerprint::evidence::EvidenceBundle::new(
        certificate,
        manifest,
        e.suspect,
        &e.containment,
        e.proofs,
        e.matches,
        &secrets_a.signer,
    );
    let (status, html) =
        Web::new(&app, &b).post("/check", &[("certificate", &serde_json::to_string(&bundle).unwrap())]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("证据包有效") && html.contains("出现在被控包“copy”中"), "{html}");
    std::fs::remove_dir_all(&tmp).unwrap();
}
