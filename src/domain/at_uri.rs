use super::{Did, Rkey};
use serde::{Deserialize, Serialize};
use std::fmt;

/// The address of one record: `at://{did}/{collection}/{rkey}`. Only DID authorities are
/// accepted: records we keep must not change address when a handle changes.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct AtUri {
    did: Did,
    collection: String,
    rkey: Rkey,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a record's at-uri (at://did/collection/rkey)")]
pub struct AtUriError(pub String);

impl AtUri {
    pub fn new(did: Did, collection: &str, rkey: Rkey) -> Self {
        Self {
            did,
            collection: collection.to_owned(),
            rkey,
        }
    }

    pub fn parse(input: &str) -> Result<Self, AtUriError> {
        let error = || AtUriError(input.chars().take(300).collect());
        let rest = input.strip_prefix("at://").ok_or_else(error)?;
        let mut parts = rest.split('/');
        let (Some(did), Some(collection), Some(rkey), None) = (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(error());
        };
        let nsid_ok = collection.split('.').count() >= 3
            && collection
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-');
        if !nsid_ok {
            return Err(error());
        }
        Ok(Self {
            did: Did::parse(did).map_err(|_| error())?,
            collection: collection.to_owned(),
            rkey: Rkey::parse(rkey).map_err(|_| error())?,
        })
    }

    pub fn did(&self) -> &Did {
        &self.did
    }

    pub fn collection(&self) -> &str {
        &self.collection
    }

    pub fn rkey(&self) -> &Rkey {
        &self.rkey
    }
}

impl TryFrom<String> for AtUri {
    type Error = AtUriError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<AtUri> for String {
    fn from(uri: AtUri) -> Self {
        uri.to_string()
    }
}

impl fmt::Display for AtUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at://{}/{}/{}", self.did, self.collection, self.rkey)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let text = "at://did:plc:abc123/community.lexicon.calendar.event/3jzfcijpj2z2a";
        let uri = AtUri::parse(text).expect("valid");
        assert_eq!(uri.did().as_str(), "did:plc:abc123");
        assert_eq!(uri.collection(), "community.lexicon.calendar.event");
        assert_eq!(uri.rkey().as_str(), "3jzfcijpj2z2a");
        assert_eq!(uri.to_string(), text);
    }

    #[test]
    fn rejects_other_shapes() {
        for bad in [
            "https://example.com",
            "at://alice.test/community.lexicon.calendar.event/abc",
            "at://did:plc:abc/community.lexicon.calendar.event",
            "at://did:plc:abc/not-an-nsid/abc",
            "at://did:plc:abc/a.b.c/d/e",
        ] {
            assert!(AtUri::parse(bad).is_err(), "{bad}");
        }
    }
}
