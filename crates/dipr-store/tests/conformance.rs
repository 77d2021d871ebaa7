//! One conformance suite, run against every backend: SQLite always, PostgreSQL when
//! `DIPR_TEST_POSTGRES_URL` is set (and then a connection failure fails the tests, never skips them).

use std::sync::Arc;

use chrono::{Duration, TimeZone, Utc};
use dipr_domain::access::Role;
use dipr_domain::application::*;
use dipr_domain::party::*;
use dipr_domain::time::{CalendarDay, DayKind};
use dipr_store::*;
use uuid::Uuid;

async fn sqlite() -> Arc<dyn Store> {
    let dir = std::env::temp_dir().join(format!("dipr-store-test-{}", Uuid::now_v7()));
    std::fs::create_dir_all(&dir).unwrap();
    Arc::new(SqliteStore::open(&dir.join("dipr.db")).await.unwrap())
}

fn pg_url() -> Option<String> {
    std::env::var("DIPR_TEST_POSTGRES_URL").ok().filter(|s| !s.is_empty())
}

async fn postgres() -> Option<Arc<dyn Store>> {
    let url = pg_url()?;
    let schema = format!("t_{}", Uuid::now_v7().simple());
    Some(Arc::new(
        PgStore::connect_in_schema(&url, &schema).await.expect("DIPR_TEST_POSTGRES_URL is set but unreachable"),
    ))
}

/// The examiners' dispute queue, a bank's pledge book and a holder's list follow the documents they come from.
async fn dispute_queue_and_pledge_book(store: Arc<dyn Store>) {
    use dipr_domain::application::{ObjectionDecision, ObjectionOutcome};
    let (_, _, a) = seed(&store, "争议甲", "争议甲").await;
    let mut a = registered(a);
    let bank = a.holding.as_ref().unwrap().encumbrances.pledges[0].pledgee.id;
    // A second bank's pledge waits for the holder's consent.
    let other_bank = party("另一银行");
    let waiting = dipr_domain::holding::new_pledge(
        (&other_bank).into(),
        a.applicant.clone(),
        dipr_domain::encumbrance::Money::parse("10").unwrap(),
        dipr_domain::encumbrance::Term::new(now().date_naive(), now().date_naive() + chrono::Days::new(9)).unwrap(),
        2,
        now(),
    );
    a.holding.as_mut().unwrap().encumbrances.pledges.push(waiting);
    a.holding.as_mut().unwrap().disputes.push(dipr_domain::application::Dispute {
        id: Uuid::now_v7(),
        filed_at: now(),
        filed_by: None,
        objector_name: "某公司".into(),
        objector_contact: String::new(),
        grounds: "涉嫌侵权".into(),
        decision: None,
    });
    let mut tx = store.begin().await.unwrap();
    tx.update_application(&a).await.unwrap();
    tx.append_event(&event("application", &a.id.to_string(), "dispute_filed")).await.unwrap();
    tx.commit().await.unwrap();
    let ids = |f: ApplicationFilter| {
        let store = store.clone();
        async move {
            store.applications(&f, Page::new(1, 500)).await.unwrap().items.into_iter().map(|a| a.id).collect::<Vec<_>>()
        }
    };
    let disputed = || ApplicationFilter { open_disputes: true, ..Default::default() };
    let book = || ApplicationFilter { pledgee: Some(bank), ..Default::default() };
    assert!(ids(disputed()).await.contains(&a.id));
    assert_eq!(ids(book()).await, vec![a.id]);
    let awaiting = || ApplicationFilter { pending_pledges: true, ..Default::default() };
    assert!(ids(awaiting()).await.contains(&a.id));

    // Deciding the dispute and releasing the pledge take the product out of both lists.
    let h = a.holding.as_mut().unwrap();
    h.disputes[0].decision = Some(ObjectionDecision {
        outcome: ObjectionOutcome::Dismissed,
        reasons: "来源合法".into(),
        examiner_id: Uuid::now_v7(),
        examiner_name: "审查员".into(),
        decided_at: now(),
    });
    h.encumbrances.pledges[0].status = dipr_domain::encumbrance::PledgeStatus::Released;
    // …and a transfer puts it on the new holder's list.
    let buyer = party("受让方");
    h.holder = (&buyer).into();
    a.version += 1;
    let mut tx = store.begin().await.unwrap();
    tx.update_application(&a).await.unwrap();
    tx.append_event(&event("application", &a.id.to_string(), "dispute_dismissed")).await.unwrap();
    tx.commit().await.unwrap();
    assert!(!ids(disputed()).await.contains(&a.id));
    assert!(ids(book()).await.is_empty());
    let holders = ApplicationFilter { owned_by: Some((Uuid::now_v7(), Some(buyer.id))), ..Default::default() };
    assert_eq!(ids(holders).await, vec![a.id]);
    // Once the holder consents, nothing waits any more.
    a.holding.as_mut().unwrap().encumbrances.pledges[1].status = dipr_domain::encumbrance::PledgeStatus::Active;
    a.version += 1;
    let mut tx = store.begin().await.unwrap();
    tx.update_application(&a).await.unwrap();
    tx.append_event(&event("application", &a.id.to_string(), "pledge_registered")).await.unwrap();
    tx.commit().await.unwrap();
    assert!(!ids(awaiting()).await.contains(&a.id));
}

/// Watches, alerts and deliveries: the cursor moves only from where it is, an alert is stored once per watch
/// and log entry, and a delivery is leased to one owner at a time; attempts disable a failing endpoint.
async fn watches_alerts_and_leased_deliveries(store: Arc<dyn Store>) {
    let (_, u, app) = seed(&store, "水文数据", "某水务公司").await;
    let endpoint = EndpointRecord {
        id: Uuid::now_v7(),
        user_id: u.id,
        url: "https://hooks.example.cn/x".into(),
        secret: "whsec_c2VjcmV0".into(),
        description: "风控".into(),
        failures: 0,
        disabled_at: None,
        disabled_reason: None,
        created_at: now(),
    };
    let watch = WatchRecord {
        id: Uuid::now_v7(),
        user_id: u.id,
        kind: WatchKind::Search,
        target: "水文".into(),
        label: "水文".into(),
        email: Some("a@example.cn".into()),
        email_mode: EmailMode::Daily,
        endpoint_id: Some(endpoint.id),
        from_index: 0,
        created_at: now(),
        stopped_at: None,
    };
    let mut tx = store.begin().await.unwrap();
    tx.insert_webhook_endpoint(&endpoint).await.unwrap();
    tx.insert_watch(&watch).await.unwrap();
    tx.append_event(&event("watch", &watch.id.to_string(), "watch_created")).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(store.watches_of(u.id).await.unwrap(), std::slice::from_ref(&watch));
    assert_eq!(store.live_watches().await.unwrap(), std::slice::from_ref(&watch));
    assert_eq!(store.webhook_endpoint(endpoint.id).await.unwrap().as_ref(), Some(&endpoint));
    assert_eq!(store.webhook_endpoints_of(u.id).await.unwrap(), std::slice::from_ref(&endpoint));
    assert!(dipr_store::matches_search(&app, "水文") && !dipr_store::matches_search(&app, "气象"));

    // The cursor moves from where it is, once.
    assert_eq!(store.watch_cursor().await.unwrap(), 0);
    let alert = AlertRecord {
        id: Uuid::now_v7(),
        watch_id: watch.id,
        user_id: u.id,
        log_index: 2,
        application_id: app.id,
        kind: "notice_published".into(),
        at: now(),
        product_name: "水文数据".into(),
        registration_number: None,
        created_at: now(),
    };
    let delivery = |channel, digest, next_at| NewDelivery {
        id: Uuid::now_v7(),
        alert_id: alert.id,
        user_id: u.id,
        channel,
        endpoint_id: (channel == Channel::Webhook).then_some(endpoint.id),
        email: (channel == Channel::Email).then(|| "a@example.cn".to_string()),
        digest,
        next_at,
        created_at: now(),
    };
    let hook = delivery(Channel::Webhook, false, now());
    let mut tx = store.begin().await.unwrap();
    assert!(tx.advance_watch_cursor(0, 3).await.unwrap());
    tx.insert_watch_alert(&alert).await.unwrap();
    tx.insert_watch_delivery(&hook).await.unwrap();
    tx.insert_watch_delivery(&delivery(Channel::Email, true, now() + Duration::hours(5))).await.unwrap();
    tx.append_event(&event("watches", "log", "watches_matched")).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = store.begin().await.unwrap();
    assert!(!tx.advance_watch_cursor(0, 3).await.unwrap(), "another process already moved it");
    let again = AlertRecord { id: Uuid::now_v7(), ..alert.clone() };
    assert!(matches!(tx.insert_watch_alert(&again).await, Err(StoreError::Duplicate(_))));
    drop(tx);
    assert_eq!(store.watch_cursor().await.unwrap(), 3);
    assert_eq!(store.alerts_of(u.id, 10).await.unwrap(), std::slice::from_ref(&alert));

    // Leased to one owner at a time; a lease that ran out is taken over, and the old owner records nothing.
    let lease = now() + Duration::seconds(60);
    let claimed = store.claim_deliveries(now(), "p1", lease, 10).await.unwrap();
    assert_eq!(claimed.iter().map(|d| (d.id, d.attempts)).collect::<Vec<_>>(), [(hook.id, 0)]);
    assert_eq!(claimed[0].alert, alert);
    assert!(store.claim_deliveries(now(), "p2", lease, 10).await.unwrap().is_empty());
    let later = now() + Duration::seconds(61);
    assert_eq!(store.claim_deliveries(later, "p2", later + Duration::seconds(60), 10).await.unwrap().len(), 1);
    let outcome = |owner: &str, at, retry_at| AttemptOutcome {
        delivery_id: hook.id,
        owner: owner.into(),
        at,
        status: Some(500),
        error: "the receiver answered 500".into(),
        delivered: false,
        retry_at,
        disable_after: 2,
    };
    assert!(!store.finish_delivery(&outcome("p1", later, Some(later))).await.unwrap());
    let retry = later + Duration::seconds(30);
    assert!(store.finish_delivery(&outcome("p2", later, Some(retry))).await.unwrap());
    assert_eq!(store.webhook_endpoint(endpoint.id).await.unwrap().unwrap().failures, 1);
    assert!(store.claim_deliveries(later, "p2", retry, 10).await.unwrap().is_empty(), "not due before its retry");
    let claimed = store.claim_deliveries(retry, "p3", retry + Duration::seconds(60), 10).await.unwrap();
    assert_eq!(claimed[0].attempts, 1);
    assert!(store.finish_delivery(&outcome("p3", retry, Some(retry))).await.unwrap());
    let disabled = store.webhook_endpoint(endpoint.id).await.unwrap().unwrap();
    assert_eq!((disabled.failures, disabled.disabled_reason.as_deref()), (2, Some("failing")));
    assert!(disabled.disabled_at.is_some());
    assert!(store.claim_deliveries(retry, "p3", retry + Duration::seconds(60), 10).await.unwrap().is_empty());
    let log = store.watch_attempts(endpoint.id, 10).await.unwrap();
    assert_eq!(log.iter().map(|a| (a.attempt, a.status)).collect::<Vec<_>>(), [(2, Some(500)), (1, Some(500))]);
    assert_eq!(log[0].delivery_state, "pending");

    // Enabled again by its owner (only): counted from zero, and the delivery is due again.
    let mut tx = store.begin().await.unwrap();
    assert!(!tx.set_webhook_endpoint_enabled(endpoint.id, Uuid::now_v7(), true, now()).await.unwrap());
    assert!(tx.set_webhook_endpoint_enabled(endpoint.id, u.id, true, now()).await.unwrap());
    tx.append_event(&event("webhook_endpoint", &endpoint.id.to_string(), "webhook_endpoint_enabled")).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(store.webhook_endpoint(endpoint.id).await.unwrap().unwrap().failures, 0);
    let claimed = store.claim_deliveries(retry, "p4", retry + Duration::seconds(60), 10).await.unwrap();
    assert_eq!(claimed.len(), 1);
    let done = AttemptOutcome {
        status: Some(204),
        error: String::new(),
        delivered: true,
        retry_at: None,
        ..outcome("p4", retry, None)
    };
    assert!(store.finish_delivery(&done).await.unwrap());
    assert_eq!(store.watch_attempts(endpoint.id, 10).await.unwrap()[0].delivery_state, "delivered");

    // The digest mail waits for its hour.
    let at_hour = now() + Duration::hours(5);
    let mail = store.claim_deliveries(at_hour, "p5", at_hour + Duration::seconds(60), 10).await.unwrap();
    assert_eq!((mail.len(), mail[0].channel, mail[0].digest), (1, Channel::Email, true));

    // Stopped, not deleted.
    let mut tx = store.begin().await.unwrap();
    assert!(tx.stop_watch(watch.id, u.id, now()).await.unwrap());
    assert!(!tx.stop_watch(watch.id, u.id, now()).await.unwrap());
    tx.append_event(&event("watch", &watch.id.to_string(), "watch_stopped")).await.unwrap();
    tx.commit().await.unwrap();
    assert!(store.live_watches().await.unwrap().is_empty());
    assert_eq!(store.watches_of(u.id).await.unwrap()[0].stopped_at, Some(now()));
}

macro_rules! conformance {
    ($($name:ident),* $(,)?) => {
        mod sqlite_backend {
            $(#[tokio::test] async fn $name() { super::$name(super::sqlite().await).await })*
        }
        mod postgres_backend {
            $(#[tokio::test] async fn $name() {
                match super::postgres().await {
                    Some(s) => super::$name(s).await,
                    None => eprintln!("DIPR_TEST_POSTGRES_URL not set: PostgreSQL not tested here"),
                }
            })*
        }
    };
}

conformance!(
    users_tokens_and_authentication,
    passwords_e_mail_and_reset_links,
    unlogged_writes_are_refused_and_rolled_back,
    dropped_transaction_rolls_back,
    optimistic_concurrency,
    search_and_filters,
    sequences_are_gapless_per_name,
    deadlines_and_withdrawals,
    calendar_industries_settings,
    log_appends_single_and_batched,
    feeds_read_the_newest_log_rows_of_a_kind_a_state_or_a_record,
    statistics_projections_and_certificate_revisions,
    dispute_queue_and_pledge_book,
    request_keys_answer_once,
    old_answered_request_keys_are_pruned,
    watches_alerts_and_leased_deliveries,
);

/// Tests that also read and write the database directly, or open it again.
macro_rules! conformance_db {
    ($($name:ident),* $(,)?) => {
        mod sqlite_db {
            $(#[tokio::test] async fn $name() { super::$name(super::Db::sqlite()).await })*
        }
        mod postgres_db {
            $(#[tokio::test] async fn $name() {
                match super::Db::postgres() {
                    Some(db) => super::$name(db).await,
                    None => eprintln!("DIPR_TEST_POSTGRES_URL not set: PostgreSQL not tested here"),
                }
            })*
        }
    };
}

conformance_db!(
    objections_and_disputes_are_rows,
    embedded_objections_move_out_at_open,
    search_sees_other_processes_and_is_rebuilt_at_open
);

/// Two server processes share one database: what one commits, the other finds at once. An index emptied
/// and flagged for rebuilding (as a migration that changes it does) is filled again when a store opens.
async fn search_sees_other_processes_and_is_rebuilt_at_open(db: Db) {
    let (one, two) = (db.open().await, db.open().await);
    let tag = Uuid::now_v7().simple().to_string();
    let (_, _, a) = seed(&one, &format!("跨进程检索 {tag}"), "乙公司").await;
    let find = |store: Arc<dyn Store>, text: String| async move {
        let f = ApplicationFilter { text: Some(text), ..Default::default() };
        store.applications(&f, Page::default()).await.unwrap().items.into_iter().map(|a| a.id).collect::<Vec<_>>()
    };
    assert_eq!(find(two.clone(), format!("进程 {tag}")).await, [a.id]);

    let wipe = ["DELETE FROM search_index", "UPDATE settings SET value = 'rebuild' WHERE name = 'search_index'"];
    match &db {
        Db::Sqlite(path) => {
            let pool = Db::sqlite_pool(path).await;
            for sql in wipe {
                sqlx::query(sql).execute(&pool).await.unwrap();
            }
        }
        Db::Postgres { url, schema } => {
            let pool = Db::pg_pool(url, schema).await;
            for sql in wipe {
                sqlx::query(sql).execute(&pool).await.unwrap();
            }
        }
    }
    assert!(find(two.clone(), format!("进程 {tag}")).await.is_empty(), "the index is empty");
    let three = db.open().await;
    assert_eq!(find(three, format!("进程 {tag}")).await, [a.id]);
}

fn now() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2027, 5, 10, 2, 0, 0).unwrap()
}

fn event(subject: &str, id: &str, kind: &str) -> NewEvent {
    NewEvent {
        at: now(),
        actor_id: None,
        actor_name: "test".into(),
        actor_role: Role::System,
        subject_type: subject.into(),
        subject_id: id.into(),
        kind: kind.into(),
        from_state: None,
        to_state: None,
        reasons: String::new(),
        payload: serde_json::json!({"k": "v"}),
    }
}

fn party(name: &str) -> Party {
    // A valid credit code with a random body, so parallel tests never collide.
    let body: String = Uuid::now_v7()
        .simple()
        .to_string()
        .to_uppercase()
        .chars()
        .rev()
        .take(17)
        .map(|c| if "IOSVZ".contains(c) { '1' } else { c })
        .collect();
    let check = dipr_domain::ids::credit_code_check(body.as_bytes()).unwrap() as char;
    NewParty {
        kind: PartyKind::LegalPerson,
        name: name.into(),
        id_number: format!("{body}{check}"),
        address: String::new(),
        attributes: Default::default(),
    }
    .parse(Uuid::now_v7())
    .unwrap()
}

fn user(name: &str, role: Role, party: Option<Uuid>) -> UserRecord {
    UserRecord {
        id: Uuid::now_v7(),
        username: format!("{name}-{}", Uuid::now_v7().simple()),
        display_name: name.into(),
        password_hash: "$argon2id$fake".into(),
        role,
        party_id: party,
        disabled: false,
        email: None,
        must_change_password: false,
        created_at: now(),
    }
}

/// A party, its user and a draft application, committed.
async fn seed(store: &Arc<dyn Store>, product: &str, holder: &str) -> (Party, UserRecord, Application) {
    let p = party(holder);
    let u = user("applicant", Role::Applicant, Some(p.id));
    let form = ApplicationForm {
        product_name: product.into(),
        object_type: Some(ObjectType::DataCollection),
        industry: "ai".into(),
        ..Default::default()
    };
    let app = Application::new_draft(Uuid::now_v7(), &p, u.id, None, form, now());
    let mut tx = store.begin().await.unwrap();
    tx.insert_party(&p, now()).await.unwrap();
    tx.insert_user(&u).await.unwrap();
    tx.insert_application(&app).await.unwrap();
    tx.append_event(&event("application", &app.id.to_string(), "created")).await.unwrap();
    tx.commit().await.unwrap();
    (p, u, app)
}

async fn users_tokens_and_authentication(store: Arc<dyn Store>) {
    let (p, u, _) = seed(&store, "x", "甲公司").await;
    assert_eq!(store.user_by_username(&u.username).await.unwrap().unwrap(), u);
    assert_eq!(store.party(p.id).await.unwrap().unwrap(), p);
    assert_eq!(store.party_by_id_number(p.identifier.as_str()).await.unwrap().unwrap().id, p.id);

    // Same username again: a Duplicate error, and nothing of that transaction stays.
    let mut dup = user("again", Role::Applicant, None);
    dup.username = u.username.clone();
    let mut tx = store.begin().await.unwrap();
    assert!(matches!(tx.insert_user(&dup).await, Err(StoreError::Duplicate(_))));
    drop(tx);
    assert!(store.user(dup.id).await.unwrap().is_none());

    let tok = |name: &str, expires| TokenRecord {
        id: Uuid::now_v7(),
        user_id: u.id,
        token_hash: format!("hash-{name}-{}", Uuid::now_v7()),
        kind: TokenKind::Api,
        name: name.into(),
        created_at: now(),
        expires_at: expires,
        revoked_at: None,
    };
    let live = tok("live", None);
    let expiring = tok("expiring", Some(now() + Duration::hours(1)));
    let mut tx = store.begin().await.unwrap();
    tx.insert_token(&live).await.unwrap();
    tx.insert_token(&expiring).await.unwrap();
    tx.append_event(&event("token", &live.id.to_string(), "created")).await.unwrap();
    tx.commit().await.unwrap();

    let (who, t) = store.authenticate(&live.token_hash, now()).await.unwrap().unwrap();
    assert_eq!((who.id, t.id), (u.id, live.id));
    assert!(store.authenticate(&expiring.token_hash, now()).await.unwrap().is_some());
    assert!(store.authenticate(&expiring.token_hash, now() + Duration::hours(2)).await.unwrap().is_none(), "expired");
    assert!(store.authenticate("no-such-hash", now()).await.unwrap().is_none());

    let mut tx = store.begin().await.unwrap();
    assert!(tx.revoke_token(live.id, u.id, now()).await.unwrap());
    assert!(!tx.revoke_token(live.id, u.id, now()).await.unwrap(), "already revoked");
    assert!(!tx.revoke_token(expiring.id, Uuid::now_v7(), now()).await.unwrap(), "someone else's token");
    tx.append_event(&event("token", &live.id.to_string(), "revoked")).await.unwrap();
    tx.commit().await.unwrap();
    assert!(store.authenticate(&live.token_hash, now()).await.unwrap().is_none(), "revoked");
    assert_eq!(store.tokens_of(u.id).await.unwrap().len(), 2);

    let mut tx = store.begin().await.unwrap();
    assert!(tx.set_user_disabled(u.id, true).await.unwrap());
    tx.append_event(&event("user", &u.id.to_string(), "disabled")).await.unwrap();
    tx.commit().await.unwrap();
    assert!(store.authenticate(&expiring.token_hash, now()).await.unwrap().is_none(), "disabled user");
    let events = store.events("token", &live.id.to_string()).await.unwrap();
    assert_eq!(events.iter().map(|e| e.kind.as_str()).collect::<Vec<_>>(), ["created", "revoked"]);
    assert_eq!(events[0].payload, serde_json::json!({"k": "v"}));
}

async fn passwords_e_mail_and_reset_links(store: Arc<dyn Store>) {
    let address = format!("{}@example.cn", Uuid::now_v7().simple());
    let mut u = user("pw", Role::Examiner, None);
    u.email = Some(address.clone());
    u.must_change_password = true;
    let other = user("pw-other", Role::Examiner, None);
    let token = |user_id: Uuid| TokenRecord {
        id: Uuid::now_v7(),
        user_id,
        token_hash: format!("hash-{}", Uuid::now_v7()),
        kind: TokenKind::Session,
        name: "session".into(),
        created_at: now(),
        expires_at: None,
        revoked_at: None,
    };
    let (kept, ended, others) = (token(u.id), token(u.id), token(other.id));
    let mut tx = store.begin().await.unwrap();
    tx.insert_user(&u).await.unwrap();
    tx.insert_user(&other).await.unwrap();
    for t in [&kept, &ended, &others] {
        tx.insert_token(t).await.unwrap();
    }
    tx.append_event(&event("user", &u.id.to_string(), "created")).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(store.user(u.id).await.unwrap().unwrap(), u, "e-mail and the must-change mark read back");
    assert_eq!(store.users_by_email(&address, 5).await.unwrap(), [u.clone()]);
    assert!(store.users_by_email("nobody@example.cn", 5).await.unwrap().is_empty());
    let mut tx = store.begin().await.unwrap();
    assert!(tx.set_email(other.id, Some(&address)).await.unwrap());
    tx.append_event(&event("user", &other.id.to_string(), "email_changed")).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(store.users_by_email(&address, 5).await.unwrap().len(), 2, "an address may serve several accounts");
    assert_eq!(store.users_by_email(&address, 1).await.unwrap().len(), 1);
    let mut tx = store.begin().await.unwrap();
    assert!(tx.set_email(other.id, None).await.unwrap());
    tx.append_event(&event("user", &other.id.to_string(), "email_changed")).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(store.user(other.id).await.unwrap().unwrap().email, None);

    // A new password clears the mark; the other sessions of the account end, the kept one and other
    // accounts' stay.
    let mut tx = store.begin().await.unwrap();
    assert!(tx.set_password(u.id, "new-hash", false).await.unwrap());
    assert_eq!(tx.revoke_all_tokens(u.id, Some(kept.id), now()).await.unwrap(), 1);
    tx.append_event(&event("user", &u.id.to_string(), "password_changed")).await.unwrap();
    tx.commit().await.unwrap();
    let changed = store.user(u.id).await.unwrap().unwrap();
    assert_eq!((changed.password_hash.as_str(), changed.must_change_password), ("new-hash", false));
    assert!(store.authenticate(&kept.token_hash, now()).await.unwrap().is_some());
    assert!(store.authenticate(&ended.token_hash, now()).await.unwrap().is_none());
    assert!(store.authenticate(&others.token_hash, now()).await.unwrap().is_some());

    // A reset link works once, and only before it expires.
    let link = |hash: &str| PasswordReset {
        id: Uuid::now_v7(),
        user_id: u.id,
        token_hash: hash.into(),
        created_at: now(),
        expires_at: now() + Duration::minutes(30),
        used_at: None,
    };
    let (a, b) = (link(&format!("reset-a-{}", Uuid::now_v7())), link(&format!("reset-b-{}", Uuid::now_v7())));
    let mut tx = store.begin().await.unwrap();
    tx.insert_password_reset(&a).await.unwrap();
    tx.insert_password_reset(&b).await.unwrap();
    tx.append_event(&event("user", &u.id.to_string(), "password_reset_requested")).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(store.password_reset(&a.token_hash).await.unwrap().unwrap(), a);
    assert_eq!(store.password_resets_since(u.id, now() - Duration::hours(1)).await.unwrap(), 2);
    assert_eq!(store.password_resets_since(u.id, now() + Duration::minutes(1)).await.unwrap(), 0);
    let mut tx = store.begin().await.unwrap();
    assert_eq!(tx.use_password_reset(&a.token_hash, now()).await.unwrap(), Some(u.id));
    assert_eq!(tx.use_password_reset(&a.token_hash, now()).await.unwrap(), None, "used");
    assert_eq!(tx.use_password_reset(&b.token_hash, now() + Duration::minutes(31)).await.unwrap(), None, "expired");
    assert_eq!(tx.use_password_reset("no-such-hash", now()).await.unwrap(), None);
    tx.append_event(&event("user", &u.id.to_string(), "password_reset")).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(store.password_reset(&a.token_hash).await.unwrap().unwrap().used_at, Some(now()));
    assert_eq!(store.password_reset(&b.token_hash).await.unwrap().unwrap().used_at, None);
}

async fn unlogged_writes_are_refused_and_rolled_back(store: Arc<dyn Store>) {
    let p = party("乙公司");
    let mut tx = store.begin().await.unwrap();
    tx.insert_party(&p, now()).await.unwrap();
    assert!(matches!(tx.commit().await, Err(StoreError::UnloggedWrite)));
    assert!(store.party(p.id).await.unwrap().is_none());
}

async fn dropped_transaction_rolls_back(store: Arc<dyn Store>) {
    let p = party("丙公司");
    {
        let mut tx = store.begin().await.unwrap();
        tx.insert_party(&p, now()).await.unwrap();
        tx.append_event(&event("party", &p.id.to_string(), "created")).await.unwrap();
    }
    assert!(store.party(p.id).await.unwrap().is_none());
    assert!(store.events("party", &p.id.to_string()).await.unwrap().is_empty());
}

async fn optimistic_concurrency(store: Arc<dyn Store>) {
    let (_, _, app) = seed(&store, "并发测试", "丁公司").await;
    let mut tx = store.begin().await.unwrap();
    let mut a = tx.application_for_update(app.id).await.unwrap().unwrap();
    assert_eq!(a, app);
    a.version += 1;
    a.state = State::Submitted;
    tx.update_application(&a).await.unwrap();
    tx.append_event(&event("application", &a.id.to_string(), "submitted")).await.unwrap();
    tx.commit().await.unwrap();

    // A writer holding the old version loses.
    let mut stale = app.clone();
    stale.version += 1;
    let mut tx = store.begin().await.unwrap();
    assert!(matches!(tx.update_application(&stale).await, Err(StoreError::Conflict(_))));
    drop(tx);
    assert_eq!(store.application(app.id).await.unwrap().unwrap().state, State::Submitted);
}

async fn search_and_filters(store: Arc<dyn Store>) {
    let tag = Uuid::now_v7().simple().to_string();
    let (p1, u1, a1) = seed(&store, &format!("模型语料库 {tag}"), "上海语料科技有限公司").await;
    let (_, _, a2) = seed(&store, &format!("交通指数{tag}"), "交通数据公司").await;
    let (_, _, a3) = seed(&store, &format!("Credit_Index {tag}"), "Bank Data 100%").await;
    let (_, _, a4) = seed(&store, &format!("金融风控画像 {tag}"), "深圳某某公司").await;
    // Publish a1, a3 and a4 (a notice makes a record public); a4 mentions 语料 only in its summary.
    for app in [&a1, &a3, &a4] {
        let mut tx = store.begin().await.unwrap();
        let mut a = tx.application_for_update(app.id).await.unwrap().unwrap();
        a.version += 1;
        a.state = State::PublicNotice;
        a.notice = Some(Notice { started_at: now(), ends_at: now() + Duration::days(14) });
        if a.id == a4.id {
            a.form.summary = "用于训练的语料与画像".into();
        }
        tx.update_application(&a).await.unwrap();
        tx.append_event(&event("application", &a.id.to_string(), "notice_published")).await.unwrap();
        tx.commit().await.unwrap();
    }
    let page = Page::default();
    let search =
        |text: &str, public_only| ApplicationFilter { text: Some(text.into()), public_only, ..Default::default() };
    let ranked = |text: &str| ApplicationFilter {
        text: Some(text.into()),
        public_only: true,
        order: Order::Relevance,
        ..Default::default()
    };
    let ids = |p: Paged<Application>| p.items.into_iter().map(|a| a.id).collect::<Vec<_>>();
    let find = |f: ApplicationFilter| {
        let store = store.clone();
        async move { ids(store.applications(&f, page).await.unwrap()) }
    };

    // Several words narrow the result; Chinese terms of one and two characters match inside longer text.
    assert_eq!(find(search(&format!("语料库 {tag}"), true)).await, [a1.id]);
    assert_eq!(find(search(&format!("{tag} 库"), true)).await, [a1.id], "one character");
    assert_eq!(find(search(&format!("语料 {tag}"), false)).await.len(), 2, "in a name and in a summary");
    assert!(find(search(&format!("语料 交通 {tag}"), false)).await.is_empty(), "every word must match");
    assert!(find(search(&format!("料语 {tag}"), false)).await.is_empty(), "pairs keep their order");
    // Drafts are not public.
    assert!(find(search(&format!("交通指数{tag}"), true)).await.is_empty(), "drafts are not public");
    assert_eq!(find(search(&format!("交通指数{tag}"), false)).await, [a2.id]);
    // Case and punctuation do not matter; SQL and FTS syntax in a query is only text.
    assert_eq!(find(search(&format!("credit_INDEX {tag}"), true)).await, [a3.id]);
    assert_eq!(find(search(&format!("CREDIT% \"{tag}\" *:("), true)).await, [a3.id]);
    assert!(find(search("%_*\"'", false)).await.is_empty(), "nothing searchable matches nothing");
    // Words match by prefix, so part of a code finds it; a whole credit code or holder name finds its record.
    let code = a3.applicant.id_number.clone();
    assert_eq!(find(search(&code[..10], true)).await, [a3.id]);
    assert_eq!(find(search(&code, true)).await, [a3.id]);
    assert_eq!(find(search("上海语料科技有限公司", true)).await, [a1.id]);
    // Ranked: a match in the name comes before a match in the summary.
    assert_eq!(find(ranked(&format!("语料 {tag}"))).await, [a1.id, a4.id]);

    let holder = ApplicationFilter { holder: Some("语料科技".into()), public_only: true, ..Default::default() };
    assert_eq!(find(holder).await, [a1.id]);
    let holder_only = ApplicationFilter { holder: Some("模型".into()), public_only: true, ..Default::default() };
    assert!(find(holder_only).await.is_empty(), "the holder filter reads only the holder's name");
    let owned = ApplicationFilter { owned_by: Some((u1.id, Some(p1.id))), ..Default::default() };
    assert_eq!(find(owned).await, [a1.id]);
    let by_state = ApplicationFilter { states: vec![State::Draft], text: Some(tag.clone()), ..Default::default() };
    assert_eq!(find(by_state).await, [a2.id]);
    let typed = ApplicationFilter {
        text: Some(tag.clone()),
        object_type: Some(ObjectType::DataAlgorithm),
        ..Default::default()
    };
    assert!(find(typed).await.is_empty());

    // The stored public projection is what PublicRecord::listed gives, and only for published filings.
    let public = store.public_records(&search(&tag, false), page).await.unwrap();
    assert_eq!(public.total, 3);
    for raw in &public.items {
        let v: serde_json::Value = serde_json::from_str(raw.get()).unwrap();
        let id: Uuid = v["id"].as_str().unwrap().parse().unwrap();
        let app = store.application(id).await.unwrap().unwrap();
        let expected = serde_json::to_value(dipr_domain::public::PublicRecord::listed(&app).unwrap()).unwrap();
        assert_eq!(v, expected);
    }

    let all = ApplicationFilter { text: Some(tag.clone()), order: Order::OldestFirst, ..Default::default() };
    let p = store.applications(&all, Page::new(2, 3)).await.unwrap();
    assert_eq!((p.total, p.items.len()), (4, 1));
    assert_eq!(p.items[0].id, a4.id);

    // Pages after a cursor: the same items in the same order as counted pages, and no cursor after the end.
    let mut seen = Vec::new();
    let mut at = Page::new(1, 1);
    loop {
        let p = store.applications(&all, at).await.unwrap();
        assert_eq!((p.total, p.total_exact), (4, true));
        seen.extend(p.items.iter().map(|a| a.id));
        match p.next.as_deref() {
            Some(next) => at = Page::after(dipr_store::Cursor::parse(next).unwrap(), 1),
            None => break,
        }
    }
    assert_eq!(seen, [a1.id, a2.id, a3.id, a4.id]);
    let ranked_page = store.applications(&ranked(&format!("语料 {tag}")), Page::new(1, 1)).await.unwrap();
    assert!(ranked_page.next.is_none(), "a ranked list pages by number only");

    // A renamed product is found under its new name only.
    let mut tx = store.begin().await.unwrap();
    let mut a = tx.application_for_update(a2.id).await.unwrap().unwrap();
    a.version += 1;
    a.form.product_name = format!("港口吞吐量 {tag}");
    tx.update_application(&a).await.unwrap();
    tx.append_event(&event("application", &a.id.to_string(), "edited")).await.unwrap();
    tx.commit().await.unwrap();
    assert!(find(search(&format!("交通指数{tag}"), false)).await.is_empty());
    assert_eq!(find(search(&format!("吞吐 {tag}"), false)).await, [a2.id]);
}

async fn sequences_are_gapless_per_name(store: Arc<dyn Store>) {
    let name = format!("reg-{}", Uuid::now_v7());
    let mut handles = Vec::new();
    for _ in 0..8 {
        let store = store.clone();
        let name = name.clone();
        handles.push(tokio::spawn(async move {
            let mut tx = store.begin().await.unwrap();
            let v = tx.next_sequence(&name).await.unwrap();
            tx.append_event(&event("sequence", &name, "allocated")).await.unwrap();
            tx.commit().await.unwrap();
            v
        }));
    }
    let mut got = Vec::new();
    for h in handles {
        got.push(h.await.unwrap());
    }
    got.sort();
    assert_eq!(got, (1..=8).collect::<Vec<i64>>());
    let mut tx = store.begin().await.unwrap();
    assert_eq!(tx.next_sequence(&format!("{name}-other")).await.unwrap(), 1);
}

async fn deadlines_and_withdrawals(store: Arc<dyn Store>) {
    let (p, _, app) = seed(&store, "  到期 测试 ", "戊公司").await;
    let due = now() - Duration::minutes(1);
    let mut tx = store.begin().await.unwrap();
    let mut a = tx.application_for_update(app.id).await.unwrap().unwrap();
    a.version += 1;
    a.state = State::CorrectionRequested;
    a.correction =
        Some(CorrectionRequest { items: vec![], reasons: "r".into(), requested_at: due, due, response: None });
    tx.update_application(&a).await.unwrap();
    tx.append_event(&event("application", &a.id.to_string(), "correction_requested")).await.unwrap();
    tx.commit().await.unwrap();
    assert!(store.due_applications(now(), 10_000).await.unwrap().contains(&app.id));
    assert!(!store.due_applications(due - Duration::seconds(1), 10_000).await.unwrap().contains(&app.id));

    assert_eq!(store.last_withdrawal(p.id, "到期 测试").await.unwrap(), None);
    let mut tx = store.begin().await.unwrap();
    let mut a = tx.application_for_update(app.id).await.unwrap().unwrap();
    a.version += 1;
    a.state = State::Withdrawn;
    a.withdrawn_at = Some(now());
    tx.update_application(&a).await.unwrap();
    tx.append_event(&event("application", &a.id.to_string(), "withdrawn")).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(store.last_withdrawal(p.id, &product_key("到期   测试")).await.unwrap(), Some(now()));
    assert!(!store.due_applications(now(), 10_000).await.unwrap().contains(&app.id), "withdrawn has no deadline");
}

async fn calendar_industries_settings(store: Arc<dyn Store>) {
    let day = CalendarDay {
        date: chrono::NaiveDate::from_ymd_opt(2031, 10, 1).unwrap(),
        kind: DayKind::Holiday,
        note: "国庆节".into(),
    };
    let ind = Industry {
        code: format!("x{}", Uuid::now_v7().simple()),
        name_zh: "测试".into(),
        name_en: "Test".into(),
        active: true,
        position: 1,
    };
    let mut tx = store.begin().await.unwrap();
    tx.upsert_calendar_day(&day).await.unwrap();
    tx.upsert_calendar_day(&CalendarDay { kind: DayKind::Workday, ..day.clone() }).await.unwrap();
    tx.upsert_industry(&ind).await.unwrap();
    tx.set_setting("demo", "1").await.unwrap();
    tx.append_event(&event("calendar", "2031-10-01", "changed")).await.unwrap();
    tx.commit().await.unwrap();
    let cal = store.calendar().await.unwrap();
    assert_eq!(cal.iter().find(|d| d.date == day.date).unwrap().kind, DayKind::Workday);
    assert!(store.industries().await.unwrap().contains(&ind));
    assert_eq!(store.setting("demo").await.unwrap().as_deref(), Some("1"));
    store.ping().await.unwrap();
}

/// Both migration sets create the same tables with the same columns, except the search index, which is
/// each backend's own (an FTS5 table in SQLite, a tsvector in PostgreSQL).
#[tokio::test]
async fn sqlite_and_postgres_schemas_match() {
    let Some(url) = pg_url() else {
        eprintln!("DIPR_TEST_POSTGRES_URL not set: schema parity not checked");
        return;
    };
    use sqlx::Row;
    let dir = std::env::temp_dir().join(format!("dipr-schema-{}", Uuid::now_v7()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("s.db");
    SqliteStore::open(&path).await.unwrap();
    let lite = sqlx::SqlitePool::connect(&format!("sqlite://{}", path.display())).await.unwrap();
    let rows = sqlx::query(
        "SELECT m.name AS t, p.name AS c FROM sqlite_master m JOIN pragma_table_info(m.name) p \
         WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name NOT LIKE '_sqlx%' \
         AND m.name NOT LIKE 'search_index%' ORDER BY 1, 2",
    )
    .fetch_all(&lite)
    .await
    .unwrap();
    let lite_cols: Vec<(String, String)> = rows.iter().map(|r| (r.get("t"), r.get("c"))).collect();

    let schema = format!("s_{}", Uuid::now_v7().simple());
    PgStore::connect_in_schema(&url, &schema).await.unwrap();
    let pg = sqlx::PgPool::connect(&url).await.unwrap();
    let rows = sqlx::query(
        "SELECT table_name::text AS t, column_name::text AS c FROM information_schema.columns \
         WHERE table_schema = $1 AND table_name NOT LIKE '_sqlx%' AND table_name NOT LIKE 'search_index%' \
         ORDER BY 1, 2",
    )
    .bind(&schema)
    .fetch_all(&pg)
    .await
    .unwrap();
    let pg_cols: Vec<(String, String)> = rows.iter().map(|r| (r.get("t"), r.get("c"))).collect();
    assert!(!lite_cols.is_empty());
    assert_eq!(lite_cols, pg_cols);
}

async fn log_appends_single_and_batched(store: Arc<dyn Store>) {
    use dipr_ledger::merkle::{inclusion_proof, nodes_needed, tree_root, MapSource, MemoryTree};
    let mut reference = MemoryTree::new();
    let mut next_entry = 0u32;
    let mut entry = || {
        next_entry += 1;
        format!("entry {next_entry}").into_bytes()
    };
    for batch in [1usize, 1, 1, 301, 7, 1, 64] {
        let mut tx = store.begin().await.unwrap();
        let mut items = Vec::new();
        for _ in 0..batch {
            let id = tx.append_event(&event("log", "x", "appended")).await.unwrap();
            let e = entry();
            reference.push(&e);
            items.push((id, e));
        }
        let first = if batch == 1 {
            tx.log_append(items[0].0, &items[0].1).await.unwrap()
        } else {
            tx.log_append_batch(&items).await.unwrap()
        };
        assert_eq!(first + batch as u64, reference.size());
        tx.commit().await.unwrap();
    }
    let size = store.log_size().await.unwrap();
    assert_eq!(size, reference.size());
    let src = MapSource(store.log_nodes(&nodes_needed(|r| tree_root(r, size))).await.unwrap());
    assert_eq!(tree_root(&src, size).unwrap(), reference.root());
    let keys = nodes_needed(|r| inclusion_proof(r, 200, size).map(|_| ()));
    let src = MapSource(store.log_nodes(&keys).await.unwrap());
    assert_eq!(inclusion_proof(&src, 200, size).unwrap(), inclusion_proof(&reference, 200, size).unwrap());
    assert_eq!(store.log_entries(3, 5).await.unwrap(), vec![b"entry 4".to_vec(), b"entry 5".to_vec()]);
    // Rows with their indexes and events, for the ledger check; nothing beyond the end.
    let rows = store.log_rows(3, 5).await.unwrap();
    assert_eq!(
        rows.iter().map(|r| (r.index, r.entry.clone())).collect::<Vec<_>>(),
        [(3, b"entry 4".to_vec()), (4, b"entry 5".to_vec())]
    );
    assert!(store.log_rows(size, size + 10).await.unwrap().is_empty());
    let events = store.events_by_ids(&[rows[1].event_id, rows[0].event_id, -1]).await.unwrap();
    assert_eq!(events.iter().map(|e| e.id).collect::<Vec<_>>(), [rows[0].event_id, rows[1].event_id]);
    assert_eq!(events[0].kind, "appended");
    // The batch appends signed nothing here: no checkpoints in any range.
    assert!(store.checkpoints(0, u64::MAX).await.unwrap().is_empty());
    // A rolled-back append leaves no gap.
    {
        let mut tx = store.begin().await.unwrap();
        let id = tx.append_event(&event("log", "x", "appended")).await.unwrap();
        tx.log_append(id, b"rolled back").await.unwrap();
    }
    assert_eq!(store.log_size().await.unwrap(), size);
}

async fn feeds_read_the_newest_log_rows_of_a_kind_a_state_or_a_record(store: Arc<dyn Store>) {
    use dipr_store::LogFilter;
    let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
    let steps: [(Uuid, &str, Option<&str>, Option<&str>); 7] = [
        (a, "notice_published", Some("formal_review"), Some("notice")),
        (a, "notice_ended", Some("notice"), Some("registered")),
        (b, "notice_published", Some("formal_review"), Some("notice")),
        (a, "pledge_registered", Some("registered"), Some("registered")),
        (b, "objection_dismissed", Some("objection"), Some("registered")),
        (a, "revoked", Some("registered"), Some("revoked")),
        (b, "draft_created", None, Some("draft")),
    ];
    let mut indexes = Vec::new();
    for (i, (subject, kind, from, to)) in steps.iter().enumerate() {
        let mut tx = store.begin().await.unwrap();
        let mut e = event("application", &subject.to_string(), kind);
        e.from_state = from.map(Into::into);
        e.to_state = to.map(Into::into);
        let id = tx.append_event(&e).await.unwrap();
        // The last event is not logged (a draft is private): no feed may show it.
        if i < 6 {
            indexes.push(tx.log_append(id, format!("entry {i}").as_bytes()).await.unwrap());
        }
        tx.commit().await.unwrap();
    }
    let read = |rows: Vec<dipr_store::LogRow>| rows.iter().map(|r| r.index).collect::<Vec<_>>();
    let kinds = |k: &[&str]| LogFilter::Kinds(k.iter().map(|s| s.to_string()).collect());
    let at = |i: &[usize]| i.iter().map(|&i| indexes[i]).collect::<Vec<_>>();
    assert_eq!(read(store.latest_log_rows(&kinds(&["notice_published"]), 10).await.unwrap()), at(&[2, 0]));
    assert_eq!(read(store.latest_log_rows(&kinds(&["notice_published"]), 1).await.unwrap()), at(&[2]));
    assert_eq!(read(store.latest_log_rows(&kinds(&["revoked", "pledge_registered"]), 10).await.unwrap()), at(&[5, 3]));
    assert_eq!(read(store.latest_log_rows(&LogFilter::Registrations, 10).await.unwrap()), at(&[4, 1]));
    assert_eq!(read(store.latest_log_rows(&LogFilter::Subject(a), 10).await.unwrap()), at(&[5, 3, 1, 0]));
    assert_eq!(read(store.latest_log_rows(&LogFilter::Subject(b), 10).await.unwrap()), at(&[4, 2]));
    assert!(store.latest_log_rows(&kinds(&["draft_created"]), 10).await.unwrap().is_empty());
    let rows = store.latest_log_rows(&LogFilter::Subject(b), 1).await.unwrap();
    assert_eq!(rows[0].entry, b"entry 4");
}

/// Take a seeded draft to `registered` (submitted a week before `now()`), with one active pledge.
fn registered(mut app: Application) -> Application {
    use dipr_domain::encumbrance::{Money, Term};
    app.state = State::Registered;
    app.submitted_at = Some(now() - Duration::days(7));
    app.notice = Some(Notice { started_at: now() - Duration::days(2), ends_at: now() });
    dipr_domain::lifecycle::register(&mut app, 1, 1, now(), &Default::default()).unwrap();
    let bank = party("bank");
    let term = Term::new(now().date_naive(), now().date_naive() + chrono::Days::new(30)).unwrap();
    let mut pledge = dipr_domain::holding::new_pledge(
        (&bank).into(),
        app.applicant.clone(),
        Money::parse("1000.50").unwrap(),
        term,
        1,
        now(),
    );
    pledge.status = dipr_domain::encumbrance::PledgeStatus::Active;
    pledge.rank = Some(1);
    pledge.registered_at = Some(now());
    app.holding.as_mut().unwrap().encumbrances.pledges.push(pledge);
    app.version += 1;
    app
}

async fn statistics_projections_and_certificate_revisions(store: Arc<dyn Store>) {
    use dipr_domain::encumbrance::Money;
    use dipr_domain::holding::{Transaction, TransactionKind};
    let (_, _, a) = seed(&store, "统计甲", "甲").await;
    let (_, _, b) = seed(&store, "统计乙", "乙").await;
    let a = registered(a);
    let mut b = b;
    b.state = State::Rejected;
    b.submitted_at = Some(now() - Duration::days(3));
    b.version += 1;
    let mut tx = store.begin().await.unwrap();
    tx.update_application(&a).await.unwrap();
    tx.update_application(&b).await.unwrap();
    let ev = tx.append_event(&event("application", &a.id.to_string(), "registered")).await.unwrap();
    for (i, (kind, amount)) in [
        (TransactionKind::LicenceFee, "0.10"),
        (TransactionKind::LicenceFee, "0.20"),
        (TransactionKind::Trade, "99999999.70"),
    ]
    .into_iter()
    .enumerate()
    {
        let t = Transaction {
            id: Uuid::now_v7(),
            application_id: a.id,
            kind,
            amount: Money::parse(amount).unwrap(),
            occurred_on: now().date_naive() - chrono::Days::new(i as u64),
            counterparty: "某公司".into(),
            licence_id: None,
            note: String::new(),
            recorded_at: now(),
        };
        tx.insert_transaction(&t, &a, ev).await.unwrap();
    }
    tx.insert_certificate(a.id, "R1", 0, "{\"rev\":1}", now()).await.unwrap();
    tx.insert_certificate(a.id, "R1", 1, "{\"rev\":2}", now()).await.unwrap();
    tx.commit().await.unwrap();

    let number = a.registration.as_ref().unwrap().registration_number.to_string();
    assert_eq!(store.application_by_registration_number(&number).await.unwrap().unwrap().id, a.id);
    assert_eq!(store.certificate(a.id).await.unwrap().as_deref(), Some("{\"rev\":2}"));
    assert_eq!(store.certificate_revisions(a.id).await.unwrap().len(), 2);
    // The ledger check reads published records by id, decoded as every read decodes them.
    let public = store.public_application_ids().await.unwrap();
    assert!(public.contains(&a.id) && !public.contains(&b.id));
    let both = store.applications_by_ids(&[b.id, a.id, Uuid::now_v7()]).await.unwrap();
    let mut got: Vec<(Uuid, State)> = both.iter().map(|x| (x.id, x.state)).collect();
    got.sort_by_key(|x| x.0);
    let mut want = vec![(a.id, State::Registered), (b.id, State::Rejected)];
    want.sort_by_key(|x| x.0);
    assert_eq!(got, want);
    let page = store.transactions(a.id, Page::new(1, 2)).await.unwrap();
    assert_eq!((page.total, page.items.len()), (3, 2));
    let value = store.product_value(a.id).await.unwrap();
    assert_eq!(value.iter().map(|v| v.amount_fen).sum::<i64>(), 10_000_000_000);

    // Other tests share the database: compare against a period no other test writes in.
    let day = now().date_naive();
    let f = StatsFilter {
        from: Some(day - chrono::Days::new(8)),
        to: Some(day),
        industry: Some("ai".into()),
        ..Default::default()
    };
    let s = store.statistics(&f).await.unwrap();
    assert!(s.applications >= 2 && s.certificates >= 1 && s.rejected >= 1, "{s:?}");
    let fee = s.economic_value.by_kind.iter().find(|k| k.kind == "licence_fee").unwrap();
    assert!(fee.amount_fen >= 30 && fee.amount_fen % 10 == 0, "exact sums: {fee:?}");
    assert!(s.pledge_financing.loans >= 1 && s.pledge_financing.amount_fen >= 100_050);
    assert!(s.decision_times.decided >= 1 && s.decision_times.median_days.unwrap() > 0.0);
    // A period before everything is empty.
    let empty = StatsFilter { to: Some(chrono::NaiveDate::from_ymd_opt(2001, 1, 1).unwrap()), ..Default::default() };
    let s = store.statistics(&empty).await.unwrap();
    assert_eq!((s.applications, s.certificates, s.economic_value.amount_fen, s.pledge_financing.loans), (0, 0, 0, 0));
}

async fn request_keys_answer_once(store: Arc<dyn Store>) {
    let fp = "POST /review/1 abc";
    assert_eq!(store.claim_request_key("alice", "k1", fp, now()).await.unwrap(), RequestKey::Claimed);
    // A repeat while the first runs, and a repeat for another request, are both turned away.
    assert_eq!(store.claim_request_key("alice", "k1", fp, now()).await.unwrap(), RequestKey::InProgress);
    assert_eq!(store.claim_request_key("alice", "k1", "POST /other", now()).await.unwrap(), RequestKey::Mismatch);
    // Keys belong to their caller.
    assert_eq!(store.claim_request_key("bob", "k1", fp, now()).await.unwrap(), RequestKey::Claimed);
    let answer = StoredAnswer { status: 303, headers: r#"{"location":"/me"}"#.into(), body: vec![0, 1, 2, 255] };
    store.answer_request_key("alice", "k1", &answer, false).await.unwrap();
    assert_eq!(store.claim_request_key("alice", "k1", fp, now()).await.unwrap(), RequestKey::Answered(answer.clone()));
    // A retryable answer (the attempt changed nothing) frees the key for exactly one new attempt.
    store.answer_request_key("bob", "k1", &answer, true).await.unwrap();
    assert_eq!(store.claim_request_key("bob", "k1", fp, now()).await.unwrap(), RequestKey::Claimed);
    assert_eq!(store.claim_request_key("bob", "k1", fp, now()).await.unwrap(), RequestKey::InProgress);
}

async fn old_answered_request_keys_are_pruned(store: Arc<dyn Store>) {
    let fp = "POST /api/v1/applications abc";
    let answer = StoredAnswer { status: 201, headers: "{}".into(), body: b"{}".to_vec() };
    let (old, recent) = (now() - Duration::days(8), now() - Duration::days(6));
    let cutoff = now() - Duration::days(7);
    // Five old answered keys, one recent one, and an old claim still waiting for its answer.
    for k in ["old-1", "old-2", "old-3", "old-4", "old-5"] {
        assert_eq!(store.claim_request_key("carol", k, fp, old).await.unwrap(), RequestKey::Claimed);
        store.answer_request_key("carol", k, &answer, false).await.unwrap();
    }
    store.claim_request_key("carol", "recent", fp, recent).await.unwrap();
    store.answer_request_key("carol", "recent", &answer, false).await.unwrap();
    store.claim_request_key("carol", "running", fp, old).await.unwrap();
    // An old retryable answer, tried again today: its age starts again, and it is answered.
    store.claim_request_key("carol", "retried", fp, old).await.unwrap();
    store.answer_request_key("carol", "retried", &answer, true).await.unwrap();
    assert_eq!(store.claim_request_key("carol", "retried", fp, now()).await.unwrap(), RequestKey::Claimed);
    store.answer_request_key("carol", "retried", &answer, false).await.unwrap();

    // Bounded batches, oldest first: 2, 2, 1, then nothing.
    let mut batches = Vec::new();
    loop {
        let n = store.prune_request_keys(cutoff, 2).await.unwrap();
        batches.push(n);
        if n < 2 {
            break;
        }
    }
    assert_eq!(batches, [2, 2, 1]);
    assert_eq!(store.prune_request_keys(cutoff, 100).await.unwrap(), 0);

    // A pruned key is free: its repeat is a new request.
    for k in ["old-1", "old-5"] {
        assert_eq!(store.claim_request_key("carol", k, fp, now()).await.unwrap(), RequestKey::Claimed);
    }
    // The recent key and the retried one still answer; the claim being answered is untouched and still answers.
    for k in ["recent", "retried"] {
        assert_eq!(store.claim_request_key("carol", k, fp, now()).await.unwrap(), RequestKey::Answered(answer.clone()));
    }
    assert_eq!(store.claim_request_key("carol", "running", fp, now()).await.unwrap(), RequestKey::InProgress);
    store.answer_request_key("carol", "running", &answer, false).await.unwrap();
    assert_eq!(
        store.claim_request_key("carol", "running", fp, now()).await.unwrap(),
        RequestKey::Answered(answer.clone())
    );
    // Once answered, an old key goes at the next pruning like the others.
    assert_eq!(store.prune_request_keys(cutoff, 100).await.unwrap(), 1);
    assert_eq!(store.claim_request_key("carol", "running", fp, now()).await.unwrap(), RequestKey::Claimed);
}

/// A test database that the suite can also reach with plain SQL, and open again.
enum Db {
    Sqlite(std::path::PathBuf),
    Postgres { url: String, schema: String },
}

/// A value bound to plain SQL.
enum V {
    T(String),
    I(i64),
    B(bool),
    /// A NULL of type TEXT, or of type BIGINT.
    NoText,
    NoInt,
}

macro_rules! bind_v {
    ($q:expr, $binds:expr) => {{
        let mut q = $q;
        for b in $binds {
            q = match b {
                V::T(s) => q.bind(s),
                V::I(i) => q.bind(i),
                V::B(b) => q.bind(b),
                V::NoText => q.bind(None::<String>),
                V::NoInt => q.bind(None::<i64>),
            };
        }
        q
    }};
}

impl Db {
    fn sqlite() -> Self {
        let dir = std::env::temp_dir().join(format!("dipr-store-test-{}", Uuid::now_v7()));
        std::fs::create_dir_all(&dir).unwrap();
        Db::Sqlite(dir.join("dipr.db"))
    }

    fn postgres() -> Option<Self> {
        Some(Db::Postgres { url: pg_url()?, schema: format!("t_{}", Uuid::now_v7().simple()) })
    }

    async fn open(&self) -> Arc<dyn Store> {
        match self {
            Db::Sqlite(path) => Arc::new(SqliteStore::open(path).await.unwrap()),
            Db::Postgres { url, schema } => Arc::new(
                PgStore::connect_in_schema(url, schema).await.expect("DIPR_TEST_POSTGRES_URL is set but unreachable"),
            ),
        }
    }

    async fn sqlite_pool(path: &std::path::Path) -> sqlx::SqlitePool {
        let opts = sqlx::sqlite::SqliteConnectOptions::new().filename(path).create_if_missing(true);
        sqlx::sqlite::SqlitePoolOptions::new().max_connections(1).connect_with(opts).await.unwrap()
    }

    async fn pg_pool(url: &str, schema: &str) -> sqlx::PgPool {
        use std::str::FromStr;
        let opts = sqlx::postgres::PgConnectOptions::from_str(url).unwrap();
        let pool = sqlx::postgres::PgPoolOptions::new().max_connections(1).connect_with(opts.clone()).await.unwrap();
        sqlx::query(&format!("CREATE SCHEMA IF NOT EXISTS {schema}")).execute(&pool).await.unwrap();
        pool.close().await;
        sqlx::postgres::PgPoolOptions::new()
            .max_connections(1)
            .connect_with(opts.options([("search_path", schema)]))
            .await
            .unwrap()
    }

    /// Apply the store's migrations up to `version` only: the database as an older release left it.
    async fn migrate_to(&self, version: i64) {
        let only = |mut m: sqlx::migrate::Migrator| {
            m.migrations = m.migrations.iter().filter(|x| x.version <= version).cloned().collect::<Vec<_>>().into();
            m
        };
        match self {
            Db::Sqlite(path) => {
                let pool = Self::sqlite_pool(path).await;
                only(sqlx::migrate!("./migrations/sqlite")).run(&pool).await.unwrap();
                pool.close().await;
            }
            Db::Postgres { url, schema } => {
                let pool = Self::pg_pool(url, schema).await;
                only(sqlx::migrate!("./migrations/postgres")).run(&pool).await.unwrap();
                pool.close().await;
            }
        }
    }

    async fn exec(&self, sql: &str, binds: Vec<V>) {
        match self {
            Db::Sqlite(path) => {
                let pool = Self::sqlite_pool(path).await;
                bind_v!(sqlx::query(sql), binds).execute(&pool).await.unwrap();
                pool.close().await;
            }
            Db::Postgres { url, schema } => {
                let pool = Self::pg_pool(url, schema).await;
                bind_v!(sqlx::query(sql), binds).execute(&pool).await.unwrap();
                pool.close().await;
            }
        }
    }

    /// The first column (text) of every row.
    async fn texts(&self, sql: &str, binds: Vec<V>) -> Vec<Option<String>> {
        match self {
            Db::Sqlite(path) => {
                let pool = Self::sqlite_pool(path).await;
                let out = bind_v!(sqlx::query_scalar(sql), binds).fetch_all(&pool).await.unwrap();
                pool.close().await;
                out
            }
            Db::Postgres { url, schema } => {
                let pool = Self::pg_pool(url, schema).await;
                let out = bind_v!(sqlx::query_scalar(sql), binds).fetch_all(&pool).await.unwrap();
                pool.close().await;
                out
            }
        }
    }

    /// From now on, count the rows of `objections` that are updated (in `objection_rewrites`).
    async fn count_objection_rewrites(&self) {
        self.exec("CREATE TABLE objection_rewrites (n BIGINT NOT NULL)", vec![]).await;
        self.exec("INSERT INTO objection_rewrites (n) VALUES (0)", vec![]).await;
        match self {
            Db::Sqlite(_) => {
                self.exec(
                    "CREATE TRIGGER objection_rewritten AFTER UPDATE ON objections \
                     BEGIN UPDATE objection_rewrites SET n = n + 1; END",
                    vec![],
                )
                .await
            }
            Db::Postgres { .. } => {
                self.exec(
                    "CREATE FUNCTION objection_rewritten() RETURNS trigger LANGUAGE plpgsql AS \
                     $f$ BEGIN UPDATE objection_rewrites SET n = n + 1; RETURN NEW; END $f$",
                    vec![],
                )
                .await;
                self.exec(
                    "CREATE TRIGGER objection_rewritten AFTER UPDATE ON objections \
                     FOR EACH ROW EXECUTE FUNCTION objection_rewritten()",
                    vec![],
                )
                .await
            }
        }
    }

    async fn objection_rewrites(&self) -> String {
        self.texts("SELECT CAST(n AS TEXT) FROM objection_rewrites", vec![]).await[0].clone().unwrap()
    }

    /// The stored `doc` and `public_doc` of an application.
    async fn documents(&self, id: Uuid) -> (String, Option<String>) {
        let doc = self.texts("SELECT doc FROM applications WHERE id = $1", vec![V::T(id.to_string())]).await;
        let public = self.texts("SELECT public_doc FROM applications WHERE id = $1", vec![V::T(id.to_string())]).await;
        (doc[0].clone().unwrap(), public[0].clone())
    }

    /// Rows of `objections` of an application: (kind, position, decided), in order.
    async fn objection_rows(&self, id: Uuid) -> Vec<String> {
        let sql = "SELECT kind || ':' || CAST(position AS TEXT) || ':' || \
                   CASE WHEN decided THEN 'decided' ELSE 'open' END FROM objections \
                   WHERE application_id = $1 ORDER BY kind, position";
        self.texts(sql, vec![V::T(id.to_string())]).await.into_iter().map(Option::unwrap).collect()
    }
}

fn decision(reasons: &str) -> ObjectionDecision {
    ObjectionDecision {
        outcome: ObjectionOutcome::Dismissed,
        reasons: reasons.into(),
        examiner_id: Uuid::now_v7(),
        examiner_name: "审查员".into(),
        decided_at: now(),
    }
}

/// Objections whose ids run backwards, so only their place keeps them in the order filed. Every text names `tag`
/// and the objection's number.
fn objections(tag: &str, n: usize) -> Vec<Objection> {
    let mut ids: Vec<Uuid> = (0..n).map(|_| Uuid::now_v7()).collect();
    ids.reverse();
    ids.into_iter()
        .enumerate()
        .map(|(i, id)| Objection {
            id,
            filed_at: now() - Duration::hours(10 - i as i64),
            filed_by: None,
            objector_name: format!("异议人{tag}-{i}"),
            objector_contact: format!("contact{tag}-{i}"),
            grounds: format!("异议理由{tag}-{i}"),
            evidence: Vec::new(),
            decide_by: now() + Duration::days(10),
            response: None,
            responded_at: None,
            decision: None,
        })
        .collect()
}

fn disputes(tag: &str, n: usize) -> Vec<Dispute> {
    let mut ids: Vec<Uuid> = (0..n).map(|_| Uuid::now_v7()).collect();
    ids.reverse();
    ids.into_iter()
        .enumerate()
        .map(|(i, id)| Dispute {
            id,
            filed_at: now() + Duration::hours(i as i64),
            filed_by: None,
            objector_name: format!("争议人{tag}-{i}"),
            objector_contact: format!("contact{tag}-d{i}"),
            grounds: format!("争议理由{tag}-{i}"),
            decision: None,
        })
        .collect()
}

/// Every text of an application's objections and disputes (names, contacts, grounds, decision reasons, ids).
fn objection_texts(app: &Application) -> Vec<String> {
    let mut out = Vec::new();
    let reasons = |d: &Option<ObjectionDecision>| d.iter().map(|d| d.reasons.clone()).collect::<Vec<_>>();
    for o in &app.objections {
        out.extend([o.id.to_string(), o.objector_name.clone(), o.objector_contact.clone(), o.grounds.clone()]);
        out.extend(reasons(&o.decision));
    }
    for d in app.holding.iter().flat_map(|h| &h.disputes) {
        out.extend([d.id.to_string(), d.objector_name.clone(), d.objector_contact.clone(), d.grounds.clone()]);
        out.extend(reasons(&d.decision));
    }
    out
}

/// Neither stored document carries any text of the objections and disputes, nor their lists.
async fn assert_documents_stripped(db: &Db, app: &Application) {
    let (doc, public) = db.documents(app.id).await;
    let texts = objection_texts(app);
    assert!(!texts.is_empty());
    for t in &texts {
        assert!(!doc.contains(t.as_str()), "doc holds {t:?}");
        assert!(!public.as_deref().unwrap_or("").contains(t.as_str()), "public_doc holds {t:?}");
    }
    let doc: serde_json::Value = serde_json::from_str(&doc).unwrap();
    assert_eq!(doc["objections"], serde_json::json!([]));
    if app.holding.is_some() {
        assert_eq!(doc["holding"]["disputes"], serde_json::json!([]));
    }
    if let Some(public) = public {
        let public: serde_json::Value = serde_json::from_str(&public).unwrap();
        assert!(public.get("objections").is_none() && public.get("disputes").is_none(), "{public}");
        let disputed = app.holding.as_ref().is_some_and(|h| h.is_disputed());
        assert_eq!(public["disputed"], disputed, "the flag stays");
    }
}

/// Register with a given sequence (registration numbers are unique).
fn register_as(mut app: Application, sequence: u64) -> Application {
    app.state = State::Registered;
    app.submitted_at = Some(now() - Duration::days(7));
    app.notice = Some(Notice { started_at: now() - Duration::days(2), ends_at: now() });
    dipr_domain::lifecycle::register(&mut app, sequence, sequence, now(), &Default::default()).unwrap();
    app
}

async fn update(store: &Arc<dyn Store>, app: &mut Application, kind: &str) {
    app.version += 1;
    let mut tx = store.begin().await.unwrap();
    tx.update_application(app).await.unwrap();
    tx.append_event(&event("application", &app.id.to_string(), kind)).await.unwrap();
    tx.commit().await.unwrap();
}

/// Objections and disputes are rows of their own: every read gives them back in the order filed with their
/// decisions, and the application's stored documents never carry them.
async fn objections_and_disputes_are_rows(db: Db) {
    let store = db.open().await;
    let tag = Uuid::now_v7().simple().to_string();
    let (_, _, mut a) = seed(&store, &format!("异议甲{tag}"), "甲公司").await;
    let (_, _, mut b) = seed(&store, &format!("异议乙{tag}"), "乙公司").await;
    let (_, _, c) = seed(&store, &format!("异议丙{tag}"), "丙公司").await;

    // On notice with objections, one decided.
    for (app, n) in [(&mut a, 3), (&mut b, 2)] {
        app.state = State::ObjectionPending;
        app.submitted_at = Some(now() - Duration::days(7));
        app.notice = Some(Notice { started_at: now() - Duration::days(2), ends_at: now() + Duration::days(10) });
        app.objections = objections(&format!("{tag}{n}"), n);
        app.objections[1].decision = Some(decision(&format!("驳回理由{tag}{n}")));
        update(&store, app, "objection_filed").await;
    }
    assert_eq!(store.application(a.id).await.unwrap().unwrap(), a);
    assert_eq!(db.objection_rows(a.id).await, ["objection:0:open", "objection:1:decided", "objection:2:open"]);
    assert_documents_stripped(&db, &a).await;
    assert_documents_stripped(&db, &b).await;
    // Lists of public records carry neither list; the single record is built from the whole application.
    let public = store
        .public_records(&ApplicationFilter { text: Some(tag.clone()), ..Default::default() }, Page::default())
        .await
        .unwrap();
    assert_eq!(public.total, 2);
    for raw in &public.items {
        let v: serde_json::Value = serde_json::from_str(raw.get()).unwrap();
        assert!(v.get("objections").is_none() && v.get("disputes").is_none(), "{v}");
    }
    let record = dipr_domain::public::PublicRecord::of(&a).unwrap();
    assert_eq!(record.objections.as_ref().map(Vec::len), Some(3));

    // Registered: one more objection decided, and disputes after grant.
    a.objections[0].decision = Some(decision(&format!("成立理由{tag}")));
    let mut a = register_as(a, 7);
    a.holding.as_mut().unwrap().disputes = disputes(&tag, 2);
    a.holding.as_mut().unwrap().disputes[0].decision = Some(decision(&format!("争议裁决{tag}")));
    update(&store, &mut a, "registered").await;
    let expected_rows =
        ["dispute:0:decided", "dispute:1:open", "objection:0:decided", "objection:1:decided", "objection:2:open"];
    assert_eq!(db.objection_rows(a.id).await, expected_rows);
    assert_documents_stripped(&db, &a).await;

    // Every read attaches them: by id, by registration number, for update, and in a list (one query for the page).
    assert_eq!(store.application(a.id).await.unwrap().unwrap(), a);
    let number = a.registration.as_ref().unwrap().registration_number.to_string();
    assert_eq!(store.application_by_registration_number(&number).await.unwrap().unwrap(), a);
    let mut tx = store.begin().await.unwrap();
    assert_eq!(tx.application_for_update(a.id).await.unwrap().unwrap(), a);
    drop(tx);
    let list = store
        .applications(
            &ApplicationFilter { text: Some(tag.clone()), order: Order::OldestFirst, ..Default::default() },
            Page::default(),
        )
        .await
        .unwrap();
    let by_id = |id: Uuid| list.items.iter().find(|x| x.id == id).unwrap().clone();
    assert_eq!(list.items.len(), 3);
    assert_eq!(by_id(a.id), a);
    assert_eq!(by_id(b.id), b);
    assert_eq!(by_id(c.id), c);
    // The disputed flag and the dispute queue still follow the undecided dispute.
    let queue = ApplicationFilter { open_disputes: true, ..Default::default() };
    assert!(store.applications(&queue, Page::default()).await.unwrap().items.iter().any(|x| x.id == a.id));

    // A write leaves the rows it does not change as they are: deciding one dispute and filing another rewrites
    // one row and adds one; a write that changes no objection rewrites none.
    db.count_objection_rewrites().await;
    a.holding.as_mut().unwrap().disputes[1].decision = Some(decision(&format!("第二裁决{tag}")));
    a.holding.as_mut().unwrap().disputes.extend(disputes(&format!("{tag}x"), 1));
    update(&store, &mut a, "dispute_filed").await;
    assert_eq!(store.application(a.id).await.unwrap().unwrap(), a);
    assert_eq!(db.objection_rows(a.id).await.len(), 6);
    assert_eq!(db.objection_rewrites().await, "1");
    a.form.summary = "只改摘要".into();
    update(&store, &mut a, "edited").await;
    assert_eq!(db.objection_rewrites().await, "1");
    assert_documents_stripped(&db, &a).await;

    // A rolled-back write leaves no rows behind.
    let mut more = a.clone();
    more.objections.extend(objections(&format!("{tag}r"), 1));
    more.version += 1;
    let mut tx = store.begin().await.unwrap();
    tx.update_application(&more).await.unwrap();
    drop(tx);
    assert_eq!(store.application(a.id).await.unwrap().unwrap(), a);
    assert_eq!(db.objection_rows(a.id).await.len(), 6);
}

/// A database written before objections had their own rows: the store moves them out of the documents when it
/// opens, once, and a document an older server writes afterwards still reads whole.
async fn embedded_objections_move_out_at_open(db: Db) {
    use dipr_domain::public::PublicRecord;
    db.migrate_to(10).await;
    let tag = Uuid::now_v7().simple().to_string();
    let p = party("旧库公司");
    let u = user("applicant", Role::Applicant, Some(p.id));
    let form = ApplicationForm {
        product_name: format!("旧库{tag}"),
        object_type: Some(ObjectType::DataCollection),
        industry: "ai".into(),
        ..Default::default()
    };
    let mut app = Application::new_draft(Uuid::now_v7(), &p, u.id, None, form, now());
    app.objections = objections(&tag, 4);
    app.objections[2].decision = Some(decision(&format!("旧裁决{tag}")));
    let mut app = register_as(app, 3);
    app.holding.as_mut().unwrap().disputes = disputes(&tag, 2);
    app.holding.as_mut().unwrap().disputes[1].decision = Some(decision(&format!("旧争议裁决{tag}")));
    app.version = 5;
    // Written the old way: both lists inside the document, and inside the public record.
    db.exec(
        "INSERT INTO parties (id, kind, name, id_number, doc, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
        vec![
            V::T(p.id.to_string()),
            V::T(p.kind.as_str().into()),
            V::T(p.name.clone()),
            V::T(p.identifier.as_str().into()),
            V::T(serde_json::to_string(&p).unwrap()),
            V::I(now().timestamp_millis()),
        ],
    )
    .await;
    db.exec(
        "INSERT INTO users (id, username, display_name, password_hash, role, party_id, disabled, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        vec![
            V::T(u.id.to_string()),
            V::T(u.username.clone()),
            V::T(u.display_name.clone()),
            V::T(u.password_hash.clone()),
            V::T(u.role.as_str().into()),
            V::T(p.id.to_string()),
            V::B(false),
            V::I(now().timestamp_millis()),
        ],
    )
    .await;
    let old_public = serde_json::to_string(&PublicRecord::of(&app).unwrap()).unwrap();
    assert!(old_public.contains("\"objections\":[{"));
    db.exec(
        "INSERT INTO applications (id, version, state, applicant_id, filed_by, agent_id, product_name, product_key, \
         holder_name, search_text, object_type, industry, is_public, deadline_at, registration_number, created_at, \
         updated_at, withdrawn_at, doc, public_doc, open_dispute, holder_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22)",
        vec![
            V::T(app.id.to_string()),
            V::I(app.version),
            V::T(app.state.as_str().into()),
            V::T(p.id.to_string()),
            V::T(u.id.to_string()),
            V::NoText,
            V::T(app.form.product_name.clone()),
            V::T(app.form.product_key()),
            V::T(p.name.clone()),
            V::T(app.form.product_name.to_lowercase()),
            V::T("data_collection".into()),
            V::T("ai".into()),
            V::B(true),
            V::NoInt,
            V::T(app.registration.as_ref().unwrap().registration_number.to_string()),
            V::I(now().timestamp_millis()),
            V::I(now().timestamp_millis()),
            V::NoInt,
            V::T(serde_json::to_string(&app).unwrap()),
            V::T(old_public),
            V::B(true),
            V::T(p.id.to_string()),
        ],
    )
    .await;

    // Opening migrates the schema and moves them out.
    let store = db.open().await;
    assert_eq!(store.application(app.id).await.unwrap().unwrap(), app);
    assert_eq!(
        db.objection_rows(app.id).await,
        [
            "dispute:0:open",
            "dispute:1:decided",
            "objection:0:open",
            "objection:1:open",
            "objection:2:decided",
            "objection:3:open"
        ]
    );
    assert_documents_stripped(&db, &app).await;
    assert!(store.setting("store_objections_in_rows").await.unwrap().is_some(), "done once");
    let search = ApplicationFilter { text: Some(tag.clone()), ..Default::default() };
    let public = store.public_records(&search, Page::default()).await.unwrap();
    let listed: serde_json::Value = serde_json::from_str(public.items[0].get()).unwrap();
    assert_eq!(listed, serde_json::to_value(PublicRecord::listed(&app).unwrap()).unwrap());
    let stored = db.documents(app.id).await;
    drop(store);

    // Opening again changes nothing.
    let store = db.open().await;
    assert_eq!(db.documents(app.id).await, stored);
    assert_eq!(db.objection_rows(app.id).await.len(), 6);
    assert_eq!(store.application(app.id).await.unwrap().unwrap(), app);

    // An older server still running writes the whole application into the document, with one more objection:
    // it reads after the rows, and the next write moves it out too.
    let mut old_write = app.clone();
    old_write.objections.extend(objections(&format!("{tag}late"), 1));
    old_write.version += 1;
    db.exec(
        "UPDATE applications SET doc = $2, version = $3 WHERE id = $1",
        vec![V::T(app.id.to_string()), V::T(serde_json::to_string(&old_write).unwrap()), V::I(old_write.version)],
    )
    .await;
    let mut read = store.application(app.id).await.unwrap().unwrap();
    assert_eq!(read, old_write);
    update(&store, &mut read, "objection_decided").await;
    assert_eq!(db.objection_rows(app.id).await.len(), 7);
    assert_documents_stripped(&db, &read).await;
    assert_eq!(store.application(app.id).await.unwrap().unwrap(), read);
}
