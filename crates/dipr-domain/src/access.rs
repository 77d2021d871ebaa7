//! Who is asking, and what their role and relation to a record allow.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::application::Application;
use crate::error::DomainError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Applicant,
    Agent,
    Examiner,
    Admin,
    Bank,
    /// The registry's own timer task.
    System,
    /// Anyone, not signed in.
    Public,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Applicant => "applicant",
            Self::Agent => "agent",
            Self::Examiner => "examiner",
            Self::Admin => "admin",
            Self::Bank => "bank",
            Self::System => "system",
            Self::Public => "public",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Applicant, Self::Agent, Self::Examiner, Self::Admin, Self::Bank, Self::System, Self::Public]
            .into_iter()
            .find(|r| r.as_str() == s)
    }
}

/// Who is asking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub user_id: Option<Uuid>,
    pub name: String,
    pub role: Role,
    pub party_id: Option<Uuid>,
}

impl Actor {
    pub fn system() -> Self {
        Self { user_id: None, name: "dipr timer".into(), role: Role::System, party_id: None }
    }
    pub fn public(name: &str) -> Self {
        Self { user_id: None, name: name.into(), role: Role::Public, party_id: None }
    }

    /// The applicant or the account that filed for it.
    pub fn owns(&self, app: &Application) -> bool {
        self.user_id == Some(app.filed_by) || (self.party_id.is_some() && self.party_id == Some(app.applicant.id))
    }

    /// Party to the filing in any way: as applicant, filer or agent.
    pub(crate) fn is_party_to(&self, app: &Application) -> bool {
        self.owns(app) || (self.party_id.is_some() && self.party_id == app.agent.as_ref().map(|a| a.id))
    }
}

/// The holder may act: its own users, or the account that filed for it while it still holds.
pub fn require_holder(actor: &Actor, app: &Application) -> Result<(), DomainError> {
    let holder = app.holder();
    let filer_for_original = holder.id == app.applicant.id && actor.user_id == Some(app.filed_by);
    if actor.party_id == Some(holder.id) || filer_for_original {
        Ok(())
    } else {
        Err(DomainError::Forbidden("only the holder of the registration may do this".into()))
    }
}

pub fn require_examiner(actor: &Actor, app: &Application) -> Result<(), DomainError> {
    if actor.role != Role::Examiner {
        return Err(DomainError::Forbidden("only an examiner may decide".into()));
    }
    if actor.is_party_to(app) {
        return Err(DomainError::ConflictOfInterest);
    }
    Ok(())
}

/// May this caller read the full filing (contacts, samples, secrecy measures)?
/// Staff see a filing once it is submitted: a draft is its applicant's (and agent's) alone.
pub fn can_read_full(actor: &Actor, app: &Application) -> bool {
    actor.owns(app) || (matches!(actor.role, Role::Examiner | Role::Admin) && !app.is_draft())
}
