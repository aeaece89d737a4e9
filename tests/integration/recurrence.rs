//! Our expansion of recurrence rules (the `rrule` crate, from a DTSTART in an IANA zone) against
//! an independent implementation: Python's `dateutil.rrule`, installed from PyPI by the test
//! script (`SKYMEET_PYTHON` names its interpreter). Generated rules of every kind the form makes,
//! and some it does not, in zones with daylight-saving changes in both directions (north and
//! south), without any, and with odd offsets; start times inside the spring gap and the autumn
//! overlap included.

use chrono::{DateTime, Duration, NaiveDateTime, TimeZone, Utc};
use skymeet::{domain::TimeZoneName, server::series::Recurrence};

const ZONES: &[&str] = &[
    "Europe/Berlin",
    "America/New_York",
    "Australia/Sydney",
    "America/Santiago",
    "Asia/Kolkata",
    "Pacific/Chatham",
    "UTC",
];
/// Local start times: ordinary ones, 02:30 (skipped on spring-forward days in Europe and the US),
/// 01:30 (twice on autumn days in the US), and ones next to midnight.
const TIMES: &[&str] = &["19:00", "02:30", "01:30", "00:00", "23:30", "09:15"];
const WEEKDAYS: &[&str] = &["MO", "TU", "WE", "TH", "FR", "SA", "SU"];
const CASES: usize = 600;
const LIMIT: u16 = 40;

/// A small deterministic generator, so a failure names a case that stays the same.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, below: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 33) % below as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.next(items.len())]
    }
}

struct Case {
    zone: &'static str,
    local: NaiveDateTime,
    rule: String,
}

fn generate(random: &mut Lcg) -> Case {
    let zone = ZONES[random.next(ZONES.len())];
    let day = NaiveDateTime::parse_from_str("2026-01-01T00:00", "%Y-%m-%dT%H:%M").expect("a date")
        + Duration::days(random.next(730) as i64);
    let time = random.pick(TIMES);
    let local =
        NaiveDateTime::parse_from_str(&format!("{}T{time}", day.format("%Y-%m-%d")), "%Y-%m-%dT%H:%M").expect("a time");
    let interval = [1, 1, 1, 2, 3][random.next(5)];
    let mut parts = Vec::new();
    match random.next(6) {
        0 => parts.push("FREQ=DAILY".to_owned()),
        1 | 2 => {
            parts.push("FREQ=WEEKLY".to_owned());
            let mut days: Vec<&str> = (0..1 + random.next(3)).map(|_| random.pick(WEEKDAYS)).collect();
            days.sort_by_key(|d| WEEKDAYS.iter().position(|w| w == d));
            days.dedup();
            parts.push(format!("BYDAY={}", days.join(",")));
        }
        3 => {
            parts.push("FREQ=MONTHLY".to_owned());
            match random.next(3) {
                0 => parts.push(format!("BYMONTHDAY={}", 1 + random.next(31))),
                1 => parts.push(format!("BYMONTHDAY=-{}", 1 + random.next(3))),
                _ => {
                    let nth = ["1", "2", "3", "4", "-1"][random.next(5)];
                    parts.push(format!("BYDAY={nth}{}", random.pick(WEEKDAYS)));
                }
            }
        }
        4 => {
            parts.push("FREQ=YEARLY".to_owned());
            let month = 1 + random.next(12);
            parts.push(format!("BYMONTH={month}"));
            if random.next(2) == 0 {
                parts.push(format!("BYMONTHDAY={}", 1 + random.next(28)));
            } else {
                let nth = ["1", "2", "3", "4", "-1"][random.next(5)];
                parts.push(format!("BYDAY={nth}{}", random.pick(WEEKDAYS)));
            }
        }
        _ => {
            // A form the menus do not make: the last working day of each month.
            parts.push("FREQ=MONTHLY".to_owned());
            parts.push("BYDAY=MO,TU,WE,TH,FR".to_owned());
            parts.push("BYSETPOS=-1".to_owned());
        }
    }
    if interval > 1 {
        parts.insert(1, format!("INTERVAL={interval}"));
    }
    match random.next(3) {
        0 => parts.push(format!("COUNT={}", 1 + random.next(30))),
        1 => {
            let until = local + Duration::days(30 + random.next(900) as i64);
            parts.push(format!("UNTIL={}", until.format("%Y%m%dT%H%M%SZ")));
        }
        _ => {}
    }
    Case {
        zone,
        local,
        rule: parts.join(";"),
    }
}

#[test]
fn expansion_agrees_with_python_dateutil_across_zones_and_dst_changes() {
    let mut random = Lcg(0x5eed_cafe);
    let mut cases = Vec::new();
    let mut input = String::new();
    while cases.len() < CASES {
        let case = generate(&mut random);
        let zone = TimeZoneName::parse(case.zone).expect("a zone");
        // The form refuses a start that does not exist (the page says so); such a case is for the
        // later occurrences only, which start at an existing time on another date.
        let Some(start) = zone.tz().from_local_datetime(&case.local).earliest() else {
            continue;
        };
        let start = start.with_timezone(&Utc);
        let Ok(recurrence) = Recurrence::parse(&case.rule, start, &zone) else {
            // A rule we refuse (an UNTIL before the start, say) is not compared.
            continue;
        };
        let until = start + Duration::days(366 * 6);
        input.push_str(
            &serde_json::json!({
                "dtstart": case.local.format("%Y-%m-%dT%H:%M:%S").to_string(),
                "zone": case.zone,
                "rule": format!("RRULE:{}", case.rule),
                "until": until.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
                "limit": LIMIT,
            })
            .to_string(),
        );
        input.push('\n');
        cases.push((case, recurrence, start, until));
    }

    let output = crate::helpers::run_python("expand_rrule.py", input);
    let answers: Vec<Vec<String>> = output
        .lines()
        .map(|line| serde_json::from_str(line).expect("a JSON list"))
        .collect();
    assert_eq!(answers.len(), cases.len(), "one answer per case");

    let mut compared = 0;
    let mut through_a_change = 0;
    for ((case, recurrence, start, until), theirs) in cases.iter().zip(answers) {
        let ours: Vec<String> = recurrence
            .between(*start, *until, LIMIT)
            .iter()
            .map(|d| d.format("%Y-%m-%dT%H:%M:%SZ").to_string())
            .collect();
        assert_eq!(
            ours, theirs,
            "{} from {} in {}: ours differ from dateutil's",
            case.rule, case.local, case.zone
        );
        compared += ours.len();
        let offsets: std::collections::HashSet<_> = ours
            .iter()
            .map(|d| {
                let instant: DateTime<Utc> = d.parse().expect("an instant");
                instant
                    .with_timezone(&TimeZoneName::parse(case.zone).expect("zone").tz())
                    .offset()
                    .to_string()
            })
            .collect();
        through_a_change += usize::from(offsets.len() > 1);
    }
    // The comparison means something only if it covered many occurrences, many across a change.
    assert!(compared > 5_000, "only {compared} occurrences compared");
    assert!(
        through_a_change > 100,
        "only {through_a_change} series crossed a DST change"
    );
}
