//! The SQLite and PostgreSQL stores.
//!
//! Both run the same SQL (`$n` placeholders, `ON CONFLICT`, `RETURNING` work on both), so the
//! implementation is written once in [`impl_store!`] and instantiated per backend; only connection
//! set-up, row locking and migrations differ. Column types are kept portable: TEXT, BIGINT, BOOLEAN.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, TimeZone, Utc};
use dipr_domain::access::Role;
use dipr_domain::application::{Application, Dispute, Holding, Objection, State};
use dipr_domain::party::{Party, PartyKind};
use dipr_domain::public::PublicRecord;
use dipr_domain::time::{CalendarDay, DayKind};
use serde_json::value::RawValue;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Connection, Row};
use uuid::Uuid;

use crate::durable::WalSync;
use crate::search::{self, Field};
use crate::watches::{ALERT_COLUMNS, ENDPOINT_COLUMNS, WATCH_COLUMNS};
use crate::{
    AlertRecord, AttemptOutcome, AttemptRecord, Channel, ClaimedDelivery, EmailMode, EndpointRecord, NewDelivery,
    WatchKind, WatchRecord, WatchStore, WatchTx,
};
use crate::{
    Applicants, ApplicationFilter, Count, Cursor, DecisionTimes, EconomicValue, EventRecord, Industry, LogFilter,
    LogRow, MonthRow, NewEvent, Order, Page, Paged, PasswordReset, PledgeFinancing, PoolStatus, RequestKey, Result,
    SketchMatch, Statistics, StatsFilter, Store, StoreError, StoredAnswer, TokenKind, TokenRecord, Tx, UserRecord,
    ValueByKind, COUNT_CAP, RANK_CAP,
};
use dipr_domain::encumbrance::Money;
use dipr_domain::holding::{Transaction, TransactionKind};
use std::sync::Arc;
fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

fn from_ms(v: i64) -> Result<DateTime<Utc>> {
    Utc.timestamp_millis_opt(v).single().ok_or_else(|| StoreError::Corrupt(format!("timestamp {v}")))
}

fn uuid(s: &str) -> Result<Uuid> {
    Uuid::parse_str(s).map_err(|e| StoreError::Corrupt(format!("uuid {s:?}: {e}")))
}

fn json<T: serde::de::DeserializeOwned>(s: &str) -> Result<T> {
    serde_json::from_str(s).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn to_json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).expect("domain types serialise")
}

/// The two SQL dialects' differences in search.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dialect {
    Sqlite,
    Postgres,
}

/// The text of each searchable field. The identifiers are the registration and certificate numbers, and
/// the holder's and applicant's full names and credit codes (never a resident ID number).
fn search_fields(app: &Application) -> [(Field, String); 6] {
    let mut ids = Vec::new();
    if let Some(r) = &app.registration {
        ids.push(r.registration_number.to_string());
        ids.push(r.certificate_number.to_string());
    }
    for p in [app.holder(), &app.applicant] {
        ids.push(p.name.clone());
        if p.kind != PartyKind::NaturalPerson {
            ids.push(p.id_number.clone());
        }
    }
    let body = [app.form.summary.as_str(), app.form.industry.as_str()]
        .into_iter()
        .chain(app.form.scenarios.iter().map(String::as_str))
        .collect::<Vec<_>>()
        .join("\n");
    [
        (Field::Name, app.form.product_name.clone()),
        (Field::Holder, app.holder().name.clone()),
        (Field::Applicant, app.applicant.name.clone()),
        (Field::Identifiers, ids.join("\n")),
        (Field::Body, body),
        (Field::Flags, flags_of(app)),
    ]
}

/// Whether a search for `query` finds `app` (by its words and identifiers, as the index holds them).
pub fn matches_search(app: &Application, query: &str) -> bool {
    search::matches(&search_fields(app), query)
}

/// `objections.kind` of an objection filed during the notice.
const OBJECTION: &str = "objection";
/// `objections.kind` of a dispute filed after grant.
const DISPUTE: &str = "dispute";
/// The setting recorded once the objections of documents written before `objections` existed have been moved.
const OBJECTIONS_MOVED: &str = "store_objections_in_rows";

/// The application as `applications.doc` stores it: with no objections and no disputes, which are rows of
/// `objections`. Every field is named, so a field added to the domain cannot be dropped here unnoticed, and the
/// two lists are never copied.
fn stored_doc(app: &Application) -> String {
    let Application {
        id,
        version,
        state,
        applicant,
        filed_by,
        agent,
        form,
        created_at,
        updated_at,
        submitted_at,
        examiner_id,
        correction,
        notice,
        objections: _,
        decisions,
        registration,
        withdrawn_at,
        holding,
    } = app;
    let holding = holding.as_ref().map(|h| {
        let Holding { holder, holder_since, encumbrances, versions, disputes: _ } = h;
        Holding {
            holder: holder.clone(),
            holder_since: *holder_since,
            encumbrances: encumbrances.clone(),
            versions: versions.clone(),
            disputes: Vec::new(),
        }
    });
    to_json(&Application {
        id: *id,
        version: *version,
        state: *state,
        applicant: applicant.clone(),
        filed_by: *filed_by,
        agent: agent.clone(),
        form: form.clone(),
        created_at: *created_at,
        updated_at: *updated_at,
        submitted_at: *submitted_at,
        examiner_id: *examiner_id,
        correction: correction.clone(),
        notice: notice.clone(),
        objections: Vec::new(),
        decisions: decisions.clone(),
        registration: registration.clone(),
        withdrawn_at: *withdrawn_at,
        holding,
    })
}

/// `applications.public_doc`: the record as lists show it, without objections and disputes.
fn listed_doc(app: &Application) -> Option<String> {
    PublicRecord::listed(app).map(|r| to_json(&r))
}

/// Whether a decoded document still carries objections or disputes inside it (written before `objections`
/// existed).
fn has_embedded_objections(app: &Application) -> bool {
    !app.objections.is_empty() || app.holding.as_ref().is_some_and(|h| !h.disputes.is_empty())
}

/// One row of `objections`.
struct ObjectionRow {
    id: String,
    kind: &'static str,
    position: i64,
    decided: bool,
    filed_at: i64,
    doc: String,
}

/// An application's objections and disputes as rows, each list numbered in the order filed.
fn objection_rows(app: &Application) -> Vec<ObjectionRow> {
    let objections = app.objections.iter().enumerate().map(|(i, o)| ObjectionRow {
        id: o.id.to_string(),
        kind: OBJECTION,
        position: i as i64,
        decided: o.decision.is_some(),
        filed_at: ms(o.filed_at),
        doc: to_json(o),
    });
    let disputes = app.holding.iter().flat_map(|h| &h.disputes).enumerate().map(|(i, d)| ObjectionRow {
        id: d.id.to_string(),
        kind: DISPUTE,
        position: i as i64,
        decided: d.decision.is_some(),
        filed_at: ms(d.filed_at),
        doc: to_json(d),
    });
    objections.chain(disputes).collect()
}

/// `rows` (in the order filed), then whatever `embedded` holds that they do not: a document written before
/// `objections` existed, or by an older server still running, keeps its objections until its next write moves them.
fn merge_filed<T>(rows: Vec<T>, embedded: &mut Vec<T>, id: impl Fn(&T) -> Uuid) {
    if rows.is_empty() {
        return;
    }
    let known: std::collections::HashSet<Uuid> = rows.iter().map(&id).collect();
    let older = std::mem::replace(embedded, rows);
    embedded.extend(older.into_iter().filter(|x| !known.contains(&id(x))));
}

/// Give each application its rows of `objections` (`(application_id, kind, doc)`, in order).
fn attach_objections(apps: &mut [Application], rows: Vec<(String, String, String)>) -> Result<()> {
    let mut by_app: std::collections::HashMap<String, (Vec<Objection>, Vec<Dispute>)> =
        std::collections::HashMap::new();
    for (app_id, kind, doc) in rows {
        let entry = by_app.entry(app_id).or_default();
        match kind.as_str() {
            OBJECTION => entry.0.push(json(&doc)?),
            DISPUTE => entry.1.push(json(&doc)?),
            other => return Err(StoreError::Corrupt(format!("objection kind {other:?}"))),
        }
    }
    for app in apps {
        let Some((objections, disputes)) = by_app.remove(&app.id.to_string()) else { continue };
        merge_filed(objections, &mut app.objections, |o| o.id);
        if !disputes.is_empty() {
            let holding = app
                .holding
                .as_mut()
                .ok_or_else(|| StoreError::Corrupt(format!("disputes of application {} without a holding", app.id)))?;
            merge_filed(disputes, &mut holding.disputes, |d| d.id);
        }
    }
    Ok(())
}

/// Everything search reads of an application, in one string: the index is rewritten only when it changes.
fn search_text(app: &Application) -> String {
    search_fields(app).map(|(_, t)| t).join("\u{1f}")
}

/// The statements that (re)write an application's search terms.
fn search_writes(dialect: Dialect, seq: i64, app: &Application) -> Vec<(&'static str, Vec<Bind>)> {
    let fields = search_fields(app);
    match dialect {
        Dialect::Sqlite => {
            let mut binds = vec![Bind::Int(seq)];
            binds.extend(fields.iter().map(|(f, t)| Bind::Text(search::field_terms(*f, t).join(" "))));
            vec![
                ("DELETE FROM search_index WHERE rowid = $1", vec![Bind::Int(seq)]),
                (
                    "INSERT INTO search_index (rowid, name, holder, applicant, ids, body, flags) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                    binds,
                ),
            ]
        }
        Dialect::Postgres => {
            let refs: Vec<(Field, &str)> = fields.iter().map(|(f, t)| (*f, t.as_str())).collect();
            vec![(
                "INSERT INTO search_index (seq, terms) VALUES ($1, $2::tsvector) \
                 ON CONFLICT (seq) DO UPDATE SET terms = excluded.terms",
                vec![Bind::Int(seq), Bind::Text(search::tsvector(&refs))],
            )]
        }
    }
}

fn local_month(t: DateTime<Utc>) -> String {
    t.with_timezone(&dipr_domain::time::local_offset()).format("%Y-%m").to_string()
}

fn ownership_str(app: &Application) -> Option<String> {
    app.applicant
        .attributes
        .ownership
        .and_then(|o| serde_json::to_value(o).ok())
        .and_then(|v| v.as_str().map(String::from))
}

/// Milliseconds at the start of a local day.
fn day_start_ms(d: chrono::NaiveDate) -> i64 {
    ms(dipr_domain::time::start_of_local_day(d))
}

/// Which column dates a statistic.
enum DateCol {
    /// Milliseconds since the epoch.
    Ms(&'static str),
    /// `YYYY-MM-DD` text.
    Day(&'static str),
}

/// WHERE conditions for a statistics filter (over `filings`, `value_daily` or `pledges`, which share
/// the breakdown columns). Returns conditions joined by AND and their binds, placeholders from `$1`.
fn stats_where(f: &StatsFilter, date: Option<DateCol>) -> (String, Vec<Bind>) {
    let mut clauses = vec!["1 = 1".to_string()];
    let mut binds = Vec::new();
    let mut push = |clause: String, b: Bind, binds: &mut Vec<Bind>| {
        binds.push(b);
        clauses.push(clause.replace('?', &format!("${}", binds.len())));
    };
    match date {
        Some(DateCol::Ms(c)) => {
            if let Some(from) = f.from {
                push(format!("{c} >= ?"), Bind::Int(day_start_ms(from)), &mut binds);
            }
            if let Some(to) = f.to.and_then(|d| d.succ_opt()) {
                push(format!("{c} < ?"), Bind::Int(day_start_ms(to)), &mut binds);
            }
        }
        Some(DateCol::Day(c)) => {
            if let Some(from) = f.from {
                push(format!("{c} >= ?"), Bind::Text(from.to_string()), &mut binds);
            }
            if let Some(to) = f.to {
                push(format!("{c} <= ?"), Bind::Text(to.to_string()), &mut binds);
            }
        }
        None => {}
    }
    if let Some(t) = f.object_type {
        push("object_type = ?".into(), Bind::Text(t.as_str().into()), &mut binds);
    }
    if let Some(i) = f.industry.as_deref().filter(|i| !i.is_empty()) {
        push("industry = ?".into(), Bind::Text(i.into()), &mut binds);
    }
    if let Some(k) = f.applicant_kind.as_deref().filter(|k| !k.is_empty()) {
        push("applicant_kind = ?".into(), Bind::Text(k.into()), &mut binds);
    }
    (clauses.join(" AND "), binds)
}

fn month_row<'a>(months: &'a mut std::collections::BTreeMap<String, MonthRow>, m: &str) -> &'a mut MonthRow {
    months.entry(m.to_string()).or_insert_with(|| MonthRow {
        month: m.to_string(),
        applications: 0,
        certificates: 0,
        value_fen: 0,
    })
}

/// The whole-day value below which a share `p` of the decisions fall, from a (days, count) histogram.
fn histogram_percentile(histogram: &[(i64, i64)], total: i64, p: f64) -> Option<f64> {
    if total == 0 {
        return None;
    }
    let target = (p * total as f64).ceil().max(1.0) as i64;
    let mut seen = 0;
    for (days, n) in histogram {
        seen += n;
        if seen >= target {
            return Some(*days as f64);
        }
    }
    histogram.last().map(|(d, _)| *d as f64)
}

/// A bind value for dynamically built queries.
enum Bind {
    Text(String),
    Int(i64),
    Bool(bool),
}

/// An application filter as SQL: what to select from (the search index's matches joined to their
/// applications when the filter searches text; `m.r` orders by relevance, lower first), and the WHERE
/// clause. Placeholders start at `$1`.
struct AppQuery {
    from: String,
    cond: String,
    binds: Vec<Bind>,
    ranked: bool,
    /// Answered by the index alone (`from` is then unused).
    indexed: Option<Indexed>,
}

/// A search the index answers alone: the matches (to count), and the page of them joined to their
/// applications (`$2`, `$3`: limit and offset), best first or, for more than [`RANK_CAP`] matches, newest
/// first: ranking every match of a word found in a tenth of a million-record register costs half a second.
struct Indexed {
    count: &'static str,
    ranked: &'static str,
    newest: &'static str,
}

impl AppQuery {
    fn order_of(ranked: bool, order: Order) -> &'static str {
        match order {
            Order::Relevance if ranked => "m.r ASC, updated_at DESC, id DESC",
            Order::Relevance => "updated_at DESC, id DESC",
            Order::OldestFirst => "updated_at ASC, id ASC",
        }
    }
}

/// The flags a filter requires of every match (see [`search::flag`]).
fn flag_groups(f: &ApplicationFilter) -> search::FlagGroups {
    let mut groups = Vec::new();
    if f.public_only {
        groups.push(vec![search::flag('p', "1")]);
    }
    if !f.states.is_empty() {
        groups.push(f.states.iter().map(|s| search::flag('s', s.as_str())).collect());
    }
    if let Some(t) = f.object_type {
        groups.push(vec![search::flag('t', t.as_str())]);
    }
    if let Some(i) = f.industry.as_deref().filter(|t| !t.is_empty()) {
        groups.push(vec![search::flag('i', i)]);
    }
    groups
}

/// A record's flags, as the index holds them.
fn flags_of(app: &Application) -> String {
    let mut flags = vec![search::flag('s', app.state.as_str())];
    if app.is_public() {
        flags.push(search::flag('p', "1"));
    }
    if let Some(t) = app.form.object_type {
        flags.push(search::flag('t', t.as_str()));
    }
    flags.push(search::flag('i', app.form.industry.trim()));
    flags.join(" ")
}

/// The search expression for a filter's text and holder (and `flags`), or `Err(())` when one of them has
/// nothing searchable in it (only punctuation), so nothing can match.
fn search_expr(
    f: &ApplicationFilter,
    dialect: Dialect,
    flags: &search::FlagGroups,
) -> std::result::Result<Option<String>, ()> {
    let text = f.text.as_deref().filter(|t| !t.trim().is_empty());
    let holder = f.holder.as_deref().filter(|t| !t.trim().is_empty());
    let mut parts = Vec::new();
    let none = search::FlagGroups::new();
    for (t, field) in [(text, None), (holder, Some(Field::Holder))] {
        let Some(t) = t else { continue };
        let terms = search::query_terms(t);
        if terms.is_empty() {
            return Err(());
        }
        let exact = search::exact_term(t);
        let flags = if parts.is_empty() { flags } else { &none };
        parts.push(match dialect {
            Dialect::Sqlite => format!("({})", search::fts5_query(&terms, exact.as_deref(), field, flags)),
            Dialect::Postgres => format!("({})", search::tsquery(&terms, exact.as_deref(), field, flags)),
        });
    }
    Ok((!parts.is_empty()).then(|| parts.join(if dialect == Dialect::Sqlite { " AND " } else { " & " })))
}

fn application_query(f: &ApplicationFilter, dialect: Dialect) -> AppQuery {
    let mut clauses = Vec::new();
    let mut binds = Vec::new();
    let next = |b: Bind, binds: &mut Vec<Bind>| {
        binds.push(b);
        format!("${}", binds.len())
    };
    let mut from = "applications".to_string();
    // A public search that only filters by what the index's flags hold is answered by the index: ranked and
    // cut to the page there, so only the page's applications are read.
    let indexed = f.order == Order::Relevance
        && f.owned_by.is_none()
        && f.pledgee.is_none()
        && !f.pending_pledges
        && !f.open_disputes;
    let flags = if indexed { flag_groups(f) } else { Vec::new() };
    match search_expr(f, dialect, &flags) {
        Err(()) => clauses.push("1 = 0".to_string()),
        Ok(None) => {}
        Ok(Some(expr)) if indexed => {
            binds.push(Bind::Text(expr));
            let found = match dialect {
                Dialect::Sqlite => Indexed {
                    count: "SELECT 1 FROM search_index WHERE search_index MATCH $1",
                    ranked: "(SELECT rowid AS s, rank AS r FROM search_index WHERE search_index MATCH $1 \
                             ORDER BY rank LIMIT $2 OFFSET $3) m CROSS JOIN applications ON applications.seq = m.s",
                    newest: "(SELECT rowid AS s, -rowid AS r FROM search_index WHERE search_index MATCH $1 \
                             ORDER BY rowid DESC LIMIT $2 OFFSET $3) m CROSS JOIN applications ON applications.seq = m.s",
                },
                Dialect::Postgres => Indexed {
                    count: "SELECT 1 FROM search_index WHERE terms @@ $1::tsquery",
                    ranked: "(SELECT seq AS s, -ts_rank(terms, $1::tsquery) AS r FROM search_index \
                             WHERE terms @@ $1::tsquery ORDER BY 2 LIMIT $2 OFFSET $3) m \
                             JOIN applications ON applications.seq = m.s",
                    newest: "(SELECT seq AS s, -seq AS r FROM search_index WHERE terms @@ $1::tsquery \
                             ORDER BY seq DESC LIMIT $2 OFFSET $3) m JOIN applications ON applications.seq = m.s",
                },
            };
            return AppQuery { from: String::new(), cond: String::new(), binds, ranked: true, indexed: Some(found) };
        }
        Ok(Some(expr)) => {
            let p = next(Bind::Text(expr), &mut binds);
            from = match dialect {
                // CROSS JOIN keeps the matches as the outer loop: otherwise SQLite may run the full-text
                // query once per application.
                Dialect::Sqlite => format!(
                    "(SELECT rowid AS s, rank AS r FROM search_index WHERE search_index MATCH {p}) m \
                     CROSS JOIN applications ON applications.seq = m.s"
                ),
                Dialect::Postgres => format!(
                    "(SELECT seq AS s, -ts_rank(terms, {p}::tsquery) AS r FROM search_index \
                     WHERE terms @@ {p}::tsquery) m JOIN applications ON applications.seq = m.s"
                ),
            };
        }
    }
    // The states of published records imply publication, and the state index serves them better.
    let implied = !f.states.is_empty() && f.states.iter().all(|s| s.implies_public());
    if f.public_only && !implied {
        clauses.push(format!("is_public = {}", next(Bind::Bool(true), &mut binds)));
    }
    if let Some((user, party)) = f.owned_by {
        let u = next(Bind::Text(user.to_string()), &mut binds);
        match party {
            Some(p) => {
                let p = next(Bind::Text(p.to_string()), &mut binds);
                clauses.push(format!("(filed_by = {u} OR applicant_id = {p} OR holder_id = {p})"));
            }
            None => clauses.push(format!("filed_by = {u}")),
        }
    }
    if !f.states.is_empty() {
        let list: Vec<String> = f.states.iter().map(|s| next(Bind::Text(s.as_str().into()), &mut binds)).collect();
        clauses.push(format!("state IN ({})", list.join(", ")));
    }
    if let Some(t) = f.object_type {
        clauses.push(format!("object_type = {}", next(Bind::Text(t.as_str().into()), &mut binds)));
    }
    if let Some(i) = f.industry.as_deref().filter(|t| !t.is_empty()) {
        clauses.push(format!("industry = {}", next(Bind::Text(i.into()), &mut binds)));
    }
    if let Some(bank) = f.pledgee {
        clauses.push(format!(
            "id IN (SELECT application_id FROM pledges WHERE pledgee_id = {} AND status IN ('pending', 'active'))",
            next(Bind::Text(bank.to_string()), &mut binds)
        ));
    }
    if f.pending_pledges {
        clauses.push("id IN (SELECT application_id FROM pledges WHERE status = 'pending')".to_string());
    }
    if f.open_disputes {
        clauses.push(format!("open_dispute = {}", next(Bind::Bool(true), &mut binds)));
    }
    let cond = if clauses.is_empty() { String::new() } else { format!(" WHERE {}", clauses.join(" AND ")) };
    let ranked = from != "applications";
    AppQuery { from, cond, binds, ranked, indexed: None }
}

fn to_hash(v: Vec<u8>) -> Result<dipr_ledger::Hash> {
    v.try_into().map_err(|_| StoreError::Corrupt("stored log hash is not 32 bytes".into()))
}

/// `(level = $1 AND idx = $2) OR …` for a set of stored-hash keys.
fn node_keys_sql(keys: &[(u8, u64)]) -> (String, Vec<Bind>) {
    let mut binds = Vec::new();
    let clauses: Vec<String> = keys
        .iter()
        .map(|(l, i)| {
            binds.push(Bind::Int(i64::from(*l)));
            binds.push(Bind::Int(*i as i64));
            format!("(level = ${} AND idx = ${})", binds.len() - 1, binds.len())
        })
        .collect();
    (format!("SELECT level, idx, hash FROM log_hashes WHERE {}", clauses.join(" OR ")), binds)
}

fn role(s: &str) -> Result<Role> {
    Role::parse(s).ok_or_else(|| StoreError::Corrupt(format!("role {s:?}")))
}

macro_rules! bind_all {
    ($q:expr, $binds:expr) => {{
        let mut q = $q;
        for b in $binds {
            q = match b {
                Bind::Text(s) => q.bind(s),
                Bind::Int(i) => q.bind(i),
                Bind::Bool(v) => q.bind(v),
            };
        }
        q
    }};
}

/// Stored log hashes for `keys`, read through `$exec` (a pool or the open transaction).
macro_rules! fetch_nodes {
    ($keys:expr, $exec:expr) => {{
        let mut out = std::collections::HashMap::new();
        for chunk in $keys.chunks(200) {
            let (sql, binds) = node_keys_sql(chunk);
            for r in bind_all!(sqlx::query(&sql), binds).fetch_all($exec).await? {
                let (l, i): (i64, i64) = (r.try_get("level")?, r.try_get("idx")?);
                out.insert((l as u8, i as u64), to_hash(r.try_get("hash")?)?);
            }
        }
        Ok(out)
    }};
}

macro_rules! user_from_row {
    ($row:expr) => {{
        let row = $row;
        UserRecord {
            id: uuid(row.try_get("id")?)?,
            username: row.try_get("username")?,
            display_name: row.try_get("display_name")?,
            password_hash: row.try_get("password_hash")?,
            role: role(row.try_get("role")?)?,
            party_id: row.try_get::<Option<String>, _>("party_id")?.as_deref().map(uuid).transpose()?,
            disabled: row.try_get("disabled")?,
            created_at: from_ms(row.try_get("created_at")?)?,
            email: row.try_get("email")?,
            must_change_password: row.try_get("must_change_password")?,
        }
    }};
}

macro_rules! token_from_row {
    ($row:expr) => {{
        let row = $row;
        TokenRecord {
            id: uuid(row.try_get("t_id")?)?,
            user_id: uuid(row.try_get("user_id")?)?,
            token_hash: row.try_get("token_hash")?,
            kind: match row.try_get::<String, _>("kind")?.as_str() {
                "session" => TokenKind::Session,
                "api" => TokenKind::Api,
                other => return Err(StoreError::Corrupt(format!("token kind {other:?}"))),
            },
            name: row.try_get("name")?,
            created_at: from_ms(row.try_get("t_created_at")?)?,
            expires_at: row.try_get::<Option<i64>, _>("expires_at")?.map(from_ms).transpose()?,
            revoked_at: row.try_get::<Option<i64>, _>("revoked_at")?.map(from_ms).transpose()?,
        }
    }};
}

const USER_COLS: &str =
    "id, username, display_name, password_hash, role, party_id, disabled, created_at, email, must_change_password";
const TOKEN_COLS: &str =
    "tokens.id AS t_id, user_id, token_hash, kind, name, tokens.created_at AS t_created_at, expires_at, revoked_at";
const APP_INSERT: &str =
    "INSERT INTO applications (id, version, state, applicant_id, filed_by, agent_id, product_name, \
     product_key, holder_name, search_text, object_type, industry, is_public, deadline_at, registration_number, \
     created_at, updated_at, withdrawn_at, doc, public_doc, open_dispute, holder_id, seq) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23)";
const APP_UPDATE: &str = "UPDATE applications SET version = $2, state = $3, applicant_id = $4, filed_by = $5, \
     agent_id = $6, product_name = $7, product_key = $8, holder_name = $9, search_text = $10, object_type = $11, \
     industry = $12, is_public = $13, deadline_at = $14, registration_number = $15, created_at = $16, \
     updated_at = $17, withdrawn_at = $18, doc = $19, public_doc = $20, open_dispute = $21, \
     holder_id = $22 WHERE id = $1 AND version = $23";

/// Bind the columns of an application row, in the order of [`APP_INSERT`].
const EVENT_COLS: &str = "id, at, actor_id, actor_name, actor_role, subject_type, subject_id, kind, from_state, \
                          to_state, reasons, payload";

macro_rules! event_from_row {
    ($r:expr) => {{
        let r = $r;
        EventRecord {
            id: r.try_get("id")?,
            at: from_ms(r.try_get("at")?)?,
            actor_id: r.try_get::<Option<String>, _>("actor_id")?.as_deref().map(uuid).transpose()?,
            actor_name: r.try_get("actor_name")?,
            actor_role: r.try_get("actor_role")?,
            subject_type: r.try_get("subject_type")?,
            subject_id: r.try_get("subject_id")?,
            kind: r.try_get("kind")?,
            from_state: r.try_get("from_state")?,
            to_state: r.try_get("to_state")?,
            reasons: r.try_get("reasons")?,
            payload: json(r.try_get::<&str, _>("payload")?)?,
        }
    }};
}

macro_rules! bind_app {
    ($q:expr, $app:expr) => {{
        let app: &Application = $app;
        $q.bind(app.id.to_string())
            .bind(app.version)
            .bind(app.state.as_str())
            .bind(app.applicant.id.to_string())
            .bind(app.filed_by.to_string())
            .bind(app.agent.as_ref().map(|a| a.id.to_string()))
            .bind(app.form.product_name.trim().to_string())
            .bind(app.form.product_key())
            .bind(app.holder().name.clone())
            .bind(search_text(app))
            .bind(app.form.object_type.map(|t| t.as_str().to_string()))
            .bind(app.form.industry.trim().to_string())
            .bind(app.is_public())
            .bind(app.next_deadline().map(ms))
            .bind(app.registration.as_ref().map(|r| r.registration_number.to_string()))
            .bind(ms(app.created_at))
            .bind(ms(app.updated_at))
            .bind(app.withdrawn_at.map(ms))
            .bind(stored_doc(app))
            .bind(listed_doc(app))
            .bind(app.holding.as_ref().is_some_and(|h| h.disputes.iter().any(|d| d.decision.is_none())))
            .bind(app.holder().id.to_string())
    }};
}

/// Keep the projections of an application's document in step: its pledges, and the derivations a
/// published filing names.
macro_rules! sync_projections {
    ($conn:expr, $app:expr) => {{
        let app: &Application = $app;
        let outcome = app.outcome();
        sqlx::query(
            "INSERT INTO filings (application_id, applicant_id, applicant_kind, ownership, high_tech, specialised, \
             university, object_type, industry, submitted_at, submitted_month, outcome, decided_at, decided_month) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) \
             ON CONFLICT (application_id) DO UPDATE SET applicant_id = excluded.applicant_id, \
             applicant_kind = excluded.applicant_kind, ownership = excluded.ownership, high_tech = excluded.high_tech, \
             specialised = excluded.specialised, university = excluded.university, object_type = excluded.object_type, \
             industry = excluded.industry, submitted_at = excluded.submitted_at, \
             submitted_month = excluded.submitted_month, outcome = excluded.outcome, decided_at = excluded.decided_at, \
             decided_month = excluded.decided_month",
        )
        .bind(app.id.to_string())
        .bind(app.applicant.id.to_string())
        .bind(app.applicant.kind.as_str())
        .bind(ownership_str(app))
        .bind(app.applicant.attributes.high_tech)
        .bind(app.applicant.attributes.specialised_innovative)
        .bind(app.applicant.attributes.university_or_institute)
        .bind(app.form.object_type.map(|t| t.as_str().to_string()))
        .bind(app.form.industry.trim().to_string())
        .bind(app.submitted_at.map(ms))
        .bind(app.submitted_at.map(local_month))
        .bind(outcome.map(|(o, _)| o.as_str()))
        .bind(outcome.map(|(_, t)| ms(t)))
        .bind(outcome.map(|(_, t)| local_month(t)))
        .execute(&mut *$conn)
        .await?;
        if let Some(h) = &app.holding {
            for p in &h.encumbrances.pledges {
                sqlx::query(
                    "INSERT INTO pledges (id, application_id, pledgee_id, debtor_id, status, secured_fen, registered_at, \
                     closed_at, object_type, industry, applicant_kind) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
                     ON CONFLICT (id) DO UPDATE SET status = excluded.status, registered_at = excluded.registered_at, \
                     closed_at = excluded.closed_at",
                )
                .bind(p.id.to_string())
                .bind(app.id.to_string())
                .bind(p.pledgee.id.to_string())
                .bind(p.debtor.id.to_string())
                .bind(serde_json::to_value(p.status).ok().and_then(|v| v.as_str().map(String::from)))
                .bind(p.secured.fen())
                .bind(p.registered_at.map(ms))
                .bind(p.closed_at.map(ms))
                .bind(app.form.object_type.map(|t| t.as_str().to_string()))
                .bind(app.form.industry.trim().to_string())
                .bind(app.applicant.kind.as_str())
                .execute(&mut *$conn)
                .await?;
            }
        }
        if app.is_public() {
            for u in &app.form.derived_from {
                sqlx::query(
                    "INSERT INTO lineage (parent_number, child_id, licence_id) VALUES ($1, $2, $3) \
                     ON CONFLICT (parent_number, child_id) DO NOTHING",
                )
                .bind(u.registration_number.to_string())
                .bind(app.id.to_string())
                .bind(u.licence_id.map(|l| l.to_string()))
                .execute(&mut *$conn)
                .await?;
            }
        }
    }};
}

/// Read the objections and disputes of `$apps` (a `&mut [Application]`) through `$exec`, in one query, and attach
/// them in the order filed.
macro_rules! with_objections {
    ($exec:expr, $apps:expr) => {{
        let apps: &mut [Application] = $apps;
        if !apps.is_empty() {
            let list: Vec<String> = (1..=apps.len()).map(|i| format!("${i}")).collect();
            let sql = format!(
                "SELECT application_id, kind, doc FROM objections WHERE application_id IN ({}) \
                 ORDER BY application_id, kind, position",
                list.join(", ")
            );
            let mut q = sqlx::query_as::<_, (String, String, String)>(&sql);
            for a in apps.iter() {
                q = q.bind(a.id.to_string());
            }
            let rows = q.fetch_all($exec).await?;
            attach_objections(apps, rows)?;
        }
        Ok::<(), StoreError>(())
    }};
}

/// Write an application's objections and disputes as rows of `objections`; a row whose document (and place) is
/// unchanged is left as it is.
macro_rules! store_objections {
    ($conn:expr, $app:expr) => {{
        let app: &Application = $app;
        let rows = objection_rows(app);
        // 7 binds a row: well under both databases' parameter limits.
        for chunk in rows.chunks(100) {
            let values: Vec<String> = (0..chunk.len())
                .map(|k| {
                    let b = 7 * k;
                    format!("(${}, ${}, ${}, ${}, ${}, ${}, ${})", b + 1, b + 2, b + 3, b + 4, b + 5, b + 6, b + 7)
                })
                .collect();
            let sql = format!(
                "INSERT INTO objections (id, application_id, kind, position, decided, filed_at, doc) VALUES {} \
                 ON CONFLICT (id) DO UPDATE SET position = excluded.position, decided = excluded.decided, \
                 filed_at = excluded.filed_at, doc = excluded.doc \
                 WHERE objections.doc <> excluded.doc OR objections.position <> excluded.position",
                values.join(", ")
            );
            let mut q = sqlx::query(&sql);
            for r in chunk {
                q = q
                    .bind(r.id.as_str())
                    .bind(app.id.to_string())
                    .bind(r.kind)
                    .bind(r.position)
                    .bind(r.decided)
                    .bind(r.filed_at)
                    .bind(r.doc.as_str());
            }
            q.execute(&mut *$conn).await?;
        }
    }};
}

macro_rules! impl_store {
    ($store:ident, $tx:ident, $db:ty, $backend:literal, $for_update:literal, $dialect:expr) => {
        pub struct $tx {
            tx: sqlx::Transaction<'static, $db>,
            writes: u32,
            events: u32,
            /// SQLite's group commit: the commit is acknowledged once its WAL is on disk.
            wal: Option<Arc<WalSync>>,
        }

        impl $tx {
            fn wrote(&mut self, rows: u64) {
                if rows > 0 {
                    self.writes += 1;
                }
            }

            /// Write an application's search terms, in the application's transaction: a committed change is
            /// searchable on every server process at once.
            async fn index_search(&mut self, seq: i64, app: &Application) -> Result<()> {
                for (sql, binds) in search_writes($dialect, seq, app) {
                    bind_all!(sqlx::query(sql), binds).execute(&mut *self.tx).await?;
                }
                Ok(())
            }
        }

        #[async_trait]
        impl Tx for $tx {
            async fn application_for_update(&mut self, id: Uuid) -> Result<Option<Application>> {
                let sql = concat!("SELECT doc FROM applications WHERE id = $1", $for_update);
                let row = sqlx::query(sql).bind(id.to_string()).fetch_optional(&mut *self.tx).await?;
                let Some(mut app) = row.map(|r| json::<Application>(r.try_get::<&str, _>("doc")?)).transpose()? else {
                    return Ok(None);
                };
                with_objections!(&mut *self.tx, std::slice::from_mut(&mut app))?;
                Ok(Some(app))
            }

            async fn insert_application(&mut self, app: &Application) -> Result<()> {
                let seq = self.next_sequence("application_rows").await?;
                let r = bind_app!(sqlx::query(APP_INSERT), app).bind(seq).execute(&mut *self.tx).await?;
                self.wrote(r.rows_affected());
                store_objections!(self.tx, app);
                sync_projections!(self.tx, app);
                self.index_search(seq, app).await
            }

            async fn update_application(&mut self, app: &Application) -> Result<()> {
                let before = sqlx::query("SELECT seq, search_text FROM applications WHERE id = $1")
                    .bind(app.id.to_string())
                    .fetch_optional(&mut *self.tx)
                    .await?;
                let r = bind_app!(sqlx::query(APP_UPDATE), app).bind(app.version - 1).execute(&mut *self.tx).await?;
                if r.rows_affected() != 1 {
                    return Err(StoreError::Conflict(format!("application {} is not at version {}", app.id, app.version - 1)));
                }
                self.wrote(1);
                store_objections!(self.tx, app);
                sync_projections!(self.tx, app);
                let Some(before) = before else { return Ok(()) };
                let seq: i64 = before.try_get("seq")?;
                if before.try_get::<String, _>("search_text")? != search_text(app) {
                    self.index_search(seq, app).await?;
                }
                Ok(())
            }

            async fn insert_transaction(&mut self, t: &Transaction, app: &Application, event_id: i64) -> Result<()> {
                let r = sqlx::query(
                    "INSERT INTO transactions (id, application_id, kind, amount_fen, occurred_on, counterparty, licence_id, \
                     note, event_id, recorded_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                )
                .bind(t.id.to_string())
                .bind(t.application_id.to_string())
                .bind(t.kind.as_str())
                .bind(t.amount.fen())
                .bind(t.occurred_on.to_string())
                .bind(&t.counterparty)
                .bind(t.licence_id.map(|l| l.to_string()))
                .bind(&t.note)
                .bind(event_id)
                .bind(ms(t.recorded_at))
                .execute(&mut *self.tx)
                .await?;
                sqlx::query(
                    "INSERT INTO value_daily (day, kind, object_type, industry, applicant_kind, transactions, amount_fen) \
                     VALUES ($1, $2, $3, $4, $5, 1, $6) ON CONFLICT (day, kind, object_type, industry, applicant_kind) \
                     DO UPDATE SET transactions = value_daily.transactions + 1, \
                     amount_fen = value_daily.amount_fen + excluded.amount_fen",
                )
                .bind(t.occurred_on.to_string())
                .bind(t.kind.as_str())
                .bind(app.form.object_type.map_or("", |t| t.as_str()))
                .bind(app.form.industry.trim().to_string())
                .bind(app.applicant.kind.as_str())
                .bind(t.amount.fen())
                .execute(&mut *self.tx)
                .await?;
                sqlx::query(
                    "INSERT INTO product_spans (application_id, first_on, last_on, object_type, industry, applicant_kind) \
                     VALUES ($1, $2, $2, $3, $4, $5) ON CONFLICT (application_id) DO UPDATE SET \
                     first_on = CASE WHEN excluded.first_on < product_spans.first_on THEN excluded.first_on ELSE product_spans.first_on END, \
                     last_on = CASE WHEN excluded.last_on > product_spans.last_on THEN excluded.last_on ELSE product_spans.last_on END",
                )
                .bind(t.application_id.to_string())
                .bind(t.occurred_on.to_string())
                .bind(app.form.object_type.map_or("", |t| t.as_str()))
                .bind(app.form.industry.trim().to_string())
                .bind(app.applicant.kind.as_str())
                .execute(&mut *self.tx)
                .await?;
                sqlx::query(
                    "INSERT INTO product_kinds (application_id, kind, first_on, last_on, object_type, industry, applicant_kind) \
                     VALUES ($1, $2, $3, $3, $4, $5, $6) ON CONFLICT (application_id, kind) DO UPDATE SET \
                     first_on = CASE WHEN excluded.first_on < product_kinds.first_on THEN excluded.first_on ELSE product_kinds.first_on END, \
                     last_on = CASE WHEN excluded.last_on > product_kinds.last_on THEN excluded.last_on ELSE product_kinds.last_on END",
                )
                .bind(t.application_id.to_string())
                .bind(t.kind.as_str())
                .bind(t.occurred_on.to_string())
                .bind(app.form.object_type.map_or("", |t| t.as_str()))
                .bind(app.form.industry.trim().to_string())
                .bind(app.applicant.kind.as_str())
                .execute(&mut *self.tx)
                .await?;
                self.wrote(r.rows_affected());
                Ok(())
            }

            async fn next_sequence(&mut self, name: &str) -> Result<i64> {
                let v: i64 = sqlx::query_scalar(
                    "INSERT INTO sequences (name, value) VALUES ($1, 1) \
                     ON CONFLICT (name) DO UPDATE SET value = sequences.value + 1 RETURNING value",
                )
                .bind(name)
                .fetch_one(&mut *self.tx)
                .await?;
                self.wrote(1);
                Ok(v)
            }

            async fn insert_party(&mut self, p: &Party, now: DateTime<Utc>) -> Result<()> {
                let r = sqlx::query(
                    "INSERT INTO parties (id, kind, name, id_number, doc, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(p.id.to_string())
                .bind(p.kind.as_str())
                .bind(&p.name)
                .bind(p.identifier.as_str())
                .bind(to_json(p))
                .bind(ms(now))
                .execute(&mut *self.tx)
                .await?;
                self.wrote(r.rows_affected());
                Ok(())
            }

            async fn insert_user(&mut self, u: &UserRecord) -> Result<()> {
                let r = sqlx::query(
                    "INSERT INTO users (id, username, display_name, password_hash, role, party_id, disabled, created_at, \
                     email, must_change_password) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                )
                .bind(u.id.to_string())
                .bind(&u.username)
                .bind(&u.display_name)
                .bind(&u.password_hash)
                .bind(u.role.as_str())
                .bind(u.party_id.map(|p| p.to_string()))
                .bind(u.disabled)
                .bind(ms(u.created_at))
                .bind(&u.email)
                .bind(u.must_change_password)
                .execute(&mut *self.tx)
                .await?;
                self.wrote(r.rows_affected());
                Ok(())
            }

            async fn set_user_disabled(&mut self, id: Uuid, disabled: bool) -> Result<bool> {
                let r = sqlx::query("UPDATE users SET disabled = $2 WHERE id = $1")
                    .bind(id.to_string())
                    .bind(disabled)
                    .execute(&mut *self.tx)
                    .await?;
                self.wrote(r.rows_affected());
                Ok(r.rows_affected() == 1)
            }

            async fn insert_token(&mut self, t: &TokenRecord) -> Result<()> {
                let r = sqlx::query(
                    "INSERT INTO tokens (id, user_id, token_hash, kind, name, created_at, expires_at, revoked_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .bind(t.id.to_string())
                .bind(t.user_id.to_string())
                .bind(&t.token_hash)
                .bind(t.kind.as_str())
                .bind(&t.name)
                .bind(ms(t.created_at))
                .bind(t.expires_at.map(ms))
                .bind(t.revoked_at.map(ms))
                .execute(&mut *self.tx)
                .await?;
                self.wrote(r.rows_affected());
                Ok(())
            }

            async fn revoke_token(&mut self, id: Uuid, user_id: Uuid, now: DateTime<Utc>) -> Result<bool> {
                let r = sqlx::query(
                    "UPDATE tokens SET revoked_at = $3 WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL",
                )
                .bind(id.to_string())
                .bind(user_id.to_string())
                .bind(ms(now))
                .execute(&mut *self.tx)
                .await?;
                self.wrote(r.rows_affected());
                Ok(r.rows_affected() == 1)
            }

            async fn revoke_all_tokens(
                &mut self,
                user_id: Uuid,
                keep: Option<Uuid>,
                now: DateTime<Utc>,
            ) -> Result<u64> {
                let r = sqlx::query(
                    "UPDATE tokens SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL \
                     AND ($3 IS NULL OR id <> $3)",
                )
                .bind(user_id.to_string())
                .bind(ms(now))
                .bind(keep.map(|k| k.to_string()))
                .execute(&mut *self.tx)
                .await?;
                self.wrote(r.rows_affected());
                Ok(r.rows_affected())
            }

            async fn set_password(&mut self, id: Uuid, password_hash: &str, must_change: bool) -> Result<bool> {
                let r = sqlx::query("UPDATE users SET password_hash = $2, must_change_password = $3 WHERE id = $1")
                    .bind(id.to_string())
                    .bind(password_hash)
                    .bind(must_change)
                    .execute(&mut *self.tx)
                    .await?;
                self.wrote(r.rows_affected());
                Ok(r.rows_affected() == 1)
            }

            async fn set_email(&mut self, id: Uuid, email: Option<&str>) -> Result<bool> {
                let r = sqlx::query("UPDATE users SET email = $2 WHERE id = $1")
                    .bind(id.to_string())
                    .bind(email)
                    .execute(&mut *self.tx)
                    .await?;
                self.wrote(r.rows_affected());
                Ok(r.rows_affected() == 1)
            }

            async fn insert_password_reset(&mut self, p: &PasswordReset) -> Result<()> {
                let r = sqlx::query(
                    "INSERT INTO password_resets (id, user_id, token_hash, created_at, expires_at, used_at) \
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(p.id.to_string())
                .bind(p.user_id.to_string())
                .bind(&p.token_hash)
                .bind(ms(p.created_at))
                .bind(ms(p.expires_at))
                .bind(p.used_at.map(ms))
                .execute(&mut *self.tx)
                .await?;
                self.wrote(r.rows_affected());
                Ok(())
            }

            async fn use_password_reset(&mut self, token_hash: &str, now: DateTime<Utc>) -> Result<Option<Uuid>> {
                let row = sqlx::query(
                    "UPDATE password_resets SET used_at = $2 \
                     WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2 RETURNING user_id",
                )
                .bind(token_hash)
                .bind(ms(now))
                .fetch_optional(&mut *self.tx)
                .await?;
                match row {
                    Some(r) => {
                        self.wrote(1);
                        Ok(Some(uuid(r.try_get("user_id")?)?))
                    }
                    None => Ok(None),
                }
            }

            async fn upsert_industry(&mut self, i: &Industry) -> Result<()> {
                let r = sqlx::query(
                    "INSERT INTO industries (code, name_zh, name_en, active, position) VALUES ($1, $2, $3, $4, $5) \
                     ON CONFLICT (code) DO UPDATE SET name_zh = $2, name_en = $3, active = $4, position = $5",
                )
                .bind(&i.code)
                .bind(&i.name_zh)
                .bind(&i.name_en)
                .bind(i.active)
                .bind(i.position)
                .execute(&mut *self.tx)
                .await?;
                self.wrote(r.rows_affected());
                Ok(())
            }

            async fn upsert_calendar_day(&mut self, d: &CalendarDay) -> Result<()> {
                let kind = match d.kind {
                    DayKind::Holiday => "holiday",
                    DayKind::Workday => "workday",
                };
                let r = sqlx::query(
                    "INSERT INTO calendar_days (day, kind, note) VALUES ($1, $2, $3) \
                     ON CONFLICT (day) DO UPDATE SET kind = $2, note = $3",
                )
                .bind(d.date.format("%Y-%m-%d").to_string())
                .bind(kind)
                .bind(&d.note)
                .execute(&mut *self.tx)
                .await?;
                self.wrote(r.rows_affected());
                Ok(())
            }

            async fn set_setting(&mut self, name: &str, value: &str) -> Result<()> {
                let r = sqlx::query(
                    "INSERT INTO settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET value = $2",
                )
                .bind(name)
                .bind(value)
                .execute(&mut *self.tx)
                .await?;
                self.wrote(r.rows_affected());
                Ok(())
            }

            async fn log_append_batch(&mut self, entries: &[(i64, Vec<u8>)]) -> Result<u64> {
                use dipr_ledger::merkle::{frontier, hashes_to_store, leaf_hash, MapSource};
                if entries.is_empty() {
                    return Err(StoreError::Config("empty log batch".into()));
                }
                let n = entries.len() as i64;
                // The log counter row is locked until commit: appends are serialised and gapless.
                let last: i64 = sqlx::query_scalar(
                    "INSERT INTO sequences (name, value) VALUES ('log', $1) \
                     ON CONFLICT (name) DO UPDATE SET value = sequences.value + $1 RETURNING value",
                )
                .bind(n)
                .fetch_one(&mut *self.tx)
                .await?;
                let first = (last - n) as u64;
                let mut nodes = MapSource(Tx::log_nodes(self, &frontier(first)).await?);
                let mut hashes = Vec::with_capacity(entries.len() * 2);
                for (i, (_, entry)) in entries.iter().enumerate() {
                    let stored = hashes_to_store(&nodes, first + i as u64, leaf_hash(entry))
                        .map_err(|e| StoreError::Corrupt(format!("log hashes: {e}")))?;
                    for (level, idx, h) in stored {
                        nodes.0.insert((level, idx), h);
                        hashes.push((level, idx, h));
                    }
                }
                // Bulk inserts, in chunks well under both databases' parameter limits.
                for (c, chunk) in entries.chunks(300).enumerate() {
                    let values: Vec<String> =
                        (0..chunk.len()).map(|k| format!("(${}, ${}, ${})", 3 * k + 1, 3 * k + 2, 3 * k + 3)).collect();
                    let sql = format!("INSERT INTO log_entries (idx, event_id, entry) VALUES {}", values.join(", "));
                    let mut q = sqlx::query(&sql);
                    for (k, (event_id, entry)) in chunk.iter().enumerate() {
                        q = q.bind((first + (c * 300 + k) as u64) as i64).bind(*event_id).bind(entry.as_slice());
                    }
                    q.execute(&mut *self.tx).await?;
                }
                fail::fail_point!("log-append-after-entries", |_| Err(StoreError::Injected("log-append-after-entries")));
                for chunk in hashes.chunks(300) {
                    let values: Vec<String> =
                        (0..chunk.len()).map(|k| format!("(${}, ${}, ${})", 3 * k + 1, 3 * k + 2, 3 * k + 3)).collect();
                    let sql = format!("INSERT INTO log_hashes (level, idx, hash) VALUES {}", values.join(", "));
                    let mut q = sqlx::query(&sql);
                    for (level, idx, h) in chunk {
                        q = q.bind(i64::from(*level)).bind(*idx as i64).bind(h.to_vec());
                    }
                    q.execute(&mut *self.tx).await?;
                }
                self.wrote(1);
                fail::fail_point!("log-append-after-hashes", |_| Err(StoreError::Injected("log-append-after-hashes")));
                Ok(first)
            }

            async fn log_nodes(&mut self, keys: &[(u8, u64)]) -> Result<std::collections::HashMap<(u8, u64), dipr_ledger::Hash>> {
                fetch_nodes!(keys, &mut *self.tx)
            }

            async fn insert_checkpoint(&mut self, size: u64, note: &str, now: DateTime<Utc>) -> Result<()> {
                fail::fail_point!("checkpoint-before-store", |_| Err(StoreError::Injected("checkpoint-before-store")));
                let r = sqlx::query("INSERT INTO log_checkpoints (size, note, created_at) VALUES ($1, $2, $3)")
                    .bind(size as i64)
                    .bind(note)
                    .bind(ms(now))
                    .execute(&mut *self.tx)
                    .await?;
                self.wrote(r.rows_affected());
                fail::fail_point!("checkpoint-after-store", |_| Err(StoreError::Injected("checkpoint-after-store")));
                Ok(())
            }

            async fn insert_manifest(&mut self, application_id: Uuid, manifest_sha256: &str, doc: &str, sketch: &[u64], now: DateTime<Utc>) -> Result<()> {
                let r = sqlx::query(
                    "INSERT INTO manifests (application_id, manifest_sha256, doc, sketch_size, created_at) \
                     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (application_id, manifest_sha256) DO NOTHING",
                )
                .bind(application_id.to_string())
                .bind(manifest_sha256)
                .bind(doc)
                .bind(sketch.len() as i64)
                .bind(ms(now))
                .execute(&mut *self.tx)
                .await?;
                if r.rows_affected() == 0 {
                    return Ok(());
                }
                self.wrote(1);
                for chunk in sketch.chunks(300) {
                    let values: Vec<String> =
                        (0..chunk.len()).map(|k| format!("(${}, ${}, ${})", 3 * k + 1, 3 * k + 2, 3 * k + 3)).collect();
                    let sql = format!(
                        "INSERT INTO sketch_index (hash, application_id, manifest_sha256) VALUES {} ON CONFLICT DO NOTHING",
                        values.join(", ")
                    );
                    let mut q = sqlx::query(&sql);
                    for h in chunk {
                        // u64 values are stored bit for bit in a signed BIGINT.
                        q = q.bind(*h as i64).bind(application_id.to_string()).bind(manifest_sha256);
                    }
                    q.execute(&mut *self.tx).await?;
                }
                Ok(())
            }

            async fn insert_cosignature(&mut self, size: u64, witness: &str, line: &str, now: DateTime<Utc>) -> Result<()> {
                fail::fail_point!("cosignature-before-store", |_| Err(StoreError::Injected("cosignature-before-store")));
                let r = sqlx::query(
                    "INSERT INTO log_cosignatures (size, witness, line, cosigned_at) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (size, witness) DO NOTHING",
                )
                .bind(size as i64)
                .bind(witness)
                .bind(line)
                .bind(ms(now))
                .execute(&mut *self.tx)
                .await?;
                self.wrote(r.rows_affected());
                fail::fail_point!("cosignature-after-store", |_| Err(StoreError::Injected("cosignature-after-store")));
                Ok(())
            }

            async fn insert_timestamp(
                &mut self,
                size: u64,
                tsa: &str,
                token: &[u8],
                gen_time: DateTime<Utc>,
                now: DateTime<Utc>,
            ) -> Result<()> {
                let r = sqlx::query(
                    "INSERT INTO log_timestamps (size, tsa, token, gen_time, created_at) VALUES ($1, $2, $3, $4, $5) \
                     ON CONFLICT (size, tsa) DO NOTHING",
                )
                .bind(size as i64)
                .bind(tsa)
                .bind(token)
                .bind(ms(gen_time))
                .bind(ms(now))
                .execute(&mut *self.tx)
                .await?;
                self.wrote(r.rows_affected());
                Ok(())
            }

            async fn insert_certificate(&mut self, application_id: Uuid, registration_number: &str, log_index: u64, doc: &str, now: DateTime<Utc>) -> Result<()> {
                let r = sqlx::query(
                    "INSERT INTO certificate_revisions (application_id, revision, registration_number, log_index, doc, created_at) \
                     SELECT $1, COALESCE(MAX(revision), 0) + 1, $2, $3, $4, $5 FROM certificate_revisions WHERE application_id = $1",
                )
                .bind(application_id.to_string())
                .bind(registration_number)
                .bind(log_index as i64)
                .bind(doc)
                .bind(ms(now))
                .execute(&mut *self.tx)
                .await?;
                self.wrote(r.rows_affected());
                Ok(())
            }

            async fn append_event(&mut self, e: &NewEvent) -> Result<i64> {
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO events (at, actor_id, actor_name, actor_role, subject_type, subject_id, kind, \
                     from_state, to_state, reasons, payload) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
                )
                .bind(ms(e.at))
                .bind(e.actor_id.map(|u| u.to_string()))
                .bind(&e.actor_name)
                .bind(e.actor_role.as_str())
                .bind(&e.subject_type)
                .bind(&e.subject_id)
                .bind(&e.kind)
                .bind(&e.from_state)
                .bind(&e.to_state)
                .bind(&e.reasons)
                .bind(e.payload.to_string())
                .fetch_one(&mut *self.tx)
                .await?;
                self.events += 1;
                Ok(id)
            }

            async fn commit(self: Box<Self>) -> Result<()> {
                if self.writes > 0 && self.events == 0 {
                    return Err(StoreError::UnloggedWrite);
                }
                let wrote = self.writes > 0 || self.events > 0;
                fail::fail_point!("commit-before", |_| Err(StoreError::Injected("commit-before")));
                self.tx.commit().await?;
                match &self.wal {
                    Some(wal) if wrote => wal.durable().await?,
                    _ => {}
                }
                // Committed and durable, but the caller is not told: as a crash before the answer.
                fail::fail_point!("commit-after", |_| Err(StoreError::Injected("commit-after")));
                Ok(())
            }
        }

        impl_watches!($store, $tx, $dialect);

        impl $store {
            /// Wait until what this store has committed is on disk (SQLite's group commit; PostgreSQL's
            /// commits are durable when they return).
            async fn durable(&self) -> Result<()> {
                match &self.wal {
                    Some(wal) => wal.durable().await,
                    None => Ok(()),
                }
            }

            /// One page of a filtered list of applications, as the stored JSON column `col`: counted up to
            /// [`COUNT_CAP`], and after the page's cursor when it has one and the list is not ranked.
            async fn application_rows(&self, f: &ApplicationFilter, page: Page, col: &str) -> Result<Paged<String>> {
                let q = application_query(f, $dialect);
                if let Some(found) = q.indexed {
                    // Counted only as far as ranking goes: beyond it the reader is asked to narrow the search, and
                    // counting further would cost more than the page.
                    let count_sql = format!("SELECT COUNT(*) AS n FROM ({} LIMIT {}) c", found.count, RANK_CAP + 1);
                    let counted: i64 = bind_all!(sqlx::query(&count_sql), application_query(f, $dialect).binds)
                        .fetch_one(&self.read)
                        .await?
                        .try_get("n")?;
                    let ranked = counted <= RANK_CAP;
                    let from = if ranked { found.ranked } else { found.newest };
                    let sql = format!("SELECT {col} FROM {from} ORDER BY m.r ASC, updated_at DESC, id DESC");
                    let mut binds = q.binds;
                    binds.push(Bind::Int(i64::from(page.per_page)));
                    binds.push(Bind::Int(page.offset()));
                    let rows = bind_all!(sqlx::query(&sql), binds).fetch_all(&self.read).await?;
                    let items =
                        rows.iter().map(|r| r.try_get::<String, _>(col)).collect::<std::result::Result<_, _>>()?;
                    return Ok(Paged {
                        items,
                        page: page.page,
                        per_page: page.per_page,
                        total: counted.min(RANK_CAP),
                        total_exact: ranked,
                        ranked,
                        next: None,
                    });
                }
                let count_sql =
                    format!("SELECT COUNT(*) AS n FROM (SELECT 1 FROM {}{} LIMIT {}) c", q.from, q.cond, COUNT_CAP + 1);
                let counted: i64 = bind_all!(sqlx::query(&count_sql), application_query(f, $dialect).binds)
                    .fetch_one(&self.read)
                    .await?
                    .try_get("n")?;
                let keyset = !(q.ranked && f.order == Order::Relevance);
                let mut binds = q.binds;
                let mut cond = q.cond;
                if let (Some(c), true) = (page.after, keyset) {
                    binds.push(Bind::Int(c.updated_at_ms));
                    binds.push(Bind::Text(c.id.to_string()));
                    let cmp = if f.order == Order::OldestFirst { ">" } else { "<" };
                    let (a, b) = (binds.len() - 1, binds.len());
                    let clause = format!("(updated_at, id) {cmp} (${a}, ${b})");
                    cond = if cond.is_empty() { format!(" WHERE {clause}") } else { format!("{cond} AND {clause}") };
                }
                let n = binds.len();
                let order = AppQuery::order_of(q.ranked, f.order);
                let sql = format!(
                    "SELECT {col}, updated_at, id FROM {}{cond} ORDER BY {order} LIMIT ${} OFFSET ${}",
                    q.from,
                    n + 1,
                    n + 2
                );
                binds.push(Bind::Int(i64::from(page.per_page)));
                binds.push(Bind::Int(page.offset()));
                let rows = bind_all!(sqlx::query(&sql), binds).fetch_all(&self.read).await?;
                let next = match rows.last() {
                    Some(last) if keyset && rows.len() == page.per_page as usize => Some(
                        Cursor { updated_at_ms: last.try_get("updated_at")?, id: uuid(last.try_get("id")?)? }.to_string(),
                    ),
                    _ => None,
                };
                let items = rows.iter().map(|r| r.try_get::<String, _>(col)).collect::<std::result::Result<_, _>>()?;
                Ok(Paged {
                    items,
                    page: page.page,
                    per_page: page.per_page,
                    total: counted.min(COUNT_CAP),
                    total_exact: counted <= COUNT_CAP,
                    ranked: q.ranked && f.order == Order::Relevance,
                    next,
                })
            }
        }

        #[async_trait]
        impl Store for $store {
            fn backend(&self) -> &'static str {
                $backend
            }

            fn pool_status(&self) -> PoolStatus {
                PoolStatus {
                    connections: self.read.size() + self.write.size(),
                    idle: self.read.num_idle() + self.write.num_idle(),
                }
            }

            async fn ping(&self) -> Result<()> {
                sqlx::query("SELECT 1").execute(&self.read).await?;
                Ok(())
            }

            async fn begin(&self) -> Result<Box<dyn Tx>> {
                let tx = self.write.begin().await?;
                Ok(Box::new($tx { tx, writes: 0, events: 0, wal: self.wal.clone() }))
            }

            async fn application(&self, id: Uuid) -> Result<Option<Application>> {
                let row = sqlx::query("SELECT doc FROM applications WHERE id = $1")
                    .bind(id.to_string())
                    .fetch_optional(&self.read)
                    .await?;
                let Some(mut app) = row.map(|r| json::<Application>(r.try_get::<&str, _>("doc")?)).transpose()? else {
                    return Ok(None);
                };
                with_objections!(&self.read, std::slice::from_mut(&mut app))?;
                Ok(Some(app))
            }

            async fn applications(&self, f: &ApplicationFilter, page: Page) -> Result<Paged<Application>> {
                let rows = self.application_rows(f, page, "doc").await?;
                let mut items = rows.items.iter().map(|d| json(d)).collect::<Result<Vec<Application>>>()?;
                with_objections!(&self.read, &mut items)?;
                Ok(rows.with(items))
            }

            async fn public_records(&self, f: &ApplicationFilter, page: Page) -> Result<Paged<Box<RawValue>>> {
                let f = ApplicationFilter { public_only: true, ..f.clone() };
                let rows = self.application_rows(&f, page, "public_doc").await?;
                let items = rows
                    .items
                    .iter()
                    .map(|d| RawValue::from_string(d.clone()).map_err(|e| StoreError::Corrupt(e.to_string())))
                    .collect::<Result<Vec<_>>>()?;
                Ok(rows.with(items))
            }

            async fn due_applications(&self, now: DateTime<Utc>, limit: u32) -> Result<Vec<Uuid>> {
                let rows = sqlx::query(
                    "SELECT id FROM applications WHERE deadline_at IS NOT NULL AND deadline_at <= $1 \
                     ORDER BY deadline_at LIMIT $2",
                )
                .bind(ms(now))
                .bind(i64::from(limit))
                .fetch_all(&self.read)
                .await?;
                rows.iter().map(|r| uuid(r.try_get("id")?)).collect()
            }

            async fn last_withdrawal(&self, applicant_id: Uuid, product_key: &str) -> Result<Option<DateTime<Utc>>> {
                let v: Option<i64> = sqlx::query_scalar(
                    "SELECT MAX(withdrawn_at) FROM applications WHERE applicant_id = $1 AND product_key = $2 \
                     AND state = $3",
                )
                .bind(applicant_id.to_string())
                .bind(product_key)
                .bind(State::Withdrawn.as_str())
                .fetch_one(&self.read)
                .await?;
                v.map(from_ms).transpose()
            }

            async fn events(&self, subject_type: &str, subject_id: &str) -> Result<Vec<EventRecord>> {
                let sql = format!("SELECT {EVENT_COLS} FROM events WHERE subject_type = $1 AND subject_id = $2 ORDER BY id");
                let rows = sqlx::query(&sql).bind(subject_type).bind(subject_id).fetch_all(&self.read).await?;
                rows.iter().map(|r| Ok(event_from_row!(r))).collect()
            }

            async fn events_by_ids(&self, ids: &[i64]) -> Result<Vec<EventRecord>> {
                let mut out = Vec::with_capacity(ids.len());
                for chunk in ids.chunks(500) {
                    let list: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
                    let sql = format!("SELECT {EVENT_COLS} FROM events WHERE id IN ({}) ORDER BY id", list.join(", "));
                    let mut q = sqlx::query(&sql);
                    for id in chunk {
                        q = q.bind(*id);
                    }
                    for r in q.fetch_all(&self.read).await? {
                        out.push(event_from_row!(&r));
                    }
                }
                Ok(out)
            }

            async fn applications_by_ids(&self, ids: &[Uuid]) -> Result<Vec<Application>> {
                let mut out = Vec::with_capacity(ids.len());
                for chunk in ids.chunks(500) {
                    let list: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
                    let sql = format!("SELECT doc FROM applications WHERE id IN ({})", list.join(", "));
                    let mut q = sqlx::query(&sql);
                    for id in chunk {
                        q = q.bind(id.to_string());
                    }
                    let mut apps = q
                        .fetch_all(&self.read)
                        .await?
                        .iter()
                        .map(|r| json::<Application>(r.try_get::<&str, _>("doc")?))
                        .collect::<Result<Vec<_>>>()?;
                    with_objections!(&self.read, &mut apps)?;
                    out.extend(apps);
                }
                Ok(out)
            }

            async fn public_application_ids(&self) -> Result<Vec<Uuid>> {
                let rows: Vec<String> = sqlx::query_scalar("SELECT id FROM applications WHERE is_public = $1")
                    .bind(true)
                    .fetch_all(&self.read)
                    .await?;
                rows.iter().map(|id| uuid(id)).collect()
            }

            async fn party(&self, id: Uuid) -> Result<Option<Party>> {
                let row = sqlx::query("SELECT doc FROM parties WHERE id = $1")
                    .bind(id.to_string())
                    .fetch_optional(&self.read)
                    .await?;
                row.map(|r| json(r.try_get::<&str, _>("doc")?)).transpose()
            }

            async fn party_by_id_number(&self, id_number: &str) -> Result<Option<Party>> {
                let row = sqlx::query("SELECT doc FROM parties WHERE id_number = $1")
                    .bind(id_number)
                    .fetch_optional(&self.read)
                    .await?;
                row.map(|r| json(r.try_get::<&str, _>("doc")?)).transpose()
            }

            async fn user(&self, id: Uuid) -> Result<Option<UserRecord>> {
                let sql = format!("SELECT {USER_COLS} FROM users WHERE id = $1");
                let row = sqlx::query(&sql).bind(id.to_string()).fetch_optional(&self.read).await?;
                Ok(match row {
                    Some(r) => Some(user_from_row!(&r)),
                    None => None,
                })
            }

            async fn user_by_username(&self, username: &str) -> Result<Option<UserRecord>> {
                let sql = format!("SELECT {USER_COLS} FROM users WHERE username = $1");
                let row = sqlx::query(&sql).bind(username).fetch_optional(&self.read).await?;
                Ok(match row {
                    Some(r) => Some(user_from_row!(&r)),
                    None => None,
                })
            }

            async fn users(&self, page: Page) -> Result<Paged<UserRecord>> {
                let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users").fetch_one(&self.read).await?;
                let sql = format!("SELECT {USER_COLS} FROM users ORDER BY created_at, id LIMIT $1 OFFSET $2");
                let rows = sqlx::query(&sql)
                    .bind(i64::from(page.per_page))
                    .bind(page.offset())
                    .fetch_all(&self.read)
                    .await?;
                let mut items = Vec::with_capacity(rows.len());
                for r in &rows {
                    items.push(user_from_row!(r));
                }
                Ok(Paged::exact(items, page, total))
            }

            async fn authenticate(
                &self,
                token_hash: &str,
                now: DateTime<Utc>,
            ) -> Result<Option<(UserRecord, TokenRecord)>> {
                let sql = format!(
                    "SELECT users.{}, {TOKEN_COLS} FROM tokens JOIN users ON users.id = tokens.user_id \
                     WHERE token_hash = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $2) \
                     AND users.disabled = $3",
                    USER_COLS.replace(", ", ", users.")
                );
                let row = sqlx::query(&sql)
                    .bind(token_hash)
                    .bind(ms(now))
                    .bind(false)
                    .fetch_optional(&self.read)
                    .await?;
                Ok(match row {
                    Some(r) => Some((user_from_row!(&r), token_from_row!(&r))),
                    None => None,
                })
            }

            async fn tokens_of(&self, user_id: Uuid) -> Result<Vec<TokenRecord>> {
                let sql = format!("SELECT {TOKEN_COLS} FROM tokens WHERE user_id = $1 ORDER BY tokens.created_at");
                let rows = sqlx::query(&sql).bind(user_id.to_string()).fetch_all(&self.read).await?;
                let mut out = Vec::with_capacity(rows.len());
                for r in &rows {
                    out.push(token_from_row!(r));
                }
                Ok(out)
            }

            async fn users_by_email(&self, email: &str, limit: u32) -> Result<Vec<UserRecord>> {
                let sql = format!("SELECT {USER_COLS} FROM users WHERE email = $1 ORDER BY created_at, id LIMIT $2");
                let rows = sqlx::query(&sql).bind(email).bind(i64::from(limit)).fetch_all(&self.read).await?;
                let mut out = Vec::with_capacity(rows.len());
                for r in &rows {
                    out.push(user_from_row!(r));
                }
                Ok(out)
            }

            async fn password_reset(&self, token_hash: &str) -> Result<Option<PasswordReset>> {
                let row = sqlx::query(
                    "SELECT id, user_id, token_hash, created_at, expires_at, used_at FROM password_resets \
                     WHERE token_hash = $1",
                )
                .bind(token_hash)
                .fetch_optional(&self.read)
                .await?;
                let Some(r) = row else { return Ok(None) };
                Ok(Some(PasswordReset {
                    id: uuid(r.try_get("id")?)?,
                    user_id: uuid(r.try_get("user_id")?)?,
                    token_hash: r.try_get("token_hash")?,
                    created_at: from_ms(r.try_get("created_at")?)?,
                    expires_at: from_ms(r.try_get("expires_at")?)?,
                    used_at: r.try_get::<Option<i64>, _>("used_at")?.map(from_ms).transpose()?,
                }))
            }

            async fn password_resets_since(&self, user_id: Uuid, since: DateTime<Utc>) -> Result<u64> {
                let n: i64 =
                    sqlx::query_scalar("SELECT COUNT(*) FROM password_resets WHERE user_id = $1 AND created_at >= $2")
                        .bind(user_id.to_string())
                        .bind(ms(since))
                        .fetch_one(&self.read)
                        .await?;
                Ok(n as u64)
            }

            async fn log_indexes(&self, event_ids: &[i64]) -> Result<std::collections::HashMap<i64, u64>> {
                let mut out = std::collections::HashMap::new();
                for chunk in event_ids.chunks(500) {
                    let list: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
                    let sql = format!("SELECT event_id, idx FROM log_entries WHERE event_id IN ({})", list.join(", "));
                    let mut q = sqlx::query(&sql);
                    for id in chunk {
                        q = q.bind(*id);
                    }
                    for r in q.fetch_all(&self.read).await? {
                        out.insert(r.try_get::<i64, _>("event_id")?, r.try_get::<i64, _>("idx")? as u64);
                    }
                }
                Ok(out)
            }

            async fn log_size(&self) -> Result<u64> {
                let v: Option<i64> = sqlx::query_scalar("SELECT value FROM sequences WHERE name = 'log'")
                    .fetch_optional(&self.read)
                    .await?;
                Ok(v.unwrap_or(0) as u64)
            }

            async fn log_nodes(&self, keys: &[(u8, u64)]) -> Result<std::collections::HashMap<(u8, u64), dipr_ledger::Hash>> {
                fetch_nodes!(keys, &self.read)
            }

            async fn log_entries(&self, from: u64, to: u64) -> Result<Vec<Vec<u8>>> {
                let rows = sqlx::query("SELECT entry FROM log_entries WHERE idx >= $1 AND idx < $2 ORDER BY idx")
                    .bind(from as i64)
                    .bind(to as i64)
                    .fetch_all(&self.read)
                    .await?;
                rows.iter().map(|r| Ok(r.try_get::<Vec<u8>, _>("entry")?)).collect()
            }

            async fn checkpoint(&self, size: Option<u64>) -> Result<Option<(u64, String)>> {
                let row = match size {
                    Some(s) => sqlx::query("SELECT size, note FROM log_checkpoints WHERE size = $1").bind(s as i64).fetch_optional(&self.read).await?,
                    None => sqlx::query("SELECT size, note FROM log_checkpoints ORDER BY size DESC LIMIT 1").fetch_optional(&self.read).await?,
                };
                Ok(match row {
                    Some(r) => Some((r.try_get::<i64, _>("size")? as u64, r.try_get("note")?)),
                    None => None,
                })
            }

            async fn checkpoints(&self, from: u64, to: u64) -> Result<Vec<(u64, String)>> {
                let rows = sqlx::query("SELECT size, note FROM log_checkpoints WHERE size >= $1 AND size <= $2 ORDER BY size")
                    .bind(from.min(i64::MAX as u64) as i64)
                    .bind(to.min(i64::MAX as u64) as i64)
                    .fetch_all(&self.read)
                    .await?;
                rows.iter().map(|r| Ok((r.try_get::<i64, _>("size")? as u64, r.try_get("note")?))).collect()
            }

            async fn log_rows(&self, from: u64, to: u64) -> Result<Vec<LogRow>> {
                let rows = sqlx::query("SELECT idx, event_id, entry FROM log_entries WHERE idx >= $1 AND idx < $2 ORDER BY idx")
                    .bind(from.min(i64::MAX as u64) as i64)
                    .bind(to.min(i64::MAX as u64) as i64)
                    .fetch_all(&self.read)
                    .await?;
                rows.iter()
                    .map(|r| {
                        Ok(LogRow {
                            index: r.try_get::<i64, _>("idx")? as u64,
                            event_id: r.try_get("event_id")?,
                            entry: r.try_get("entry")?,
                        })
                    })
                    .collect()
            }

            async fn latest_log_rows(&self, filter: &LogFilter, limit: u32) -> Result<Vec<LogRow>> {
                // Newest first by event id, which indexes serve (events(kind, id), events(to_state, id),
                // events_subject); the log's order is restored below.
                let head = "SELECT l.idx, l.event_id, l.entry FROM events e JOIN log_entries l ON l.event_id = e.id WHERE ";
                let rows = match filter {
                    LogFilter::Kinds(kinds) => {
                        let marks: Vec<String> = (2..kinds.len() + 2).map(|i| format!("${i}")).collect();
                        let sql = format!("{head}e.kind IN ({}) ORDER BY e.id DESC LIMIT $1", marks.join(", "));
                        let mut q = sqlx::query(&sql).bind(i64::from(limit));
                        for k in kinds {
                            q = q.bind(k.as_str());
                        }
                        q.fetch_all(&self.read).await?
                    }
                    LogFilter::Registrations => {
                        let sql = format!(
                            "{head}e.to_state = 'registered' AND (e.from_state IS NULL OR e.from_state <> 'registered') \
                             ORDER BY e.id DESC LIMIT $1"
                        );
                        sqlx::query(&sql).bind(i64::from(limit)).fetch_all(&self.read).await?
                    }
                    LogFilter::Subject(id) => {
                        let sql = format!(
                            "{head}e.subject_type = 'application' AND e.subject_id = $2 ORDER BY e.id DESC LIMIT $1"
                        );
                        sqlx::query(&sql).bind(i64::from(limit)).bind(id.to_string()).fetch_all(&self.read).await?
                    }
                };
                let mut rows = rows
                    .iter()
                    .map(|r| {
                        Ok(LogRow {
                            index: r.try_get::<i64, _>("idx")? as u64,
                            event_id: r.try_get("event_id")?,
                            entry: r.try_get("entry")?,
                        })
                    })
                    .collect::<Result<Vec<_>>>()?;
                rows.sort_by(|a, b| b.index.cmp(&a.index));
                Ok(rows)
            }

            async fn cosignatures(&self, size: u64) -> Result<Vec<String>> {
                Ok(sqlx::query_scalar("SELECT line FROM log_cosignatures WHERE size = $1 ORDER BY witness")
                    .bind(size as i64)
                    .fetch_all(&self.read)
                    .await?)
            }

            async fn latest_cosigned_size(&self, witness: &str) -> Result<Option<u64>> {
                let v: Option<i64> = sqlx::query_scalar("SELECT MAX(size) FROM log_cosignatures WHERE witness = $1")
                    .bind(witness)
                    .fetch_one(&self.read)
                    .await?;
                Ok(v.map(|v| v as u64))
            }

            async fn latest_quorum_size(&self, quorum: usize) -> Result<Option<u64>> {
                let v: Option<i64> = sqlx::query_scalar(
                    "SELECT size FROM log_cosignatures GROUP BY size HAVING COUNT(*) >= $1 ORDER BY size DESC LIMIT 1",
                )
                .bind(quorum as i64)
                .fetch_optional(&self.read)
                .await?;
                Ok(v.map(|v| v as u64))
            }

            async fn timestamps(&self, size: u64) -> Result<Vec<(String, Vec<u8>)>> {
                let rows = sqlx::query("SELECT tsa, token FROM log_timestamps WHERE size = $1 ORDER BY tsa")
                    .bind(size as i64)
                    .fetch_all(&self.read)
                    .await?;
                rows.iter().map(|r| Ok((r.try_get("tsa")?, r.try_get("token")?))).collect()
            }

            async fn timestamped_sizes(&self, limit: u32) -> Result<Vec<u64>> {
                let v: Vec<i64> = sqlx::query_scalar("SELECT DISTINCT size FROM log_timestamps ORDER BY size DESC LIMIT $1")
                    .bind(i64::from(limit))
                    .fetch_all(&self.read)
                    .await?;
                Ok(v.into_iter().map(|s| s as u64).collect())
            }

            async fn manifest(&self, application_id: Uuid, manifest_sha256: &str) -> Result<Option<String>> {
                Ok(sqlx::query_scalar("SELECT doc FROM manifests WHERE application_id = $1 AND manifest_sha256 = $2")
                    .bind(application_id.to_string())
                    .bind(manifest_sha256)
                    .fetch_optional(&self.read)
                    .await?)
            }

            async fn sketch_matches(&self, hashes: &[u64]) -> Result<Vec<SketchMatch>> {
                let mut totals: std::collections::HashMap<(String, String), (u64, u64)> = std::collections::HashMap::new();
                for chunk in hashes.chunks(500) {
                    let list: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
                    let sql = format!(
                        "SELECT s.application_id, s.manifest_sha256, COUNT(*) AS n, m.sketch_size FROM sketch_index s \
                         JOIN manifests m ON m.application_id = s.application_id AND m.manifest_sha256 = s.manifest_sha256 \
                         WHERE s.hash IN ({}) GROUP BY s.application_id, s.manifest_sha256, m.sketch_size",
                        list.join(", ")
                    );
                    let mut q = sqlx::query(&sql);
                    for h in chunk {
                        q = q.bind(*h as i64);
                    }
                    for r in q.fetch_all(&self.read).await? {
                        let key = (r.try_get::<String, _>("application_id")?, r.try_get::<String, _>("manifest_sha256")?);
                        let e = totals.entry(key).or_insert((0, r.try_get::<i64, _>("sketch_size")? as u64));
                        e.0 += r.try_get::<i64, _>("n")? as u64;
                    }
                }
                totals
                    .into_iter()
                    .map(|((app, sha), (matched, size))| Ok(SketchMatch { application_id: uuid(&app)?, manifest_sha256: sha, matched, sketch_size: size }))
                    .collect()
            }

            async fn certificate(&self, application_id: Uuid) -> Result<Option<String>> {
                Ok(sqlx::query_scalar(
                    "SELECT doc FROM certificate_revisions WHERE application_id = $1 ORDER BY revision DESC LIMIT 1",
                )
                    .bind(application_id.to_string())
                    .fetch_optional(&self.read)
                    .await?)
            }

            async fn certificate_revisions(&self, application_id: Uuid) -> Result<Vec<String>> {
                Ok(sqlx::query_scalar("SELECT doc FROM certificate_revisions WHERE application_id = $1 ORDER BY revision")
                    .bind(application_id.to_string())
                    .fetch_all(&self.read)
                    .await?)
            }

            async fn application_by_registration_number(&self, number: &str) -> Result<Option<Application>> {
                let row = sqlx::query("SELECT doc FROM applications WHERE registration_number = $1")
                    .bind(number)
                    .fetch_optional(&self.read)
                    .await?;
                let Some(mut app) = row.map(|r| json::<Application>(r.try_get::<&str, _>("doc")?)).transpose()? else {
                    return Ok(None);
                };
                with_objections!(&self.read, std::slice::from_mut(&mut app))?;
                Ok(Some(app))
            }

            async fn derived_products(&self, registration_number: &str) -> Result<Vec<(Box<RawValue>, Option<Uuid>)>> {
                let rows = sqlx::query(
                    "SELECT a.public_doc, l.licence_id FROM lineage l JOIN applications a ON a.id = l.child_id \
                     WHERE l.parent_number = $1 AND a.is_public = $2 ORDER BY a.created_at",
                )
                .bind(registration_number)
                .bind(true)
                .fetch_all(&self.read)
                .await?;
                rows.iter()
                    .map(|r| {
                        let doc: String = r.try_get("public_doc")?;
                        let licence: Option<String> = r.try_get("licence_id")?;
                        Ok((
                            RawValue::from_string(doc).map_err(|e| StoreError::Corrupt(e.to_string()))?,
                            licence.as_deref().map(uuid).transpose()?,
                        ))
                    })
                    .collect()
            }

            async fn transactions(&self, application_id: Uuid, page: Page) -> Result<Paged<Transaction>> {
                let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM transactions WHERE application_id = $1")
                    .bind(application_id.to_string())
                    .fetch_one(&self.read)
                    .await?;
                let rows = sqlx::query(
                    "SELECT id, kind, amount_fen, occurred_on, counterparty, licence_id, note, recorded_at \
                     FROM transactions WHERE application_id = $1 ORDER BY occurred_on DESC, recorded_at DESC LIMIT $2 OFFSET $3",
                )
                .bind(application_id.to_string())
                .bind(i64::from(page.per_page))
                .bind(page.offset())
                .fetch_all(&self.read)
                .await?;
                let items = rows
                    .iter()
                    .map(|r| {
                        let kind: String = r.try_get("kind")?;
                        let day: String = r.try_get("occurred_on")?;
                        let licence: Option<String> = r.try_get("licence_id")?;
                        Ok(Transaction {
                            id: uuid(r.try_get("id")?)?,
                            application_id,
                            kind: TransactionKind::parse(&kind).ok_or_else(|| StoreError::Corrupt(format!("transaction kind {kind:?}")))?,
                            amount: Money::from_fen(r.try_get("amount_fen")?).map_err(|e| StoreError::Corrupt(e.to_string()))?,
                            occurred_on: chrono::NaiveDate::parse_from_str(&day, "%Y-%m-%d").map_err(|e| StoreError::Corrupt(e.to_string()))?,
                            counterparty: r.try_get("counterparty")?,
                            licence_id: licence.as_deref().map(uuid).transpose()?,
                            note: r.try_get("note")?,
                            recorded_at: from_ms(r.try_get("recorded_at")?)?,
                        })
                    })
                    .collect::<Result<Vec<_>>>()?;
                Ok(Paged::exact(items, page, total))
            }

            async fn product_value(&self, application_id: Uuid) -> Result<Vec<ValueByKind>> {
                let rows: Vec<(String, i64, Option<i64>)> = sqlx::query_as(
                    "SELECT kind, COUNT(*), CAST(SUM(amount_fen) AS BIGINT) FROM transactions WHERE application_id = $1 \
                     GROUP BY kind ORDER BY kind",
                )
                .bind(application_id.to_string())
                .fetch_all(&self.read)
                .await?;
                Ok(rows
                    .into_iter()
                    .map(|(kind, n, sum)| ValueByKind { kind, transactions: n, amount_fen: sum.unwrap_or(0), products: Some(1) })
                    .collect())
            }

            async fn statistics(&self, f: &StatsFilter) -> Result<Statistics> {
                use std::collections::BTreeMap;
                let pool = &self.read;
                let submitted = || stats_where(f, Some(DateCol::Ms("submitted_at")));
                let decided = || stats_where(f, Some(DateCol::Ms("decided_at")));
                // The queries are independent: run them side by side on the read pool.
                let filings_submitted = async {
                    let (w, b) = submitted();
                    let sql = format!(
                        "SELECT submitted_month, COUNT(*) FROM filings WHERE submitted_at IS NOT NULL AND {w} \
                         GROUP BY submitted_month"
                    );
                    let months: Vec<(String, i64)> = bind_all!(sqlx::query_as(&sql), b).fetch_all(pool).await?;
                    Ok::<_, StoreError>(months)
                };
                // Applicants with a filing in the period, each counted once (with its latest attributes).
                let applicants = async {
                    let (w, b) = submitted();
                    let sql = format!(
                        "SELECT kind, ownership, COUNT(*), CAST(SUM(ht) AS BIGINT), CAST(SUM(sp) AS BIGINT), \
                         CAST(SUM(un) AS BIGINT) FROM (SELECT applicant_id, MAX(applicant_kind) AS kind, \
                         MAX(ownership) AS ownership, MAX(CASE WHEN high_tech THEN 1 ELSE 0 END) AS ht, \
                         MAX(CASE WHEN specialised THEN 1 ELSE 0 END) AS sp, \
                         MAX(CASE WHEN university THEN 1 ELSE 0 END) AS un \
                         FROM filings WHERE submitted_at IS NOT NULL AND {w} GROUP BY applicant_id) a \
                         GROUP BY kind, ownership"
                    );
                    let rows: Vec<(String, Option<String>, i64, i64, i64, i64)> =
                        bind_all!(sqlx::query_as(&sql), b).fetch_all(pool).await?;
                    Ok::<_, StoreError>(rows)
                };
                let filings_decided = async {
                    let (w, b) = decided();
                    let sql = format!(
                        "SELECT outcome, decided_month, COALESCE(object_type, ''), industry, COUNT(*) \
                         FROM filings WHERE outcome IS NOT NULL AND {w} GROUP BY outcome, decided_month, object_type, industry"
                    );
                    let rows: Vec<(String, String, String, String, i64)> =
                        bind_all!(sqlx::query_as(&sql), b).fetch_all(pool).await?;
                    Ok::<_, StoreError>(rows)
                };
                // Time to decision as a histogram of whole days (exact mean from the sum).
                let decision_days = async {
                    let (w, b) = decided();
                    let sql = format!(
                        "SELECT (decided_at - submitted_at) / 86400000, COUNT(*), CAST(SUM(decided_at - submitted_at) AS BIGINT) \
                         FROM filings WHERE outcome IN ('registered', 'rejected', 'refused') AND submitted_at IS NOT NULL \
                         AND {w} GROUP BY (decided_at - submitted_at) / 86400000"
                    );
                    let rows: Vec<(i64, i64, i64)> = bind_all!(sqlx::query_as(&sql), b).fetch_all(pool).await?;
                    Ok::<_, StoreError>(rows)
                };
                let value = async {
                    let (w, b) = stats_where(f, Some(DateCol::Day("day")));
                    let sql = format!(
                        "SELECT kind, SUBSTR(day, 1, 7), CAST(SUM(transactions) AS BIGINT), CAST(SUM(amount_fen) AS BIGINT) \
                         FROM value_daily WHERE {w} GROUP BY kind, SUBSTR(day, 1, 7)"
                    );
                    let rows: Vec<(String, String, i64, i64)> = bind_all!(sqlx::query_as(&sql), b).fetch_all(pool).await?;
                    Ok::<_, StoreError>(rows)
                };
                // Products that earned something in the period. A product's first and last transaction dates
                // decide almost every case: a span that overlaps the period and starts or ends inside it has a
                // transaction inside it. Only a span that covers the whole period, starting before and ending
                // after it, is probed in the transactions' index. Per kind, counted for the whole record only.
                let earners = async {
                    let (w, mut b) = stats_where(f, None);
                    let mut overlaps = vec!["1 = 1".to_string()];
                    let mut decided = Vec::new();
                    let mut window = String::new();
                    if let Some(from) = f.from {
                        b.push(Bind::Text(from.to_string()));
                        let n = b.len();
                        overlaps.push(format!("s.last_on >= ${n}"));
                        decided.push(format!("s.first_on >= ${n}"));
                        window.push_str(&format!(" AND t.occurred_on >= ${n}"));
                    }
                    if let Some(to) = f.to {
                        b.push(Bind::Text(to.to_string()));
                        let n = b.len();
                        overlaps.push(format!("s.first_on <= ${n}"));
                        decided.push(format!("s.last_on <= ${n}"));
                        window.push_str(&format!(" AND t.occurred_on <= ${n}"));
                    }
                    let overlaps = overlaps.join(" AND ");
                    // With one bound or none, overlapping is earning; with both, a covering span is probed.
                    let sql = if decided.len() < 2 {
                        format!("SELECT COUNT(*) FROM product_spans s WHERE {w} AND {overlaps}")
                    } else {
                        format!(
                            "SELECT COUNT(*) FROM product_spans s WHERE {w} AND {overlaps} AND ({} OR EXISTS \
                             (SELECT 1 FROM transactions t WHERE t.application_id = s.application_id{window}))",
                            decided.join(" OR ")
                        )
                    };
                    let any: i64 = bind_all!(sqlx::query_scalar(&sql), b).fetch_one(pool).await?;
                    let per_kind: Vec<(String, i64)> = if f.from.is_none() && f.to.is_none() {
                        let (w, b) = stats_where(f, None);
                        let sql = format!("SELECT kind, COUNT(*) FROM product_kinds WHERE {w} GROUP BY kind");
                        bind_all!(sqlx::query_as(&sql), b).fetch_all(pool).await?
                    } else {
                        Vec::new()
                    };
                    Ok::<_, StoreError>((per_kind, any))
                };
                let pledges = async {
                    let (w, b) = stats_where(f, Some(DateCol::Ms("registered_at")));
                    let sql = format!(
                        "SELECT COUNT(DISTINCT debtor_id), COUNT(*), CAST(SUM(secured_fen) AS BIGINT) FROM pledges \
                         WHERE registered_at IS NOT NULL AND {w}"
                    );
                    let row: (i64, i64, Option<i64>) = bind_all!(sqlx::query_as(&sql), b).fetch_one(pool).await?;
                    let (w, b) = stats_where(f, None);
                    let sql = format!("SELECT COUNT(*) FROM pledges WHERE status = 'active' AND {w}");
                    let active: i64 = bind_all!(sqlx::query_scalar(&sql), b).fetch_one(pool).await?;
                    Ok::<_, StoreError>((row, active))
                };
                let (submitted_months, applicant_rows, decided_rows, day_rows, value_rows, earners, pledges) = tokio::try_join!(
                    filings_submitted,
                    applicants,
                    filings_decided,
                    decision_days,
                    value,
                    earners,
                    pledges
                )?;

                let mut months: BTreeMap<String, MonthRow> = BTreeMap::new();
                let mut applications = 0;
                for (m, n) in &submitted_months {
                    month_row(&mut months, m).applications += n;
                    applications += n;
                }
                let mut by_kind: BTreeMap<String, i64> = BTreeMap::new();
                let mut by_ownership: BTreeMap<String, i64> = BTreeMap::new();
                let (mut total_applicants, mut high_tech, mut specialised, mut university) = (0, 0, 0, 0);
                for (kind, ownership, n, ht, sp, un) in applicant_rows {
                    total_applicants += n;
                    *by_kind.entry(kind).or_default() += n;
                    if let Some(o) = ownership {
                        *by_ownership.entry(o).or_default() += n;
                    }
                    high_tech += ht;
                    specialised += sp;
                    university += un;
                }
                let to_counts = |m: BTreeMap<String, i64>| -> Vec<Count> {
                    let mut v: Vec<Count> = m.into_iter().map(|(key, count)| Count { key, count }).collect();
                    v.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.key.cmp(&b.key)));
                    v
                };
                let mut outcomes: BTreeMap<String, i64> = BTreeMap::new();
                let mut by_type: BTreeMap<String, i64> = BTreeMap::new();
                let mut by_industry: BTreeMap<String, i64> = BTreeMap::new();
                for (outcome, m, object_type, industry, n) in decided_rows {
                    *outcomes.entry(outcome.clone()).or_default() += n;
                    if outcome == "registered" {
                        month_row(&mut months, &m).certificates += n;
                        *by_type.entry(object_type).or_default() += n;
                        *by_industry.entry(industry).or_default() += n;
                    }
                }
                let outcome = |o: &str| outcomes.get(o).copied().unwrap_or(0);
                let mut histogram: Vec<(i64, i64)> = day_rows.iter().map(|(d, n, _)| (*d, *n)).collect();
                histogram.sort();
                let decided: i64 = histogram.iter().map(|(_, n)| n).sum();
                let span_ms: i64 = day_rows.iter().map(|(_, _, ms)| ms).sum();
                let decision_times = DecisionTimes {
                    decided,
                    mean_days: (decided > 0).then(|| span_ms as f64 / 86_400_000.0 / decided as f64),
                    median_days: histogram_percentile(&histogram, decided, 0.5),
                    p90_days: histogram_percentile(&histogram, decided, 0.9),
                };
                // Economic value.
                let mut kinds: BTreeMap<String, (i64, i64)> = BTreeMap::new();
                for (kind, m, n, fen) in &value_rows {
                    let k = kinds.entry(kind.clone()).or_default();
                    k.0 += n;
                    k.1 += fen;
                    month_row(&mut months, m).value_fen += fen;
                }
                let (per_kind, any) = earners;
                let whole_record = f.from.is_none() && f.to.is_none();
                let by_kind_value: Vec<ValueByKind> = kinds
                    .into_iter()
                    .map(|(kind, (transactions, amount_fen))| {
                        let products = whole_record
                            .then(|| per_kind.iter().find(|(k, _)| *k == kind).map_or(0, |(_, n)| *n));
                        ValueByKind { kind, transactions, amount_fen, products }
                    })
                    .collect();
                let ((enterprises, loans, amount), active_now) = pledges;
                Ok(Statistics {
                    applications,
                    certificates: outcome("registered"),
                    rejected: outcome("rejected"),
                    refused: outcome("refused"),
                    withdrawn: outcome("withdrawn"),
                    decision_times,
                    applicants: Applicants {
                        total: total_applicants,
                        by_kind: to_counts(by_kind),
                        by_ownership: to_counts(by_ownership),
                        high_tech,
                        specialised_innovative: specialised,
                        university_or_institute: university,
                    },
                    products_by_object_type: to_counts(by_type),
                    products_by_industry: to_counts(by_industry),
                    economic_value: EconomicValue {
                        transactions: by_kind_value.iter().map(|k| k.transactions).sum(),
                        amount_fen: by_kind_value.iter().map(|k| k.amount_fen).sum(),
                        products: any,
                        by_kind: by_kind_value,
                    },
                    pledge_financing: PledgeFinancing { enterprises, loans, amount_fen: amount.unwrap_or(0), active_now },
                    monthly: months.into_values().collect(),
                })
            }

            async fn industries(&self) -> Result<Vec<Industry>> {
                let rows = sqlx::query("SELECT code, name_zh, name_en, active, position FROM industries ORDER BY position, code")
                    .fetch_all(&self.read)
                    .await?;
                rows.iter()
                    .map(|r| {
                        Ok(Industry {
                            code: r.try_get("code")?,
                            name_zh: r.try_get("name_zh")?,
                            name_en: r.try_get("name_en")?,
                            active: r.try_get("active")?,
                            position: r.try_get("position")?,
                        })
                    })
                    .collect()
            }

            async fn calendar(&self) -> Result<Vec<CalendarDay>> {
                let rows = sqlx::query("SELECT day, kind, note FROM calendar_days ORDER BY day")
                    .fetch_all(&self.read)
                    .await?;
                rows.iter()
                    .map(|r| {
                        let day: String = r.try_get("day")?;
                        Ok(CalendarDay {
                            date: chrono::NaiveDate::parse_from_str(&day, "%Y-%m-%d")
                                .map_err(|e| StoreError::Corrupt(format!("calendar day {day:?}: {e}")))?,
                            kind: match r.try_get::<&str, _>("kind")? {
                                "holiday" => DayKind::Holiday,
                                "workday" => DayKind::Workday,
                                other => return Err(StoreError::Corrupt(format!("day kind {other:?}"))),
                            },
                            note: r.try_get("note")?,
                        })
                    })
                    .collect()
            }

            async fn setting(&self, name: &str) -> Result<Option<String>> {
                Ok(sqlx::query_scalar("SELECT value FROM settings WHERE name = $1")
                    .bind(name)
                    .fetch_optional(&self.read)
                    .await?)
            }

            async fn claim_request_key(
                &self,
                principal: &str,
                key: &str,
                fingerprint: &str,
                now: DateTime<Utc>,
            ) -> Result<RequestKey> {
                // A key pruned between the insert and the read below is simply claimed again.
                for _ in 0..3 {
                    let r = sqlx::query(
                        "INSERT INTO request_keys (principal, request_key, fingerprint, created_at) \
                         VALUES ($1, $2, $3, $4) ON CONFLICT (principal, request_key) DO NOTHING",
                    )
                    .bind(principal)
                    .bind(key)
                    .bind(fingerprint)
                    .bind(ms(now))
                    .execute(&self.write)
                    .await?;
                    if r.rows_affected() == 1 {
                        self.durable().await?;
                        return Ok(RequestKey::Claimed);
                    }
                    let Some(row) = sqlx::query(
                        "SELECT fingerprint, status, headers, body, retryable FROM request_keys \
                         WHERE principal = $1 AND request_key = $2",
                    )
                    .bind(principal)
                    .bind(key)
                    .fetch_optional(&self.write)
                    .await?
                    else {
                        continue;
                    };
                    if row.try_get::<&str, _>("fingerprint")? != fingerprint {
                        return Ok(RequestKey::Mismatch);
                    }
                    if row.try_get::<bool, _>("retryable")? {
                        // Only one of several concurrent retries wins the key back; its age starts again, so
                        // pruning counts from the last attempt.
                        let r = sqlx::query(
                            "UPDATE request_keys SET status = NULL, headers = NULL, body = NULL, retryable = FALSE, \
                             created_at = $3 WHERE principal = $1 AND request_key = $2 AND retryable",
                        )
                        .bind(principal)
                        .bind(key)
                        .bind(ms(now))
                        .execute(&self.write)
                        .await?;
                        self.durable().await?;
                        return Ok(if r.rows_affected() == 1 { RequestKey::Claimed } else { RequestKey::InProgress });
                    }
                    return match row.try_get::<Option<i32>, _>("status")? {
                        None => Ok(RequestKey::InProgress),
                        Some(status) => Ok(RequestKey::Answered(StoredAnswer {
                            status: u16::try_from(status)
                                .map_err(|_| StoreError::Corrupt(format!("status {status}")))?,
                            headers: row.try_get::<Option<String>, _>("headers")?.unwrap_or_default(),
                            body: row.try_get::<Option<Vec<u8>>, _>("body")?.unwrap_or_default(),
                        })),
                    };
                }
                Err(StoreError::Conflict(format!("request key {key:?} kept disappearing while being claimed")))
            }

            async fn backup_to(&self, path: &Path) -> Result<()> {
                if $dialect != Dialect::Sqlite {
                    return Err(StoreError::Config(
                        "a PostgreSQL registry is backed up with pg_dump or a base backup (docs/OPERATIONS.md)".into(),
                    ));
                }
                if path.exists() {
                    return Err(StoreError::Config(format!("{} exists: a backup never overwrites a file", path.display())));
                }
                let target = path.to_str().ok_or_else(|| StoreError::Config("the backup path is not UTF-8".into()))?;
                sqlx::query("VACUUM INTO $1").bind(target).execute(&self.read).await?;
                Ok(())
            }

            async fn prune_request_keys(&self, before: DateTime<Utc>, limit: u32) -> Result<u64> {
                // Request keys are not register data: they only let a client's retry get its first answer again.
                // The register's own rows (applications, parties, events, the log, checkpoints, certificates…)
                // are never deleted. A key without an answer (its request may still be running) is never pruned;
                // the outer conditions are checked again on the row being deleted, so a key claimed again
                // meanwhile (a retry of a retryable answer) stays.
                let r = sqlx::query(
                    "DELETE FROM request_keys WHERE status IS NOT NULL AND created_at < $1 \
                     AND (principal, request_key) IN (SELECT principal, request_key FROM request_keys \
                     WHERE status IS NOT NULL AND created_at < $1 ORDER BY created_at LIMIT $2)",
                )
                .bind(ms(before))
                .bind(i64::from(limit))
                .execute(&self.write)
                .await?;
                Ok(r.rows_affected())
            }

            async fn answer_request_key(
                &self,
                principal: &str,
                key: &str,
                answer: &StoredAnswer,
                retryable: bool,
            ) -> Result<()> {
                sqlx::query(
                    "UPDATE request_keys SET status = $3, headers = $4, body = $5, retryable = $6 \
                     WHERE principal = $1 AND request_key = $2",
                )
                .bind(principal)
                .bind(key)
                .bind(i32::from(answer.status))
                .bind(&answer.headers)
                .bind(&answer.body)
                .bind(retryable)
                .execute(&self.write)
                .await?;
                self.durable().await
            }
        }
    };
}

/// Fill the projections of applications written before they existed.
macro_rules! refresh_derived {
    ($pool:expr) => {{
        let rows: Vec<String> =
            sqlx::query_scalar("SELECT doc FROM applications WHERE id NOT IN (SELECT application_id FROM filings)")
                .fetch_all($pool)
                .await?;
        for doc in rows {
            let app: Application = json(&doc)?;
            let mut tx = $pool.begin().await?;
            sync_projections!(tx, &app);
            tx.commit().await?;
        }
        Ok::<(), StoreError>(())
    }};
}

/// Fill the search index after the migration that created it (or changed what it holds) asked for it, in
/// batches. Idempotent, so two processes starting together do no harm.
macro_rules! rebuild_search {
    ($pool:expr, $dialect:expr) => {{
        let flag: Option<String> =
            sqlx::query_scalar("SELECT value FROM settings WHERE name = 'search_index'").fetch_optional($pool).await?;
        if flag.as_deref() == Some("rebuild") {
            let mut after = i64::MIN;
            loop {
                let mut tx = $pool.begin().await?;
                let rows = sqlx::query("SELECT seq, doc FROM applications WHERE seq > $1 ORDER BY seq LIMIT 1000")
                    .bind(after)
                    .fetch_all(&mut *tx)
                    .await?;
                let Some(last) = rows.last() else { break };
                after = last.try_get("seq")?;
                for row in &rows {
                    let app: Application = json(row.try_get::<&str, _>("doc")?)?;
                    for (sql, binds) in search_writes($dialect, row.try_get("seq")?, &app) {
                        bind_all!(sqlx::query(sql), binds).execute(&mut *tx).await?;
                    }
                    sqlx::query("UPDATE applications SET search_text = $1 WHERE id = $2")
                        .bind(search_text(&app))
                        .bind(app.id.to_string())
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
            }
            sqlx::query("UPDATE settings SET value = 'ready' WHERE name = 'search_index'").execute($pool).await?;
        }
        Ok::<(), StoreError>(())
    }};
}

/// Move the objections and disputes still inside documents written before `objections` existed into rows, and
/// rewrite those documents (and their public projections) without them: one transaction per application, the
/// row locked on PostgreSQL. Runs until it has completed once (then the setting [`OBJECTIONS_MOVED`] is
/// recorded); running it again changes nothing.
macro_rules! move_embedded_objections {
    ($pool:expr, $for_update:literal) => {{
        let moved: Option<String> = sqlx::query_scalar("SELECT value FROM settings WHERE name = $1")
            .bind(OBJECTIONS_MOVED)
            .fetch_optional($pool)
            .await?;
        if moved.is_none() {
            // Documents are compact JSON, and a quote inside a string is escaped: only a non-empty list matches.
            let ids: Vec<String> = sqlx::query_scalar(
                "SELECT id FROM applications WHERE doc LIKE '%\"objections\":[{%' OR doc LIKE '%\"disputes\":[{%'",
            )
            .fetch_all($pool)
            .await?;
            for id in ids {
                let mut tx = $pool.begin().await?;
                let doc: String =
                    sqlx::query_scalar(concat!("SELECT doc FROM applications WHERE id = $1", $for_update))
                        .bind(&id)
                        .fetch_one(&mut *tx)
                        .await?;
                let mut app: Application = json(&doc)?;
                if !has_embedded_objections(&app) {
                    continue;
                }
                with_objections!(&mut *tx, std::slice::from_mut(&mut app))?;
                store_objections!(tx, &app);
                sqlx::query("UPDATE applications SET doc = $2, public_doc = $3 WHERE id = $1")
                    .bind(&id)
                    .bind(stored_doc(&app))
                    .bind(listed_doc(&app))
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
            }
            sqlx::query("INSERT INTO settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING")
                .bind(OBJECTIONS_MOVED)
                .bind(Utc::now().to_rfc3339())
                .execute($pool)
                .await?;
        }
        Ok::<(), StoreError>(())
    }};
}

/// SQLite in WAL mode with group commit (`durable.rs`): a commit is on disk (the WAL synced) before it is
/// acknowledged, so an answered write survives a power loss, and commits finished during one sync share the
/// next. All writes go through a one-connection pool,
/// so write transactions are serialised in-process and never meet `SQLITE_BUSY`; reads use their own pool
/// and run concurrently.
pub struct SqliteStore {
    write: SqlitePool,
    read: SqlitePool,
    wal: Option<Arc<WalSync>>,
}

impl SqliteStore {
    /// Close every connection: the last one folds the write-ahead log into the database file, so the file can
    /// then be moved on its own.
    pub async fn close(&self) {
        self.read.close().await;
        self.write.close().await;
    }

    /// Open (creating and migrating if needed) the database file at `path`.
    pub async fn open(path: &Path) -> Result<Self> {
        let opts = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true);
        let write = SqlitePoolOptions::new().max_connections(1).connect_with(opts.clone()).await?;
        sqlx::migrate!("./migrations/sqlite").run(&write).await?;
        refresh_derived!(&write)?;
        move_embedded_objections!(&write, "")?;
        rebuild_search!(&write, Dialect::Sqlite)?;
        let read = SqlitePoolOptions::new().max_connections(4).connect_with(opts.read_only(true)).await?;
        Ok(Self { write, read, wal: Some(Arc::new(WalSync::new(path))) })
    }
}

/// PostgreSQL. Rows being changed are locked with `SELECT … FOR UPDATE`, and every update checks the
/// version it read, so several server processes can share one database. Each process opens at most 16
/// connections: 8 for transactions and 8 for reads.
pub struct PgStore {
    write: PgPool,
    read: PgPool,
    /// Always `None`: PostgreSQL's commits are durable when they return.
    wal: Option<Arc<WalSync>>,
}

impl PgStore {
    pub async fn connect(url: &str) -> Result<Self> {
        let opts = PgConnectOptions::from_str(url).map_err(|e| StoreError::Config(e.to_string()))?;
        Self::connect_with(opts).await
    }

    /// Connect with every table in `schema` (created if missing): isolated test databases.
    pub async fn connect_in_schema(url: &str, schema: &str) -> Result<Self> {
        if !schema.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            return Err(StoreError::Config(format!("schema name {schema:?}")));
        }
        let opts = PgConnectOptions::from_str(url).map_err(|e| StoreError::Config(e.to_string()))?;
        let mut conn = sqlx::PgConnection::connect_with(&opts).await?;
        sqlx::query(&format!("CREATE SCHEMA IF NOT EXISTS {schema}")).execute(&mut conn).await?;
        conn.close().await?;
        Self::connect_with(opts.options([("search_path", schema)])).await
    }

    /// Two pools, as on SQLite: transactions take their connection from `write`, reads from `read`. A use case
    /// reads through the store while its transaction holds a connection (the industries, the re-filing bar), so
    /// with one pool a burst of transactions as large as the pool held every connection and waited for one more,
    /// until the acquire timeout failed them all.
    async fn connect_with(opts: PgConnectOptions) -> Result<Self> {
        let pool = || PgPoolOptions::new().max_connections(8).acquire_timeout(Duration::from_secs(10));
        let write = pool().connect_with(opts.clone()).await?;
        sqlx::migrate!("./migrations/postgres").run(&write).await?;
        refresh_derived!(&write)?;
        move_embedded_objections!(&write, " FOR UPDATE")?;
        rebuild_search!(&write, Dialect::Postgres)?;
        let read = pool().connect_with(opts).await?;
        Ok(Self { write, read, wal: None })
    }
}

impl_store!(SqliteStore, SqliteTx, sqlx::Sqlite, "sqlite", "", Dialect::Sqlite);
impl_store!(PgStore, PgTx, sqlx::Postgres, "postgres", " FOR UPDATE", Dialect::Postgres);

#[cfg(test)]
mod tests {
    use dipr_domain::access::Role;
    use std::sync::Arc;

    /// An acknowledged commit must survive a power loss: no writing transaction returns from `commit` before
    /// a sync of the WAL that began after it, and read-only ones do not wait for one.
    #[tokio::test]
    async fn sqlite_commits_are_durable_before_they_are_acknowledged() {
        use crate::Store;
        let dir = std::env::temp_dir().join(format!("dipr-store-sync-{}", uuid::Uuid::now_v7()));
        std::fs::create_dir_all(&dir).unwrap();
        let store = Arc::new(super::SqliteStore::open(&dir.join("dipr.db")).await.unwrap());
        let level: i64 = sqlx::query_scalar("PRAGMA synchronous").fetch_one(&store.write).await.unwrap();
        assert_eq!(level, 1, "synchronous=NORMAL: the sync is the group commit's");
        let wal = store.wal.clone().unwrap();
        let mut tasks = Vec::new();
        for i in 0..40 {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                let mut tx = store.begin().await.unwrap();
                tx.set_setting(&format!("k{i}"), "v").await.unwrap();
                tx.append_event(&crate::NewEvent {
                    at: chrono::Utc::now(),
                    actor_id: None,
                    actor_name: "test".into(),
                    actor_role: Role::System,
                    subject_type: "setting".into(),
                    subject_id: format!("k{i}"),
                    kind: "set".into(),
                    from_state: None,
                    to_state: None,
                    reasons: String::new(),
                    payload: serde_json::json!({}),
                })
                .await
                .unwrap();
                tx.commit().await.unwrap();
                // Acknowledged: this commit's ticket is covered by a finished sync.
                let (committed, synced, _) = store.wal.as_ref().unwrap().counts();
                assert!(synced >= 1 && synced <= committed);
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        let (committed, synced, syncs) = wal.counts();
        assert_eq!((committed, synced), (40, 40), "every commit waited for a sync");
        assert!((1..=40).contains(&syncs));
        let tx = store.begin().await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(wal.counts().0, 40, "a transaction that wrote nothing does not wait for a sync");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
