use serde::{Deserialize, Serialize};
use std::fmt;

/// A decentralized identifier (`did:plc:...`, `did:web:...`), checked against the ATProto DID syntax.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Did(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DidError {
    #[error("a DID starts with \"did:\"")]
    MissingPrefix,
    #[error("a DID is at most 2048 characters")]
    TooLong,
    #[error("the DID method must be lowercase letters")]
    BadMethod,
    #[error("the DID has an empty or invalid identifier")]
    BadIdentifier,
}

impl Did {
    /// Parses a DID following <https://atproto.com/specs/did>: `did:<method>:<identifier>`, where the
    /// method is lowercase ASCII letters and the identifier uses `[A-Za-z0-9._:%-]`, not ending in `:`.
    pub fn parse(input: &str) -> Result<Self, DidError> {
        let rest = input.strip_prefix("did:").ok_or(DidError::MissingPrefix)?;
        if input.len() > 2048 {
            return Err(DidError::TooLong);
        }
        let (method, identifier) = rest.split_once(':').ok_or(DidError::BadIdentifier)?;
        if method.is_empty() || !method.bytes().all(|b| b.is_ascii_lowercase()) {
            return Err(DidError::BadMethod);
        }
        let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':' | '%' | '-');
        if identifier.is_empty() || identifier.ends_with(':') || !identifier.chars().all(allowed) {
            return Err(DidError::BadIdentifier);
        }
        Ok(Self(input.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Did {
    type Error = DidError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Did> for String {
    fn from(did: Did) -> Self {
        did.0
    }
}

impl fmt::Display for Did {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_plc_and_web_dids() {
        for ok in [
            "did:plc:z72i7hdynmk6r22z27h6tvur",
            "did:web:example.com",
            "did:web:localhost%3A2583",
        ] {
            assert_eq!(Did::parse(ok).map(|d| d.to_string()), Ok(ok.to_owned()));
        }
    }

    #[test]
    fn rejects_malformed_dids() {
        assert_eq!(Did::parse("plc:abc"), Err(DidError::MissingPrefix));
        assert_eq!(Did::parse("did:PLC:abc"), Err(DidError::BadMethod));
        assert_eq!(Did::parse("did:plc:"), Err(DidError::BadIdentifier));
        assert_eq!(Did::parse("did:plc:abc:"), Err(DidError::BadIdentifier));
        assert_eq!(Did::parse("did:plc:a b"), Err(DidError::BadIdentifier));
        assert_eq!(Did::parse("did:plc"), Err(DidError::BadIdentifier));
    }
}
