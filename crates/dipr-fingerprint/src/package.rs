//! Algorithm packages (source code, pipelines, models) fingerprinted like datasets: a package is the
//! table of its canonical files — one record `{path, content, bytes}` per file, `content` the BLAKE3 of
//! the file's canonical bytes — so the salted commitment, the signed manifest, record proofs, filing and
//! certificates are the dataset ones. A file proof is a record proof whose `content` a verifier
//! recomputes from the file. The manifest's `package` section adds what matching needs: files and bytes
//! per language, a keyed sample of the code's winnowing fingerprints and the keyed hash of every tensor.

use std::collections::{BTreeMap, HashSet};

use dipr_package::code::{self, CodeParams, FileCode};
use dipr_package::language::Language;
use dipr_package::source::PackageFile;
use dipr_package::weights::{self, TensorEntry};
use dipr_package::PackageError;
use serde::{Deserialize, Serialize};

use crate::{
    discovery_key_id, fingerprint_with, prove_where, DiscoverySketch, FingerprintError, Format, Input, Manifest,
    Options, RecordProof, Secrets, Tuning, ViewSpec,
};

/// One scale for every package's discovery sketch, so any two can be compared: one winnowed code
/// fingerprint in 8; every tensor and every other file is kept.
pub const PACKAGE_DISCOVERY_SCALE: u64 = 8;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LanguageCount {
    pub files: u64,
    pub bytes: u64,
}

/// What a package manifest adds to a dataset's.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PackageSummary {
    pub files: u64,
    /// Canonical bytes over every file.
    pub bytes: u64,
    pub text_files: u64,
    /// Source files and their bytes per language (see `dipr_package::language`).
    pub languages: BTreeMap<String, LanguageCount>,
    /// Every tensor of the package's weights files (safetensors, ONNX), by its hash under the owner's
    /// key: dtype, shape and bytes, names and shards left out. Sorted by hash.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tensors: Vec<TensorEntry>,
    /// A sample of the source code's winnowing fingerprints under the owner's key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<CodeSketch>,
}

/// The source code's keyed winnowing fingerprints, sampled (see `dipr_package::code`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CodeSketch {
    /// k-grams of `k` normalised tokens, the smallest hash of every `w` consecutive ones kept.
    pub k: u32,
    pub w: u32,
    /// Distinct fingerprints over every source file.
    pub fingerprints: u64,
    /// One fingerprint in `scale` is in the sample (at 1, every one).
    pub scale: u64,
    /// Sorted sample values (hex u64).
    pub sketch: Vec<String>,
}

impl CodeSketch {
    pub fn values(&self) -> Vec<u64> {
        self.sketch.iter().filter_map(|h| u64::from_str_radix(h, 16).ok()).collect()
    }
}

/// The code sample keeps at most this many fingerprints: the scale doubles until it does.
pub const CODE_SAMPLE_CAP: usize = 8192;

/// The owner's full winnowing fingerprints of a package, with the lines each covers: kept beside the
/// manifest (never filed), so that `dipr contain` measures exactly and lists the matched regions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LocalCode {
    pub v: String,
    pub root: String,
    pub params: CodeParams,
    pub files: Vec<FileCode>,
}

pub const LOCAL_CODE_VERSION: &str = "dipr-package-code/2";

impl PackageSummary {
    /// Parameters (tensor elements) over every tensor.
    pub fn parameters(&self) -> u64 {
        self.tensors.iter().map(|t| t.shape.iter().product::<u64>()).sum()
    }
}

/// The owner's keys for a package's tensors and code, derived from the sampling key.
struct OwnerKeys {
    tensors: [u8; 32],
    code: [u8; 32],
}

impl OwnerKeys {
    fn of(secrets: &Secrets) -> Self {
        let derive = |what: &[u8]| *blake3::keyed_hash(&secrets.sampling_key, what).as_bytes();
        Self { tensors: derive(b"dipr package tensors/1"), code: derive(b"dipr package code/1") }
    }
}

impl From<PackageError> for FingerprintError {
    fn from(e: PackageError) -> Self {
        match e {
            PackageError::Invalid(m) => FingerprintError::Invalid(m),
            PackageError::Io(e) => FingerprintError::Io(e),
        }
    }
}

/// A package's files, as `read` gives them (e.g. `|each| source.read(each)`).
pub type ReadPackage<'a> =
    dyn FnMut(&mut dyn FnMut(PackageFile) -> Result<(), PackageError>) -> Result<u64, PackageError> + 'a;

pub struct PackageOptions {
    pub product: String,
    pub version: u32,
    /// The largest FracMinHash scale of the files' sketch.
    pub scale: u64,
    /// The registry's discovery key (needed to file the manifest).
    pub discovery_key: Option<[u8; 32]>,
}

/// One item of a package's discovery sketch, under the registry's discovery key.
fn discovery_item(key: &[u8; 32], domain: &[u8], bytes: &[u8]) -> u64 {
    let mut h = blake3::Hasher::new_keyed(key);
    h.update(domain);
    h.update(bytes);
    u64::from_be_bytes(h.finalize().as_bytes()[..8].try_into().expect("8 bytes"))
}

/// What reading a package gives: the file table as JSON Lines (path order), the summary and the
/// discovery sketch's values (when a discovery key was given).
struct Read {
    table: Vec<u8>,
    summary: PackageSummary,
    discovery: Vec<u64>,
    /// Every source file's fingerprints under the owner's code key (when the owner's keys were given).
    code: Vec<FileCode>,
}

fn file_table(read: &mut ReadPackage<'_>, threads: usize) -> Result<(Vec<u8>, PackageSummary), FingerprintError> {
    let r = read_package(read, None, None, threads)?;
    Ok((r.table, r.summary))
}

/// Every core, or as many workers as asked for.
fn threads(tuning: &Tuning) -> usize {
    tuning.threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())).max(1)
}

/// Run `work` over every file `read` gives, on `threads` workers, each gathering its results in its own
/// `P`: files are read one after another and processed at once, a few in flight (memory stays bounded by
/// the largest files, not the package).
fn on_workers<P: Default + Send>(
    read: &mut ReadPackage<'_>,
    threads: usize,
    work: &(dyn Fn(&mut P, PackageFile) -> Result<(), PackageError> + Sync),
) -> Result<Vec<P>, FingerprintError> {
    let (tx, rx) = std::sync::mpsc::sync_channel::<PackageFile>(2 * threads);
    let rx = std::sync::Mutex::new(rx);
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let (mut part, mut failed) = (P::default(), None);
                    // A worker that failed keeps receiving, so that reading never waits on it. The lock is
                    // released before the file is worked on (a `while let` would hold it through the body).
                    loop {
                        let next = rx.lock().expect("no worker panics holding it").recv();
                        let Ok(f) = next else { break };
                        if failed.is_none() {
                            failed = work(&mut part, f).err();
                        }
                    }
                    failed.map_or(Ok(part), Err)
                })
            })
            .collect();
        let sent = read(&mut |f| tx.send(f).map_err(|_| PackageError::Invalid("the package's workers stopped".into())));
        drop(tx);
        let parts: Result<Vec<P>, PackageError> =
            workers.into_iter().map(|w| w.join().expect("a worker does not panic")).collect();
        // A file's own error (a refused pickle, a damaged model) says more than the reader's.
        let parts = parts?;
        sent?;
        Ok(parts)
    })
}

/// One worker's share of a package read by [`read_package`].
#[derive(Default)]
struct Part {
    rows: Vec<(String, String)>,
    summary: PackageSummary,
    discovery: Vec<u64>,
    code: Vec<FileCode>,
}

/// Read a package: its file table always; its tensors and code when the owner's keys are given; its
/// discovery sketch when the registry's key is. The result is the same whatever the number of threads.
fn read_package(
    read: &mut ReadPackage<'_>,
    owner: Option<&OwnerKeys>,
    discovery_key: Option<&[u8; 32]>,
    threads: usize,
) -> Result<Read, FingerprintError> {
    let params = CodeParams::default();
    let work = |part: &mut Part, f: PackageFile| -> Result<(), PackageError> {
        // Text, in a language the tokeniser knows: source code.
        let source = f
            .text
            .then(|| std::str::from_utf8(&f.content).ok())
            .flatten()
            .filter(|_| Language::of_path(&f.path).is_some());
        if let Some(text) = source {
            if let Some(keys) = owner {
                part.code.extend(code::fingerprint_file(&keys.code, &params, &f.path, text));
            }
            if let Some(file) = discovery_key.and_then(|key| code::fingerprint_file(key, &params, &f.path, text)) {
                part.discovery.extend(code::sample(&[file], PACKAGE_DISCOVERY_SCALE));
            }
        }
        if let Some(why) = weights::refused(&f.path, &f.content) {
            return Err(PackageError::Invalid(format!("{}: {why}", f.path)));
        }
        if weights::is_weights_file(&f.path) && (owner.is_some() || discovery_key.is_some()) {
            let tensors = weights::read_tensors(&f.path, &f.content)?;
            if let Some(keys) = owner {
                part.summary.tensors.extend(weights::entries(&keys.tensors, &tensors));
            }
            if let Some(key) = discovery_key {
                part.discovery.extend(tensors.iter().map(|t| first_u64(&weights::tensor_hash(key, t))));
            }
        } else if let Some(key) = discovery_key.filter(|_| source.is_none()) {
            part.discovery.push(discovery_item(key, b"dipr package file/1\0", &f.content));
        }
        let bytes = f.content.len() as u64;
        let summary = &mut part.summary;
        summary.files += 1;
        summary.bytes += bytes;
        summary.text_files += u64::from(f.text);
        if let Some(lang) = Language::of_path(&f.path).filter(|_| f.text) {
            let c = summary.languages.entry(lang.as_str().to_string()).or_default();
            c.files += 1;
            c.bytes += bytes;
        }
        let row = serde_json::json!({"path": f.path, "content": f.content_hash(), "bytes": bytes});
        part.rows.push((f.path, row.to_string()));
        Ok(())
    };
    let mut all = Part::default();
    for part in on_workers(read, threads, &work)? {
        all.rows.extend(part.rows);
        all.discovery.extend(part.discovery);
        all.code.extend(part.code);
        let (a, p) = (&mut all.summary, part.summary);
        (a.files, a.bytes, a.text_files) = (a.files + p.files, a.bytes + p.bytes, a.text_files + p.text_files);
        a.tensors.extend(p.tensors);
        for (lang, c) in p.languages {
            let into = a.languages.entry(lang).or_default();
            (into.files, into.bytes) = (into.files + c.files, into.bytes + c.bytes);
        }
    }
    let Part { mut rows, mut summary, mut discovery, mut code } = all;
    if rows.is_empty() {
        return Err(FingerprintError::Invalid("the package has no files".into()));
    }
    rows.sort();
    let mut table = Vec::new();
    for (_, r) in rows {
        table.extend_from_slice(r.as_bytes());
        table.push(b'\n');
    }
    discovery.sort_unstable();
    discovery.dedup();
    summary.tensors.sort_by(|a, b| a.hash.cmp(&b.hash));
    code.sort_by(|a, b| a.path.cmp(&b.path));
    if !code.is_empty() {
        summary.code = Some(code_sketch(&code, &params));
    }
    Ok(Read { table, summary, discovery, code })
}

/// The smallest power-of-two scale whose sample keeps at most [`CODE_SAMPLE_CAP`] fingerprints.
fn code_sketch(files: &[FileCode], params: &CodeParams) -> CodeSketch {
    let all = code::sample(files, 1);
    let mut scale = 1u64;
    let mut kept = all.clone();
    while kept.len() > CODE_SAMPLE_CAP {
        scale *= 2;
        kept = code::thin(&kept, scale);
    }
    CodeSketch {
        k: params.k as u32,
        w: params.w as u32,
        fingerprints: all.len() as u64,
        scale,
        sketch: kept.iter().map(|h| format!("{h:016x}")).collect(),
    }
}

fn first_u64(hash: &[u8; 32]) -> u64 {
    u64::from_be_bytes(hash[..8].try_into().expect("8 bytes"))
}

/// A package's signed manifest and what its owner keeps beside it.
pub struct PackageFingerprints {
    pub manifest: Manifest,
    /// Every source file's fingerprints, for exact containment (`None`: the package has no source code).
    pub code: Option<LocalCode>,
}

/// Fingerprint a package: its files' commitment and sketch, its code's and tensors', signed.
pub fn fingerprint_package(
    read: &mut ReadPackage<'_>,
    opts: &PackageOptions,
    tuning: &Tuning,
    secrets: &Secrets,
) -> Result<PackageFingerprints, FingerprintError> {
    let Read { table, summary, discovery, code } =
        read_package(read, Some(&OwnerKeys::of(secrets)), opts.discovery_key.as_ref(), threads(tuning))?;
    let files = Options {
        format: Format::Package,
        product: opts.product.clone(),
        version: opts.version,
        // `content`: the same file anywhere in a suspect, whatever its path.
        views: vec![
            ViewSpec::full(),
            ViewSpec { name: "content".into(), columns: Some(vec!["content".into()]), ..ViewSpec::full() },
        ],
        scale: opts.scale,
        keep_fingerprints: false,
        discovery_key: None,
    };
    let mut manifest = fingerprint_with(Input::Stream(&table[..]), &files, tuning, secrets, &mut |_| {})?.manifest;
    manifest.package = Some(summary);
    manifest.discovery = opts.discovery_key.map(|k| DiscoverySketch {
        key_id: discovery_key_id(&k),
        scale: PACKAGE_DISCOVERY_SCALE,
        sketch: discovery.iter().map(|h| format!("{h:016x}")).collect(),
    });
    manifest.sign(&secrets.signer);
    let code = (!code.is_empty()).then(|| LocalCode {
        v: LOCAL_CODE_VERSION.into(),
        root: manifest.root.clone(),
        params: CodeParams::default(),
        files: code,
    });
    Ok(PackageFingerprints { manifest, code })
}

/// The discovery sketch of a suspect package, to ask the registry which registered packages it holds.
pub fn package_discovery_sketch(
    read: &mut ReadPackage<'_>,
    key: &[u8; 32],
) -> Result<DiscoverySketch, FingerprintError> {
    let r = read_package(read, None, Some(key), threads(&Tuning::default()))?;
    Ok(DiscoverySketch {
        key_id: discovery_key_id(key),
        scale: PACKAGE_DISCOVERY_SCALE,
        sketch: r.discovery.iter().map(|h| format!("{h:016x}")).collect(),
    })
}

/// Prove that the file at `path` is in a package's commitment: the package is read again and must give
/// the manifest's root.
pub fn prove_file(
    manifest: &Manifest,
    secrets: &Secrets,
    read: &mut ReadPackage<'_>,
    path: &str,
) -> Result<RecordProof, FingerprintError> {
    if manifest.format != Format::Package {
        return Err(FingerprintError::Invalid("this manifest is a dataset's, not a package's".into()));
    }
    let path = dipr_package::source::normalise_path(path)?;
    let at = manifest
        .schema
        .iter()
        .position(|c| c.name == "path")
        .ok_or_else(|| FingerprintError::Invalid("the manifest's schema has no path column".into()))?;
    let (table, _) = file_table(read, threads(&Tuning::default()))?;
    let (_, mut proven) = prove_where(manifest, secrets, Input::Stream(&table[..]), &[], |_, values, _| {
        (values[at] == Some(&path)).then_some(())
    })?;
    match proven.pop() {
        Some(((), proof)) => Ok(proof),
        None => Err(FingerprintError::Invalid(format!("the package has no file {path:?}"))),
    }
}

/// Check a file proof and that `file` (its bytes as they are now) is the file it proves.
pub fn verify_file(proof: &RecordProof, file: &[u8]) -> Result<(), FingerprintError> {
    proof.verify()?;
    let field = |name: &str| proof.record.get(name).cloned().flatten().unwrap_or_default();
    if PackageFile::new(field("path"), file.to_vec()).content_hash() != field("content") {
        return Err(FingerprintError::Invalid(
            "the file is not the committed one: its content differs from what the proof states".into(),
        ));
    }
    Ok(())
}

/// Registered tensors found unchanged in a suspect.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TensorContainment {
    #[serde(flatten)]
    pub exact: weights::ExactMatch,
    /// Of the matched, how many the suspect holds as the transpose of the registered matrix (as
    /// PyTorch's ONNX exporter writes linear layers).
    pub transposed: u64,
}

/// How much of a registered package a suspect package holds: whole files (at the same path, and
/// anywhere), and tensors.
#[derive(Debug, Clone, Serialize)]
pub struct PackageContainment {
    pub product: String,
    pub root: String,
    pub suspect_files: u64,
    /// Per view of the file table: `full` (same path and content) and `content` (same content anywhere).
    pub views: Vec<crate::ViewContainment>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tensors: Option<TensorContainment>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<CodeReport>,
    /// For a court bundle: each registered file proven found whole, and the suspect file equal to it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub whole: Vec<WholeFile>,
}

/// A registered file found unchanged in the suspect package, and where.
#[derive(Debug, Clone, Serialize)]
pub struct WholeFile {
    pub registered: String,
    pub suspect: String,
}

/// How much of the registered source code is in the suspect's.
#[derive(Debug, Clone, Serialize)]
pub struct CodeReport {
    /// `exact` (from the owner's full fingerprints) or `sketch` (the manifest's sample).
    pub mode: &'static str,
    /// Registered fingerprints considered, and of those found in the suspect.
    pub registered: u64,
    pub matched: u64,
    pub estimate: f64,
    /// 95% Wilson interval (the estimate itself when exact).
    pub low: f64,
    pub high: f64,
    /// Per registered file, with the matched regions and where in the suspect they are (exact only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<code::CodeContainment>,
}

/// A suspect package as the owner's keys see it: its file table (path order), code and tensors.
#[derive(Default)]
struct Suspect {
    /// (path, content hash, bytes), by path.
    rows: Vec<(String, String, u64)>,
    code: Vec<FileCode>,
    tensors: Vec<TensorEntry>,
    /// Its 2-D tensors transposed: one registered matrix is found either way round.
    transposed: Vec<TensorEntry>,
}

impl Suspect {
    /// Read with the owner's keys; a 2-D tensor is also hashed transposed when it does not match
    /// `registered` as it is and its transpose has the shape and dtype of a registered tensor.
    fn read(
        keys: &OwnerKeys,
        registered: &PackageSummary,
        read: &mut ReadPackage<'_>,
        threads: usize,
    ) -> Result<Self, FingerprintError> {
        let hashes: HashSet<&str> = registered.tensors.iter().map(|t| t.hash.as_str()).collect();
        let kinds: HashSet<(&str, &[u64])> =
            registered.tensors.iter().map(|t| (t.dtype.as_str(), t.shape.as_slice())).collect();
        let params = CodeParams::default();
        let work = |s: &mut Suspect, f: PackageFile| -> Result<(), PackageError> {
            if let Some(text) = f.text.then(|| std::str::from_utf8(&f.content).ok()).flatten() {
                s.code.extend(code::fingerprint_file(&keys.code, &params, &f.path, text));
            }
            if weights::refused(&f.path, &f.content).is_none() && weights::is_weights_file(&f.path) {
                let tensors = weights::read_tensors(&f.path, &f.content)?;
                for (t, entry) in tensors.iter().zip(weights::entries_in_order(&keys.tensors, &tensors)) {
                    let flipped_shape: Vec<u64> = t.shape.iter().rev().copied().collect();
                    let worth = !hashes.contains(entry.hash.as_str())
                        && t.shape.len() == 2
                        && kinds.contains(&(entry.dtype.as_str(), flipped_shape.as_slice()));
                    if let Some(flipped) = worth.then(|| weights::transposed(t)).flatten() {
                        s.transposed.extend(weights::entries(&keys.tensors, &[flipped]));
                    }
                    s.tensors.push(entry);
                }
            }
            s.rows.push((f.path.clone(), f.content_hash(), f.content.len() as u64));
            Ok(())
        };
        let mut all = Suspect::default();
        for part in on_workers(read, threads, &work)? {
            all.rows.extend(part.rows);
            all.code.extend(part.code);
            all.tensors.extend(part.tensors);
            all.transposed.extend(part.transposed);
        }
        all.rows.sort();
        all.code.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(all)
    }

    /// The file table as JSON Lines, as a package's is committed.
    fn table(&self) -> Vec<u8> {
        let mut table = Vec::new();
        for (path, content, bytes) in &self.rows {
            table.extend_from_slice(
                serde_json::json!({"path": path, "content": content, "bytes": bytes}).to_string().as_bytes(),
            );
            table.push(b'\n');
        }
        table
    }

    /// SHA-256 of the file table: names the suspect package by its files' paths and contents.
    fn digest(&self) -> String {
        use sha2::Digest;
        crate::hex(&sha2::Sha256::digest(self.table()))
    }
}

fn check_local<'m>(manifest: &'m Manifest, local: Option<&LocalCode>) -> Result<&'m PackageSummary, FingerprintError> {
    if let Some(l) = local {
        if l.v != LOCAL_CODE_VERSION || l.root != manifest.root || l.params != CodeParams::default() {
            return Err(FingerprintError::Invalid("the kept code fingerprints belong to another manifest".into()));
        }
    }
    manifest
        .package
        .as_ref()
        .filter(|_| manifest.format == Format::Package)
        .ok_or_else(|| FingerprintError::Invalid("this manifest is a dataset's, not a package's".into()))
}

/// How much of the package `manifest` registered is in the suspect package `read` gives; exact for the
/// code when the owner's `local` fingerprints are given.
pub fn contain_package(
    manifest: &Manifest,
    secrets: &Secrets,
    local: Option<&LocalCode>,
    read: &mut ReadPackage<'_>,
    tuning: &Tuning,
) -> Result<PackageContainment, FingerprintError> {
    let registered = check_local(manifest, local)?;
    let suspect = Suspect::read(&OwnerKeys::of(secrets), registered, read, threads(tuning))?;
    measure(manifest, secrets, local, &suspect, tuning)
}

fn measure(
    manifest: &Manifest,
    secrets: &Secrets,
    local: Option<&LocalCode>,
    suspect: &Suspect,
    tuning: &Tuning,
) -> Result<PackageContainment, FingerprintError> {
    let registered = check_local(manifest, local)?;
    let table = suspect.table();
    let report =
        crate::contain_with(manifest, secrets, Input::Stream(&table[..]), Format::Package, None, tuning, &mut |_| {})?;
    let tensors = (!registered.tensors.is_empty()).then(|| {
        let straight = weights::match_exact(&registered.tensors, &suspect.tensors);
        let mut both = suspect.tensors.clone();
        both.extend(suspect.transposed.iter().cloned());
        let exact = weights::match_exact(&registered.tensors, &both);
        TensorContainment { transposed: exact.matched - straight.matched, exact }
    });
    let code = match (local, &registered.code) {
        (Some(l), _) => {
            let c = code::compare(&l.files, &suspect.code);
            Some(CodeReport {
                mode: "exact",
                registered: c.fingerprints,
                matched: c.matched,
                estimate: c.share,
                low: c.share,
                high: c.share,
                detail: Some(c),
            })
        }
        (None, Some(sketch)) => {
            let (matched, n) = code::estimate(&sketch.values(), &suspect.code);
            let (low, high) = crate::wilson(matched, n);
            let estimate = if n == 0 { 0.0 } else { matched as f64 / n as f64 };
            Some(CodeReport { mode: "sketch", registered: n, matched, estimate, low, high, detail: None })
        }
        (None, None) => None,
    };
    Ok(PackageContainment {
        product: manifest.product.clone(),
        root: manifest.root.clone(),
        suspect_files: suspect.rows.len() as u64,
        views: report.views,
        tensors,
        code,
        whole: Vec::new(),
    })
}

/// What a court bundle holds of a package: the measurement, the proofs of the registered files found
/// in the suspect (whole, or as code), and for each file found whole, the suspect file equal to it.
pub struct PackageEvidence {
    pub containment: PackageContainment,
    pub proofs: Vec<RecordProof>,
    pub matches: Vec<crate::evidence::ViewMatch>,
    pub suspect: crate::evidence::SuspectInfo,
}

/// A registered file's code counts as found when at least this share of its fingerprints is.
pub const CODE_FOUND: f64 = 0.5;

/// Measure, then prove up to `limit` registered files found whole in the suspect (same content, any
/// path) and up to `limit` whose code is found (at least [`CODE_FOUND`]), most found first. `registered`
/// is read again and must give the manifest's root.
pub fn prove_package(
    manifest: &Manifest,
    secrets: &Secrets,
    local: Option<&LocalCode>,
    registered: &mut ReadPackage<'_>,
    suspect_read: &mut ReadPackage<'_>,
    suspect_name: &str,
    limit: usize,
) -> Result<PackageEvidence, FingerprintError> {
    if manifest.sampling_key_id != secrets.key_id() {
        return Err(FingerprintError::Invalid("these secrets are not the ones this manifest was made with".into()));
    }
    let suspect = Suspect::read(
        &OwnerKeys::of(secrets),
        check_local(manifest, local)?,
        suspect_read,
        threads(&Tuning::default()),
    )?;
    let containment = measure(manifest, secrets, local, &suspect, &Tuning::default())?;
    // Registered files to prove: found whole (with the suspect file equal to it), then found as code.
    let (table, _) = file_table(registered, threads(&Tuning::default()))?;
    let by_content: BTreeMap<&str, usize> =
        suspect.rows.iter().enumerate().rev().map(|(i, (_, c, _))| (c.as_str(), i)).collect();
    let mut code_found: Vec<(&str, f64)> = containment
        .code
        .iter()
        .flat_map(|c| c.detail.iter().flat_map(|d| &d.files))
        .filter(|f| f.share >= CODE_FOUND)
        .map(|f| (f.path.as_str(), f.share))
        .collect();
    code_found.sort_by(|a, b| b.1.total_cmp(&a.1));
    let schema = &manifest.schema;
    let at = |name: &str| schema.iter().position(|c| c.name == name);
    let (path_at, content_at) = (at("path"), at("content"));
    let (mut whole, mut as_code) = (0usize, 0usize);
    let (_, proven) = prove_where(manifest, secrets, Input::Stream(&table[..]), &[], |_, values, _| {
        let path = path_at.and_then(|i| values[i])?;
        let content = content_at.and_then(|i| values[i])?;
        if let Some(&i) = by_content.get(content).filter(|_| whole < limit) {
            whole += 1;
            return Some(Some(i));
        }
        if as_code < limit && code_found.iter().any(|(p, _)| *p == path) {
            as_code += 1;
            return Some(None);
        }
        None
    })?;
    let (mut proofs, mut matches) = (Vec::new(), Vec::new());
    let mut containment = containment;
    for (found, proof) in proven {
        if let Some(i) = found {
            let (path, content, _) = &suspect.rows[i];
            let registered = proof.record.get("path").cloned().flatten().unwrap_or_default();
            containment.whole.push(WholeFile { registered, suspect: path.clone() });
            matches.push(crate::evidence::ViewMatch {
                view: "content".into(),
                suspect_record: i as u64 + 1,
                suspect: [("content".to_string(), Some(content.clone()))].into(),
                proof: proofs.len(),
            });
        }
        proofs.push(proof);
    }
    let info = crate::evidence::SuspectInfo {
        file_name: suspect_name.to_string(),
        sha256: suspect.digest(),
        bytes: suspect.rows.iter().map(|r| r.2).sum(),
        records: suspect.rows.len() as u64,
    };
    Ok(PackageEvidence { containment, proofs, matches, suspect: info })
}

#[cfg(test)]
mod tests {
    use super::*;
    use dipr_package::source::Source;

    fn pkg(dir: &std::path::Path, files: &[(&str, &[u8])]) {
        for (p, b) in files {
            let p = dir.join(p);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, b).unwrap();
        }
    }

    fn opts() -> PackageOptions {
        PackageOptions { product: "scheduler".into(), version: 1, scale: 256, discovery_key: None }
    }

    #[test]
    fn the_manifest_is_the_same_whatever_the_number_of_threads() {
        let tmp = std::env::temp_dir().join(format!("dipr-fp-package-threads-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&tmp);
        let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        for e in std::fs::read_dir(&src).unwrap() {
            let p = e.unwrap().path();
            pkg(&tmp, &[(p.file_name().unwrap().to_str().unwrap(), &std::fs::read(&p).unwrap())]);
        }
        let secrets = Secrets::generate("owner").unwrap();
        let opts = PackageOptions { discovery_key: Some([7; 32]), ..opts() };
        let run = |threads| {
            let tuning = Tuning {
                threads: Some(threads),
                created_at: Some("2026-12-01T00:00:00Z".into()),
                ..Default::default()
            };
            let source = Source::Dir(tmp.clone());
            fingerprint_package(&mut |each| source.read(each), &opts, &tuning, &secrets).unwrap()
        };
        let (one, three) = (run(1), run(3));
        assert_eq!(one.manifest, three.manifest);
        assert_eq!(one.code, three.code);
        // Thinning a sample gives the sample at the coarser scale (what the code sketch relies on).
        let files = &one.code.as_ref().unwrap().files;
        assert_eq!(code::thin(&code::sample(files, 1), 8), code::sample(files, 8));
        assert!(one.manifest.package.as_ref().unwrap().code.as_ref().unwrap().fingerprints > 1000);
        std::fs::remove_dir_all(&tmp).unwrap();
    }

    #[test]
    fn a_package_commits_its_files_and_proves_each_one() {
        let tmp = std::env::temp_dir().join(format!("dipr-fp-package-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&tmp);
        pkg(&tmp, &[("src/lib.rs", b"pub fn a() {}\r\n"), ("model.bin", &[0, 159, 146, 150]), ("README.md", b"# x\n")]);
        let secrets = Secrets::generate("owner").unwrap();
        let source = Source::Dir(tmp.clone());
        let m =
            fingerprint_package(&mut |each| source.read(each), &opts(), &Tuning::default(), &secrets).unwrap().manifest;
        m.verify().unwrap();
        assert_eq!(m.format, Format::Package);
        assert_eq!(m.distinct_records, 3);
        let s = m.package.as_ref().unwrap();
        assert_eq!((s.files, s.text_files), (3, 2));
        assert_eq!(s.languages["rust"], LanguageCount { files: 1, bytes: 14 });

        // The same package with other line endings commits to the same root.
        let again = std::env::temp_dir().join(format!("dipr-fp-package-lf-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&again);
        pkg(&again, &[("src/lib.rs", b"pub fn a() {}\n"), ("model.bin", &[0, 159, 146, 150]), ("README.md", b"# x\n")]);
        let m2 = fingerprint_package(
            &mut |each| Source::Dir(again.clone()).read(each),
            &opts(),
            &Tuning::default(),
            &secrets,
        )
        .unwrap();
        assert_eq!(m2.manifest.root, m.root);

        let proof = prove_file(&m, &secrets, &mut |each| source.read(each), "./src/lib.rs").unwrap();
        assert_eq!(proof.root, m.root);
        verify_file(&proof, b"pub fn a() {}\n").unwrap();
        verify_file(&proof, b"pub fn a() {}\r\n").unwrap();
        let err = verify_file(&proof, b"pub fn b() {}\n").unwrap_err();
        assert!(err.to_string().contains("not the committed one"), "{err}");
        let err = prove_file(&m, &secrets, &mut |each| source.read(each), "src/main.rs").unwrap_err();
        assert!(err.to_string().contains("no file"), "{err}");

        // A changed package no longer gives the manifest's root: no proof from it.
        std::fs::write(tmp.join("README.md"), "# y\n").unwrap();
        let err = prove_file(&m, &secrets, &mut |each| source.read(each), "src/lib.rs").unwrap_err();
        assert!(err.to_string().contains("not the registered version"), "{err}");
        std::fs::remove_dir_all(&tmp).unwrap();
        std::fs::remove_dir_all(&again).unwrap();
    }
}
