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

    /// The strings of an unconverted page (being moved to templates).
    pub fn html_at(&self, field: &str) -> String {
        self.at(field).map(|m| crate::web::layout::error_span(field, m)).collect()
    }
}

// The string helpers of pages not yet moved to templates (templates use the macros in macros.html).

pub fn input(name: &str, label: &str, value: &str, errors: &Errors, kind: &str) -> String {
    format!(
        "<label for=\"{name}\">{label}</label><input id=\"{name}\" name=\"{name}\" type=\"{kind}\" value=\"{}\" aria-describedby=\"err-{name}\">{}",
        crate::web::layout::esc(value),
        errors.html_at(name)
    )
}

pub fn textarea(name: &str, label: &str, value: &str, errors: &Errors) -> String {
    format!(
        "<label for=\"{name}\">{label}</label><textarea id=\"{name}\" name=\"{name}\" rows=\"3\" aria-describedby=\"err-{name}\">{}</textarea>{}",
        crate::web::layout::esc(value),
        errors.html_at(name)
    )
}

pub fn select(name: &str, label: &str, value: &str, options: &[(&str, String)], errors: &Errors) -> String {
    let mut opts = String::new();
    for (v, text) in options {
        let sel = if *v == value { " selected" } else { "" };
        opts.push_str(&format!("<option value=\"{v}\"{sel}>{}</option>", crate::web::layout::esc(text)));
    }
    format!(
        "<label for=\"{name}\">{label}</label><select id=\"{name}\" name=\"{name}\">{opts}</select>{}",
        errors.html_at(name)
    )
}
