//! The application (登记申请): the form an applicant fills in, and the record the registry keeps of it.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::encumbrance::Encumbrances;
use crate::error::{DomainError, FieldError};
use crate::ids::{CertificateNumber, RegistrationNumber};
use crate::party::{Party, PartyRef};
/// The three kinds of object that can be registered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ObjectType {
    /// 数据加工集合: a dataset assembled and processed under rules.
    DataCollection,
    /// 数据加工产品: a product derived from data (index, report, API, service).
    DataProduct,
    /// 数据技术算法: an algorithm or model for processing data.
    DataAlgorithm,
}

impl ObjectType {
    pub const ALL: [ObjectType; 3] = [Self::DataCollection, Self::DataProduct, Self::DataAlgorithm];
    pub fn as_str(self) -> &'static str {
        match self {
            Self::DataCollection => "data_collection",
            Self::DataProduct => "data_product",
            Self::DataAlgorithm => "data_algorithm",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    /// Collected by the applicant itself.
    SelfCollected,
    /// Licensed or purchased from a third party.
    Licensed,
    /// Public data the applicant is authorised to use.
    PublicData,
}

/// Where the data came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DataSource {
    pub kind: SourceKind,
    /// How it was collected, or what was licensed or authorised.
    #[serde(default)]
    pub description: String,
    /// Licensor or authorising body, for licensed and public data.
    #[serde(default)]
    pub counterparty: Option<String>,
    /// Contract or authorisation reference.
    #[serde(default)]
    pub contract_ref: Option<String>,
    /// End of the licence term; caps the certificate's validity.
    #[serde(default)]
    pub licence_end: Option<NaiveDate>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FieldSpec {
    pub name: String,
    #[serde(default, rename = "type")]
    pub field_type: String,
    #[serde(default)]
    pub description: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Scale {
    pub records: Option<u64>,
    pub bytes: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TimeCoverage {
    pub from: NaiveDate,
    pub to: Option<NaiveDate>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum UpdateFrequency {
    OneOff,
    RealTime,
    Daily,
    Weekly,
    Monthly,
    Quarterly,
    Yearly,
    Irregular,
}

/// Non-public status and how it is kept secret.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Secrecy {
    #[serde(default)]
    pub non_public: bool,
    #[serde(default)]
    pub measures: String,
}

/// A document referenced by its hash; the registry never needs the file itself to check it later.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Attachment {
    pub name: String,
    /// Lower-case hex SHA-256 of the file.
    pub sha256: String,
    #[serde(default)]
    pub kind: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Contact {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub phone: String,
    #[serde(default)]
    pub email: String,
}

/// Fingerprint commitment of the data, computed on the applicant's side. Filled by the fingerprint
/// feature; until then a client may put any commitment it computed (e.g. a file hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ContentCommitment {
    pub algorithm: String,
    pub root: String,
    #[serde(default)]
    pub record_count: Option<u64>,
    /// SHA-256 of the filed fingerprint manifest (`algorithm`: `dipr-fingerprint/1` or `/2`, its hashing
    /// scheme; `dipr-package/1`, the files of an algorithm package, `record_count` then counting files).
    #[serde(default)]
    pub manifest_sha256: Option<String>,
    #[serde(default)]
    pub schema_digest: Option<String>,
}

/// Everything the applicant fills in. Every field may be absent in a draft; [`ApplicationForm::check`]
/// says what is missing before submission.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default, deny_unknown_fields)]
pub struct ApplicationForm {
    pub product_name: String,
    pub object_type: Option<ObjectType>,
    /// Code from the registry's industry list.
    pub industry: String,
    pub scenarios: Vec<String>,
    /// Public one-paragraph description.
    pub summary: String,
    pub sources: Vec<DataSource>,
    pub legality_statement: String,
    /// The applicant commits that no personal information or third-party IP is infringed.
    pub no_infringement_commitment: bool,
    /// Processing rules, or the algorithm: what is substantive and new.
    pub processing: String,
    pub structure: Vec<FieldSpec>,
    pub scale: Scale,
    pub format: String,
    pub time_coverage: Option<TimeCoverage>,
    pub update_frequency: Option<UpdateFrequency>,
    pub secrecy: Secrecy,
    /// Desensitised sample rows, never the raw data.
    pub samples: Vec<String>,
    pub content_commitment: Option<ContentCommitment>,
    pub attachments: Vec<Attachment>,
    /// Other registrations of the same family (not derivations).
    pub related_registrations: Vec<RegistrationNumber>,
    /// The registered products this one was made from, with the licence that allows it.
    pub derived_from: Vec<Upstream>,
    pub contact: Contact,
}

/// A registered product this one derives from. When another party holds it, `licence_id` names the
/// licence to the applicant that allows the derivation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Upstream {
    pub registration_number: RegistrationNumber,
    #[serde(default)]
    pub licence_id: Option<Uuid>,
}

/// How strictly to check a form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Completeness {
    /// A draft: only what is there must be well-formed, plus a name and type to find it by.
    Draft,
    /// Submission: every required field must be filled in.
    Submission,
}

const MAX_SHORT: usize = 200;
const MAX_LONG: usize = 20_000;
const MAX_SAMPLES: usize = 20;
const MAX_LIST: usize = 200;

impl ApplicationForm {
    /// Every problem with the form at once, so a person can fix them in one go.
    pub fn check(&self, completeness: Completeness, known_industry: &dyn Fn(&str) -> bool) -> Result<(), DomainError> {
        let mut e = Vec::new();
        let submit = completeness == Completeness::Submission;
        let mut text = |field: &str, value: &str, max: usize, required: bool| {
            let n = value.trim().chars().count();
            if required && n == 0 {
                e.push(FieldError::new(field, "required", format!("{field} is required")));
            } else if n > max {
                e.push(FieldError::new(field, "too_long", format!("{field} must be at most {max} characters")));
            }
        };
        text("product_name", &self.product_name, MAX_SHORT, true);
        text("summary", &self.summary, 2_000, submit);
        text("legality_statement", &self.legality_statement, MAX_LONG, submit);
        text("processing", &self.processing, MAX_LONG, submit);
        text("format", &self.format, MAX_SHORT, submit);
        text("secrecy.measures", &self.secrecy.measures, MAX_LONG, submit && self.secrecy.non_public);
        text("contact.name", &self.contact.name, MAX_SHORT, submit);
        text("contact.phone", &self.contact.phone, 40, false);
        text("contact.email", &self.contact.email, MAX_SHORT, false);
        for (i, s) in self.scenarios.iter().enumerate() {
            text(&format!("scenarios[{i}]"), s, MAX_SHORT, true);
        }
        for (i, s) in self.samples.iter().enumerate() {
            text(&format!("samples[{i}]"), s, 4_000, true);
        }
        for (i, s) in self.sources.iter().enumerate() {
            text(&format!("sources[{i}].description"), &s.description, MAX_LONG, submit);
        }
        for (i, f) in self.structure.iter().enumerate() {
            text(&format!("structure[{i}].name"), &f.name, MAX_SHORT, true);
        }
        if self.object_type.is_none() {
            e.push(FieldError::new("object_type", "required", "object_type is required"));
        }
        if self.industry.trim().is_empty() {
            if submit {
                e.push(FieldError::new("industry", "required", "industry is required"));
            }
        } else if !known_industry(self.industry.trim()) {
            e.push(FieldError::new(
                "industry",
                "unknown_industry",
                format!("{:?} is not in the industry list", self.industry),
            ));
        }
        let lists = [
            ("scenarios", self.scenarios.len()),
            ("sources", self.sources.len()),
            ("structure", self.structure.len()),
            ("attachments", self.attachments.len()),
            ("related_registrations", self.related_registrations.len()),
            ("derived_from", self.derived_from.len()),
        ];
        for (field, n) in lists {
            if n > MAX_LIST {
                e.push(FieldError::new(field, "too_many", format!("{field} may hold at most {MAX_LIST} entries")));
            }
        }
        if self.samples.len() > MAX_SAMPLES {
            e.push(FieldError::new("samples", "too_many", format!("at most {MAX_SAMPLES} sample rows")));
        }
        if submit {
            if self.scenarios.is_empty() {
                e.push(FieldError::new("scenarios", "required", "name at least one application scenario"));
            }
            if self.sources.is_empty() {
                e.push(FieldError::new("sources", "required", "declare at least one data source"));
            }
            if !self.no_infringement_commitment {
                e.push(FieldError::new(
                    "no_infringement_commitment",
                    "required",
                    "the applicant must commit that no personal information or third-party IP is infringed",
                ));
            }
            if self.structure.is_empty() && self.object_type != Some(ObjectType::DataAlgorithm) {
                e.push(FieldError::new("structure", "required", "describe the structure (field list)"));
            }
            if self.update_frequency.is_none() {
                e.push(FieldError::new("update_frequency", "required", "update_frequency is required"));
            }
            if self.samples.is_empty() {
                e.push(FieldError::new("samples", "required", "give at least one desensitised sample"));
            }
        }
        for (i, s) in self.sources.iter().enumerate() {
            if s.kind == SourceKind::Licensed && submit && s.counterparty.as_deref().unwrap_or("").trim().is_empty() {
                e.push(FieldError::new(format!("sources[{i}].counterparty"), "required", "name the licensor"));
            }
        }
        for (i, a) in self.attachments.iter().enumerate() {
            let ok = a.sha256.len() == 64 && a.sha256.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
            if !ok {
                e.push(FieldError::new(
                    format!("attachments[{i}].sha256"),
                    "invalid_hash",
                    "64 lower-case hex digits expected",
                ));
            }
            if a.name.trim().is_empty() {
                e.push(FieldError::new(format!("attachments[{i}].name"), "required", "attachment name is required"));
            }
        }
        if let Some(tc) = &self.time_coverage {
            if tc.to.is_some_and(|to| to < tc.from) {
                e.push(FieldError::new("time_coverage.to", "ends_before_start", "coverage ends before it starts"));
            }
        }
        if e.is_empty() {
            Ok(())
        } else {
            Err(DomainError::Validation(e))
        }
    }

    /// Data-source digit in a registration number: 1 self-collected, 2 licensed, 3 public, 9 mixed.
    pub fn source_code(&self) -> u8 {
        let mut kinds: Vec<SourceKind> = self.sources.iter().map(|s| s.kind).collect();
        kinds.dedup();
        match kinds.as_slice() {
            [SourceKind::SelfCollected] => 1,
            [SourceKind::Licensed] => 2,
            [SourceKind::PublicData] => 3,
            _ => 9,
        }
    }

    /// Normalised name used to recognise "the same product" for the re-filing bar.
    pub fn product_key(&self) -> String {
        product_key(&self.product_name)
    }
}

pub fn product_key(name: &str) -> String {
    name.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase()
}

/// Lifecycle states (see DOMAIN.md and ARCHITECTURE.md for the diagram).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum State {
    Draft,
    Submitted,
    FormalReview,
    CorrectionRequested,
    Rejected,
    SubstantiveReview,
    Refused,
    PublicNotice,
    ObjectionPending,
    Registered,
    Withdrawn,
    DeemedWithdrawn,
    /// Cancelled at the holder's request after registration.
    Cancelled,
    /// Revoked by the registry after registration (fraud, unlawful source, court ruling).
    Revoked,
    /// The registration's validity ended.
    Expired,
    /// A draft its applicant threw away before submitting it: out of every list, still in the audit trail,
    /// and no bar to filing the product again.
    Discarded,
}

impl State {
    pub const ALL: [State; 16] = [
        Self::Draft,
        Self::Submitted,
        Self::FormalReview,
        Self::CorrectionRequested,
        Self::Rejected,
        Self::SubstantiveReview,
        Self::Refused,
        Self::PublicNotice,
        Self::ObjectionPending,
        Self::Registered,
        Self::Withdrawn,
        Self::DeemedWithdrawn,
        Self::Cancelled,
        Self::Revoked,
        Self::Expired,
        Self::Discarded,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Submitted => "submitted",
            Self::FormalReview => "formal_review",
            Self::CorrectionRequested => "correction_requested",
            Self::Rejected => "rejected",
            Self::SubstantiveReview => "substantive_review",
            Self::Refused => "refused",
            Self::PublicNotice => "public_notice",
            Self::ObjectionPending => "objection_pending",
            Self::Registered => "registered",
            Self::Withdrawn => "withdrawn",
            Self::DeemedWithdrawn => "deemed_withdrawn",
            Self::Cancelled => "cancelled",
            Self::Revoked => "revoked",
            Self::Expired => "expired",
            Self::Discarded => "discarded",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// Only a published filing (one that went through the public notice) can be in this state.
    pub fn implies_public(self) -> bool {
        matches!(
            self,
            Self::PublicNotice
                | Self::ObjectionPending
                | Self::Registered
                | Self::Cancelled
                | Self::Revoked
                | Self::Expired
        )
    }

    /// Examination is over: no step of the filing lifecycle applies (a registration may still end).
    pub fn is_final(self) -> bool {
        matches!(
            self,
            Self::Rejected
                | Self::Refused
                | Self::Registered
                | Self::Withdrawn
                | Self::DeemedWithdrawn
                | Self::Cancelled
                | Self::Revoked
                | Self::Expired
                | Self::Discarded
        )
    }

    /// Waiting for an examiner.
    pub fn in_review_queue(self) -> bool {
        matches!(self, Self::Submitted | Self::FormalReview | Self::SubstantiveReview | Self::ObjectionPending)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CorrectionRequest {
    pub items: Vec<String>,
    pub reasons: String,
    pub requested_at: DateTime<Utc>,
    pub due: DateTime<Utc>,
    pub response: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Notice {
    pub started_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ObjectionOutcome {
    Upheld,
    Dismissed,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ObjectionDecision {
    pub outcome: ObjectionOutcome,
    pub reasons: String,
    pub examiner_id: Uuid,
    pub examiner_name: String,
    pub decided_at: DateTime<Utc>,
}

/// What anyone sends to object during the notice period.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewObjection {
    pub objector_name: String,
    #[serde(default)]
    pub objector_contact: String,
    pub grounds: String,
    #[serde(default)]
    pub evidence: Vec<Attachment>,
}

/// Longest objector contact (objections and disputes; anyone may file them, so every field is bounded).
pub const MAX_CONTACT: usize = 200;
/// Most evidence items an objection may name.
pub const MAX_EVIDENCE: usize = 20;

/// Every problem with the free text of an objection or a dispute, each on its own field: the name and the
/// grounds are required, and every field has a length cap.
pub fn check_objection_text(name: &str, contact: &str, grounds: &str, evidence: &[Attachment]) -> Vec<FieldError> {
    let text = |field: String, value: &str, max: usize, required: bool| {
        let n = value.trim().chars().count();
        if required && n == 0 {
            Some(FieldError::new(field, "required", "this field is required"))
        } else if n > max {
            Some(FieldError::new(field, "too_long", format!("at most {max} characters")))
        } else {
            None
        }
    };
    let mut e: Vec<FieldError> = [
        text("objector_name".into(), name, MAX_SHORT, true),
        text("objector_contact".into(), contact, MAX_CONTACT, false),
        text("grounds".into(), grounds, MAX_LONG, true),
    ]
    .into_iter()
    .flatten()
    .collect();
    for (i, a) in evidence.iter().enumerate() {
        e.extend(text(format!("evidence[{i}].name"), &a.name, MAX_SHORT, true));
        e.extend(text(format!("evidence[{i}].kind"), &a.kind, MAX_SHORT, false));
        let ok = a.sha256.len() == 64 && a.sha256.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if !ok {
            e.push(FieldError::new(
                format!("evidence[{i}].sha256"),
                "invalid_hash",
                "64 lower-case hex digits expected",
            ));
        }
    }
    if evidence.len() > MAX_EVIDENCE {
        e.push(FieldError::new("evidence", "too_many", format!("at most {MAX_EVIDENCE} items")));
    }
    e
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Objection {
    pub id: Uuid,
    pub filed_at: DateTime<Utc>,
    /// The signed-in user who filed it, if any.
    pub filed_by: Option<Uuid>,
    pub objector_name: String,
    /// Private: shown to the applicant and examiners only.
    pub objector_contact: String,
    pub grounds: String,
    pub evidence: Vec<Attachment>,
    pub decide_by: DateTime<Utc>,
    pub response: Option<String>,
    pub responded_at: Option<DateTime<Utc>>,
    pub decision: Option<ObjectionDecision>,
}

/// An examiner's decision with its reasons.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Decision {
    pub action: String,
    pub reasons: String,
    pub examiner_id: Uuid,
    pub examiner_name: String,
    pub decided_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Registration {
    pub registration_number: RegistrationNumber,
    pub certificate_number: CertificateNumber,
    pub registered_at: DateTime<Utc>,
    pub valid_from: DateTime<Utc>,
    pub valid_until: DateTime<Utc>,
}

/// The registry's record of one application.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Application {
    pub id: Uuid,
    /// Bumped on every change; stores use it for optimistic concurrency.
    pub version: i64,
    pub state: State,
    pub applicant: PartyRef,
    /// The user account that filed it (the applicant's own, or an agent's).
    pub filed_by: Uuid,
    /// The filing agency, when an agent filed.
    pub agent: Option<PartyRef>,
    pub form: ApplicationForm,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub submitted_at: Option<DateTime<Utc>>,
    /// The examiner who took the filing into review.
    pub examiner_id: Option<Uuid>,
    pub correction: Option<CorrectionRequest>,
    pub notice: Option<Notice>,
    pub objections: Vec<Objection>,
    pub decisions: Vec<Decision>,
    pub registration: Option<Registration>,
    pub withdrawn_at: Option<DateTime<Utc>>,
    /// The registered product's current holder, encumbrances, data versions and disputes.
    #[serde(default)]
    pub holding: Option<Holding>,
}

/// How examination ended, for the statistics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Registered,
    Rejected,
    Refused,
    Withdrawn,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Registered => "registered",
            Self::Rejected => "rejected",
            Self::Refused => "refused",
            Self::Withdrawn => "withdrawn",
        }
    }
}

impl Application {
    /// Never submitted: a draft, or a discarded one.
    pub fn is_draft(&self) -> bool {
        matches!(self.state, State::Draft | State::Discarded)
    }

    pub fn new_draft(
        id: Uuid,
        applicant: &Party,
        filed_by: Uuid,
        agent: Option<&Party>,
        form: ApplicationForm,
        now: DateTime<Utc>,
    ) -> Self {
        Self {
            id,
            version: 1,
            state: State::Draft,
            applicant: applicant.into(),
            filed_by,
            agent: agent.map(Into::into),
            form,
            created_at: now,
            updated_at: now,
            submitted_at: None,
            examiner_id: None,
            correction: None,
            notice: None,
            objections: Vec::new(),
            decisions: Vec::new(),
            registration: None,
            withdrawn_at: None,
            holding: None,
        }
    }

    /// When the timer task must look at this application next, if ever.
    pub fn next_deadline(&self) -> Option<DateTime<Utc>> {
        match self.state {
            State::CorrectionRequested => self.correction.as_ref().map(|c| c.due),
            State::PublicNotice => self.notice.as_ref().map(|n| n.ends_at),
            State::Registered => self.registration.as_ref().map(|r| r.valid_until),
            _ => None,
        }
    }

    /// Published records: everything that ever went on public notice.
    pub fn is_public(&self) -> bool {
        self.notice.is_some()
    }

    /// Who holds the product now: the applicant until a transfer.
    pub fn holder(&self) -> &PartyRef {
        self.holding.as_ref().map_or(&self.applicant, |h| &h.holder)
    }

    /// How examination ended and when, if it has.
    pub fn outcome(&self) -> Option<(Outcome, DateTime<Utc>)> {
        if let Some(r) = &self.registration {
            return Some((Outcome::Registered, r.registered_at));
        }
        let last_decision = || self.decisions.last().map(|d| d.decided_at).unwrap_or(self.updated_at);
        match self.state {
            State::Rejected => Some((Outcome::Rejected, last_decision())),
            State::Refused => Some((Outcome::Refused, last_decision())),
            State::Withdrawn | State::DeemedWithdrawn => {
                Some((Outcome::Withdrawn, self.withdrawn_at.unwrap_or(self.updated_at)))
            }
            _ => None,
        }
    }

    pub fn pending_objections(&self) -> usize {
        self.objections.iter().filter(|o| o.decision.is_none()).count()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum VersionReason {
    /// The data as registered.
    Registration,
    /// The holder re-attested updated data.
    Update,
    /// Re-attested on renewal.
    Renewal,
}

/// One attested version of the product's data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DataVersion {
    /// 1 for the registered data, then 2, 3, …
    pub number: u32,
    pub commitment: Option<ContentCommitment>,
    pub attested_at: DateTime<Utc>,
    pub reason: VersionReason,
    pub note: String,
}

/// An objection after grant (异议登记): the record is flagged as disputed until an examiner decides.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Dispute {
    pub id: Uuid,
    pub filed_at: DateTime<Utc>,
    pub filed_by: Option<Uuid>,
    pub objector_name: String,
    /// Not public.
    pub objector_contact: String,
    pub grounds: String,
    pub decision: Option<ObjectionDecision>,
}

/// The registered product's current state beyond its filing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Holding {
    pub holder: PartyRef,
    pub holder_since: DateTime<Utc>,
    #[serde(default)]
    pub encumbrances: Encumbrances,
    #[serde(default)]
    pub versions: Vec<DataVersion>,
    #[serde(default)]
    pub disputes: Vec<Dispute>,
}

impl Holding {
    /// The holding of a newly registered application: the applicant holds version 1.
    pub fn new(app: &Application, now: DateTime<Utc>) -> Self {
        Self {
            holder: app.applicant.clone(),
            holder_since: now,
            encumbrances: Encumbrances::default(),
            versions: vec![DataVersion {
                number: 1,
                commitment: app.form.content_commitment.clone(),
                attested_at: now,
                reason: VersionReason::Registration,
                note: String::new(),
            }],
            disputes: Vec::new(),
        }
    }

    pub fn current_version(&self) -> Option<&DataVersion> {
        self.versions.last()
    }

    pub fn is_disputed(&self) -> bool {
        self.disputes.iter().any(|d| d.decision.is_none())
    }

    pub fn is_pledged(&self) -> bool {
        self.encumbrances.active_pledges().next().is_some()
    }
}
