//! The reader's language and the catalogues: one per language, written in Fluent (`locales/zh-CN/*.ftl`,
//! `locales/en/*.ftl`, one file per page group), embedded in the binary. A test fails when an identifier a
//! template or a page uses is missing from either catalogue, or when the two catalogues differ.

use std::sync::LazyLock;

use axum::http::{header, HeaderMap};
use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};

/// Declares the catalogue files once, for both languages.
macro_rules! catalogue {
    ($lang:literal) => {
        &[
            ("common", include_str!(concat!("../../locales/", $lang, "/common.ftl"))),
            ("errors", include_str!(concat!("../../locales/", $lang, "/errors.ftl"))),
            ("public", include_str!(concat!("../../locales/", $lang, "/public.ftl"))),
            ("record", include_str!(concat!("../../locales/", $lang, "/record.ftl"))),
            ("check", include_str!(concat!("../../locales/", $lang, "/check.ftl"))),
            ("portal", include_str!(concat!("../../locales/", $lang, "/portal.ftl"))),
            ("password", include_str!(concat!("../../locales/", $lang, "/password.ftl"))),
            ("filing", include_str!(concat!("../../locales/", $lang, "/filing.ftl"))),
            ("my-filing", include_str!(concat!("../../locales/", $lang, "/my-filing.ftl"))),
            ("examiner", include_str!(concat!("../../locales/", $lang, "/examiner.ftl"))),
            ("admin", include_str!(concat!("../../locales/", $lang, "/admin.ftl"))),
            ("watches", include_str!(concat!("../../locales/", $lang, "/watches.ftl"))),
            ("manifest", include_str!(concat!("../../locales/", $lang, "/manifest.ftl"))),
        ]
    };
}

/// The Chinese catalogue's files, by name.
pub const ZH_CN: &[(&str, &str)] = catalogue!("zh-CN");
/// The English catalogue's files, by name.
pub const EN: &[(&str, &str)] = catalogue!("en");

static BUNDLES: LazyLock<[FluentBundle<FluentResource>; 2]> =
    LazyLock::new(|| [bundle("zh-CN", ZH_CN), bundle("en", EN)]);

/// A catalogue is part of the binary, so a syntax error or a key defined twice is a bug the tests catch.
fn bundle(lang: &str, files: &[(&str, &str)]) -> FluentBundle<FluentResource> {
    let id: unic_langid::LanguageIdentifier = lang.parse().expect("language identifier");
    let mut bundle = FluentBundle::new_concurrent(vec![id]);
    // Isolation marks around arguments would end up inside attribute values and copied text.
    bundle.set_use_isolating(false);
    for (name, source) in files {
        let resource = FluentResource::try_new((*source).to_string())
            .unwrap_or_else(|(_, e)| panic!("locales/{lang}/{name}.ftl does not parse: {e:?}"));
        if let Err(e) = bundle.add_resource(resource) {
            panic!("locales/{lang}/{name}.ftl defines a message twice: {e:?}");
        }
    }
    bundle
}

/// The reader's language: `?lang=` wins and is remembered; then the cookie; Chinese by default.
#[derive(Clone, Copy, Debug)]
pub struct Lang {
    pub en: bool,
    /// Set the cookie in this response.
    pub remember: bool,
}

impl Lang {
    pub fn of(query_lang: Option<&str>, headers: &HeaderMap) -> Self {
        if let Some(l) = query_lang {
            return Self { en: l == "en", remember: true };
        }
        let cookie = headers.get(header::COOKIE).and_then(|v| v.to_str().ok()).unwrap_or("");
        let en = cookie.split(';').any(|c| c.trim() == "dipr_lang=en");
        Self { en, remember: false }
    }

    /// The `lang` attribute of the page.
    pub fn code(&self) -> &'static str {
        if self.en {
            "en"
        } else {
            "zh-CN"
        }
    }

    /// The message `id` in the reader's language.
    pub fn t(&self, id: &str) -> String {
        self.format(id, None)
    }

    /// The message `id` with one argument.
    pub fn t1<'a>(&self, id: &str, name: &'a str, value: impl Into<FluentValue<'a>>) -> String {
        let mut args = FluentArgs::new();
        args.set(name, value);
        self.format(id, Some(&args))
    }

    /// The message `id` with two arguments.
    pub fn t2<'a>(
        &self,
        id: &str,
        (n1, v1): (&'a str, impl Into<FluentValue<'a>>),
        (n2, v2): (&'a str, impl Into<FluentValue<'a>>),
    ) -> String {
        let mut args = FluentArgs::new();
        args.set(n1, v1);
        args.set(n2, v2);
        self.format(id, Some(&args))
    }

    /// The message `id` with any number of arguments.
    pub fn t_args(&self, id: &str, args: &FluentArgs) -> String {
        self.format(id, Some(args))
    }

    /// The message `id` if the catalogue has it (error codes without their own text fall back).
    pub fn lookup(&self, id: &str) -> Option<String> {
        let bundle = &BUNDLES[usize::from(self.en)];
        bundle.get_message(id).and_then(|m| m.value()).map(|_| self.format(id, None))
    }

    fn format(&self, id: &str, args: Option<&FluentArgs>) -> String {
        let bundle = &BUNDLES[usize::from(self.en)];
        let Some(pattern) = bundle.get_message(id).and_then(|m| m.value()) else {
            // The catalogue test keeps this from happening; show the identifier rather than nothing.
            tracing::warn!(id, lang = self.code(), "message missing from the catalogue");
            return id.to_string();
        };
        let mut errors = Vec::new();
        let text = bundle.format_pattern(pattern, args, &mut errors);
        if !errors.is_empty() {
            tracing::warn!(id, ?errors, "message formatted with errors");
        }
        text.into_owned()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::path::Path;

    use super::*;

    fn ids(source: &str) -> BTreeSet<String> {
        let resource = FluentResource::try_new(source.to_string()).expect("catalogue parses");
        resource
            .entries()
            .filter_map(|e| match e {
                fluent_syntax::ast::Entry::Message(m) => Some(m.id.name.to_string()),
                _ => None,
            })
            .collect()
    }

    /// Every `t("…")`, `t1("…"` and `t2("…"` in the templates and the server's sources.
    fn used_ids() -> BTreeSet<String> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut files = Vec::new();
        for dir in ["templates", "src"] {
            let mut stack = vec![root.join(dir)];
            while let Some(d) = stack.pop() {
                for entry in std::fs::read_dir(&d).expect("readable source directory") {
                    let p = entry.expect("directory entry").path();
                    if p.is_dir() {
                        stack.push(p);
                    } else if p.extension().is_some_and(|e| e == "rs" || e == "html") {
                        files.push(p);
                    }
                }
            }
        }
        let mut used = BTreeSet::new();
        for f in files {
            let text = std::fs::read_to_string(&f).expect("readable source");
            for call in [".t(\"", ".t1(\"", ".t2(\""] {
                for (i, _) in text.match_indices(call) {
                    let rest = &text[i + call.len()..];
                    let id: String = rest.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-').collect();
                    if rest[id.len()..].starts_with('"') && !id.is_empty() {
                        used.insert(id);
                    }
                }
            }
        }
        used
    }

    #[test]
    fn both_catalogues_load_and_hold_the_same_messages_file_by_file() {
        LazyLock::force(&BUNDLES);
        assert_eq!(ZH_CN.len(), EN.len());
        for ((zh_name, zh), (en_name, en)) in ZH_CN.iter().zip(EN) {
            assert_eq!(zh_name, en_name);
            let (zh_ids, en_ids) = (ids(zh), ids(en));
            let only_zh: Vec<_> = zh_ids.difference(&en_ids).collect();
            let only_en: Vec<_> = en_ids.difference(&zh_ids).collect();
            assert!(
                only_zh.is_empty() && only_en.is_empty(),
                "{zh_name}.ftl: only in zh-CN {only_zh:?}, only in en {only_en:?}"
            );
        }
    }

    #[test]
    fn every_message_the_pages_use_is_in_both_catalogues() {
        let used = used_ids();
        assert!(used.len() > 10, "the scan found too few message ids: {used:?}");
        for l in [Lang { en: false, remember: false }, Lang { en: true, remember: false }] {
            let missing: Vec<_> = used.iter().filter(|id| l.lookup(id).is_none()).collect();
            assert!(missing.is_empty(), "missing from the {} catalogue: {missing:?}", l.code());
        }
    }
}
