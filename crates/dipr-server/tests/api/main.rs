//! End-to-end tests over HTTP through the real router, on a real SQLite database (and PostgreSQL for
//! the multi-process timer test when `DIPR_TEST_POSTGRES_URL` is set).

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use dipr_domain::access::{Actor, Role};
use dipr_registry::accounts::NewAccount;
use dipr_registry::Config;
use dipr_registry::Registry;
use serde_json::{json, Value};
use tower::ServiceExt;
use uuid::Uuid;

struct App {
    state: Arc<Registry>,
    router: axum::Router,
    db_path: Option<std::path::PathBuf>,
}

fn config() -> Config {
    Config { adjustable_clock: true, body_limit: 64 * 1024, ..Config::default() }
}

fn signer() -> dipr_ledger::note::NoteSigner {
    dipr_ledger::note::NoteSigner::generate("dipr-test.localhost/log").unwrap()
}

fn temp_db() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("dipr-api-test-{}", Uuid::now_v7()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join("dipr.db")
}

fn credit_code() -> String {
    let digits: String = Uuid::now_v7().as_u128().to_string().chars().rev().take(9).collect();
    let body = format!("91310000{digits}");
    let check = dipr_domain::ids::credit_code_check(body.as_bytes()).unwrap() as char;
    format!("{body}{check}")
}

fn resident_id() -> String {
    let seq = Uuid::now_v7().as_u128() % 1000;
    let body = format!("31010419850612{seq:03}");
    let check = dipr_domain::ids::mod11_2_check(body.as_bytes()).unwrap() as char;
    format!("{body}{check}")
}

fn full_form(name: &str) -> Value {
    json!({
        "product_name": name,
        "object_type": "data_collection",
        "industry": "model_corpus",
        "scenarios": ["大模型训练"],
        "summary": "经清洗与标注的中文语料",
        "sources": [{"kind": "self_collected", "description": "自有平台采集"}],
        "legality_statement": "数据来源合法",
        "no_infringement_commitment": true,
        "processing": "去重、清洗、脱敏、标注",
        "structure": [{"name": "text", "type": "string"}],
        "scale": {"records": 1000000},
        "format": "jsonl",
        "update_frequency": "monthly",
        "secrecy": {"non_public": true, "measures": "访问控制"},
        "samples": ["{\"text\": \"示例\"}"],
        "contact": {"name": "张三", "phone": "021-1234", "email": "a@example.cn"}
    })
}

impl App {
    async fn new() -> Self {
        Self::with(config(), signer()).await
    }

    async fn with(config: Config, signer: dipr_ledger::note::NoteSigner) -> Self {
        let path = temp_db();
        let store = Arc::new(dipr_store::SqliteStore::open(&path).await.unwrap());
        let state = Registry::new(store, config, signer).await.unwrap();
        Self { router: dipr_server::router(state.clone()), state, db_path: Some(path) }
    }

    async fn call(&self, method: &str, path: &str, token: Option<&str>, body: Option<Value>) -> (StatusCode, Value) {
        let bytes = body.map(|b| b.to_string().into_bytes());
        self.raw(method, path, token, bytes, "application/json").await
    }

    async fn raw(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Vec<u8>>,
        content_type: &str,
    ) -> (StatusCode, Value) {
        let mut req = Request::builder().method(method).uri(path);
        if let Some(t) = token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        let req = match body {
            Some(b) => req.header("content-type", content_type).body(Body::from(b)).unwrap(),
            None => req.body(Body::empty()).unwrap(),
        };
        let resp = self.router.clone().oneshot(req).await.unwrap();
        let status = resp.status();
        let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX).await.unwrap();
        let value = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or(Value::String(String::from_utf8_lossy(&bytes).into()))
        };
        (status, value)
    }

    async fn ok(&self, method: &str, path: &str, token: Option<&str>, body: Option<Value>) -> Value {
        let (s, v) = self.call(method, path, token, body).await;
        assert!(s.is_success(), "{method} {path} → {s}: {v}");
        v
    }

    /// Expect an error with this status and code.
    async fn err(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
        status: u16,
        code: &str,
    ) -> Value {
        let (s, v) = self.call(method, path, token, body).await;
        assert_eq!((s.as_u16(), v["error"]["code"].as_str().unwrap_or("")), (status, code), "{method} {path}: {v}");
        v
    }

    async fn sign_up(&self, name: &str) -> String {
        let username = format!("u-{}", Uuid::now_v7().simple());
        let party = json!({"kind": "legal_person", "name": format!("{name}数据有限公司"), "id_number": credit_code()});
        self.ok("POST", "/api/v1/auth/signup", None, Some(json!({"username": username, "password": "long enough pw", "display_name": name, "role": "applicant", "party": party}))).await;
        self.sign_in(&username).await
    }

    /// A session token (expires after the configured session hours).
    async fn session(&self, username: &str) -> String {
        let v = self
            .ok("POST", "/api/v1/auth/signin", None, Some(json!({"username": username, "password": "long enough pw"})))
            .await;
        v["token"].as_str().unwrap().to_string()
    }

    /// A non-expiring API token, so scenarios can move the clock by months.
    async fn sign_in(&self, username: &str) -> String {
        let session = self.session(username).await;
        let v = self.ok("POST", "/api/v1/me/tokens", Some(&session), Some(json!({"name": "test"}))).await;
        v["token"].as_str().unwrap().to_string()
    }

    /// An account an administrator created, signed in for the first time: it changes the password the
    /// administrator set (its only choice), then makes an API token with the session that stays.
    async fn first_sign_in(&self, username: &str) -> String {
        let session = self.session(username).await;
        let change = json!({"current_password": "long enough pw", "new_password": "chosen at first sign-in",
            "repeat_password": "chosen at first sign-in"});
        self.ok("POST", "/api/v1/me/password", Some(&session), Some(change)).await;
        let v = self.ok("POST", "/api/v1/me/tokens", Some(&session), Some(json!({"name": "test"}))).await;
        v["token"].as_str().unwrap().to_string()
    }

    /// An account created the way `dipr admin create-user` does, signed in.
    async fn staff(&self, role: Role) -> String {
        let username = format!("{}-{}", role.as_str(), Uuid::now_v7().simple());
        let req = NewAccount {
            username: username.clone(),
            password: "long enough pw".into(),
            display_name: format!("{}员", role.as_str()),
            role,
            party: None,
            email: None,
        };
        dipr_registry::accounts::create_account(&self.state, req, &Actor::public("test"), false).await.unwrap();
        self.sign_in(&username).await
    }

    async fn draft(&self, token: &str, name: &str) -> String {
        let v = self.ok("POST", "/api/v1/applications", Some(token), Some(json!({"form": full_form(name)}))).await;
        assert_eq!(v["state"], "draft");
        v["id"].as_str().unwrap().to_string()
    }

    async fn decide(&self, examiner: &str, id: &str, action: &str) -> Value {
        self.ok(
            "POST",
            &format!("/api/v1/review/applications/{id}/decision"),
            Some(examiner),
            Some(json!({"action": action, "reasons": format!("理由：{action}")})),
        )
        .await
    }

    /// Draft → submitted → formal review → substantive review → public notice.
    async fn publish_notice(&self, applicant: &str, examiner: &str, name: &str) -> String {
        let id = self.draft(applicant, name).await;
        self.ok("POST", &format!("/api/v1/applications/{id}/submit"), Some(applicant), None).await;
        self.decide(examiner, &id, "accept").await;
        self.decide(examiner, &id, "pass_formal_review").await;
        let v = self.decide(examiner, &id, "approve").await;
        assert_eq!(v["state"], "public_notice");
        id
    }

    async fn advance(&self, admin: &str, days: u32) {
        self.ok("POST", "/api/v1/admin/clock", Some(admin), Some(json!({"days": days}))).await;
    }

    async fn state_of(&self, token: &str, id: &str) -> String {
        self.ok("GET", &format!("/api/v1/applications/{id}"), Some(token), None).await["state"]
            .as_str()
            .unwrap()
            .to_string()
    }

    /// Row counts of every table, to prove a refused request wrote nothing.
    async fn row_counts(&self) -> Vec<(String, i64)> {
        use sqlx::Row;
        let path = self.db_path.as_ref().unwrap();
        let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", path.display())).await.unwrap();
        let mut out = Vec::new();
        for t in [
            "parties",
            "users",
            "tokens",
            "applications",
            "events",
            "sequences",
            "industries",
            "calendar_days",
            "settings",
        ] {
            let n: i64 =
                sqlx::query(&format!("SELECT COUNT(*) AS n FROM {t}")).fetch_one(&pool).await.unwrap().get("n");
            out.push((t.to_string(), n));
        }
        pool.close().await;
        out
    }
}

async fn actors(app: &App) -> (String, String, String) {
    (app.sign_up("甲").await, app.staff(Role::Examiner).await, app.staff(Role::Admin).await)
}

// ---------------------------------------------------------------------------------------------------
// Every path of the lifecycle

#[tokio::test]
async fn correction_and_resubmission_then_registration_after_notice() {
    let app = App::new().await;
    let (a, e, admin) = actors(&app).await;
    let id = app.draft(&a, "中文模型语料库").await;
    app.ok("POST", &format!("/api/v1/applications/{id}/submit"), Some(&a), None).await;
    app.decide(&e, &id, "accept").await;
    let v = app
        .ok(
            "POST",
            &format!("/api/v1/review/applications/{id}/decision"),
            Some(&e),
            Some(json!({"action": "request_correction", "reasons": "样例不足", "items": ["samples"]})),
        )
        .await;
    assert_eq!(v["state"], "correction_requested");
    assert!(v["correction"]["due"].is_string());
    // The applicant edits and resubmits.
    let mut form = full_form("中文模型语料库");
    form["samples"] = json!(["{\"text\": \"样例一\"}", "{\"text\": \"样例二\"}"]);
    app.ok("PUT", &format!("/api/v1/applications/{id}"), Some(&a), Some(json!({"form": form}))).await;
    let v = app
        .ok("POST", &format!("/api/v1/applications/{id}/resubmit"), Some(&a), Some(json!({"text": "已补充样例"})))
        .await;
    assert_eq!(v["state"], "formal_review");
    app.decide(&e, &id, "pass_formal_review").await;
    let v = app.decide(&e, &id, "approve").await;
    assert_eq!(v["state"], "public_notice");

    // During the notice the record is public; after 10 working days it is registered.
    app.ok("GET", &format!("/api/v1/public/records/{id}"), None, None).await;
    app.advance(&admin, 5).await;
    assert_eq!(app.state_of(&a, &id).await, "public_notice");
    app.advance(&admin, 12).await;
    let v = app.ok("GET", &format!("/api/v1/applications/{id}"), Some(&a), None).await;
    assert_eq!(v["state"], "registered");
    let reg = &v["registration"];
    dipr_domain::ids::RegistrationNumber::parse(reg["registration_number"].as_str().unwrap()).unwrap();
    dipr_domain::ids::CertificateNumber::parse(reg["certificate_number"].as_str().unwrap()).unwrap();

    // The history names every step, the examiner, and the reasons.
    let h = app.ok("GET", &format!("/api/v1/applications/{id}/history"), Some(&a), None).await;
    let kinds: Vec<&str> = h.as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        [
            "draft_created",
            "submitted",
            "accepted_for_review",
            "correction_requested",
            "edited",
            "resubmitted",
            "formal_review_passed",
            "notice_published",
            "notice_ended"
        ]
    );
    let corr = &h[3];
    assert_eq!((corr["reasons"].as_str(), corr["actor_role"].as_str()), (Some("样例不足"), Some("examiner")));
    let public = app.ok("GET", &format!("/api/v1/public/records/{id}"), None, None).await;
    let public_kinds: Vec<&str> =
        public["history"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(public_kinds, ["notice_published", "notice_ended"], "examination before the notice stays private");
}

#[tokio::test]
async fn correction_timeout_deems_withdrawn() {
    let app = App::new().await;
    let (a, e, admin) = actors(&app).await;
    let id = app.draft(&a, "交通指数").await;
    app.ok("POST", &format!("/api/v1/applications/{id}/submit"), Some(&a), None).await;
    app.decide(&e, &id, "accept").await;
    app.decide(&e, &id, "request_correction").await;
    app.advance(&admin, 29).await;
    assert_eq!(app.state_of(&a, &id).await, "correction_requested");
    app.advance(&admin, 2).await;
    assert_eq!(app.state_of(&a, &id).await, "deemed_withdrawn");
    app.err(
        "POST",
        &format!("/api/v1/applications/{id}/resubmit"),
        Some(&a),
        Some(json!({"text": "迟到"})),
        409,
        "illegal_transition",
    )
    .await;
}

#[tokio::test]
async fn rejection_and_refusal() {
    let app = App::new().await;
    let (a, e, _) = actors(&app).await;
    let id = app.draft(&a, "被驳回的数据").await;
    app.ok("POST", &format!("/api/v1/applications/{id}/submit"), Some(&a), None).await;
    app.decide(&e, &id, "accept").await;
    app.err(
        "POST",
        &format!("/api/v1/review/applications/{id}/decision"),
        Some(&e),
        Some(json!({"action": "reject"})),
        422,
        "reasons_required",
    )
    .await;
    assert_eq!(app.decide(&e, &id, "reject").await["state"], "rejected");

    let id = app.draft(&a, "不予登记的数据").await;
    app.ok("POST", &format!("/api/v1/applications/{id}/submit"), Some(&a), None).await;
    app.decide(&e, &id, "accept").await;
    app.decide(&e, &id, "pass_formal_review").await;
    let v = app.decide(&e, &id, "refuse").await;
    assert_eq!(v["state"], "refused");
    assert_eq!(v["decisions"].as_array().unwrap().last().unwrap()["examiner_name"], "examiner员");
}

#[tokio::test]
async fn objection_upheld_refuses() {
    let app = App::new().await;
    let (a, e, _) = actors(&app).await;
    let id = app.publish_notice(&a, &e, "有争议的语料").await;
    let v = app
        .ok(
            "POST",
            &format!("/api/v1/public/records/{id}/objections"),
            None,
            Some(json!({"objector_name": "某公司", "objector_contact": "x@example.cn", "grounds": "数据来自我方"})),
        )
        .await;
    let oid = v["id"].as_str().unwrap().to_string();
    assert_eq!(v["record"]["state"], "objection_pending");
    assert!(v["record"].get("objector_contact").is_none());
    app.ok(
        "POST",
        &format!("/api/v1/applications/{id}/objections/{oid}/response"),
        Some(&a),
        Some(json!({"text": "自行采集"})),
    )
    .await;
    let v = app
        .ok(
            "POST",
            &format!("/api/v1/review/applications/{id}/objections/{oid}/decision"),
            Some(&e),
            Some(json!({"outcome": "upheld", "reasons": "来源不合法"})),
        )
        .await;
    assert_eq!(v["state"], "refused");
    assert_eq!(v["objections"][0]["response"], "自行采集");
    app.err(
        "POST",
        &format!("/api/v1/review/applications/{id}/objections/{oid}/decision"),
        Some(&e),
        Some(json!({"outcome": "dismissed", "reasons": "再议"})),
        409,
        "illegal_transition",
    )
    .await;
}

#[tokio::test]
async fn objection_dismissed_registers_after_the_notice() {
    let app = App::new().await;
    let (a, e, admin) = actors(&app).await;
    let id = app.publish_notice(&a, &e, "异议驳回的语料").await;
    let v = app
        .ok(
            "POST",
            &format!("/api/v1/public/records/{id}/objections"),
            None,
            Some(json!({"objector_name": "路人", "grounds": "疑似重复登记"})),
        )
        .await;
    let oid = v["id"].as_str().unwrap().to_string();
    // Dismissed during the notice: back to notice, then registered when it ends.
    let v = app
        .ok(
            "POST",
            &format!("/api/v1/review/applications/{id}/objections/{oid}/decision"),
            Some(&e),
            Some(json!({"outcome": "dismissed", "reasons": "证据不足"})),
        )
        .await;
    assert_eq!(v["state"], "public_notice");
    app.advance(&admin, 20).await;
    assert_eq!(app.state_of(&a, &id).await, "registered");
    // Objections after the notice are refused.
    app.err(
        "POST",
        &format!("/api/v1/public/records/{id}/objections"),
        None,
        Some(json!({"objector_name": "迟到者", "grounds": "太晚"})),
        409,
        "illegal_transition",
    )
    .await;
}

#[tokio::test]
async fn withdrawal_bars_refiling_for_three_months() {
    let app = App::new().await;
    let (a, _, admin) = actors(&app).await;
    let id = app.draft(&a, "撤回的产品").await;
    app.ok("POST", &format!("/api/v1/applications/{id}/submit"), Some(&a), None).await;
    assert_eq!(
        app.ok("POST", &format!("/api/v1/applications/{id}/withdraw"), Some(&a), Some(json!({"text": "调整"}))).await
            ["state"],
        "withdrawn"
    );
    app.err(
        "POST",
        &format!("/api/v1/applications/{id}/withdraw"),
        Some(&a),
        Some(json!({})),
        409,
        "illegal_transition",
    )
    .await;
    // The same product (name compared without case or spacing) cannot be submitted again yet.
    let again = app.draft(&a, "  撤回的产品 ").await;
    let v =
        app.err("POST", &format!("/api/v1/applications/{again}/submit"), Some(&a), None, 409, "refiling_barred").await;
    assert!(v["error"]["message"].as_str().unwrap().contains("may be filed again"));
    assert_eq!(app.state_of(&a, &again).await, "draft");
    // A different product is fine, and after three months the same one is too.
    let other = app.draft(&a, "另一个产品").await;
    app.ok("POST", &format!("/api/v1/applications/{other}/submit"), Some(&a), None).await;
    app.advance(&admin, 93).await;
    app.ok("POST", &format!("/api/v1/applications/{again}/submit"), Some(&a), None).await;
}

#[tokio::test]
async fn agent_files_for_an_applicant() {
    let app = App::new().await;
    let username = format!("agent-{}", Uuid::now_v7().simple());
    app.ok(
        "POST",
        "/api/v1/auth/signup",
        None,
        Some(json!({"username": username, "password": "long enough pw", "display_name": "代理",
        "role": "agent", "party": {"kind": "legal_person", "name": "知信代理有限公司", "id_number": credit_code()}})),
    )
    .await;
    let agent = app.sign_in(&username).await;
    let person = json!({"kind": "natural_person", "name": "王芳", "id_number": resident_id()});
    let v = app
        .ok(
            "POST",
            "/api/v1/applications",
            Some(&agent),
            Some(json!({"applicant": person, "form": full_form("个人数据集")})),
        )
        .await;
    assert_eq!(
        (v["applicant"]["name"].as_str(), v["agent"]["name"].as_str()),
        (Some("王芳"), Some("知信代理有限公司"))
    );
    // A second filing for the same person reuses the party; a different name for the same ID is refused.
    let v2 = app
        .ok(
            "POST",
            "/api/v1/applications",
            Some(&agent),
            Some(json!({"applicant": person, "form": full_form("另一个")})),
        )
        .await;
    assert_eq!(v["applicant"]["id"], v2["applicant"]["id"]);
    let mut wrong = person.clone();
    wrong["name"] = json!("李四");
    app.err(
        "POST",
        "/api/v1/applications",
        Some(&agent),
        Some(json!({"applicant": wrong, "form": full_form("x")})),
        409,
        "party_mismatch",
    )
    .await;
    // The published record masks the person's ID number.
    let e = app.staff(Role::Examiner).await;
    let id = v["id"].as_str().unwrap();
    app.ok("POST", &format!("/api/v1/applications/{id}/submit"), Some(&agent), None).await;
    app.decide(&e, id, "accept").await;
    app.decide(&e, id, "pass_formal_review").await;
    app.decide(&e, id, "approve").await;
    let public = app.ok("GET", &format!("/api/v1/public/records/{id}"), None, None).await;
    assert!(public["record"]["holder"]["id_number"].as_str().unwrap().contains("**********"));
}

// ---------------------------------------------------------------------------------------------------
// Authorisation

#[tokio::test]
async fn applicants_see_and_act_only_on_their_own_filings() {
    let app = App::new().await;
    let (a, _, _) = actors(&app).await;
    let b = app.sign_up("乙").await;
    let id = app.draft(&a, "甲的产品").await;
    app.err("GET", &format!("/api/v1/applications/{id}"), Some(&b), None, 404, "not_found").await;
    app.err("GET", &format!("/api/v1/applications/{id}/history"), Some(&b), None, 404, "not_found").await;
    app.err("POST", &format!("/api/v1/applications/{id}/submit"), Some(&b), None, 404, "not_found").await;
    app.err(
        "PUT",
        &format!("/api/v1/applications/{id}"),
        Some(&b),
        Some(json!({"form": full_form("篡改")})),
        404,
        "not_found",
    )
    .await;
    app.err("POST", &format!("/api/v1/applications/{id}/withdraw"), Some(&b), Some(json!({})), 404, "not_found").await;
    let mine = app.ok("GET", "/api/v1/applications", Some(&b), None).await;
    assert_eq!(mine["total"], 0);
    assert_eq!(app.ok("GET", "/api/v1/applications", Some(&a), None).await["total"], 1);
    // Applicants are not examiners or administrators.
    app.err("GET", "/api/v1/review/queue", Some(&a), None, 403, "forbidden").await;
    app.err(
        "POST",
        &format!("/api/v1/review/applications/{id}/decision"),
        Some(&a),
        Some(json!({"action": "accept"})),
        403,
        "forbidden",
    )
    .await;
    app.err("GET", "/api/v1/admin/users", Some(&a), None, 403, "forbidden").await;
    app.err("POST", "/api/v1/admin/clock", Some(&a), Some(json!({"days": 1})), 403, "forbidden").await;
}

#[tokio::test]
async fn the_public_never_sees_drafts_or_private_fields() {
    let app = App::new().await;
    let (a, e, _) = actors(&app).await;
    let draft = app.draft(&a, "秘密草稿语料").await;
    app.err("GET", &format!("/api/v1/public/records/{draft}"), None, None, 404, "not_found").await;
    app.err("GET", &format!("/api/v1/applications/{draft}"), None, None, 401, "unauthenticated").await;
    let found = app.ok("GET", "/api/v1/public/records?q=%E7%A7%98%E5%AF%86", None, None).await;
    assert_eq!(found["total"], 0, "drafts are not searchable");
    let id = app.publish_notice(&a, &e, "公示中的语料").await;
    let rec = app.ok("GET", &format!("/api/v1/public/records/{id}"), None, None).await;
    let text = rec.to_string();
    for private in ["张三", "021-1234", "a@example.cn", "访问控制", "示例"] {
        assert!(!text.contains(private), "public record leaks {private:?}: {text}");
    }
}

#[tokio::test]
async fn examiners_cannot_decide_their_own_filings() {
    let app = App::new().await;
    let admin = app.staff(Role::Admin).await;
    // An examiner who is also a party (an individual) files for themself.
    let username = format!("ex-{}", Uuid::now_v7().simple());
    app.ok(
        "POST",
        "/api/v1/admin/users",
        Some(&admin),
        Some(json!({"username": username, "password": "long enough pw", "display_name": "赵审查",
        "role": "examiner", "party": {"kind": "natural_person", "name": "赵审查", "id_number": resident_id()}})),
    )
    .await;
    let ex = app.first_sign_in(&username).await;
    let id = app.draft(&ex, "审查员自己的数据").await;
    app.ok("POST", &format!("/api/v1/applications/{id}/submit"), Some(&ex), None).await;
    app.err(
        "POST",
        &format!("/api/v1/review/applications/{id}/decision"),
        Some(&ex),
        Some(json!({"action": "accept"})),
        403,
        "conflict_of_interest",
    )
    .await;
    let other = app.staff(Role::Examiner).await;
    app.decide(&other, &id, "accept").await;
    app.err(
        "POST",
        &format!("/api/v1/review/applications/{id}/decision"),
        Some(&ex),
        Some(json!({"action": "reject", "reasons": "x"})),
        403,
        "conflict_of_interest",
    )
    .await;
}

#[tokio::test]
async fn revoked_tokens_stop_working() {
    let app = App::new().await;
    let a = app.sign_up("丙").await;
    let v = app.ok("POST", "/api/v1/me/tokens", Some(&a), Some(json!({"name": "脚本"}))).await;
    let api_token = v["token"].as_str().unwrap().to_string();
    let token_id = v["record"]["id"].as_str().unwrap().to_string();
    assert!(v["record"].get("token_hash").is_none(), "the hash is never served");
    app.ok("GET", "/api/v1/me", Some(&api_token), None).await;
    app.ok("DELETE", &format!("/api/v1/me/tokens/{token_id}"), Some(&a), None).await;
    app.err("GET", "/api/v1/me", Some(&api_token), None, 401, "unauthenticated").await;
    app.err("DELETE", &format!("/api/v1/me/tokens/{token_id}"), Some(&a), None, 404, "not_found").await;
    // Signing out revokes the session (or token) it is sent with.
    let me = app.ok("GET", "/api/v1/me", Some(&a), None).await;
    let session = app.session(me["user"]["username"].as_str().unwrap()).await;
    app.ok("POST", "/api/v1/auth/signout", Some(&session), None).await;
    app.err("GET", "/api/v1/me", Some(&session), None, 401, "unauthenticated").await;
    app.ok("GET", "/api/v1/me", Some(&a), None).await;
    // Garbage credentials are an error, not anonymous access.
    let anywhere = format!("/api/v1/public/records/{}/objections", Uuid::now_v7());
    app.err(
        "POST",
        &anywhere,
        Some("dipr_not-a-real-token"),
        Some(json!({"objector_name": "x", "grounds": "y"})),
        401,
        "unauthenticated",
    )
    .await;
    app.err(
        "POST",
        &anywhere,
        Some("not even a dipr token"),
        Some(json!({"objector_name": "x", "grounds": "y"})),
        401,
        "unauthenticated",
    )
    .await;
    app.err(
        "POST",
        "/api/v1/auth/signin",
        None,
        Some(json!({"username": "nobody", "password": "whatever-123"})),
        401,
        "invalid_credentials",
    )
    .await;
}

#[tokio::test]
async fn disabled_accounts_lose_access_and_sessions_expire() {
    let app = App::new().await;
    let admin = app.staff(Role::Admin).await;
    let a = app.sign_up("丁").await;
    let me = app.ok("GET", "/api/v1/me", Some(&a), None).await;
    let uid = me["user"]["id"].as_str().unwrap();
    app.ok("POST", &format!("/api/v1/admin/users/{uid}/disable"), Some(&admin), None).await;
    app.err("GET", "/api/v1/me", Some(&a), None, 401, "unauthenticated").await;
    // Sessions expire (12 hours by default); API tokens live until revoked.
    let b = app.sign_up("戊").await;
    let me = app.ok("GET", "/api/v1/me", Some(&b), None).await;
    let session = app.session(me["user"]["username"].as_str().unwrap()).await;
    app.ok("GET", "/api/v1/me", Some(&session), None).await;
    app.advance(&admin, 1).await;
    app.err("GET", "/api/v1/me", Some(&session), None, 401, "unauthenticated").await;
    app.ok("GET", "/api/v1/me", Some(&b), None).await;
}

// ---------------------------------------------------------------------------------------------------
// Bad input: specific errors, nothing written

#[tokio::test]
async fn bad_input_gets_specific_errors_and_writes_nothing() {
    let app = App::new().await;
    let (a, e, _) = actors(&app).await;
    let draft = app.draft(&a, "草稿").await;
    let before = app.row_counts().await;

    let (s, v) =
        app.raw("POST", "/api/v1/applications", Some(&a), Some(b"{\"form\": {".to_vec()), "application/json").await;
    assert_eq!((s.as_u16(), v["error"]["code"].as_str()), (400, Some("invalid_json")));
    let (s, v) = app.raw("POST", "/api/v1/applications", Some(&a), Some(b"{}".to_vec()), "text/plain").await;
    assert_eq!((s.as_u16(), v["error"]["code"].as_str()), (415, Some("unsupported_media_type")));
    let big = format!("{{\"form\": {{\"summary\": \"{}\"}}}}", "x".repeat(70 * 1024));
    let (s, v) = app.raw("POST", "/api/v1/applications", Some(&a), Some(big.into_bytes()), "application/json").await;
    assert_eq!((s.as_u16(), v["error"]["code"].as_str()), (413, Some("payload_too_large")));
    app.err(
        "POST",
        "/api/v1/applications",
        Some(&a),
        Some(json!({"form": {"product_name": "x", "bogus": 1}})),
        400,
        "invalid_json",
    )
    .await;
    app.err(
        "POST",
        "/api/v1/applications",
        Some(&a),
        Some(json!({"form": {"product_name": "x", "object_type": "spaceship"}})),
        400,
        "invalid_json",
    )
    .await;
    let v = app
        .err(
            "POST",
            "/api/v1/applications",
            Some(&a),
            Some(json!({"form": {"industry": "no_such"}})),
            422,
            "validation_failed",
        )
        .await;
    let fields: Vec<&str> =
        v["error"]["details"].as_array().unwrap().iter().map(|d| d["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["product_name", "object_type", "industry"]);

    let bad_party = |id: &str, kind: &str| {
        json!({"username": format!("u{}", Uuid::now_v7().simple()), "password": "long enough pw",
        "display_name": "x", "role": "applicant", "party": {"kind": kind, "name": "某", "id_number": id}})
    };
    app.err(
        "POST",
        "/api/v1/auth/signup",
        None,
        Some(bad_party("91350100M000100Y44", "legal_person")),
        422,
        "invalid_credit_code",
    )
    .await;
    app.err(
        "POST",
        "/api/v1/auth/signup",
        None,
        Some(bad_party("110105194912310021", "natural_person")),
        422,
        "invalid_resident_id",
    )
    .await;
    app.err(
        "POST",
        "/api/v1/auth/signup",
        None,
        Some(json!({"username": "x y", "password": "long enough pw", "display_name": "x", "role": "applicant"})),
        422,
        "validation_failed",
    )
    .await;
    app.err(
        "POST",
        "/api/v1/auth/signup",
        None,
        Some(json!({"username": "short-pw", "password": "short", "display_name": "x", "role": "applicant",
            "party": {"kind": "legal_person", "name": "弱口令公司", "id_number": credit_code()}})),
        422,
        "weak_password",
    )
    .await;
    // An empty form learns every problem at once, the weak password among them.
    let v = app
        .err(
            "POST",
            "/api/v1/auth/signup",
            None,
            Some(json!({"username": "", "password": "", "display_name": " ", "role": "applicant"})),
            422,
            "validation_failed",
        )
        .await;
    let fields: Vec<&str> =
        v["error"]["details"].as_array().unwrap().iter().map(|d| d["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["username", "display_name", "party", "password"], "{v}");
    app.err(
        "POST",
        "/api/v1/auth/signup",
        None,
        Some(json!({"username": "sneaky", "password": "long enough pw", "display_name": "x", "role": "examiner"})),
        403,
        "forbidden",
    )
    .await;

    // A draft is its applicant's alone: to an examiner it does not exist.
    app.err(
        "POST",
        &format!("/api/v1/review/applications/{draft}/decision"),
        Some(&e),
        Some(json!({"action": "approve", "reasons": "x"})),
        404,
        "not_found",
    )
    .await;
    app.err("GET", &format!("/api/v1/applications/{draft}"), Some(&e), None, 404, "not_found").await;
    // Illegal transitions.
    app.err(
        "POST",
        &format!("/api/v1/applications/{draft}/resubmit"),
        Some(&a),
        Some(json!({"text": "x"})),
        409,
        "illegal_transition",
    )
    .await;
    app.err(
        "POST",
        &format!("/api/v1/public/records/{draft}/objections"),
        None,
        Some(json!({"objector_name": "x", "grounds": "y"})),
        404,
        "not_found",
    )
    .await;

    // Malformed paths and queries.
    app.err("GET", "/api/v1/applications/not-a-uuid", Some(&a), None, 400, "bad_request").await;
    app.err("GET", "/api/v1/public/records?per_page=1000", None, None, 400, "bad_request").await;
    app.err("GET", "/api/v1/public/records?status=flying", None, None, 400, "bad_request").await;
    app.err("GET", "/api/v1/public/records?unknown=1", None, None, 400, "bad_request").await;
    app.err("GET", "/api/v1/nowhere", None, None, 404, "not_found").await;

    assert_eq!(app.row_counts().await, before, "refused requests wrote nothing");
}

#[tokio::test]
async fn incomplete_submission_lists_missing_fields() {
    let app = App::new().await;
    let a = app.sign_up("己").await;
    let v = app
        .ok(
            "POST",
            "/api/v1/applications",
            Some(&a),
            Some(json!({"form": {"product_name": "半成品", "object_type": "data_product"}})),
        )
        .await;
    let id = v["id"].as_str().unwrap();
    let before = app.row_counts().await;
    let v =
        app.err("POST", &format!("/api/v1/applications/{id}/submit"), Some(&a), None, 422, "validation_failed").await;
    let fields: Vec<&str> =
        v["error"]["details"].as_array().unwrap().iter().map(|d| d["field"].as_str().unwrap()).collect();
    for f in
        ["summary", "legality_statement", "processing", "industry", "sources", "no_infringement_commitment", "samples"]
    {
        assert!(fields.contains(&f), "{f} not reported: {fields:?}");
    }
    assert_eq!(app.state_of(&a, id).await, "draft");
    assert_eq!(app.row_counts().await, before);
}

// ---------------------------------------------------------------------------------------------------
// Public search, API document, error table

/// The unfiltered figures are a snapshot that names its time; filtered figures are live; a snapshot
/// nobody has looked at for three intervals is replaced before it is shown.
#[tokio::test]
async fn headline_figures_are_a_snapshot_that_names_its_time() {
    let app = App::with(Config { stats_refresh_secs: 3600, ..config() }, signer()).await;
    let (a, e, admin) = actors(&app).await;
    app.publish_notice(&a, &e, "第一份语料").await;
    let first = app.ok("GET", "/api/v1/statistics", None, None).await;
    assert_eq!((first["applications"].as_i64(), first["refresh_secs"].as_i64()), (Some(1), Some(3600)));
    assert!(first["as_of"].as_str().is_some_and(|t| t.ends_with('Z')), "{first}");

    app.publish_notice(&a, &e, "第二份语料").await;
    let again = app.ok("GET", "/api/v1/statistics", None, None).await;
    assert_eq!(again, first, "served from the snapshot");
    let filtered = app.ok("GET", "/api/v1/statistics?from=2000-01-01", None, None).await;
    assert_eq!((filtered["applications"].as_i64(), filtered["refresh_secs"].as_i64()), (Some(2), Some(0)));
    let (_, home) = web::Web::new(&app, &a).get("/").await;
    assert!(home.contains("每 60 分钟更新"), "the home page names the snapshot's age");

    app.advance(&admin, 1).await;
    let later = app.ok("GET", "/api/v1/statistics", None, None).await;
    assert_eq!(later["applications"].as_i64(), Some(2));
    assert_ne!(later["as_of"], first["as_of"]);
}

#[tokio::test]
async fn chinese_search_and_filters() {
    let app = App::new().await;
    let (a, e, _) = actors(&app).await;
    let id = app.publish_notice(&a, &e, "模型语料库").await;
    app.publish_notice(&a, &e, "城市交通指数").await;
    // 语料: in the first product's name, and in both summaries; the name match ranks first.
    let v = app.ok("GET", "/api/v1/public/records?q=%E8%AF%AD%E6%96%99", None, None).await;
    assert_eq!(v["total"], 2);
    assert_eq!(v["items"][0]["id"].as_str(), Some(id.as_str()));
    assert_eq!(v["ranked"], true, "a search with few matches is ranked");
    // Notices page by cursor: the second page continues after the first, and a bad cursor is refused.
    let first = app.ok("GET", "/api/v1/public/notices?per_page=1", None, None).await;
    assert_eq!((first["total"].as_i64(), first["total_exact"].as_bool()), (Some(2), Some(true)));
    assert_eq!(first["ranked"], false, "a list without words is ordered by time");
    let next = first["next"].as_str().expect("a cursor");
    let second = app.ok("GET", &format!("/api/v1/public/notices?per_page=1&after={next}"), None, None).await;
    assert_ne!(second["items"][0]["id"], first["items"][0]["id"]);
    let third = app
        .ok("GET", &format!("/api/v1/public/notices?per_page=1&after={}", second["next"].as_str().unwrap()), None, None)
        .await;
    assert_eq!(third["items"].as_array().map(Vec::len), Some(0));
    app.err("GET", "/api/v1/public/notices?after=yesterday", None, None, 400, "bad_request").await;
    let search_after = format!("/api/v1/public/records?q=%E8%AF%AD%E6%96%99&after={next}");
    app.err("GET", &search_after, None, None, 400, "bad_request").await;
    // 语料 库: both words must match.
    let v = app.ok("GET", "/api/v1/public/records?q=%E8%AF%AD%E6%96%99+%E5%BA%93", None, None).await;
    assert_eq!(v["total"], 1);
    let v = app
        .ok(
            "GET",
            "/api/v1/public/records?holder=%E7%94%B2&status=notice&object_type=data_collection&industry=model_corpus",
            None,
            None,
        )
        .await;
    assert_eq!(v["total"], 2);
    let v = app.ok("GET", "/api/v1/public/records?status=registered", None, None).await;
    assert_eq!(v["total"], 0);
    let v = app.ok("GET", "/api/v1/public/notices", None, None).await;
    assert_eq!(v["total"], 2);
    let q = app.ok("GET", "/api/v1/review/queue?state=public_notice", Some(&e), None).await;
    assert_eq!(q["total"], 2);
}

#[tokio::test]
async fn openapi_document_and_error_table() {
    let app = App::new().await;
    let doc = app.ok("GET", "/api/openapi.json", None, None).await;
    assert_eq!(doc["openapi"].as_str().map(|v| v.starts_with("3.")), Some(true));
    for path in [
        "/api/v1/applications/{id}/submit",
        "/api/v1/public/records",
        "/api/v1/review/applications/{id}/decision",
        "/healthz",
    ] {
        assert!(doc["paths"].get(path).is_some(), "{path} missing from the OpenAPI document");
    }
    assert!(doc["components"]["schemas"].get("Application").is_some());
    // Lists of public records leave out the objections and disputes: the schema does not promise them, and says
    // where they are.
    let record = &doc["components"]["schemas"]["PublicRecord"];
    for field in ["objections", "disputes"] {
        let required = record["required"].as_array().unwrap();
        assert!(!required.iter().any(|f| f == field), "{field} is not in every PublicRecord");
        let about = record["properties"][field]["description"].as_str().unwrap_or_default();
        assert!(about.contains("single record"), "{field}: {about:?}");
    }
    let health = app.ok("GET", "/healthz", None, None).await;
    assert_eq!((health["status"].as_str(), health["database"].as_str()), (Some("ok"), Some("sqlite")));

    // docs/ERRORS.md documents exactly the codes the server can send.
    let table = app.ok("GET", "/api/v1/errors", None, None).await;
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/ERRORS.md")).unwrap();
    for row in table.as_array().unwrap() {
        let line = format!("| `{}` | {} |", row["code"].as_str().unwrap(), row["status"]);
        assert!(doc.contains(&line), "docs/ERRORS.md lacks the row {line}");
    }
    // The rows of the error table: a code and its HTTP status (field-level codes follow in their own table).
    let status_of = |l: &str| l.split('|').nth(2).map(|c| c.trim().parse::<u16>().is_ok()).unwrap_or(false);
    let documented = doc.lines().filter(|l| l.starts_with("| `") && status_of(l)).count();
    assert_eq!(documented, table.as_array().unwrap().len(), "docs/ERRORS.md has codes the server never sends");
}

/// The OpenAPI document lists exactly the routes the API serves, each with its methods. `routes!` takes a
/// handler's path and methods from its `#[utoipa::path]`, but it serves every handler of one call on every
/// path of that call, and a router can still take a route the document never hears of (`.route`). So each
/// documented path is asked with a method it does not document: the router must refuse it (405) and name in
/// `Allow` the documented methods and no others; and the API's sources add routes outside `routes!` only
/// at the root, where the document has no operation for them.
#[tokio::test]
async fn openapi_document_lists_every_route_with_its_methods() {
    let app = App::new().await;
    // Signed in: the body-limit guard refuses an anonymous upload before the method is looked at.
    let token = app.sign_up("路由").await;
    let doc = app.ok("GET", "/api/openapi.json", None, None).await;
    let paths = doc["paths"].as_object().unwrap();
    assert!(paths.keys().filter(|p| p.starts_with("/api/v1/")).count() >= 60, "{:?}", paths.keys());
    const METHODS: [&str; 5] = ["GET", "POST", "PUT", "DELETE", "PATCH"];
    for (path, item) in paths {
        let documented: std::collections::BTreeSet<String> =
            METHODS.iter().filter(|m| item.get(m.to_lowercase()).is_some()).map(|m| m.to_string()).collect();
        let uri: Vec<&str> = path
            .split('/')
            .map(|s| if s.starts_with('{') { "00000000-0000-0000-0000-000000000000" } else { s })
            .collect();
        let other = METHODS.iter().find(|m| !documented.contains(**m)).unwrap();
        let req = Request::builder()
            .method(*other)
            .uri(uri.join("/"))
            .header("authorization", format!("Bearer {token}"))
            .body(Body::empty())
            .unwrap();
        let resp = app.router.clone().oneshot(req).await.unwrap();
        assert_eq!(
            resp.status(),
            StatusCode::METHOD_NOT_ALLOWED,
            "{other} {path}: served though not documented, or the path is not served"
        );
        let allowed: std::collections::BTreeSet<String> = resp.headers()["allow"]
            .to_str()
            .unwrap()
            .split(',')
            .map(|m| m.trim().to_string())
            .filter(|m| m != "HEAD")
            .collect();
        assert_eq!(allowed, documented, "{path}: the methods served and the methods documented differ");
    }
    // Routes added without `routes!`: only these, served at the root (the document's `ledger` tag names the
    // log's and the bulk files; the document does not describe itself).
    let mut plain = Vec::new();
    for entry in std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/src/api")).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        for call in [".route(", ".route_service(", ".nest_service("] {
            for (at, _) in text.match_indices(call) {
                plain.push(text[at + call.len()..].split('"').nth(1).unwrap_or_default().to_string());
            }
        }
    }
    plain.sort();
    assert_eq!(
        plain,
        ["/api/openapi.json", "/bulk/{file}", "/log/checkpoint", "/log/tile/{*path}"],
        "a route outside `routes!`"
    );
    for path in ["/log/checkpoint", "/log/tile/0/000"] {
        let (s, v) = app.call("GET", path, None, None).await;
        assert_eq!((s.as_u16(), v["error"]["code"].as_str()), (404, Some("not_found")), "{path}: {v}");
        assert!(doc["paths"].get(path).is_none());
    }
}

// ---------------------------------------------------------------------------------------------------
// Timers: idempotent, correct after a restart, never double-firing across processes

#[tokio::test]
async fn timers_fire_after_a_restart() {
    let path = temp_db();
    let (a, e, id);
    {
        let store = Arc::new(dipr_store::SqliteStore::open(&path).await.unwrap());
        let state = Registry::new(store, config(), signer()).await.unwrap();
        let app = App { router: dipr_server::router(state.clone()), state, db_path: Some(path.clone()) };
        (a, e) = (app.sign_up("庚").await, app.staff(Role::Examiner).await);
        id = app.publish_notice(&a, &e, "重启测试语料").await;
    }
    // A new process, three weeks later (the adjustable clock starts from the wall clock, so move it).
    let store = Arc::new(dipr_store::SqliteStore::open(&path).await.unwrap());
    let state = Registry::new(store, config(), signer()).await.unwrap();
    state.adjustable.as_ref().unwrap().advance(chrono::Duration::days(21));
    let report = dipr_registry::timers::run_once(&state).await.unwrap();
    assert_eq!(report.registered, 1);
    let again = dipr_registry::timers::run_once(&state).await.unwrap();
    assert_eq!(again, Default::default(), "a second pass does nothing");
    let app = state.store.application(id.parse().unwrap()).await.unwrap().unwrap();
    assert_eq!(app.state, dipr_domain::application::State::Registered);
}

#[tokio::test]
async fn timers_in_two_processes_on_postgres_fire_once() {
    let Ok(url) = std::env::var("DIPR_TEST_POSTGRES_URL") else {
        eprintln!("DIPR_TEST_POSTGRES_URL not set: multi-process timers not tested here");
        return;
    };
    let schema = format!("timers_{}", Uuid::now_v7().simple());
    let key = signer();
    let open = || async {
        let store = Arc::new(dipr_store::PgStore::connect_in_schema(&url, &schema).await.unwrap());
        Registry::new(store, config(), key.clone()).await.unwrap()
    };
    let first = open().await;
    let app = App { router: dipr_server::router(first.clone()), state: first.clone(), db_path: None };
    let (a, e) = (app.sign_up("辛").await, app.staff(Role::Examiner).await);
    let mut ids = Vec::new();
    for i in 0..12 {
        ids.push(app.publish_notice(&a, &e, &format!("并发公示{i}")).await);
    }
    let second = open().await;
    for s in [&first, &second] {
        s.adjustable.as_ref().unwrap().advance(chrono::Duration::days(21));
    }
    let (r1, r2) = tokio::join!(dipr_registry::timers::run_once(&first), dipr_registry::timers::run_once(&second));
    let (r1, r2) = (r1.unwrap(), r2.unwrap());
    assert_eq!(r1.registered + r2.registered, 12, "{r1:?} {r2:?}");
    let mut numbers = std::collections::HashSet::new();
    for id in ids {
        let events = first.store.events("application", &id).await.unwrap();
        assert_eq!(events.iter().filter(|e| e.kind == "notice_ended").count(), 1, "fired exactly once");
        let app = first.store.application(id.parse().unwrap()).await.unwrap().unwrap();
        assert!(numbers.insert(app.registration.unwrap().registration_number), "registration numbers are unique");
    }
    // Both processes appended to one log: gapless, and consistent with every signed checkpoint.
    let report = dipr_registry::ledger::check(first.store.as_ref(), &key.verifier(), None).await.unwrap();
    assert!(report.ok, "{report:?}");
    assert_eq!(report.entries, 24, "12 notices published, 12 registrations");
    let registered = dipr_store::ApplicationFilter {
        states: vec![dipr_domain::application::State::Registered],
        ..Default::default()
    };
    for app in first.store.applications(&registered, dipr_store::Page::default()).await.unwrap().items {
        assert!(first.store.certificate(app.id).await.unwrap().is_some(), "every registration has its certificate");
    }
}

/// More submissions at once than a process has PostgreSQL connections: a submission reads (the industries, the
/// re-filing bar) while it holds its transaction's connection, so it must never wait for a second connection
/// from the pool its transaction came from.
#[tokio::test]
async fn submissions_beyond_the_pool_size_on_postgres_do_not_wait_on_each_other() {
    let Ok(url) = std::env::var("DIPR_TEST_POSTGRES_URL") else {
        eprintln!("DIPR_TEST_POSTGRES_URL not set: PostgreSQL connection pools not tested here");
        return;
    };
    let schema = format!("pool_{}", Uuid::now_v7().simple());
    let store = Arc::new(dipr_store::PgStore::connect_in_schema(&url, &schema).await.unwrap());
    let state = Registry::new(store, config(), signer()).await.unwrap();
    let app = App { router: dipr_server::router(state.clone()), state, db_path: None };
    let a = app.sign_up("壬").await;
    let mut ids = Vec::new();
    for i in 0..24 {
        ids.push(app.draft(&a, &format!("连接池语料{i}")).await);
    }
    let started = std::time::Instant::now();
    let mut submissions = tokio::task::JoinSet::new();
    for id in ids {
        let (router, token) = (app.router.clone(), a.clone());
        submissions.spawn(async move {
            let req = Request::builder()
                .method("POST")
                .uri(format!("/api/v1/applications/{id}/submit"))
                .header("authorization", format!("Bearer {token}"))
                .body(Body::empty())
                .unwrap();
            router.oneshot(req).await.unwrap().status()
        });
    }
    while let Some(status) = submissions.join_next().await {
        assert_eq!(status.unwrap(), StatusCode::OK);
    }
    // Waiting on each other would end only at the pool's acquire timeout (10 s), in errors.
    assert!(started.elapsed() < std::time::Duration::from_secs(8), "{:?}", started.elapsed());
}

#[tokio::test]
async fn demo_data_covers_every_state() {
    let app = App::new().await;
    let summary = dipr_registry::demo::seed(&app.state).await.unwrap();
    assert!(summary.applications >= 60 && summary.accounts >= 30, "{summary:?}");
    let all = app.state.store.applications(&Default::default(), dipr_store::Page::new(1, 100)).await.unwrap();
    let states: std::collections::HashSet<_> = all.items.iter().map(|a| a.state).collect();
    for s in dipr_domain::application::State::ALL {
        assert!(states.contains(&s), "no demo filing in state {s:?}");
    }
    assert!(dipr_registry::demo::seed(&app.state).await.unwrap().already_seeded);
    // A pending demo filing overlaps a registered fingerprinted corpus.
    let e = app.staff(Role::Examiner).await;
    let pending = all
        .items
        .iter()
        .find(|a| a.state == dipr_domain::application::State::SubstantiveReview && a.form.content_commitment.is_some())
        .unwrap();
    let overlaps = app.ok("GET", &format!("/api/v1/review/applications/{}/overlaps", pending.id), Some(&e), None).await;
    assert!(overlaps[0]["containment"].as_f64().unwrap() > 0.7, "{overlaps}");
    assert_eq!(overlaps[0]["state"], "registered");
    // Demo accounts sign in with the documented password.
    app.ok(
        "POST",
        "/api/v1/auth/signin",
        None,
        Some(json!({"username": "examiner1", "password": dipr_registry::demo::DEMO_PASSWORD})),
    )
    .await;
}

// ---------------------------------------------------------------------------------------------------
// The public ledger

async fn registered(app: &App) -> (String, String) {
    let (a, e, admin) = actors(app).await;
    let id = app.publish_notice(&a, &e, "账本测试语料").await;
    app.advance(&admin, 20).await;
    assert_eq!(app.state_of(&a, &id).await, "registered");
    (id, a)
}

#[tokio::test]
async fn registration_issues_a_certificate_that_verifies_offline() {
    use dipr_ledger::certificate::{verify, Certificate};
    let app = App::new().await;
    let (id, _) = registered(&app).await;
    let (s, cert) = app.call("GET", &format!("/api/v1/public/records/{id}/certificate"), None, None).await;
    assert_eq!(s, StatusCode::OK);
    let bytes = serde_json::to_vec(&cert).unwrap();
    let c = Certificate::parse(&bytes).unwrap();
    let key = app.state.signer.verifier();
    let report = verify(&c, Some(&key), None);
    assert!(report.ok, "{}", dipr_ledger::certificate::render_report(&report));
    let rec = app.ok("GET", &format!("/api/v1/public/records/{id}"), None, None).await;
    assert_eq!(c.statement.registration_number, rec["record"]["registration"]["registration_number"].as_str().unwrap());
    assert!(c.statement.record_url.ends_with(&format!("/records/{id}")));
    // A changed holder name breaks it.
    let mut forged = c.clone();
    forged.statement.holder.name = "别人的公司".into();
    assert!(!verify(&forged, Some(&key), None).ok);
    // The PDF rendering of the same certificate.
    let resp = app
        .router
        .clone()
        .oneshot(
            Request::builder().uri(format!("/api/v1/public/records/{id}/certificate.pdf")).body(Body::empty()).unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["content-type"], "application/pdf");
    let pdf = axum::body::to_bytes(resp.into_body(), usize::MAX).await.unwrap();
    assert!(pdf.starts_with(b"%PDF-") && pdf.len() > 10_000, "{} bytes", pdf.len());
    // The page the QR code opens, in Chinese and English, with log indexes in the history.
    let page = |uri: String| {
        let router = app.router.clone();
        async move {
            let resp = router.oneshot(Request::builder().uri(uri).body(Body::empty()).unwrap()).await.unwrap();
            (
                resp.status(),
                String::from_utf8(axum::body::to_bytes(resp.into_body(), usize::MAX).await.unwrap().to_vec()).unwrap(),
            )
        }
    };
    let (s, html) = page(format!("/records/{id}")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("账本测试语料") && html.contains("已登记") && html.contains("certificate.pdf"), "{html}");
    // The public is sent to the registry's own check page, not only to a command line.
    assert!(html.contains("<a href=\"/check\">证书核验</a>"), "{html}");
    assert!(rec["history"].as_array().unwrap().iter().all(|e| e["log_index"].is_u64()), "{rec}");
    let (_, html_en) = page(format!("/records/{id}?lang=en")).await;
    assert!(html_en.contains("Registered") && html_en.contains("Public history"));
    assert_eq!(page(format!("/records/{}", Uuid::now_v7())).await.0, StatusCode::NOT_FOUND);
    // Drafts and pending filings have no certificate.
    let a = app.sign_up("壬").await;
    let draft = app.draft(&a, "没有证书").await;
    app.err("GET", &format!("/api/v1/public/records/{draft}/certificate"), None, None, 404, "not_found").await;
}

#[tokio::test]
async fn the_log_serves_checkpoints_tiles_and_proofs() {
    use base64::Engine;
    use dipr_ledger::checkpoint::Checkpoint;
    use dipr_ledger::merkle::{leaf_hash, verify_consistency, verify_inclusion};
    let app = App::new().await;
    let (a, e, _) = actors(&app).await;
    app.publish_notice(&a, &e, "第一件").await;
    let (_, first_note) = app.state.store.checkpoint(None).await.unwrap().unwrap();
    for i in 0..3 {
        app.publish_notice(&a, &e, &format!("其他{i}")).await;
    }
    let key = app.state.signer.verifier();
    let origin = app.state.signer.name().to_string();
    let req = Request::builder().uri("/log/checkpoint").body(Body::empty()).unwrap();
    let resp = app.router.clone().oneshot(req).await.unwrap();
    let note = axum::body::to_bytes(resp.into_body(), usize::MAX).await.unwrap();
    let (cp, _) = Checkpoint::open(&note, &key, &origin).unwrap();
    assert_eq!(cp.size, 4, "one notice_published entry per published filing");

    let get = |uri: String| {
        let router = app.router.clone();
        async move {
            let resp = router.oneshot(Request::builder().uri(uri).body(Body::empty()).unwrap()).await.unwrap();
            (resp.status(), axum::body::to_bytes(resp.into_body(), usize::MAX).await.unwrap().to_vec())
        }
    };
    let (s, tile) = get("/log/tile/0/000.p/4".into()).await;
    assert_eq!((s, tile.len()), (StatusCode::OK, 4 * 32));
    let (_, bundle) = get("/log/tile/entries/000.p/4".into()).await;
    let mut entries = Vec::new();
    let mut rest = &bundle[..];
    while !rest.is_empty() {
        let n = u16::from_be_bytes([rest[0], rest[1]]) as usize;
        entries.push(rest[2..2 + n].to_vec());
        rest = &rest[2 + n..];
    }
    assert_eq!(entries.len(), 4);
    for (i, e) in entries.iter().enumerate() {
        assert_eq!(&tile[i * 32..(i + 1) * 32], leaf_hash(e).as_slice(), "tile hash {i} is the entry's leaf hash");
    }
    assert_eq!(get("/log/tile/0/000.p/5".into()).await.0, StatusCode::NOT_FOUND, "beyond the tree");
    assert_eq!(get("/log/tile/0/000".into()).await.0, StatusCode::NOT_FOUND, "full tile not complete yet");

    let p = app.ok("GET", "/api/v1/log/proofs/inclusion?index=2", None, None).await;
    let hashes: Vec<[u8; 32]> = p["hashes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| base64::engine::general_purpose::STANDARD.decode(h.as_str().unwrap()).unwrap().try_into().unwrap())
        .collect();
    assert!(verify_inclusion(&leaf_hash(&entries[2]), 2, 4, &hashes, &cp.root));
    let c = app.ok("GET", "/api/v1/log/proofs/consistency?old=1", None, None).await;
    let hashes: Vec<[u8; 32]> = c["hashes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| base64::engine::general_purpose::STANDARD.decode(h.as_str().unwrap()).unwrap().try_into().unwrap())
        .collect();
    let (old, _) = Checkpoint::open(first_note.as_bytes(), &key, &origin).unwrap();
    assert!(verify_consistency(1, 4, &old.root, &cp.root, &hashes));
    app.err("GET", "/api/v1/log/proofs/inclusion?index=9", None, None, 400, "bad_request").await;
    app.err("GET", "/api/v1/log/proofs/consistency?old=5", None, None, 400, "bad_request").await;
}

#[tokio::test]
async fn ledger_check_finds_an_edited_or_deleted_entry() {
    let app = App::new().await;
    registered(&app).await;
    let (a, e) = (app.sign_up("癸").await, app.staff(Role::Examiner).await);
    app.publish_notice(&a, &e, "再来一件").await;
    let key = app.state.signer.verifier();
    let report = dipr_registry::ledger::check(app.state.store.as_ref(), &key, None).await.unwrap();
    assert!(report.ok, "{report:?}");
    assert_eq!(report.entries, 3);

    let path = app.db_path.as_ref().unwrap();
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", path.display())).await.unwrap();
    // Someone with database access rewrites entry 1.
    sqlx::query("UPDATE log_entries SET entry = CAST(replace(CAST(entry AS TEXT), 'notice_ended', 'notice_endeD') AS BLOB) WHERE idx = 1")
        .execute(&pool).await.unwrap();
    let report = dipr_registry::ledger::check(app.state.store.as_ref(), &key, None).await.unwrap();
    assert!(!report.ok);
    assert_eq!(report.first_bad_entry, Some(1), "{report:?}");

    // Rewriting the stored hashes to match does not help: the signed checkpoints disagree.
    let edited: Vec<u8> =
        sqlx::query_scalar("SELECT entry FROM log_entries WHERE idx = 1").fetch_one(&pool).await.unwrap();
    sqlx::query("UPDATE log_hashes SET hash = $1 WHERE level = 0 AND idx = 1")
        .bind(dipr_ledger::merkle::leaf_hash(&edited).to_vec())
        .execute(&pool)
        .await
        .unwrap();
    let report = dipr_registry::ledger::check(app.state.store.as_ref(), &key, None).await.unwrap();
    assert_eq!((report.ok, report.first_bad_entry), (false, Some(1)), "{report:?}");

    // A deleted row is found too.
    sqlx::query("DELETE FROM log_entries WHERE idx = 2").execute(&pool).await.unwrap();
    let report = dipr_registry::ledger::check(app.state.store.as_ref(), &key, None).await.unwrap();
    assert!(!report.ok && report.problems.iter().any(|p| p.contains("deleted")), "{report:?}");
}

/// A witness on a loopback port, trusting `log`.
async fn start_witness(name: &str, log: dipr_ledger::note::NoteVerifier) -> dipr_registry::witnesses::WitnessEndpoint {
    let dir = temp_db().parent().unwrap().to_path_buf();
    let w = Arc::new(dipr_server::witness::Witness::open(&dir, name, vec![log]).unwrap());
    let key = w.verifier().to_string();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(dipr_server::witness::serve_witness(listener, w, std::future::pending()));
    dipr_registry::witnesses::WitnessEndpoint { url, key }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_witnesses_cosign_and_refuse_a_forked_log() {
    use dipr_ledger::certificate::{verify, Certificate};
    use dipr_ledger::witness::WitnessPolicy;
    let key = signer();
    let (w1, w2) =
        (start_witness("w1.example", key.verifier()).await, start_witness("w2.example", key.verifier()).await);
    let cfg = Config { witnesses: vec![w1.clone(), w2.clone()], witness_quorum: 2, ..config() };
    let app = App::with(cfg.clone(), key.clone()).await;
    let admin = app.staff(Role::Admin).await;
    let (id, _) = registered(&app).await;
    let policy = WitnessPolicy::parse(&format!("witness {}\nwitness {}\nquorum 2\n", w1.key, w2.key)).unwrap();

    // Before the witnesses have seen it, the certificate is valid but unwitnessed.
    let cert = app.ok("GET", &format!("/api/v1/public/records/{id}/certificate"), None, None).await;
    let c = Certificate::parse(&serde_json::to_vec(&cert).unwrap()).unwrap();
    assert!(verify(&c, Some(&key.verifier()), None).ok);
    assert!(!verify(&c, Some(&key.verifier()), Some(&policy)).ok);

    let out = app.ok("POST", "/api/v1/admin/witnesses/run", Some(&admin), None).await;
    assert!(out.as_array().unwrap().iter().all(|o| o["cosigned"] == 2), "{out}");
    let cert = app.ok("GET", &format!("/api/v1/public/records/{id}/certificate"), None, None).await;
    let c = Certificate::parse(&serde_json::to_vec(&cert).unwrap()).unwrap();
    let r = verify(&c, Some(&key.verifier()), Some(&policy));
    assert!(r.ok, "{}", dipr_ledger::certificate::render_report(&r));
    assert_eq!(r.cosignatures.len(), 2);
    assert!(r.earliest_cosignature_unix.is_some());

    // The log grows; the witnesses follow with consistency proofs.
    let (a, e) = (app.sign_up("子").await, app.staff(Role::Examiner).await);
    app.publish_notice(&a, &e, "后来的").await;
    let out = app.ok("POST", "/api/v1/admin/witnesses/run", Some(&admin), None).await;
    assert!(out.as_array().unwrap().iter().all(|o| o["cosigned"] == 3), "{out}");

    // Another database under the same key shows the witnesses a different history: refused.
    let fork = App::with(cfg, key.clone()).await;
    let (a, e) = (fork.sign_up("丑").await, fork.staff(Role::Examiner).await);
    for i in 0..3 {
        fork.publish_notice(&a, &e, &format!("分叉{i}")).await;
    }
    // The same size with another root: 409 Conflict (c2sp.org/tlog-witness), named as a fork.
    let outcomes = dipr_registry::witnessing::collect_once(&fork.state).await.unwrap();
    assert_eq!(outcomes.len(), 2);
    for o in &outcomes {
        let error = o.error.as_deref().unwrap_or("");
        assert!(o.cosigned.is_none() && error.contains("409") && error.contains("forked"), "{o:?}");
    }
    // A larger forked tree: its consistency proof fails (422).
    fork.publish_notice(&a, &e, "分叉3").await;
    let outcomes = dipr_registry::witnessing::collect_once(&fork.state).await.unwrap();
    for o in &outcomes {
        assert!(o.cosigned.is_none() && o.error.as_deref().unwrap_or("").contains("422"), "{o:?}");
    }
    assert!(fork.state.store.cosignatures(3).await.unwrap().is_empty());
    assert!(fork.state.store.cosignatures(4).await.unwrap().is_empty());

    // /log/checkpoint publishes the newest checkpoint with its quorum, cosignatures included.
    let (status, body) = app.raw("GET", "/log/checkpoint", None, None, "").await;
    assert_eq!(status, StatusCode::OK);
    let text = body.as_str().unwrap().to_string();
    let note = dipr_ledger::note::Note::parse(text.as_bytes()).unwrap();
    assert_eq!(policy.cosignatures(&note).len(), 2, "{text}");
    assert!(text.starts_with(&format!("{}\n3\n", key.name())), "{text}");
    // /healthz: healthy while the newest checkpoint has its quorum; one waiting too long makes it fail.
    let (status, health) = app.call("GET", "/healthz", None, None).await;
    assert_eq!(status, StatusCode::OK, "{health}");
    assert_eq!((health["log"]["size"].as_u64(), health["log"]["cosigned_size"].as_u64()), (Some(3), Some(3)));
    let (a, e) = (app.sign_up("寅").await, app.staff(Role::Examiner).await);
    app.publish_notice(&a, &e, "无人见证").await;
    app.advance(&admin, 1).await;
    let (status, health) = app.call("GET", "/healthz", None, None).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{health}");
    assert!(health["problems"][0].as_str().unwrap().contains("witness cosignature"), "{health}");
}

// ---------------------------------------------------------------------------------------------------
// Fingerprints on the registry side

fn dataset(from: usize, to: usize) -> String {
    let mut s = String::from("id,name,price\n");
    for i in from..to {
        s.push_str(&format!("{i:07},记录{i},{}.{:02}\n", i * 7 % 10_000, i % 100));
    }
    s
}

fn manifest_for(app: &App, csv: &str, owner: &str) -> serde_json::Value {
    let secrets = dipr_fingerprint::Secrets::generate(owner).unwrap();
    let opts = dipr_fingerprint::Options {
        format: dipr_fingerprint::Format::Csv,
        product: owner.into(),
        version: 1,
        views: vec![],
        scale: 256,
        keep_fingerprints: false,
        discovery_key: Some(app.state.discovery_key),
    };
    let fp = dipr_fingerprint::fingerprint(csv.as_bytes(), &opts, &secrets, &mut |_| {}).unwrap();
    serde_json::to_value(&fp.manifest).unwrap()
}

/// A fixed registry key (test only), so the discovery key, and with it which records the sketches sample,
/// is the same on every run: the sampled estimates below are then reproducible rather than right 99% of
/// the time.
const FIXED_TEST_KEY: &str = "PRIVATE+KEY+dipr.localhost/log+ec5eab3a+AQ7lKCK14ns8lX4ZhuMDj/Ur66VJlXCPlpNcKhvNSbzG";

#[tokio::test]
async fn manifests_commit_content_warn_examiners_and_drive_discovery() {
    let app = App::with(config(), dipr_ledger::note::NoteSigner::from_private_string(FIXED_TEST_KEY).unwrap()).await;
    let (a, e, admin) = actors(&app).await;
    let b = app.sign_up("乙").await;
    // A registers 60k records; B later files a product made of 40k of them.
    let key = app.ok("GET", "/api/v1/fingerprint/discovery-key", Some(&a), None).await;
    assert_eq!(key["key"].as_str().unwrap().len(), 64);
    app.err("GET", "/api/v1/fingerprint/discovery-key", None, None, 401, "unauthenticated").await;

    let id_a = app.draft(&a, "甲的数据集").await;
    let ma = manifest_for(&app, &dataset(0, 60_000), "a");
    let v = app.ok("PUT", &format!("/api/v1/applications/{id_a}/manifest"), Some(&a), Some(ma.clone())).await;
    assert_eq!(v["form"]["content_commitment"]["root"], ma["root"]);
    assert_eq!(v["form"]["content_commitment"]["record_count"], 60_000);
    app.ok("POST", &format!("/api/v1/applications/{id_a}/submit"), Some(&a), None).await;
    app.decide(&e, &id_a, "accept").await;
    app.decide(&e, &id_a, "pass_formal_review").await;
    app.decide(&e, &id_a, "approve").await;
    app.advance(&admin, 20).await;
    assert_eq!(app.state_of(&a, &id_a).await, "registered");
    // The certificate commits to the manifest's root.
    let cert = app.ok("GET", &format!("/api/v1/public/records/{id_a}/certificate"), None, None).await;
    assert_eq!(cert["statement"]["content_commitment"]["root"], ma["root"]);

    let id_b = app.draft(&b, "乙的衍生数据").await;
    let mb = manifest_for(&app, &dataset(20_000, 60_000), "b");
    // Someone else's manifest cannot be filed on A's draft; a tampered one is refused.
    app.err("PUT", &format!("/api/v1/applications/{id_a}/manifest"), Some(&b), Some(mb.clone()), 404, "not_found")
        .await;
    let mut forged = mb.clone();
    forged["distinct_records"] = serde_json::json!(1);
    app.err("PUT", &format!("/api/v1/applications/{id_b}/manifest"), Some(&b), Some(forged), 422, "invalid_manifest")
        .await;
    let mut foreign = mb.clone();
    foreign["discovery"]["key_id"] = serde_json::json!("0000000000000000");
    app.err("PUT", &format!("/api/v1/applications/{id_b}/manifest"), Some(&b), Some(foreign), 422, "invalid_manifest")
        .await;
    app.ok("PUT", &format!("/api/v1/applications/{id_b}/manifest"), Some(&b), Some(mb)).await;
    app.ok("POST", &format!("/api/v1/applications/{id_b}/submit"), Some(&b), None).await;

    // The examiner sees that B's data is (almost) all in A's registered product.
    let overlaps = app.ok("GET", &format!("/api/v1/review/applications/{id_b}/overlaps"), Some(&e), None).await;
    let first = &overlaps[0];
    assert_eq!(first["application_id"].as_str(), Some(id_a.as_str()));
    let c = first["containment"].as_f64().unwrap();
    assert!(c > 0.9, "{overlaps}");
    app.err("GET", &format!("/api/v1/review/applications/{id_b}/overlaps"), Some(&b), None, 403, "forbidden").await;

    // Discovery: a suspect holding a third of A's records finds A at about 33%.
    let suspect = dipr_fingerprint::discovery_sketch(
        dataset(0, 20_000).as_bytes(),
        dipr_fingerprint::Format::Csv,
        &app.state.discovery_key,
        256,
        &mut |_| {},
    )
    .unwrap();
    let found = app.ok("POST", "/api/v1/discover", Some(&b), Some(serde_json::to_value(&suspect).unwrap())).await;
    let top = &found[0];
    assert_eq!(top["application_id"].as_str(), Some(id_a.as_str()));
    let c = top["containment"].as_f64().unwrap();
    assert!((c - 1.0 / 3.0).abs() < 0.08, "{found}");
    assert!(
        found.as_array().unwrap().iter().all(|f| f["application_id"].as_str() != Some(id_b.as_str())),
        "only registered products"
    );
}

#[tokio::test]
async fn registrations_end_by_cancellation_revocation_or_expiry() {
    use dipr_ledger::certificate::{verify, Certificate};
    let app = App::new().await;
    let (a, e, admin) = actors(&app).await;
    let b = app.sign_up("丙").await;
    let mut ids = Vec::new();
    for name in ["注销的产品", "撤销的产品", "届满的产品"] {
        ids.push(app.publish_notice(&a, &e, name).await);
    }
    app.advance(&admin, 20).await;
    let (cancel, revoke, expire) = (&ids[0], &ids[1], &ids[2]);

    // Only the holder cancels; only an examiner revokes, with reasons.
    app.err(
        "POST",
        &format!("/api/v1/applications/{cancel}/cancel"),
        Some(&b),
        Some(json!({"text": "x"})),
        404,
        "not_found",
    )
    .await;
    assert_eq!(
        app.ok("POST", &format!("/api/v1/applications/{cancel}/cancel"), Some(&a), Some(json!({"text": "停止运营"})))
            .await["state"],
        "cancelled"
    );
    app.err(
        "POST",
        &format!("/api/v1/applications/{cancel}/cancel"),
        Some(&a),
        Some(json!({})),
        409,
        "illegal_transition",
    )
    .await;
    app.err(
        "POST",
        &format!("/api/v1/review/applications/{revoke}/decision"),
        Some(&a),
        Some(json!({"action": "revoke", "reasons": "x"})),
        403,
        "forbidden",
    )
    .await;
    app.err(
        "POST",
        &format!("/api/v1/review/applications/{revoke}/decision"),
        Some(&e),
        Some(json!({"action": "revoke"})),
        422,
        "reasons_required",
    )
    .await;
    assert_eq!(app.decide(&e, revoke, "revoke").await["state"], "revoked");

    // The third expires with its validity (three years), through the timer.
    app.advance(&admin, 365 * 3 - 40).await;
    assert_eq!(app.state_of(&a, expire).await, "registered");
    app.advance(&admin, 60).await;
    assert_eq!(app.state_of(&a, expire).await, "expired");

    // Each end is public, logged, and shown on the record; the certificate still verifies as issued.
    for (id, kind) in [(cancel, "cancelled"), (revoke, "revoked"), (expire, "expired")] {
        let rec = app.ok("GET", &format!("/api/v1/public/records/{id}"), None, None).await;
        assert_eq!(rec["record"]["state"], kind);
        let last = rec["history"].as_array().unwrap().last().unwrap().clone();
        assert_eq!(last["kind"], kind);
        assert!(last["log_index"].is_u64(), "{rec}");
        let cert = app.ok("GET", &format!("/api/v1/public/records/{id}/certificate"), None, None).await;
        let c = Certificate::parse(&serde_json::to_vec(&cert).unwrap()).unwrap();
        assert!(verify(&c, Some(&app.state.signer.verifier()), None).ok);
    }
    let report =
        dipr_registry::ledger::check(app.state.store.as_ref(), &app.state.signer.verifier(), None).await.unwrap();
    assert!(report.ok, "{report:?}");
}

mod abuse;
mod feeds;
mod integrity;
mod operations;
mod passwords;
mod registered;
mod tiles;
mod timestamps;
mod truth;
mod watches;
mod web;
