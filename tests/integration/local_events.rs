//! Events and answers kept on Skymeet only: people with an email account organise and answer
//! beside people from the network, and unlisted and private events stay out of every listing, on
//! both engines, with the real local PDS holding the network's side.

use crate::helpers::{local_person, visitor, AppOptions, TestApp};
use crate::network::{
    connect_headless, create_account, list_records, sign_in_headless, spawn_local_network_app, user_of, TEST_KEYS,
};
use reqwest::StatusCode;
use serde_json::Value;
use skymeet::domain::{SyncStatus, Visibility};
use skymeet::server::store::{Event, SourceType};

const EVENTS: &str = "community.lexicon.calendar.event";
const RSVPS: &str = "community.lexicon.calendar.rsvp";

/// Makes `app`'s own client `browser` (the helpers act as whoever it is); the one before.
fn act_as(app: &mut TestApp, browser: reqwest::Client) -> reqwest::Client {
    std::mem::replace(&mut app.client, browser)
}

/// `user_id`'s event named `name`.
async fn event_named(app: &TestApp, user_id: i64, name: &str) -> Event {
    app.state
        .store
        .events_by_owner(user_id)
        .await
        .expect("query")
        .into_iter()
        .find(|event| event.name == name)
        .unwrap_or_else(|| panic!("no event {name:?}"))
}

/// The number a page shows in the element marked `data-testid="{testid}"`.
fn shown(html: &str, testid: &str) -> Option<usize> {
    let (_, after) = html.split_once(&format!(r#"data-testid="{testid}""#))?;
    let (_, text) = after.split_once('>')?;
    text.split('<').next()?.trim().parse().ok()
}

/// The names of the events `/events` finds for `words`, as `app`'s client sees them.
async fn found(app: &TestApp, words: &str) -> Vec<String> {
    let (status, body) = app.call("search_events", &[("search[q]", words)]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["results"]
        .as_array()
        .expect("results")
        .iter()
        .filter_map(|found| found["event"]["draft"]["name"].as_str().map(str::to_owned))
        .collect()
}

async fn local_people_organise_and_answer_beside_the_network(options: AppOptions) {
    let mut app = spawn_local_network_app(options.with("CREDENTIALS_KEYS", TEST_KEYS)).await;

    // A Bluesky organiser publishes; a Bluesky guest answers with a record on their PDS.
    let organiser = create_account().await;
    sign_in_headless(&app, &organiser).await;
    let (status, body) = app
        .create_event(&[
            ("name", "Board games"),
            ("starts_at", "2031-05-01T18:00"),
            ("time_zone", "UTC"),
        ])
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let board_games = event_named(&app, user_of(&app, &organiser).await.id, "Board games").await;
    let guest = create_account().await;
    let organiser_browser = act_as(&mut app, visitor());
    sign_in_headless(&app, &guest).await;
    let (status, body) = app.answer_event(board_games.id, "going").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let guest_browser = act_as(&mut app, visitor());

    // Someone without Bluesky answers the same event: counted beside it, written nowhere.
    let (ada, ada_id, _) = local_person(&app, "Ada").await;
    act_as(&mut app, ada);
    let (status, body) = app.answer_event(board_games.id, "interested").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, page) = app.get_html(&format!("/events/{}", board_games.slug)).await;
    assert_eq!(shown(&page, "count-going"), Some(1), "the record");
    assert_eq!(shown(&page, "count-interested"), Some(1), "the answer kept here");
    assert!(page.contains("Ada"), "listed among who is coming");
    assert!(
        page.contains("On Skymeet only"),
        "Ada's own answer says where it is kept"
    );
    assert_eq!(list_records(&guest.did, RSVPS).await.len(), 1);
    assert_eq!(list_records(&organiser.did, RSVPS).await.len(), 0);

    // Ada organises: a public event kept here, found by everyone, on no PDS.
    let (status, body) = app
        .create_event(&[
            ("name", "Knitting circle"),
            ("starts_at", "2031-06-01T10:00"),
            ("time_zone", "UTC"),
        ])
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let knitting = event_named(&app, ada_id, "Knitting circle").await;
    assert_eq!(knitting.source.source_type, SourceType::Local);
    assert_eq!(knitting.source.sync_status, SyncStatus::Local);
    assert_eq!(knitting.source.at_uri, None);
    assert_eq!(knitting.visibility, Visibility::Public);
    let ada = act_as(&mut app, visitor());
    assert_eq!(found(&app, "knitting").await, ["Knitting circle"]);
    let (status, page) = app.get_html(&format!("/events/{}", knitting.slug)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("On Skymeet only"), "{page}");

    // The Bluesky guest answers it: kept here too (the event has no record to answer).
    act_as(&mut app, guest_browser);
    let (status, body) = app.answer_event(knitting.id, "going").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(list_records(&guest.did, RSVPS).await.len(), 1, "no second record");
    let (_, page) = app.get_html(&format!("/events/{}", knitting.slug)).await;
    assert_eq!(shown(&page, "count-going"), Some(1));
    let (status, body) = app.update_event(knitting.id, &[("name", "Not yours")]).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("error-event-1"))
    );
    let (status, _) = app.withdraw_answer(knitting.id).await;
    assert_eq!(status, StatusCode::OK);
    let (_, page) = app.get_html(&format!("/events/{}", knitting.slug)).await;
    assert_eq!(shown(&page, "count-going"), Some(0));

    // Ada edits and deletes her events here at once.
    act_as(&mut app, ada);
    let (status, body) = app
        .update_event(
            knitting.id,
            &[
                ("name", "Knitting circle, autumn"),
                ("starts_at", "2031-06-01T10:00"),
                ("time_zone", "UTC"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let edited = event_named(&app, ada_id, "Knitting circle, autumn").await;
    assert_eq!((edited.id, edited.sequence), (knitting.id, knitting.sequence + 1));
    let (status, body) = app.delete_event(knitting.id).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(app.state.store.event_by_id(knitting.id).await.expect("query"), None);

    // Nothing Ada or her guests did reached a PDS.
    assert_eq!(list_records(&organiser.did, EVENTS).await.len(), 1);
    drop(organiser_browser);
}

on_both_engines!(local_people_organise_and_answer_beside_the_network);

async fn unlisted_and_private_events_stay_out_of_sight(options: AppOptions) {
    let mut app = spawn_local_network_app(options.with("CREDENTIALS_KEYS", TEST_KEYS)).await;
    let (ada, ada_id, _) = local_person(&app, "Ada").await;
    act_as(&mut app, ada);
    for (name, visibility) in [("Quiet walk", "unlisted"), ("Secret supper", "private")] {
        let mut form = crate::helpers::event_form(
            None,
            &[("name", name), ("starts_at", "2031-07-01T19:00"), ("time_zone", "UTC")],
        );
        form.push(("visibility".to_owned(), visibility.to_owned()));
        let (status, body) = app.call("create_event", &form).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    // Hostile: a visibility that is none is refused and nothing is made.
    let mut form = crate::helpers::event_form(None, &[("name", "Odd one")]);
    form.push(("visibility".to_owned(), "<script>".to_owned()));
    let (status, body) = app.call("create_event", &form).await;
    assert_eq!(
        (status, body["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("visibility")),
        "{body}"
    );
    let walk = event_named(&app, ada_id, "Quiet walk").await;
    let supper = event_named(&app, ada_id, "Secret supper").await;
    assert_eq!(
        (walk.visibility, supper.visibility),
        (Visibility::Unlisted, Visibility::Private)
    );

    // The organiser sees both, and the private one's invitation link.
    let (status, page) = app.get_html(&format!("/events/{}", supper.slug)).await;
    assert_eq!(status, StatusCode::OK);
    let invite = page
        .split_once("?invite=")
        .map(|(_, rest)| {
            rest.chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
                .collect::<String>()
        })
        .expect("an invitation link");
    assert!(invite.len() >= 40, "{invite}");
    let (_, me) = app.get_html("/me").await;
    assert!(me.contains("Quiet walk") && me.contains("Secret supper"), "{me}");
    let ada = act_as(&mut app, visitor());

    // A stranger: neither is listed, searched, in a feed or the JSON; the private one is not
    // there at all.
    let (status, _) = app.get_html(&format!("/events/{}", walk.slug)).await;
    assert_eq!(status, StatusCode::OK, "an unlisted event opens by its link");
    for path in [
        format!("/events/{}", supper.slug),
        format!("/events/{}/calendar.ics", supper.slug),
        format!("/events/{}/record.json", supper.slug),
        format!("/events/{}?invite=AAAA{}", supper.slug, &invite[4..]),
    ] {
        let (status, page) = app.get_html(&path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert!(!page.contains("Secret supper"), "{path}");
    }
    let (status, body) = app.call("event_details", &[("id", supper.id)]).await;
    assert_eq!((status, body), (StatusCode::OK, Value::Null), "the JSON of the page");
    assert!(found(&app, "walk").await.is_empty());
    assert!(found(&app, "supper").await.is_empty());
    assert!(found(&app, "").await.is_empty(), "nothing public to list");
    let (status, upcoming) = app.call("upcoming_events", &crate::helpers::NO_ARGUMENTS).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(upcoming, Value::Array(Vec::new()));
    let (_, site) = app.get_html("/calendar.ics").await;
    assert!(
        !site.contains("Quiet walk") && !site.contains("Secret supper"),
        "{site}"
    );
    let (_, atom) = app.get_html("/events/feed.atom").await;
    assert!(!atom.contains("Quiet walk") && !atom.contains("Secret supper"));

    // Someone else signed in cannot see or answer the private one...
    let (bo, bo_id, _) = local_person(&app, "Bo").await;
    act_as(&mut app, bo);
    let (status, body) = app.answer_event(supper.id, "going").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("error-event-3"))
    );
    // ... until they open its invitation link: then they are a guest, and may answer.
    let (status, page) = app.get_html(&format!("/events/{}?invite={invite}", supper.slug)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Secret supper"));
    assert!(
        !page.contains(r#"data-testid="invite-link""#),
        "only its organiser sees the link"
    );
    let (status, _) = app.get_html(&format!("/events/{}", supper.slug)).await;
    assert_eq!(status, StatusCode::OK, "a guest from then on");
    let (status, body) = app.answer_event(supper.id, "going").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let going = app
        .state
        .store
        .events_answered(bo_id, skymeet::domain::RsvpStatus::Going)
        .await
        .expect("query");
    assert_eq!(going.len(), 1);

    // An organiser on Bluesky keeps a private event here, and cannot hide a published one.
    let organiser = create_account().await;
    let bo = act_as(&mut app, visitor());
    sign_in_headless(&app, &organiser).await;
    let mut form = crate::helpers::event_form(None, &[("name", "Family lunch")]);
    form.push(("visibility".to_owned(), "private".to_owned()));
    let (status, body) = app.call("create_event", &form).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = app.create_event(&[("name", "Open lunch")]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let records = list_records(&organiser.did, EVENTS).await;
    assert_eq!(records.len(), 1, "only the public one is published: {records:?}");
    assert_eq!(records[0]["value"]["name"], "Open lunch");
    let open = event_named(&app, user_of(&app, &organiser).await.id, "Open lunch").await;
    let mut form = crate::helpers::event_form(Some(open.id.to_string()), &[("name", "Open lunch")]);
    form.push(("visibility".to_owned(), "private".to_owned()));
    let (status, body) = app.call("update_event", &form).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::CONFLICT, Some("error-event-6")),
        "{body}"
    );
    drop((ada, bo));
}

on_both_engines!(unlisted_and_private_events_stay_out_of_sight);

/// Waits (up to 30 s) until the cache holds an event of `did` named `name`.
async fn arrives(app: &TestApp, did: &str, name: &str) -> Event {
    let did = skymeet::domain::Did::parse(did).expect("DID");
    for _ in 0..600 {
        let events = app.state.store.events_of(&did).await.expect("query");
        if let Some(event) = events.into_iter().find(|event| event.name == name) {
            return event;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("{name:?} never arrived");
}

async fn connecting_bluesky_merges_what_the_firehose_saw_and_publishes_what_is_chosen(options: AppOptions) {
    let mut app = crate::firehose::consuming_app_on(options).await;

    // A Bluesky organiser's event, and an account whose calendar the firehose saw (a shadow user).
    let organiser = create_account().await;
    sign_in_headless(&app, &organiser).await;
    let (status, body) = app.create_event(&[("name", "Open mic")]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let open_mic = event_named(&app, user_of(&app, &organiser).await.id, "Open mic").await;
    let account = create_account().await;
    let record = serde_json::json!({
        "$type": EVENTS,
        "name": "Garden party",
        "createdAt": "2026-11-24T10:00:00.000Z",
        "startsAt": "2031-08-01T15:00:00.000Z",
    });
    crate::network::put_record_directly(&account, EVENTS, "3mgardenparty2", record).await;
    let garden = arrives(&app, &account.did, "Garden party").await;
    let shadow = user_of(&app, &account).await;
    assert!(shadow.shadow);

    // Ada, without Bluesky: two events of her own, and an answer to the organiser's.
    let (ada, ada_id, ada_email) = local_person(&app, "Ada").await;
    act_as(&mut app, ada);
    let (status, body) = app.create_event(&[("name", "Book swap")]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let mut form = crate::helpers::event_form(None, &[("name", "Family dinner")]);
    form.push(("visibility".to_owned(), "private".to_owned()));
    let (status, body) = app.call("create_event", &form).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = app.answer_event(open_mic.id, "going").await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // An account that signs in on its own cannot be connected to hers; nothing changes.
    let (status, body) = app
        .call("connect_bluesky", &[("identifier", organiser.handle.as_str())])
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::CONFLICT, Some("error-auth-11")),
        "{body}"
    );
    assert_eq!(user_of(&app, &organiser).await.id, open_mic.owner_id.expect("owner"));

    // Connecting the account the firehose saw: one user per DID, hers, with its event.
    let location = connect_headless(&app, &account).await;
    assert_eq!(location, "/me");
    let connected = user_of(&app, &account).await;
    assert_eq!(connected.id, ada_id, "the DID is Ada's account's");
    assert!(connected.claimed_at.is_some());
    assert_eq!(
        app.state.store.user_by_id(shadow.id).await.expect("query"),
        None,
        "merged"
    );
    let garden = app
        .state
        .store
        .event_by_id(garden.id)
        .await
        .expect("query")
        .expect("kept");
    assert_eq!(garden.owner_id, Some(ada_id));
    let (_, me) = app.get_html("/me").await;
    assert!(me.contains("Book swap") && me.contains("Family dinner"), "{me}");
    assert!(me.contains(r#"data-testid="publish-local-event""#), "{me}");
    assert!(me.contains("Publish your 1 answers kept here to Bluesky"), "{me}");

    // Her answer goes to Bluesky as a record, and counts once.
    let (status, body) = app.call("publish_local_answers", &crate::helpers::NO_ARGUMENTS).await;
    assert_eq!((status, body), (StatusCode::OK, serde_json::json!(1)));
    let rsvps = list_records(&account.did, RSVPS).await;
    assert_eq!(rsvps.len(), 1, "{rsvps:?}");
    assert_eq!(
        rsvps[0]["value"]["subject"]["uri"].as_str(),
        open_mic.source.at_uri.as_deref()
    );
    let (_, page) = app.get_html(&format!("/events/{}", open_mic.slug)).await;
    assert_eq!(shown(&page, "count-going"), Some(1));

    // She publishes the public event; the private one cannot be.
    let book_swap = event_named(&app, ada_id, "Book swap").await;
    let dinner = event_named(&app, ada_id, "Family dinner").await;
    let (status, body) = app.call("publish_local_event", &[("id", dinner.id)]).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::CONFLICT, Some("error-event-7")),
        "{body}"
    );
    let (status, body) = app.call("publish_local_event", &[("id", book_swap.id)]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let published = app
        .state
        .store
        .event_by_id(book_swap.id)
        .await
        .expect("query")
        .expect("the same event");
    assert_eq!(published.source.sync_status, SyncStatus::InSync);
    let uri = published.source.at_uri.clone().expect("its record");
    let records = list_records(&account.did, EVENTS).await;
    let names: Vec<_> = records.iter().filter_map(|r| r["value"]["name"].as_str()).collect();
    assert_eq!(names.len(), 2, "the garden party and the book swap: {names:?}");
    assert!(records.iter().any(|r| r["uri"].as_str() == Some(uri.as_str())));
    let (_, page) = app.get_html(&format!("/events/{}", book_swap.slug)).await;
    assert!(page.contains(r#"data-testid="record-json""#), "its record link: {page}");
    // The firehose's echo of it makes no second event.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let named: Vec<_> = app
        .state
        .store
        .events_by_owner(ada_id)
        .await
        .expect("query")
        .into_iter()
        .filter(|event| event.name == "Book swap")
        .collect();
    assert_eq!(named.len(), 1);

    // Signing in with that Bluesky account now is signing in to Ada's account.
    let ada = act_as(&mut app, visitor());
    sign_in_headless(&app, &account).await;
    let (_, me) = app.get_html("/me").await;
    assert!(me.contains("Family dinner"), "{me}");
    drop(ada);

    // Disconnecting keeps the account and what it holds; the password still signs in to it.
    let (status, body) = app.call("disconnect", &crate::helpers::NO_ARGUMENTS).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let kept: Vec<_> = app
        .state
        .store
        .events_by_owner(ada_id)
        .await
        .expect("query")
        .into_iter()
        .map(|e| e.name)
        .collect();
    assert!(
        kept.contains(&"Family dinner".to_owned()) && kept.contains(&"Book swap".to_owned()),
        "{kept:?}"
    );
    let (status, body) = app
        .call(
            "accounts/sign-in",
            &[
                ("email", ada_email.as_str()),
                ("password", crate::helpers::LOCAL_PASSWORD),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, me) = app.get_html("/me").await;
    assert!(me.contains("Family dinner"), "{me}");
}

on_both_engines!(connecting_bluesky_merges_what_the_firehose_saw_and_publishes_what_is_chosen);

async fn someone_without_bluesky_runs_a_series_kept_here(options: AppOptions) {
    let mut app = spawn_local_network_app(options.with("CREDENTIALS_KEYS", TEST_KEYS)).await;
    let (ada, ada_id, _) = local_person(&app, "Ada").await;
    act_as(&mut app, ada);
    let start = chrono::Utc::now().date_naive() + chrono::Days::new(7);
    let starts_at = format!("{}T19:00", start.format("%Y-%m-%d"));
    let mut form = crate::helpers::event_form(
        None,
        &[
            ("name", "Choir practice"),
            ("starts_at", &starts_at),
            ("time_zone", "UTC"),
        ],
    );
    form.push(("repeat[frequency]".to_owned(), "weekly".to_owned()));
    // A series is public: an unlisted one is refused, and nothing is made.
    let mut hidden = form.clone();
    hidden.push(("visibility".to_owned(), "unlisted".to_owned()));
    let (status, body) = app.call("create_event", &hidden).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::CONFLICT, Some("error-series-6")),
        "{body}"
    );
    assert!(app.state.store.series_of_owner(ada_id).await.expect("query").is_empty());

    let (status, body) = app.call("create_event", &form).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let series = app.state.store.series_of_owner(ada_id).await.expect("query").remove(0);
    // Its first occurrence is kept here, under the key the series chose for it.
    let first = event_named(&app, ada_id, "Choir practice").await;
    assert_eq!(first.source.sync_status, SyncStatus::Local);
    assert!(first.source.rkey.is_some());
    let (status, page) = app.get_html(&format!("/series/{}", series.slug)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains(&format!("/events/{}", first.slug)),
        "the series links its first date: {page}"
    );

    // Someone answers the second date: it is kept here too, and counted.
    let (bo, _, _) = local_person(&app, "Bo").await;
    let ada = act_as(&mut app, bo);
    let second = skymeet::domain::occurrence_key(first.starts_at.expect("dated") + chrono::Duration::days(7));
    let id = series.id.to_string();
    let (status, body) = app
        .call(
            "answer_occurrence",
            &[("id", id.as_str()), ("key", second.as_str()), ("status", "going")],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let dates: Vec<_> = app
        .state
        .store
        .events_by_owner(ada_id)
        .await
        .expect("query")
        .into_iter()
        .filter(|event| event.name == "Choir practice")
        .collect();
    assert_eq!(dates.len(), 2, "the second date is kept now: {dates:?}");
    let answered = dates
        .iter()
        .find(|event| event.id != first.id)
        .expect("the second date");
    let (_, page) = app.get_html(&format!("/events/{}", answered.slug)).await;
    assert_eq!(shown(&page, "count-going"), Some(1));
    let (_, calendar) = app.get_html(&format!("/series/{}/calendar.ics", series.slug)).await;
    assert!(calendar.contains("RRULE:FREQ=WEEKLY"), "{calendar}");
    drop(ada);
}

on_both_engines!(someone_without_bluesky_runs_a_series_kept_here);
