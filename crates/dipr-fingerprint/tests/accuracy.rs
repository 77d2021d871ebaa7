//! Simulated scraping: a suspect holds 5%, 30% or 90% of the owner's records, re-serialised
//! (reordered columns, "12,345.50" numbers, trailing zeros, padding, CRLF), mixed into ten times as
//! many foreign rows. The estimate must be within ±2 points of the truth; a declared view still finds
//! rows whose other columns were altered; record proofs verify and any changed bit fails.

use std::collections::BTreeMap;

use base64::Engine;
use dipr_fingerprint::*;
use dipr_ledger::note::NoteSigner;
use proptest::prelude::*;

const OWNER: usize = 60_000;
const SCALE: u64 = 16;

fn secrets() -> Secrets {
    // Fixed keys: the test is deterministic.
    let signer = NoteSigner::new("owner.example", ed25519_dalek::SigningKey::from_bytes(&[3; 32])).unwrap();
    Secrets { sampling_key: [7; 32], salt_key: [9; 32], signer }
}

/// A deterministic pseudo-random stream.
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        self.0 >> 17
    }
}

struct Row {
    id: String,
    name: String,
    city: String,
    price_cents: u64,
    qty: u64,
    day: u32,
}

fn rows(n: usize, seed: u64, prefix: &str) -> Vec<Row> {
    let mut r = Lcg(seed);
    let cities = ["上海", "北京", "深圳", "杭州", "成都"];
    (0..n)
        .map(|i| Row {
            id: format!("{prefix}{i:07}"),
            name: format!("商品{}号", r.next() % 100_000),
            city: cities[(r.next() % 5) as usize].to_string(),
            price_cents: r.next() % 10_000_000,
            qty: r.next() % 5000,
            day: 1 + (r.next() % 28) as u32,
        })
        .collect()
}

fn owner_csv(rows: &[Row]) -> String {
    let mut s = String::from("id,name,city,price,qty,date\n");
    for r in rows {
        s.push_str(&format!(
            "{},{},{},{}.{:02},{},2025-03-{:02}\n",
            r.id,
            r.name,
            r.city,
            r.price_cents / 100,
            r.price_cents % 100,
            r.qty,
            r.day
        ));
    }
    s
}

/// How a scraper re-serialises: other column order, grouped numbers with trailing zeros, padding,
/// slashes in dates, CRLF; `alter` changes the price of every row.
fn scraped_csv(rows: &[&Row], alter: bool) -> String {
    let mut s = String::from(" Date ,QTY,Price, City ,Name,ID\r\n");
    for r in rows {
        let cents = if alter { r.price_cents + 1 } else { r.price_cents };
        let int = cents / 100;
        let grouped = {
            let t = int.to_string();
            let mut out = String::new();
            for (i, ch) in t.chars().enumerate() {
                if i > 0 && (t.len() - i) % 3 == 0 {
                    out.push(',');
                }
                out.push(ch);
            }
            out
        };
        s.push_str(&format!(
            "2025/3/{} , {} ,\"{grouped}.{:02}000\",  {} ,{},{}\r\n",
            r.day,
            r.qty,
            cents % 100,
            r.city,
            r.name,
            r.id
        ));
    }
    s
}

fn options(views: Vec<ViewSpec>) -> Options {
    Options {
        format: Format::Csv,
        product: "测试数据".into(),
        version: 1,
        views,
        scale: SCALE,
        keep_fingerprints: false,
        discovery_key: None,
    }
}

fn key_view() -> ViewSpec {
    ViewSpec {
        name: "key".into(),
        columns: Some(vec!["id".into(), "name".into(), "city".into()]),
        round: BTreeMap::new(),
        convert: BTreeMap::new(),
    }
}

#[test]
fn containment_within_two_points_on_reserialised_scrapes() {
    let owner = rows(OWNER, 1, "A");
    let s = secrets();
    let fp = fingerprint(owner_csv(&owner).as_bytes(), &options(vec![key_view()]), &s, &mut |_| {}).unwrap();
    fp.manifest.verify().unwrap();
    assert_eq!(fp.manifest.distinct_records, OWNER as u64);
    let id_type = fp.manifest.schema.iter().find(|c| c.name == "id").unwrap().ty;
    assert_eq!(id_type, canon::ColumnType::Text, "identifiers stay text");

    for (share, seed) in [(0.05, 11u64), (0.30, 12), (0.90, 13)] {
        let mut r = Lcg(seed);
        let taken: Vec<&Row> = owner.iter().filter(|_| (r.next() % 10_000) as f64 / 10_000.0 < share).collect();
        let truth = taken.len() as f64 / OWNER as f64;
        let foreign = rows(taken.len() * 10, seed + 100, "B");
        let mut all: Vec<&Row> = taken.iter().copied().chain(foreign.iter()).collect();
        all.sort_by_key(|row| row.name.clone()); // interleave
        let report =
            contain(&fp.manifest, &s, scraped_csv(&all, false).as_bytes(), Format::Csv, None, &mut |_| {}).unwrap();
        let full = &report.views[0];
        assert!((full.estimate - truth).abs() <= 0.02, "share {share}: estimate {} vs truth {truth}", full.estimate);
        assert!(
            full.low <= truth && truth <= full.high,
            "share {share}: {truth} outside [{}, {}]",
            full.low,
            full.high
        );
        assert!(full.missing_columns.is_empty());

        // The same rows with the price altered: the full row no longer matches, the key view does.
        let altered =
            contain(&fp.manifest, &s, scraped_csv(&taken, true).as_bytes(), Format::Csv, None, &mut |_| {}).unwrap();
        assert!(altered.views[0].estimate < 0.005, "altered rows must not match on the full view");
        let key = altered.views.iter().find(|v| v.view == "key").unwrap();
        assert!((key.estimate - truth).abs() <= 0.02, "key view: {} vs {truth}", key.estimate);

        // Those rows are proven on the key view, each beside the suspect record it equals there.
        let scraped = scraped_csv(&taken, true);
        let (proofs, matches) = evidence::prove_matches(
            &fp.manifest,
            &s,
            &altered,
            owner_csv(&owner).as_bytes().into(),
            scraped.as_bytes().into(),
            Format::Csv,
            4,
        )
        .unwrap();
        assert_eq!(matches.len(), 4, "the limit, all on the key view");
        let first = &matches[0];
        assert_eq!((first.view.as_str(), first.proof), ("key", 0));
        let row = taken.iter().position(|r| Some(&Some(r.id.clone())) == first.suspect.get("id")).unwrap();
        assert_eq!(first.suspect_record, row as u64 + 1, "the suspect record's number in the file");
        assert_eq!(first.suspect.keys().collect::<Vec<_>>(), ["city", "id", "name"]);
        assert_eq!(first.suspect["city"].as_deref(), Some(format!("  {} ", taken[row].city).as_str()), "as written");
        let make = |matches: Vec<evidence::ViewMatch>| {
            let suspect =
                evidence::SuspectInfo { file_name: "<b>s</b>.csv".into(), sha256: String::new(), bytes: 0, records: 0 };
            let cert = certificate_for(&fp.manifest);
            evidence::EvidenceBundle::new(
                cert,
                fp.manifest.clone(),
                suspect,
                &altered,
                proofs.clone(),
                matches,
                &s.signer,
            )
        };
        let checked = |b: &evidence::EvidenceBundle| -> Vec<bool> {
            let report = evidence::verify(b, None, None);
            report.checks.iter().filter(|c| c.id == "record_proof" || c.id == "view_match").map(|c| c.ok).collect()
        };
        let b = make(matches.clone());
        assert_eq!(checked(&b), [true; 8], "4 proofs and 4 matches verify");
        // Its report escapes what the bundle says, and an unsigned certificate makes it red.
        let html = evidence::render_html(&b, &evidence::verify(&b, None, None));
        assert!(html.contains("&lt;b&gt;s&lt;/b&gt;.csv") && !html.contains("<b>s"), "{html}");
        assert!(html.contains("<div class=\"box bad\" id=\"result\">") && !html.contains("box good"), "{html}");
        // The view with the evidence leads the conclusion, with its numbers.
        let c = evidence::conclusion(&b);
        let at_least = (key.low * fp.manifest.views[1].distinct_records as f64).floor() as u64;
        assert_eq!((c.findings[0].view.as_str(), c.findings[0].at_least, c.findings[0].proven), ("key", at_least, 4));
        assert!(c.zh.contains(&format!("至少 {at_least} 条")) && c.zh.contains("其中 4 条"), "{}", c.zh);
        // The owner cannot pass off a suspect record that differs on the view, even signing it.
        let mut forged = matches.clone();
        forged[1].suspect.insert("name".into(), Some("别的商品".into()));
        assert_eq!(checked(&make(forged)), [true, true, true, true, true, false, true, true]);

        // A bundle of the first version (proofs without the suspect records) is still read and verified,
        // once written out and read back: the measurements it signed read back to the same floats.
        let mut v1 = make(Vec::new());
        v1.v = evidence::EVIDENCE_VERSION_1.into();
        v1.owner_signature = String::new();
        let signed = [b"dipr-evidence/v1\n".to_vec(), serde_json::to_vec(&v1).unwrap()].concat();
        v1.owner_signature = base64::engine::general_purpose::STANDARD.encode(s.signer.sign_bytes(&signed));
        let text = serde_json::to_vec(&v1).unwrap();
        assert!(!String::from_utf8_lossy(&text).contains("\"matches\""), "as the first version wrote it");
        let v1 = evidence::EvidenceBundle::parse(&text).unwrap();
        let report = evidence::verify(&v1, None, None);
        let owner = report.checks.iter().find(|c| c.id == "owner_signature").unwrap();
        assert!(owner.ok && checked(&v1) == [true; 4], "{:?}", report.checks);
        let mut v1_with_matches = serde_json::to_value(&v1).unwrap();
        v1_with_matches["matches"] = serde_json::to_value(&matches).unwrap();
        assert!(evidence::EvidenceBundle::parse(&serde_json::to_vec(&v1_with_matches).unwrap()).is_err());
    }
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

#[test]
fn exact_mode_counts_every_record() {
    let owner = rows(5_000, 2, "C");
    let s = secrets();
    let mut opts = options(vec![]);
    opts.keep_fingerprints = true;
    let fp = fingerprint(owner_csv(&owner).as_bytes(), &opts, &s, &mut |_| {}).unwrap();
    let taken: Vec<&Row> = owner.iter().step_by(4).collect();
    let report =
        contain(&fp.manifest, &s, scraped_csv(&taken, false).as_bytes(), Format::Csv, fp.kept.as_ref(), &mut |_| {})
            .unwrap();
    let v = &report.views[0];
    assert_eq!((v.mode, v.matched, v.records_found), ("exact", 1250, 1250));
    assert_eq!(v.estimate, 0.25);
}

#[test]
fn jsonl_and_csv_of_the_same_data_agree() {
    let owner = rows(2_000, 3, "D");
    let s = secrets();
    let fp = fingerprint(owner_csv(&owner).as_bytes(), &options(vec![]), &s, &mut |_| {}).unwrap();
    let mut jsonl = String::new();
    for r in &owner {
        jsonl.push_str(&serde_json::json!({"ID": r.id, "Name": r.name, "City": r.city, "Price": format!("{}.{:02}", r.price_cents / 100, r.price_cents % 100), "qty": r.qty, "date": format!("2025-03-{:02}", r.day)}).to_string());
        jsonl.push('\n');
    }
    let mut jopts = options(vec![]);
    jopts.format = Format::Jsonl;
    let fj = fingerprint(jsonl.as_bytes(), &jopts, &s, &mut |_| {}).unwrap();
    assert_eq!(fj.manifest.root, fp.manifest.root, "same records, same commitment");
    assert_eq!(fj.manifest.views[0].sketch, fp.manifest.views[0].sketch);
}

#[test]
fn malformed_input_names_the_line() {
    let s = secrets();
    let bad = "a,b\n1,2\n3,4,5\n";
    let e = fingerprint(bad.as_bytes(), &options(vec![]), &s, &mut |_| {}).err().unwrap();
    assert!(e.to_string().contains("line 3"), "{e}");
    let mut jopts = options(vec![]);
    jopts.format = Format::Jsonl;
    let e = fingerprint("{\"a\": 1}\n{\"a\": \n".as_bytes(), &jopts, &s, &mut |_| {}).err().unwrap();
    assert!(e.to_string().contains("line 2"), "{e}");
    let e = fingerprint("A,a\n1,2\n".as_bytes(), &options(vec![]), &s, &mut |_| {}).err().unwrap();
    assert!(e.to_string().contains("\"a\""), "{e}");
    let view = ViewSpec {
        name: "v".into(),
        columns: Some(vec!["nope".into()]),
        round: BTreeMap::new(),
        convert: BTreeMap::new(),
    };
    assert!(fingerprint("a\n1\n".as_bytes(), &options(vec![view]), &s, &mut |_| {}).is_err());
}

#[test]
fn a_tampered_manifest_fails_its_signature() {
    let s = secrets();
    let fp = fingerprint(owner_csv(&rows(100, 4, "E")).as_bytes(), &options(vec![]), &s, &mut |_| {}).unwrap();
    let mut m = fp.manifest.clone();
    m.distinct_records += 1;
    assert!(m.verify().is_err());
    let mut m = fp.manifest.clone();
    m.views[0].sketch.pop();
    assert!(m.verify().is_err());
}

fn proof_for(n: usize, pick: u64) -> RecordProof {
    let owner = rows(n, 5, "F");
    let s = secrets();
    let csv = owner_csv(&owner);
    let fp = fingerprint(csv.as_bytes(), &options(vec![]), &s, &mut |_| {}).unwrap();
    prove_record(&fp.manifest, &s, csv.as_bytes(), 1 + pick % n as u64).unwrap()
}

#[test]
fn record_proofs_verify_and_reveal_one_record() {
    let p = proof_for(1000, 417);
    p.verify().unwrap();
    assert_eq!(p.record.len(), 6);
    assert_eq!(p.path.len(), 10, "⌈log2 1000⌉ sibling hashes");
    // Another record's content with this path fails.
    let mut other = p.clone();
    other.record.insert("qty".into(), Some("999999".into()));
    assert!(other.verify().is_err());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    #[test]
    fn any_flipped_bit_of_a_record_proof_fails(pick in 0u64..300, part in 0usize..3, which in any::<prop::sample::Index>(), bit in 0usize..4) {
        let p = proof_for(300, pick);
        prop_assert!(p.verify().is_ok());
        let mut bad = p.clone();
        let flip = |s: &mut String, i: usize| {
            let mut b = s.clone().into_bytes();
            let i = i % b.len();
            let c = b[i] as char;
            let v = c.to_digit(16).unwrap();
            b[i] = std::char::from_digit(v ^ (1 << bit), 16).unwrap() as u8;
            *s = String::from_utf8(b).unwrap();
        };
        match part {
            0 => flip(&mut bad.salt, which.index(32)),
            1 => { let i = which.index(bad.path.len()); flip(&mut bad.path[i], bit * 7) }
            _ => flip(&mut bad.root, which.index(64)),
        }
        prop_assert!(bad.verify().is_err());
    }
}

#[test]
fn discovery_sketches_match_across_owners() {
    // Two owners (different secrets) fingerprint overlapping data under the registry's discovery key:
    // their discovery sketches are comparable, their own sketches are not.
    let key = derive_discovery_key(b"registry secret");
    let data = rows(20_000, 6, "G");
    let half: Vec<&Row> = data.iter().take(10_000).collect();
    let mut opts = options(vec![]);
    opts.discovery_key = Some(key);
    let a = fingerprint(owner_csv(&data).as_bytes(), &opts, &secrets(), &mut |_| {}).unwrap().manifest;
    let other = Secrets { sampling_key: [1; 32], salt_key: [2; 32], signer: NoteSigner::generate("b").unwrap() };
    let b = fingerprint(scraped_csv(&half, false).as_bytes(), &opts, &other, &mut |_| {}).unwrap().manifest;
    a.verify().unwrap();
    let (da, db) = (a.discovery.unwrap(), b.discovery.unwrap());
    assert_eq!(da.key_id, discovery_key_id(&key));
    let sa: std::collections::HashSet<u64> = da.values().into_iter().collect();
    let shared = db.values().iter().filter(|v| sa.contains(v)).count();
    assert_eq!(shared, db.sketch.len(), "all of B's data is in A");
    let c = shared as f64 / da.sketch.len() as f64;
    assert!((c - 0.5).abs() < 0.05, "half of A is in B: {c}");
    let own_shared = b.views[0].sketch.iter().filter(|v| a.views[0].sketch.contains(v)).count();
    assert!(own_shared < 5, "owner-keyed sketches are not comparable across owners");
}

#[test]
fn parquet_and_csv_of_the_same_data_agree() {
    use parquet::data_type::{ByteArray, ByteArrayType, DoubleType, Int32Type, Int64Type};
    use parquet::file::properties::WriterProperties;
    use parquet::file::writer::SerializedFileWriter;
    use std::sync::Arc;

    let data = rows(3_000, 7, "P");
    let path = std::env::temp_dir().join(format!("dipr-test-{}.parquet", std::process::id()));
    let schema = Arc::new(
        parquet::schema::parser::parse_message_type(
            "message m { REQUIRED BYTE_ARRAY id (UTF8); REQUIRED BYTE_ARRAY name (UTF8); REQUIRED BYTE_ARRAY city (UTF8); \
             REQUIRED DOUBLE price; REQUIRED INT64 qty; REQUIRED INT32 date (DATE); }",
        )
        .unwrap(),
    );
    let props = Arc::new(WriterProperties::builder().set_compression(parquet::basic::Compression::SNAPPY).build());
    let mut writer = SerializedFileWriter::new(std::fs::File::create(&path).unwrap(), schema, props).unwrap();
    let mut group = writer.next_row_group().unwrap();
    let texts = |f: &dyn Fn(&Row) -> String| data.iter().map(|r| ByteArray::from(f(r).as_str())).collect::<Vec<_>>();
    let mut i = 0;
    while let Some(mut col) = group.next_column().unwrap() {
        match i {
            0 => col.typed::<ByteArrayType>().write_batch(&texts(&|r| r.id.clone()), None, None).unwrap(),
            1 => col.typed::<ByteArrayType>().write_batch(&texts(&|r| r.name.clone()), None, None).unwrap(),
            2 => col.typed::<ByteArrayType>().write_batch(&texts(&|r| r.city.clone()), None, None).unwrap(),
            3 => col
                .typed::<DoubleType>()
                .write_batch(&data.iter().map(|r| r.price_cents as f64 / 100.0).collect::<Vec<_>>(), None, None)
                .unwrap(),
            4 => col
                .typed::<Int64Type>()
                .write_batch(&data.iter().map(|r| r.qty as i64).collect::<Vec<_>>(), None, None)
                .unwrap(),
            _ => {
                // Days since 1970-01-01 for 2025-03-dd.
                let base = 20_148; // 2025-03-01
                col.typed::<Int32Type>()
                    .write_batch(&data.iter().map(|r| base + r.day as i32 - 1).collect::<Vec<_>>(), None, None)
                    .unwrap()
            }
        };
        col.close().unwrap();
        i += 1;
    }
    group.close().unwrap();
    writer.close().unwrap();

    let s = secrets();
    let csv = fingerprint(owner_csv(&data).as_bytes(), &options(vec![]), &s, &mut |_| {}).unwrap().manifest;
    let mut popts = options(vec![]);
    popts.format = Format::Parquet;
    let pq = fingerprint(Input::<std::io::Empty>::File(std::fs::File::open(&path).unwrap()), &popts, &s, &mut |_| {})
        .unwrap()
        .manifest;
    assert_eq!(pq.records_read, 3_000);
    assert_eq!(pq.root, csv.root, "typed Parquet values canonicalise like their CSV text");
    assert_eq!(pq.views[0].sketch, csv.views[0].sketch);
    std::fs::remove_file(&path).unwrap();
}
