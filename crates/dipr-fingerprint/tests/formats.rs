//! Spreadsheets (xlsx, xls, ods) and CSV in GBK/GB18030 are read as the same records as UTF-8 CSV.
//! The spreadsheets in `tests/fixtures/sheets/` were made by its `make.py` (openpyxl, xlwt, and the
//! OpenDocument XML by hand): 480 of the 1,200 owner rows, typed cells, among 300 foreign rows.

use std::path::PathBuf;

use dipr_fingerprint::*;
use dipr_ledger::note::NoteSigner;

fn secrets() -> Secrets {
    let signer = NoteSigner::new("owner.example", ed25519_dalek::SigningKey::from_bytes(&[6; 32])).unwrap();
    Secrets { sampling_key: [11; 32], salt_key: [12; 32], signer }
}

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sheets").join(name)
}

fn options(format: Format) -> Options {
    Options {
        format,
        product: "格式".into(),
        version: 1,
        views: Vec::new(),
        scale: 4,
        keep_fingerprints: true,
        discovery_key: None,
    }
}

fn owner() -> (String, Fingerprints) {
    let csv = std::fs::read_to_string(fixture("owner.csv")).unwrap();
    let fp = fingerprint(csv.as_bytes(), &options(Format::Csv), &secrets(), &mut |_| {}).unwrap();
    (csv, fp)
}

/// The estimate is within its interval and the interval within ±2 points of the truth.
fn assert_found(v: &ViewContainment, truth: f64, what: &str) {
    assert!(v.low <= v.estimate && v.estimate <= v.high, "{what}: {v:?}");
    assert!(v.low >= truth - 0.02 && v.high <= truth + 0.02, "{what}: [{}, {}] vs {truth}", v.low, v.high);
}

#[test]
fn spreadsheets_are_read_as_the_same_records() {
    let (_, fp) = owner();
    let s = secrets();
    for (name, format) in [("suspect.xlsx", Format::Xlsx), ("suspect.xls", Format::Xls), ("suspect.ods", Format::Ods)] {
        let path = fixture(name);
        assert_eq!(Format::from_path(&path), Some(format));
        let input = Input::<std::io::Empty>::File(std::fs::File::open(&path).unwrap());
        let report = contain(&fp.manifest, &s, input, format, fp.kept.as_ref(), &mut |_| {}).unwrap();
        assert_eq!(report.suspect_records, 780, "{name}");
        let v = &report.views[0];
        assert_eq!((v.mode, v.matched), ("exact", 480), "{name}: every scraped row, typed cells and all");
        assert_found(v, 0.4, name);
        // A spreadsheet registered is the same data as the CSV it holds: the sketch of its records.
        let input = Input::<std::io::Empty>::File(std::fs::File::open(&path).unwrap());
        let sheet = fingerprint(input, &options(format), &s, &mut |_| {}).unwrap();
        assert_eq!(sheet.manifest.distinct_records, 780);
        assert_eq!(sheet.manifest.schema, fp.manifest.schema, "{name}: the same column types");
    }
    // A spreadsheet given as a stream, or a file that is not one, is refused with a reason.
    let e = contain(&fp.manifest, &s, "x".as_bytes(), Format::Xlsx, None, &mut |_| {}).unwrap_err();
    assert!(e.to_string().contains("read from a file"), "{e}");
    let not_a_sheet = Input::<std::io::Empty>::File(std::fs::File::open(fixture("owner.csv")).unwrap());
    let e = contain(&fp.manifest, &s, not_a_sheet, Format::Xlsx, None, &mut |_| {}).unwrap_err();
    assert!(e.to_string().starts_with("line 0: Xlsx:"), "{e}");
}

#[test]
fn gbk_and_gb18030_text_is_detected_or_declared() {
    let (csv, fp) = owner();
    let s = secrets();
    // Every other owner row, in GBK with CRLF line ends, and one in GB18030 only (four-byte characters).
    let mut suspect = String::from("ID,Name,City,Price,Qty,Day\r\n");
    let rows: Vec<&str> = csv.lines().skip(1).collect();
    for row in rows.iter().step_by(2) {
        suspect.push_str(row);
        suspect.push_str("\r\n");
    }
    suspect.push_str("X1,𠀀外部,广州,1,1,2024-01-01\r\n");
    let (gb, _, bad) = encoding_rs::GB18030.encode(&suspect);
    assert!(!bad && std::str::from_utf8(&gb).is_err(), "really not UTF-8");
    let truth = 600.0 / 1200.0;
    for encoding in [None, Some(Encoding::Gb18030)] {
        let tuning = Tuning { encoding, ..Default::default() };
        let report =
            contain_with(&fp.manifest, &s, &gb[..], Format::Csv, fp.kept.as_ref(), &tuning, &mut |_| {}).unwrap();
        assert_eq!((report.suspect_records, report.views[0].matched), (601, 600), "{encoding:?}");
        assert_found(&report.views[0], truth, "GB18030");
    }
    // Plain GBK (what Excel in China writes) reads the same.
    let plain = suspect.replace("𠀀", "");
    let (gbk, _, bad) = encoding_rs::GBK.encode(&plain);
    assert!(!bad);
    let report = contain(&fp.manifest, &s, &gbk[..], Format::Csv, fp.kept.as_ref(), &mut |_| {}).unwrap();
    assert_eq!(report.views[0].matched, 600);
    // Registered from GBK, the manifest is the one made from UTF-8.
    let (owner_gbk, _, _) = encoding_rs::GBK.encode(&csv);
    let tuning = Tuning { created_at: Some(fp.manifest.created_at.clone()), ..Default::default() };
    let again = fingerprint_with(&owner_gbk[..], &options(Format::Csv), &tuning, &s, &mut |_| {}).unwrap();
    assert_eq!(again.manifest, fp.manifest);
    // Declared UTF-8, GBK bytes fail saying what to declare; bytes in neither encoding fail too.
    let tuning = Tuning { encoding: Some(Encoding::Utf8), ..Default::default() };
    let e = contain_with(&fp.manifest, &s, &gb[..], Format::Csv, None, &tuning, &mut |_| {}).unwrap_err();
    assert!(e.to_string().contains("not UTF-8; declare its encoding (--encoding gb18030"), "{e}");
    let e = contain(&fp.manifest, &s, &b"id,name\n1,\xff\xff\xff\n"[..], Format::Csv, None, &mut |_| {}).unwrap_err();
    assert!(e.to_string().contains("neither UTF-8 nor GB18030") && e.to_string().contains("line 2"), "{e}");
    assert_eq!(Encoding::parse("GBK"), Some(Encoding::Gb18030));
    assert_eq!(Encoding::parse("latin1"), None);
}
