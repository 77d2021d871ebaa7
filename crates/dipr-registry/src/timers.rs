//! The timer task: moves filings whose deadline has passed (notice over → registered; correction
//! deadline over → deemed withdrawn).
//!
//! Safe to run in several processes at once and after any restart: each move re-reads the filing under
//! a row lock inside a transaction and the domain refuses a move that no longer applies, so a deadline
//! fires exactly once however many timers see it.

use std::sync::Arc;
use std::time::Duration;

use crate::error::Result;
use crate::state::Registry;
use dipr_domain::access::Actor;
use dipr_domain::application::State;
use dipr_domain::lifecycle::Command;

/// What one pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct TimerReport {
    pub registered: u32,
    pub deemed_withdrawn: u32,
    /// Registrations whose validity ended.
    pub expired: u32,
    /// Deadlines another process (or an examiner) handled first.
    pub skipped: u32,
}

/// One pass over every passed deadline.
pub async fn run_once(state: &Registry) -> Result<TimerReport> {
    state.reload_calendar().await?;
    let mut report = TimerReport::default();
    loop {
        let now = state.clock.now();
        let due = state.store.due_applications(now, 200).await?;
        let batch = due.len();
        let before = report;
        for id in due {
            let Some(app) = state.store.application(id).await? else { continue };
            let cmd = match app.state {
                State::PublicNotice => Command::EndNotice,
                State::CorrectionRequested => Command::ExpireCorrection,
                State::Registered => Command::Expire,
                _ => continue,
            };
            match crate::filings::execute_at(state, id, cmd, &Actor::system(), now).await {
                Ok(a) if a.state == State::Registered => report.registered += 1,
                Ok(a) if a.state == State::Expired => report.expired += 1,
                Ok(_) => report.deemed_withdrawn += 1,
                Err(e)
                    if matches!(e.code, "illegal_transition" | "deadline_not_reached" | "concurrent_modification") =>
                {
                    report.skipped += 1
                }
                Err(e) => return Err(e),
            }
        }
        // Stop when the batch was the last, or when nothing moved (what is left is someone else's).
        let moved = |r: &TimerReport| r.registered + r.deemed_withdrawn + r.expired;
        if batch < 200 || moved(&report) == moved(&before) {
            return Ok(report);
        }
    }
}

/// Run passes every `interval` until `stop` turns true.
pub async fn run(state: Arc<Registry>, interval: Duration, mut stop: tokio::sync::watch::Receiver<bool>) {
    let mut warned_on = None;
    loop {
        match run_once(&state).await {
            Ok(r) if r != TimerReport::default() => tracing::info!(?r, "timer pass"),
            Ok(_) => {}
            Err(e) => tracing::warn!(code = e.code, message = %e.message, "timer pass failed; retrying next interval"),
        }
        // Once a day while the holiday calendar runs out within a quarter (also shown on /admin).
        let today = dipr_domain::time::local_date(state.clock.now());
        if warned_on != Some(today) {
            warned_on = Some(today);
            if let Some(year) = state.calendar().coverage_warning(today) {
                tracing::warn!(
                    year,
                    "the holiday calendar does not cover {year}: deadlines reaching it are counted by the weekend \
                     rule alone; enter the State Council's {year} arrangement on /admin"
                );
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = stop.changed() => return,
        }
    }
}
