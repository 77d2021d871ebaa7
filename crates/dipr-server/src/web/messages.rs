//! What a person is told for each stable code: the registry's error codes (`ERROR_CODES`) and the field
//! codes forms report in `details[].code`, in the `errors.ftl` catalogues (id `error-` and the code), so a
//! page never shows a raw code or an untranslated English message. Tests fail if a code the sources can
//! produce has no message in either language, and if docs/ERRORS.md differs from what the table and the
//! catalogues make of it.

use crate::web::i18n::Lang;

/// The translation of a code, if the catalogue has it.
pub fn message(code: &str, l: Lang) -> Option<String> {
    l.lookup(&format!("error-{code}"))
}

/// The translation of a code; an unknown code (which the tests keep from happening) shows the server's
/// own message rather than nothing.
pub fn text(code: &str, fallback: &str, l: Lang) -> String {
    message(code, l).unwrap_or_else(|| fallback.to_string())
}

/// What to tell a person about a refused request: the translated code, and when the refusal ends.
pub fn refusal(e: &dipr_registry::Error, l: Lang) -> String {
    let text = text(e.code, &e.message, l);
    match e.until {
        Some(until) => {
            format!("{text}{}", l.t1("error-refile-from", "when", dipr_domain::shown::minute_zoned(until, l.en)))
        }
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ZH: Lang = Lang { en: false, remember: false };
    const EN: Lang = Lang { en: true, remember: false };
    use std::collections::BTreeSet;

    /// Every code the sources can produce: the API's table, plus each literal passed as the code of a
    /// `FieldError::new(field, "code", ..)` or the domain's `field("field", "code", ..)`.
    fn codes_in_sources() -> BTreeSet<String> {
        let mut codes: BTreeSet<String> =
            dipr_registry::error::ERROR_CODES.iter().map(|(c, _, _)| c.to_string()).collect();
        let crates = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        let mut dirs: Vec<_> = std::fs::read_dir(crates).unwrap().map(|k| k.unwrap().path().join("src")).collect();
        let mut files = Vec::new();
        while let Some(dir) = dirs.pop() {
            let Ok(entries) = std::fs::read_dir(&dir) else { continue };
            for entry in entries {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    dirs.push(path);
                } else {
                    files.push(path);
                }
            }
        }
        {
            for path in files {
                // This file quotes the patterns it looks for.
                if path.ends_with("messages.rs") {
                    continue;
                }
                let text = std::fs::read_to_string(path).unwrap_or_default();
                for marker in ["FieldError::new(", "field(\""] {
                    for (at, _) in text.match_indices(marker) {
                        let rest = &text[at + marker.len()..];
                        // Skip the first argument (up to its comma), then take the next string literal.
                        let Some(comma) = rest.find(',') else { continue };
                        let after = rest[comma + 1..].trim_start();
                        if let Some(lit) = after.strip_prefix('"') {
                            if let Some(end) = lit.find('"') {
                                codes.insert(lit[..end].to_string());
                            }
                        }
                    }
                }
            }
        }
        codes
    }

    #[test]
    fn every_code_the_sources_produce_is_translated() {
        let codes = codes_in_sources();
        assert!(codes.len() > 60, "the scan found too few codes ({}): is it still reading the sources?", codes.len());
        assert!(codes.contains("before_registration") && codes.contains("unchanged"));
        for l in [ZH, EN] {
            let missing: Vec<_> = codes.iter().filter(|c| message(c, l).is_none()).collect();
            assert!(missing.is_empty(), "codes without a {} message: {missing:?}", l.code());
        }
    }

    #[test]
    fn every_chinese_message_is_in_chinese() {
        for (code, _, _) in dipr_registry::error::ERROR_CODES {
            let zh = message(code, ZH).unwrap_or_default();
            assert!(zh.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)), "{code}: {zh:?} has no Chinese");
        }
    }

    /// docs/ERRORS.md as the table and the catalogues make it. `DIPR_WRITE_DOCS=1 cargo test -p
    /// dipr-server --lib errors_md` rewrites the file after a change to either.
    fn errors_markdown() -> String {
        let mut md = String::from(include_str!("../../../../docs/ERRORS.head.md"));
        md.push_str("\n| code | HTTP status | meaning | 中文 | English (web) |\n|---|---|---|---|---|\n");
        for (code, status, meaning) in dipr_registry::error::ERROR_CODES {
            let (zh, en) = (message(code, ZH).unwrap_or_default(), message(code, EN).unwrap_or_default());
            md.push_str(&format!("| `{code}` | {status} | {meaning} | {zh} | {en} |\n"));
        }
        let table: BTreeSet<&str> = dipr_registry::error::ERROR_CODES.iter().map(|(c, _, _)| *c).collect();
        md.push_str("\nField-level codes inside `details` (the same identifier codes appear per field):\n\n");
        md.push_str("| code | 中文 | English |\n|---|---|---|\n");
        for code in codes_in_sources().iter().filter(|c| !table.contains(c.as_str())) {
            let (zh, en) = (message(code, ZH).unwrap_or_default(), message(code, EN).unwrap_or_default());
            md.push_str(&format!("| `{code}` | {zh} | {en} |\n"));
        }
        md
    }

    #[test]
    fn errors_md_is_generated_from_the_table_and_the_catalogues() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/ERRORS.md");
        let expected = errors_markdown();
        if std::env::var_os("DIPR_WRITE_DOCS").is_some() {
            std::fs::write(path, &expected).unwrap();
        }
        let actual = std::fs::read_to_string(path).unwrap();
        assert!(
            actual == expected,
            "docs/ERRORS.md is out of date: run DIPR_WRITE_DOCS=1 cargo test -p dipr-server --lib errors_md"
        );
    }
}
