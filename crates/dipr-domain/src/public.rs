//! What the public may see of an application: published records only, without contacts, secrecy
//! measures, samples, attachments, or unmasked personal identifiers.

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use crate::application::{Application, ObjectType, ObjectionOutcome, Registration, SourceKind, State, UpdateFrequency};
use crate::ids::ResidentId;
use crate::party::PartyKind;

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
    pub objections: Vec<PublicObjection>,
}

impl PublicRecord {
    /// `None` when the application is not published.
    pub fn of(app: &Application) -> Option<Self> {
        if !app.is_public() {
            return None;
        }
        let id_number = match app.applicant.kind {
            PartyKind::NaturalPerson => {
                ResidentId::parse(&app.applicant.id_number).map(|r| r.masked()).unwrap_or_else(|_| "******".into())
            }
            _ => app.applicant.id_number.clone(),
        };
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
            holder: PublicHolder { kind: app.applicant.kind, name: app.applicant.name.clone(), id_number },
            notice_started_at: app.notice.as_ref().map(|n| n.started_at),
            notice_ends_at: app.notice.as_ref().map(|n| n.ends_at),
            registration: app.registration.clone(),
            objections: app
                .objections
                .iter()
                .map(|o| PublicObjection {
                    id: o.id,
                    filed_at: o.filed_at,
                    outcome: o.decision.as_ref().map(|d| d.outcome),
                    reasons: o.decision.as_ref().map(|d| d.reasons.clone()),
                    decided_at: o.decision.as_ref().map(|d| d.decided_at),
                })
                .collect(),
        })
    }
}
