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
    fn fits(self, first: NaiveDate, date: NaiveDate) -> bool {
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

/// A labelled history of generated events, for measuring detection.
pub mod labelled {
    use super::*;
    use chrono::TimeZone;

    /// How many histories the exported accuracy is measured on.
    pub const MEASURED: usize = 200;

    /// One organiser's events, and which of them truly form a series (with its pattern).
    pub struct History {
        pub events: Vec<Candidate>,
        pub truth: Vec<(Pattern, Vec<i64>)>,
    }

    /// Precision and recall of [`detect`] on the histories: a proposal is right when a true series
    /// has its pattern and at least 80% of the proposal's events are that series'.
    #[derive(Debug, Clone, Copy, PartialEq)]
    pub struct Score {
        pub proposals: usize,
        pub right: usize,
        pub series: usize,
        pub found: usize,
    }

    impl Score {
        pub fn precision(&self) -> f64 {
            if self.proposals == 0 {
                1.0
            } else {
                self.right as f64 / self.proposals as f64
            }
        }

        pub fn recall(&self) -> f64 {
            if self.series == 0 {
                1.0
            } else {
                self.found as f64 / self.series as f64
            }
        }

        /// The harmonic mean of the two: what `skymeet_series_detection_accuracy` reports.
        pub fn accuracy(&self) -> f64 {
            let (p, r) = (self.precision(), self.recall());
            if p + r == 0.0 {
                0.0
            } else {
                2.0 * p * r / (p + r)
            }
        }
    }

    pub fn score(histories: &[History]) -> Score {
        let mut score = Score {
            proposals: 0,
            right: 0,
            series: 0,
            found: 0,
        };
        for history in histories {
            let proposals = detect(&history.events);
            score.proposals += proposals.len();
            score.series += history.truth.len();
            let matches = |proposal: &Proposal, (pattern, ids): &(Pattern, Vec<i64>)| {
                let shared = proposal.events.iter().filter(|id| ids.contains(id)).count();
                proposal.pattern == *pattern && shared * 5 >= proposal.events.len() * 4
            };
            score.right += proposals
                .iter()
                .filter(|p| history.truth.iter().any(|t| matches(p, t)))
                .count();
            score.found += history
                .truth
                .iter()
                .filter(|t| proposals.iter().any(|p| matches(p, t)))
                .count();
        }
        score
    }

    /// A deterministic generator (a linear congruential one), so the set is the same every run.
    struct Lcg(u64);

    impl Lcg {
        fn below(&mut self, n: u64) -> u64 {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (self.0 >> 33) % n.max(1)
        }

        fn chance(&mut self, percent: u64) -> bool {
            self.below(100) < percent
        }
    }

    const ZONES: &[&str] = &["Europe/Berlin", "America/New_York", "Australia/Sydney", "UTC"];
    const NAMES: &[&str] = &[
        "Rust meetup",
        "Board games night",
        "Book club",
        "Climate café",
        "Open mic",
        "Python user group",
        "Knitting circle",
        "Run club",
    ];

    /// `count` organiser histories: each has one to two true series (weekly, every other week,
    /// monthly by day or by weekday position) with noise (skipped dates, a date moved by a day or
    /// two, numbers in names), and decoys: one-off events, an event with a series' name at another
    /// time, and events with one name on irregular dates.
    pub fn histories(count: usize) -> Vec<History> {
        let mut random = Lcg(0x0005_e41e_5d37_ec7e);
        let mut next_id = 0i64;
        let mut id = || {
            next_id += 1;
            next_id
        };
        let mut histories = Vec::with_capacity(count);
        for _ in 0..count {
            let zone = TimeZoneName::parse(ZONES[random.below(ZONES.len() as u64) as usize]).unwrap_or_default();
            let mut events = Vec::new();
            let mut truth = Vec::new();
            let series_count = 1 + random.below(2) as usize;
            let mut names: Vec<&str> = NAMES.to_vec();
            for s in 0..series_count {
                let name = names.remove(random.below(names.len() as u64) as usize);
                let pattern = match random.below(4) {
                    0 | 1 => Pattern::Weekly {
                        every: 1,
                        weekday: weekday(random.below(7)),
                    },
                    2 => Pattern::Weekly {
                        every: 2,
                        weekday: weekday(random.below(7)),
                    },
                    _ if random.chance(50) => Pattern::MonthDay(1 + random.below(28) as u32),
                    _ => Pattern::MonthWeekday {
                        nth: [1, 2, 3, 4, -1][random.below(5) as usize],
                        weekday: weekday(random.below(7)),
                    },
                };
                let hour = 9 + random.below(12) as u32 + s as u32;
                let length = Duration::minutes(60 + 30 * random.below(4) as i64);
                let dates = dates_of(pattern, 8 + random.below(12) as usize, &mut random);
                let mut ids = Vec::new();
                let mut moved_one = false;
                for (n, date) in dates.into_iter().enumerate() {
                    // Some dates are skipped (a holiday), one is moved by a day or two.
                    if n > 0 && random.chance(12) {
                        continue;
                    }
                    let moved = !moved_one && n > 2 && random.chance(15);
                    moved_one |= moved;
                    let date = if moved {
                        date + Duration::days(1 + random.below(2) as i64)
                    } else {
                        date
                    };
                    let title = if random.chance(50) {
                        format!("{name} #{}", n + 1)
                    } else {
                        name.to_owned()
                    };
                    let event = candidate(id(), &title, date, hour, length, &zone);
                    if !moved {
                        ids.push(event.id);
                    }
                    events.push(event);
                }
                truth.push((pattern, ids));
                // A special edition: the series' name, another time of day.
                let special = dates_of(pattern, 1, &mut random)[0] + Duration::days(3);
                events.push(candidate(
                    id(),
                    &format!("{name}: special"),
                    special,
                    (hour + 5) % 24,
                    length,
                    &zone,
                ));
            }
            // Decoys: one-offs, and one name on irregular dates.
            let decoy = names.remove(random.below(names.len() as u64) as usize);
            let mut day = NaiveDate::from_ymd_opt(2026, 1, 5).unwrap_or_default();
            for _ in 0..5 {
                day += Duration::days(5 + random.below(40) as i64);
                events.push(candidate(id(), decoy, day, 18, Duration::hours(2), &zone));
            }
            for n in 0..3 {
                let day = NaiveDate::from_ymd_opt(2026, 2 + n, 3 + random.below(20) as u32).unwrap_or_default();
                events.push(candidate(
                    id(),
                    &format!("Workshop {}", ["A", "B", "C"][n as usize]),
                    day,
                    10 + n,
                    Duration::hours(3),
                    &zone,
                ));
            }
            histories.push(History { events, truth });
        }
        histories
    }

    fn weekday(n: u64) -> Weekday {
        Weekday::try_from(n as u8).unwrap_or(Weekday::Mon)
    }

    /// The first `count` dates of `pattern` from a start in 2026.
    fn dates_of(pattern: Pattern, count: usize, random: &mut Lcg) -> Vec<NaiveDate> {
        let mut day = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap_or_default() + Duration::days(random.below(60) as i64);
        let first = loop {
            if pattern.fits(day, day) {
                break day;
            }
            day += Duration::days(1);
        };
        let mut dates = Vec::with_capacity(count);
        let mut day = first;
        while dates.len() < count {
            if pattern.fits(first, day) {
                dates.push(day);
            }
            day += Duration::days(1);
        }
        dates
    }

    fn candidate(id: i64, name: &str, date: NaiveDate, hour: u32, length: Duration, zone: &TimeZoneName) -> Candidate {
        let local = date.and_hms_opt(hour % 24, 0, 0).unwrap_or_default();
        let starts_at = zone
            .tz()
            .from_local_datetime(&local)
            .earliest()
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_else(|| local.and_utc());
        Candidate {
            id,
            name: name.to_owned(),
            place: Some("Community hall".to_owned()),
            starts_at,
            ends_at: Some(starts_at + length),
            time_zone: zone.clone(),
        }
    }
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
        let histories = labelled::histories(labelled::MEASURED);
        let score = labelled::score(&histories);
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
