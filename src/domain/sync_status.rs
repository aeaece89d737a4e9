use serde::{Deserialize, Serialize};
use std::{fmt, str::FromStr};

/// Where a local event stands relative to the record in its owner's PDS.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SyncStatus {
    /// Only local: not (yet) meant to be on a PDS.
    Local,
    /// A write to the PDS is queued or being retried.
    Pending,
    /// The local copy equals the PDS record (same CID).
    InSync,
    /// The PDS record changed under us; someone has to decide.
    Conflict,
    /// The PDS refused the write for good.
    Failed,
}

impl SyncStatus {
    pub const ALL: [SyncStatus; 5] = [Self::Local, Self::Pending, Self::InSync, Self::Conflict, Self::Failed];

    /// The stable name stored in the database and used in URLs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Local => "local",
            Self::Pending => "pending",
            Self::InSync => "in_sync",
            Self::Conflict => "conflict",
            Self::Failed => "failed",
        }
    }

    /// The words a person reads on a badge.
    pub fn label(self) -> &'static str {
        match self {
            Self::Local => "On Skymeet only",
            Self::Pending => "Pending",
            Self::InSync => "In sync",
            Self::Conflict => "Conflict",
            Self::Failed => "Failed",
        }
    }
}

impl From<super::WriteState> for SyncStatus {
    /// How a record stands while a write of it waits in `state`.
    fn from(state: super::WriteState) -> Self {
        match state {
            super::WriteState::Pending => Self::Pending,
            super::WriteState::Failed => Self::Failed,
            super::WriteState::Conflict => Self::Conflict,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown sync status {0:?}")]
pub struct UnknownSyncStatus(pub String);

impl FromStr for SyncStatus {
    type Err = UnknownSyncStatus;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|status| status.as_str() == s)
            .ok_or_else(|| UnknownSyncStatus(s.to_owned()))
    }
}

impl fmt::Display for SyncStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for status in SyncStatus::ALL {
            assert_eq!(status.as_str().parse(), Ok(status));
        }
        assert!("published".parse::<SyncStatus>().is_err());
    }
}
