//! A repo revision: the TID that names one commit of a repo. A later commit has a greater
//! revision, so revisions order the changes to a record even when the network delivers them late.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A repo revision. Ordered as its text, which for TIDs is their time order.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Rev(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a repo revision: {0:?}")]
pub struct RevError(pub String);

impl Rev {
    /// Accepts 1 to 64 ASCII letters and digits (a TID is 13 of them); anything else is refused, so
    /// a stranger's commit cannot smuggle markup or a megabyte into a column.
    pub fn parse(input: &str) -> Result<Self, RevError> {
        let valid = (1..=64).contains(&input.len()) && input.bytes().all(|b| b.is_ascii_alphanumeric());
        if valid {
            Ok(Self(input.to_owned()))
        } else {
            Err(RevError(input.chars().take(64).collect()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Rev {
    type Error = RevError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Rev> for String {
    fn from(rev: Rev) -> Self {
        rev.0
    }
}

impl From<super::Rkey> for Rev {
    /// A TID record key read as a revision (our clock standing in where a PDS names none).
    fn from(tid: super::Rkey) -> Self {
        Self(tid.as_str().to_owned())
    }
}

impl fmt::Display for Rev {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn revisions_parse_strictly_and_order_by_time() {
        let earlier = Rev::parse("3lbq2aaaaaaa2").expect("a TID");
        let later = Rev::parse("3lbq2vxyzab2c").expect("a TID");
        assert!(earlier < later);
        for hostile in ["", "</title>", "3lbq 2", &"a".repeat(65)] {
            assert!(Rev::parse(hostile).is_err(), "{hostile:?}");
        }
        assert!(serde_json::from_str::<Rev>(r#""<b>""#).is_err());
    }
}
