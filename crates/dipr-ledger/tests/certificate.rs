//! A certificate built the way the registry builds one verifies offline, and no changed byte does.

use base64::Engine;
use dipr_ledger::certificate::*;
use dipr_ledger::checkpoint::Checkpoint;
use dipr_ledger::merkle::{inclusion_proof, MemoryTree};
use dipr_ledger::note::NoteSigner;
use dipr_ledger::proof::TlogProof;
use serde_json::json;

fn issue(signer: &NoteSigner) -> Certificate {
    let statement = Statement {
        v: STATEMENT_VERSION.into(),
        registry: signer.name().into(),
        registration_number: "2026110000000017".into(),
        certificate_number: "20261131000000018".into(),
        holder: Holder {
            kind: "legal_person".into(),
            name: "上海示例数据科技有限公司".into(),
            id_number: "91350100M000100Y43".into(),
        },
        product: Product {
            name: "中文大模型语料库".into(),
            object_type: "data_collection".into(),
            industry: "model_corpus".into(),
        },
        data_sources: vec!["self_collected".into()],
        content_commitment: None,
        registered_at: "2026-11-20T16:00:00Z".into(),
        valid_from: "2026-11-05T02:00:00Z".into(),
        valid_until: "2029-11-05T02:00:00Z".into(),
        record_url: "http://127.0.0.1:8080/records/x".into(),
    };
    let entry = LogEntry {
        v: ENTRY_VERSION.into(),
        event_id: 99,
        at: "2026-11-20T16:00:00Z".into(),
        kind: "notice_ended".into(),
        subject: "x".into(),
        from_state: Some("public_notice".into()),
        to_state: Some("registered".into()),
        data: json!({"registration_number": statement.registration_number, "statement_sha256": statement.sha256_hex()}),
    };
    let mut tree = MemoryTree::new();
    for i in 0..37 {
        tree.push(format!("other entry {i}").as_bytes());
    }
    let index = tree.push(&entry.to_bytes());
    tree.push(b"a later entry");
    let cp = Checkpoint { origin: signer.name().into(), size: tree.size(), root: tree.root() };
    let proof = TlogProof {
        extra: None,
        index,
        hashes: inclusion_proof(&tree, index, tree.size()).unwrap(),
        checkpoint: cp.sign(signer),
    };
    Certificate {
        format: CERTIFICATE_FORMAT.into(),
        signature: statement.sign(signer),
        statement,
        log_entry: base64::engine::general_purpose::STANDARD.encode(entry.to_bytes()),
        proof: proof.to_text(),
        registry_key: signer.verifier().to_string(),
        timestamps: Vec::new(),
    }
}

#[test]
fn a_genuine_certificate_verifies() {
    let signer = NoteSigner::generate("dipr.example.cn/log").unwrap();
    let cert = issue(&signer);
    let bytes = serde_json::to_vec_pretty(&cert).unwrap();
    let parsed = Certificate::parse(&bytes).unwrap();
    let r = verify(&parsed, Some(&signer.verifier()), None);
    assert!(r.ok, "{}", render_report(&r));
    assert_eq!((r.log_index, r.checkpoint_size), (Some(37), Some(39)));
    let text = render_report(&r);
    assert!(text.contains("VALID"));
    // Authentic is not in force: the report says how to learn the current status, and the dates it
    // shows are on the registry's calendar with the zone named.
    assert!(text.contains("not that the registration is still in force") && text.contains("--online"), "{text}");
    assert!(text.contains("2026-11-05 至 to") && text.contains("北京时间 Beijing time"), "{text}");
    // Without a pinned key it still checks, and says so.
    let r = verify(&parsed, None, None);
    assert!(r.ok && !r.key_pinned);
    assert!(render_report(&r).contains("SELF-CONSISTENT ONLY"));
}

#[test]
fn another_registrys_key_is_refused() {
    let signer = NoteSigner::generate("dipr.example.cn/log").unwrap();
    let impostor = NoteSigner::generate("dipr.example.cn/log").unwrap();
    let r = verify(&issue(&impostor), Some(&signer.verifier()), None);
    assert!(!r.ok);
    assert_eq!(r.checks[0].id, "registry_key");
}

#[test]
fn every_changed_byte_fails() {
    let signer = NoteSigner::generate("dipr.example.cn/log").unwrap();
    let bytes = serde_json::to_vec(&issue(&signer)).unwrap();
    for i in 0..bytes.len() {
        let mut b = bytes.clone();
        b[i] ^= 0x01;
        if let Ok(c) = Certificate::parse(&b) {
            assert!(
                !verify(&c, Some(&signer.verifier()), None).ok,
                "flipping byte {i} ({:?}) went unnoticed",
                bytes[i] as char
            );
        }
    }
}

#[test]
fn witness_quorum_and_earliest_time() {
    use dipr_ledger::note::NoteSigner;
    use dipr_ledger::proof::TlogProof;
    use dipr_ledger::witness::WitnessPolicy;
    let signer = NoteSigner::generate("dipr.example.cn/log").unwrap();
    let (w1, w2) = (NoteSigner::generate("w1.example").unwrap(), NoteSigner::generate("w2.example").unwrap());
    let policy = WitnessPolicy::parse(&format!(
        "witness {}\nwitness {}\nquorum 2\n",
        w1.cosigner_verifier(),
        w2.cosigner_verifier()
    ))
    .unwrap();
    let mut cert = issue(&signer);
    assert!(!verify(&cert, Some(&signer.verifier()), Some(&policy)).ok, "no cosignatures yet");
    let mut proof = TlogProof::parse(&cert.proof).unwrap();
    let text = dipr_ledger::note::Note::parse(proof.checkpoint.as_bytes()).unwrap().text;
    proof.checkpoint.push_str(&w1.cosign_line(text.as_bytes(), 1_800_000_100));
    cert.proof = proof.to_text();
    let r = verify(&cert, Some(&signer.verifier()), Some(&policy));
    assert!(!r.ok, "one of two");
    proof.checkpoint.push_str(&w2.cosign_line(text.as_bytes(), 1_800_000_000));
    cert.proof = proof.to_text();
    let r = verify(&cert, Some(&signer.verifier()), Some(&policy));
    assert!(r.ok, "{}", render_report(&r));
    assert_eq!(r.earliest_cosignature_unix, Some(1_800_000_000));
    // 08:00 UTC, shown on the registry's calendar with the zone named.
    assert!(render_report(&r).contains("2027-01-15 16:00 (Beijing time)"), "{}", render_report(&r));
}
