//! The one rule for showing dates and times to people. Instants are stored in UTC; every page, the
//! certificate PDF, the CLI and the verification report show them on the registry's legal calendar,
//! Beijing time (UTC+8, the calendar deadlines are counted on), and name the zone, so one certificate
//! shows the same dates everywhere. JSON keeps the instants themselves (RFC 3339, UTC).
//!
//! Bare [`date`] and [`minute`] are for tables whose column heading names the zone ([`zone`]); text that
//! stands alone uses the `*_zoned` forms.

use chrono::{DateTime, Utc};

use crate::time::local_offset;

/// The zone's name, for a column heading or after a value: 北京时间 / Beijing time.
pub fn zone(en: bool) -> &'static str {
    if en {
        "Beijing time"
    } else {
        "北京时间"
    }
}

/// Both names, for bilingual documents (the PDF, the CLI report).
const ZONE_BOTH: &str = "北京时间 Beijing time";

/// `2026-12-01`: the Beijing date of `t`.
pub fn date(t: DateTime<Utc>) -> String {
    t.with_timezone(&local_offset()).format("%Y-%m-%d").to_string()
}

/// `2026-12-01 09:30`: the Beijing date and minute of `t`.
pub fn minute(t: DateTime<Utc>) -> String {
    t.with_timezone(&local_offset()).format("%Y-%m-%d %H:%M").to_string()
}

/// `text（北京时间）` / `text (Beijing time)`.
pub fn zoned(text: &str, en: bool) -> String {
    if en {
        format!("{text} (Beijing time)")
    } else {
        format!("{text}（北京时间）")
    }
}

/// `text（北京时间 Beijing time）`, for bilingual documents.
pub fn zoned_both(text: &str) -> String {
    format!("{text}（{ZONE_BOTH}）")
}

/// `2026-12-01（北京时间）` / `2026-12-01 (Beijing time)`.
pub fn date_zoned(t: DateTime<Utc>, en: bool) -> String {
    zoned(&date(t), en)
}

/// `2026-12-01 09:30（北京时间）` / `2026-12-01 09:30 (Beijing time)`.
pub fn minute_zoned(t: DateTime<Utc>, en: bool) -> String {
    zoned(&minute(t), en)
}

fn span(from: &str, until: &str, en: bool) -> String {
    format!("{from} {} {until}", if en { "to" } else { "至" })
}

/// A span of dates, e.g. a validity: `2026-12-01 至 2029-12-01（北京时间）` / `… to … (Beijing time)`.
pub fn period_zoned(from: DateTime<Utc>, until: DateTime<Utc>, en: bool) -> String {
    zoned(&span(&date(from), &date(until), en), en)
}

/// The same for a span a signed statement gives as RFC 3339 text (`/check`).
pub fn stated_period_zoned(from: &str, until: &str, en: bool) -> String {
    zoned(&span(&date_of(from), &date_of(until), en), en)
}

/// A stated span in both languages (the PDF, the CLI report):
/// `2026-12-01 至 to 2029-12-01（北京时间 Beijing time）`.
pub fn stated_period_both(from: &str, until: &str) -> String {
    zoned_both(&format!("{} 至 to {}", date_of(from), date_of(until)))
}

/// A date in both languages: `2026-12-01（北京时间 Beijing time）`.
pub fn date_both(t: DateTime<Utc>) -> String {
    zoned_both(&date(t))
}

/// The same for an instant a signed statement gives as RFC 3339 text.
pub fn stated_date_both(at: &str) -> String {
    zoned_both(&date_of(at))
}

/// The Beijing date of an instant a signed statement gives as RFC 3339 text; the text itself if it is not
/// one (a forged or damaged certificate is shown as it is).
pub fn date_of(rfc3339: &str) -> String {
    parse_instant(rfc3339).map_or_else(|| rfc3339.to_string(), date)
}

/// An instant as a signed certificate states it (RFC 3339), `None` when it is not one.
pub fn parse_instant(rfc3339: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(rfc3339).ok().map(|t| t.with_timezone(&Utc))
}

/// An instant from Unix seconds (witness cosignatures), `None` when out of range.
pub fn from_unix(secs: u64) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(i64::try_from(secs).ok()?, 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn beijing_calendar_with_the_zone_named() {
        // 20:00 UTC on 30 November is already 1 December in Beijing: the day the issue saw shown twice.
        let t = parse_instant("2026-11-30T20:00:00.000Z").unwrap();
        assert_eq!(date(t), "2026-12-01");
        assert_eq!(minute(t), "2026-12-01 04:00");
        assert_eq!(date_zoned(t, false), "2026-12-01（北京时间）");
        assert_eq!(minute_zoned(t, true), "2026-12-01 04:00 (Beijing time)");
        let until = parse_instant("2029-11-30T20:00:00Z").unwrap();
        assert_eq!(period_zoned(t, until, false), "2026-12-01 至 2029-12-01（北京时间）");
        assert_eq!(period_zoned(t, until, true), "2026-12-01 to 2029-12-01 (Beijing time)");
        assert_eq!(from_unix(1_796_068_800).map(date).as_deref(), Some("2026-12-01"));
        let (a, b) = ("2026-11-30T20:00:00.000Z", "2029-11-30T20:00:00.000Z");
        assert_eq!(stated_period_both(a, b), "2026-12-01 至 to 2029-12-01（北京时间 Beijing time）");
        assert_eq!(stated_period_zoned(a, b, true), period_zoned(t, until, true));
        assert_eq!(date_of("2026-11-30T20:00:00.000Z"), "2026-12-01");
        assert_eq!(date_of("not a time"), "not a time");
    }
}

/// An amount of fen in yuan with two decimals (`-12.05`, `1234.50`): the one way amounts are written for
/// people and in CSV.
pub fn yuan(fen: i64) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    format!("{sign}{}.{:02}", (fen / 100).abs(), (fen % 100).abs())
}

#[cfg(test)]
mod yuan_tests {
    #[test]
    fn amounts_keep_their_cents_and_sign() {
        assert_eq!(super::yuan(123_450), "1234.50");
        assert_eq!(super::yuan(5), "0.05");
        assert_eq!(super::yuan(-1205), "-12.05");
        assert_eq!(super::yuan(-5), "-0.05");
    }
}
