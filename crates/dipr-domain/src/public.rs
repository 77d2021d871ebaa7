//! What the public may see of an application: published records only, without contacts, secrecy
//! measures, samples, attachments, or unmasked personal identifiers.

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use crate::application::{
    Application, ObjectType, ObjectionDecision, ObjectionOutcome, Registration, SourceKind, State, UpdateFrequency,
    Upstream,
};

use crate::application::DataVersion;
use crate::encumbrance::{Licence, Pledge};
use crate::party::PartyKind;
use crate::party::PartyRef;

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PublicHolder {
    pub kind: PartyKind,
    pub name: String,
    /// Credit code, or a masked resident ID number.
    pub id_number: String,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PublicObjection {
    pub id: Uuid,
    pub filed_at: DateTime<Utc>,
    pub outcome: Option<ObjectionOutcome>,
    pub reasons: Option<String>,
    pub decided_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PublicRecord {
    pub id: Uuid,
    pub state: State,
    pub product_name: String,
    pub object_type: Option<ObjectType>,
    pub industry: String,
    pub scenarios: Vec<String>,
    pub summary: String,
    pub source_kinds: Vec<SourceKind>,
    pub update_frequency: Option<UpdateFrequency>,
    pub holder: PublicHolder,
    pub notice_started_at: Option<DateTime<Utc>>,
    pub notice_ends_at: Option<DateTime<Utc>>,
    pub registration: Option<Registration>,
    /// Objections filed during the public notice, in the order filed. Only on a single record (and in the
    /// answer to filing one); lists of records (search, notices, derived products) leave it out.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub objections: Option<Vec<PublicObjection>>,
    /// Flags of a registered product: under a pledge, licensed, disputed.
    pub pledged: bool,
    pub licensed: bool,
    pub disputed: bool,
    /// Every licence, with its public terms (ended ones too).
    pub licences: Vec<Licence>,
    /// Every pledge filed, with its rank and status.
    pub pledges: Vec<Pledge>,
    pub versions: Vec<DataVersion>,
    /// Objections after grant, in the order filed. Only on a single record; lists of records leave it out
    /// (`disputed` says whether one is still to be decided).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disputes: Option<Vec<PublicObjection>>,
    /// The registered products this one was made from.
    pub derived_from: Vec<Upstream>,
}

fn public_party(p: &PartyRef) -> PartyRef {
    PartyRef { id_number: p.public_id_number(), ..p.clone() }
}

fn public_objection(id: Uuid, filed_at: DateTime<Utc>, decision: Option<&ObjectionDecision>) -> PublicObjection {
    PublicObjection {
        id,
        filed_at,
        outcome: decision.map(|d| d.outcome),
        reasons: decision.map(|d| d.reasons.clone()),
        decided_at: decision.map(|d| d.decided_at),
    }
}

impl PublicRecord {
    /// The whole public record, with its objections and disputes. `None` when the application is not published.
    pub fn of(app: &Application) -> Option<Self> {
        Self::build(app, true)
    }

    /// The record as lists show it: without the objections and disputes (which only grow, and are read on the
    /// single record), keeping the `disputed` flag. `None` when the application is not published.
    pub fn listed(app: &Application) -> Option<Self> {
        Self::build(app, false)
    }

    fn build(app: &Application, with_objections: bool) -> Option<Self> {
        if !app.is_public() {
            return None;
        }
        let holder = app.holder();
        let holding = app.holding.as_ref();
        let licences = holding.map(|h| h.encumbrances.licences.clone()).unwrap_or_default();
        let pledges = holding.map(|h| h.encumbrances.pledges.clone()).unwrap_or_default();
        let mut source_kinds: Vec<SourceKind> = app.form.sources.iter().map(|s| s.kind).collect();
        source_kinds.dedup();
        Some(Self {
            id: app.id,
            state: app.state,
            product_name: app.form.product_name.clone(),
            object_type: app.form.object_type,
            industry: app.form.industry.clone(),
            scenarios: app.form.scenarios.clone(),
            summary: app.form.summary.clone(),
            source_kinds,
            update_frequency: app.form.update_frequency,
            holder: PublicHolder { kind: holder.kind, name: holder.name.clone(), id_number: holder.public_id_number() },
            notice_started_at: app.notice.as_ref().map(|n| n.started_at),
            notice_ends_at: app.notice.as_ref().map(|n| n.ends_at),
            registration: app.registration.clone(),
            objections: with_objections.then(|| {
                app.objections.iter().map(|o| public_objection(o.id, o.filed_at, o.decision.as_ref())).collect()
            }),
            pledged: holding.is_some_and(|h| h.is_pledged()),
            licensed: holding.is_some_and(|h| h.encumbrances.active_licences().next().is_some()),
            disputed: holding.is_some_and(|h| h.is_disputed()),
            licences: licences.into_iter().map(|l| Licence { licensee: public_party(&l.licensee), ..l }).collect(),
            pledges: pledges
                .into_iter()
                .map(|p| Pledge { pledgee: public_party(&p.pledgee), debtor: public_party(&p.debtor), ..p })
                .collect(),
            versions: holding.map(|h| h.versions.clone()).unwrap_or_default(),
            disputes: with_objections.then(|| {
                holding
                    .map(|h| {
                        h.disputes.iter().map(|d| public_objection(d.id, d.filed_at, d.decision.as_ref())).collect()
                    })
                    .unwrap_or_default()
            }),
            derived_from: app.form.derived_from.clone(),
        })
    }
}
