//! Limits on what one client can make the registry do: sign-in attempts (per client, and per account and
//! client with exponential back-off) and public objections (per client, and per record for anonymous ones).
//!
//! The state is in memory: it bounds cost, it is not a record. It is forgotten on restart, and each server
//! process on a shared PostgreSQL database keeps its own.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Above this many keys a table forgets the ones that no longer hold anything back.
const MAX_KEYS: usize = 100_000;
/// Sign-in back-off never grows past this.
const MAX_BACKOFF: Duration = Duration::from_secs(15 * 60);
/// A client's failures on an account are forgotten after this long without another.
const FORGET_FAILURES: Duration = Duration::from_secs(60 * 60);

/// The settings of every limit (`[limits]` in the configuration file).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Sign-in attempts one client may make at once, then one more every `sign_in_client_every_secs`.
    pub sign_in_client_burst: u32,
    pub sign_in_client_every_secs: u64,
    /// Wrong passwords one client may try on one account before each further try waits 1 s, 2 s, 4 s, …
    /// (at most 15 minutes). Other clients are not held back, so an attacker cannot lock the user out.
    pub sign_in_free_failures: u32,
    /// Live sessions an account may hold; signing in again ends the oldest.
    pub sessions_per_account: usize,
    /// Live API tokens an account may hold; creating one more is refused until one is revoked.
    pub api_tokens_per_account: usize,
    /// Accounts one client may create by signing up at once, then one more every `sign_up_client_every_secs`.
    pub sign_up_client_burst: u32,
    pub sign_up_client_every_secs: u64,
    /// Password reset requests one client may make at once, then one more every
    /// `password_reset_client_every_secs` (each account is also sent at most three links an hour).
    pub password_reset_client_burst: u32,
    pub password_reset_client_every_secs: u64,
    /// Objections and disputes one client may file at once, then one more every `objection_client_every_secs`.
    pub objection_client_burst: u32,
    pub objection_client_every_secs: u64,
    /// Anonymous objections and disputes one record accepts at once, then one more every
    /// `objection_record_every_secs` (signed-in objectors are limited per client only).
    pub objection_record_burst: u32,
    pub objection_record_every_secs: u64,
    /// A connection that sends no complete request head for this long is closed (idle keep-alive too).
    pub header_timeout_secs: u64,
    /// A request not answered within this long (including reading its body) gets `request_timeout`.
    pub request_timeout_secs: u64,
    /// API quotas: how many requests of each class one client address, one account (signed in) or one API
    /// token may make in `api_window_secs`, spent evenly (a full quota at once, then one more every
    /// window/quota). 0 lifts a class's quota (benchmarks). Sign-in and sign-up have their own limits above.
    pub api_window_secs: u64,
    pub api_search_quota: u32,
    pub api_read_quota: u32,
    pub api_write_quota: u32,
    pub api_export_quota: u32,
    /// Ids of API tokens no quota applies to (a trusted mirror's, a benchmark's): `GET /api/v1/me/tokens`
    /// shows a token's id.
    pub api_quota_exempt_tokens: Vec<Uuid>,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            sign_in_client_burst: 30,
            sign_in_client_every_secs: 6,
            sign_in_free_failures: 5,
            sessions_per_account: 10,
            api_tokens_per_account: 50,
            sign_up_client_burst: 20,
            sign_up_client_every_secs: 3 * 60,
            password_reset_client_burst: 5,
            password_reset_client_every_secs: 12 * 60,
            objection_client_burst: 5,
            objection_client_every_secs: 12 * 60,
            objection_record_burst: 20,
            objection_record_every_secs: 6 * 60 * 60,
            header_timeout_secs: 20,
            request_timeout_secs: 60,
            api_window_secs: 300,
            api_search_quota: 600,
            api_read_quota: 3000,
            api_write_quota: 600,
            api_export_quota: 120,
            api_quota_exempt_tokens: Vec::new(),
        }
    }
}

/// Who a request comes from, for the limits: the peer address, an IPv6 client by its /64 (one subscriber
/// usually holds the whole prefix). Callers without a connection (the router driven in-process) share one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Client(pub IpAddr);

impl Client {
    /// The client behind a peer address (none: the router driven in-process, without a connection).
    pub fn of(peer: Option<IpAddr>) -> Self {
        Client(match peer.map(|ip| ip.to_canonical()) {
            Some(IpAddr::V6(v6)) => IpAddr::V6(Ipv6Addr::from(v6.to_bits() & !((1u128 << 64) - 1))),
            Some(v4) => v4,
            None => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        })
    }
}

/// Token buckets by key: `burst` at once, then one more every `every`.
struct Buckets<K> {
    burst: f64,
    every: Duration,
    map: HashMap<K, (f64, Instant)>,
}

impl<K: Hash + Eq> Buckets<K> {
    fn new(burst: u32, every_secs: u64) -> Self {
        Self { burst: f64::from(burst.max(1)), every: Duration::from_secs(every_secs.max(1)), map: HashMap::new() }
    }

    /// `quota` at once, then the quota refilled evenly over `window`.
    fn per_window(quota: u32, window: Duration) -> Self {
        let quota = quota.max(1);
        Self { burst: f64::from(quota), every: (window / quota).max(Duration::from_millis(1)), map: HashMap::new() }
    }

    fn tokens(&self, key: &K, now: Instant) -> f64 {
        self.map.get(key).map_or(self.burst, |(tokens, at)| {
            (tokens + now.duration_since(*at).as_secs_f64() / self.every.as_secs_f64()).min(self.burst)
        })
    }

    /// How long until `key` has a token again (zero if it has one now).
    fn wait(&self, key: &K, now: Instant) -> Duration {
        self.every.mul_f64((1.0 - self.tokens(key, now)).max(0.0))
    }

    fn take(&mut self, key: K, now: Instant) {
        let tokens = self.tokens(&key, now) - 1.0;
        if self.map.len() >= MAX_KEYS {
            // A full bucket behaves as no bucket: forgetting those changes nothing.
            let (burst, every) = (self.burst, self.every.as_secs_f64());
            self.map.retain(|_, (t, at)| *t + now.duration_since(*at).as_secs_f64() / every < burst);
        }
        self.map.insert(key, (tokens, now));
    }
}

/// One client's run of wrong passwords on one account.
struct Failures {
    count: u32,
    last: Instant,
}

/// What administrators see of failed sign-ins since the server started.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct SignInReport {
    /// Wrong username or password, all accounts (unknown usernames included).
    pub failed: u64,
    /// Attempts refused by the throttle before any password was checked.
    pub throttled: u64,
    /// Existing accounts with failed sign-ins, most failures first (at most 100).
    pub accounts: Vec<AccountFailures>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AccountFailures {
    pub username: String,
    pub failed: u64,
    pub last_failed_at: DateTime<Utc>,
}

struct SignInState {
    clients: Buckets<Client>,
    failures: HashMap<(String, Client), Failures>,
    failed: u64,
    throttled: u64,
    accounts: HashMap<Uuid, AccountFailures>,
}

/// The sign-in throttle, shared by the API and the web sign-in.
pub struct SignInGuard {
    free_failures: u32,
    state: Mutex<SignInState>,
}

/// Usernames are matched as typed, but only their first 64 characters (the longest a username can be) key
/// the tables and reach the log.
pub(crate) fn account_key(username: &str) -> String {
    username.trim().chars().take(64).collect()
}

impl SignInGuard {
    pub fn new(limits: &Limits) -> Self {
        Self {
            free_failures: limits.sign_in_free_failures,
            state: Mutex::new(SignInState {
                clients: Buckets::new(limits.sign_in_client_burst, limits.sign_in_client_every_secs),
                failures: HashMap::new(),
                failed: 0,
                throttled: 0,
                accounts: HashMap::new(),
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, SignInState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Before any password is checked: `Err(wait)` when this client has spent its budget, or is backing off
    /// after too many wrong passwords on this account.
    pub fn admit(&self, username: &str, client: Client, now: Instant) -> Result<(), Duration> {
        let mut s = self.lock();
        let backoff = s.failures.get(&(account_key(username), client)).map_or(Duration::ZERO, |f| {
            if f.count < self.free_failures || now.duration_since(f.last) > FORGET_FAILURES {
                return Duration::ZERO;
            }
            let delay = Duration::from_secs(1u64 << (f.count - self.free_failures).min(20)).min(MAX_BACKOFF);
            (f.last + delay).saturating_duration_since(now)
        });
        let wait = backoff.max(s.clients.wait(&client, now));
        if !wait.is_zero() {
            s.throttled += 1;
            return Err(wait);
        }
        s.clients.take(client, now);
        Ok(())
    }

    /// A wrong username or password; `account` is the account's id and name when the username exists.
    pub fn failed(
        &self,
        username: &str,
        client: Client,
        account: Option<(Uuid, &str)>,
        now: Instant,
        at: DateTime<Utc>,
    ) {
        let mut s = self.lock();
        s.failed += 1;
        if let Some((id, name)) = account {
            let a = s.accounts.entry(id).or_insert_with(|| AccountFailures {
                username: name.to_string(),
                failed: 0,
                last_failed_at: at,
            });
            a.failed += 1;
            a.last_failed_at = at;
        }
        if s.failures.len() >= MAX_KEYS {
            s.failures.retain(|_, f| now.duration_since(f.last) <= FORGET_FAILURES.max(MAX_BACKOFF));
        }
        let f = s.failures.entry((account_key(username), client)).or_insert(Failures { count: 0, last: now });
        if now.duration_since(f.last) > FORGET_FAILURES {
            f.count = 0;
        }
        f.count += 1;
        f.last = now;
    }

    /// The right password: this client's run of failures on the account is over.
    pub fn succeeded(&self, username: &str, client: Client) {
        self.lock().failures.remove(&(account_key(username), client));
    }

    /// Wrong passwords and attempts refused by the throttle since the server started (the metrics).
    pub fn totals(&self) -> (u64, u64) {
        let s = self.lock();
        (s.failed, s.throttled)
    }

    pub fn report(&self) -> SignInReport {
        let s = self.lock();
        let mut accounts: Vec<AccountFailures> = s.accounts.values().cloned().collect();
        accounts.sort_by(|a, b| b.failed.cmp(&a.failed).then(b.last_failed_at.cmp(&a.last_failed_at)));
        accounts.truncate(100);
        SignInReport { failed: s.failed, throttled: s.throttled, accounts }
    }
}

/// A budget per client for something that adds to the register (sign-ups): only what was done is spent,
/// so a refused attempt costs nothing.
pub struct ClientBudget {
    state: Mutex<Buckets<Client>>,
}

impl ClientBudget {
    pub fn new(burst: u32, every_secs: u64) -> Self {
        Self { state: Mutex::new(Buckets::new(burst, every_secs)) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Buckets<Client>> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// `Err(wait)` when `client` has nothing left to spend.
    pub fn check(&self, client: Client, now: Instant) -> Result<(), Duration> {
        let wait = self.lock().wait(&client, now);
        if wait.is_zero() {
            Ok(())
        } else {
            Err(wait)
        }
    }

    pub fn spend(&self, client: Client, now: Instant) {
        self.lock().take(client, now);
    }
}

/// What an API request is, for its quota.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuotaClass {
    Search,
    Read,
    Write,
    Export,
}

impl QuotaClass {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Search => "search",
            Self::Read => "read",
            Self::Write => "write",
            Self::Export => "export",
        }
    }
}

/// Whose quota a request spends: its API token's, its signed-in account's (every session of an account shares
/// one), or its client address's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QuotaKey {
    Token(Uuid),
    Account(Uuid),
    Client(Client),
}

/// Where a quota stands after a request, for the `RateLimit` headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuotaState {
    pub limit: u32,
    pub remaining: u32,
    /// Seconds until the quota is whole again.
    pub reset_secs: u64,
    pub window_secs: u64,
}

/// The API quotas of every class.
pub struct ApiQuotas {
    window: Duration,
    classes: [(QuotaClass, u32, Mutex<Buckets<QuotaKey>>); 4],
    exempt: Vec<Uuid>,
}

impl ApiQuotas {
    pub fn new(limits: &Limits) -> Self {
        let window = Duration::from_secs(limits.api_window_secs.max(1));
        let class = |c, q| (c, q, Mutex::new(Buckets::per_window(q, window)));
        Self {
            window,
            classes: [
                class(QuotaClass::Search, limits.api_search_quota),
                class(QuotaClass::Read, limits.api_read_quota),
                class(QuotaClass::Write, limits.api_write_quota),
                class(QuotaClass::Export, limits.api_export_quota),
            ],
            exempt: limits.api_quota_exempt_tokens.clone(),
        }
    }

    /// Spend one request of `class` from `key`'s quota: `Ok` with what is left, `Err` with the wait (and
    /// nothing spent) when it is used up. `None` when no quota applies (lifted, or an exempt token).
    pub fn spend(
        &self,
        class: QuotaClass,
        key: QuotaKey,
        now: Instant,
    ) -> Option<Result<QuotaState, (QuotaState, Duration)>> {
        if matches!(key, QuotaKey::Token(t) if self.exempt.contains(&t)) {
            return None;
        }
        let (_, quota, buckets) = self.classes.iter().find(|(c, q, _)| *c == class && *q > 0)?;
        let mut b = buckets.lock().unwrap_or_else(|e| e.into_inner());
        let state = |tokens: f64| QuotaState {
            limit: *quota,
            remaining: tokens.max(0.0).floor() as u32,
            reset_secs: b.every.mul_f64((b.burst - tokens).max(0.0)).as_secs_f64().ceil() as u64,
            window_secs: self.window.as_secs(),
        };
        let wait = b.wait(&key, now);
        if !wait.is_zero() {
            return Some(Err((state(b.tokens(&key, now)), wait)));
        }
        let left = state(b.tokens(&key, now) - 1.0);
        b.take(key, now);
        Some(Ok(left))
    }
}

/// Budgets for objections and disputes, so that no one can grow a record without bound.
pub struct ObjectionBudget {
    state: Mutex<(Buckets<Client>, Buckets<Uuid>)>,
}

impl ObjectionBudget {
    pub fn new(limits: &Limits) -> Self {
        Self {
            state: Mutex::new((
                Buckets::new(limits.objection_client_burst, limits.objection_client_every_secs),
                Buckets::new(limits.objection_record_burst, limits.objection_record_every_secs),
            )),
        }
    }

    /// Spend one objection of `client` (and of `record`, when anonymous), or say how long to wait.
    pub fn admit(&self, client: Client, record: Uuid, anonymous: bool, now: Instant) -> Result<(), Duration> {
        let mut guard = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let (clients, records) = &mut *guard;
        let mut wait = clients.wait(&client, now);
        if anonymous {
            wait = wait.max(records.wait(&record, now));
        }
        if !wait.is_zero() {
            return Err(wait);
        }
        clients.take(client, now);
        if anonymous {
            records.take(record, now);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use super::*;

    fn client(last: u8) -> Client {
        Client(IpAddr::V4(Ipv4Addr::new(192, 0, 2, last)))
    }

    #[test]
    fn buckets_refill_over_time() {
        let mut b = Buckets::new(2, 10);
        let t0 = Instant::now();
        b.take(1, t0);
        b.take(1, t0);
        assert_eq!(b.wait(&1, t0), Duration::from_secs(10));
        assert_eq!(b.wait(&1, t0 + Duration::from_secs(4)), Duration::from_secs(6));
        assert!(b.wait(&1, t0 + Duration::from_secs(10)).is_zero());
        assert!(b.wait(&2, t0).is_zero(), "other keys have their own budget");
    }

    #[test]
    fn wrong_passwords_back_off_per_client_and_success_resets() {
        let limits = Limits { sign_in_free_failures: 3, ..Limits::default() };
        let g = SignInGuard::new(&limits);
        let (t0, at) = (Instant::now(), Utc::now());
        for _ in 0..3 {
            g.admit("alice", client(1), t0).unwrap();
            g.failed("alice", client(1), None, t0, at);
        }
        assert_eq!(g.admit("alice", client(1), t0), Err(Duration::from_secs(1)));
        g.admit("alice", client(1), t0 + Duration::from_secs(1)).unwrap();
        g.failed("alice", client(1), None, t0 + Duration::from_secs(1), at);
        assert_eq!(g.admit("alice", client(1), t0 + Duration::from_secs(1)), Err(Duration::from_secs(2)));
        // Another client, or another account from the same client, is not held back.
        g.admit("alice", client(2), t0).unwrap();
        g.admit("bob", client(1), t0).unwrap();
        g.succeeded("alice", client(1));
        g.admit("alice", client(1), t0 + Duration::from_secs(1)).unwrap();
        assert_eq!(g.report().failed, 4);
        assert_eq!(g.report().throttled, 2);
    }

    #[test]
    fn ipv6_clients_are_grouped_by_their_64_prefix() {
        let key = |addr: &str| Client::of(Some(addr.parse::<SocketAddr>().unwrap().ip()));
        assert_eq!(key("[2001:db8:1:2::1]:1"), key("[2001:db8:1:2:ffff::9]:2"));
        assert_ne!(key("[2001:db8:1:2::1]:1"), key("[2001:db8:1:3::1]:1"));
        assert_eq!(key("[::ffff:192.0.2.1]:1"), key("192.0.2.1:5"));
    }
}
