//! What was filed, read-only: every field of an application form, labelled, as the examiner reviews it and
//! the applicant keeps it as the copy of the filing.

use dipr_domain::application::{ApplicationForm, SourceKind, UpdateFrequency};

use crate::web::i18n::Lang;
use crate::web::layout::object_type_label;

fn source_kind(k: SourceKind, l: Lang) -> String {
    l.t(match k {
        SourceKind::SelfCollected => "filing-source-self-collected",
        SourceKind::Licensed => "filing-source-licensed",
        SourceKind::PublicData => "filing-source-public-data",
    })
}

fn frequency(u: UpdateFrequency, l: Lang) -> String {
    let id = serde_json::to_value(u).ok().and_then(|v| v.as_str().map(|s| s.replace('_', "-"))).unwrap_or_default();
    l.t(&format!("filing-frequency-{id}"))
}

/// (label, value) for every field, in the order of the filing form; `industry` is the industry's name.
pub(crate) fn rows(f: &ApplicationForm, industry: &str, l: Lang) -> Vec<(String, String)> {
    let none = || l.t("filed-none");
    let or_none = |s: String| if s.trim().is_empty() { none() } else { s };
    let mut rows = vec![
        (l.t("filed-product-name"), or_none(f.product_name.clone())),
        (l.t("filed-object-type"), f.object_type.map(|t| object_type_label(t.as_str(), l)).unwrap_or_else(none)),
        (l.t("filed-industry"), or_none(industry.to_string())),
        (l.t("filed-scenarios"), or_none(f.scenarios.join("、"))),
        (l.t("filed-summary"), or_none(f.summary.clone())),
    ];
    for (i, s) in f.sources.iter().enumerate() {
        let mut v = vec![source_kind(s.kind, l)];
        if !s.description.trim().is_empty() {
            v.push(s.description.clone());
        }
        if let Some(c) = s.counterparty.as_deref().filter(|c| !c.trim().is_empty()) {
            v.push(format!("{}{c}", l.t("filed-counterparty")));
        }
        if let Some(c) = s.contract_ref.as_deref().filter(|c| !c.trim().is_empty()) {
            v.push(format!("{}{c}", l.t("filed-contract-ref")));
        }
        if let Some(d) = s.licence_end {
            v.push(format!("{}{d}", l.t("filed-licence-end")));
        }
        rows.push((l.t1("filed-source", "n", i as i64 + 1), v.join("\n")));
    }
    rows.extend([
        (l.t("filed-legality"), or_none(f.legality_statement.clone())),
        (l.t("filed-commitment"), l.t(if f.no_infringement_commitment { "filed-yes" } else { "filed-no" })),
        (l.t("filed-processing"), or_none(f.processing.clone())),
        (
            l.t("filed-structure"),
            or_none(
                f.structure
                    .iter()
                    .map(|x| {
                        let mut line = x.name.clone();
                        if !x.field_type.is_empty() {
                            line = format!("{line}: {}", x.field_type);
                        }
                        if !x.description.is_empty() {
                            line = format!("{line} — {}", x.description);
                        }
                        line
                    })
                    .collect::<Vec<_>>()
                    .join("\n"),
            ),
        ),
        (
            l.t("filed-scale"),
            match (f.scale.records, f.scale.bytes) {
                (None, None) => none(),
                (r, b) => {
                    [r.map(|r| l.t1("filed-records", "n", r as i64)), b.map(|b| l.t1("filed-bytes", "n", b as i64))]
                        .into_iter()
                        .flatten()
                        .collect::<Vec<_>>()
                        .join("，")
                }
            },
        ),
        (
            l.t("filed-time-coverage"),
            f.time_coverage
                .as_ref()
                .map(|t| format!("{} — {}", t.from, t.to.map_or_else(|| l.t("filed-ongoing"), |d| d.to_string())))
                .unwrap_or_else(none),
        ),
        (l.t("filed-format"), or_none(f.format.clone())),
        (l.t("filed-update-frequency"), f.update_frequency.map(|u| frequency(u, l)).unwrap_or_else(none)),
        (l.t("filed-secrecy"), or_none(f.secrecy.measures.clone())),
        (l.t("filed-samples"), or_none(f.samples.join("\n"))),
        (
            l.t("filed-attachments"),
            or_none(
                f.attachments
                    .iter()
                    .map(|a| format!("{} (SHA-256 {})", a.name, a.sha256))
                    .collect::<Vec<_>>()
                    .join("\n"),
            ),
        ),
        (
            l.t("filed-derived-from"),
            or_none(f.derived_from.iter().map(|u| u.registration_number.to_string()).collect::<Vec<_>>().join("\n")),
        ),
        (
            l.t("filed-contact"),
            or_none(
                [&f.contact.name, &f.contact.phone, &f.contact.email]
                    .into_iter()
                    .filter(|s| !s.is_empty())
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(" · "),
            ),
        ),
    ]);
    rows
}
