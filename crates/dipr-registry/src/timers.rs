//! The timer task: moves filings whose deadline has passed (notice over → registered; correction
//! deadline over → deemed withdrawn), and, at most once an hour, prunes old idempotency keys.
//!
//! Safe to run in several processes at once and after any restart: each move re-reads the filing under
//! a row lock inside a transaction and the domain refuses a move that no longer applies, so a deadline
//! fires exactly once however many timers see it. Pruning deletes only answered keys older than
//! `request_key_days`, in bounded batches, whichever process gets there first.

use std::sync::Arc;
use std::time::{Duration, Instant};

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

/// Request keys deleted per statement: each batch is short, so keyed requests never wait long behind it.
const PRUNE_BATCH: u32 = 1_000;
/// How often one process prunes request keys.
const PRUNE_EVERY: Duration = Duration::from_secs(3600);

/// Delete the answered idempotency keys last used more than `request_key_days` ago, in batches of
/// [`PRUNE_BATCH`]; returns how many went. They are not register data: a repeat of a pruned key is simply a
/// new request, which meets the register's state and version checks like any other. Keys still waiting for
/// their answer are never pruned. Nothing is pruned when `request_key_days` is 0.
pub async fn prune_request_keys(state: &Registry) -> Result<u64> {
    if state.config.request_key_days == 0 {
        return Ok(0);
    }
    let before = state.clock.now() - chrono::Duration::days(i64::from(state.config.request_key_days));
    let mut pruned = 0;
    loop {
        let n = state.store.prune_request_keys(before, PRUNE_BATCH).await?;
        pruned += n;
        if n < u64::from(PRUNE_BATCH) {
            return Ok(pruned);
        }
        tokio::task::yield_now().await;
    }
}

/// At most once per period: due the first time, then once the period has passed since the last time.
#[derive(Debug, Clone, Copy)]
struct Every {
    period: Duration,
    last: Option<Instant>,
}

impl Every {
    fn due(&mut self, now: Instant) -> bool {
        if self.last.is_some_and(|last| now.saturating_duration_since(last) < self.period) {
            return false;
        }
        self.last = Some(now);
        true
    }
}

/// Run passes every `interval` until `stop` turns true.
pub async fn run(state: Arc<Registry>, interval: Duration, mut stop: tokio::sync::watch::Receiver<bool>) {
    let mut warned_on = None;
    let mut pruning = Every { period: PRUNE_EVERY, last: None };
    loop {
        let pass = run_once(&state).await;
        state.metrics.task_ran("deadlines", pass.is_ok());
        match pass {
            Ok(r) if r != TimerReport::default() => tracing::info!(?r, "timer pass"),
            Ok(_) => {}
            Err(e) => tracing::warn!(code = e.code, message = %e.message, "timer pass failed; retrying next interval"),
        }
        if pruning.due(Instant::now()) {
            match prune_request_keys(&state).await {
                Ok(0) => {}
                Ok(n) => {
                    tracing::info!(pruned = n, days = state.config.request_key_days, "pruned old idempotency keys")
                }
                Err(e) => tracing::warn!(code = e.code, message = %e.message, "pruning idempotency keys failed"),
            }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pruning_runs_at_most_once_an_hour() {
        let start = Instant::now();
        let mut every = Every { period: PRUNE_EVERY, last: None };
        assert!(every.due(start), "at the first pass");
        assert!(!every.due(start + Duration::from_secs(30)));
        assert!(!every.due(start + Duration::from_secs(3599)));
        assert!(every.due(start + Duration::from_secs(3600)));
        assert!(!every.due(start + Duration::from_secs(3630)), "an hour after the last time, not the first");
        assert!(every.due(start + Duration::from_secs(7300)));
    }
}
