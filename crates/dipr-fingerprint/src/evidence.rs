//! The evidence bundle for a court: the certificate with its ledger proofs, the owner's signed manifest,
//! the containment report, and proofs for matching records — each registered record proven against the
//! manifest's commitment, beside the suspect record that equals it on a declared view — one file,
//! verifiable offline; and its report, a page a judge reads in two minutes: the conclusion first, then
//! the verification's result, every term explained where it is used.

use std::collections::HashSet;
use std::fmt::Display;
use std::io::Read;

use base64::Engine;
use dipr_domain::shown;
use dipr_ledger::certificate::{self, Certificate, Check, Verdict, TRUSTED_KEY_CHECK};
use dipr_ledger::note::{NoteSigner, NoteVerifier};
use dipr_ledger::witness::WitnessPolicy;
use serde::{Deserialize, Serialize};

use crate::{
    agree_on_view_in, lenient, ContainmentReport, FingerprintError, Format, Input, Manifest, RecordProof, Secrets,
    SuspectCells, Tuning,
};

/// Record proofs for matches on any declared view, each with the suspect record it equals.
pub const EVIDENCE_VERSION: &str = "dipr-evidence/v2";
/// The first bundles: record proofs for full-row matches only, without the suspect records. Still read.
pub const EVIDENCE_VERSION_1: &str = "dipr-evidence/v1";

/// Whether a JSON document claims to be an evidence bundle, of any version (an unknown one is then
/// refused by [`EvidenceBundle::parse`], which names it).
pub fn is_bundle(json: &serde_json::Value) -> bool {
    json["v"].as_str().is_some_and(|v| v.starts_with("dipr-evidence/"))
}

/// The suspect dataset, identified without including it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SuspectInfo {
    pub file_name: String,
    pub sha256: String,
    pub bytes: u64,
    pub records: u64,
}

/// A suspect record equal to a proven registered record on a declared view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ViewMatch {
    /// The view the two records were compared on.
    pub view: String,
    /// The suspect record's number in the suspect file (1-based, in file order).
    pub suspect_record: u64,
    /// Its cells on the view's columns, as written in the suspect file.
    pub suspect: SuspectCells,
    /// The registered record it equals: an index into the bundle's `record_proofs`.
    pub proof: usize,
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
    /// Where each proven record was found in the suspect, and on which view. Absent from v1 bundles,
    /// and omitted when empty so that a v1 bundle's signed bytes stay what was signed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub matches: Vec<ViewMatch>,
    /// When `manifest` adds views declared after registration: the manifests from the one the certificate
    /// commits to up to the one `manifest` extends, each extending the one before. Omitted when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub earlier: Vec<Manifest>,
    /// The time zone the suspect's times without one were read in (`dipr evidence --zone`), when declared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zone: Option<String>,
    /// Base64 signature by the manifest's owner key over the canonical bundle without this field.
    #[serde(default)]
    pub owner_signature: String,
}

impl EvidenceBundle {
    fn signed_bytes(&self) -> Vec<u8> {
        let mut unsigned = self.clone();
        unsigned.owner_signature = String::new();
        let mut m = format!("{}\n", self.v).into_bytes();
        m.extend(serde_json::to_vec(&unsigned).expect("serialises"));
        m
    }

    pub fn new(
        certificate: Certificate,
        manifest: Manifest,
        suspect: SuspectInfo,
        containment: &impl Serialize,
        record_proofs: Vec<RecordProof>,
        matches: Vec<ViewMatch>,
        owner: &NoteSigner,
    ) -> Self {
        Self::with_earlier(certificate, Vec::new(), manifest, suspect, containment, record_proofs, matches, owner)
    }

    /// [`EvidenceBundle::new`] with a manifest that extends the certified one through `earlier`.
    #[allow(clippy::too_many_arguments)]
    pub fn with_earlier(
        certificate: Certificate,
        earlier: Vec<Manifest>,
        manifest: Manifest,
        suspect: SuspectInfo,
        containment: &impl Serialize,
        record_proofs: Vec<RecordProof>,
        matches: Vec<ViewMatch>,
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
            matches,
            earlier,
            zone: None,
            owner_signature: String::new(),
        };
        b.owner_signature = base64::engine::general_purpose::STANDARD.encode(owner.sign_bytes(&b.signed_bytes()));
        b
    }

    /// State the zone the suspect's times were read in, and sign again.
    pub fn read_in_zone(mut self, zone: &str, owner: &NoteSigner) -> Self {
        self.zone = Some(zone.to_string());
        self.owner_signature = base64::engine::general_purpose::STANDARD.encode(owner.sign_bytes(&self.signed_bytes()));
        self
    }

    pub fn parse(bytes: &[u8]) -> Result<Self, FingerprintError> {
        let b: Self = serde_json::from_slice(bytes)
            .map_err(|e| FingerprintError::Invalid(format!("not an evidence bundle: {e}")))?;
        match b.v.as_str() {
            EVIDENCE_VERSION => Ok(b),
            EVIDENCE_VERSION_1 if b.matches.is_empty() => Ok(b),
            _ => Err(FingerprintError::Invalid(format!("unknown bundle version {:?}", b.v))),
        }
    }
}

/// Proofs for matched records: for each view the measurement found anything on (strongest first), up to
/// `limit` registered records whose fingerprint on that view was found in the suspect, each proven against
/// the commitment and paired with the first suspect record equal to it on the view. A record is proven
/// once, for the strongest view it matches on. One pass over the registered data, at most one over the
/// suspect.
pub fn prove_matches<D: Read, S: Read>(
    manifest: &Manifest,
    secrets: &Secrets,
    report: &ContainmentReport,
    data: Input<D>,
    suspect: Input<S>,
    suspect_format: Format,
    limit: usize,
) -> Result<(Vec<RecordProof>, Vec<ViewMatch>), FingerprintError> {
    prove_matches_with(manifest, secrets, report, data, suspect, suspect_format, &Tuning::default(), limit)
}

/// [`prove_matches`], the suspect read as the measurement read it: its encoding, the columns mapped, its
/// times in the declared zone (which the bundle must then state, in `zone`, for the matches to verify).
#[allow(clippy::too_many_arguments)]
pub fn prove_matches_with<D: Read, S: Read>(
    manifest: &Manifest,
    secrets: &Secrets,
    report: &ContainmentReport,
    data: Input<D>,
    suspect: Input<S>,
    suspect_format: Format,
    tuning: &Tuning,
    limit: usize,
) -> Result<(Vec<RecordProof>, Vec<ViewMatch>), FingerprintError> {
    if manifest.sampling_key_id != secrets.key_id() {
        return Err(FingerprintError::Invalid("these secrets are not the ones this manifest was made with".into()));
    }
    let containment = serde_json::to_value(report).expect("serialises");
    let targets: Vec<(String, HashSet<u64>)> = ranked(manifest, &shares(&containment), &[])
        .into_iter()
        .filter_map(|f| {
            let found = report.views.iter().find(|v| v.view == f.view)?;
            Some((f.view, found.matched_fingerprints.iter().copied().collect::<HashSet<u64>>()))
        })
        .filter(|(_, fps)| !fps.is_empty())
        .collect();
    let mut proven = crate::prove_matching(manifest, secrets, data, &targets, limit)?;
    proven.sort_by_key(|(ti, _, _)| *ti);
    let wanted: Vec<(String, HashSet<u64>)> = targets
        .iter()
        .enumerate()
        .map(|(ti, (view, _))| (view.clone(), proven.iter().filter(|p| p.0 == ti).map(|p| p.1).collect()))
        .collect();
    let found = crate::find_in_suspect(manifest, secrets, suspect, suspect_format, tuning, &wanted)?;
    let (mut proofs, mut matches) = (Vec::new(), Vec::new());
    for (ti, fp, proof) in proven {
        let Some((_, _, number, cells)) = found.iter().find(|f| f.0 == ti && f.1 == fp) else { continue };
        let view = &targets[ti].0;
        // Equal fingerprints mean equal records on the view; one that is not equal when compared in the
        // open (a collision of 64-bit fingerprints) proves nothing, so it is left out.
        if !agree_on_view_in(manifest, view, &proof.record, cells, tuning.zone) {
            continue;
        }
        matches.push(ViewMatch {
            view: view.clone(),
            suspect_record: *number,
            suspect: cells.clone(),
            proof: proofs.len(),
        });
        proofs.push(proof);
    }
    Ok((proofs, matches))
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
    // The certified manifest, and each later one extending the one before, up to the bundle's.
    let certified = bundle.earlier.first().unwrap_or(&bundle.manifest);
    let chain_ok = bundle
        .earlier
        .iter()
        .chain([&bundle.manifest])
        .collect::<Vec<_>>()
        .windows(2)
        .all(|w| w[1].verify_extends(w[0]).is_ok());
    let root_ok = chain_ok
        && committed.and_then(|c| c.get("root")).and_then(|r| r.as_str()) == Some(certified.root.as_str())
        && committed.and_then(|c| c.get("manifest_sha256")).and_then(|r| r.as_str())
            == Some(certified.digest().as_str());
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
    // A zone the bundle states but that cannot be read makes every match that needs it fail.
    let zone = bundle.zone.as_deref().and_then(|z| lenient::Zone::parse(z).ok());
    for m in &bundle.matches {
        let good = bundle
            .record_proofs
            .get(m.proof)
            .is_some_and(|p| agree_on_view_in(&bundle.manifest, &m.view, &p.record, &m.suspect, zone));
        let columns = m.suspect.keys().map(String::as_str).collect::<Vec<_>>();
        ok &= add(
            "view_match",
            good,
            format!(
                "被控文件第 {} 条记录在视图“{}”的列（{}）上{}第 {} 条匹配记录",
                m.suspect_record,
                m.view,
                columns.join("、"),
                if good { "等同于" } else { "并不等同于" },
                m.proof + 1
            ),
            format!(
                "suspect record {} {} matched record {} on view “{}” (columns {})",
                m.suspect_record,
                if good { "equals" } else { "does NOT equal" },
                m.proof + 1,
                m.view,
                columns.join(", ")
            ),
        );
    }
    report.ok &= ok;
    report
}

/// One view's measurement as the bundle states it; a field the bundle lacks reads as zero.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
struct Share {
    view: String,
    mode: String,
    owner_sample: u64,
    matched: u64,
    estimate: f64,
    low: f64,
    high: f64,
    missing_columns: Vec<String>,
}

fn shares(containment: &serde_json::Value) -> Vec<Share> {
    containment["views"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|v| serde_json::from_value(v.clone()).unwrap_or_default())
        .collect()
}

/// What one view shows about the suspect file.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    pub view: String,
    /// The columns compared.
    pub columns: Vec<String>,
    /// Every fingerprint was compared (a count), not a sketch's sample (an estimate with an interval).
    pub exact: bool,
    /// Of the owner's fingerprints compared (all, or the sketch's sample), how many were found.
    pub owner_sample: u64,
    pub matched: u64,
    pub estimate: f64,
    /// The 95% interval (equal to the estimate when exact).
    pub low: f64,
    pub high: f64,
    /// Registered records present at least: the exact count, or the interval's lower end applied to the
    /// view's distinct records; never fewer than those proven one by one.
    pub at_least: u64,
    /// Matched records proven one by one in the bundle.
    pub proven: usize,
    /// Columns the view needs that the suspect lacks (it cannot match then).
    pub missing_columns: Vec<String>,
}

/// The views' findings, strongest first: most records present at least, then more columns compared.
fn ranked(manifest: &Manifest, shares: &[Share], proven: &[(String, usize)]) -> Vec<Finding> {
    let registered = manifest.distinct_records;
    let mut findings: Vec<(u64, Finding)> = shares
        .iter()
        .map(|s| {
            let declared = manifest.views.iter().find(|m| m.name == s.view);
            let exact = s.mode == "exact";
            let distinct = declared.map_or(0, |m| m.distinct_records);
            let measured = if exact { s.matched } else { (s.low * distinct as f64).floor() as u64 }.min(registered);
            let proven = proven.iter().find(|(v, _)| *v == s.view).map_or(0, |(_, n)| *n);
            let finding = Finding {
                view: s.view.clone(),
                columns: declared.map(|m| m.columns.clone()).unwrap_or_default(),
                exact,
                owner_sample: s.owner_sample,
                matched: s.matched,
                estimate: s.estimate,
                low: if exact { s.estimate } else { s.low },
                high: if exact { s.estimate } else { s.high },
                at_least: measured.max(proven as u64),
                proven,
                missing_columns: s.missing_columns.clone(),
            };
            (measured, finding)
        })
        .collect();
    findings.sort_by(|(a, fa), (b, fb)| b.cmp(a).then(fb.columns.len().cmp(&fa.columns.len())));
    findings.into_iter().map(|(_, f)| f).collect()
}

/// The report's first words: what the bundle shows, in plain language, with its numbers.
#[derive(Debug, Clone, PartialEq)]
pub struct Conclusion {
    /// Distinct registered records: the commitment's leaves.
    pub registered: u64,
    /// Strongest first; the headline is the first.
    pub findings: Vec<Finding>,
    pub zh: String,
    pub en: String,
    /// What the headline compared.
    pub basis_zh: String,
    pub basis_en: String,
}

fn pct(x: f64) -> String {
    format!("{:.2}%", x * 100.0)
}

/// What a view compared, as the conclusion says it: (Chinese, English).
fn basis(manifest: &Manifest, f: &Finding) -> (String, String) {
    let (n, zh, en) = (f.columns.len(), f.columns.join("、"), f.columns.join(", "));
    if n == manifest.schema.len() {
        (
            format!("比对依据：视图“{}”，即全部 {n} 列（{zh}）的取值都相同。", f.view),
            format!("Compared on view “{}”: the same values in all {n} columns ({en}).", f.view),
        )
    } else {
        (
            format!("比对依据：视图“{}”，即列 {zh} 的取值相同。", f.view),
            format!("Compared on view “{}”: the same values in columns {en}.", f.view),
        )
    }
}

/// What the bundle shows: how many registered records are in the suspect file at least, by the view with
/// the strongest evidence, and how many of them the bundle proves one by one.
pub fn conclusion(bundle: &EvidenceBundle) -> Conclusion {
    let m = &bundle.manifest;
    let mut proven: Vec<(String, usize)> = Vec::new();
    for x in &bundle.matches {
        match proven.iter_mut().find(|(v, _)| *v == x.view) {
            Some((_, n)) => *n += 1,
            None => proven.push((x.view.clone(), 1)),
        }
    }
    if bundle.matches.is_empty() && !bundle.record_proofs.is_empty() {
        // A v1 bundle proves full-row matches.
        proven.push(("full".into(), bundle.record_proofs.len()));
    }
    let findings = ranked(m, &shares(&bundle.containment), &proven);
    if m.format == Format::Package {
        return package_conclusion(bundle, findings);
    }
    let (registered, file) = (m.distinct_records, &bundle.suspect.file_name);
    let (zh, en, basis_zh, basis_en) = match findings.first() {
        Some(f) if f.at_least > 0 => {
            let (interval_zh, interval_en) = if f.exact {
                ("精确计数".to_string(), "exact count".to_string())
            } else {
                let span = format!("{}–{}", pct(f.low), pct(f.high));
                (format!("95% 区间 {span}"), format!("95% interval {span}"))
            };
            let (basis_zh, basis_en) = basis(m, f);
            (
                format!(
                    "登记数据（共 {registered} 条）中至少 {} 条（{}，{interval_zh}）出现在被控文件“{file}”中；其中 {} 条在下文逐条证明。",
                    f.at_least,
                    pct(f.estimate),
                    f.proven
                ),
                format!(
                    "At least {} of the {registered} registered records, {} ({interval_en}), appear in the suspect file “{file}”; {} of them are proven one by one below.",
                    f.at_least,
                    pct(f.estimate),
                    f.proven
                ),
                basis_zh,
                basis_en,
            )
        }
        headline => {
            let bound = headline.filter(|f| !f.exact).map(|f| pct(f.high));
            (
                format!(
                    "未在被控文件“{file}”中发现登记数据（共 {registered} 条）：任何视图都没有相同的记录{}。",
                    bound.as_ref().map(|b| format!("（按 95% 区间，至多 {b}）")).unwrap_or_default()
                ),
                format!(
                    "None of the {registered} registered records was found in the suspect file “{file}”: no view had an equal record{}.",
                    bound.as_ref().map(|b| format!(" (by the 95% interval, at most {b})")).unwrap_or_default()
                ),
                String::new(),
                String::new(),
            )
        }
    };
    Conclusion { registered, findings, zh, en, basis_zh, basis_en }
}

/// A package bundle's headline: how much of the registered code is in the suspect package, which files
/// appear in it whole, and which tensors unchanged.
fn package_conclusion(bundle: &EvidenceBundle, findings: Vec<Finding>) -> Conclusion {
    let (c, name) = (&bundle.containment, &bundle.suspect.file_name);
    let registered = bundle.manifest.distinct_records;
    let whole = findings.iter().find(|f| f.view == "content").map_or(0, |f| f.at_least);
    let code = &c["code"];
    let code_share = code["estimate"].as_f64().unwrap_or(0.0);
    let (tensors, matched, transposed) = (
        c["tensors"]["tensors"].as_u64(),
        c["tensors"]["matched"].as_u64().unwrap_or(0),
        c["tensors"]["transposed"].as_u64().unwrap_or(0),
    );
    let proven = bundle.record_proofs.len();
    let found = whole > 0 || matched > 0 || code_share >= 0.05;
    let (mut zh, mut en) = if found {
        (
            format!("登记的算法包（共 {registered} 个文件）出现在被控包“{name}”中："),
            format!("The registered package ({registered} files) appears in the suspect package “{name}”: "),
        )
    } else {
        (
            format!("未在被控包“{name}”中发现登记的算法包（共 {registered} 个文件）的代码、文件或模型张量"),
            format!("Neither the code, the files nor the tensors of the registered package ({registered} files) were found in the suspect package “{name}”"),
        )
    };
    let mut parts_zh = Vec::new();
    let mut parts_en = Vec::new();
    if !code.is_null() {
        let (how_zh, how_en) = if code["mode"] == "exact" {
            ("精确计数".to_string(), "exact count".to_string())
        } else {
            let span =
                format!("{}–{}", pct(code["low"].as_f64().unwrap_or(0.0)), pct(code["high"].as_f64().unwrap_or(1.0)));
            (format!("95% 区间 {span}"), format!("95% interval {span}"))
        };
        parts_zh.push(format!("源代码指纹的 {}（{how_zh}）在其中找到", pct(code_share)));
        parts_en.push(format!("{} of the source code's fingerprints are found in it ({how_en})", pct(code_share)));
    }
    parts_zh.push(format!("{whole} 个文件原样出现"));
    parts_en.push(format!("{whole} files appear in it unchanged"));
    if let Some(t) = tensors {
        parts_zh.push(format!("模型张量 {t} 个中 {matched} 个原样出现（其中 {transposed} 个为转置）"));
        parts_en
            .push(format!("{matched} of the model's {t} tensors appear unchanged ({transposed} of them transposed)"));
    }
    if found {
        zh += &format!("{}。其中 {proven} 个登记文件在下文逐个证明。", parts_zh.join("；"));
        en += &format!("{}. {proven} registered files are proven one by one below.", parts_en.join("; "));
    } else {
        zh += "。";
        en += ".";
    }
    Conclusion {
        registered,
        findings,
        zh,
        en,
        basis_zh: "比对依据：源代码按规范化词元序列的筛选指纹（winnowing）比对，不受排版、注释和标识符改名影响；文件按内容的 BLAKE3 摘要比对，与路径无关；模型张量按数据类型、形状和字节比对，与名称和分片无关。".into(),
        basis_en: "Compared by: source code on winnowed fingerprints of its normalised token stream, whatever its layout, comments and identifier names; files on the BLAKE3 digest of their content, whatever their paths; tensors on their dtype, shape and bytes, whatever their names and shards.".into(),
    }
}

/// HTML made of fixed markup and escaped text only: markup must be `'static`, so nothing a bundle carries
/// can reach the page unescaped.
struct Page(String);

impl Page {
    fn m(&mut self, markup: &'static str) -> &mut Self {
        self.0.push_str(markup);
        self
    }

    fn t(&mut self, text: impl Display) -> &mut Self {
        for c in text.to_string().chars() {
            match c {
                '&' => self.0.push_str("&amp;"),
                '<' => self.0.push_str("&lt;"),
                '>' => self.0.push_str("&gt;"),
                '"' => self.0.push_str("&quot;"),
                '\'' => self.0.push_str("&#39;"),
                c => self.0.push(c),
            }
        }
        self
    }

    /// Chinese, then English in grey.
    fn both(&mut self, zh: impl Display, en: impl Display) -> &mut Self {
        self.t(zh).m("<br><span class=\"en\">").t(en).m("</span>")
    }

    /// A table row: a heading cell (Chinese over English) and a value.
    fn row(&mut self, zh: &'static str, en: &'static str, value: impl Display) -> &mut Self {
        self.m("<tr><th>").m(zh).m("<br><span class=\"en\">").m(en).m("</span></th><td>").t(value).m("</td></tr>")
    }
}

/// An instant a bundle states (RFC 3339) in Beijing time, with the zone named; the text itself if it is
/// not one.
fn when(rfc3339: &str) -> String {
    shown::parse_instant(rfc3339).map_or_else(|| rfc3339.to_string(), |t| shown::zoned_both(&shown::minute(t)))
}

const STYLE: &str = "<style>body{font-family:'Noto Sans CJK SC','Noto Sans SC',sans-serif;max-width:1160px;margin:1.2em auto;padding:0 1.2em;color:#222;line-height:1.5}h1{color:#8c1e1e;font-size:1.6em;margin:.2em 0 0}h2{font-size:1.15em;border-bottom:2px solid #e4d9cc;padding-bottom:.15em;margin-top:1.4em}h3{font-size:1em;margin:1em 0 .3em}.sub{color:#555;margin:.2em 0 .8em}.en{color:#555}.box{border-left:6px solid #8c1e1e;background:#f7f3ee;padding:.6em 1.1em;margin:.8em 0;border-radius:4px}.box p{margin:.4em 0}.lead{font-size:1.15em;font-weight:600}.lead .en{font-weight:400}.good{border-color:#1a6b2c;background:#edf7ef}.warn{border-color:#b36b00;background:#fff5e0}.bad{border-color:#a40000;background:#fdecec}.status{font-size:1.1em;font-weight:700}.good .status{color:#1a6b2c}.warn .status{color:#8a5200}.bad .status{color:#a40000}.note{font-size:.86em;color:#333;background:#f7f7f4;border:1px solid #e3e3dc;padding:.45em .8em;border-radius:4px}.note p{margin:.25em 0}dfn{font-style:normal;font-weight:700}.pair{display:grid;grid-template-columns:1fr 1fr;gap:0 1.6em}.pair>div{min-width:0}@media (max-width:900px){.pair{grid-template-columns:1fr}}.scroll{overflow-x:auto}table{border-collapse:collapse;width:100%;margin:.5em 0}td,th{border:1px solid #ccc;padding:.3em .55em;text-align:left;vertical-align:top}th{background:#f4efe9;font-weight:600}th .en{font-weight:400;font-size:.85em}table.facts th{width:8.5em}tr.headline td{font-weight:700}tr.headline td.method{font-weight:400}td.num{text-align:right;white-space:nowrap}code{word-break:break-all;font-size:.85em}.ok{color:#1a6b2c;font-weight:700;white-space:nowrap}.fail{color:#a40000;font-weight:700;white-space:nowrap}.amber{color:#8a5200;font-weight:700;white-space:nowrap}th.in,td.in{background:#fff1bf}td.out{color:#999}table.proof th:first-child{width:11em}table.proof td.proven{background:#fff;font-size:.88em}table.checks td{padding:.2em .55em}@media print{.scroll{overflow:visible}table.proof,.box{break-inside:avoid}}</style>";

/// A package's code and tensors as measured (section 3): per registered file, its share and the suspect
/// lines its matched regions were found at.
fn package_measurement(h: &mut Page, c: &serde_json::Value) {
    let code = &c["code"];
    if !code.is_null() {
        h.m("<h3>源代码 Source code</h3><div class=\"note\"><p><dfn>筛选指纹 Winnowed fingerprint</dfn>：")
            .both(
                "把源代码变成规范化的词元序列（标识符、字面量一律抽象，注释与排版去掉），对每段连续的若干词元取带密钥的哈希，在每个窗口中保留最小者。相同的一段代码无论怎样重新排版、改名，都会留下相同的指纹。",
                "the source code is turned into a normalised token stream (identifiers and literals abstracted, comments and layout dropped); every run of consecutive tokens is hashed with the owner's key, and the smallest hash of every window kept. The same stretch of code leaves the same fingerprints however it is re-laid-out or renamed.",
            )
            .m("</p></div><p>")
            .t(format!(
                "{}：{} 个中 {} 个 / {}: {} of {}",
                pct(code["estimate"].as_f64().unwrap_or(0.0)),
                code["registered"],
                code["matched"],
                pct(code["estimate"].as_f64().unwrap_or(0.0)),
                code["matched"],
                code["registered"]
            ))
            .m("</p>");
        let files = code["detail"]["files"].as_array().cloned().unwrap_or_default();
        if !files.is_empty() {
            h.m("<div class=\"scroll\"><table><tr><th>登记文件 Registered file</th><th>比例 Share</th><th>登记文件的行 Registered lines</th><th>在被控包中的位置 Found in the suspect at</th></tr>");
            for f in files.iter().filter(|f| f["matched"].as_u64().unwrap_or(0) > 0) {
                let regions = f["regions"].as_array().cloned().unwrap_or_default();
                let lines: Vec<String> =
                    regions.iter().map(|r| format!("{}–{}", r["lines"][0], r["lines"][1])).collect();
                let places: Vec<String> = regions
                    .iter()
                    .flat_map(|r| r["found_in"].as_array().cloned().unwrap_or_default())
                    .map(|p| format!("{}:{}–{}", p["path"].as_str().unwrap_or(""), p["lines"][0], p["lines"][1]))
                    .collect();
                h.m("<tr><td><code>")
                    .t(f["path"].as_str().unwrap_or(""))
                    .m("</code></td><td class=\"num\">")
                    .t(pct(f["share"].as_f64().unwrap_or(0.0)))
                    .m("</td><td>")
                    .t(lines.join(", "))
                    .m("</td><td><code>")
                    .t(places.join(", "))
                    .m("</code></td></tr>");
            }
            h.m("</table></div>");
        }
    }
    let t = &c["tensors"];
    if !t.is_null() {
        h.m("<h3>模型张量 Model tensors</h3><p>")
            .both(
                format!(
                    "登记模型的 {} 个张量中 {} 个原样出现在被控包中（{} 个为转置），共 {} 字节中的 {} 字节。张量按数据类型、形状和字节比对，与名称、文件格式和分片无关。",
                    t["tensors"], t["matched"], t["transposed"], t["bytes"], t["matched_bytes"]
                ),
                format!(
                    "{} of the registered model's {} tensors appear unchanged in the suspect package ({} transposed), {} of {} bytes. Tensors are compared on their dtype, shape and bytes, whatever their names, file format and shards.",
                    t["matched"], t["tensors"], t["transposed"], t["matched_bytes"], t["bytes"]
                ),
            )
            .m("</p>");
    }
}

/// Registered files proven because their code was found (section 4): the proof, and where the code is.
fn package_code_proofs(h: &mut Page, bundle: &EvidenceBundle, proof_ok: &[bool]) {
    let found = bundle.containment["whole"].as_array().cloned().unwrap_or_default();
    if !found.is_empty() {
        h.m("<h3>原样出现的文件 Files found whole</h3><table class=\"checks\"><tr><th>登记文件 Registered</th><th>被控包中的文件 In the suspect package</th></tr>");
        for f in &found {
            h.m("<tr><td><code>")
                .t(f["registered"].as_str().unwrap_or(""))
                .m("</code></td><td><code>")
                .t(f["suspect"].as_str().unwrap_or(""))
                .m("</code></td></tr>");
        }
        h.m("</table>");
    }
    let whole: HashSet<usize> = bundle.matches.iter().map(|x| x.proof).collect();
    let as_code: Vec<(usize, &RecordProof)> =
        bundle.record_proofs.iter().enumerate().filter(|(i, _)| !whole.contains(i)).collect();
    if as_code.is_empty() {
        return;
    }
    h.m("<h3>源代码被找到的登记文件 Registered files whose code was found</h3><p class=\"note\">")
        .both(
            "每个文件的证明公开其路径与内容摘要；权利人出示该文件，任何人都能核对摘要，并按第 3 节所列行号与被控包中的代码逐段对照。",
            "Each proof reveals the file's path and content digest; with the file produced by the owner anyone can check the digest and set its code beside the suspect's at the lines section 3 lists.",
        )
        .m("</p><table class=\"checks\">");
    for (i, p) in as_code {
        let field = |k: &str| p.record.get(k).cloned().flatten().unwrap_or_default();
        h.m(if proof_ok.get(i).copied().unwrap_or(false) {
            "<tr><td class=\"ok\">✓ 已证明 PROVEN</td><td><code>"
        } else {
            "<tr><td class=\"fail\">✗ 证明无效 NOT PROVEN</td><td><code>"
        })
        .t(field("path"))
        .m("</code></td><td><code>")
        .t(field("content"))
        .m("</code></td><td>")
        .t(format!("{} 字节 bytes", field("bytes")))
        .m("</td></tr>");
    }
    h.m("</table>");
}

/// A self-contained HTML report (no scripts, no external resources): the conclusion, the verification's
/// result, then the certificate, the suspect file, the measurement per view, the records proven one by
/// one and every check, each term explained where it is used.
pub fn render_html(bundle: &EvidenceBundle, report: &certificate::Report) -> String {
    let s = &bundle.certificate.statement;
    let m = &bundle.manifest;
    let c = conclusion(bundle);
    let mut h = Page(String::new());
    h.m("<!doctype html><html lang=\"zh-CN\"><meta charset=\"utf-8\"><title>数据知识产权侵权证据报告 Evidence report</title>")
        .m(STYLE)
        .m("<h1>数据知识产权侵权证据报告</h1><p class=\"sub\">Evidence report: registered data found in a suspect file · 证据包制作于 made ")
        .t(when(&bundle.created_at))
        .m("</p>");

    // The conclusion first, in plain words.
    h.m("<div class=\"box\" id=\"conclusion\"><p class=\"lead\">").both(&c.zh, &c.en).m("</p>");
    if !c.basis_zh.is_empty() {
        h.m("<p>").both(&c.basis_zh, &c.basis_en).m("</p>");
    }
    let others: Vec<&Finding> = c.findings.iter().skip(1).collect();
    if !others.is_empty() {
        h.m("<p>其他视图 Other views：");
        for (i, f) in others.iter().enumerate() {
            if i > 0 {
                h.m("；");
            }
            h.t(&f.view).m(" — ");
            if f.missing_columns.is_empty() {
                let (zh, en) = if m.package.is_some() { ("个文件", "files") } else { ("条", "records") };
                h.t(format!(
                    "至少 {0} {zh} at least {0} {en}（{1}），逐条证明 proven {2}",
                    f.at_least,
                    pct(f.estimate),
                    f.proven
                ));
            } else {
                h.t(format!(
                    "被控文件缺少列 {}，无法比对 / cannot match: the suspect lacks {}",
                    f.missing_columns.join("、"),
                    f.missing_columns.join(", ")
                ));
            }
        }
        h.m("。详见第 3 节 See section 3.</p>");
    }
    h.m("<p class=\"note\">")
        .both(
            "比例与条数是权利人用自己的密钥测量被控文件所得，由权利人签名；逐条证明则任何人都可复核，无需权利人的密钥。",
            "The shares and counts are the owner's measurement of the suspect file with the owner's own keys, signed by the owner; the one-by-one proofs can be checked by anyone, without those keys.",
        )
        .m("</p></div>");

    // The verification's result: green only when the registry's key was pinned.
    match report.verdict() {
        Verdict::Valid => {
            h.m("<div class=\"box good\" id=\"result\"><p class=\"status\">核验通过 VERIFIED</p><p>").both(
                "证书由所指定的登记机构公钥签发并记入其公开账本；证据包的各部分——指纹清单、权利人签名、每条记录证明——均核验通过，未被改动。",
                "The certificate was issued under the pinned registry key and recorded in the registry's public log; every part of the bundle — the fingerprint manifest, the owner's signature, each record proof — verifies and is unaltered.",
            ).m("</p></div>");
        }
        Verdict::SelfConsistentOnly => {
            h.m("<div class=\"box warn\" id=\"result\"><p class=\"status\">未确认签发者 ISSUER NOT CONFIRMED</p><p>")
                .both(
                    "核验时没有指定受信任的登记机构公钥，证书只与它自带的公钥核对过——任何人都能制作这样自洽的证书，所以还不能说明证书确由登记机构签发。证据包的其余各项均核验通过。",
                    "No trusted registry key was pinned: the certificate was checked only against the key it carries itself — anyone can make such a self-consistent certificate, so it is not yet shown that the registry issued it. Every other part of the bundle verifies.",
                )
                .m("</p><p><strong>补救 How to fix</strong>：")
                .both(
                    "向登记机构取得其公布的公钥（不要使用证据包里自带的），用 --trusted-key 重新生成报告或核验：",
                    "obtain the registry's published key from the registry (not the one inside this bundle) and make the report again, or verify, with --trusted-key:",
                )
                .m("<br><code>dipr evidence … --trusted-key '&lt;登记机构公钥 registry key&gt;'</code><br><code>dipr verify bundle.json --trusted-key '&lt;登记机构公钥 registry key&gt;'</code></p></div>");
        }
        Verdict::Invalid => {
            h.m("<div class=\"box bad\" id=\"result\"><p class=\"status\">核验未通过 NOT VERIFIED</p><p>").both(
                "下文第 5 节中标为“失败”的检查未通过：证据包的某一部分被改动，或证书并非所指定的登记机构签发。不能依据本证据包。",
                "The checks marked FAIL in section 5 failed: a part of the bundle was altered, or the certificate was not issued under the pinned registry key. This bundle cannot be relied on.",
            ).m("</p></div>");
        }
    }

    // 1. The certificate, and 2. the suspect file, side by side.
    h.m("<div class=\"pair\"><div><h2>1 登记证书 Registration certificate</h2><table class=\"facts\">")
        .row("证书号", "Certificate no.", &s.certificate_number)
        .row("登记号", "Registration no.", &s.registration_number)
        .row("数据产品", "Product", &s.product.name)
        .row("权利人", "Holder", format!("{}（{}）", s.holder.name, s.holder.id_number))
        .row("登记日期", "Registered on", shown::stated_date_both(&s.registered_at))
        .row("有效期", "Valid", shown::stated_period_both(&s.valid_from, &s.valid_until))
        .row(
            "登记数据",
            "Registered data",
            match &m.package {
                Some(p) => {
                    let langs: Vec<String> = p.languages.iter().map(|(l, c)| format!("{l} {}", c.files)).collect();
                    format!(
                        "算法包 package：{} 个文件 files（{}），{} 个模型张量 tensors；指纹清单制作于 manifest made {}",
                        p.files,
                        langs.join(", "),
                        p.tensors.len(),
                        when(&m.created_at)
                    )
                }
                None => format!(
                    "{} 条不同记录 distinct records，{} 列 columns；指纹清单制作于 manifest made {}",
                    m.distinct_records,
                    m.schema.len(),
                    when(&m.created_at)
                ),
            },
        )
        .m("<tr><th>内容承诺<br><span class=\"en\">Commitment</span></th><td><code>")
        .t(&m.root)
        .m("</code></td></tr></table><div class=\"note\"><p><dfn>承诺 Commitment</dfn>：")
        .both(
            "权利人登记时对全部登记记录算出的一个摘要（默克尔树的根），写入证书。此后改动任何一条记录都会改变它，但它本身不泄露任何数据。",
            "a digest (the root of a Merkle tree) of every registered record, computed by the owner at registration and written into the certificate. Changing any record afterwards changes it; it reveals no data itself.",
        )
        .m("</p></div></div>");

    if m.package.is_some() {
        h.m("<div><h2>2 被控包 Suspect package</h2><table class=\"facts\">")
            .row("名称", "Name", &bundle.suspect.file_name)
            .row("大小", "Size", format!("{} 字节 bytes", bundle.suspect.bytes))
            .row("文件数", "Files", bundle.suspect.records)
            .m("<tr><th>SHA-256</th><td><code>")
            .t(&bundle.suspect.sha256)
            .m("</code></td></tr></table><p class=\"note\">")
            .both(
                "被控包本身不在证据包中。SHA-256 是它的文件清单（每个文件的路径与内容的 BLAKE3 摘要，按路径排序，每行一个 JSON 对象）的摘要：对手中的包运行 dipr contain --json 可得到同一清单。",
                "The suspect package itself is not in the bundle. The SHA-256 is that of its file list (each file's path and the BLAKE3 digest of its content, by path, one JSON object per line).",
            )
            .m("</p></div></div>");
    } else {
        h.m("<div><h2>2 被控文件 Suspect file</h2><table class=\"facts\">")
            .row("文件名", "File name", &bundle.suspect.file_name)
            .row("大小", "Size", format!("{} 字节 bytes", bundle.suspect.bytes))
            .row("记录数", "Records", bundle.suspect.records)
            .m("<tr><th>SHA-256</th><td><code>")
            .t(&bundle.suspect.sha256)
            .m("</code></td></tr></table><p class=\"note\">")
            .both(
                "被控文件本身不在证据包中。SHA-256 是它的指纹：任何人对手中的文件计算 SHA-256，相同即为同一文件。",
                "The suspect file itself is not in the bundle. SHA-256 fingerprints it: anyone can compute the SHA-256 of the file at hand; if it is the same, so is the file.",
            )
            .m("</p></div></div>");
    }

    // 3. The measurement per view.
    h.m("<h2>3 比对结果 How much of the registered data is in the suspect file</h2><div class=\"note\"><p><dfn>视图 View</dfn>：")
        .both(
            "比对时使用的一组列，登记时声明。视图“full”比对全部列；其他视图只比对各自的列，所以被控文件删去或改动了其他列时仍能认出记录。",
            "the set of columns compared, declared at registration. The view “full” compares every column; another view compares only its own columns, so records are still recognised when a copier dropped or altered the others.",
        )
        .m("</p><p><dfn>草图 Sketch</dfn>：")
        .both(
            format!("登记时用权利人的密钥从每个视图中抽取的紧凑样本（约每 {} 条记录取 1 条的指纹）；无需分享数据就能据此估计比例。“精确”表示权利人保留了全部指纹，逐一比对，没有抽样。", m.scale),
            format!("the compact keyed sample taken from each view at registration (the fingerprints of about one record in {}); it lets the share be estimated without sharing the data. “Exact” means the owner kept every fingerprint and compared them all: no sampling.", m.scale),
        )
        .m("</p><p><dfn>95% 区间 95% interval</dfn>：")
        .both(
            "抽样估计的误差范围：真实比例有 95% 的把握落在区间内（Wilson 区间）。“至少”按区间下限折算成条数。精确比对没有误差。",
            "the margin of a sampled estimate: the true share lies inside it with 95% confidence (Wilson score interval). “At least” converts the interval's lower end into records. An exact comparison has no margin.",
        )
        .m("</p></div><div class=\"scroll\"><table><tr><th>视图 View</th><th>比对的列 Columns compared</th><th>比例 Share</th><th>95% 区间 Interval</th><th>至少 At least</th><th>方式 Method</th><th>逐条证明 Proven</th></tr>");
    for (i, f) in c.findings.iter().enumerate() {
        h.m(if i == 0 { "<tr class=\"headline\"><td>" } else { "<tr><td>" })
            .t(&f.view)
            .m("</td><td>")
            .t(f.columns.join(", "))
            .m("</td>");
        if f.missing_columns.is_empty() {
            h.m("<td class=\"num\">").t(pct(f.estimate)).m("</td><td class=\"num\">");
            if f.exact {
                h.m("—");
            } else {
                h.t(format!("{} – {}", pct(f.low), pct(f.high)));
            }
            let unit = if m.package.is_some() { "个文件 files" } else { "条 records" };
            h.m("</td><td class=\"num\">").t(format!("{} {unit}", f.at_least)).m("</td>");
        } else {
            h.m("<td colspan=\"3\">").both(
                format!("被控文件缺少列 {}：此视图无法比对", f.missing_columns.join("、")),
                format!("the suspect lacks {}: this view cannot match", f.missing_columns.join(", ")),
            );
            h.m("</td>");
        }
        h.m("<td class=\"method\">");
        if f.exact {
            h.both(
                format!("精确：{} 个指纹中 {} 个相同", f.owner_sample, f.matched),
                format!("exact: {} of {} fingerprints equal", f.matched, f.owner_sample),
            );
        } else {
            h.both(
                format!("草图抽样：样本 {} 个中 {} 个相同", f.owner_sample, f.matched),
                format!("sketch: {} of {} sampled equal", f.matched, f.owner_sample),
            );
        }
        h.m("</td><td class=\"num\">").t(f.proven).m("</td></tr>");
    }
    h.m("</table></div>");
    if m.package.is_some() {
        package_measurement(&mut h, &bundle.containment);
    }

    // 4. The records proven one by one.
    let proof_ok: Vec<bool> = report.checks.iter().filter(|c| c.id == "record_proof").map(|c| c.ok).collect();
    let match_ok: Vec<bool> = report.checks.iter().filter(|c| c.id == "view_match").map(|c| c.ok).collect();
    h.m("<h2>4 逐条证明 Records proven one by one</h2><div class=\"note\"><p><dfn>记录证明 Record proof</dfn>：")
        .both(
            "公开一条登记记录及其盐值和默克尔路径；任何人都能据此重新算出证书中的承诺，从而证明这条记录登记时就在登记数据中。其他记录不公开。",
            "reveals one registered record with its salt and Merkle path; from them anyone can recompute the certificate's commitment, which proves the record was in the registered data when it was registered. No other record is revealed.",
        )
        .m("</p><p>")
        .both(
            "每张表把一条登记记录与被控文件中与之相同的记录并列：黄底是该视图比对的列，被控记录按文件中的原样列出。",
            "Each table sets a registered record beside the suspect record equal to it: the shaded columns are those the view compares; the suspect record is shown as written in the file.",
        )
        .m("</p></div>");
    if bundle.record_proofs.is_empty() {
        h.m("<p>").both("本证据包没有逐条证明的记录。", "This bundle proves no record one by one.").m("</p>");
    }
    let names: Vec<&str> = m.schema.iter().map(|c| c.name.as_str()).collect();
    for f in &c.findings {
        let on_view: Vec<(Option<usize>, usize)> = if bundle.matches.is_empty() {
            // A v1 bundle: full-row matches, without the suspect records.
            match f.view.as_str() {
                "full" => (0..bundle.record_proofs.len()).map(|p| (None, p)).collect(),
                _ => Vec::new(),
            }
        } else {
            bundle
                .matches
                .iter()
                .enumerate()
                .filter(|(_, x)| x.view == f.view)
                .map(|(i, x)| (Some(i), x.proof))
                .collect()
        };
        if on_view.is_empty() {
            continue;
        }
        h.m("<h3>视图 View “").t(&f.view).m("”（").t(f.columns.join(", ")).m("）</h3>");
        for (mi, pi) in on_view {
            let Some(proof) = bundle.record_proofs.get(pi) else { continue };
            let found = mi.map(|i| &bundle.matches[i]);
            let compared = |col: &str| f.columns.iter().any(|c| c == col);
            h.m("<div class=\"scroll\"><table class=\"proof\"><tr><th>")
                .t(format!("匹配记录 {}", pi + 1))
                .m("<br><span class=\"en\">")
                .t(format!("Matched record {}", pi + 1))
                .m("</span></th>");
            for n in &names {
                h.m(if compared(n) { "<th class=\"in\">" } else { "<th>" }).t(n).m("</th>");
            }
            h.m("</tr><tr><th>登记记录<br><span class=\"en\">Registered</span></th>");
            for n in &names {
                let v = proof.record.get(*n).cloned().flatten().unwrap_or_else(|| "∅".into());
                h.m(if compared(n) { "<td class=\"in\">" } else { "<td>" }).t(v).m("</td>");
            }
            h.m("</tr>");
            if let Some(x) = found {
                h.m("<tr><th>")
                    .t(format!("被控文件第 {} 条", x.suspect_record))
                    .m("<br><span class=\"en\">")
                    .t(format!("Suspect record {}", x.suspect_record))
                    .m("</span></th>");
                for n in &names {
                    match x.suspect.get(*n) {
                        Some(v) => h.m("<td class=\"in\">").t(v.as_deref().unwrap_or("∅")).m("</td>"),
                        None => h.m("<td class=\"out\">—</td>"),
                    };
                }
                h.m("</tr>");
            }
            let good = proof_ok.get(pi).copied().unwrap_or(false) && mi.is_none_or(|i| match_ok.get(i) == Some(&true));
            h.m("<tr><td class=\"proven\" colspan=\"")
                .t(names.len() + 1)
                .m(if good { "\"><span class=\"ok\">✓ 已证明 PROVEN</span> " } else { "\"><span class=\"fail\">✗ 证明无效 NOT PROVEN</span> " })
                .t(format!(
                    "登记记录经 {} 个哈希的默克尔路径通向承诺（共 {} 条记录中的第 {} 个叶）{} / the registered record leads through a Merkle path of {} hashes to the commitment (leaf {} of {}){}",
                    proof.path.len(),
                    proof.leaves,
                    proof.index + 1,
                    if found.is_some() { "，且在上述黄底列上与被控记录相同" } else { "" },
                    proof.path.len(),
                    proof.index + 1,
                    proof.leaves,
                    if found.is_some() { ", and equals the suspect record in the shaded columns" } else { "" }
                ))
                .m("</td></tr></table></div>");
        }
    }

    if m.package.is_some() {
        package_code_proofs(&mut h, bundle, &proof_ok);
    }

    // 5. Every check.
    h.m("<h2>5 核验明细 Verification, check by check</h2><div class=\"note\"><p><dfn>检查点 Checkpoint</dfn>：")
        .both(
            "登记机构对其公开账本当时状态（条目数与根哈希）的签名快照。证书条目被证明在某个检查点之下，就证明它已公开记账，事后不能悄悄删改；见证方联署检查点，证明大家看到的是同一本账。",
            "the registry's signed snapshot of its public log (the number of entries and their root hash) at a moment. The certificate's entry is proven to be under a checkpoint, so it was publicly logged and cannot be quietly removed or changed afterwards; witnesses cosign checkpoints so that everyone sees the same log.",
        )
        .m("</p><p><dfn>登记机构公钥 Registry key</dfn>：")
        .both(
            "登记机构用来签名证书和检查点的公钥。只有指定从登记机构取得的公钥（--trusted-key）核验，才能证明证书确由它签发。",
            "the key the registry signs certificates and checkpoints with. Only a check against the key obtained from the registry (--trusted-key) shows that the registry issued the certificate.",
        )
        .m("</p></div><table class=\"checks\">");
    for check in &report.checks {
        let unpinned = !report.key_pinned && (check.id == "registry_key" || check.id == TRUSTED_KEY_CHECK);
        h.m(match (check.ok, unpinned) {
            (_, true) => "<tr><td class=\"amber\">未确认 NOT PINNED</td><td>",
            (true, false) => "<tr><td class=\"ok\">通过 PASS</td><td>",
            (false, false) => "<tr><td class=\"fail\">失败 FAIL</td><td>",
        })
        .both(&check.zh, &check.en)
        .m("</td></tr>");
    }
    h.m("</table>");
    let stamped = |unix: u64| shown::from_unix(unix).map(|t| shown::zoned_both(&shown::minute(t)));
    if let Some(t) = report.earliest_cosignature_unix.and_then(stamped) {
        h.m("<p>见证方最早联署 Earliest witness cosignature：").t(t).m("</p>");
    }
    for (tsa, unix) in &report.timestamps {
        if let Some(t) = stamped(*unix) {
            h.m("<p>可信时间戳 Trusted time stamp（").t(tsa).m("）：").t(t).m("</p>");
        }
    }

    // 6. How to check it again.
    h.m("<h2>6 自行核验 Verify it yourself</h2><p>")
        .both(
            "向登记机构取得其公布的公钥（不要使用证据包里自带的），然后离线运行：",
            "Obtain the registry's published key from the registry (not the one inside this bundle), then run, offline:",
        )
        .m("<br><code>dipr verify bundle.json --trusted-key '&lt;登记机构公钥 registry key&gt;'</code></p><p>")
        .both("证书所载的公钥（仅供与登记机构公布的公钥对照）：", "The key the certificate carries (only to compare with the one the registry publishes):")
        .m("<br><code>")
        .t(&bundle.certificate.registry_key)
        .m("</code></p></html>");
    h.0
}
