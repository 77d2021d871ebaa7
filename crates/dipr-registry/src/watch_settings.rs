//! The settings of watches and their alerts (`[watches]`, `[smtp]`, `[webhooks]` in the configuration file).

use serde::Deserialize;

/// `[watches]`: how often the log is matched, and what one account may have.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WatchSettings {
    /// How often new log entries are matched and due deliveries sent, in seconds.
    pub interval_secs: u64,
    /// Live watches one account may have.
    pub max_per_user: usize,
    /// Webhook endpoints one account may have.
    pub max_endpoints_per_user: usize,
    /// The hour (Beijing time, 0–23) daily digests are sent.
    pub digest_hour: u32,
}

impl Default for WatchSettings {
    fn default() -> Self {
        Self { interval_secs: 5, max_per_user: 100, max_endpoints_per_user: 10, digest_hour: 8 }
    }
}

/// `[smtp]`: where alert mail is handed over.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpSettings {
    pub host: String,
    #[serde(default = "default_smtp_port")]
    pub port: u16,
    /// The sender, e.g. `dipr 登记簿 <alerts@dipr.example.cn>`.
    pub from: String,
    /// `starttls` (the default: plain, then STARTTLS, required), `tls` (TLS from the start, port 465) or
    /// `none` (a relay on the registry's own host or network only).
    #[serde(default)]
    pub tls: SmtpTls,
    pub username: Option<String>,
    pub password: Option<String>,
    #[serde(default = "default_smtp_timeout")]
    pub timeout_secs: u64,
}

/// How the SMTP connection is protected.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    #[default]
    Starttls,
    Tls,
    None,
}

fn default_smtp_port() -> u16 {
    25
}

fn default_smtp_timeout() -> u64 {
    10
}

/// Never prints the password: configurations are logged.
impl std::fmt::Debug for SmtpSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpSettings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("from", &self.from)
            .field("tls", &self.tls)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// `[webhooks]`: delivery, retries, and which addresses may be called.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebhookSettings {
    /// Let endpoints on private, loopback and link-local addresses be registered and called (tests, or a
    /// registry whose receivers are on its own network). Off, such addresses are refused when an endpoint is
    /// registered and again, after resolving its name, at each delivery.
    pub allow_private: bool,
    /// Seconds to wait for a receiver's answer.
    pub timeout_secs: u64,
    /// Attempts at one delivery before it is given up.
    pub max_attempts: u32,
    /// The first retry waits this many seconds; each next one twice as long.
    pub retry_base_secs: u64,
    /// Failed attempts in a row after which an endpoint is disabled (0: never).
    pub disable_after: u32,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        Self { allow_private: false, timeout_secs: 10, max_attempts: 8, retry_base_secs: 30, disable_after: 20 }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_smtp_password_never_shows_in_the_configuration() {
        let config: crate::Config = serde_json::from_value(serde_json::json!({
            "smtp": {"host": "smtp.example.cn", "from": "a@example.cn", "username": "dipr", "password": "hunter2-secret"},
            "webhooks": {"allow_private": true},
        }))
        .unwrap();
        let smtp = config.smtp.as_ref().unwrap();
        assert_eq!(
            (smtp.port, smtp.tls, smtp.password.as_deref()),
            (25, super::SmtpTls::Starttls, Some("hunter2-secret"))
        );
        assert!(config.webhooks.allow_private && config.webhooks.max_attempts == 8);
        let shown = format!("{config:?}");
        assert!(!shown.contains("hunter2") && shown.contains("<redacted>"), "{shown}");
    }
}
