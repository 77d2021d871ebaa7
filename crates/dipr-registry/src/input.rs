//! Input that arrives as text (amounts, dates, terms), checked so that every bad field of a request is
//! reported at once.

use chrono::NaiveDate;
use dipr_domain::encumbrance::{Money, Term};
use dipr_domain::{DomainError, FieldError};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::error::Error;
use crate::error::Result;

/// An amount in yuan: `"12345.67"` or a JSON number.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum Amount {
    Text(String),
    #[schema(value_type = f64)]
    Number(serde_json::Number),
}

impl Amount {
    pub fn raw(&self) -> String {
        match self {
            Self::Text(s) => s.clone(),
            Self::Number(n) => n.to_string(),
        }
    }
}

/// Collects field errors so that a form reports every bad field at once.
#[derive(Default)]
pub struct Fields(pub Vec<FieldError>);

impl Fields {
    pub fn money(&mut self, field: &str, a: &Amount) -> Option<Money> {
        match Money::parse(&a.raw()).and_then(|m| m.positive(field)) {
            Ok(m) => Some(m),
            Err(_) => {
                self.0.push(FieldError::new(
                    field,
                    "invalid_amount",
                    format!("{:?} is not an amount in yuan above zero with at most two decimals", a.raw()),
                ));
                None
            }
        }
    }
    pub fn date(&mut self, field: &str, raw: &str) -> Option<NaiveDate> {
        match NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d") {
            Ok(d) => Some(d),
            Err(_) => {
                self.0.push(FieldError::new(field, "invalid_date", format!("{raw:?} is not a date (YYYY-MM-DD)")));
                None
            }
        }
    }
    pub fn term(&mut self, start: &str, end: &str) -> Option<Term> {
        let (s, e) = (self.date("start", start), self.date("end", end));
        match Term::new(s?, e?) {
            Ok(t) => Some(t),
            Err(DomainError::Validation(mut errs)) => {
                for e in &mut errs {
                    e.field = "end".into();
                }
                self.0.extend(errs);
                None
            }
            Err(_) => None,
        }
    }
    pub fn done(self) -> Result<()> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(Error::validation(self.0))
        }
    }
}
