//! The dipr server: HTTP API, authentication and authorisation, the background timer task, and the
//! services that join the domain's rules to the store.
//!
//! [`serve`] takes its listener and a shutdown future, so tests bind port 0 and stop it cleanly; tests
//! that need no socket call [`router`] and drive it in-process.

pub mod api;
pub mod auth;
pub mod conditional;
pub mod error;
pub mod guard;
pub mod headers;
pub mod observe;
pub mod once;
pub mod peer;
pub mod quota;
pub mod web;
pub mod witness;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use dipr_registry::Registry;

/// The whole site: the API and the web pages, behind the middleware every request passes.
pub fn router(state: Arc<Registry>) -> axum::Router {
    use axum::middleware::from_fn_with_state;
    axum::Router::new()
        .merge(api::routes())
        .merge(web::routes())
        .route("/metrics", axum::routing::get(observe::metrics))
        // Body limits are per route, applied before the body is read (`guard::body_limit`), not by extractors;
        // a keyed request is claimed (`once`) only once its body is within its route's limit.
        .route_layer(from_fn_with_state(state.clone(), once::layer))
        .route_layer(from_fn_with_state(state.clone(), guard::body_limit))
        .route_layer(axum::middleware::from_fn(observe::route))
        .layer(axum::extract::DefaultBodyLimit::disable())
        .layer(axum::middleware::from_fn(conditional::layer))
        .layer(from_fn_with_state(state.clone(), quota::layer))
        .layer(from_fn_with_state(state.clone(), guard::deadline))
        .layer(from_fn_with_state(state.clone(), headers::layer))
        // gzip or brotli as the client accepts; server-sent events and images are sent as they are.
        .layer(tower_http::compression::CompressionLayer::new())
        .layer(from_fn_with_state(state.clone(), observe::layer))
        .with_state(state)
}

/// Serve until `shutdown` resolves, running the timer task alongside; then stop accepting, let every request
/// in flight be answered, and return.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: Arc<Registry>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let timer = tokio::spawn(dipr_registry::timers::run(
        state.clone(),
        Duration::from_secs(state.config.timer_interval_secs),
        stop_rx.clone(),
    ));
    // Always running: administrators can add witnesses while the registry serves.
    let witnessing = tokio::spawn(dipr_registry::witnessing::run(
        state.clone(),
        Duration::from_secs(state.config.witness_interval_secs),
        stop_rx.clone(),
    ));
    let stamping = tokio::spawn(dipr_registry::timestamps::run(
        state.clone(),
        Duration::from_secs(state.config.tsa_interval_secs),
        stop_rx.clone(),
    ));
    let bulk = tokio::spawn(dipr_registry::bulk::run(state.clone(), stop_rx.clone()));
    let watching = tokio::spawn(dipr_registry::watches::run(
        state.clone(),
        Duration::from_secs(state.config.watches.interval_secs),
        stop_rx.clone(),
    ));
    let head = tokio::spawn(dipr_registry::head::run(state.clone(), stop_rx));
    serve_router(listener, router(state.clone()), &state.config.limits, shutdown).await;
    let _ = stop_tx.send(true);
    timer.await?;
    witnessing.await?;
    head.await?;
    stamping.await?;
    bulk.await?;
    watching.await?;
    Ok(())
}

/// Serve `app` until `shutdown` resolves, then drain. Connections are served by hyper directly (not
/// `axum::serve`) for what it cannot configure: a timer, so that a connection sending no complete request
/// head within `header_timeout_secs` (a slow or idle one, including an idle keep-alive) is closed; and the
/// peer address each request carries for the throttles.
pub async fn serve_router(
    listener: tokio::net::TcpListener,
    app: axum::Router,
    limits: &dipr_registry::throttle::Limits,
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

#[cfg(test)]
mod structure;
