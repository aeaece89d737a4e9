//! The places an event names (the `locations` of its record), each as a page shows it: not only
//! the first address, but every entry, including kinds this version cannot read.

use super::{Address, EventDraft, Geo, Link};
use serde::{Deserialize, Serialize};

/// The most characters of any one text a place shows; records are written by strangers.
pub const PLACE_TEXT_MAX_CHARS: usize = 300;

/// One entry of an event's `locations`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Place {
    /// A postal address: its name and the lines it gives (street, town, region, country).
    Address { name: Option<String>, lines: Vec<String> },
    /// A point on the map.
    Point { name: Option<String>, geo: Geo },
    /// A Foursquare place, by its id, with its coordinates when the record gives them.
    Foursquare {
        name: Option<String>,
        place_id: String,
        geo: Option<Geo>,
    },
    /// An H3 cell (a hexagon of the globe), by its index.
    H3Cell { name: Option<String>, cell: String },
    /// Online, at a link.
    Online(Link),
    /// A kind this version does not read: its `$type` as written, and a name when it has one.
    Other { kind: Option<String>, name: Option<String> },
}

impl Place {
    /// What kind of place, in one word for pages and tests (`data-kind`).
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Address { .. } => "address",
            Self::Point { .. } => "point",
            Self::Foursquare { .. } => "foursquare",
            Self::H3Cell { .. } => "h3",
            Self::Online(_) => "online",
            Self::Other { .. } => "other",
        }
    }

    /// The places of an event kept without a record: those its form fields give.
    pub fn of_draft(draft: &EventDraft) -> Vec<Self> {
        let address = draft.address.as_ref().map(Self::address);
        let point = draft.geo.clone().map(|geo| Self::Point { name: None, geo });
        let online = draft.online.clone().map(Self::Online);
        [address, point, online].into_iter().flatten().collect()
    }

    /// The words a search finds it by: its name and address lines (links are not words).
    pub fn words(&self) -> String {
        let (name, more): (&Option<String>, &[String]) = match self {
            Self::Address { name, lines } => (name, lines),
            Self::Point { name, .. }
            | Self::Foursquare { name, .. }
            | Self::H3Cell { name, .. }
            | Self::Other { name, .. } => (name, &[]),
            Self::Online(link) => (&link.name, &[]),
        };
        name.iter()
            .chain(more)
            .map(|text| place_text(text))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Where it is on the globe, when it says so: `(latitude, longitude)`.
    pub fn point(&self) -> Option<(f64, f64)> {
        match self {
            Self::Point { geo, .. } | Self::Foursquare { geo: Some(geo), .. } => geo.point(),
            _ => None,
        }
    }

    pub fn address(address: &Address) -> Self {
        let town = [&address.postal_code, &address.locality]
            .into_iter()
            .flatten()
            .map(|part| part.trim())
            .filter(|part| !part.is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        let lines = [
            address.street.clone(),
            Some(town),
            address.region.clone(),
            address.country.clone(),
        ]
        .into_iter()
        .flatten()
        .map(|line| place_text(&line))
        .filter(|line| !line.is_empty())
        .collect();
        Self::Address {
            name: address.name.as_deref().map(place_text).filter(|name| !name.is_empty()),
            lines,
        }
    }
}

impl Geo {
    /// The coordinates as numbers, when they are numbers on the globe; anything else a record
    /// says is `None`.
    pub fn point(&self) -> Option<(f64, f64)> {
        let latitude: f64 = self.latitude.trim().parse().ok()?;
        let longitude: f64 = self.longitude.trim().parse().ok()?;
        ((-90.0..=90.0).contains(&latitude) && (-180.0..=180.0).contains(&longitude)).then_some((latitude, longitude))
    }

    /// The point on OpenStreetMap's map, when it is a point on the globe.
    pub fn map_url(&self) -> Option<String> {
        let (latitude, longitude) = self.point()?;
        Some(format!(
            "https://www.openstreetmap.org/?mlat={latitude}&mlon={longitude}#map=16/{latitude}/{longitude}"
        ))
    }
}

/// `text` trimmed, without control characters, cut at [`PLACE_TEXT_MAX_CHARS`].
pub fn place_text(text: &str) -> String {
    text.trim()
        .chars()
        .filter(|c| !c.is_control())
        .take(PLACE_TEXT_MAX_CHARS)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_shows_the_lines_it_has() {
        let place = Place::address(&Address {
            name: Some("Library".to_owned()),
            street: Some("1 Main St".to_owned()),
            locality: Some("Lyon".to_owned()),
            postal_code: Some("69001".to_owned()),
            country: Some("FR".to_owned()),
            region: None,
        });
        assert_eq!(
            place,
            Place::Address {
                name: Some("Library".to_owned()),
                lines: vec!["1 Main St".to_owned(), "69001 Lyon".to_owned(), "FR".to_owned()],
            }
        );
    }

    #[test]
    fn only_points_on_the_globe_get_a_map_link() {
        let geo = |lat: &str, lon: &str| Geo {
            latitude: lat.to_owned(),
            longitude: lon.to_owned(),
        };
        assert_eq!(
            geo("45.76", "4.83").map_url().as_deref(),
            Some("https://www.openstreetmap.org/?mlat=45.76&mlon=4.83#map=16/45.76/4.83")
        );
        assert_eq!(geo("91", "0").map_url(), None);
        assert_eq!(geo("NaN", "0").map_url(), None);
        assert_eq!(geo("\"><script>", "0").map_url(), None);
    }

    #[test]
    fn long_hostile_text_is_cut() {
        assert_eq!(place_text(&"a\u{7}".repeat(1000)).chars().count(), PLACE_TEXT_MAX_CHARS);
    }
}
