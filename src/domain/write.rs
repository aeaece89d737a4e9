//! A write of ours to a PDS that has not been accepted yet, and how a conflict it met was settled.
//! Stored as their stable names; pages match on the enums.

use serde::{Deserialize, Serialize};
use std::{fmt, str::FromStr};

/// Declares `as_str`, `FromStr` and `Display` for a unit enum stored by name.
macro_rules! named_enum {
    ($type:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        impl $type {
            /// The stable name stored in the database and sent as JSON.
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $text),+ }
            }
        }
        impl FromStr for $type {
            type Err = UnknownName;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok(Self::$variant),)+
                    other => Err(UnknownName { kind: stringify!($type), name: other.to_owned() }),
                }
            }
        }
        impl fmt::Display for $type {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

/// A stored name that names no variant.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {kind} {name:?}")]
pub struct UnknownName {
    pub kind: &'static str,
    pub name: String,
}

/// What a pending write asks of the PDS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WriteOperation {
    Create,
    Update,
    Delete,
}

/// Where a pending write stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WriteState {
    /// Waiting for its next attempt; the worker retries it.
    Pending,
    /// The PDS refused it for good; the owner retries or discards it.
    Failed,
    /// The record changed on the PDS since we read it (swapRecord mismatch); not retried.
    Conflict,
}

impl WriteState {
    pub const ALL: [WriteState; 3] = [Self::Pending, Self::Failed, Self::Conflict];

    /// The words a person reads.
    pub fn label(self) -> &'static str {
        match self {
            Self::Pending => "Pending",
            Self::Failed => "Failed",
            Self::Conflict => "Conflict",
        }
    }
}

/// How a conflict between our write and the PDS's version was settled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// The PDS version stays ("keep Bluesky's").
    KeptTheirs,
    /// Our version was written over it ("re-apply mine").
    ReappliedOurs,
}

impl Decision {
    /// The words a person reads.
    pub fn label(self) -> &'static str {
        match self {
            Self::KeptTheirs => "kept theirs",
            Self::ReappliedOurs => "reapplied ours",
        }
    }
}

named_enum!(WriteOperation { Create => "create", Update => "update", Delete => "delete" });
named_enum!(WriteState { Pending => "pending", Failed => "failed", Conflict => "conflict" });
named_enum!(Decision { KeptTheirs => "kept_theirs", ReappliedOurs => "reapplied_ours" });

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_match_their_json() {
        for state in WriteState::ALL {
            assert_eq!(state.as_str().parse(), Ok(state));
            assert_eq!(serde_json::to_value(state).ok(), Some(state.as_str().into()));
        }
        for decision in [Decision::KeptTheirs, Decision::ReappliedOurs] {
            assert_eq!(decision.as_str().parse(), Ok(decision));
            assert_eq!(serde_json::to_value(decision).ok(), Some(decision.as_str().into()));
        }
        assert!("published".parse::<WriteOperation>().is_err());
    }
}
