use serde::{Deserialize, Serialize};
use std::fmt;

/// A record key: the last part of an at-uri (<https://atproto.com/specs/record-key>). Calendar
/// records should use TIDs, but apps write other valid keys too, so any valid key is accepted.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Rkey(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a valid record key")]
pub struct RkeyError(pub String);

impl Rkey {
    pub fn parse(input: &str) -> Result<Self, RkeyError> {
        let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ':' | '~');
        let valid = (1..=512).contains(&input.len()) && input != "." && input != ".." && input.chars().all(allowed);
        if valid {
            Ok(Self(input.to_owned()))
        } else {
            Err(RkeyError(input.chars().take(64).collect()))
        }
    }

    /// A TID (<https://atproto.com/specs/tid>) from a time in microseconds since the Unix epoch and
    /// a 10-bit clock id: 13 characters of base32-sortable, so keys sort by creation time.
    pub fn tid(micros: u64, clock_id: u16) -> Self {
        const ALPHABET: &[u8; 32] = b"234567abcdefghijklmnopqrstuvwxyz";
        let value = ((micros & ((1 << 53) - 1)) << 10) | u64::from(clock_id & 0x3ff);
        let key = (0..13)
            .rev()
            .map(|i| char::from(ALPHABET[((value >> (i * 5)) & 31) as usize]))
            .collect();
        Self(key)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Rkey {
    type Error = RkeyError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Rkey> for String {
    fn from(rkey: Rkey) -> Self {
        rkey.0
    }
}

impl fmt::Display for Rkey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tids_are_13_sortable_characters() {
        let earlier = Rkey::tid(1_700_000_000_000_000, 7);
        let later = Rkey::tid(1_700_000_000_000_001, 0);
        assert_eq!(earlier.as_str().len(), 13);
        assert!(earlier.as_str() < later.as_str());
        assert!(Rkey::parse(earlier.as_str()).is_ok());
        // The first character of a TID for any date before 2200 is one of 2-7 or a-j.
        assert!(earlier.as_str().starts_with(|c: char| "234567abcdefghij".contains(c)));
    }

    #[test]
    fn accepts_any_valid_key_and_rejects_the_rest() {
        for ok in ["3jzfcijpj2z2a", "self", "event:1", "a~b_c-d.e"] {
            assert!(Rkey::parse(ok).is_ok(), "{ok}");
        }
        for bad in ["", ".", "..", "a/b", "a b", &"x".repeat(513)] {
            assert!(Rkey::parse(bad).is_err(), "{bad}");
        }
    }
}
