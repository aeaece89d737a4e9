//! Finding series in events published one by one (F29): an organiser's events that share a name
//! (numbers aside: "Rust meetup #12", "Rust meetup #13"), a place, a time of day and a length,
//! and fall on a pattern of dates, are proposed as a series with the RRULE of that pattern and a
//! confidence.
//!
//! Patterns tried: every N weeks on one weekday, monthly on the same day of the month, monthly on
//! the same weekday position ("the 2nd Tuesday", "the last Friday"). A proposal keeps only the
//! events that fit its rule; an occurrence moved to another date, or an unrelated event with a
//! similar name, is left out rather than bending the rule.

use crate::domain::{weekday_code, TimeZoneName};
use chrono::{DateTime, Datelike, Duration, NaiveDate, Timelike, Utc, Weekday};
use std::collections::BTreeMap;

/// Fewer events than this are no pattern.
pub const MIN_EVENTS: usize = 3;
/// Proposals below this confidence are not shown.
pub const MIN_CONFIDENCE: f64 = 0.6;
/// The most events one organiser's detection looks at.
pub const MAX_EVENTS: usize = 2000;

/// One event as detection sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub id: i64,
    pub name: String,
    /// A few words of where it is (venue, city), if it says.
    pub place: Option<String>,
    pub starts_at: DateTime<Utc>,
    pub ends_at: Option<DateTime<Utc>>,
    pub time_zone: TimeZoneName,
}

/// The shape of a date pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pattern {
    /// Every `n` weeks on one weekday.
    Weekly { every: u32, weekday: Weekday },
    /// Monthly on the same day of the month.
    MonthDay(u32),
    /// Monthly on the `nth` (or, for -1, the last) `weekday`.
    MonthWeekday { nth: i32, weekday: Weekday },
}

impl Pattern {
    /// The RRULE (without DTSTART) for this pattern.
    pub fn rrule(self) -> String {
        match self {
            Self::Weekly { every: 1, weekday } => format!("FREQ=WEEKLY;BYDAY={}", weekday_code(weekday)),
            Self::Weekly { every, weekday } => {
                format!("FREQ=WEEKLY;INTERVAL={every};BYDAY={}", weekday_code(weekday))
            }
            Self::MonthDay(day) => format!("FREQ=MONTHLY;BYMONTHDAY={day}"),
            Self::MonthWeekday { nth, weekday } => format!("FREQ=MONTHLY;BYDAY={nth}{}", weekday_code(weekday)),
        }
    }

    /// Whether `date` is one of the pattern's dates, counting from `first`.
    pub(super) fn fits(self, first: NaiveDate, date: NaiveDate) -> bool {
        match self {
            Self::Weekly { every, weekday } => {
                let days = (date - first).num_days();
                date.weekday() == weekday && days % (7 * i64::from(every)) == 0
            }
            Self::MonthDay(day) => date.day() == day,
            Self::MonthWeekday { nth, weekday } => date.weekday() == weekday && position(date, nth < 0) == nth,
        }
    }

    /// How many dates the pattern has from `first` to `last`, both included.
    fn expected(self, first: NaiveDate, last: NaiveDate) -> usize {
        match self {
            Self::Weekly { every, .. } => ((last - first).num_days() / (7 * i64::from(every))) as usize + 1,
            Self::MonthDay(_) | Self::MonthWeekday { .. } => {
                let months = (last.year() - first.year()) * 12 + last.month() as i32 - first.month() as i32;
                months.max(0) as usize + 1
            }
        }
    }
}

/// A proposed series.
#[derive(Debug, Clone, PartialEq)]
pub struct Proposal {
    pub pattern: Pattern,
    /// The events that fit it, soonest first.
    pub events: Vec<i64>,
    /// From 0 to 1: how many of the group's events fit, times how many of the pattern's dates
    /// between the first and last have an event.
    pub confidence: f64,
}

impl Proposal {
    pub fn rrule(&self) -> String {
        self.pattern.rrule()
    }
}

/// The series among one organiser's events, most confident first.
pub fn detect(events: &[Candidate]) -> Vec<Proposal> {
    let mut groups: BTreeMap<(String, String, u32, i64), Vec<&Candidate>> = BTreeMap::new();
    for event in events.iter().take(MAX_EVENTS) {
        let local = event.starts_at.with_timezone(&event.time_zone.tz());
        // Times of day within a quarter of an hour, and lengths within one, count as the same.
        let minute = local.hour() * 60 + local.minute();
        let quarter = (minute + 7) / 15;
        let length = event
            .ends_at
            .map(|end| ((end - event.starts_at).num_minutes() + 7) / 15)
            .unwrap_or(-1);
        let key = (
            name_key(&event.name),
            event.place.as_deref().map(name_key).unwrap_or_default(),
            quarter,
            length,
        );
        groups.entry(key).or_default().push(event);
    }
    let mut proposals: Vec<Proposal> = groups
        .into_values()
        .filter(|group| group.len() >= MIN_EVENTS)
        .filter_map(|mut group| {
            group.sort_by_key(|event| event.starts_at);
            best_pattern(&group)
        })
        .filter(|proposal| proposal.confidence >= MIN_CONFIDENCE && proposal.events.len() >= MIN_EVENTS)
        .collect();
    proposals.sort_by(|a, b| b.confidence.total_cmp(&a.confidence));
    proposals
}

/// The pattern that fits a group best, with the events that fit it.
fn best_pattern(group: &[&Candidate]) -> Option<Proposal> {
    let dates: Vec<NaiveDate> = group
        .iter()
        .map(|event| event.starts_at.with_timezone(&event.time_zone.tz()).date_naive())
        .collect();
    let mut best: Option<Proposal> = None;
    for pattern in patterns(&dates) {
        // The pattern counts from its first fitting date.
        let Some(start) = dates.iter().position(|date| pattern.fits(*date, *date)) else {
            continue;
        };
        let first = dates[start];
        let fitting: Vec<usize> = (start..dates.len())
            .filter(|&i| pattern.fits(first, dates[i]))
            .filter(|&i| i == start || dates[i] != dates[i - 1])
            .collect();
        let Some(&last) = fitting.last() else { continue };
        if fitting.len() < MIN_EVENTS {
            continue;
        }
        let share = fitting.len() as f64 / dates.len() as f64;
        let coverage = fitting.len() as f64 / pattern.expected(first, dates[last]) as f64;
        let confidence = (share * coverage.min(1.0) * 1000.0).round() / 1000.0;
        if best.as_ref().is_none_or(|b| confidence > b.confidence) {
            best = Some(Proposal {
                pattern,
                events: fitting.iter().map(|&i| group[i].id).collect(),
                confidence,
            });
        }
    }
    best
}

/// The patterns worth trying for these dates: each weekday's weekly rhythms (every 1 to 4 weeks),
/// and the monthly ones of the most common day and weekday position.
fn patterns(dates: &[NaiveDate]) -> Vec<Pattern> {
    let weekday = most_common(dates.iter().map(|d| d.weekday().num_days_from_monday()));
    let day = most_common(dates.iter().map(|d| d.day()));
    let nth = most_common(dates.iter().map(|d| position(*d, false) + 10));
    let last = dates.iter().filter(|d| position(**d, true) == -1).count();
    let mut patterns = Vec::new();
    if let Some(weekday) = weekday.and_then(|n| Weekday::try_from(n as u8).ok()) {
        patterns.extend((1..=4).map(|every| Pattern::Weekly { every, weekday }));
        if let Some(nth) = nth {
            patterns.push(Pattern::MonthWeekday { nth: nth - 10, weekday });
        }
        if last * 2 >= dates.len() {
            patterns.push(Pattern::MonthWeekday { nth: -1, weekday });
        }
    }
    if let Some(day) = day {
        patterns.push(Pattern::MonthDay(day));
    }
    patterns
}

fn most_common<T: Ord + Copy>(values: impl Iterator<Item = T>) -> Option<T> {
    let mut counts: BTreeMap<T, usize> = BTreeMap::new();
    for value in values {
        *counts.entry(value).or_default() += 1;
    }
    counts
        .into_iter()
        .max_by_key(|(_, count)| *count)
        .map(|(value, _)| value)
}

/// Which of its month's weekdays `date` is: 1 to 5 counting from the start, or -1 if `from_end`
/// and it is the month's last.
fn position(date: NaiveDate, from_end: bool) -> i32 {
    if from_end {
        let next_week = date + Duration::days(7);
        return if next_week.month() != date.month() { -1 } else { 0 };
    }
    (date.day() as i32 - 1) / 7 + 1
}

/// A name with numbers, dates and punctuation taken out, in lower case: what events of one series
/// share ("Rust Meetup #12 (May)" and "Rust meetup #13 (June)" both become "rust meetup").
pub fn name_key(name: &str) -> String {
    const MONTHS: &[&str] = &[
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
        "jan",
        "feb",
        "mar",
        "apr",
        "jun",
        "jul",
        "aug",
        "sep",
        "sept",
        "oct",
        "nov",
        "dec",
    ];
    name.to_lowercase()
        .split(|c: char| !c.is_alphabetic())
        .filter(|word| !word.is_empty() && !MONTHS.contains(word))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_lose_their_numbers_and_months() {
        assert_eq!(name_key("Rust Meetup #12 (May)"), "rust meetup");
        assert_eq!(name_key("rust meetup – 13"), "rust meetup");
        assert_eq!(name_key("Climate café"), "climate café");
    }

    #[test]
    fn detection_is_precise_and_finds_most_series() {
        let histories = crate::server::series::labelled::histories(crate::server::series::labelled::MEASURED);
        let score = crate::server::series::labelled::score(&histories);
        println!(
            "series detection on {} labelled histories: precision {:.3}, recall {:.3}, accuracy {:.3} ({} proposals, {} series)",
            histories.len(),
            score.precision(),
            score.recall(),
            score.accuracy(),
            score.proposals,
            score.series
        );
        assert!(score.series > 250, "{score:?}");
        assert!(score.precision() >= 0.9, "{score:?}");
        assert!(score.recall() >= 0.9, "{score:?}");
    }
}
