//! Finding events (issue 17), on both engines: search relevance on a fixed set, filters and their
//! combinations, keyset pages that neither repeat nor skip while events are added, a search's
//! feeds, and hostile records from the real local PDS found and shown safely.

use crate::helpers::{attrs, spawn_app, texts, AppOptions, TestApp};
use crate::hostile::assert_safe_page;
use crate::network::{create_account, put_record_directly, spawn_local_network_app};
use chrono::{DateTime, Duration, DurationRound, Utc};
use reqwest::StatusCode;
use scraper::Html;
use serde_json::json;
use skymeet::domain::{Did, EventMode, EventStatus, TimeZoneName};
use skymeet::server::store::{Event, Findable, NewEvent, SourceTracking};
use std::collections::HashSet;

const EVENTS: &str = "community.lexicon.calendar.event";

/// An event kept here only, with what searches read of it.
struct Fixture<'a> {
    name: &'a str,
    description: &'a str,
    place: &'a str,
    starts_in: Duration,
    mode: EventMode,
    status: EventStatus,
    point: Option<(f64, f64)>,
}

impl<'a> Fixture<'a> {
    fn new(name: &'a str, starts_in: Duration) -> Self {
        Self {
            name,
            description: "",
            place: "",
            starts_in,
            mode: EventMode::InPerson,
            status: EventStatus::Scheduled,
            point: None,
        }
    }
}

fn now() -> DateTime<Utc> {
    Utc::now().duration_trunc(Duration::seconds(1)).expect("now")
}

async fn insert(app: &TestApp, fixture: Fixture<'_>) -> Event {
    insert_at(app, fixture.name, Some(now() + fixture.starts_in), |new| {
        new.description = (!fixture.description.is_empty()).then(|| fixture.description.to_owned());
        new.findable = Findable {
            mode: fixture.mode,
            status: fixture.status,
            place: fixture.place.to_owned(),
            point: fixture.point,
        };
    })
    .await
}

async fn insert_at(
    app: &TestApp,
    name: &str,
    starts_at: Option<DateTime<Utc>>,
    change: impl FnOnce(&mut NewEvent),
) -> Event {
    let mut new = NewEvent {
        owner_id: None,
        name: name.to_owned(),
        description: None,
        starts_at,
        ends_at: starts_at.map(|at| at + Duration::hours(2)),
        time_zone: TimeZoneName::utc(),
        source: SourceTracking::local(),
        record: None,
        findable: Findable::default(),
        visibility: Default::default(),
    };
    change(&mut new);
    app.state.store.insert_event(&new).await.expect("insert")
}

/// The names on `/events?{query}`, in order, and the page.
async fn found(app: &TestApp, query: &str) -> (Vec<String>, Html) {
    let (status, html) = app.get_html(&format!("/events?{query}")).await;
    assert_eq!(status, StatusCode::OK, "{query}: {html}");
    let page = Html::parse_document(&html);
    (
        texts(&page, "[data-testid=search-results] [data-testid=event-card] a"),
        page,
    )
}

async fn search_ranks_the_fixed_set(options: AppOptions) {
    let app = spawn_app(options).await;
    let set = [
        (
            "Jazz night at the harbour",
            "Live quartet, standards and bebop.",
            "Harbour Bar, Hamburg",
        ),
        (
            "Rust meetup",
            "Talks about async and embedded programming.",
            "c-base, Berlin",
        ),
        (
            "Choir rehearsal",
            "Weekly rehearsal; new singers welcome.",
            "St. Mary's Church, Lyon",
        ),
        (
            "Knitting circle",
            "Bring your own yarn. Tea and biscuits.",
            "Public Library, Leeds",
        ),
        (
            "Photography walk",
            "Through the old town with cameras; beginners welcome.",
            "Old Town Square, Prague",
        ),
        (
            "Startup pitch evening",
            "Founders pitch to investors, then networking.",
            "Factory, Berlin",
        ),
        (
            "Marathon training",
            "Long run at an easy pace, 25 km.",
            "Central Park, New York",
        ),
        (
            "Open mic poetry",
            "Read your poems or just listen. A jazz trio plays in the break.",
            "Luna, Madrid",
        ),
        (
            "Board game night",
            "Catan, Carcassonne and more. Snacks provided.",
            "Dice Corner, Hamburg",
        ),
        (
            "Python workshop",
            "Learn the basics of Python: variables, loops, functions.",
            "Online",
        ),
        (
            "Community garden day",
            "Planting vegetables and composting together.",
            "Allotment 7, Utrecht",
        ),
        (
            "Running club",
            "Easy 5 km for everyone every Thursday.",
            "Riverside, Lyon",
        ),
        ("Berlin jazz festival", "Three days of concerts.", "Tempelhof, Berlin"),
    ];
    for (i, (name, description, place)) in set.into_iter().enumerate() {
        let mut fixture = Fixture::new(name, Duration::days(1 + i as i64));
        fixture.description = description;
        fixture.place = place;
        insert(&app, fixture).await;
    }
    let first = [
        ("harbour jazz", "Jazz night at the harbour"),
        ("rust", "Rust meetup"),
        ("choir", "Choir rehearsal"),
        // In the description only.
        ("yarn", "Knitting circle"),
        // Stemmed: "photography" finds "Photography".
        ("photographs", "Photography walk"),
        ("investors pitch", "Startup pitch evening"),
        ("marathon", "Marathon training"),
        ("poems", "Open mic poetry"),
        ("catan", "Board game night"),
        ("python", "Python workshop"),
        ("vegetables", "Community garden day"),
        // In the place only.
        ("riverside", "Running club"),
        // Every word must match.
        ("berlin jazz", "Berlin jazz festival"),
        // As you type: the last word is the start of one.
        ("photog", "Photography walk"),
        ("board gam", "Board game night"),
    ];
    for (query, expected) in first {
        let (names, page) = found(&app, &format!("q={}", query.replace(' ', "+"))).await;
        assert_eq!(names.first().map(String::as_str), Some(expected), "{query}: {names:?}");
        assert_eq!(
            texts(&page, "[data-testid=search-order]")[0].split('.').next(),
            Some("Best matches first")
        );
    }
    // A name outranks a description: both jazz names before the poetry evening's trio.
    let (names, page) = found(&app, "q=jazz").await;
    assert_eq!(names.len(), 3, "{names:?}");
    let top: HashSet<&str> = names[..2].iter().map(String::as_str).collect();
    assert_eq!(
        top,
        HashSet::from(["Jazz night at the harbour", "Berlin jazz festival"])
    );
    assert_eq!(names[2], "Open mic poetry");
    // The matches are marked, in the name and in a passage of the description.
    assert!(texts(&page, "[data-testid=event-card] a mark")
        .iter()
        .all(|m| m.eq_ignore_ascii_case("jazz")));
    assert_eq!(texts(&page, "[data-testid=event-card] a mark").len(), 2);
    let passages = texts(&page, "[data-testid=search-passage] mark");
    assert!(passages.iter().any(|m| m == "jazz"), "{passages:?}");
    // Words that match nothing, and the query languages' operators, find nothing and break nothing.
    for query in [
        "zeppelin",
        "%22jazz%22+OR+-(x",
        "%27+OR+1%3D1+--",
        "NEAR(jazz+night)",
        "jazz*+%5E",
        "%2A",
    ] {
        let (_, page) = found(&app, &format!("q={query}")).await;
        assert!(texts(&page, "[data-testid=search-errors]").is_empty(), "{query}");
    }
    let (names, _) = found(&app, "q=zeppelin").await;
    assert!(names.is_empty());
    // Too long a search is refused with a clear message.
    let (names, page) = found(&app, &format!("q={}", "a".repeat(201))).await;
    assert!(names.is_empty());
    assert_eq!(attrs(&page, "[data-testid=search-errors] li", "data-field"), ["q"]);
}

on_both_engines!(search_ranks_the_fixed_set);

async fn filters_combine(options: AppOptions) {
    let app = spawn_app(options).await;
    let berlin = Some((52.5200, 13.4050));
    let potsdam = Some((52.3906, 13.0645)); // about 27 km from Berlin
    let hamburg = Some((53.5511, 9.9937)); // about 255 km
    let fixtures = [
        (
            "Berlin talk",
            Duration::hours(3),
            EventMode::InPerson,
            EventStatus::Scheduled,
            berlin,
        ),
        (
            "Potsdam walk",
            Duration::days(2),
            EventMode::Hybrid,
            EventStatus::Scheduled,
            potsdam,
        ),
        (
            "Hamburg concert",
            Duration::days(3),
            EventMode::InPerson,
            EventStatus::Cancelled,
            hamburg,
        ),
        (
            "Online course",
            Duration::days(5),
            EventMode::Virtual,
            EventStatus::Scheduled,
            None,
        ),
        (
            "Berlin stream",
            Duration::days(20),
            EventMode::Virtual,
            EventStatus::Scheduled,
            berlin,
        ),
        (
            "Far future",
            Duration::days(400),
            EventMode::InPerson,
            EventStatus::Postponed,
            None,
        ),
    ];
    for (name, starts_in, mode, status, point) in fixtures {
        let mut fixture = Fixture::new(name, starts_in);
        fixture.mode = mode;
        fixture.status = status;
        fixture.point = point;
        insert(&app, fixture).await;
    }
    insert_at(&app, "Over already", Some(now() - Duration::days(3)), |_| {}).await;
    insert_at(&app, "Date to come", None, |_| {}).await;
    let cases: &[(&str, &[&str])] = &[
        (
            "",
            &[
                "Berlin talk",
                "Potsdam walk",
                "Hamburg concert",
                "Online course",
                "Berlin stream",
                "Far future",
                "Date to come",
            ],
        ),
        ("mode=virtual", &["Online course", "Berlin stream"]),
        ("mode=hybrid", &["Potsdam walk"]),
        (
            "cancelled=hide",
            &[
                "Berlin talk",
                "Potsdam walk",
                "Online course",
                "Berlin stream",
                "Far future",
                "Date to come",
            ],
        ),
        ("near=52.52,13.405&km=10", &["Berlin talk", "Berlin stream"]),
        (
            "near=52.52,13.405&km=40",
            &["Berlin talk", "Potsdam walk", "Berlin stream"],
        ),
        // 25 km unless said otherwise: Potsdam is 27 km away.
        ("near=52.52,13.405", &["Berlin talk", "Berlin stream"]),
        (
            "near=52.52,13.405&km=300",
            &["Berlin talk", "Potsdam walk", "Hamburg concert", "Berlin stream"],
        ),
        (
            "near=52.52,13.405&km=300&cancelled=hide&mode=inperson",
            &["Berlin talk"],
        ),
        ("near=52.52,13.405&mode=virtual", &["Berlin stream"]),
        (
            "when=week",
            &["Berlin talk", "Potsdam walk", "Hamburg concert", "Online course"],
        ),
        ("when=week&mode=inperson&cancelled=hide", &["Berlin talk"]),
        // Dates pick a window: events without a date are not in one.
        (
            &format!("from={}", (now() + Duration::days(10)).format("%Y-%m-%d")),
            &["Berlin stream", "Far future"],
        ),
        (
            &format!(
                "from={}&to={}",
                (now() - Duration::days(4)).format("%Y-%m-%d"),
                (now() + Duration::days(1)).format("%Y-%m-%d")
            ),
            &["Over already", "Berlin talk"],
        ),
        ("near=0,0", &[]),
    ];
    for (query, expected) in cases {
        let (names, page) = found(&app, query).await;
        assert_eq!(names, *expected, "{query}");
        assert!(texts(&page, "[data-testid=search-errors]").is_empty(), "{query}");
        // The form shows the search it ran, so it can be changed and sent again.
        if let Some(near) = query.split('&').find_map(|pair| pair.strip_prefix("near=")) {
            assert_eq!(attrs(&page, "input[name=near]", "value"), [near]);
        }
    }
    // Every wrong field is named, and nothing is listed.
    let (names, page) = found(&app, "from=soon&mode=teleport&near=north&km=-1&when=never&by=%3Cb%3E").await;
    assert!(names.is_empty());
    let fields = attrs(&page, "[data-testid=search-errors] li", "data-field");
    assert_eq!(fields, ["when", "mode", "by", "near"]);
    let (_, page) = found(&app, "near=52,13&km=9999").await;
    assert_eq!(attrs(&page, "[data-testid=search-errors] li", "data-field"), ["km"]);
    // The search travels into its feeds' addresses.
    let (_, page) = found(&app, "mode=virtual&near=52.52,13.405").await;
    assert_eq!(
        attrs(&page, "[data-testid=search-ics]", "href"),
        ["/events/calendar.ics?mode=virtual&near=52.52%2C13.405"]
    );
}

on_both_engines!(filters_combine);

async fn pages_neither_repeat_nor_skip_while_events_are_added(options: AppOptions) {
    let app = spawn_app(options).await;
    let base = now() + Duration::days(1);
    // 45 events, several starting at the same moment (the id breaks the tie), and 5 undated.
    let mut expected = Vec::new();
    for i in 0..45 {
        let event = insert_at(
            &app,
            &format!("Event {i:02}"),
            Some(base + Duration::hours(i / 3)),
            |_| {},
        )
        .await;
        expected.push(event.name);
    }
    for i in 0..5 {
        let event = insert_at(&app, &format!("Undated {i}"), None, |_| {}).await;
        expected.push(event.name);
    }
    // One under way leads.
    let ongoing = insert_at(&app, "Under way", Some(now() - Duration::hours(1)), |_| {}).await;
    expected.insert(0, ongoing.name);
    let mut seen: Vec<String> = Vec::new();
    let mut path = "/events".to_owned();
    let mut pages = 0;
    loop {
        let (status, html) = app.get_html(&path).await;
        assert_eq!(status, StatusCode::OK);
        let page = Html::parse_document(&html);
        seen.extend(texts(&page, "[data-testid=search-results] [data-testid=event-card] a"));
        pages += 1;
        // Between pages, events are added before and after where the next page starts.
        insert_at(
            &app,
            &format!("Added early {pages}"),
            Some(now() + Duration::minutes(5)),
            |_| {},
        )
        .await;
        insert_at(
            &app,
            &format!("Added late {pages}"),
            Some(base + Duration::days(30)),
            |_| {},
        )
        .await;
        match attrs(&page, "[data-testid=search-next]", "href").pop() {
            Some(next) => path = next,
            None => break,
        }
        assert!(pages < 10, "the pages never end");
    }
    let unique: HashSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "a page repeated an event: {seen:?}");
    // Every event there from the start, in order; the events added later than the position of
    // the next page appear as well, each once.
    let original: Vec<&String> = seen.iter().filter(|name| !name.starts_with("Added")).collect();
    assert_eq!(original, expected.iter().collect::<Vec<_>>());
    assert!(seen.iter().any(|name| name.starts_with("Added late")), "{seen:?}");
    let (first, _) = found(&app, "").await;
    assert_eq!(first.first().map(String::as_str), Some("Under way"));
    // A cursor from nowhere starts at the first page; one that is not a position is ignored.
    let (names, _) = found(&app, "after=%3Cscript%3E").await;
    assert_eq!(names.first().map(String::as_str), Some("Under way"));
}

on_both_engines!(pages_neither_repeat_nor_skip_while_events_are_added);

async fn a_search_is_a_feed_too(options: AppOptions) {
    let app = spawn_app(options).await;
    for (name, days, description) in [
        ("Jazz brunch", 1, "Brunch & <b>jazz</b>\u{1} with friends"),
        ("Jazz <night> & \"more\"", 2, "Late"),
        ("Chess club", 3, "Openings"),
    ] {
        let mut fixture = Fixture::new(name, Duration::days(days));
        fixture.description = description;
        insert(&app, fixture).await;
    }
    let atom = app.get("/events/feed.atom?q=jazz").await;
    assert_eq!(atom.status(), StatusCode::OK);
    assert_eq!(
        atom.headers()["content-type"].to_str().expect("type"),
        "application/atom+xml; charset=utf-8"
    );
    let text = atom.text().await.expect("body");
    let feed: atom_syndication::Feed = text.parse().expect("the feed is valid Atom");
    let titles: Vec<&str> = feed.entries().iter().map(|entry| entry.title().as_str()).collect();
    assert_eq!(titles.len(), 2);
    assert!(
        titles.contains(&"Jazz brunch") && titles.contains(&"Jazz <night> & \"more\""),
        "{titles:?}"
    );
    assert!(
        !text.contains("<night>") && !text.contains("<b>"),
        "markup stays text: {text}"
    );
    assert!(!text.contains('\u{1}'), "a control character is not XML");
    assert!(feed.entries()[0].links()[0].href().contains("/events/jazz"));
    assert!(feed.id().ends_with("/events/feed.atom?q=jazz"));
    let ics = app.get("/events/calendar.ics?q=chess").await;
    assert_eq!(ics.status(), StatusCode::OK);
    let text = ics.text().await.expect("body");
    assert_eq!(text.matches("BEGIN:VEVENT").count(), 1);
    assert!(text.contains("SUMMARY:Chess club"));
    // All upcoming, by date.
    let ics = app.get("/events/calendar.ics").await.text().await.expect("body");
    let order: Vec<&str> = ics.lines().filter_map(|line| line.strip_prefix("SUMMARY:")).collect();
    assert_eq!(order, ["Jazz brunch", "Jazz <night> & \"more\"", "Chess club"]);
    // A wrong search is a clear 400.
    let wrong = app.get("/events/feed.atom?near=somewhere").await;
    assert_eq!(wrong.status(), StatusCode::BAD_REQUEST);
    assert!(wrong.text().await.expect("body").contains("latitude"));
}

on_both_engines!(a_search_is_a_feed_too);

async fn hostile_records_are_found_and_stay_text(options: AppOptions) {
    let app = spawn_local_network_app(options).await;
    let account = create_account().await;
    let other = create_account().await;
    let hostile = r#"<img src=x onerror="window.__pwned = 1"></script><script>window.__pwned = 2</script>"#;
    let record = |name: String, extra: serde_json::Value| {
        let mut record = json!({
            "$type": EVENTS,
            "name": name,
            "createdAt": "2026-11-24T00:00:00.000Z",
            "startsAt": "2031-06-01T18:00:00.000Z",
        });
        if let (Some(record), Some(extra)) = (record.as_object_mut(), extra.as_object()) {
            record.extend(extra.clone());
        }
        record
    };
    put_record_directly(
        &account,
        EVENTS,
        "marks",
        record(
            format!("Zebra \u{E000}crossing\u{E001} {hostile}"),
            json!({
                "description": format!("NEAR(zebra) \"quoted\" * ^ {hostile} zebra"),
                "mode": "community.lexicon.calendar.event#virtual",
                "locations": [
                    {"$type": "community.lexicon.location.geo", "latitude": "NaN", "longitude": "1e999"},
                    {"$type": "community.lexicon.location.geo", "latitude": "48.8566", "longitude": "2.3522", "name": format!("Quai {hostile}")},
                    {"$type": "community.lexicon.location.address", "name": "x".repeat(5000), "locality": "Zebraville"}
                ]
            }),
        ),
    )
    .await;
    put_record_directly(
        &account,
        EVENTS,
        "oddmode",
        record(
            "Zebra parade".to_owned(),
            json!({"mode": "#teleport", "status": "community.lexicon.calendar.event#cancelled"}),
        ),
    )
    .await;
    put_record_directly(
        &other,
        EVENTS,
        "others",
        record("Zebra of someone else".to_owned(), json!({})),
    )
    .await;
    let bluesky = app.state.bluesky.as_ref().expect("Bluesky is on");
    for owner in [&account, &other] {
        bluesky
            .repos
            .backfill(&Did::parse(&owner.did).expect("DID"), None)
            .await
            .expect("backfill");
    }
    let page = assert_safe_page(&app, "/events?q=zebra").await;
    let names = texts(&page, "[data-testid=search-results] [data-testid=event-card] a");
    assert_eq!(names.len(), 3, "{names:?}");
    // The record's own marker characters mark nothing and never show.
    assert!(names
        .iter()
        .all(|name| !name.contains('\u{E000}') && !name.contains('\u{E001}')));
    assert!(
        texts(&page, "mark").iter().all(|m| m.eq_ignore_ascii_case("zebra")),
        "{:?}",
        texts(&page, "mark")
    );
    // By place words (cut to their bound), by point, by mode, by organiser.
    let (names, _) = found(&app, "q=zebraville").await;
    assert_eq!(names.len(), 1);
    let (names, _) = found(&app, "near=48.85,2.35&km=5").await;
    assert_eq!(names.len(), 1);
    let (names, _) = found(&app, "mode=virtual&q=zebra").await;
    assert_eq!(names.len(), 1);
    let (names, _) = found(&app, "cancelled=hide&q=zebra").await;
    assert_eq!(names.len(), 2, "{names:?}");
    let (names, _) = found(&app, &format!("by={}&q=zebra", other.handle)).await;
    assert_eq!(names, ["Zebra of someone else"]);
    let (names, _) = found(&app, &format!("by={}", account.handle)).await;
    assert_eq!(names.len(), 2);
    let (names, _) = found(&app, "by=nobody-here.test").await;
    assert!(names.is_empty());
    assert_safe_page(&app, &format!("/events?q=zebra&by={}&near=48.85,2.35", account.handle)).await;
    let atom = app.get("/events/feed.atom?q=zebra").await.text().await.expect("body");
    let feed: atom_syndication::Feed = atom.parse().expect("valid Atom");
    assert_eq!(feed.entries().len(), 3);
    assert!(!atom.contains("<script>"));
}

on_both_engines!(hostile_records_are_found_and_stay_text);

async fn a_users_page_lists_what_is_coming_then_what_is_over(options: AppOptions) {
    let app = spawn_local_network_app(options).await;
    let account = create_account().await;
    let start = Utc::now().duration_trunc(Duration::days(1)).expect("day");
    // 12 to come, 12 over, 1 without a date.
    for i in 0..12i64 {
        for (label, at) in [
            ("Next", start + Duration::days(2 + i)),
            ("Last", start - Duration::days(2 + i)),
        ] {
            put_record_directly(
                &account,
                EVENTS,
                &format!("{}{i:02}", label.to_lowercase()),
                json!({"$type": EVENTS, "name": format!("{label} {i:02}"), "createdAt": "2026-11-24T00:00:00.000Z",
                       "startsAt": at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)}),
            )
            .await;
        }
    }
    put_record_directly(
        &account,
        EVENTS,
        "someday",
        json!({"$type": EVENTS, "name": "Someday", "createdAt": "2026-11-24T00:00:00.000Z"}),
    )
    .await;
    let read = |page: &Html, list: &str| {
        texts(
            page,
            &format!("[data-testid={list}] [data-testid=event-card] p:first-child"),
        )
    };
    let (status, html) = app.get_html(&format!("/u/{}", account.handle)).await;
    assert_eq!(status, StatusCode::OK);
    let first = Html::parse_document(&html);
    let upcoming: Vec<String> = (0..12)
        .map(|i| format!("Next {i:02}"))
        .chain(["Someday".to_owned()])
        .collect();
    assert_eq!(read(&first, "upcoming-events"), upcoming);
    assert_eq!(
        read(&first, "past-events"),
        (0..7).map(|i| format!("Last {i:02}")).collect::<Vec<_>>()
    );
    let next = attrs(&first, "[data-testid=user-next]", "href");
    assert_eq!(next, ["?page=2"]);
    let (_, html) = app.get_html(&format!("/u/{}?page=2", account.handle)).await;
    let second = Html::parse_document(&html);
    assert!(read(&second, "upcoming-events").is_empty());
    assert_eq!(
        read(&second, "past-events"),
        (7..12).map(|i| format!("Last {i:02}")).collect::<Vec<_>>()
    );
    assert!(attrs(&second, "[data-testid=user-next]", "href").is_empty());
    assert_eq!(attrs(&second, "[data-testid=user-previous]", "href"), ["?page=1"]);
    // A page past the end shows the last one.
    let (_, html) = app.get_html(&format!("/u/{}?page=99", account.handle)).await;
    assert_eq!(read(&Html::parse_document(&html), "past-events").len(), 5);
}

on_both_engines!(a_users_page_lists_what_is_coming_then_what_is_over);
