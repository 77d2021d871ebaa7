//! Reading a suspect's values as scrapers write them. `canon/1` is frozen and stays what registered data
//! is canonicalised with; a suspect cell that `canon/1` cannot read as its column's type (it would keep
//! it as text, and it would never match) is read again here: numbers with units, spaced or apostrophe
//! thousands separators, full-width digits and signs, the Unicode minus; date-times written with
//! slashes or spaces, in a declared time zone, or as epoch seconds or milliseconds (pandas' JSON
//! dates). A value `canon/1` reads is never read differently, so nothing that matched stops matching.

use std::borrow::Cow;

use crate::canon::{self, ColumnType};
use crate::FingerprintError;

/// A declared time zone: an IANA name (with its daylight-saving rules) or a fixed offset.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Zone {
    Named(chrono_tz::Tz),
    Fixed(chrono::FixedOffset),
}

impl Zone {
    /// `Asia/Shanghai`, `America/New_York`, `UTC`, `+08:00`, `-0500`.
    pub fn parse(s: &str) -> Result<Self, FingerprintError> {
        let t = s.trim();
        if let Ok(tz) = t.parse::<chrono_tz::Tz>() {
            return Ok(Self::Named(tz));
        }
        let fixed = chrono::DateTime::parse_from_str(&format!("2000-01-01T00:00:00{t}"), "%Y-%m-%dT%H:%M:%S%z");
        match fixed {
            Ok(d) => Ok(Self::Fixed(*d.offset())),
            Err(_) => Err(FingerprintError::Invalid(format!(
                "time zone {s:?}: give an IANA name (Asia/Shanghai, America/New_York, UTC) or an offset (+08:00)"
            ))),
        }
    }

    /// A local time in this zone, in UTC (the earlier instant when a clock change makes it ambiguous).
    fn to_utc(self, t: &chrono::NaiveDateTime) -> Option<chrono::NaiveDateTime> {
        use chrono::TimeZone;
        match self {
            Self::Named(tz) => tz.from_local_datetime(t).earliest().map(|d| d.naive_utc()),
            Self::Fixed(o) => o.from_local_datetime(t).single().map(|d| d.naive_utc()),
        }
    }
}

/// Full-width digits, signs and separators as ASCII, and the Unicode minus signs as `-`.
fn half_width(s: &str) -> Cow<'_, str> {
    if s.is_ascii() {
        return Cow::Borrowed(s);
    }
    Cow::Owned(
        s.chars()
            .map(|c| match c {
                '０'..='９' => char::from(b'0' + (c as u32 - '０' as u32) as u8),
                '．' => '.',
                '，' => ',',
                '－' | '−' | '‒' | '–' | '﹣' => '-',
                '＋' => '+',
                '\u{a0}' | '\u{202f}' | '\u{2009}' => ' ',
                c => c,
            })
            .collect(),
    )
}

/// A number as scrapers write it: `227 min`, `1 234.5`, `1'234.5`, `１２３`, `−5`, `12.5%`, `≈ 3 km`.
/// Units and words around the number are dropped; the number is then `canon/1`'s.
pub fn number(raw: &str, round: Option<u32>) -> Option<String> {
    let t = half_width(raw.trim());
    let b = t.as_bytes();
    let start = b.iter().position(|c| c.is_ascii_digit() || *c == b'.')?;
    // A sign right before the first digit belongs to the number.
    let start = if start > 0 && matches!(b[start - 1], b'-' | b'+') { start - 1 } else { start };
    let mut end = start;
    while end < b.len() {
        let c = b[end];
        let grouping = matches!(c, b' ' | b'\'' | b',')
            && end + 1 < b.len()
            && b[end + 1].is_ascii_digit()
            && end > start
            && b[end - 1].is_ascii_digit();
        if c.is_ascii_digit() || c == b'.' || (c == b'-' || c == b'+') && end == start || grouping {
            end += 1;
        } else {
            break;
        }
    }
    // Only words may surround the number: `12a34` or `3-4` are not one number.
    let around = |s: &str| s.chars().all(|c| !c.is_ascii_digit());
    if !around(&t[..start]) || !around(&t[end..]) {
        return None;
    }
    // Spaces and apostrophes group thousands as commas do: canon/1 checks the groups of three.
    canon::number(&t[start..end].replace([' ', '\''], ","), round)
}

/// A date-time as scrapers write it, in UTC when a zone is known: `canon/1`'s forms, `2013/01/01 10:00`,
/// local times in `zone`, and epoch seconds (10 digits) or milliseconds (13 digits).
pub fn datetime(raw: &str, zone: Option<Zone>) -> Option<String> {
    let t = half_width(raw.trim());
    let t = t.trim();
    if !t.is_empty() && t.len() <= 16 && t.bytes().all(|c| c.is_ascii_digit() || c == b'.') {
        let int = t.split_once('.').map_or(t, |(i, _)| i);
        let value: f64 = t.parse().ok()?;
        // Seconds since 1970 have 9 or 10 digits from 1973 to 2286; milliseconds 12 or 13.
        let millis = match int.len() {
            9 | 10 => value * 1000.0,
            12 | 13 => value,
            _ => return None,
        };
        let at = chrono::DateTime::from_timestamp_millis(millis.round() as i64)?;
        return canon::datetime(&at.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true));
    }
    let read = canon::datetime(t)?;
    if read.ends_with('Z') {
        return Some(read);
    }
    let Some(zone) = zone else { return Some(read) };
    let local = chrono::NaiveDateTime::parse_from_str(&read, "%Y-%m-%dT%H:%M:%S%.f").ok()?;
    let utc = zone.to_utc(&local)?;
    canon::datetime(&format!("{}Z", utc.format("%Y-%m-%dT%H:%M:%S%.f")))
}

/// A suspect cell's canonical value: `canon/1`'s when it reads the cell as its column's type, else the
/// readings above, else `canon/1`'s text.
pub fn value(raw: &str, ty: ColumnType, round: Option<u32>, zone: Option<Zone>) -> Option<Cow<'_, str>> {
    if canon::is_null(raw) {
        return None;
    }
    typed(raw, ty, round, zone).or_else(|| canon::value_cow(raw, ty, round))
}

/// A non-null suspect cell read as its column's type (text is always read), or `None` when it cannot be.
pub fn typed(raw: &str, ty: ColumnType, round: Option<u32>, zone: Option<Zone>) -> Option<Cow<'_, str>> {
    match ty {
        ColumnType::Text => canon::value_cow(raw, ty, round),
        _ if ty != ColumnType::DateTime && canon::reads_as(raw, ty) => canon::value_cow(raw, ty, round),
        ColumnType::DateTime => datetime(raw, zone).map(Cow::Owned),
        ColumnType::Number => number(raw, round).map(Cow::Owned),
        ColumnType::Date => canon::date(&half_width(raw)).map(Cow::Owned),
        ColumnType::Bool => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_as_scrapers_write_them() {
        for (raw, want) in [
            ("227 min", "227"),
            ("227分钟", "227"),
            ("1 234.50", "1234.5"),
            ("1'234", "1234"),
            ("1\u{a0}234", "1234"),
            ("１２３．５", "123.5"),
            ("−5", "-5"),
            ("－１２", "-12"),
            ("12.5%", "12.5"),
            ("≈ 3 km", "3"),
            ("USD 1,234.00", "1234"),
        ] {
            assert_eq!(number(raw, None).as_deref(), Some(want), "{raw}");
        }
        for bad in ["12a34", "3-4", "abc", "1 2 3 4", "2013-01-01"] {
            assert_eq!(number(bad, None), None, "{bad}");
        }
        assert_eq!(value("3.8 h", ColumnType::Number, Some(0), None).as_deref(), Some("4"));
    }

    #[test]
    fn times_as_scrapers_write_them() {
        let ny = Zone::parse("America/New_York").unwrap();
        let utc = Some("2013-01-01T10:00:00Z");
        assert_eq!(datetime("2013-01-01T10:00:00Z", None).as_deref(), utc);
        assert_eq!(datetime("1357034400", None).as_deref(), utc, "epoch seconds");
        assert_eq!(datetime("1357034400000", None).as_deref(), utc, "epoch milliseconds (pandas JSON)");
        assert_eq!(datetime("2013/01/01 10:00", Some(Zone::parse("UTC").unwrap())).as_deref(), utc);
        assert_eq!(datetime("2013-01-01 05:00:00", Some(ny)).as_deref(), utc, "winter: UTC−5");
        assert_eq!(datetime("2013-07-01 06:00", Some(ny)).as_deref(), Some("2013-07-01T10:00:00Z"), "summer: UTC−4");
        assert_eq!(datetime("2013-01-01 18:00", Some(Zone::parse("+08:00").unwrap())).as_deref(), utc);
        assert_eq!(datetime("2013/01/01 10:00", None).as_deref(), Some("2013-01-01T10:00:00"), "no zone: unzoned");
        assert!(Zone::parse("Mars/Olympus").is_err());
        // What canon/1 reads is read the same.
        for (raw, ty) in [("12,345", ColumnType::Number), ("2013-01-01T10:00:00+01:00", ColumnType::DateTime)] {
            assert_eq!(value(raw, ty, None, Some(ny)), canon::value_cow(raw, ty, None));
        }
    }
}
