//! What an organiser types into the event form, checked field by field.

use super::TimeZoneName;
use chrono::{DateTime, Utc};
#[cfg(feature = "ssr")]
use chrono::{NaiveDateTime, TimeZone};
use serde::{Deserialize, Serialize};

/// How people attend (`mode` in the lexicon).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventMode {
    #[default]
    InPerson,
    Virtual,
    Hybrid,
}

impl EventMode {
    pub const ALL: [Self; 3] = [Self::InPerson, Self::Virtual, Self::Hybrid];

    /// The lexicon token, e.g. `community.lexicon.calendar.event#inperson`.
    pub fn token(self) -> &'static str {
        match self {
            Self::InPerson => "community.lexicon.calendar.event#inperson",
            Self::Virtual => "community.lexicon.calendar.event#virtual",
            Self::Hybrid => "community.lexicon.calendar.event#hybrid",
        }
    }

    /// Reads a full token or the short form older drafts wrote (`inperson`, `#virtual`).
    pub fn from_token(token: &str) -> Option<Self> {
        let short = token.rsplit('#').next().unwrap_or(token);
        Self::ALL.into_iter().find(|mode| mode.name() == short)
    }

    /// The form value.
    pub fn name(self) -> &'static str {
        match self {
            Self::InPerson => "inperson",
            Self::Virtual => "virtual",
            Self::Hybrid => "hybrid",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::InPerson => "In person",
            Self::Virtual => "Online",
            Self::Hybrid => "In person and online",
        }
    }
}

/// Whether the event happens as planned (`status` in the lexicon).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventStatus {
    #[default]
    Scheduled,
    Planned,
    Cancelled,
    Postponed,
    Rescheduled,
}

impl EventStatus {
    pub const ALL: [Self; 5] = [
        Self::Scheduled,
        Self::Planned,
        Self::Cancelled,
        Self::Postponed,
        Self::Rescheduled,
    ];

    pub fn token(self) -> String {
        format!("community.lexicon.calendar.event#{}", self.name())
    }

    pub fn from_token(token: &str) -> Option<Self> {
        let short = token.rsplit('#').next().unwrap_or(token);
        Self::ALL.into_iter().find(|status| status.name() == short)
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Scheduled => "scheduled",
            Self::Planned => "planned",
            Self::Cancelled => "cancelled",
            Self::Postponed => "postponed",
            Self::Rescheduled => "rescheduled",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Scheduled => "Scheduled",
            Self::Planned => "Planned (date not final)",
            Self::Cancelled => "Cancelled",
            Self::Postponed => "Postponed",
            Self::Rescheduled => "Rescheduled",
        }
    }
}

/// An answer to an event (`status` of a `community.lexicon.calendar.rsvp`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RsvpStatus {
    #[default]
    Going,
    Interested,
    /// Serialised as the lexicon's token name, so a form's value and the record agree.
    #[serde(rename = "notgoing")]
    NotGoing,
}

impl RsvpStatus {
    pub const ALL: [Self; 3] = [Self::Going, Self::Interested, Self::NotGoing];

    /// How a page names it.
    pub fn label(self) -> &'static str {
        match self {
            Self::Going => "Going",
            Self::Interested => "Interested",
            Self::NotGoing => "Not going",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Going => "going",
            Self::Interested => "interested",
            Self::NotGoing => "notgoing",
        }
    }

    pub fn token(self) -> String {
        format!("community.lexicon.calendar.rsvp#{}", self.name())
    }

    /// Reads a full token or a short one.
    pub fn from_token(token: &str) -> Option<Self> {
        let short = token.rsplit('#').next().unwrap_or(token);
        Self::ALL.into_iter().find(|status| status.name() == short)
    }
}

/// A postal address (`community.lexicon.location.address`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Address {
    pub name: Option<String>,
    pub street: Option<String>,
    pub locality: Option<String>,
    pub region: Option<String>,
    pub postal_code: Option<String>,
    pub country: Option<String>,
}

/// Coordinates (`community.lexicon.location.geo`); decimal degrees kept as text, as the lexicon does.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Geo {
    pub latitude: String,
    pub longitude: String,
}

/// A link with an optional title (`uris` entries, and the `#uri` location).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Link {
    pub uri: String,
    pub name: Option<String>,
}

impl Link {
    /// Where the link may go when clicked: only an http(s) URL (see [`check_url`]). Anything else
    /// a record says (`javascript:`, `data:`, a scheme hidden behind spaces or odd case) is `None`
    /// and is shown as plain text.
    pub fn href(&self) -> Option<&str> {
        check_url(&self.uri).is_ok().then_some(self.uri.as_str())
    }
}

/// The event form exactly as posted: every field text, possibly empty (or left out).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct EventInput {
    pub name: String,
    pub description: String,
    /// `YYYY-MM-DDTHH:MM` in `time_zone`, as `<input type="datetime-local">` sends it.
    pub starts_at: String,
    pub ends_at: String,
    pub time_zone: String,
    pub mode: String,
    pub status: String,
    pub venue: String,
    pub street: String,
    pub locality: String,
    pub region: String,
    pub postal_code: String,
    pub country: String,
    pub latitude: String,
    pub longitude: String,
    /// Where to join online.
    pub online_url: String,
    /// One link per line: a URL, then optionally a space and its title.
    pub links: String,
}

/// A checked event: what the PDS record is built from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EventDraft {
    pub name: String,
    pub description: Option<String>,
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
    pub time_zone: TimeZoneName,
    pub mode: EventMode,
    pub status: EventStatus,
    pub address: Option<Address>,
    pub geo: Option<Geo>,
    pub online: Option<Link>,
    pub links: Vec<Link>,
}

/// One message about one form field.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

pub const NAME_MAX_CHARS: usize = 300;
pub const DESCRIPTION_MAX_CHARS: usize = 3000;
#[cfg(feature = "ssr")]
const SHORT_TEXT_MAX_CHARS: usize = 200;
const URL_MAX_CHARS: usize = 2000;
#[cfg(feature = "ssr")]
const MAX_LINKS: usize = 10;

impl EventDraft {
    #[cfg(feature = "ssr")]
    /// Checks every field, collecting a message for each one that is wrong.
    pub fn parse(input: &EventInput) -> Result<Self, Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut error = |field: &str, message: String| {
            errors.push(FieldError {
                field: field.to_owned(),
                message,
            })
        };

        let name = input.name.trim().to_owned();
        if name.is_empty() {
            error("name", "Give the event a name.".to_owned());
        } else if name.chars().count() > NAME_MAX_CHARS {
            error(
                "name",
                format!("The name is too long: at most {NAME_MAX_CHARS} characters."),
            );
        }
        let description = optional(&input.description);
        if description
            .as_ref()
            .is_some_and(|d| d.chars().count() > DESCRIPTION_MAX_CHARS)
        {
            error(
                "description",
                format!("The description is too long: at most {DESCRIPTION_MAX_CHARS} characters."),
            );
        }
        let time_zone = match optional(&input.time_zone) {
            None => TimeZoneName::utc(),
            Some(zone) => TimeZoneName::parse(&zone).unwrap_or_else(|_| {
                error("time_zone", format!("{zone:?} is not a time zone we know."));
                TimeZoneName::utc()
            }),
        };
        let mut time = |field: &str, text: &str| match optional(text) {
            None => None,
            Some(text) => match local_to_utc(&text, &time_zone) {
                Ok(instant) => Some(instant),
                Err(message) => {
                    error(field, message);
                    None
                }
            },
        };
        let starts_at = time("starts_at", &input.starts_at);
        let ends_at = time("ends_at", &input.ends_at);
        if let (Some(start), Some(end)) = (starts_at, ends_at) {
            if end <= start {
                error("ends_at", "The end must be after the start.".to_owned());
            }
        }
        if ends_at.is_some() && starts_at.is_none() {
            error("starts_at", "Give a start time when there is an end time.".to_owned());
        }
        let mode = match optional(&input.mode) {
            None => EventMode::default(),
            Some(mode) => EventMode::from_token(&mode).unwrap_or_else(|| {
                error("mode", "Choose in person, online or both.".to_owned());
                EventMode::default()
            }),
        };
        let status = match optional(&input.status) {
            None => EventStatus::default(),
            Some(status) => EventStatus::from_token(&status).unwrap_or_else(|| {
                error("status", "Choose one of the listed statuses.".to_owned());
                EventStatus::default()
            }),
        };

        let mut short = |field: &str, text: &str| {
            let value = optional(text);
            if value.as_ref().is_some_and(|v| v.chars().count() > SHORT_TEXT_MAX_CHARS) {
                error(field, format!("Too long: at most {SHORT_TEXT_MAX_CHARS} characters."));
            }
            value
        };
        let address = Address {
            name: short("venue", &input.venue),
            street: short("street", &input.street),
            locality: short("locality", &input.locality),
            region: short("region", &input.region),
            postal_code: short("postal_code", &input.postal_code),
            country: short("country", &input.country),
        };
        let address = (address != Address::default()).then_some(address);
        if address.as_ref().is_some_and(|a| a.country.is_none()) {
            error("country", "An address needs a country.".to_owned());
        }

        let geo = match (optional(&input.latitude), optional(&input.longitude)) {
            (None, None) => None,
            (latitude, longitude) => {
                let lat = coordinate(latitude.as_deref(), 90.0);
                let lon = coordinate(longitude.as_deref(), 180.0);
                if lat.is_none() {
                    error("latitude", "A latitude is a number from -90 to 90.".to_owned());
                }
                if lon.is_none() {
                    error("longitude", "A longitude is a number from -180 to 180.".to_owned());
                }
                lat.zip(lon).map(|(latitude, longitude)| Geo { latitude, longitude })
            }
        };

        let online = optional(&input.online_url).and_then(|uri| match check_url(&uri) {
            Ok(()) => Some(Link { uri, name: None }),
            Err(message) => {
                error("online_url", message);
                None
            }
        });
        if online.is_none() && input.online_url.trim().is_empty() && mode != EventMode::InPerson {
            // Allowed: the link may come later. Nothing to check.
        }

        let mut links = Vec::new();
        for (number, line) in input.links.lines().map(str::trim).filter(|l| !l.is_empty()).enumerate() {
            let (uri, title) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
            if let Err(message) = check_url(uri) {
                error("links", format!("Link {}: {message}", number + 1));
                continue;
            }
            let title = title.trim();
            if title.chars().count() > SHORT_TEXT_MAX_CHARS {
                error("links", format!("Link {}: the title is too long.", number + 1));
                continue;
            }
            links.push(Link {
                uri: uri.to_owned(),
                name: (!title.is_empty()).then(|| title.to_owned()),
            });
        }
        if links.len() > MAX_LINKS {
            error("links", format!("At most {MAX_LINKS} links."));
        }

        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(Self {
            name,
            description,
            starts_at,
            ends_at,
            time_zone,
            mode,
            status,
            address,
            geo,
            online,
            links,
        })
    }

    #[cfg(feature = "ssr")]
    /// The form filled with this event, times in its own zone.
    pub fn to_input(&self) -> EventInput {
        let local = |instant: Option<DateTime<Utc>>| {
            instant
                .map(|i| {
                    i.with_timezone(&self.time_zone.tz())
                        .format("%Y-%m-%dT%H:%M")
                        .to_string()
                })
                .unwrap_or_default()
        };
        let text = |value: &Option<String>| value.clone().unwrap_or_default();
        let address = self.address.clone().unwrap_or_default();
        EventInput {
            name: self.name.clone(),
            description: text(&self.description),
            starts_at: local(self.starts_at),
            ends_at: local(self.ends_at),
            time_zone: self.time_zone.to_string(),
            mode: self.mode.name().to_owned(),
            status: self.status.name().to_owned(),
            venue: text(&address.name),
            street: text(&address.street),
            locality: text(&address.locality),
            region: text(&address.region),
            postal_code: text(&address.postal_code),
            country: text(&address.country),
            latitude: self.geo.as_ref().map(|g| g.latitude.clone()).unwrap_or_default(),
            longitude: self.geo.as_ref().map(|g| g.longitude.clone()).unwrap_or_default(),
            online_url: self.online.as_ref().map(|l| l.uri.clone()).unwrap_or_default(),
            links: self
                .links
                .iter()
                .map(|link| match &link.name {
                    Some(name) => format!("{} {name}", link.uri),
                    None => link.uri.clone(),
                })
                .collect::<Vec<_>>()
                .join("\n"),
        }
    }
}

#[cfg(feature = "ssr")]
fn optional(text: &str) -> Option<String> {
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_owned())
}

#[cfg(feature = "ssr")]
/// A wall-clock time in `zone` (`2026-12-01T18:30`, seconds optional) as an instant. A time that
/// does not exist there (skipped by a DST change) is refused; an ambiguous one takes the earlier.
pub fn local_to_utc(text: &str, zone: &TimeZoneName) -> Result<DateTime<Utc>, String> {
    let naive = NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M")
        .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S"))
        .map_err(|_| format!("{text:?} is not a date and time (YYYY-MM-DDTHH:MM)."))?;
    zone.tz()
        .from_local_datetime(&naive)
        .earliest()
        .map(|local| local.with_timezone(&Utc))
        .ok_or_else(|| format!("{text} does not exist in {zone} (the clocks skip it)."))
}

#[cfg(feature = "ssr")]
fn coordinate(text: Option<&str>, limit: f64) -> Option<String> {
    let text = text?;
    let value: f64 = text.parse().ok()?;
    (value.is_finite() && value.abs() <= limit).then(|| text.to_owned())
}

/// An absolute http(s) URL with a host and no spaces.
pub fn check_url(text: &str) -> Result<(), String> {
    let rest = text
        .strip_prefix("https://")
        .or_else(|| text.strip_prefix("http://"))
        .ok_or_else(|| "a link starts with https:// or http://.".to_owned())?;
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    if host.is_empty() || host.starts_with('.') || host.contains('@') {
        return Err("that link has no valid host.".to_owned());
    }
    if text.chars().count() > URL_MAX_CHARS || text.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("that link is not a valid URL.".to_owned());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_http_links_are_live() {
        let link = |uri: &str| Link {
            uri: uri.to_owned(),
            name: None,
        };
        assert_eq!(
            link("https://example.com/a?b#c").href(),
            Some("https://example.com/a?b#c")
        );
        assert_eq!(link("http://example.com").href(), Some("http://example.com"));
        for hostile in [
            "javascript:alert(1)",
            "JavaScript:alert(1)",
            " javascript:alert(1)",
            "\tjavascript:alert(1)",
            "java\nscript:alert(1)",
            "data:text/html,<script>alert(1)</script>",
            "vbscript:msgbox(1)",
            "VBSCRIPT:msgbox(1)",
            "https://exa mple.com",
            " https://example.com",
            "https:// javascript:alert(1)",
            "//evil.example",
            "/relative",
            "",
        ] {
            assert_eq!(link(hostile).href(), None, "{hostile:?}");
        }
    }

    fn input() -> EventInput {
        EventInput {
            name: " Rust meetup ".to_owned(),
            starts_at: "2026-12-01T18:30".to_owned(),
            ends_at: "2026-12-01T21:00".to_owned(),
            time_zone: "Europe/Berlin".to_owned(),
            mode: "hybrid".to_owned(),
            status: "scheduled".to_owned(),
            venue: "c-base".to_owned(),
            locality: "Berlin".to_owned(),
            country: "DE".to_owned(),
            latitude: "52.5128".to_owned(),
            longitude: "13.4199".to_owned(),
            online_url: "https://meet.example/rust".to_owned(),
            links: "https://rust-berlin.example Our site\nhttps://example.com/tickets".to_owned(),
            ..Default::default()
        }
    }

    #[test]
    fn a_complete_form_parses_with_times_in_utc() {
        let draft = EventDraft::parse(&input()).expect("valid");
        assert_eq!(draft.name, "Rust meetup");
        assert_eq!(
            draft.starts_at.map(|t| t.to_rfc3339()).as_deref(),
            Some("2026-12-01T17:30:00+00:00")
        );
        assert_eq!(draft.mode, EventMode::Hybrid);
        assert_eq!(draft.links.len(), 2);
        assert_eq!(draft.links[0].name.as_deref(), Some("Our site"));
        assert_eq!(draft.address.as_ref().and_then(|a| a.country.as_deref()), Some("DE"));
        // And back to the form, in the event's own zone.
        assert_eq!(draft.to_input().starts_at, "2026-12-01T18:30");
        assert_eq!(EventDraft::parse(&draft.to_input()), Ok(draft));
    }

    #[test]
    fn every_bad_field_gets_its_own_message() {
        let bad = EventInput {
            name: "  ".to_owned(),
            starts_at: "2026-12-01T18:30".to_owned(),
            ends_at: "2026-12-01T17:00".to_owned(),
            time_zone: "Europe/Berlin".to_owned(),
            street: "Somewhere 1".to_owned(),
            latitude: "91".to_owned(),
            longitude: "13".to_owned(),
            online_url: "ftp://x".to_owned(),
            links: "not a url".to_owned(),
            ..Default::default()
        };
        let errors = EventDraft::parse(&bad).expect_err("invalid");
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            ["name", "ends_at", "country", "latitude", "online_url", "links"]
        );
    }

    #[test]
    fn times_that_do_not_exist_are_refused() {
        let skipped = EventInput {
            name: "DST".to_owned(),
            starts_at: "2026-03-29T02:30".to_owned(),
            time_zone: "Europe/Berlin".to_owned(),
            ..Default::default()
        };
        let errors = EventDraft::parse(&skipped).expect_err("skipped hour");
        assert_eq!(errors[0].field, "starts_at");
    }

    #[test]
    fn tokens_read_full_and_short_forms() {
        assert_eq!(
            EventMode::from_token("community.lexicon.calendar.event#virtual"),
            Some(EventMode::Virtual)
        );
        assert_eq!(EventMode::from_token("inperson"), Some(EventMode::InPerson));
        assert_eq!(EventStatus::from_token("#cancelled"), Some(EventStatus::Cancelled));
        assert_eq!(EventStatus::from_token("community.lexicon.calendar.event#later"), None);
    }
}
