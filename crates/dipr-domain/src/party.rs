//! Parties: who applies, holds and files.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{DomainError, FieldError};
use crate::ids::{CreditCode, ResidentId};
/// The legal kind of a party, which decides the identifier it carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum PartyKind {
    /// 自然人: identified by resident ID number.
    NaturalPerson,
    /// 法人 (enterprises, universities, institutes): identified by credit code.
    LegalPerson,
    /// 非法人组织 (partnerships, branches): identified by credit code.
    UnincorporatedOrganisation,
}

impl PartyKind {
    /// Registrant-type digit in a registration number.
    pub fn registrant_code(self) -> u8 {
        match self {
            Self::LegalPerson => 1,
            Self::UnincorporatedOrganisation => 2,
            Self::NaturalPerson => 3,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NaturalPerson => "natural_person",
            Self::LegalPerson => "legal_person",
            Self::UnincorporatedOrganisation => "unincorporated_organisation",
        }
    }
}

/// Ownership classes used in the administration's statistics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Ownership {
    StateOwned,
    Private,
    ForeignInvested,
    Collective,
    Mixed,
    Other,
}

/// Attributes of an organisation that the statistics break down by.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrgAttributes {
    pub ownership: Option<Ownership>,
    /// 高新技术企业
    #[serde(default)]
    pub high_tech: bool,
    /// 专精特新 ("specialised, refined, distinctive and innovative")
    #[serde(default)]
    pub specialised_innovative: bool,
    /// University or research institute.
    #[serde(default)]
    pub university_or_institute: bool,
    /// A registered filing agency (代理机构).
    #[serde(default)]
    pub filing_agency: bool,
}

/// What a client sends to create a party. Parsed into [`Party`] by [`NewParty::parse`].
#[derive(Debug, Clone, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewParty {
    pub kind: PartyKind,
    pub name: String,
    /// Credit code for organisations, resident ID number for natural persons.
    pub id_number: String,
    #[serde(default)]
    pub address: String,
    #[serde(default)]
    pub attributes: OrgAttributes,
}

/// The identifier of a party, typed by kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "scheme", content = "value", rename_all = "snake_case")]
pub enum PartyIdentifier {
    CreditCode(CreditCode),
    ResidentId(ResidentId),
}

impl PartyIdentifier {
    pub fn as_str(&self) -> &str {
        match self {
            Self::CreditCode(c) => c.as_str(),
            Self::ResidentId(r) => r.as_str(),
        }
    }
    /// What the public may see: credit codes are public, resident ID numbers are masked.
    pub fn public_form(&self) -> String {
        match self {
            Self::CreditCode(c) => c.to_string(),
            Self::ResidentId(r) => r.masked(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Party {
    pub id: Uuid,
    pub kind: PartyKind,
    pub name: String,
    pub identifier: PartyIdentifier,
    pub address: String,
    pub attributes: OrgAttributes,
}

impl NewParty {
    pub fn parse(self, id: Uuid) -> Result<Party, DomainError> {
        let mut errors = Vec::new();
        let name = self.name.trim().to_string();
        if name.is_empty() {
            errors.push(FieldError::new("name", "required", "name is required"));
        } else if name.chars().count() > 200 {
            errors.push(FieldError::new("name", "too_long", "name must be at most 200 characters"));
        }
        if self.address.trim().chars().count() > 500 {
            errors.push(FieldError::new("address", "too_long", "address must be at most 500 characters"));
        }
        let identifier = match self.kind {
            PartyKind::NaturalPerson => ResidentId::parse(&self.id_number).map(PartyIdentifier::ResidentId),
            _ => CreditCode::parse(&self.id_number).map(PartyIdentifier::CreditCode),
        };
        let identifier = match identifier {
            Ok(i) => Some(i),
            // A bad identifier is reported under its own code, which clients show next to the field.
            Err(e) if errors.is_empty() => return Err(e),
            Err(e) => {
                errors.push(FieldError::new("id_number", e.code(), e.to_string()));
                None
            }
        };
        if !errors.is_empty() {
            return Err(DomainError::Validation(errors));
        }
        let attributes = if self.kind == PartyKind::NaturalPerson { OrgAttributes::default() } else { self.attributes };
        Ok(Party {
            id,
            kind: self.kind,
            name,
            identifier: identifier.expect("set when no errors"),
            address: self.address.trim().to_string(),
            attributes,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_free_text_field_of_a_party_is_capped() {
        let party = |name: &str, address: &str| NewParty {
            kind: PartyKind::LegalPerson,
            name: name.into(),
            id_number: "91350100M000100Y43".into(),
            address: address.into(),
            attributes: OrgAttributes::default(),
        };
        assert!(party("示例公司", &"路".repeat(500)).parse(Uuid::nil()).is_ok());
        let Err(DomainError::Validation(errors)) = party(&"名".repeat(201), &"路".repeat(501)).parse(Uuid::nil())
        else {
            panic!("refused")
        };
        let fields: Vec<(&str, &str)> = errors.iter().map(|e| (e.field.as_str(), e.code.as_str())).collect();
        assert_eq!(fields, [("name", "too_long"), ("address", "too_long")]);
    }
}

/// A snapshot of a party as it was when it filed: the record must not change if the party's details do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PartyRef {
    pub id: Uuid,
    pub kind: PartyKind,
    pub name: String,
    /// Credit code, or the resident ID number (masked in every public view).
    pub id_number: String,
    /// The organisation's attributes when it filed (for the statistics).
    #[serde(default)]
    pub attributes: OrgAttributes,
}

impl From<&Party> for PartyRef {
    fn from(p: &Party) -> Self {
        Self {
            id: p.id,
            kind: p.kind,
            name: p.name.clone(),
            id_number: p.identifier.as_str().to_string(),
            attributes: p.attributes.clone(),
        }
    }
}

impl PartyRef {
    /// The identifier as the public may see it: resident ID numbers masked.
    pub fn public_id_number(&self) -> String {
        match self.kind {
            PartyKind::NaturalPerson => {
                ResidentId::parse(&self.id_number).map(|r| r.masked()).unwrap_or_else(|_| "******".into())
            }
            _ => self.id_number.clone(),
        }
    }
}
