//! Demo data: a living registry with a year of history, seeded through the same services as real
//! traffic (so every row has its audit events). Run by `dipr serve --demo`; seeding twice is a no-op.
//!
//! Every demo account's password is [`DEMO_PASSWORD`]; the administrator is `admin`, examiners are
//! `examiner1`/`examiner2`, the bank is `bank1`, applicants are `user01`… and agents `agent1`/`agent2`.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use dipr_domain::access::{Actor, Role};
use dipr_domain::application::*;
use dipr_domain::ids::{credit_code_check, mod11_2_check};
use dipr_domain::lifecycle::Command;
use dipr_domain::party::{NewParty, OrgAttributes, Ownership, PartyKind};
use dipr_store::UserRecord;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use uuid::Uuid;

use crate::accounts::NewAccount;
use crate::audit::actor_of;
use crate::error::Result;
use crate::state::Registry;

pub const DEMO_PASSWORD: &str = "dipr-demo-2026";

/// What the seeder created.
#[derive(Debug, Default, serde::Serialize)]
pub struct DemoSummary {
    pub already_seeded: bool,
    pub accounts: usize,
    pub applications: usize,
}

struct Org {
    name: &'static str,
    kind: PartyKind,
    ownership: Option<Ownership>,
    high_tech: bool,
    specialised: bool,
    university: bool,
}

const fn org(name: &'static str, ownership: Ownership, high_tech: bool, specialised: bool) -> Org {
    Org { name, kind: PartyKind::LegalPerson, ownership: Some(ownership), high_tech, specialised, university: false }
}

const ORGS: &[Org] = &[
    org("上海浦江数据科技有限公司", Ownership::Private, true, true),
    org("申城交通大数据有限公司", Ownership::StateOwned, true, false),
    org("东方金融信息服务股份有限公司", Ownership::StateOwned, true, false),
    org("张江生物医药数据有限公司", Ownership::Private, true, true),
    org("临港智能制造数据有限公司", Ownership::Mixed, true, true),
    org("海纳语料科技有限公司", Ownership::Private, true, true),
    org("云算调度技术有限公司", Ownership::Private, true, false),
    org("沪上电商数据服务有限公司", Ownership::Private, false, false),
    org("联华健康医疗数据有限公司", Ownership::ForeignInvested, true, false),
    org("星河时空信息技术有限公司", Ownership::Private, true, true),
    org("申能能源数据有限公司", Ownership::StateOwned, false, false),
    org("外高桥跨境贸易数据有限公司", Ownership::ForeignInvested, false, false),
    org("徐汇教育文化数据有限公司", Ownership::Private, true, false),
    org("金桥农业大数据有限公司", Ownership::Collective, false, true),
    org("黄浦智慧医疗科技有限公司", Ownership::Private, true, true),
    org("虹桥物流数据有限公司", Ownership::Private, true, false),
    Org {
        name: "沪江大学",
        kind: PartyKind::LegalPerson,
        ownership: Some(Ownership::StateOwned),
        high_tech: false,
        specialised: false,
        university: true,
    },
    Org {
        name: "申江理工大学",
        kind: PartyKind::LegalPerson,
        ownership: Some(Ownership::StateOwned),
        high_tech: false,
        specialised: false,
        university: true,
    },
    Org {
        name: "浦东医学数据研究院",
        kind: PartyKind::LegalPerson,
        ownership: Some(Ownership::StateOwned),
        high_tech: false,
        specialised: false,
        university: true,
    },
    Org {
        name: "上海数智创新合伙企业（有限合伙）",
        kind: PartyKind::UnincorporatedOrganisation,
        ownership: Some(Ownership::Private),
        high_tech: false,
        specialised: false,
        university: false,
    },
    Org {
        name: "杨浦开源数据工作室（普通合伙）",
        kind: PartyKind::UnincorporatedOrganisation,
        ownership: Some(Ownership::Private),
        high_tech: false,
        specialised: false,
        university: false,
    },
];

const PEOPLE: &[&str] = &["张伟", "王芳", "李娜", "刘洋", "陈静", "杨帆"];
const AGENTS: &[&str] = &["上海知信知识产权代理有限公司", "申城数据资产登记代理有限公司"];

/// (industry, object type, product name)
const PRODUCTS: &[(&str, ObjectType, &str)] = &[
    ("model_corpus", ObjectType::DataCollection, "中文大模型训练语料库"),
    ("model_corpus", ObjectType::DataCollection, "多模态图文对齐语料集"),
    ("model_corpus", ObjectType::DataCollection, "法律文书语料库"),
    ("model_corpus", ObjectType::DataCollection, "医学问答语料库"),
    ("computing", ObjectType::DataAlgorithm, "算力资源智能调度算法"),
    ("computing", ObjectType::DataAlgorithm, "异构算力负载预测模型"),
    ("finance", ObjectType::DataProduct, "中小企业信用风险指数"),
    ("finance", ObjectType::DataProduct, "供应链金融风控数据服务"),
    ("finance", ObjectType::DataAlgorithm, "反欺诈交易识别算法"),
    ("transport", ObjectType::DataProduct, "城市交通拥堵指数"),
    ("transport", ObjectType::DataCollection, "港口集装箱吞吐数据集"),
    ("transport", ObjectType::DataAlgorithm, "地铁客流预测算法"),
    ("biopharma", ObjectType::DataCollection, "药物靶点结构数据集"),
    ("biopharma", ObjectType::DataProduct, "临床试验受试者匹配服务"),
    ("healthcare", ObjectType::DataCollection, "慢病管理健康数据集"),
    ("healthcare", ObjectType::DataCollection, "医学影像标注数据集"),
    ("ecommerce", ObjectType::DataProduct, "电商经营参谋数据产品"),
    ("ecommerce", ObjectType::DataProduct, "消费趋势指数"),
    ("manufacturing", ObjectType::DataCollection, "工业设备故障样本库"),
    ("manufacturing", ObjectType::DataAlgorithm, "产线视觉质检算法"),
    ("education_culture", ObjectType::DataCollection, "古籍数字化文本集"),
    ("education_culture", ObjectType::DataProduct, "在线学习行为分析报告"),
    ("geospatial", ObjectType::DataCollection, "城市三维实景地图数据"),
    ("energy", ObjectType::DataProduct, "电力负荷预测数据服务"),
    ("energy", ObjectType::DataCollection, "碳排放核算数据集"),
    ("agriculture", ObjectType::DataProduct, "农产品批发价格指数"),
    ("ai", ObjectType::DataAlgorithm, "中文语音识别声学模型"),
    ("ai", ObjectType::DataCollection, "自动驾驶场景标注数据集"),
];

/// Where a demo filing's story ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    Draft,
    Submitted,
    FormalReview,
    SubstantiveReview,
    Correction,
    DeemedWithdrawn,
    Rejected,
    Refused,
    Notice,
    ObjectionPending,
    ObjectionUpheld,
    ObjectionDismissed,
    Registered,
    Withdrawn,
    Cancelled,
    Revoked,
    Expired,
    Discarded,
}

impl Target {
    /// Live stories end near today; the others happened over the past year.
    fn is_live(self) -> bool {
        matches!(
            self,
            Self::Draft
                | Self::Submitted
                | Self::FormalReview
                | Self::SubstantiveReview
                | Self::Correction
                | Self::Notice
                | Self::ObjectionPending
        )
    }
}

const PLAN: &[(Target, usize)] = &[
    (Target::Registered, 30),
    (Target::ObjectionDismissed, 2),
    (Target::Notice, 5),
    (Target::ObjectionPending, 2),
    (Target::ObjectionUpheld, 2),
    (Target::Refused, 2),
    (Target::Rejected, 3),
    (Target::Correction, 3),
    (Target::DeemedWithdrawn, 2),
    (Target::Withdrawn, 2),
    (Target::Cancelled, 1),
    (Target::Revoked, 1),
    (Target::Expired, 1),
    (Target::SubstantiveReview, 3),
    (Target::FormalReview, 3),
    (Target::Submitted, 3),
    (Target::Draft, 3),
    (Target::Discarded, 1),
];

fn credit_code(rng: &mut StdRng, category: &str) -> String {
    const CHARS: &[u8] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
    let org: String = (0..9).map(|_| CHARS[rng.gen_range(0..10)] as char).collect();
    let body = format!("{category}310000{org}");
    let check = credit_code_check(body.as_bytes()).expect("valid charset") as char;
    format!("{body}{check}")
}

fn resident_id(rng: &mut StdRng) -> String {
    let birth = NaiveDate::from_ymd_opt(rng.gen_range(1965..2000), rng.gen_range(1..13), rng.gen_range(1..29))
        .expect("valid date");
    let body = format!("310104{}{:03}", birth.format("%Y%m%d"), rng.gen_range(0..1000));
    let check = mod11_2_check(body.as_bytes()).expect("digits") as char;
    format!("{body}{check}")
}

fn form_for(rng: &mut StdRng, industry: &str, object_type: ObjectType, name: &str, contact: &str) -> ApplicationForm {
    let source = match rng.gen_range(0..4) {
        0 => DataSource {
            kind: SourceKind::SelfCollected,
            description: "自有业务系统经用户授权采集".into(),
            counterparty: None,
            contract_ref: None,
            licence_end: None,
        },
        1 => DataSource {
            kind: SourceKind::Licensed,
            description: "向数据提供方采购并取得加工使用授权".into(),
            counterparty: Some("上海数据交易所挂牌数据商".into()),
            contract_ref: Some(format!("SHDE-{}", rng.gen_range(10000..99999))),
            licence_end: Some(NaiveDate::from_ymd_opt(2029, 12, 31).expect("valid date")),
        },
        2 => DataSource {
            kind: SourceKind::PublicData,
            description: "公共数据授权运营平台开放数据".into(),
            counterparty: Some("上海市大数据中心".into()),
            contract_ref: Some("公共数据授权书".into()),
            licence_end: None,
        },
        _ => DataSource {
            kind: SourceKind::SelfCollected,
            description: "自建传感网络与公开网页合规采集".into(),
            counterparty: None,
            contract_ref: None,
            licence_end: None,
        },
    };
    let records = rng.gen_range(10_000u64..50_000_000);
    let structure = if object_type == ObjectType::DataAlgorithm {
        vec![]
    } else {
        vec![
            FieldSpec { name: "id".into(), field_type: "string".into(), description: "记录标识".into() },
            FieldSpec { name: "ts".into(), field_type: "datetime".into(), description: "时间".into() },
            FieldSpec { name: "value".into(), field_type: "decimal".into(), description: "指标值".into() },
        ]
    };
    ApplicationForm {
        product_name: name.into(),
        object_type: Some(object_type),
        industry: industry.into(),
        scenarios: vec!["行业研究".into(), "模型训练".into()],
        summary: format!("{name}：经清洗、脱敏、标注和质量校验形成的数据资源，可用于行业分析与模型训练。"),
        sources: vec![source],
        legality_statement: "数据来源合法，已取得必要授权，不含未经同意的个人信息。".into(),
        no_infringement_commitment: true,
        processing: "去重、清洗、脱敏、结构化标注、质量抽检，形成统一规范的数据集合。".into(),
        structure,
        scale: Scale { records: Some(records), bytes: Some(records * 320) },
        format: if object_type == ObjectType::DataAlgorithm {
            "模型文件 + 接口文档".into()
        } else {
            "CSV / Parquet".into()
        },
        time_coverage: Some(TimeCoverage { from: NaiveDate::from_ymd_opt(2020, 1, 1).expect("valid date"), to: None }),
        update_frequency: Some(
            [UpdateFrequency::Daily, UpdateFrequency::Monthly, UpdateFrequency::Quarterly, UpdateFrequency::OneOff]
                [rng.gen_range(0..4)],
        ),
        secrecy: Secrecy {
            non_public: true, measures: "访问控制、分级授权、操作审计、数据水印".into()
        },
        samples: vec!["id=A0001, ts=2025-01-01T00:00:00Z, value=12.5".into()],
        content_commitment: None,
        attachments: vec![Attachment {
            name: "数据来源授权书.pdf".into(),
            sha256: format!("{:064x}", rng.gen::<u128>()),
            kind: "licence".into(),
        }],
        related_registrations: vec![],
        derived_from: vec![],
        contact: Contact { name: contact.into(), phone: "021-5555-0100".into(), email: "ip@example.cn".into() },
    }
}

/// Seed the demo registry (no-op when already seeded).
pub async fn seed(state: &Registry) -> Result<DemoSummary> {
    if state.store.setting("demo_seeded").await?.is_some() {
        return Ok(DemoSummary { already_seeded: true, ..Default::default() });
    }
    let mut rng = StdRng::seed_from_u64(202_412);
    let now = state.clock.now();
    let hash = crate::accounts::hash_password(DEMO_PASSWORD.into()).await?;
    let system = Actor::system();
    let mut summary = DemoSummary::default();

    let account = |username: String, display: &str, role: Role, party: Option<NewParty>| {
        let req =
            NewAccount { username, password: String::new(), display_name: display.into(), role, party, email: None };
        (req, hash.clone())
    };
    let mut plain = Vec::new();
    plain.push(account("admin".into(), "系统管理员", Role::Admin, None));
    plain.push(account("examiner1".into(), "王审查", Role::Examiner, None));
    plain.push(account("examiner2".into(), "李审查", Role::Examiner, None));
    let bank_party = NewParty {
        kind: PartyKind::LegalPerson,
        name: "上海浦江银行股份有限公司".into(),
        id_number: credit_code(&mut rng, "91"),
        address: "上海市黄浦区".into(),
        attributes: OrgAttributes { ownership: Some(Ownership::StateOwned), ..Default::default() },
    };
    plain.push(account("bank1".into(), "浦江银行授信部", Role::Bank, Some(bank_party)));
    let bank_party2 = NewParty {
        kind: PartyKind::LegalPerson,
        name: "上海申城农村商业银行股份有限公司".into(),
        id_number: credit_code(&mut rng, "91"),
        address: "上海市浦东新区".into(),
        attributes: OrgAttributes { ownership: Some(Ownership::Mixed), ..Default::default() },
    };
    plain.push(account("bank2".into(), "申城农商行普惠金融部", Role::Bank, Some(bank_party2)));
    let mut examiners = Vec::new();
    let mut banks = Vec::new();
    for (req, h) in plain {
        let (u, _) =
            crate::accounts::create_account_hashed(state, req, h, &system, false, now - Duration::days(400)).await?;
        match u.role {
            Role::Examiner => examiners.push(u),
            Role::Bank => banks.push(u),
            _ => {}
        }
        summary.accounts += 1;
    }

    let mut applicants: Vec<UserRecord> = Vec::new();
    for (i, o) in ORGS.iter().enumerate() {
        let category = if o.kind == PartyKind::UnincorporatedOrganisation {
            "93"
        } else if o.university {
            "12"
        } else {
            "91"
        };
        let attributes = OrgAttributes {
            ownership: o.ownership,
            high_tech: o.high_tech,
            specialised_innovative: o.specialised,
            university_or_institute: o.university,
            filing_agency: false,
        };
        let party = NewParty {
            kind: o.kind,
            name: o.name.into(),
            id_number: credit_code(&mut rng, category),
            address: "上海市".into(),
            attributes,
        };
        let (req, h) = account(format!("user{:02}", i + 1), o.name, Role::Applicant, Some(party));
        applicants.push(
            crate::accounts::create_account_hashed(state, req, h, &system, false, now - Duration::days(390)).await?.0,
        );
    }
    for (i, name) in PEOPLE.iter().enumerate() {
        let party = NewParty {
            kind: PartyKind::NaturalPerson,
            name: (*name).into(),
            id_number: resident_id(&mut rng),
            address: String::new(),
            attributes: OrgAttributes::default(),
        };
        let (req, h) = account(format!("user{:02}", ORGS.len() + i + 1), name, Role::Applicant, Some(party));
        applicants.push(
            crate::accounts::create_account_hashed(state, req, h, &system, false, now - Duration::days(390)).await?.0,
        );
    }
    let mut agents = Vec::new();
    for (i, name) in AGENTS.iter().enumerate() {
        let party = NewParty {
            kind: PartyKind::LegalPerson,
            name: (*name).into(),
            id_number: credit_code(&mut rng, "91"),
            address: "上海市".into(),
            attributes: OrgAttributes { ownership: Some(Ownership::Private), ..Default::default() },
        };
        let (req, h) = account(format!("agent{}", i + 1), name, Role::Agent, Some(party));
        agents.push(
            crate::accounts::create_account_hashed(state, req, h, &system, false, now - Duration::days(390)).await?.0,
        );
    }
    summary.accounts += applicants.len() + agents.len();

    let targets: Vec<Target> = PLAN.iter().flat_map(|(t, n)| std::iter::repeat_n(*t, *n)).collect();
    let historic = targets.iter().filter(|t| !t.is_live()).count() as i64;
    let (mut h, mut l) = (0i64, 0i64);
    let mut overlap_seeded = false;
    let mut registered = Vec::new();
    for (i, target) in targets.iter().enumerate() {
        let (industry, object_type, base_name) = PRODUCTS[i % PRODUCTS.len()];
        let name = if i < PRODUCTS.len() {
            base_name.to_string()
        } else {
            format!("{base_name}（{}版）", 2025 + i / PRODUCTS.len())
        };
        let user = &applicants[(i * 7) % applicants.len()];
        // Historic stories start spread over the past year; live ones in the last few days.
        let start = if target.is_live() {
            l += 1;
            now - Duration::days(2) - Duration::hours(9 * l)
        } else {
            h += 1;
            now - Duration::days(365) + Duration::days(h * 300 / historic.max(1))
        };
        let mut form = form_for(&mut rng, industry, object_type, &name, &user.display_name);
        if *target == Target::Expired {
            // Registered on a short data licence: the registration ends with it.
            let end = (start + Duration::days(45)).date_naive();
            form.sources = vec![DataSource {
                kind: SourceKind::Licensed,
                description: "短期授权的交易数据".into(),
                counterparty: Some("某数据交易所".into()),
                contract_ref: Some("SHORT-2025".into()),
                licence_end: Some(end),
            }];
        }
        // Individuals and a few others file through an agent.
        let by_agent = user.party_id.is_some() && i % 5 == 4;
        let app = if by_agent {
            let agent = &agents[i % agents.len()];
            let party = state.store.party(user.party_id.expect("checked")).await?.expect("seeded party");
            let np = NewParty {
                kind: party.kind,
                name: party.name.clone(),
                id_number: party.identifier.as_str().into(),
                address: party.address.clone(),
                attributes: party.attributes.clone(),
            };
            crate::filings::create_application_at(state, agent, Some(np), form, start, false).await?
        } else {
            crate::filings::create_application_at(state, user, None, form, start, false).await?
        };
        // Two filings carry data fingerprints: a registered corpus, and a later filing built largely
        // from it, so examiners see an overlap warning.
        let fingerprinted = if i == 0 {
            Some(0..60_000)
        } else if *target == Target::SubstantiveReview && !overlap_seeded {
            overlap_seeded = true;
            Some(12_000..66_000)
        } else {
            None
        };
        if let Some(rows) = fingerprinted {
            let filer_user = if by_agent { &agents[i % agents.len()] } else { user };
            attach_demo_manifest(state, filer_user, app.id, rows, &name, start).await?;
        }
        let filer = if by_agent { actor_of(&agents[i % agents.len()]) } else { actor_of(user) };
        let examiner = actor_of(&examiners[i % examiners.len()]);
        play(state, app.id, *target, &filer, &examiner, start, &mut rng).await?;
        if *target == Target::Registered {
            registered.push((app.id, filer, user.clone()));
        }
        summary.applications += 1;
    }
    after_registration(state, &registered, &applicants, &banks, &examiners, &mut rng, now).await?;
    summary.applications += 1;

    let mut tx = state.store.begin().await?;
    tx.set_setting("demo_seeded", &now.to_rfc3339()).await?;
    tx.append_event(&crate::audit::event(&system, now, "setting", "demo", "demo_seeded")).await?;
    tx.commit().await?;
    Ok(summary)
}

/// A year of life after registration, shaped like Shanghai's published figures: licences and the fees,
/// trades and service fees they earn; bank pledges (one product with two ranked pledges, one released);
/// a data update; a pending dispute; and a product derived from a registered one under licence.
async fn after_registration(
    state: &Registry,
    registered: &[(Uuid, Actor, UserRecord)],
    applicants: &[UserRecord],
    banks: &[UserRecord],
    examiners: &[UserRecord],
    rng: &mut StdRng,
    now: DateTime<Utc>,
) -> Result<()> {
    use crate::holdings::book_transaction_at;
    use crate::holdings::operate_at;
    use dipr_domain::encumbrance::{Licence, LicenceKind, Money, Reach, Term};
    use dipr_domain::holding::{new_pledge, NewTransaction, Operation, TransactionKind};
    let party_of = |u: &UserRecord| u.party_id.expect("demo accounts have parties");
    let party_ref = |id: Uuid| async move {
        let p = state.store.party(id).await?.expect("seeded party");
        Ok::<_, crate::Error>(dipr_domain::party::PartyRef::from(&p))
    };
    let local = dipr_domain::time::local_date;
    for (k, (id, holder, holder_user)) in registered.iter().enumerate() {
        let app = state.store.application(*id).await?.expect("registered");
        let reg = app.registration.clone().expect("registered");
        let since = reg.registered_at + Duration::days(2);
        if since >= now {
            continue;
        }
        let span = (now - since).num_hours().max(2);
        let at = |h: i64| since + Duration::hours(h.min(span - 1));
        let licensee_user = &applicants[(k * 5 + 3) % applicants.len()];
        if party_of(licensee_user) == party_of(holder_user) {
            continue;
        }
        let licensee = party_ref(party_of(licensee_user)).await?;
        let start = local(at(1));
        let licence = Licence {
            id: Uuid::now_v7(),
            licensee: licensee.clone(),
            kind: if k % 4 == 0 { LicenceKind::Exclusive } else { LicenceKind::NonExclusive },
            term: Term::new(start, start + chrono::Days::new(365))?,
            reach: Reach { territories: vec!["中国大陆".into()], scopes: vec!["模型训练".into()] },
            fee: Some(Money::from_fen(rng.gen_range(20..200) * 1_000_000)?),
            granted_at: at(1),
            terminated_at: None,
        };
        let licence_id = licence.id;
        operate_at(state, *id, Operation::GrantLicence { licence }, holder, at(1), None).await?;
        // Fees, trades and service fees through the year: tens of thousands to millions of yuan.
        for n in 0..rng.gen_range(4..14) {
            let when = at(24 * (3 + n * 20) + rng.gen_range(0..20));
            let kind =
                [TransactionKind::LicenceFee, TransactionKind::Trade, TransactionKind::ServiceFee][rng.gen_range(0..3)];
            let t = NewTransaction {
                kind,
                amount: Money::from_fen(rng.gen_range(5_000_000i64..900_000_000))?,
                occurred_on: local(when),
                counterparty: licensee.name.clone(),
                licence_id: (kind == TransactionKind::LicenceFee).then_some(licence_id),
                note: String::new(),
            };
            book_transaction_at(state, *id, t, holder, when).await?;
        }
        // Every third product secures a loan; the first carries two ranked pledges, one later released.
        if k % 3 == 0 {
            let ranks = if k == 0 { 2 } else { 1 };
            for r in 0..ranks {
                let bank_user = &banks[r % banks.len()];
                let bank = actor_of(bank_user);
                let when = at(24 * (40 + 30 * r as i64));
                let secured = Money::from_fen(rng.gen_range(500..4_000) * 1_000_000)?;
                let term = Term::new(local(when), local(when) + chrono::Days::new(730))?;
                let pledge = new_pledge(
                    party_ref(party_of(bank_user)).await?,
                    app.applicant.clone(),
                    secured,
                    term,
                    r as u32 + 1,
                    when,
                );
                let pid = pledge.id;
                operate_at(state, *id, Operation::FilePledge { pledge }, &bank, when, None).await?;
                operate_at(
                    state,
                    *id,
                    Operation::ConsentToPledge { pledge_id: pid },
                    holder,
                    when + Duration::hours(20),
                    None,
                )
                .await?;
                if k == 0 && r == 0 {
                    operate_at(state, *id, Operation::ReleasePledge { pledge_id: pid }, &bank, at(24 * 200), None)
                        .await?;
                }
            }
        }
        if k == 1 {
            let dispute = holding_dispute(at(24 * 90));
            operate_at(
                state,
                *id,
                Operation::FileDispute { dispute },
                &Actor::public("上海某数据科技公司"),
                at(24 * 90),
                None,
            )
            .await?;
        }
    }
    // A product derived under licence from the first registered one, now on public notice.
    if let Some((parent_id, _, _)) = registered.first() {
        let parent = state.store.application(*parent_id).await?.expect("registered");
        let licence = parent.holding.as_ref().and_then(|h| h.encumbrances.licences.first()).cloned();
        let child_user = licence.as_ref().and_then(|l| applicants.iter().find(|u| u.party_id == Some(l.licensee.id)));
        if let (Some(l), Some(child_user)) = (licence, child_user) {
            let at = now - Duration::hours(30);
            let mut form = form_for(
                rng,
                &parent.form.industry,
                ObjectType::DataProduct,
                "语料质量评测指数",
                &child_user.display_name,
            );
            form.derived_from = vec![Upstream {
                registration_number: parent.registration.as_ref().expect("registered").registration_number.clone(),
                licence_id: Some(l.id),
            }];
            let child = crate::filings::create_application_at(state, child_user, None, form, at, false).await?;
            let (filer, examiner) = (actor_of(child_user), actor_of(&examiners[0]));
            crate::filings::execute_at(state, child.id, Command::Submit, &filer, at + Duration::hours(1)).await?;
            crate::filings::execute_at(state, child.id, Command::AcceptForReview, &examiner, at + Duration::hours(3))
                .await?;
            let pass = Command::PassFormalReview { reasons: "形式审查合格。".into() };
            crate::filings::execute_at(state, child.id, pass, &examiner, at + Duration::hours(5)).await?;
            let approve = Command::Approve { reasons: "衍生关系与许可清楚，予以公示。".into() };
            crate::filings::execute_at(state, child.id, approve, &examiner, at + Duration::hours(8)).await?;
        }
    }
    Ok(())
}

fn holding_dispute(at: DateTime<Utc>) -> dipr_domain::application::Dispute {
    dipr_domain::application::Dispute {
        id: Uuid::now_v7(),
        filed_at: at,
        filed_by: None,
        objector_name: "上海某数据科技公司".into(),
        objector_contact: "legal@example.cn".into(),
        grounds: "登记数据中含有我方授权期满后的数据。".into(),
        decision: None,
    }
}

/// Fingerprint synthetic rows `rows` of a corpus and file the manifest with the draft.
async fn attach_demo_manifest(
    state: &Registry,
    user: &UserRecord,
    id: Uuid,
    rows: std::ops::Range<u32>,
    product: &str,
    at: DateTime<Utc>,
) -> Result<()> {
    let mut csv = String::from("id,text,label\n");
    for i in rows {
        csv.push_str(&format!("{i:07},语料样本第{i}条,{}\n", ["新闻", "百科", "法律", "医学"][(i % 4) as usize]));
    }
    let secrets = dipr_fingerprint::Secrets::generate("demo-owner").map_err(crate::error::Error::internal)?;
    let opts = dipr_fingerprint::Options {
        format: dipr_fingerprint::Format::Csv,
        product: product.into(),
        version: 1,
        views: Vec::new(),
        scale: crate::fingerprints::DISCOVERY_SCALE,
        keep_fingerprints: false,
        discovery_key: Some(state.discovery_key),
    };
    let fp = dipr_fingerprint::fingerprint(csv.as_bytes(), &opts, &secrets, &mut |_| {})
        .map_err(crate::error::Error::internal)?;
    crate::fingerprints::attach_at(state, user, id, fp.manifest, at + Duration::minutes(30)).await?;
    Ok(())
}

/// Walk one filing through its story, each step a little after the last.
async fn play(
    state: &Registry,
    id: Uuid,
    target: Target,
    filer: &Actor,
    examiner: &Actor,
    start: DateTime<Utc>,
    rng: &mut StdRng,
) -> Result<()> {
    use Target::*;
    let mut t = start;
    let mut step = |hours: i64| {
        t += Duration::hours(hours);
        t
    };
    macro_rules! ex {
        ($cmd:expr, $actor:expr, $at:expr) => {
            crate::filings::execute_at(state, id, $cmd, $actor, $at).await?
        };
    }
    if target == Draft {
        return Ok(());
    }
    if target == Discarded {
        ex!(Command::Discard, filer, step(1));
        return Ok(());
    }
    ex!(Command::Submit, filer, step(2));
    if target == Submitted {
        return Ok(());
    }
    if target == Withdrawn {
        ex!(Command::Withdraw { reason: "拟调整数据范围后重新申请".into() }, filer, step(30));
        return Ok(());
    }
    ex!(Command::AcceptForReview, examiner, step(if target.is_live() { 3 } else { 20 }));
    match target {
        FormalReview => return Ok(()),
        Rejected => {
            ex!(Command::Reject { reasons: "申请材料不属于数据知识产权登记对象。".into() }, examiner, step(24));
            return Ok(());
        }
        Correction | DeemedWithdrawn => {
            let cmd = Command::RequestCorrection {
                items: vec!["samples".into(), "legality_statement".into()],
                reasons: "请补充脱敏样例并完善合法性说明。".into(),
            };
            let app = ex!(cmd, examiner, step(5));
            if target == DeemedWithdrawn {
                let due = app.correction.expect("just requested").due;
                ex!(Command::ExpireCorrection, &Actor::system(), due);
            }
            return Ok(());
        }
        _ => {}
    }
    // A third of the historic filings went through a correction round first.
    if !target.is_live() && rng.gen_range(0..3) == 0 {
        let cmd = Command::RequestCorrection {
            items: vec!["processing".into()],
            reasons: "请细化数据加工规则说明。".into(),
        };
        ex!(cmd, examiner, step(24));
        ex!(Command::Resubmit { response: "已补充加工规则与质量控制说明。".into() }, filer, step(72));
    }
    ex!(
        Command::PassFormalReview { reasons: "形式审查合格。".into() },
        examiner,
        step(if target.is_live() { 4 } else { 48 })
    );
    match target {
        SubstantiveReview => return Ok(()),
        Refused => {
            ex!(Command::Refuse { reasons: "数据加工未体现实质性处理，不予登记。".into() }, examiner, step(72));
            return Ok(());
        }
        _ => {}
    }
    let app = ex!(
        Command::Approve { reasons: "符合登记条件，予以公示。".into() },
        examiner,
        step(if target.is_live() { 5 } else { 96 })
    );
    let ends = app.notice.expect("notice published").ends_at;
    if matches!(target, ObjectionPending | ObjectionUpheld | ObjectionDismissed) {
        let objection = NewObjection {
            objector_name: "上海某数据服务公司".into(),
            objector_contact: "legal@example.cn".into(),
            grounds: "该数据产品包含我方享有权益的数据，来源存疑。".into(),
            evidence: vec![],
        };
        let app = ex!(
            Command::FileObjection { objection, id: Uuid::now_v7() },
            &Actor::public("上海某数据服务公司"),
            step(2)
        );
        let oid = app.objections.last().expect("filed").id;
        if target == ObjectionPending {
            return Ok(());
        }
        ex!(
            Command::RespondToObjection {
                objection_id: oid,
                response: "相关数据系自行采集，附采集日志与授权链。".into()
            },
            filer,
            step(48)
        );
        let outcome = if target == ObjectionUpheld { ObjectionOutcome::Upheld } else { ObjectionOutcome::Dismissed };
        let reasons = if target == ObjectionUpheld {
            "异议成立：申请人未能证明数据来源合法。"
        } else {
            "异议不成立：申请人已提供完整授权链。"
        };
        let at = step(0).max(ends) + Duration::days(3);
        ex!(Command::DecideObjection { objection_id: oid, outcome, reasons: reasons.into() }, examiner, at);
        return Ok(());
    }
    if matches!(target, Registered | Cancelled | Revoked | Expired) {
        let app = ex!(Command::EndNotice, &Actor::system(), ends);
        let after = ends + Duration::days(30);
        match target {
            Cancelled => {
                ex!(Command::Cancel { reason: "产品停止运营，申请注销登记。".into() }, filer, after);
            }
            Revoked => {
                ex!(Command::Revoke { reasons: "经查数据来源授权已被撤销，依法撤销登记。".into() }, examiner, after);
            }
            Expired => {
                let until = app.registration.expect("registered").valid_until;
                ex!(Command::Expire, &Actor::system(), until);
            }
            _ => {}
        }
    }
    Ok(())
}
