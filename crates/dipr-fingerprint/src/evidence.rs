//! The evidence bundle for a court: the certificate with its ledger proofs, the owner's signed manifest,
//! the containment report, and proofs for chosen matching records — one file, verifiable offline.

use base64::Engine;
use dipr_ledger::certificate::{self, Certificate, Check};
use dipr_ledger::note::{NoteSigner, NoteVerifier};
use dipr_ledger::witness::WitnessPolicy;
use serde::{Deserialize, Serialize};

use crate::{ContainmentReport, FingerprintError, Manifest, RecordProof};

pub const EVIDENCE_VERSION: &str = "dipr-evidence/v1";

/// The suspect dataset, identified without including it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SuspectInfo {
    pub file_name: String,
    pub sha256: String,
    pub bytes: u64,
    pub records: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvidenceBundle {
    pub v: String,
    pub created_at: String,
    pub certificate: Certificate,
    pub manifest: Manifest,
    pub suspect: SuspectInfo,
    /// The owner's measurement (per view: estimate, interval, counts).
    pub containment: serde_json::Value,
    /// Registered records found in the suspect, each with its proof of membership.
    pub record_proofs: Vec<RecordProof>,
    /// Base64 signature by the manifest's owner key over the canonical bundle without this field.
    #[serde(default)]
    pub owner_signature: String,
}

impl EvidenceBundle {
    fn signed_bytes(&self) -> Vec<u8> {
        let mut unsigned = self.clone();
        unsigned.owner_signature = String::new();
        let mut m = b"dipr-evidence/v1\n".to_vec();
        m.extend(serde_json::to_vec(&unsigned).expect("serialises"));
        m
    }

    pub fn new(
        certificate: Certificate,
        manifest: Manifest,
        suspect: SuspectInfo,
        containment: &ContainmentReport,
        record_proofs: Vec<RecordProof>,
        owner: &NoteSigner,
    ) -> Self {
        let mut b = Self {
            v: EVIDENCE_VERSION.into(),
            created_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            certificate,
            manifest,
            suspect,
            containment: serde_json::to_value(containment).expect("serialises"),
            record_proofs,
            owner_signature: String::new(),
        };
        b.owner_signature = base64::engine::general_purpose::STANDARD.encode(owner.sign_bytes(&b.signed_bytes()));
        b
    }

    pub fn parse(bytes: &[u8]) -> Result<Self, FingerprintError> {
        let b: Self = serde_json::from_slice(bytes)
            .map_err(|e| FingerprintError::Invalid(format!("not an evidence bundle: {e}")))?;
        if b.v != EVIDENCE_VERSION {
            return Err(FingerprintError::Invalid(format!("unknown bundle version {:?}", b.v)));
        }
        Ok(b)
    }
}

/// Check every part of a bundle; the result lists each check in Chinese and English.
pub fn verify(
    bundle: &EvidenceBundle,
    trusted_key: Option<&NoteVerifier>,
    policy: Option<&WitnessPolicy>,
) -> certificate::Report {
    let mut report = certificate::verify(&bundle.certificate, trusted_key, policy);
    let mut add = |id: &'static str, ok: bool, zh: String, en: String| {
        report.checks.push(Check { id, ok, zh, en });
        ok
    };
    let manifest_ok = bundle.manifest.verify().is_ok();
    let mut ok = add(
        "manifest",
        manifest_ok,
        if manifest_ok { "数据指纹清单签名有效".into() } else { "数据指纹清单签名无效".into() },
        if manifest_ok {
            "the fingerprint manifest's signature is valid".into()
        } else {
            "the fingerprint manifest's signature is invalid".into()
        },
    );
    let committed = bundle.certificate.statement.content_commitment.as_ref();
    let root_ok = committed.and_then(|c| c.get("root")).and_then(|r| r.as_str()) == Some(bundle.manifest.root.as_str())
        && committed.and_then(|c| c.get("manifest_sha256")).and_then(|r| r.as_str())
            == Some(bundle.manifest.digest().as_str());
    ok &= add(
        "commitment",
        root_ok,
        if root_ok {
            "证书登记的内容承诺即此清单（根与摘要一致）".into()
        } else {
            "证书登记的内容承诺与清单不一致".into()
        },
        if root_ok {
            "the certificate commits to this manifest (root and digest match)".into()
        } else {
            "the certificate does not commit to this manifest".into()
        },
    );
    let owner_ok = NoteVerifier::parse(&bundle.manifest.signer).is_ok_and(|k| {
        base64::engine::general_purpose::STANDARD
            .decode(&bundle.owner_signature)
            .is_ok_and(|s| k.verify_bytes(&bundle.signed_bytes(), &s))
    });
    ok &= add(
        "owner_signature",
        owner_ok,
        if owner_ok { "证据包由登记数据的权利人签署".into() } else { "证据包签名无效".into() },
        if owner_ok {
            "the bundle is signed by the owner of the registered data".into()
        } else {
            "the bundle's signature is invalid".into()
        },
    );
    for (i, p) in bundle.record_proofs.iter().enumerate() {
        let good = p.verify().is_ok() && p.root == bundle.manifest.root;
        ok &= add(
            "record_proof",
            good,
            format!("第 {} 条匹配记录属于登记数据{}", i + 1, if good { "" } else { "——证明无效" }),
            format!(
                "matched record {} {} the registered data",
                i + 1,
                if good { "belongs to" } else { "is NOT proven to belong to" }
            ),
        );
    }
    report.ok &= ok;
    report
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// A self-contained HTML report (no scripts, no external resources).
pub fn render_html(bundle: &EvidenceBundle, report: &certificate::Report) -> String {
    let s = &bundle.certificate.statement;
    let mut h = String::from("<!doctype html><html lang=\"zh-CN\"><meta charset=\"utf-8\"><title>数据知识产权侵权证据报告</title><style>body{font-family:'Noto Sans CJK SC','Noto Sans SC',sans-serif;max-width:900px;margin:2em auto;color:#222;line-height:1.5}h1{color:#8c1e1e}table{border-collapse:collapse;width:100%}td,th{border:1px solid #ccc;padding:.35em .6em;text-align:left;vertical-align:top}th{background:#f4efe9}.ok{color:#1a6b2c}.bad{color:#a40000}code{word-break:break-all;font-size:.85em}</style>");
    h.push_str("<h1>数据知识产权侵权证据报告</h1><p>Evidence report: registered data found in a suspect dataset</p>");
    h.push_str(&format!(
        "<h2>登记证书 Certificate</h2><table><tr><th>证书号 Certificate No.</th><td>{}</td></tr><tr><th>登记号 Registration No.</th><td>{}</td></tr><tr><th>数据产品 Product</th><td>{}</td></tr><tr><th>权利人 Holder</th><td>{}（{}）</td></tr><tr><th>有效期 Valid</th><td>{} — {}</td></tr><tr><th>内容承诺根 Commitment root</th><td><code>{}</code></td></tr></table>",
        esc(&s.certificate_number), esc(&s.registration_number), esc(&s.product.name), esc(&s.holder.name), esc(&s.holder.id_number), esc(&s.valid_from), esc(&s.valid_until), esc(&bundle.manifest.root)
    ));
    h.push_str(&format!(
        "<h2>可疑数据 Suspect dataset</h2><p>{}，{} 字节 bytes，{} 条记录 records，SHA-256 <code>{}</code></p>",
        esc(&bundle.suspect.file_name),
        bundle.suspect.bytes,
        bundle.suspect.records,
        esc(&bundle.suspect.sha256)
    ));
    h.push_str("<h2>包含度 Containment</h2><table><tr><th>视图 View</th><th>估计 Estimate</th><th>95% 区间 Interval</th><th>约含登记记录 ≈ Records</th><th>方式 Mode</th></tr>");
    for v in bundle.containment["views"].as_array().into_iter().flatten() {
        let pct = |k: &str| v[k].as_f64().unwrap_or(0.0) * 100.0;
        h.push_str(&format!(
            "<tr><td>{}</td><td>{:.2}%</td><td>{:.2}% – {:.2}%</td><td>{}</td><td>{}</td></tr>",
            esc(v["view"].as_str().unwrap_or("")),
            pct("estimate"),
            pct("low"),
            pct("high"),
            v["records_found"],
            esc(v["mode"].as_str().unwrap_or(""))
        ));
    }
    h.push_str("</table><h2>匹配记录及证明 Matched records, proven</h2>");
    for (i, p) in bundle.record_proofs.iter().enumerate() {
        let fields: Vec<String> =
            p.record.iter().map(|(k, v)| format!("{}={}", esc(k), esc(v.as_deref().unwrap_or("∅")))).collect();
        h.push_str(&format!("<p>{}. {}</p>", i + 1, fields.join("，")));
    }
    h.push_str("<h2>核验结果 Verification</h2><table>");
    for c in &report.checks {
        h.push_str(&format!(
            "<tr><td class=\"{}\">{}</td><td>{}<br><small>{}</small></td></tr>",
            if c.ok { "ok" } else { "bad" },
            if c.ok { "通过 PASS" } else { "失败 FAIL" },
            esc(&c.zh),
            esc(&c.en)
        ));
    }
    h.push_str(&format!(
        "</table><p><strong>{}</strong></p><p>离线核验 Verify offline: <code>dipr verify bundle.json --trusted-key {}</code></p></html>",
        if report.ok { "结论：证据包全部核验通过。Result: every part of the bundle verifies." } else { "结论：证据包未通过核验。Result: the bundle does NOT verify." },
        esc(&bundle.certificate.registry_key)
    ));
    h
}
