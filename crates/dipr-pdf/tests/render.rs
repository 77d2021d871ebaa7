//! What a reader finds on the certificate PDF: who issued it and when, the seal or the place for it, how
//! to verify it, a QR code that leads to the record at the registry's address, and the mark of a
//! registration no longer in force. Read back from the PDF with poppler's `pdftotext`, `pdftoppm` and
//! `pdfimages` (.ci/run installs poppler-utils).

use std::process::{Command, Stdio};

use base64::Engine;
use dipr_ledger::certificate::*;
use dipr_ledger::checkpoint::Checkpoint;
use dipr_ledger::merkle::{inclusion_proof, MemoryTree};
use dipr_ledger::note::NoteSigner;
use dipr_ledger::proof::TlogProof;
use dipr_pdf::{render, Names, NotInForce, Registrar, Seal};
use serde_json::json;

const RECORD: &str = "https://dipr.example.cn/records/0195d2a4-7c3e-7a1b-9f00-3c5e8d2b4a61";

/// A certificate as the registry issues one, its log entry recorded at `issued_at`.
fn certificate(issued_at: &str) -> Certificate {
    let signer = NoteSigner::generate("dipr.example.cn/log").unwrap();
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
        // 16:00 UTC is already the next day in Beijing.
        registered_at: "2026-11-20T16:00:00Z".into(),
        valid_from: "2026-11-20T16:00:00Z".into(),
        valid_until: "2029-11-20T16:00:00Z".into(),
        // Signed when the registry still answered on its default address.
        record_url: "http://127.0.0.1:8080/records/0195d2a4-7c3e-7a1b-9f00-3c5e8d2b4a61".into(),
    };
    let entry = LogEntry {
        v: ENTRY_VERSION.into(),
        event_id: 99,
        at: issued_at.into(),
        kind: "registered".into(),
        subject: "0195d2a4-7c3e-7a1b-9f00-3c5e8d2b4a61".into(),
        from_state: Some("public_notice".into()),
        to_state: Some("registered".into()),
        data: json!({"registration_number": statement.registration_number, "statement_sha256": statement.sha256_hex()}),
    };
    let mut tree = MemoryTree::new();
    for i in 0..41 {
        tree.push(format!("other entry {i}").as_bytes());
    }
    let index = tree.push(&entry.to_bytes());
    tree.push(b"a later entry");
    let checkpoint = Checkpoint { origin: signer.name().into(), size: tree.size(), root: tree.root() };
    let proof = TlogProof {
        extra: None,
        index,
        hashes: inclusion_proof(&tree, index, tree.size()).unwrap(),
        checkpoint: checkpoint.sign(&signer),
    };
    Certificate {
        format: CERTIFICATE_FORMAT.into(),
        signature: statement.sign(&signer),
        statement,
        log_entry: base64::engine::general_purpose::STANDARD.encode(entry.to_bytes()),
        proof: proof.to_text(),
        registry_key: signer.verifier().to_string(),
        timestamps: Vec::new(),
    }
}

fn names(seal: Option<Seal>) -> Names {
    Names {
        registrar: Registrar {
            name_zh: "上海数据交易所数据产品登记中心".into(),
            name_en: "Shanghai Data Exchange Data Product Registration Centre".into(),
            code: 3100,
            seal,
        },
        record_url: RECORD.into(),
        check_url: "https://dipr.example.cn/check".into(),
        industry: Some(("模型语料".into(), "Model corpora".into())),
        not_in_force: None,
    }
}

/// A 4 × 4 red PNG: a stand-in, not a seal.
const PNG: &[u8] = include_bytes!("seal.png");

/// Run a poppler tool on `pdf` (written to a file: not every tool reads standard input) and return its
/// standard output.
fn poppler(tool: &str, args: &[&str], pdf: &[u8]) -> Vec<u8> {
    let dir = std::env::temp_dir().join(format!(
        "dipr-pdf-test-{}-{tool}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("certificate.pdf");
    std::fs::write(&file, pdf).unwrap();
    let out = Command::new(tool)
        .args(args)
        .arg(&file)
        .args(if tool == "pdftotext" { &["-"][..] } else { &[][..] })
        .stderr(Stdio::inherit())
        .output()
        .unwrap_or_else(|e| panic!("{tool} (Debian package poppler-utils) is needed to read the PDF: {e}"));
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(out.status.success(), "{tool} failed");
    out.stdout
}

/// The PDF's text, and the same without any white space (a wrapped line may break anywhere in a URL).
fn text(pdf: &[u8]) -> (String, String) {
    let text = String::from_utf8(poppler("pdftotext", &["-enc", "UTF-8"], pdf)).unwrap();
    let compact = text.split_whitespace().collect();
    (text, compact)
}

fn compact(s: &str) -> String {
    s.split_whitespace().collect()
}

/// Images placed on the page, as `pdfimages -list` counts them.
fn images(pdf: &[u8]) -> usize {
    String::from_utf8(poppler("pdfimages", &["-list"], pdf)).unwrap().lines().skip(2).count()
}

/// The QR code as drawn: the page rasterised in grey at 288 dpi, the code found as the only pure black on
/// the page, and each of its `n` × `n` modules read at its centre.
fn drawn_qr(pdf: &[u8], n: usize) -> Vec<bool> {
    let pgm = poppler("pdftoppm", &["-gray", "-r", "288", "-singlefile"], pdf);
    // Binary PGM: "P5", width, height, maximum value, each followed by one white-space byte, then the pixels.
    let mut fields = Vec::new();
    let mut at = 0;
    while fields.len() < 4 {
        let start = at;
        while !pgm[at].is_ascii_whitespace() {
            at += 1;
        }
        fields.push(String::from_utf8(pgm[start..at].to_vec()).unwrap());
        at += 1;
    }
    assert_eq!(fields[0], "P5");
    let (w, h): (usize, usize) = (fields[1].parse().unwrap(), fields[2].parse().unwrap());
    let pixels = &pgm[at..];
    assert_eq!(pixels.len(), w * h);
    let black: Vec<(usize, usize)> =
        (0..h).flat_map(|y| (0..w).map(move |x| (x, y))).filter(|&(x, y)| pixels[y * w + x] < 8).collect();
    assert!(!black.is_empty(), "no QR code on the page");
    let (x0, x1) = (black.iter().map(|p| p.0).min().unwrap(), black.iter().map(|p| p.0).max().unwrap());
    let (y0, y1) = (black.iter().map(|p| p.1).min().unwrap(), black.iter().map(|p| p.1).max().unwrap());
    let module = (x1 + 1 - x0) as f32 / n as f32;
    assert!((((y1 + 1 - y0) as f32 / n as f32) - module).abs() < 0.5, "the QR code is not square");
    (0..n * n)
        .map(|i| {
            let x = x0 as f32 + ((i % n) as f32 + 0.5) * module;
            let y = y0 as f32 + ((i / n) as f32 + 0.5) * module;
            pixels[y as usize * w + x as usize] < 128
        })
        .collect()
}

#[test]
fn a_certificate_names_its_registrar_its_date_of_issue_and_how_to_verify_it() {
    let cert = certificate("2026-11-20T16:00:00Z");
    let pdf = render(&cert, &names(None)).unwrap();
    let (text, flat) = text(&pdf);
    for needle in [
        "上海数据交易所数据产品登记中心",
        "Shanghai Data Exchange Data Product Registration Centre",
        "Registrar code 3100",
        // The Beijing date of the entry that issued it, with the zone named.
        "发证日期 Date of issue",
        "2026-11-21（北京时间 Beijing time）",
        // The log is still named, as the public log, not as the registrar.
        "dipr.example.cn/log",
        "扫码或打开",
        "dipr verify",
        "JSON 证书是机器可核验的原件",
        "The JSON certificate is the machine-verifiable original",
    ] {
        assert!(flat.contains(&compact(needle)), "missing {needle:?}\n{text}");
    }
    assert!(!flat.contains("2026-11-20"), "a UTC date on the page\n{text}");
    // Where to check it: the record and the check page at the registry's address, not the address the
    // statement was signed with.
    assert!(flat.contains(RECORD) && flat.contains("https://dipr.example.cn/check"), "{text}");
    assert!(!flat.contains("127.0.0.1:8080"), "{text}");
    // Entry 41 of a checkpoint of 43, and the statement's digest to compare with the JSON.
    assert!(flat.contains("第41条（检查点共43条）") && flat.contains(&cert.statement.sha256_hex()), "{text}");
    // The PDF is not disowned.
    for wording in ["可读副本", "readable rendering", "the evidence is", "具有证明力"] {
        assert!(!flat.contains(&compact(wording)), "{wording:?}\n{text}");
    }
    // No seal was supplied: an empty place for one, labelled, and no picture pretending to be a seal.
    assert!(text.contains("登记机构印章") && text.contains("Registrar's seal"), "{text}");
    assert_eq!(images(&pdf), 0);
}

#[test]
fn a_certificate_issued_again_is_dated_by_its_revision() {
    // Issued again after a transfer: the statement keeps the registration's date.
    let pdf = render(&certificate("2027-03-01T17:30:00Z"), &names(None)).unwrap();
    let (text, flat) = text(&pdf);
    assert!(flat.contains(&compact("2027-03-02（北京时间 Beijing time）")), "date of issue\n{text}");
    assert!(flat.contains(&compact("2026-11-21（北京时间 Beijing time）")), "registered on\n{text}");
}

#[test]
fn the_certificate_qr_code_leads_to_the_record_at_the_registry_s_address() {
    let pdf = render(&certificate("2026-11-20T16:00:00Z"), &names(None)).unwrap();
    let code = qrcode::QrCode::new(RECORD.as_bytes()).unwrap();
    let want: Vec<bool> = code.to_colors().iter().map(|c| *c == qrcode::Color::Dark).collect();
    assert_eq!(drawn_qr(&pdf, code.width()), want);
    // The same reading of a code for another address does not match: the check can fail.
    let elsewhere =
        Names { record_url: RECORD.replace("https://dipr.example.cn", "https://dipr.example.org"), ..names(None) };
    let pdf = render(&certificate("2026-11-20T16:00:00Z"), &elsewhere).unwrap();
    assert_ne!(drawn_qr(&pdf, code.width()), want);
}

#[test]
fn a_certificate_carries_the_registrar_s_seal_when_one_is_supplied() {
    let seal = Seal::from_png(PNG.to_vec()).unwrap();
    let pdf = render(&certificate("2026-11-20T16:00:00Z"), &names(Some(seal))).unwrap();
    assert_eq!(images(&pdf), 1);
    let (text, _) = text(&pdf);
    assert!(!text.contains("登记机构印章"), "the empty place's label over a seal\n{text}");
}

#[test]
fn a_seal_that_is_not_a_usable_png_is_refused() {
    let not_png = Seal::from_png(b"GIF89a\x01\x00\x01\x00".to_vec()).unwrap_err();
    assert!(not_png.to_string().contains("not a PNG file"), "{not_png}");
    // A PNG whose pixel data is damaged: refused when loaded, not when a certificate is rendered.
    let mut damaged = PNG.to_vec();
    damaged[43..52].fill(0xff);
    assert!(Seal::from_png(damaged).is_err());
    assert!(Seal::from_png(PNG[..40].to_vec()).is_err());
}

#[test]
fn the_certificate_of_a_registration_no_longer_in_force_is_marked() {
    let ended =
        NotInForce {
            zh: "已撤销".into(), en: "REVOKED".into(), since: "2027-05-06（北京时间 Beijing time）".into()
        };
    let pdf =
        render(&certificate("2026-11-20T16:00:00Z"), &Names { not_in_force: Some(ended), ..names(None) }).unwrap();
    let (text, flat) = text(&pdf);
    assert!(text.contains("已撤销 REVOKED"), "{text}");
    assert!(flat.contains(&compact("登记自 2027-05-06（北京时间 Beijing time） 起不再有效")), "{text}");
    let (live, _) = self::text(&render(&certificate("2026-11-20T16:00:00Z"), &names(None)).unwrap());
    assert!(!live.contains("REVOKED") && !live.contains("不再有效"), "{live}");
}
