use serde::{Deserialize, Serialize};

/// Who may see an event. Only an event kept on Skymeet can be other than public: a record on a
/// PDS is public to the whole network.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Visibility {
    /// Listed, searchable, in feeds, and published to the organiser's PDS when they have one.
    #[default]
    Public,
    /// Seen by whoever has its link; never listed, searched or published.
    Unlisted,
    /// Seen only by its organiser and the people they invited; never listed, searched or published.
    Private,
}

impl Visibility {
    pub const ALL: [Self; 3] = [Self::Public, Self::Unlisted, Self::Private];

    /// The stable name stored in the database and sent by the form.
    pub fn name(self) -> &'static str {
        match self {
            Self::Public => "public",
            Self::Unlisted => "unlisted",
            Self::Private => "private",
        }
    }

    /// The words a person reads in the form and on the event.
    pub fn label(self) -> &'static str {
        match self {
            Self::Public => "Public: listed and searchable",
            Self::Unlisted => "Unlisted: only people with the link",
            Self::Private => "Private: only people you invite",
        }
    }

    /// The form's value: empty means public.
    pub fn parse(name: &str) -> Result<Self, UnknownVisibility> {
        match name.trim() {
            "" => Ok(Self::Public),
            name => Self::ALL
                .into_iter()
                .find(|visibility| visibility.name() == name)
                .ok_or_else(|| UnknownVisibility(name.chars().take(40).collect())),
        }
    }

    /// Whether it is kept out of listings, searches and feeds.
    pub fn is_hidden(self) -> bool {
        self != Self::Public
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown visibility {0:?}")]
pub struct UnknownVisibility(pub String);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_its_names_and_nothing_else() {
        for visibility in Visibility::ALL {
            assert_eq!(Visibility::parse(visibility.name()), Ok(visibility));
        }
        assert_eq!(Visibility::parse(""), Ok(Visibility::Public));
        assert!(Visibility::parse("secret").is_err());
        assert!(Visibility::parse("PUBLIC").is_err());
    }
}
