//! `canon/1`: the frozen canonical form of a record (see docs/CANONICALISATION.md). Two serialisations
//! of the same data — reordered columns, `12,345` for `12345`, trailing zeros, padding, CRLF — give the
//! same bytes. Changing anything here changes every fingerprint: make a `canon/2` instead.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;

pub const CANON_VERSION: &str = "canon/1";
/// Separates a column name from its value inside a record.
pub const UNIT_SEP: u8 = 0x1F;
/// Separates the columns of a record.
pub const RECORD_SEP: u8 = 0x1E;

/// How a column's values are normalised; decided per column, never cell by cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ColumnType {
    Text,
    Number,
    Date,
    DateTime,
    Bool,
}

/// Column names: trimmed, inner whitespace collapsed, lower-cased, NFC.
pub fn name(s: &str) -> String {
    text(s).to_lowercase().nfc().collect()
}

/// Text values: trimmed, inner whitespace collapsed to one space, NFC.
pub fn text(s: &str) -> String {
    text_cow(s).into_owned()
}

/// [`text`] without allocating when the value is already canonical (the common case).
pub fn text_cow(s: &str) -> Cow<'_, str> {
    let clean = {
        let b = s.as_bytes();
        let mut prev_space = true; // a leading space is not clean
        let mut ok = true;
        for &c in b {
            let space = c == b' ';
            if (space && prev_space) || c == b'\t' || c == b'\n' || c == b'\r' || c == 0x0B || c == 0x0C {
                ok = false;
                break;
            }
            prev_space = space;
        }
        ok && !prev_space || b.is_empty()
    };
    let ascii = s.is_ascii();
    if clean
        && (ascii
            || (unicode_normalization::is_nfc_quick(s.chars()) == unicode_normalization::IsNormalized::Yes
                && !s.chars().any(|c| !c.is_ascii() && c.is_whitespace())))
    {
        return Cow::Borrowed(s);
    }
    Cow::Owned(text_slow(s))
}

fn text_slow(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for word in s.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    if out.is_ascii() {
        out
    } else {
        out.nfc().collect()
    }
}

/// Whether a raw value means "no value".
pub fn is_null(s: &str) -> bool {
    let t = s.trim();
    // No null word is longer than four bytes: most values are decided by their length.
    t.is_empty()
        || (t.len() <= 4
            && ["null", "na", "n/a", "none", "nan", "\\n", "nil"].iter().any(|n| t.eq_ignore_ascii_case(n)))
}

/// A number in canonical decimal: no exponent, no leading or trailing zeros, `-0` → `0`; optionally
/// rounded half away from zero to `round` decimals. Accepts thousands separators (`12,345`), a leading
/// `+`, a currency sign (`¥ $ € £`) and exponents (`1.2e3`).
pub fn number(s: &str, round: Option<u32>) -> Option<String> {
    let mut t = s.trim();
    let mut negative = false;
    if let Some(r) = t.strip_prefix('-') {
        negative = true;
        t = r;
    } else if let Some(r) = t.strip_prefix('+') {
        t = r;
    }
    for c in ['¥', '$', '€', '£', '￥'] {
        if let Some(r) = t.strip_prefix(c) {
            t = r.trim_start();
        }
    }
    let (mantissa, exp) = match t.find(['e', 'E']) {
        Some(i) => (&t[..i], t[i + 1..].parse::<i32>().ok()?),
        None => (t, 0),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    // Thousands separators only in well-formed groups of three.
    let int_digits: String = if int.contains(',') {
        let groups: Vec<&str> = int.split(',').collect();
        let ok = !groups[0].is_empty() && groups[0].len() <= 3 && groups[1..].iter().all(|g| g.len() == 3);
        if !ok {
            return None;
        }
        groups.concat()
    } else {
        int.to_string()
    };
    if !int_digits.bytes().all(|b| b.is_ascii_digit()) || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // digits × 10^(point) where point counts digits after the decimal point.
    let mut digits: Vec<u8> = int_digits.bytes().chain(frac.bytes()).map(|b| b - b'0').collect();
    let mut scale = frac.len() as i64 - i64::from(exp); // value = digits / 10^scale
    if let Some(r) = round {
        let r = i64::from(r);
        if scale > r {
            let drop = (scale - r) as usize;
            if drop > digits.len() {
                digits = vec![0];
            } else {
                let cut = digits.len() - drop;
                let round_up = digits[cut] >= 5;
                digits.truncate(cut);
                if round_up {
                    let mut i = digits.len();
                    loop {
                        if i == 0 {
                            digits.insert(0, 1);
                            break;
                        }
                        i -= 1;
                        if digits[i] == 9 {
                            digits[i] = 0;
                        } else {
                            digits[i] += 1;
                            break;
                        }
                    }
                }
                if digits.is_empty() {
                    digits.push(0);
                }
            }
            scale = r;
        }
    }
    // Trailing zeros of the fraction go; a negative scale becomes zeros.
    while scale > 0 && digits.last() == Some(&0) && digits.len() > 1 {
        digits.pop();
        scale -= 1;
    }
    if scale < 0 {
        digits.extend(std::iter::repeat_n(0, (-scale) as usize));
        scale = 0;
    }
    let scale = scale as usize;
    if digits.len() <= scale {
        let mut padded = vec![0; scale + 1 - digits.len()];
        padded.extend(digits);
        digits = padded;
    }
    let split = digits.len() - scale;
    let int_part: String = digits[..split].iter().map(|d| (b'0' + d) as char).collect::<String>();
    let int_part = int_part.trim_start_matches('0');
    let int_part = if int_part.is_empty() { "0" } else { int_part };
    let frac_part: String = digits[split..].iter().map(|d| (b'0' + d) as char).collect();
    let zero = int_part == "0" && frac_part.bytes().all(|b| b == b'0');
    let mut out = String::new();
    if negative && !zero {
        out.push('-');
    }
    out.push_str(int_part);
    if !frac_part.is_empty() && !zero {
        out.push('.');
        out.push_str(&frac_part);
    }
    Some(out)
}

fn two(s: &str) -> Option<u32> {
    (s.len() <= 2 && !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())).then(|| s.parse().ok()).flatten()
}

/// A date as `YYYY-MM-DD`; accepts `-`, `/` or `.` separators and `2024年1月5日`.
pub fn date(s: &str) -> Option<String> {
    let t = s.trim();
    let t = t.replace(['年', '月'], "-").replace('日', "");
    let parts: Vec<&str> = t.split(['-', '/', '.']).collect();
    if parts.len() != 3 || parts[0].len() != 4 || !parts[0].bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (y, m, d) = (parts[0].parse::<i32>().ok()?, two(parts[1])?, two(parts[2])?);
    chrono::NaiveDate::from_ymd_opt(y, m, d).map(|d| {
        let mut out = String::with_capacity(10);
        push_date(&mut out, &d);
        out
    })
}

/// `YYYY-MM-DD` (chrono's `%Y-%m-%d` for years 0–9999) without parsing a format string per value.
fn push_date(out: &mut String, d: &chrono::NaiveDate) {
    use chrono::Datelike;
    use std::fmt::Write;
    if (0..=9999).contains(&d.year()) {
        let _ = write!(out, "{:04}-{:02}-{:02}", d.year(), d.month(), d.day());
    } else {
        let _ = write!(out, "{}", d.format("%Y-%m-%d"));
    }
}

/// chrono's `%Y-%m-%dT%H:%M:%S%.f` (then `Z` when `zulu`), written directly: `%.f` is no fraction for
/// whole seconds, else 3, 6 or 9 digits, whichever is shortest exact.
fn format_datetime(t: &chrono::NaiveDateTime, zulu: bool) -> String {
    use chrono::Timelike;
    use std::fmt::Write;
    let z = if zulu { "Z" } else { "" };
    let nano = t.nanosecond();
    if nano >= 1_000_000_000 || !(0..=9999).contains(&chrono::Datelike::year(t)) {
        // A leap second or a year chrono writes with a sign: chrono's own formatting, rare.
        return format!("{}{z}", t.format("%Y-%m-%dT%H:%M:%S%.f"));
    }
    let mut out = String::with_capacity(32);
    push_date(&mut out, &t.date());
    let _ = write!(out, "T{:02}:{:02}:{:02}", t.hour(), t.minute(), t.second());
    let _ = match nano {
        0 => Ok(()),
        n if n % 1_000_000 == 0 => write!(out, ".{:03}", n / 1_000_000),
        n if n % 1_000 == 0 => write!(out, ".{:06}", n / 1_000),
        n => write!(out, ".{n:09}"),
    };
    out.push_str(z);
    out
}

/// Already `YYYY-MM-DDTHH:MM:SS` (then `Z` or nothing) with a real date and time: the canonical form
/// of itself, recognised without parsing (the common case of a machine-written column).
fn iso_datetime(s: &str) -> bool {
    let b = s.as_bytes();
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    let num = |r: std::ops::Range<usize>| b[r].iter().fold(0u32, |n, c| n * 10 + u32::from(c - b'0'));
    (b.len() == 19 || (b.len() == 20 && b[19] == b'Z'))
        && b[10] == b'T'
        && b[13] == b':'
        && b[16] == b':'
        && digits(11..13)
        && digits(14..16)
        && digits(17..19)
        && num(11..13) < 24
        && num(14..16) < 60
        && num(17..19) < 60
        && iso_date(&s[..10])
}

/// Already `YYYY-MM-DD` and a real date.
fn iso_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter().enumerate().all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
        && chrono::NaiveDate::from_ymd_opt(
            s[..4].parse().unwrap_or(0),
            s[5..7].parse().unwrap_or(0),
            s[8..].parse().unwrap_or(0),
        )
        .is_some()
}

/// A date-time: with an offset → UTC `YYYY-MM-DDTHH:MM:SS[.f]Z`; without → the same, unzoned.
pub fn datetime(s: &str) -> Option<String> {
    let t = s.trim();
    if let Ok(dt) = chrono::DateTime::parse_from_rfc3339(t) {
        return Some(format_datetime(&dt.naive_utc(), true));
    }
    let t = t.replacen(' ', "T", 1).replace('/', "-");
    for f in ["%Y-%m-%dT%H:%M:%S%.f%:z", "%Y-%m-%dT%H:%M:%S%:z", "%Y-%m-%dT%H:%M%:z"] {
        if let Ok(dt) = chrono::DateTime::parse_from_str(&t, f) {
            return Some(format_datetime(&dt.naive_utc(), true));
        }
    }
    for f in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M"] {
        if let Ok(dt) = chrono::NaiveDateTime::parse_from_str(&t, f) {
            return Some(format_datetime(&dt, false));
        }
    }
    None
}

pub fn boolean(s: &str) -> Option<&'static str> {
    match s.trim().to_ascii_lowercase().as_str() {
        "true" | "t" | "yes" | "y" => Some("true"),
        "false" | "f" | "no" | "n" => Some("false"),
        _ => match s.trim() {
            "是" => Some("true"),
            "否" => Some("false"),
            _ => None,
        },
    }
}

/// Plain decimals (`-12.50`, `7`) in canonical form without allocating: `None` when the value needs
/// the full parser (separators, exponents, signs, padding, leading zeros).
fn plain_number(raw: &str) -> Option<Cow<'_, str>> {
    let b = raw.as_bytes();
    let digits = b.strip_prefix(b"-").unwrap_or(b);
    if digits.is_empty() || !digits[0].is_ascii_digit() || (digits[0] == b'0' && digits.len() > 1 && digits[1] != b'.')
    {
        return None;
    }
    let (mut dot, mut nonzero) = (None, false);
    for (i, &c) in digits.iter().enumerate() {
        match c {
            b'1'..=b'9' => nonzero = true,
            b'0' => {}
            b'.' if dot.is_none() && i + 1 < digits.len() => dot = Some(i),
            _ => return None,
        }
    }
    if !nonzero {
        return Some(Cow::Borrowed("0"));
    }
    let mut end = raw.len();
    if dot.is_some() {
        while raw.as_bytes()[end - 1] == b'0' {
            end -= 1;
        }
        if raw.as_bytes()[end - 1] == b'.' {
            end -= 1;
        }
    }
    Some(Cow::Borrowed(&raw[..end]))
}

/// The canonical value of one cell of a column of type `ty`; `None` for null. A value that does not
/// fit the column's type is kept as canonical text.
pub fn value(raw: &str, ty: ColumnType, round: Option<u32>) -> Option<String> {
    value_cow(raw, ty, round).map(Cow::into_owned)
}

/// [`value`], borrowing from `raw` whenever the canonical form is a slice of it.
pub fn value_cow(raw: &str, ty: ColumnType, round: Option<u32>) -> Option<Cow<'_, str>> {
    if is_null(raw) {
        return None;
    }
    let v = match ty {
        ColumnType::Number => match (round, plain_number(raw)) {
            (None, Some(v)) => Some(v),
            _ => number(raw, round).map(Cow::Owned),
        },
        ColumnType::Date => match iso_date(raw) {
            true => Some(Cow::Borrowed(raw)),
            false => date(raw).map(Cow::Owned),
        },
        ColumnType::DateTime => match iso_datetime(raw) {
            true => Some(Cow::Borrowed(raw)),
            false => datetime(raw).map(Cow::Owned),
        },
        ColumnType::Bool => boolean(raw).map(Cow::Borrowed),
        ColumnType::Text => None,
    };
    Some(v.unwrap_or_else(|| text_cow(raw)))
}

/// Whether `canon/1` reads a (non-null) value as type `ty` rather than keeping it as text.
pub fn reads_as(raw: &str, ty: ColumnType) -> bool {
    match ty {
        ColumnType::Number => plain_number(raw).is_some() || number(raw, None).is_some(),
        ColumnType::Date => iso_date(raw) || date(raw).is_some(),
        ColumnType::DateTime => iso_datetime(raw) || datetime(raw).is_some(),
        ColumnType::Bool => boolean(raw).is_some(),
        ColumnType::Text => true,
    }
}

/// Infer a column's type from its (non-null) values; identifiers with leading zeros stay text.
pub fn infer<'a>(values: impl IntoIterator<Item = &'a str>) -> ColumnType {
    let mut seen = 0usize;
    let (mut num, mut date_ok, mut dt_ok, mut bool_ok) = (true, true, true, true);
    for v in values {
        if is_null(v) {
            continue;
        }
        seen += 1;
        let t = v.trim();
        let leading_zero = {
            let d = t.trim_start_matches(['-', '+']);
            d.len() > 1 && d.starts_with('0') && !d.starts_with("0.")
        };
        // Each test only while its type is still possible: parsing is what inference costs.
        num = num && !leading_zero && (plain_number(t).is_some() || number(t, None).is_some());
        date_ok = date_ok && (iso_date(t) || date(t).is_some());
        dt_ok = dt_ok && (iso_datetime(t) || datetime(t).is_some());
        bool_ok = bool_ok && boolean(t).is_some() && t != "0" && t != "1";
        if !(num || date_ok || dt_ok || bool_ok) {
            return ColumnType::Text;
        }
    }
    if seen == 0 {
        ColumnType::Text
    } else if bool_ok {
        ColumnType::Bool
    } else if num {
        ColumnType::Number
    } else if date_ok {
        ColumnType::Date
    } else if dt_ok {
        ColumnType::DateTime
    } else {
        ColumnType::Text
    }
}

/// Append one column to a record's canonical bytes.
pub fn push_column(out: &mut Vec<u8>, name: &str, value: Option<&str>) {
    if !out.is_empty() {
        out.push(RECORD_SEP);
    }
    out.extend_from_slice(name.as_bytes());
    out.push(UNIT_SEP);
    if let Some(v) = value {
        out.extend_from_slice(v.as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn numbers() {
        for (raw, want) in [
            ("12,345", "12345"),
            ("12345.00", "12345"),
            ("+0012345.50", "12345.5"),
            ("-0", "0"),
            ("-0.000", "0"),
            ("1.2e3", "1200"),
            ("1.25E-2", "0.0125"),
            ("¥1,234.5", "1234.5"),
            (" 7 ", "7"),
            (".5", "0.5"),
            ("-3.10", "-3.1"),
        ] {
            assert_eq!(number(raw, None).as_deref(), Some(want), "{raw}");
        }
        for bad in ["1,23", "12,3456", "abc", "1.2.3", "", "-", "1e", "0x10"] {
            assert_eq!(number(bad, None), None, "{bad}");
        }
        assert_eq!(number("2.345", Some(2)).as_deref(), Some("2.35"));
        assert_eq!(number("9.996", Some(2)).as_deref(), Some("10"));
        assert_eq!(number("-0.004", Some(2)).as_deref(), Some("0"));
        assert_eq!(number("1234.5", Some(0)).as_deref(), Some("1235"));
    }

    #[test]
    fn dates_texts_and_inference() {
        assert_eq!(date("2024/1/5").as_deref(), Some("2024-01-05"));
        assert_eq!(date("2024年1月5日").as_deref(), Some("2024-01-05"));
        assert_eq!(date("2024-02-30"), None);
        assert_eq!(datetime("2024-01-05 10:00:00+08:00").as_deref(), Some("2024-01-05T02:00:00Z"));
        assert_eq!(datetime("2024-01-05T10:00").as_deref(), Some("2024-01-05T10:00:00"));
        assert_eq!(text("  上海   浦东 \t新区 "), "上海 浦东 新区");
        assert_eq!(name(" Price  USD "), "price usd");
        assert_eq!(infer(["007", "012"]), ColumnType::Text, "leading zeros are identifiers");
        assert_eq!(infer(["12,345", "7.50", ""]), ColumnType::Number);
        assert_eq!(infer(["2024-01-05", "2024/2/1"]), ColumnType::Date);
        assert_eq!(infer(["yes", "no"]), ColumnType::Bool);
        assert_eq!(infer(["1", "0"]), ColumnType::Number);
        assert_eq!(value("N/A", ColumnType::Number, None), None);
        assert_eq!(value("n.a.", ColumnType::Number, None).as_deref(), Some("n.a."));
    }

    proptest! {
        #[test]
        fn canonical_numbers_are_fixed_points(int in 0u64..10_000_000_000, frac in 0u32..1_000_000, neg in any::<bool>(), zeros in 0usize..4) {
            let raw = format!("{}{int}.{frac:06}{}", if neg { "-" } else { "" }, "0".repeat(zeros));
            let c = number(&raw, None).unwrap();
            prop_assert_eq!(number(&c, None).unwrap(), c.clone(), "idempotent");
            // The same number with thousands separators, padding and an exponent maps to the same form.
            let grouped = {
                let s = int.to_string();
                let mut out = String::new();
                for (i, ch) in s.chars().enumerate() {
                    if i > 0 && (s.len() - i) % 3 == 0 { out.push(','); }
                    out.push(ch);
                }
                format!("  {}{out}.{frac:06}  ", if neg { "-" } else { "" })
            };
            prop_assert_eq!(number(&grouped, None).unwrap(), c.clone());
            let scientific = format!("{}{int}{frac:06}e-6", if neg { "-" } else { "" });
            prop_assert_eq!(number(&scientific, None).unwrap(), c);
        }

        #[test]
        fn the_fast_number_path_agrees_with_the_parser(s in "-?[0-9]{1,12}(\\.[0-9]{1,8})?") {
            if let Some(fast) = plain_number(&s) {
                prop_assert_eq!(Some(fast.into_owned()), number(&s, None));
            }
        }

        #[test]
        fn written_dates_and_times_agree_with_chrono(secs in -62_000_000_000i64..253_000_000_000, nano in 0u32..1_000_000_000, shape in 0usize..4, offset in -50_400i32..50_400) {
            use chrono::TimeZone;
            let nano = [0, nano / 1_000_000 * 1_000_000, nano / 1_000 * 1_000, nano][shape];
            let t = chrono::DateTime::from_timestamp(secs, nano).unwrap().naive_utc();
            prop_assert_eq!(format_datetime(&t, false), t.format("%Y-%m-%dT%H:%M:%S%.f").to_string());
            prop_assert_eq!(format_datetime(&t, true), t.format("%Y-%m-%dT%H:%M:%S%.fZ").to_string());
            let mut d = String::new();
            push_date(&mut d, &t.date());
            prop_assert_eq!(d, t.date().format("%Y-%m-%d").to_string());
            // Machine-written forms are recognised as canonical exactly when the parser leaves them so.
            let zoned = chrono::FixedOffset::east_opt(offset).unwrap().from_utc_datetime(&t);
            for raw in [
                t.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
                t.format("%Y-%m-%dT%H:%M:%S").to_string(),
                zoned.to_rfc3339(),
                t.format("%Y-%m-%d %H:%M").to_string(),
            ] {
                let slow = datetime(&raw);
                prop_assert_eq!(value(&raw, ColumnType::DateTime, None), Some(slow.clone().unwrap_or_else(|| text(&raw))));
                if iso_datetime(&raw) {
                    prop_assert_eq!(slow.as_deref(), Some(raw.as_str()));
                }
            }
        }

        #[test]
        fn the_fast_text_path_agrees_with_the_slow_one(s in "\\PC{0,40}") {
            prop_assert_eq!(text_cow(&s).into_owned(), text_slow(&s));
        }

        #[test]
        fn canonical_text_is_idempotent(s in "\\PC{0,40}") {
            let once = text(&s);
            prop_assert_eq!(text(&once), once.clone());
            prop_assert_eq!(text(&format!("  {}\t ", s.replace(' ', "   "))), once);
        }
    }
}
