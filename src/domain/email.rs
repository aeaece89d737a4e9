use serde::{Deserialize, Serialize};
use std::fmt;

/// An email address a person gave, trimmed and lowercased (one account per address, however it
/// is typed), checked by `email_address` (RFC 5321/5322, the same checks `lettre` applies before
/// it sends) and further required to have a domain with a dot, as every deliverable address does.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct EmailAddress(String);

/// The longest address SMTP carries (RFC 5321's path limit, less the angle brackets).
pub const EMAIL_MAX_CHARS: usize = 254;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmailError {
    #[error("enter your email address")]
    Empty,
    #[error("an email address is at most {EMAIL_MAX_CHARS} characters")]
    TooLong,
    #[error("that is not an email address, like alice@example.com")]
    Invalid,
}

impl EmailAddress {
    pub fn parse(input: &str) -> Result<Self, EmailError> {
        let address = input.trim().to_lowercase();
        if address.is_empty() {
            return Err(EmailError::Empty);
        }
        if address.chars().count() > EMAIL_MAX_CHARS {
            return Err(EmailError::TooLong);
        }
        // Only the address itself (no "Name <…>"), a domain with a top-level part, no IP
        // literal (nobody signs up as root@[127.0.0.1]) and no quoted local part.
        let options = email_address::Options::default()
            .with_required_tld()
            .without_domain_literal()
            .without_display_text();
        let valid = email_address::EmailAddress::parse_with_options(&address, options)
            .is_ok_and(|parsed| parsed.email() == address && !parsed.local_part().starts_with('"'));
        if !valid {
            return Err(EmailError::Invalid);
        }
        Ok(Self(address))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The part before the `@`, which a password must not be built from.
    pub fn local_part(&self) -> &str {
        self.0.rsplit_once('@').map_or(&self.0, |(local, _)| local)
    }
}

impl TryFrom<String> for EmailAddress {
    type Error = EmailError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<EmailAddress> for String {
    fn from(address: EmailAddress) -> Self {
        address.0
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Shown in logs as the domain only: an address is personal data.
impl fmt::Debug for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.rsplit_once('@') {
            Some((_, domain)) => write!(f, "EmailAddress(…@{domain})"),
            None => f.write_str("EmailAddress(…)"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_trimmed_and_lowercased() {
        let address = EmailAddress::parse("  Alice.Smith@Example.ORG ").expect("valid");
        assert_eq!(address.as_str(), "alice.smith@example.org");
        assert_eq!(address.local_part(), "alice.smith");
        assert_eq!(format!("{address:?}"), "EmailAddress(…@example.org)");
    }

    #[test]
    fn what_is_not_a_deliverable_address_is_refused() {
        for bad in [
            "",
            "   ",
            "alice",
            "alice@",
            "@example.org",
            "alice@localhost",
            "alice@@example.org",
            "al ice@example.org",
            "alice@[127.0.0.1]",
            "alice@example..org",
            ".alice@example.org",
            "<script>@example.org",
            "Alice <alice@example.org>",
            "\"al ice\"@example.org",
        ] {
            assert!(EmailAddress::parse(bad).is_err(), "{bad:?}");
        }
        let long = format!("{}@example.org", "a".repeat(250));
        assert_eq!(EmailAddress::parse(&long), Err(EmailError::TooLong));
    }
}
