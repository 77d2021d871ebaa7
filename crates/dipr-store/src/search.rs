//! Full-text search terms, the same on both backends.
//!
//! Chinese has no spaces between words, and a word is often one or two characters (语料, 金融), so a
//! segmenter's dictionary would miss names it has never seen. Instead every run of CJK characters is
//! indexed as its single characters and its adjacent pairs, and a query of two or more characters must
//! contain all of its pairs (the scheme of Lucene's CJK bigram filter). Runs of letters and digits are
//! indexed whole, so registration numbers and credit codes match exactly, and are searched as prefixes.
//! Both backends store and query these terms as they are: SQLite in an FTS5 table, PostgreSQL as a
//! `tsvector` built from the terms (never through a text-search parser or dictionary).
//!
//! The index also holds each record's *flags* (published, state, object type, industry), so a public
//! search with filters is answered by the index alone, ranked and cut to one page before any application
//! row is read. Flags live in their own column (PostgreSQL: lexemes starting with `#`, which no query
//! term can produce), so words typed in a search never match them.

/// The fields of a record that search reads, each weighted on its own: a match in the product's name
/// or an identifier ranks above one in the summary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Name,
    Holder,
    Applicant,
    Identifiers,
    Body,
    /// The record's flags (see [`flag`]), for filtering only.
    Flags,
}

impl Field {
    /// The FTS5 column.
    pub fn column(self) -> &'static str {
        match self {
            Field::Name => "name",
            Field::Holder => "holder",
            Field::Applicant => "applicant",
            Field::Identifiers => "ids",
            Field::Body => "body",
            Field::Flags => "flags",
        }
    }

    /// The PostgreSQL weight class. The holder has a class of its own so a search by holder can be
    /// restricted to it.
    pub fn weight(self) -> char {
        match self {
            Field::Name | Field::Identifiers => 'A',
            Field::Holder => 'B',
            Field::Applicant => 'C',
            Field::Body | Field::Flags => 'D',
        }
    }
}

/// The columns words are searched in: all but the flags.
const WORD_COLUMNS: &str = "{name holder applicant ids body}";

/// A flag term: a letter naming the kind of flag, then the value with only its letters and digits
/// (`flag('s', "public_notice")` is `spublicnotice`).
pub fn flag(kind: char, value: &str) -> String {
    std::iter::once(kind).chain(value.chars().filter(|c| c.is_ascii_alphanumeric())).collect()
}

/// Flags a search requires: every group must match, and within a group any one flag.
pub type FlagGroups = Vec<Vec<String>>;

/// Longest term kept: a run of letters and digits longer than this is cut (PostgreSQL refuses lexemes
/// over 2 KiB, and nothing anyone types is longer).
const MAX_TERM_CHARS: usize = 64;

fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x3040..=0x30FF // kana
        | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0x20000..=0x2FA1F // ideographs
        | 0xAC00..=0xD7AF) // hangul
}

/// Full-width forms as their ASCII, lower case.
fn normalise(c: char) -> char {
    let c = match c as u32 {
        0xFF01..=0xFF5E => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
        _ => c,
    };
    c.to_lowercase().next().unwrap_or(c)
}

#[derive(Debug, PartialEq, Eq)]
enum Run {
    Cjk(Vec<char>),
    Word(String),
}

fn runs(text: &str) -> Vec<Run> {
    let mut out = Vec::new();
    let mut cjk = Vec::new();
    let mut word = String::new();
    for c in text.chars().map(normalise) {
        if is_cjk(c) {
            if !word.is_empty() {
                out.push(Run::Word(std::mem::take(&mut word)));
            }
            cjk.push(c);
        } else if c.is_alphanumeric() {
            if !cjk.is_empty() {
                out.push(Run::Cjk(std::mem::take(&mut cjk)));
            }
            if word.chars().count() < MAX_TERM_CHARS {
                word.push(c);
            }
        } else {
            if !word.is_empty() {
                out.push(Run::Word(std::mem::take(&mut word)));
            }
            if !cjk.is_empty() {
                out.push(Run::Cjk(std::mem::take(&mut cjk)));
            }
        }
    }
    if !word.is_empty() {
        out.push(Run::Word(word));
    }
    if !cjk.is_empty() {
        out.push(Run::Cjk(cjk));
    }
    out
}

/// The terms a field's text is indexed under. Identifiers (numbers, codes, the holder's full name) are
/// whole terms, one per line, so that typing one exactly ranks its record first; other fields are split
/// by [`index_terms`].
pub fn field_terms(field: Field, text: &str) -> Vec<String> {
    match field {
        Field::Flags => text.split_whitespace().map(String::from).collect(),
        Field::Identifiers => text
            .lines()
            .map(|l| l.chars().map(normalise).filter(|c| c.is_alphanumeric()).take(MAX_TERM_CHARS).collect())
            .filter(|t: &String| !t.is_empty())
            .collect(),
        _ => index_terms(text),
    }
}

/// The terms a text is indexed under: whole words, and each CJK character and adjacent pair.
pub fn index_terms(text: &str) -> Vec<String> {
    let mut terms = Vec::new();
    for run in runs(text) {
        match run {
            Run::Word(w) => terms.push(w),
            Run::Cjk(cs) => {
                terms.extend(cs.iter().map(|c| c.to_string()));
                terms.extend(cs.windows(2).map(|p| p.iter().collect()));
            }
        }
    }
    terms
}

/// One term a query requires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Term {
    pub text: String,
    /// Any indexed term that starts with `text` matches (words only).
    pub prefix: bool,
}

/// What a search asks for: every term must match. Empty when the text has nothing searchable.
pub fn query_terms(text: &str) -> Vec<Term> {
    let mut terms: Vec<Term> = Vec::new();
    for run in runs(text) {
        match run {
            Run::Word(w) => terms.push(Term { text: w, prefix: true }),
            Run::Cjk(cs) if cs.len() == 1 => terms.push(Term { text: cs[0].to_string(), prefix: false }),
            Run::Cjk(cs) => terms.extend(cs.windows(2).map(|p| Term { text: p.iter().collect(), prefix: false })),
        }
    }
    let mut seen = std::collections::HashSet::new();
    terms.retain(|t| seen.insert(t.text.clone()));
    terms
}

/// The whole query as one identifier term (separators dropped), when it is long enough to be one: a
/// registration number, a credit code or a holder's full name typed exactly ranks its record first.
pub fn exact_term(text: &str) -> Option<String> {
    let t: String = text.chars().map(normalise).filter(|c| c.is_alphanumeric()).take(MAX_TERM_CHARS).collect();
    (t.chars().count() >= 3).then_some(t)
}

/// Whether a record whose searchable fields are `fields` is found by a search for `query` (flags aside):
/// every term present (words as prefixes), or the whole query as one of its identifiers. Watches match new
/// events against a saved search with it, as the index would.
pub fn matches(fields: &[(Field, String)], query: &str) -> bool {
    let indexed: std::collections::HashSet<String> =
        fields.iter().filter(|(f, _)| *f != Field::Flags).flat_map(|(f, t)| field_terms(*f, t)).collect();
    if exact_term(query).is_some_and(|e| indexed.contains(&e)) {
        return true;
    }
    let terms = query_terms(query);
    !terms.is_empty()
        && terms.iter().all(|t| {
            if t.prefix {
                indexed.iter().any(|i| i.starts_with(&t.text))
            } else {
                indexed.contains(&t.text)
            }
        })
}

/// The FTS5 query for `terms`, in one column or in every column of words, and `flags`. Terms hold only
/// letters and digits, so quoting them is enough.
pub fn fts5_query(terms: &[Term], exact: Option<&str>, field: Option<Field>, flags: &FlagGroups) -> String {
    let all = terms
        .iter()
        .map(|t| format!("\"{}\"{}", t.text, if t.prefix { "*" } else { "" }))
        .collect::<Vec<_>>()
        .join(" AND ");
    let columns = field.map_or(WORD_COLUMNS.to_string(), |f| format!("{{{}}}", f.column()));
    let mut out = match exact {
        Some(e) if field.is_none() => format!("({columns} : ({all}) OR {{ids}} : \"{e}\")"),
        _ => format!("{columns} : ({all})"),
    };
    for group in flags {
        let any = group.iter().map(|f| format!("\"{f}\"")).collect::<Vec<_>>().join(" OR ");
        out.push_str(&format!(" AND {{flags}} : ({any})"));
    }
    out
}

/// The PostgreSQL `tsquery` for `terms`, optionally limited to one field's weight class, and `flags`.
pub fn tsquery(terms: &[Term], exact: Option<&str>, field: Option<Field>, flags: &FlagGroups) -> String {
    let weight = field.map(|f| f.weight().to_string()).unwrap_or_default();
    let all = terms
        .iter()
        .map(|t| {
            let suffix = match (t.prefix, weight.is_empty()) {
                (false, true) => String::new(),
                (true, _) => format!(":*{weight}"),
                (false, false) => format!(":{weight}"),
            };
            format!("'{}'{suffix}", t.text)
        })
        .collect::<Vec<_>>()
        .join(" & ");
    let mut out = match exact {
        Some(e) if field.is_none() => format!("(({all}) | '{e}':A)"),
        _ => format!("({all})"),
    };
    for group in flags {
        let any = group.iter().map(|f| format!("'#{f}'")).collect::<Vec<_>>().join(" | ");
        out.push_str(&format!(" & ({any})"));
    }
    out
}

/// A `tsvector` literal holding each field's terms under its weight class. Positions are only there to
/// carry the weights.
pub fn tsvector(fields: &[(Field, &str)]) -> String {
    let mut out = String::new();
    let mut pos = 0u32;
    for (field, text) in fields {
        let mark = if *field == Field::Flags { "#" } else { "" };
        for term in field_terms(*field, text) {
            pos = (pos + 1).min(16_383);
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(&format!("'{mark}{term}':{pos}{}", field.weight()));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(terms: &[Term]) -> Vec<&str> {
        terms.iter().map(|t| t.text.as_str()).collect()
    }

    #[test]
    fn chinese_runs_index_characters_and_pairs() {
        assert_eq!(index_terms("金融语料"), ["金", "融", "语", "料", "金融", "融语", "语料"]);
        assert_eq!(texts(&query_terms("语料")), ["语料"]);
        assert_eq!(texts(&query_terms("金")), ["金"]);
        assert_eq!(texts(&query_terms("金融语料")), ["金融", "融语", "语料"]);
    }

    #[test]
    fn words_and_identifiers_stay_whole_and_mixed_text_splits_by_script() {
        assert_eq!(index_terms("91310000MA1FL8XQ3B"), ["91310000ma1fl8xq3b"]);
        assert_eq!(index_terms("AI语料v2"), ["ai", "语", "料", "语料", "v2"]);
        let q = query_terms("Credit  指数");
        assert_eq!(texts(&q), ["credit", "指数"]);
        assert!(q[0].prefix && !q[1].prefix);
    }

    #[test]
    fn full_width_forms_and_punctuation_are_normalised_away() {
        assert_eq!(index_terms("ＡＢＣ１２３，数据"), ["abc123", "数", "据", "数据"]);
        assert!(query_terms("%_'\"*:()").is_empty());
    }

    #[test]
    fn exact_terms_are_single_identifiers_or_long_names() {
        assert_eq!(exact_term("SH2026A0000001X").as_deref(), Some("sh2026a0000001x"));
        assert_eq!(exact_term("上海数据科技有限公司").as_deref(), Some("上海数据科技有限公司"));
        assert_eq!(exact_term("SH-2026").as_deref(), Some("sh2026"));
        assert_eq!(exact_term("语料"), None);
    }

    #[test]
    fn backend_queries_quote_every_term_and_keep_words_out_of_the_flags() {
        let q = query_terms("交通指数 abc");
        let none = FlagGroups::new();
        assert_eq!(
            fts5_query(&q, None, None, &none),
            "{name holder applicant ids body} : (\"交通\" AND \"通指\" AND \"指数\" AND \"abc\"*)"
        );
        assert_eq!(fts5_query(&q[..1], None, Some(Field::Holder), &none), "{holder} : (\"交通\")");
        let flags = vec![vec![flag('p', "1")], vec![flag('s', "public_notice"), flag('s', "registered")]];
        assert_eq!(
            fts5_query(&q[..1], Some("ab1"), None, &flags),
            "({name holder applicant ids body} : (\"交通\") OR {ids} : \"ab1\") AND {flags} : (\"p1\") \
             AND {flags} : (\"spublicnotice\" OR \"sregistered\")"
        );
        assert_eq!(tsquery(&q, None, None, &none), "('交通' & '通指' & '指数' & 'abc':*)");
        assert_eq!(tsquery(&q[..1], None, Some(Field::Holder), &flags[..1].to_vec()), "('交通':B) & ('#p1')");
        assert_eq!(
            tsvector(&[(Field::Name, "数据"), (Field::Body, "x"), (Field::Flags, "p1 sregistered")]),
            "'数':1A '据':2A '数据':3A 'x':4D '#p1':5D '#sregistered':6D"
        );
        assert_eq!(field_terms(Field::Identifiers, "上海 数据公司\nSH-2026"), ["上海数据公司", "sh2026"]);
    }
}
