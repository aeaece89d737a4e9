//! `community.lexicon.calendar.event` records, as any app writes them.
//!
//! Reading is lenient (records on the network violate the lexicon in every way: see
//! `shared/MISSION.md`), and nothing is dropped: fields this version does not know, and location
//! kinds it cannot read, are kept as they were and written back on update.

use crate::domain::{
    Address, BlobCid, EventDraft, EventImage, EventMode, EventStatus, Geo, ImageRole, Link, Place, TimeZoneName,
    UnknownZone, ALT_MAX_CHARS,
};
use chrono::{DateTime, NaiveDateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

pub const COLLECTION: &str = crate::domain::Collection::Event.nsid();

/// One event record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CalendarEvent {
    #[serde(rename = "$type", default = "collection")]
    pub record_type: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Required by the lexicon; some records lack it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    /// Datetimes are kept as written (any offset, sometimes none) and parsed when used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub starts_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ends_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locations: Option<Vec<Location>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uris: Option<Vec<Uri>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rsvp_expected: Option<bool>,
    /// Everything else, e.g. another app's metadata or the older draft's `text`.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The field atmo.rsvp writes an event's IANA time zone in (the lexicon has none). Skymeet reads
/// it and writes it too, so an event keeps its zone in every app that reads the field.
const TIMEZONE: &str = "timezone";

/// The extension field other apps keep an event's images in: `[{role, content: blob, alt,
/// aspect_ratio}]`.
const MEDIA: &str = "media";
/// The most images of one event that are read.
const IMAGES_READ: usize = 8;

/// The zone a record gives its event.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RecordZone {
    /// `None` when the record says nothing about its zone (no `timezone`, times in UTC or with no
    /// offset).
    pub zone: Option<TimeZoneName>,
    /// Set when the record names a zone we do not know; `zone` is then what stands in for it.
    pub unknown: Option<UnknownZone>,
}

impl RecordZone {
    /// The record's zone, or `default` when it says nothing about one.
    pub fn zone_or(self, default: TimeZoneName) -> TimeZoneName {
        self.zone.unwrap_or(default)
    }
}

fn collection() -> String {
    COLLECTION.to_owned()
}

/// A member of the `locations` union; one this version cannot read is kept whole.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Location {
    Known(KnownLocation),
    Other(Value),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "$type")]
pub enum KnownLocation {
    #[serde(rename = "community.lexicon.calendar.event#uri")]
    Uri(Uri),
    #[serde(rename = "community.lexicon.location.address")]
    Address(AddressLocation),
    #[serde(rename = "community.lexicon.location.geo")]
    Geo(GeoLocation),
    #[serde(rename = "community.lexicon.location.fsq")]
    Fsq(FsqLocation),
    #[serde(rename = "community.lexicon.location.hthree")]
    Hthree(HthreeLocation),
}

/// A link (`uris` entry, or the `#uri` location).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Uri {
    pub uri: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AddressLocation {
    /// Required by the lexicon; geocoders leave it out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locality: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub street: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl AddressLocation {
    /// The address's lines, without the fields other apps add.
    pub fn address(&self) -> Address {
        Address {
            name: self.name.clone(),
            street: self.street.clone(),
            locality: self.locality.clone(),
            region: self.region.clone(),
            postal_code: self.postal_code.clone(),
            country: self.country.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GeoLocation {
    /// Decimal degrees as text; some apps write numbers, which are kept as they are.
    pub latitude: Value,
    pub longitude: Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub altitude: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub struct FsqLocation {
    pub fsq_place_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latitude: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub longitude: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HthreeLocation {
    pub value: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Debug, thiserror::Error)]
#[error("not a calendar event record: {0}")]
pub struct RecordError(String);

impl From<serde_json::Error> for RecordError {
    fn from(error: serde_json::Error) -> Self {
        Self(error.to_string())
    }
}

impl RecordError {
    /// A record (or its envelope) lacks something it must have.
    pub fn missing(what: &str) -> Self {
        Self(format!("no {what}"))
    }

    /// A field the record has, but blank (empty or only whitespace).
    pub fn blank(what: &str) -> Self {
        Self(format!("a blank {what}"))
    }

    fn invalid(what: impl std::fmt::Display) -> Self {
        Self(what.to_string())
    }
}

/// The longest name a record from the network may have, in characters.
pub const NAME_LIMIT: usize = 1000;
/// The longest description a record from the network may have, in characters.
pub const DESCRIPTION_LIMIT: usize = 20_000;
/// The most links and the most locations a record may list.
pub const LIST_LIMIT: usize = 64;

/// The start of a hostile value, for an error message that must stay short.
fn excerpt(text: &str) -> String {
    const SHOWN: usize = 40;
    let mut shown: String = text.chars().take(SHOWN).collect();
    if text.chars().nth(SHOWN).is_some() {
        shown.push('…');
    }
    format!("{shown:?}")
}

impl CalendarEvent {
    /// Reads a record from any app. Fails only without a usable `name`.
    pub fn from_value(value: Value) -> Result<Self, RecordError> {
        Ok(serde_json::from_value(value)?)
    }

    pub fn to_value(&self) -> Value {
        // Serialising plain data into a `Value` cannot fail (every key is a string).
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    /// Whether a record from the network fits what the cache shows: a name that is not blank, not
    /// too long and has no control characters, a description within bounds, times that parse
    /// (when given) and bounded lists. Anyone can write any record; the PDS checks none of this.
    pub fn check(&self) -> Result<(), RecordError> {
        let name = self.name.trim();
        if name.is_empty() {
            return Err(RecordError::blank("name"));
        }
        if name.chars().count() > NAME_LIMIT {
            return Err(RecordError::invalid(format_args!(
                "a name longer than {NAME_LIMIT} characters"
            )));
        }
        if name.chars().any(char::is_control) {
            return Err(RecordError::invalid("a name with a control character"));
        }
        if self
            .description()
            .is_some_and(|text| text.chars().count() > DESCRIPTION_LIMIT)
        {
            return Err(RecordError::invalid(format_args!(
                "a description longer than {DESCRIPTION_LIMIT} characters"
            )));
        }
        for (field, value) in [("startsAt", &self.starts_at), ("endsAt", &self.ends_at)] {
            if let Some(text) = value.as_deref().filter(|text| parse_datetime(text).is_none()) {
                return Err(RecordError::invalid(format_args!(
                    "{field} {} is not a datetime",
                    excerpt(text)
                )));
            }
        }
        let uris = self.uris.as_ref().map_or(0, Vec::len);
        let locations = self.locations.as_ref().map_or(0, Vec::len);
        if uris > LIST_LIMIT || locations > LIST_LIMIT {
            return Err(RecordError::invalid(format_args!(
                "more than {LIST_LIMIT} links or locations"
            )));
        }
        Ok(())
    }

    /// A new record from the form.
    pub fn new(draft: &EventDraft, now: DateTime<Utc>) -> Self {
        let mut record = Self {
            record_type: collection(),
            name: String::new(),
            description: None,
            created_at: Some(datetime(now)),
            starts_at: None,
            ends_at: None,
            mode: None,
            status: None,
            locations: None,
            uris: None,
            rsvp_expected: None,
            extra: Map::new(),
        };
        record.apply(draft);
        record
    }

    /// Writes the form's fields over this record, keeping whatever the form does not edit: other
    /// apps' fields, `createdAt`, and locations of kinds the form has no fields for.
    pub fn apply(&mut self, draft: &EventDraft) {
        self.name = draft.name.clone();
        self.description = draft.description.clone();
        // The current draft's `description` replaces the older draft's `text`.
        self.extra.remove("text");
        self.starts_at = draft.starts_at.map(datetime);
        self.ends_at = draft.ends_at.map(datetime);
        self.mode = Some(draft.mode.token().to_owned());
        self.status = Some(draft.status.token());
        self.extra
            .insert(TIMEZONE.to_owned(), Value::String(draft.time_zone.as_str().to_owned()));
        let mut locations: Vec<Location> = self
            .locations
            .take()
            .unwrap_or_default()
            .into_iter()
            .filter(|location| {
                !matches!(
                    location,
                    Location::Known(KnownLocation::Uri(_) | KnownLocation::Address(_) | KnownLocation::Geo(_))
                )
            })
            .collect();
        if let Some(online) = &draft.online {
            locations.insert(0, Location::Known(KnownLocation::Uri(uri(online))));
        }
        if let Some(geo) = &draft.geo {
            locations.insert(
                0,
                Location::Known(KnownLocation::Geo(GeoLocation {
                    latitude: Value::String(geo.latitude.clone()),
                    longitude: Value::String(geo.longitude.clone()),
                    altitude: None,
                    name: None,
                    extra: Map::new(),
                })),
            );
        }
        if let Some(address) = &draft.address {
            locations.insert(
                0,
                Location::Known(KnownLocation::Address(AddressLocation {
                    country: address.country.clone(),
                    postal_code: address.postal_code.clone(),
                    region: address.region.clone(),
                    locality: address.locality.clone(),
                    street: address.street.clone(),
                    name: address.name.clone(),
                    extra: Map::new(),
                })),
            );
        }
        self.locations = (!locations.is_empty()).then_some(locations);
        // Links keep their other fields (apps add e.g. a `source`) when the same URL stays.
        let old_uris = self.uris.take().unwrap_or_default();
        let uris: Vec<Uri> = draft
            .links
            .iter()
            .map(|link| {
                let mut new = uri(link);
                if let Some(old) = old_uris.iter().find(|old| old.uri == link.uri) {
                    new.extra = old.extra.clone();
                }
                new
            })
            .collect();
        self.uris = (!uris.is_empty()).then_some(uris);
    }

    /// The zone the record gives: its `timezone` when that is a zone we know; otherwise the fixed
    /// zone of the offset `startsAt` was written with (a record written in UTC, or with no offset,
    /// says nothing); otherwise UTC when it named a zone we do not know.
    pub fn time_zone(&self) -> RecordZone {
        const SHOWN: usize = 64;
        let written = self.extra.get(TIMEZONE).filter(|value| !value.is_null());
        if let Some(zone) = written
            .and_then(Value::as_str)
            .and_then(|name| TimeZoneName::parse(name).ok())
        {
            return RecordZone {
                zone: Some(zone),
                unknown: None,
            };
        }
        let from_offset = self
            .starts_at
            .as_deref()
            .and_then(|text| DateTime::parse_from_rfc3339(text).ok())
            .map(|instant| instant.offset().local_minus_utc())
            .filter(|seconds| *seconds != 0)
            .and_then(TimeZoneName::from_offset);
        let Some(written) = written else {
            return RecordZone {
                zone: from_offset,
                unknown: None,
            };
        };
        let named = match written {
            Value::String(text) => text.clone(),
            other => other.to_string(),
        };
        let used = from_offset.unwrap_or_else(TimeZoneName::utc);
        RecordZone {
            zone: Some(used.clone()),
            unknown: Some(UnknownZone {
                named: named.chars().filter(|c| !c.is_control()).take(SHOWN).collect(),
                used,
            }),
        }
    }

    /// The images in the record's `media`, as far as they can be read: each needs a blob with a
    /// plain CID (`content.ref.$link`, or the older `cid`); anything else is skipped.
    pub fn images(&self) -> Vec<EventImage> {
        let Some(media) = self.extra.get(MEDIA).and_then(Value::as_array) else {
            return Vec::new();
        };
        media
            .iter()
            .filter_map(|item| {
                let content = item.get("content")?;
                let cid = content
                    .get("ref")
                    .and_then(|reference| reference.get("$link"))
                    .or_else(|| content.get("cid"))
                    .and_then(Value::as_str)
                    .and_then(BlobCid::parse)?;
                let dimension = |value: &Value, name: &str| {
                    value
                        .get(name)
                        .and_then(Value::as_u64)
                        .and_then(|n| u32::try_from(n).ok())
                        .filter(|n| *n > 0)
                };
                let aspect_ratio = item
                    .get("aspect_ratio")
                    .or_else(|| item.get("aspectRatio"))
                    .and_then(|ratio| Some((dimension(ratio, "width")?, dimension(ratio, "height")?)));
                Some(EventImage {
                    role: ImageRole::from_token(item.get("role").and_then(Value::as_str).unwrap_or_default()),
                    cid,
                    alt: item
                        .get("alt")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .chars()
                        .filter(|c| !c.is_control())
                        .take(ALT_MAX_CHARS)
                        .collect(),
                    aspect_ratio,
                })
            })
            .take(IMAGES_READ)
            .collect()
    }

    /// Makes `blob` the record's header image, described by `alt`; the other images (and any
    /// fields apps put on them) stay as they were.
    pub fn set_header_image(&mut self, blob: Value, alt: &str, aspect_ratio: Option<(u32, u32)>) {
        let mut media: Vec<Value> = match self.extra.remove(MEDIA) {
            Some(Value::Array(items)) => items
                .into_iter()
                .filter(|item| item.get("role").and_then(Value::as_str) != Some("header"))
                .collect(),
            // Something that is not a list of images cannot be kept beside one.
            _ => Vec::new(),
        };
        let mut header = serde_json::json!({"role": "header", "content": blob, "alt": alt});
        if let Some((width, height)) = aspect_ratio {
            header["aspect_ratio"] = serde_json::json!({"width": width, "height": height});
        }
        media.insert(0, header);
        self.extra.insert(MEDIA.to_owned(), Value::Array(media));
    }

    /// Every place the record names, in its order.
    pub fn places(&self) -> Vec<Place> {
        let name = |name: &Option<String>| {
            name.as_deref()
                .map(crate::domain::place_text)
                .filter(|name| !name.is_empty())
        };
        self.locations
            .iter()
            .flatten()
            .map(|location| match location {
                Location::Known(KnownLocation::Address(a)) => Place::address(&a.address()),
                Location::Known(KnownLocation::Geo(g)) => Place::Point {
                    name: name(&g.name),
                    geo: geo(&g.latitude, &g.longitude),
                },
                Location::Known(KnownLocation::Fsq(f)) => Place::Foursquare {
                    name: name(&f.name),
                    place_id: crate::domain::place_text(&f.fsq_place_id),
                    geo: f
                        .latitude
                        .as_ref()
                        .zip(f.longitude.as_ref())
                        .map(|(lat, lon)| geo(lat, lon)),
                },
                Location::Known(KnownLocation::Hthree(h)) => Place::H3Cell {
                    name: name(&h.name),
                    cell: crate::domain::place_text(&h.value),
                },
                Location::Known(KnownLocation::Uri(u)) => Place::Online(Link {
                    uri: u.uri.clone(),
                    name: name(&u.name),
                }),
                Location::Other(value) => Place::Other {
                    kind: value
                        .get("$type")
                        .and_then(Value::as_str)
                        .map(crate::domain::place_text),
                    name: value
                        .get("name")
                        .and_then(Value::as_str)
                        .map(crate::domain::place_text)
                        .filter(|name| !name.is_empty()),
                },
            })
            .collect()
    }

    /// The description, or the older draft's `text`.
    pub fn description(&self) -> Option<&str> {
        self.description
            .as_deref()
            .or_else(|| self.extra.get("text").and_then(Value::as_str))
            .map(str::trim)
            .filter(|d| !d.is_empty())
    }

    pub fn starts_at(&self) -> Option<DateTime<Utc>> {
        self.starts_at.as_deref().and_then(parse_datetime)
    }

    pub fn ends_at(&self) -> Option<DateTime<Utc>> {
        self.ends_at.as_deref().and_then(parse_datetime)
    }

    pub fn mode(&self) -> EventMode {
        self.mode.as_deref().and_then(EventMode::from_token).unwrap_or_default()
    }

    pub fn status(&self) -> EventStatus {
        self.status
            .as_deref()
            .and_then(EventStatus::from_token)
            .unwrap_or_default()
    }

    /// The fields the form edits, for filling it in (times shown in `time_zone`).
    pub fn draft(&self, time_zone: crate::domain::TimeZoneName) -> EventDraft {
        let locations = self.locations.as_deref().unwrap_or_default();
        let address = locations.iter().find_map(|location| match location {
            Location::Known(KnownLocation::Address(a)) => Some(a.address()),
            _ => None,
        });
        let geo = locations.iter().find_map(|location| match location {
            Location::Known(KnownLocation::Geo(g)) => Some(Geo {
                latitude: coordinate_text(&g.latitude),
                longitude: coordinate_text(&g.longitude),
            }),
            _ => None,
        });
        let online = locations.iter().find_map(|location| match location {
            Location::Known(KnownLocation::Uri(u)) => Some(Link {
                uri: u.uri.clone(),
                name: u.name.clone(),
            }),
            _ => None,
        });
        EventDraft {
            name: self.name.clone(),
            description: self.description().map(str::to_owned),
            starts_at: self.starts_at(),
            ends_at: self.ends_at(),
            time_zone,
            mode: self.mode(),
            status: self.status(),
            address,
            geo,
            online,
            links: self
                .uris
                .iter()
                .flatten()
                .map(|u| Link {
                    uri: u.uri.clone(),
                    name: u.name.clone(),
                })
                .collect(),
        }
    }
}

fn uri(link: &Link) -> Uri {
    Uri {
        uri: link.uri.clone(),
        name: link.name.clone(),
        extra: Map::new(),
    }
}

fn geo(latitude: &Value, longitude: &Value) -> Geo {
    Geo {
        latitude: crate::domain::place_text(&coordinate_text(latitude)),
        longitude: crate::domain::place_text(&coordinate_text(longitude)),
    }
}

fn coordinate_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The lexicon's datetime format: RFC 3339 in UTC with milliseconds.
fn datetime(instant: DateTime<Utc>) -> String {
    instant.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// RFC 3339 with any offset; without an offset, taken as UTC.
pub fn parse_datetime(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .ok()
        .or_else(|| {
            ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M"]
                .iter()
                .find_map(|format| NaiveDateTime::parse_from_str(text, format).ok())
                .map(|naive| naive.and_utc())
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{EventInput, TimeZoneName};
    use serde_json::json;

    /// Shaped like the records other calendar apps write: extra fields everywhere, a location kind
    /// we cannot read, numbers for coordinates.
    fn foreign_record() -> Value {
        json!({
            "$type": "community.lexicon.calendar.event",
            "name": "Open Source Saturday",
            "description": "Bring a laptop.",
            "createdAt": "2026-11-20T10:00:00.000Z",
            "startsAt": "2026-12-05T10:00:00+01:00",
            "endsAt": "2026-12-05T16:00:00",
            "mode": "community.lexicon.calendar.event#inperson",
            "status": "community.lexicon.calendar.event#scheduled",
            "locations": [
                {"$type": "community.lexicon.location.address", "name": "Library", "locality": "Lyon",
                 "country": "France, République française", "geocoder": {"provider": "osm"}},
                {"$type": "community.lexicon.location.geo", "latitude": "45.76", "longitude": "4.83", "altitude": 170},
                {"$type": "community.lexicon.location.h3", "value": "881f1d4817fffff"},
                {"$type": "community.lexicon.location.fsq", "fsq_place_id": "4b0588", "name": "Café"}
            ],
            "uris": [{"uri": "https://example.org", "name": "Site", "source": "import"}],
            "rsvpExpected": true,
            "theme": {"colour": "#ff0000", "opacity": 50},
            "facets": [{"index": {"byteStart": 0, "byteEnd": 4}}]
        })
    }

    #[test]
    fn foreign_records_round_trip_unchanged() {
        let value = foreign_record();
        let record = CalendarEvent::from_value(value.clone()).expect("parses");
        assert_eq!(record.to_value(), value);
        assert_eq!(
            record.starts_at().map(|t| t.to_rfc3339()).as_deref(),
            Some("2026-12-05T09:00:00+00:00")
        );
        assert_eq!(
            record.ends_at().map(|t| t.to_rfc3339()).as_deref(),
            Some("2026-12-05T16:00:00+00:00")
        );
        let locations = record.locations.as_deref().unwrap_or_default();
        assert!(
            matches!(locations[2], Location::Other(_)),
            "the older h3 kind is kept raw"
        );
        assert!(matches!(locations[3], Location::Known(KnownLocation::Fsq(_))));
        let kinds: Vec<&str> = record.places().iter().map(Place::kind).collect();
        assert_eq!(kinds, ["address", "point", "other", "foursquare"]);
        assert_eq!(
            record.places()[2],
            Place::Other {
                kind: Some("community.lexicon.location.h3".to_owned()),
                name: None
            }
        );
    }

    #[test]
    fn the_zone_comes_from_the_timezone_field_then_the_offset_then_nothing() {
        let zone = |record: Value| CalendarEvent::from_value(record).expect("parses").time_zone();
        let named = zone(json!({"name": "a", "timezone": "America/Chicago", "startsAt": "2026-12-05T10:00:00Z"}));
        assert_eq!(named.zone.map(String::from).as_deref(), Some("America/Chicago"));
        assert_eq!(named.unknown, None);
        let offset = zone(json!({"name": "a", "startsAt": "2026-12-05T10:00:00+01:00"}));
        assert_eq!(offset.zone.map(String::from).as_deref(), Some("Etc/GMT-1"));
        assert_eq!(
            zone(json!({"name": "a", "startsAt": "2026-12-05T10:00:00Z"})),
            RecordZone::default(),
            "UTC times alone say nothing of a zone"
        );
        let unknown =
            zone(json!({"name": "a", "timezone": "Mars/Olympus_Mons", "startsAt": "2026-12-05T10:00:00-03:00"}));
        assert_eq!(unknown.zone.as_ref().map(TimeZoneName::as_str), Some("Etc/GMT+3"));
        assert_eq!(
            unknown.unknown.as_ref().map(|u| u.named.as_str()),
            Some("Mars/Olympus_Mons")
        );
        let hostile =
            zone(json!({"name": "a", "timezone": {"x": "<script>"}, "startsAt": "2026-12-05T10:00:00+05:30"}));
        assert_eq!(hostile.zone, Some(TimeZoneName::utc()), "no fixed zone for +05:30: UTC");
        assert!(hostile.unknown.is_some_and(|u| u.named.chars().count() <= 64));
    }

    #[test]
    fn a_written_record_names_its_zone_for_other_apps() {
        let mut input = CalendarEvent::from_value(json!({"name": "a"}))
            .expect("parses")
            .draft(TimeZoneName::utc())
            .to_input();
        input.starts_at = "2026-12-05T10:00".to_owned();
        input.time_zone = "Europe/Berlin".to_owned();
        let record = CalendarEvent::new(&EventDraft::parse(&input).expect("valid"), Utc::now());
        let value = record.to_value();
        assert_eq!(value["timezone"], "Europe/Berlin");
        assert_eq!(value["startsAt"], "2026-12-05T09:00:00.000Z");
        let read = CalendarEvent::from_value(value).expect("parses").time_zone();
        assert_eq!(read.zone.map(String::from).as_deref(), Some("Europe/Berlin"));
    }

    #[test]
    fn images_are_read_from_media_and_broken_ones_skipped() {
        let record = CalendarEvent::from_value(json!({
            "name": "a",
            "media": [
                {"role": "thumbnail", "alt": "small", "content": {"$type": "blob", "ref": {"$link": "bafkreithumbnail0001"}, "mimeType": "image/png", "size": 10}},
                {"role": "header", "alt": "Big\u{7} one", "aspect_ratio": {"width": 1600, "height": 900},
                 "content": {"$type": "blob", "ref": {"$link": "bafkreiheader00000001"}, "mimeType": "image/jpeg", "size": 10}},
                {"role": "header", "content": {"ref": {"$link": "../../etc/passwd"}}},
                {"role": "header", "content": "not a blob"},
                {"role": "header", "aspect_ratio": {"width": 0, "height": -1}, "content": {"cid": "bafkreiolderstyle0001"}}
            ]
        }))
        .expect("parses");
        let images = record.images();
        assert_eq!(images.len(), 3);
        let header = EventImage::header(&images).expect("a header");
        assert_eq!(header.cid.as_str(), "bafkreiheader00000001");
        assert_eq!(header.alt, "Big one");
        assert_eq!(header.aspect_ratio, Some((1600, 900)));
        assert_eq!(images[2].aspect_ratio, None);
        assert!(CalendarEvent::from_value(json!({"name": "a", "media": "x"}))
            .expect("parses")
            .images()
            .is_empty());
    }

    #[test]
    fn minimal_and_older_records_parse() {
        let minimal = CalendarEvent::from_value(json!({"name": "Just a name"})).expect("parses");
        assert_eq!(minimal.mode(), EventMode::InPerson);
        assert_eq!(minimal.status(), EventStatus::Scheduled);
        let older = CalendarEvent::from_value(json!({
            "name": "Old draft", "text": "Described the old way", "mode": "virtual",
            "startsAt": "not a date"
        }))
        .expect("parses");
        assert_eq!(older.description(), Some("Described the old way"));
        assert_eq!(older.mode(), EventMode::Virtual);
        assert_eq!(older.starts_at(), None);
        assert!(CalendarEvent::from_value(json!({"description": "no name"})).is_err());
        assert!(CalendarEvent::from_value(json!("a string")).is_err());
    }

    #[test]
    fn editing_keeps_what_the_form_does_not_touch() {
        let mut record = CalendarEvent::from_value(foreign_record()).expect("parses");
        let mut input = record.draft(TimeZoneName::utc()).to_input();
        input.name = "Open Source Sunday".to_owned();
        input.links = "https://example.org Site\nhttps://example.net".to_owned();
        record.apply(&EventDraft::parse(&input).expect("valid"));
        let value = record.to_value();
        assert_eq!(value["name"], "Open Source Sunday");
        assert_eq!(value["createdAt"], "2026-11-20T10:00:00.000Z");
        assert_eq!(value["theme"], json!({"colour": "#ff0000", "opacity": 50}));
        assert_eq!(value["facets"], foreign_record()["facets"]);
        assert_eq!(
            value["uris"][0]["source"], "import",
            "a kept link keeps its extra fields"
        );
        assert_eq!(value["uris"][1], json!({"uri": "https://example.net"}));
        let kinds: Vec<&str> = value["locations"]
            .as_array()
            .expect("locations")
            .iter()
            .filter_map(|l| l["$type"].as_str())
            .collect();
        assert!(kinds.contains(&"community.lexicon.location.h3"));
        assert!(kinds.contains(&"community.lexicon.location.fsq"));
        assert_eq!(value["startsAt"], "2026-12-05T09:00:00.000Z");
    }

    #[test]
    fn new_records_follow_the_lexicon() {
        let draft = EventDraft::parse(&EventInput {
            name: "Launch".to_owned(),
            starts_at: "2026-12-01T18:00".to_owned(),
            time_zone: "America/New_York".to_owned(),
            mode: "virtual".to_owned(),
            online_url: "https://meet.example/x".to_owned(),
            ..Default::default()
        })
        .expect("valid");
        let now = DateTime::parse_from_rfc3339("2026-11-24T08:00:00Z")
            .expect("time")
            .to_utc();
        let value = CalendarEvent::new(&draft, now).to_value();
        assert_eq!(
            value,
            json!({
                "$type": "community.lexicon.calendar.event",
                "name": "Launch",
                "createdAt": "2026-11-24T08:00:00.000Z",
                "startsAt": "2026-12-01T23:00:00.000Z",
                "mode": "community.lexicon.calendar.event#virtual",
                "status": "community.lexicon.calendar.event#scheduled",
                "locations": [{"$type": "community.lexicon.calendar.event#uri", "uri": "https://meet.example/x"}],
                // Not in the lexicon: the zone, as atmo.rsvp writes it, for other apps to read.
                "timezone": "America/New_York"
            })
        );
    }
}
