//! Recurring series against the real local PDS, on both engines: only the next occurrence is on
//! the organiser's PDS; the scheduler (driven with its clock) moves it on and never publishes an
//! occurrence twice, even from two instances; edits follow on the published record; cancelling
//! and deleting do what they say; answering a later occurrence publishes it; and bad rules are
//! refused with nothing written anywhere; a series detected in published events adopts them
//! without a write.

use crate::helpers::{event_form, AppOptions, TestApp};
use crate::network::{
    create_account, get_record, list_records, sign_in_headless, spawn_local_network_app, switch_to, user_of, Account,
    TEST_KEYS,
};
use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};
use reqwest::StatusCode;
use serde_json::Value;
use skymeet::domain::occurrence_key;
use skymeet::server::store::SeriesRow;

const EVENTS: &str = "community.lexicon.calendar.event";
const RSVPS: &str = "community.lexicon.calendar.rsvp";
const ZONE: chrono_tz::Tz = chrono_tz::Europe::Berlin;

async fn organiser_app(options: AppOptions) -> (TestApp, Account) {
    let app = spawn_local_network_app(options.with("CREDENTIALS_KEYS", TEST_KEYS)).await;
    let organiser = create_account().await;
    sign_in_headless(&app, &organiser).await;
    (app, organiser)
}

/// The first Tuesday at least a week from now: a date the whole test stays in the future of.
fn next_tuesday() -> NaiveDate {
    let mut day = (Utc::now() + Duration::days(7)).date_naive();
    while day.weekday() != chrono::Weekday::Tue {
        day = day.succ_opt().expect("a date");
    }
    day
}

fn instant(day: NaiveDate, time: &str) -> DateTime<Utc> {
    let naive = day.and_time(chrono::NaiveTime::parse_from_str(time, "%H:%M").expect("time"));
    ZONE.from_local_datetime(&naive)
        .earliest()
        .expect("exists")
        .with_timezone(&Utc)
}

/// The event form plus the "Repeats" fields, as the browser posts them.
fn series_form(id: Option<String>, fields: &[(&str, &str)], repeat: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut form = event_form(id, fields);
    form.extend(
        repeat
            .iter()
            .map(|(name, value)| (format!("repeat[{name}]"), (*value).to_owned())),
    );
    form
}

fn fields(day: NaiveDate, start: &str, end: &str) -> Vec<(&'static str, String)> {
    vec![
        ("name", "Rust meetup".to_owned()),
        ("description", "Talks, then pizza.".to_owned()),
        ("starts_at", format!("{day}T{start}")),
        ("ends_at", format!("{day}T{end}")),
        ("time_zone", "Europe/Berlin".to_owned()),
        ("venue", "c-base".to_owned()),
        ("country", "DE".to_owned()),
    ]
}

fn borrowed<'a>(fields: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    fields.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

async fn only_series(app: &TestApp, organiser: &Account) -> SeriesRow {
    let user = user_of(app, organiser).await;
    let mut all = app.state.store.series_of_owner(user.id).await.expect("query");
    assert_eq!(all.len(), 1, "one series");
    all.remove(0)
}

/// Starts a series through the event form (Tuesdays from `day`, 19:00 to 21:00 in Berlin, with
/// the `repeat` fields), as the signed-in organiser; the series as stored.
async fn start_series(app: &TestApp, organiser: &Account, day: NaiveDate, repeat: &[(&str, &str)]) -> SeriesRow {
    let form = fields(day, "19:00", "21:00");
    let (status, body) = app
        .call("create_event", &series_form(None, &borrowed(&form), repeat))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    only_series(app, organiser).await
}

/// The starts of the event records on `did`'s PDS, soonest first.
async fn published_starts(did: &str) -> Vec<String> {
    let mut starts: Vec<String> = list_records(did, EVENTS)
        .await
        .iter()
        .map(|r| r["value"]["startsAt"].as_str().unwrap_or_default().to_owned())
        .collect();
    starts.sort();
    starts
}

fn zulu(instant: DateTime<Utc>) -> String {
    instant.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

async fn a_series_keeps_only_its_next_occurrence_on_the_pds(options: AppOptions) {
    let (app, organiser) = organiser_app(options).await;
    let day = next_tuesday();
    let series = start_series(
        &app,
        &organiser,
        day,
        &[("frequency", "weekly"), ("ends", "count"), ("count", "4")],
    )
    .await;
    assert_eq!(series.rule, "FREQ=WEEKLY;BYDAY=TU;COUNT=4");
    let first = instant(day, "19:00");
    let week = Duration::weeks(1);

    // Only the first occurrence is on the PDS, with the series line and link.
    assert_eq!(published_starts(&organiser.did).await, [zulu(first)]);
    let records = list_records(&organiser.did, EVENTS).await;
    let description = records[0]["value"]["description"].as_str().expect("description");
    assert!(
        description.starts_with("Talks, then pizza.\n\nOccurs weekly on Tuesdays, 4 times."),
        "{description}"
    );
    assert!(
        description.contains(&format!("/series/{}", series.slug)),
        "{description}"
    );

    let (status, page) = app.get_html(&format!("/series/{}", series.slug)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Occurs weekly on Tuesdays, 4 times"), "{page}");
    assert_eq!(page.matches(r#"data-testid="occurrence""#).count(), 4, "{page}");
    assert_eq!(page.matches(r#"data-state="published""#).count(), 1);
    assert!(page.contains(r#"data-testid="record-link""#));
    // The series lives at its slug; its numeric address (and an occurrence's) redirect there.
    assert!(series.slug.as_str().starts_with("rust-meetup-"), "{}", series.slug);
    let key = occurrence_key(first + week);
    for (from, to) in [
        (format!("/series/{}", series.id), format!("/series/{}", series.slug)),
        (
            format!("/series/{}/at/{key}", series.id),
            format!("/series/{}/at/{key}", series.slug),
        ),
    ] {
        let answer = crate::slugs::location(&app, &from).await;
        assert_eq!(answer, (StatusCode::PERMANENT_REDIRECT, Some(to)), "{from}");
    }
    let (status, body) = app
        .send_json(
            reqwest::Method::POST,
            &format!("/api/events/series/{}/sync", series.slug),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["slug"], series.slug.as_str(), "{body}");

    // The scheduler leaves it alone until the first occurrence is over, then publishes the
    // second and keeps the first.
    let schedule = app.state.schedule().expect("bluesky is on");
    schedule.work_once(first + Duration::hours(1)).await.expect("scheduler");
    assert_eq!(published_starts(&organiser.did).await.len(), 1);
    let after_first = first + Duration::hours(2) + Duration::minutes(1);
    // Two passes at once (as two workers would run them) still publish it once.
    let (a, b) = tokio::join!(schedule.work_once(after_first), schedule.work_once(after_first));
    assert_eq!(
        a.expect("pass") + b.expect("pass"),
        1,
        "exactly one pass claims the series"
    );
    schedule
        .work_once(after_first + Duration::minutes(10))
        .await
        .expect("scheduler");
    assert_eq!(
        published_starts(&organiser.did).await,
        [zulu(first), zulu(first + week)]
    );

    // An edit of the time moves the published upcoming occurrence on its own date (swapRecord:
    // the same record, a new version) and the series' rule with it.
    let second_rkey = {
        let records = list_records(&organiser.did, EVENTS).await;
        let second = records
            .iter()
            .find(|r| r["value"]["startsAt"] == zulu(first + week))
            .expect("second on the PDS");
        second["uri"]
            .as_str()
            .expect("uri")
            .rsplit('/')
            .next()
            .expect("rkey")
            .to_owned()
    };
    let edited = fields(day, "20:00", "22:00");
    let (status, body) = app
        .call(
            "update_series",
            &series_form(
                Some(series.id.to_string()),
                &borrowed(&edited),
                &[("frequency", "weekly"), ("ends", "count"), ("count", "4")],
            ),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, record) = get_record(&organiser.did, EVENTS, &second_rkey)
        .await
        .expect("still there");
    assert_eq!(record["startsAt"], zulu(instant(day + week, "20:00")));
    assert_eq!(record["endsAt"], zulu(instant(day + week, "22:00")));

    // Cancelling the third (not published): the scheduler skips it for the fourth.
    let third = instant(day + week * 2, "20:00");
    let key = occurrence_key(third);
    let (status, body) = app
        .call(
            "cancel_occurrence",
            &[
                ("id", series.id.to_string()),
                ("key", key),
                ("cancelled", "true".to_owned()),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    schedule
        .work_once(instant(day + week, "22:01"))
        .await
        .expect("scheduler");
    let fourth = instant(day + week * 3, "20:00");
    assert_eq!(
        published_starts(&organiser.did).await,
        [
            zulu(instant(day, "20:00")),
            zulu(instant(day + week, "20:00")),
            zulu(fourth)
        ]
    );

    // Deleting the series deletes its upcoming records from the PDS (by the real clock, all three
    // are still to come) and the series with them.
    let (status, body) = app.call("delete_series", &[("id", series.id.to_string())]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(published_starts(&organiser.did).await.is_empty());
    let user = user_of(&app, &organiser).await;
    assert!(app
        .state
        .store
        .series_of_owner(user.id)
        .await
        .expect("query")
        .is_empty());
}

on_both_engines!(a_series_keeps_only_its_next_occurrence_on_the_pds);

async fn answering_a_later_occurrence_publishes_it(options: AppOptions) {
    let (mut app, organiser) = organiser_app(options).await;
    let day = next_tuesday();
    let series = start_series(&app, &organiser, day, &[("frequency", "weekly")]).await;
    let second = instant(day + Duration::weeks(1), "19:00");
    let key = occurrence_key(second);
    let (status, page) = app.get_html(&format!("/series/{}/at/{key}", series.slug)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains(r#"data-testid="answer-occurrence""#), "{page}");

    let guest = create_account().await;
    switch_to(&mut app, &guest).await;
    let (status, body) = app
        .call(
            "answer_occurrence",
            &[
                ("id", series.id.to_string()),
                ("key", key.clone()),
                ("status", "going".to_owned()),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let starts = published_starts(&organiser.did).await;
    assert_eq!(starts, [zulu(instant(day, "19:00")), zulu(second)]);
    let answers = list_records(&guest.did, RSVPS).await;
    assert_eq!(answers.len(), 1);
    let subject = answers[0]["value"]["subject"]["uri"].as_str().expect("subject");
    let event = app
        .state
        .store
        .event_by_at_uri(subject)
        .await
        .expect("query")
        .expect("cached");
    assert_eq!(event.starts_at, Some(second));
    // Its own page says which series it belongs to.
    let (_, page) = app.get_html(&format!("/events/{}", event.slug)).await;
    assert!(page.contains(&format!(r#"href="/series/{}""#, series.slug)), "{page}");

    // The scheduler does not publish it again when its turn comes.
    let schedule = app.state.schedule().expect("bluesky is on");
    schedule.work_once(instant(day, "21:01")).await.expect("scheduler");
    assert_eq!(published_starts(&organiser.did).await.len(), 2);

    // A time the series has no occurrence at is refused.
    let (status, body) = app
        .call(
            "answer_occurrence",
            &[
                ("id", series.id.to_string()),
                ("key", "20300101T000000Z".to_owned()),
                ("status", "going".to_owned()),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(body["code"], "error-series-3");
}

on_both_engines!(answering_a_later_occurrence_publishes_it);

async fn bad_rules_are_refused_and_nothing_is_written(options: AppOptions) {
    let (app, organiser) = organiser_app(options).await;
    let day = next_tuesday();
    let form = fields(day, "19:00", "21:00");
    let cases: &[(&[(&str, &str)], &str)] = &[
        (&[("frequency", "custom"), ("rule", "FREQ=HOURLY")], "repeat_rule"),
        (
            &[("frequency", "custom"), ("rule", "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30")],
            "repeat_rule",
        ),
        (
            &[("frequency", "custom"), ("rule", "FREQ=WEEKLY;BYDAY=XX")],
            "repeat_rule",
        ),
        (
            &[
                ("frequency", "custom"),
                ("rule", "FREQ=DAILY\nDTSTART:19700101T000000Z"),
            ],
            "repeat_rule",
        ),
        (&[("frequency", "custom"), ("rule", "")], "repeat_rule"),
        (
            &[("frequency", "weekly"), ("ends", "until"), ("until", "2020-01-01")],
            "repeat_until",
        ),
        (
            &[("frequency", "weekly"), ("ends", "count"), ("count", "0")],
            "repeat_count",
        ),
        (&[("frequency", "weekly"), ("interval", "-3")], "repeat_interval"),
        (&[("frequency", "fortnightly")], "repeat_frequency"),
    ];
    for (repeat, field) in cases {
        let (status, body) = app
            .call("create_event", &series_form(None, &borrowed(&form), repeat))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{repeat:?}: {body}");
        assert_eq!(body["code"], "error-input-1");
        let fields: Vec<&Value> = body["fields"]
            .as_array()
            .map(|f| f.iter().collect())
            .unwrap_or_default();
        let named = body["field"].as_str() == Some(field) || fields.iter().any(|f| f["field"] == *field);
        assert!(named, "{repeat:?} is refused for {field}: {body}");
    }
    // A series needs a start.
    let no_start: Vec<(&str, &str)> = vec![("name", "Whenever")];
    let (status, body) = app
        .call("create_event", &series_form(None, &no_start, &[("frequency", "daily")]))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["field"], "starts_at");

    assert!(
        list_records(&organiser.did, EVENTS).await.is_empty(),
        "nothing reached the PDS"
    );
    let user = user_of(&app, &organiser).await;
    assert!(app
        .state
        .store
        .series_of_owner(user.id)
        .await
        .expect("query")
        .is_empty());
}

on_both_engines!(bad_rules_are_refused_and_nothing_is_written);

#[tokio::test]
async fn two_instances_never_publish_one_occurrence_twice() {
    let (first, organiser) = organiser_app(AppOptions::production()).await;
    let day = next_tuesday();
    let form = fields(day, "19:00", "21:00");
    let (status, body) = first
        .call(
            "create_event",
            &series_form(None, &borrowed(&form), &[("frequency", "daily")]),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let second = spawn_local_network_app(
        AppOptions::production()
            .with("CREDENTIALS_KEYS", TEST_KEYS)
            .with("DATABASE_URL", first.database_url().expect("postgres"))
            .with("REDIS_KEY_PREFIX", first.redis_prefix()),
    )
    .await;
    let (a, b) = (
        first.state.schedule().expect("bluesky"),
        second.state.schedule().expect("bluesky"),
    );
    // Day after day, both instances run the scheduler at once.
    for days in 0..4 {
        let now = instant(day + Duration::days(days), "21:01");
        let (x, y) = tokio::join!(a.work_once(now), b.work_once(now));
        assert_eq!(x.expect("pass") + y.expect("pass"), 1, "one instance claims the series");
    }
    let starts = published_starts(&organiser.did).await;
    let expected: Vec<String> = (0..5)
        .map(|d| zulu(instant(day + Duration::days(d), "19:00")))
        .collect();
    assert_eq!(starts, expected, "each occurrence exactly once");
}

async fn a_detected_series_adopts_the_events_without_writing_them(options: AppOptions) {
    let (app, organiser) = organiser_app(options).await;
    let day = next_tuesday();
    let mut ids = Vec::new();
    for week in 0..4 {
        let date = day + Duration::weeks(week);
        let (name, starts, ends) = (
            format!("Rust meetup #{}", week + 10),
            format!("{date}T19:00"),
            format!("{date}T21:00"),
        );
        let (status, body) = app
            .create_event(&[
                ("name", name.as_str()),
                ("starts_at", starts.as_str()),
                ("ends_at", ends.as_str()),
                ("time_zone", "Europe/Berlin"),
            ])
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    // A one-off is no part of it.
    let party = format!("{}T16:00", day + Duration::days(2));
    let (status, body) = app
        .create_event(&[
            ("name", "Summer party"),
            ("starts_at", party.as_str()),
            ("time_zone", "Europe/Berlin"),
        ])
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let before: Vec<(String, String)> = list_records(&organiser.did, EVENTS)
        .await
        .iter()
        .map(|r| {
            (
                r["uri"].as_str().unwrap_or_default().to_owned(),
                r["cid"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    assert_eq!(before.len(), 5);

    let (status, proposals) = app
        .send_json(reqwest::Method::GET, "/api/events/detect-series", None)
        .await;
    assert_eq!(status, StatusCode::OK, "{proposals}");
    let proposals = proposals.as_array().expect("a list");
    assert_eq!(proposals.len(), 1, "{proposals:?}");
    assert_eq!(proposals[0]["rule"], "FREQ=WEEKLY;BYDAY=TU");
    assert_eq!(proposals[0]["rule_words"], "Occurs weekly on Tuesdays");
    assert_eq!(proposals[0]["confidence"], 100);
    for event in proposals[0]["events"].as_array().expect("events") {
        ids.push(event["id"].as_i64().expect("id"));
    }
    assert_eq!(ids.len(), 4);
    let (_, page) = app.get_html("/me").await;
    assert!(page.contains(r#"data-testid="series-proposal""#), "{page}");

    // Events that are no series are refused.
    let party_id = app
        .state
        .store
        .events_by_owner(user_of(&app, &organiser).await.id)
        .await
        .expect("query")
        .into_iter()
        .find(|e| e.name == "Summer party")
        .expect("party")
        .id;
    let odd = serde_json::json!({"events": [ids[0], ids[1], party_id]}).to_string();
    let (status, body) = app
        .send_json(reqwest::Method::POST, "/api/events/create-series", Some(&odd))
        .await;
    assert_eq!(
        (status, body["code"].clone()),
        (StatusCode::UNPROCESSABLE_ENTITY, "error-series-5".into())
    );

    let body = serde_json::json!({ "events": ids }).to_string();
    let (status, created) = app
        .send_json(reqwest::Method::POST, "/api/events/create-series", Some(&body))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let series = only_series(&app, &organiser).await;
    assert_eq!(created["id"], series.id);
    assert_eq!(series.rule, "FREQ=WEEKLY;BYDAY=TU");

    // Not one record was written: the same records, at the same versions.
    let after: Vec<(String, String)> = list_records(&organiser.did, EVENTS)
        .await
        .iter()
        .map(|r| {
            (
                r["uri"].as_str().unwrap_or_default().to_owned(),
                r["cid"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    assert_eq!(after, before);
    let (_, page) = app.get_html(&format!("/series/{}", series.slug)).await;
    assert_eq!(page.matches(r#"data-state="published""#).count(), 4, "{page}");
    // Adopted events are no longer proposed.
    let (_, proposals) = app
        .send_json(reqwest::Method::GET, "/api/events/detect-series", None)
        .await;
    assert_eq!(proposals, serde_json::json!([]));

    // Once the last adopted one is over, the scheduler publishes the next date.
    let schedule = app.state.schedule().expect("bluesky is on");
    schedule
        .work_once(instant(day + Duration::weeks(3), "21:01"))
        .await
        .expect("scheduler");
    let starts = published_starts(&organiser.did).await;
    assert!(
        starts.contains(&zulu(instant(day + Duration::weeks(4), "19:00"))),
        "{starts:?}"
    );
    assert_eq!(starts.len(), 6);
}

on_both_engines!(a_detected_series_adopts_the_events_without_writing_them);

async fn one_date_is_moved_and_renamed_and_bluesky_follows(options: AppOptions) {
    let (app, organiser) = organiser_app(options).await;
    let day = next_tuesday();
    let series = start_series(
        &app,
        &organiser,
        day,
        &[("frequency", "weekly"), ("ends", "count"), ("count", "3")],
    )
    .await;
    let second = instant(day + Duration::weeks(1), "19:00");
    let key = occurrence_key(second);
    let wednesday = day + Duration::weeks(1) + Duration::days(1);
    let change = |starts_at: String, name: &str| {
        vec![
            ("id", series.id.to_string()),
            ("key", key.clone()),
            ("starts_at", starts_at),
            ("name", name.to_owned()),
        ]
    };

    // Bad input changes nothing.
    for (form, field) in [
        (change("next wednesday".to_owned(), ""), "starts_at"),
        (change(String::new(), "Evil\u{0}name"), "name"),
        (change(String::new(), &"x".repeat(301)), "name"),
    ] {
        let (status, body) = app.call("change_occurrence", &form).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(body["field"], field, "{body}");
    }
    let mut elsewhere = change(String::new(), "");
    elsewhere[1].1 = "20300101T000000Z".to_owned();
    let (status, body) = app.call("change_occurrence", &elsewhere).await;
    assert_eq!(
        (status, body["code"].clone()),
        (StatusCode::NOT_FOUND, "error-series-3".into())
    );

    // The second date moves to Wednesday 18:00 under a name of its own.
    let (status, body) = app
        .call(
            "change_occurrence",
            &change(format!("{wednesday}T18:00"), "Rust meetup: Christmas edition"),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, page) = app.get_html(&format!("/series/{}", series.slug)).await;
    assert!(page.contains(r#"data-testid="moved""#), "{page}");
    assert!(page.contains("Rust meetup: Christmas edition"));
    assert_eq!(published_starts(&organiser.did).await.len(), 1, "not on Bluesky yet");

    // Its turn comes: it is published at its new time, with its own name.
    let schedule = app.state.schedule().expect("bluesky is on");
    schedule.work_once(instant(day, "21:01")).await.expect("scheduler");
    let moved = instant(wednesday, "18:00");
    let records = list_records(&organiser.did, EVENTS).await;
    let record = records
        .iter()
        .find(|r| r["value"]["startsAt"] == zulu(moved))
        .unwrap_or_else(|| panic!("published at the new time: {records:?}"));
    assert_eq!(record["value"]["name"], "Rust meetup: Christmas edition");
    assert_eq!(record["value"]["endsAt"], zulu(moved + Duration::hours(2)));
    let rkey = record["uri"]
        .as_str()
        .expect("uri")
        .rsplit('/')
        .next()
        .expect("rkey")
        .to_owned();

    // Taken back: the record follows (the same record, the rule's time, the series' name).
    let (status, body) = app.call("change_occurrence", &change(String::new(), "")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, record) = get_record(&organiser.did, EVENTS, &rkey).await.expect("still there");
    assert_eq!(record["startsAt"], zulu(second));
    assert_eq!(record["name"], "Rust meetup");
    assert_eq!(published_starts(&organiser.did).await.len(), 2);
}

on_both_engines!(one_date_is_moved_and_renamed_and_bluesky_follows);

/// A series in a calendar is one entry with its rule, read back by Python's `icalendar` and
/// expanded by `dateutil`: the cancelled date is an EXDATE, the moved and renamed one its own
/// entry with a RECURRENCE-ID, and the organiser's feed does not list the published date twice.
async fn a_series_is_one_calendar_entry_with_its_changes(options: AppOptions) {
    let (app, organiser) = organiser_app(options).await;
    let day = next_tuesday();
    let series = start_series(
        &app,
        &organiser,
        day,
        &[("frequency", "weekly"), ("ends", "count"), ("count", "5")],
    )
    .await;
    let week = Duration::weeks(1);
    let at = |weeks: i32, time: &str| instant(day + week * weeks, time);
    let (status, body) = app
        .call(
            "cancel_occurrence",
            &[
                ("id", series.id.to_string()),
                ("key", occurrence_key(at(2, "19:00"))),
                ("cancelled", "true".to_owned()),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let wednesday = day + week + Duration::days(1);
    let (status, body) = app
        .call(
            "change_occurrence",
            &[
                ("id", series.id.to_string()),
                ("key", occurrence_key(at(1, "19:00"))),
                ("starts_at", format!("{wednesday}T18:00")),
                ("name", "Rust meetup: Christmas edition".to_owned()),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let text = |instant: DateTime<Utc>| instant.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let (calendar, _) = crate::feeds::read_calendar(&app, &format!("/series/{}/calendar.ics", series.slug)).await;
    let events = calendar["events"].as_array().expect("events");
    assert_eq!(events.len(), 2, "{calendar}");
    let master = &events[0];
    // The reader writes the rule's parts back in an order of its own.
    let mut parts: Vec<&str> = master["rrule"].as_str().expect("a rule").split(';').collect();
    parts.sort_unstable();
    assert_eq!(parts, ["BYDAY=TU", "COUNT=5", "FREQ=WEEKLY"]);
    assert_eq!(master["start"], text(at(0, "19:00")));
    assert_eq!(master["exdates"], serde_json::json!([text(at(2, "19:00"))]));
    assert_eq!(
        master["occurrences"],
        serde_json::json!([
            text(at(0, "19:00")),
            text(at(1, "19:00")),
            text(at(3, "19:00")),
            text(at(4, "19:00"))
        ]),
        "the rule's dates, the cancelled one left out"
    );
    let moved = &events[1];
    assert_eq!(moved["uid"], master["uid"]);
    assert_eq!(moved["recurrence_id"], text(at(1, "19:00")));
    assert_eq!(moved["start"], text(instant(wednesday, "18:00")));
    assert_eq!(moved["end"], text(instant(wednesday, "20:00")));
    assert_eq!(moved["summary"], "Rust meetup: Christmas edition");
    assert!(calendar["zone_checks"]
        .as_array()
        .expect("checks")
        .iter()
        .all(|check| check["vtimezone"] == check["tz_database"]));

    // The organiser's feed has the series once, and not its published first date as well.
    let (feed, _) = crate::feeds::read_calendar(&app, &format!("/u/{}/calendar.ics", organiser.handle)).await;
    let uids: Vec<&str> = feed["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|event| event["uid"].as_str())
        .collect();
    assert_eq!(uids, [master["uid"].as_str().expect("uid"); 2], "{feed}");
    let (status, _) = app.get_html("/series/no-such-series-zz/calendar.ics").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

on_both_engines!(a_series_is_one_calendar_entry_with_its_changes);

/// A weekly series across the spring change keeps 19:00 on the wall in calendars: the reader
/// expands the rule to 18:00 UTC before the change and 17:00 UTC after it.
async fn a_series_across_a_dst_change_keeps_its_wall_time_in_calendars(options: AppOptions) {
    let (app, organiser) = organiser_app(options).await;
    // Tuesdays around the last Sunday of March 2031, when Berlin moves to summer time.
    let day = NaiveDate::from_ymd_opt(2031, 3, 18).expect("a date");
    let series = start_series(
        &app,
        &organiser,
        day,
        &[("frequency", "weekly"), ("ends", "count"), ("count", "4")],
    )
    .await;
    let (calendar, _) = crate::feeds::read_calendar(&app, &format!("/series/{}/calendar.ics", series.slug)).await;
    assert_eq!(
        calendar["events"][0]["occurrences"],
        serde_json::json!([
            "2031-03-18T18:00:00Z",
            "2031-03-25T18:00:00Z",
            "2031-04-01T17:00:00Z",
            "2031-04-08T17:00:00Z"
        ]),
        "{calendar}"
    );
    let checks = calendar["zone_checks"].as_array().expect("checks");
    assert!(!checks.is_empty());
    assert!(
        checks.iter().all(|check| check["vtimezone"] == check["tz_database"]),
        "{calendar}"
    );
}

on_both_engines!(a_series_across_a_dst_change_keeps_its_wall_time_in_calendars);

/// Events another app wrote with markup, script and `javascript:` links in them, found as a
/// series: the proposal, the series and its occurrence pages show them as text, links inert.
async fn a_hostile_series_is_shown_as_text(options: AppOptions) {
    let (app, organiser) = organiser_app(options).await;
    let day = next_tuesday();
    for week in 0..3 {
        let start = instant(day + Duration::weeks(week), "19:00");
        let record = serde_json::json!({
            "$type": EVENTS,
            "name": format!("<script>window.__pwned=1</script> meetup #{week}"),
            "description": "</title><img src=x onerror=alert(1)>",
            "createdAt": "2026-11-24T00:00:00.000Z",
            "startsAt": zulu(start),
            "endsAt": zulu(start + Duration::hours(2)),
            "uris": [{"uri": "javascript:alert(1)", "name": "click"}],
        });
        crate::network::put_record_directly(&organiser, EVENTS, &format!("hostile{week}"), record).await;
    }
    let did = skymeet::domain::Did::parse(&organiser.did).expect("DID");
    let repos = &app.state.bluesky.as_ref().expect("bluesky").repos;
    repos.backfill(&did, None).await.expect("backfill");

    let (status, proposals) = app
        .send_json(reqwest::Method::GET, "/api/events/detect-series", None)
        .await;
    assert_eq!(status, StatusCode::OK, "{proposals}");
    assert_eq!(proposals.as_array().map(Vec::len), Some(1), "{proposals}");
    crate::hostile::assert_safe_page(&app, "/me").await;
    let ids: Vec<i64> = proposals[0]["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|e| e["id"].as_i64())
        .collect();
    let body = serde_json::json!({ "events": ids }).to_string();
    let (status, created) = app
        .send_json(reqwest::Method::POST, "/api/events/create-series", Some(&body))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["slug"].as_str().expect("slug");
    crate::hostile::assert_safe_page(&app, &format!("/series/{id}")).await;
    let later = occurrence_key(instant(day + Duration::weeks(5), "19:00"));
    crate::hostile::assert_safe_page(&app, &format!("/series/{id}/at/{later}")).await;
    crate::hostile::assert_safe_page(&app, &format!("/series/{id}/edit")).await;
}

on_both_engines!(a_hostile_series_is_shown_as_text);
