//! `dipr fingerprint`, `dipr contain`, `dipr prove-record`, `dipr verify-record`: the data owner's
//! side, run locally. The data never leaves the machine; the secrets file never leaves its owner.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::Args;
use dipr_fingerprint::{Format, Manifest, RecordProof, Secrets, ViewSpec};

use crate::owner::{load_secrets, owner_secrets, parse_key, secrets_path, write_private};

#[derive(Args)]
pub struct FingerprintArgs {
    /// The dataset: CSV, TSV, JSON Lines, Parquet, or a spreadsheet (xlsx, xls, ods: its first sheet).
    /// Or an algorithm package: a directory (its .gitignore honoured), a zip, tar or tar.gz archive, or
    /// a model's weights (.safetensors, .onnx).
    data: PathBuf,
    /// The package is this git commit (or branch, tag) of the work tree at DATA: what `git archive`
    /// gives, so untracked and ignored files are left out.
    #[arg(long, value_name = "REV")]
    git_rev: Option<String>,
    /// Where to write the manifest (JSON) that is filed with the application.
    #[arg(long)]
    out: PathBuf,
    /// csv, tsv, jsonl, parquet, xlsx, xls, ods or package (default: from the file name; a directory or
    /// an archive is a package).
    #[arg(long)]
    format: Option<String>,
    /// Text encoding of a CSV, TSV or JSON Lines file: utf-8 or gb18030 (also reads GBK). Default:
    /// detected.
    #[arg(long)]
    encoding: Option<String>,
    /// Product name recorded in the manifest.
    #[arg(long, default_value = "")]
    product: String,
    /// Data version (1 for the first registration, then 2, 3, … for updates).
    #[arg(long, default_value_t = 1)]
    version: u32,
    /// TOML file declaring views: `[[views]] name = "key"  columns = ["id", "name"]  round = { price = 0 }`.
    #[arg(long)]
    views: Option<PathBuf>,
    /// Secrets file (keys; created with mode 0600 if missing). Default: next to the manifest.
    #[arg(long)]
    secrets: Option<PathBuf>,
    /// FracMinHash scale s: one fingerprint in s is kept in the sketch.
    #[arg(long, default_value_t = 256)]
    scale: u64,
    /// Also keep every fingerprint (MANIFEST.fps) for exact containment later.
    #[arg(long)]
    keep_fingerprints: bool,
    /// The registry's discovery key (hex, from `dipr client discovery-key`): needed to file the manifest.
    #[arg(long, env = "DIPR_DISCOVERY_KEY", hide_env_values = true)]
    discovery_key: Option<String>,
    /// Worker threads (default: every core); the manifest is the same whatever the number.
    #[arg(long)]
    threads: Option<usize>,
    /// Add the views of --views to this registered manifest instead: the data must be the registered
    /// version; the new manifest (at --out) names it and keeps its commitment and views.
    #[arg(long, value_name = "MANIFEST")]
    extends: Option<PathBuf>,
}

#[derive(Args)]
pub struct DiscoverArgs {
    /// The suspect dataset, or a suspect package (a directory, an archive, a model file).
    suspect: PathBuf,
    #[arg(long)]
    format: Option<String>,
    #[arg(long, env = "DIPR_SERVER", default_value = "http://127.0.0.1:8080")]
    server: String,
    #[arg(long, env = "DIPR_TOKEN", hide_env_values = true)]
    token: String,
}

/// Ask the registry which registered products a suspect dataset contains.
pub fn discover(a: DiscoverArgs) -> Result<()> {
    let c = crate::client::Client::new(&a.server, Some(a.token));
    let info = c.call("GET", "/api/v1/fingerprint/discovery-key", None)?;
    let key = parse_key(info["key"].as_str().unwrap_or_default())?;
    let scale = info["scale"].as_u64().unwrap_or(256);
    let sketch = if crate::package::is_package(&a.suspect, a.format.as_deref(), false) {
        crate::package::with_package(&a.suspect, None, &mut |read| {
            dipr_fingerprint::package::package_discovery_sketch(read, &key)
        })?
    } else {
        let format = format_of(&a.suspect, a.format.as_deref())?;
        let sketch = dipr_fingerprint::discovery_sketch(
            open(&a.suspect, format)?,
            format,
            &key,
            scale,
            &mut progress("sketching suspect"),
        )?;
        eprintln!();
        sketch
    };
    let out = c.call("POST", "/api/v1/discover", Some(serde_json::to_value(&sketch)?))?;
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(())
}

#[derive(Args)]
pub struct ContainArgs {
    #[arg(long)]
    manifest: PathBuf,
    /// The suspect dataset, or the suspect package (a directory, an archive, a model file) when the
    /// manifest is a package's.
    #[arg(long)]
    suspect: PathBuf,
    /// The suspect package is this git commit of the work tree at --suspect.
    #[arg(long, value_name = "REV")]
    git_rev: Option<String>,
    #[arg(long)]
    format: Option<String>,
    /// Text encoding of the suspect: utf-8 or gb18030 (also reads GBK). Default: detected.
    #[arg(long)]
    encoding: Option<String>,
    /// The time zone of the suspect's times written without one: an IANA name (America/New_York,
    /// Asia/Shanghai, UTC) or an offset (+08:00).
    #[arg(long)]
    zone: Option<String>,
    /// A suspect column holding a registered column: `--map 航班号=flight` (repeatable; wins over
    /// --match-columns).
    #[arg(long = "map", value_name = "SUSPECT=REGISTERED")]
    map: Vec<String>,
    /// A suspect date column holding registered year, month and day columns: `--date date=year,month,day`.
    #[arg(long = "date", value_name = "SUSPECT=YEAR,MONTH,DAY")]
    dates: Vec<String>,
    /// A registered date column the suspect splits: `--date-parts date=Y,M,D` (the suspect's columns).
    #[arg(long = "date-parts", value_name = "REGISTERED=YEAR,MONTH,DAY")]
    date_parts: Vec<String>,
    /// Recognise the suspect's columns by their content (translated, renamed, reordered headers), print
    /// the proposal and measure with it. Needs MANIFEST.columns, written by `dipr fingerprint`.
    #[arg(long)]
    match_columns: bool,
    #[arg(long)]
    secrets: Option<PathBuf>,
    #[arg(long)]
    json: bool,
    /// Worker threads (default: every core).
    #[arg(long)]
    threads: Option<usize>,
}

#[derive(Args)]
pub struct ProveRecordArgs {
    #[arg(long)]
    manifest: PathBuf,
    /// The registered dataset or package (the same one that was fingerprinted).
    #[arg(long)]
    data: PathBuf,
    /// The package is this git commit of the work tree at --data (as when it was fingerprinted).
    #[arg(long, value_name = "REV")]
    git_rev: Option<String>,
    /// Which record, 1-based, in file order (a dataset).
    #[arg(long, required_unless_present = "file", conflicts_with = "file")]
    record: Option<u64>,
    /// Which file, by its path in the package (a package).
    #[arg(long)]
    file: Option<String>,
    #[arg(long)]
    secrets: Option<PathBuf>,
    #[arg(long)]
    out: PathBuf,
}

#[derive(Args)]
pub struct EvidenceArgs {
    /// The certificate (JSON) of the registered product.
    #[arg(long)]
    certificate: PathBuf,
    /// The manifest filed for it.
    #[arg(long)]
    manifest: PathBuf,
    /// The registered dataset or package itself (stays local; used to prove matching records or files).
    #[arg(long)]
    data: PathBuf,
    /// The registered package is this git commit of the work tree at --data.
    #[arg(long, value_name = "REV")]
    git_rev: Option<String>,
    /// The suspect dataset (or package, with a package's manifest).
    #[arg(long)]
    suspect: PathBuf,
    #[arg(long)]
    suspect_format: Option<String>,
    #[arg(long)]
    secrets: Option<PathBuf>,
    /// How many matching records to prove, per view.
    #[arg(long, default_value_t = 5)]
    records: usize,
    /// The time zone of the suspect's times written without one (stated in the bundle).
    #[arg(long)]
    zone: Option<String>,
    /// A suspect column holding a registered column: `--map 航班号=flight` (repeatable).
    #[arg(long = "map", value_name = "SUSPECT=REGISTERED")]
    map: Vec<String>,
    /// The registry's verifier key (`name+id+key`), or a file holding it: the report is green only when
    /// the certificate verifies against it; without it the report says the issuer is unconfirmed.
    #[arg(long)]
    trusted_key: Option<String>,
    /// Directory for bundle.json and report.html.
    #[arg(long)]
    out: PathBuf,
}

#[derive(Args)]
pub struct VerifyRecordArgs {
    /// The record proof (from `dipr prove-record`).
    proof: PathBuf,
    /// The file a package file proof is about, as it is now: it must be the committed file.
    #[arg(long)]
    file: Option<PathBuf>,
    /// Check the proof's root against this manifest…
    #[arg(long)]
    manifest: Option<PathBuf>,
    /// …or against this certificate's content commitment (also verified offline).
    #[arg(long)]
    certificate: Option<PathBuf>,
    #[arg(long)]
    trusted_key: Option<String>,
}

fn format_of(path: &Path, explicit: Option<&str>) -> Result<Format> {
    match explicit {
        Some(f) => {
            Format::parse(f).with_context(|| format!("--format {f:?}: use csv, tsv, jsonl, parquet, xlsx, xls or ods"))
        }
        None => Format::from_path(path)
            .with_context(|| format!("cannot tell the format of {}: pass --format", path.display())),
    }
}

/// The records of `path`: streamed for CSV, TSV and JSON Lines; Parquet and spreadsheets are opened
/// as files.
fn open(path: &Path, format: Format) -> Result<dipr_fingerprint::Input<std::fs::File>> {
    let file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    Ok(match format.needs_file() {
        true => dipr_fingerprint::Input::File(file),
        false => dipr_fingerprint::Input::Stream(file),
    })
}

fn encoding_of(explicit: Option<&str>) -> Result<Option<dipr_fingerprint::Encoding>> {
    explicit
        .map(|e| {
            dipr_fingerprint::Encoding::parse(e).with_context(|| format!("--encoding {e:?}: use utf-8 or gb18030"))
        })
        .transpose()
}

fn load_manifest(path: &Path) -> Result<Manifest> {
    let m: Manifest =
        serde_json::from_slice(&std::fs::read(path).with_context(|| format!("reading {}", path.display()))?)
            .with_context(|| format!("{} is not a dipr fingerprint manifest", path.display()))?;
    m.verify().with_context(|| format!("{}", path.display()))?;
    Ok(m)
}

/// A progress line on stderr: records and throughput.
fn progress(label: &'static str) -> impl FnMut(u64) {
    let start = Instant::now();
    move |n| {
        let rate = n as f64 / start.elapsed().as_secs_f64().max(1e-9);
        eprint!("\r{label}: {n} records, {:.2} M records/s   ", rate / 1e6);
    }
}

fn fps_path(manifest: &Path) -> PathBuf {
    manifest.with_extension("fps")
}

/// Sampled values per column (keyed fingerprints), to recognise a suspect's columns by: kept locally.
fn columns_path(manifest: &Path) -> PathBuf {
    manifest.with_extension("columns")
}

/// Kept fingerprints: per view, `u16 name length, name, u64 count, count × u64`, big-endian.
fn write_fps(path: &Path, kept: &BTreeMap<String, Vec<u64>>) -> Result<()> {
    let mut out = Vec::new();
    for (name, fps) in kept {
        out.extend((name.len() as u16).to_be_bytes());
        out.extend(name.as_bytes());
        out.extend((fps.len() as u64).to_be_bytes());
        for f in fps {
            out.extend(f.to_be_bytes());
        }
    }
    write_private(path, "")?;
    std::fs::write(path, out)?;
    Ok(())
}

fn read_fps(path: &Path) -> Result<BTreeMap<String, Vec<u64>>> {
    let mut bytes = Vec::new();
    std::fs::File::open(path)?.read_to_end(&mut bytes)?;
    let mut out = BTreeMap::new();
    let mut rest = &bytes[..];
    let take = |rest: &mut &[u8], n: usize| -> Result<Vec<u8>> {
        if rest.len() < n {
            bail!("{} is truncated", path.display());
        }
        let (a, b) = rest.split_at(n);
        *rest = b;
        Ok(a.to_vec())
    };
    while !rest.is_empty() {
        let len = u16::from_be_bytes(take(&mut rest, 2)?.try_into().expect("2")) as usize;
        let name = String::from_utf8(take(&mut rest, len)?)?;
        let count = u64::from_be_bytes(take(&mut rest, 8)?.try_into().expect("8")) as usize;
        let raw = take(&mut rest, count * 8)?;
        out.insert(name, raw.chunks(8).map(|c| u64::from_be_bytes(c.try_into().expect("8"))).collect());
    }
    Ok(out)
}

pub fn fingerprint(a: FingerprintArgs) -> Result<()> {
    if crate::package::is_package(&a.data, a.format.as_deref(), a.git_rev.is_some()) {
        if a.views.is_some() || a.extends.is_some() || a.keep_fingerprints || a.encoding.is_some() {
            bail!("--views, --extends, --keep-fingerprints and --encoding are for datasets, not packages");
        }
        return crate::package::fingerprint(crate::package::Job {
            data: a.data,
            git_rev: a.git_rev,
            out: a.out,
            secrets: a.secrets,
            product: a.product,
            version: a.version,
            scale: a.scale,
            discovery_key: a.discovery_key,
            threads: a.threads,
        });
    }
    let format = format_of(&a.data, a.format.as_deref())?;
    let views: Vec<ViewSpec> = match &a.views {
        Some(p) => {
            #[derive(serde::Deserialize)]
            #[serde(deny_unknown_fields)]
            struct ViewsFile {
                views: Vec<ViewSpec>,
            }
            let text = std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
            toml::from_str::<ViewsFile>(&text).with_context(|| format!("in {}", p.display()))?.views
        }
        None => Vec::new(),
    };
    if a.out.exists() {
        bail!("{} exists; choose another --out (manifests are never overwritten)", a.out.display());
    }
    // Checked now rather than after reading the whole dataset.
    for side in [fps_path(&a.out), columns_path(&a.out)] {
        if side.exists() {
            bail!("{} exists, left by an earlier manifest: remove it or choose another --out", side.display());
        }
    }
    if let Some(previous) = &a.extends {
        let old = load_manifest(previous)?;
        let secrets = load_secrets(&secrets_path(previous, a.secrets.as_ref()))?;
        if views.is_empty() {
            bail!("--extends adds the views of --views: declare at least one");
        }
        let tuning = dipr_fingerprint::Tuning {
            threads: a.threads,
            encoding: encoding_of(a.encoding.as_deref())?,
            ..Default::default()
        };
        let new = dipr_fingerprint::add_views(
            &old,
            &secrets,
            open(&a.data, old.format)?,
            &views,
            &tuning,
            &mut progress("fingerprinting"),
        )?;
        eprintln!();
        write_private(&a.out, &serde_json::to_string_pretty(&new)?)?;
        eprintln!("{} views added; manifest {} extends {}", views.len(), a.out.display(), previous.display());
        println!("{}", new.digest());
        return Ok(());
    }
    let secrets = owner_secrets(&a.out, a.secrets.as_ref())?;
    let discovery_key = a.discovery_key.as_deref().map(parse_key).transpose()?;
    let opts = dipr_fingerprint::Options {
        format,
        product: a.product,
        version: a.version,
        views,
        scale: a.scale,
        keep_fingerprints: a.keep_fingerprints,
        discovery_key,
    };
    let start = Instant::now();
    let tuning = dipr_fingerprint::Tuning {
        threads: a.threads,
        encoding: encoding_of(a.encoding.as_deref())?,
        ..Default::default()
    };
    let fp = dipr_fingerprint::fingerprint_with(
        open(&a.data, format)?,
        &opts,
        &tuning,
        &secrets,
        &mut progress("fingerprinting"),
    )?;
    eprintln!();
    let m = &fp.manifest;
    std::fs::write(&a.out, serde_json::to_string_pretty(m)?)?;
    if let Some(kept) = &fp.kept {
        write_fps(&fps_path(&a.out), kept)?;
    }
    write_private(&columns_path(&a.out), &serde_json::to_string(&fp.columns)?)?;
    let secs = start.elapsed().as_secs_f64();
    eprintln!(
        "{} records ({} distinct) in {secs:.2} s ({:.2} M records/s); root {}; manifest {}",
        m.records_read,
        m.distinct_records,
        m.records_read as f64 / secs / 1e6,
        m.root,
        a.out.display()
    );
    println!("{}", m.digest());
    Ok(())
}

/// Containment of the registered data in `suspect`, exact when the fingerprints were kept.
fn measure(
    manifest_path: &Path,
    manifest: &Manifest,
    secrets: &Secrets,
    suspect: &Path,
    format: Option<&str>,
    tuning: &dipr_fingerprint::Tuning,
) -> Result<dipr_fingerprint::ContainmentReport> {
    let format = format_of(suspect, format)?;
    let kept = fps_path(manifest_path);
    let kept = if kept.exists() { Some(read_fps(&kept)?) } else { None };
    let report = dipr_fingerprint::contain_with(
        manifest,
        secrets,
        open(suspect, format)?,
        format,
        kept.as_ref(),
        tuning,
        &mut progress("reading suspect"),
    )?;
    eprintln!();
    Ok(report)
}

pub fn contain(a: ContainArgs) -> Result<()> {
    let manifest = load_manifest(&a.manifest)?;
    let secrets = load_secrets(&secrets_path(&a.manifest, a.secrets.as_ref()))?;
    if manifest.format == Format::Package {
        let tuning = dipr_fingerprint::Tuning { threads: a.threads, ..Default::default() };
        return crate::package::contain(
            &a.manifest,
            &manifest,
            &secrets,
            &a.suspect,
            a.git_rev.as_deref(),
            &tuning,
            a.json,
        );
    }
    let tuning = dipr_fingerprint::Tuning {
        threads: a.threads,
        encoding: encoding_of(a.encoding.as_deref())?,
        zone: a.zone.as_deref().map(dipr_fingerprint::lenient::Zone::parse).transpose().context("--zone")?,
        ..Default::default()
    };
    let mut tuning = tuning;
    if a.match_columns {
        let path = columns_path(&a.manifest);
        let registered: dipr_fingerprint::ColumnValues = serde_json::from_slice(
            &std::fs::read(&path).with_context(|| format!("reading {} (--match-columns)", path.display()))?,
        )?;
        let format = format_of(&a.suspect, a.format.as_deref())?;
        let proposal = dipr_fingerprint::propose_columns(
            &manifest,
            &secrets,
            &registered,
            open(&a.suspect, format)?,
            format,
            &tuning,
        )?;
        eprintln!("columns recognised by content (suspect → registered, score, next best):");
        for c in &proposal {
            let guess = if c.runner_up > 0.8 * c.score { "  — close: confirm with --map" } else { "" };
            eprintln!("  {} → {}  {:.2}  {:.2}{guess}", c.suspect, c.registered, c.score, c.runner_up);
            tuning.columns.insert(c.suspect.clone(), c.registered.clone());
        }
    }
    add_mapping(&mut tuning, &a.map)?;
    for (arg, rules, into) in
        [("--date", &a.dates, &mut tuning.dates), ("--date-parts", &a.date_parts, &mut tuning.date_parts)]
    {
        for rule in rules {
            let parsed = rule.split_once('=').and_then(|(k, v)| {
                let parts: Vec<String> = v.split(',').map(dipr_fingerprint::canon::name).collect();
                Some((dipr_fingerprint::canon::name(k), <[String; 3]>::try_from(parts).ok()?))
            });
            let (k, v) = parsed.with_context(|| format!("{arg} {rule:?}: write NAME=YEAR,MONTH,DAY"))?;
            into.insert(k, v);
        }
    }
    let report = measure(&a.manifest, &manifest, &secrets, &a.suspect, a.format.as_deref(), &tuning)?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }
    println!("包含度报告 / Containment report — {} (root {})", report.product, &report.root[..16]);
    println!("可疑数据 suspect: {} records\n", report.suspect_records);
    for v in &report.views {
        println!(
            "视图 view {:<10} {:>6.2}%  (95% 区间 interval {:.2}%–{:.2}%)  ≈ {} of my records  [{}: {} of {} matched]",
            v.view,
            v.estimate * 100.0,
            v.low * 100.0,
            v.high * 100.0,
            v.records_found,
            v.mode,
            v.matched,
            v.owner_sample
        );
        if !v.missing_columns.is_empty() {
            println!("    the suspect lacks columns {:?}: this view cannot match", v.missing_columns);
        }
        for u in &v.unread {
            println!(
                "    {}: {:.0}% of {} cells not read as {:?} (e.g. {:?}): {}",
                u.column,
                u.share_unread * 100.0,
                u.cells,
                u.registered_type,
                u.example,
                u.hint
            );
        }
        if let Some(c) = &v.caution {
            println!("    注意 caution: {c}");
        }
    }
    Ok(())
}

/// `--map SUSPECT=REGISTERED` entries, over any proposal.
fn add_mapping(tuning: &mut dipr_fingerprint::Tuning, map: &[String]) -> Result<()> {
    for m in map {
        let (suspect, registered) =
            m.split_once('=').with_context(|| format!("--map {m:?}: write SUSPECT=REGISTERED"))?;
        tuning.columns.insert(dipr_fingerprint::canon::name(suspect), dipr_fingerprint::canon::name(registered));
    }
    Ok(())
}

pub fn prove_record(a: ProveRecordArgs) -> Result<()> {
    let manifest = load_manifest(&a.manifest)?;
    let secrets = load_secrets(&secrets_path(&a.manifest, a.secrets.as_ref()))?;
    let (proof, what) = match (&a.file, a.record) {
        (Some(file), _) => {
            let proof = crate::package::with_package(&a.data, a.git_rev.as_deref(), &mut |read| {
                dipr_fingerprint::package::prove_file(&manifest, &secrets, read, file)
            })?;
            (proof, format!("file {file}"))
        }
        (None, Some(n)) => {
            if manifest.format == Format::Package {
                bail!("{} is a package's manifest: name the file with --file PATH", a.manifest.display());
            }
            (
                dipr_fingerprint::prove_record(&manifest, &secrets, open(&a.data, manifest.format)?, n)?,
                format!("record {n}"),
            )
        }
        (None, None) => bail!("name the record (--record N) or the package file (--file PATH) to prove"),
    };
    std::fs::write(&a.out, serde_json::to_string_pretty(&proof)?)?;
    eprintln!("{what} proven against root {} ({} sibling hashes): {}", proof.root, proof.path.len(), a.out.display());
    Ok(())
}

pub fn verify_record(a: VerifyRecordArgs) -> Result<()> {
    let proof: RecordProof =
        serde_json::from_slice(&std::fs::read(&a.proof).with_context(|| format!("reading {}", a.proof.display()))?)
            .with_context(|| format!("{} is not a record proof", a.proof.display()))?;
    let mut ok = true;
    let mut say = |good: bool, zh: String, en: String| {
        ok &= good;
        println!("[{}] {zh}\n      {en}", if good { "通过 PASS" } else { "失败 FAIL" });
    };
    match proof.verify() {
        Ok(()) => say(
            true,
            format!("该记录在承诺根 {} 之下", &proof.root[..16]),
            format!("the record is under commitment root {}", &proof.root[..16]),
        ),
        Err(e) => say(false, format!("记录证明无效：{e}"), format!("the record proof is invalid: {e}")),
    }
    if let Some(f) = &a.file {
        let bytes = std::fs::read(f).with_context(|| format!("reading {}", f.display()))?;
        let path = proof.record.get("path").cloned().flatten().unwrap_or_default();
        match dipr_fingerprint::package::verify_file(&proof, &bytes) {
            Ok(()) => say(
                true,
                format!("文件 {} 即所承诺的文件 {path}", f.display()),
                format!("{} is the committed file {path}", f.display()),
            ),
            Err(e) => {
                say(false, format!("文件 {} 不是所承诺的文件：{e}", f.display()), format!("{}: {e}", f.display()))
            }
        }
    }
    if let Some(m) = &a.manifest {
        let manifest = load_manifest(m)?;
        say(manifest.root == proof.root, "根与清单一致".into(), "the root matches the manifest".into());
    }
    if let Some(c) = &a.certificate {
        use dipr_ledger::certificate::{render_report, verify, Certificate};
        let cert = Certificate::parse(&std::fs::read(c)?).map_err(|e| anyhow::anyhow!("{}: {e}", c.display()))?;
        let trusted = a
            .trusted_key
            .as_deref()
            .map(dipr_ledger::note::NoteVerifier::parse)
            .transpose()
            .map_err(|e| anyhow::anyhow!("--trusted-key: {e}"))?;
        let report = verify(&cert, trusted.as_ref(), None);
        print!("{}", render_report(&report));
        let committed = cert
            .statement
            .content_commitment
            .as_ref()
            .and_then(|c| c.get("root"))
            .and_then(|r| r.as_str())
            .unwrap_or("");
        say(report.ok, "证书有效".into(), "the certificate is valid".into());
        say(
            committed == proof.root,
            "证书登记的内容承诺即此根".into(),
            "the certificate's registered content commitment is this root".into(),
        );
    }
    if !ok {
        std::process::exit(1);
    }
    Ok(())
}

pub fn evidence(a: EvidenceArgs) -> Result<()> {
    use dipr_fingerprint::evidence::{prove_matches_with, verify, EvidenceBundle, SuspectInfo};
    let manifest = load_manifest(&a.manifest)?;
    let secrets = load_secrets(&secrets_path(&a.manifest, a.secrets.as_ref()))?;
    let trusted = a.trusted_key.as_deref().map(crate::trusted_key).transpose()?;
    let cert = dipr_ledger::certificate::Certificate::parse(
        &std::fs::read(&a.certificate).with_context(|| format!("reading {}", a.certificate.display()))?,
    )
    .map_err(|e| anyhow::anyhow!("{}: {e}", a.certificate.display()))?;
    if manifest.format == Format::Package {
        let (bundle, check) = crate::package::evidence(
            &a.manifest,
            manifest,
            &secrets,
            cert,
            &a.data,
            a.git_rev.as_deref(),
            &a.suspect,
            a.records,
            trusted.as_ref(),
        )?;
        return write_evidence(&a.out, &bundle, &check);
    }
    let mut tuning = dipr_fingerprint::Tuning {
        zone: a.zone.as_deref().map(dipr_fingerprint::lenient::Zone::parse).transpose().context("--zone")?,
        ..Default::default()
    };
    add_mapping(&mut tuning, &a.map)?;
    let report = measure(&a.manifest, &manifest, &secrets, &a.suspect, a.suspect_format.as_deref(), &tuning)?;
    let suspect_format = format_of(&a.suspect, a.suspect_format.as_deref())?;
    let (proofs, matches) = prove_matches_with(
        &manifest,
        &secrets,
        &report,
        open(&a.data, manifest.format)?,
        open(&a.suspect, suspect_format)?,
        suspect_format,
        &tuning,
        a.records,
    )?;
    let (sha256, bytes) = {
        use sha2::Digest;
        let mut h = sha2::Sha256::new();
        let bytes = std::io::copy(&mut std::fs::File::open(&a.suspect)?, &mut h)?;
        (h.finalize().iter().map(|b| format!("{b:02x}")).collect(), bytes)
    };
    let suspect = SuspectInfo {
        file_name: a.suspect.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
        sha256,
        bytes,
        records: report.suspect_records,
    };
    let mut bundle = EvidenceBundle::new(cert, manifest, suspect, &report, proofs, matches, &secrets.signer);
    if let Some(zone) = &a.zone {
        bundle = bundle.read_in_zone(zone, &secrets.signer);
    }
    let check = verify(&bundle, trusted.as_ref(), None);
    write_evidence(&a.out, &bundle, &check)
}

/// bundle.json and report.html in `out`; fails when the bundle does not verify.
pub(crate) fn write_evidence(
    out: &Path,
    bundle: &dipr_fingerprint::evidence::EvidenceBundle,
    check: &dipr_ledger::certificate::Report,
) -> Result<()> {
    use dipr_ledger::certificate::Verdict;
    std::fs::create_dir_all(out)?;
    std::fs::write(out.join("bundle.json"), serde_json::to_string_pretty(bundle)?)?;
    std::fs::write(out.join("report.html"), dipr_fingerprint::evidence::render_html(bundle, check))?;
    eprintln!(
        "evidence: {} record proofs; bundle {} and report {} ({})",
        bundle.record_proofs.len(),
        out.join("bundle.json").display(),
        out.join("report.html").display(),
        match check.verdict() {
            Verdict::Valid => "self-check passed",
            Verdict::SelfConsistentOnly =>
                "self-check passed, but without --trusted-key the issuer is unconfirmed: the report says so in amber",
            Verdict::Invalid => "self-check FAILED",
        }
    );
    if !check.ok {
        std::process::exit(1);
    }
    Ok(())
}
