//! `dipr client …`: scriptable access to a running server. Output is JSON on stdout; errors go to stderr
//! as `code: message` with field details, and the exit status is non-zero.

use std::io::Read;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use serde_json::{json, Value};

#[derive(Args)]
pub struct ClientArgs {
    /// Base URL of the server.
    #[arg(long, env = "DIPR_SERVER", default_value = "http://127.0.0.1:8080")]
    server: String,
    /// Bearer token (from `dipr client login` or an API token).
    #[arg(long, env = "DIPR_TOKEN", hide_env_values = true)]
    token: Option<String>,
    #[command(subcommand)]
    command: ClientCmd,
}

#[derive(Subcommand)]
enum ClientCmd {
    /// Create an applicant or agent account with its party (password from DIPR_PASSWORD or standard input).
    Signup {
        #[arg(long)]
        username: String,
        #[arg(long)]
        display_name: String,
        /// applicant or agent
        #[arg(long, default_value = "applicant")]
        role: String,
        /// natural_person, legal_person or unincorporated_organisation
        #[arg(long)]
        party_kind: String,
        #[arg(long)]
        party_name: String,
        /// Unified social credit code, or resident ID number for natural persons.
        #[arg(long)]
        id_number: String,
    },
    /// Sign in; prints a session token (password from DIPR_PASSWORD or standard input).
    Login {
        #[arg(long)]
        username: String,
    },
    /// Create an API token for scripts.
    Token {
        #[arg(long)]
        name: String,
        #[arg(long)]
        expires_in_days: Option<u32>,
    },
    /// File a draft from a TOML or JSON file: either a bare form, or `{applicant, form}` for agents.
    File { path: PathBuf },
    /// Replace a draft's form from a TOML or JSON file.
    Edit { id: String, path: PathBuf },
    /// File a fingerprint manifest (from `dipr fingerprint --discovery-key …`) with a draft.
    Manifest { id: String, path: PathBuf },
    /// Print the registry's discovery key (for `dipr fingerprint --discovery-key`).
    DiscoveryKey,
    /// Submit a draft.
    Submit { id: String },
    /// Resubmit after a correction request.
    Resubmit {
        id: String,
        #[arg(long, default_value = "")]
        text: String,
    },
    /// Withdraw a filing.
    Withdraw {
        id: String,
        #[arg(long, default_value = "")]
        reason: String,
    },
    /// Cancel a registration you hold.
    Cancel {
        id: String,
        #[arg(long, default_value = "")]
        reason: String,
    },
    /// Answer an objection.
    Respond {
        id: String,
        objection: String,
        #[arg(long)]
        text: String,
    },
    /// A filing's state, deadlines and decisions.
    Status { id: String },
    /// A filing's full event history.
    History { id: String },
    /// Your filings.
    List {
        #[arg(long)]
        state: Option<String>,
    },
    /// For examiners: other filings that already contain much of this filing's data.
    Overlaps { id: String },
    /// The examiners' review queue.
    Queue {
        #[arg(long)]
        state: Option<String>,
    },
    /// Decide on a filing: accept, request_correction, reject, pass_formal_review, refuse, approve, revoke.
    Decide {
        id: String,
        action: String,
        #[arg(long, default_value = "")]
        reasons: String,
        /// Items to correct (request_correction); repeatable.
        #[arg(long = "item")]
        items: Vec<String>,
    },
    /// Decide an objection: upheld or dismissed.
    DecideObjection {
        id: String,
        objection: String,
        outcome: String,
        #[arg(long)]
        reasons: String,
    },
    /// Search published records.
    Search {
        #[arg(default_value = "")]
        q: String,
        #[arg(long)]
        status: Option<String>,
    },
    /// File an objection against a record on public notice.
    Object {
        id: String,
        #[arg(long)]
        name: String,
        #[arg(long, default_value = "")]
        contact: String,
        #[arg(long)]
        grounds: String,
    },
    /// Register a licence of a registered product (the holder).
    Licence {
        id: String,
        /// Credit code of the licensee.
        #[arg(long)]
        to: String,
        /// exclusive, sole or non_exclusive.
        #[arg(long, default_value = "non_exclusive")]
        kind: String,
        #[arg(long)]
        start: String,
        #[arg(long)]
        end: String,
        #[arg(long = "territory")]
        territories: Vec<String>,
        #[arg(long = "scope")]
        scopes: Vec<String>,
        /// Yuan, e.g. 120000.00.
        #[arg(long)]
        fee: Option<String>,
    },
    /// Book a transaction (licence_fee, trade or service_fee) against a registered product (the holder).
    Transaction {
        id: String,
        #[arg(long)]
        kind: String,
        /// Yuan, e.g. 12345.67.
        #[arg(long)]
        amount: String,
        /// YYYY-MM-DD.
        #[arg(long)]
        date: String,
        #[arg(long)]
        counterparty: String,
        #[arg(long)]
        licence: Option<String>,
    },
    /// Transfer a registered product to another registered party (the holder).
    Transfer {
        id: String,
        #[arg(long)]
        to: String,
        #[arg(long)]
        price: Option<String>,
    },
    /// File a pledge on a registered product (a bank); it takes effect when the holder consents.
    Pledge {
        id: String,
        /// Yuan secured.
        #[arg(long)]
        secured: String,
        #[arg(long)]
        start: String,
        #[arg(long)]
        end: String,
        /// The rank this pledge takes (1 if none was ever registered).
        #[arg(long, default_value_t = 1)]
        rank: u32,
        /// Credit code of the debtor, if not the holder.
        #[arg(long)]
        debtor: Option<String>,
    },
    /// Act on a pledge: `consent` (the holder), `release` (the pledgee).
    PledgeAction { id: String, pledge: String, action: String },
    /// Search before lending: every encumbrance on products matching a registration number, credit
    /// code or name.
    Encumbrances { q: String },
    /// The administration's statistics (JSON, or CSV with --csv).
    Stats {
        #[arg(long)]
        from: Option<String>,
        #[arg(long)]
        to: Option<String>,
        #[arg(long)]
        industry: Option<String>,
        #[arg(long)]
        object_type: Option<String>,
        #[arg(long)]
        applicant_kind: Option<String>,
    },
    /// Any API call: `dipr client call POST /api/v1/records/<id>/renewal --body @renew.json`.
    Call {
        method: String,
        path: String,
        /// JSON, or @FILE.
        #[arg(long)]
        body: Option<String>,
    },
}

pub struct Client {
    base: String,
    token: Option<String>,
    agent: ureq::Agent,
    /// Send a fresh `Idempotency-Key` with every request that changes something.
    keyed: bool,
}

impl Client {
    pub fn new(base: &str, token: Option<String>) -> Self {
        let agent = ureq::AgentBuilder::new().build();
        Self { base: base.trim_end_matches('/').to_string(), token, agent, keyed: false }
    }

    /// This client, sending idempotency keys (the benchmark compares keyed and unkeyed writes).
    pub fn keyed(self, keyed: bool) -> Self {
        Self { keyed, ..self }
    }

    pub fn call(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value> {
        let mut req = self.agent.request(method, &format!("{}{path}", self.base));
        if let Some(t) = &self.token {
            req = req.set("Authorization", &format!("Bearer {t}"));
        }
        if self.keyed && method != "GET" {
            req = req.set("Idempotency-Key", &uuid::Uuid::now_v7().simple().to_string());
        }
        let resp = match body {
            Some(b) => req.send_json(b),
            None => req.call(),
        };
        match resp {
            Ok(r) if r.status() == 204 => Ok(Value::Null),
            Ok(r) => Ok(r.into_json()?),
            Err(ureq::Error::Status(status, r)) => {
                let body: Value = r.into_json().unwrap_or(Value::Null);
                let e = &body["error"];
                let mut msg = format!(
                    "{} ({status}): {}",
                    e["code"].as_str().unwrap_or("error"),
                    e["message"].as_str().unwrap_or("")
                );
                for d in e["details"].as_array().into_iter().flatten() {
                    msg.push_str(&format!(
                        "\n  {}: {} ({})",
                        d["field"].as_str().unwrap_or(""),
                        d["message"].as_str().unwrap_or(""),
                        d["code"].as_str().unwrap_or("")
                    ));
                }
                bail!(msg)
            }
            Err(e) => Err(anyhow::Error::new(e).context(format!("cannot reach {}", self.base))),
        }
    }
}

fn read_document(path: &PathBuf) -> Result<Value> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let is_toml = path.extension().is_some_and(|e| e == "toml");
    if is_toml {
        let v: toml::Value = toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
        Ok(toml_to_json(v))
    } else {
        serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))
    }
}

/// TOML to JSON; TOML dates become `YYYY-MM-DD` strings, as the API expects.
fn toml_to_json(v: toml::Value) -> Value {
    match v {
        toml::Value::String(s) => Value::String(s),
        toml::Value::Integer(i) => json!(i),
        toml::Value::Float(f) => json!(f),
        toml::Value::Boolean(b) => Value::Bool(b),
        toml::Value::Datetime(d) => Value::String(d.to_string()),
        toml::Value::Array(a) => Value::Array(a.into_iter().map(toml_to_json).collect()),
        toml::Value::Table(t) => Value::Object(t.into_iter().map(|(k, v)| (k, toml_to_json(v))).collect()),
    }
}

fn password() -> Result<String> {
    if let Ok(p) = std::env::var("DIPR_PASSWORD") {
        return Ok(p);
    }
    let mut s = String::new();
    std::io::stdin().read_to_string(&mut s)?;
    Ok(s.trim_end_matches(['\n', '\r']).to_string())
}

fn query(pairs: &[(&str, Option<&str>)]) -> String {
    let parts: Vec<String> =
        pairs.iter().filter_map(|(k, v)| v.filter(|v| !v.is_empty()).map(|v| format!("{k}={}", encode(v)))).collect();
    if parts.is_empty() {
        String::new()
    } else {
        format!("?{}", parts.join("&"))
    }
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b',' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

pub fn run(args: ClientArgs) -> Result<()> {
    let c = Client::new(&args.server, args.token);
    let out = match args.command {
        ClientCmd::Signup { username, display_name, role, party_kind, party_name, id_number } => c.call(
            "POST",
            "/api/v1/auth/signup",
            Some(json!({
                "username": username, "password": password()?, "display_name": display_name, "role": role,
                "party": {"kind": party_kind, "name": party_name, "id_number": id_number},
            })),
        )?,
        ClientCmd::Login { username } => {
            let r =
                c.call("POST", "/api/v1/auth/signin", Some(json!({"username": username, "password": password()?})))?;
            println!("{}", r["token"].as_str().unwrap_or_default());
            return Ok(());
        }
        ClientCmd::Token { name, expires_in_days } => {
            c.call("POST", "/api/v1/me/tokens", Some(json!({"name": name, "expires_in_days": expires_in_days})))?
        }
        ClientCmd::File { path } => {
            let doc = read_document(&path)?;
            let body = if doc.get("form").is_some() { doc } else { json!({"form": doc}) };
            c.call("POST", "/api/v1/applications", Some(body))?
        }
        ClientCmd::Edit { id, path } => {
            let doc = read_document(&path)?;
            let form = doc.get("form").cloned().unwrap_or(doc);
            c.call("PUT", &format!("/api/v1/applications/{id}"), Some(json!({"form": form})))?
        }
        ClientCmd::Manifest { id, path } => {
            let doc: Value =
                serde_json::from_slice(&std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?)
                    .with_context(|| format!("{} is not JSON", path.display()))?;
            c.call("PUT", &format!("/api/v1/applications/{id}/manifest"), Some(doc))?
        }
        ClientCmd::DiscoveryKey => {
            let v = c.call("GET", "/api/v1/fingerprint/discovery-key", None)?;
            println!("{}", v["key"].as_str().unwrap_or_default());
            return Ok(());
        }
        ClientCmd::Submit { id } => c.call("POST", &format!("/api/v1/applications/{id}/submit"), None)?,
        ClientCmd::Resubmit { id, text } => {
            c.call("POST", &format!("/api/v1/applications/{id}/resubmit"), Some(json!({"text": text})))?
        }
        ClientCmd::Withdraw { id, reason } => {
            c.call("POST", &format!("/api/v1/applications/{id}/withdraw"), Some(json!({"text": reason})))?
        }
        ClientCmd::Cancel { id, reason } => {
            c.call("POST", &format!("/api/v1/applications/{id}/cancel"), Some(json!({"text": reason})))?
        }
        ClientCmd::Respond { id, objection, text } => c.call(
            "POST",
            &format!("/api/v1/applications/{id}/objections/{objection}/response"),
            Some(json!({"text": text})),
        )?,
        ClientCmd::Status { id } => {
            let a = c.call("GET", &format!("/api/v1/applications/{id}"), None)?;
            json!({
                "id": a["id"],
                "state": a["state"],
                "product_name": a["form"]["product_name"],
                "correction": a["correction"],
                "notice": a["notice"],
                "objections": a["objections"],
                "decisions": a["decisions"],
                "registration": a["registration"],
            })
        }
        ClientCmd::History { id } => c.call("GET", &format!("/api/v1/applications/{id}/history"), None)?,
        ClientCmd::List { state } => {
            c.call("GET", &format!("/api/v1/applications{}", query(&[("state", state.as_deref())])), None)?
        }
        ClientCmd::Overlaps { id } => c.call("GET", &format!("/api/v1/review/applications/{id}/overlaps"), None)?,
        ClientCmd::Queue { state } => {
            c.call("GET", &format!("/api/v1/review/queue{}", query(&[("state", state.as_deref())])), None)?
        }
        ClientCmd::Decide { id, action, reasons, items } => c.call(
            "POST",
            &format!("/api/v1/review/applications/{id}/decision"),
            Some(json!({"action": action, "reasons": reasons, "items": items})),
        )?,
        ClientCmd::DecideObjection { id, objection, outcome, reasons } => c.call(
            "POST",
            &format!("/api/v1/review/applications/{id}/objections/{objection}/decision"),
            Some(json!({"outcome": outcome, "reasons": reasons})),
        )?,
        ClientCmd::Search { q, status } => c.call(
            "GET",
            &format!("/api/v1/public/records{}", query(&[("q", Some(&q)), ("status", status.as_deref())])),
            None,
        )?,
        ClientCmd::Object { id, name, contact, grounds } => c.call(
            "POST",
            &format!("/api/v1/public/records/{id}/objections"),
            Some(json!({"objector_name": name, "objector_contact": contact, "grounds": grounds})),
        )?,
        ClientCmd::Licence { id, to, kind, start, end, territories, scopes, fee } => c.call(
            "POST",
            &format!("/api/v1/records/{id}/licences"),
            Some(json!({"licensee": to, "kind": kind, "start": start, "end": end, "territories": territories, "scopes": scopes, "fee": fee})),
        )?,
        ClientCmd::Transaction { id, kind, amount, date, counterparty, licence } => c.call(
            "POST",
            &format!("/api/v1/records/{id}/transactions"),
            Some(json!({"kind": kind, "amount": amount, "occurred_on": date, "counterparty": counterparty, "licence_id": licence})),
        )?,
        ClientCmd::Transfer { id, to, price } => {
            c.call("POST", &format!("/api/v1/records/{id}/transfer"), Some(json!({"to": to, "price": price})))?
        }
        ClientCmd::Pledge { id, secured, start, end, rank, debtor } => c.call(
            "POST",
            &format!("/api/v1/records/{id}/pledges"),
            Some(json!({"secured": secured, "start": start, "end": end, "rank": rank, "debtor": debtor})),
        )?,
        ClientCmd::PledgeAction { id, pledge, action } => {
            if !["consent", "release"].contains(&action.as_str()) {
                bail!("pledge actions are `consent` (the holder) and `release` (the pledgee)");
            }
            c.call("POST", &format!("/api/v1/records/{id}/pledges/{pledge}/{action}"), None)?
        }
        ClientCmd::Encumbrances { q } => {
            c.call("GET", &format!("/api/v1/encumbrances{}", query(&[("q", Some(&q))])), None)?
        }
        ClientCmd::Stats { from, to, industry, object_type, applicant_kind } => {
            let q = query(&[
                ("from", from.as_deref()),
                ("to", to.as_deref()),
                ("industry", industry.as_deref()),
                ("object_type", object_type.as_deref()),
                ("applicant_kind", applicant_kind.as_deref()),
            ]);
            c.call("GET", &format!("/api/v1/statistics{q}"), None)?
        }
        ClientCmd::Call { method, path, body } => {
            let body = match body {
                Some(b) => {
                    let text = match b.strip_prefix('@') {
                        Some(file) => std::fs::read_to_string(file).with_context(|| format!("reading {file}"))?,
                        None => b,
                    };
                    Some(serde_json::from_str(&text).context("--body is not JSON")?)
                }
                None => None,
            };
            c.call(&method.to_uppercase(), &path, body)?
        }
    };
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_example_application_reads_as_json() {
        let path = std::path::PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/application.toml"));
        let v = super::read_document(&path).unwrap();
        assert_eq!(v["sources"][0]["licence_end"], "2029-12-31");
        let form: dipr_domain::application::ApplicationForm = serde_json::from_value(v).unwrap();
        form.check(dipr_domain::application::Completeness::Submission, &|c| c == "transport").unwrap();
    }

    #[test]
    fn query_strings_are_percent_encoded() {
        assert_eq!(super::query(&[("q", Some("语料 库")), ("status", None)]), "?q=%E8%AF%AD%E6%96%99%20%E5%BA%93");
        assert_eq!(super::query(&[("state", Some("draft,submitted"))]), "?state=draft,submitted");
        assert_eq!(super::query(&[("q", Some(""))]), "");
    }
}
