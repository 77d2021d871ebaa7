//! Passwords people change and recover: the signed-in change (the current password checked against the
//! sign-in throttle), the reset link mailed to an account's address (single use, 30 minutes, stored as a
//! hash), and an administrator's reset, after which the account must choose its own password again.
//!
//! Every change revokes the account's other sessions and API tokens: whoever knew the old password may
//! hold one.

use std::sync::Arc;
use std::time::Instant;

use chrono::Duration;
use dipr_domain::access::Actor;
use dipr_domain::FieldError;
use dipr_store::{PasswordReset, UserRecord};
use serde::Deserialize;
use uuid::Uuid;

use base64::Engine as _;
use rand::RngCore as _;

use crate::accounts::{check_password_strength, hash_password, token_hash, verify_password};
use crate::audit::{actor_of, event};
use crate::error::{Error, Result};
use crate::state::Registry;
use crate::throttle::Client;
use crate::watch_settings::SmtpSettings;

/// How long a reset link works.
pub const RESET_VALID_MINUTES: i64 = 30;
/// Reset links one account is sent per hour, whoever asks: a mailbox cannot be flooded through the form.
const RESETS_PER_ACCOUNT_HOUR: u64 = 3;
/// Accounts one address may lead to (several accounts may give the same address).
const ACCOUNTS_PER_ADDRESS: u32 = 5;

/// A new password, typed twice.
#[derive(Debug, Clone)]
pub struct NewPassword {
    pub new_password: String,
    pub repeat_password: String,
}

/// A signed-in account's change of its own password.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    pub current_password: String,
    pub new_password: String,
    pub repeat_password: String,
}

/// The new password's problems, each at its field: too short or long, the two differing.
fn check_new(new_password: &str, repeat_password: &str) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if let Err(weak) = check_password_strength(new_password) {
        errors.push(FieldError::new("new_password", weak.code, weak.message));
    }
    if new_password != repeat_password {
        errors.push(FieldError::new("repeat_password", "password_mismatch", "the two new passwords differ"));
    }
    errors
}

/// Whether `password` is `user`'s, checked like a sign-in: within the sign-in throttle, a wrong one counted
/// as a failed sign-in (whoever holds a session cannot guess the password faster than anyone else).
async fn current_password_matches(state: &Registry, user: &UserRecord, password: &str, client: Client) -> Result<bool> {
    if let Err(wait) = state.sign_ins.admit(&user.username, client, Instant::now()) {
        tracing::warn!(username = %user.username, client = %client.0, "current password check throttled");
        return Err(Error::throttled("sign_in_throttled", wait));
    }
    let ok = verify_password(password.to_string(), Some(user.password_hash.clone())).await?;
    if ok {
        state.sign_ins.succeeded(&user.username, client);
    } else {
        tracing::warn!(username = %user.username, client = %client.0, "wrong current password");
        let now = state.clock.now();
        state.sign_ins.failed(&user.username, client, Some((user.id, &user.username)), Instant::now(), now);
    }
    Ok(ok)
}

/// Set or remove (`email` empty) the address `user`'s reset links go to. The current password is asked
/// for: whoever took over a session must not be able to route the account's reset links to themselves.
pub async fn change_email(
    state: &Registry,
    user: &UserRecord,
    current_password: &str,
    email: &str,
    client: Client,
) -> Result<UserRecord> {
    let mut errors = Vec::new();
    if !current_password_matches(state, user, current_password, client).await? {
        errors.push(FieldError::new("current_password", "wrong_password", "the current password is not correct"));
    }
    let email = email.trim().to_lowercase();
    if !email.is_empty() && !crate::mail::is_address(&email) {
        errors.push(FieldError::new("email", "invalid_email", "not an e-mail address"));
    }
    if !errors.is_empty() {
        return Err(Error::validation(errors));
    }
    let now = state.clock.now();
    let mut tx = state.store.begin().await?;
    tx.set_email(user.id, Some(email.as_str()).filter(|e| !e.is_empty())).await?;
    // The address itself is personal data: the event says only whether there is one.
    let mut e = event(&actor_of(user), now, "user", user.id, "email_changed");
    e.payload = serde_json::json!({"has_email": !email.is_empty()});
    tx.append_event(&e).await?;
    tx.commit().await?;
    state.store.user(user.id).await?.ok_or_else(|| Error::not_found("user"))
}

/// Change `user`'s password. The current password is checked like a sign-in (the same throttle, a wrong
/// one counted as a failed sign-in), every problem is reported at once and nothing changes unless there is
/// none. Then the account's other sessions and tokens end; `keep` (the session that asked) stays, so the
/// person who changed the password is not signed out.
pub async fn change_password(
    state: &Registry,
    user: &UserRecord,
    keep: Option<Uuid>,
    req: PasswordChange,
    client: Client,
) -> Result<()> {
    let mut errors = Vec::new();
    let current_ok = current_password_matches(state, user, &req.current_password, client).await?;
    if !current_ok {
        errors.push(FieldError::new("current_password", "wrong_password", "the current password is not correct"));
    }
    errors.extend(check_new(&req.new_password, &req.repeat_password));
    if current_ok && errors.is_empty() && req.new_password == req.current_password {
        errors.push(FieldError::new("new_password", "password_unchanged", "choose a password you have not used here"));
    }
    if !errors.is_empty() {
        return Err(Error::validation(errors));
    }
    let hash = hash_password(req.new_password).await?;
    let now = state.clock.now();
    let mut tx = state.store.begin().await?;
    tx.set_password(user.id, &hash, false).await?;
    let revoked = tx.revoke_all_tokens(user.id, keep, now).await?;
    let mut e = event(&actor_of(user), now, "user", user.id, "password_changed");
    e.payload = serde_json::json!({"revoked_tokens": revoked});
    tx.append_event(&e).await?;
    tx.commit().await?;
    Ok(())
}

/// An administrator (or the operator, from `dipr admin`) sets an account's password because it was
/// forgotten: every session and token ends, and the account must choose its own password at its next
/// sign-in.
pub async fn reset_by_administrator(
    state: &Registry,
    by: &Actor,
    user_id: Uuid,
    password: String,
) -> Result<UserRecord> {
    // Resetting one's own password would end one's own sessions and demand a change at once: the change
    // page does that properly, with the current password.
    if by.user_id == Some(user_id) {
        return Err(Error::new("reset_own_password", "change your own password with POST /api/v1/me/password"));
    }
    check_password_strength(&password)?;
    let user = state.store.user(user_id).await?.ok_or_else(|| Error::not_found("user"))?;
    let hash = hash_password(password).await?;
    let now = state.clock.now();
    let mut tx = state.store.begin().await?;
    tx.set_password(user.id, &hash, true).await?;
    let revoked = tx.revoke_all_tokens(user.id, None, now).await?;
    let mut e = event(by, now, "user", user.id, "password_reset_by_administrator");
    e.payload = serde_json::json!({"revoked_tokens": revoked});
    tx.append_event(&e).await?;
    tx.commit().await?;
    state.store.user(user.id).await?.ok_or_else(|| Error::not_found("user"))
}

/// Whether resets by e-mail are possible here at all (an `[smtp]` server is configured).
pub fn resets_available(state: &Registry) -> bool {
    state.config.smtp.is_some()
}

/// Someone asks for a reset link for `login` (a username or an e-mail address). The answer is the same
/// whether or not an account matches, has an address, or was already sent its links this hour, and it is
/// given before any account is looked up (the links are issued and mailed by a task of their own), so
/// neither the answer nor the time it takes tells anyone which accounts exist. Only the client's budget can
/// refuse, and it is spent by every request.
pub async fn request_reset(state: &Arc<Registry>, login: &str, client: Client) -> Result<()> {
    let Some(smtp) = state.config.smtp.clone() else {
        return Err(Error::new("password_reset_unavailable", "no [smtp] server is configured"));
    };
    if let Err(wait) = state.password_resets.check(client, Instant::now()) {
        tracing::warn!(client = %client.0, "password reset requests throttled");
        return Err(Error::throttled("password_resets_throttled", wait));
    }
    state.password_resets.spend(client, Instant::now());
    let login = login.trim();
    if login.is_empty() || login.chars().count() > crate::mail::MAX_EMAIL_CHARS {
        return Err(Error::validation(vec![FieldError::new("login", "required", "a username or e-mail address")]));
    }
    let (state, login) = (state.clone(), login.to_string());
    tokio::spawn(async move {
        if let Err(e) = issue_links(&state, &login, smtp).await {
            tracing::warn!(error = %e, "password reset links could not be issued");
        }
    });
    Ok(())
}

/// One at a time in this process, so that requests arriving together cannot each find an account under its
/// hourly number of links and together exceed it.
static ISSUING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The reset links for the accounts `login` names: each stored as a hash with its audit event, then mailed.
async fn issue_links(state: &Registry, login: &str, smtp: SmtpSettings) -> Result<()> {
    let one_at_a_time = ISSUING.lock().await;
    let accounts = match state.store.user_by_username(login).await? {
        Some(u) => vec![u],
        None => state.store.users_by_email(&login.to_lowercase(), ACCOUNTS_PER_ADDRESS).await?,
    };
    let now = state.clock.now();
    let mut mails = Vec::new();
    for user in accounts.into_iter().filter(|u| !u.disabled) {
        let Some(address) = user.email.clone() else { continue };
        if state.store.password_resets_since(user.id, now - Duration::hours(1)).await? >= RESETS_PER_ACCOUNT_HOUR {
            tracing::warn!(username = %user.username, "password reset links for this account held back this hour");
            continue;
        }
        let (secret, hash) = reset_secret();
        let reset = PasswordReset {
            id: Uuid::now_v7(),
            user_id: user.id,
            token_hash: hash,
            created_at: now,
            expires_at: now + Duration::minutes(RESET_VALID_MINUTES),
            used_at: None,
        };
        let mut tx = state.store.begin().await?;
        tx.insert_password_reset(&reset).await?;
        let mut e = event(&Actor::public("password reset"), now, "user", user.id, "password_reset_requested");
        e.payload = serde_json::json!({"reset": reset.id, "expires_at": reset.expires_at});
        tx.append_event(&e).await?;
        tx.commit().await?;
        mails.push((user.username.clone(), address, reset_mail(state, &user, &secret)));
    }
    // The links are counted; a slow mail server holds up no other request.
    drop(one_at_a_time);
    for (username, address, (subject, text)) in mails {
        if let Err(e) = crate::mail::send(smtp.clone(), address, subject, text).await {
            tracing::warn!(username = %username, error = %e, "the password reset mail was not sent");
        }
    }
    Ok(())
}

/// A reset link's secret and its hash: 128 random bits, short enough that the link fits on one line of
/// mail (76 characters) behind most registries' addresses.
fn reset_secret() -> (String, String) {
    let mut bytes = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut bytes);
    let secret = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let hash = token_hash(&secret);
    (secret, hash)
}

/// The reset mail: Chinese, then English (an account has no language of its own), in short lines.
fn reset_mail(state: &Registry, user: &UserRecord, secret: &str) -> (String, String) {
    let link = format!("{}/password/reset/{secret}", state.public_url());
    let subject = "dipr 登记簿：重置密码 / Reset your password".to_string();
    let text = format!(
        "{name}，您好：\n\n\
         有人为以下账号申请重置密码：\n  {username}\n\
         如是您本人，请在 {minutes} 分钟内打开以下链接\n\
         设置新密码（链接仅可使用一次）：\n\n{link}\n\n\
         如非本人操作，请忽略本邮件，密码不会改变。\n\n\
         Someone asked to reset the password of the account\n  {username}\n\
         If it was you, open the link above within {minutes}\n\
         minutes to choose a new password (it works once).\n\
         If not, ignore this mail: your password stays as it is.\n",
        name = user.display_name,
        username = user.username,
        minutes = RESET_VALID_MINUTES,
    );
    (subject, text)
}

/// Whether `secret` is a reset link that still works (the page shows the form, or says it does not).
pub async fn reset_link_works(state: &Registry, secret: &str) -> Result<bool> {
    let found = state.store.password_reset(&token_hash(secret)).await?;
    Ok(found.is_some_and(|r| r.used_at.is_none() && r.expires_at > state.clock.now()))
}

/// Set a new password through a reset link: the link is used up, every session and token of the account
/// ends, and a sign-in with the new password follows.
pub async fn reset_password(state: &Registry, secret: &str, new: NewPassword) -> Result<UserRecord> {
    if !reset_link_works(state, secret).await? {
        return Err(Error::new("reset_link_invalid", "the reset link is unknown, used or expired"));
    }
    let errors = check_new(&new.new_password, &new.repeat_password);
    if !errors.is_empty() {
        return Err(Error::validation(errors));
    }
    let hash = hash_password(new.new_password).await?;
    let now = state.clock.now();
    let mut tx = state.store.begin().await?;
    // Marked used in the transaction that sets the password: of two requests racing, one finds it live.
    let Some(user_id) = tx.use_password_reset(&token_hash(secret), now).await? else {
        return Err(Error::new("reset_link_invalid", "the reset link is unknown, used or expired"));
    };
    tx.set_password(user_id, &hash, false).await?;
    let revoked = tx.revoke_all_tokens(user_id, None, now).await?;
    let mut e = event(&Actor::public("password reset"), now, "user", user_id, "password_reset");
    e.payload = serde_json::json!({"revoked_tokens": revoked});
    tx.append_event(&e).await?;
    tx.commit().await?;
    state.store.user(user_id).await?.ok_or_else(|| Error::not_found("user"))
}
