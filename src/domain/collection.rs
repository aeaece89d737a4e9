//! The record collections Skymeet keeps: calendar events and the answers (RSVPs) to them.

use serde::{Deserialize, Serialize};

/// A calendar collection, named on the network by its NSID.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Collection {
    /// `community.lexicon.calendar.event`
    Event,
    /// `community.lexicon.calendar.rsvp`
    Rsvp,
}

impl Collection {
    pub const ALL: [Collection; 2] = [Self::Event, Self::Rsvp];

    /// The collection's NSID, as at-uris and XRPC calls name it.
    pub const fn nsid(self) -> &'static str {
        match self {
            Self::Event => "community.lexicon.calendar.event",
            Self::Rsvp => "community.lexicon.calendar.rsvp",
        }
    }

    /// The calendar collection an NSID names; `None` for every other collection.
    pub fn from_nsid(nsid: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|collection| collection.nsid() == nsid)
    }

    /// A short name for logs and metric labels.
    pub fn label(self) -> &'static str {
        match self {
            Self::Event => "event",
            Self::Rsvp => "rsvp",
        }
    }
}

impl std::fmt::Display for Collection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.nsid())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nsids_round_trip_and_nothing_else_is_a_calendar_collection() {
        for collection in Collection::ALL {
            assert_eq!(Collection::from_nsid(collection.nsid()), Some(collection));
        }
        assert_eq!(Collection::from_nsid("app.bsky.feed.post"), None);
        assert_eq!(Collection::from_nsid("community.lexicon.calendar.events"), None);
    }
}
