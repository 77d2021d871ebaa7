//! Time: an injectable clock, periods, and the working-day calendar with 调休.
//!
//! Deadlines are counted on the registry's local calendar (China Standard Time, UTC+8, no DST) and end
//! at local midnight: a 10-working-day notice that starts on a Monday ends when the tenth working day
//! after it is over.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, Datelike, Days, FixedOffset, Months, NaiveDate, TimeZone, Utc, Weekday};
use serde::{Deserialize, Serialize};

use crate::error::DomainError;

/// The registry's local offset (UTC+8).
pub fn local_offset() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).expect("valid offset")
}

pub fn local_date(t: DateTime<Utc>) -> NaiveDate {
    t.with_timezone(&local_offset()).date_naive()
}

/// Midnight at the start of `d`, local time, as an instant.
pub fn start_of_local_day(d: NaiveDate) -> DateTime<Utc> {
    local_offset()
        .from_local_datetime(&d.and_hms_opt(0, 0, 0).expect("midnight"))
        .single()
        .expect("fixed offset is unambiguous")
        .with_timezone(&Utc)
}

/// Source of the current time. Everything that reads the time takes one, so tests and demos can move it.
pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
}

/// The system's wall clock.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// The wall clock shifted by an offset that can only move forward (demo and test deployments).
#[derive(Default)]
pub struct AdjustableClock {
    offset_ms: AtomicI64,
}

impl AdjustableClock {
    pub fn advance(&self, by: chrono::Duration) {
        self.offset_ms.fetch_add(by.num_milliseconds().max(0), Ordering::SeqCst);
    }
    pub fn offset(&self) -> chrono::Duration {
        chrono::Duration::milliseconds(self.offset_ms.load(Ordering::SeqCst))
    }
}

impl Clock for AdjustableClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now() + self.offset()
    }
}

/// A length of time as the rules state it: working days, calendar days, months or years.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    WorkingDays(u32),
    Days(u32),
    Months(u32),
    Years(u32),
}

impl Period {
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        let s = s.trim();
        let err = || DomainError::InvalidPeriod(s.to_string());
        let split = s.find(|c: char| !c.is_ascii_digit()).ok_or_else(err)?;
        let n: u32 = s[..split].parse().map_err(|_| err())?;
        if n == 0 || n > 10_000 {
            return Err(err());
        }
        match &s[split..] {
            "wd" => Ok(Self::WorkingDays(n)),
            "d" => Ok(Self::Days(n)),
            "m" => Ok(Self::Months(n)),
            "y" => Ok(Self::Years(n)),
            _ => Err(err()),
        }
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::WorkingDays(n) => write!(f, "{n}wd"),
            Self::Days(n) => write!(f, "{n}d"),
            Self::Months(n) => write!(f, "{n}m"),
            Self::Years(n) => write!(f, "{n}y"),
        }
    }
}

impl Serialize for Period {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Period {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Period::parse(&String::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

/// How a date deviates from the normal Monday–Friday week.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum DayKind {
    /// A public holiday (or bridging day off) on what would be a working day.
    Holiday,
    /// A weekend day declared a working day (调休).
    Workday,
}

/// A calendar entry, as configured by the administrator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CalendarDay {
    pub date: NaiveDate,
    pub kind: DayKind,
    #[serde(default)]
    pub note: String,
}

/// Which dates are working days.
#[derive(Debug, Clone, Default)]
pub struct WorkingCalendar {
    overrides: BTreeMap<NaiveDate, DayKind>,
}

impl WorkingCalendar {
    pub fn new(days: impl IntoIterator<Item = CalendarDay>) -> Self {
        Self { overrides: days.into_iter().map(|d| (d.date, d.kind)).collect() }
    }

    pub fn is_working_day(&self, d: NaiveDate) -> bool {
        match self.overrides.get(&d) {
            Some(DayKind::Holiday) => false,
            Some(DayKind::Workday) => true,
            None => !matches!(d.weekday(), Weekday::Sat | Weekday::Sun),
        }
    }

    /// The last year the calendar holds arrangements for (`None` when it is empty). Days after it are
    /// counted by the weekend rule alone, which is a guess: pages say so, and administrators are warned.
    pub fn last_covered_year(&self) -> Option<i32> {
        self.overrides.keys().next_back().map(|d| d.year())
    }

    /// Whether a working-day deadline ending at `deadline` was counted over days the calendar does not
    /// cover (its last day lies past the last covered year).
    pub fn beyond_coverage(&self, deadline: DateTime<Utc>) -> bool {
        let last_day = local_date(deadline).pred_opt().expect("date in range");
        self.last_covered_year().is_none_or(|y| last_day.year() > y)
    }

    /// The first uncovered year, from 1 October of the year before it: a quarter ahead, while a
    /// 10-working-day deadline cannot reach it yet, administrators must enter its arrangement.
    pub fn coverage_warning(&self, today: NaiveDate) -> Option<i32> {
        let next = self.last_covered_year().map_or(today.year(), |y| y + 1);
        let warn_from = NaiveDate::from_ymd_opt(next - 1, 10, 1)?;
        (today >= warn_from).then_some(next)
    }

    /// The instant at which `period` counted from `start` is over.
    ///
    /// Working days: the day of `start` does not count; the period ends at the end of the n-th working
    /// day after it. Calendar periods end at the end of the local day they land on.
    pub fn deadline(&self, start: DateTime<Utc>, period: Period) -> DateTime<Utc> {
        let day = local_date(start);
        let last_day = match period {
            Period::WorkingDays(n) => {
                let mut d = day;
                let mut left = n;
                while left > 0 {
                    d = d.succ_opt().expect("date in range");
                    if self.is_working_day(d) {
                        left -= 1;
                    }
                }
                d
            }
            Period::Days(n) => day + Days::new(u64::from(n)),
            Period::Months(n) => day.checked_add_months(Months::new(n)).expect("date in range"),
            Period::Years(n) => day.checked_add_months(Months::new(n * 12)).expect("date in range"),
        };
        start_of_local_day(last_day.succ_opt().expect("date in range"))
    }

    /// The same instant shifted by a calendar period (no end-of-day rounding), e.g. validity terms.
    pub fn add_exact(start: DateTime<Utc>, period: Period) -> DateTime<Utc> {
        match period {
            Period::WorkingDays(n) | Period::Days(n) => start + chrono::Duration::days(i64::from(n)),
            Period::Months(n) => start.checked_add_months(Months::new(n)).expect("date in range"),
            Period::Years(n) => start.checked_add_months(Months::new(n * 12)).expect("date in range"),
        }
    }
}

/// The State Council's holiday arrangements for 2025 and 2026 and the statutory holidays of 2027, seeded
/// into a registry (each year once; days an administrator already entered are kept). Administrators
/// maintain later years (and correct these) on `/admin` or through the calendar API.
///
/// 2025 and 2026: 国务院办公厅关于2025年／2026年部分节假日安排的通知 (the latter of 4 November 2025).
/// 2027: the notice for 2027 was not available to us when this was written, so only what is certain
/// without it is seeded: the statutory days off under 《全国年节及纪念日放假办法》 (as amended by 国务院令
/// 第795号, in force since 1 January 2025) that fall on weekdays, on dates from the lunar calendar
/// (除夕 5 Feb, 端午 9 Jun, 中秋 15 Sep) and the solar term 清明 (5 Apr). The notice's bridging days and
/// 调休 working weekends must be entered once it is published (each day's note says so).
pub fn default_calendar_days() -> Vec<CalendarDay> {
    let holidays: &[(&str, &str)] = &[
        ("2025-01-01", "元旦"),
        ("2025-01-28", "春节"),
        ("2025-01-29", "春节"),
        ("2025-01-30", "春节"),
        ("2025-01-31", "春节"),
        ("2025-02-03", "春节"),
        ("2025-02-04", "春节"),
        ("2025-04-04", "清明节"),
        ("2025-05-01", "劳动节"),
        ("2025-05-02", "劳动节"),
        ("2025-05-05", "劳动节"),
        ("2025-06-02", "端午节"),
        ("2025-10-01", "国庆节、中秋节"),
        ("2025-10-02", "国庆节、中秋节"),
        ("2025-10-03", "国庆节、中秋节"),
        ("2025-10-06", "国庆节、中秋节"),
        ("2025-10-07", "国庆节、中秋节"),
        ("2025-10-08", "国庆节、中秋节"),
        ("2026-01-01", "元旦"),
        ("2026-01-02", "元旦"),
        ("2026-02-16", "春节"),
        ("2026-02-17", "春节"),
        ("2026-02-18", "春节"),
        ("2026-02-19", "春节"),
        ("2026-02-20", "春节"),
        ("2026-02-23", "春节"),
        ("2026-04-06", "清明节"),
        ("2026-05-01", "劳动节"),
        ("2026-05-04", "劳动节"),
        ("2026-05-05", "劳动节"),
        ("2026-06-19", "端午节"),
        ("2026-09-25", "中秋节"),
        ("2026-10-01", "国庆节"),
        ("2026-10-02", "国庆节"),
        ("2026-10-05", "国庆节"),
        ("2026-10-06", "国庆节"),
        ("2026-10-07", "国庆节"),
        ("2027-01-01", "元旦（法定假日；2027年调休待国务院办公厅通知）"),
        ("2027-02-05", "春节（法定假日；2027年调休待国务院办公厅通知）"),
        ("2027-02-08", "春节（法定假日；2027年调休待国务院办公厅通知）"),
        ("2027-04-05", "清明节（法定假日；2027年调休待国务院办公厅通知）"),
        ("2027-06-09", "端午节（法定假日；2027年调休待国务院办公厅通知）"),
        ("2027-09-15", "中秋节（法定假日；2027年调休待国务院办公厅通知）"),
        ("2027-10-01", "国庆节（法定假日；2027年调休待国务院办公厅通知）"),
    ];
    let workdays: &[(&str, &str)] = &[
        ("2025-01-26", "春节调休"),
        ("2025-02-08", "春节调休"),
        ("2025-04-27", "劳动节调休"),
        ("2025-09-28", "国庆节调休"),
        ("2025-10-11", "国庆节调休"),
        ("2026-01-04", "元旦调休"),
        ("2026-02-14", "春节调休"),
        ("2026-02-28", "春节调休"),
        ("2026-05-09", "劳动节调休"),
        ("2026-09-20", "国庆节调休"),
        ("2026-10-10", "国庆节调休"),
    ];
    let mk = |kind: DayKind| {
        move |(d, note): &(&str, &str)| CalendarDay {
            date: NaiveDate::parse_from_str(d, "%Y-%m-%d").expect("valid literal"),
            kind,
            note: note.to_string(),
        }
    };
    holidays.iter().map(mk(DayKind::Holiday)).chain(workdays.iter().map(mk(DayKind::Workday))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn at_local(s: &str, h: u32) -> DateTime<Utc> {
        start_of_local_day(date(s)) + chrono::Duration::hours(i64::from(h))
    }

    #[test]
    fn periods_parse_and_print() {
        for s in ["10wd", "30d", "3m", "3y"] {
            assert_eq!(Period::parse(s).unwrap().to_string(), s);
        }
        for s in ["", "wd", "0d", "10", "10w", "-3d", "3 d"] {
            assert!(Period::parse(s).is_err(), "{s}");
        }
    }

    #[test]
    fn ten_working_days_skip_weekends() {
        let cal = WorkingCalendar::default();
        // Monday 2027-03-01 10:00 → ten working days later is Monday 03-15; the deadline is its end.
        let end = cal.deadline(at_local("2027-03-01", 10), Period::WorkingDays(10));
        assert_eq!(end, start_of_local_day(date("2027-03-16")));
    }

    #[test]
    fn holidays_and_makeup_workdays_count_correctly() {
        let cal = WorkingCalendar::new(default_calendar_days());
        assert!(!cal.is_working_day(date("2026-10-01")));
        assert!(cal.is_working_day(date("2026-10-10")), "Saturday 10 October 2026 is a 调休 working day");
        // From Wednesday 30 Sep 2026: 1 Oct–7 Oct off (8 Oct Thursday works), Sat 10 Oct works.
        // Working days after 30 Sep: 8, 9, 10, 12, 13 Oct → the fifth ends on 13 Oct.
        let end = cal.deadline(at_local("2026-09-30", 15), Period::WorkingDays(5));
        assert_eq!(end, start_of_local_day(date("2026-10-14")));
    }

    #[test]
    fn the_2027_statutory_holidays_are_seeded_and_coverage_is_known() {
        let cal = WorkingCalendar::new(default_calendar_days());
        for d in ["2027-01-01", "2027-02-05", "2027-02-08", "2027-04-05", "2027-06-09", "2027-09-15", "2027-10-01"] {
            assert!(!cal.is_working_day(date(d)), "{d}");
        }
        // A correction asked on Friday 18 December 2026: 21–25 and 28–31 December are nine working days;
        // the tenth is not 元旦 but Monday 4 January, so the deadline is the end of that day.
        let end = cal.deadline(at_local("2026-12-18", 10), Period::WorkingDays(10));
        assert_eq!(end, start_of_local_day(date("2027-01-05")));
        assert_eq!(cal.last_covered_year(), Some(2027));
        assert!(!cal.beyond_coverage(end));
        assert!(cal.beyond_coverage(start_of_local_day(date("2028-01-05"))));
        assert_eq!(cal.coverage_warning(date("2027-09-30")), None);
        assert_eq!(cal.coverage_warning(date("2027-10-01")), Some(2028));
        assert_eq!(WorkingCalendar::default().coverage_warning(date("2027-03-01")), Some(2027));
    }

    #[test]
    fn local_day_boundary_is_utc_plus_8() {
        // 23:30 UTC on 1 March is already 2 March in Shanghai.
        let t = Utc.with_ymd_and_hms(2027, 3, 1, 23, 30, 0).unwrap();
        assert_eq!(local_date(t), date("2027-03-02"));
    }

    #[test]
    fn calendar_periods() {
        let cal = WorkingCalendar::default();
        let end = cal.deadline(at_local("2027-01-31", 9), Period::Months(1));
        assert_eq!(end, start_of_local_day(date("2027-03-01")));
        let end = cal.deadline(at_local("2027-01-31", 9), Period::Days(30));
        assert_eq!(end, start_of_local_day(date("2027-03-03")));
    }

    #[test]
    fn adjustable_clock_moves_forward_only() {
        let c = AdjustableClock::default();
        let before = c.now();
        c.advance(chrono::Duration::days(3));
        c.advance(chrono::Duration::days(-10));
        assert!(c.now() - before >= chrono::Duration::days(3));
        assert_eq!(c.offset(), chrono::Duration::days(3));
    }
}
