//! iCalendar (RFC 5545) for events: one event's `.ics`, and the feeds calendar apps subscribe to.
//!
//! The `ics` crate writes the format (components, CRLF lines folded at 75 octets, text escaping
//! through [`ics::escape_text`]); it was picked over `icalendar` because that one cannot write a
//! valid `VTIMEZONE`. What an event says comes from records strangers wrote, so every text value
//! loses its control characters before it is escaped, and only http(s) links become `URL`s.
//!
//! Times are written as the organiser's wall time with a `TZID`, and each zone used gets a
//! `VTIMEZONE` built from the same tz database the rest of Skymeet uses (chrono-tz), covering the
//! events' dates: a calendar app then shows the right wall time across daylight-saving changes.
//! Events in UTC use `Z` times and need no zone.

use crate::domain::{check_url, EventDraft, EventStatus, TimeZoneName};
use chrono::{DateTime, Duration, NaiveDateTime, Offset, TimeZone, Utc};
use chrono_tz::{OffsetComponents, OffsetName, Tz};
use ics::{
    escape_text,
    parameters::TzIDParam,
    properties::{
        Description, DtEnd, DtStart, ExDate, Geo, LastModified, Location, Method, Name, RRule, RecurrenceID,
        RefreshInterval, Sequence, Status, Summary, TzName, URL,
    },
    Daylight, Event as IcsEvent, ICalendar, Standard, TimeZone as IcsTimeZone,
};
use std::collections::BTreeMap;

/// One event as a calendar app gets it.
#[derive(Debug, Clone)]
pub struct CalendarEntry {
    /// Stable across every feed and every change: the record's at-uri, or for an event without
    /// one a name made of its id and our host.
    pub uid: String,
    pub draft: EventDraft,
    /// Its page here.
    pub url: String,
    /// How many times it changed (`SEQUENCE`).
    pub sequence: i64,
    pub last_modified: DateTime<Utc>,
    /// For a series: its rule, which the entry's start is the first date of.
    pub repeats: Option<Repeats>,
    /// For one changed date of a series: the start the rule gives it (`RECURRENCE-ID`); the
    /// entry then shares the series' `uid` and says what that date is now.
    pub recurrence_id: Option<DateTime<Utc>>,
}

/// How a series repeats, for its one `VEVENT`.
#[derive(Debug, Clone)]
pub struct Repeats {
    /// The `RRULE` value, checked when the series was stored (`FREQ=WEEKLY;BYDAY=TU`).
    pub rule: String,
    /// The dates the rule gives that do not take place (`EXDATE`).
    pub skipped: Vec<DateTime<Utc>>,
    /// Until when the calendar must know the zone's changes: the series' last date, or as far
    /// ahead as a feed looks.
    pub through: DateTime<Utc>,
}

/// The most characters of an event's text a calendar gets (descriptions can be long).
const TEXT_MAX_CHARS: usize = 5_000;

/// Writes `entries` as one calendar named `name`. Entries without a start are left out: a
/// published event needs one (RFC 5546 §3.2.1). The same entries always give the same text, so
/// the text's hash is a good `ETag`.
pub fn calendar(name: &str, entries: &[CalendarEntry]) -> String {
    let mut calendar = ICalendar::new("2.0", "-//Skymeet//Events//EN");
    calendar.push(Method::new("PUBLISH"));
    let name = escape_text(clean(name)).into_owned();
    calendar.push(Name::new(name.clone()));
    calendar.push(ics::components::Property::new("X-WR-CALNAME", name));
    // How often a subscribed app should look again (RFC 7986, and Outlook's older name for it).
    calendar.push(RefreshInterval::new("PT1H"));
    calendar.push(ics::components::Property::new("X-PUBLISHED-TTL", "PT1H"));
    let dated: Vec<_> = entries.iter().filter(|entry| entry.draft.starts_at.is_some()).collect();
    for (zone, (from, to)) in zones_used(&dated) {
        calendar.add_timezone(vtimezone(&zone, from, to));
    }
    for entry in dated {
        calendar.add_event(vevent(entry));
    }
    calendar.to_string()
}

fn vevent(entry: &CalendarEntry) -> IcsEvent<'static> {
    let draft = &entry.draft;
    let mut event = IcsEvent::new(
        escape_text(clean(&entry.uid)).into_owned(),
        utc_text(entry.last_modified),
    );
    event.push(Sequence::new(entry.sequence.max(0).to_string()));
    event.push(LastModified::new(utc_text(entry.last_modified)));
    event.push(Summary::new(escape_text(clean(&draft.name)).into_owned()));
    if let Some(description) = &draft.description {
        event.push(Description::new(escape_text(clean(description)).into_owned()));
    }
    if let Some(start) = draft.starts_at {
        event.push(at(DtStart::new(wall_or_utc(start, &draft.time_zone)), &draft.time_zone));
    }
    if let Some(end) = draft.ends_at.filter(|end| Some(*end) >= draft.starts_at) {
        event.push(at(DtEnd::new(wall_or_utc(end, &draft.time_zone)), &draft.time_zone));
    }
    if let Some(repeats) = &entry.repeats {
        // The rule is ours (checked when stored), but it is still only written if it has nothing
        // that could end the line or the value.
        if repeats
            .rule
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"=;,-+".contains(&b))
        {
            event.push(RRule::new(repeats.rule.clone()));
        }
        for skipped in &repeats.skipped {
            event.push(at(
                ExDate::new(wall_or_utc(*skipped, &draft.time_zone)),
                &draft.time_zone,
            ));
        }
    }
    if let Some(original) = entry.recurrence_id {
        event.push(at(
            RecurrenceID::new(wall_or_utc(original, &draft.time_zone)),
            &draft.time_zone,
        ));
    }
    event.push(Status::new(match draft.status {
        EventStatus::Cancelled => "CANCELLED",
        EventStatus::Planned | EventStatus::Postponed => "TENTATIVE",
        EventStatus::Scheduled | EventStatus::Rescheduled => "CONFIRMED",
    }));
    if check_url(&entry.url).is_ok() {
        event.push(URL::new(entry.url.clone()));
    }
    if let Some(place) = location(draft) {
        event.push(Location::new(escape_text(clean(&place)).into_owned()));
    }
    if let Some((latitude, longitude)) = coordinates(draft) {
        event.push(Geo::new(format!("{latitude};{longitude}")));
    }
    event
}

/// Gives a date-time property its zone (none for UTC, whose times end in `Z`).
fn at<'a>(property: impl Into<ics::components::Property<'a>>, zone: &TimeZoneName) -> ics::components::Property<'a> {
    let mut property = property.into();
    if !is_utc(zone) {
        property.add(TzIDParam::new(zone.as_str().to_owned()));
    }
    property
}

fn is_utc(zone: &TimeZoneName) -> bool {
    zone.tz().name() == "UTC"
}

fn utc_text(instant: DateTime<Utc>) -> String {
    instant.format("%Y%m%dT%H%M%SZ").to_string()
}

/// `instant` as the zone's wall time (`20261201T190000`), or as UTC (`…Z`) for UTC itself.
fn wall_or_utc(instant: DateTime<Utc>, zone: &TimeZoneName) -> String {
    if is_utc(zone) {
        utc_text(instant)
    } else {
        instant.with_timezone(&zone.tz()).format("%Y%m%dT%H%M%S").to_string()
    }
}

/// The place as one line: the address, else the online link.
pub fn location(draft: &EventDraft) -> Option<String> {
    let address = draft.address.as_ref().map(|a| {
        [&a.name, &a.street, &a.locality, &a.region, &a.postal_code, &a.country]
            .into_iter()
            .flatten()
            .map(|part| part.trim())
            .filter(|part| !part.is_empty())
            .collect::<Vec<_>>()
            .join(", ")
    });
    address
        .filter(|line| !line.is_empty())
        .or_else(|| draft.online.as_ref().and_then(|link| link.href()).map(str::to_owned))
}

/// Coordinates that are numbers on the globe; anything else a record says is left out.
fn coordinates(draft: &EventDraft) -> Option<(f64, f64)> {
    draft.geo.as_ref()?.point()
}

/// Text a stranger wrote, fit for a calendar: control characters go (line breaks and tabs
/// stay), and it is cut at [`TEXT_MAX_CHARS`].
fn clean(text: &str) -> String {
    text.replace("\r\n", "\n")
        .chars()
        .filter(|c| !c.is_control() || matches!(c, '\n' | '\t'))
        .take(TEXT_MAX_CHARS)
        .collect()
}

/// Each zone the entries' times are written in, with the span of instants they use.
fn zones_used(entries: &[&CalendarEntry]) -> BTreeMap<String, (DateTime<Utc>, DateTime<Utc>)> {
    let mut zones: BTreeMap<String, (DateTime<Utc>, DateTime<Utc>)> = BTreeMap::new();
    for entry in entries {
        let zone = &entry.draft.time_zone;
        if is_utc(zone) {
            continue;
        }
        let series = entry.repeats.as_ref().map(|repeats| repeats.through);
        let instants = [entry.draft.starts_at, entry.draft.ends_at, entry.recurrence_id, series];
        for instant in instants.into_iter().flatten() {
            let span = zones.entry(zone.as_str().to_owned()).or_insert((instant, instant));
            span.0 = span.0.min(instant);
            span.1 = span.1.max(instant);
        }
    }
    zones
}

/// A `VTIMEZONE` for `zone` that is right from a day before `from` to a day after `to`: the
/// offset in force at the start, then one `STANDARD` or `DAYLIGHT` block per change in between
/// (explicit onsets, no rules, so it says exactly what the tz database says).
fn vtimezone(zone: &str, from: DateTime<Utc>, to: DateTime<Utc>) -> IcsTimeZone<'static> {
    let tz = TimeZoneName::parse(zone).map(|name| name.tz()).unwrap_or(Tz::UTC);
    let start = from - Duration::days(1);
    let end = to + Duration::days(1);
    let first = observance(&tz, start, None);
    let mut timezone = match first.daylight {
        true => IcsTimeZone::daylight(zone.to_owned(), first.daylight_block()),
        false => IcsTimeZone::standard(zone.to_owned(), first.standard_block()),
    };
    let mut previous = first;
    for change in transitions(&tz, start, end) {
        let next = observance(&tz, change, Some(previous.offset_seconds));
        match next.daylight {
            true => timezone.add_daylight(next.daylight_block()),
            false => timezone.add_standard(next.standard_block()),
        }
        previous = next;
    }
    timezone
}

/// One stretch of a zone's time: from `onset` on, clocks are `offset_seconds` from UTC.
struct Observance {
    /// The wall time the stretch starts at, as clocks showed it just before (RFC 5545 §3.6.5).
    onset_local: NaiveDateTime,
    offset_from_seconds: i32,
    offset_seconds: i32,
    name: String,
    daylight: bool,
}

/// The observance that starts at `instant` (after `offset_before`, or none at the window's start).
fn observance(tz: &Tz, instant: DateTime<Utc>, offset_before: Option<i32>) -> Observance {
    let offset = tz.offset_from_utc_datetime(&instant.naive_utc());
    let offset_seconds = offset.fix().local_minus_utc();
    let offset_from_seconds = offset_before.unwrap_or(offset_seconds);
    Observance {
        onset_local: instant.naive_utc() + Duration::seconds(i64::from(offset_from_seconds)),
        offset_from_seconds,
        offset_seconds,
        name: offset.abbreviation().unwrap_or_default().to_owned(),
        daylight: offset.dst_offset() != Duration::zero(),
    }
}

impl Observance {
    fn parts(&self) -> (String, String, String) {
        (
            self.onset_local.format("%Y%m%dT%H%M%S").to_string(),
            utc_offset(self.offset_from_seconds),
            utc_offset(self.offset_seconds),
        )
    }

    fn standard_block(&self) -> Standard<'static> {
        let (onset, from, to) = self.parts();
        let mut block = Standard::new(onset, from, to);
        if !self.name.is_empty() {
            block.push(TzName::new(escape_text(clean(&self.name)).into_owned()));
        }
        block
    }

    fn daylight_block(&self) -> Daylight<'static> {
        let (onset, from, to) = self.parts();
        let mut block = Daylight::new(onset, from, to);
        if !self.name.is_empty() {
            block.push(TzName::new(escape_text(clean(&self.name)).into_owned()));
        }
        block
    }
}

/// `+0100`, `-0330`, or `+054500`-style with seconds where the offset has them.
fn utc_offset(seconds: i32) -> String {
    let sign = if seconds < 0 { '-' } else { '+' };
    let abs = seconds.unsigned_abs();
    let (hours, minutes, rest) = (abs / 3600, abs % 3600 / 60, abs % 60);
    match rest {
        0 => format!("{sign}{hours:02}{minutes:02}"),
        _ => format!("{sign}{hours:02}{minutes:02}{rest:02}"),
    }
}

/// The instants in `(from, to]` at which `tz`'s offset or abbreviation changes, to the second.
/// chrono-tz keeps its table of changes private, so they are found by looking at each day and
/// narrowing down a day that holds one (zones change at most once a day).
fn transitions(tz: &Tz, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<DateTime<Utc>> {
    let state = |instant: DateTime<Utc>| {
        let offset = tz.offset_from_utc_datetime(&instant.naive_utc());
        (offset.fix().local_minus_utc(), offset.dst_offset())
    };
    let mut found = Vec::new();
    let mut day_start = from;
    while day_start < to {
        let day_end = (day_start + Duration::days(1)).min(to);
        if state(day_start) != state(day_end) {
            // The change is in (low, high], in whole seconds: halve until they are one apart.
            let at = |second: i64| DateTime::from_timestamp(second, 0).unwrap_or(day_end);
            let (mut low, mut high) = (day_start.timestamp(), day_end.timestamp());
            while high - low > 1 {
                let middle = low + (high - low) / 2;
                if state(at(middle)) == state(day_start) {
                    low = middle;
                } else {
                    high = middle;
                }
            }
            found.push(at(high));
        }
        day_start = day_end;
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{EventMode, Geo};

    fn entry(name: &str, zone: &str, start: DateTime<Utc>) -> CalendarEntry {
        CalendarEntry {
            uid: "at://did:plc:abc/community.lexicon.calendar.event/3kabc".to_owned(),
            draft: EventDraft {
                name: name.to_owned(),
                description: Some("Line one\r\nLine two; with, commas\u{0} and \\".to_owned()),
                starts_at: Some(start),
                ends_at: Some(start + Duration::hours(2)),
                time_zone: TimeZoneName::parse(zone).expect("zone"),
                mode: EventMode::InPerson,
                status: EventStatus::Cancelled,
                address: None,
                geo: Some(Geo {
                    latitude: "52.5".to_owned(),
                    longitude: "13.4".to_owned(),
                }),
                online: None,
                links: Vec::new(),
            },
            url: "https://skymeet.example/events/x-1".to_owned(),
            sequence: 3,
            last_modified: Utc.with_ymd_and_hms(2026, 11, 1, 12, 0, 0).single().expect("instant"),
            repeats: None,
            recurrence_id: None,
        }
    }

    #[test]
    fn a_series_is_one_event_with_its_rule_skipped_dates_and_changed_ones() {
        let start = Utc.with_ymd_and_hms(2026, 3, 3, 18, 0, 0).single().expect("instant");
        let mut series = entry("Weekly", "Europe/Berlin", start);
        let week = Duration::days(7);
        series.repeats = Some(Repeats {
            rule: "FREQ=WEEKLY;BYDAY=TU".to_owned(),
            skipped: vec![start + week],
            through: start + Duration::days(365),
        });
        let mut moved = series.clone();
        moved.repeats = None;
        moved.recurrence_id = Some(start + week * 2);
        moved.draft.starts_at = Some(start + week * 2 + Duration::days(1));
        let text = calendar("Series", &[series, moved]).replace("\r\n ", "");
        for line in [
            "RRULE:FREQ=WEEKLY;BYDAY=TU",
            "EXDATE;TZID=Europe/Berlin:20260310T190000",
            "RECURRENCE-ID;TZID=Europe/Berlin:20260317T190000",
            "DTSTART;TZID=Europe/Berlin:20260318T190000",
            // The zone's changes are written out for the whole year, summer time included.
            "TZOFFSETTO:+0200",
            "DTSTART:20261025T030000",
        ] {
            assert!(text.contains(&format!("{line}\r\n")), "{line} in\n{text}");
        }
        assert_eq!(text.matches("BEGIN:VEVENT").count(), 2);
        assert_eq!(text.matches("RRULE:").count(), 1);
    }

    #[test]
    fn an_event_in_a_zone_has_wall_times_and_the_zone_s_changes() {
        let start = Utc.with_ymd_and_hms(2026, 3, 28, 18, 0, 0).single().expect("instant");
        let mut later = entry("Second", "Europe/Berlin", start + Duration::days(7));
        later.uid.push('2');
        let text = calendar("Berlin, events", &[entry("First", "Europe/Berlin", start), later]);
        let unfolded = text.replace("\r\n ", "");
        for line in [
            "METHOD:PUBLISH",
            "X-WR-CALNAME:Berlin\\, events",
            "DTSTART;TZID=Europe/Berlin:20260328T190000",
            // The Saturday before the change is CET; a week later it is CEST.
            "DTSTART;TZID=Europe/Berlin:20260404T200000",
            "BEGIN:DAYLIGHT",
            "DTSTART:20260329T020000",
            "TZOFFSETFROM:+0100",
            "TZOFFSETTO:+0200",
            "TZNAME:CEST",
            "STATUS:CANCELLED",
            "SEQUENCE:3",
            "GEO:52.5;13.4",
            "DESCRIPTION:Line one\\nLine two\\; with\\, commas and \\\\",
        ] {
            assert!(unfolded.contains(&format!("{line}\r\n")), "{line} in\n{text}");
        }
        assert_eq!(unfolded.matches("BEGIN:VTIMEZONE").count(), 1);
        assert!(!text.contains('\u{0}'));
        assert!(text.lines().all(|line| line.len() <= 76), "folded");
        assert_eq!(
            text,
            calendar(
                "Berlin, events",
                &[entry("First", "Europe/Berlin", start), {
                    let mut again = entry("Second", "Europe/Berlin", start + Duration::days(7));
                    again.uid.push('2');
                    again
                }]
            ),
            "the same entries give the same text"
        );
    }

    #[test]
    fn utc_events_use_z_times_and_no_zone() {
        let start = Utc.with_ymd_and_hms(2026, 12, 1, 18, 0, 0).single().expect("instant");
        let text = calendar("x", &[entry("UTC", "UTC", start)]);
        assert!(text.contains("DTSTART:20261201T180000Z\r\n"), "{text}");
        assert!(!text.contains("VTIMEZONE"));
    }

    #[test]
    fn transitions_are_found_to_the_second() {
        let tz: Tz = "America/New_York".parse().expect("zone");
        let from = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).single().expect("instant");
        let to = Utc.with_ymd_and_hms(2027, 1, 1, 0, 0, 0).single().expect("instant");
        let found = transitions(&tz, from, to);
        assert_eq!(
            found,
            [
                Utc.with_ymd_and_hms(2026, 3, 8, 7, 0, 0).single().expect("instant"),
                Utc.with_ymd_and_hms(2026, 11, 1, 6, 0, 0).single().expect("instant"),
            ]
        );
        assert_eq!(utc_offset(-12_600), "-0330");
        assert_eq!(utc_offset(45_900), "+1245");
    }
}
