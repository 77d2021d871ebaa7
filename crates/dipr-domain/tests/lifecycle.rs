use chrono::{DateTime, Duration, TimeZone, Utc};
use dipr_domain::access::*;
use dipr_domain::application::*;
use dipr_domain::lifecycle::*;
use dipr_domain::party::*;
use dipr_domain::time::WorkingCalendar;
use dipr_domain::DomainError;
use uuid::Uuid;

fn party() -> Party {
    NewParty {
        kind: PartyKind::LegalPerson,
        name: "上海示例数据科技有限公司".into(),
        id_number: "91350100M000100Y43".into(),
        address: String::new(),
        attributes: OrgAttributes::default(),
    }
    .parse(Uuid::now_v7())
    .unwrap()
}

fn form() -> ApplicationForm {
    ApplicationForm {
        product_name: "中文大模型语料库".into(),
        object_type: Some(ObjectType::DataCollection),
        industry: "ai".into(),
        scenarios: vec!["模型训练".into()],
        summary: "经清洗的中文语料".into(),
        sources: vec![DataSource {
            kind: SourceKind::Licensed,
            description: "采购".into(),
            counterparty: Some("某出版社".into()),
            contract_ref: Some("HT-1".into()),
            licence_end: Some(chrono::NaiveDate::from_ymd_opt(2028, 6, 30).unwrap()),
        }],
        legality_statement: "合法取得".into(),
        no_infringement_commitment: true,
        processing: "去重、清洗、标注".into(),
        structure: vec![FieldSpec { name: "text".into(), field_type: "string".into(), description: String::new() }],
        format: "jsonl".into(),
        update_frequency: Some(UpdateFrequency::Monthly),
        samples: vec!["{\"text\": \"示例\"}".into()],
        contact: Contact { name: "张三".into(), ..Default::default() },
        ..Default::default()
    }
}

struct World {
    app: Application,
    owner: Actor,
    examiner: Actor,
    now: DateTime<Utc>,
    cal: WorkingCalendar,
    rules: Rules,
}

impl World {
    fn new() -> Self {
        let p = party();
        let user = Uuid::now_v7();
        let now = Utc.with_ymd_and_hms(2027, 3, 1, 2, 0, 0).unwrap(); // Monday 10:00 in Shanghai
        Self {
            app: Application::new_draft(Uuid::now_v7(), &p, user, None, form(), now),
            owner: Actor { user_id: Some(user), name: "applicant".into(), role: Role::Applicant, party_id: Some(p.id) },
            examiner: Actor {
                user_id: Some(Uuid::now_v7()),
                name: "审查员".into(),
                role: Role::Examiner,
                party_id: None,
            },
            now,
            cal: WorkingCalendar::default(),
            rules: Rules::default(),
        }
    }
    fn run(&mut self, cmd: Command, actor: &Actor) -> Result<Transition, DomainError> {
        let ctx = Context { now: self.now, calendar: &self.cal, rules: &self.rules };
        apply(&mut self.app, cmd, actor, &ctx)
    }
    fn publish_notice(&mut self) {
        let (o, e) = (self.owner.clone(), self.examiner.clone());
        self.run(Command::Submit, &o).unwrap();
        self.run(Command::AcceptForReview, &e).unwrap();
        self.run(Command::PassFormalReview { reasons: "材料齐全".into() }, &e).unwrap();
        self.run(Command::Approve { reasons: "符合条件".into() }, &e).unwrap();
    }
}

#[test]
fn happy_path_registers_with_numbers_and_capped_validity() {
    let mut w = World::new();
    w.publish_notice();
    assert_eq!(w.app.state, State::PublicNotice);
    let ends = w.app.notice.as_ref().unwrap().ends_at;
    w.now = ends - Duration::seconds(1);
    assert!(matches!(w.run(Command::EndNotice, &Actor::system()), Err(DomainError::DeadlineNotReached(_))));
    w.now = ends;
    let t = w.run(Command::EndNotice, &Actor::system()).unwrap();
    assert!(t.needs_registration);
    register(&mut w.app, 42, 7, w.now, &w.rules).unwrap();
    let reg = w.app.registration.as_ref().unwrap();
    assert_eq!(&reg.registration_number.as_str()[..6], "202721", "year 2027, licensed source, legal person");
    assert!(reg.certificate_number.as_str().starts_with("2027033100000007"));
    // Three years from 2027-03-01 would be 2030; the licence ends 2028-06-30 and caps it.
    assert_eq!(
        reg.valid_until,
        dipr_domain::time::start_of_local_day(chrono::NaiveDate::from_ymd_opt(2028, 7, 1).unwrap())
    );
}

#[test]
fn validity_runs_from_the_registration_date() {
    let mut w = World::new();
    // A licence that outlasts the term, so only the rules' three years apply.
    for s in &mut w.app.form.sources {
        s.licence_end = s.licence_end.map(|_| chrono::NaiveDate::from_ymd_opt(2040, 1, 1).unwrap());
    }
    w.publish_notice();
    let notice_start = w.app.notice.as_ref().unwrap().started_at;
    w.now = w.app.notice.as_ref().unwrap().ends_at + Duration::hours(5);
    w.run(Command::EndNotice, &Actor::system()).unwrap();
    register(&mut w.app, 1, 1, w.now, &w.rules).unwrap();
    let reg = w.app.registration.clone().unwrap();
    assert!(notice_start < reg.registered_at);
    assert_eq!(reg.valid_from, reg.registered_at, "not from the notice's start");
    assert_eq!(
        dipr_domain::shown::date(reg.valid_until),
        dipr_domain::shown::date(w.now + Duration::days(365 * 3 + 1))
    );
    // Renewal adds a term to the current end, under the same rule.
    let end = dipr_domain::lifecycle::validity_end(&w.app, reg.valid_until, &w.rules);
    assert_eq!(dipr_domain::shown::date(end), dipr_domain::shown::date(reg.valid_until + Duration::days(365 * 3 + 1)));
}

#[test]
fn errors_leave_the_record_untouched() {
    let mut w = World::new();
    let before = w.app.clone();
    let e = w.examiner.clone();
    assert!(matches!(w.run(Command::Approve { reasons: "x".into() }, &e), Err(DomainError::IllegalTransition { .. })));
    assert!(matches!(w.run(Command::EndNotice, &Actor::system()), Err(DomainError::IllegalTransition { .. })));
    assert_eq!(w.app, before);
}

#[test]
fn examiner_conflicts_and_role_checks() {
    let mut w = World::new();
    let o = w.owner.clone();
    w.run(Command::Submit, &o).unwrap();
    // The applicant's own account, even with the examiner role, cannot decide.
    let self_examiner = Actor { role: Role::Examiner, ..o.clone() };
    assert_eq!(w.run(Command::AcceptForReview, &self_examiner), Err(DomainError::ConflictOfInterest));
    // An applicant cannot accept; a stranger cannot withdraw.
    assert!(matches!(w.run(Command::AcceptForReview, &o), Err(DomainError::Forbidden(_))));
    let stranger = Actor {
        user_id: Some(Uuid::now_v7()),
        name: "x".into(),
        role: Role::Applicant,
        party_id: Some(Uuid::now_v7()),
    };
    assert!(matches!(w.run(Command::Withdraw { reason: String::new() }, &stranger), Err(DomainError::Forbidden(_))));
}

#[test]
fn decisions_need_reasons() {
    let mut w = World::new();
    let (o, e) = (w.owner.clone(), w.examiner.clone());
    w.run(Command::Submit, &o).unwrap();
    w.run(Command::AcceptForReview, &e).unwrap();
    assert_eq!(w.run(Command::Reject { reasons: "  ".into() }, &e), Err(DomainError::ReasonsRequired));
    w.run(Command::Reject { reasons: "材料不全".into() }, &e).unwrap();
    assert_eq!(w.app.decisions.last().unwrap().examiner_name, "审查员");
}

#[test]
fn correction_then_timeout() {
    let mut w = World::new();
    let (o, e) = (w.owner.clone(), w.examiner.clone());
    w.run(Command::Submit, &o).unwrap();
    w.run(Command::AcceptForReview, &e).unwrap();
    w.run(Command::RequestCorrection { items: vec!["samples".into()], reasons: "样例不足".into() }, &e).unwrap();
    let due = w.app.correction.as_ref().unwrap().due;
    assert_eq!(w.app.next_deadline(), Some(due));
    w.now = due;
    assert!(w.run(Command::Resubmit { response: "补正".into() }, &o).is_err());
    w.run(Command::ExpireCorrection, &Actor::system()).unwrap();
    assert_eq!(w.app.state, State::DeemedWithdrawn);
    // Idempotent: a second timer run is refused without change.
    assert!(w.run(Command::ExpireCorrection, &Actor::system()).is_err());
}

#[test]
fn objections_dismissed_before_and_after_notice_end() {
    let mut w = World::new();
    w.publish_notice();
    let e = w.examiner.clone();
    let public = Actor::public("李四");
    let ends = w.app.notice.as_ref().unwrap().ends_at;
    let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
    for id in [a, b] {
        let obj = NewObjection {
            objector_name: "李四".into(),
            objector_contact: String::new(),
            grounds: "数据来源于我方".into(),
            evidence: vec![],
        };
        w.run(Command::FileObjection { objection: obj, id }, &public).unwrap();
    }
    assert_eq!(w.app.state, State::ObjectionPending);
    w.run(
        Command::DecideObjection {
            objection_id: a, outcome: ObjectionOutcome::Dismissed, reasons: "证据不足".into()
        },
        &e,
    )
    .unwrap();
    assert_eq!(w.app.state, State::ObjectionPending, "one objection still pending");
    w.now = ends + Duration::days(1);
    let t = w
        .run(
            Command::DecideObjection {
                objection_id: b,
                outcome: ObjectionOutcome::Dismissed,
                reasons: "证据不足".into(),
            },
            &e,
        )
        .unwrap();
    assert_eq!(t.to, State::Registered);
    assert!(t.needs_registration);
}

#[test]
fn objection_upheld_refuses_and_late_objection_is_refused() {
    let mut w = World::new();
    w.publish_notice();
    let e = w.examiner.clone();
    let obj = || NewObjection {
        objector_name: "王五".into(),
        objector_contact: "w@example.cn".into(),
        grounds: "侵权".into(),
        evidence: vec![],
    };
    let id = Uuid::now_v7();
    w.run(Command::FileObjection { objection: obj(), id }, &Actor::public("王五")).unwrap();
    w.run(
        Command::DecideObjection {
            objection_id: id, outcome: ObjectionOutcome::Upheld, reasons: "来源不合法".into()
        },
        &e,
    )
    .unwrap();
    assert_eq!(w.app.state, State::Refused);

    let mut w = World::new();
    w.publish_notice();
    w.now = w.app.notice.as_ref().unwrap().ends_at;
    let r = w.run(Command::FileObjection { objection: obj(), id: Uuid::now_v7() }, &Actor::public("王五"));
    assert!(matches!(r, Err(DomainError::NoticePeriodOver(_))));
}

#[test]
fn refiling_bar_lasts_three_months() {
    let rules = Rules::default();
    let at = Utc.with_ymd_and_hms(2027, 1, 15, 0, 0, 0).unwrap();
    assert!(matches!(
        check_refiling_bar(Some(at), at + Duration::days(80), &rules),
        Err(DomainError::RefilingBarred { .. })
    ));
    assert!(check_refiling_bar(Some(at), Utc.with_ymd_and_hms(2027, 4, 15, 0, 0, 0).unwrap(), &rules).is_ok());
}

#[test]
fn submission_completeness_lists_every_problem() {
    let f = ApplicationForm { product_name: "x".into(), industry: "nope".into(), ..Default::default() };
    let Err(DomainError::Validation(errs)) = f.check(Completeness::Submission, &|c| c == "ai") else { panic!() };
    let fields: Vec<&str> = errs.iter().map(|e| e.field.as_str()).collect();
    for f in ["object_type", "industry", "sources", "legality_statement", "no_infringement_commitment", "samples"] {
        assert!(fields.contains(&f), "{f} missing from {fields:?}");
    }
    assert!(form().check(Completeness::Submission, &|c| c == "ai").is_ok());
}
