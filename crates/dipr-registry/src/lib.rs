//! The registry's use cases, without HTTP or HTML: one function per use case, each one transaction, with
//! the access rules it needs. The API and the web site (`dipr-server`) call the same functions; so do the
//! timer task, the demo seeder and the CLI.

pub mod accounts;
pub mod admin;
pub mod audit;
pub mod bulk;
pub mod defaults;
pub mod demo;
pub mod error;
pub mod feeds;
pub mod figures;
pub mod filings;
pub mod fingerprints;
pub mod head;
pub mod holdings;
pub mod input;
pub mod ledger;
pub mod mail;
pub mod metrics;
pub mod passwords;
pub mod records;
pub mod scrape;
pub mod standing;
pub mod state;
pub mod stream;
pub mod throttle;
pub mod tiles;
pub mod timers;
pub mod timestamps;
pub mod watch_settings;
pub mod watches;
pub mod witnesses;
pub mod witnessing;

pub use error::{Error, Result};
pub use state::{Config, Registry};
