//! Who a request comes from, for the throttles: the peer address of its connection.

use dipr_registry::throttle::Client;

/// The client behind a request, for the throttles (see `dipr_registry::throttle::Client`).
pub struct Peer(pub Client);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Peer {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, _: &S) -> Result<Self, Self::Rejection> {
        let ip = parts.extensions.get::<axum::extract::ConnectInfo<std::net::SocketAddr>>().map(|c| c.0.ip());
        Ok(Peer(Client::of(ip)))
    }
}
