//! Who did what, when: the audit event every use case writes with its change, and the actor an account
//! acts as.

use chrono::{DateTime, Utc};
use dipr_domain::access::Actor;
use dipr_store::{NewEvent, UserRecord};
use serde_json::json;

/// The actor a signed-in account acts as.
pub fn actor_of(u: &UserRecord) -> Actor {
    Actor { user_id: Some(u.id), name: u.display_name.clone(), role: u.role, party_id: u.party_id }
}

/// An audit event, to be completed (states, reasons, payload) by the use case that writes it.
pub fn event(actor: &Actor, at: DateTime<Utc>, subject_type: &str, subject_id: impl ToString, kind: &str) -> NewEvent {
    NewEvent {
        at,
        actor_id: actor.user_id,
        actor_name: actor.name.clone(),
        actor_role: actor.role,
        subject_type: subject_type.into(),
        subject_id: subject_id.to_string(),
        kind: kind.into(),
        from_state: None,
        to_state: None,
        reasons: String::new(),
        payload: json!({}),
    }
}
