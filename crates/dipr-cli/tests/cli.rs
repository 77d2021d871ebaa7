//! The `dipr` binary end to end, as separate processes on loopback: a registry with two witness
//! processes, a certificate downloaded and verified offline, tampering detected, the ledger checked.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_dipr");

struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn temp_dir(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!(
        "dipr-cli-{name}-{}-{}",
        std::process::id(),
        Instant::now().elapsed().as_nanos()
    ));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn run(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(BIN).args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

/// Start a long-running subcommand and wait for its "listening on http://ADDR" line.
fn start(args: &[&str]) -> (Proc, String) {
    let mut child = Proc(Command::new(BIN).args(args).stderr(Stdio::piped()).stdout(Stdio::null()).spawn().unwrap());
    let stderr = child.0.stderr.take().unwrap();
    let mut lines = BufReader::new(stderr).lines();
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        let Some(Ok(line)) = lines.next() else { break };
        if let Some(rest) = line.split("listening on http://").nth(1) {
            let addr = rest.split([' ', ';']).next().unwrap().to_string();
            // Keep draining stderr so the child never blocks on a full pipe.
            std::thread::spawn(move || for _ in lines {});
            return (child, format!("http://{addr}"));
        }
    }
    panic!("{args:?} did not start");
}

fn get(url: &str) -> serde_json::Value {
    ureq::get(url).call().unwrap().into_json().unwrap()
}

#[test]
fn registry_witnesses_certificate_and_ledger_check() {
    let data = temp_dir("registry");
    let d = data.to_str().unwrap();
    // Create the registry (database, key, demo data) and read its verifier key.
    let (code, _, err) = run(&["admin", "seed-demo", "--data-dir", d]);
    assert_eq!(code, 0, "{err}");
    let mode = std::fs::metadata(data.join("registry.key")).unwrap();
    assert_eq!(std::os::unix::fs::PermissionsExt::mode(&mode.permissions()) & 0o777, 0o600);
    let (code, log_key, _) = run(&["key", "show", "--data-dir", d]);
    assert_eq!(code, 0);
    let log_key = log_key.trim().to_string();

    // Two witness processes.
    let mut witnesses = Vec::new();
    let mut policy = String::from("quorum 2\n");
    for name in ["w1.example", "w2.example"] {
        let wdir = temp_dir(name);
        let wd = wdir.to_str().unwrap();
        let (_, wkey, _) = run(&["witness", "--name", name, "--data-dir", wd, "--show-key"]);
        let (p, url) =
            start(&["witness", "--name", name, "--data-dir", wd, "--listen", "127.0.0.1:0", "--log", &log_key]);
        policy.push_str(&format!("witness {}\n", wkey.trim()));
        witnesses.push((p, url, wkey.trim().to_string()));
    }
    let mut toml = String::from("witness_quorum = 2\nwitness_interval_secs = 1\n");
    for (_, url, key) in &witnesses {
        toml.push_str(&format!("[[witnesses]]\nurl = \"{url}\"\nkey = \"{key}\"\n"));
    }
    std::fs::write(data.join("dipr.toml"), toml).unwrap();
    let policy_path = data.join("policy.txt");
    std::fs::write(&policy_path, policy).unwrap();

    let (_server, base) = start(&["serve", "--data-dir", d, "--listen", "127.0.0.1:0"]);
    let found = get(&format!("{base}/api/v1/public/records?status=registered&per_page=1"));
    let id = found["items"][0]["id"].as_str().unwrap().to_string();

    // Wait for the witnesses to cosign, then download the certificate.
    let cert_path = data.join("cert.json");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let cert =
            ureq::get(&format!("{base}/api/v1/public/records/{id}/certificate")).call().unwrap().into_string().unwrap();
        std::fs::write(&cert_path, &cert).unwrap();
        let (code, out, _) = run(&[
            "verify",
            cert_path.to_str().unwrap(),
            "--trusted-key",
            &log_key,
            "--witness-policy",
            policy_path.to_str().unwrap(),
        ]);
        if code == 0 {
            assert!(out.contains("VALID") && out.contains("w1.example") && out.contains("w2.example"), "{out}");
            break;
        }
        assert!(Instant::now() < deadline, "never witnessed: {out}");
        std::thread::sleep(Duration::from_millis(500));
    }

    // A newer checkpoint is consistent with the certificate's.
    let cert: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&cert_path).unwrap()).unwrap();
    let proof = cert["proof"].as_str().unwrap();
    let size: u64 = proof.split("\n\n").nth(1).unwrap().lines().nth(1).unwrap().parse().unwrap();
    let newer =
        ureq::get(&format!("{base}/api/v1/log/proofs/consistency?old={size}")).call().unwrap().into_string().unwrap();
    let newer_path = data.join("newer.json");
    std::fs::write(&newer_path, newer).unwrap();
    let (code, out, _) = run(&[
        "verify",
        cert_path.to_str().unwrap(),
        "--trusted-key",
        &log_key,
        "--newer-checkpoint",
        newer_path.to_str().unwrap(),
        "--online",
        &base,
        "--json",
    ]);
    assert_eq!(code, 0, "{out}");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    let ids: Vec<&str> = report["checks"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap()).collect();
    assert!(ids.contains(&"consistency") && ids.contains(&"online_status"), "{ids:?}");
    assert!(ids.contains(&"current_certificate"), "{ids:?}");

    // One changed byte and the verdict flips; a wrong pinned key fails too.
    let mut bytes = std::fs::read(&cert_path).unwrap();
    let pos = bytes.windows(6).position(|w| w == b"holder").unwrap() + 30;
    bytes[pos] ^= 0x01;
    let tampered = data.join("tampered.json");
    std::fs::write(&tampered, bytes).unwrap();
    let (code, _, _) = run(&["verify", tampered.to_str().unwrap(), "--trusted-key", &log_key]);
    assert_eq!(code, 1);
    let other = witnesses[0].2.clone();
    let (code, _, err) = run(&["verify", cert_path.to_str().unwrap(), "--trusted-key", &other]);
    assert_eq!(code, 1, "{err}");

    // Offline, it says it proved authenticity, not current status, and how to check the status.
    let cert_arg = cert_path.to_str().unwrap();
    let (code, out, _) = run(&["verify", cert_arg, "--trusted-key", &log_key]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("not that the registration is still in force") && out.contains("--online"), "{out}");
    assert!(out.contains(&format!("/records/{id}")) && out.contains("北京时间 Beijing time"), "{out}");
    // Without a pinned key only self-consistency is proven: it says so, and fails unless that is accepted.
    let (code, out, _) = run(&["verify", cert_arg]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("SELF-CONSISTENT ONLY") && out.contains("--no-pin") && !out.contains("VALID —"), "{out}");
    let (code, out, _) = run(&["verify", cert_arg, "--no-pin"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("SELF-CONSISTENT ONLY"), "{out}");

    // The ledger is intact.
    let (code, out, err) = run(&["ledger", "check", "--data-dir", d]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("\"ok\": true"));
    drop(witnesses);
    assert!(Path::new(&data.join("dipr.db")).exists());
}

fn run_env(args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let out = Command::new(BIN).args(args).envs(env.iter().copied()).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

fn ok(args: &[&str], env: &[(&str, &str)]) -> String {
    let (code, out, err) = run_env(args, env);
    assert_eq!(code, 0, "{args:?}\n{out}\n{err}");
    out
}

#[test]
fn fingerprint_file_register_and_build_evidence() {
    let dir = temp_dir("fingerprint");
    let data = dir.join("registry");
    let r = data.to_str().unwrap();
    // Data: 3,000 owner rows; a suspect re-serialises 1,000 of them among 2,000 foreign rows.
    let mut owner = String::from("id,name,price\n");
    let mut suspect = String::from("Price , ID,NAME\r\n");
    for i in 0..3000 {
        owner.push_str(&format!("{i:06},数据{i},{}.50\n", i * 3));
        if i % 3 == 0 {
            suspect.push_str(&format!("\"{}.500\",{i:06}, 数据{i} \r\n", i * 3));
        }
    }
    for i in 0..2000 {
        suspect.push_str(&format!("{i},X{i},别的{i}\r\n"));
    }
    std::fs::write(dir.join("owner.csv"), &owner).unwrap();
    std::fs::write(dir.join("suspect.csv"), &suspect).unwrap();
    // A second scrape keeps only the declared view's columns of every fifth record, among foreign rows.
    let mut partial = String::from("Name,ID\n");
    for i in (0..3000).step_by(5) {
        partial.push_str(&format!(" 数据{i} ,{i:06}\n"));
    }
    for i in 0..500 {
        partial.push_str(&format!("别的{i},X{i}\n"));
    }
    std::fs::write(dir.join("partial.csv"), &partial).unwrap();
    let views = dir.join("views.toml");
    std::fs::write(&views, "[[views]]\nname = \"key\"\ncolumns = [\"id\", \"name\"]\n").unwrap();

    ok(
        &["admin", "create-user", "--data-dir", r, "--username", "root", "--role", "admin"],
        &[("DIPR_PASSWORD", "a long admin password")],
    );
    ok(
        &["admin", "create-user", "--data-dir", r, "--username", "exam", "--role", "examiner"],
        &[("DIPR_PASSWORD", "a long examiner password")],
    );
    let (_server, base) = start(&["serve", "--data-dir", r, "--listen", "127.0.0.1:0", "--adjustable-clock"]);
    let srv = [("DIPR_SERVER", base.as_str())];
    ok(
        &[
            "client",
            "signup",
            "--username",
            "owner",
            "--display-name",
            "权利人",
            "--party-kind",
            "legal_person",
            "--party-name",
            "某数据公司",
            "--id-number",
            "91350100M000100Y43",
        ],
        &[("DIPR_SERVER", &base), ("DIPR_PASSWORD", "owner password 123")],
    );
    let login = |u: &str, p: &str| {
        ok(&["client", "login", "--username", u], &[("DIPR_SERVER", &base), ("DIPR_PASSWORD", p)]).trim().to_string()
    };
    let (owner_t, exam_t, admin_t) = (
        login("owner", "owner password 123"),
        login("exam", "a long examiner password"),
        login("root", "a long admin password"),
    );
    let as_owner = [srv[0], ("DIPR_TOKEN", owner_t.as_str())];
    let as_exam = [srv[0], ("DIPR_TOKEN", exam_t.as_str())];

    let key = ok(&["client", "discovery-key"], &as_owner).trim().to_string();
    let manifest = dir.join("owner.manifest.json");
    ok(
        &[
            "fingerprint",
            dir.join("owner.csv").to_str().unwrap(),
            "--out",
            manifest.to_str().unwrap(),
            "--discovery-key",
            &key,
            "--keep-fingerprints",
            "--views",
            views.to_str().unwrap(),
        ],
        &[],
    );
    let form = dir.join("form.json");
    std::fs::write(&form, serde_json::to_string(&serde_json::json!({
        "product_name": "某数据集", "object_type": "data_collection", "industry": "finance", "scenarios": ["风控"],
        "summary": "数据集", "sources": [{"kind": "self_collected", "description": "自采"}], "legality_statement": "合法",
        "no_infringement_commitment": true, "processing": "清洗", "structure": [{"name": "id"}], "format": "csv",
        "update_frequency": "monthly", "samples": ["id=000001"], "contact": {"name": "王"}
    })).unwrap()).unwrap();
    let draft: serde_json::Value =
        serde_json::from_str(&ok(&["client", "file", form.to_str().unwrap()], &as_owner)).unwrap();
    let id = draft["id"].as_str().unwrap().to_string();
    ok(&["client", "manifest", &id, manifest.to_str().unwrap()], &as_owner);
    ok(&["client", "submit", &id], &as_owner);
    for action in ["accept", "pass_formal_review", "approve"] {
        ok(&["client", "decide", &id, action, "--reasons", "理由"], &as_exam);
    }
    ureq::post(&format!("{base}/api/v1/admin/clock"))
        .set("Authorization", &format!("Bearer {admin_t}"))
        .send_json(serde_json::json!({"days": 20}))
        .unwrap();
    let cert =
        ureq::get(&format!("{base}/api/v1/public/records/{id}/certificate")).call().unwrap().into_string().unwrap();
    let cert_path = dir.join("cert.json");
    std::fs::write(&cert_path, cert).unwrap();

    // Containment, exact (fingerprints were kept): 1,000 of 3,000.
    let out = ok(
        &[
            "contain",
            "--manifest",
            manifest.to_str().unwrap(),
            "--suspect",
            dir.join("suspect.csv").to_str().unwrap(),
            "--json",
        ],
        &[],
    );
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["views"][0]["mode"], "exact");
    assert_eq!(report["views"][0]["matched"], 1000);

    // The evidence bundle verifies offline, with the registry key pinned; a changed record fails.
    let registry_key = ok(&["key", "show", "--data-dir", r], &[]).trim().to_string();
    let owner_csv = dir.join("owner.csv");
    let evidence = |suspect: &str, out: &Path, pin: bool| {
        let mut args = vec![
            "evidence",
            "--certificate",
            cert_path.to_str().unwrap(),
            "--manifest",
            manifest.to_str().unwrap(),
            "--data",
            owner_csv.to_str().unwrap(),
            "--suspect",
            suspect,
            "--records",
            "3",
            "--out",
            out.to_str().unwrap(),
        ];
        if pin {
            args.extend(["--trusted-key", registry_key.as_str()]);
        }
        let (code, _, err) = run_env(&args, &[]);
        assert_eq!(code, 0, "{err}");
        let html = std::fs::read_to_string(out.join("report.html")).unwrap();
        let bundle: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(out.join("bundle.json")).unwrap()).unwrap();
        (err, html, bundle)
    };
    let ev = dir.join("evidence");
    let (err, html, made) = evidence(dir.join("suspect.csv").to_str().unwrap(), &ev, false);
    // Made without a pinned key, the report is amber and says how to fix it; never green.
    assert!(err.contains("issuer is unconfirmed"), "{err}");
    assert!(html.contains("<div class=\"box warn\" id=\"result\">") && html.contains("--trusted-key"), "{html}");
    assert!(!html.contains("box good") && !html.contains("VERIFIED") && html.contains("未确认 NOT PINNED"), "{html}");
    // The conclusion comes first, with the numbers: full rows, exact, 1,000 of 3,000; three proven.
    let said = "登记数据（共 3000 条）中至少 1000 条（33.33%，精确计数）出现在被控文件“suspect.csv”中；其中 3 条在下文逐条证明。";
    assert!(html.contains(said), "{html}");
    assert!(html.find(said) < html.find("id=\"result\""), "the conclusion comes first");
    assert!(html.contains("At least 1000 of the 3000 registered records, 33.33% (exact count)"), "{html}");
    assert!(html.contains("比对依据：视图“full”") && html.contains("<dfn>草图 Sketch</dfn>"), "{html}");
    // Times in Beijing time, the zone named; no UTC instant as the bundle stores it.
    assert!(html.contains("（北京时间 Beijing time）"), "{html}");
    for utc in [&made["created_at"], &made["manifest"]["created_at"], &made["certificate"]["statement"]["valid_from"]] {
        assert!(!html.contains(utc.as_str().unwrap()), "{utc} shown as stored: {html}");
    }
    let bundle_path = ev.join("bundle.json");
    let out = ok(&["verify", bundle_path.to_str().unwrap(), "--trusted-key", &registry_key], &[]);
    assert!(out.contains("VALID") && out.contains("matched record 3 belongs to"), "{out}");
    assert!(out.contains(said), "dipr verify begins with the same conclusion: {out}");
    let pinned = dir.join("evidence-pinned");
    let (_, html, _) = evidence(dir.join("suspect.csv").to_str().unwrap(), &pinned, true);
    assert!(html.contains("<div class=\"box good\" id=\"result\">") && !html.contains("box warn"), "{html}");

    // The partial scrape matches on the view only: its records are proven, each beside the suspect
    // record it equals on the view's columns, and the bundle verifies.
    let ev_partial = dir.join("evidence-partial");
    let (_, html, bundle) = evidence(dir.join("partial.csv").to_str().unwrap(), &ev_partial, true);
    assert_eq!(bundle["v"], "dipr-evidence/v2");
    let matches = bundle["matches"].as_array().unwrap();
    assert_eq!(matches.len(), 3, "{bundle}");
    assert_eq!(matches[0]["view"], "key");
    assert_eq!(matches[0]["suspect_record"], 1);
    assert_eq!(matches[0]["suspect"], serde_json::json!({"id": "000000", "name": " 数据0 "}));
    assert_eq!(bundle["record_proofs"][0]["record"]["price"], "0.5");
    let said = "登记数据（共 3000 条）中至少 600 条（20.00%，精确计数）出现在被控文件“partial.csv”中；其中 3 条在下文逐条证明。";
    assert!(html.contains(said) && html.contains("比对依据：视图“key”，即列 id、name 的取值相同。"), "{html}");
    assert!(
        html.contains("被控文件第 1 条<br><span class=\"en\">Suspect record 1")
            && html.contains("<td class=\"in\"> 数据0 </td>"),
        "{html}"
    );
    assert!(html.contains("被控文件缺少列 price"), "the full view cannot match: {html}");
    let partial_bundle = ev_partial.join("bundle.json");
    let out = ok(&["verify", partial_bundle.to_str().unwrap(), "--trusted-key", &registry_key], &[]);
    assert!(out.contains("VALID") && out.contains("suspect record 1 equals matched record 1 on view “key”"), "{out}");
    let mut bundle: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&bundle_path).unwrap()).unwrap();
    bundle["record_proofs"][0]["record"]["price"] = serde_json::json!("1.5");
    let forged = dir.join("forged.json");
    std::fs::write(&forged, serde_json::to_string(&bundle).unwrap()).unwrap();
    let (code, _, _) = run_env(&["verify", forged.to_str().unwrap(), "--trusted-key", &registry_key], &[]);
    assert_eq!(code, 1);

    // A single record proof against the certificate.
    let proof = dir.join("proof.json");
    ok(
        &[
            "prove-record",
            "--manifest",
            manifest.to_str().unwrap(),
            "--data",
            dir.join("owner.csv").to_str().unwrap(),
            "--record",
            "42",
            "--out",
            proof.to_str().unwrap(),
        ],
        &[],
    );
    ok(
        &[
            "verify-record",
            proof.to_str().unwrap(),
            "--certificate",
            cert_path.to_str().unwrap(),
            "--trusted-key",
            &registry_key,
        ],
        &[],
    );
}

#[test]
fn each_registry_names_its_own_log_and_sigterm_answers_the_request_in_flight() {
    use std::io::{Read, Write};
    let (one, two) = (temp_dir("origin-one"), temp_dir("origin-two"));
    let origin = |dir: &Path| {
        let d = dir.to_str().unwrap();
        assert_eq!(run(&["admin", "run-timers", "--data-dir", d]).0, 0);
        let (code, key, _) = run(&["key", "show", "--data-dir", d]);
        assert_eq!(code, 0);
        key.split('+').next().unwrap().to_string()
    };
    let first = origin(&one);
    assert!(first.starts_with("dipr-") && first.ends_with(".localhost/log"), "{first}");
    assert_ne!(first, origin(&two), "two installations, two log origins");
    assert_eq!(first, origin(&one), "an existing key keeps its name");

    let (mut server, base) = start(&["serve", "--data-dir", one.to_str().unwrap(), "--listen", "127.0.0.1:0"]);
    let body = r#"{"username": "nobody", "password": "not a password"}"#;
    let mut conn = std::net::TcpStream::connect(base.trim_start_matches("http://")).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let head = format!(
        "POST /api/v1/auth/signin HTTP/1.1\r\nhost: dipr\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
        body.len()
    );
    conn.write_all(head.as_bytes()).unwrap();
    conn.write_all(&body.as_bytes()[..10]).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let killed = Command::new("kill").args(["-TERM", &server.0.id().to_string()]).status().unwrap();
    assert!(killed.success());
    std::thread::sleep(Duration::from_millis(300));
    assert!(server.0.try_wait().unwrap().is_none(), "the server waits for the request in flight");
    conn.write_all(&body.as_bytes()[10..]).unwrap();
    let mut reply = String::new();
    conn.read_to_string(&mut reply).unwrap();
    assert!(reply.starts_with("HTTP/1.1 401"), "answered: {reply}");
    let status = server.0.wait().unwrap();
    assert!(status.success(), "a clean exit after SIGTERM: {status}");
}

/// Peak resident memory of a process, in MiB.
fn peak_mib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse::<u64>().unwrap() / 1024
}

#[test]
fn a_flood_of_wrong_sign_ins_leaves_the_server_process_small() {
    // The server alone in its process, so its memory is its own. The client budget is lifted so that every
    // attempt reaches password hashing (19 MiB each): only the hashing bound keeps memory flat.
    let dir = temp_dir("flood");
    std::fs::write(dir.join("dipr.toml"), "[limits]\nsign_in_client_burst = 100000\n").unwrap();
    let (server, base) = start(&["serve", "--data-dir", dir.to_str().unwrap(), "--listen", "127.0.0.1:0"]);
    let pid = server.0.id();
    let before = peak_mib(pid);
    let url = format!("{base}/api/v1/auth/signin");
    let threads: Vec<_> = (0..48)
        .map(|t| {
            let url = url.clone();
            std::thread::spawn(move || {
                let mut answered = 0;
                for i in 0..5 {
                    let body = serde_json::json!({"username": format!("victim{t}-{i}"), "password": "wrong"});
                    match ureq::post(&url).send_json(body) {
                        Err(ureq::Error::Status(401, _)) => answered += 1,
                        other => panic!("unexpected answer: {other:?}"),
                    }
                }
                answered
            })
        })
        .collect();
    let answered: usize = threads.into_iter().map(|t| t.join().unwrap()).sum();
    assert_eq!(answered, 240);
    let grown = peak_mib(pid) - before;
    // 48 hashes at once would take about 900 MiB; bounded to one per core they take a few dozen.
    assert!(grown < 256, "the server grew by {grown} MiB under 48 parallel wrong sign-ins");
}

fn files_under(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.file_name().unwrap().to_string_lossy().starts_with('.') {
            continue;
        }
        if p.is_dir() {
            files_under(&p, out);
        } else {
            out.push(p);
        }
    }
}

/// Every exported file is what the server answers at the same path under /log/.
fn same_as_served(site: &Path, base: &str) -> usize {
    let mut files = Vec::new();
    files_under(site, &mut files);
    for f in &files {
        let rel = f.strip_prefix(site).unwrap().to_str().unwrap();
        let resp = ureq::get(&format!("{base}/log/{rel}")).call().unwrap();
        let mut served = Vec::new();
        std::io::Read::read_to_end(&mut resp.into_reader(), &mut served).unwrap();
        assert!(std::fs::read(f).unwrap() == served, "{rel} differs from the server's");
    }
    files.len()
}

#[test]
fn export_tiles_as_the_readme_shows_serves_the_same_bytes_as_the_server() {
    let dir = temp_dir("export");
    let run_in = |args: &[&str], env: &[(&str, &str)]| {
        let out = Command::new(BIN).current_dir(&dir).args(args).envs(env.iter().copied()).output().unwrap();
        let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(out.status.success(), "{args:?}\n{stdout}\n{stderr}");
        stdout.to_string()
    };
    // The README's commands, in a directory whose ./data is the registry.
    run_in(&["admin", "seed-demo"], &[]);
    let first: serde_json::Value =
        serde_json::from_str(&run_in(&["ledger", "export-tiles", "--dir", "site/log"], &[])).expect("a JSON report");
    let size = first["size"].as_u64().unwrap();
    assert!(size > 256, "the demo fills at least one full tile: {first}");
    assert_eq!(first["kept"], 0);
    assert!(first["full_written"].as_u64().unwrap() >= 2 && first["checkpoint_written"] == true, "{first}");

    let site = dir.join("site/log");
    let (_server, base) =
        start(&["serve", "--data-dir", dir.join("data").to_str().unwrap(), "--listen", "127.0.0.1:0"]);
    let files = same_as_served(&site, &base);
    assert_eq!(files as u64, 1 + first["tiles"].as_u64().unwrap(), "the checkpoint and every tile");

    // The log grows while the server runs (an objection on a notice is a log entry); a second export writes the
    // new partial tiles and the checkpoint, and keeps everything else.
    let notices = get(&format!("{base}/api/v1/public/notices?per_page=1"));
    let id = notices["items"][0]["id"].as_str().unwrap().to_string();
    run_in(&["client", "object", &id, "--name", "某公司", "--grounds", "数据来源于我方"], &[("DIPR_SERVER", &base)]);
    let second: serde_json::Value =
        serde_json::from_str(&run_in(&["ledger", "export-tiles", "--dir", "site/log"], &[])).unwrap();
    assert_eq!(second["size"].as_u64().unwrap(), size + 1, "{second}");
    assert_eq!(second["full_written"], 0, "{second}");
    assert_eq!(second["partial_written"], 2, "level 0 and the entry bundle: {second}");
    assert_eq!(second["kept"].as_u64().unwrap(), second["tiles"].as_u64().unwrap() - 2, "{second}");
    assert_eq!(second["checkpoint_written"], true);
    same_as_served(&site, &base);

    // No registry there: a clear refusal, nothing written.
    let (code, _, err) =
        run(&["ledger", "export-tiles", "--data-dir", dir.join("none").to_str().unwrap(), "--dir", "x"]);
    assert_eq!(code, 1);
    assert!(err.contains("no registry database"), "{err}");
}

/// Sign in as the demo administrator and move the clock: deadlines pass and the registry logs what follows.
fn advance_demo_clock(base: &str, days: u32) {
    let signin: serde_json::Value = ureq::post(&format!("{base}/api/v1/auth/signin"))
        .send_json(serde_json::json!({"username": "admin", "password": "dipr-demo-2026"}))
        .unwrap()
        .into_json()
        .unwrap();
    let token = signin["token"].as_str().unwrap();
    ureq::post(&format!("{base}/api/v1/admin/clock"))
        .set("authorization", &format!("Bearer {token}"))
        .send_json(serde_json::json!({"days": days}))
        .unwrap();
}

fn log_size(base: &str) -> u64 {
    let note = ureq::get(&format!("{base}/log/checkpoint")).call().unwrap().into_string().unwrap();
    note.lines().nth(1).unwrap().parse().unwrap()
}

#[test]
fn a_backup_restores_only_while_it_holds_everything_published() {
    let data = temp_dir("backup");
    let d = data.to_str().unwrap();
    let (code, _, err) = run(&["admin", "seed-demo", "--data-dir", d]);
    assert_eq!(code, 0, "{err}");
    assert!(data.join("log-head").exists(), "the command that wrote the log recorded its head");

    // A backup taken while the registry serves checks clean and restores over the same database.
    let (server, base) = start(&["serve", "--demo", "--data-dir", d, "--listen", "127.0.0.1:0"]);
    let before = log_size(&base);
    let early = data.join("early.db");
    let (code, out, err) = run(&["admin", "backup", "--data-dir", d, "--to", early.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains(&format!("{before} log entries")), "{out}");
    let (code, _, err) = run(&["admin", "backup", "--data-dir", d, "--to", early.to_str().unwrap()]);
    assert!(code != 0 && err.contains("never overwrites"), "{err}");

    // The registry goes on: notice periods end, registrations are logged and published.
    advance_demo_clock(&base, 40);
    let after = log_size(&base);
    assert!(after > before, "{before} → {after}");
    std::thread::sleep(Duration::from_millis(1500)); // the head is recorded every second
    drop(server);

    // The early backup lacks published entries: restore refuses and leaves the database alone.
    let (code, _, err) = run(&["admin", "restore", "--data-dir", d, "--from", early.to_str().unwrap()]);
    assert_ne!(code, 0);
    assert!(
        err.contains(&format!("has {before} entries but the registry signed and published a checkpoint of {after}")),
        "{err}"
    );
    let (code, _, _) = run(&["ledger", "check", "--data-dir", d]);
    assert_eq!(code, 0, "the database was left as it was");

    // Put in place by hand (as a careless operator would), it is refused at start and by the ledger check.
    let set_aside = |from: &str, to: &str| {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::rename(data.join(format!("{from}{suffix}")), data.join(format!("{to}{suffix}")));
        }
    };
    set_aside("dipr.db", "kept.db");
    std::fs::copy(&early, data.join("dipr.db")).unwrap();
    let (code, _, err) = run(&["serve", "--data-dir", d, "--listen", "127.0.0.1:0"]);
    assert_ne!(code, 0);
    assert!(err.contains("entries are missing (a restored backup or a rollback)"), "{err}");
    let (code, out, _) = run(&["ledger", "check", "--data-dir", d]);
    assert_eq!(code, 1);
    assert!(out.contains("were removed (a restored backup or a rollback)"), "{out}");
    let (code, _, err) = run(&["admin", "run-timers", "--data-dir", d]);
    assert!(code != 0 && err.contains("behind"), "a writing command refuses too: {err}");

    // A backup holding everything published restores, and the registry starts on it.
    set_aside("dipr.db", "early-in-place.db");
    set_aside("kept.db", "dipr.db");
    let late = data.join("late.db");
    assert_eq!(run(&["admin", "backup", "--data-dir", d, "--to", late.to_str().unwrap()]).0, 0);
    let (code, out, err) = run(&["admin", "restore", "--data-dir", d, "--from", late.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("replaced database is kept"), "{out}");
    let (_server, base) = start(&["serve", "--data-dir", d, "--listen", "127.0.0.1:0"]);
    assert_eq!(log_size(&base), after);
}

#[test]
fn a_search_certificate_verifies_offline_and_a_changed_byte_fails_it() {
    let data = temp_dir("search");
    let d = data.to_str().unwrap();
    assert_eq!(run(&["admin", "seed-demo", "--data-dir", d]).0, 0);
    let (_, key, _) = run(&["key", "show", "--data-dir", d]);
    let (_server, base) = start(&["serve", "--data-dir", d, "--listen", "127.0.0.1:0"]);
    let found = get(&format!("{base}/api/v1/public/records?status=registered&per_page=1"));
    let number = found["items"][0]["registration"]["registration_number"].as_str().unwrap().to_string();
    let cert =
        ureq::get(&format!("{base}/api/v1/encumbrances/certificate?q={number}")).call().unwrap().into_string().unwrap();
    let path = data.join("search.json");
    std::fs::write(&path, &cert).unwrap();
    let (code, out, err) = run(&["verify", path.to_str().unwrap(), "--trusted-key", key.trim()]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("VALID") && out.contains("北京时间") && out.contains(&number), "{out}");
    // Without a pinned key it is not accepted by default.
    assert_eq!(run(&["verify", path.to_str().unwrap()]).0, 1);
    // The holder's name changed by one character: invalid.
    let holder = found["items"][0]["holder"]["name"].as_str().unwrap();
    let mut changed: Vec<char> = holder.chars().collect();
    changed[0] = if changed[0] == '甲' { '乙' } else { '甲' };
    let edited = cert.replacen(holder, &changed.iter().collect::<String>(), 1);
    assert_ne!(edited, cert);
    std::fs::write(&path, edited).unwrap();
    let (code, out, _) = run(&["verify", path.to_str().unwrap(), "--trusted-key", key.trim()]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("INVALID"), "{out}");
}

fn openssl(dir: &Path, args: &[&str]) -> Vec<u8> {
    let out = Command::new("openssl").args(args).current_dir(dir).output().expect("openssl is installed");
    assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    out.stdout
}

/// A time-stamping authority on loopback: a CA, a TSA certificate with the critical time-stamping purpose,
/// and OpenSSL's `ts -reply` behind a one-request-at-a-time HTTP listener. Returns its URL.
fn start_tsa(dir: &Path) -> String {
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "365",
            "-subj",
            "/CN=Loopback TSA CA",
        ],
    );
    openssl(
        dir,
        &["req", "-newkey", "rsa:2048", "-nodes", "-keyout", "tsa.key", "-out", "tsa.csr", "-subj", "/CN=Loopback TSA"],
    );
    std::fs::write(dir.join("ext.cnf"), "extendedKeyUsage=critical,timeStamping\n").unwrap();
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "tsa.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "tsa.pem",
            "-days",
            "365",
            "-extfile",
            "ext.cnf",
        ],
    );
    std::fs::write(dir.join("serial"), "01\n").unwrap();
    let d = dir.display();
    std::fs::write(
        dir.join("tsa.cnf"),
        format!(
            "[ tsa ]\ndefault_tsa = tsa1\n[ tsa1 ]\nserial = {d}/serial\ncrypto_device = builtin\nsigner_cert = {d}/tsa.pem\n\
             certs = {d}/ca.pem\nsigner_key = {d}/tsa.key\nsigner_digest = sha256\ndefault_policy = 1.2.3.4.1\n\
             digests = sha256\naccuracy = secs:1\nordering = no\ness_cert_id_chain = no\ness_cert_id_alg = sha256\n"
        ),
    )
    .unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    let dir = dir.to_path_buf();
    std::thread::spawn(move || {
        use std::io::{Read, Write};
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            // Read the head, then Content-Length bytes of body.
            let (head_end, length) = loop {
                let n = s.read(&mut chunk).unwrap_or(0);
                if n == 0 {
                    break (0, 0);
                }
                buf.extend_from_slice(&chunk[..n]);
                if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                    let head = String::from_utf8_lossy(&buf[..p]).to_lowercase();
                    let len = head
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .map_or(0, |v| v.trim().parse().unwrap());
                    break (p + 4, len);
                }
            };
            while buf.len() < head_end + length {
                let n = s.read(&mut chunk).unwrap_or(0);
                if n == 0 {
                    break;
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            std::fs::write(dir.join("req.tsq"), &buf[head_end..]).unwrap();
            openssl(&dir, &["ts", "-reply", "-config", "tsa.cnf", "-queryfile", "req.tsq", "-out", "resp.tsr"]);
            let body = std::fs::read(dir.join("resp.tsr")).unwrap();
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/timestamp-reply\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = s.write_all(head.as_bytes()).and_then(|()| s.write_all(&body));
        }
    });
    url
}

#[test]
fn dipr_verify_reports_the_tsa_time_and_refuses_a_token_for_another_checkpoint() {
    let data = temp_dir("tsa");
    let d = data.to_str().unwrap();
    let tsa_dir = temp_dir("tsa-authority");
    let url = start_tsa(&tsa_dir);
    assert_eq!(run(&["admin", "seed-demo", "--data-dir", d]).0, 0);
    let (_, key, _) = run(&["key", "show", "--data-dir", d]);
    let ca = tsa_dir.join("ca.pem");
    std::fs::write(
        data.join("dipr.toml"),
        format!(
            "tsa_interval_secs = 1\n[[tsa]]\nname = \"回环时间戳服务\"\nurl = \"{url}\"\ntrust = \"{}\"\n",
            ca.display()
        ),
    )
    .unwrap();
    let (_server, base) = start(&["serve", "--data-dir", d, "--listen", "127.0.0.1:0"]);
    let found = get(&format!("{base}/api/v1/public/records?status=registered&per_page=1"));
    let id = found["items"][0]["id"].as_str().unwrap().to_string();
    let deadline = Instant::now() + Duration::from_secs(30);
    let cert = loop {
        let cert = get(&format!("{base}/api/v1/public/records/{id}/certificate"));
        if cert["timestamps"].as_array().is_some_and(|t| !t.is_empty()) {
            break cert;
        }
        assert!(Instant::now() < deadline, "never time-stamped: {cert}");
        std::thread::sleep(Duration::from_millis(300));
    };
    let path = data.join("cert.json");
    std::fs::write(&path, serde_json::to_string_pretty(&cert).unwrap()).unwrap();
    let args = |p: &Path| {
        vec![
            "verify".to_string(),
            p.to_str().unwrap().to_string(),
            "--trusted-key".into(),
            key.trim().to_string(),
            "--tsa-ca".into(),
            ca.to_str().unwrap().to_string(),
        ]
    };
    let a = args(&path);
    let (code, out, err) = run(&a.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("可信时间戳有效：回环时间戳服务") && out.contains("北京时间"), "{out}");

    // The same TSA's token over another message, put in its place: refused.
    std::fs::write(tsa_dir.join("other.txt"), "another checkpoint\n").unwrap();
    openssl(&tsa_dir, &["ts", "-query", "-data", "other.txt", "-sha256", "-cert", "-out", "other.tsq"]);
    openssl(
        &tsa_dir,
        &["ts", "-reply", "-config", "tsa.cnf", "-queryfile", "other.tsq", "-token_out", "-out", "other.tok"],
    );
    let other = std::fs::read(tsa_dir.join("other.tok")).unwrap();
    let mut moved = cert.clone();
    use base64::Engine;
    moved["timestamps"][0]["token"] = base64::engine::general_purpose::STANDARD.encode(other).into();
    let moved_path = data.join("moved.json");
    std::fs::write(&moved_path, serde_json::to_string_pretty(&moved).unwrap()).unwrap();
    let a = args(&moved_path);
    let (code, out, _) = run(&a.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("another checkpoint"), "{out}");
}

#[test]
fn dipr_follow_mirrors_every_public_event_resumes_and_catches_a_forked_history() {
    let data = temp_dir("follow");
    let d = data.to_str().unwrap();
    let (_server, base) = start(&["serve", "--demo", "--data-dir", d, "--listen", "127.0.0.1:0"]);
    let (code, key, err) = run(&["key", "show", "--data-dir", d]);
    assert_eq!(code, 0, "{err}");
    let key = key.trim();
    let (state, out) = (data.join("follow.json"), data.join("events.jsonl"));
    let follow = |limit: &str| {
        run(&[
            "follow",
            "--server",
            &base,
            "--trusted-key",
            key,
            "--state",
            state.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--limit",
            limit,
            "--once",
        ])
    };
    let lines = || -> Vec<serde_json::Value> {
        std::fs::read_to_string(&out).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
    };

    // Small pages: many requests, each verified against the signed checkpoint; every entry once, in order.
    let (code, _, err) = follow("7");
    assert_eq!(code, 0, "{err}");
    let size = log_size(&base);
    let events = lines();
    assert_eq!(events.len() as u64, size, "{err}");
    for (i, e) in events.iter().enumerate() {
        assert_eq!(e["index"].as_u64(), Some(i as u64));
    }

    // Nothing new: a second run reads nothing; after the registry moves on it reads exactly the new events.
    let (code, _, err) = follow("500");
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("0 events read"), "{err}");
    advance_demo_clock(&base, 40);
    let grown = log_size(&base);
    assert!(grown > size);
    let (code, _, err) = follow("500");
    assert_eq!(code, 0, "{err}");
    let events = lines();
    assert_eq!(events.len() as u64, grown, "resumed after index {}, nothing missed or repeated", size - 1);
    assert_eq!(events.last().unwrap()["index"].as_u64(), Some(grown - 1));

    // A follower that remembers another history (a changed root at its size) refuses the registry's.
    let mut st: serde_json::Value = serde_json::from_slice(&std::fs::read(&state).unwrap()).unwrap();
    st["size"] = serde_json::json!(grown - 3);
    st["root"] = serde_json::json!("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=");
    st["last"] = serde_json::json!(grown - 4);
    std::fs::write(&state, serde_json::to_vec(&st).unwrap()).unwrap();
    let (code, _, err) = follow("500");
    assert_ne!(code, 0);
    assert!(err.contains("does not extend the one of size"), "{err}");

    // Another key (here a witness's) is refused at the first page.
    let other = temp_dir("follow-other");
    let (_, other_key, _) =
        run(&["witness", "--name", "other.example", "--data-dir", other.to_str().unwrap(), "--show-key"]);
    let (code, _, err) = run(&[
        "follow",
        "--server",
        &base,
        "--trusted-key",
        other_key.trim(),
        "--state",
        other.join("s.json").to_str().unwrap(),
        "--once",
    ]);
    assert_ne!(code, 0);
    assert!(err.contains("checkpoint"), "{err}");
}

#[test]
fn a_bulk_dump_checks_against_the_log_and_a_dump_missing_one_row_is_rejected() {
    use std::io::{Read, Write};
    let data = temp_dir("bulk");
    let d = data.to_str().unwrap();
    assert_eq!(run(&["admin", "seed-demo", "--data-dir", d]).0, 0);
    let key = run(&["key", "show", "--data-dir", d]).1.trim().to_string();
    let dump = data.join("dump");
    let (code, out, err) = run(&["bulk", "export", "--data-dir", d, "--to", dump.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let manifest: serde_json::Value = serde_json::from_str(&out).unwrap();
    let names: Vec<&str> = manifest["files"].as_array().unwrap().iter().map(|f| f["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "events.jsonl.gz",
            "registrations.csv.gz",
            "registrations.jsonl.gz",
            "registrations.parquet",
            "encumbrances.csv.gz",
            "encumbrances.parquet",
            "statistics.json"
        ]
    );
    let check = |dir: &Path| run(&["bulk", "check", dir.to_str().unwrap(), "--trusted-key", &key]);
    let (code, out, err) = check(&dump);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("complete"), "{out}");

    let read_gz = |p: &Path| {
        let mut s = String::new();
        flate2::read::GzDecoder::new(std::fs::File::open(p).unwrap()).read_to_string(&mut s).unwrap();
        s
    };
    let regs = read_gz(&dump.join("registrations.csv.gz"));
    assert!(regs.starts_with('\u{feff}'), "CSV for spreadsheets: UTF-8 with a BOM");
    assert!(regs.lines().next().unwrap().contains("registration_number,certificate_number,product_name"));
    let rows = regs.lines().count() - 1;
    assert_eq!(manifest["files"][1]["rows"], rows);
    assert!(rows > 10, "the demo's registrations: {rows}");
    // The same rows as Parquet, readable by a Parquet reader, with the CSV's columns.
    use parquet::file::reader::{FileReader, SerializedFileReader};
    let pq = SerializedFileReader::new(std::fs::File::open(dump.join("registrations.parquet")).unwrap()).unwrap();
    assert_eq!(pq.metadata().file_metadata().num_rows() as usize, rows);
    let schema = pq.metadata().file_metadata().schema_descr();
    assert_eq!(schema.column(1).name(), "registration_number");
    let first: Vec<String> =
        pq.get_row_iter(None).unwrap().next().unwrap().unwrap().get_column_iter().map(|(_, f)| f.to_string()).collect();
    let csv_first = regs.lines().nth(1).unwrap();
    assert!(csv_first.starts_with(&first[0].trim_matches('"').to_string()), "{first:?} / {csv_first}");
    let events = read_gz(&dump.join("events.jsonl.gz"));
    assert_eq!(events.lines().count() as u64, manifest["size"].as_u64().unwrap());

    // A mirror that dropped one row, and fixed up the manifest's digest so the download looks whole.
    let tamper = |file: &str, drop_line: usize| -> std::path::PathBuf {
        let copy = data.join(format!("dump-without-{file}"));
        std::fs::create_dir_all(&copy).unwrap();
        for f in &names {
            std::fs::copy(dump.join(f), copy.join(f)).unwrap();
        }
        let text = read_gz(&dump.join(file));
        let kept: Vec<&str> = text.lines().enumerate().filter(|(i, _)| *i != drop_line).map(|(_, l)| l).collect();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all((kept.join("\n") + "\n").as_bytes()).unwrap();
        let bytes = gz.finish().unwrap();
        std::fs::write(copy.join(file), &bytes).unwrap();
        let mut m = manifest.clone();
        for f in m["files"].as_array_mut().unwrap() {
            if f["name"] == file {
                f["sha256"] = serde_json::json!(sha256_hex(&bytes));
            }
        }
        std::fs::write(copy.join("manifest.json"), serde_json::to_vec(&m).unwrap()).unwrap();
        copy
    };
    let (code, _, err) = check(&tamper("events.jsonl.gz", 7));
    assert_ne!(code, 0);
    assert!(err.contains("do not rebuild the signed checkpoint"), "{err}");
    let (code, _, err) = check(&tamper("registrations.csv.gz", 3));
    assert_ne!(code, 0);
    assert!(err.contains("is missing from registrations.csv.gz"), "{err}");
    // Without fixing the digest, the download itself is refused.
    std::fs::write(dump.join("statistics.json"), b"{}").unwrap();
    let (code, _, err) = check(&dump);
    assert!(code != 0 && err.contains("statistics.json is not the file the manifest names"), "{err}");
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

#[test]
fn the_server_publishes_a_dump_at_bulk_that_a_mirror_downloads_and_checks() {
    let data = temp_dir("bulk-served");
    let d = data.to_str().unwrap();
    let (_server, base) = start(&["serve", "--demo", "--data-dir", d, "--listen", "127.0.0.1:0"]);
    let key = run(&["key", "show", "--data-dir", d]).1.trim().to_string();
    // The first dump is written at start (none is newer than a day).
    let deadline = Instant::now() + Duration::from_secs(60);
    let manifest = loop {
        match ureq::get(&format!("{base}/bulk/manifest.json")).call() {
            Ok(r) => break r.into_string().unwrap(),
            Err(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(200)),
            Err(e) => panic!("no dump served: {e}"),
        }
    };
    let mirror = data.join("mirror");
    std::fs::create_dir_all(&mirror).unwrap();
    std::fs::write(mirror.join("manifest.json"), &manifest).unwrap();
    let m: serde_json::Value = serde_json::from_str(&manifest).unwrap();
    for f in m["files"].as_array().unwrap() {
        let name = f["name"].as_str().unwrap();
        let resp = ureq::get(&format!("{base}/bulk/{name}")).call().unwrap();
        assert!(resp.header("etag").is_some());
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut resp.into_reader(), &mut bytes).unwrap();
        std::fs::write(mirror.join(name), bytes).unwrap();
    }
    let (code, out, err) = run(&["bulk", "check", mirror.to_str().unwrap(), "--trusted-key", &key]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("complete"), "{out}");
    // Only what the manifest names is served.
    for path in ["dipr.db", "..%2Fdipr.db", "latest", "registry.key"] {
        assert!(ureq::get(&format!("{base}/bulk/{path}")).call().is_err(), "{path}");
    }
}

/// Replace whole identifiers (`from` → `to`) in source text.
fn rename(text: &str, names: &[(&str, &str)]) -> String {
    let mut out = String::new();
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        out.push_str(names.iter().find(|(f, _)| *f == word).map_or(word.as_str(), |(_, t)| t));
        word.clear();
    };
    for c in text.chars() {
        if c.is_alphanumeric() || c == '_' {
            word.push(c);
        } else {
            flush(&mut word, &mut out);
            out.push(c);
        }
    }
    flush(&mut word, &mut out);
    out
}

/// A safetensors file of f32 tensors (name, shape, values).
fn safetensors(tensors: &[(&str, [u64; 2], Vec<f32>)]) -> Vec<u8> {
    let (mut header, mut data) = (serde_json::Map::new(), Vec::new());
    for (name, shape, values) in tensors {
        let start = data.len();
        data.extend(values.iter().flat_map(|v| v.to_le_bytes()));
        header.insert(
            name.to_string(),
            serde_json::json!({"dtype": "F32", "shape": shape, "data_offsets": [start, data.len()]}),
        );
    }
    let header = serde_json::to_vec(&header).unwrap();
    let mut out = (header.len() as u64).to_le_bytes().to_vec();
    out.extend(header);
    out.extend(data);
    out
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &to.join(e.file_name()));
        } else {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

/// The source of a real crate from cargo's registry (always there: this workspace depends on it).
fn real_crate(prefix: &str) -> std::path::PathBuf {
    let home = std::env::var("CARGO_HOME")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| std::path::PathBuf::from(std::env::var("HOME").unwrap()).join(".cargo"));
    let mut found: Vec<_> = std::fs::read_dir(home.join("registry/src"))
        .unwrap()
        .flat_map(|index| std::fs::read_dir(index.unwrap().path()).unwrap())
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_str().unwrap().starts_with(prefix))
        .collect();
    found.sort();
    found.pop().unwrap_or_else(|| panic!("no {prefix}* crate in cargo's registry"))
}

#[test]
fn an_algorithm_package_is_registered_proven_file_by_file_and_found_when_copied() {
    let dir = temp_dir("package");
    let data = dir.join("registry");
    let r = data.to_str().unwrap();
    // The registered package: a real crate's source and a small model, committed to git; an untracked file
    // in the work tree is not part of the commit.
    let pkg = dir.join("scheduler");
    copy_dir(&real_crate("semver-1."), &pkg);
    let weights: Vec<(&str, [u64; 2], Vec<f32>)> = vec![
        ("encoder.weight", [16, 8], (0..128).map(|i| i as f32 / 7.0).collect()),
        ("encoder.bias", [1, 16], (0..16).map(|i| -(i as f32)).collect()),
        ("head.weight", [4, 16], (0..64).map(|i| (i as f32).sin()).collect()),
    ];
    std::fs::write(pkg.join("model.safetensors"), safetensors(&weights)).unwrap();
    let git = |args: &[&str]| {
        let out = Command::new("git").arg("-C").arg(&pkg).args(args).output().unwrap();
        assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    };
    git(&["init", "-q"]);
    git(&["add", "-A"]);
    git(&["-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "v1"]);
    std::fs::write(pkg.join("NOTES.txt"), "not committed").unwrap();

    ok(
        &["admin", "create-user", "--data-dir", r, "--username", "root", "--role", "admin"],
        &[("DIPR_PASSWORD", "a long admin password")],
    );
    ok(
        &["admin", "create-user", "--data-dir", r, "--username", "exam", "--role", "examiner"],
        &[("DIPR_PASSWORD", "a long examiner password")],
    );
    let (_server, base) = start(&["serve", "--data-dir", r, "--listen", "127.0.0.1:0", "--adjustable-clock"]);
    let srv = [("DIPR_SERVER", base.as_str())];
    ok(
        &[
            "client",
            "signup",
            "--username",
            "owner",
            "--display-name",
            "权利人",
            "--party-kind",
            "legal_person",
            "--party-name",
            "某算法公司",
            "--id-number",
            "91350100M000100Y43",
        ],
        &[("DIPR_SERVER", &base), ("DIPR_PASSWORD", "owner password 123")],
    );
    let login = |u: &str, p: &str| {
        ok(&["client", "login", "--username", u], &[("DIPR_SERVER", &base), ("DIPR_PASSWORD", p)]).trim().to_string()
    };
    let (owner_t, exam_t, admin_t) = (
        login("owner", "owner password 123"),
        login("exam", "a long examiner password"),
        login("root", "a long admin password"),
    );
    let as_owner = [srv[0], ("DIPR_TOKEN", owner_t.as_str())];
    let as_exam = [srv[0], ("DIPR_TOKEN", exam_t.as_str())];
    let key = ok(&["client", "discovery-key"], &as_owner).trim().to_string();

    let manifest = dir.join("scheduler.manifest.json");
    let m = manifest.to_str().unwrap();
    ok(&["fingerprint", pkg.to_str().unwrap(), "--git-rev", "HEAD", "--out", m, "--discovery-key", &key], &[]);
    let filed: serde_json::Value = serde_json::from_slice(&std::fs::read(&manifest).unwrap()).unwrap();
    assert_eq!(filed["format"], "package");
    let committed = Command::new("git").arg("-C").arg(&pkg).args(["ls-files"]).output().unwrap().stdout;
    let files = String::from_utf8(committed).unwrap().lines().count() as u64;
    assert_eq!(filed["package"]["files"], files, "the commit's files, not the untracked one");
    assert_eq!(filed["package"]["tensors"].as_array().unwrap().len(), 3);
    assert!(filed["package"]["languages"]["rust"]["files"].as_u64().unwrap() > 5);
    assert!(filed["package"]["code"]["fingerprints"].as_u64().unwrap() > 1000);
    // The work tree without the untracked file is the same package: the same commitment.
    std::fs::remove_file(pkg.join("NOTES.txt")).unwrap();
    let again = dir.join("again.json");
    ok(
        &[
            "fingerprint",
            pkg.to_str().unwrap(),
            "--out",
            again.to_str().unwrap(),
            "--secrets",
            &format!("{}", dir.join("scheduler.manifest.secrets.json").display()),
        ],
        &[],
    );
    let again: serde_json::Value = serde_json::from_slice(&std::fs::read(&again).unwrap()).unwrap();
    assert_eq!(again["root"], filed["root"]);

    // Filed with an algorithm registration, examined and registered: the certificate states it.
    let form = dir.join("form.json");
    std::fs::write(&form, serde_json::to_string(&serde_json::json!({
        "product_name": "算力调度算法", "object_type": "data_algorithm", "industry": "finance", "scenarios": ["调度"],
        "summary": "算法", "sources": [{"kind": "self_collected", "description": "自研"}], "legality_statement": "合法",
        "no_infringement_commitment": true, "processing": "训练", "structure": [{"name": "model"}], "format": "safetensors",
        "update_frequency": "monthly", "samples": ["src/lib.rs"], "contact": {"name": "王"}
    })).unwrap()).unwrap();
    let draft: serde_json::Value =
        serde_json::from_str(&ok(&["client", "file", form.to_str().unwrap()], &as_owner)).unwrap();
    let id = draft["id"].as_str().unwrap().to_string();
    ok(&["client", "manifest", &id, m], &as_owner);
    ok(&["client", "submit", &id], &as_owner);
    for action in ["accept", "pass_formal_review", "approve"] {
        ok(&["client", "decide", &id, action, "--reasons", "理由"], &as_exam);
    }
    ureq::post(&format!("{base}/api/v1/admin/clock"))
        .set("Authorization", &format!("Bearer {admin_t}"))
        .send_json(serde_json::json!({"days": 20}))
        .unwrap();
    let cert =
        ureq::get(&format!("{base}/api/v1/public/records/{id}/certificate")).call().unwrap().into_string().unwrap();
    let cert_json: serde_json::Value = serde_json::from_str(&cert).unwrap();
    let c = &cert_json["statement"]["content_commitment"];
    assert_eq!(
        (c["algorithm"].as_str(), c["root"].clone(), c["record_count"].as_u64()),
        (Some("dipr-package/1"), filed["root"].clone(), Some(files))
    );
    let cert_path = dir.join("cert.json");
    std::fs::write(&cert_path, &cert).unwrap();

    // One file proven against the certificate, offline; a changed byte fails.
    let registry_key = ok(&["key", "show", "--data-dir", r], &[]).trim().to_string();
    let proof = dir.join("lib.proof.json");
    ok(
        &[
            "prove-record",
            "--manifest",
            m,
            "--data",
            pkg.to_str().unwrap(),
            "--git-rev",
            "HEAD",
            "--file",
            "src/lib.rs",
            "--out",
            proof.to_str().unwrap(),
        ],
        &[],
    );
    let original = pkg.join("src/lib.rs");
    let verify = |file: &Path| {
        run(&[
            "verify-record",
            proof.to_str().unwrap(),
            "--certificate",
            cert_path.to_str().unwrap(),
            "--trusted-key",
            &registry_key,
            "--file",
            file.to_str().unwrap(),
        ])
    };
    let (code, out, _) = verify(&original);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("is the committed file src/lib.rs"), "{out}");
    let mut changed = std::fs::read(&original).unwrap();
    let at = changed.iter().position(|b| *b == b'x').unwrap();
    changed[at] = b'y';
    let tampered = dir.join("lib.rs");
    std::fs::write(&tampered, changed).unwrap();
    let (code, out, _) = verify(&tampered);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("失败 FAIL"), "{out}");

    // A suspect: the crate reformatted, identifiers renamed, moved under vendor/ inside another crate,
    // and the model re-sharded with renamed tensors and one layer transposed.
    let suspect = dir.join("suspect");
    copy_dir(&real_crate("itoa-1."), &suspect);
    let vendored = suspect.join("vendor/sched");
    std::fs::create_dir_all(&vendored).unwrap();
    let renames =
        [("Version", "Release"), ("Comparator", "Matcher"), ("major", "mj"), ("minor", "mn"), ("Prerelease", "PreTag")];
    for e in std::fs::read_dir(pkg.join("src")).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "rs") {
            let text = rename(&std::fs::read_to_string(&p).unwrap(), &renames);
            std::fs::write(vendored.join(p.file_name().unwrap()), text).unwrap();
        }
    }
    let fmt = Command::new("rustfmt")
        .args(["--edition", "2021", "--config", "max_width=60,tab_spaces=2"])
        .args(std::fs::read_dir(&vendored).unwrap().map(|e| e.unwrap().path()))
        .status();
    assert!(fmt.is_ok_and(|s| s.success()), "rustfmt reformats the copy");
    let t = |i: usize| weights[i].2.clone();
    let transposed: Vec<f32> = (0..8).flat_map(|c| (0..16).map(move |r| (r * 8 + c) as f32 / 7.0)).collect();
    std::fs::write(suspect.join("a.safetensors"), safetensors(&[("x.0", [8, 16], transposed), ("x.1", [1, 16], t(1))]))
        .unwrap();
    std::fs::write(suspect.join("b.safetensors"), safetensors(&[("y", [4, 16], t(2))])).unwrap();
    let out = ok(&["contain", "--manifest", m, "--suspect", suspect.to_str().unwrap(), "--json"], &[]);
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["code"]["mode"], "exact", "{report}");
    // The copied files (src/) are found nearly whole, the others (tests, benches) not; overall, their share.
    let per_file = report["code"]["detail"]["files"].as_array().unwrap();
    let (mut copied, mut all) = (0, 0);
    for f in per_file {
        let (share, n) = (f["share"].as_f64().unwrap(), f["fingerprints"].as_u64().unwrap());
        all += n;
        if f["path"].as_str().unwrap().starts_with("src/") {
            copied += n;
            assert!(share > 0.9, "{f}");
        } else {
            assert!(share < 0.1, "{f}");
        }
    }
    let truth = copied as f64 / all as f64;
    assert!((report["code"]["estimate"].as_f64().unwrap() - truth).abs() < 0.05, "{truth} {report}");
    assert_eq!((report["tensors"]["matched"].as_u64(), report["tensors"]["transposed"].as_u64()), (Some(3), Some(1)));
    let lib = report["code"]["detail"]["files"].as_array().unwrap().iter().find(|f| f["path"] == "src/lib.rs").unwrap();
    assert!(lib["regions"][0]["found_in"][0]["path"].as_str().unwrap().starts_with("vendor/sched/"), "{lib}");
    let text = ok(&["contain", "--manifest", m, "--suspect", suspect.to_str().unwrap()], &[]);
    assert!(text.contains("模型张量 tensors: 3 of 3 unchanged"), "{text}");
    // The court bundle: verified offline with the registry's key; it proves the files found whole (the
    // README kept as it was) and those whose code was found, and its report says so first.
    std::fs::copy(pkg.join("README.md"), suspect.join("vendor/sched/README.md")).unwrap();
    let bundle_dir = dir.join("evidence");
    ok(
        &[
            "evidence",
            "--certificate",
            cert_path.to_str().unwrap(),
            "--manifest",
            m,
            "--data",
            pkg.to_str().unwrap(),
            "--git-rev",
            "HEAD",
            "--suspect",
            suspect.to_str().unwrap(),
            "--records",
            "20",
            "--trusted-key",
            &registry_key,
            "--out",
            bundle_dir.to_str().unwrap(),
        ],
        &[],
    );
    let bundle_path = bundle_dir.join("bundle.json");
    let out = ok(&["verify", bundle_path.to_str().unwrap(), "--trusted-key", &registry_key], &[]);
    assert!(out.contains("VALID") && out.contains("The registered package"), "{out}");
    let bundle: serde_json::Value = serde_json::from_slice(&std::fs::read(&bundle_path).unwrap()).unwrap();
    let proven: Vec<&str> =
        bundle["record_proofs"].as_array().unwrap().iter().map(|p| p["record"]["path"].as_str().unwrap()).collect();
    assert!(proven.contains(&"README.md") && proven.contains(&"src/lib.rs"), "{proven:?}");
    assert_eq!(bundle["matches"][0]["view"], "content");
    let html = std::fs::read_to_string(bundle_dir.join("report.html")).unwrap();
    for said in [
        "登记的算法包（共",
        "个文件原样出现",
        "<code>README.md</code></td><td><code>vendor/sched/README.md</code>",
        "模型张量 3 个中 3 个原样出现（其中 1 个为转置）",
        "vendor/sched/lib.rs",
        "box good",
    ] {
        assert!(html.contains(said), "the report says {said}: {html}");
    }
    // A bundle whose proven file was changed does not verify.
    let mut forged = bundle.clone();
    forged["record_proofs"][0]["record"]["content"] = serde_json::json!(format!("blake3:{}", "0".repeat(64)));
    let forged_path = dir.join("forged.json");
    std::fs::write(&forged_path, serde_json::to_vec(&forged).unwrap()).unwrap();
    let (code, _, _) = run(&["verify", forged_path.to_str().unwrap(), "--trusted-key", &registry_key]);
    assert_ne!(code, 0);

    // An unrelated crate holds next to none of it.
    let out = ok(&["contain", "--manifest", m, "--suspect", real_crate("itoa-1.").to_str().unwrap(), "--json"], &[]);
    let unrelated: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(unrelated["code"]["estimate"].as_f64().unwrap() < 0.05, "{unrelated}");

    // The registry finds the registered package in the suspect from a sketch alone.
    // (The clock moved 20 days: sign in again.)
    let owner_t = login("owner", "owner password 123");
    let out = ok(&["discover", suspect.to_str().unwrap()], &[srv[0], ("DIPR_TOKEN", owner_t.as_str())]);
    let found: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(found[0]["application_id"].as_str(), Some(id.as_str()), "{found}");
    assert!(found[0]["containment"].as_f64().unwrap() > 0.5, "{found}");

    // PyTorch pickles are refused, never unpickled.
    std::fs::write(dir.join("model.pt"), b"PK\x03\x04 not really").unwrap();
    let (code, _, err) =
        run(&["fingerprint", dir.join("model.pt").to_str().unwrap(), "--out", dir.join("pt.json").to_str().unwrap()]);
    assert_ne!(code, 0);
    assert!(err.contains("never unpickled") && err.contains("safetensors"), "{err}");
}

#[test]
fn admin_reset_password_sets_one_to_be_changed_at_the_next_sign_in() {
    let dir = temp_dir("reset-password");
    let data = dir.join("registry");
    let r = data.to_str().unwrap();
    ok(
        &["admin", "create-user", "--data-dir", r, "--username", "exam", "--role", "examiner"],
        &[("DIPR_PASSWORD", "the examiner's own password")],
    );
    let (code, _, err) = run_env(
        &["admin", "reset-password", "--data-dir", r, "--username", "nobody"],
        &[("DIPR_PASSWORD", "a temporary password")],
    );
    assert!(code != 0 && err.contains("no account"), "{err}");
    let (code, _, err) =
        run_env(&["admin", "reset-password", "--data-dir", r, "--username", "exam"], &[("DIPR_PASSWORD", "short")]);
    assert!(code != 0 && err.contains("weak_password"), "{err}");
    let out = ok(
        &["admin", "reset-password", "--data-dir", r, "--username", "exam"],
        &[("DIPR_PASSWORD", "a temporary password")],
    );
    assert!(out.contains("must be changed at the next sign-in"), "{out}");

    let (_server, base) = start(&["serve", "--data-dir", r, "--listen", "127.0.0.1:0"]);
    // The session token, or None when the password is refused.
    let sign_in = |password: &str| -> Option<serde_json::Value> {
        ureq::post(&format!("{base}/api/v1/auth/signin"))
            .send_json(serde_json::json!({"username": "exam", "password": password}))
            .ok()
            .map(|r| r.into_json().unwrap())
    };
    assert!(sign_in("the examiner's own password").is_none(), "the old password no longer works");
    let session = sign_in("a temporary password").expect("the temporary password signs in");
    let token = session["token"].as_str().unwrap();
    match ureq::get(&format!("{base}/api/v1/review/queue")).set("authorization", &format!("Bearer {token}")).call() {
        Err(ureq::Error::Status(403, resp)) => {
            let body: serde_json::Value = resp.into_json().unwrap();
            assert_eq!(body["error"]["code"], "password_change_required");
        }
        other => panic!("expected 403 password_change_required, got {other:?}"),
    }
    ureq::post(&format!("{base}/api/v1/me/password"))
        .set("authorization", &format!("Bearer {token}"))
        .send_json(serde_json::json!({"current_password": "a temporary password",
            "new_password": "chosen by the examiner", "repeat_password": "chosen by the examiner"}))
        .unwrap();
    ureq::get(&format!("{base}/api/v1/review/queue")).set("authorization", &format!("Bearer {token}")).call().unwrap();
}
