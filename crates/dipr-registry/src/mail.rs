//! Plain-text mail through the configured `[smtp]` server: watch alerts and password reset links.

use std::time::Duration;

use crate::watch_settings::{SmtpSettings, SmtpTls};

/// The longest e-mail address SMTP carries (RFC 5321's path limit).
pub const MAX_EMAIL_CHARS: usize = 254;

/// Whether `email` (already trimmed) is an address mail can be sent to.
pub fn is_address(email: &str) -> bool {
    email.len() <= MAX_EMAIL_CHARS && email.parse::<lettre::Address>().is_ok()
}

/// Hand one UTF-8 text mail to the SMTP server: the server's reply code, or why it was not taken.
pub async fn send(smtp: SmtpSettings, to: String, subject: String, text: String) -> Result<Option<u16>, String> {
    tokio::task::spawn_blocking(move || {
        use lettre::Transport as _;
        let err = |e: &dyn std::fmt::Display| e.to_string();
        let message = lettre::Message::builder()
            .from(smtp.from.parse().map_err(|e| err(&e))?)
            .to(to.parse().map_err(|e| err(&e))?)
            .subject(subject)
            .header(lettre::message::header::ContentType::TEXT_PLAIN)
            // 8-bit UTF-8, readable as sent (every current mail server takes 8BITMIME); a text with a line
            // too long for that (a long name or address) is encoded as lettre chooses.
            .body(
                lettre::message::Body::new_with_encoding(
                    text,
                    lettre::message::header::ContentTransferEncoding::EightBit,
                )
                .unwrap_or_else(lettre::message::Body::new),
            )
            .map_err(|e| err(&e))?;
        let builder = match smtp.tls {
            SmtpTls::Starttls => lettre::SmtpTransport::starttls_relay(&smtp.host).map_err(|e| err(&e))?,
            SmtpTls::Tls => lettre::SmtpTransport::relay(&smtp.host).map_err(|e| err(&e))?,
            SmtpTls::None => lettre::SmtpTransport::builder_dangerous(&smtp.host),
        };
        let mut mailer = builder.port(smtp.port).timeout(Some(Duration::from_secs(smtp.timeout_secs)));
        if let (Some(u), Some(p)) = (smtp.username, smtp.password) {
            mailer = mailer.credentials(lettre::transport::smtp::authentication::Credentials::new(u, p));
        }
        mailer.build().send(&message).map(|r| Some(u16::from(r.code()))).map_err(|e| err(&e))
    })
    .await
    .unwrap_or_else(|e| Err(e.to_string()))
}
