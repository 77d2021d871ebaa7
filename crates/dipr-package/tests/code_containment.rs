//! Containment of real code in real suspects: a crate from cargo's registry (always on a machine that
//! builds this) and, when pip can fetch it, a Python package, copied into suspects the way copies are
//! disguised: reformatted, renamed and re-commented, split and merged, buried in a larger codebase, copied
//! in part; and an unrelated codebase. Each exact share is checked against the truth, and the estimate
//! from a 1-in-8 sample against the exact share.

use std::path::{Path, PathBuf};
use std::process::Command;

use dipr_package::code::{compare, estimate, fingerprint_file, sample, CodeParams, FileCode};
use dipr_package::wilson;

type Files = Vec<(String, String)>;

const KEY: [u8; 32] = [42; 32];
const SCALE: u64 = 8;

const RUST_KEYWORDS: &[&str] = &[
    "as", "async", "await", "break", "const", "continue", "crate", "dyn", "else", "enum", "extern", "false", "fn",
    "for", "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub", "ref", "return", "self", "Self",
    "static", "struct", "super", "trait", "true", "type", "union", "unsafe", "use", "where", "while",
];
const PYTHON_KEYWORDS: &[&str] = &[
    "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class", "continue", "def", "del",
    "elif", "else", "except", "finally", "for", "from", "global", "if", "import", "in", "is", "lambda", "nonlocal",
    "not", "or", "pass", "raise", "return", "try", "while", "with", "yield", "self",
];

/// The newest version of a crate in cargo's registry sources.
fn registry_crate(name: &str) -> Option<PathBuf> {
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cargo")))?;
    let mut found = Vec::new();
    for index in std::fs::read_dir(home.join("registry/src")).ok()?.flatten() {
        for dir in std::fs::read_dir(index.path()).ok()?.flatten() {
            let file_name = dir.file_name().to_string_lossy().into_owned();
            let version = file_name.strip_prefix(name).and_then(|v| v.strip_prefix('-'));
            if version.is_some_and(|v| v.starts_with(|c: char| c.is_ascii_digit())) {
                found.push(dir.path());
            }
        }
    }
    found.sort();
    found.pop()
}

/// Every file under `root` with one of `extensions`, by path relative to `root`, sorted.
fn read_tree(root: &Path, extensions: &[&str]) -> Files {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, out);
            } else {
                out.push(path);
            }
        }
    }
    let mut paths = Vec::new();
    walk(root, &mut paths);
    let mut files: Files = paths
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| extensions.iter().any(|x| e == *x)))
        .filter_map(|p| {
            let text = String::from_utf8(std::fs::read(&p).ok()?).ok()?;
            Some((p.strip_prefix(root).unwrap().to_string_lossy().into_owned(), text))
        })
        .collect();
    files.sort();
    files
}

fn write_tree(root: &Path, files: &Files) {
    for (path, text) in files {
        let path = root.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
}

fn fingerprint(files: &Files) -> Vec<FileCode> {
    let params = CodeParams::default();
    files.iter().filter_map(|(path, text)| fingerprint_file(&KEY, &params, path, text)).collect()
}

fn prefixed(prefix: &str, files: &Files) -> Files {
    files.iter().map(|(p, t)| (format!("{prefix}/{p}"), t.clone())).collect()
}

/// Renames, in every file, each word that follows one of `definers` (a binding, function or type name)
/// and is not one of the language's `keywords`, by whole words, whatever a tokeniser would make of them.
fn rename(files: &Files, definers: &[&str], keywords: &[&str]) -> Files {
    let mut names = std::collections::BTreeMap::new();
    for (_, text) in files {
        for definer in definers {
            for (at, _) in text.match_indices(definer) {
                let boundary = text[..at].chars().next_back().is_none_or(|c| !c.is_alphanumeric() && c != '_');
                let name: String =
                    text[at + definer.len()..].chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
                if boundary && !name.is_empty() && !keywords.contains(&name.as_str()) && name != "_" {
                    let n = names.len();
                    names.entry(name).or_insert_with(|| format!("renamed_{n}"));
                }
            }
        }
    }
    let replace = |text: &str| {
        let mut out = String::with_capacity(text.len());
        let mut word = String::new();
        for c in text.chars().chain(std::iter::once('\0')) {
            if c.is_alphanumeric() || c == '_' {
                word.push(c);
                continue;
            }
            out.push_str(names.get(&word).unwrap_or(&word));
            word.clear();
            if c != '\0' {
                out.push(c);
            }
        }
        out
    };
    files.iter().map(|(p, t)| (p.clone(), replace(t))).collect()
}

/// Drops whole-line comments and writes a new one before every line starting with `marker`.
fn recomment(files: &Files, comment: &str, marker: &str) -> Files {
    let change = |text: &str| {
        let mut out = String::new();
        for line in text.lines().filter(|l| !l.trim_start().starts_with(comment)) {
            if line.trim_start().starts_with(marker) {
                out.push_str(&format!("{comment} reviewed: keep in step with upstream\n"));
            }
            out.push_str(line);
            out.push('\n');
        }
        out
    };
    files.iter().map(|(p, t)| (p.clone(), change(t))).collect()
}

/// Splits every file in two at its middle line and joins each second half to the next file's first.
fn split_and_merge(files: &Files, extension: &str) -> Files {
    let halves: Vec<(String, String)> = files
        .iter()
        .map(|(_, t)| {
            let lines: Vec<&str> = t.lines().collect();
            // Where a person would cut: a blank line before a top-level item, past the middle.
            let top_level =
                |i: usize| lines[i].is_empty() && lines.get(i + 1).is_some_and(|l| !l.starts_with(char::is_whitespace));
            let cut = (lines.len() / 2..lines.len()).find(|&i| top_level(i)).unwrap_or(lines.len() / 2);
            let (a, b) = lines.split_at(cut);
            (a.join("\n") + "\n", b.join("\n") + "\n")
        })
        .collect();
    (0..halves.len())
        .map(|i| {
            let next = &halves[(i + 1) % halves.len()].0;
            (format!("merged_{i}.{extension}"), format!("{}{}", halves[i].1, next))
        })
        .collect()
}

/// Runs a formatter over a copy of `files` on disk; None when it cannot be run.
fn reformat(files: &Files, name: &str, program: &str, args: &[&str]) -> Option<Files> {
    let dir = std::env::temp_dir().join(format!("dipr-code-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    write_tree(&dir, files);
    let paths: Vec<PathBuf> = files.iter().map(|(p, _)| dir.join(p)).collect();
    let status = Command::new(program).args(args).args(&paths).status().ok()?;
    let out = status.success().then(|| read_tree(&dir, &[files[0].0.rsplit('.').next().unwrap()]));
    let _ = std::fs::remove_dir_all(&dir);
    out
}

struct Case {
    name: &'static str,
    truth: f64,
    tolerance: f64,
    suspect: Files,
}

fn bytes(files: &Files) -> usize {
    files.iter().map(|(_, t)| t.len()).sum()
}

/// Lines with code on them, not blank or comments: the truth of a partial copy, not counted by the
/// tokeniser under test.
fn code_lines(files: &Files, comment: &str) -> usize {
    let code = |l: &&str| {
        let l = l.trim();
        !(l.is_empty() || l.starts_with(comment) || l.starts_with("/*") || l.starts_with('*'))
    };
    files.iter().map(|(_, t)| t.lines().filter(code).count()).sum()
}

/// Checks every case and prints a table of the figures.
fn check(language: &str, registered: &Files, cases: Vec<Case>) {
    let reg = fingerprint(registered);
    let reg_sample = sample(&reg, SCALE);
    println!("{language}: {} registered files, {} bytes", registered.len(), bytes(registered));
    println!("{:<14} {:>6} {:>7} {:>8} {:>22} {:>8}", "case", "truth", "share", "suspect", "sample k/n [95%]", "files");
    let (mut covered, mut total) = (0, 0);
    for case in cases {
        let suspect = fingerprint(&case.suspect);
        let c = compare(&reg, &suspect);
        let (k, n) = estimate(&reg_sample, &suspect);
        let (lo, hi) = wilson(k, n);
        println!(
            "{:<14} {:>6.3} {:>7.3} {:>8.3} {:>9} [{:.3}, {:.3}] {:>8}",
            case.name,
            case.truth,
            c.share,
            c.suspect_share,
            format!("{k}/{n}"),
            lo,
            hi,
            case.suspect.len()
        );
        assert!(
            (c.share - case.truth).abs() <= case.tolerance,
            "{language} {}: {} vs {}",
            case.name,
            c.share,
            case.truth
        );
        // Eleven 95% intervals would miss now and then with any one key: hold the estimate to 99.9%.
        let p = k as f64 / n as f64;
        let bound = 3.29 * (c.share * (1.0 - c.share) / n as f64).sqrt() + 1.0 / n as f64;
        assert!((p - c.share).abs() <= bound, "{language} {}: sample {p} vs exact {}", case.name, c.share);
        covered += usize::from(lo - 1e-9 <= c.share && c.share <= hi + 1e-9);
        total += 1;
        assert!(n * SCALE * 2 > c.fingerprints && n * SCALE < c.fingerprints * 2, "a sample of about 1/{SCALE}");
        if case.name == "mixed" {
            assert!(c.suspect_share < 0.25, "{language}: the copy is a small part of the suspect's code");
        }
        if case.truth > 0.0 {
            let located =
                c.files.iter().filter(|f| f.matched > 0).all(|f| f.regions.iter().all(|r| !r.found_in.is_empty()));
            assert!(located, "{}: every matched region says where it was found", case.name);
        }
    }
    println!(
        "{language}: the exact share is inside the 95% Wilson interval of the sample in {covered} of {total} cases"
    );
}

#[test]
fn a_rust_crate_is_found_however_it_was_copied() {
    let registered_crate = registry_crate("semver").expect("semver in cargo's registry sources");
    let registered = read_tree(&registered_crate.join("src"), &["rs"]);
    assert!(registered.len() >= 4, "{registered_crate:?}");
    let mut foreign = Files::new();
    for name in ["itoa", "ryu", "smallvec", "hex", "either", "arrayvec", "base64", "bytes"] {
        if let Some(dir) = registry_crate(name) {
            foreign.extend(prefixed(name, &read_tree(&dir.join("src"), &["rs"])));
        }
    }
    assert!(bytes(&foreign) > 10 * bytes(&registered), "a foreign codebase ten times the size");

    let formatted = reformat(
        &registered,
        "rustfmt",
        "rustfmt",
        &["--edition", "2021", "--config", "max_width=60,tab_spaces=2,brace_style=AlwaysNextLine"],
    )
    .expect("rustfmt runs");
    assert_ne!(formatted, registered, "rustfmt changed the layout");
    let definers = ["let ", "let mut ", "fn ", "struct ", "enum ", "trait ", "const ", "static ", "type "];
    let renamed = recomment(&rename(&registered, &definers, RUST_KEYWORDS), "//", "fn ");
    let half: Files = registered.iter().step_by(2).cloned().collect();
    let mut mixed = prefixed("vendor/semver", &registered);
    mixed.extend(foreign.clone());
    let mut partial = half.clone();
    partial.extend(foreign.iter().take(10).cloned());
    let cases = vec![
        Case { name: "reformatted", truth: 1.0, tolerance: 0.05, suspect: formatted },
        Case { name: "renamed", truth: 1.0, tolerance: 0.1, suspect: renamed },
        Case { name: "split+merged", truth: 1.0, tolerance: 0.1, suspect: split_and_merge(&registered, "rs") },
        Case { name: "mixed", truth: 1.0, tolerance: 0.05, suspect: mixed },
        Case {
            name: "half",
            truth: code_lines(&half, "//") as f64 / code_lines(&registered, "//") as f64,
            tolerance: 0.15,
            suspect: partial,
        },
        Case { name: "unrelated", truth: 0.0, tolerance: 0.05, suspect: foreign },
    ];
    check("rust", &registered, cases);
}

/// The source of a pure-Python package from pip, unpacked: from `DIPR_TEST_PY_SDIST` if set (a .tar.gz),
/// else fetched into a temporary directory.
fn python_package(dir: &Path) -> Option<PathBuf> {
    std::fs::create_dir_all(dir).ok()?;
    let sdist = match std::env::var_os("DIPR_TEST_PY_SDIST") {
        Some(path) => PathBuf::from(path),
        None => {
            let ok = Command::new("python3")
                .args(["-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", ":all:", "attrs==26.1.0", "-d"])
                .arg(dir)
                .status()
                .ok()?
                .success();
            if !ok {
                return None;
            }
            std::fs::read_dir(dir)
                .ok()?
                .flatten()
                .map(|e| e.path())
                .find(|p| p.to_string_lossy().ends_with(".tar.gz"))?
        }
    };
    let ok = Command::new("tar").arg("xzf").arg(&sdist).arg("-C").arg(dir).status().ok()?.success();
    let root = std::fs::read_dir(dir).ok()?.flatten().map(|e| e.path()).find(|p| p.is_dir())?;
    ok.then(|| root.join("src"))
}

/// A case whose real inputs are missing is skipped with a message, or fails where they are required
/// (`DIPR_REQUIRE_REAL_INPUTS`, set by CI, which installs them).
fn skip(why: &str) {
    assert!(std::env::var_os("DIPR_REQUIRE_REAL_INPUTS").is_none(), "real inputs required: {why}");
    println!("SKIPPED: {why}");
}

/// The standard library of the python3 on the path: the foreign codebase.
fn python_stdlib() -> Option<PathBuf> {
    let script = "import json, os; print(os.path.dirname(os.path.dirname(json.__file__)))";
    let out = Command::new("python3").args(["-c", script]).output().ok()?;
    Some(PathBuf::from(String::from_utf8(out.stdout).ok()?.trim()))
}

#[test]
fn a_python_package_is_found_however_it_was_copied() {
    let work = std::env::temp_dir().join(format!("dipr-code-{}-python", std::process::id()));
    let (Some(src), Some(stdlib)) = (python_package(&work), python_stdlib()) else {
        skip("no Python package source (pip download attrs failed and DIPR_TEST_PY_SDIST unset) or no python3");
        let _ = std::fs::remove_dir_all(&work);
        return;
    };
    let registered = read_tree(&src, &["py"]);
    let mut foreign = Files::new();
    for name in ["json", "email", "http", "logging", "asyncio"] {
        foreign.extend(prefixed(name, &read_tree(&stdlib.join(name), &["py"])));
    }
    assert!(registered.len() >= 4 && bytes(&foreign) > 5 * bytes(&registered));
    let renamed = recomment(&rename(&registered, &["def ", "class ", "for ", "self."], PYTHON_KEYWORDS), "#", "def ");
    let half: Files = registered.iter().step_by(2).cloned().collect();
    let mut mixed = prefixed("vendor/attrs", &registered);
    mixed.extend(foreign.clone());
    let mut partial = half.clone();
    partial.extend(foreign.iter().take(10).cloned());
    let mut cases = Vec::new();
    match reformat(&registered, "black", "black", &["--quiet", "-l", "40"]) {
        Some(formatted) => cases.push(Case { name: "reformatted", truth: 1.0, tolerance: 0.1, suspect: formatted }),
        None => skip("python reformatted: black is not installed (pip install black)"),
    }
    cases.extend([
        Case { name: "renamed", truth: 1.0, tolerance: 0.1, suspect: renamed },
        Case { name: "split+merged", truth: 1.0, tolerance: 0.1, suspect: split_and_merge(&registered, "py") },
        Case { name: "mixed", truth: 1.0, tolerance: 0.05, suspect: mixed },
        Case {
            name: "half",
            truth: code_lines(&half, "#") as f64 / code_lines(&registered, "#") as f64,
            tolerance: 0.15,
            suspect: partial,
        },
        Case { name: "unrelated", truth: 0.0, tolerance: 0.05, suspect: foreign },
    ]);
    check("python", &registered, cases);
    let _ = std::fs::remove_dir_all(&work);
}
