//! A rule in words ("Occurs weekly on Tuesdays, 10 times"), and back into the form's menus.
//!
//! Every rule the form's menus write has words of its own; a hand-written rule with parts the
//! words do not cover (BYSETPOS, BYHOUR, ...) is quoted instead of being described wrongly.

use crate::domain::{weekday_code, Repeat, RepeatInput, TimeZoneName};
use chrono::{DateTime, Datelike, Month, Weekday};
use chrono_tz::Tz;
use rrule::{Frequency, NWeekday, RRule, Unvalidated};

/// `written` in English, for a series whose first occurrence starts at `start` (in its zone);
/// `text` is the rule as stored, quoted when it has no words here.
pub fn describe(written: &RRule<Unvalidated>, start: DateTime<Tz>, text: &str) -> String {
    match (how_often(written, &start), until(written, &start)) {
        (Some(often), Some(end)) => format!("Occurs {often}{end}"),
        _ => format!("Occurs by the rule {text}"),
    }
}

/// "weekly on Tuesdays", "every 2 months on the last Friday", ...
fn how_often(rule: &RRule<Unvalidated>, start: &DateTime<Tz>) -> Option<String> {
    let unsupported = !rule.get_by_set_pos().is_empty()
        || !rule.get_by_year_day().is_empty()
        || !rule.get_by_week_no().is_empty()
        || !rule.get_by_hour().is_empty()
        || !rule.get_by_minute().is_empty()
        || !rule.get_by_second().is_empty()
        || rule.get_week_start() != Weekday::Mon;
    if unsupported {
        return None;
    }
    let interval = u32::from(rule.get_interval());
    let every = |one: &str, unit: &str| match interval {
        1 => one.to_owned(),
        2 => format!("every other {unit}"),
        n => format!("every {n} {unit}s"),
    };
    let weekdays = rule.get_by_weekday();
    let month_days = rule.get_by_month_day();
    let months = rule.get_by_month();
    match rule.get_freq() {
        Frequency::Daily => {
            if !month_days.is_empty() || !months.is_empty() {
                return None;
            }
            if weekdays.is_empty() {
                return Some(every("daily", "day"));
            }
            (interval == 1)
                .then(|| every_weekday(weekdays))
                .flatten()
                .map(|days| format!("on {days}"))
        }
        Frequency::Weekly => {
            if !month_days.is_empty() || !months.is_empty() {
                return None;
            }
            let days = if weekdays.is_empty() {
                Some(plural(start.weekday()).to_owned())
            } else {
                every_weekday(weekdays)
            }?;
            Some(format!("{} on {days}", every("weekly", "week")))
        }
        Frequency::Monthly => {
            if !months.is_empty() {
                return None;
            }
            let on = match (weekdays.is_empty(), month_days.is_empty()) {
                (true, true) => day_of_month(start.day() as i32),
                (true, false) => list(month_days.iter().map(|day| day_of_month(i32::from(*day))).collect())?,
                (false, true) => list(weekdays.iter().map(nth_weekday).collect::<Option<Vec<_>>>()?)?,
                (false, false) => return None,
            };
            let skips = month_days.iter().any(|day| *day > 28) || (month_days.is_empty() && start.day() > 28);
            let note = if skips && weekdays.is_empty() {
                " (months without that day are skipped)"
            } else {
                ""
            };
            Some(format!("{} on {on}{note}", every("monthly", "month")))
        }
        Frequency::Yearly => {
            let month = match months {
                [] => start.month() as u8,
                [month] => *month,
                _ => return None,
            };
            let month = Month::try_from(month).ok()?.name();
            let on = match (weekdays, month_days) {
                ([], []) if months.is_empty() => format!("{} {month}", start.day()),
                ([], []) => return None,
                ([], [day]) if *day > 0 => format!("{day} {month}"),
                ([weekday], []) => format!("{} of {month}", nth_weekday(weekday)?),
                _ => return None,
            };
            Some(format!("{} on {on}", every("yearly", "year")))
        }
        Frequency::Hourly | Frequency::Minutely | Frequency::Secondly => None,
    }
}

/// ", 10 times", ", until 31 December 2026", or nothing for a series without an end.
fn until(rule: &RRule<Unvalidated>, start: &DateTime<Tz>) -> Option<String> {
    match (rule.get_count(), rule.get_until()) {
        (Some(1), None) => Some(", once".to_owned()),
        (Some(n), None) => Some(format!(", {n} times")),
        (None, Some(until)) => {
            let until = until.with_timezone(&start.timezone());
            Some(format!(", until {}", until.format("%-d %B %Y")))
        }
        (None, None) => Some(String::new()),
        (Some(_), Some(_)) => None,
    }
}

/// "Tuesdays", "Mondays and Thursdays", "weekdays"; `None` for positioned days ("1MO").
fn every_weekday(days: &[NWeekday]) -> Option<String> {
    let mut plain = days
        .iter()
        .map(|day| match day {
            NWeekday::Every(day) => Some(*day),
            NWeekday::Nth(..) => None,
        })
        .collect::<Option<Vec<_>>>()?;
    plain.sort_by_key(Weekday::num_days_from_monday);
    plain.dedup();
    let working_week = [Weekday::Mon, Weekday::Tue, Weekday::Wed, Weekday::Thu, Weekday::Fri];
    if plain == working_week {
        return Some("weekdays".to_owned());
    }
    list(plain.into_iter().map(|day| plural(day).to_owned()).collect())
}

/// "the 2nd Tuesday", "the last Friday"; `None` for an unpositioned day.
fn nth_weekday(day: &NWeekday) -> Option<String> {
    match day {
        NWeekday::Nth(n, weekday) => Some(format!("the {} {}", position(i32::from(*n)), singular(*weekday))),
        NWeekday::Every(_) => None,
    }
}

/// "the 8th", "the last day", "the 2nd-to-last day".
fn day_of_month(day: i32) -> String {
    match day {
        -1 => "the last day".to_owned(),
        n if n < 0 => format!("the {}-to-last day", ordinal(-n)),
        n => format!("the {}", ordinal(n)),
    }
}

fn position(n: i32) -> String {
    match n {
        -1 => "last".to_owned(),
        n if n < 0 => format!("{}-to-last", ordinal(-n)),
        n => ordinal(n),
    }
}

fn ordinal(n: i32) -> String {
    let suffix = match (n % 10, n % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

/// "a", "a and b", "a, b and c"; `None` for nothing.
fn list(items: Vec<String>) -> Option<String> {
    match items.as_slice() {
        [] => None,
        [one] => Some(one.clone()),
        [rest @ .., last] => Some(format!("{} and {last}", rest.join(", "))),
    }
}

fn singular(day: Weekday) -> &'static str {
    match day {
        Weekday::Mon => "Monday",
        Weekday::Tue => "Tuesday",
        Weekday::Wed => "Wednesday",
        Weekday::Thu => "Thursday",
        Weekday::Fri => "Friday",
        Weekday::Sat => "Saturday",
        Weekday::Sun => "Sunday",
    }
}

fn plural(day: Weekday) -> &'static str {
    match day {
        Weekday::Mon => "Mondays",
        Weekday::Tue => "Tuesdays",
        Weekday::Wed => "Wednesdays",
        Weekday::Thu => "Thursdays",
        Weekday::Fri => "Fridays",
        Weekday::Sat => "Saturdays",
        Weekday::Sun => "Sundays",
    }
}

/// The "Repeats" fields that write `text` again for a series starting at `start`: the menus
/// when they write exactly this rule, the custom field otherwise.
pub fn to_input(written: &RRule<Unvalidated>, text: &str, start: DateTime<Tz>, zone: &TimeZoneName) -> RepeatInput {
    let custom = RepeatInput {
        frequency: "custom".to_owned(),
        rule: text.to_owned(),
        ..Default::default()
    };
    let frequency = match written.get_freq() {
        Frequency::Daily => "daily",
        Frequency::Weekly => "weekly",
        Frequency::Monthly => "monthly",
        Frequency::Yearly => "yearly",
        _ => return custom,
    };
    let mut input = RepeatInput {
        frequency: frequency.to_owned(),
        interval: written.get_interval().to_string(),
        monthly: match (written.get_freq(), written.get_by_weekday().is_empty()) {
            (Frequency::Monthly, false) => "weekday",
            _ => "day",
        }
        .to_owned(),
        ..Default::default()
    };
    for day in written.get_by_weekday() {
        if let NWeekday::Every(day) = day {
            let field = match weekday_code(*day) {
                "MO" => &mut input.mo,
                "TU" => &mut input.tu,
                "WE" => &mut input.we,
                "TH" => &mut input.th,
                "FR" => &mut input.fr,
                "SA" => &mut input.sa,
                _ => &mut input.su,
            };
            *field = "on".to_owned();
        }
    }
    match (written.get_count(), written.get_until()) {
        (Some(n), _) => {
            input.ends = "count".to_owned();
            input.count = n.to_string();
        }
        (None, Some(until)) => {
            input.ends = "until".to_owned();
            input.until = until.with_timezone(&zone.tz()).format("%Y-%m-%d").to_string();
        }
        (None, None) => input.ends = "never".to_owned(),
    }
    // The menus stand for this rule only if they write it again, exactly.
    let local = start.naive_local();
    match Repeat::parse(&input) {
        Ok(Some(repeat)) if repeat.rrule(local, zone) == text => input,
        _ => custom,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Repeat, RepeatInput};
    use chrono::{NaiveDateTime, TimeZone};

    /// The words for `rule` on a series starting Tuesday 8 December 2026 (the 2nd Tuesday), 19:00
    /// in Berlin.
    fn words(rule: &str) -> String {
        let zone = TimeZoneName::parse("Europe/Berlin").expect("zone");
        let start = zone
            .tz()
            .with_ymd_and_hms(2026, 12, 8, 19, 0, 0)
            .single()
            .expect("a time");
        let written: RRule<Unvalidated> = rule.parse().expect(rule);
        describe(&written, start, rule)
    }

    #[test]
    fn every_rule_the_menus_write_has_words() {
        let cases = [
            ("FREQ=DAILY", "Occurs daily"),
            ("FREQ=DAILY;INTERVAL=3;COUNT=5", "Occurs every 3 days, 5 times"),
            ("FREQ=WEEKLY;BYDAY=TU", "Occurs weekly on Tuesdays"),
            (
                "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,TH",
                "Occurs every other week on Mondays and Thursdays",
            ),
            ("FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR", "Occurs weekly on weekdays"),
            (
                "FREQ=WEEKLY;BYDAY=MO,WE,FR;COUNT=1",
                "Occurs weekly on Mondays, Wednesdays and Fridays, once",
            ),
            ("FREQ=MONTHLY;BYMONTHDAY=8", "Occurs monthly on the 8th"),
            ("FREQ=MONTHLY;BYDAY=2TU", "Occurs monthly on the 2nd Tuesday"),
            (
                "FREQ=MONTHLY;INTERVAL=3;BYDAY=-1FR",
                "Occurs every 3 months on the last Friday",
            ),
            (
                "FREQ=MONTHLY;BYMONTHDAY=31",
                "Occurs monthly on the 31st (months without that day are skipped)",
            ),
            ("FREQ=YEARLY;BYMONTH=12;BYMONTHDAY=8", "Occurs yearly on 8 December"),
            (
                "FREQ=YEARLY;BYMONTH=11;BYDAY=4TH",
                "Occurs yearly on the 4th Thursday of November",
            ),
            // 22:59:59 UTC is still the 31st in Berlin.
            (
                "FREQ=DAILY;UNTIL=20261231T225959Z",
                "Occurs daily, until 31 December 2026",
            ),
            ("FREQ=MONTHLY;BYMONTHDAY=-1", "Occurs monthly on the last day"),
            (
                "FREQ=MONTHLY;BYSETPOS=-1;BYDAY=MO,TU,WE,TH,FR",
                "Occurs by the rule FREQ=MONTHLY;BYSETPOS=-1;BYDAY=MO,TU,WE,TH,FR",
            ),
            ("FREQ=HOURLY;INTERVAL=48", "Occurs by the rule FREQ=HOURLY;INTERVAL=48"),
        ];
        for (rule, expected) in cases {
            assert_eq!(words(rule), expected, "{rule}");
        }
    }

    #[test]
    fn the_menus_come_back_for_their_own_rules_only() {
        let zone = TimeZoneName::parse("Europe/Berlin").expect("zone");
        let start_local = NaiveDateTime::parse_from_str("2026-12-08T19:00", "%Y-%m-%dT%H:%M").expect("time");
        let start = zone.tz().from_local_datetime(&start_local).single().expect("a time");
        let mut weekly = RepeatInput {
            frequency: "weekly".into(),
            interval: "2".into(),
            mo: "on".into(),
            th: "on".into(),
            ends: "until".into(),
            until: "2027-03-01".into(),
            monthly: "day".into(),
            ..Default::default()
        };
        let text = Repeat::parse(&weekly)
            .expect("ok")
            .expect("repeats")
            .rrule(start_local, &zone);
        let written: RRule<Unvalidated> = text.parse().expect("parses");
        let back = to_input(&written, &text, start, &zone);
        weekly.interval = "2".into();
        assert_eq!(back, weekly);
        let odd = "FREQ=MONTHLY;BYSETPOS=-1;BYDAY=MO,TU,WE,TH,FR";
        let written: RRule<Unvalidated> = odd.parse().expect("parses");
        let back = to_input(&written, odd, start, &zone);
        assert_eq!((back.frequency.as_str(), back.rule.as_str()), ("custom", odd));
    }
}
