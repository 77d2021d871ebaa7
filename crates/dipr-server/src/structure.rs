//! The shape of the code, held by tests (unit tests of this crate, so that no extra test binary is linked
//! on every rebuild): no import cycles between the files of any crate; the use-case
//! crate knows no HTTP or HTML; the API and the web never import each other; shared web modules never
//! import a page; HTML only in templates, which escape everything (no `|safe`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn crates_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

fn files_under(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut dirs = vec![dir.to_path_buf()];
    while let Some(d) = dirs.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let p = entry.unwrap().path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|e| e == ext) {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// A source file's module path within its crate (`web::layout` for `src/web/layout.rs`).
fn module_of(src: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src).unwrap().with_extension("");
    let mut parts: Vec<String> = rel.iter().map(|s| s.to_string_lossy().into_owned()).collect();
    if parts.last().is_some_and(|p| p == "mod" || p == "lib" || p == "main") {
        parts.pop();
    }
    parts
}

/// Which files of one crate each file refers to (`crate::…`, `super::…`, and a parent naming its children).
fn edges(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let files = files_under(src, "rs");
    let modules: BTreeMap<Vec<String>, String> =
        files.iter().map(|f| (module_of(src, f), f.strip_prefix(src).unwrap().display().to_string())).collect();
    let resolve =
        |path: &[String]| -> Option<String> { (1..=path.len()).rev().find_map(|n| modules.get(&path[..n]).cloned()) };
    let mut out = BTreeMap::new();
    for f in &files {
        let me = module_of(src, f);
        let name = f.strip_prefix(src).unwrap().display().to_string();
        let text = std::fs::read_to_string(f).unwrap();
        // A file's tests (`mod tests { use super::*; }`) are not part of what it imports.
        let text = text.split("#[cfg(test)]").next().unwrap_or_default();
        // Comments name other modules without importing them.
        let text: String =
            text.lines().filter(|l| !l.trim_start().starts_with("//")).map(|l| format!("{l}\n")).collect();
        let mut refs = BTreeSet::new();
        let words: Vec<&str> =
            text.split(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':')).filter(|w| w.contains("::")).collect();
        for w in words {
            let segs: Vec<String> = w.split("::").filter(|s| !s.is_empty()).map(String::from).collect();
            let target = match segs.first().map(String::as_str) {
                Some("crate") => segs[1..].to_vec(),
                Some("super") => {
                    let mut base = me.clone();
                    base.pop();
                    base.extend(segs[1..].iter().cloned());
                    base
                }
                // A parent module naming a child directly (`public::routes()` in web/mod.rs).
                Some(first) if modules.contains_key(&[me.clone(), vec![first.to_string()]].concat()) => {
                    [me.clone(), segs.clone()].concat()
                }
                _ => continue,
            };
            if let Some(t) = resolve(&target) {
                if t != name && !target.is_empty() {
                    refs.insert(t);
                }
            }
        }
        out.insert(name, refs);
    }
    out
}

fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        n: &str,
        g: &BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<String, u8>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        state.insert(n.to_string(), 1);
        stack.push(n.to_string());
        for m in g.get(n).into_iter().flatten() {
            match state.get(m.as_str()).copied().unwrap_or(0) {
                1 => {
                    let at = stack.iter().position(|s| s == m).unwrap();
                    let mut cycle = stack[at..].to_vec();
                    cycle.push(m.clone());
                    return Some(cycle);
                }
                0 => {
                    if let Some(c) = visit(m, g, state, stack) {
                        return Some(c);
                    }
                }
                _ => {}
            }
        }
        stack.pop();
        state.insert(n.to_string(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for n in graph.keys() {
        if state.get(n.as_str()).copied().unwrap_or(0) == 0 {
            if let Some(c) = visit(n, graph, &mut state, &mut Vec::new()) {
                return Some(c);
            }
        }
    }
    None
}

#[test]
fn no_file_of_any_crate_imports_a_file_that_imports_it_back() {
    let mut cycles = Vec::new();
    for entry in std::fs::read_dir(crates_dir()).unwrap() {
        let src = entry.unwrap().path().join("src");
        if src.is_dir() {
            if let Some(c) = find_cycle(&edges(&src)) {
                cycles.push(format!("{}: {}", src.display(), c.join(" → ")));
            }
        }
    }
    assert!(cycles.is_empty(), "import cycles:\n{}", cycles.join("\n"));
}

#[test]
fn the_api_and_the_web_never_import_each_other_and_shared_web_modules_import_no_page() {
    let src = crates_dir().join("dipr-server/src");
    let g = edges(&src);
    let shared = ["web/i18n.rs", "web/layout.rs", "web/form.rs", "web/session.rs", "web/messages.rs"];
    let mut bad = Vec::new();
    for (from, tos) in &g {
        for to in tos {
            let api_web = from.starts_with("api/") && to.starts_with("web/");
            let web_api = from.starts_with("web/") && to.starts_with("api/");
            let shared_page =
                shared.contains(&from.as_str()) && to.starts_with("web/") && !shared.contains(&to.as_str());
            if api_web || web_api || shared_page {
                bad.push(format!("{from} → {to}"));
            }
        }
    }
    assert!(bad.is_empty(), "imports across floors:\n{}", bad.join("\n"));
}

#[test]
fn html_is_written_only_in_templates_and_templates_escape_everything() {
    let server = crates_dir().join("dipr-server");
    let mut found = Vec::new();
    for f in files_under(&server.join("src"), "rs") {
        // This file spells out the patterns it looks for.
        if f.ends_with("structure.rs") {
            continue;
        }
        let text = std::fs::read_to_string(&f).unwrap();
        for (n, line) in text.lines().enumerate() {
            // A string literal that opens or closes an HTML element.
            let opens =
                line.match_indices("\"<").chain(line.match_indices("\\\"<")).any(|(i, _)| {
                    let rest = &line[i..].trim_start_matches(['"', '\\']);
                    let rest = &rest[1..];
                    rest.starts_with('/')
                        || rest.starts_with('!')
                        || rest.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
                }) || [">\"", "<p>", "<td>", "<tr>", "</"].iter().any(|p| line.contains(p) && line.contains('"'));
            if opens && !line.trim_start().starts_with("//") {
                found.push(format!("{}:{}: {}", f.display(), n + 1, line.trim()));
            }
        }
    }
    for f in files_under(&server.join("templates"), "html") {
        let text = std::fs::read_to_string(&f).unwrap();
        if text.contains("|safe") || text.contains("| safe") {
            found.push(format!("{}: uses |safe", f.display()));
        }
    }
    assert!(found.is_empty(), "HTML outside the templates, or unescaped output:\n{}", found.join("\n"));
}

/// Every package `root` depends on, directly or not, from Cargo.lock.
fn dependency_closure(root: &str) -> BTreeSet<String> {
    let lock = std::fs::read_to_string(crates_dir().parent().unwrap().join("Cargo.lock")).unwrap();
    let mut deps: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for package in lock.split("[[package]]").skip(1) {
        let name = package.lines().find_map(|l| l.strip_prefix("name = ")).unwrap().trim_matches('"').to_string();
        let list = package.split("dependencies = [").nth(1).map_or("", |rest| rest.split(']').next().unwrap());
        let names = list.split(',').map(|d| d.trim().trim_matches('"')).filter(|d| !d.is_empty());
        deps.entry(name).or_default().extend(names.map(|d| d.split(' ').next().unwrap().to_string()));
    }
    let mut seen = BTreeSet::new();
    let mut todo = vec![root.to_string()];
    while let Some(p) = todo.pop() {
        if seen.insert(p.clone()) {
            todo.extend(deps.get(&p).cloned().unwrap_or_default());
        }
    }
    seen
}

#[test]
fn the_use_case_crate_depends_on_no_http_server_or_template_crate() {
    let closure = dependency_closure("dipr-registry");
    assert!(closure.contains("dipr-domain") && closure.contains("dipr-store"), "the closure was not read");
    let web: Vec<_> = closure
        .iter()
        .filter(|p| ["axum", "tower", "tower-http", "hyper", "askama", "fluent-bundle"].contains(&p.as_str()))
        .collect();
    assert!(web.is_empty(), "dipr-registry depends on {web:?}");
}
