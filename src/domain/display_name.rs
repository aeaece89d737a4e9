use serde::{Deserialize, Serialize};
use std::fmt;

/// The name a person with a local account goes by: what pages show beside their events and
/// answers. Trimmed, inner runs of whitespace made one space, no control or invisible formatting
/// characters (which could make one name look like another's, or reorder the text around it).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct DisplayName(String);

pub const DISPLAY_NAME_MAX_CHARS: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DisplayNameError {
    #[error("enter the name people will see")]
    Empty,
    #[error("a name is at most {DISPLAY_NAME_MAX_CHARS} characters")]
    TooLong,
    #[error("a name cannot hold control or invisible formatting characters")]
    Hidden,
}

impl DisplayName {
    pub fn parse(input: &str) -> Result<Self, DisplayNameError> {
        if input.chars().any(|c| {
            (c.is_control() && !c.is_whitespace())
                || matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{FEFF}')
        }) {
            return Err(DisplayNameError::Hidden);
        }
        let name = input.split_whitespace().collect::<Vec<_>>().join(" ");
        if name.is_empty() {
            return Err(DisplayNameError::Empty);
        }
        if name.chars().count() > DISPLAY_NAME_MAX_CHARS {
            return Err(DisplayNameError::TooLong);
        }
        Ok(Self(name))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for DisplayName {
    type Error = DisplayNameError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<DisplayName> for String {
    fn from(name: DisplayName) -> Self {
        name.0
    }
}

impl fmt::Display for DisplayName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_tidied_and_bounded() {
        assert_eq!(
            DisplayName::parse("  Ada \t Lovelace ").expect("valid").as_str(),
            "Ada Lovelace"
        );
        assert_eq!(DisplayName::parse("   "), Err(DisplayNameError::Empty));
        assert_eq!(DisplayName::parse(&"é".repeat(65)), Err(DisplayNameError::TooLong));
        assert!(DisplayName::parse(&"é".repeat(64)).is_ok());
        for hidden in ["Ada\u{202E}ecalovol", "Ada\u{200B}", "Ada\u{0}", "Ada\u{7}"] {
            assert_eq!(DisplayName::parse(hidden), Err(DisplayNameError::Hidden), "{hidden:?}");
        }
    }
}
