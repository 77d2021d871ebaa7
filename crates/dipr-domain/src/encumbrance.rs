//! Rules for what rests on a registered product after registration: licences and pledges, and the
//! consents they require. Pure rules (issue 5 builds the operations, storage and API on them).
//!
//! - No two overlapping exclusive (or sole) licences, and no licence overlapping an exclusive one:
//!   overlap means the terms intersect and the territories and scopes intersect.
//! - Pledges rank strictly by registration order; a later pledge states its rank and acknowledges that
//!   the earlier pledgees were notified.
//! - While a pledge is active, a transfer or an exclusive licence needs the consent of every active
//!   pledgee. A released pledge never blocks anything.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{DomainError, FieldError};

/// An amount in yuan, held exactly in fen (0.01 yuan).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Money(i64);

impl Money {
    /// The largest amount accepted: one trillion yuan.
    pub const MAX_FEN: i64 = 100_000_000_000_000;

    pub fn from_fen(fen: i64) -> Result<Self, DomainError> {
        if !(0..=Self::MAX_FEN).contains(&fen) {
            return Err(Self::invalid(&fen.to_string(), "amounts are between 0 and 1,000,000,000,000 yuan"));
        }
        Ok(Self(fen))
    }

    pub fn fen(self) -> i64 {
        self.0
    }

    fn invalid(raw: &str, why: &str) -> DomainError {
        DomainError::Validation(vec![FieldError::new("amount", "invalid_amount", format!("{raw:?}: {why}"))])
    }

    /// Parse `12345`, `12,345.6`, `¥12,345.67`; at most two decimals; never negative.
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        let t = raw.trim().trim_start_matches(['¥', '￥']).trim().replace(',', "");
        let (int, frac) = t.split_once('.').unwrap_or((&t, ""));
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if !digits(int) || (!frac.is_empty() && !digits(frac)) || frac.len() > 2 || int.len() > 13 {
            return Err(Self::invalid(raw, "write yuan with at most two decimals, e.g. 12,345.67"));
        }
        let int: i64 = int.parse().map_err(|_| Self::invalid(raw, "too large"))?;
        let frac: i64 = format!("{frac:0<2}").parse().unwrap_or(0);
        Self::from_fen(int * 100 + frac)
    }

    /// Exact sum; `None` past the representable range.
    pub fn checked_sum<I: IntoIterator<Item = Money>>(items: I) -> Option<i128> {
        items.into_iter().try_fold(0i128, |acc, m| acc.checked_add(i128::from(m.0)))
    }
}

impl std::fmt::Display for Money {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{:02}", self.0 / 100, self.0 % 100)
    }
}

impl Serialize for Money {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Money {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Money::parse(&String::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

/// A closed date range `[start, end]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Term {
    pub start: NaiveDate,
    pub end: NaiveDate,
}

impl Term {
    pub fn new(start: NaiveDate, end: NaiveDate) -> Result<Self, DomainError> {
        if end < start {
            return Err(DomainError::Validation(vec![FieldError::new(
                "term.end",
                "ends_before_start",
                "the term ends before it starts",
            )]));
        }
        Ok(Self { start, end })
    }

    pub fn overlaps(&self, other: &Term) -> bool {
        self.start <= other.end && other.start <= self.end
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LicenceKind {
    /// Only the licensee may use it, not even the holder.
    Exclusive,
    /// The licensee and the holder, nobody else.
    Sole,
    NonExclusive,
}

impl LicenceKind {
    fn excludes_others(self) -> bool {
        matches!(self, Self::Exclusive | Self::Sole)
    }
}

/// Where and for what a licence applies; an empty list means "everywhere" / "every use".
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Reach {
    pub territories: Vec<String>,
    pub scopes: Vec<String>,
}

impl Reach {
    fn intersects(&self, other: &Reach) -> bool {
        let meet = |a: &[String], b: &[String]| a.is_empty() || b.is_empty() || a.iter().any(|x| b.contains(x));
        meet(&self.territories, &other.territories) && meet(&self.scopes, &other.scopes)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Licence {
    pub id: Uuid,
    pub licensee: Uuid,
    pub kind: LicenceKind,
    pub term: Term,
    pub reach: Reach,
    pub fee: Option<Money>,
    pub terminated: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pledge {
    pub id: Uuid,
    /// The bank (party) holding the pledge.
    pub pledgee: Uuid,
    pub debtor: Uuid,
    pub secured: Money,
    pub term: Term,
    /// 1 for the first pledge registered, then 2, 3, …
    pub rank: u32,
    pub released: bool,
}

/// Everything currently resting on one registered product.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Encumbrances {
    pub licences: Vec<Licence>,
    pub pledges: Vec<Pledge>,
}

fn refused(code: &'static str, message: String) -> DomainError {
    DomainError::Validation(vec![FieldError::new("encumbrance", code, message)])
}

impl Encumbrances {
    pub fn active_pledges(&self) -> impl Iterator<Item = &Pledge> {
        self.pledges.iter().filter(|p| !p.released)
    }

    /// Pledgees whose consent a transfer or an exclusive licence still lacks.
    pub fn missing_consents(&self, consents: &[Uuid]) -> Vec<Uuid> {
        self.active_pledges().map(|p| p.pledgee).filter(|b| !consents.contains(b)).collect()
    }

    /// Add a licence if no rule forbids it.
    pub fn add_licence(&mut self, licence: Licence, pledgee_consents: &[Uuid]) -> Result<(), DomainError> {
        for l in self.licences.iter().filter(|l| !l.terminated) {
            let clash = (licence.kind.excludes_others() || l.kind.excludes_others())
                && licence.term.overlaps(&l.term)
                && licence.reach.intersects(&l.reach);
            if clash {
                return Err(refused(
                    "licence_conflict",
                    format!("overlaps licence {} ({:?}) in term, territory and scope", l.id, l.kind),
                ));
            }
        }
        if licence.kind == LicenceKind::Exclusive {
            let missing = self.missing_consents(pledgee_consents);
            if !missing.is_empty() {
                return Err(refused(
                    "pledgee_consent_required",
                    format!("an exclusive licence needs the consent of pledgees {missing:?}"),
                ));
            }
        }
        self.licences.push(licence);
        Ok(())
    }

    /// Register a pledge. `stated_rank` must be the next rank; a pledge after the first must
    /// acknowledge that the earlier active pledgees were notified.
    pub fn add_pledge(
        &mut self,
        mut pledge: Pledge,
        stated_rank: u32,
        earlier_notified: bool,
    ) -> Result<(), DomainError> {
        let next = self.pledges.len() as u32 + 1;
        if stated_rank != next {
            return Err(refused(
                "pledge_rank",
                format!("this pledge would rank {next}; the filing states {stated_rank}"),
            ));
        }
        if self.active_pledges().next().is_some() && !earlier_notified {
            return Err(refused(
                "pledgee_not_notified",
                "the earlier pledgees must be notified of a further pledge".into(),
            ));
        }
        pledge.rank = next;
        pledge.released = false;
        self.pledges.push(pledge);
        Ok(())
    }

    /// Release a pledge; only its pledgee may.
    pub fn release_pledge(&mut self, pledge: Uuid, by_pledgee: Uuid) -> Result<(), DomainError> {
        let p = self
            .pledges
            .iter_mut()
            .find(|p| p.id == pledge)
            .ok_or_else(|| refused("pledge_not_found", format!("no pledge {pledge}")))?;
        if p.pledgee != by_pledgee {
            return Err(DomainError::Forbidden("only the pledgee releases a pledge".into()));
        }
        if p.released {
            return Err(refused("pledge_released", "the pledge is already released".into()));
        }
        p.released = true;
        Ok(())
    }

    /// May the product be transferred, with these pledgee consents?
    pub fn check_transfer(&self, pledgee_consents: &[Uuid]) -> Result<(), DomainError> {
        let missing = self.missing_consents(pledgee_consents);
        if missing.is_empty() {
            Ok(())
        } else {
            Err(refused("pledgee_consent_required", format!("a transfer needs the consent of pledgees {missing:?}")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2027, 1, 1).unwrap() + chrono::Days::new(u64::from(day))
    }

    #[test]
    fn money_is_exact() {
        assert_eq!(Money::parse("¥12,345.6").unwrap().fen(), 1_234_560);
        assert_eq!(Money::parse("0.01").unwrap().to_string(), "0.01");
        for bad in ["-1", "1.234", "abc", "", "1e5", "99999999999999"] {
            assert!(Money::parse(bad).is_err(), "{bad}");
        }
        let parts = ["0.10", "0.20", "0.70"].map(|m| Money::parse(m).unwrap());
        assert_eq!(Money::checked_sum(parts), Some(100), "no floating-point drift");
    }

    #[test]
    fn terms_must_not_end_before_they_start() {
        assert!(Term::new(d(5), d(4)).is_err());
        assert!(Term::new(d(5), d(5)).is_ok());
    }

    fn licence(kind: LicenceKind, a: u32, b: u32, territory: &str) -> Licence {
        Licence {
            id: Uuid::now_v7(),
            licensee: Uuid::now_v7(),
            kind,
            term: Term::new(d(a), d(b)).unwrap(),
            reach: Reach { territories: vec![territory.into()], scopes: vec![] },
            fee: None,
            terminated: false,
        }
    }

    fn pledge(bank: Uuid) -> Pledge {
        Pledge {
            id: Uuid::now_v7(),
            pledgee: bank,
            debtor: Uuid::now_v7(),
            secured: Money::from_fen(100).unwrap(),
            term: Term::new(d(0), d(300)).unwrap(),
            rank: 0,
            released: false,
        }
    }

    #[test]
    fn pledges_block_transfers_until_consent_or_release() {
        let mut e = Encumbrances::default();
        let (b1, b2) = (Uuid::now_v7(), Uuid::now_v7());
        let p1 = pledge(b1);
        let id1 = p1.id;
        e.add_pledge(p1, 1, false).unwrap();
        assert!(e.add_pledge(pledge(b2), 1, true).is_err(), "rank must be 2");
        assert!(e.add_pledge(pledge(b2), 2, false).is_err(), "first pledgee not notified");
        e.add_pledge(pledge(b2), 2, true).unwrap();
        assert!(e.check_transfer(&[b1]).is_err());
        e.check_transfer(&[b1, b2]).unwrap();
        assert!(matches!(e.release_pledge(id1, b2), Err(DomainError::Forbidden(_))));
        e.release_pledge(id1, b1).unwrap();
        e.check_transfer(&[b2]).unwrap();
    }

    proptest! {
        #[test]
        fn no_two_overlapping_exclusive_licences(ops in prop::collection::vec((0u8..3, 0u32..100, 0u32..60, 0u8..3), 1..40)) {
            let mut e = Encumbrances::default();
            for (k, start, len, t) in ops {
                let kind = [LicenceKind::Exclusive, LicenceKind::Sole, LicenceKind::NonExclusive][k as usize];
                let _ = e.add_licence(licence(kind, start, start + len, ["沪", "京", "粤"][t as usize]), &[]);
            }
            for (i, a) in e.licences.iter().enumerate() {
                for b in &e.licences[i + 1..] {
                    let conflict = (a.kind.excludes_others() || b.kind.excludes_others()) && a.term.overlaps(&b.term) && a.reach.intersects(&b.reach);
                    prop_assert!(!conflict, "{a:?} and {b:?} both accepted");
                }
            }
        }

        #[test]
        fn pledge_ranks_strictly_ordered_and_released_pledges_never_block(n in 1usize..8, released in prop::collection::vec(any::<bool>(), 8)) {
            let mut e = Encumbrances::default();
            let banks: Vec<Uuid> = (0..n).map(|_| Uuid::now_v7()).collect();
            for (i, b) in banks.iter().enumerate() {
                e.add_pledge(pledge(*b), i as u32 + 1, true).unwrap();
            }
            let ranks: Vec<u32> = e.pledges.iter().map(|p| p.rank).collect();
            prop_assert!(ranks.windows(2).all(|w| w[0] < w[1]));
            let ids: Vec<(Uuid, Uuid)> = e.pledges.iter().map(|p| (p.id, p.pledgee)).collect();
            for ((id, bank), r) in ids.iter().zip(&released) {
                if *r { e.release_pledge(*id, *bank).unwrap(); }
            }
            let still: Vec<Uuid> = ids.iter().zip(&released).filter(|(_, r)| !**r).map(|((_, b), _)| *b).collect();
            prop_assert!(e.check_transfer(&still).is_ok(), "consent of the active pledgees suffices");
            if let Some(one) = still.first() {
                let others: Vec<Uuid> = still.iter().filter(|b| *b != one).copied().collect();
                prop_assert!(e.check_transfer(&others).is_err());
            }
        }

        #[test]
        fn money_sums_are_exact(fens in prop::collection::vec(0i64..1_000_000_000, 0..200)) {
            let ms: Vec<Money> = fens.iter().map(|f| Money::from_fen(*f).unwrap()).collect();
            prop_assert_eq!(Money::checked_sum(ms.iter().copied()), Some(fens.iter().map(|f| i128::from(*f)).sum::<i128>()));
            for m in &ms {
                prop_assert_eq!(Money::parse(&m.to_string()).unwrap(), *m);
            }
        }
    }
}
