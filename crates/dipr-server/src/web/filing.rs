//! Web sign-up and filing: an applicant creates an account (and its party), then files and submits an
//! application in one form. Errors are shown next to their fields, translated, with what was typed kept.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Form, Router};
use dipr_domain::access::Role;
use dipr_domain::application::{
    ApplicationForm, Completeness, Contact, DataSource, FieldSpec, ObjectType, Secrecy, SourceKind, UpdateFrequency,
};
use dipr_domain::party::{NewParty, PartyKind};
use dipr_domain::FieldError;
use serde::Deserialize;

use crate::web::form::{input, select, textarea, Errors};
use crate::web::i18n::Lang;
use crate::web::layout::{esc, layout, LangQuery};
use crate::web::session::{form_token, form_token_matches, session, session_cookie, SIGNUP_CSRF_COOKIE};
use dipr_registry::accounts::NewAccount;
use dipr_registry::Registry;

pub fn routes() -> Router<Arc<Registry>> {
    Router::new().route("/signup", get(signup_form).post(signup)).route("/me/file", get(file_form).post(file))
}

// ---------------------------------------------------------------------------------------------------
// Sign-up

#[derive(Deserialize, Default)]
pub struct SignupForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    party_kind: String,
    #[serde(default)]
    party_name: String,
    #[serde(default)]
    id_number: String,
}

fn party_kind(s: &str) -> PartyKind {
    match s {
        "natural_person" => PartyKind::NaturalPerson,
        "unincorporated_organisation" => PartyKind::UnincorporatedOrganisation,
        _ => PartyKind::LegalPerson,
    }
}

fn party_kinds(l: Lang) -> [(&'static str, String); 3] {
    [
        (
            "legal_person",
            l.tt("法人（企业、高校、科研院所）", "Legal person (enterprise, university, institute)").to_string(),
        ),
        ("unincorporated_organisation", l.tt("非法人组织", "Unincorporated organisation").to_string()),
        ("natural_person", l.tt("自然人", "Natural person").to_string()),
    ]
}

fn signup_page(st: &Registry, l: Lang, f: &SignupForm, errors: &Errors, top: Option<String>) -> Response {
    let (token, cookie) = form_token(st, SIGNUP_CSRF_COOKIE, "/signup");
    let kinds = party_kinds(l);
    let top = top
        .map(|t| format!("<p class=\"result bad\" role=\"alert\" id=\"form-error\">{}</p>", esc(&t)))
        .unwrap_or_default();
    let body = format!(
        "<h1>{h1}</h1>{top}<form method=\"post\" action=\"/signup\" class=\"stack\" data-width=\"narrow\" novalidate>\
         <input type=\"hidden\" name=\"csrf\" value=\"{token}\">{a}{b}{c}{d}{e}{g}<button>{go}</button></form>",
        h1 = l.tt("注册申请人账号", "Create an applicant account"),
        a = input("username", l.tt("用户名", "Username"), &f.username, errors, "text"),
        b = input(
            "password",
            l.tt("密码（至少 10 个字符）", "Password (at least 10 characters)"),
            "",
            errors,
            "password"
        ),
        c = input("display_name", l.tt("联系人姓名", "Your name"), &f.display_name, errors, "text"),
        d = select("party_kind", l.tt("申请人类型", "Applicant kind"), &f.party_kind, &kinds, errors),
        e = input("party_name", l.tt("申请人名称", "Applicant's name"), &f.party_name, errors, "text"),
        g = input(
            "id_number",
            l.tt("统一社会信用代码 / 身份证号码", "Credit code / resident ID number"),
            &f.id_number,
            errors,
            "text"
        ),
        go = l.tt("注册", "Create the account"),
    );
    let resp = layout(l, l.tt("注册", "Sign up"), "/signin", &body, &[]);
    crate::web::session::with_cookie(resp, &cookie)
}

async fn signup_form(State(st): State<Arc<Registry>>, Query(q): Query<LangQuery>, headers: HeaderMap) -> Response {
    let l = Lang::of(q.lang(), &headers);
    signup_page(&st, l, &SignupForm::default(), &Errors::default(), None)
}

async fn signup(
    State(st): State<Arc<Registry>>,
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
    crate::guard::Peer(client): crate::guard::Peer,
    Form(f): Form<SignupForm>,
) -> Response {
    let l = Lang::of(q.lang(), &headers);
    if !form_token_matches(&headers, SIGNUP_CSRF_COOKIE, &f.csrf) {
        let expired = l.tt("表单已过期，请重新提交。", "The form expired; please submit it again.").to_string();
        return signup_page(&st, l, &f, &Errors::default(), Some(expired));
    }
    let party = NewParty {
        kind: party_kind(&f.party_kind),
        name: f.party_name.clone(),
        id_number: f.id_number.trim().to_uppercase(),
        address: String::new(),
        attributes: Default::default(),
    };
    let req = NewAccount {
        username: f.username.trim().to_string(),
        password: f.password.clone(),
        display_name: f.display_name.clone(),
        role: Role::Applicant,
        party: Some(party),
    };
    let created = dipr_registry::accounts::sign_up(&st, req, client).await;
    let result = match created {
        Ok(_) => dipr_registry::accounts::sign_in(&st, f.username.trim(), f.password.clone(), client)
            .await
            .map(|(secret, _, _)| secret),
        Err(e) => Err(e),
    };
    match result {
        Ok(secret) => {
            crate::web::session::with_cookie(Redirect::to("/me").into_response(), &session_cookie(&st, &secret))
        }
        Err(e) => {
            let map = |field: &str| -> String {
                match field {
                    "username" | "password" | "display_name" => field.to_string(),
                    "name" | "party.name" => "party_name".into(),
                    _ => "id_number".into(),
                }
            };
            let at = match e.code {
                "weak_password" => "password",
                "username_taken" => "username",
                "party_exists" | "party_mismatch" | "invalid_credit_code" | "invalid_resident_id" => "id_number",
                _ => "form",
            };
            let errors = Errors::of(&e, l, &map, at);
            let top = errors.0.iter().find(|(f, _)| f == "form").map(|(_, m)| m.clone());
            let mut r = signup_page(&st, l, &f, &errors, top);
            *r.status_mut() = crate::web::layout::status_of(&e);
            crate::web::layout::retry_after_on(&e, &mut r);
            r
        }
    }
}

// ---------------------------------------------------------------------------------------------------
// Filing

#[derive(Deserialize, Default)]
pub struct FileForm {
    #[serde(default)]
    pub(crate) csrf: String,
    /// `save` keeps a draft; anything else submits.
    #[serde(default)]
    pub(crate) intent: String,
    /// What the applicant changed, when answering a correction request.
    #[serde(default)]
    pub(crate) response: String,
    /// An agent names the applicant it files for.
    #[serde(default)]
    applicant_kind: String,
    #[serde(default)]
    applicant_name: String,
    #[serde(default)]
    applicant_id: String,
    #[serde(default)]
    product_name: String,
    #[serde(default)]
    object_type: String,
    #[serde(default)]
    industry: String,
    #[serde(default)]
    scenarios: String,
    #[serde(default)]
    summary: String,
    #[serde(default)]
    source_kind: String,
    #[serde(default)]
    source_description: String,
    #[serde(default)]
    legality_statement: String,
    #[serde(default)]
    no_infringement: Option<String>,
    #[serde(default)]
    processing: String,
    #[serde(default)]
    structure: String,
    #[serde(default)]
    format: String,
    #[serde(default)]
    update_frequency: String,
    #[serde(default)]
    secrecy_measures: String,
    #[serde(default)]
    samples: String,
    #[serde(default)]
    contact_name: String,
    #[serde(default)]
    contact_phone: String,
    #[serde(default)]
    contact_email: String,
}

fn lines(s: &str) -> Vec<String> {
    s.split(['\n', '，', ',', '、']).map(|x| x.trim().to_string()).filter(|x| !x.is_empty()).collect()
}

/// A snake_case choice from a select, as the enum it names.
fn choice<T: serde::de::DeserializeOwned>(s: &str) -> Option<T> {
    serde_json::from_value(serde_json::Value::String(s.to_string())).ok()
}

impl FileForm {
    /// The form's fields over `base`, so what the web form does not show (further sources, attachments,
    /// lineage, field descriptions) survives an edit.
    pub(crate) fn to_form(&self, base: ApplicationForm) -> ApplicationForm {
        let mut sources = base.sources;
        let first = DataSource {
            kind: choice(&self.source_kind).unwrap_or(SourceKind::SelfCollected),
            description: self.source_description.trim().into(),
            ..sources.first().cloned().unwrap_or(DataSource {
                kind: SourceKind::SelfCollected,
                description: String::new(),
                counterparty: None,
                contract_ref: None,
                licence_end: None,
            })
        };
        if sources.is_empty() {
            sources.push(first);
        } else {
            sources[0] = first;
        }
        let described: std::collections::HashMap<String, String> =
            base.structure.into_iter().map(|f| (f.name, f.description)).collect();
        ApplicationForm {
            product_name: self.product_name.trim().into(),
            object_type: ObjectType::parse(&self.object_type),
            industry: self.industry.trim().into(),
            scenarios: lines(&self.scenarios),
            summary: self.summary.trim().into(),
            sources,
            legality_statement: self.legality_statement.trim().into(),
            no_infringement_commitment: self.no_infringement.is_some(),
            processing: self.processing.trim().into(),
            structure: self
                .structure
                .lines()
                .map(str::trim)
                .filter(|x| !x.is_empty())
                .map(|x| {
                    let (name, ty) = x.split_once([':', '：']).unwrap_or((x, ""));
                    let name = name.trim().to_string();
                    let description = described.get(&name).cloned().unwrap_or_default();
                    FieldSpec { name, field_type: ty.trim().into(), description }
                })
                .collect(),
            format: self.format.trim().into(),
            update_frequency: choice::<UpdateFrequency>(&self.update_frequency),
            secrecy: Secrecy { non_public: true, measures: self.secrecy_measures.trim().into() },
            samples: self.samples.lines().map(str::trim).filter(|x| !x.is_empty()).map(String::from).collect(),
            contact: Contact {
                name: self.contact_name.trim().into(),
                phone: self.contact_phone.trim().into(),
                email: self.contact_email.trim().into(),
            },
            ..base
        }
    }

    /// The web form showing a stored application form.
    pub(crate) fn of(f: &ApplicationForm) -> Self {
        let name = |v: serde_json::Result<serde_json::Value>| v.ok().and_then(|v| v.as_str().map(String::from));
        let source = f.sources.first();
        Self {
            product_name: f.product_name.clone(),
            object_type: f.object_type.map(|t| t.as_str().to_string()).unwrap_or_default(),
            industry: f.industry.clone(),
            scenarios: f.scenarios.join(", "),
            summary: f.summary.clone(),
            source_kind: source.and_then(|s| name(serde_json::to_value(s.kind))).unwrap_or_default(),
            source_description: source.map(|s| s.description.clone()).unwrap_or_default(),
            legality_statement: f.legality_statement.clone(),
            no_infringement: f.no_infringement_commitment.then(|| "on".to_string()),
            processing: f.processing.clone(),
            structure: f
                .structure
                .iter()
                .map(|x| if x.field_type.is_empty() { x.name.clone() } else { format!("{}:{}", x.name, x.field_type) })
                .collect::<Vec<_>>()
                .join("\n"),
            format: f.format.clone(),
            update_frequency: f.update_frequency.and_then(|u| name(serde_json::to_value(u))).unwrap_or_default(),
            secrecy_measures: f.secrecy.measures.clone(),
            samples: f.samples.join("\n"),
            contact_name: f.contact.name.clone(),
            contact_phone: f.contact.phone.clone(),
            contact_email: f.contact.email.clone(),
            ..Default::default()
        }
    }

    pub(crate) fn saves_draft(&self) -> bool {
        self.intent == "save"
    }

    /// The party an agent files for.
    fn applicant(&self) -> NewParty {
        NewParty {
            kind: party_kind(&self.applicant_kind),
            name: self.applicant_name.trim().to_string(),
            id_number: self.applicant_id.trim().to_uppercase(),
            address: String::new(),
            attributes: Default::default(),
        }
    }
}

pub(crate) fn field_of(path: &str) -> &'static str {
    let head = path.split(['[', '.']).next().unwrap_or(path);
    match (head, path) {
        (_, "secrecy.measures") => "secrecy_measures",
        (_, "contact.name") => "contact_name",
        (_, "contact.phone") => "contact_phone",
        (_, "contact.email") => "contact_email",
        ("sources", _) => "source_description",
        ("no_infringement_commitment", _) => "no_infringement",
        ("product_name", _) => "product_name",
        ("object_type", _) => "object_type",
        ("industry", _) => "industry",
        ("scenarios", _) => "scenarios",
        ("summary", _) => "summary",
        ("legality_statement", _) => "legality_statement",
        ("processing", _) => "processing",
        ("structure", _) => "structure",
        ("format", _) => "format",
        ("update_frequency", _) => "update_frequency",
        ("samples", _) => "samples",
        ("applicant" | "name", _) => "applicant_name",
        ("id_number", _) => "applicant_id",
        _ => "form",
    }
}

/// The application form's fields (no `<form>` around them): shared by filing and editing.
pub(crate) async fn form_fields(st: &Registry, l: Lang, f: &FileForm, errors: &Errors) -> String {
    let industries = st.store.industries().await.unwrap_or_default();
    let mut ind: Vec<(&str, String)> = vec![("", l.tt("请选择", "Choose").to_string())];
    for i in industries.iter().filter(|i| i.active) {
        ind.push((i.code.as_str(), if l.en { i.name_en.clone() } else { i.name_zh.clone() }));
    }
    let types = [
        ("", l.tt("请选择", "Choose").to_string()),
        ("data_collection", l.tt("数据加工集合", "Data collection").to_string()),
        ("data_product", l.tt("数据加工产品", "Data product").to_string()),
        ("data_algorithm", l.tt("数据技术算法", "Data algorithm").to_string()),
    ];
    let sources = [
        ("self_collected", l.tt("自行采集", "Self-collected").to_string()),
        ("licensed", l.tt("授权或购买", "Licensed or purchased").to_string()),
        ("public_data", l.tt("授权使用的公共数据", "Authorised public data").to_string()),
    ];
    let freq = [
        ("", l.tt("请选择", "Choose").to_string()),
        ("one_off", l.tt("一次性", "One-off").to_string()),
        ("real_time", l.tt("实时", "Real time").to_string()),
        ("daily", l.tt("每日", "Daily").to_string()),
        ("weekly", l.tt("每周", "Weekly").to_string()),
        ("monthly", l.tt("每月", "Monthly").to_string()),
        ("quarterly", l.tt("每季度", "Quarterly").to_string()),
        ("yearly", l.tt("每年", "Yearly").to_string()),
        ("irregular", l.tt("不定期", "Irregular").to_string()),
    ];
    let checked = if f.no_infringement.is_some() { " checked" } else { "" };
    format!(
        "{a}{b}{c}{d}{e}{s1}{s2}{g}\
         <label><input type=\"checkbox\" id=\"no_infringement\" name=\"no_infringement\"{checked} aria-describedby=\"err-no_infringement\"> {commit}</label>{commit_e}\
         {h}{i}{j}{k}{m}{n}{o}{p}{q}",
        a = input("product_name", l.tt("产品名称", "Product name"), &f.product_name, errors, "text"),
        b = select("object_type", l.tt("登记对象", "Object type"), &f.object_type, &types, errors),
        c = select("industry", l.tt("行业领域", "Industry"), &f.industry, &ind, errors),
        d = input("scenarios", l.tt("应用场景（逗号分隔）", "Application scenarios (comma-separated)"), &f.scenarios, errors, "text"),
        e = textarea("summary", l.tt("简介（公开）", "Summary (public)"), &f.summary, errors),
        s1 = select("source_kind", l.tt("数据来源", "Data source"), &f.source_kind, &sources, errors),
        s2 = textarea("source_description", l.tt("来源说明", "How the data was obtained"), &f.source_description, errors),
        g = textarea("legality_statement", l.tt("合法性说明", "Legality statement"), &f.legality_statement, errors),
        commit = l.tt("承诺不侵犯个人信息及第三方知识产权", "I commit that no personal information or third-party IP is infringed"),
        commit_e = errors.html_at("no_infringement"),
        h = textarea("processing", l.tt("加工规则 / 算法说明", "Processing rules / algorithm"), &f.processing, errors),
        i = textarea("structure", l.tt("数据结构（每行一个字段：名称:类型）", "Structure (one field per line: name:type)"), &f.structure, errors),
        j = input("format", l.tt("数据格式", "Format"), &f.format, errors, "text"),
        k = select("update_frequency", l.tt("更新频率", "Update frequency"), &f.update_frequency, &freq, errors),
        m = textarea("secrecy_measures", l.tt("保密措施", "Secrecy measures"), &f.secrecy_measures, errors),
        n = textarea("samples", l.tt("脱敏样例（每行一条）", "Desensitised samples (one per line)"), &f.samples, errors),
        o = input("contact_name", l.tt("联系人", "Contact"), &f.contact_name, errors, "text"),
        p = input("contact_phone", l.tt("电话", "Phone"), &f.contact_phone, errors, "text"),
        q = input("contact_email", l.tt("电子邮箱", "Email"), &f.contact_email, errors, "email"),
    )
}

async fn file_page(st: &Registry, l: Lang, agent: bool, f: &FileForm, errors: &Errors, csrf: &str) -> Response {
    let applicant = if agent {
        format!(
            "<fieldset><legend>{}</legend>{}{}{}</fieldset>",
            l.tt("委托人（申请人）", "The applicant you file for"),
            select("applicant_kind", l.tt("申请人类型", "Applicant kind"), &f.applicant_kind, &party_kinds(l), errors),
            input("applicant_name", l.tt("申请人名称", "Applicant's name"), &f.applicant_name, errors, "text"),
            input(
                "applicant_id",
                l.tt("统一社会信用代码 / 身份证号码", "Credit code / resident ID number"),
                &f.applicant_id,
                errors,
                "text"
            ),
        )
    } else {
        String::new()
    };
    let body = format!(
        "<h1>{h1}</h1><p>{lead}</p>{top}<form method=\"post\" action=\"/me/file\" class=\"stack\" novalidate>\
         <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">{applicant}{fields}\
         <div class=\"actions\"><button name=\"intent\" value=\"submit\">{go}</button>\
         <button name=\"intent\" value=\"save\" class=\"secondary\" id=\"save-draft\">{save}</button></div></form>",
        h1 = l.tt("提交登记申请", "File an application"),
        lead = l.tt(
            "数据本身不上传：只填写说明、脱敏样例。保存草稿后可上传 dipr fingerprint 生成的数据指纹清单。",
            "The data itself is never uploaded: describe it and give desensitised samples. Save a draft to add the fingerprint manifest made with dipr fingerprint."
        ),
        top = errors.html_at("form"),
        fields = form_fields(st, l, f, errors).await,
        go = l.tt("提交申请", "Submit the application"),
        save = l.tt("保存草稿", "Save as draft"),
    );
    layout(l, l.tt("提交申请", "File"), "/me", &body, &[])
}

async fn file_form(State(st): State<Arc<Registry>>, Query(q): Query<LangQuery>, headers: HeaderMap) -> Response {
    let l = Lang::of(q.lang(), &headers);
    let Some((user, secret)) = session(&st, &headers).await else {
        return Redirect::to("/signin").into_response();
    };
    let agent = user.role == Role::Agent;
    file_page(&st, l, agent, &FileForm::default(), &Errors::default(), &crate::web::session::csrf_of(&secret)).await
}

async fn file(
    State(st): State<Arc<Registry>>,
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
    Form(f): Form<FileForm>,
) -> Response {
    let l = Lang::of(q.lang(), &headers);
    let (user, secret) = match crate::web::session::signed_in_post(&st, &headers, &f.csrf, l).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let csrf = crate::web::session::csrf_of(&secret);
    let form = f.to_form(ApplicationForm::default());
    let agent = user.role == Role::Agent;
    let applicant = agent.then(|| f.applicant());
    // Check everything first — the applicant an agent names and, unless only saving, everything a
    // submission needs — so every problem shows at once and a refused form leaves no half-made draft.
    let result = match precheck(&st, &form, applicant.as_ref(), !f.saves_draft()).await {
        Err(e) => Err(e),
        Ok(()) if f.saves_draft() => dipr_registry::filings::create_application(&st, &user, applicant, form).await,
        Ok(()) => dipr_registry::filings::create_and_submit(&st, &user, applicant, form).await,
    };
    match result {
        Ok(app) if f.saves_draft() => Redirect::to(&format!("/me/filings/{}", app.id)).into_response(),
        Ok(_) => Redirect::to("/me").into_response(),
        Err(e) => {
            let at = if e.code == "party_mismatch" { "applicant_id" } else { "form" };
            let errors = Errors::of(&e, l, &|p| field_of(p).to_string(), at);
            let mut r = file_page(&st, l, agent, &f, &errors, &csrf).await;
            *r.status_mut() = crate::web::layout::status_of(&e);
            r
        }
    }
}

/// The agent's applicant (if any) and, for a submission, the whole form: every field problem at once.
async fn precheck(
    st: &Registry,
    form: &ApplicationForm,
    applicant: Option<&NewParty>,
    submission: bool,
) -> dipr_registry::Result<()> {
    let mut details = Vec::new();
    if let Some(np) = applicant {
        match np.clone().parse(uuid::Uuid::nil()) {
            Ok(_) => {}
            Err(dipr_domain::DomainError::Validation(d)) => details.extend(d),
            Err(e) => details.push(FieldError::new("id_number", e.code(), e.to_string())),
        }
    }
    if submission {
        if let Err(e) = check_submission(st, form).await {
            if e.details.is_empty() {
                return Err(e);
            }
            details.extend(e.details);
        }
    }
    if details.is_empty() {
        Ok(())
    } else {
        Err(dipr_registry::Error::validation(details))
    }
}

/// Everything a submission needs, checked before anything is stored.
pub(crate) async fn check_submission(st: &Registry, form: &ApplicationForm) -> dipr_registry::Result<()> {
    let known: std::collections::HashSet<String> =
        st.store.industries().await?.into_iter().filter(|i| i.active).map(|i| i.code).collect();
    Ok(form.check(Completeness::Submission, &|c| known.contains(c))?)
}
