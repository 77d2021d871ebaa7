//! `kill -9` of a server under write load, on SQLite and (with `DIPR_TEST_POSTGRES_URL`) PostgreSQL: after
//! each restart every acknowledged write is there, the log has no gap and no fork (`dipr ledger check` is
//! clean against the head the registry kept), and the registry writes on.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

const BIN: &str = env!("CARGO_BIN_EXE_dipr");
const KILLS: usize = 3;
const WRITERS: usize = 4;

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("dipr-crash-{name}-{}-{}", std::process::id(), uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn dipr(args: &[&str], db: &Option<String>) -> Command {
    let mut c = Command::new(BIN);
    c.args(args);
    if let Some(url) = db {
        c.env("DIPR_DATABASE_URL", url);
    }
    c
}

/// Start `dipr serve`; returns the child and its base URL.
fn serve(data: &Path, db: &Option<String>) -> (Child, String) {
    let d = data.to_str().unwrap();
    let mut child = dipr(&["serve", "--data-dir", d, "--listen", "127.0.0.1:0"], db)
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        let Some(Ok(line)) = lines.next() else { break };
        if let Some(rest) = line.split("listening on http://").nth(1) {
            let addr = rest.split([' ', ';']).next().unwrap().to_string();
            std::thread::spawn(move || for _ in lines {});
            return (child, format!("http://{addr}"));
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("dipr serve did not start");
}

fn sign_in(base: &str, user: &str) -> String {
    let v: Value = ureq::post(&format!("{base}/api/v1/auth/signin"))
        .send_json(json!({"username": user, "password": "dipr-demo-2026"}))
        .unwrap()
        .into_json()
        .unwrap();
    v["token"].as_str().unwrap().to_string()
}

/// A demo applicant and a registered product it may book transactions on.
fn holders(base: &str, today: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for n in 1..=27 {
        let token = sign_in(base, &format!("user{n:02}"));
        let mine: Value = ureq::get(&format!("{base}/api/v1/applications?state=registered&per_page=100"))
            .set("authorization", &format!("Bearer {token}"))
            .call()
            .unwrap()
            .into_json()
            .unwrap();
        for app in mine["items"].as_array().unwrap() {
            let id = app["id"].as_str().unwrap().to_string();
            if book(base, &token, &id, today).is_ok() {
                out.push((token.clone(), id));
                break;
            }
        }
        if out.len() == WRITERS {
            break;
        }
    }
    assert_eq!(out.len(), WRITERS, "the demo has enough holders");
    out
}

/// Book a small fee; the transaction's id once the server has answered 201.
fn book(base: &str, token: &str, id: &str, today: &str) -> Result<String, String> {
    let body = json!({"kind": "service_fee", "amount": "1.00", "occurred_on": today, "counterparty": "压力测试方"});
    match ureq::post(&format!("{base}/api/v1/records/{id}/transactions"))
        .set("authorization", &format!("Bearer {token}"))
        .timeout(Duration::from_secs(10))
        .send_json(body)
    {
        Ok(r) if r.status() == 201 => Ok(r.into_json::<Value>().unwrap()["id"].as_str().unwrap().to_string()),
        Ok(r) => Err(format!("HTTP {}", r.status())),
        Err(e) => Err(e.to_string()),
    }
}

/// Every transaction booked on a product.
fn booked(base: &str, token: &str, id: &str) -> Vec<String> {
    let mut out = Vec::new();
    for page in 1.. {
        let v: Value = ureq::get(&format!("{base}/api/v1/records/{id}/transactions?per_page=100&page={page}"))
            .set("authorization", &format!("Bearer {token}"))
            .call()
            .unwrap()
            .into_json()
            .unwrap();
        let items = v["items"].as_array().unwrap();
        out.extend(items.iter().map(|t| t["id"].as_str().unwrap().to_string()));
        if items.len() < 100 {
            break;
        }
    }
    out
}

fn ledger_check(data: &Path, db: &Option<String>) -> Value {
    let out = dipr(&["ledger", "check", "--data-dir", data.to_str().unwrap()], db).output().unwrap();
    let report: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    assert!(out.status.success(), "ledger check failed: {report}\n{}", String::from_utf8_lossy(&out.stderr));
    report
}

fn kill_under_load(db: Option<String>) {
    let data = temp_dir(if db.is_some() { "pg" } else { "sqlite" });
    let d = data.to_str().unwrap();
    let out = dipr(&["admin", "seed-demo", "--data-dir", d], &db).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let today =
        chrono::Utc::now().with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).unwrap()).date_naive().to_string();
    let acked: Arc<Mutex<Vec<(usize, String)>>> = Arc::default();
    let mut writers_of = Vec::new();
    for round in 0..KILLS {
        let (mut server, base) = serve(&data, &db);
        if round == 0 {
            writers_of = holders(&base, &today);
        } else {
            // Sessions survive a restart (they are rows); the registry writes on after the crash.
            let (token, id) = &writers_of[0];
            acked.lock().unwrap().push((0, book(&base, token, id, &today).expect("writes after a restart")));
        }
        let stop = Arc::new(AtomicBool::new(false));
        let threads: Vec<_> = writers_of
            .iter()
            .cloned()
            .enumerate()
            .map(|(w, (token, id))| {
                let (stop, acked, base, today) = (stop.clone(), acked.clone(), base.clone(), today.clone());
                std::thread::spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        match book(&base, &token, &id, &today) {
                            Ok(t) => acked.lock().unwrap().push((w, t)),
                            Err(_) => break, // the server is gone
                        }
                    }
                })
            })
            .collect();
        std::thread::sleep(Duration::from_millis(1200));
        server.kill().unwrap(); // SIGKILL: no drain, no shutdown hook
        server.wait().unwrap();
        stop.store(true, Ordering::Relaxed);
        for t in threads {
            t.join().unwrap();
        }
    }
    // Restart once more: every acknowledged transaction is there, and the log is whole.
    let (mut server, base) = serve(&data, &db);
    let acked = acked.lock().unwrap().clone();
    assert!(acked.len() > KILLS * WRITERS, "the load wrote something: {}", acked.len());
    for (w, (token, id)) in writers_of.iter().enumerate() {
        let present = booked(&base, token, id);
        for (_, t) in acked.iter().filter(|(x, _)| *x == w) {
            assert!(present.contains(t), "acknowledged transaction {t} lost after kill -9");
        }
    }
    server.kill().unwrap();
    server.wait().unwrap();
    let report = ledger_check(&data, &db);
    assert_eq!(report["ok"], true, "{report}");
    assert!(report["head_size"].as_u64().is_some(), "checked against the head the registry kept: {report}");
    eprintln!(
        "kill -9 ({}): {KILLS} kills under {WRITERS} writers, {} acknowledged transactions all present; ledger check clean over {} entries",
        if db.is_some() { "PostgreSQL" } else { "SQLite" },
        acked.len(),
        report["entries"]
    );
}

#[test]
fn kill_9_under_write_load_loses_no_acknowledged_write_on_sqlite() {
    kill_under_load(None);
}

/// A fresh database per run on the PostgreSQL server of `DIPR_TEST_POSTGRES_URL`.
#[test]
fn kill_9_under_write_load_loses_no_acknowledged_write_on_postgres() {
    let Ok(base) = std::env::var("DIPR_TEST_POSTGRES_URL") else {
        eprintln!("DIPR_TEST_POSTGRES_URL is not set: skipping the PostgreSQL run");
        return;
    };
    let name = format!("dipr_crash_{}", uuid::Uuid::now_v7().simple());
    let psql = |sql: &str| {
        let out =
            Command::new("psql").args([base.as_str(), "-Xq", "-v", "ON_ERROR_STOP=1", "-c", sql]).output().unwrap();
        assert!(out.status.success(), "{sql}: {}", String::from_utf8_lossy(&out.stderr));
    };
    psql(&format!("CREATE DATABASE {name} TEMPLATE template0"));
    let url = match base.rsplit_once('/') {
        Some((server, _)) => format!("{server}/{name}"),
        None => panic!("DIPR_TEST_POSTGRES_URL names no database"),
    };
    kill_under_load(Some(url));
    psql(&format!("DROP DATABASE {name} WITH (FORCE)"));
}
