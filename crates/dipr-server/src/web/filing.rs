//! Web sign-up and filing: an applicant creates an account (and its party), then files and submits an
//! application in one form. Errors are shown next to their fields, translated, with what was typed kept.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
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

use crate::web::form::Errors;
use crate::web::i18n::Lang;
use crate::web::layout::{error_page, filters, object_type_label, page, Html, LangQuery};
use crate::web::session::{
    csrf_of, form_token, form_token_matches, posted, session_cookie, signed_in, SignedIn, SIGNUP_CSRF_COOKIE,
};
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
    email: String,
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

/// A select's choices: (value, label) pairs, for `macros.html`'s `select`.
pub(crate) type Choices = Vec<(String, String)>;

pub(crate) fn choices<const N: usize>(pairs: [(&str, String); N]) -> Choices {
    pairs.into_iter().map(|(v, label)| (v.to_string(), label)).collect()
}

fn party_kinds(l: Lang) -> Choices {
    choices([
        ("legal_person", l.t("filing-party-legal-person")),
        ("unincorporated_organisation", l.t("filing-party-unincorporated")),
        ("natural_person", l.t("filing-party-natural-person")),
    ])
}

#[derive(Template)]
#[template(path = "filing/signup.html")]
struct Signup<'a> {
    l: Lang,
    token: String,
    f: &'a SignupForm,
    errs: &'a Errors,
    kinds: Choices,
    top: Option<String>,
}

fn signup_page(st: &Registry, l: Lang, f: &SignupForm, errs: &Errors, top: Option<String>) -> Response {
    let (token, cookie) = form_token(st, SIGNUP_CSRF_COOKIE, "/signup");
    let view = Signup { l, token, f, errs, kinds: party_kinds(l), top };
    let resp = page(l, &l.t("signup-title"), "/signin", &view, &[]);
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
    crate::peer::Peer(client): crate::peer::Peer,
    Form(f): Form<SignupForm>,
) -> Response {
    let l = Lang::of(q.lang(), &headers);
    if !form_token_matches(&headers, SIGNUP_CSRF_COOKIE, &f.csrf) {
        return signup_page(&st, l, &f, &Errors::default(), Some(l.t("signup-expired")));
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
        email: Some(f.email.clone()),
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
                    "username" | "password" | "display_name" | "email" => field.to_string(),
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
    /// Licensor or authorising body (licensed and public data).
    #[serde(default)]
    source_counterparty: String,
    #[serde(default)]
    source_contract_ref: String,
    /// `YYYY-MM-DD`: the licence's last day, which caps the certificate's validity.
    #[serde(default)]
    source_licence_end: String,
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

posted!(FileForm);

fn lines(s: &str) -> Vec<String> {
    s.split(['\n', '，', ',', '、']).map(|x| x.trim().to_string()).filter(|x| !x.is_empty()).collect()
}

/// A snake_case choice from a select, as the enum it names.
fn choice<T: serde::de::DeserializeOwned>(s: &str) -> Option<T> {
    serde_json::from_value(serde_json::Value::String(s.to_string())).ok()
}

impl FileForm {
    /// The form's fields over `base`, so what the web form does not show (further sources, attachments,
    /// lineage, field descriptions) survives an edit. Refused only for a licence end that is not a date.
    pub(crate) fn to_form(&self, base: ApplicationForm) -> dipr_registry::Result<ApplicationForm> {
        let optional = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
        let licence_end = match optional(&self.source_licence_end) {
            None => None,
            Some(d) => Some(chrono::NaiveDate::parse_from_str(&d, "%Y-%m-%d").map_err(|_| {
                dipr_registry::Error::validation(vec![FieldError::new(
                    "sources[0].licence_end",
                    "invalid_date",
                    "write the date as YYYY-MM-DD",
                )])
            })?),
        };
        let mut sources = base.sources;
        let first = DataSource {
            kind: choice(&self.source_kind).unwrap_or(SourceKind::SelfCollected),
            description: self.source_description.trim().into(),
            counterparty: optional(&self.source_counterparty),
            contract_ref: optional(&self.source_contract_ref),
            licence_end,
        };
        if sources.is_empty() {
            sources.push(first);
        } else {
            sources[0] = first;
        }
        let described: std::collections::HashMap<String, String> =
            base.structure.into_iter().map(|f| (f.name, f.description)).collect();
        Ok(ApplicationForm {
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
        })
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
            source_counterparty: source.and_then(|s| s.counterparty.clone()).unwrap_or_default(),
            source_contract_ref: source.and_then(|s| s.contract_ref.clone()).unwrap_or_default(),
            source_licence_end: source.and_then(|s| s.licence_end).map(|d| d.to_string()).unwrap_or_default(),
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
        ("sources", p) if p.ends_with(".counterparty") => "source_counterparty",
        ("sources", p) if p.ends_with(".contract_ref") => "source_contract_ref",
        ("sources", p) if p.ends_with(".licence_end") => "source_licence_end",
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

#[derive(Template)]
#[template(path = "filing/fields.html")]
struct Fields<'a> {
    l: Lang,
    f: &'a FileForm,
    errs: &'a Errors,
    types: Choices,
    industries: Choices,
    sources: Choices,
    frequencies: Choices,
}

/// The application form's fields, rendered (no form around them): shared by filing and editing. The
/// response instead is the error page, when the industries cannot be read.
pub(crate) async fn form_fields(st: &Registry, l: Lang, f: &FileForm, errs: &Errors) -> Result<Html, Response> {
    let failed = |message: String| error_page(l, StatusCode::INTERNAL_SERVER_ERROR, &message);
    let known = st.store.industries().await.map_err(|e| failed(dipr_registry::Error::from(e).message))?;
    let mut industries = vec![(String::new(), l.t("filing-choose"))];
    industries
        .extend(known.into_iter().filter(|i| i.active).map(|i| (i.code, if l.en { i.name_en } else { i.name_zh })));
    let types = choices([
        ("", l.t("filing-choose")),
        ("data_collection", object_type_label("data_collection", l)),
        ("data_product", object_type_label("data_product", l)),
        ("data_algorithm", object_type_label("data_algorithm", l)),
    ]);
    let view = Fields {
        l,
        f,
        errs,
        types,
        industries,
        sources: choices([
            ("self_collected", l.t("filing-source-self-collected")),
            ("licensed", l.t("filing-source-licensed")),
            ("public_data", l.t("filing-source-public-data")),
        ]),
        frequencies: choices([
            ("", l.t("filing-choose")),
            ("one_off", l.t("filing-frequency-one-off")),
            ("real_time", l.t("filing-frequency-real-time")),
            ("daily", l.t("filing-frequency-daily")),
            ("weekly", l.t("filing-frequency-weekly")),
            ("monthly", l.t("filing-frequency-monthly")),
            ("quarterly", l.t("filing-frequency-quarterly")),
            ("yearly", l.t("filing-frequency-yearly")),
            ("irregular", l.t("filing-frequency-irregular")),
        ]),
    };
    Html::of(&view).map_err(|e| failed(e.to_string()))
}

#[derive(Template)]
#[template(path = "filing/file.html")]
struct File<'a> {
    l: Lang,
    csrf: &'a str,
    agent: bool,
    kinds: Choices,
    f: &'a FileForm,
    errs: &'a Errors,
    fields: Html,
}

async fn file_page(st: &Registry, l: Lang, agent: bool, f: &FileForm, errs: &Errors, csrf: &str) -> Response {
    let fields = match form_fields(st, l, f, errs).await {
        Ok(fields) => fields,
        Err(r) => return r,
    };
    let view = File { l, csrf, agent, kinds: party_kinds(l), f, errs, fields };
    page(l, &l.t("filing-title"), "/me", &view, &[])
}

async fn file_form(State(st): State<Arc<Registry>>, Query(q): Query<LangQuery>, headers: HeaderMap) -> Response {
    let l = Lang::of(q.lang(), &headers);
    let (user, secret) = match signed_in(&st, &headers, l).await {
        Ok(found) => found,
        Err(r) => return r,
    };
    let agent = user.role == Role::Agent;
    file_page(&st, l, agent, &FileForm::default(), &Errors::default(), &csrf_of(&secret)).await
}

async fn file(
    State(st): State<Arc<Registry>>,
    SignedIn { l, user, secret, form: f, .. }: SignedIn<FileForm>,
) -> Response {
    let csrf = csrf_of(&secret);
    let agent = user.role == Role::Agent;
    let applicant = agent.then(|| f.applicant());
    // Check everything first — the applicant an agent names and, unless only saving, everything a
    // submission needs — so every problem shows at once and a refused form leaves no half-made draft.
    let result = match f.to_form(ApplicationForm::default()) {
        Err(e) => Err(e),
        Ok(form) => match precheck(&st, &form, applicant.as_ref(), !f.saves_draft()).await {
            Err(e) => Err(e),
            Ok(()) if f.saves_draft() => dipr_registry::filings::create_application(&st, &user, applicant, form).await,
            Ok(()) => dipr_registry::filings::create_and_submit(&st, &user, applicant, form).await,
        },
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
