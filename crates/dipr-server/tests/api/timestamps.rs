//! Trusted time (RFC 3161): a real time-stamping authority on loopback (OpenSSL's `ts` behind a small HTTP
//! server) stamps the registry's checkpoints; certificates carry the tokens; dipr's offline check and
//! `openssl ts -verify` both accept them, and refuse a token for another checkpoint or from an untrusted TSA.

use std::path::{Path, PathBuf};
use std::process::Command;

use base64::Engine;
use dipr_ledger::certificate::{verify, Certificate};
use dipr_ledger::timestamp::{anchors_from_pem, check_certificate, checkpoint_digest};
use dipr_registry::timestamps::{stamp_once, TsaEndpoint};

use super::*;

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl").args(args).current_dir(dir).output().expect("openssl is installed");
    assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// A CA and a TSA certificate it issued (critical time-stamping purpose), and the `ts` configuration.
fn make_tsa(dir: &Path, name: &str) {
    std::fs::create_dir_all(dir).unwrap();
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "3650",
            "-subj",
            &format!("/CN={name} CA"),
        ],
    );
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "tsa.key",
            "-out",
            "tsa.csr",
            "-subj",
            &format!("/CN={name}"),
        ],
    );
    std::fs::write(dir.join("ext.cnf"), "extendedKeyUsage=critical,timeStamping\n").unwrap();
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "tsa.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "tsa.pem",
            "-days",
            "3650",
            "-extfile",
            "ext.cnf",
        ],
    );
    std::fs::write(dir.join("serial"), "01\n").unwrap();
    let d = dir.display();
    std::fs::write(
        dir.join("tsa.cnf"),
        format!(
            "[ tsa ]\ndefault_tsa = tsa1\n[ tsa1 ]\nserial = {d}/serial\ncrypto_device = builtin\nsigner_cert = {d}/tsa.pem\n\
             certs = {d}/ca.pem\nsigner_key = {d}/tsa.key\nsigner_digest = sha256\ndefault_policy = 1.2.3.4.1\n\
             digests = sha256\naccuracy = secs:1\nordering = no\ntsa_name = yes\ness_cert_id_chain = no\ness_cert_id_alg = sha256\n"
        ),
    )
    .unwrap();
}

/// Serve `openssl ts -reply` over HTTP on a loopback port; returns the URL.
async fn serve_tsa(dir: PathBuf) -> String {
    use axum::routing::post;
    let handler = move |body: axum::body::Bytes| {
        let dir = dir.clone();
        async move {
            let id = Uuid::now_v7();
            let (query, reply) = (dir.join(format!("{id}.tsq")), dir.join(format!("{id}.tsr")));
            std::fs::write(&query, &body).unwrap();
            let cnf = dir.join("tsa.cnf");
            let out = Command::new("openssl")
                .args(["ts", "-reply", "-config"])
                .arg(&cnf)
                .arg("-queryfile")
                .arg(&query)
                .arg("-out")
                .arg(&reply)
                .output()
                .unwrap();
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
            ([(axum::http::header::CONTENT_TYPE, "application/timestamp-reply")], std::fs::read(&reply).unwrap())
        }
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, axum::Router::new().route("/", post(handler))).await });
    url
}

fn temp_dir() -> PathBuf {
    temp_db().parent().unwrap().join("tsa")
}

#[tokio::test]
async fn checkpoints_are_stamped_by_a_real_tsa_and_certificates_carry_tokens_openssl_accepts() {
    let dir = temp_dir();
    make_tsa(&dir, "测试时间戳服务");
    let url = serve_tsa(dir.clone()).await;
    let tsa = TsaEndpoint { name: "测试时间戳服务".into(), url, trust: dir.join("ca.pem") };
    let app = App::with(Config { tsa: vec![tsa], ..config() }, signer()).await;
    let (id, _) = registered(&app).await;

    // One round stamps the newest checkpoint; a second finds nothing new to do.
    let size = app.state.store.log_size().await.unwrap();
    let out = stamp_once(&app.state).await.unwrap();
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].stamped, Some(size), "{out:?}");
    assert!(stamp_once(&app.state).await.unwrap().is_empty());

    // The certificate is served with the stamped checkpoint and its token.
    let doc = app.ok("GET", &format!("/api/v1/public/records/{id}/certificate"), None, None).await;
    let cert = Certificate::parse(&serde_json::to_vec(&doc).unwrap()).unwrap();
    assert_eq!(cert.timestamps.len(), 1);
    let key = app.state.signer.verifier();
    let anchors = anchors_from_pem(&std::fs::read_to_string(dir.join("ca.pem")).unwrap()).unwrap();
    let mut report = verify(&cert, Some(&key), None);
    check_certificate(&cert, &anchors, &mut report);
    assert!(report.ok, "{}", dipr_ledger::certificate::render_report(&report));
    let (tsa_name, at) = report.timestamps[0].clone();
    assert_eq!(tsa_name, "测试时间戳服务");
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    assert!(at <= now + 1 && now - at < 120, "the TSA's time is now: {at} vs {now}");

    // OpenSSL's own verifier accepts dipr's token for the checkpoint's digest.
    let proof = dipr_ledger::proof::TlogProof::parse(&cert.proof).unwrap();
    let text = dipr_ledger::note::Note::parse(proof.checkpoint.as_bytes()).unwrap().text;
    let digest = hex::encode(checkpoint_digest(&text));
    let token = base64::engine::general_purpose::STANDARD.decode(&cert.timestamps[0].token).unwrap();
    std::fs::write(dir.join("token.der"), &token).unwrap();
    let out = Command::new("openssl")
        .args([
            "ts",
            "-verify",
            "-token_in",
            "-in",
            "token.der",
            "-digest",
            &digest,
            "-CAfile",
            "ca.pem",
            "-untrusted",
            "tsa.pem",
        ])
        .current_dir(&dir)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && said.contains("Verification: OK"), "{said}");
    // ...and refuses it for another digest, as dipr does.
    let other = hex::encode(checkpoint_digest("another checkpoint\n"));
    let out = Command::new("openssl")
        .args([
            "ts",
            "-verify",
            "-token_in",
            "-in",
            "token.der",
            "-digest",
            &other,
            "-CAfile",
            "ca.pem",
            "-untrusted",
            "tsa.pem",
        ])
        .current_dir(&dir)
        .output()
        .unwrap();
    assert!(!out.status.success());

    // A token moved onto another certificate (another checkpoint) fails; so does a TSA nobody trusts.
    let (a, e) = (app.sign_up("卯").await, app.staff(Role::Examiner).await);
    app.publish_notice(&a, &e, "后来的公示").await;
    assert_eq!(stamp_once(&app.state).await.unwrap()[0].stamped, Some(size + 1));
    let newer = app.state.store.timestamps(size + 1).await.unwrap().remove(0).1;
    let mut moved = cert.clone();
    moved.timestamps[0].token = base64::engine::general_purpose::STANDARD.encode(newer);
    let mut report = verify(&moved, Some(&key), None);
    check_certificate(&moved, &anchors, &mut report);
    assert!(!report.ok);
    assert!(
        report.checks.iter().any(|c| c.id == "timestamp" && !c.ok && c.en.contains("another checkpoint")),
        "{report:?}"
    );
    let stranger = dir.parent().unwrap().join("stranger");
    make_tsa(&stranger, "Stranger TSA");
    let untrusted = anchors_from_pem(&std::fs::read_to_string(stranger.join("ca.pem")).unwrap()).unwrap();
    let mut report = verify(&cert, Some(&key), None);
    check_certificate(&cert, &untrusted, &mut report);
    assert!(!report.ok && report.checks.iter().any(|c| c.en.contains("not issued by a trusted TSA")), "{report:?}");

    // The certificate check page reports the TSA's time in Beijing time.
    let text = serde_json::to_string(&doc).unwrap();
    let (_, html) = crate::web::Web::new(&app, &a).post("/check", &[("certificate", &text)]).await;
    assert!(html.contains("可信时间戳有效") && html.contains("北京时间"), "{html}");
}
