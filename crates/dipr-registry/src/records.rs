//! The public record as anyone may read it: the published filing, its public history (each event with its
//! place in the public log, in time order), its lineage and the value booked against it. A query with no
//! HTTP in it, read by the API, the record page, the certificate check and the standing of a registration.

use chrono::{DateTime, Utc};
use dipr_domain::public::PublicRecord;
use dipr_store::EventRecord;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::Error;
use crate::error::Result;
use crate::figures::Snapshot;
use crate::input::Fields;
use crate::state::Registry;
use dipr_domain::application::ObjectType;
use dipr_domain::FieldError;
use dipr_store::StatsFilter;
use serde::Deserialize;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use utoipa::IntoParams;

/// One line of a record's public history.
#[derive(Debug, Serialize, ToSchema)]
pub struct PublicEvent {
    pub id: i64,
    /// Position of the event in the public log.
    pub log_index: Option<u64>,
    pub at: DateTime<Utc>,
    pub kind: String,
    pub from_state: Option<String>,
    pub to_state: Option<String>,
    pub reasons: String,
    /// Public facts of an operation after registration (parties, terms, ranks, amounts).
    #[schema(value_type = Object)]
    pub facts: serde_json::Value,
}

/// A product at the other end of a derivation.
#[derive(Debug, Serialize, ToSchema)]
pub struct LineageLink {
    pub registration_number: Option<String>,
    /// The record, when it is published here.
    pub id: Option<Uuid>,
    pub product_name: Option<String>,
    pub holder: Option<String>,
    pub state: Option<String>,
    /// The licence that allows the derivation.
    pub licence_id: Option<Uuid>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Lineage {
    /// Products this one was made from.
    pub upstream: Vec<LineageLink>,
    /// Published products made from this one.
    pub downstream: Vec<LineageLink>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PublicRecordDetail {
    pub record: PublicRecord,
    pub lineage: Lineage,
    /// Transactions booked against the product, summed by kind.
    pub economic_value: Vec<dipr_store::ValueByKind>,
    pub history: Vec<PublicEvent>,
}

fn link_from_public(doc: &serde_json::Value, licence_id: Option<Uuid>) -> LineageLink {
    let text = |v: &serde_json::Value| v.as_str().map(String::from);
    LineageLink {
        registration_number: text(&doc["registration"]["registration_number"]),
        id: doc["id"].as_str().and_then(|s| Uuid::parse_str(s).ok()),
        product_name: text(&doc["product_name"]),
        holder: text(&doc["holder"]["name"]),
        state: text(&doc["state"]),
        licence_id,
    }
}

/// A published record and its public history, each event with its position in the public log.
pub async fn public_detail(st: &Registry, id: Uuid) -> Result<PublicRecordDetail> {
    let app = st.store.application(id).await?;
    let record = app.as_ref().and_then(PublicRecord::of).ok_or_else(|| Error::not_found("record"))?;
    let events: Vec<EventRecord> = st
        .store
        .events("application", &id.to_string())
        .await?
        .into_iter()
        // The public history starts with the notice: what happened in examination before it is private.
        .skip_while(|e| e.kind != "notice_published")
        .collect();
    let ids: Vec<i64> = events.iter().map(|e| e.id).collect();
    let indexes = st.store.log_indexes(&ids).await?;
    let mut history: Vec<PublicEvent> = events
        .into_iter()
        .map(|e| PublicEvent {
            id: e.id,
            log_index: indexes.get(&e.id).copied(),
            at: e.at,
            kind: e.kind,
            from_state: e.from_state,
            to_state: e.to_state,
            reasons: e.reasons,
            facts: e.payload.get("public").cloned().unwrap_or(serde_json::Value::Null),
        })
        .collect();
    // In time order, as a reader expects; events with the same instant stay in the order they were logged.
    history.sort_by_key(|e| e.at);
    let mut upstream = Vec::new();
    for u in &record.derived_from {
        let number = u.registration_number.to_string();
        let parent = st.store.application_by_registration_number(&number).await?;
        let link = match parent.as_ref().and_then(PublicRecord::of) {
            Some(p) => link_from_public(&serde_json::to_value(&p).map_err(Error::internal)?, u.licence_id),
            None => LineageLink {
                registration_number: Some(number),
                id: None,
                product_name: None,
                holder: None,
                state: None,
                licence_id: u.licence_id,
            },
        };
        upstream.push(link);
    }
    let mut downstream = Vec::new();
    if let Some(reg) = &record.registration {
        for (doc, licence) in st.store.derived_products(&reg.registration_number.to_string()).await? {
            let v: serde_json::Value = serde_json::from_str(doc.get()).map_err(Error::internal)?;
            downstream.push(link_from_public(&v, licence));
        }
    }
    let economic_value = st.store.product_value(id).await?;
    Ok(PublicRecordDetail { record, lineage: Lineage { upstream, downstream }, economic_value, history })
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct StatsParams {
    /// First day, `YYYY-MM-DD`.
    pub from: Option<String>,
    /// Last day, `YYYY-MM-DD`.
    pub to: Option<String>,
    pub object_type: Option<String>,
    /// Industry code.
    pub industry: Option<String>,
    /// `legal_person`, `natural_person` or `unincorporated_organisation`.
    pub applicant_kind: Option<String>,
}

impl StatsParams {
    pub fn parse(&self) -> Result<StatsFilter> {
        let mut f = Fields::default();
        let nonempty = |o: &Option<String>| o.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(String::from);
        let from = nonempty(&self.from).and_then(|d| f.date("from", &d));
        let to = nonempty(&self.to).and_then(|d| f.date("to", &d));
        if let (Some(a), Some(b)) = (from, to) {
            if b < a {
                f.0.push(FieldError::new("to", "ends_before_start", "the period ends before it starts"));
            }
        }
        let object_type = nonempty(&self.object_type).and_then(|t| {
            let parsed = ObjectType::parse(&t);
            if parsed.is_none() {
                f.0.push(FieldError::new("object_type", "invalid_choice", format!("unknown object type {t:?}")));
            }
            parsed
        });
        let applicant_kind = nonempty(&self.applicant_kind);
        if let Some(k) = &applicant_kind {
            if !["legal_person", "natural_person", "unincorporated_organisation"].contains(&k.as_str()) {
                f.0.push(FieldError::new("applicant_kind", "invalid_choice", format!("unknown applicant kind {k:?}")));
            }
        }
        f.done()?;
        Ok(StatsFilter { from, to, object_type, industry: nonempty(&self.industry), applicant_kind })
    }
}

// Statistics: the headline snapshot (see `figures.rs`) and filtered figures.

async fn compute(st: &Registry) -> Result<Arc<Snapshot>> {
    let as_of = st.clock.now();
    let statistics = st.store.statistics(&Default::default()).await?;
    let snap = Arc::new(Snapshot { statistics, as_of, refresh_secs: st.config.stats_refresh_secs });
    st.figures.keep(snap.clone());
    Ok(snap)
}

/// The unfiltered statistics of the whole register, as of a moment the snapshot names.
pub async fn headline(st: &Arc<Registry>) -> Result<Arc<Snapshot>> {
    let interval = st.config.stats_refresh_secs as i64;
    if interval == 0 {
        return compute(st).await;
    }
    let age = |s: &Snapshot| (st.clock.now() - s.as_of).num_seconds();
    if let Some(s) = st.figures.latest() {
        if age(&s) <= interval {
            return Ok(s);
        }
        if age(&s) <= 3 * interval {
            if !st.figures.refreshing.swap(true, Ordering::AcqRel) {
                let st = st.clone();
                tokio::spawn(async move {
                    let _one = st.figures.computing.lock().await;
                    if let Err(e) = compute(&st).await {
                        tracing::warn!(error = %e, "refreshing the headline figures failed");
                    }
                    st.figures.refreshing.store(false, Ordering::Release);
                });
            }
            return Ok(s);
        }
    }
    let _one = st.figures.computing.lock().await;
    // Another request may have computed them while this one waited.
    match st.figures.latest() {
        Some(s) if age(&s) <= interval => Ok(s),
        _ => compute(st).await,
    }
}

/// The statistics for a filter: the headline snapshot when nothing is filtered, else computed now.
pub async fn statistics(st: &Arc<Registry>, filter: &StatsFilter) -> Result<Arc<Snapshot>> {
    if *filter == StatsFilter::default() {
        return headline(st).await;
    }
    let as_of = st.clock.now();
    let statistics = st.store.statistics(filter).await?;
    Ok(Arc::new(Snapshot { statistics, as_of, refresh_secs: 0 }))
}

/// The encumbrance search (search before lending): registered products matching `q` (a registration number,
/// a credit code, part of a product's or holder's name) with everything resting on them; with `include_ended`
/// also those no longer registered.
pub async fn encumbrances(
    state: &Registry,
    q: &str,
    include_ended: bool,
    page: dipr_store::Page,
) -> Result<dipr_store::Paged<Box<serde_json::value::RawValue>>> {
    use dipr_domain::application::State;
    let text = q.trim();
    if text.chars().count() < 2 {
        return Err(Error::validation(vec![FieldError::new("q", "too_short", "search with at least 2 characters")]));
    }
    let states = if include_ended {
        vec![State::Registered, State::Cancelled, State::Revoked, State::Expired]
    } else {
        vec![State::Registered]
    };
    let filter = dipr_store::ApplicationFilter { text: Some(text.to_string()), states, ..Default::default() };
    Ok(state.store.public_records(&filter, page).await?)
}

/// Records a search certificate lists at most; it says when more matched.
pub const SEARCH_CERTIFICATE_MAX: u32 = 100;

/// A signed search certificate (查询证明) for an encumbrance search: the query, what matched (holder, status,
/// validity, pledges, licences, disputes) and the signed checkpoint it was read at. The results are read
/// between two looks at the log: when something was logged meanwhile, the search is read again, so the
/// results reflect exactly the log up to the checkpoint named.
pub async fn search_certificate(
    state: &Registry,
    q: &str,
    include_ended: bool,
    requested_by: Option<String>,
) -> Result<dipr_ledger::search::SearchCertificate> {
    use dipr_ledger::search::{SearchStatement, SEARCH_STATEMENT_VERSION};
    for _ in 0..5 {
        let Some((size, checkpoint)) = state.store.checkpoint(None).await? else {
            return Err(Error::not_found("checkpoint (the log is empty)"));
        };
        let searched_at = state.clock.now();
        let found = encumbrances(state, q, include_ended, dipr_store::Page::new(1, SEARCH_CERTIFICATE_MAX)).await?;
        if state.store.log_size().await? != size {
            continue;
        }
        let results: Vec<serde_json::Value> = found
            .items
            .iter()
            .map(|raw| serde_json::from_str::<serde_json::Value>(raw.get()).map(|r| certified_record(&r)))
            .collect::<std::result::Result<_, _>>()
            .map_err(Error::internal)?;
        let statement = SearchStatement {
            v: SEARCH_STATEMENT_VERSION.into(),
            registry: state.signer.name().into(),
            query: q.trim().to_string(),
            include_ended,
            searched_at: searched_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            requested_by,
            checkpoint,
            complete: found.total_exact && found.total <= i64::from(SEARCH_CERTIFICATE_MAX),
            matched: found.total.max(0) as u64,
            results,
        };
        return Ok(statement.certify(&state.signer));
    }
    Err(Error::new("concurrent_modification", "the register kept changing during the search; try again"))
}

/// What a search certificate states about one record: what a lender relies on.
fn certified_record(r: &serde_json::Value) -> serde_json::Value {
    let mut out = serde_json::Map::new();
    for key in ["id", "product_name", "state", "holder", "registration", "pledges", "licences", "disputed"] {
        if let Some(v) = r.get(key) {
            out.insert(key.to_string(), v.clone());
        }
    }
    serde_json::Value::Object(out)
}
