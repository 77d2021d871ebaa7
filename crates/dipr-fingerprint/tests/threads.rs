//! The manifest is the same, byte for byte, whatever the number of threads, and so are the kept
//! fingerprints and the containment figures.

use std::collections::BTreeMap;

use dipr_fingerprint::*;
use dipr_ledger::note::NoteSigner;

fn secrets() -> Secrets {
    let signer = NoteSigner::new("owner.example", ed25519_dalek::SigningKey::from_bytes(&[4; 32])).unwrap();
    Secrets { sampling_key: [1; 32], salt_key: [2; 32], signer }
}

/// 30,000 records (more than the inference sample and many batches), some repeated, with a column that
/// only some records of a JSON Lines file carry.
fn data(jsonl: bool) -> String {
    let mut s = String::new();
    if !jsonl {
        s.push_str("id,name,price,at,note\n");
    }
    let mut x = 99u64;
    let mut last = String::new();
    for i in 0..30_000u64 {
        x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        let r = x >> 24;
        let (name, price, at) = (format!("名{}", r % 5_000), format!("{}.{:02}", r % 10_000, r % 100), r % 60);
        let note = if i.is_multiple_of(3) { "" } else { "ok" };
        let line = if jsonl {
            let mut o =
                serde_json::json!({"id": i, "name": name, "price": price, "at": format!("2024-01-01T00:00:{at:02}Z")});
            if !note.is_empty() {
                o["note"] = note.into();
            }
            o.to_string()
        } else {
            format!("{i},{name},{price},2024-01-01T00:00:{at:02}Z,{note}")
        };
        // Every 97th record repeats the one before it.
        if !i.is_multiple_of(97) || i == 0 {
            last = line;
        }
        s.push_str(&last);
        s.push('\n');
    }
    s
}

#[test]
fn the_manifest_is_the_same_whatever_the_thread_count() {
    let s = secrets();
    for jsonl in [false, true] {
        let opts = Options {
            format: if jsonl { Format::Jsonl } else { Format::Csv },
            product: "线程".into(),
            version: 1,
            views: vec![ViewSpec {
                name: "rounded".into(),
                columns: Some(vec!["id".into(), "price".into()]),
                round: BTreeMap::from([("price".into(), 0)]),
                convert: BTreeMap::new(),
            }],
            scale: 4,
            keep_fingerprints: true,
            discovery_key: Some([3; 32]),
        };
        let text = data(jsonl);
        let run = |threads: usize| {
            let tuning = Tuning {
                threads: Some(threads),
                created_at: Some("2026-01-01T00:00:00Z".into()),
                ..Default::default()
            };
            let mut calls = Vec::new();
            let fp = fingerprint_with(text.as_bytes(), &opts, &tuning, &s, &mut |n| calls.push(n)).unwrap();
            assert_eq!(calls.last(), Some(&30_000), "progress ends with every record");
            (serde_json::to_vec(&fp.manifest).unwrap(), fp.kept.unwrap())
        };
        let one = run(1);
        let m: Manifest = serde_json::from_slice(&one.0).unwrap();
        m.verify().unwrap();
        assert_eq!((m.records_read, m.distinct_records), (30_000, 30_000 - 309), "repeats count once");
        assert!(m.views.iter().all(|v| v.sketch.len() > 5_000), "the sketches are not empty");
        for threads in [2, 3, 8] {
            assert!(run(threads) == one, "{threads} threads, jsonl {jsonl}");
        }
        // Containment of the data in itself, on every thread count.
        let report = |threads: usize| {
            let tuning = Tuning { threads: Some(threads), ..Default::default() };
            serde_json::to_value(
                contain_with(&m, &s, text.as_bytes(), opts.format, None, &tuning, &mut |_| {}).unwrap(),
            )
            .unwrap()
        };
        let want = report(1);
        assert_eq!(want["views"][0]["estimate"], 1.0);
        assert_eq!(report(2), want);
        assert_eq!(report(5), want);
    }
}
