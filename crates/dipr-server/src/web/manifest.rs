//! What a filed fingerprint manifest says, as labelled rows: the applicant's filing page and the
//! examiner's review show the same facts, a dataset's records and columns or a package's files,
//! languages, code and tensors.

use dipr_domain::application::Application;
use dipr_fingerprint::{Format, Manifest};
use dipr_registry::state::Registry;

use crate::web::i18n::Lang;

/// The rows for the commitment an application names now (empty when it names none).
pub(crate) async fn of_application(st: &Registry, app: &Application, l: Lang) -> Vec<(String, String)> {
    let Some(c) = app.form.content_commitment.as_ref() else { return Vec::new() };
    let manifest = match dipr_registry::fingerprints::current_manifest(st, app).await {
        Ok(m) => Some(m),
        // A commitment filed without a manifest (through the API) has only its root to show.
        Err(e) if e.code == "no_manifest" => None,
        Err(e) => {
            tracing::error!(code = e.code, message = %e.message, "the filed manifest could not be read");
            None
        }
    };
    rows(&c.root, manifest.as_ref(), l)
}

/// Bytes as a reader takes them in: B, KB, MB or GB (powers of 1,000, one decimal).
pub(crate) fn size(bytes: u64) -> String {
    match bytes {
        b if b < 1_000 => format!("{b} B"),
        b if b < 1_000_000 => format!("{:.1} KB", b as f64 / 1e3),
        b if b < 1_000_000_000 => format!("{:.1} MB", b as f64 / 1e6),
        b => format!("{:.2} GB", b as f64 / 1e9),
    }
}

/// (label, value) rows for the manifest; `root` alone when only the commitment is known.
pub(crate) fn rows(root: &str, manifest: Option<&Manifest>, l: Lang) -> Vec<(String, String)> {
    let mut rows = vec![(l.t("manifest-root"), root.to_string())];
    let Some(m) = manifest else { return rows };
    match &m.package {
        Some(p) if m.format == Format::Package => {
            rows.push((l.t("manifest-kind"), l.t("manifest-kind-package")));
            let files = l.t2("manifest-files-value", ("files", p.files), ("text", p.text_files));
            rows.push((l.t("manifest-files"), format!("{files} · {}", size(p.bytes))));
            if !p.languages.is_empty() {
                let langs: Vec<String> = p
                    .languages
                    .iter()
                    .map(|(lang, c)| format!("{lang} {} · {}", l.t1("manifest-n-files", "n", c.files), size(c.bytes)))
                    .collect();
                rows.push((l.t("manifest-languages"), langs.join("；")));
            }
            if let Some(c) = &p.code {
                let mut args = fluent_bundle::FluentArgs::new();
                args.set("n", c.fingerprints);
                args.set("k", c.k);
                args.set("w", c.w);
                args.set("kept", c.sketch.len());
                rows.push((l.t("manifest-code"), l.t_args("manifest-code-value", &args)));
            }
            if !p.tensors.is_empty() {
                let bytes: u64 = p.tensors.iter().map(|t| t.bytes).sum();
                let tensors = l.t2("manifest-tensors-value", ("n", p.tensors.len()), ("parameters", p.parameters()));
                rows.push((l.t("manifest-tensors"), format!("{tensors} · {}", size(bytes))));
            }
        }
        _ => {
            rows.push((l.t("manifest-kind"), l.t("manifest-kind-dataset")));
            rows.push((l.t("manifest-records"), l.t1("manifest-records-value", "n", m.distinct_records)));
            let columns: Vec<String> = m
                .schema
                .iter()
                .map(|c| {
                    format!(
                        "{} ({})",
                        c.name,
                        serde_json::to_value(c.ty)
                            .ok()
                            .and_then(|v| v.as_str().map(str::to_string))
                            .unwrap_or_default()
                    )
                })
                .collect();
            rows.push((l.t("manifest-columns"), columns.join("，")));
            let views: Vec<&str> = m.views.iter().map(|v| v.name.as_str()).collect();
            rows.push((l.t("manifest-views"), views.join("，")));
        }
    }
    rows.push((l.t("manifest-digest"), m.digest()));
    rows
}
