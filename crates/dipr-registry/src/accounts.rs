//! Accounts: sign-up, sign-in, sessions and API tokens (random, stored hashed), passwords (Argon2id),
//! and disabling accounts. Changing and resetting passwords is `passwords.rs`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{LazyLock, Mutex};

use argon2::password_hash::{self, rand_core::OsRng, Output, ParamsString, PasswordHash, Salt, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use base64::Engine;
use dipr_domain::access::{Actor, Role};
use dipr_store::{TokenRecord, UserRecord};
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::audit::{actor_of, event};
use crate::error::Error;
use crate::error::Result;
use crate::state::Registry;
use crate::throttle::Client;
use chrono::DateTime;
use chrono::Duration;
use chrono::Utc;
use dipr_domain::party::NewParty;
use dipr_domain::party::Party;
use dipr_domain::party::PartyKind;
use dipr_domain::{DomainError, FieldError};
use dipr_store::TokenKind;
use serde::Deserialize;
use serde_json::json;
use std::time::Instant;
use uuid::Uuid;

/// Prefix of every token dipr issues, so leaked tokens are recognisable by secret scanners.
pub const TOKEN_PREFIX: &str = "dipr_";

/// Argon2id with its default parameters works in 19 MiB. At most one hash runs per core, each in one of a
/// few buffers allocated once and reused: a flood of sign-ins queues (and is throttled) instead of growing
/// memory, and the heap is not fragmented by a 19 MiB allocation per attempt (which glibc never gives back).
struct Hashing {
    permits: tokio::sync::Semaphore,
    limit: usize,
    buffers: Mutex<Vec<Vec<Block>>>,
    running: AtomicUsize,
    peak: AtomicUsize,
}

static HASHING: LazyLock<Hashing> = LazyLock::new(|| {
    let limit = std::thread::available_parallelism().map_or(2, |n| n.get());
    Hashing {
        permits: tokio::sync::Semaphore::new(limit),
        limit,
        buffers: Mutex::new(Vec::new()),
        running: AtomicUsize::new(0),
        peak: AtomicUsize::new(0),
    }
});

/// How many password hashes may run at once, and the most that ever ran at once in this process.
pub fn hashing_concurrency() -> (usize, usize) {
    (HASHING.limit, HASHING.peak.load(Ordering::Relaxed))
}

/// Run `work` on a blocking thread with a hashing permit and a reusable Argon2 buffer.
async fn with_hashing_permit<T: Send + 'static>(work: impl FnOnce(&mut Vec<Block>) -> T + Send + 'static) -> Result<T> {
    let _permit = HASHING.permits.acquire().await.map_err(Error::internal)?;
    let running = HASHING.running.fetch_add(1, Ordering::Relaxed) + 1;
    HASHING.peak.fetch_max(running, Ordering::Relaxed);
    let mut memory = HASHING.buffers.lock().unwrap_or_else(|e| e.into_inner()).pop().unwrap_or_default();
    let done = tokio::task::spawn_blocking(move || {
        let out = work(&mut memory);
        (out, memory)
    })
    .await;
    HASHING.running.fetch_sub(1, Ordering::Relaxed);
    let (out, memory) = done.map_err(Error::internal)?;
    HASHING.buffers.lock().unwrap_or_else(|e| e.into_inner()).push(memory);
    Ok(out)
}

/// Argon2 of `password` with `salt` into an output of `len` bytes, working in `memory` (grown if the
/// parameters need more).
fn argon2_output(
    argon: &Argon2,
    password: &[u8],
    salt: Salt,
    len: usize,
    memory: &mut Vec<Block>,
) -> password_hash::Result<Output> {
    let mut raw_salt = [0u8; 64];
    let salt = salt.decode_b64(&mut raw_salt)?;
    let blocks = argon.params().block_count();
    if memory.len() < blocks {
        memory.resize(blocks, Block::default());
    }
    Output::init_with(len, |out| {
        Ok(argon.hash_password_into_with_memory(password, salt, out, &mut memory[..blocks])?)
    })
}

pub async fn hash_password(password: String) -> Result<String> {
    with_hashing_permit(move |memory| {
        let argon = Argon2::default();
        let salt = SaltString::generate(&mut OsRng);
        let output = argon2_output(&argon, password.as_bytes(), salt.as_salt(), Params::DEFAULT_OUTPUT_LEN, memory)?;
        let phc = PasswordHash {
            algorithm: Algorithm::Argon2id.ident(),
            version: Some(Version::V0x13.into()),
            params: ParamsString::try_from(argon.params())?,
            salt: Some(salt.as_salt()),
            hash: Some(output),
        };
        Ok::<_, password_hash::Error>(phc.to_string())
    })
    .await?
    .map_err(Error::internal)
}

/// Verify `password` against `hash`; with no hash (unknown user) the same work is done against a
/// fixed hash so response time does not reveal which usernames exist.
pub async fn verify_password(password: String, hash: Option<String>) -> Result<bool> {
    with_hashing_permit(move |memory| {
        const DUMMY: &str =
            "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$ZJ3d3rZ0m3pp5V3bE6lZ0uT1QPcGvHe6V0bXlp3wXNw";
        let known = hash.is_some();
        let hash = hash.unwrap_or_else(|| DUMMY.to_string());
        let parsed = PasswordHash::new(&hash)?;
        let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else { return Ok(false) };
        let version = parsed.version.map(Version::try_from).transpose()?.unwrap_or_default();
        let argon = Argon2::new(Algorithm::try_from(parsed.algorithm)?, version, Params::try_from(&parsed)?);
        let computed = argon2_output(&argon, password.as_bytes(), salt, expected.len(), memory)?;
        // `Output` compares in constant time.
        Ok::<_, password_hash::Error>(computed == expected && known)
    })
    .await?
    .map_err(Error::internal)
}

pub fn check_password_strength(password: &str) -> Result<()> {
    if password.chars().count() < 10 || password.len() > 1024 {
        return Err(Error::new("weak_password", "passwords need 10 to 1024 characters"));
    }
    Ok(())
}

/// A new random token and the hash the store keeps of it.
pub fn new_token() -> (String, String) {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    let token = format!("{TOKEN_PREFIX}{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes));
    let hash = token_hash(&token);
    (token, hash)
}

pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Every problem of an account request at once, before anything is hashed or stored, so that a person
/// filling in the sign-up form learns all of them in one round trip. A weak password alone keeps its own
/// code (`weak_password`); with other problems it is one of the field errors.
fn check_new_account(req: &NewAccount, password: Option<&str>, self_service: bool) -> Result<Option<Party>> {
    if self_service && !matches!(req.role, Role::Applicant | Role::Agent) {
        return Err(Error::forbidden("sign-up creates applicant and agent accounts only"));
    }
    let mut errors = Vec::new();
    let name = &req.username;
    if !((3..=64).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-@".contains(&b))) {
        errors.push(FieldError::new("username", "invalid_username", "3 to 64 characters: letters, digits, . _ - @"));
    }
    let display_name = req.display_name.trim();
    if display_name.is_empty() || display_name.chars().count() > 100 {
        errors.push(FieldError::new("display_name", "required", "1 to 100 characters"));
    }
    if req.email.as_deref().map(str::trim).is_some_and(|e| !e.is_empty() && !crate::mail::is_address(e)) {
        errors.push(FieldError::new("email", "invalid_email", "not an e-mail address"));
    }
    if matches!(req.role, Role::System | Role::Public) {
        errors.push(FieldError::new("role", "invalid_role", "not an account role"));
    }
    let party = match req.party.clone() {
        Some(np) if req.role == Role::Agent && np.kind == PartyKind::NaturalPerson => {
            errors.push(FieldError::new(
                "party.kind",
                "agent_must_be_organisation",
                "a filing agency is an organisation with a credit code",
            ));
            None
        }
        Some(mut np) => {
            if req.role == Role::Agent {
                np.attributes.filing_agency = true;
            }
            match np.parse(Uuid::now_v7()) {
                Ok(p) => Some(p),
                Err(DomainError::Validation(details)) => {
                    errors.extend(details);
                    None
                }
                Err(e) => return Err(e.into()),
            }
        }
        None if matches!(req.role, Role::Applicant | Role::Agent) => {
            errors.push(FieldError::new("party", "required", "applicants and agents act for a party"));
            None
        }
        None => None,
    };
    if errors.is_empty() {
        if let Some(p) = password {
            check_password_strength(p)?;
        }
        return Ok(party);
    }
    if let Some(Err(weak)) = password.map(check_password_strength) {
        errors.push(FieldError::new("password", weak.code, weak.message));
    }
    Err(Error::validation(errors))
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAccount {
    pub username: String,
    pub password: String,
    pub display_name: String,
    /// `applicant` or `agent` at sign-up; administrators may also create `examiner`, `bank`, `admin`.
    pub role: Role,
    /// The party the account acts for. Required for applicants and agents.
    pub party: Option<NewParty>,
    /// Where password reset links are sent. Optional; without one, a forgotten password is reset by an
    /// administrator.
    #[serde(default)]
    pub email: Option<String>,
}

/// Create an account (and its party, if new). `by` is the administrator, or the system for sign-up and
/// bootstrap; sign-up may only create applicants and agents.
pub async fn create_account(
    state: &Registry,
    req: NewAccount,
    by: &Actor,
    self_service: bool,
) -> Result<(UserRecord, Option<Party>)> {
    check_new_account(&req, Some(&req.password), self_service)?;
    let hash = hash_password(req.password.clone()).await?;
    create_account_hashed(state, req, hash, by, self_service, state.clock.now()).await
}

/// Self-service sign-up (API and web): an applicant or agent account, within the client's sign-up budget
/// (refused attempts do not spend it).
pub async fn sign_up(state: &Registry, req: NewAccount, client: Client) -> Result<(UserRecord, Option<Party>)> {
    if let Err(wait) = state.sign_ups.check(client, Instant::now()) {
        tracing::warn!(client = %client.0, "sign-up throttled");
        return Err(Error::throttled("sign_ups_throttled", wait));
    }
    let created = create_account(state, req, &Actor::public("sign-up"), true).await?;
    state.sign_ups.spend(client, Instant::now());
    Ok(created)
}

/// [`create_account`] with the password already hashed (the demo seeder hashes its one password once).
pub(crate) async fn create_account_hashed(
    state: &Registry,
    req: NewAccount,
    password_hash: String,
    by: &Actor,
    self_service: bool,
    now: DateTime<Utc>,
) -> Result<(UserRecord, Option<Party>)> {
    let party = check_new_account(&req, None, self_service)?;
    let display_name = req.display_name.trim().to_string();
    if let Some(p) = &party {
        if state.store.party_by_id_number(p.identifier.as_str()).await?.is_some() {
            return Err(Error::new("party_exists", "a party with this identifier already has an account"));
        }
    }
    let user = UserRecord {
        id: Uuid::now_v7(),
        username: req.username.trim().to_string(),
        display_name,
        password_hash,
        role: req.role,
        party_id: party.as_ref().map(|p| p.id),
        disabled: false,
        created_at: now,
        // Addresses are matched without regard to case: stored in lower case.
        email: req.email.as_deref().map(|e| e.trim().to_lowercase()).filter(|e| !e.is_empty()),
        // A password an administrator chose is known to two people until its holder changes it.
        must_change_password: !self_service && by.role == Role::Admin,
    };
    let mut tx = state.store.begin().await?;
    if let Some(p) = &party {
        tx.insert_party(p, now).await?;
        let mut e = event(by, now, "party", p.id, "party_registered");
        e.payload = json!({"kind": p.kind, "name": p.name});
        tx.append_event(&e).await?;
    }
    tx.insert_user(&user).await?;
    let mut e = event(by, now, "user", user.id, if self_service { "signed_up" } else { "account_created" });
    e.payload = json!({"username": user.username, "role": user.role});
    tx.append_event(&e).await?;
    tx.commit().await?;
    Ok((user, party))
}

/// Check a password and open a session, for the API and the web sign-in alike: throttled per client and per
/// account and client before any password is hashed; failures logged (never the password) and counted. An
/// account keeps at most `sessions_per_account` live sessions: the oldest end when a new one opens.
pub async fn sign_in(
    state: &Registry,
    username: &str,
    password: String,
    client: Client,
) -> Result<(String, TokenRecord, UserRecord)> {
    let shown = crate::throttle::account_key(username);
    if let Err(wait) = state.sign_ins.admit(username, client, Instant::now()) {
        tracing::warn!(username = shown, client = %client.0, wait_secs = wait.as_secs(), "sign-in throttled");
        return Err(Error::throttled("sign_in_throttled", wait));
    }
    let user = state.store.user_by_username(username.trim()).await?;
    let ok = verify_password(password, user.as_ref().map(|u| u.password_hash.clone())).await?;
    let user = match user {
        Some(u) if ok && !u.disabled => u,
        user => {
            let now = state.clock.now();
            tracing::warn!(username = shown, client = %client.0, known = user.is_some(), "sign-in failed");
            state.sign_ins.failed(
                username,
                client,
                user.as_ref().map(|u| (u.id, u.username.as_str())),
                Instant::now(),
                now,
            );
            return Err(Error::new("invalid_credentials", "wrong username or password"));
        }
    };
    state.sign_ins.succeeded(username, client);
    let now = state.clock.now();
    let (secret, record) =
        issue_token(&user, TokenKind::Session, "session", Some(now + Duration::hours(state.config.session_hours)), now);
    let mut live: Vec<TokenRecord> = state
        .store
        .tokens_of(user.id)
        .await?
        .into_iter()
        .filter(|t| t.kind == TokenKind::Session && t.is_live(now))
        .collect();
    live.sort_by_key(|t| std::cmp::Reverse(t.created_at));
    let mut tx = state.store.begin().await?;
    tx.insert_token(&record).await?;
    for old in live.iter().skip(state.config.limits.sessions_per_account.max(1) - 1) {
        tx.revoke_token(old.id, user.id, now).await?;
    }
    tx.append_event(&event(&actor_of(&user), now, "user", user.id, "signed_in")).await?;
    tx.commit().await?;
    Ok((secret, record, user))
}

fn issue_token(
    user: &UserRecord,
    kind: TokenKind,
    name: &str,
    expires_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> (String, TokenRecord) {
    let (secret, token_hash) = new_token();
    let record = TokenRecord {
        id: Uuid::now_v7(),
        user_id: user.id,
        token_hash,
        kind,
        name: name.into(),
        created_at: now,
        expires_at,
        revoked_at: None,
    };
    (secret, record)
}

/// A long-lived token for scripts. The secret is shown once.
pub async fn create_api_token(
    state: &Registry,
    user: &UserRecord,
    name: &str,
    expires_in_days: Option<u32>,
) -> Result<(String, TokenRecord)> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(Error::validation(vec![FieldError::new(
            "name",
            "required",
            "name the token (1 to 100 characters)",
        )]));
    }
    if expires_in_days == Some(0) || expires_in_days.is_some_and(|d| d > 3650) {
        return Err(Error::validation(vec![FieldError::new("expires_in_days", "out_of_range", "1 to 3650 days")]));
    }
    let now = state.clock.now();
    let live = state.store.tokens_of(user.id).await?.into_iter().filter(|t| t.kind == TokenKind::Api && t.is_live(now));
    let cap = state.config.limits.api_tokens_per_account;
    if live.count() >= cap {
        return Err(Error::validation(vec![FieldError::new(
            "name",
            "too_many",
            format!("at most {cap} live API tokens per account: revoke one first"),
        )]));
    }
    let expires = expires_in_days.map(|d| now + Duration::days(i64::from(d)));
    let (secret, record) = issue_token(user, TokenKind::Api, name, expires, now);
    let mut tx = state.store.begin().await?;
    tx.insert_token(&record).await?;
    let mut e = event(&actor_of(user), now, "token", record.id, "token_created");
    e.payload = json!({"name": name, "expires_at": expires});
    tx.append_event(&e).await?;
    tx.commit().await?;
    Ok((secret, record))
}

pub async fn revoke_token(state: &Registry, user: &UserRecord, token_id: Uuid) -> Result<()> {
    let now = state.clock.now();
    let mut tx = state.store.begin().await?;
    if !tx.revoke_token(token_id, user.id, now).await? {
        return Err(Error::not_found("live token"));
    }
    tx.append_event(&event(&actor_of(user), now, "token", token_id, "token_revoked")).await?;
    tx.commit().await?;
    Ok(())
}

pub async fn set_user_disabled(state: &Registry, admin: &Actor, user_id: Uuid, disabled: bool) -> Result<UserRecord> {
    if admin.user_id == Some(user_id) && disabled {
        return Err(Error::forbidden("administrators cannot disable their own account"));
    }
    let now = state.clock.now();
    let mut tx = state.store.begin().await?;
    if !tx.set_user_disabled(user_id, disabled).await? {
        return Err(Error::not_found("user"));
    }
    if disabled {
        tx.revoke_all_tokens(user_id, None, now).await?;
    }
    tx.append_event(&event(admin, now, "user", user_id, if disabled { "account_disabled" } else { "account_enabled" }))
        .await?;
    tx.commit().await?;
    state.store.user(user_id).await?.ok_or_else(|| Error::not_found("user"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn passwords_hash_with_argon2id_and_verify() {
        let h = hash_password("correct horse battery".into()).await.unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct horse battery".into(), Some(h.clone())).await.unwrap());
        assert!(!verify_password("wrong password!".into(), Some(h)).await.unwrap());
        assert!(!verify_password("anything at all".into(), None).await.unwrap());
    }

    /// Hashes stay standard PHC strings: the crate's own verifier accepts ours, and ours accepts its.
    #[tokio::test]
    async fn hashes_are_interchangeable_with_the_argon2_crate() {
        use argon2::password_hash::{PasswordHasher, PasswordVerifier};
        let ours = hash_password("correct horse battery".into()).await.unwrap();
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(Argon2::default().verify_password(b"correct horse battery", &parsed).is_ok());
        let salt = SaltString::generate(&mut OsRng);
        let theirs = Argon2::default().hash_password(b"another password", &salt).unwrap().to_string();
        assert!(verify_password("another password".into(), Some(theirs.clone())).await.unwrap());
        assert!(!verify_password("wrong password".into(), Some(theirs)).await.unwrap());
    }

    #[test]
    fn tokens_are_random_and_hashed() {
        let (a, ha) = new_token();
        let (b, _) = new_token();
        assert_ne!(a, b);
        assert!(a.starts_with(TOKEN_PREFIX) && a.len() > 40);
        assert_eq!(token_hash(&a), ha);
        assert_ne!(ha, a);
    }
}
