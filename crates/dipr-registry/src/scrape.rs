//! `/metrics`: the counters with the figures read when scraped (the log, the witnesses, the pool, sign-ins),
//! in the Prometheus text format.

use crate::error::{Error, Result};
use crate::Registry;

/// The metrics in the Prometheus text format, with the figures read now.
pub async fn metrics(state: &Registry) -> Result<String> {
    let m = &state.metrics;
    let health = crate::witnessing::log_health(state).await?;
    m.log_entries.set(health.size as i64);
    m.witness_lag.set(health.waiting_secs as i64);
    let newest = match health.size {
        0 => None,
        n => state.store.log_entries(n - 1, n).await?.pop(),
    };
    let age = newest
        .and_then(|e| dipr_ledger::certificate::LogEntry::parse(&e).ok())
        .and_then(|e| chrono::DateTime::parse_from_rfc3339(&e.at).ok())
        .map_or(0, |at| (state.clock.now() - at.with_timezone(&chrono::Utc)).num_seconds().max(0));
    m.checkpoint_age.set(age);
    let pool = state.store.pool_status();
    m.db_connections.set(i64::from(pool.connections));
    m.db_idle.set(pool.idle as i64);
    // The sign-in throttle keeps its own totals; the counters catch up with them.
    let (failed, throttled) = state.sign_ins.totals();
    m.sign_in_failures.inc_by(failed.saturating_sub(m.sign_in_failures.get()));
    let refused = m.refusals.get_or_create(&crate::metrics::RefusalLabels { class: "sign_in".into() });
    refused.inc_by(throttled.saturating_sub(refused.get()));
    let mut out = String::new();
    prometheus_client::encoding::text::encode(&mut out, &m.registry).map_err(Error::internal)?;
    Ok(out)
}
