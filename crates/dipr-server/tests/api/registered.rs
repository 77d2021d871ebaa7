//! Registered products over HTTP: licences, transactions, transfers, pledges, versions, renewal,
//! disputes, lineage, encumbrance search and statistics — each with its authorisation and bad input.

use super::*;

/// An applicant account with a known credit code.
pub(super) async fn holder_account(app: &App, name: &str) -> (String, String) {
    let username = format!("u-{}", Uuid::now_v7().simple());
    let code = credit_code();
    let party = json!({"kind": "legal_person", "name": format!("{name}数据有限公司"), "id_number": code,
        "attributes": {"ownership": "private", "high_tech": true}});
    app.ok("POST", "/api/v1/auth/signup", None, Some(json!({"username": username, "password": "long enough pw", "display_name": name, "role": "applicant", "party": party}))).await;
    (app.sign_in(&username).await, code)
}

/// A bank account (created by an administrator) with its own party.
pub(super) async fn bank(app: &App, name: &str) -> (String, String) {
    let username = format!("bank-{}", Uuid::now_v7().simple());
    let code = credit_code();
    let party = serde_json::from_value(json!({"kind": "legal_person", "name": name, "id_number": code})).unwrap();
    let req = NewAccount {
        username: username.clone(),
        password: "long enough pw".into(),
        display_name: name.into(),
        role: Role::Bank,
        party: Some(party),
        email: None,
    };
    dipr_registry::accounts::create_account(&app.state, req, &Actor::public("test"), false).await.unwrap();
    (app.sign_in(&username).await, code)
}

/// A product registered to a fresh holder: (record id, holder token, holder credit code, examiner, admin).
pub(super) async fn registered_product(app: &App, name: &str) -> (String, String, String, String, String) {
    let (a, code) = holder_account(app, "持有").await;
    let (e, admin) = (app.staff(Role::Examiner).await, app.staff(Role::Admin).await);
    let id = app.publish_notice(&a, &e, name).await;
    app.advance(&admin, 20).await;
    assert_eq!(app.state_of(&a, &id).await, "registered");
    (id, a, code, e, admin)
}

pub(super) fn today(app: &App) -> chrono::NaiveDate {
    app.state.clock.now().with_timezone(&dipr_domain::time::local_offset()).date_naive()
}

pub(super) fn licence(to: &str, kind: &str, start: chrono::NaiveDate, days: u64, territory: &str) -> Value {
    json!({"licensee": to, "kind": kind, "start": start.to_string(), "end": (start + chrono::Days::new(days)).to_string(),
           "territories": [territory], "fee": "50,000.00"})
}

/// Expect a refusal and that nothing was written.
async fn refused(
    app: &App,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Value,
    status: u16,
    code: &str,
) -> Value {
    let before = app.row_counts().await;
    let v = app.err(method, path, token, Some(body), status, code).await;
    assert_eq!(app.row_counts().await, before, "{method} {path} was refused but wrote something");
    v
}

async fn certificate_verifies(app: &App, id: &str) -> dipr_ledger::certificate::Certificate {
    use dipr_ledger::certificate::{verify, Certificate};
    let cert = app.ok("GET", &format!("/api/v1/public/records/{id}/certificate"), None, None).await;
    let c = Certificate::parse(&serde_json::to_vec(&cert).unwrap()).unwrap();
    let report = verify(&c, Some(&app.state.signer.verifier()), None);
    assert!(report.ok, "{}", dipr_ledger::certificate::render_report(&report));
    c
}

#[tokio::test]
async fn licences_transactions_and_transfer() {
    let app = App::new().await;
    let (id, a, _a_code, e, _admin) = registered_product(&app, "交通流量指数").await;
    let (b, b_code) = holder_account(&app, "乙方").await;
    let (_c, c_code) = holder_account(&app, "丙方").await;
    let day = today(&app);
    let lic = format!("/api/v1/records/{id}/licences");

    // An exclusive licence in 沪 for 100 days.
    let v = app.ok("POST", &lic, Some(&a), Some(licence(&b_code, "exclusive", day, 100, "沪"))).await;
    let lid = v["holding"]["encumbrances"]["licences"][0]["id"].as_str().unwrap().to_string();
    assert_eq!(v["holding"]["encumbrances"]["licences"][0]["fee"], "50000.00");
    // Overlapping it in term and territory is refused; elsewhere or later is fine.
    refused(
        &app,
        "POST",
        &lic,
        Some(&a),
        licence(&c_code, "non_exclusive", day + chrono::Days::new(50), 10, "沪"),
        409,
        "licence_conflict",
    )
    .await;
    app.ok("POST", &lic, Some(&a), Some(licence(&c_code, "non_exclusive", day, 10, "京"))).await;
    app.ok("POST", &lic, Some(&a), Some(licence(&c_code, "sole", day + chrono::Days::new(101), 10, "沪"))).await;

    // Only the holder licenses.
    refused(&app, "POST", &lic, Some(&b), licence(&c_code, "non_exclusive", day, 5, "粤"), 403, "forbidden").await;
    refused(&app, "POST", &lic, Some(&e), licence(&c_code, "non_exclusive", day, 5, "粤"), 403, "forbidden").await;
    refused(&app, "POST", &lic, None, licence(&c_code, "non_exclusive", day, 5, "粤"), 401, "unauthenticated").await;
    // Bad input: each with its own code, and nothing written.
    let mut bad = licence(&c_code, "non_exclusive", day, 5, "粤");
    bad["fee"] = json!("-5");
    let v = refused(&app, "POST", &lic, Some(&a), bad, 422, "validation_failed").await;
    assert_eq!(v["error"]["details"][0]["code"], "invalid_amount");
    let mut bad = licence(&c_code, "non_exclusive", day, 5, "粤");
    bad["end"] = json!((day - chrono::Days::new(1)).to_string());
    let v = refused(&app, "POST", &lic, Some(&a), bad, 422, "validation_failed").await;
    assert_eq!(v["error"]["details"][0]["code"], "ends_before_start");
    let mut bad = licence(&c_code, "non_exclusive", day, 5, "粤");
    bad["fee"] = json!("1e30");
    refused(&app, "POST", &lic, Some(&a), bad, 422, "validation_failed").await;
    refused(
        &app,
        "POST",
        &lic,
        Some(&a),
        licence("91310000MA1FL8XQ30", "non_exclusive", day, 5, "粤"),
        404,
        "party_not_found",
    )
    .await;
    let unknown = format!("/api/v1/records/{}/licences", Uuid::now_v7());
    refused(&app, "POST", &unknown, Some(&a), licence(&c_code, "non_exclusive", day, 5, "粤"), 404, "not_found").await;
    // The encumbrance search page names each licence's kind in Chinese, never by the API's value.
    let rec = app.ok("GET", &format!("/api/v1/public/records/{id}"), None, None).await;
    let number = rec["record"]["registration"]["registration_number"].as_str().unwrap().to_string();
    let (status, html) = crate::web::Web::new(&app, &a).get(&format!("/encumbrances?q={number}")).await;
    assert_eq!(status, StatusCode::OK);
    for (zh, raw) in [("独占许可", ">exclusive<"), ("普通许可", ">non_exclusive<"), ("排他许可", ">sole<")]
    {
        assert!(html.contains(zh) && !html.contains(raw), "{zh}: {html}");
    }

    // The licensee may end its licence; a stranger may not.
    let end = format!("/api/v1/records/{id}/licences/{lid}/terminate");
    refused(&app, "POST", &end, Some(&e), json!({"reasons": "x"}), 403, "forbidden").await;

    // Transactions: exact money, holder only, specific errors.
    let tx = format!("/api/v1/records/{id}/transactions");
    let t = json!({"kind": "licence_fee", "amount": "12,345.67", "occurred_on": day.to_string(), "counterparty": "乙方数据有限公司", "licence_id": lid});
    let (s, v) = app.call("POST", &tx, Some(&a), Some(t.clone())).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["amount"], "12345.67");
    app.ok(
        "POST",
        &tx,
        Some(&a),
        Some(json!({"kind": "service_fee", "amount": 0.33, "occurred_on": day.to_string(), "counterparty": "某银行"})),
    )
    .await;
    refused(&app, "POST", &tx, Some(&b), t.clone(), 403, "forbidden").await;
    for (field, value, code) in [
        ("amount", json!("0"), "invalid_amount"),
        ("amount", json!(-100), "invalid_amount"),
        ("amount", json!("12.345"), "invalid_amount"),
        ("occurred_on", json!((day + chrono::Days::new(3)).to_string()), "date_in_future"),
        ("occurred_on", json!("2020-01-01"), "before_registration"),
        ("occurred_on", json!("31/12/2026"), "invalid_date"),
        ("licence_id", json!(Uuid::now_v7()), "licence_not_found"),
    ] {
        let mut bad = t.clone();
        bad[field] = value;
        let v = refused(&app, "POST", &tx, Some(&a), bad, 422, "validation_failed").await;
        assert_eq!(v["error"]["details"][0]["code"], code, "{field}: {v}");
    }
    let list = app.ok("GET", &tx, Some(&a), None).await;
    assert_eq!(list["total"], 2);
    app.err("GET", &tx, Some(&b), None, 403, "forbidden").await;
    app.ok("GET", &tx, Some(&e), None).await;

    // Transfer to 丙 for a price: the holder changes, the price is booked as a trade, the certificate
    // is issued again naming the new holder and still verifies offline.
    let before = certificate_verifies(&app, &id).await;
    refused(&app, "POST", &format!("/api/v1/records/{id}/transfer"), Some(&b), json!({"to": c_code}), 403, "forbidden")
        .await;
    refused(
        &app,
        "POST",
        &format!("/api/v1/records/{id}/transfer"),
        Some(&a),
        json!({"to": c_code, "price": "abc"}),
        422,
        "validation_failed",
    )
    .await;
    let v = app
        .ok(
            "POST",
            &format!("/api/v1/records/{id}/transfer"),
            Some(&a),
            Some(json!({"to": c_code, "price": "8,000,000"})),
        )
        .await;
    assert_eq!(v["holding"]["holder"]["id_number"], c_code);
    let after = certificate_verifies(&app, &id).await;
    assert_ne!(before.statement.holder.name, after.statement.holder.name);
    assert_eq!(after.statement.holder.id_number, c_code);
    assert_eq!(after.statement.registration_number, before.statement.registration_number);
    // The old holder has no say any more.
    refused(&app, "POST", &format!("/api/v1/records/{id}/transfer"), Some(&a), json!({"to": b_code}), 403, "forbidden")
        .await;
    assert_eq!(app.ok("GET", &tx, Some(&e), None).await["total"], 3, "the price was booked as a trade");

    // The public record shows holder, licences, value and the history with log indexes and facts.
    let rec = app.ok("GET", &format!("/api/v1/public/records/{id}"), None, None).await;
    assert_eq!(rec["record"]["holder"]["id_number"], c_code);
    assert_eq!(rec["record"]["licensed"], true);
    assert_eq!(rec["record"]["licences"].as_array().unwrap().len(), 3);
    let value: i64 = rec["economic_value"].as_array().unwrap().iter().map(|k| k["amount_fen"].as_i64().unwrap()).sum();
    assert_eq!(value, 1_234_567 + 33 + 800_000_000);
    let kinds: Vec<&str> = rec["history"].as_array().unwrap().iter().map(|h| h["kind"].as_str().unwrap()).collect();
    for k in ["licence_granted", "transaction_recorded", "transferred"] {
        assert!(kinds.contains(&k), "{k} missing from {kinds:?}");
    }
    let transfer = rec["history"].as_array().unwrap().iter().find(|h| h["kind"] == "transferred").unwrap();
    assert!(transfer["log_index"].as_u64().is_some());
    assert_eq!(transfer["facts"]["to"]["id_number"], c_code);

    // The page the certificate's QR code opens shows the same, in Chinese and in English.
    let (s, html) = app.raw("GET", &format!("/records/{id}"), None, None, "").await;
    assert_eq!(s, StatusCode::OK);
    let html = html.as_str().unwrap();
    for needle in ["已许可", "独占许可", "乙方数据有限公司", "转让", "丙方数据有限公司", "经济价值", "¥50000.00"]
    {
        assert!(html.contains(needle), "record page lacks {needle}");
    }
    let (_, html) = app.raw("GET", &format!("/records/{id}?lang=en"), None, None, "").await;
    assert!(html.as_str().unwrap().contains("Licence registered"));
}

#[tokio::test]
async fn pledges_rank_consents_release_and_enforcement() {
    let app = App::new().await;
    let (id, a, a_code, e, _admin) = registered_product(&app, "金融风控数据集").await;
    let (bank1, _) = bank(&app, "甲银行").await;
    let (bank2, _) = bank(&app, "乙银行").await;
    let (_buyer, buyer_code) = holder_account(&app, "买方").await;
    let day = today(&app);
    let pledges = format!("/api/v1/records/{id}/pledges");
    let pledge = |rank: u32| json!({"secured": "5,000,000", "start": day.to_string(), "end": (day + chrono::Days::new(365)).to_string(), "rank": rank});

    // Only banks file pledges; bad input is refused field by field.
    refused(&app, "POST", &pledges, Some(&a), pledge(1), 403, "forbidden").await;
    refused(&app, "POST", &pledges, Some(&e), pledge(1), 403, "forbidden").await;
    let mut bad = pledge(1);
    bad["secured"] = json!("-1");
    bad["end"] = json!((day - chrono::Days::new(10)).to_string());
    let v = refused(&app, "POST", &pledges, Some(&bank1), bad, 422, "validation_failed").await;
    let codes: Vec<&str> =
        v["error"]["details"].as_array().unwrap().iter().map(|d| d["code"].as_str().unwrap()).collect();
    assert_eq!(codes, ["invalid_amount", "ends_before_start"]);

    // Bank 1 files, the holder consents: rank 1.
    let v = app.ok("POST", &pledges, Some(&bank1), Some(pledge(1))).await;
    let p1 = v["holding"]["encumbrances"]["pledges"][0]["id"].as_str().unwrap().to_string();
    assert_eq!(v["holding"]["encumbrances"]["pledges"][0]["status"], "pending");
    refused(&app, "POST", &format!("{pledges}/{p1}/consent"), Some(&bank1), json!({}), 403, "forbidden").await;
    let v = app.ok("POST", &format!("{pledges}/{p1}/consent"), Some(&a), None).await;
    assert_eq!(v["holding"]["encumbrances"]["pledges"][0]["rank"], 1);
    // Bank 2 states the wrong rank: refused at consent; with rank 2 it registers and bank 1 is told.
    let v = app.ok("POST", &pledges, Some(&bank2), Some(pledge(1))).await;
    let wrong = v["holding"]["encumbrances"]["pledges"][1]["id"].as_str().unwrap().to_string();
    refused(&app, "POST", &format!("{pledges}/{wrong}/consent"), Some(&a), json!({}), 409, "pledge_rank").await;
    let v = app.ok("POST", &pledges, Some(&bank2), Some(pledge(2))).await;
    let p2 = v["holding"]["encumbrances"]["pledges"][2]["id"].as_str().unwrap().to_string();
    app.ok("POST", &format!("{pledges}/{p2}/consent"), Some(&a), None).await;
    let notes = app.ok("GET", "/api/v1/me/notifications", Some(&bank1), None).await;
    assert!(notes["items"].as_array().unwrap().iter().any(|n| n["payload"]["event"] == "pledge_registered"), "{notes}");

    // While pledged: no transfer, exclusive licence or cancellation without every pledgee's consent.
    let transfer = format!("/api/v1/records/{id}/transfer");
    refused(&app, "POST", &transfer, Some(&a), json!({"to": buyer_code}), 409, "pledgee_consent_required").await;
    refused(
        &app,
        "POST",
        &format!("/api/v1/records/{id}/licences"),
        Some(&a),
        licence(&buyer_code, "exclusive", day, 30, "沪"),
        409,
        "pledgee_consent_required",
    )
    .await;
    refused(
        &app,
        "POST",
        &format!("/api/v1/applications/{id}/cancel"),
        Some(&a),
        json!({"text": "不要了"}),
        409,
        "pledgee_consent_required",
    )
    .await;
    app.ok(
        "POST",
        &format!("{pledges}/{p1}/consents"),
        Some(&bank1),
        Some(json!({"purpose": "transfer", "counterparty": buyer_code})),
    )
    .await;
    refused(&app, "POST", &transfer, Some(&a), json!({"to": buyer_code}), 409, "pledgee_consent_required").await;
    refused(
        &app,
        "POST",
        &format!("{pledges}/{p1}/consents"),
        Some(&bank2),
        json!({"purpose": "transfer"}),
        403,
        "forbidden",
    )
    .await;

    // Banks search before lending: by registration number or by the holder's credit code.
    let rec = app.ok("GET", &format!("/api/v1/public/records/{id}"), None, None).await;
    let number = rec["record"]["registration"]["registration_number"].as_str().unwrap().to_string();
    for q in [number.as_str(), a_code.as_str()] {
        let found = app.ok("GET", &format!("/api/v1/encumbrances?q={q}"), None, None).await;
        assert_eq!(found["total"], 1, "{q}");
        let item = &found["items"][0];
        assert_eq!(item["pledged"], true);
        let active: Vec<&Value> =
            item["pledges"].as_array().unwrap().iter().filter(|p| p["status"] == "active").collect();
        assert_eq!(active.iter().map(|p| p["rank"].as_u64().unwrap()).collect::<Vec<_>>(), [1, 2]);
        assert_eq!(active[0]["secured"], "5000000.00");
    }
    app.err("GET", "/api/v1/encumbrances?q=x", None, None, 422, "validation_failed").await;
    // The bank's web page says the same in Chinese: a pledge's state is a word, not the API's value.
    let (status, html) = crate::web::Web::new(&app, &bank1).get(&format!("/encumbrances?q={number}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("<td>有效</td>") && !html.contains(">active<"), "{html}");
    assert!(html.contains("下载查询证明"), "the results page offers the signed search certificate");

    // The bank downloads a signed search certificate: what the register showed, when, at which checkpoint.
    let (status, cert) =
        app.call("GET", &format!("/api/v1/encumbrances/certificate?q={number}"), Some(&bank1), None).await;
    assert_eq!(status, StatusCode::OK, "{cert}");
    let bytes = serde_json::to_vec_pretty(&cert).unwrap();
    let parsed = dipr_ledger::search::SearchCertificate::parse(&bytes).unwrap();
    let key = app.state.signer.verifier();
    let report = dipr_ledger::search::verify_search(&parsed, Some(&key));
    assert!(report.ok && report.key_pinned, "{report:?}");
    assert_eq!(report.checkpoint_size, Some(app.state.store.log_size().await.unwrap()));
    let s = &parsed.statement;
    assert_eq!((s.query.as_str(), s.matched, s.complete), (number.as_str(), 1, true));
    assert!(s.requested_by.as_deref().is_some_and(|b| !b.is_empty()), "names the bank's account");
    let certified: Vec<&Value> =
        s.results[0]["pledges"].as_array().unwrap().iter().filter(|p| p["status"] == "active").collect();
    assert_eq!(
        certified.iter().map(|p| p["secured"].as_str().unwrap()).collect::<Vec<_>>(),
        ["5000000.00", "5000000.00"]
    );
    // Edited afterwards (a pledge hidden, an amount lowered), it no longer verifies.
    let mut edited = parsed.clone();
    edited.statement.results[0]["pledges"].as_array_mut().unwrap().pop();
    assert!(!dipr_ledger::search::verify_search(&edited, Some(&key)).ok);
    let lowered = String::from_utf8(bytes.clone()).unwrap().replacen("5000000.00", "500000.00", 1);
    let lowered = dipr_ledger::search::SearchCertificate::parse(lowered.as_bytes()).unwrap();
    assert!(!dipr_ledger::search::verify_search(&lowered, Some(&key)).ok);
    // Anyone may have one (unnamed); a too-short query is refused as in the search.
    let (status, anon) = app.call("GET", &format!("/api/v1/encumbrances/certificate?q={a_code}"), None, None).await;
    assert_eq!((status, anon["statement"]["requested_by"].clone()), (StatusCode::OK, Value::Null));
    app.err("GET", "/api/v1/encumbrances/certificate?q=x", None, None, 422, "validation_failed").await;
    // The web page's link gives the same certificate.
    let (status, body) = crate::web::Web::new(&app, &bank1).get(&format!("/encumbrances/certificate?q={number}")).await;
    assert_eq!(status, StatusCode::OK);
    let web_cert = dipr_ledger::search::SearchCertificate::parse(body.as_bytes()).unwrap();
    assert!(dipr_ledger::search::verify_search(&web_cert, Some(&key)).ok);
    // The certificate check page reads it in Chinese, and says when it has been changed.
    let web = crate::web::Web::new(&app, &bank1);
    let (status, html) = web.post("/check", &[("certificate", &body)]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("查询证明有效") && html.contains(&number) && html.contains("北京时间"), "{html}");
    let (_, html) = web.post("/check", &[("certificate", &body.replacen("5000000.00", "500000.00", 1))]).await;
    assert!(html.contains("查询证明无效"), "{html}");

    // Release: only by its pledgee, once. Then bank 2's consent completes the transfer.
    refused(&app, "POST", &format!("{pledges}/{p1}/release"), Some(&bank2), json!({}), 403, "forbidden").await;
    refused(
        &app,
        "POST",
        &format!("{pledges}/{p2}/enforce"),
        Some(&bank2),
        json!({"to": buyer_code, "reasons": "违约"}),
        409,
        "pledge_not_senior",
    )
    .await;
    app.ok("POST", &format!("{pledges}/{p1}/release"), Some(&bank1), None).await;
    refused(&app, "POST", &format!("{pledges}/{p1}/release"), Some(&bank1), json!({}), 409, "pledge_not_active").await;
    // Enforcement on default moves the product to the named party.
    refused(
        &app,
        "POST",
        &format!("{pledges}/{p2}/enforce"),
        Some(&bank2),
        json!({"to": buyer_code, "reasons": " "}),
        422,
        "reasons_required",
    )
    .await;
    let v = app
        .ok(
            "POST",
            &format!("{pledges}/{p2}/enforce"),
            Some(&bank2),
            Some(json!({"to": buyer_code, "reasons": "借款人违约，依质押合同处置"})),
        )
        .await;
    assert_eq!(v["holding"]["holder"]["id_number"], buyer_code);
    let statuses: Vec<&str> = v["holding"]["encumbrances"]["pledges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["released", "pending", "enforced"]);
    certificate_verifies(&app, &id).await;

    // Statistics count both pledges (registered) and the one debtor.
    let s = app.ok("GET", "/api/v1/statistics", None, None).await;
    assert_eq!(s["pledge_financing"]["loans"], 2);
    assert_eq!(s["pledge_financing"]["enterprises"], 1);
    assert_eq!(s["pledge_financing"]["amount_fen"], 1_000_000_000i64);
    assert_eq!(s["pledge_financing"]["active_now"], 0);
}

#[tokio::test]
async fn versions_renewal_and_disputes_after_grant() {
    let app = App::new().await;
    let (id, a, _code, e, admin) = registered_product(&app, "医疗影像语料").await;
    let (b, _) = holder_account(&app, "乙").await;
    let m2 = manifest_for(&app, &dataset(0, 2_000), "v2");
    let versions = format!("/api/v1/records/{id}/versions");
    refused(&app, "POST", &versions, Some(&b), json!({"manifest": m2, "note": "x"}), 403, "forbidden").await;
    let mut forged = m2.clone();
    forged["root"] = json!("00".repeat(32));
    refused(&app, "POST", &versions, Some(&a), json!({"manifest": forged}), 422, "invalid_manifest").await;
    let v = app.ok("POST", &versions, Some(&a), Some(json!({"manifest": m2, "note": "2027 年第一季度更新"}))).await;
    assert_eq!(v["holding"]["versions"].as_array().unwrap().len(), 2);
    let cert = certificate_verifies(&app, &id).await;
    assert_eq!(
        cert.statement.content_commitment.unwrap()["root"],
        m2["root"],
        "the certificate names the current version"
    );

    // Renewal opens six months before the validity ends.
    let m3 = manifest_for(&app, &dataset(0, 3_000), "v3");
    let renewal = format!("/api/v1/records/{id}/renewal");
    refused(&app, "POST", &renewal, Some(&a), json!({"manifest": m3}), 409, "renewal_not_open").await;
    refused(&app, "POST", &renewal, Some(&b), json!({"manifest": m3}), 403, "forbidden").await;
    let until = |v: &Value| v["registration"]["valid_until"].as_str().unwrap().to_string();
    let before = until(&app.ok("GET", &format!("/api/v1/applications/{id}"), Some(&a), None).await);
    app.advance(&admin, 365 * 3 - 120).await;
    let v = app.ok("POST", &renewal, Some(&a), Some(json!({"manifest": m3}))).await;
    assert!(until(&v) > before, "{} !> {before}", until(&v));
    assert_eq!(v["state"], "registered");
    assert_eq!(v["holding"]["versions"][2]["reason"], "renewal");

    // An objection after grant flags the record until an examiner decides.
    let disputes = format!("/api/v1/records/{id}/disputes");
    refused(
        &app,
        "POST",
        &disputes,
        None,
        json!({"objector_name": "某公司", "grounds": " "}),
        422,
        "validation_failed",
    )
    .await;
    let (s, v) = app
        .call(
            "POST",
            &disputes,
            None,
            Some(json!({"objector_name": "某公司", "objector_contact": "010-1", "grounds": "数据来源涉嫌侵权"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let did = v["holding"]["disputes"][0]["id"].as_str().unwrap().to_string();
    let rec = app.ok("GET", &format!("/api/v1/public/records/{id}"), None, None).await;
    assert_eq!(rec["record"]["disputed"], true);
    assert!(rec.to_string().find("010-1").is_none(), "the objector's contact is not public");
    let decide = format!("{disputes}/{did}/decision");
    refused(&app, "POST", &decide, Some(&a), json!({"outcome": "dismissed", "reasons": "x"}), 403, "forbidden").await;
    refused(&app, "POST", &decide, Some(&e), json!({"outcome": "dismissed", "reasons": ""}), 422, "reasons_required")
        .await;
    app.ok("POST", &decide, Some(&e), Some(json!({"outcome": "dismissed", "reasons": "来源合法，证据充分"}))).await;
    refused(
        &app,
        "POST",
        &decide,
        Some(&e),
        json!({"outcome": "upheld", "reasons": "再议"}),
        409,
        "objection_already_decided",
    )
    .await;
    assert_eq!(app.ok("GET", &format!("/api/v1/public/records/{id}"), None, None).await["record"]["disputed"], false);
    // A second dispute, upheld, revokes the registration; nothing more can be done with it.
    let v = app
        .ok("POST", &disputes, Some(&b), Some(json!({"objector_name": "乙", "grounds": "法院判决认定来源非法"})))
        .await;
    let did = v["holding"]["disputes"][1]["id"].as_str().unwrap().to_string();
    let v = app
        .ok(
            "POST",
            &format!("{disputes}/{did}/decision"),
            Some(&e),
            Some(json!({"outcome": "upheld", "reasons": "依据生效判决"})),
        )
        .await;
    assert_eq!(v["state"], "revoked");
    refused(&app, "POST", &versions, Some(&a), json!({"manifest": m3}), 409, "illegal_transition").await;
}

#[tokio::test]
async fn lineage_needs_the_licence_and_shows_both_ways() {
    let app = App::new().await;
    let (parent, a, _a_code, e, admin) = registered_product(&app, "上游原始语料").await;
    let (b, b_code) = holder_account(&app, "下游").await;
    let rec = app.ok("GET", &format!("/api/v1/public/records/{parent}"), None, None).await;
    let number = rec["record"]["registration"]["registration_number"].as_str().unwrap().to_string();

    let mut form = full_form("下游加工产品");
    form["derived_from"] = json!([{"registration_number": number}]);
    let child = app.ok("POST", "/api/v1/applications", Some(&b), Some(json!({"form": form.clone()}))).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let submit = format!("/api/v1/applications/{child}/submit");
    refused(&app, "POST", &submit, Some(&b), json!(null), 409, "upstream_licence_required").await;
    // A licence to someone else does not do.
    let day = today(&app);
    let v = app
        .ok(
            "POST",
            &format!("/api/v1/records/{parent}/licences"),
            Some(&a),
            Some(licence(&b_code, "non_exclusive", day, 365, "沪")),
        )
        .await;
    let lid = v["holding"]["encumbrances"]["licences"][0]["id"].as_str().unwrap().to_string();
    form["derived_from"] = json!([{"registration_number": number, "licence_id": Uuid::now_v7()}]);
    app.ok("PUT", &format!("/api/v1/applications/{child}"), Some(&b), Some(json!({"form": form.clone()}))).await;
    refused(&app, "POST", &submit, Some(&b), json!(null), 409, "upstream_licence_invalid").await;
    form["derived_from"] = json!([{"registration_number": number, "licence_id": lid}]);
    app.ok("PUT", &format!("/api/v1/applications/{child}"), Some(&b), Some(json!({"form": form}))).await;
    app.ok("POST", &submit, Some(&b), None).await;
    app.decide(&e, &child, "accept").await;
    app.decide(&e, &child, "pass_formal_review").await;
    app.decide(&e, &child, "approve").await;

    let up = app.ok("GET", &format!("/api/v1/public/records/{child}"), None, None).await;
    assert_eq!(up["lineage"]["upstream"][0]["id"], parent.as_str());
    assert_eq!(up["lineage"]["upstream"][0]["licence_id"], lid.as_str());
    let down = app.ok("GET", &format!("/api/v1/public/records/{parent}"), None, None).await;
    assert_eq!(down["lineage"]["downstream"][0]["id"], child.as_str());
    assert_eq!(down["lineage"]["downstream"][0]["product_name"], "下游加工产品");
    app.advance(&admin, 20).await;
    assert_eq!(app.state_of(&b, &child).await, "registered");
}

/// The same figures computed independently: from the application documents and raw transaction rows,
/// not from the derived columns the statistics query reads.
#[tokio::test]
async fn statistics_agree_with_an_independent_count() {
    use dipr_domain::application::{Application, Outcome};
    let app = App::new().await;
    dipr_registry::demo::seed(&app.state).await.unwrap();
    let store = app.state.store.clone();
    let mut all: Vec<Application> = Vec::new();
    for page in 1.. {
        let p = store.applications(&Default::default(), dipr_store::Page::new(page, 100)).await.unwrap();
        let n = p.items.len();
        all.extend(p.items);
        if n < 100 {
            break;
        }
    }
    assert!(all.len() > 50);
    let local = |t: chrono::DateTime<chrono::Utc>| t.with_timezone(&dipr_domain::time::local_offset()).date_naive();
    let pool =
        sqlx::SqlitePool::connect(&format!("sqlite://{}", app.db_path.as_ref().unwrap().display())).await.unwrap();

    // Periods: none, both ends, one end only, a short window most products' transactions straddle, one day.
    let cases = [
        ("", None, None, None),
        ("?industry=model_corpus", Some("model_corpus"), None, None),
        ("?applicant_kind=natural_person", None, Some("natural_person"), None),
        ("?from=2026-01-01&to=2026-06-30", None, None, Some((Some("2026-01-01"), Some("2026-06-30")))),
        ("?from=2026-03-01", None, None, Some((Some("2026-03-01"), None))),
        ("?to=2026-02-15", None, None, Some((None, Some("2026-02-15")))),
        ("?from=2026-04-10&to=2026-04-20", None, None, Some((Some("2026-04-10"), Some("2026-04-20")))),
        ("?from=2026-07-04&to=2026-07-04", None, None, Some((Some("2026-07-04"), Some("2026-07-04")))),
    ];
    for (query, industry, kind, period) in cases {
        let s = app.ok("GET", &format!("/api/v1/statistics{query}"), None, None).await;
        let in_period = |d: chrono::NaiveDate| {
            let d = d.to_string();
            period.is_none_or(|(a, b)| a.is_none_or(|a| d.as_str() >= a) && b.is_none_or(|b| d.as_str() <= b))
        };
        let matches = |a: &Application| {
            industry.is_none_or(|i| a.form.industry == i) && kind.is_none_or(|k| a.applicant.kind.as_str() == k)
        };
        let filed = all.iter().filter(|a| matches(a) && a.submitted_at.is_some_and(|t| in_period(local(t)))).count();
        assert_eq!(s["applications"], filed as i64, "{query}");
        for (outcome, key) in
            [(Outcome::Registered, "certificates"), (Outcome::Rejected, "rejected"), (Outcome::Refused, "refused")]
        {
            let n = all
                .iter()
                .filter(|a| matches(a) && a.outcome().is_some_and(|(o, t)| o == outcome && in_period(local(t))))
                .count();
            assert_eq!(s[key], n as i64, "{query} {key}");
        }
        let applicants: std::collections::HashSet<Uuid> = all
            .iter()
            .filter(|a| matches(a) && a.submitted_at.is_some_and(|t| in_period(local(t))))
            .map(|a| a.applicant.id)
            .collect();
        assert_eq!(s["applicants"]["total"], applicants.len() as i64, "{query}");

        // Economic value from raw rows joined to the documents: industry and applicant kind.
        let rows: Vec<(String, String, i64, String)> =
            sqlx::query_as("SELECT application_id, kind, amount_fen, occurred_on FROM transactions")
                .fetch_all(&pool)
                .await
                .unwrap();
        let mut total = 0i64;
        let mut products = std::collections::HashSet::new();
        let mut per_kind: std::collections::HashMap<String, std::collections::HashSet<String>> = Default::default();
        for (app_id, tx_kind, fen, day) in rows {
            let a = all.iter().find(|a| a.id.to_string() == app_id).unwrap();
            let day = chrono::NaiveDate::parse_from_str(&day, "%Y-%m-%d").unwrap();
            let kind_ok = kind.is_none_or(|k| a.applicant.kind.as_str() == k);
            if industry.is_none_or(|i| a.form.industry == i) && kind_ok && in_period(day) {
                total += fen;
                per_kind.entry(tx_kind).or_default().insert(app_id.clone());
                products.insert(app_id);
            }
        }
        for k in s["economic_value"]["by_kind"].as_array().unwrap() {
            let expected = per_kind.get(k["kind"].as_str().unwrap()).map_or(0, |p| p.len()) as i64;
            if period.is_none() {
                assert_eq!(k["products"], expected, "{query} {k}");
            } else {
                assert!(k["products"].is_null(), "per-kind products are for the whole record only");
            }
        }
        assert_eq!(s["economic_value"]["amount_fen"], total, "{query}");
        assert_eq!(s["economic_value"]["products"], products.len() as i64, "{query}");
    }
    let all_figures = app.ok("GET", "/api/v1/statistics", None, None).await;
    assert!(all_figures["economic_value"]["amount_fen"].as_i64().unwrap() > 0, "the demo books transactions");
    assert!(all_figures["pledge_financing"]["loans"].as_i64().unwrap() > 0, "the demo registers pledges");

    // The CSV carries the same figures; bad filters get specific codes.
    let (status, csv) = app.raw("GET", "/api/v1/statistics.csv", None, None, "").await;
    assert_eq!(status, StatusCode::OK);
    let csv = csv.as_str().unwrap().to_string();
    assert!(csv.starts_with("section,key,value\n"));
    assert!(csv.contains(&format!("filings,applications,{}\n", all_figures["applications"])));
    let v = app.err("GET", "/api/v1/statistics?from=2026-13-01", None, None, 422, "validation_failed").await;
    assert_eq!(v["error"]["details"][0]["code"], "invalid_date");
    let v =
        app.err("GET", "/api/v1/statistics?from=2026-06-01&to=2026-01-01", None, None, 422, "validation_failed").await;
    assert_eq!(v["error"]["details"][0]["code"], "ends_before_start");
    app.err("GET", "/api/v1/statistics?object_type=spaceship", None, None, 422, "validation_failed").await;
}

#[tokio::test]
async fn holder_changes_succession_and_licence_ends() {
    let app = App::new().await;
    let (id, a, _code, e, _admin) = registered_product(&app, "气象格点数据").await;
    let (b, b_code) = holder_account(&app, "承继").await;
    let (c, c_code) = holder_account(&app, "被许可").await;
    let details = format!("/api/v1/records/{id}/holder-details");
    refused(&app, "POST", &details, Some(&b), json!({"name": "别人"}), 403, "forbidden").await;
    refused(&app, "POST", &details, Some(&a), json!({"name": "  "}), 422, "validation_failed").await;
    let v = app.ok("POST", &details, Some(&a), Some(json!({"name": "持有数据集团有限公司", "reasons": "更名"}))).await;
    assert_eq!(v["holding"]["holder"]["name"], "持有数据集团有限公司");
    assert_eq!(certificate_verifies(&app, &id).await.statement.holder.name, "持有数据集团有限公司");

    // A licence the licensee itself ends.
    let day = today(&app);
    let v = app
        .ok("POST", &format!("/api/v1/records/{id}/licences"), Some(&a), Some(licence(&c_code, "sole", day, 30, "沪")))
        .await;
    let lid = v["holding"]["encumbrances"]["licences"][0]["id"].as_str().unwrap().to_string();
    let end = format!("/api/v1/records/{id}/licences/{lid}/terminate");
    let v = app.ok("POST", &end, Some(&c), Some(json!({"reasons": "提前终止"}))).await;
    assert!(v["holding"]["encumbrances"]["licences"][0]["terminated_at"].is_string());
    refused(&app, "POST", &end, Some(&a), json!({}), 409, "licence_terminated").await;

    // Succession (merger) is recorded by an examiner with reasons, never by the parties.
    let succ = format!("/api/v1/records/{id}/succession");
    refused(&app, "POST", &succ, Some(&a), json!({"to": b_code, "reasons": "合并"}), 403, "forbidden").await;
    refused(&app, "POST", &succ, Some(&e), json!({"to": b_code, "reasons": ""}), 422, "reasons_required").await;
    let v = app.ok("POST", &succ, Some(&e), Some(json!({"to": b_code, "reasons": "吸收合并，附工商变更登记"}))).await;
    assert_eq!(v["holding"]["holder"]["id_number"], b_code);
    refused(&app, "POST", &succ, Some(&e), json!({"to": b_code, "reasons": "再次"}), 409, "same_holder").await;
    // The successor now acts as holder.
    app.ok("POST", &details, Some(&b), Some(json!({"name": "承继后数据有限公司"}))).await;
}

/// The public objection form on the record page: double-submit CSRF token, field errors with the typed
/// input kept, and the objection filed.
#[tokio::test]
async fn objection_form_on_the_record_page() {
    let app = App::new().await;
    let (a, e, _admin) = actors(&app).await;
    let id = app.publish_notice(&a, &e, "公示中的语料").await;
    let get = Request::builder().uri(format!("/records/{id}")).body(Body::empty()).unwrap();
    let resp = app.router.clone().oneshot(get).await.unwrap();
    let cookie = resp.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_string();
    assert!(resp.headers()["set-cookie"].to_str().unwrap().contains("SameSite=Strict"));
    let html = String::from_utf8(axum::body::to_bytes(resp.into_body(), usize::MAX).await.unwrap().to_vec()).unwrap();
    let token = cookie.split_once('=').unwrap().1.to_string();
    assert!(html.contains(&format!("value=\"{token}\"")), "the form carries the token");
    let post = |cookie: Option<&str>, body: String| {
        let mut r = Request::builder()
            .method("POST")
            .uri(format!("/records/{id}/objections"))
            .header("content-type", "application/x-www-form-urlencoded");
        if let Some(c) = cookie {
            r = r.header("cookie", c);
        }
        r.body(Body::from(body)).unwrap()
    };
    let before = app.row_counts().await;
    // Without the cookie (a cross-site post): refused, nothing written.
    let resp = app.router.clone().oneshot(post(None, format!("csrf={token}&objector_name=x&grounds=y"))).await.unwrap();
    let html = String::from_utf8(axum::body::to_bytes(resp.into_body(), usize::MAX).await.unwrap().to_vec()).unwrap();
    assert!(html.contains("表单已过期"));
    // Missing grounds: the error next to the field, the name kept.
    let resp = app
        .router
        .clone()
        .oneshot(post(Some(&cookie), format!("csrf={token}&objector_name=%E5%BE%8B%E6%89%80&grounds=")))
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = String::from_utf8(axum::body::to_bytes(resp.into_body(), usize::MAX).await.unwrap().to_vec()).unwrap();
    assert!(html.contains("id=\"err-grounds\"") && html.contains("value=\"律所\""));
    assert_eq!(app.row_counts().await, before);
    // Filed.
    let resp = app
        .router
        .clone()
        .oneshot(post(
            Some(&cookie),
            format!("csrf={token}&objector_name=%E5%BE%8B%E6%89%80&grounds=%E7%90%86%E7%94%B1"),
        ))
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.state_of(&a, &id).await, "objection_pending");
}

async fn body_text(resp: axum::response::Response) -> String {
    String::from_utf8(axum::body::to_bytes(resp.into_body(), usize::MAX).await.unwrap().to_vec()).unwrap()
}

fn set_cookie(resp: &axum::response::Response) -> String {
    resp.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_string()
}

fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker).unwrap_or_else(|| panic!("no {name} in page")) + marker.len();
    html[start..].split('"').next().unwrap().to_string()
}

/// A holder signs in on the web, sees the pledge a bank filed, and consents with the session's CSRF token.
#[tokio::test]
async fn web_sign_in_and_pledge_consent() {
    let app = App::new().await;
    let username = format!("u-{}", Uuid::now_v7().simple());
    let party = json!({"kind": "legal_person", "name": "网页持有数据有限公司", "id_number": credit_code()});
    app.ok("POST", "/api/v1/auth/signup", None, Some(json!({"username": username, "password": "long enough pw", "display_name": "网页", "role": "applicant", "party": party}))).await;
    let a = app.sign_in(&username).await;
    let (e, admin) = (app.staff(Role::Examiner).await, app.staff(Role::Admin).await);
    let id = app.publish_notice(&a, &e, "网页质押语料").await;
    app.advance(&admin, 20).await;
    let (bank1, _) = bank(&app, "网页银行").await;
    let day = today(&app);
    app.ok("POST", &format!("/api/v1/records/{id}/pledges"), Some(&bank1), Some(json!({"secured": "1000000", "start": day.to_string(), "end": (day + chrono::Days::new(90)).to_string(), "rank": 1}))).await;

    let send = |req: Request<Body>| app.router.clone().oneshot(req);
    let resp = send(Request::builder().uri("/signin").body(Body::empty()).unwrap()).await.unwrap();
    let login_cookie = set_cookie(&resp);
    let csrf = hidden(&body_text(resp).await, "csrf");
    let form = |c: &str, body: String| {
        Request::builder()
            .method("POST")
            .uri("/signin")
            .header("content-type", "application/x-www-form-urlencoded")
            .header("cookie", c)
            .body(Body::from(body))
            .unwrap()
    };
    let resp =
        send(form(&login_cookie, format!("csrf={csrf}&username={username}&password=wrong+password+x"))).await.unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    let resp =
        send(form(&login_cookie, format!("csrf=forged&username={username}&password=long+enough+pw"))).await.unwrap();
    assert!(body_text(resp).await.contains("表单已过期"), "a forged login form is refused");
    let resp =
        send(form(&login_cookie, format!("csrf={csrf}&username={username}&password=long+enough+pw"))).await.unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let raw_cookie = resp.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(raw_cookie.contains("HttpOnly") && raw_cookie.contains("SameSite=Lax"));
    let session = set_cookie(&resp);

    let me = send(Request::builder().uri("/me").header("cookie", &session).body(Body::empty()).unwrap()).await.unwrap();
    let html = body_text(me).await;
    assert!(html.contains("id=\"pending-pledges\"") && html.contains("网页银行"));
    assert!(html.contains("<th>债务人</th>"), "the holder sees whose debt the pledge secures");
    assert!(!html.contains("他人债务"), "here the holder's own");
    let csrf = hidden(&html, "csrf");
    let pledge = hidden(&html, "pledge");
    let consent = |c: &str| {
        Request::builder()
            .method("POST")
            .uri("/me/pledges/consent")
            .header("content-type", "application/x-www-form-urlencoded")
            .header("cookie", &session)
            .body(Body::from(format!("csrf={c}&record={id}&pledge={pledge}")))
            .unwrap()
    };
    let before = app.row_counts().await;
    assert_eq!(send(consent("forged")).await.unwrap().status(), StatusCode::FORBIDDEN);
    assert_eq!(app.row_counts().await, before);
    assert_eq!(send(consent(&csrf)).await.unwrap().status(), StatusCode::SEE_OTHER);
    let rec = app.ok("GET", &format!("/api/v1/public/records/{id}"), None, None).await;
    assert_eq!(rec["record"]["pledges"][0]["status"], "active");
    assert_eq!(rec["record"]["pledges"][0]["rank"], 1);
}
