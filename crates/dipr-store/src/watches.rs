//! Watches, their alerts and deliveries: the records, and the SQL both backends run for them (macros
//! expanded inside `backends.rs`'s `impl Store` and `impl Tx`, like the rest of the SQL there).

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

/// What a watch follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum WatchKind {
    /// One record (target: its application id).
    Registration,
    /// Every record a party holds or applied for (target: its credit code).
    Holder,
    /// Records matching a search (target: the query).
    Search,
}

impl WatchKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Registration => "registration",
            Self::Holder => "holder",
            Self::Search => "search",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Registration, Self::Holder, Self::Search].into_iter().find(|k| k.as_str() == s)
    }
}

/// How a watch's alerts are e-mailed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum EmailMode {
    #[default]
    None,
    /// One mail per alert, as soon as it is matched.
    Immediate,
    /// One mail a day with every alert since the last.
    Daily,
}

impl EmailMode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Immediate => "immediate",
            Self::Daily => "daily",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        [Self::None, Self::Immediate, Self::Daily].into_iter().find(|k| k.as_str() == s)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WatchRecord {
    pub id: Uuid,
    #[serde(skip)]
    pub user_id: Uuid,
    pub kind: WatchKind,
    /// The application id, the credit code or the query.
    pub target: String,
    /// What the watch is shown as (the product and its number, the holder's name, the query).
    pub label: String,
    pub email: Option<String>,
    pub email_mode: EmailMode,
    pub endpoint_id: Option<Uuid>,
    /// The first log index the watch sees.
    pub from_index: u64,
    pub created_at: DateTime<Utc>,
    pub stopped_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EndpointRecord {
    pub id: Uuid,
    #[serde(skip)]
    pub user_id: Uuid,
    pub url: String,
    /// Never serialised: shown to the owner once, when the endpoint is made.
    #[serde(skip)]
    pub secret: String,
    pub description: String,
    /// Failed attempts in a row.
    pub failures: u32,
    pub disabled_at: Option<DateTime<Utc>>,
    /// `failing` (disabled after repeated failures) or `owner`.
    pub disabled_reason: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// One public log entry that matched one watch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AlertRecord {
    pub id: Uuid,
    pub watch_id: Uuid,
    #[serde(skip)]
    pub user_id: Uuid,
    /// The entry's index in the public log (check it against a checkpoint).
    pub log_index: u64,
    pub application_id: Uuid,
    /// The event's kind, e.g. `notice_published`, `pledge_registered`.
    pub kind: String,
    /// When the event happened.
    pub at: DateTime<Utc>,
    pub product_name: String,
    pub registration_number: Option<String>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Email,
    Webhook,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Email => "email",
            Self::Webhook => "webhook",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Email, Self::Webhook].into_iter().find(|k| k.as_str() == s)
    }
}

/// An alert's delivery by one channel, as it is queued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDelivery {
    pub id: Uuid,
    pub alert_id: Uuid,
    pub user_id: Uuid,
    pub channel: Channel,
    pub endpoint_id: Option<Uuid>,
    pub email: Option<String>,
    /// Part of a daily digest (sent with the others due then).
    pub digest: bool,
    /// Not sent before.
    pub next_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
}

/// A delivery leased to one process, with its alert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedDelivery {
    pub id: Uuid,
    pub channel: Channel,
    pub endpoint_id: Option<Uuid>,
    pub email: Option<String>,
    pub digest: bool,
    /// Attempts made before this one.
    pub attempts: u32,
    pub alert: AlertRecord,
}

/// What one attempt at a leased delivery came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptOutcome {
    pub delivery_id: Uuid,
    /// The lease owner that made the attempt: a process whose lease was taken over records nothing.
    pub owner: String,
    pub at: DateTime<Utc>,
    /// The HTTP status, when the receiver answered.
    pub status: Option<u16>,
    /// Empty for a success.
    pub error: String,
    pub delivered: bool,
    /// When to try again; `None` after a failure ends the delivery (`failed`).
    pub retry_at: Option<DateTime<Utc>>,
    /// Disable the delivery's webhook endpoint once this many attempts in a row have failed (0: never).
    pub disable_after: u32,
}

/// One attempt in an endpoint's event log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AttemptRecord {
    /// Also the `webhook-id` the receiver saw.
    pub delivery_id: Uuid,
    pub attempt: u32,
    pub at: DateTime<Utc>,
    pub status: Option<u16>,
    /// Empty for a success.
    pub error: String,
    /// `pending`, `delivered` or `failed`: where the delivery stands now.
    pub delivery_state: String,
    pub log_index: u64,
    pub kind: String,
    pub product_name: String,
}

/// The columns of `watches`, in the order [`watch_from_row`] reads them.
pub(crate) const WATCH_COLUMNS: &str =
    "id, user_id, kind, target, label, email, email_mode, endpoint_id, from_index, created_at, stopped_at";
pub(crate) const ENDPOINT_COLUMNS: &str =
    "id, user_id, url, secret, description, failures, disabled_at, disabled_reason, created_at";
pub(crate) const ALERT_COLUMNS: &str = "id, watch_id, user_id, log_index, application_id, kind, at, product_name, \
     registration_number, created_at";

macro_rules! watch_from_row {
    ($r:expr) => {{
        let r = $r;
        let kind: String = r.try_get("kind")?;
        let mode: String = r.try_get("email_mode")?;
        WatchRecord {
            id: uuid(r.try_get("id")?)?,
            user_id: uuid(r.try_get("user_id")?)?,
            kind: WatchKind::parse(&kind).ok_or_else(|| StoreError::Corrupt(format!("watch kind {kind:?}")))?,
            target: r.try_get("target")?,
            label: r.try_get("label")?,
            email: r.try_get("email")?,
            email_mode: EmailMode::parse(&mode).ok_or_else(|| StoreError::Corrupt(format!("email mode {mode:?}")))?,
            endpoint_id: r.try_get::<Option<String>, _>("endpoint_id")?.as_deref().map(uuid).transpose()?,
            from_index: r.try_get::<i64, _>("from_index")? as u64,
            created_at: from_ms(r.try_get("created_at")?)?,
            stopped_at: r.try_get::<Option<i64>, _>("stopped_at")?.map(from_ms).transpose()?,
        }
    }};
}

macro_rules! endpoint_from_row {
    ($r:expr) => {{
        let r = $r;
        EndpointRecord {
            id: uuid(r.try_get("id")?)?,
            user_id: uuid(r.try_get("user_id")?)?,
            url: r.try_get("url")?,
            secret: r.try_get("secret")?,
            description: r.try_get("description")?,
            failures: r.try_get::<i64, _>("failures")? as u32,
            disabled_at: r.try_get::<Option<i64>, _>("disabled_at")?.map(from_ms).transpose()?,
            disabled_reason: r.try_get("disabled_reason")?,
            created_at: from_ms(r.try_get("created_at")?)?,
        }
    }};
}

macro_rules! alert_from_row {
    ($r:expr) => {{
        let r = $r;
        AlertRecord {
            id: uuid(r.try_get("id")?)?,
            watch_id: uuid(r.try_get("watch_id")?)?,
            user_id: uuid(r.try_get("user_id")?)?,
            log_index: r.try_get::<i64, _>("log_index")? as u64,
            application_id: uuid(r.try_get("application_id")?)?,
            kind: r.try_get("kind")?,
            at: from_ms(r.try_get("at")?)?,
            product_name: r.try_get("product_name")?,
            registration_number: r.try_get("registration_number")?,
            created_at: from_ms(r.try_get("created_at")?)?,
        }
    }};
}

/// [`WatchStore`] and [`WatchTx`] for one backend: expanded in `backends.rs` beside its `Store` and `Tx`.
macro_rules! impl_watches {
    ($store:ident, $tx:ident, $dialect:expr) => {
        #[async_trait]
        impl WatchStore for $store {
            async fn watch_cursor(&self) -> Result<u64> {
                let v: i64 = sqlx::query_scalar("SELECT position FROM watch_cursor WHERE name = 'watches'")
                    .fetch_one(&self.read)
                    .await?;
                Ok(v as u64)
            }

            async fn live_watches(&self) -> Result<Vec<WatchRecord>> {
                let sql = format!("SELECT {WATCH_COLUMNS} FROM watches WHERE stopped_at IS NULL");
                let rows = sqlx::query(&sql).fetch_all(&self.read).await?;
                rows.iter().map(|r| Ok(watch_from_row!(r))).collect()
            }

            async fn watches_of(&self, user_id: Uuid) -> Result<Vec<WatchRecord>> {
                let sql = format!("SELECT {WATCH_COLUMNS} FROM watches WHERE user_id = $1 ORDER BY created_at DESC, id");
                let rows = sqlx::query(&sql).bind(user_id.to_string()).fetch_all(&self.read).await?;
                rows.iter().map(|r| Ok(watch_from_row!(r))).collect()
            }

            async fn webhook_endpoints_of(&self, user_id: Uuid) -> Result<Vec<EndpointRecord>> {
                let sql =
                    format!("SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE user_id = $1 ORDER BY created_at DESC, id");
                let rows = sqlx::query(&sql).bind(user_id.to_string()).fetch_all(&self.read).await?;
                rows.iter().map(|r| Ok(endpoint_from_row!(r))).collect()
            }

            async fn webhook_endpoint(&self, id: Uuid) -> Result<Option<EndpointRecord>> {
                let sql = format!("SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE id = $1");
                let row = sqlx::query(&sql).bind(id.to_string()).fetch_optional(&self.read).await?;
                row.map(|r| Ok(endpoint_from_row!(r))).transpose()
            }

            async fn alerts_of(&self, user_id: Uuid, limit: u32) -> Result<Vec<AlertRecord>> {
                let sql = format!(
                    "SELECT {ALERT_COLUMNS} FROM watch_alerts WHERE user_id = $1 ORDER BY log_index DESC, id LIMIT $2"
                );
                let rows =
                    sqlx::query(&sql).bind(user_id.to_string()).bind(i64::from(limit)).fetch_all(&self.read).await?;
                rows.iter().map(|r| Ok(alert_from_row!(r))).collect()
            }

            async fn watch_attempts(&self, endpoint_id: Uuid, limit: u32) -> Result<Vec<AttemptRecord>> {
                let rows = sqlx::query(
                    "SELECT t.delivery_id, t.attempt, t.at, t.status, t.error, d.state, a.log_index, a.kind, a.product_name \
                     FROM watch_attempts t JOIN watch_deliveries d ON d.id = t.delivery_id \
                     JOIN watch_alerts a ON a.id = d.alert_id \
                     WHERE t.endpoint_id = $1 ORDER BY t.at DESC, t.delivery_id, t.attempt DESC LIMIT $2",
                )
                .bind(endpoint_id.to_string())
                .bind(i64::from(limit))
                .fetch_all(&self.read)
                .await?;
                rows.iter()
                    .map(|r| {
                        Ok(AttemptRecord {
                            delivery_id: uuid(r.try_get("delivery_id")?)?,
                            attempt: r.try_get::<i64, _>("attempt")? as u32,
                            at: from_ms(r.try_get("at")?)?,
                            status: r.try_get::<Option<i64>, _>("status")?.map(|s| s as u16),
                            error: r.try_get("error")?,
                            delivery_state: r.try_get("state")?,
                            log_index: r.try_get::<i64, _>("log_index")? as u64,
                            kind: r.try_get("kind")?,
                            product_name: r.try_get("product_name")?,
                        })
                    })
                    .collect()
            }

            async fn claim_deliveries(
                &self,
                now: DateTime<Utc>,
                owner: &str,
                lease_until: DateTime<Utc>,
                limit: u32,
            ) -> Result<Vec<ClaimedDelivery>> {
                // Due, not leased (or its lease ran out: that process died), and not for a disabled endpoint. The
                // outer conditions are checked again on each row updated, so a row another process leased meanwhile
                // is left to it; PostgreSQL skips rows being leased rather than waiting for them.
                let skip = if $dialect == Dialect::Postgres { " FOR UPDATE SKIP LOCKED" } else { "" };
                let due = "state = 'pending' AND next_at <= $1 AND (lease_until IS NULL OR lease_until < $1) \
                           AND (endpoint_id IS NULL OR endpoint_id IN (SELECT id FROM webhook_endpoints WHERE disabled_at IS NULL))";
                let sql = format!(
                    "UPDATE watch_deliveries SET lease_owner = $2, lease_until = $3 WHERE {due} AND id IN \
                     (SELECT id FROM watch_deliveries WHERE {due} ORDER BY next_at, id LIMIT $4{skip}) RETURNING id"
                );
                let ids: Vec<String> = sqlx::query_scalar(&sql)
                    .bind(ms(now))
                    .bind(owner)
                    .bind(ms(lease_until))
                    .bind(i64::from(limit))
                    .fetch_all(&self.write)
                    .await?;
                self.durable().await?;
                let mut out = Vec::with_capacity(ids.len());
                for id in ids {
                    let sql = format!(
                        "SELECT d.id AS d_id, d.channel, d.endpoint_id AS d_endpoint, d.email, d.digest, d.attempts, \
                         {} FROM watch_deliveries d JOIN watch_alerts a ON a.id = d.alert_id WHERE d.id = $1",
                        ALERT_COLUMNS.split(", ").map(|c| format!("a.{c}")).collect::<Vec<_>>().join(", ")
                    );
                    let r = sqlx::query(&sql).bind(&id).fetch_one(&self.write).await?;
                    let channel: String = r.try_get("channel")?;
                    out.push(ClaimedDelivery {
                        id: uuid(r.try_get("d_id")?)?,
                        channel: Channel::parse(&channel)
                            .ok_or_else(|| StoreError::Corrupt(format!("delivery channel {channel:?}")))?,
                        endpoint_id: r.try_get::<Option<String>, _>("d_endpoint")?.as_deref().map(uuid).transpose()?,
                        email: r.try_get("email")?,
                        digest: r.try_get("digest")?,
                        attempts: r.try_get::<i64, _>("attempts")? as u32,
                        alert: alert_from_row!(&r),
                    });
                }
                out.sort_by_key(|d| d.alert.log_index);
                Ok(out)
            }

            async fn release_delivery(&self, id: Uuid, owner: &str) -> Result<bool> {
                let r = sqlx::query(
                    "UPDATE watch_deliveries SET lease_owner = NULL, lease_until = NULL \
                     WHERE id = $1 AND lease_owner = $2 AND state = 'pending'",
                )
                .bind(id.to_string())
                .bind(owner)
                .execute(&self.write)
                .await?;
                self.durable().await?;
                Ok(r.rows_affected() == 1)
            }

            async fn finish_delivery(&self, o: &AttemptOutcome) -> Result<bool> {
                let mut tx = self.write.begin().await?;
                let state = match (o.delivered, o.retry_at) {
                    (true, _) => "delivered",
                    (false, Some(_)) => "pending",
                    (false, None) => "failed",
                };
                let row = sqlx::query(
                    "UPDATE watch_deliveries SET attempts = attempts + 1, state = $3, next_at = COALESCE($4, next_at), \
                     lease_owner = NULL, lease_until = NULL, done_at = $5 \
                     WHERE id = $1 AND lease_owner = $2 AND state = 'pending' RETURNING attempts, endpoint_id",
                )
                .bind(o.delivery_id.to_string())
                .bind(&o.owner)
                .bind(state)
                .bind(o.retry_at.map(ms))
                .bind((state != "pending").then(|| ms(o.at)))
                .fetch_optional(&mut *tx)
                .await?;
                // Another process took the lease over (this one was too slow): its attempt counts, not this one.
                let Some(row) = row else { return Ok(false) };
                let endpoint: Option<String> = row.try_get("endpoint_id")?;
                sqlx::query(
                    "INSERT INTO watch_attempts (delivery_id, attempt, endpoint_id, at, status, error) \
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(o.delivery_id.to_string())
                .bind(row.try_get::<i64, _>("attempts")?)
                .bind(&endpoint)
                .bind(ms(o.at))
                .bind(o.status.map(i64::from))
                .bind(&o.error)
                .execute(&mut *tx)
                .await?;
                if let Some(endpoint) = endpoint {
                    if o.delivered {
                        sqlx::query("UPDATE webhook_endpoints SET failures = 0 WHERE id = $1")
                            .bind(&endpoint)
                            .execute(&mut *tx)
                            .await?;
                    } else {
                        sqlx::query(
                            "UPDATE webhook_endpoints SET failures = failures + 1, \
                             disabled_at = CASE WHEN disabled_at IS NULL AND $2 > 0 AND failures + 1 >= $2 THEN $3 ELSE disabled_at END, \
                             disabled_reason = CASE WHEN disabled_at IS NULL AND $2 > 0 AND failures + 1 >= $2 THEN 'failing' ELSE disabled_reason END \
                             WHERE id = $1",
                        )
                        .bind(&endpoint)
                        .bind(i64::from(o.disable_after))
                        .bind(ms(o.at))
                        .execute(&mut *tx)
                        .await?;
                    }
                }
                tx.commit().await?;
                self.durable().await?;
                Ok(true)
            }
        }

        #[async_trait]
        impl WatchTx for $tx {
            async fn insert_watch(&mut self, w: &WatchRecord) -> Result<()> {
                let r = sqlx::query(
                    "INSERT INTO watches (id, user_id, kind, target, label, email, email_mode, endpoint_id, from_index, \
                     created_at, stopped_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                )
                .bind(w.id.to_string())
                .bind(w.user_id.to_string())
                .bind(w.kind.as_str())
                .bind(&w.target)
                .bind(&w.label)
                .bind(&w.email)
                .bind(w.email_mode.as_str())
                .bind(w.endpoint_id.map(|e| e.to_string()))
                .bind(w.from_index as i64)
                .bind(ms(w.created_at))
                .bind(w.stopped_at.map(ms))
                .execute(&mut *self.tx)
                .await?;
                self.wrote(r.rows_affected());
                Ok(())
            }

            async fn stop_watch(&mut self, id: Uuid, user_id: Uuid, now: DateTime<Utc>) -> Result<bool> {
                let r = sqlx::query("UPDATE watches SET stopped_at = $3 WHERE id = $1 AND user_id = $2 AND stopped_at IS NULL")
                    .bind(id.to_string())
                    .bind(user_id.to_string())
                    .bind(ms(now))
                    .execute(&mut *self.tx)
                    .await?;
                self.wrote(r.rows_affected());
                Ok(r.rows_affected() == 1)
            }

            async fn insert_webhook_endpoint(&mut self, e: &EndpointRecord) -> Result<()> {
                let r = sqlx::query(
                    "INSERT INTO webhook_endpoints (id, user_id, url, secret, description, failures, disabled_at, \
                     disabled_reason, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                )
                .bind(e.id.to_string())
                .bind(e.user_id.to_string())
                .bind(&e.url)
                .bind(&e.secret)
                .bind(&e.description)
                .bind(i64::from(e.failures))
                .bind(e.disabled_at.map(ms))
                .bind(&e.disabled_reason)
                .bind(ms(e.created_at))
                .execute(&mut *self.tx)
                .await?;
                self.wrote(r.rows_affected());
                Ok(())
            }

            async fn set_webhook_endpoint_enabled(
                &mut self,
                id: Uuid,
                user_id: Uuid,
                enabled: bool,
                now: DateTime<Utc>,
            ) -> Result<bool> {
                // Enabling starts the count of failures again; disabling is the owner's.
                let q = if enabled {
                    sqlx::query(
                        "UPDATE webhook_endpoints SET disabled_at = NULL, disabled_reason = NULL, failures = 0 \
                         WHERE id = $1 AND user_id = $2 AND disabled_at IS NOT NULL",
                    )
                    .bind(id.to_string())
                    .bind(user_id.to_string())
                } else {
                    sqlx::query(
                        "UPDATE webhook_endpoints SET disabled_at = $3, disabled_reason = 'owner' \
                         WHERE id = $1 AND user_id = $2 AND disabled_at IS NULL",
                    )
                    .bind(id.to_string())
                    .bind(user_id.to_string())
                    .bind(ms(now))
                };
                let r = q.execute(&mut *self.tx).await?;
                self.wrote(r.rows_affected());
                Ok(r.rows_affected() == 1)
            }

            async fn advance_watch_cursor(&mut self, from: u64, to: u64) -> Result<bool> {
                let r = sqlx::query("UPDATE watch_cursor SET position = $2 WHERE name = 'watches' AND position = $1")
                    .bind(from as i64)
                    .bind(to as i64)
                    .execute(&mut *self.tx)
                    .await?;
                self.wrote(r.rows_affected());
                Ok(r.rows_affected() == 1)
            }

            async fn insert_watch_alert(&mut self, a: &AlertRecord) -> Result<()> {
                let r = sqlx::query(
                    "INSERT INTO watch_alerts (id, watch_id, user_id, log_index, application_id, kind, at, product_name, \
                     registration_number, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                )
                .bind(a.id.to_string())
                .bind(a.watch_id.to_string())
                .bind(a.user_id.to_string())
                .bind(a.log_index as i64)
                .bind(a.application_id.to_string())
                .bind(&a.kind)
                .bind(ms(a.at))
                .bind(&a.product_name)
                .bind(&a.registration_number)
                .bind(ms(a.created_at))
                .execute(&mut *self.tx)
                .await?;
                self.wrote(r.rows_affected());
                Ok(())
            }

            async fn insert_watch_delivery(&mut self, d: &NewDelivery) -> Result<()> {
                let r = sqlx::query(
                    "INSERT INTO watch_deliveries (id, alert_id, user_id, channel, endpoint_id, email, digest, state, \
                     attempts, next_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', 0, $8, $9)",
                )
                .bind(d.id.to_string())
                .bind(d.alert_id.to_string())
                .bind(d.user_id.to_string())
                .bind(d.channel.as_str())
                .bind(d.endpoint_id.map(|e| e.to_string()))
                .bind(&d.email)
                .bind(d.digest)
                .bind(ms(d.next_at))
                .bind(ms(d.created_at))
                .execute(&mut *self.tx)
                .await?;
                self.wrote(r.rows_affected());
                Ok(())
            }
        }
    };
}
