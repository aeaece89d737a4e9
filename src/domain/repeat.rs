//! "Repeats" on the event form: how an organiser asks for a recurring series, checked and turned
//! into an RFC 5545 RRULE. Expanding the rule into occurrences is the server's job (with the
//! `rrule` crate); this module only writes the rule the form describes.

use super::FieldError;
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc, Weekday};
use serde::{Deserialize, Serialize};
#[cfg(feature = "ssr")]
use {
    super::TimeZoneName,
    chrono::{Datelike, NaiveTime, TimeZone},
};

/// The "Repeats" fields exactly as posted, named `repeat[...]`; all text, possibly empty.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RepeatInput {
    /// `none`, `daily`, `weekly`, `monthly`, `yearly` or `custom`.
    pub frequency: String,
    /// Every how many days, weeks, months or years (1 when empty).
    pub interval: String,
    /// Weekly: the chosen weekdays, one checkbox each (`on` when ticked).
    pub mo: String,
    pub tu: String,
    pub we: String,
    pub th: String,
    pub fr: String,
    pub sa: String,
    pub su: String,
    /// Monthly: `day` (the same day of the month) or `weekday` (e.g. the 2nd Tuesday).
    pub monthly: String,
    /// `never`, `until` or `count`.
    pub ends: String,
    /// The last date an occurrence may fall on (`YYYY-MM-DD`), in the event's time zone.
    pub until: String,
    /// How many occurrences in all.
    pub count: String,
    /// Custom: an RRULE (with or without the `RRULE:` prefix).
    pub rule: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Frequency {
    Daily,
    Weekly,
    Monthly,
    Yearly,
}

impl Frequency {
    #[cfg(feature = "ssr")]
    fn rrule_name(self) -> &'static str {
        match self {
            Self::Daily => "DAILY",
            Self::Weekly => "WEEKLY",
            Self::Monthly => "MONTHLY",
            Self::Yearly => "YEARLY",
        }
    }
}

/// Which day of the month a monthly series falls on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum MonthlyBy {
    /// The same day of the month as the first occurrence (the 14th).
    DayOfMonth,
    /// The same weekday at the same position as the first occurrence (the 2nd Tuesday, or the last
    /// Friday when the first falls on a month's fifth Friday).
    WeekdayPosition,
}

/// How a series ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SeriesEnd {
    Never,
    /// The last date (in the series' time zone) an occurrence may start on.
    Until(NaiveDate),
    /// After this many occurrences.
    Count(u32),
}

/// A checked "Repeats" choice.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Repeat {
    /// What the form's menus describe.
    Every {
        frequency: Frequency,
        interval: u32,
        /// Weekly only; empty means the first occurrence's weekday.
        weekdays: Vec<Weekday>,
        monthly: MonthlyBy,
        end: SeriesEnd,
    },
    /// An RRULE typed by hand, without its `RRULE:` prefix. Only its syntax is unknown here: the
    /// server parses and bounds it before it is kept.
    Custom(String),
}

pub const MAX_INTERVAL: u32 = 99;
pub const MAX_COUNT: u32 = 1000;
const MAX_RULE_CHARS: usize = 500;

impl Repeat {
    /// `None` when the event does not repeat; the field errors otherwise.
    pub fn parse(input: &RepeatInput) -> Result<Option<Self>, Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut error = |field: &str, message: &str| {
            errors.push(FieldError {
                field: format!("repeat_{field}"),
                message: message.to_owned(),
            })
        };
        let frequency = match input.frequency.trim() {
            "" | "none" => return Ok(None),
            "daily" => Frequency::Daily,
            "weekly" => Frequency::Weekly,
            "monthly" => Frequency::Monthly,
            "yearly" => Frequency::Yearly,
            "custom" => {
                let rule = input.rule.trim();
                let rule = rule.strip_prefix("RRULE:").unwrap_or(rule).trim();
                if rule.is_empty() {
                    error("rule", "Write the rule, e.g. FREQ=WEEKLY;BYDAY=TU,TH.");
                } else if rule.chars().count() > MAX_RULE_CHARS || rule.chars().any(char::is_control) {
                    error("rule", "That rule is too long or holds control characters.");
                }
                return if errors.is_empty() {
                    Ok(Some(Self::Custom(rule.to_owned())))
                } else {
                    Err(errors)
                };
            }
            _ => {
                error("frequency", "Choose how often the event repeats.");
                return Err(errors);
            }
        };
        let interval = match input.interval.trim() {
            "" => 1,
            text => match text.parse::<u32>() {
                Ok(n) if (1..=MAX_INTERVAL).contains(&n) => n,
                _ => {
                    error("interval", "The interval is a whole number from 1 to 99.");
                    1
                }
            },
        };
        let ticked = |value: &str| !value.trim().is_empty();
        let weekdays = [
            (&input.mo, Weekday::Mon),
            (&input.tu, Weekday::Tue),
            (&input.we, Weekday::Wed),
            (&input.th, Weekday::Thu),
            (&input.fr, Weekday::Fri),
            (&input.sa, Weekday::Sat),
            (&input.su, Weekday::Sun),
        ]
        .into_iter()
        .filter(|(value, _)| ticked(value))
        .map(|(_, day)| day)
        .collect::<Vec<_>>();
        let weekdays = if frequency == Frequency::Weekly {
            weekdays
        } else {
            Vec::new()
        };
        let monthly = match input.monthly.trim() {
            "" | "day" => MonthlyBy::DayOfMonth,
            "weekday" => MonthlyBy::WeekdayPosition,
            _ => {
                error("monthly", "Choose the day of the month or the weekday.");
                MonthlyBy::DayOfMonth
            }
        };
        let end = match input.ends.trim() {
            "" | "never" => SeriesEnd::Never,
            "until" => match NaiveDate::parse_from_str(input.until.trim(), "%Y-%m-%d") {
                Ok(date) => SeriesEnd::Until(date),
                Err(_) => {
                    error("until", "Give the last date as YYYY-MM-DD.");
                    SeriesEnd::Never
                }
            },
            "count" => match input.count.trim().parse::<u32>() {
                Ok(n) if (1..=MAX_COUNT).contains(&n) => SeriesEnd::Count(n),
                _ => {
                    error("count", "The number of times is a whole number from 1 to 1000.");
                    SeriesEnd::Never
                }
            },
            _ => {
                error("ends", "Choose never, on a date or after a number of times.");
                SeriesEnd::Never
            }
        };
        if errors.is_empty() {
            Ok(Some(Self::Every {
                frequency,
                interval,
                weekdays,
                monthly,
                end,
            }))
        } else {
            Err(errors)
        }
    }

    #[cfg(feature = "ssr")]
    /// The RRULE (without `RRULE:`) for a series whose first occurrence starts at `start`, a wall
    /// time in `zone`. An `until` date becomes the end of that day there, in UTC, as RFC 5545
    /// wants when DTSTART has a zone.
    pub fn rrule(&self, start: NaiveDateTime, zone: &TimeZoneName) -> String {
        let (frequency, interval, weekdays, monthly, end) = match self {
            Self::Custom(rule) => return rule.clone(),
            Self::Every {
                frequency,
                interval,
                weekdays,
                monthly,
                end,
            } => (frequency, interval, weekdays, monthly, end),
        };
        let mut parts = vec![format!("FREQ={}", frequency.rrule_name())];
        if *interval > 1 {
            parts.push(format!("INTERVAL={interval}"));
        }
        match frequency {
            Frequency::Weekly => {
                let mut days = weekdays.clone();
                if days.is_empty() {
                    days.push(start.weekday());
                }
                days.sort_by_key(|day| day.num_days_from_monday());
                days.dedup();
                let days = days.into_iter().map(weekday_code).collect::<Vec<_>>().join(",");
                parts.push(format!("BYDAY={days}"));
            }
            Frequency::Monthly => match monthly {
                MonthlyBy::DayOfMonth => parts.push(format!("BYMONTHDAY={}", start.day())),
                MonthlyBy::WeekdayPosition => parts.push(format!(
                    "BYDAY={}{}",
                    weekday_position(start.date()),
                    weekday_code(start.weekday())
                )),
            },
            Frequency::Yearly => {
                parts.push(format!("BYMONTH={}", start.month()));
                parts.push(format!("BYMONTHDAY={}", start.day()));
            }
            Frequency::Daily => {}
        }
        match end {
            SeriesEnd::Never => {}
            SeriesEnd::Count(n) => parts.push(format!("COUNT={n}")),
            SeriesEnd::Until(date) => {
                let last = date.and_time(NaiveTime::from_hms_opt(23, 59, 59).unwrap_or_default());
                let until = zone
                    .tz()
                    .from_local_datetime(&last)
                    .latest()
                    .map(|local| local.with_timezone(&Utc))
                    .unwrap_or_else(|| Utc.from_utc_datetime(&last));
                parts.push(format!("UNTIL={}", until.format("%Y%m%dT%H%M%SZ")));
            }
        }
        parts.join(";")
    }
}

/// How an occurrence of a series is named in its URL: the start its rule gives it, in UTC, as
/// iCalendar writes a RECURRENCE-ID (`20261208T180000Z`).
pub fn occurrence_key(starts_at: DateTime<Utc>) -> String {
    starts_at.format("%Y%m%dT%H%M%SZ").to_string()
}

/// The start an occurrence key names; `None` for anything else.
pub fn parse_occurrence_key(key: &str) -> Option<DateTime<Utc>> {
    NaiveDateTime::parse_from_str(key, "%Y%m%dT%H%M%SZ")
        .ok()
        .map(|naive| naive.and_utc())
}

/// The RFC 5545 two-letter code of a weekday.
pub fn weekday_code(day: Weekday) -> &'static str {
    match day {
        Weekday::Mon => "MO",
        Weekday::Tue => "TU",
        Weekday::Wed => "WE",
        Weekday::Thu => "TH",
        Weekday::Fri => "FR",
        Weekday::Sat => "SA",
        Weekday::Sun => "SU",
    }
}

#[cfg(feature = "ssr")]
/// Which of its month's weekdays `date` is: 1 to 4, or -1 for a fifth one, which is always the
/// month's last; "the last Friday" exists in every month, "the 5th Friday" in only a few.
pub fn weekday_position(date: NaiveDate) -> i32 {
    match (date.day() as i32 - 1) / 7 + 1 {
        5 => -1,
        position => position,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn start(text: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M").expect("a test date")
    }

    fn input(frequency: &str) -> RepeatInput {
        RepeatInput {
            frequency: frequency.to_owned(),
            ..Default::default()
        }
    }

    #[test]
    fn none_is_no_series() {
        assert_eq!(Repeat::parse(&input("")), Ok(None));
        assert_eq!(Repeat::parse(&input("none")), Ok(None));
    }

    #[test]
    fn the_form_writes_the_rule_it_shows() {
        let berlin = TimeZoneName::parse("Europe/Berlin").expect("a zone");
        // 2026-12-08 is the 2nd Tuesday of December.
        let tuesday = start("2026-12-08T19:00");
        let rule = |input: RepeatInput| {
            Repeat::parse(&input)
                .expect("valid")
                .expect("repeats")
                .rrule(tuesday, &berlin)
        };
        assert_eq!(rule(input("weekly")), "FREQ=WEEKLY;BYDAY=TU");
        let mut weekly = input("weekly");
        weekly.th = "on".into();
        weekly.mo = "on".into();
        weekly.interval = "2".into();
        weekly.ends = "count".into();
        weekly.count = "6".into();
        assert_eq!(rule(weekly), "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,TH;COUNT=6");
        assert_eq!(rule(input("monthly")), "FREQ=MONTHLY;BYMONTHDAY=8");
        let mut nth = input("monthly");
        nth.monthly = "weekday".into();
        assert_eq!(rule(nth), "FREQ=MONTHLY;BYDAY=2TU");
        assert_eq!(rule(input("yearly")), "FREQ=YEARLY;BYMONTH=12;BYMONTHDAY=8");
        let mut until = input("daily");
        until.ends = "until".into();
        until.until = "2026-12-31".into();
        // The end of 31 December in Berlin (UTC+1) is 22:59:59 UTC.
        assert_eq!(rule(until), "FREQ=DAILY;UNTIL=20261231T225959Z");
        let mut custom = input("custom");
        custom.rule = "RRULE:FREQ=WEEKLY;BYDAY=SA".into();
        assert_eq!(rule(custom), "FREQ=WEEKLY;BYDAY=SA");
    }

    #[test]
    fn a_fifth_weekday_is_the_last() {
        assert_eq!(
            weekday_position(NaiveDate::from_ymd_opt(2026, 12, 29).expect("date")),
            -1
        );
        assert_eq!(
            weekday_position(NaiveDate::from_ymd_opt(2026, 12, 22).expect("date")),
            4
        );
        assert_eq!(weekday_position(NaiveDate::from_ymd_opt(2026, 12, 1).expect("date")), 1);
    }

    #[test]
    fn bad_choices_get_a_message_each() {
        let mut bad = input("weekly");
        bad.interval = "0".into();
        bad.ends = "count".into();
        bad.count = "many".into();
        let errors = Repeat::parse(&bad).expect_err("refused");
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["repeat_interval", "repeat_count"]);
        assert!(Repeat::parse(&input("hourly")).is_err());
        assert!(Repeat::parse(&input("custom")).is_err());
    }
}
