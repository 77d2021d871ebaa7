//! Keyed winnowing of source code (Schleimer, Wilkerson, Aiken 2003, the algorithm behind MOSS), and the
//! containment of registered code in a suspect's.
//!
//! A file is read into a normalised token stream: comments and layout are dropped, every identifier that
//! is not a keyword of its language becomes `V`, every string or character literal `S`, every number `N`;
//! keywords, operators and punctuation stay as they are, but for what formatters add, drop or reorder
//! as lines wrap (trailing commas, grouping parentheses, Rust's match-arm braces and `use` lists). Every k consecutive tokens are hashed under the
//! owner's key, and of every window of w consecutive k-gram hashes the (rightmost) minimum is kept. Any
//! run of at least w + k − 1 tokens shared by two files yields at least one shared fingerprint, so
//! reformatting, new comments, renamed identifiers, split or merged files leave most fingerprints intact.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::{Deserialize, Serialize};

use crate::{language::Language, Key};

/// Separates these hashes from every other use of the key: k-grams are hashed under
/// `BLAKE3_keyed(key, DOMAIN)`, which keeps a k-gram of short tokens within one BLAKE3 block.
const DOMAIN: &[u8] = b"dipr-code/1";

/// Winnowing parameters; a manifest records them with the fingerprints, which only compare under the same
/// key and parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeParams {
    /// Tokens per hashed k-gram.
    pub k: usize,
    /// k-gram hashes per winnowing window.
    pub w: usize,
}

impl Default for CodeParams {
    /// k counts normalised tokens, each of which says little (`V`, `(`, `fn`), so it is far longer than
    /// a character-level k. Idioms (serde visitors, `Display` impls, lint lists) run to 15–20 tokens: on
    /// real crates, k = 12 finds 14% of semver's fingerprints in eight unrelated crates, k = 24 about 1%,
    /// while reformatted, renamed or split copies still show 98% or more. w = 8 keeps about 2/(w+1) of
    /// the k-grams and guarantees any copied run of w + k − 1 = 31 tokens (four or five lines) is found.
    fn default() -> Self {
        Self { k: 24, w: 8 }
    }
}

/// One winnowed fingerprint: the keyed hash of a k-gram and the source lines it spans. Written as
/// `[hash, first_line, last_line]`: a package keeps millions of them beside its manifest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "(u64, u32, u32)", into = "(u64, u32, u32)")]
pub struct Fp {
    pub hash: u64,
    pub first_line: u32,
    pub last_line: u32,
}

impl From<(u64, u32, u32)> for Fp {
    fn from((hash, first_line, last_line): (u64, u32, u32)) -> Self {
        Self { hash, first_line, last_line }
    }
}

impl From<Fp> for (u64, u32, u32) {
    fn from(f: Fp) -> Self {
        (f.hash, f.first_line, f.last_line)
    }
}

/// The fingerprints of one source file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileCode {
    pub path: String,
    pub language: Language,
    /// Normalised tokens read from the file.
    pub tokens: u32,
    /// In source order; a hash selected at several places of the file appears once per place.
    pub fingerprints: Vec<Fp>,
}

/// Fingerprints `text` if `path` names a source file of a known language.
pub fn fingerprint_file(key: &Key, params: &CodeParams, path: &str, text: &str) -> Option<FileCode> {
    let language = Language::of_path(path)?;
    let tokens = tokenise(language, text);
    let k = params.k.max(1);
    let code_key = *blake3::keyed_hash(key, DOMAIN).as_bytes();
    // The tokens serialised once, length-prefixed so no two k-grams serialise alike: a k-gram is the
    // slice between two offsets.
    let mut stream = Vec::with_capacity(3 * tokens.len());
    let mut offsets = Vec::with_capacity(tokens.len() + 1);
    for t in &tokens {
        offsets.push(stream.len());
        stream.push(t.text.len() as u8);
        stream.extend_from_slice(t.text.as_bytes());
    }
    offsets.push(stream.len());
    let hashes: Vec<u64> = (0..(tokens.len() + 1).saturating_sub(k))
        .map(|at| {
            let mut first = [0u8; 8];
            first
                .copy_from_slice(&blake3::keyed_hash(&code_key, &stream[offsets[at]..offsets[at + k]]).as_bytes()[..8]);
            u64::from_le_bytes(first)
        })
        .collect();
    let fingerprints = winnow(&hashes, params.w)
        .into_iter()
        .map(|at| Fp { hash: hashes[at], first_line: tokens[at].line, last_line: tokens[at + k - 1].line })
        .collect();
    Some(FileCode { path: path.to_string(), language, tokens: tokens.len() as u32, fingerprints })
}

/// The positions of the rightmost minimum of every window of `w` hashes, each position once; fewer
/// hashes than `w` form one window, so a short file still has a fingerprint.
fn winnow(hashes: &[u64], w: usize) -> Vec<usize> {
    if hashes.is_empty() {
        return Vec::new();
    }
    let w = w.clamp(1, hashes.len());
    let mut min = 0;
    for j in 1..w {
        if hashes[j] <= hashes[min] {
            min = j;
        }
    }
    let mut picked = vec![min];
    for end in w..hashes.len() {
        let start = end + 1 - w;
        if min < start {
            min = start;
            for j in start + 1..=end {
                if hashes[j] <= hashes[min] {
                    min = j;
                }
            }
        } else if hashes[end] <= hashes[min] {
            min = end;
        }
        if picked.last() != Some(&min) {
            picked.push(min);
        }
    }
    picked
}

/// Whether a fingerprint is in the sample at `scale`. Winnowing keeps the smallest hashes, and a small
/// hash is kept in more windows, so it survives edits nearby more often than a large one: sampling by the
/// high bits would overstate containment. The low bits, read reversed, are independent of that order.
fn sampled(hash: u64, scale: u64) -> bool {
    hash.reverse_bits() < u64::MAX / scale.max(1)
}

/// The distinct fingerprint hashes in the sample at `scale` (about 1/`scale` of them, chosen by the
/// keyed hash), sorted: what a manifest can hold instead of every fingerprint.
pub fn sample(files: &[FileCode], scale: u64) -> Vec<u64> {
    let mut hashes: Vec<u64> =
        files.iter().flat_map(|f| f.fingerprints.iter().map(|p| p.hash)).filter(|&h| sampled(h, scale)).collect();
    hashes.sort_unstable();
    hashes.dedup();
    hashes
}

/// The values of a sample (sorted, distinct) that a coarser `scale` keeps: the sample at that scale.
pub fn thin(values: &[u64], scale: u64) -> Vec<u64> {
    values.iter().copied().filter(|&h| sampled(h, scale)).collect()
}

/// How many of a registered sample's hashes occur anywhere in the suspect's files, and of how many:
/// the share with [`crate::wilson`] bounds estimates the containment [`compare`] measures exactly.
pub fn estimate(registered_sample: &[u64], suspect: &[FileCode]) -> (u64, u64) {
    let found: HashSet<u64> = suspect.iter().flat_map(|f| f.fingerprints.iter().map(|p| p.hash)).collect();
    let matched = registered_sample.iter().filter(|h| found.contains(h)).count();
    (matched as u64, registered_sample.len() as u64)
}

/// How much of the registered code is in the suspect's, and where.
#[derive(Debug, Clone, Serialize)]
pub struct CodeContainment {
    /// Distinct fingerprints of the registered code, and how many of them occur in the suspect.
    pub fingerprints: u64,
    pub matched: u64,
    pub share: f64,
    /// Distinct fingerprints of the suspect, and how many of them come from the registered code: small
    /// when the copy is buried in a larger codebase.
    pub suspect_fingerprints: u64,
    pub suspect_matched: u64,
    pub suspect_share: f64,
    pub files: Vec<FileContainment>,
}

#[derive(Debug, Clone, Serialize)]
pub struct FileContainment {
    pub path: String,
    /// Distinct fingerprints of this file, and how many occur in the suspect.
    pub fingerprints: u64,
    pub matched: u64,
    pub share: f64,
    /// The largest matched regions (at most [`MAX_REGIONS`]), in line order.
    pub regions: Vec<Region>,
    /// Matched regions left out of `regions`.
    pub regions_omitted: u64,
}

/// Lines of a registered file whose fingerprints occur in the suspect, and where.
#[derive(Debug, Clone, Serialize)]
pub struct Region {
    /// First and last line, inclusive.
    pub lines: [u32; 2],
    /// Matched fingerprints in these lines.
    pub fingerprints: u32,
    /// The suspect places holding most of them (at most [`MAX_PLACES`]).
    pub found_in: Vec<Place>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Place {
    pub path: String,
    pub lines: [u32; 2],
    /// The region's fingerprints found in these lines.
    pub fingerprints: u32,
}

/// Regions listed per registered file: enough to show a copy, not a dump of the file.
pub const MAX_REGIONS: usize = 20;
/// Suspect places listed per region.
pub const MAX_PLACES: usize = 3;
/// Suspect occurrences looked at per fingerprint, so a fingerprint of boilerplate repeated all over the
/// suspect costs no more than a rare one.
const MAX_OCCURRENCES: usize = 16;

/// The containment of `registered` in `suspect`: both fingerprinted under the same key and parameters.
pub fn compare(registered: &[FileCode], suspect: &[FileCode]) -> CodeContainment {
    let mut index: HashMap<u64, Vec<(u32, u32, u32)>> = HashMap::new();
    for (n, file) in suspect.iter().enumerate() {
        for p in &file.fingerprints {
            index.entry(p.hash).or_default().push((n as u32, p.first_line, p.last_line));
        }
    }
    let all: HashSet<u64> = registered.iter().flat_map(|f| f.fingerprints.iter().map(|p| p.hash)).collect();
    let matched = all.iter().filter(|h| index.contains_key(h)).count() as u64;
    let suspect_matched = index.keys().filter(|h| all.contains(h)).count() as u64;
    let files = registered.iter().map(|file| file_containment(file, suspect, &index)).collect();
    CodeContainment {
        fingerprints: all.len() as u64,
        matched,
        share: ratio(matched, all.len() as u64),
        suspect_fingerprints: index.len() as u64,
        suspect_matched,
        suspect_share: ratio(suspect_matched, index.len() as u64),
        files,
    }
}

fn ratio(k: u64, n: u64) -> f64 {
    if n == 0 {
        0.0
    } else {
        k as f64 / n as f64
    }
}

fn file_containment(
    file: &FileCode,
    suspect: &[FileCode],
    index: &HashMap<u64, Vec<(u32, u32, u32)>>,
) -> FileContainment {
    let distinct: HashSet<u64> = file.fingerprints.iter().map(|p| p.hash).collect();
    let mut hits: Vec<&Fp> = file.fingerprints.iter().filter(|p| index.contains_key(&p.hash)).collect();
    let matched = hits.iter().map(|p| p.hash).collect::<HashSet<_>>().len() as u64;
    hits.sort_by_key(|p| (p.first_line, p.last_line));
    let mut regions: Vec<(u32, u32, Vec<u64>)> = Vec::new();
    for p in hits {
        match regions.last_mut() {
            Some(r) if p.first_line <= r.1.saturating_add(1) => {
                r.1 = r.1.max(p.last_line);
                r.2.push(p.hash);
            }
            _ => regions.push((p.first_line, p.last_line, vec![p.hash])),
        }
    }
    let regions_omitted = regions.len().saturating_sub(MAX_REGIONS) as u64;
    regions.sort_by(|a, b| b.2.len().cmp(&a.2.len()).then(a.0.cmp(&b.0)));
    regions.truncate(MAX_REGIONS);
    regions.sort_by_key(|r| r.0);
    let regions = regions
        .into_iter()
        .map(|(first, last, hashes)| {
            let mut by_file: BTreeMap<u32, Vec<(u32, u32)>> = BTreeMap::new();
            for h in &hashes {
                for &(n, a, b) in index[h].iter().take(MAX_OCCURRENCES) {
                    by_file.entry(n).or_default().push((a, b));
                }
            }
            let mut places: Vec<Place> = Vec::new();
            for (n, mut spans) in by_file {
                spans.sort_unstable();
                let mut merged: Vec<(u32, u32, u32)> = Vec::new();
                for (a, b) in spans {
                    match merged.last_mut() {
                        Some(m) if a <= m.1.saturating_add(1) => {
                            m.1 = m.1.max(b);
                            m.2 += 1;
                        }
                        _ => merged.push((a, b, 1)),
                    }
                }
                let path = &suspect[n as usize].path;
                places.extend(merged.into_iter().map(|(a, b, c)| Place {
                    path: path.clone(),
                    lines: [a, b],
                    fingerprints: c,
                }));
            }
            places.sort_by_key(|p| std::cmp::Reverse(p.fingerprints));
            places.truncate(MAX_PLACES);
            Region { lines: [first, last], fingerprints: hashes.len() as u32, found_in: places }
        })
        .collect();
    FileContainment {
        path: file.path.clone(),
        fingerprints: distinct.len() as u64,
        matched,
        share: ratio(matched, distinct.len() as u64),
        regions,
        regions_omitted,
    }
}

/// A normalised token and the line it starts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Token {
    text: &'static str,
    line: u32,
}

const IDENT: &str = "V";
const STRING: &str = "S";
const NUMBER: &str = "N";

/// Every printable ASCII character that is neither a letter, a digit nor `_`: each its own token.
const PUNCT: &str = "!\"#$%&'()*+,-./:;<=>?@[\\]^`{|}~";

/// Operators read as one token, longest first so the longest match wins.
const OPERATORS: &[&str] = &[
    ">>>=", "<<=", ">>=", ">>>", "...", "..=", "**=", "//=", "===", "!==", "<=>", "::", "->", "=>", "==", "!=", "<=",
    ">=", "&&", "||", "+=", "-=", "*=", "/=", "%=", "^=", "&=", "|=", "<<", ">>", "..", "++", "--", "**", "//", "??",
    "?.", ":=", "<-",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SingleQuote {
    /// Quotes a string, like `"`.
    String,
    /// Quotes one character (C, Java, Go).
    Char,
    /// A character literal or a lifetime or label (Rust).
    CharOrLifetime,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Prefixes {
    None,
    /// `b"…"`, `b'…'`, `c"…"`, raw strings `r#"…"#`, raw identifiers `r#name`.
    Rust,
    /// `r'…'`, `f"…"`, `rb"""…"""`, in any case.
    Python,
    /// Raw strings `R"delim(…)delim"` and their encoding prefixes.
    Cpp,
}

/// What a tokeniser needs to know of a language.
struct Syntax {
    /// Sorted, for binary search.
    keywords: &'static [&'static str],
    line_comments: &'static [&'static str],
    /// `/* … */`, and whether they nest.
    block_comments: bool,
    nested_comments: bool,
    single_quote: SingleQuote,
    /// Backticks quote a string (JavaScript templates, Go raw strings, shell commands).
    backtick: bool,
    /// Whether a backslash escapes inside backticks (not in Go raw strings).
    backtick_escapes: bool,
    /// `"""…"""` (and `'''…'''` where single quotes quote strings).
    triple_quotes: bool,
    /// Whether `"…"` may span lines.
    multiline_strings: bool,
    prefixes: Prefixes,
    /// `$` is part of identifiers (JavaScript, PHP and shell variables).
    dollar: bool,
}

// Kept in rows: one keyword a line would be most of the module.
#[rustfmt::skip]
const RUST_KEYWORDS: &[&str] = &[
    "Self", "as", "async", "await", "break", "const", "continue", "crate", "dyn", "else", "enum", "extern", "false",
    "fn", "for", "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub", "ref", "return", "self",
    "static", "struct", "super", "trait", "true", "type", "union", "unsafe", "use", "where", "while", "yield",
];
#[rustfmt::skip]
const PYTHON_KEYWORDS: &[&str] = &[
    "False", "None", "True", "and", "as", "assert", "async", "await", "break", "case", "class", "continue", "def",
    "del", "elif", "else", "except", "finally", "for", "from", "global", "if", "import", "in", "is", "lambda",
    "match", "nonlocal", "not", "or", "pass", "raise", "return", "try", "while", "with", "yield",
];
#[rustfmt::skip]
const JS_KEYWORDS: &[&str] = &[
    "abstract", "as", "async", "await", "break", "case", "catch", "class", "const", "continue", "debugger",
    "declare", "default", "delete", "do", "else", "enum", "export", "extends", "false", "finally", "for", "from",
    "function", "if", "implements", "import", "in", "instanceof", "interface", "keyof", "let", "namespace", "new",
    "null", "of", "private", "protected", "public", "readonly", "return", "static", "super", "switch", "this",
    "throw", "true", "try", "type", "typeof", "undefined", "var", "void", "while", "with", "yield",
];
#[rustfmt::skip]
const JAVA_KEYWORDS: &[&str] = &[
    "abstract", "assert", "boolean", "break", "byte", "case", "catch", "char", "class", "const", "continue",
    "default", "do", "double", "else", "enum", "extends", "false", "final", "finally", "float", "for", "goto", "if",
    "implements", "import", "instanceof", "int", "interface", "long", "native", "new", "null", "package", "private",
    "protected", "public", "record", "return", "short", "static", "strictfp", "super", "switch", "synchronized",
    "this", "throw", "throws", "transient", "true", "try", "var", "void", "volatile", "while", "yield",
];
#[rustfmt::skip]
const C_KEYWORDS: &[&str] = &[
    "_Bool", "auto", "bool", "break", "case", "catch", "char", "class", "const", "const_cast", "constexpr",
    "continue", "decltype", "default", "define", "delete", "do", "double", "dynamic_cast", "else", "endif", "enum",
    "explicit", "extern", "false", "float", "for", "friend", "goto", "if", "ifdef", "ifndef", "include", "inline",
    "int", "long", "mutable", "namespace", "new", "noexcept", "nullptr", "operator", "override", "private",
    "protected", "public", "register", "reinterpret_cast", "restrict", "return", "short", "signed", "sizeof",
    "static", "static_assert", "static_cast", "struct", "switch", "template", "this", "throw", "true", "try",
    "typedef", "typename", "union", "unsigned", "using", "virtual", "void", "volatile", "while",
];
#[rustfmt::skip]
const GO_KEYWORDS: &[&str] = &[
    "break", "case", "chan", "const", "continue", "default", "defer", "else", "fallthrough", "false", "for", "func",
    "go", "goto", "if", "import", "interface", "map", "nil", "package", "range", "return", "select", "struct",
    "switch", "true", "type", "var",
];
/// The keywords most C-like and scripting languages share, for those without a list of their own.
#[rustfmt::skip]
const GENERIC_KEYWORDS: &[&str] = &[
    "break", "case", "catch", "class", "const", "continue", "def", "default", "do", "elif", "else", "elsif", "end",
    "enum", "false", "finally", "fn", "for", "fun", "func", "function", "if", "import", "in", "interface", "let",
    "local", "new", "nil", "null", "package", "private", "protected", "public", "return", "self", "static",
    "struct", "switch", "then", "this", "throw", "true", "try", "val", "var", "void", "while",
];

fn syntax(language: Language) -> Syntax {
    let c_like = Syntax {
        keywords: GENERIC_KEYWORDS,
        line_comments: &["//"],
        block_comments: true,
        nested_comments: false,
        single_quote: SingleQuote::Char,
        backtick: false,
        backtick_escapes: true,
        triple_quotes: false,
        multiline_strings: false,
        prefixes: Prefixes::None,
        dollar: false,
    };
    let scripting = Syntax {
        line_comments: &["#"],
        block_comments: false,
        single_quote: SingleQuote::String,
        multiline_strings: true,
        dollar: true,
        ..c_like
    };
    match language {
        Language::Rust => Syntax {
            keywords: RUST_KEYWORDS,
            nested_comments: true,
            single_quote: SingleQuote::CharOrLifetime,
            multiline_strings: true,
            prefixes: Prefixes::Rust,
            ..c_like
        },
        Language::Python => Syntax {
            keywords: PYTHON_KEYWORDS,
            triple_quotes: true,
            multiline_strings: false,
            prefixes: Prefixes::Python,
            dollar: false,
            ..scripting
        },
        Language::JavaScript | Language::TypeScript => {
            Syntax { keywords: JS_KEYWORDS, single_quote: SingleQuote::String, backtick: true, dollar: true, ..c_like }
        }
        Language::Java => Syntax { keywords: JAVA_KEYWORDS, triple_quotes: true, ..c_like },
        Language::C | Language::Cpp => Syntax { keywords: C_KEYWORDS, prefixes: Prefixes::Cpp, ..c_like },
        Language::Go => Syntax { keywords: GO_KEYWORDS, backtick: true, backtick_escapes: false, ..c_like },
        Language::Kotlin | Language::Scala | Language::Swift => {
            Syntax { nested_comments: true, triple_quotes: true, ..c_like }
        }
        Language::CSharp => c_like,
        Language::Php => Syntax { line_comments: &["//", "#"], block_comments: true, ..scripting },
        Language::Ruby | Language::Shell | Language::R | Language::Julia => {
            Syntax { backtick: true, triple_quotes: language == Language::Julia, ..scripting }
        }
        Language::Sql | Language::Lua => {
            Syntax { line_comments: &["--"], block_comments: language == Language::Sql, dollar: false, ..scripting }
        }
    }
}

fn is_ident_start(c: u8, dollar: bool) -> bool {
    c.is_ascii_alphabetic() || c == b'_' || c >= 0x80 || (dollar && c == b'$')
}

fn is_ident_continue(c: u8, dollar: bool) -> bool {
    is_ident_start(c, dollar) || c.is_ascii_digit()
}

/// Reads `text` into normalised tokens; anything it does not understand becomes punctuation or is
/// skipped, so it reads any input without failing.
fn tokenise(language: Language, text: &str) -> Vec<Token> {
    let syn = syntax(language);
    let b = text.as_bytes();
    let mut out = Vec::with_capacity(b.len() / 4);
    let mut normal = Normaliser::new(language);
    let mut i = 0;
    let mut line = 1u32;
    while i < b.len() {
        let c = b[i];
        if c == b'\n' {
            line += 1;
            i += 1;
            continue;
        }
        if c <= b' ' || c == 0x7f {
            i += 1;
            continue;
        }
        let (end, text) = if let Some(end) = comment(&syn, b, i) {
            (end, None)
        } else if is_ident_start(c, syn.dollar) {
            word(&syn, b, i)
        } else if c.is_ascii_digit() {
            (number(b, i), Some(NUMBER))
        } else if c == b'"' {
            (string(&syn, b, i, b'"'), Some(STRING))
        } else if c == b'\'' {
            quote(&syn, b, i)
        } else if c == b'`' && syn.backtick {
            (scan(b, i + 1, b"`", syn.backtick_escapes, true), Some(STRING))
        } else if let Some(op) = OPERATORS.iter().find(|op| op.as_bytes()[0] == c && b[i..].starts_with(op.as_bytes()))
        {
            (i + op.len(), Some(*op))
        } else if let Some(p) = PUNCT.bytes().position(|p| p == c) {
            (i + 1, Some(&PUNCT[p..p + 1]))
        } else {
            (i + 1, None)
        };
        if let Some(text) = text {
            normal.push(&mut out, Token { text, line });
        }
        // Comments and strings may span lines.
        line = line.saturating_add(b[i..end].iter().filter(|&&c| c == b'\n').count() as u32);
        i = end;
    }
    out
}

/// What formatters add, drop or reorder, left out as tokens are appended: trailing commas; grouping
/// parentheses (black wraps long expressions in them) with their closing ones; in Rust, the braces
/// rustfmt puts around a match arm's body as it wraps (the arm then reads as `=> body ,`), and `use`
/// declarations, which it sorts and regroups.
struct Normaliser {
    rust: bool,
    /// For each open parenthesis, whether it was kept.
    parens: Vec<bool>,
    /// For each open brace, whether it was kept.
    braces: Vec<bool>,
    /// Inside a Rust `use` declaration, up to its `;`.
    in_use: bool,
}

impl Normaliser {
    fn new(language: Language) -> Self {
        Self { rust: language == Language::Rust, parens: Vec::new(), braces: Vec::new(), in_use: false }
    }

    fn push(&mut self, out: &mut Vec<Token>, token: Token) {
        if self.in_use {
            self.in_use = token.text != ";";
            return;
        }
        let last = out.last().map(|t| t.text);
        if self.rust && token.text == "use" && matches!(last, None | Some(";" | "{" | "}" | "]" | "pub")) {
            if last == Some("pub") {
                out.pop();
            }
            self.in_use = true;
            return;
        }
        if matches!(token.text, ")" | "]" | "}") && last == Some(",") {
            out.pop();
        }
        let keep = match token.text {
            // A parenthesis after a name, a call, an index or a literal opens arguments or parameters.
            "(" => {
                let call = matches!(out.last().map(|t| t.text), Some("V" | "S" | ")" | "]" | ">"));
                self.parens.push(call);
                call
            }
            ")" => self.parens.pop().unwrap_or(true),
            "{" => {
                let arm = self.rust && out.last().is_some_and(|t| t.text == "=>");
                self.braces.push(!arm);
                !arm
            }
            "}" => {
                if !self.braces.pop().unwrap_or(true) {
                    out.push(Token { text: ",", line: token.line });
                    return;
                }
                true
            }
            _ => true,
        };
        if keep {
            out.push(token);
        }
    }
}

/// The end of a comment starting at `i`, if one does.
fn comment(syn: &Syntax, b: &[u8], i: usize) -> Option<usize> {
    let rest = &b[i..];
    if syn.line_comments.iter().any(|p| rest.starts_with(p.as_bytes())) {
        return Some(rest.iter().position(|&c| c == b'\n').map_or(b.len(), |n| i + n));
    }
    if !(syn.block_comments && rest.starts_with(b"/*")) {
        return None;
    }
    let (mut depth, mut j) = (1, i + 2);
    while j < b.len() {
        if syn.nested_comments && b[j..].starts_with(b"/*") {
            depth += 1;
            j += 2;
        } else if b[j..].starts_with(b"*/") {
            depth -= 1;
            j += 2;
            if depth == 0 {
                return Some(j);
            }
        } else {
            j += 1;
        }
    }
    Some(b.len())
}

/// The end of a quoted run starting at `j` (just after the opening quote) and closed by `close`: the
/// end of the line or of the text when it is not closed.
fn scan(b: &[u8], mut j: usize, close: &[u8], escapes: bool, multiline: bool) -> usize {
    while j < b.len() {
        if escapes && b[j] == b'\\' {
            j += 2;
        } else if b[j..].starts_with(close) {
            return j + close.len();
        } else if !multiline && b[j] == b'\n' {
            return j;
        } else {
            j += 1;
        }
    }
    b.len()
}

/// The end of a string opened by `q` at `i`, triple-quoted where the language has them.
fn string(syn: &Syntax, b: &[u8], i: usize, q: u8) -> usize {
    let triple = [q; 3];
    if syn.triple_quotes && b[i..].starts_with(&triple) {
        scan(b, i + 3, &triple, true, true)
    } else {
        scan(b, i + 1, &[q], true, syn.multiline_strings)
    }
}

/// A single quote at `i`: a string, a character, or a Rust lifetime or label (an identifier).
fn quote(syn: &Syntax, b: &[u8], i: usize) -> (usize, Option<&'static str>) {
    match syn.single_quote {
        SingleQuote::String => (string(syn, b, i, b'\''), Some(STRING)),
        SingleQuote::Char => (scan(b, i + 1, b"'", true, false), Some(STRING)),
        SingleQuote::CharOrLifetime => {
            let next = b.get(i + 1).copied().unwrap_or(b'\n');
            // The length of the character after the quote, from its UTF-8 lead byte.
            let width = match next {
                0xf0.. => 4,
                0xe0.. => 3,
                0xc0.. => 2,
                _ => 1,
            };
            if next == b'\\' || b.get(i + 1 + width) == Some(&b'\'') {
                (scan(b, i + 1, b"'", true, false), Some(STRING))
            } else if is_ident_start(next, false) {
                let mut j = i + 1;
                while j < b.len() && is_ident_continue(b[j], false) {
                    j += 1;
                }
                (j, Some(IDENT))
            } else {
                (i + 1, Some("'"))
            }
        }
    }
}

fn number(b: &[u8], i: usize) -> usize {
    let hex = b[i..].starts_with(b"0x") || b[i..].starts_with(b"0X");
    let mut j = i + 1;
    while j < b.len() {
        let c = b[j];
        let fraction = c == b'.' && b.get(j + 1).is_some_and(u8::is_ascii_digit) && b[j - 1] != b'.';
        let exponent = (c == b'+' || c == b'-') && !hex && matches!(b[j - 1], b'e' | b'E');
        if c.is_ascii_alphanumeric() || c == b'_' || fraction || exponent {
            j += 1;
        } else {
            break;
        }
    }
    j
}

/// An identifier or keyword at `i`, or a string its letters prefix.
fn word(syn: &Syntax, b: &[u8], i: usize) -> (usize, Option<&'static str>) {
    let mut j = i;
    while j < b.len() && is_ident_continue(b[j], syn.dollar) {
        j += 1;
    }
    let w = &b[i..j];
    let next = b.get(j).copied();
    match syn.prefixes {
        Prefixes::Rust => {
            if matches!(w, b"r" | b"br" | b"cr") && matches!(next, Some(b'"' | b'#')) {
                let hashes = b[j..].iter().take_while(|&&c| c == b'#').count();
                if b.get(j + hashes) == Some(&b'"') {
                    let mut close = vec![b'"'];
                    close.resize(1 + hashes, b'#');
                    return (scan(b, j + hashes + 1, &close, false, true), Some(STRING));
                }
                if w == b"r" && hashes == 1 && b.get(j + 1).is_some_and(|&c| is_ident_start(c, false)) {
                    let mut k = j + 1;
                    while k < b.len() && is_ident_continue(b[k], false) {
                        k += 1;
                    }
                    return (k, Some(IDENT));
                }
            }
            if matches!(w, b"b" | b"c") && next == Some(b'"') {
                return (scan(b, j + 1, b"\"", true, true), Some(STRING));
            }
            if w == b"b" && next == Some(b'\'') {
                return (scan(b, j + 1, b"'", true, false), Some(STRING));
            }
        }
        Prefixes::Python => {
            if w.len() <= 2 && w.iter().all(|c| b"rRbBuUfF".contains(c)) && matches!(next, Some(b'"' | b'\'')) {
                return (string(syn, b, j, b[j]), Some(STRING));
            }
        }
        Prefixes::Cpp => {
            if matches!(w, b"R" | b"LR" | b"uR" | b"UR" | b"u8R") && next == Some(b'"') {
                // The delimiter is at most 16 characters by the standard.
                let open = b[j + 1..].iter().take(17).position(|&c| c == b'(');
                if let Some(d) = open {
                    let mut close = vec![b')'];
                    close.extend_from_slice(&b[j + 1..j + 1 + d]);
                    close.push(b'"');
                    return (scan(b, j + 2 + d, &close, false, true), Some(STRING));
                }
            }
            if matches!(w, b"L" | b"u" | b"U" | b"u8") && matches!(next, Some(b'"' | b'\'')) {
                return (scan(b, j + 1, &[b[j]], true, false), Some(STRING));
            }
        }
        Prefixes::None => {}
    }
    let keyword = std::str::from_utf8(w).ok().and_then(|w| syn.keywords.binary_search(&w).ok());
    (j, Some(keyword.map_or(IDENT, |k| syn.keywords[k])))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn texts(language: Language, text: &str) -> Vec<&'static str> {
        tokenise(language, text).into_iter().map(|t| t.text).collect()
    }

    #[test]
    fn keyword_lists_are_sorted_for_binary_search() {
        for list in
            [RUST_KEYWORDS, PYTHON_KEYWORDS, JS_KEYWORDS, JAVA_KEYWORDS, C_KEYWORDS, GO_KEYWORDS, GENERIC_KEYWORDS]
        {
            assert!(list.windows(2).all(|p| p[0] < p[1]), "{list:?}");
        }
    }

    #[test]
    fn rust_is_read_through_comments_strings_chars_and_lifetimes() {
        let src = "/* a /* nested */ comment */ fn f<'a>(x: &'a str) -> char { // note\n\
                   let s = r#\"raw \" still\"#; let c = '\\''; let d = 'é'; b\"by\"; r#type + 1.5e-3 }";
        assert_eq!(
            texts(Language::Rust, src),
            [
                "fn", "V", "<", "V", ">", "(", "V", ":", "&", "V", "V", ")", "->", "V", "{", "let", "V", "=", "S", ";",
                "let", "V", "=", "S", ";", "let", "V", "=", "S", ";", "S", ";", "V", "+", "N", "}"
            ]
        );
        let lines: Vec<u32> = tokenise(Language::Rust, "a\n/* x\ny */ b \"s\ns\" c").iter().map(|t| t.line).collect();
        assert_eq!(lines, [1, 3, 3, 4]);
    }

    #[test]
    fn python_strings_prefixes_and_comments() {
        let src = "def f(x):  # comment\n    \"\"\"doc \"quoted\"\n    \"\"\"\n    return rb'\\'' + f\"{x}\" // 2\n";
        assert_eq!(
            texts(Language::Python, src),
            ["def", "V", "(", "V", ")", ":", "S", "return", "S", "+", "S", "//", "N"]
        );
    }

    #[test]
    fn what_formatters_add_is_left_out() {
        let wrapped = "x = (\n    f(a, b,)\n    + (c * d)\n)\nreturn (x)\n";
        assert_eq!(texts(Language::Python, wrapped), texts(Language::Python, "x = f(a, b) + c * d\nreturn x"));
        assert_eq!(
            texts(Language::Python, "f(a)(b)[c](d)"),
            ["V", "(", "V", ")", "(", "V", ")", "[", "V", "]", "(", "V", ")"]
        );
    }

    #[test]
    fn fingerprints_are_kept_as_short_arrays_and_read_back() {
        let f = Fp { hash: u64::MAX, first_line: 3, last_line: 9 };
        assert_eq!(serde_json::to_string(&f).unwrap(), "[18446744073709551615,3,9]");
        assert_eq!(serde_json::from_str::<Fp>("[18446744073709551615,3,9]").unwrap(), f);
    }

    #[test]
    fn rustfmt_s_arm_braces_and_use_lists_are_left_out() {
        let narrow = "use std::{io, fmt};\nfn f(x: u8) -> u8 {\n  match x {\n    0 => {\n      g(x)\n    }\n    _ => 1,\n  }\n}\n";
        let wide = "use std::fmt;\nuse std::io;\nfn f(x: u8) -> u8 { match x { 0 => g(x), _ => 1 } }\n";
        assert_eq!(texts(Language::Rust, narrow), texts(Language::Rust, wide));
        assert_eq!(texts(Language::Rust, "pub use a::b; fn f() {}"), ["fn", "V", "(", ")", "{", "}"]);
        // Elsewhere braces stay.
        assert_eq!(texts(Language::Rust, "if a { b }"), ["if", "V", "{", "V", "}"]);
    }

    #[test]
    fn javascript_templates_go_raw_strings_and_cpp_raw_strings() {
        assert_eq!(texts(Language::JavaScript, "const $a = `x ${y}\n` // c"), ["const", "V", "=", "S"]);
        assert_eq!(texts(Language::Go, "s := `a\\` + 'x'"), ["V", ":=", "S", "+", "S"]);
        assert_eq!(texts(Language::Cpp, "auto s = R\"x(a)\" b)x\"; // c"), ["auto", "V", "=", "S", ";"]);
    }

    #[test]
    fn layout_comments_and_names_do_not_change_the_fingerprints() {
        let key = [7u8; 32];
        let params = CodeParams::default();
        let a = "fn total(items: &[u64]) -> u64 {\n    let mut sum = 0;\n    for item in items {\n        \
                 sum += item * 2;\n    }\n    sum\n}\n";
        let b = "// renamed\nfn   add_up( xs : &[ u64 ] ) -> u64 { let mut acc = 0; /* loop */ for x in xs { acc += \
                 x * 7; } acc }";
        let fa = fingerprint_file(&key, &params, "a.rs", a).unwrap();
        let fb = fingerprint_file(&key, &params, "b.rs", b).unwrap();
        let hashes = |f: &FileCode| f.fingerprints.iter().map(|p| p.hash).collect::<Vec<_>>();
        assert_eq!(hashes(&fa), hashes(&fb));
        let other = fingerprint_file(&[8u8; 32], &params, "a.rs", a).unwrap();
        assert_ne!(hashes(&fa), hashes(&other), "the key changes every hash");
        assert!(fingerprint_file(&key, &params, "README.md", a).is_none());
    }

    #[test]
    fn winnowing_keeps_the_rightmost_minimum_of_each_window_once() {
        assert_eq!(winnow(&[77, 74, 42, 17, 98, 50, 17, 98, 8, 88, 67, 39, 77, 74, 42, 17, 98], 4), [3, 6, 8, 11, 15]);
        assert_eq!(winnow(&[5, 3, 9], 8), [1]);
        assert!(winnow(&[], 8).is_empty());
    }

    #[test]
    fn compare_finds_the_copied_lines() {
        let key = [1u8; 32];
        let params = CodeParams { k: 5, w: 4 };
        let reg = "def area(r):\n    return 3.14 * r * r\n\ndef grow(xs, n):\n    out = []\n    for x in xs:\n        \
                   out.append(x * n)\n    return out\n";
        let sus = "x = [1]\n\ndef scale(values, factor):\n    res = []\n    for v in values:\n        \
                   res.append(v * factor)\n    return res\n";
        let r = fingerprint_file(&key, &params, "geo.py", reg).unwrap();
        let s = fingerprint_file(&key, &params, "copy.py", sus).unwrap();
        let c = compare(std::slice::from_ref(&r), std::slice::from_ref(&s));
        assert!(c.matched > 0 && c.matched < c.fingerprints, "{c:?}");
        let region = &c.files[0].regions[0];
        assert!(region.lines[0] >= 4, "{region:?}");
        assert_eq!(region.found_in[0].path, "copy.py");
        assert!(region.found_in[0].lines[0] >= 3);
        let (k, n) = estimate(&sample(std::slice::from_ref(&r), 1), std::slice::from_ref(&s));
        assert_eq!((k, n), (c.matched, c.fingerprints));
    }

    proptest! {
        #[test]
        fn any_text_is_read_without_failing(text in "\\PC*", bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let lossy = String::from_utf8_lossy(&bytes).into_owned();
            for language in [Language::Rust, Language::Python, Language::JavaScript, Language::Java, Language::Cpp,
                             Language::Go, Language::Shell, Language::Sql] {
                for t in [&text, &lossy] {
                    let tokens = tokenise(language, t);
                    let lines = t.matches('\n').count() as u32 + 1;
                    prop_assert!(tokens.windows(2).all(|p| p[0].line <= p[1].line));
                    prop_assert!(tokens.iter().all(|x| x.line >= 1 && x.line <= lines));
                }
            }
        }

        #[test]
        fn a_shared_run_of_w_plus_k_minus_1_tokens_is_always_found(
            a in proptest::collection::vec(0u8..20, 0..60),
            shared in proptest::collection::vec(0u8..20, 31..50),
            b in proptest::collection::vec(0u8..20, 0..60),
        ) {
            // Distinct keywords stand for distinct tokens; 31 = w + k − 1 by default.
            let src = |xs: &[u8]| xs.iter().map(|&x| RUST_KEYWORDS[x as usize]).collect::<Vec<_>>().join(" ");
            let key = [3u8; 32];
            let params = CodeParams::default();
            let one = fingerprint_file(&key, &params, "a.rs", &format!("{} {}", src(&a), src(&shared))).unwrap();
            let two = fingerprint_file(&key, &params, "b.rs", &format!("{} {}", src(&shared), src(&b))).unwrap();
            prop_assert!(compare(&[one], &[two]).matched > 0);
        }
    }
}
