//! Records the store reads and writes besides the domain's own types.

use chrono::{DateTime, Utc};
use dipr_domain::application::{ObjectType, State};
use dipr_domain::lifecycle::Role;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UserRecord {
    pub id: Uuid,
    pub username: String,
    pub display_name: String,
    #[serde(skip)]
    pub password_hash: String,
    pub role: Role,
    pub party_id: Option<Uuid>,
    pub disabled: bool,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum TokenKind {
    /// Issued at sign-in; expires.
    Session,
    /// Created by the user for scripts; lives until revoked or its expiry.
    Api,
}

impl TokenKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Session => "session",
            Self::Api => "api",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TokenRecord {
    pub id: Uuid,
    pub user_id: Uuid,
    /// Hex SHA-256 of the secret; the secret itself is never stored.
    #[serde(skip)]
    pub token_hash: String,
    pub kind: TokenKind,
    pub name: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Industry {
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
    pub active: bool,
    pub position: i64,
}

/// An audit record to append.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    pub at: DateTime<Utc>,
    pub actor_id: Option<Uuid>,
    pub actor_name: String,
    pub actor_role: Role,
    /// `application`, `user`, `token`, `party`, `industry`, `calendar`, `setting`.
    pub subject_type: String,
    pub subject_id: String,
    pub kind: String,
    pub from_state: Option<String>,
    pub to_state: Option<String>,
    pub reasons: String,
    pub payload: serde_json::Value,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EventRecord {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub actor_id: Option<Uuid>,
    pub actor_name: String,
    pub actor_role: String,
    pub subject_type: String,
    pub subject_id: String,
    pub kind: String,
    pub from_state: Option<String>,
    pub to_state: Option<String>,
    pub reasons: String,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub payload: serde_json::Value,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    /// 1-based.
    pub page: u32,
    pub per_page: u32,
}

impl Page {
    pub const MAX_PER_PAGE: u32 = 100;
    pub fn new(page: u32, per_page: u32) -> Self {
        Self { page: page.max(1), per_page: per_page.clamp(1, Self::MAX_PER_PAGE) }
    }
    pub fn offset(self) -> i64 {
        i64::from(self.page - 1) * i64::from(self.per_page)
    }
}

impl Default for Page {
    fn default() -> Self {
        Self::new(1, 20)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Paged<T> {
    pub items: Vec<T>,
    pub page: u32,
    pub per_page: u32,
    pub total: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Order {
    #[default]
    NewestFirst,
    /// Oldest first: review queues work first-in, first-out.
    OldestFirst,
}

/// Which applications to list. Empty fields do not filter.
#[derive(Debug, Clone, Default)]
pub struct ApplicationFilter {
    /// Only published records (public search).
    pub public_only: bool,
    /// Only filings this user filed, or whose applicant is this party.
    pub owned_by: Option<(Uuid, Option<Uuid>)>,
    pub states: Vec<State>,
    /// Case-insensitive substring of product name, holder name or registration number.
    pub text: Option<String>,
    /// Case-insensitive substring of the holder's name.
    pub holder: Option<String>,
    pub object_type: Option<ObjectType>,
    pub industry: Option<String>,
    pub order: Order,
}

/// Shared discovery-sketch values between a query and one filed manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SketchMatch {
    pub application_id: Uuid,
    pub manifest_sha256: String,
    pub matched: u64,
    pub sketch_size: u64,
}
