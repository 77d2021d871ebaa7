//! The web site: server-rendered pages in Chinese (default) and English. Shared pieces (layout, language,
//! labels, sessions) live in their own modules; each page or page group has its file.

pub mod admin;
pub mod check;
pub mod examiner;
pub mod feeds;
pub mod filed;
pub mod filing;
pub mod form;
pub mod i18n;
pub mod layout;
pub mod manifest;
pub mod messages;
pub mod my_filing;
pub mod password;
pub mod portal;
pub mod public;
pub mod record;
pub mod session;
pub mod watches;

use std::sync::Arc;

use axum::Router;

use dipr_registry::Registry;

/// Every page of the site.
pub fn routes() -> Router<Arc<Registry>> {
    Router::new()
        .route("/records/{id}", axum::routing::get(record::record))
        .route("/records/{id}/objections", axum::routing::post(record::object))
        .merge(public::routes())
        .merge(feeds::routes())
        .merge(check::routes())
        .merge(portal::routes())
        .merge(password::routes())
        .merge(filing::routes())
        .merge(my_filing::routes())
        .merge(examiner::routes())
        .merge(admin::routes())
        .merge(watches::routes())
        .layer(axum::middleware::from_fn(layout::remember_query))
}
