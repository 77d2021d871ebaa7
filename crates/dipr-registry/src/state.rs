//! The registry's settings and the state its use cases share: store, clock, keys, throttles, calendar
//! and witnesses.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use dipr_domain::lifecycle::Rules;
use dipr_domain::time::{AdjustableClock, Clock, SystemClock, WorkingCalendar};
use dipr_store::Store;
use serde::Deserialize;

use crate::throttle;
use crate::witnesses::{self, WitnessSet};

/// The registry's settings; the CLI layers defaults, a TOML file and environment variables into this.
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
    /// Base URL of the public site, e.g. `https://dipr.example.cn`: the record link in new certificates, and
    /// the QR code and links on certificate PDFs. Unset, `dipr serve` uses the address it listens on
    /// ([`Config::listening_on`]); other commands use [`DEFAULT_PUBLIC_URL`].
    pub public_url: Option<String>,
    /// The registrar's name as certificates show it, e.g. 上海数据交易所数据产品登记中心.
    pub registrar_name: String,
    /// The same in English.
    pub registrar_name_en: String,
    /// A PNG of the registrar's seal, printed on certificate PDFs (a relative path is taken from the
    /// configuration file's directory). Unset, the PDF leaves an empty place for the seal, labelled.
    pub seal_image: Option<PathBuf>,
    /// Witnesses that cosign the log's checkpoints, until an administrator changes them (then the stored
    /// set is used).
    pub witnesses: Vec<witnesses::WitnessEndpoint>,
    /// Cosignatures a checkpoint needs before certificates are served with it (0: serve unwitnessed).
    pub witness_quorum: usize,
    /// How often new checkpoints are sent to the witnesses, in seconds.
    pub witness_interval_secs: u64,
    /// With a quorum configured, `/healthz` fails once the newest checkpoint has waited longer than this for its
    /// cosignatures, in seconds (0: never).
    pub witness_max_lag_secs: u64,
    /// Time-stamping authorities (RFC 3161) asked for a token over the newest checkpoint.
    pub tsa: Vec<TsaEndpoint>,
    /// How often the newest checkpoint is time-stamped, in seconds.
    pub tsa_interval_secs: u64,
    /// Where the server writes its bulk-data dumps (served at `/bulk/…`). Unset, `dipr serve` uses
    /// `DATA_DIR/bulk`.
    pub bulk_dir: Option<PathBuf>,
    /// How often the server writes a dump, in seconds (daily by default; 0: never, `dipr bulk export` only).
    pub bulk_interval_secs: u64,
    /// Throttles, budgets and timeouts against abuse.
    pub limits: throttle::Limits,
    /// A bearer token that may read `/metrics` from anywhere (loopback clients need none). Unset: loopback only.
    pub metrics_token: Option<Secret>,
    /// How often the headline statistics (home page, unfiltered dashboard) are refreshed, in seconds; 0
    /// computes them for every request.
    pub stats_refresh_secs: u64,
    /// How long an answered idempotency key (`request_keys`) is kept, in days after its last use, so that a
    /// client's retry gets the first answer again; the timer task prunes older ones (at most once an hour).
    /// A repeat after that is a new request. 0 keeps them for ever.
    pub request_key_days: u32,
    /// `[watches]`: how often the log is matched against watches, and how many one account may have.
    pub watches: crate::watch_settings::WatchSettings,
    /// `[smtp]`: where alert mail is handed over; unset, no e-mail is sent (and none can be asked for).
    pub smtp: Option<crate::watch_settings::SmtpSettings>,
    /// `[webhooks]`: timeouts, retries, disabling, and whether private addresses may be called.
    pub webhooks: crate::watch_settings::WebhookSettings,
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
            public_url: None,
            registrar_name: "dipr 数据知识产权登记簿（演示）".into(),
            registrar_name_en: "dipr data intellectual property register (demonstration)".into(),
            seal_image: None,
            witnesses: Vec::new(),
            witness_quorum: 0,
            witness_interval_secs: 5,
            witness_max_lag_secs: 300,
            tsa: Vec::new(),
            tsa_interval_secs: 60,
            bulk_dir: None,
            bulk_interval_secs: 24 * 60 * 60,
            limits: throttle::Limits::default(),
            metrics_token: None,
            stats_refresh_secs: 60,
            request_key_days: 7,
            watches: Default::default(),
            smtp: None,
            webhooks: Default::default(),
        }
    }
}

/// Where the public site is when `public_url` is unset and no server has said where it listens: the
/// address `dipr serve` listens on by default.
/// A secret from the configuration: shown as `***` by `Debug`, so it never reaches a log.
#[derive(Clone, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

pub const DEFAULT_PUBLIC_URL: &str = "http://127.0.0.1:8080";

impl Config {
    /// A server listening on `addr`: with `public_url` unset, links and QR codes lead there. An address on
    /// every interface (0.0.0.0, ::) names none that people can reach, so the loopback address stands in
    /// for it and the returned warning says to set `public_url`.
    pub fn listening_on(&mut self, addr: SocketAddr) -> Option<String> {
        if self.public_url.is_some() {
            return None;
        }
        let mut shown = addr;
        let warning = addr.ip().is_unspecified().then(|| {
            shown.set_ip(if addr.is_ipv4() { [127, 0, 0, 1].into() } else { std::net::Ipv6Addr::LOCALHOST.into() });
            format!(
                "public_url is not set and the server listens on every interface ({addr}): certificates and \
                 their QR codes will link to http://{shown}; set public_url to the address people reach the \
                 registry at"
            )
        });
        self.public_url = Some(format!("http://{shown}"));
        warning
    }
}

/// A time-stamping authority the registry asks.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct TsaEndpoint {
    /// How certificates and reports name it, e.g. `国家授时中心`.
    pub name: String,
    /// Where `application/timestamp-query` is POSTed.
    pub url: String,
    /// PEM file with the TSA's trust anchor (its CA's certificate, or its own): tokens are checked against it.
    pub trust: std::path::PathBuf,
}

/// The registry: its store, clock, keys, settings and the state its use cases share (throttles, the
/// calendar, the witnesses). One per process, shared by every request.
pub struct Registry {
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
    pub quotas: throttle::ApiQuotas,
    pub sign_ups: throttle::ClientBudget,
    pub password_resets: throttle::ClientBudget,
    pub objections: throttle::ObjectionBudget,
    pub figures: crate::figures::Figures,
    pub metrics: crate::metrics::Metrics,
    /// The registrar's seal (`seal_image`), read and checked once at start.
    pub seal: Option<dipr_pdf::Seal>,
    calendar: RwLock<Arc<WorkingCalendar>>,
    witnesses: RwLock<Arc<WitnessSet>>,
    /// The newest signed checkpoint kept outside the database, when the registry runs on a data directory.
    head: std::sync::OnceLock<crate::head::HeadFile>,
}

impl Registry {
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
        let configured = WitnessSet { witnesses: config.witnesses.clone(), quorum: config.witness_quorum };
        let witnesses = witnesses::load(store.as_ref(), configured).await?;
        if let Err(problems) = WitnessSet::check(&witnesses) {
            let list: Vec<String> = problems.iter().map(|p| format!("{}: {}", p.field, p.message)).collect();
            anyhow::bail!("witness configuration: {}", list.join("; "));
        }
        let seal = config.seal_image.as_deref().map(load_seal).transpose()?;
        let discovery_key = dipr_fingerprint::derive_discovery_key(signer.to_private_string().as_bytes());
        let state = Arc::new(Self {
            sign_ins: throttle::SignInGuard::new(&config.limits),
            quotas: throttle::ApiQuotas::new(&config.limits),
            sign_ups: throttle::ClientBudget::new(
                config.limits.sign_up_client_burst,
                config.limits.sign_up_client_every_secs,
            ),
            password_resets: throttle::ClientBudget::new(
                config.limits.password_reset_client_burst,
                config.limits.password_reset_client_every_secs,
            ),
            objections: throttle::ObjectionBudget::new(&config.limits),
            figures: Default::default(),
            metrics: Default::default(),
            seal,
            store,
            clock,
            adjustable,
            config,
            signer,
            discovery_key,
            calendar: RwLock::new(Arc::default()),
            witnesses: RwLock::new(Arc::new(witnesses)),
            head: std::sync::OnceLock::new(),
        });
        crate::defaults::seed(state.store.as_ref(), state.clock.now()).await?;
        state.reload_calendar().await?;
        Ok(state)
    }

    /// Base URL of the public site, without a trailing slash.
    pub fn public_url(&self) -> &str {
        self.config.public_url.as_deref().unwrap_or(DEFAULT_PUBLIC_URL).trim_end_matches('/')
    }

    /// Keep the log's head in `file` from now on; refused when the database's log is behind it or has
    /// another history (a restored backup or a rollback), with the reason in plain words.
    pub async fn keep_head(&self, file: crate::head::HeadFile) -> anyhow::Result<()> {
        if let Some(head) = file.head() {
            let standing = crate::head::standing(self.store.as_ref(), &head).await?;
            if let Some(problem) = standing.problem() {
                anyhow::bail!("{problem} (the head is kept in {})", file.path().display());
            }
        }
        crate::head::advance(self.store.as_ref(), &file, &self.signer.verifier()).await?;
        self.head.set(file).map_err(|_| anyhow::anyhow!("the log's head is already kept"))
    }

    /// Where the log's head is kept, if anywhere.
    pub fn head(&self) -> Option<&crate::head::HeadFile> {
        self.head.get()
    }

    pub fn calendar(&self) -> Arc<WorkingCalendar> {
        self.calendar.read().expect("calendar lock").clone()
    }

    /// The witnesses in use now (an administrator may change them while the registry runs).
    pub fn witnesses(&self) -> Arc<WitnessSet> {
        self.witnesses.read().expect("witness lock").clone()
    }

    pub(crate) fn set_witnesses(&self, set: WitnessSet) {
        *self.witnesses.write().expect("witness lock") = Arc::new(set);
    }

    pub async fn reload_calendar(&self) -> dipr_store::Result<()> {
        let cal = WorkingCalendar::new(self.store.calendar().await?);
        *self.calendar.write().expect("calendar lock") = Arc::new(cal);
        Ok(())
    }
}

/// The registrar's seal from `path`, refused with the reason when it is missing or not a PNG the
/// certificate can carry.
fn load_seal(path: &std::path::Path) -> anyhow::Result<dipr_pdf::Seal> {
    let bytes = std::fs::read(path).map_err(|e| anyhow::anyhow!("seal_image {}: {e}", path.display()))?;
    dipr_pdf::Seal::from_png(bytes).map_err(|e| anyhow::anyhow!("seal_image {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unset_public_url_is_where_the_server_listens() {
        let mut config = Config::default();
        assert_eq!(config.listening_on("192.0.2.7:9000".parse().unwrap()), None);
        assert_eq!(config.public_url.as_deref(), Some("http://192.0.2.7:9000"));

        let mut config = Config::default();
        let warning = config.listening_on("0.0.0.0:8443".parse().unwrap()).unwrap();
        assert_eq!(config.public_url.as_deref(), Some("http://127.0.0.1:8443"));
        assert!(warning.contains("set public_url"), "{warning}");
        let mut config = Config::default();
        assert!(config.listening_on("[::]:8080".parse().unwrap()).is_some());
        assert_eq!(config.public_url.as_deref(), Some("http://[::1]:8080"));

        let mut config = Config { public_url: Some("https://dipr.example.cn".into()), ..Config::default() };
        assert_eq!(config.listening_on("127.0.0.1:9000".parse().unwrap()), None);
        assert_eq!(config.public_url.as_deref(), Some("https://dipr.example.cn"));
    }
}
