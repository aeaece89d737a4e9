//! A series' recurrence rule, parsed once and bounded. RFC 5545 recurrence works on wall times:
//! the `rrule` crate does that arithmetic (weekdays, month lengths, positions) on the first
//! occurrence's wall time, and each wall time it makes is then placed in the organiser's IANA zone
//! here, so every occurrence keeps the first one's wall time across daylight-saving changes. A
//! wall time the clocks skip on some date takes the UTC offset in force before the gap (02:30
//! becomes 03:30 summer time), and an ambiguous one its first instant, both as RFC 5545
//! (section 3.3.5) says.
//!
//! The crate is not asked to place times in the zone itself: for a wall time in a gap at midnight
//! (Chile moves its clocks at 24:00) it drops the occurrence altogether, which the comparison with
//! Python's dateutil (`tests/integration/recurrence.rs`) caught.

use super::describe;
use crate::domain::{RepeatInput, TimeZoneName};
use chrono::{DateTime, Duration, LocalResult, NaiveDateTime, Offset, TimeZone, Utc};
use rrule::{RRule, RRuleSet, Unvalidated};

/// The most occurrences a rule may make in its first year: daily, at most.
pub const MAX_PER_YEAR: usize = 366;
/// The most occurrences one expansion returns, whatever window it is asked for.
pub const MAX_EXPANDED: u16 = 1000;
/// How many more occurrences an expansion asks the crate for than it returns: the ones in the
/// two days of slack before its window.
const WINDOW_SLACK: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    #[error("The rule cannot be read: {0}")]
    Syntax(String),
    #[error("The last date is before the first occurrence.")]
    EndsBeforeStart,
    #[error("The rule never makes an occurrence.")]
    NeverOccurs,
    #[error("The rule makes more than one occurrence a day; a series repeats at most daily.")]
    TooFrequent,
    #[error("A series repeats daily at the most: use FREQ=DAILY, WEEKLY, MONTHLY or YEARLY.")]
    SubDaily,
}

/// A checked rule with its start: what occurrences are expanded from.
#[derive(Debug, Clone)]
pub struct Recurrence {
    /// As the organiser's form wrote it (`FREQ=WEEKLY;BYDAY=TU`), which is what is stored: the
    /// crate's own `Display` drops parts such as `BYMONTHDAY=-1`, so it is never written back.
    text: String,
    /// The rule as written, before the crate fills in defaults from the start: what
    /// [`Self::describe`] reads.
    written: RRule<Unvalidated>,
    set: RRuleSet,
    start: DateTime<Utc>,
    zone: TimeZoneName,
}

impl Recurrence {
    /// Parses `rule` (without `RRULE:`) for a series whose first occurrence starts at `start`, a
    /// time in `zone`, and refuses rules that never occur or occur more than daily.
    pub fn parse(rule: &str, start: DateTime<Utc>, zone: &TimeZoneName) -> Result<Self, RuleError> {
        let text = rule.trim().trim_start_matches("RRULE:").trim().to_ascii_uppercase();
        if text.contains(['\n', '\r']) || text.contains("DTSTART") {
            return Err(RuleError::Syntax("give the RRULE line alone".to_owned()));
        }
        let written: RRule<Unvalidated> = text.parse().map_err(|e: rrule::RRuleError| syntax(&e))?;
        if written
            .get_until()
            .is_some_and(|until| until.with_timezone(&Utc) < start)
        {
            return Err(RuleError::EndsBeforeStart);
        }
        // Hourly, minutely and secondly rules are refused before they are expanded: checking one
        // that matches rarely would walk every minute (or second) of a year, on every page view.
        if matches!(
            written.get_freq(),
            rrule::Frequency::Hourly | rrule::Frequency::Minutely | rrule::Frequency::Secondly
        ) {
            return Err(RuleError::SubDaily);
        }
        if written.get_interval() == 0 {
            return Err(RuleError::NeverOccurs);
        }
        // The crate counts in wall times (given as UTC, so it never meets a DST change); UNTIL,
        // an instant, becomes the wall time it is in the zone.
        let wall =
            |instant: DateTime<Utc>| rrule::Tz::UTC.from_utc_datetime(&instant.with_timezone(&zone.tz()).naive_local());
        let mut in_wall_time = written.clone();
        if let Some(until) = written.get_until() {
            in_wall_time = in_wall_time.until(wall(until.with_timezone(&Utc)));
        }
        let set = in_wall_time.build(wall(start)).map_err(|e| syntax(&e))?;
        let recurrence = Self {
            text,
            written,
            set,
            start,
            zone: zone.clone(),
        };
        // The crate gives up on a rule that matches nothing for 100,000 periods in a row (or at the
        // year 10,000), so this ends even for `FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30`.
        if recurrence.set.clone().all(1).dates.is_empty() {
            return Err(RuleError::NeverOccurs);
        }
        // 366 days from the first occurrence, the last second excluded: a daily rule has 366.
        let a_year_on = start + Duration::days(366) - Duration::seconds(1);
        let first_year = recurrence.between(start, a_year_on, (MAX_PER_YEAR + 2) as u16);
        if first_year.len() > MAX_PER_YEAR {
            return Err(RuleError::TooFrequent);
        }
        Ok(recurrence)
    }

    /// The rule as stored.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    pub fn start(&self) -> DateTime<Utc> {
        self.start
    }

    pub fn zone(&self) -> &TimeZoneName {
        &self.zone
    }

    /// The occurrences that start within `from..=to`, in order, at most `limit` (and never more
    /// than [`MAX_EXPANDED`]).
    pub fn between(&self, from: DateTime<Utc>, to: DateTime<Utc>, limit: u16) -> Vec<DateTime<Utc>> {
        let limit = usize::from(limit.min(MAX_EXPANDED));
        // Asked in wall times two days wider on each side (no offset is more than a day), then
        // placed in the zone and cut to the exact window.
        let tz = self.zone.tz();
        let wall = |instant: DateTime<Utc>| rrule::Tz::UTC.from_utc_datetime(&instant.with_timezone(&tz).naive_local());
        let slack = Duration::days(2);
        self.set
            .clone()
            .after(wall(from) - slack)
            .before(wall(to) + slack)
            .all((limit + WINDOW_SLACK).min(usize::from(MAX_EXPANDED) + WINDOW_SLACK) as u16)
            .dates
            .into_iter()
            .map(|date| place(date.naive_utc(), &tz))
            .filter(|instant| (from..=to).contains(instant))
            .take(limit)
            .collect()
    }

    /// The first occurrence that starts at `from` or later.
    pub fn next_from(&self, from: DateTime<Utc>) -> Option<DateTime<Utc>> {
        // Far enough for any rule that occurs at all: a yearly rule on 29 February waits 8 years.
        let until = from + Duration::days(366 * 9);
        self.between(from, until, 1).into_iter().next()
    }

    /// Whether the rule makes an occurrence that starts exactly at `instant`.
    pub fn occurs_at(&self, instant: DateTime<Utc>) -> bool {
        self.between(instant, instant, 1).first() == Some(&instant)
    }

    /// In English, for people: "Occurs weekly on Tuesdays".
    pub fn describe(&self) -> String {
        describe::describe(&self.written, self.start.with_timezone(&self.zone.tz()), &self.text)
    }

    /// The "Repeats" fields that write this rule again, or the custom field holding it.
    pub fn to_input(&self) -> RepeatInput {
        describe::to_input(
            &self.written,
            &self.text,
            self.start.with_timezone(&self.zone.tz()),
            &self.zone,
        )
    }
}

/// Where a wall time in `zone` is: its one instant, the first of two (clocks going back), or for
/// a time the clocks skip, the wall time read with the UTC offset in force before the gap.
fn place(wall: NaiveDateTime, zone: &chrono_tz::Tz) -> DateTime<Utc> {
    match zone.from_local_datetime(&wall) {
        LocalResult::Single(instant) | LocalResult::Ambiguous(instant, _) => instant.with_timezone(&Utc),
        LocalResult::None => {
            // The last wall time before the gap that exists (gaps are hours long, at most a day).
            let before = (1..=48)
                .find_map(|hours| zone.from_local_datetime(&(wall - Duration::hours(hours))).earliest())
                .map(|instant| instant.offset().fix());
            match before {
                Some(offset) => (wall - offset).and_utc(),
                None => wall.and_utc(),
            }
        }
    }
}

fn syntax(error: &rrule::RRuleError) -> RuleError {
    RuleError::Syntax(error.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(zone: &str, local: &str) -> (DateTime<Utc>, TimeZoneName) {
        let zone = TimeZoneName::parse(zone).expect("a zone");
        let naive = NaiveDateTime::parse_from_str(local, "%Y-%m-%dT%H:%M").expect("a time");
        let start = zone
            .tz()
            .from_local_datetime(&naive)
            .earliest()
            .expect("exists")
            .with_timezone(&Utc);
        (start, zone)
    }

    fn local(recurrence: &Recurrence, instant: DateTime<Utc>) -> String {
        instant
            .with_timezone(&recurrence.zone().tz())
            .format("%a %Y-%m-%d %H:%M %Z")
            .to_string()
    }

    #[test]
    fn weekly_keeps_its_wall_time_across_both_dst_changes() {
        let (start, zone) = at("Europe/Berlin", "2026-03-17T19:00");
        let weekly = Recurrence::parse("FREQ=WEEKLY;BYDAY=TU;COUNT=34", start, &zone).expect("valid");
        let dates = weekly.between(start, start + chrono::Duration::days(400), 100);
        assert_eq!(dates.len(), 34);
        let shown: Vec<_> = dates.iter().map(|d| local(&weekly, *d)).collect();
        assert_eq!(shown[0], "Tue 2026-03-17 19:00 CET");
        // Summer time starts on 29 March 2026; it ends on 25 October.
        assert_eq!(shown[2], "Tue 2026-03-31 19:00 CEST");
        assert_eq!(shown[32], "Tue 2026-10-27 19:00 CET");
        assert!(shown.iter().all(|s| s.starts_with("Tue") && s.contains(" 19:00 ")));
    }

    #[test]
    fn a_skipped_wall_time_moves_forward_by_the_gap() {
        // 02:30 does not exist in New York on 8 March 2026.
        let (start, zone) = at("America/New_York", "2026-03-01T02:30");
        let weekly = Recurrence::parse("FREQ=WEEKLY", start, &zone).expect("valid");
        let dates = weekly.between(start, start + chrono::Duration::days(14), 10);
        assert_eq!(local(&weekly, dates[1]), "Sun 2026-03-08 03:30 EDT");
        assert_eq!(local(&weekly, dates[2]), "Sun 2026-03-15 02:30 EDT");
    }

    #[test]
    fn yearly_stays_yearly_and_monthly_finds_the_second_tuesday() {
        let (start, zone) = at("UTC", "2026-12-08T10:00");
        let yearly = Recurrence::parse("FREQ=YEARLY;BYMONTH=12;BYMONTHDAY=8", start, &zone).expect("valid");
        let dates = yearly.between(start, start + chrono::Duration::days(366 * 3), 10);
        assert_eq!(dates.len(), 4);
        assert_eq!(local(&yearly, dates[3]), "Sat 2029-12-08 10:00 UTC");
        let monthly = Recurrence::parse("FREQ=MONTHLY;BYDAY=2TU", start, &zone).expect("valid");
        let dates = monthly.between(start, start + chrono::Duration::days(70), 10);
        let shown: Vec<_> = dates.iter().map(|d| local(&monthly, *d)).collect();
        assert_eq!(
            shown,
            [
                "Tue 2026-12-08 10:00 UTC",
                "Tue 2027-01-12 10:00 UTC",
                "Tue 2027-02-09 10:00 UTC"
            ]
        );
    }

    #[test]
    fn bad_rules_are_refused_with_their_reason() {
        let (start, zone) = at("UTC", "2026-12-08T10:00");
        let refused = |rule: &str| Recurrence::parse(rule, start, &zone).expect_err(rule);
        assert!(matches!(refused("FREQ=SOMETIMES"), RuleError::Syntax(_)));
        assert!(matches!(refused("BYDAY=TU"), RuleError::Syntax(_)));
        assert!(matches!(refused("FREQ=WEEKLY;BYMONTHDAY=3"), RuleError::Syntax(_)));
        assert_eq!(refused("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30"), RuleError::NeverOccurs);
        assert_eq!(refused("FREQ=MONTHLY;BYMONTHDAY=31;BYMONTH=4"), RuleError::NeverOccurs);
        assert_eq!(refused("FREQ=DAILY;INTERVAL=0"), RuleError::NeverOccurs);
        assert_eq!(refused("FREQ=DAILY;UNTIL=20261101T000000Z"), RuleError::EndsBeforeStart);
        assert_eq!(refused("FREQ=HOURLY"), RuleError::SubDaily);
        assert_eq!(
            refused("FREQ=MINUTELY;BYDAY=MO;BYHOUR=3;BYMINUTE=0"),
            RuleError::SubDaily
        );
        assert_eq!(refused("FREQ=DAILY;BYHOUR=9,18"), RuleError::TooFrequent);
        assert!(matches!(
            refused("FREQ=DAILY\nDTSTART:20260101T000000Z"),
            RuleError::Syntax(_)
        ));
        assert!(Recurrence::parse("FREQ=DAILY", start, &zone).is_ok());
    }
}
