//! Manifests, record proofs and containment figures made before the multi-threaded pipeline still
//! verify and give the same figures. The fixture in `tests/fixtures/v1/` was written by the code of
//! commit 9f2026e (`DIPR_WRITE_FIXTURE=1 cargo test -p dipr-fingerprint --test compat` there) and is
//! never regenerated: it is what existing registrations hold.

use std::collections::BTreeMap;
use std::path::PathBuf;

use dipr_fingerprint::*;

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/v1")
}

fn read(name: &str) -> String {
    std::fs::read_to_string(dir().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// Owner data: identifiers with leading zeros, Chinese text, prices, dates, zoned times, flags.
fn data_csv() -> String {
    let cities = ["上海", "北京", "深圳", "杭州", "成都"];
    let mut s = String::from("id,name,city,price,qty,day,at,paid\n");
    let mut x = 12345u64;
    for i in 0..3_000u64 {
        x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        let r = x >> 20;
        s.push_str(&format!(
            "{i:06},商品{}号,{},{}.{:02},{},2024-{:02}-{:02},2024-05-{:02}T{:02}:{:02}:00+08:00,{}\n",
            r % 9_000,
            cities[(r % 5) as usize],
            r % 100_000,
            r % 100,
            r % 700,
            1 + r % 12,
            1 + r % 28,
            1 + r % 30,
            r % 24,
            r % 60,
            if r.is_multiple_of(3) { "yes" } else { "no" }
        ));
    }
    s
}

/// A scrape: every third owner row, re-serialised (reordered, grouped numbers, padding, CRLF, UTC
/// times), among foreign rows; the key view still finds rows whose price was changed.
fn suspect_csv(data: &str) -> String {
    let mut s = String::from("AT ,Paid,Qty,Price,Day,City,Name,ID\r\n");
    for (n, line) in data.lines().skip(1).enumerate() {
        let c: Vec<&str> = line.split(',').collect();
        if n % 3 != 0 {
            continue;
        }
        let price: f64 = c[3].parse().unwrap();
        let price = if n % 2 == 0 { price + 1.0 } else { price };
        s.push_str(&format!("{},{}, {} ,\"{price:.3}\",{},{},{},{}\r\n", c[6], c[7], c[4], c[5], c[2], c[1], c[0]));
        s.push_str(&format!("2024-01-01T00:00:00Z,no,1,2,2024-01-01,广州,外部{n},Z{n}\r\n"));
    }
    s
}

fn views() -> Vec<ViewSpec> {
    vec![
        ViewSpec {
            name: "key".into(),
            columns: Some(vec!["id".into(), "name".into()]),
            round: BTreeMap::new(),
            convert: BTreeMap::new(),
        },
        ViewSpec {
            name: "rounded".into(),
            columns: Some(vec!["id".into(), "price".into()]),
            round: BTreeMap::from([("price".into(), 0)]),
            convert: BTreeMap::new(),
        },
    ]
}

fn options(keep: bool) -> Options {
    Options {
        format: Format::Csv,
        product: "兼容性样本".into(),
        version: 1,
        views: views(),
        scale: 8,
        keep_fingerprints: keep,
        discovery_key: Some([5; 32]),
    }
}

fn secrets() -> Secrets {
    Secrets::from_json(&read("secrets.json")).unwrap()
}

#[test]
#[ignore = "writes the fixture; run only at the commit named above"]
fn write_fixture() {
    if std::env::var_os("DIPR_WRITE_FIXTURE").is_none() {
        return;
    }
    std::fs::create_dir_all(dir()).unwrap();
    let signer = dipr_ledger::note::NoteSigner::generate("fixture-owner").unwrap();
    let s = Secrets { sampling_key: [21; 32], salt_key: [22; 32], signer };
    std::fs::write(dir().join("secrets.json"), s.to_json()).unwrap();
    let data = data_csv();
    let suspect = suspect_csv(&data);
    std::fs::write(dir().join("data.csv"), &data).unwrap();
    std::fs::write(dir().join("suspect.csv"), &suspect).unwrap();
    let fp = fingerprint(data.as_bytes(), &options(true), &s, &mut |_| {}).unwrap();
    std::fs::write(dir().join("manifest.json"), serde_json::to_string_pretty(&fp.manifest).unwrap()).unwrap();
    std::fs::write(dir().join("kept.json"), serde_json::to_string(&fp.kept).unwrap()).unwrap();
    let sketch = contain(&fp.manifest, &s, suspect.as_bytes(), Format::Csv, None, &mut |_| {}).unwrap();
    let exact = contain(&fp.manifest, &s, suspect.as_bytes(), Format::Csv, fp.kept.as_ref(), &mut |_| {}).unwrap();
    std::fs::write(dir().join("report.json"), serde_json::to_string_pretty(&sketch).unwrap()).unwrap();
    std::fs::write(dir().join("report-exact.json"), serde_json::to_string_pretty(&exact).unwrap()).unwrap();
    let proof = prove_record(&fp.manifest, &s, data.as_bytes(), 1234).unwrap();
    std::fs::write(dir().join("proof.json"), serde_json::to_string_pretty(&proof).unwrap()).unwrap();
}

fn manifest() -> Manifest {
    serde_json::from_str(&read("manifest.json")).unwrap()
}

#[test]
fn a_manifest_made_before_still_verifies_and_gives_the_same_figures() {
    let m = manifest();
    m.verify().unwrap();
    let s = secrets();
    let kept: BTreeMap<String, Vec<u64>> = serde_json::from_str(&read("kept.json")).unwrap();
    let suspect = read("suspect.csv");
    for (kept, file) in [(None, "report.json"), (Some(&kept), "report-exact.json")] {
        let report = contain(&m, &s, suspect.as_bytes(), Format::Csv, kept, &mut |_| {}).unwrap();
        let want: serde_json::Value = serde_json::from_str(&read(file)).unwrap();
        let got = serde_json::to_value(&report).unwrap();
        // Every figure the report gave then, the same now (a report may now say more, e.g. a caution).
        assert_eq!(
            (&got["product"], &got["root"], &got["suspect_records"]),
            (&want["product"], &want["root"], &want["suspect_records"])
        );
        let views = want["views"].as_array().unwrap();
        assert_eq!(got["views"].as_array().unwrap().len(), views.len());
        for (g, w) in got["views"].as_array().unwrap().iter().zip(views) {
            for (k, v) in w.as_object().unwrap() {
                assert_eq!(&g[k], v, "{file}: {k}");
            }
            // What it says now: a sample of a few hundred records bounds the figure less than ±2 points.
            let caution = g["caution"].as_str();
            match kept {
                None => assert!(caution.is_some_and(|c| c.contains("sampled records")), "{g}"),
                Some(_) => assert_eq!(caution, None),
            }
        }
    }
}

#[test]
fn a_record_proof_made_before_still_verifies_and_is_proven_again() {
    let old: RecordProof = serde_json::from_str(&read("proof.json")).unwrap();
    old.verify().unwrap();
    let again = prove_record(&manifest(), &secrets(), read("data.csv").as_bytes(), 1234).unwrap();
    assert_eq!(again, old);
}

#[test]
fn the_same_data_fingerprinted_now_gives_a_v2_manifest_that_agrees_with_the_v1_one() {
    let old = manifest();
    assert_eq!(old.v, MANIFEST_VERSION_1);
    let (s, data) = (secrets(), read("data.csv"));
    let fp = fingerprint(data.as_bytes(), &options(true), &s, &mut |_| {}).unwrap();
    let new = fp.manifest;
    new.verify().unwrap();
    assert_eq!(new.v, MANIFEST_VERSION);
    // The same canonical records: same schema and counts, and the discovery sketch (hashed as in v1,
    // since registered products are compared by it) is the very same.
    assert_eq!(
        (&new.schema, new.records_read, new.distinct_records),
        (&old.schema, old.records_read, old.distinct_records)
    );
    assert_eq!(new.discovery, old.discovery);
    // Other fingerprints, salts and leaves: another root, other sketch values.
    assert_ne!(new.root, old.root);
    assert_ne!(new.views[0].sketch, old.views[0].sketch);
    // The same exact containment figures as the v1 manifest gave, and proofs of the new version.
    let suspect = read("suspect.csv");
    let exact = contain(&new, &s, suspect.as_bytes(), Format::Csv, fp.kept.as_ref(), &mut |_| {}).unwrap();
    let want: serde_json::Value = serde_json::from_str(&read("report-exact.json")).unwrap();
    for (v, w) in exact.views.iter().zip(want["views"].as_array().unwrap()) {
        assert_eq!((v.matched, v.owner_sample), (w["matched"].as_u64().unwrap(), w["owner_sample"].as_u64().unwrap()));
    }
    let proof = prove_record(&new, &s, data.as_bytes(), 1234).unwrap();
    assert_eq!(proof.v, PROOF_VERSION);
    proof.verify().unwrap();
    let old_proof: RecordProof = serde_json::from_str(&read("proof.json")).unwrap();
    assert_eq!(proof.record, old_proof.record);
    // A v2 proof read as v1 (or the reverse) does not verify: the version is part of what is checked.
    let mut wrong = proof.clone();
    wrong.v = PROOF_VERSION_1.into();
    assert!(wrong.verify().is_err());
    // A v2 leaf binds the column names as well as the values.
    let mut renamed = proof.clone();
    let (k, v) = renamed.record.pop_first().unwrap();
    renamed.record.insert(format!("{k}_"), v);
    assert!(renamed.verify().is_err());
}
