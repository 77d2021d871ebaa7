//! Watches: an account follows a registration, a holder or a search, and every public log entry that
//! matches becomes an alert — in the portal, by e-mail (at once or in a daily digest) and by signed webhook
//! (Standard Webhooks), retried with exponential back-off.
//!
//! Several server processes may run [`dispatch`] and [`deliver`] at once: the log is matched from a cursor
//! row advanced by compare-and-set in the transaction that writes the alerts (a process that lost the race
//! writes nothing), and each delivery is leased to one process before it is sent.

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use base64::Engine as _;
use chrono::{DateTime, Utc};
use dipr_domain::access::Actor;
use dipr_domain::application::Application;
use dipr_domain::ids::{CreditCode, RegistrationNumber};
use dipr_domain::FieldError;
use dipr_ledger::certificate::LogEntry;
use dipr_store::{
    AlertRecord, AttemptOutcome, AttemptRecord, Channel, ClaimedDelivery, EmailMode, EndpointRecord, NewDelivery,
    UserRecord, WatchKind, WatchRecord,
};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::Sha256;
use uuid::Uuid;

use crate::audit::{actor_of, event};
use crate::error::{Error, Result};
use crate::metrics::DeliveryLabels;
use crate::state::Registry;
pub use crate::watch_settings::{SmtpSettings, SmtpTls, WatchSettings, WebhookSettings};

const MAX_QUERY_CHARS: usize = 200;
const MAX_URL_CHARS: usize = 2000;
const MAX_DESCRIPTION_CHARS: usize = 200;
/// Log entries matched per transaction.
const DISPATCH_BATCH: u64 = 500;
/// Deliveries leased per pass.
const DELIVERY_BATCH: u32 = 50;

/// A watch to make.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewWatch {
    pub kind: WatchKind,
    /// `registration`: a registration number or a record's id; `holder`: a credit code; `search`: a query.
    pub target: String,
    /// Where alerts are mailed (with `email_mode` immediate or daily).
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub email_mode: EmailMode,
    /// One of the caller's webhook endpoints, to be called for each alert.
    #[serde(default)]
    pub endpoint_id: Option<Uuid>,
}

/// A webhook endpoint to register.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewEndpoint {
    /// `http://` or `https://` address the alerts are POSTed to.
    pub url: String,
    #[serde(default)]
    pub description: String,
}

/// An account's watches and endpoints.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Overview {
    pub watches: Vec<WatchRecord>,
    pub endpoints: Vec<EndpointRecord>,
}

fn invalid(field: &str, code: &str, message: &str) -> Error {
    Error::validation(vec![FieldError::new(field, code, message)])
}

/// Make a watch for `user`: the target is checked and resolved (a registration number to its record), the
/// e-mail address and the endpoint checked; it sees log entries from now on.
pub async fn create_watch(state: &Registry, user: &UserRecord, input: NewWatch) -> Result<WatchRecord> {
    let target = input.target.trim();
    let (target, label) = match input.kind {
        WatchKind::Registration => {
            let app = match Uuid::parse_str(target) {
                Ok(id) => state.store.application(id).await?,
                Err(_) => match RegistrationNumber::parse(target) {
                    Ok(n) => state.store.application_by_registration_number(&n.to_string()).await?,
                    Err(_) => {
                        return Err(invalid(
                            "target",
                            "invalid_watch_target",
                            "give a registration number or a public record's id",
                        ))
                    }
                },
            };
            let app = app
                .filter(Application::is_public)
                .ok_or_else(|| invalid("target", "watch_target_not_found", "no public record has this number or id"))?;
            let label = match &app.registration {
                Some(r) => format!("{} ({})", app.form.product_name, r.registration_number),
                None => app.form.product_name.clone(),
            };
            (app.id.to_string(), label)
        }
        WatchKind::Holder => {
            let code = CreditCode::parse(target)
                .map_err(|_| invalid("target", "invalid_credit_code", "not a valid unified social credit code"))?
                .to_string();
            let label = match state.store.party_by_id_number(&code).await? {
                Some(p) => format!("{} ({code})", p.name),
                None => code.clone(),
            };
            (code, label)
        }
        WatchKind::Search => {
            if target.chars().count() > MAX_QUERY_CHARS {
                return Err(invalid("target", "too_long", "a search is at most 200 characters"));
            }
            if dipr_store::search::query_terms(target).is_empty() {
                return Err(invalid("target", "required", "give the words to search for"));
            }
            (target.to_string(), target.to_string())
        }
    };
    let email = match input.email_mode {
        EmailMode::None => None,
        _ => {
            if state.config.smtp.is_none() {
                return Err(Error::new("email_not_configured", "this registry sends no e-mail"));
            }
            Some(check_email(input.email.as_deref().unwrap_or_default())?)
        }
    };
    if let Some(id) = input.endpoint_id {
        let owned = state.store.webhook_endpoint(id).await?.filter(|e| e.user_id == user.id);
        if owned.is_none() {
            return Err(invalid("endpoint_id", "unknown_endpoint", "not one of your webhook endpoints"));
        }
    }
    let live = state.store.watches_of(user.id).await?.iter().filter(|w| w.stopped_at.is_none()).count();
    if live >= state.config.watches.max_per_user {
        return Err(Error::new("too_many_watches", "stop a watch before making another"));
    }
    let now = state.clock.now();
    let watch = WatchRecord {
        id: Uuid::now_v7(),
        user_id: user.id,
        kind: input.kind,
        target,
        label,
        email,
        email_mode: input.email_mode,
        endpoint_id: input.endpoint_id,
        from_index: state.store.log_size().await?,
        created_at: now,
        stopped_at: None,
    };
    let mut tx = state.store.begin().await?;
    tx.insert_watch(&watch).await?;
    let mut e = event(&actor_of(user), now, "watch", watch.id, "watch_created");
    e.payload = json!({"kind": watch.kind, "target": watch.target, "email_mode": watch.email_mode,
        "endpoint_id": watch.endpoint_id});
    tx.append_event(&e).await?;
    tx.commit().await?;
    Ok(watch)
}

fn check_email(email: &str) -> Result<String> {
    let email = email.trim();
    if email.is_empty() {
        return Err(invalid("email", "required", "give the address alerts are mailed to"));
    }
    if !crate::mail::is_address(email) {
        return Err(invalid("email", "invalid_email", "not an e-mail address"));
    }
    Ok(email.to_string())
}

/// Stop one of `user`'s watches (it stays listed, with its alerts).
pub async fn stop_watch(state: &Registry, user: &UserRecord, id: Uuid) -> Result<()> {
    let now = state.clock.now();
    let mut tx = state.store.begin().await?;
    if !tx.stop_watch(id, user.id, now).await? {
        return Err(Error::not_found("watch"));
    }
    tx.append_event(&event(&actor_of(user), now, "watch", id, "watch_stopped")).await?;
    tx.commit().await?;
    Ok(())
}

/// `user`'s watches and webhook endpoints.
pub async fn overview(state: &Registry, user: &UserRecord) -> Result<Overview> {
    Ok(Overview {
        watches: state.store.watches_of(user.id).await?,
        endpoints: state.store.webhook_endpoints_of(user.id).await?,
    })
}

/// `user`'s newest alerts.
pub async fn alerts(state: &Registry, user: &UserRecord, limit: u32) -> Result<Vec<AlertRecord>> {
    Ok(state.store.alerts_of(user.id, limit.clamp(1, 200)).await?)
}

/// Register a webhook endpoint for `user`; returns it and its signing secret (`whsec_…`), which is shown
/// only now.
pub async fn create_endpoint(
    state: &Registry,
    user: &UserRecord,
    input: NewEndpoint,
) -> Result<(EndpointRecord, String)> {
    let url = input.url.trim();
    if url.len() > MAX_URL_CHARS {
        return Err(invalid("url", "too_long", "an address is at most 2000 characters"));
    }
    let description = input.description.trim();
    if description.chars().count() > MAX_DESCRIPTION_CHARS {
        return Err(invalid("description", "too_long", "a description is at most 200 characters"));
    }
    let (host, port) = target_of(url)?;
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), port))
        .await
        .map_err(|_| Error::new("webhook_target_refused", format!("{host} does not resolve")))?
        .collect();
    check_addresses(&addrs, state.config.webhooks.allow_private)
        .map_err(|why| Error::new("webhook_target_refused", why))?;
    if state.store.webhook_endpoints_of(user.id).await?.len() >= state.config.watches.max_endpoints_per_user {
        return Err(Error::new("too_many_watches", "an account may have at most this many webhook endpoints"));
    }
    let mut key = [0u8; 24];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut key);
    let secret = format!("whsec_{}", base64::engine::general_purpose::STANDARD.encode(key));
    let now = state.clock.now();
    let endpoint = EndpointRecord {
        id: Uuid::now_v7(),
        user_id: user.id,
        url: url.to_string(),
        secret: secret.clone(),
        description: description.to_string(),
        failures: 0,
        disabled_at: None,
        disabled_reason: None,
        created_at: now,
    };
    let mut tx = state.store.begin().await?;
    tx.insert_webhook_endpoint(&endpoint).await?;
    // The secret stays out of the audit trail.
    let mut e = event(&actor_of(user), now, "webhook_endpoint", endpoint.id, "webhook_endpoint_created");
    e.payload = json!({"url": endpoint.url});
    tx.append_event(&e).await?;
    tx.commit().await?;
    Ok((endpoint, secret))
}

/// Enable or disable one of `user`'s endpoints (enabling one disabled for failing gives it a fresh start).
pub async fn set_endpoint_enabled(
    state: &Registry,
    user: &UserRecord,
    id: Uuid,
    enabled: bool,
) -> Result<EndpointRecord> {
    let endpoint = owned_endpoint(state, user, id).await?;
    if endpoint.disabled_at.is_none() == enabled {
        return Ok(endpoint);
    }
    let now = state.clock.now();
    let mut tx = state.store.begin().await?;
    if !tx.set_webhook_endpoint_enabled(id, user.id, enabled, now).await? {
        return Err(Error::new("concurrent_modification", "the endpoint changed meanwhile; reload"));
    }
    let kind = if enabled { "webhook_endpoint_enabled" } else { "webhook_endpoint_disabled" };
    tx.append_event(&event(&actor_of(user), now, "webhook_endpoint", id, kind)).await?;
    tx.commit().await?;
    owned_endpoint(state, user, id).await
}

/// One of `user`'s endpoints with its newest delivery attempts (its event log).
pub async fn endpoint_log(
    state: &Registry,
    user: &UserRecord,
    id: Uuid,
) -> Result<(EndpointRecord, Vec<AttemptRecord>)> {
    let endpoint = owned_endpoint(state, user, id).await?;
    let attempts = state.store.watch_attempts(id, 100).await?;
    Ok((endpoint, attempts))
}

/// Someone else's endpoint is "not found", so its existence does not leak.
async fn owned_endpoint(state: &Registry, user: &UserRecord, id: Uuid) -> Result<EndpointRecord> {
    state.store.webhook_endpoint(id).await?.filter(|e| e.user_id == user.id).ok_or_else(|| Error::not_found("endpoint"))
}

/// The host and port of a webhook address, refused unless it is an absolute http(s) URL without
/// credentials.
fn target_of(url: &str) -> Result<(String, u16)> {
    let bad = || invalid("url", "invalid_webhook_url", "give an http:// or https:// address");
    let parsed = url::Url::parse(url).map_err(|_| bad())?;
    if !matches!(parsed.scheme(), "http" | "https") || !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(bad());
    }
    let host = match parsed.host().ok_or_else(bad)? {
        url::Host::Domain(d) => d.to_string(),
        url::Host::Ipv4(a) => a.to_string(),
        url::Host::Ipv6(a) => a.to_string(),
    };
    Ok((host, parsed.port_or_known_default().ok_or_else(bad)?))
}

/// An address anyone on the Internet could serve: not loopback, private, link-local, shared (CGNAT),
/// unspecified, multicast or broadcast (an IPv4 address inside IPv6 judged as itself).
pub fn is_public_address(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(a) => {
            let o = a.octets();
            !(a.is_loopback()
                || a.is_private()
                || a.is_link_local()
                || a.is_unspecified()
                || a.is_broadcast()
                || a.is_multicast()
                || a.is_documentation()
                || o[0] == 0
                || (o[0] == 100 && (o[1] & 0xc0) == 64))
        }
        IpAddr::V6(a) => {
            if let Some(v4) = a.to_ipv4_mapped() {
                return is_public_address(IpAddr::V4(v4));
            }
            let seg = a.segments();
            // NAT64 (64:ff9b::/96) reaches the IPv4 address in its last 32 bits.
            if seg[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
                let v4 = std::net::Ipv4Addr::new((seg[6] >> 8) as u8, seg[6] as u8, (seg[7] >> 8) as u8, seg[7] as u8);
                return is_public_address(IpAddr::V4(v4));
            }
            let first = seg[0];
            !(a.is_loopback()
                || a.is_unspecified()
                || a.is_multicast()
                || (first & 0xfe00) == 0xfc00 // unique local
                || (first & 0xffc0) == 0xfe80) // link-local
        }
    }
}

/// Refuse `addrs` (all a name resolved to) unless every one is public or private targets are allowed.
fn check_addresses(addrs: &[SocketAddr], allow_private: bool) -> std::result::Result<(), String> {
    if addrs.is_empty() {
        return Err("the address does not resolve".into());
    }
    match addrs.iter().find(|a| !allow_private && !is_public_address(a.ip())) {
        Some(a) => Err(format!("{} is a private, loopback or link-local address", a.ip())),
        None => Ok(()),
    }
}

// ---------------------------------------------------------------------------------------------------
// Matching

/// What one [`dispatch`] pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct DispatchReport {
    /// Log entries matched.
    pub entries: u64,
    pub alerts: u64,
    /// Another process matched the same entries first (this one wrote nothing).
    pub lost_race: bool,
}

/// Match the log entries after the cursor against every live watch, and write their alerts and deliveries
/// with the cursor's advance, in one transaction. Repeats until the log is matched or another process wins.
pub async fn dispatch(state: &Registry) -> Result<DispatchReport> {
    let mut report = DispatchReport::default();
    loop {
        let from = state.store.watch_cursor().await?;
        let size = state.store.log_size().await?;
        if from >= size {
            return Ok(report);
        }
        let to = size.min(from + DISPATCH_BATCH);
        let rows = state.store.log_rows(from, to).await?;
        let entries: Vec<(u64, LogEntry)> = rows
            .iter()
            .filter(|r| r.index < to)
            .map(|r| LogEntry::parse(&r.entry).map(|e| (r.index, e)).map_err(Error::internal))
            .collect::<Result<_>>()?;
        let ids: Vec<Uuid> = entries.iter().filter_map(|(_, e)| Uuid::parse_str(&e.subject).ok()).collect();
        let apps: std::collections::HashMap<Uuid, Application> =
            state.store.applications_by_ids(&ids).await?.into_iter().map(|a| (a.id, a)).collect();
        let watches = state.store.live_watches().await?;
        let now = state.clock.now();
        let mut alerts = Vec::new();
        let mut deliveries = Vec::new();
        for (index, entry) in &entries {
            let Some(app) = Uuid::parse_str(&entry.subject).ok().and_then(|id| apps.get(&id)) else { continue };
            for w in watches.iter().filter(|w| w.from_index <= *index && matches(w, entry, app)) {
                let alert = AlertRecord {
                    id: Uuid::now_v7(),
                    watch_id: w.id,
                    user_id: w.user_id,
                    log_index: *index,
                    application_id: app.id,
                    kind: entry.kind.clone(),
                    at: dipr_domain::shown::parse_instant(&entry.at).unwrap_or(now),
                    product_name: app.form.product_name.clone(),
                    registration_number: app.registration.as_ref().map(|r| r.registration_number.to_string()),
                    created_at: now,
                };
                deliveries.extend(deliveries_of(state, w, &alert, now));
                alerts.push(alert);
            }
        }
        let mut tx = state.store.begin().await?;
        if !tx.advance_watch_cursor(from, to).await? {
            report.lost_race = true;
            return Ok(report);
        }
        for a in &alerts {
            tx.insert_watch_alert(a).await?;
        }
        for d in &deliveries {
            tx.insert_watch_delivery(d).await?;
        }
        let mut e = event(&Actor::system(), now, "watches", "log", "watches_matched");
        e.payload = json!({"from": from, "to": to, "alerts": alerts.len()});
        tx.append_event(&e).await?;
        tx.commit().await?;
        report.entries += to - from;
        report.alerts += alerts.len() as u64;
    }
}

/// Whether `entry` about `app` concerns what `watch` follows.
fn matches(watch: &WatchRecord, entry: &LogEntry, app: &Application) -> bool {
    match watch.kind {
        WatchKind::Registration => watch.target == entry.subject,
        // The holder now or the applicant, or a party the event names (a transfer's, a pledgee).
        WatchKind::Holder => {
            app.holder().id_number == watch.target
                || app.applicant.id_number == watch.target
                || names(&entry.data, &watch.target)
        }
        WatchKind::Search => dipr_store::matches_search(app, &watch.target),
    }
}

fn names(v: &serde_json::Value, s: &str) -> bool {
    match v {
        serde_json::Value::String(x) => x == s,
        serde_json::Value::Array(xs) => xs.iter().any(|x| names(x, s)),
        serde_json::Value::Object(m) => m.values().any(|x| names(x, s)),
        _ => false,
    }
}

fn deliveries_of(state: &Registry, w: &WatchRecord, alert: &AlertRecord, now: DateTime<Utc>) -> Vec<NewDelivery> {
    let mut out = Vec::new();
    let new = |channel, endpoint_id, email, digest, next_at| NewDelivery {
        id: Uuid::now_v7(),
        alert_id: alert.id,
        user_id: w.user_id,
        channel,
        endpoint_id,
        email,
        digest,
        next_at,
        created_at: now,
    };
    if let (Some(email), Some(_)) = (&w.email, &state.config.smtp) {
        match w.email_mode {
            EmailMode::None => {}
            EmailMode::Immediate => out.push(new(Channel::Email, None, Some(email.clone()), false, now)),
            EmailMode::Daily => out.push(new(
                Channel::Email,
                None,
                Some(email.clone()),
                true,
                next_digest(now, state.config.watches.digest_hour),
            )),
        }
    }
    if let Some(endpoint) = w.endpoint_id {
        out.push(new(Channel::Webhook, Some(endpoint), None, false, now));
    }
    out
}

/// The next `hour`:00 Beijing time after `now`.
fn next_digest(now: DateTime<Utc>, hour: u32) -> DateTime<Utc> {
    let offset = chrono::Duration::hours(8);
    let local = (now + offset).date_naive();
    let at = |d: chrono::NaiveDate| d.and_hms_opt(hour.min(23), 0, 0).expect("valid hour").and_utc() - offset;
    let today = at(local);
    if today > now {
        today
    } else {
        at(local + chrono::Days::new(1))
    }
}

// ---------------------------------------------------------------------------------------------------
// Delivery

/// What one [`deliver`] pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct DeliveryReport {
    pub delivered: u32,
    /// Failed attempts (retried later, or given up).
    pub failed: u32,
}

/// This process's name on the deliveries it leases.
fn lease_owner() -> &'static str {
    static OWNER: OnceLock<String> = OnceLock::new();
    OWNER.get_or_init(|| format!("{}-{}", std::process::id(), Uuid::now_v7().simple()))
}

/// Lease the deliveries due now and send them: each webhook, each immediate mail, and one digest mail per
/// address for the daily ones due. Each attempt is recorded; a failure is retried after `retry_base_secs`,
/// doubling, until `max_attempts`.
pub async fn deliver(state: &Arc<Registry>) -> Result<DeliveryReport> {
    let mut report = DeliveryReport::default();
    let cfg = &state.config.webhooks;
    loop {
        let now = state.clock.now();
        // Long enough for every send of the batch to finish: a lease never runs out under a live sender.
        let lease = now + chrono::Duration::seconds((cfg.timeout_secs * 2 + 60) as i64 * i64::from(DELIVERY_BATCH));
        let claimed = state.store.claim_deliveries(now, lease_owner(), lease, DELIVERY_BATCH).await?;
        if claimed.is_empty() {
            return Ok(report);
        }
        // One digest per account and address.
        let mut digests: std::collections::BTreeMap<(Uuid, String), Vec<ClaimedDelivery>> = Default::default();
        let mut single = Vec::new();
        for d in claimed {
            match (&d.email, d.digest) {
                (Some(email), true) => digests.entry((d.alert.user_id, email.clone())).or_default().push(d),
                _ => single.push(d),
            }
        }
        for d in single {
            let result = match d.channel {
                Channel::Webhook => match send_webhook(state.clone(), &d).await {
                    Some(result) => result,
                    // Disabled since it was leased (an earlier delivery of this pass failed once too often):
                    // given back, to go when its owner enables the endpoint again.
                    None => {
                        state.store.release_delivery(d.id, lease_owner()).await?;
                        continue;
                    }
                },
                Channel::Email => {
                    send_mail(state.clone(), d.email.clone().unwrap_or_default(), vec![d.alert.clone()]).await
                }
            };
            finish(state, &d, result, &mut report).await?;
        }
        for ((_, email), group) in digests {
            let alerts = group.iter().map(|d| d.alert.clone()).collect();
            let result = send_mail(state.clone(), email, alerts).await;
            for d in &group {
                finish(state, d, result.clone(), &mut report).await?;
            }
        }
    }
}

/// An attempt's result: the HTTP status when there was one, and the error for a failure.
type Sent = std::result::Result<Option<u16>, (Option<u16>, String)>;

async fn finish(state: &Registry, d: &ClaimedDelivery, result: Sent, report: &mut DeliveryReport) -> Result<()> {
    let cfg = &state.config.webhooks;
    let now = state.clock.now();
    let (status, error) = match &result {
        Ok(s) => (*s, String::new()),
        Err((s, e)) => (*s, e.clone()),
    };
    let attempts = d.attempts + 1;
    let retry_at = (result.is_err() && attempts < cfg.max_attempts).then(|| {
        let wait = cfg.retry_base_secs.saturating_mul(1u64 << (attempts - 1).min(20));
        now + chrono::Duration::seconds(wait.min(i64::MAX as u64 / 1000) as i64)
    });
    if d.channel == Channel::Webhook {
        let outcome = if result.is_ok() { "delivered" } else { "failed" };
        state.metrics.webhook_deliveries.get_or_create(&DeliveryLabels { outcome: outcome.into() }).inc();
    }
    if result.is_ok() {
        report.delivered += 1;
    } else {
        report.failed += 1;
        tracing::info!(delivery = %d.id, attempt = attempts, error = %error, "alert delivery failed");
    }
    state
        .store
        .finish_delivery(&AttemptOutcome {
            delivery_id: d.id,
            owner: lease_owner().to_string(),
            at: now,
            status,
            error,
            delivered: result.is_ok(),
            retry_at,
            disable_after: if d.channel == Channel::Webhook { cfg.disable_after } else { 0 },
        })
        .await?;
    Ok(())
}

/// The body a webhook receives for an alert.
pub fn webhook_body(state: &Registry, alert: &AlertRecord) -> serde_json::Value {
    json!({
        "type": "watch.alert",
        "timestamp": alert.created_at,
        "data": {
            "alert_id": alert.id,
            "watch_id": alert.watch_id,
            "log_index": alert.log_index,
            "kind": alert.kind,
            "at": alert.at,
            "application_id": alert.application_id,
            "product_name": alert.product_name,
            "registration_number": alert.registration_number,
            "record_url": format!("{}/records/{}", state.public_url(), alert.application_id),
        }
    })
}

/// The Standard Webhooks signature of `body` sent as message `id` at `timestamp` (Unix seconds):
/// `v1,` and the base64 HMAC-SHA256, keyed with the secret's bytes, of `id.timestamp.body`.
pub fn sign(secret: &str, id: &str, timestamp: i64, body: &[u8]) -> Option<String> {
    let b64 = base64::engine::general_purpose::STANDARD;
    let key = b64.decode(secret.strip_prefix("whsec_")?).ok()?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).ok()?;
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(body);
    Some(format!("v1,{}", b64.encode(mac.finalize().into_bytes())))
}

/// Send a webhook delivery; None, without an attempt, when its endpoint is disabled (or gone).
async fn send_webhook(state: Arc<Registry>, d: &ClaimedDelivery) -> Option<Sent> {
    let endpoint = match d.endpoint_id {
        Some(id) => match state.store.webhook_endpoint(id).await {
            Ok(e) => e,
            Err(e) => return Some(Err((None, e.to_string()))),
        },
        None => None,
    };
    let endpoint = endpoint.filter(|e| e.disabled_at.is_none())?;
    let body = webhook_body(&state, &d.alert).to_string();
    let id = d.id.to_string();
    let cfg = state.config.webhooks.clone();
    let sent = tokio::task::spawn_blocking(move || {
        // The receiver checks this against its own clock (replay protection), so it is the real time even
        // when the registry's clock has been moved.
        let timestamp = Utc::now().timestamp();
        let signature = sign(&endpoint.secret, &id, timestamp, body.as_bytes())
            .ok_or_else(|| (None, "the endpoint's secret is malformed".to_string()))?;
        let allow_private = cfg.allow_private;
        // Every address the name resolves to now is checked, and the connection goes only to those.
        let agent = ureq::AgentBuilder::new()
            .timeout(Duration::from_secs(cfg.timeout_secs))
            .redirects(0)
            .resolver(move |netloc: &str| -> std::io::Result<Vec<SocketAddr>> {
                let addrs: Vec<SocketAddr> = std::net::ToSocketAddrs::to_socket_addrs(netloc)?.collect();
                check_addresses(&addrs, allow_private)
                    .map_err(|why| std::io::Error::new(std::io::ErrorKind::PermissionDenied, why))?;
                Ok(addrs)
            })
            .build();
        let sent = agent
            .post(&endpoint.url)
            .set("content-type", "application/json")
            .set("webhook-id", &id)
            .set("webhook-timestamp", &timestamp.to_string())
            .set("webhook-signature", &signature)
            .send_string(&body);
        match sent {
            Ok(r) => Ok(Some(r.status())),
            Err(ureq::Error::Status(code, _)) => Err((Some(code), format!("the receiver answered {code}"))),
            Err(ureq::Error::Transport(t)) => Err((None, t.to_string())),
        }
    })
    .await
    .unwrap_or_else(|e| Err((None, e.to_string())));
    Some(sent)
}

async fn send_mail(state: Arc<Registry>, to: String, alerts: Vec<AlertRecord>) -> Sent {
    let Some(smtp) = state.config.smtp.clone() else {
        return Err((None, "no [smtp] is configured".into()));
    };
    let (subject, text) = mail_text(&state, &alerts);
    crate::mail::send(smtp, to, subject, text).await.map_err(|e| (None, e))
}

/// A mail's subject and text for `alerts`: Chinese, then English (an account has no language of its own).
fn mail_text(state: &Registry, alerts: &[AlertRecord]) -> (String, String) {
    use dipr_domain::shown;
    let subject = match alerts {
        [one] => format!("dipr 关注提醒 / Watch alert: {} — {}", one.product_name, one.kind),
        many => format!("dipr 关注摘要 / Watch digest: {} 条提醒 / alerts", many.len()),
    };
    let mut text =
        String::from("您关注的登记簿记录有新的公开事件。\nThere are new public events on records you watch.\n\n");
    for a in alerts {
        text.push_str(&format!(
            "{} {}\n  {}\n  {}\n  {}/records/{}\n  log index {}\n\n",
            a.product_name,
            a.registration_number.as_deref().unwrap_or_default(),
            a.kind,
            shown::zoned_both(&shown::minute(a.at)),
            state.public_url(),
            a.application_id,
            a.log_index
        ));
    }
    text.push_str(&format!("管理关注 / Manage your watches: {}/me/watches\n", state.public_url()));
    (subject, text)
}

/// The watch task: match new log entries and send due deliveries every `interval`, until `stop`.
pub async fn run(state: Arc<Registry>, interval: Duration, mut stop: tokio::sync::watch::Receiver<bool>) {
    loop {
        if let Err(e) = dispatch(&state).await {
            tracing::warn!(error = %e, "matching the log against watches failed");
        }
        if let Err(e) = deliver(&state).await {
            tracing::warn!(error = %e, "delivering alerts failed");
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
    fn addresses_anyone_could_serve() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
            "64:ff9b::a00:1",
        ] {
            assert!(!is_public_address(private.parse().unwrap()), "{private}");
        }
        for public in ["8.8.8.8", "203.0.114.1", "2001:4860:4860::8888", "64:ff9b::808:808"] {
            assert!(is_public_address(public.parse().unwrap()), "{public}");
        }
    }

    #[test]
    fn signatures_follow_standard_webhooks() {
        // The example of the Standard Webhooks specification.
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let body = br#"{"test": 2432232314}"#;
        assert_eq!(
            sign(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body).as_deref(),
            Some("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
        );
    }

    #[test]
    fn digests_go_out_at_the_hour_beijing_time() {
        let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().to_utc();
        assert_eq!(next_digest(at("2026-03-01T23:30:00Z"), 8), at("2026-03-02T00:00:00Z"));
        assert_eq!(next_digest(at("2026-03-02T00:00:00Z"), 8), at("2026-03-03T00:00:00Z"));
        assert_eq!(next_digest(at("2026-03-02T01:00:00Z"), 8), at("2026-03-03T00:00:00Z"));
    }
}
