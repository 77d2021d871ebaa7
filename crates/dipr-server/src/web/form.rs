//! What every form shares: the translated errors of a refused request, placed at their fields (the
//! templates' `macros.html` shows them), and the signed-in form preamble in [`crate::web::session`].

use dipr_domain::FieldError;

use crate::web::i18n::Lang;
use dipr_registry::Error;

/// A refused request's problems, translated, each at the id of the form field it concerns.
#[derive(Debug, Default)]
pub struct Errors(pub Vec<(String, String)>);

impl Errors {
    /// A refused request's problems: each field error at its field (`map` turns the service's field names
    /// into the form's ids), a refusal without field errors at `top`.
    pub fn of(e: &Error, l: Lang, map: &dyn Fn(&str) -> String, top: &str) -> Self {
        let mut errors: Vec<(String, String)> =
            e.details.iter().map(|d| (map(&d.field), crate::web::messages::text(&d.code, &d.message, l))).collect();
        if errors.is_empty() {
            errors.push((top.to_string(), crate::web::messages::refusal(e, l)));
        }
        Self(errors)
    }

    /// Field errors as they are, translated by code.
    pub fn fields(details: &[FieldError], l: Lang) -> Self {
        Self(details.iter().map(|d| (d.field.clone(), crate::web::messages::text(&d.code, &d.message, l))).collect())
    }

    /// One message at `field`.
    pub fn one(field: &str, message: String) -> Self {
        Self(vec![(field.to_string(), message)])
    }

    /// The messages at `field`.
    pub fn at<'a>(&'a self, field: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0.iter().filter(move |(f, _)| f == field).map(|(_, m)| m.as_str())
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}
