//! How much of one source tree is in another, by keyed winnowing, as one line of JSON.
//!
//!     cargo run --release -p dipr-package --example code_contain -- [--k K] [--w W] [--files] REGISTERED_DIR [SUSPECT_DIR]
//!
//! With one directory it only fingerprints it and reports the throughput of `fingerprint_file`; `--files`
//! adds the containment of every registered file and its matched regions.

use std::path::Path;
use std::time::{Duration, Instant};

use dipr_package::code::{compare, fingerprint_file, CodeParams, FileCode};
use dipr_package::language::Language;

struct Tree {
    files: Vec<FileCode>,
    bytes: u64,
    tokens: u64,
    /// Time spent in `fingerprint_file` alone, not reading files.
    fingerprinting: Duration,
}

fn walk(dir: &Path, out: &mut Vec<std::path::PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let kind = entry.file_type()?;
        if kind.is_dir() {
            walk(&entry.path(), out)?;
        } else if kind.is_file() {
            out.push(entry.path());
        }
    }
    Ok(())
}

fn fingerprint_tree(key: &[u8; 32], params: &CodeParams, root: &Path) -> std::io::Result<Tree> {
    let mut paths = Vec::new();
    walk(root, &mut paths)?;
    paths.sort();
    let mut tree = Tree { files: Vec::new(), bytes: 0, tokens: 0, fingerprinting: Duration::ZERO };
    for path in paths {
        let rel = path.strip_prefix(root).unwrap_or(&path).to_string_lossy().replace('\\', "/");
        if Language::of_path(&rel).is_none() {
            continue;
        }
        let text = String::from_utf8_lossy(&std::fs::read(&path)?).into_owned();
        let start = Instant::now();
        if let Some(file) = fingerprint_file(key, params, &rel, &text) {
            tree.fingerprinting += start.elapsed();
            tree.bytes += text.len() as u64;
            tree.tokens += u64::from(file.tokens);
            tree.files.push(file);
        }
    }
    Ok(tree)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut params = CodeParams::default();
    let mut dirs = Vec::new();
    let mut per_file = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--k" => params.k = args.next().ok_or("--k needs a value")?.parse()?,
            "--w" => params.w = args.next().ok_or("--w needs a value")?.parse()?,
            "--files" => per_file = true,
            _ => dirs.push(arg),
        }
    }
    if dirs.is_empty() || dirs.len() > 2 {
        return Err("usage: code_contain [--k K] [--w W] [--files] REGISTERED_DIR [SUSPECT_DIR]".into());
    }
    // A fixed key: the figures do not depend on which key, only on both sides sharing it.
    let key = *blake3::hash(b"code_contain example key").as_bytes();
    let started = Instant::now();
    let registered = fingerprint_tree(&key, &params, Path::new(&dirs[0]))?;
    let mut report = serde_json::json!({
        "k": params.k,
        "w": params.w,
        "registered_files": registered.files.len(),
        "registered_bytes": registered.bytes,
        "registered_tokens": registered.tokens,
    });
    let mut files = registered.files.len();
    let mut bytes = registered.bytes;
    let mut fingerprinting = registered.fingerprinting;
    if let Some(dir) = dirs.get(1) {
        let suspect = fingerprint_tree(&key, &params, Path::new(dir))?;
        let containment = compare(&registered.files, &suspect.files);
        files += suspect.files.len();
        bytes += suspect.bytes;
        fingerprinting += suspect.fingerprinting;
        report["suspect_files"] = suspect.files.len().into();
        report["suspect_bytes"] = suspect.bytes.into();
        report["share"] = containment.share.into();
        report["suspect_share"] = containment.suspect_share.into();
        report["fingerprints"] = containment.fingerprints.into();
        report["matched"] = containment.matched.into();
        if per_file {
            report["files"] = serde_json::to_value(&containment.files)?;
        }
    }
    let secs = fingerprinting.as_secs_f64();
    report["elapsed_s"] = started.elapsed().as_secs_f64().into();
    report["fingerprint_s"] = secs.into();
    report["files_per_s"] = (files as f64 / secs).into();
    report["mb_per_s"] = (bytes as f64 / 1e6 / secs).into();
    println!("{report}");
    Ok(())
}
