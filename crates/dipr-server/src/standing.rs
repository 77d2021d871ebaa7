//! Where a registration stands now: in force, or ended (when, and by which decision), and what encumbers
//! it. A valid signature proves what was registered, not that it still is, so every verification the
//! registry performs shows this next to the signature checks: `/check`, the public record page, and the
//! mark on the certificate PDF.

use chrono::{DateTime, Utc};
use dipr_domain::application::State;
use dipr_domain::encumbrance::{LicenceKind, PledgeStatus};
use dipr_domain::shown;

use crate::web::i18n::Lang;
use crate::web::layout::esc;
use dipr_registry::records::PublicRecordDetail;

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

/// The headline of an ended registration, e.g. 证书所载登记已撤销.
pub fn headline(state: State, l: Lang) -> &'static str {
    match state {
        State::Revoked => l.tt("证书所载登记已撤销", "The registration this certificate states was revoked"),
        State::Cancelled => l.tt("证书所载登记已注销", "The registration this certificate states was cancelled"),
        _ => l.tt("证书所载登记已失效（有效期届满）", "The registration this certificate states has expired"),
    }
}

/// The status box: red with the date and the decision when the registration ended, green with its
/// encumbrances while it is in force. `id` names the element (`check-status`, `record-status`).
pub fn html(s: &Standing, d: &PublicRecordDetail, l: Lang, now: DateTime<Utc>, id: &str) -> String {
    let link = format!("/records/{}{}", d.record.id, if l.en { "?lang=en" } else { "" });
    let as_of = format!("{} {}", l.tt("查询时间", "Status as of"), shown::minute_zoned(now, l.en));
    match &s.ended {
        Some(e) => {
            let what = match e.state {
                State::Revoked => l.tt("撤销日期", "Revoked on"),
                State::Cancelled => l.tt("注销日期", "Cancelled on"),
                _ => l.tt("失效日期", "Expired on"),
            };
            let decision = if e.reasons.is_empty() {
                String::new()
            } else {
                format!("<dt>{}</dt><dd>{}</dd>", l.tt("决定及理由", "Decision and reasons"), esc(&e.reasons))
            };
            let logged = e
                .log_index
                .map(|i| {
                    format!(
                        "<dt>{}</dt><dd><a href=\"/api/v1/log/proofs/inclusion?index={i}\">{i}</a></dd>",
                        l.tt("账本序号", "Log index")
                    )
                })
                .unwrap_or_default();
            format!(
                "<div class=\"result bad\" id=\"{id}\" role=\"status\"><h2>{}{}</h2><p>{}</p>\
                 <dl><dt>{what}</dt><dd>{}</dd>{decision}{logged}</dl>\
                 <p class=\"muted\">{as_of} · <a href=\"{link}\">{}</a></p></div>",
                l.tt("登记现状：", "Current status: "),
                crate::web::layout::state_label(e.state, l),
                l.tt(
                    "登记已不再有效。证书的签名仍可核验，只证明登记机构曾签发这份证书，不证明其所载权利现在存在。",
                    "The registration is no longer in force. The certificate's signature still verifies: it proves the registry issued it, not that the right it states exists now.",
                ),
                shown::date_zoned(e.at, l.en),
                l.tt("查看公示记录", "See the public record"),
            )
        }
        None => {
            let mut burdens = Vec::new();
            if s.active_pledges > 0 {
                burdens.push(format!("{} {}", l.tt("有效质押", "active pledges:"), s.active_pledges));
            }
            if s.exclusive_licences > 0 {
                burdens.push(format!(
                    "{} {}",
                    l.tt("独占或排他许可", "exclusive or sole licences:"),
                    s.exclusive_licences
                ));
            }
            if s.disputed {
                burdens.push(l.tt("存在待决定的登记后异议", "an objection after grant awaits decision").to_string());
            }
            let burdens = if burdens.is_empty() {
                l.tt("无", "none").to_string()
            } else {
                esc(&burdens.join(l.tt("；", "; ")))
            };
            format!(
                "<div class=\"result good\" id=\"{id}\" role=\"status\"><h2>{}</h2>\
                 <dl><dt>{}</dt><dd>{}</dd><dt>{}</dt><dd>{burdens}</dd></dl>\
                 <p class=\"muted\">{as_of} · <a href=\"{link}\">{}</a></p></div>",
                l.tt("登记现状：有效", "Current status: in force"),
                l.tt("登记现状", "Current status"),
                crate::web::layout::state_label(d.record.state, l),
                l.tt("权利负担", "Encumbrances"),
                l.tt("查看公示记录", "See the public record"),
            )
        }
    }
}
