//! What the registry counts for its operators, exposed at `/metrics` in the Prometheus text format: requests
//! by route and status with their latency, log appends and their latency, background task runs, refused
//! requests, webhook deliveries; and, read when scraped, the log's size, the newest checkpoint's age, the
//! witnesses' lag, the database pool and sign-in failures. Counters live in memory, per process.

use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry as Prometheus;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub method: String,
    /// The route's pattern (`/api/v1/public/records/{id}`), never the concrete path: bounded cardinality.
    pub route: String,
    pub status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    pub method: String,
    pub route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TaskLabels {
    /// `deadlines`, `witnesses`, `timestamps`.
    pub task: String,
    /// `ok` or `failed`.
    pub outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RefusalLabels {
    /// What was refused: `search`, `read`, `write`, `export` (API quotas), `sign_in`.
    pub class: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DeliveryLabels {
    /// `delivered` or `failed`.
    pub outcome: String,
}

type Histograms<L> = Family<L, Histogram, fn() -> Histogram>;

fn latency() -> Histogram {
    // 0.5 ms to ~16 s.
    Histogram::new(exponential_buckets(0.0005, 2.0, 16))
}

/// The counters, and the registry that names them.
pub struct Metrics {
    pub requests: Family<RequestLabels, Counter>,
    pub request_seconds: Histograms<RouteLabels>,
    pub log_appends: Counter,
    pub log_append_seconds: Histogram,
    pub task_runs: Family<TaskLabels, Counter>,
    pub refusals: Family<RefusalLabels, Counter>,
    pub webhook_deliveries: Family<DeliveryLabels, Counter>,
    pub(crate) log_entries: Gauge,
    pub(crate) checkpoint_age: Gauge,
    pub(crate) witness_lag: Gauge,
    pub(crate) db_connections: Gauge,
    pub(crate) db_idle: Gauge,
    pub(crate) sign_in_failures: Counter,
    pub(crate) registry: Prometheus,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut r = Prometheus::with_prefix("dipr");
        let requests = Family::<RequestLabels, Counter>::default();
        r.register("http_requests", "HTTP requests answered, by route and status", requests.clone());
        let request_seconds: Histograms<RouteLabels> = Family::new_with_constructor(latency);
        r.register("http_request_duration_seconds", "Time to answer a request", request_seconds.clone());
        let log_appends = Counter::default();
        r.register("log_appends", "Entries appended to the public log by this process", log_appends.clone());
        let log_append_seconds = latency();
        r.register(
            "log_append_duration_seconds",
            "Time to append an entry and sign the checkpoint (inside its transaction)",
            log_append_seconds.clone(),
        );
        let task_runs = Family::<TaskLabels, Counter>::default();
        r.register("task_runs", "Runs of the background tasks", task_runs.clone());
        let refusals = Family::<RefusalLabels, Counter>::default();
        r.register("refusals", "Requests refused by a quota or throttle", refusals.clone());
        let webhook_deliveries = Family::<DeliveryLabels, Counter>::default();
        r.register("webhook_deliveries", "Webhook delivery attempts", webhook_deliveries.clone());
        let gauge = |r: &mut Prometheus, name: &str, help: &str| {
            let g = Gauge::default();
            r.register(name, help, g.clone());
            g
        };
        let log_entries = gauge(&mut r, "log_entries", "Entries in the public log");
        let checkpoint_age = gauge(&mut r, "checkpoint_age_seconds", "Age of the newest signed checkpoint");
        let witness_lag = gauge(
            &mut r,
            "witness_lag_seconds",
            "How long the newest checkpoint has waited for its witness quorum (0 when it has it)",
        );
        let db_connections = gauge(&mut r, "db_connections", "Open database connections (both pools)");
        let db_idle = gauge(&mut r, "db_idle_connections", "Idle database connections");
        let sign_in_failures = Counter::default();
        r.register("sign_in_failures", "Wrong usernames or passwords", sign_in_failures.clone());
        Self {
            requests,
            request_seconds,
            log_appends,
            log_append_seconds,
            task_runs,
            refusals,
            webhook_deliveries,
            log_entries,
            checkpoint_age,
            witness_lag,
            db_connections,
            db_idle,
            sign_in_failures,
            registry: r,
        }
    }
}

impl Metrics {
    pub fn task_ran(&self, task: &str, ok: bool) {
        let outcome = if ok { "ok" } else { "failed" };
        self.task_runs.get_or_create(&TaskLabels { task: task.into(), outcome: outcome.into() }).inc();
    }

    pub fn refused(&self, class: &str) {
        self.refusals.get_or_create(&RefusalLabels { class: class.into() }).inc();
    }

    pub fn appended(&self, took: Duration) {
        self.log_appends.inc();
        self.log_append_seconds.observe(took.as_secs_f64());
    }
}
