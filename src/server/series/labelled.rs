//! Labelled histories of generated events, for measuring series detection
//! (`skymeet_series_detection_accuracy`): true series with noise (skipped dates, a moved date,
//! numbers in names) and look-alikes (one-offs, a special edition at another time, one name on
//! irregular dates), each with the answer detection should give.

use super::detect::{detect, Candidate, Pattern, Proposal};
use crate::domain::TimeZoneName;
use chrono::TimeZone;
use chrono::{Duration, NaiveDate, Utc, Weekday};

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
