//! iCalendar (F: issue 16's feeds) against the real local PDS, on both engines: every `.ics` the
//! app serves is read back by Python's `icalendar` (PyPI), and the instants it finds, and the
//! offsets our VTIMEZONE gives, are compared with the events' own; a change bumps SEQUENCE and the
//! ETag, a cancelled event says so, a hostile description stays text, unknown feeds are 404.

use crate::helpers::{run_python, AppOptions, TestApp};
use crate::network::{create_account, sign_in_headless, spawn_local_network_app, Account, TEST_KEYS};
use reqwest::{header, StatusCode};
use serde_json::Value;
use skymeet::server::store::Event;

/// `path`'s body as Python's icalendar reads it, after checking it is a calendar.
pub async fn read_calendar(app: &TestApp, path: &str) -> (Value, Option<String>) {
    let response = app.get(path).await;
    assert_eq!(response.status(), StatusCode::OK, "{path}");
    let headers = response.headers().clone();
    assert_eq!(
        headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()),
        Some("text/calendar; charset=utf-8"),
        "{path}"
    );
    let etag = headers
        .get(header::ETAG)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let text = response.text().await.expect("body");
    assert!(
        text.starts_with("BEGIN:VCALENDAR\r\n") && text.ends_with("END:VCALENDAR\r\n"),
        "{text}"
    );
    let read: Value = serde_json::from_str(&run_python("read_ics.py", text)).expect("JSON");
    assert_eq!(read["method"], "PUBLISH");
    (read, etag)
}

fn zulu(instant: Option<chrono::DateTime<chrono::Utc>>) -> Value {
    instant.map_or(Value::Null, |at| {
        Value::String(at.format("%Y-%m-%dT%H:%M:%SZ").to_string())
    })
}

/// The read event whose UID is `event`'s at-uri.
fn read_event<'a>(read: &'a Value, event: &Event) -> &'a Value {
    let uid = event.source.at_uri.as_deref().expect("on Bluesky");
    read["events"]
        .as_array()
        .and_then(|events| events.iter().find(|e| e["uid"] == uid))
        .unwrap_or_else(|| panic!("{uid} in {read}"))
}

async fn organiser(options: AppOptions) -> (TestApp, Account) {
    let app = spawn_local_network_app(options.with("CREDENTIALS_KEYS", TEST_KEYS)).await;
    let account = create_account().await;
    sign_in_headless(&app, &account).await;
    (app, account)
}

async fn feeds_hold_the_right_instants_in_every_zone(options: AppOptions) {
    let (app, account) = organiser(options).await;
    // Both sides of daylight-saving changes, north (Berlin, New York) and south (Santiago), a
    // zone without any (Kolkata, +05:30), and UTC.
    let dated = [
        ("Before spring", "2031-03-29T19:00", "Europe/Berlin"),
        ("After spring", "2031-04-05T19:00", "Europe/Berlin"),
        ("Before autumn", "2031-11-01T18:30", "America/New_York"),
        ("After autumn", "2031-11-08T18:30", "America/New_York"),
        ("Southern spring", "2031-09-06T20:00", "America/Santiago"),
        ("Southern after", "2031-09-13T20:00", "America/Santiago"),
        ("Half hour", "2031-06-01T09:15", "Asia/Kolkata"),
        ("Plain UTC", "2031-06-02T12:00", "UTC"),
    ];
    for (name, start, zone) in dated {
        let end = chrono::NaiveDateTime::parse_from_str(start, "%Y-%m-%dT%H:%M").expect("local time")
            + chrono::Duration::hours(2);
        let end = end.format("%Y-%m-%dT%H:%M").to_string();
        let (status, body) = app
            .create_event(&[
                ("name", name),
                ("starts_at", start),
                ("ends_at", &end),
                ("time_zone", zone),
            ])
            .await;
        assert_eq!(status, StatusCode::OK, "{name}: {body}");
    }
    // A description that tries to end the event and start another stays one event's text.
    let hostile = "Talks; then, pizza \\ drinks\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nSUMMARY:Injected";
    let (status, body) = app
        .create_event(&[
            ("name", "Hostile, text; here"),
            ("description", hostile),
            ("starts_at", "2031-07-01T18:00"),
            ("time_zone", "Europe/Berlin"),
        ])
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let user = crate::network::user_of(&app, &account).await;
    let events = app.state.store.events_by_owner(user.id).await.expect("events");
    assert_eq!(events.len(), dated.len() + 1);

    let path = format!("/u/{}/calendar.ics", account.handle);
    let (read, etag) = read_calendar(&app, &path).await;
    assert_eq!(read["events"].as_array().map(Vec::len), Some(events.len()), "{read}");
    for event in &events {
        let found = read_event(&read, event);
        assert_eq!(found["summary"], event.name.as_str());
        assert_eq!(found["start"], zulu(event.starts_at), "{}", event.name);
        assert_eq!(found["end"], zulu(event.ends_at), "{}", event.name);
        assert_eq!(found["status"], "CONFIRMED");
        assert_eq!(found["sequence"], 0);
    }
    let hostile_event = events.iter().find(|e| e.name.starts_with("Hostile")).expect("hostile");
    assert_eq!(
        read_event(&read, hostile_event)["description"],
        hostile.replace("\r\n", "\n")
    );
    // Our VTIMEZONEs say what the tz database says at every start (UTC needs none).
    let checks = read["zone_checks"].as_array().expect("checks");
    assert_eq!(checks.len(), events.len() - 1, "{read}");
    for check in checks {
        assert_eq!(check["vtimezone"], check["tz_database"], "{check}");
    }
    let offsets: Vec<f64> = checks.iter().filter_map(|c| c["tz_database"].as_f64()).collect();
    for crossed in [3600.0, 7200.0, -14400.0, -18000.0, -10800.0, 19800.0] {
        assert!(offsets.contains(&crossed), "an event at {crossed} s: {offsets:?}");
    }

    // The same feed again: 304 for a client that has it.
    let etag = etag.expect("an ETag");
    let response = app
        .client
        .get(format!("{}{path}", app.address))
        .header(header::IF_NONE_MATCH, &etag)
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), StatusCode::NOT_MODIFIED);
    assert!(response.text().await.expect("body").is_empty());

    // Cancelled: the calendar says so, a newer SEQUENCE, and a new ETag.
    let changed = events.iter().find(|e| e.name == "After spring").expect("event");
    let (status, body) = app
        .update_event(
            changed.id,
            &[
                ("name", "After spring"),
                ("starts_at", "2031-04-05T19:00"),
                ("time_zone", "Europe/Berlin"),
                ("status", "cancelled"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (read, new_etag) = read_calendar(&app, &path).await;
    assert_ne!(new_etag.as_deref(), Some(etag.as_str()));
    let found = read_event(&read, changed);
    assert_eq!(found["status"], "CANCELLED");
    assert!(found["sequence"].as_i64() >= Some(1), "{found}");

    // One event, as a download; and the whole site.
    let single = format!("/events/{}/calendar.ics", changed.slug);
    let response = app.get(&single).await;
    let disposition = response.headers().get(header::CONTENT_DISPOSITION).cloned();
    assert_eq!(
        disposition.as_ref().and_then(|v| v.to_str().ok()),
        Some(format!("attachment; filename=\"{}.ics\"", changed.slug).as_str())
    );
    let (read, _) = read_calendar(&app, &single).await;
    assert_eq!(read["events"].as_array().map(Vec::len), Some(1));
    let (read, _) = read_calendar(&app, "/calendar.ics").await;
    read_event(&read, hostile_event);
    // Its page offers it, and the web calendars' forms.
    let (_, page) = app.get_html(&format!("/events/{}", changed.slug)).await;
    assert!(page.contains(&format!(r#"href="{single}""#)), "{page}");
    assert!(
        page.contains("https://calendar.google.com/calendar/render?action=TEMPLATE"),
        "{page}"
    );

    // What names nothing is 404.
    for missing in [
        "/u/nobody-here.test/calendar.ics",
        "/u/not a handle/calendar.ics",
        "/events/nothing-zzzzzz/calendar.ics",
    ] {
        assert_eq!(app.get(missing).await.status(), StatusCode::NOT_FOUND, "{missing}");
    }
}

on_both_engines!(feeds_hold_the_right_instants_in_every_zone);

async fn a_private_feed_holds_what_i_answered_until_i_replace_it(options: AppOptions) {
    let (app, account) = organiser(options).await;
    for name in ["Going there", "Maybe there", "Not there", "Unanswered"] {
        let (status, body) = app
            .create_event(&[
                ("name", name),
                ("starts_at", "2031-05-01T18:00"),
                ("time_zone", "Europe/Berlin"),
            ])
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let user = crate::network::user_of(&app, &account).await;
    let events = app.state.store.events_by_owner(user.id).await.expect("events");
    let named = |name: &str| events.iter().find(|e| e.name == name).expect("event").clone();
    for (name, answer) in [
        ("Going there", "going"),
        ("Maybe there", "interested"),
        ("Not there", "notgoing"),
    ] {
        let (status, body) = app.answer_event(named(name).id, answer).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }

    // No link until asked for; then one that reads back exactly the two answers.
    let nothing: [(&str, &str); 0] = [];
    let (status, none) = app.call("calendar_feed", &nothing).await;
    assert_eq!((status, none), (StatusCode::OK, Value::Null));
    let (status, link) = app.call("new_calendar_feed", &nothing).await;
    assert_eq!(status, StatusCode::OK, "{link}");
    let link = link.as_str().expect("a link").to_owned();
    let path = &link[link.find("/feeds/").expect("a feed path")..];
    let (status, shown) = app.call("calendar_feed", &nothing).await;
    assert_eq!((status, shown.as_str()), (StatusCode::OK, Some(link.as_str())));
    let response = app.get(path).await;
    assert_eq!(
        response
            .headers()
            .get(header::CACHE_CONTROL)
            .and_then(|v| v.to_str().ok()),
        Some("private, max-age=300")
    );
    let (read, _) = read_calendar(&app, path).await;
    let mut summaries: Vec<&str> = read["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|e| e["summary"].as_str())
        .collect();
    summaries.sort_unstable();
    assert_eq!(summaries, ["Going there", "Maybe there"]);
    let (_, page) = app.get_html("/me").await;
    assert!(page.contains(&link), "/me shows the link");

    // A new link cuts the old one off.
    let (_, renewed) = app.call("new_calendar_feed", &nothing).await;
    let renewed = renewed.as_str().expect("a link").to_owned();
    assert_ne!(renewed, link);
    assert_eq!(app.get(path).await.status(), StatusCode::NOT_FOUND);
    let renewed_path = &renewed[renewed.find("/feeds/").expect("a feed path")..];
    read_calendar(&app, renewed_path).await;
    for forged in ["/feeds/0/going.ics", &format!("/feeds/{}/going.ics", "0".repeat(64))] {
        assert_eq!(app.get(forged).await.status(), StatusCode::NOT_FOUND, "{forged}");
    }

    // Signed out, there is no link to see or make.
    for function in ["calendar_feed", "new_calendar_feed"] {
        let response = crate::helpers::visitor()
            .post(format!("{}/api/{function}", app.address))
            .form(&nothing)
            .send()
            .await
            .expect("sent");
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{function}");
    }
}

on_both_engines!(a_private_feed_holds_what_i_answered_until_i_replace_it);
