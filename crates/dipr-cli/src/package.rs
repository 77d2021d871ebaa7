//! Reading an algorithm package for `dipr fingerprint`, `dipr prove-record` and `dipr contain`: a
//! directory, an archive, a model file, or a git commit of a work tree (through `git archive`, so the
//! package is exactly what the commit holds).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::Args;
use dipr_fingerprint::package::{LocalCode, PackageContainment, ReadPackage};
use dipr_fingerprint::{FingerprintError, Manifest, Secrets};
use dipr_package::source::{read_tar, PackageFile, Source};
use dipr_package::weights;
use dipr_package::PackageError;

use crate::owner::{owner_secrets, parse_key, write_private};

/// The owner's full code fingerprints, kept beside the manifest (mode 0600, never filed).
fn code_path(manifest: &Path) -> PathBuf {
    manifest.with_extension("code")
}

/// What `dipr fingerprint` was asked to do with a package.
pub struct Job {
    pub data: PathBuf,
    pub git_rev: Option<String>,
    pub out: PathBuf,
    pub secrets: Option<PathBuf>,
    pub product: String,
    pub version: u32,
    pub scale: u64,
    pub discovery_key: Option<String>,
    pub threads: Option<usize>,
}

/// `dipr fingerprint` on an algorithm package.
pub fn fingerprint(a: Job) -> Result<()> {
    if a.out.exists() {
        bail!("{} exists; choose another --out (manifests are never overwritten)", a.out.display());
    }
    if code_path(&a.out).exists() {
        bail!("{} exists, left by an earlier manifest: remove it or choose another --out", code_path(&a.out).display());
    }
    let secrets = owner_secrets(&a.out, a.secrets.as_ref())?;
    let opts = dipr_fingerprint::package::PackageOptions {
        product: a.product,
        version: a.version,
        scale: a.scale,
        discovery_key: a.discovery_key.as_deref().map(parse_key).transpose()?,
    };
    let tuning = dipr_fingerprint::Tuning { threads: a.threads, ..Default::default() };
    let start = Instant::now();
    let fp = with_package(&a.data, a.git_rev.as_deref(), &mut |read| {
        dipr_fingerprint::package::fingerprint_package(read, &opts, &tuning, &secrets)
    })?;
    let m = &fp.manifest;
    std::fs::write(&a.out, serde_json::to_string_pretty(m)?)?;
    if let Some(code) = &fp.code {
        write_private(&code_path(&a.out), &serde_json::to_string(code)?)?;
    }
    let s = m.package.as_ref().expect("a package manifest");
    let secs = start.elapsed().as_secs_f64();
    let languages: Vec<String> = s.languages.iter().map(|(l, c)| format!("{l} {}", c.files)).collect();
    eprintln!(
        "{} files ({} text, {:.1} MB; {}), {} code fingerprints, {} tensors, in {secs:.2} s; root {}; manifest {}",
        s.files,
        s.text_files,
        s.bytes as f64 / 1e6,
        if languages.is_empty() { "no source code".to_string() } else { languages.join(", ") },
        s.code.as_ref().map_or(0, |c| c.fingerprints),
        s.tensors.len(),
        m.root,
        a.out.display()
    );
    println!("{}", m.digest());
    Ok(())
}

/// `dipr contain` with a package's manifest: files, code and tensors of the registered package found in a
/// suspect package.
pub fn contain(
    manifest_path: &Path,
    manifest: &Manifest,
    secrets: &Secrets,
    suspect: &Path,
    git_rev: Option<&str>,
    tuning: &dipr_fingerprint::Tuning,
    json: bool,
) -> Result<()> {
    let local = read_local(manifest_path)?;
    let report = with_package(suspect, git_rev, &mut |read| {
        dipr_fingerprint::package::contain_package(manifest, secrets, local.as_ref(), read, tuning)
    })?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", render(&report));
    }
    Ok(())
}

/// `dipr evidence` with a package's manifest: the bundle (verified) for `dipr verify` and the report.
#[allow(clippy::too_many_arguments)]
pub fn evidence(
    manifest_path: &Path,
    manifest: Manifest,
    secrets: &Secrets,
    certificate: dipr_ledger::certificate::Certificate,
    data: &Path,
    git_rev: Option<&str>,
    suspect: &Path,
    limit: usize,
    trusted: Option<&dipr_ledger::note::NoteVerifier>,
) -> Result<(dipr_fingerprint::evidence::EvidenceBundle, dipr_ledger::certificate::Report)> {
    use dipr_fingerprint::evidence::{verify, EvidenceBundle};
    let local = read_local(manifest_path)?;
    let name = suspect.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let e = with_package(data, git_rev, &mut |registered| {
        let source = Source::detect(suspect);
        dipr_fingerprint::package::prove_package(
            &manifest,
            secrets,
            local.as_ref(),
            registered,
            &mut |each| source.read(each),
            &name,
            limit,
        )
    })?;
    let bundle =
        EvidenceBundle::new(certificate, manifest, e.suspect, &e.containment, e.proofs, e.matches, &secrets.signer);
    let check = verify(&bundle, trusted, None);
    Ok((bundle, check))
}

/// The owner's full code fingerprints beside the manifest, when kept.
fn read_local(manifest_path: &Path) -> Result<Option<LocalCode>> {
    let kept = code_path(manifest_path);
    if !kept.exists() {
        return Ok(None);
    }
    let bytes = std::fs::read(&kept).with_context(|| format!("reading {}", kept.display()))?;
    Ok(Some(
        serde_json::from_slice(&bytes).with_context(|| format!("{} is not kept code fingerprints", kept.display()))?,
    ))
}

fn pct(x: f64) -> String {
    format!("{:.1}%", x * 100.0)
}

/// The containment report as text, in Chinese and English.
fn render(r: &PackageContainment) -> String {
    let mut out = format!(
        "包含度报告 / Containment report — package {} (root {})
",
        r.product,
        &r.root[..16]
    );
    out += &format!(
        "可疑包 suspect: {} files

",
        r.suspect_files
    );
    for v in &r.views {
        let what = if v.view == "full" {
            "同路径同内容 same path and content"
        } else {
            "相同内容 same content, any path"
        };
        out += &format!(
            "文件 files, {what}: {} ({} of {} {})
",
            pct(v.estimate),
            v.matched,
            v.owner_sample,
            if v.mode == "exact" { "files" } else { "sampled files" }
        );
    }
    if let Some(c) = &r.code {
        out += &format!(
            "
源代码 code: {} of the registered fingerprints found (95%: {}–{}) [{}: {} of {}]
",
            pct(c.estimate),
            pct(c.low),
            pct(c.high),
            c.mode,
            c.matched,
            c.registered
        );
        if c.mode == "sketch" {
            out += "  (keep MANIFEST.code beside the manifest for exact figures per file and the matched lines)
";
        }
        for f in c.detail.iter().flat_map(|d| &d.files).filter(|f| f.matched > 0) {
            out += &format!(
                "  {}  {} ({} of {})
",
                f.path,
                pct(f.share),
                f.matched,
                f.fingerprints
            );
            for region in &f.regions {
                let places: Vec<String> =
                    region.found_in.iter().map(|p| format!("{}:{}–{}", p.path, p.lines[0], p.lines[1])).collect();
                out += &format!(
                    "    lines {}–{} → {}
",
                    region.lines[0],
                    region.lines[1],
                    places.join(", ")
                );
            }
            if f.regions_omitted > 0 {
                out += &format!(
                    "    … and {} more regions (--json lists them)
",
                    f.regions_omitted
                );
            }
        }
    }
    if let Some(t) = &r.tensors {
        out += &format!(
            "
模型张量 tensors: {} of {} unchanged ({} of {}), {} of them transposed
",
            t.exact.matched,
            t.exact.tensors,
            crate::package::size(t.exact.matched_bytes),
            crate::package::size(t.exact.bytes),
            t.transposed
        );
        if t.exact.matched < t.exact.tensors {
            out += "  differing tensors: compare both models layer by layer with `dipr compare-models`
";
        }
    }
    out
}

pub(crate) fn size(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}

#[derive(Args)]
pub struct CompareModelsArgs {
    /// The registered model: a weights file (.safetensors, .onnx), a directory or an archive of them.
    registered: PathBuf,
    /// The suspect model, the same way.
    suspect: PathBuf,
    /// Directory for comparison.json, comparison.svg and report.html (the table and the plot).
    #[arg(long)]
    out: Option<PathBuf>,
}

/// Every weights file of a package, read whole (tensors borrow from the bytes).
fn weights_files(path: &Path) -> Result<Vec<PackageFile>> {
    let mut files = Vec::new();
    with_package(path, None, &mut |read| {
        read(&mut |f| {
            if let Some(why) = weights::refused(&f.path, &f.content) {
                return Err(PackageError::Invalid(format!("{}: {why}", f.path)));
            }
            if weights::is_weights_file(&f.path) {
                files.push(f);
            }
            Ok(())
        })
        .map_err(FingerprintError::from)
    })?;
    if files.is_empty() {
        bail!("{} holds no weights file (.safetensors, .onnx)", path.display());
    }
    Ok(files)
}

fn tensors_of(files: &[PackageFile]) -> Result<Vec<weights::Tensor<'_>>> {
    let mut out = Vec::new();
    for f in files {
        out.extend(weights::read_tensors(&f.path, &f.content)?);
    }
    Ok(out)
}

/// `dipr compare-models`: layer by layer, on the owner's machine, with both models at hand.
pub fn compare_models(a: CompareModelsArgs) -> Result<()> {
    let (ra, rb) = (weights_files(&a.registered)?, weights_files(&a.suspect)?);
    let c = weights::comparison::compare(&tensors_of(&ra)?, &tensors_of(&rb)?);
    print!("{}", weights::comparison::render_table(&c));
    if let Some(dir) = &a.out {
        std::fs::create_dir_all(dir)?;
        let svg = weights::comparison::render_svg(&c);
        std::fs::write(dir.join("comparison.json"), serde_json::to_string_pretty(&c)?)?;
        std::fs::write(dir.join("comparison.svg"), &svg)?;
        std::fs::write(dir.join("report.html"), report_html(&a, &c, &svg))?;
        eprintln!("comparison.json, comparison.svg and report.html written to {}", dir.display());
    }
    Ok(())
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// One self-contained page: what was compared, the summary, the plot and the table.
fn report_html(a: &CompareModelsArgs, c: &weights::comparison::ModelComparison, svg: &str) -> String {
    let s = &c.summary;
    format!(
        "<!doctype html><html lang=\"zh-CN\"><meta charset=\"utf-8\"><title>模型逐层比较 Model comparison</title>\
         <style>body{{font-family:sans-serif;max-width:70rem;margin:2rem auto}}pre{{overflow-x:auto}}</style>\
         <h1>模型逐层比较 / Layer-by-layer model comparison</h1>\
         <p>登记的模型 registered: <code>{}</code><br>可疑模型 suspect: <code>{}</code></p>\
         <p>{} 对张量中 {} 对完全相同；相同参数占 {}；按参数加权的平均余弦相似度 {}。<br>\
         {} of {} paired tensors identical; identical parameters {}; parameter-weighted mean cosine {}.</p>\
         <figure>{svg}</figure><pre>{}</pre></html>",
        escape(&a.registered.display().to_string()),
        escape(&a.suspect.display().to_string()),
        s.pairs,
        s.identical_pairs,
        s.identical_share.map_or("—".into(), pct),
        s.mean_cosine.map_or("—".into(), |m| format!("{m:.8}")),
        s.identical_pairs,
        s.pairs,
        s.identical_share.map_or("—".into(), pct),
        s.mean_cosine.map_or("—".into(), |m| format!("{m:.8}")),
        escape(&weights::comparison::render_table(c)),
    )
}

/// Whether `data` is read as a package rather than as a table.
pub fn is_package(data: &Path, format: Option<&str>, git_rev: bool) -> bool {
    match format {
        Some(f) => f == "package",
        None => git_rev || !matches!(Source::detect(data), Source::File(_)) || is_model_file(data),
    }
}

/// A model's weights, or a PyTorch pickle (read as a package so that it is refused with the reason).
fn is_model_file(path: &Path) -> bool {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    let mut head = Vec::new();
    if let Ok(f) = std::fs::File::open(path) {
        let _ = std::io::Read::read_to_end(&mut std::io::Read::take(f, 8), &mut head);
    }
    weights::is_weights_file(name) || weights::refused(name, &head).is_some()
}

/// Run `f` over the package at `data` (at `git_rev` of the work tree, if given).
pub fn with_package<T>(
    data: &Path,
    git_rev: Option<&str>,
    f: &mut dyn FnMut(&mut ReadPackage<'_>) -> Result<T, FingerprintError>,
) -> Result<T> {
    if !data.exists() {
        bail!("{} does not exist", data.display());
    }
    let out = match git_rev {
        None => {
            let source = Source::detect(data);
            f(&mut |each| source.read(each))
        }
        Some(rev) => f(&mut |each| git_archive(data, rev, each)),
    };
    out.with_context(|| format!("reading the package {}", data.display()))
}

/// The files of commit `rev` of the git work tree at `dir`.
fn git_archive(
    dir: &Path,
    rev: &str,
    each: &mut dyn FnMut(dipr_package::source::PackageFile) -> Result<(), PackageError>,
) -> Result<u64, PackageError> {
    if rev.starts_with('-') {
        return Err(PackageError::Invalid(format!("--git-rev {rev:?} is not a revision")));
    }
    let mut child = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["archive", "--format=tar", rev, "--"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| PackageError::Invalid(format!("running git (is it installed?): {e}")))?;
    let n = read_tar(child.stdout.take().expect("piped"), each);
    let out = child.wait_with_output()?;
    if !out.status.success() {
        return Err(PackageError::Invalid(format!(
            "git archive {rev} in {}: {}",
            dir.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    n
}
