use serde::{Deserialize, Serialize};
use std::{fmt, str::FromStr};

/// How a person signs in: with their Bluesky (ATProto) account, or a local account.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Provider {
    Bluesky,
    Local,
}

impl Provider {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Bluesky => "bluesky",
            Self::Local => "local",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown sign-in provider {0:?}")]
pub struct UnknownProvider(pub String);

impl FromStr for Provider {
    type Err = UnknownProvider;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "bluesky" => Ok(Self::Bluesky),
            "local" => Ok(Self::Local),
            other => Err(UnknownProvider(other.to_owned())),
        }
    }
}

impl fmt::Display for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
