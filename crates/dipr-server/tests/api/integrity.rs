//! What someone with write access to the database could do, and `dipr ledger check` finding each: an interior
//! hash zeroed, an audit event or a record edited, an entry deleted or inserted, and the whole log rolled back
//! cleanly to an earlier copy (which the registry also refuses to start on).

use dipr_ledger::certificate::LogEntry;
use dipr_ledger::merkle::{leaf_hash, verify_inclusion};
use dipr_registry::head::HeadFile;
use dipr_registry::ledger::{check, LedgerReport};
use dipr_store::Store;

use super::registered::{holder_account, licence, registered_product, today};
use super::*;

/// A registered product with a licence on it, and two more filings in public notice.
async fn busy_register(app: &App) -> String {
    let (id, a, _code, e, _admin) = registered_product(app, "账本测试语料").await;
    for name in ["第二件语料", "第三件语料"] {
        app.publish_notice(&a, &e, name).await;
    }
    let (_b, b_code) = holder_account(app, "被许可").await;
    let lic = licence(&b_code, "non_exclusive", today(app), 100, "沪");
    app.ok("POST", &format!("/api/v1/records/{id}/licences"), Some(&a), Some(lic)).await;
    id
}

async fn pool(app: &App) -> sqlx::SqlitePool {
    sqlx::SqlitePool::connect(&format!("sqlite://{}", app.db_path.as_ref().unwrap().display())).await.unwrap()
}

async fn checked(app: &App) -> LedgerReport {
    check(app.state.store.as_ref(), &app.state.signer.verifier(), None).await.unwrap()
}

fn mentions(report: &LedgerReport, words: &str) -> bool {
    report.problems.iter().any(|p| p.contains(words))
}

#[tokio::test]
async fn a_clean_register_checks_clean_and_counts_what_it_compared() {
    let app = App::new().await;
    busy_register(&app).await;
    let r = checked(&app).await;
    assert!(r.ok, "{r:?}");
    let size = app.state.store.log_size().await.unwrap();
    assert_eq!((r.entries, r.checkpoints_checked, r.events_checked), (size, size, size), "{r:?}");
    assert_eq!(r.records_checked, 3);
    assert!(r.hashes_checked > size, "leaves and interior hashes: {r:?}");
}

#[tokio::test]
async fn a_zeroed_interior_hash_is_found_and_named() {
    let app = App::new().await;
    busy_register(&app).await;
    let db = pool(&app).await;
    sqlx::query("UPDATE log_hashes SET hash = zeroblob(32) WHERE level = 2 AND idx = 0").execute(&db).await.unwrap();
    // The server now builds proofs from the bad hash: they fail against the signed checkpoint.
    let size = app.state.store.log_size().await.unwrap();
    let proof = dipr_registry::ledger::prove_inclusion(app.state.store.as_ref(), size - 1, size).await.unwrap();
    let (_, note) = app.state.store.checkpoint(None).await.unwrap().unwrap();
    let (cp, _) = dipr_ledger::checkpoint::Checkpoint::open(
        note.as_bytes(),
        &app.state.signer.verifier(),
        app.state.signer.name(),
    )
    .unwrap();
    let last = app.state.store.log_entries(size - 1, size).await.unwrap().remove(0);
    assert!(!verify_inclusion(&leaf_hash(&last), size - 1, size, &proof, &cp.root));

    let r = checked(&app).await;
    assert!(!r.ok && mentions(&r, "level 2, index 0 (entries 0–3)"), "{r:?}");
    assert_eq!(r.first_bad_entry, Some(0));
    assert_eq!(r.problem_count, 1, "the entries themselves are intact: {r:?}");
}

#[tokio::test]
async fn an_edited_event_row_is_found() {
    let app = App::new().await;
    busy_register(&app).await;
    let db = pool(&app).await;
    let logged: i64 =
        sqlx::query_scalar("SELECT event_id FROM log_entries WHERE idx = 1").fetch_one(&db).await.unwrap();
    sqlx::query("UPDATE events SET reasons = 'rewritten later' WHERE id = $1").bind(logged).execute(&db).await.unwrap();
    let r = checked(&app).await;
    assert!(!r.ok && mentions(&r, &format!("event {logged} was edited after it was logged as entry 1")), "{r:?}");
    assert!(mentions(&r, "reasons or public facts differ"), "{r:?}");
    assert_eq!(r.first_bad_entry, Some(1));

    // A deleted event row is named too.
    let other: i64 = sqlx::query_scalar("SELECT event_id FROM log_entries WHERE idx = 3").fetch_one(&db).await.unwrap();
    // The foreign key from the log to its events is no obstacle to someone who can switch it off.
    let mut c = db.acquire().await.unwrap();
    sqlx::query("PRAGMA foreign_keys = OFF").execute(&mut *c).await.unwrap();
    sqlx::query("DELETE FROM events WHERE id = $1").bind(other).execute(&mut *c).await.unwrap();
    let r = checked(&app).await;
    assert!(mentions(&r, &format!("records event {other}, which is not in the events table")), "{r:?}");
}

/// Rewrite one stored application document, as an attacker with SQL access would.
async fn rewrite(app: &App, id: &str, edit: impl FnOnce(&mut dipr_domain::application::Application)) {
    let mut doc = app.state.store.application(id.parse().unwrap()).await.unwrap().unwrap();
    edit(&mut doc);
    let db = pool(app).await;
    sqlx::query("UPDATE applications SET doc = $1 WHERE id = $2")
        .bind(serde_json::to_string(&doc).unwrap())
        .bind(id)
        .execute(&db)
        .await
        .unwrap();
}

#[tokio::test]
async fn an_edited_record_is_found_by_replaying_the_log() {
    let app = App::new().await;
    let id = busy_register(&app).await;
    rewrite(&app, &id, |a| {
        let h = a.holding.as_mut().expect("a registered product has a holding");
        h.holder.name = "冒名顶替有限公司".into();
    })
    .await;
    let r = checked(&app).await;
    assert!(!r.ok && mentions(&r, "its holder is \"冒名顶替有限公司\" in the database"), "{r:?}");

    let app = App::new().await;
    let id = busy_register(&app).await;
    rewrite(&app, &id, |a| a.state = dipr_domain::application::State::Revoked).await;
    let r = checked(&app).await;
    assert!(mentions(&r, "its state is revoked in the database but registered in the log"), "{r:?}");

    let app = App::new().await;
    let id = busy_register(&app).await;
    rewrite(&app, &id, |a| a.holding.as_mut().unwrap().encumbrances.licences.clear()).await;
    let r = checked(&app).await;
    assert!(mentions(&r, "its licences"), "{r:?}");

    // A filing made "registered" in the database without ever being published is not in the log.
    let app = App::new().await;
    busy_register(&app).await;
    let a = app.sign_up("从未公示").await;
    let draft = app.draft(&a, "偷偷登记").await;
    let db = pool(&app).await;
    sqlx::query("UPDATE applications SET is_public = 1 WHERE id = $1").bind(&draft).execute(&db).await.unwrap();
    let r = checked(&app).await;
    assert!(mentions(&r, &format!("record {draft} is published in the database but has no entry in the log")), "{r:?}");
}

#[tokio::test]
async fn a_deleted_or_inserted_entry_is_named_exactly() {
    let app = App::new().await;
    busy_register(&app).await;
    let db = pool(&app).await;
    let size = app.state.store.log_size().await.unwrap();
    sqlx::query("DELETE FROM log_entries WHERE idx = 2").execute(&db).await.unwrap();
    let r = checked(&app).await;
    assert_eq!(r.first_bad_entry, Some(2), "{r:?}");
    assert!(mentions(&r, "entry 2 is missing"), "{r:?}");
    assert!(
        !r.problems.iter().any(|p| p.contains("does not match its stored hash")),
        "later entries are intact: {r:?}"
    );
    assert_eq!(r.entries, size - 1);

    let app = App::new().await;
    busy_register(&app).await;
    let db = pool(&app).await;
    let size = app.state.store.log_size().await.unwrap();
    let forged = LogEntry {
        v: dipr_ledger::certificate::ENTRY_VERSION.into(),
        event_id: 1,
        at: "2026-01-01T00:00:00.000Z".into(),
        kind: "registered".into(),
        subject: Uuid::now_v7().to_string(),
        from_state: None,
        to_state: None,
        data: json!({}),
    };
    sqlx::query("INSERT INTO log_entries (idx, event_id, entry) VALUES ($1, 1, $2)")
        .bind(size as i64)
        .bind(forged.to_bytes())
        .execute(&db)
        .await
        .unwrap();
    let r = checked(&app).await;
    assert_eq!(r.first_bad_entry, Some(size), "{r:?}");
    assert!(mentions(&r, "beyond the end of the signed log"), "{r:?}");
}

#[tokio::test]
async fn a_rolled_back_log_is_reported_refused_at_start_and_never_signed_over() {
    let app = App::new().await;
    let (id, a) = registered(&app).await;
    let e = app.staff(Role::Examiner).await;
    let dir = app.db_path.as_ref().unwrap().parent().unwrap().to_path_buf();
    // A consistent copy of the database, taken while the registry is writing.
    let backup = dir.join("backup.db");
    let writes = async {
        for i in 0..10 {
            app.publish_notice(&a, &e, &format!("备份之后{i}")).await;
        }
    };
    let (copied, ()) = tokio::join!(app.state.store.backup_to(&backup), writes);
    copied.unwrap();
    let key = app.state.signer.verifier();
    let head = HeadFile::open(&dir, &key).unwrap();
    dipr_registry::head::advance(app.state.store.as_ref(), &head, &key).await.unwrap();
    let signed = head.head().unwrap();
    assert_eq!(signed.size, 12);

    // The backup is restored: clean in itself, but behind what was published.
    let restored = Arc::new(dipr_store::SqliteStore::open(&backup).await.unwrap());
    assert!(check(restored.as_ref(), &key, None).await.unwrap().ok);
    let copied = restored.log_size().await.unwrap();
    assert!((2..12).contains(&copied), "the copy was taken mid-way: {copied}");
    // Every checkpoint the copy holds is the one the registry signed at that size: one root per size.
    for (size, note) in restored.checkpoints(0, u64::MAX).await.unwrap() {
        assert_eq!(app.state.store.checkpoint(Some(size)).await.unwrap(), Some((size, note)));
    }
    let r = check(restored.as_ref(), &key, Some(&signed)).await.unwrap();
    let expected = format!("has {copied} entries but the registry signed and published a checkpoint of 12");
    assert!(!r.ok && mentions(&r, &expected), "{r:?}");
    assert_eq!(r.first_bad_entry, Some(copied));

    // The registry refuses to start on it...
    let state = Registry::new(restored.clone(), config(), app.state.signer.clone()).await.unwrap();
    let refusal = state.keep_head(HeadFile::open(&dir, &key).unwrap()).await.unwrap_err().to_string();
    assert!(refusal.contains(&format!("the last {} entries are missing", 12 - copied)), "{refusal}");
    drop(state);

    // A registry already running when its database is rolled back underneath it signs nothing over what it
    // published: the write that would log is refused and changes nothing.
    app.state.keep_head(HeadFile::open(&dir, &key).unwrap()).await.unwrap();
    let db = pool(&app).await;
    for sql in [
        "DELETE FROM log_entries WHERE idx >= 2",
        "DELETE FROM log_hashes WHERE ((idx + 1) << level) > 2",
        "DELETE FROM log_checkpoints WHERE size > 2",
        "UPDATE sequences SET value = 2 WHERE name = 'log'",
    ] {
        sqlx::query(sql).execute(&db).await.unwrap();
    }
    let draft = app.draft(&a, "回滚之后").await;
    app.ok("POST", &format!("/api/v1/applications/{draft}/submit"), Some(&a), None).await;
    app.decide(&e, &draft, "accept").await;
    app.decide(&e, &draft, "pass_formal_review").await;
    let before = app.row_counts().await;
    let approve = json!({"action": "approve", "reasons": "理由"});
    let path = format!("/api/v1/review/applications/{draft}/decision");
    app.err("POST", &path, Some(&e), Some(approve), 503, "log_behind").await;
    assert_eq!(app.row_counts().await, before, "a refused signature writes nothing");
    assert_eq!(app.state.store.log_size().await.unwrap(), 2);
    let (status, health) = app.call("GET", "/healthz", None, None).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{health}");
    let _ = id;
}
