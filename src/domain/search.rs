//! What a visitor looks for on `/events`: words, dates, how people attend, status, organiser and a
//! place. The form's fields travel in the page's address, so a search can be shared, bookmarked
//! and turned into a feed; [`EventSearch::parse`] checks them once.

use super::{EventMode, FieldError, Handle};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;
#[cfg(feature = "ssr")]
use {
    super::TimeZoneName,
    chrono::{Datelike, Days, Duration, NaiveTime, TimeZone, Weekday},
};

/// The longest search text accepted.
pub const SEARCH_TEXT_MAX_CHARS: usize = 200;
/// The most words of a search text that count (the rest are ignored): each word is one more term
/// the full-text index must intersect.
pub const SEARCH_WORDS_MAX: usize = 8;
/// The longest word that counts; longer runs of letters are cut there.
const SEARCH_WORD_MAX_CHARS: usize = 40;
/// The radius of "near" when none is given, and the largest one accepted, in kilometres.
pub const NEAR_DEFAULT_KM: f64 = 25.0;
pub const NEAR_MAX_KM: f64 = 500.0;
/// How far a ranked search pages: relevance beyond this many results is noise, and every page
/// further costs the database more.
pub const RANKED_RESULTS_MAX: u32 = 200;

/// Where a highlighted match starts and ends in a text the database marked (Unicode private-use
/// characters, which no event text needs): the page turns them into `<mark>` elements, so the
/// text itself is escaped like any other.
pub const MARK_START: char = '\u{E000}';
pub const MARK_END: char = '\u{E001}';

/// `text` without [`MARK_START`] and [`MARK_END`]: what is stored for searching never holds them,
/// so every mark in a result is one the database made.
pub fn unmarked(text: &str) -> String {
    text.replace([MARK_START, MARK_END], "")
}

/// The search form exactly as the address carries it: every field text, possibly empty.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SearchInput {
    /// Words to look for in names, descriptions and places.
    pub q: String,
    /// A quick range (`today`, `weekend`, `week`, `month`), or empty for `from`/`to`.
    pub when: String,
    /// `YYYY-MM-DD`, in the viewer's zone.
    pub from: String,
    pub to: String,
    /// `inperson`, `virtual` or `hybrid`.
    pub mode: String,
    /// `hide` to leave cancelled events out.
    pub cancelled: String,
    /// An organiser's handle.
    pub by: String,
    /// `latitude,longitude` in degrees.
    pub near: String,
    /// The radius around `near`, in kilometres.
    pub km: String,
}

impl SearchInput {
    /// The names of its fields in the address.
    pub const FIELDS: [&'static str; 9] = ["q", "when", "from", "to", "mode", "cancelled", "by", "near", "km"];

    /// The fields that are set, as a query string (`q=jazz&mode=virtual`), empty for none.
    pub fn query_string(&self) -> String {
        let mut query = form_urlencoded::Serializer::new(String::new());
        for (name, value) in self.fields() {
            if !value.trim().is_empty() {
                query.append_pair(name, value.trim());
            }
        }
        query.finish()
    }

    /// The same search from a query string's pairs (unknown names are ignored).
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        let mut input = Self::default();
        for (name, value) in pairs {
            let field = match name {
                "q" => &mut input.q,
                "when" => &mut input.when,
                "from" => &mut input.from,
                "to" => &mut input.to,
                "mode" => &mut input.mode,
                "cancelled" => &mut input.cancelled,
                "by" => &mut input.by,
                "near" => &mut input.near,
                "km" => &mut input.km,
                _ => continue,
            };
            value.clone_into(field);
        }
        input
    }

    fn fields(&self) -> [(&'static str, &str); 9] {
        [
            ("q", &self.q),
            ("when", &self.when),
            ("from", &self.from),
            ("to", &self.to),
            ("mode", &self.mode),
            ("cancelled", &self.cancelled),
            ("by", &self.by),
            ("near", &self.near),
            ("km", &self.km),
        ]
    }
}

/// A checked search.
#[derive(Clone, Debug, PartialEq)]
pub struct EventSearch {
    pub text: Option<SearchText>,
    pub dates: Dates,
    pub mode: Option<EventMode>,
    pub hide_cancelled: bool,
    pub organiser: Option<Handle>,
    pub near: Option<Near>,
}

impl EventSearch {
    /// What `/events` shows with nothing asked: everything still to come.
    pub fn upcoming() -> Self {
        Self {
            text: None,
            dates: Dates::Upcoming,
            mode: None,
            hide_cancelled: false,
            organiser: None,
            near: None,
        }
    }

    /// Checks every field, collecting a message for each one that is wrong.
    pub fn parse(input: &SearchInput) -> Result<Self, Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut error = |field: &str, message: String| {
            errors.push(FieldError {
                field: field.to_owned(),
                message,
            })
        };
        let text = match SearchText::parse(&input.q) {
            Ok(text) => text,
            Err(message) => {
                error("q", message);
                None
            }
        };
        let date = |field: &str, text: &str| -> Result<Option<NaiveDate>, String> {
            match text.trim() {
                "" => Ok(None),
                text => NaiveDate::parse_from_str(text, "%Y-%m-%d")
                    .map(Some)
                    .map_err(|_| format!("The {field} date must be a date like 2026-12-31.")),
            }
        };
        let dates = match input.when.trim() {
            "" => match (date("from", &input.from), date("to", &input.to)) {
                (Ok(None), Ok(None)) => Dates::Upcoming,
                (Ok(from), Ok(to)) if from.zip(to).is_some_and(|(from, to)| to < from) => {
                    error("to", "The end date must not be before the start date.".to_owned());
                    Dates::Upcoming
                }
                (Ok(from), Ok(to)) => Dates::Between { from, to },
                (from, to) => {
                    for (field, message) in [("from", from.err()), ("to", to.err())] {
                        if let Some(message) = message {
                            error(field, message);
                        }
                    }
                    Dates::Upcoming
                }
            },
            when => match QuickRange::from_name(when) {
                Some(range) => Dates::Quick(range),
                None => {
                    error(
                        "when",
                        format!("{when:?} is not a range (today, weekend, week or month)."),
                    );
                    Dates::Upcoming
                }
            },
        };
        let mode = match input.mode.trim() {
            "" => None,
            mode => {
                let parsed = EventMode::from_token(mode);
                if parsed.is_none() {
                    error(
                        "mode",
                        format!("{mode:?} is not a way to attend (inperson, virtual or hybrid)."),
                    );
                }
                parsed
            }
        };
        let organiser = match input.by.trim().trim_start_matches('@') {
            "" => None,
            by => match Handle::parse(by) {
                Ok(handle) => Some(handle),
                Err(_) => {
                    error("by", format!("{by:?} is not a handle (like alice.bsky.social)."));
                    None
                }
            },
        };
        let near = match Near::parse(&input.near, &input.km) {
            Ok(near) => near,
            Err((field, message)) => {
                error(field, message);
                None
            }
        };
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(Self {
            text,
            dates,
            mode,
            hide_cancelled: input.cancelled.trim() == "hide",
            organiser,
            near,
        })
    }
}

/// The words of a search, as the full-text index is asked for them: letters and digits only (no
/// operator of either engine's query language survives), at most [`SEARCH_WORDS_MAX`] of them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SearchText {
    words: Vec<String>,
}

impl SearchText {
    /// `None` when the text holds no word.
    pub fn parse(text: &str) -> Result<Option<Self>, String> {
        if text.chars().count() > SEARCH_TEXT_MAX_CHARS {
            return Err(format!("Search for at most {SEARCH_TEXT_MAX_CHARS} characters."));
        }
        let words: Vec<String> = text
            .split(|c: char| !c.is_alphanumeric())
            .filter(|word| !word.is_empty())
            .take(SEARCH_WORDS_MAX)
            .map(|word| {
                word.chars()
                    .take(SEARCH_WORD_MAX_CHARS)
                    .collect::<String>()
                    .to_lowercase()
            })
            .collect();
        Ok((!words.is_empty()).then_some(Self { words }))
    }

    /// The words, the last one taken as the start of a word (results as you type).
    pub fn words(&self) -> &[String] {
        &self.words
    }
}

/// The dates a search covers, in the viewer's zone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dates {
    /// Everything not over yet (events without a date too).
    Upcoming,
    Quick(QuickRange),
    /// From the start of `from` (or now) to the end of `to` (or whenever).
    Between {
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
    },
}

/// The quick ranges the form offers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QuickRange {
    Today,
    /// The coming Saturday and Sunday (or the rest of them, at the weekend).
    Weekend,
    /// The next seven days.
    Week,
    /// The rest of this month.
    Month,
}

impl QuickRange {
    pub const ALL: [Self; 4] = [Self::Today, Self::Weekend, Self::Week, Self::Month];

    pub fn name(self) -> &'static str {
        match self {
            Self::Today => "today",
            Self::Weekend => "weekend",
            Self::Week => "week",
            Self::Month => "month",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Today => "Today",
            Self::Weekend => "This weekend",
            Self::Week => "Next 7 days",
            Self::Month => "This month",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|range| range.name() == name)
    }
}

/// The instants a search's dates cover: events that end at or after `from` and start before
/// `until` (when there is one).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    pub from: DateTime<Utc>,
    pub until: Option<DateTime<Utc>>,
    /// Events without a date belong (they may still happen at any time).
    pub undated: bool,
}

impl Dates {
    #[cfg(feature = "ssr")]
    /// The window these dates cover at `now`, for a viewer in `zone`.
    pub fn window(self, now: DateTime<Utc>, zone: &TimeZoneName) -> Window {
        let tz = zone.tz();
        let today = now.with_timezone(&tz).date_naive();
        // The first instant of `day` in the zone (a day that starts in a gap starts after it).
        let start_of = |day: NaiveDate| -> DateTime<Utc> {
            let midnight = day.and_time(NaiveTime::MIN);
            (0..4)
                .find_map(|hours| tz.from_local_datetime(&(midnight + Duration::hours(hours))).earliest())
                .map(|at| at.with_timezone(&Utc))
                .unwrap_or_else(|| Utc.from_utc_datetime(&midnight))
        };
        let next = |day: NaiveDate, days: u64| day.checked_add_days(Days::new(days)).unwrap_or(day);
        let dated = |from: DateTime<Utc>, until: Option<DateTime<Utc>>| Window {
            from,
            until,
            undated: false,
        };
        match self {
            Self::Upcoming => Window {
                from: now,
                until: None,
                undated: true,
            },
            Self::Quick(QuickRange::Today) => dated(now, Some(start_of(next(today, 1)))),
            Self::Quick(QuickRange::Weekend) => {
                let saturday = match today.weekday() {
                    Weekday::Sat | Weekday::Sun => today.week(Weekday::Sat).first_day(),
                    weekday => next(today, u64::from(5 - weekday.num_days_from_monday())),
                };
                let from = start_of(saturday).max(now);
                dated(from, Some(start_of(next(saturday, 2))))
            }
            Self::Quick(QuickRange::Week) => dated(now, Some(now + Duration::days(7))),
            Self::Quick(QuickRange::Month) => {
                let first_of_next = today
                    .with_day(1)
                    .and_then(|first| first.checked_add_months(chrono::Months::new(1)))
                    .unwrap_or(today);
                dated(now, Some(start_of(first_of_next)))
            }
            Self::Between { from, to } => dated(from.map(start_of).unwrap_or(now), to.map(|to| start_of(next(to, 1)))),
        }
    }
}

/// A circle on the globe: events with a point inside it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Near {
    pub latitude: f64,
    pub longitude: f64,
    pub km: f64,
}

impl Near {
    /// From `latitude,longitude` and a radius (empty: [`NEAR_DEFAULT_KM`]); `None` without a point.
    fn parse(point: &str, km: &str) -> Result<Option<Self>, (&'static str, String)> {
        let point = point.trim();
        if point.is_empty() {
            return Ok(None);
        }
        let coordinates = point
            .split_once(',')
            .and_then(|(lat, lon)| Some((lat.trim().parse::<f64>().ok()?, lon.trim().parse::<f64>().ok()?)))
            .filter(|(lat, lon)| (-90.0..=90.0).contains(lat) && (-180.0..=180.0).contains(lon));
        let Some((latitude, longitude)) = coordinates else {
            return Err((
                "near",
                "The place must be a latitude and a longitude, like 52.52,13.40.".to_owned(),
            ));
        };
        let km = match km.trim() {
            "" => NEAR_DEFAULT_KM,
            km => km
                .parse::<f64>()
                .ok()
                .filter(|km| (0.1..=NEAR_MAX_KM).contains(km))
                .ok_or_else(|| {
                    (
                        "km",
                        format!("The distance must be a number of kilometres up to {NEAR_MAX_KM}."),
                    )
                })?,
        };
        Ok(Some(Self {
            latitude,
            longitude,
            km,
        }))
    }
}

/// Where the next page of results starts: after an event (by start, then id) in a listing by
/// date, or after a number of results in a ranked search. It travels as `after=` in the address;
/// nothing in it is trusted beyond being a valid position.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cursor {
    /// After the dated event that starts at `starts_at` with id `id`.
    Dated { starts_at: DateTime<Utc>, id: i64 },
    /// Among the events without a date (listed after all dated ones): after id `id`.
    Undated { id: i64 },
    /// After the first `offset` results by relevance.
    Ranked { offset: u32 },
}

impl Cursor {
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        let (kind, rest) = text.split_at_checked(1)?;
        match kind {
            "d" => {
                let (micros, id) = rest.split_once('_')?;
                let starts_at = DateTime::from_timestamp_micros(micros.parse().ok()?)?;
                Some(Self::Dated {
                    starts_at,
                    id: id.parse().ok()?,
                })
            }
            "u" => Some(Self::Undated { id: rest.parse().ok()? }),
            "r" => Some(Self::Ranked {
                offset: rest.parse::<u32>().ok().filter(|offset| *offset < RANKED_RESULTS_MAX)?,
            }),
            _ => None,
        }
    }
}

impl fmt::Display for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Dated { starts_at, id } => write!(f, "d{}_{id}", starts_at.timestamp_micros()),
            Self::Undated { id } => write!(f, "u{id}"),
            Self::Ranked { offset } => write!(f, "r{offset}"),
        }
    }
}

/// A text the database marked, cut into runs of plain and matched text.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Marked(pub Vec<(String, bool)>);

impl Marked {
    /// Reads [`MARK_START`]/[`MARK_END`] pairs; stray marks (a record may hold the characters
    /// itself) only toggle the highlighting, they never appear.
    pub fn parse(text: &str) -> Self {
        let mut runs: Vec<(String, bool)> = Vec::new();
        let mut current = String::new();
        let mut marked = false;
        for c in text.chars() {
            let toggle = match c {
                MARK_START => Some(true),
                MARK_END => Some(false),
                _ => None,
            };
            match toggle {
                Some(now_marked) => {
                    if !current.is_empty() {
                        runs.push((std::mem::take(&mut current), marked));
                    }
                    marked = now_marked;
                }
                None => current.push(c),
            }
        }
        if !current.is_empty() {
            runs.push((current, marked));
        }
        Self(runs)
    }

    pub fn has_match(&self) -> bool {
        self.0.iter().any(|(_, marked)| *marked)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(pairs: &[(&str, &str)]) -> SearchInput {
        SearchInput::from_pairs(pairs.iter().copied())
    }

    #[test]
    fn a_search_travels_in_the_address_and_back() {
        let search = input(&[
            ("q", "jazz & blues"),
            ("mode", "virtual"),
            ("near", "52.5,13.4"),
            ("x", "y"),
        ]);
        assert_eq!(search.query_string(), "q=jazz+%26+blues&mode=virtual&near=52.5%2C13.4");
        let again = SearchInput::from_pairs(
            form_urlencoded::parse(search.query_string().as_bytes())
                .map(|(k, v)| -> (&'static str, &'static str) { (k.into_owned().leak(), v.into_owned().leak()) }),
        );
        assert_eq!(again, search);
    }

    #[test]
    fn search_text_keeps_only_words() {
        let text = SearchText::parse(r#"Jazz" OR near(x) -"drop" ':*  NIGHT*"#)
            .unwrap()
            .unwrap();
        assert_eq!(text.words(), ["jazz", "or", "near", "x", "drop", "night"]);
        assert_eq!(SearchText::parse("  ?!  ").unwrap(), None);
        assert!(SearchText::parse(&"a".repeat(201)).is_err());
        let many = SearchText::parse("a b c d e f g h i j k").unwrap().unwrap();
        assert_eq!(many.words().len(), SEARCH_WORDS_MAX);
    }

    #[test]
    fn every_wrong_field_is_named() {
        let errors = EventSearch::parse(&input(&[
            ("from", "yesterday"),
            ("mode", "teleport"),
            ("by", "not a handle"),
            ("near", "91,0"),
        ]))
        .unwrap_err();
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["from", "mode", "by", "near"]);
        let errors = EventSearch::parse(&input(&[("near", "1,2"), ("km", "5000")])).unwrap_err();
        assert_eq!(errors[0].field, "km");
        let errors = EventSearch::parse(&input(&[("from", "2026-12-05"), ("to", "2026-12-01")])).unwrap_err();
        assert_eq!(errors[0].field, "to");
    }

    #[test]
    fn a_full_search_parses() {
        let search = EventSearch::parse(&input(&[
            ("q", "choir"),
            ("when", "weekend"),
            ("mode", "hybrid"),
            ("cancelled", "hide"),
            ("by", "@alice.test"),
            ("near", "48.85, 2.35"),
            ("km", "10"),
        ]))
        .unwrap();
        assert_eq!(search.dates, Dates::Quick(QuickRange::Weekend));
        assert_eq!(search.mode, Some(EventMode::Hybrid));
        assert!(search.hide_cancelled);
        assert_eq!(search.organiser.unwrap().as_str(), "alice.test");
        assert_eq!(
            search.near,
            Some(Near {
                latitude: 48.85,
                longitude: 2.35,
                km: 10.0
            })
        );
    }

    #[test]
    fn quick_ranges_follow_the_viewers_calendar() {
        let berlin = TimeZoneName::parse("Europe/Berlin").unwrap();
        // Wednesday 2 December 2026, 10:00 in Berlin.
        let now = Utc.with_ymd_and_hms(2026, 12, 2, 9, 0, 0).unwrap();
        let at = |d, h| Some(Utc.with_ymd_and_hms(2026, 12, d, h, 0, 0).unwrap());
        let today = Dates::Quick(QuickRange::Today).window(now, &berlin);
        assert_eq!((today.from, today.until), (now, at(2, 23)));
        let weekend = Dates::Quick(QuickRange::Weekend).window(now, &berlin);
        assert_eq!((Some(weekend.from), weekend.until), (at(4, 23), at(6, 23)));
        let month = Dates::Quick(QuickRange::Month).window(now, &berlin);
        assert_eq!(month.until, Some(Utc.with_ymd_and_hms(2026, 12, 31, 23, 0, 0).unwrap()));
        // On Sunday the weekend is what is left of it.
        let sunday = Utc.with_ymd_and_hms(2026, 12, 6, 12, 0, 0).unwrap();
        let weekend = Dates::Quick(QuickRange::Weekend).window(sunday, &berlin);
        assert_eq!((weekend.from, weekend.until), (sunday, at(6, 23)));
        let between = Dates::Between {
            from: NaiveDate::from_ymd_opt(2026, 11, 1),
            to: NaiveDate::from_ymd_opt(2026, 11, 30),
        }
        .window(now, &berlin);
        assert_eq!(between.from, Utc.with_ymd_and_hms(2026, 10, 31, 23, 0, 0).unwrap());
        assert!(!between.undated && Dates::Upcoming.window(now, &berlin).undated);
    }

    #[test]
    fn cursors_round_trip_and_refuse_anything_else() {
        let dated = Cursor::Dated {
            starts_at: Utc.with_ymd_and_hms(2026, 12, 2, 9, 0, 0).unwrap(),
            id: 42,
        };
        for cursor in [dated, Cursor::Undated { id: 7 }, Cursor::Ranked { offset: 20 }] {
            assert_eq!(Cursor::parse(&cursor.to_string()), Some(cursor));
        }
        for bad in ["", "d", "dx_1", "u-", "r999999", "z1", "é"] {
            assert_eq!(Cursor::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn marks_become_runs_and_stray_marks_vanish() {
        let marked = Marked::parse("a \u{E000}jazz\u{E001} night\u{E001}!");
        assert_eq!(
            marked.0,
            [
                ("a ".to_owned(), false),
                ("jazz".to_owned(), true),
                (" night".to_owned(), false),
                ("!".to_owned(), false)
            ]
        );
        assert!(marked.has_match());
    }
}
