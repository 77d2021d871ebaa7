//! Where a registration stands now: in force, or ended (when, and by which decision), and what encumbers
//! it. A valid signature proves what was registered, not that it still is, so every verification the
//! registry performs shows this next to the signature checks: `/check`, the public record page, and the
//! mark on the certificate PDF. The pages draw it as a status box (`crate::web::record::StandingBox`).

use crate::records::PublicRecordDetail;
use chrono::{DateTime, Utc};
use dipr_domain::application::State;
use dipr_domain::encumbrance::{LicenceKind, PledgeStatus};

/// What ended a registration.
pub struct Ended {
    pub state: State,
    pub at: DateTime<Utc>,
    /// The decision's reasons as published (empty when the validity simply ran out).
    pub reasons: String,
    pub log_index: Option<u64>,
}

pub struct Standing {
    /// `None` while the registration is in force.
    pub ended: Option<Ended>,
    pub active_pledges: usize,
    pub exclusive_licences: usize,
    pub disputed: bool,
}

impl Standing {
    /// `None` for a record that was never registered.
    pub fn of(d: &PublicRecordDetail, now: DateTime<Utc>) -> Option<Self> {
        let r = &d.record;
        let reg = r.registration.as_ref()?;
        let ended = match r.state {
            State::Cancelled | State::Revoked | State::Expired => {
                let event = d.history.iter().rev().find(|e| e.kind == r.state.as_str());
                Some(Ended {
                    state: r.state,
                    at: event.map_or(reg.valid_until, |e| e.at),
                    reasons: event.map(|e| e.reasons.clone()).unwrap_or_default(),
                    log_index: event.and_then(|e| e.log_index),
                })
            }
            // The timer has not moved it yet, but the validity is over.
            _ if now >= reg.valid_until => {
                Some(Ended { state: State::Expired, at: reg.valid_until, reasons: String::new(), log_index: None })
            }
            _ => None,
        };
        Some(Self {
            ended,
            active_pledges: r.pledges.iter().filter(|p| p.status == PledgeStatus::Active).count(),
            exclusive_licences: r
                .licences
                .iter()
                .filter(|l| l.is_active() && matches!(l.kind, LicenceKind::Exclusive | LicenceKind::Sole))
                .count(),
            disputed: r.disputed,
        })
    }

    pub fn in_force(&self) -> bool {
        self.ended.is_none()
    }
}

/// The mark for a registration no longer in force: (已撤销, REVOKED) and the like.
pub fn mark(state: State) -> (&'static str, &'static str) {
    match state {
        State::Revoked => ("已撤销", "REVOKED"),
        State::Cancelled => ("已注销", "CANCELLED"),
        _ => ("已失效", "EXPIRED"),
    }
}
