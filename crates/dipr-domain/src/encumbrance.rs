//! What rests on a registered product: licences, pledges, and the pledgees' consents.
//!
//! - No two overlapping exclusive (or sole) licences, and no licence overlapping an exclusive one:
//!   overlap means the terms intersect and the territories and scopes intersect.
//! - A bank files a pledge stating the rank it expects; it takes effect when the holder consents, and
//!   ranks strictly by that registration order. The earlier pledgees are then notified.
//! - While a pledge is active, a transfer, an exclusive licence or a cancellation needs the consent of
//!   every active pledgee. A released or enforced pledge never blocks anything.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use chrono::{DateTime, Utc};

use crate::error::{DomainError, FieldError};
use crate::party::PartyRef;
/// An amount in yuan, held exactly in fen (0.01 yuan).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Money(i64);

impl Money {
    /// The largest amount accepted: one trillion yuan.
    pub const MAX_FEN: i64 = 100_000_000_000_000;

    /// A positive amount (a fee, a price, a secured sum): zero is refused.
    pub fn positive(self, field: &str) -> Result<Self, DomainError> {
        if self.0 == 0 {
            return Err(DomainError::Validation(vec![FieldError::new(
                field,
                "invalid_amount",
                "the amount must be more than zero",
            )]));
        }
        Ok(self)
    }

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
        f.write_str(&crate::shown::yuan(self.0))
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

#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for Money {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .description(Some("Yuan with at most two decimals, e.g. \"12345.67\""))
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for Money {}

/// A closed date range `[start, end]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Reach {
    #[serde(default)]
    pub territories: Vec<String>,
    #[serde(default)]
    pub scopes: Vec<String>,
}

impl Reach {
    fn intersects(&self, other: &Reach) -> bool {
        let meet = |a: &[String], b: &[String]| a.is_empty() || b.is_empty() || a.iter().any(|x| b.contains(x));
        meet(&self.territories, &other.territories) && meet(&self.scopes, &other.scopes)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Licence {
    pub id: Uuid,
    pub licensee: PartyRef,
    pub kind: LicenceKind,
    pub term: Term,
    pub reach: Reach,
    /// The agreed fee, when the parties make it public.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub fee: Option<Money>,
    pub granted_at: DateTime<Utc>,
    pub terminated_at: Option<DateTime<Utc>>,
}

impl Licence {
    pub fn is_active(&self) -> bool {
        self.terminated_at.is_none()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum PledgeStatus {
    /// Filed by the bank, waiting for the holder's consent.
    Pending,
    Active,
    Released,
    /// The pledgee enforced it on default: the product went to the named party.
    Enforced,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Pledge {
    pub id: Uuid,
    /// The bank holding the pledge.
    pub pledgee: PartyRef,
    /// Whose loan it secures (often the holder itself).
    pub debtor: PartyRef,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub secured: Money,
    /// The loan's term.
    pub term: Term,
    /// The rank the bank expects, stated when filing.
    pub stated_rank: u32,
    /// 1 for the first pledge registered, then 2, 3, … (set at registration).
    pub rank: Option<u32>,
    pub status: PledgeStatus,
    pub filed_at: DateTime<Utc>,
    pub registered_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
}

/// What a pledgee's consent allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ConsentPurpose {
    Transfer,
    ExclusiveLicence,
    Cancellation,
}

/// A pledgee's consent to one operation, used up by it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Consent {
    pub id: Uuid,
    pub pledge_id: Uuid,
    pub purpose: ConsentPurpose,
    /// The transferee or licensee consented to; `None` consents whoever it is.
    pub counterparty: Option<Uuid>,
    pub given_at: DateTime<Utc>,
    pub used_at: Option<DateTime<Utc>>,
}

/// Everything resting on one registered product.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Encumbrances {
    #[serde(default)]
    pub licences: Vec<Licence>,
    #[serde(default)]
    pub pledges: Vec<Pledge>,
    #[serde(default)]
    pub consents: Vec<Consent>,
}

fn refused(code: &'static str, message: impl Into<String>) -> DomainError {
    DomainError::refused(code, message)
}

impl Encumbrances {
    pub fn active_pledges(&self) -> impl Iterator<Item = &Pledge> {
        self.pledges.iter().filter(|p| p.status == PledgeStatus::Active)
    }

    pub fn active_licences(&self) -> impl Iterator<Item = &Licence> {
        self.licences.iter().filter(|l| l.is_active())
    }

    fn pledge_mut(&mut self, id: Uuid) -> Result<&mut Pledge, DomainError> {
        self.pledges
            .iter_mut()
            .find(|p| p.id == id)
            .ok_or_else(|| refused("pledge_not_found", format!("no pledge {id} on this product")))
    }

    /// The consents that allow `purpose` towards `counterparty`: one unused consent per active pledge.
    /// Refuses, naming the pledgees, when any is missing.
    fn consents_for(&self, purpose: ConsentPurpose, counterparty: Option<Uuid>) -> Result<Vec<Uuid>, DomainError> {
        let mut found = Vec::new();
        let mut missing = Vec::new();
        for p in self.active_pledges() {
            let c = self.consents.iter().find(|c| {
                c.pledge_id == p.id
                    && c.purpose == purpose
                    && c.used_at.is_none()
                    && (c.counterparty.is_none() || c.counterparty == counterparty)
            });
            match c {
                Some(c) => found.push(c.id),
                None => missing.push(format!("{} (rank {})", p.pledgee.name, p.rank.unwrap_or_default())),
            }
        }
        if missing.is_empty() {
            Ok(found)
        } else {
            let what = match purpose {
                ConsentPurpose::Transfer => "a transfer",
                ConsentPurpose::ExclusiveLicence => "an exclusive licence",
                ConsentPurpose::Cancellation => "a cancellation",
            };
            Err(refused(
                "pledgee_consent_required",
                format!("the product is pledged: {what} needs the consent of {}", missing.join(", ")),
            ))
        }
    }

    /// Check that `purpose` is allowed and use up the consents it needs.
    pub fn use_consents(
        &mut self,
        purpose: ConsentPurpose,
        counterparty: Option<Uuid>,
        now: DateTime<Utc>,
    ) -> Result<(), DomainError> {
        let ids = self.consents_for(purpose, counterparty)?;
        for c in self.consents.iter_mut().filter(|c| ids.contains(&c.id)) {
            c.used_at = Some(now);
        }
        Ok(())
    }

    /// Add a licence if no rule forbids it (an exclusive licence uses up pledgees' consents).
    pub fn add_licence(&mut self, licence: Licence, now: DateTime<Utc>) -> Result<(), DomainError> {
        if let Some(l) = self.active_licences().find(|l| {
            (licence.kind.excludes_others() || l.kind.excludes_others())
                && licence.term.overlaps(&l.term)
                && licence.reach.intersects(&l.reach)
        }) {
            return Err(refused(
                "licence_conflict",
                format!(
                    "overlaps the {:?} licence {} to {} in term, territory and scope",
                    l.kind, l.id, l.licensee.name
                ),
            ));
        }
        if licence.kind == LicenceKind::Exclusive {
            self.use_consents(ConsentPurpose::ExclusiveLicence, Some(licence.licensee.id), now)?;
        }
        self.licences.push(licence);
        Ok(())
    }

    pub fn terminate_licence(&mut self, id: Uuid, now: DateTime<Utc>) -> Result<&Licence, DomainError> {
        let l = self
            .licences
            .iter_mut()
            .find(|l| l.id == id)
            .ok_or_else(|| refused("licence_not_found", format!("no licence {id} on this product")))?;
        if !l.is_active() {
            return Err(refused("licence_terminated", "the licence has already ended"));
        }
        l.terminated_at = Some(now);
        Ok(l)
    }

    /// A bank files a pledge; it waits for the holder's consent.
    pub fn file_pledge(&mut self, mut pledge: Pledge) -> Result<(), DomainError> {
        if pledge.stated_rank == 0 {
            return Err(DomainError::Validation(vec![FieldError::new("rank", "pledge_rank", "ranks start at 1")]));
        }
        // A resent filing must not leave two pledges the holder could consent to twice.
        let same = |p: &&Pledge| {
            p.status == PledgeStatus::Pending
                && p.pledgee.id == pledge.pledgee.id
                && p.debtor.id == pledge.debtor.id
                && p.secured == pledge.secured
                && p.term == pledge.term
                && p.stated_rank == pledge.stated_rank
        };
        if self.pledges.iter().any(|p| same(&p)) {
            return Err(refused("duplicate_pledge", "an identical pledge is already waiting for the holder's consent"));
        }
        pledge.status = PledgeStatus::Pending;
        pledge.rank = None;
        pledge.registered_at = None;
        pledge.closed_at = None;
        self.pledges.push(pledge);
        Ok(())
    }

    fn next_rank(&self) -> u32 {
        self.pledges.iter().filter(|p| p.rank.is_some()).count() as u32 + 1
    }

    /// The holder consents: the pledge is registered with the next rank, which must be the rank the
    /// bank stated. Returns the earlier active pledgees, who must be notified.
    pub fn register_pledge(&mut self, id: Uuid, now: DateTime<Utc>) -> Result<Vec<PartyRef>, DomainError> {
        let next = self.next_rank();
        let earlier: Vec<PartyRef> = self.active_pledges().map(|p| p.pledgee.clone()).collect();
        let p = self.pledge_mut(id)?;
        if p.status != PledgeStatus::Pending {
            return Err(refused("pledge_not_pending", "the pledge is not waiting for consent"));
        }
        if p.stated_rank != next {
            return Err(refused(
                "pledge_rank",
                format!(
                    "this pledge would rank {next}; the bank stated rank {}: it must file again with the right rank",
                    p.stated_rank
                ),
            ));
        }
        p.rank = Some(next);
        p.status = PledgeStatus::Active;
        p.registered_at = Some(now);
        Ok(earlier)
    }

    fn active_pledge_of(&mut self, id: Uuid, pledgee: Uuid) -> Result<&mut Pledge, DomainError> {
        let p = self.pledge_mut(id)?;
        if p.pledgee.id != pledgee {
            return Err(DomainError::Forbidden("only the pledgee may do this".into()));
        }
        if p.status != PledgeStatus::Active {
            return Err(refused("pledge_not_active", format!("the pledge is {:?}, not active", p.status)));
        }
        Ok(p)
    }

    /// Release a pledge; only its pledgee may.
    pub fn release_pledge(&mut self, id: Uuid, by_pledgee: Uuid, now: DateTime<Utc>) -> Result<(), DomainError> {
        let p = self.active_pledge_of(id, by_pledgee)?;
        p.status = PledgeStatus::Released;
        p.closed_at = Some(now);
        Ok(())
    }

    /// Enforce a pledge on default: only by its pledgee, and only by the most senior active pledge.
    pub fn enforce_pledge(&mut self, id: Uuid, by_pledgee: Uuid, now: DateTime<Utc>) -> Result<(), DomainError> {
        let senior = self.active_pledges().filter_map(|p| p.rank).min();
        let p = self.active_pledge_of(id, by_pledgee)?;
        if p.rank != senior {
            return Err(refused(
                "pledge_not_senior",
                format!(
                    "a pledge of rank {} ranks first and must be enforced or released first",
                    senior.unwrap_or_default()
                ),
            ));
        }
        p.status = PledgeStatus::Enforced;
        p.closed_at = Some(now);
        Ok(())
    }

    /// The pledgee of an active pledge consents to one operation.
    pub fn give_consent(&mut self, consent: Consent, by_pledgee: Uuid) -> Result<(), DomainError> {
        self.active_pledge_of(consent.pledge_id, by_pledgee)?;
        self.consents.push(consent);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::party::{OrgAttributes, PartyKind};
    use proptest::prelude::*;

    fn d(day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2027, 1, 1).unwrap() + chrono::Days::new(u64::from(day))
    }

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap()
    }

    fn party(name: &str) -> PartyRef {
        PartyRef {
            id: Uuid::now_v7(),
            kind: PartyKind::LegalPerson,
            name: name.into(),
            id_number: String::new(),
            attributes: OrgAttributes::default(),
        }
    }

    #[test]
    fn money_is_exact() {
        assert_eq!(Money::parse("¥12,345.6").unwrap().fen(), 1_234_560);
        assert_eq!(Money::parse("0.01").unwrap().to_string(), "0.01");
        for bad in ["-1", "1.234", "abc", "", "1e5", "99999999999999"] {
            assert!(Money::parse(bad).is_err(), "{bad}");
        }
        assert!(Money::parse("0").unwrap().positive("fee").is_err());
        let parts = ["0.10", "0.20", "0.70"].map(|m| Money::parse(m).unwrap());
        assert_eq!(Money::checked_sum(parts), Some(100), "no floating-point drift");
    }

    #[test]
    fn terms_must_not_end_before_they_start() {
        assert!(Term::new(d(5), d(4)).is_err());
        assert!(Term::new(d(5), d(5)).is_ok());
    }

    fn licence(kind: LicenceKind, a: u32, b: u32, territory: &str, licensee: PartyRef) -> Licence {
        Licence {
            id: Uuid::now_v7(),
            licensee,
            kind,
            term: Term::new(d(a), d(b)).unwrap(),
            reach: Reach { territories: vec![territory.into()], scopes: vec![] },
            fee: None,
            granted_at: now(),
            terminated_at: None,
        }
    }

    fn pledge(bank: &PartyRef, rank: u32) -> Pledge {
        Pledge {
            id: Uuid::now_v7(),
            pledgee: bank.clone(),
            debtor: party("debtor"),
            secured: Money::from_fen(100).unwrap(),
            term: Term::new(d(0), d(300)).unwrap(),
            stated_rank: rank,
            rank: None,
            status: PledgeStatus::Pending,
            filed_at: now(),
            registered_at: None,
            closed_at: None,
        }
    }

    fn consent(p: &Pledge, purpose: ConsentPurpose, to: Option<Uuid>) -> Consent {
        Consent { id: Uuid::now_v7(), pledge_id: p.id, purpose, counterparty: to, given_at: now(), used_at: None }
    }

    /// File and register a pledge; returns its id.
    fn pledge_registered(e: &mut Encumbrances, bank: &PartyRef) -> Uuid {
        let p = pledge(bank, e.next_rank());
        let id = p.id;
        e.file_pledge(p).unwrap();
        e.register_pledge(id, now()).unwrap();
        id
    }

    #[test]
    fn pledges_block_transfers_until_consent_or_release() {
        let mut e = Encumbrances::default();
        let (b1, b2) = (party("bank one"), party("bank two"));
        let id1 = pledge_registered(&mut e, &b1);
        let wrong = pledge(&b2, 1);
        let wrong_id = wrong.id;
        e.file_pledge(wrong).unwrap();
        let err = e.register_pledge(wrong_id, now()).unwrap_err();
        assert_eq!(err.code(), "pledge_rank");
        let second = pledge(&b2, 2);
        let id2 = second.id;
        e.file_pledge(second).unwrap();
        let notified = e.register_pledge(id2, now()).unwrap();
        assert_eq!(notified, vec![b1.clone()], "the first pledgee is told of the second pledge");

        let buyer = Uuid::now_v7();
        assert_eq!(
            e.use_consents(ConsentPurpose::Transfer, Some(buyer), now()).unwrap_err().code(),
            "pledgee_consent_required"
        );
        let c1 = consent(&e.pledges[0].clone(), ConsentPurpose::Transfer, Some(buyer));
        e.give_consent(c1, b1.id).unwrap();
        assert!(e.use_consents(ConsentPurpose::Transfer, Some(buyer), now()).is_err(), "still lacks bank two");
        let c2 = consent(&e.pledges[2].clone(), ConsentPurpose::Transfer, None);
        assert!(
            matches!(e.give_consent(c2.clone(), b1.id), Err(DomainError::Forbidden(_))),
            "only the pledgee consents"
        );
        e.give_consent(c2, b2.id).unwrap();
        assert!(
            e.use_consents(ConsentPurpose::Transfer, Some(Uuid::now_v7()), now()).is_err(),
            "consent names another buyer"
        );
        e.use_consents(ConsentPurpose::Transfer, Some(buyer), now()).unwrap();
        assert!(e.use_consents(ConsentPurpose::Transfer, Some(buyer), now()).is_err(), "a consent is used once");

        assert_eq!(e.enforce_pledge(id2, b2.id, now()).unwrap_err().code(), "pledge_not_senior");
        assert!(matches!(e.release_pledge(id1, b2.id, now()), Err(DomainError::Forbidden(_))));
        e.release_pledge(id1, b1.id, now()).unwrap();
        assert_eq!(e.release_pledge(id1, b1.id, now()).unwrap_err().code(), "pledge_not_active");
        e.enforce_pledge(id2, b2.id, now()).unwrap();
        e.use_consents(ConsentPurpose::Transfer, None, now()).unwrap();
    }

    #[test]
    fn an_identical_pending_pledge_is_refused() {
        let mut e = Encumbrances::default();
        let bank = party("bank");
        let first = pledge(&bank, 1);
        let mut again = first.clone();
        again.id = Uuid::now_v7();
        e.file_pledge(first).unwrap();
        assert_eq!(e.file_pledge(again.clone()).unwrap_err().code(), "duplicate_pledge");
        assert_eq!(e.pledges.len(), 1);
        // Another amount is another pledge.
        again.secured = Money::from_fen(200).unwrap();
        e.file_pledge(again).unwrap();
        assert_eq!(e.pledges.len(), 2);
    }

    #[test]
    fn exclusive_licences_need_pledgee_consent() {
        let mut e = Encumbrances::default();
        let bank = party("bank");
        pledge_registered(&mut e, &bank);
        let licensee = party("licensee");
        let l = licence(LicenceKind::Exclusive, 0, 10, "沪", licensee.clone());
        assert_eq!(e.add_licence(l.clone(), now()).unwrap_err().code(), "pledgee_consent_required");
        e.add_licence(licence(LicenceKind::NonExclusive, 20, 30, "沪", licensee.clone()), now()).unwrap();
        let c = consent(&e.pledges[0].clone(), ConsentPurpose::ExclusiveLicence, Some(licensee.id));
        e.give_consent(c, bank.id).unwrap();
        e.add_licence(l, now()).unwrap();
    }

    proptest! {
        #[test]
        fn no_two_overlapping_exclusive_licences(ops in prop::collection::vec((0u8..3, 0u32..100, 0u32..60, 0u8..3, any::<bool>()), 1..40)) {
            let mut e = Encumbrances::default();
            for (k, start, len, t, end_one) in ops {
                let kind = [LicenceKind::Exclusive, LicenceKind::Sole, LicenceKind::NonExclusive][k as usize];
                let _ = e.add_licence(licence(kind, start, start + len, ["沪", "京", "粤"][t as usize], party("x")), now());
                if end_one {
                    let first = e.active_licences().next().map(|l| l.id);
                    if let Some(id) = first {
                        e.terminate_licence(id, now()).unwrap();
                    }
                }
            }
            let active: Vec<&Licence> = e.active_licences().collect();
            for (i, a) in active.iter().enumerate() {
                for b in &active[i + 1..] {
                    let conflict = (a.kind.excludes_others() || b.kind.excludes_others()) && a.term.overlaps(&b.term) && a.reach.intersects(&b.reach);
                    prop_assert!(!conflict, "{a:?} and {b:?} both active");
                }
            }
        }

        #[test]
        fn pledged_products_never_move_without_every_active_pledgee(n in 1usize..6, consenting in prop::collection::vec(any::<bool>(), 6), exclusive in any::<bool>()) {
            let mut e = Encumbrances::default();
            let banks: Vec<PartyRef> = (0..n).map(|i| party(&format!("bank {i}"))).collect();
            for b in &banks {
                pledge_registered(&mut e, b);
            }
            let to = party("buyer");
            let purpose = if exclusive { ConsentPurpose::ExclusiveLicence } else { ConsentPurpose::Transfer };
            for (p, yes) in e.pledges.clone().iter().zip(&consenting) {
                if *yes {
                    e.give_consent(consent(p, purpose, Some(to.id)), p.pledgee.id).unwrap();
                }
            }
            let all = consenting.iter().take(n).all(|c| *c);
            let result = if exclusive {
                e.add_licence(licence(LicenceKind::Exclusive, 0, 5, "沪", to.clone()), now())
            } else {
                e.use_consents(purpose, Some(to.id), now())
            };
            prop_assert_eq!(result.is_ok(), all);
        }

        #[test]
        fn pledge_ranks_strictly_ordered_and_released_pledges_never_block(n in 1usize..8, released in prop::collection::vec(any::<bool>(), 8)) {
            let mut e = Encumbrances::default();
            let banks: Vec<PartyRef> = (0..n).map(|i| party(&format!("bank {i}"))).collect();
            for b in &banks {
                pledge_registered(&mut e, b);
            }
            let ranks: Vec<u32> = e.pledges.iter().filter_map(|p| p.rank).collect();
            prop_assert_eq!(ranks.len(), n);
            prop_assert!(ranks.windows(2).all(|w| w[0] < w[1]));
            let ids: Vec<(Uuid, Uuid)> = e.pledges.iter().map(|p| (p.id, p.pledgee.id)).collect();
            for ((id, bank), r) in ids.iter().zip(&released) {
                if *r { e.release_pledge(*id, *bank, now()).unwrap(); }
            }
            let still_pledged = released.iter().take(n).any(|r| !*r);
            prop_assert_eq!(e.use_consents(ConsentPurpose::Transfer, None, now()).is_err(), still_pledged, "only active pledges block");
            // A pledge filed later still ranks after every earlier one, released or not.
            let late = pledge(&party("late"), n as u32 + 1);
            let late_id = late.id;
            e.file_pledge(late).unwrap();
            e.register_pledge(late_id, now()).unwrap();
            prop_assert_eq!(e.pledges.last().and_then(|p| p.rank), Some(n as u32 + 1));
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
