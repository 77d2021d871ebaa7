//! The public record page, `/records/{id}`: what a certificate's QR code opens. Server-rendered, no
//! scripts, in the site's layout and language (see [`crate::web`]). Also the status box of a registration
//! ([`StandingBox`]), which `/check` shows too.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use dipr_domain::application::State as AppStateKind;
use dipr_domain::shown;
use serde::Deserialize;
use uuid::Uuid;

use crate::web::form::Errors;
use crate::web::i18n::Lang;
use crate::web::layout::{error_page, event_label, field_message, filters, object_type_label, page, state_label};
use crate::web::session::{form_token, form_token_matches, OBJECTION_CSRF_COOKIE};
use dipr_registry::standing::Standing;
use dipr_registry::Registry;

#[derive(Deserialize)]
pub struct RecordQuery {
    lang: Option<String>,
    /// Set after a successful objection (post/redirect/get).
    objected: Option<String>,
}

/// `GET /records/{id}`.
pub async fn record(
    State(st): State<Arc<Registry>>,
    Path(id): Path<String>,
    Query(q): Query<RecordQuery>,
    headers: HeaderMap,
) -> Response {
    let l = Lang::of(q.lang.as_deref(), &headers);
    let form = ObjectionFormState { filed: q.objected.is_some(), ..Default::default() };
    render(&st, &id, l, form).await
}

/// What the objection form shows: the values typed, their errors, a refusal, or a filed objection.
#[derive(Default)]
pub struct ObjectionFormState {
    values: ObjectionForm,
    errors: Errors,
    refusal: Option<String>,
    filed: bool,
}

#[derive(Deserialize, Default)]
pub struct ObjectionForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    objector_name: String,
    #[serde(default)]
    objector_contact: String,
    #[serde(default)]
    grounds: String,
}

/// `POST /records/{id}/objections`: the public objection form (anyone; no sign-in).
pub async fn object(
    State(st): State<Arc<Registry>>,
    Path(id): Path<String>,
    Query(q): Query<RecordQuery>,
    headers: HeaderMap,
    crate::peer::Peer(client): crate::peer::Peer,
    axum::Form(form): axum::Form<ObjectionForm>,
) -> Response {
    use dipr_domain::access::Actor;
    use dipr_domain::application::{check_objection_text, NewObjection};
    use dipr_domain::lifecycle::Command;
    let l = Lang::of(q.lang.as_deref(), &headers);
    // Double-submit token: the form must carry the value of the SameSite=Strict cookie set with it.
    if !form_token_matches(&headers, OBJECTION_CSRF_COOKIE, &form.csrf) {
        let refusal = l.t("record-objection-expired");
        return render(&st, &id, l, ObjectionFormState { values: form, refusal: Some(refusal), ..Default::default() })
            .await;
    }
    let Ok(uuid) = Uuid::parse_str(&id) else { return render(&st, &id, l, ObjectionFormState::default()).await };
    let objection = NewObjection {
        objector_name: form.objector_name.clone(),
        objector_contact: form.objector_contact.clone(),
        grounds: form.grounds.clone(),
        evidence: Vec::new(),
    };
    let actor = Actor::public(form.objector_name.trim());
    let problems = check_objection_text(&objection.objector_name, &objection.objector_contact, &objection.grounds, &[]);
    let filed = match dipr_registry::filings::admit_objection(&st, problems, client, uuid, true) {
        Ok(()) => {
            dipr_registry::filings::execute(&st, uuid, Command::FileObjection { objection, id: Uuid::now_v7() }, &actor)
                .await
        }
        Err(e) => Err(e),
    };
    match filed {
        Ok(_) => {
            let lang = if l.en { "&lang=en" } else { "" };
            axum::response::Redirect::to(&format!("/records/{uuid}?objected=1{lang}")).into_response()
        }
        Err(e) => {
            // Each field error next to its field, translated by its code.
            let errors = Errors(e.details.iter().map(|d| (d.field.clone(), field_message(&d.code, l))).collect());
            let mut state = ObjectionFormState { values: form, errors, ..Default::default() };
            if state.errors.is_empty() {
                state.refusal = Some(match e.code {
                    "notice_period_over" => l.t("record-notice-over"),
                    "illegal_transition" => l.t("record-not-on-notice"),
                    _ => crate::web::messages::refusal(&e, l),
                });
            }
            let mut r = render(&st, &id, l, state).await;
            *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            crate::web::layout::retry_after_on(&e, &mut r);
            r
        }
    }
}

/// The objection form of a record on notice: what it shows, and the double-submit token its post returns.
struct ObjectionView {
    action: String,
    csrf: String,
    state: ObjectionFormState,
}

struct RegistrationView {
    number: String,
    certificate: String,
    valid: String,
}

struct HistoryRow {
    at: String,
    event: String,
    /// The entry's public facts and reasons, briefly (empty when it has none).
    notes: String,
    log_index: Option<u64>,
}

#[derive(Template)]
#[template(path = "record/record.html")]
struct RecordPage {
    l: Lang,
    id: Uuid,
    product: String,
    state: String,
    flags: Vec<String>,
    standing: Option<StandingBox>,
    holder_name: String,
    holder_id: String,
    object_type: String,
    industry: String,
    scenarios: String,
    summary: String,
    /// The notice period, with a note when its end lies past the holiday calendar.
    notice_period: Option<String>,
    registration: Option<RegistrationView>,
    holdings: Option<Holdings>,
    objection: Option<ObjectionView>,
    time_heading: String,
    history: Vec<HistoryRow>,
}

async fn render(st: &Registry, id: &str, l: Lang, form: ObjectionFormState) -> Response {
    let Ok(id) = Uuid::parse_str(id) else { return error_page(l, StatusCode::NOT_FOUND, &l.t("record-not-found")) };
    let detail = match dipr_registry::records::public_detail(st, id).await {
        Ok(d) => d,
        Err(e) if e.code == "not_found" => return error_page(l, StatusCode::NOT_FOUND, &l.t("record-not-found")),
        Err(e) => return error_page(l, StatusCode::INTERNAL_SERVER_ERROR, &e.message),
    };
    let industries = match st.store.industries().await {
        Ok(i) => i,
        Err(e) => return error_page(l, StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    };
    let r = &detail.record;
    // An industry missing from the list is shown by its code.
    let industry = industries
        .into_iter()
        .find(|i| i.code == r.industry)
        .map_or_else(|| r.industry.clone(), |i| if l.en { i.name_en } else { i.name_zh });
    let now = st.clock.now();
    let flags = [
        (r.pledged, l.t("record-pledged")),
        (r.licensed, l.t("record-licensed")),
        (r.disputed, l.t("record-disputed")),
    ]
    .into_iter()
    .filter(|(on, _)| *on)
    .map(|(_, flag)| flag)
    .collect();
    let notice_period = match (r.notice_started_at, r.notice_ends_at) {
        (Some(s), Some(e)) => {
            let note = crate::web::layout::beyond_calendar_note(&st.calendar(), e, l);
            Some(format!("{}{note}", shown::period_zoned(s, e, l.en)))
        }
        _ => None,
    };
    let registration = r.registration.as_ref().map(|reg| RegistrationView {
        number: reg.registration_number.as_str().to_string(),
        certificate: reg.certificate_number.as_str().to_string(),
        valid: shown::period_zoned(reg.valid_from, reg.valid_until, l.en),
    });
    let mut csrf_cookie = None;
    let notice_open = r.notice_ends_at.is_some_and(|end| st.clock.now() < end);
    let objection = if matches!(r.state, AppStateKind::PublicNotice | AppStateKind::ObjectionPending) && notice_open {
        let (token, cookie) = form_token(st, OBJECTION_CSRF_COOKIE, "/records");
        csrf_cookie = Some(cookie);
        Some(ObjectionView { action: format!("/records/{id}/objections"), csrf: token, state: form })
    } else {
        None
    };
    let view = RecordPage {
        l,
        id,
        product: r.product_name.clone(),
        state: state_label(r.state, l),
        flags,
        standing: Standing::of(&detail, now).map(|s| standing_box(&s, &detail, l, now, "record-status")),
        holder_name: r.holder.name.clone(),
        holder_id: r.holder.id_number.clone(),
        object_type: object_type_label(r.object_type.map(|o| o.as_str()).unwrap_or(""), l),
        industry,
        scenarios: r.scenarios.join("、"),
        summary: r.summary.clone(),
        notice_period,
        registration,
        holdings: holdings(&detail, l),
        objection,
        time_heading: shown::zoned(&l.t("record-time"), l.en),
        history: detail
            .history
            .iter()
            .map(|e| HistoryRow {
                at: shown::minute(e.at),
                event: event_label(&e.kind, l),
                notes: history_notes(e, l),
                log_index: e.log_index,
            })
            .collect(),
    };
    let mut resp = page(l, &r.product_name, "", &view, &[]);
    if let Some(c) = csrf_cookie.and_then(|c| axum::http::HeaderValue::from_str(&c).ok()) {
        resp.headers_mut().append(axum::http::header::SET_COOKIE, c);
    }
    resp
}

struct PledgeRow {
    rank: String,
    pledgee: String,
    debtor: String,
    secured: String,
    start: String,
    end: String,
    status: String,
}

struct LicenceRow {
    licensee: String,
    kind: String,
    start: String,
    end: String,
    territories: String,
    scopes: String,
    fee: Option<String>,
    status: String,
}

struct VersionRow {
    number: u32,
    date: String,
    reason: String,
    root: String,
}

struct LineageRow {
    relation: String,
    /// Product name and registration number.
    label: String,
    /// The linked record's page, when it is published here.
    href: Option<String>,
    holder: String,
}

struct ValueRow {
    kind: String,
    transactions: i64,
    amount: String,
}

/// Encumbrances, licences, versions, lineage and value of a registered product.
struct Holdings {
    pledges: Vec<PledgeRow>,
    licences: Vec<LicenceRow>,
    attested_heading: String,
    versions: Vec<VersionRow>,
    lineage: Vec<LineageRow>,
    value: Vec<ValueRow>,
}

fn enum_str<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_value(v).ok().and_then(|v| v.as_str().map(String::from)).unwrap_or_default()
}

/// The holdings of a registered product; `None` before registration.
fn holdings(d: &dipr_registry::records::PublicRecordDetail, l: Lang) -> Option<Holdings> {
    let r = &d.record;
    r.registration.as_ref()?;
    let pledges = r
        .pledges
        .iter()
        .map(|p| PledgeRow {
            rank: p.rank.map(|x| x.to_string()).unwrap_or_else(|| "—".into()),
            pledgee: p.pledgee.name.clone(),
            debtor: p.debtor.name.clone(),
            secured: p.secured.to_string(),
            start: p.term.start.to_string(),
            end: p.term.end.to_string(),
            status: crate::web::layout::pledge_status_label(p.status, l),
        })
        .collect();
    let anywhere = |v: &[String]| if v.is_empty() { l.t("record-anywhere") } else { v.join("、") };
    let licences = r
        .licences
        .iter()
        .map(|x| LicenceRow {
            licensee: x.licensee.name.clone(),
            kind: crate::web::layout::licence_kind_label(x.kind, l),
            start: x.term.start.to_string(),
            end: x.term.end.to_string(),
            territories: anywhere(&x.reach.territories),
            scopes: anywhere(&x.reach.scopes),
            fee: x.fee.map(|f| f.to_string()),
            status: if x.is_active() { l.t("record-licence-active") } else { l.t("record-licence-ended") },
        })
        .collect();
    let versions = r
        .versions
        .iter()
        .map(|v| VersionRow {
            number: v.number,
            date: shown::date(v.attested_at),
            reason: enum_str(&v.reason),
            root: v.commitment.as_ref().map(|c| c.root.clone()).unwrap_or_default(),
        })
        .collect();
    let lang = if l.en { "?lang=en" } else { "" };
    let link = |relation: String, x: &dipr_registry::records::LineageLink| LineageRow {
        relation,
        label: format!(
            "{} {}",
            x.product_name.as_deref().unwrap_or(""),
            x.registration_number.as_deref().unwrap_or("")
        ),
        href: x.id.map(|id| format!("/records/{id}{lang}")),
        // The holder of a product not published here is not known.
        holder: if x.id.is_some() { x.holder.clone().unwrap_or_default() } else { String::new() },
    };
    let lineage = d
        .lineage
        .upstream
        .iter()
        .map(|x| link(l.t("record-made-from"), x))
        .chain(d.lineage.downstream.iter().map(|x| link(l.t("record-used-in"), x)))
        .collect();
    let value = d
        .economic_value
        .iter()
        .map(|v| ValueRow {
            kind: match v.kind.as_str() {
                "licence_fee" => l.t("record-value-licence-fee"),
                "trade" => l.t("record-value-trade"),
                _ => l.t("record-value-service-fee"),
            },
            transactions: v.transactions,
            amount: format!("¥{}", dipr_domain::shown::yuan(v.amount_fen)),
        })
        .collect();
    Some(Holdings {
        pledges,
        licences,
        attested_heading: shown::zoned(&l.t("record-attested"), l.en),
        versions,
        lineage,
        value,
    })
}

/// The public facts and reasons of a history entry, briefly.
fn history_notes(e: &dipr_registry::records::PublicEvent, l: Lang) -> String {
    let f = &e.facts;
    let mut parts = Vec::new();
    let name = |k: &str| f[k]["name"].as_str();
    if let Some(n) = name("to") {
        parts.push(l.t1("record-note-to", "name", n));
    }
    if let Some(n) = name("licensee") {
        parts.push(l.t1("record-note-licensee", "name", n));
    }
    if let Some(n) = name("pledgee") {
        parts.push(match f["rank"].as_u64() {
            Some(rank) => l.t2("record-note-pledgee-ranked", ("name", n), ("rank", rank.to_string())),
            None => l.t1("record-note-pledgee", "name", n),
        });
    }
    if let Some(v) = f["version"].as_u64() {
        parts.push(l.t1("record-note-version", "version", v.to_string()));
    }
    if !e.reasons.is_empty() {
        parts.push(e.reasons.clone());
    }
    parts.join(" · ")
}

/// Where a registration stands now, as a status box (`record/standing.html`): red with the date and the
/// decision when it ended, green with its encumbrances while it is in force. The record page and `/check`
/// show it; `id` names the element (`record-status`, `check-status`).
pub(crate) struct StandingBox {
    pub(crate) id: &'static str,
    pub(crate) ended: Option<EndedBox>,
    /// The record's state, while in force.
    pub(crate) state: String,
    pub(crate) burdens: String,
    pub(crate) as_of: String,
    pub(crate) link: String,
}

pub(crate) struct EndedBox {
    pub(crate) state: String,
    /// "Revoked on" and the like.
    pub(crate) what: String,
    pub(crate) date: String,
    pub(crate) reasons: String,
    pub(crate) log_index: Option<u64>,
}

pub(crate) fn standing_box(
    s: &Standing,
    d: &dipr_registry::records::PublicRecordDetail,
    l: Lang,
    now: DateTime<Utc>,
    id: &'static str,
) -> StandingBox {
    let ended = s.ended.as_ref().map(|e| EndedBox {
        state: state_label(e.state, l),
        what: match e.state {
            AppStateKind::Revoked => l.t("standing-revoked-on"),
            AppStateKind::Cancelled => l.t("standing-cancelled-on"),
            _ => l.t("standing-expired-on"),
        },
        date: shown::date_zoned(e.at, l.en),
        reasons: e.reasons.clone(),
        log_index: e.log_index,
    });
    let mut burdens = Vec::new();
    if s.active_pledges > 0 {
        burdens.push(l.t1("standing-active-pledges", "n", s.active_pledges));
    }
    if s.exclusive_licences > 0 {
        burdens.push(l.t1("standing-exclusive-licences", "n", s.exclusive_licences));
    }
    if s.disputed {
        burdens.push(l.t("standing-disputed"));
    }
    let burdens = if burdens.is_empty() { l.t("standing-none") } else { burdens.join(&l.t("standing-separator")) };
    StandingBox {
        id,
        ended,
        state: state_label(d.record.state, l),
        burdens,
        as_of: shown::minute_zoned(now, l.en),
        link: format!("/records/{}{}", d.record.id, if l.en { "?lang=en" } else { "" }),
    }
}
