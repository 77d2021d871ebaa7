//! The dipr server: HTTP API, authentication and authorisation, the background timer task, and the
//! services that join the domain's rules to the store.
//!
//! [`serve`] takes its listener and a shutdown future, so tests bind port 0 and stop it cleanly; tests
//! that need no socket call [`router`] and drive it in-process.

pub mod api;
pub mod auth;
pub mod demo;
pub mod error;
pub mod fingerprints;
pub mod guard;
pub mod headers;
pub mod ledger;
pub mod once;
pub mod operations;
pub mod records;
pub mod service;
pub mod standing;
pub mod throttle;
pub mod timers;
pub mod web;
pub mod witness;

use std::future::Future;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use dipr_domain::lifecycle::Rules;
use dipr_domain::time::{AdjustableClock, Clock, SystemClock, WorkingCalendar};
use dipr_store::Store;
use serde::Deserialize;

/// Server settings; the CLI layers defaults, a TOML file and environment variables into this.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Lifecycle periods and the registrar code.
    pub rules: Rules,
    /// Largest accepted request body, in bytes.
    pub body_limit: usize,
    /// Lifetime of a sign-in session, in hours.
    pub session_hours: i64,
    /// How often the timer task looks for passed deadlines, in seconds.
    pub timer_interval_secs: u64,
    /// Let administrators move the clock forward (demo and test deployments only).
    pub adjustable_clock: bool,
    /// The log's origin (C2SP), also the name of the registry's key, e.g. `dipr.example.cn/log`. Unset, a new
    /// registry names itself after its own key (`dipr-<8 hex>.localhost/log`), so no two are alike.
    pub log_origin: Option<String>,
    /// Base URL of the public site, for record links in certificates and QR codes.
    pub public_url: String,
    /// Witnesses that cosign the log's checkpoints, until an administrator changes them (then the stored
    /// set is used).
    pub witnesses: Vec<witness::WitnessEndpoint>,
    /// Cosignatures a checkpoint needs before certificates are served with it (0: serve unwitnessed).
    pub witness_quorum: usize,
    /// How often new checkpoints are sent to the witnesses, in seconds.
    pub witness_interval_secs: u64,
    /// Throttles, budgets and timeouts against abuse.
    pub limits: throttle::Limits,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            rules: Rules::default(),
            body_limit: 1024 * 1024,
            session_hours: 12,
            timer_interval_secs: 30,
            adjustable_clock: false,
            log_origin: None,
            public_url: "http://127.0.0.1:8080".into(),
            witnesses: Vec::new(),
            witness_quorum: 0,
            witness_interval_secs: 5,
            limits: throttle::Limits::default(),
        }
    }
}

/// Everything a request handler can reach.
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    /// Set only when the clock may be moved (`adjustable_clock`).
    pub adjustable: Option<Arc<AdjustableClock>>,
    pub config: Config,
    /// The registry's key: signs checkpoints and certificate statements.
    pub signer: dipr_ledger::note::NoteSigner,
    /// Derived from the registry key: keys the discovery sketches that make products comparable.
    pub discovery_key: [u8; 32],
    pub sign_ins: throttle::SignInGuard,
    pub sign_ups: throttle::ClientBudget,
    pub objections: throttle::ObjectionBudget,
    calendar: RwLock<Arc<WorkingCalendar>>,
    witnesses: RwLock<Arc<witness::WitnessSet>>,
}

impl AppState {
    /// Build the state, seeding defaults (industries, holiday calendar) into a new database.
    pub async fn new(
        store: Arc<dyn Store>,
        config: Config,
        signer: dipr_ledger::note::NoteSigner,
    ) -> anyhow::Result<Arc<Self>> {
        if let Some(origin) = config.log_origin.as_deref().filter(|o| *o != signer.name()) {
            anyhow::bail!("the signing key is for {:?} but the log origin is {origin:?}", signer.name());
        }
        let (clock, adjustable): (Arc<dyn Clock>, _) = if config.adjustable_clock {
            let c = Arc::new(AdjustableClock::default());
            (c.clone(), Some(c))
        } else {
            (Arc::new(SystemClock), None)
        };
        let configured = witness::WitnessSet { witnesses: config.witnesses.clone(), quorum: config.witness_quorum };
        let witnesses = witness::load(store.as_ref(), configured).await?;
        if let Err(problems) = witness::WitnessSet::check(&witnesses) {
            let list: Vec<String> = problems.iter().map(|p| format!("{}: {}", p.field, p.message)).collect();
            anyhow::bail!("witness configuration: {}", list.join("; "));
        }
        let discovery_key = dipr_fingerprint::derive_discovery_key(signer.to_private_string().as_bytes());
        let state = Arc::new(Self {
            sign_ins: throttle::SignInGuard::new(&config.limits),
            sign_ups: throttle::ClientBudget::new(
                config.limits.sign_up_client_burst,
                config.limits.sign_up_client_every_secs,
            ),
            objections: throttle::ObjectionBudget::new(&config.limits),
            store,
            clock,
            adjustable,
            config,
            signer,
            discovery_key,
            calendar: RwLock::new(Arc::default()),
            witnesses: RwLock::new(Arc::new(witnesses)),
        });
        service::seed_defaults(&state).await?;
        state.reload_calendar().await?;
        Ok(state)
    }

    pub fn calendar(&self) -> Arc<WorkingCalendar> {
        self.calendar.read().expect("calendar lock").clone()
    }

    /// The witnesses in use now (an administrator may change them while the registry runs).
    pub fn witnesses(&self) -> Arc<witness::WitnessSet> {
        self.witnesses.read().expect("witness lock").clone()
    }

    fn set_witnesses(&self, set: witness::WitnessSet) {
        *self.witnesses.write().expect("witness lock") = Arc::new(set);
    }

    pub async fn reload_calendar(&self) -> dipr_store::Result<()> {
        let cal = WorkingCalendar::new(self.store.calendar().await?);
        *self.calendar.write().expect("calendar lock") = Arc::new(cal);
        Ok(())
    }
}

/// The whole site: the API and the web pages, behind the middleware every request passes.
pub fn router(state: Arc<AppState>) -> axum::Router {
    use axum::middleware::from_fn_with_state;
    axum::Router::new()
        .merge(api::routes())
        .merge(web::routes())
        // Body limits are per route, applied before the body is read (`guard::body_limit`), not by extractors;
        // a keyed request is claimed (`once`) only once its body is within its route's limit.
        .route_layer(from_fn_with_state(state.clone(), once::layer))
        .route_layer(from_fn_with_state(state.clone(), guard::body_limit))
        .layer(axum::extract::DefaultBodyLimit::disable())
        .layer(from_fn_with_state(state.clone(), guard::deadline))
        .layer(from_fn_with_state(state.clone(), headers::layer))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(state)
}

/// Serve until `shutdown` resolves, running the timer task alongside; then stop accepting, let every request
/// in flight be answered, and return.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: Arc<AppState>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let timer = tokio::spawn(timers::run(
        state.clone(),
        Duration::from_secs(state.config.timer_interval_secs),
        stop_rx.clone(),
    ));
    // Always running: administrators can add witnesses while the registry serves.
    let witnessing =
        tokio::spawn(witness::run(state.clone(), Duration::from_secs(state.config.witness_interval_secs), stop_rx));
    serve_router(listener, router(state.clone()), &state.config.limits, shutdown).await;
    let _ = stop_tx.send(true);
    timer.await?;
    witnessing.await?;
    Ok(())
}

/// Serve `app` until `shutdown` resolves, then drain. Connections are served by hyper directly (not
/// `axum::serve`) for what it cannot configure: a timer, so that a connection sending no complete request
/// head within `header_timeout_secs` (a slow or idle one, including an idle keep-alive) is closed; and the
/// peer address each request carries for the throttles.
pub async fn serve_router(
    listener: tokio::net::TcpListener,
    app: axum::Router,
    limits: &throttle::Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    use hyper_util::rt::{TokioIo, TokioTimer};
    use tower::ServiceExt;

    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new()).header_read_timeout(Duration::from_secs(limits.header_timeout_secs));
    let connections = hyper_util::server::graceful::GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(c) => c,
                Err(e) => {
                    // Out of file descriptors, typically: wait for connections to close rather than spin.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let service = app.clone().map_request(move |mut req: axum::extract::Request<hyper::body::Incoming>| {
            req.extensions_mut().insert(axum::extract::ConnectInfo(peer));
            req
        });
        let conn = http.serve_connection(TokioIo::new(stream), hyper_util::service::TowerToHyperService::new(service));
        let conn = connections.watch(conn);
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(%peer, error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    // A request in flight ends within its deadline; only a client that stops reading its answer could hold
    // a connection longer, and is not waited for.
    let grace = Duration::from_secs(limits.request_timeout_secs + limits.header_timeout_secs);
    if tokio::time::timeout(grace, connections.shutdown()).await.is_err() {
        tracing::warn!("connections still open after {} s; stopping anyway", grace.as_secs());
    }
}
