use serde::{Deserialize, Serialize};
use std::{fmt, str::FromStr};

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
    pub fn parse(input: &str) -> Result<Self, TimeZoneError> {
        let input = input.trim();
        chrono_tz::Tz::from_str(input)
            .map(|tz| Self(tz.name().to_owned()))
            .map_err(|_| TimeZoneError(input.to_owned()))
    }

    pub fn utc() -> Self {
        Self("UTC".to_owned())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn tz(&self) -> chrono_tz::Tz {
        // The name was checked in `parse`; UTC is the safe answer should the database change.
        chrono_tz::Tz::from_str(&self.0).unwrap_or(chrono_tz::Tz::UTC)
    }

    /// `instant` as a `<input type="datetime-local">` in this zone shows it (`2026-12-01T18:30`).
    pub fn local_input(&self, instant: chrono::DateTime<chrono::Utc>) -> String {
        instant.with_timezone(&self.tz()).format("%Y-%m-%dT%H:%M").to_string()
    }

    /// `instant` as a person in this zone reads it, e.g. `Tue 24 Nov 2026, 18:30 CET`.
    pub fn format(&self, instant: chrono::DateTime<chrono::Utc>) -> String {
        instant
            .with_timezone(&self.tz())
            .format("%a %-d %b %Y, %H:%M %Z")
            .to_string()
    }
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

#[cfg(test)]
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
    fn rejects_unknown_zones() {
        assert!(TimeZoneName::parse("Mars/Olympus_Mons").is_err());
        assert!(TimeZoneName::parse("").is_err());
    }
}
