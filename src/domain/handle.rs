use serde::{Deserialize, Serialize};
use std::fmt;

/// An ATProto handle such as `alice.bsky.social`, normalised to lowercase without a leading `@`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Handle(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HandleError {
    #[error("a handle is at most 253 characters")]
    TooLong,
    #[error("a handle needs at least two parts separated by dots, like alice.bsky.social")]
    TooFewSegments,
    #[error("each part of a handle is 1 to 63 letters, digits or hyphens, not starting or ending with a hyphen")]
    BadSegment,
    #[error("the last part of a handle cannot start with a digit")]
    NumericTld,
}

impl Handle {
    /// Parses a handle following <https://atproto.com/specs/handle>. A leading `@` and surrounding
    /// whitespace are ignored; the result is lowercase.
    pub fn parse(input: &str) -> Result<Self, HandleError> {
        let handle = input.trim().trim_start_matches('@').to_ascii_lowercase();
        if handle.len() > 253 {
            return Err(HandleError::TooLong);
        }
        let segments: Vec<&str> = handle.split('.').collect();
        if segments.len() < 2 {
            return Err(HandleError::TooFewSegments);
        }
        let valid_segment = |s: &&str| {
            !s.is_empty()
                && s.len() <= 63
                && !s.starts_with('-')
                && !s.ends_with('-')
                && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        };
        if !segments.iter().all(valid_segment) {
            return Err(HandleError::BadSegment);
        }
        if segments
            .last()
            .is_some_and(|tld| tld.starts_with(|c: char| c.is_ascii_digit()))
        {
            return Err(HandleError::NumericTld);
        }
        Ok(Self(handle))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Handle {
    type Error = HandleError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Handle> for String {
    fn from(handle: Handle) -> Self {
        handle.0
    }
}

impl fmt::Display for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_at_sign_case_and_whitespace() {
        assert_eq!(
            Handle::parse(" @Alice.BSKY.social ").map(String::from),
            Ok("alice.bsky.social".into())
        );
        assert_eq!(Handle::parse("alice.test").map(String::from), Ok("alice.test".into()));
    }

    #[test]
    fn rejects_invalid_handles() {
        assert_eq!(Handle::parse("alice"), Err(HandleError::TooFewSegments));
        assert_eq!(Handle::parse("alice..test"), Err(HandleError::BadSegment));
        assert_eq!(Handle::parse("-alice.test"), Err(HandleError::BadSegment));
        assert_eq!(Handle::parse("al_ice.test"), Err(HandleError::BadSegment));
        assert_eq!(Handle::parse("alice.123"), Err(HandleError::NumericTld));
        assert_eq!(
            Handle::parse(&format!("{}.test", "a".repeat(250))),
            Err(HandleError::TooLong)
        );
    }
}
