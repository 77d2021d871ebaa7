//! Views declared after registration: a new manifest that names the registered one, over the same data
//! and commitment; the registered manifest and the evidence made with it are untouched, and evidence made
//! with the new one carries the chain back to the certified manifest. Done here to the v1 manifest of
//! `tests/fixtures/v1` (made before scheme v2) and to a v2 one.

use std::collections::BTreeMap;
use std::path::PathBuf;

use dipr_fingerprint::*;

fn fixture(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/v1").join(name);
    std::fs::read_to_string(path).unwrap()
}

/// A certificate committing to `manifest`, unsigned: enough for the bundle's own checks.
fn certificate_for(manifest: &Manifest) -> dipr_ledger::certificate::Certificate {
    use dipr_ledger::certificate::{Certificate, Holder, Product, Statement};
    let statement = Statement {
        v: String::new(),
        registry: String::new(),
        registration_number: String::new(),
        certificate_number: String::new(),
        holder: Holder { kind: String::new(), name: String::new(), id_number: String::new() },
        product: Product { name: String::new(), object_type: String::new(), industry: String::new() },
        data_sources: Vec::new(),
        content_commitment: Some(serde_json::json!({"root": manifest.root, "manifest_sha256": manifest.digest()})),
        registered_at: String::new(),
        valid_from: String::new(),
        valid_until: String::new(),
        record_url: String::new(),
    };
    Certificate {
        format: String::new(),
        statement,
        signature: String::new(),
        log_entry: String::new(),
        proof: String::new(),
        registry_key: String::new(),
        timestamps: Vec::new(),
    }
}

fn city_view() -> ViewSpec {
    ViewSpec {
        name: "city_day".into(),
        columns: Some(vec!["city".into(), "day".into()]),
        round: BTreeMap::new(),
        convert: BTreeMap::new(),
    }
}

#[test]
fn views_added_after_registration_extend_the_manifest() {
    let s = Secrets::from_json(&fixture("secrets.json")).unwrap();
    let (data, suspect) = (fixture("data.csv"), fixture("suspect.csv"));
    let registered: Manifest = serde_json::from_str(&fixture("manifest.json")).unwrap();
    let made_now = fingerprint(
        data.as_bytes(),
        &Options {
            format: Format::Csv,
            product: "兼容性样本".into(),
            version: 1,
            views: Vec::new(),
            scale: 8,
            keep_fingerprints: false,
            discovery_key: None,
        },
        &s,
        &mut |_| {},
    )
    .unwrap()
    .manifest;
    for old in [registered, made_now] {
        let new = add_views(&old, &s, data.as_bytes(), &[city_view()], &Tuning::default(), &mut |_| {}).unwrap();
        new.verify_extends(&old).unwrap();
        assert_eq!(
            (new.v.as_str(), new.root.as_str()),
            (old.v.as_str(), old.root.as_str()),
            "same scheme, same commitment"
        );
        assert_eq!(new.views[..old.views.len()], old.views[..]);
        // Measured with the new manifest, the views it had give what they gave; the new one measures too.
        let before = contain(&old, &s, suspect.as_bytes(), Format::Csv, None, &mut |_| {}).unwrap();
        let after = contain(&new, &s, suspect.as_bytes(), Format::Csv, None, &mut |_| {}).unwrap();
        assert_eq!(after.views[..before.views.len()], before.views[..]);
        let city = after.views.last().unwrap();
        assert_eq!(city.view, "city_day");
        assert!(city.matched > 0 && city.mode == "exact", "{city:?}: few distinct (city, day) pairs, all kept");

        // Evidence with the new manifest verifies through the chain to the certified one, and only so.
        let cert = certificate_for(&old);
        let info = evidence::SuspectInfo { file_name: "s.csv".into(), sha256: String::new(), bytes: 0, records: 0 };
        let bundle = |earlier: Vec<Manifest>, manifest: &Manifest| {
            evidence::EvidenceBundle::with_earlier(
                cert.clone(),
                earlier,
                manifest.clone(),
                info.clone(),
                &after,
                Vec::new(),
                Vec::new(),
                &s.signer,
            )
        };
        let commitment = |b: &evidence::EvidenceBundle| {
            let text = serde_json::to_vec(b).unwrap();
            let b = evidence::EvidenceBundle::parse(&text).unwrap();
            evidence::verify(&b, None, None).checks.iter().find(|c| c.id == "commitment").unwrap().ok
        };
        assert!(commitment(&bundle(vec![old.clone()], &new)));
        assert!(commitment(&bundle(Vec::new(), &old)), "a bundle of the registered manifest, as before");
        assert!(!commitment(&bundle(Vec::new(), &new)), "not without the chain");
        let mut forged = old.clone();
        forged.product = "别的".into();
        assert!(!commitment(&bundle(vec![forged], &new)), "nor with another manifest in it");

        // Views are added to the registered data only, and never twice.
        let other = data.replacen("000001,", "999999,", 1);
        let e = add_views(&old, &s, other.as_bytes(), &[city_view()], &Tuning::default(), &mut |_| {}).unwrap_err();
        assert!(e.to_string().contains("not the registered version"), "{e}");
        let e = add_views(&new, &s, data.as_bytes(), &[city_view()], &Tuning::default(), &mut |_| {}).unwrap_err();
        assert!(e.to_string().contains("already has a view"), "{e}");
    }
}
