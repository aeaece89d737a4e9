use serde::{Deserialize, Serialize};
use std::fmt;
#[cfg(feature = "ssr")]
use std::str::FromStr;

/// An IANA time zone name such as `Europe/Berlin`. Events are stored in UTC together with the
/// zone they were entered in; pages show times in the viewer's zone.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TimeZoneName(String);

/// Zones offered first in pickers; any IANA name is accepted.
pub const COMMON_TIME_ZONES: &[&str] = &[
    "UTC",
    "America/Los_Angeles",
    "America/Denver",
    "America/Chicago",
    "America/New_York",
    "America/Sao_Paulo",
    "Europe/London",
    "Europe/Paris",
    "Europe/Berlin",
    "Europe/Helsinki",
    "Africa/Lagos",
    "Africa/Nairobi",
    "Asia/Kolkata",
    "Asia/Singapore",
    "Asia/Tokyo",
    "Australia/Sydney",
    "Pacific/Auckland",
];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a known time zone (expected a name like Europe/Berlin)")]
pub struct TimeZoneError(pub String);

impl TimeZoneName {
    /// On the server: a name in the tz database, in its canonical spelling.
    #[cfg(feature = "ssr")]
    pub fn parse(input: &str) -> Result<Self, TimeZoneError> {
        let input = input.trim();
        chrono_tz::Tz::from_str(input)
            .map(|tz| Self(tz.name().to_owned()))
            .map_err(|_| TimeZoneError(input.to_owned()))
    }

    /// In the browser: a name's shape only. The browser build leaves the tz database out (about
    /// 800 KB of the wasm): its names come from the server, which checked them, and every time a
    /// page shows is written out by the server too.
    #[cfg(not(feature = "ssr"))]
    pub fn parse(input: &str) -> Result<Self, TimeZoneError> {
        /// Longer than any name in the tz database.
        const LONGEST: usize = 64;
        let input = input.trim();
        let shaped = !input.is_empty()
            && input.len() <= LONGEST
            && input.bytes().all(|b| b.is_ascii_alphanumeric() || b"/_+-".contains(&b));
        match shaped {
            true => Ok(Self(input.to_owned())),
            false => Err(TimeZoneError(input.to_owned())),
        }
    }

    pub fn utc() -> Self {
        Self("UTC".to_owned())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    #[cfg(feature = "ssr")]
    pub fn tz(&self) -> chrono_tz::Tz {
        // The name was checked in `parse`; UTC is the safe answer should the database change.
        chrono_tz::Tz::from_str(&self.0).unwrap_or(chrono_tz::Tz::UTC)
    }

    /// `instant` as a `<input type="datetime-local">` in this zone shows it (`2026-12-01T18:30`).
    #[cfg(feature = "ssr")]
    pub fn local_input(&self, instant: chrono::DateTime<chrono::Utc>) -> String {
        instant.with_timezone(&self.tz()).format("%Y-%m-%dT%H:%M").to_string()
    }

    /// `instant` as a person in this zone reads it, e.g. `Tue 24 Nov 2026, 18:30 CET`.
    #[cfg(feature = "ssr")]
    pub fn format(&self, instant: chrono::DateTime<chrono::Utc>) -> String {
        instant
            .with_timezone(&self.tz())
            .format("%a %-d %b %Y, %H:%M %Z")
            .to_string()
    }

    /// When something from `starts` to `ends` happens, as this zone reads it:
    /// `Tue 24 Nov 2026, 18:30 CET – Tue 24 Nov 2026, 21:00 CET`, or "Date to be announced"
    /// without a start.
    #[cfg(feature = "ssr")]
    pub fn span(
        &self,
        starts: Option<chrono::DateTime<chrono::Utc>>,
        ends: Option<chrono::DateTime<chrono::Utc>>,
    ) -> String {
        match (starts, ends) {
            (Some(start), Some(end)) => format!("{} – {}", self.format(start), self.format(end)),
            (Some(start), None) => self.format(start),
            (None, _) => "Date to be announced".to_owned(),
        }
    }
}

#[cfg(feature = "ssr")]
impl TimeZoneName {
    /// The zone that is always `seconds` east of UTC, when the tz database has one: UTC, or an
    /// `Etc/GMT±h` zone for whole hours (whose sign is inverted by POSIX convention: `Etc/GMT-2` is
    /// two hours east). An offset such as +05:30 belongs to no fixed zone there.
    pub fn from_offset(seconds: i32) -> Option<Self> {
        if seconds == 0 {
            return Some(Self::utc());
        }
        if seconds % 3600 != 0 || !(-12 * 3600..=14 * 3600).contains(&seconds) {
            return None;
        }
        let hours = seconds / 3600;
        Self::parse(&format!("Etc/GMT{:+}", -hours)).ok()
    }
}

/// What pages show times in: the zone the visitor chose or their browser reported, or, until one
/// is known (a first visit without JavaScript), each event's own zone.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum ShownZone {
    #[default]
    EventsOwn,
    Viewer(TimeZoneName),
}

impl ShownZone {
    /// The zone an event whose own zone is `own` is shown in.
    pub fn for_event<'a>(&'a self, own: &'a TimeZoneName) -> &'a TimeZoneName {
        match self {
            Self::Viewer(zone) => zone,
            Self::EventsOwn => own,
        }
    }

    /// From `starts` to `ends` of an event whose own zone is `own`, as this page shows it.
    #[cfg(feature = "ssr")]
    pub fn span(
        &self,
        starts: Option<chrono::DateTime<chrono::Utc>>,
        ends: Option<chrono::DateTime<chrono::Utc>>,
        own: &TimeZoneName,
    ) -> String {
        self.for_event(own).span(starts, ends)
    }

    /// What a page says about its times.
    pub fn sentence(&self) -> String {
        match self {
            Self::Viewer(zone) => format!("Times are shown in {zone}."),
            Self::EventsOwn => "Times are shown in each event's own time zone.".to_owned(),
        }
    }

    /// The visitor's zone, when known.
    pub fn viewer(&self) -> Option<&TimeZoneName> {
        match self {
            Self::Viewer(zone) => Some(zone),
            Self::EventsOwn => None,
        }
    }
}

/// A record named a time zone that is not in the tz database (or not a name at all): the page says
/// so, and what its times are shown in instead.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnknownZone {
    /// What the record wrote, cut short.
    pub named: String,
    /// The zone used instead: the fixed one of the offset its times were written with, or UTC.
    pub used: TimeZoneName,
}

impl Default for TimeZoneName {
    fn default() -> Self {
        Self::utc()
    }
}

impl TryFrom<String> for TimeZoneName {
    type Error = TimeZoneError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<TimeZoneName> for String {
    fn from(tz: TimeZoneName) -> Self {
        tz.0
    }
}

impl fmt::Display for TimeZoneName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use super::*;

    #[test]
    fn accepts_every_common_zone() {
        for name in COMMON_TIME_ZONES {
            assert_eq!(TimeZoneName::parse(name).map(String::from), Ok((*name).to_owned()));
        }
    }

    #[test]
    fn formats_instants_in_the_zone() {
        let instant = chrono::DateTime::parse_from_rfc3339("2026-11-24T17:30:00Z")
            .expect("valid")
            .to_utc();
        let berlin = TimeZoneName::parse("Europe/Berlin").expect("known zone");
        assert_eq!(berlin.format(instant), "Tue 24 Nov 2026, 18:30 CET");
        assert_eq!(TimeZoneName::utc().format(instant), "Tue 24 Nov 2026, 17:30 UTC");
    }

    #[test]
    fn spans_read_start_to_end_and_say_when_there_is_no_date() {
        let at = |text| chrono::DateTime::parse_from_rfc3339(text).expect("valid").to_utc();
        let berlin = TimeZoneName::parse("Europe/Berlin").expect("known zone");
        let (start, end) = (at("2026-11-24T17:30:00Z"), at("2026-11-24T20:00:00Z"));
        assert_eq!(
            berlin.span(Some(start), Some(end)),
            "Tue 24 Nov 2026, 18:30 CET – Tue 24 Nov 2026, 21:00 CET"
        );
        assert_eq!(berlin.span(Some(start), None), "Tue 24 Nov 2026, 18:30 CET");
        assert_eq!(berlin.span(None, Some(end)), "Date to be announced");
        // A page in the viewer's zone, or in each event's own until one is known.
        let tokyo = TimeZoneName::parse("Asia/Tokyo").expect("known zone");
        assert_eq!(
            ShownZone::Viewer(tokyo).span(Some(start), None, &berlin),
            "Wed 25 Nov 2026, 02:30 JST"
        );
        assert_eq!(
            ShownZone::EventsOwn.span(Some(start), None, &berlin),
            "Tue 24 Nov 2026, 18:30 CET"
        );
    }

    #[test]
    fn whole_hour_offsets_have_a_fixed_zone() {
        assert_eq!(TimeZoneName::from_offset(0), Some(TimeZoneName::utc()));
        let east = TimeZoneName::from_offset(2 * 3600).expect("whole hours");
        assert_eq!(east.as_str(), "Etc/GMT-2");
        let instant = chrono::DateTime::parse_from_rfc3339("2026-11-24T17:30:00Z")
            .expect("valid")
            .to_utc();
        assert!(east.format(instant).contains("19:30"), "{}", east.format(instant));
        assert_eq!(
            TimeZoneName::from_offset(-5 * 3600).map(String::from),
            Some("Etc/GMT+5".to_owned())
        );
        assert_eq!(TimeZoneName::from_offset(5 * 3600 + 1800), None);
        assert_eq!(TimeZoneName::from_offset(15 * 3600), None);
    }

    #[test]
    fn rejects_unknown_zones() {
        assert!(TimeZoneName::parse("Mars/Olympus_Mons").is_err());
        assert!(TimeZoneName::parse("").is_err());
    }
}
