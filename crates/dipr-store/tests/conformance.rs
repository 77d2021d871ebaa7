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
    unlogged_writes_are_refused_and_rolled_back,
    dropped_transaction_rolls_back,
    optimistic_concurrency,
    search_and_filters,
    sequences_are_gapless_per_name,
    deadlines_and_withdrawals,
    calendar_industries_settings,
    log_appends_single_and_batched,
    statistics_projections_and_certificate_revisions,
    dispute_queue_and_pledge_book,
    request_keys_answer_once,
);

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

    // The stored public projection is what PublicRecord::of gives, and only for published filings.
    let public = store.public_records(&search(&tag, false), page).await.unwrap();
    assert_eq!(public.total, 3);
    for raw in &public.items {
        let v: serde_json::Value = serde_json::from_str(raw.get()).unwrap();
        let id: Uuid = v["id"].as_str().unwrap().parse().unwrap();
        let app = store.application(id).await.unwrap().unwrap();
        let expected = serde_json::to_value(dipr_domain::public::PublicRecord::of(&app).unwrap()).unwrap();
        assert_eq!(v, expected);
    }

    let all = ApplicationFilter { text: Some(tag.clone()), order: Order::OldestFirst, ..Default::default() };
    let p = store.applications(&all, Page::new(2, 3)).await.unwrap();
    assert_eq!((p.total, p.items.len()), (4, 1));
    assert_eq!(p.items[0].id, a4.id);

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
    // A rolled-back append leaves no gap.
    {
        let mut tx = store.begin().await.unwrap();
        let id = tx.append_event(&event("log", "x", "appended")).await.unwrap();
        tx.log_append(id, b"rolled back").await.unwrap();
    }
    assert_eq!(store.log_size().await.unwrap(), size);
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
