//! RSVPs against the real local PDS (F23): an answer goes to the guest's own PDS first, as one
//! record that changes and disappears with the answer; answers made in other apps arrive through
//! the firehose and count once, even before their event.

use crate::helpers::{visitor, AppOptions, TestApp};
use crate::network::{
    create_account, event_at, firehose_url, frame_carrying, frames_carrying, list_records, put_record_directly,
    sign_in_headless, spawn_local_network_app, switch_to, user_of, Account, TEST_KEYS,
};
use reqwest::StatusCode;
use serde_json::{json, Value};
use skymeet::domain::{Did, RsvpStatus};
use skymeet::server::firehose::Ingest;
use skymeet::server::store::{Attendee, Event, WriteState};
use std::{sync::Arc, time::Duration};

const EVENTS: &str = "community.lexicon.calendar.event";
const RSVPS: &str = "community.lexicon.calendar.rsvp";

/// An app on the local network with an organiser's published event; the app's client is signed in
/// as a second account, the guest.
async fn event_and_guest(options: AppOptions) -> (TestApp, Event, Account) {
    let app = spawn_local_network_app(options.with("CREDENTIALS_KEYS", TEST_KEYS)).await;
    with_event_and_guest(app).await
}

async fn with_event_and_guest(mut app: TestApp) -> (TestApp, Event, Account) {
    let organiser = create_account().await;
    sign_in_headless(&app, &organiser).await;
    let (status, body) = app.create_event(&[("name", "Board games")]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let user = user_of(&app, &organiser).await;
    let event = app.state.store.events_by_owner(user.id).await.expect("query").remove(0);

    let guest = create_account().await;
    switch_to(&mut app, &guest).await;
    (app, event, guest)
}

async fn answer(app: &TestApp, event: &Event, status: &str) -> (StatusCode, Value) {
    app.answer_event(event.id, status).await
}

/// The number a page shows in the element marked `data-testid="{testid}"`.
fn shown(html: &str, testid: &str) -> Option<usize> {
    let (_, after) = html.split_once(&format!(r#"data-testid="{testid}""#))?;
    let (_, text) = after.split_once('>')?;
    text.split('<').next()?.trim().parse().ok()
}

/// The opening tag of the element marked `data-testid="{testid}"`.
fn tag<'a>(html: &'a str, testid: &str) -> Option<&'a str> {
    let marker = format!(r#"data-testid="{testid}""#);
    let at = html.find(&marker)?;
    let start = html[..at].rfind('<')?;
    let end = at + html[at..].find('>')?;
    Some(&html[start..=end])
}

async fn attendees(app: &TestApp, event: &Event) -> Vec<Attendee> {
    let uri = event.source.at_uri.as_deref().expect("published");
    app.state.store.attendees(uri).await.expect("query")
}

#[tokio::test]
async fn an_answer_is_one_record_on_the_guests_pds_that_changes_and_is_withdrawn() {
    let (app, event, guest) = event_and_guest(AppOptions::production()).await;
    let event_uri = event.source.at_uri.clone().expect("uri");

    let (status, body) = answer(&app, &event, "going").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let records = list_records(&guest.did, RSVPS).await;
    assert_eq!(records.len(), 1, "{records:?}");
    let first = &records[0];
    assert_eq!(first["value"]["$type"], RSVPS);
    assert_eq!(first["value"]["status"], "community.lexicon.calendar.rsvp#going");
    assert_eq!(
        first["value"]["subject"],
        json!({"uri": event_uri, "cid": event.source.cid.clone().expect("cid")})
    );
    let cached = attendees(&app, &event).await;
    assert_eq!(cached.len(), 1);
    assert_eq!(cached[0].rsvp.status, RsvpStatus::Going);
    assert_eq!(Some(cached[0].rsvp.at_uri.as_str()), first["uri"].as_str());
    assert_eq!(Some(cached[0].rsvp.cid.as_str()), first["cid"].as_str());
    assert_eq!(cached[0].did.as_ref().map(Did::as_str), Some(guest.did.as_str()));

    // Changing the answer updates the same record.
    let (status, body) = answer(&app, &event, "interested").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let records = list_records(&guest.did, RSVPS).await;
    assert_eq!(records.len(), 1, "{records:?}");
    assert_eq!(records[0]["uri"], first["uri"]);
    assert_ne!(records[0]["cid"], first["cid"]);
    assert_eq!(
        records[0]["value"]["status"],
        "community.lexicon.calendar.rsvp#interested"
    );
    assert_eq!(records[0]["value"]["createdAt"], first["value"]["createdAt"]);
    let cached = attendees(&app, &event).await;
    assert_eq!((cached.len(), cached[0].rsvp.status), (1, RsvpStatus::Interested));

    // Withdrawing deletes it, there and here.
    let (status, body) = app.withdraw_answer(event.id).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(list_records(&guest.did, RSVPS).await.is_empty());
    assert!(attendees(&app, &event).await.is_empty());
    assert!(app
        .state
        .store
        .pending_writes_for_owner(cached[0].rsvp.owner_id)
        .await
        .expect("query")
        .is_empty());
}

#[tokio::test]
async fn answering_needs_a_signed_in_person_a_known_status_and_an_event() {
    let (app, event, _guest) = event_and_guest(AppOptions::embedded()).await;
    let (status, _) = answer(&app, &event, "maybe").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, body) = app.answer_event("999999", "going").await;
    assert_eq!(
        (status, body["code"].clone()),
        (StatusCode::NOT_FOUND, json!("error-event-3"))
    );

    let guest = visitor();
    let response = guest
        .post(format!("{}/api/answer_event", app.address))
        .form(&[("id", event.id.to_string().as_str()), ("status", "going")])
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(attendees(&app, &event).await.is_empty());
}

#[tokio::test]
async fn an_answer_changed_in_another_app_meanwhile_is_a_conflict_and_discarding_takes_it() {
    let (app, event, guest) = event_and_guest(AppOptions::embedded()).await;
    let (status, body) = answer(&app, &event, "going").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let records = list_records(&guest.did, RSVPS).await;
    let uri = records[0]["uri"].as_str().expect("uri").to_owned();
    let rkey = uri.rsplit('/').next().expect("rkey").to_owned();

    // Another app changes it (no firehose here, so the cache still holds the old version).
    let mut changed = records[0]["value"].clone();
    changed["status"] = json!("community.lexicon.calendar.rsvp#notgoing");
    put_record_directly(&guest, RSVPS, &rkey, changed).await;

    let (status, body) = answer(&app, &event, "interested").await;
    assert_eq!(
        (status, body["code"].clone()),
        (StatusCode::CONFLICT, json!("error-pds-2"))
    );
    let records = list_records(&guest.did, RSVPS).await;
    assert_eq!(records.len(), 1);
    assert_eq!(
        records[0]["value"]["status"], "community.lexicon.calendar.rsvp#notgoing",
        "not overwritten"
    );
    let owner = attendees(&app, &event).await[0].rsvp.owner_id;
    let writes = app.state.store.pending_writes_for_owner(owner).await.expect("query");
    assert_eq!((writes.len(), writes[0].state), (1, WriteState::Conflict));

    // "Discard" keeps what the PDS holds: the other app's answer wins.
    let (status, body) = app.discard_write(writes[0].id).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let cached = attendees(&app, &event).await;
    assert_eq!((cached.len(), cached[0].rsvp.status), (1, RsvpStatus::NotGoing));
    assert!(app
        .state
        .store
        .pending_writes_for_owner(owner)
        .await
        .expect("query")
        .is_empty());
}

#[tokio::test]
async fn the_event_page_shows_counts_attendees_and_the_viewers_own_answer() {
    let (app, event, guest) = event_and_guest(AppOptions::embedded()).await;
    let (status, body) = answer(&app, &event, "going").await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let (status, html) = app.get_html(&format!("/events/{}", event.slug)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(shown(&html, "count-going"), Some(1), "{html}");
    assert_eq!(shown(&html, "count-interested"), Some(0));
    assert!(html.contains(&format!("@{}", guest.handle)), "the guest is listed");
    let mine = tag(&html, "my-answer").expect("the viewer's answer");
    assert!(mine.contains(r#"data-status="going""#), "{mine}");
    let own = html
        .split(r#"data-testid="my-answer""#)
        .nth(1)
        .expect("the viewer's answer");
    assert!(own.contains(r#"data-sync-status="in_sync""#), "{own}");

    // A guest sees the counts and is asked to sign in; "not going" answers are only counted.
    let (status, body) = answer(&app, &event, "notgoing").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let response = visitor()
        .get(format!("{}/events/{}", app.address, event.slug))
        .send()
        .await
        .expect("sent");
    let html = response.text().await.expect("body");
    assert_eq!(shown(&html, "count-notgoing"), Some(1));
    assert!(!html.contains(&format!("@{}", guest.handle)), "not listed to others");
    assert!(html.contains(r#"data-testid="answer-sign-in""#));

    // The guest's page lists the events they are going to.
    let (status, body) = answer(&app, &event, "going").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, html) = app.get_html(&format!("/u/{}", guest.handle)).await;
    let going = html
        .split(r#"data-testid="going""#)
        .nth(1)
        .unwrap_or_else(|| panic!("the going list: {html}"));
    assert!(going.contains("Board games"), "{going}");
}

#[tokio::test]
async fn answers_made_in_other_apps_count_once_even_when_they_arrive_before_the_event() {
    let app = spawn_local_network_app(AppOptions::embedded()).await;
    let identity = app.state.identity().expect("identity");
    let ingest = Arc::new(Ingest::new(app.state.store.clone(), identity, firehose_url()));
    let (organiser, guest) = (create_account().await, create_account().await);

    // The answer is written first, with createRecord, by someone who never used Skymeet.
    let event_uri = format!("at://{}/{EVENTS}/3mabcdefghij2", organiser.did);
    let rsvp = json!({
        "$type": RSVPS,
        "subject": {"uri": event_uri},
        "status": "community.lexicon.calendar.rsvp#interested",
        "createdAt": "2026-11-24T00:00:00.000Z",
        "app.example.plusOne": true
    });
    let created: Value = reqwest::Client::new()
        .post(format!(
            "{}/xrpc/com.atproto.repo.createRecord",
            crate::network::pds_url()
        ))
        .bearer_auth(&guest.access_jwt)
        .json(&json!({"repo": guest.did, "collection": RSVPS, "record": rsvp}))
        .send()
        .await
        .expect("sent")
        .error_for_status()
        .expect("createRecord")
        .json()
        .await
        .expect("JSON");
    let rsvp_uri = created["uri"].as_str().expect("uri").to_owned();
    let event = json!({"$type": EVENTS, "name": "Arrives later", "createdAt": "2026-11-24T00:00:00.000Z"});
    put_record_directly(&organiser, EVENTS, "3mabcdefghij2", event).await;

    // Its frame, applied twice (at-least-once delivery), counts once.
    let answer_frame = frame_carrying(&rsvp_uri).await;
    ingest.handle(&answer_frame).await.expect("applied");
    ingest.handle(&answer_frame).await.expect("applied again");
    let answers = app.state.store.attendees(&event_uri).await.expect("query");
    assert_eq!(answers.len(), 1, "{answers:?}");
    assert_eq!(answers[0].rsvp.status, RsvpStatus::Interested);
    assert_eq!(answers[0].rsvp.record["app.example.plusOne"], true, "kept whole");

    // Then the event arrives, and its page counts the answer.
    ingest.handle(&frame_carrying(&event_uri).await).await.expect("applied");
    let event = event_at(&app, &event_uri).await.expect("the event arrived");
    let (_, html) = app.get_html(&format!("/events/{}", event.slug)).await;
    assert_eq!(shown(&html, "count-interested"), Some(1), "{html}");
    assert!(html.contains(&format!("@{}", guest.handle)));
}

/// The firehose reports our own writes some time after the PDS accepted them; by then the guest
/// may have answered again or withdrawn. News of an earlier answer changes nothing.
#[tokio::test]
async fn late_firehose_news_of_an_earlier_answer_neither_undoes_the_answer_nor_brings_it_back() {
    let (app, event, _) = event_and_guest(AppOptions::embedded()).await;
    let identity = app.state.identity().expect("identity");
    let ingest = Arc::new(Ingest::new(app.state.store.clone(), identity, firehose_url()));
    for status in ["going", "interested"] {
        let (code, body) = answer(&app, &event, status).await;
        assert_eq!(code, StatusCode::OK, "{body}");
    }
    let uri = attendees(&app, &event).await.remove(0).rsvp.at_uri;
    let frames = frames_carrying(&uri, 2).await;
    let (going, interested) = (&frames[0], &frames[1]);

    ingest.handle(going).await.expect("applied");
    let cached = attendees(&app, &event).await;
    assert_eq!(
        cached.iter().map(|a| a.rsvp.status).collect::<Vec<_>>(),
        [RsvpStatus::Interested],
        "the answer \"going\" came before \"interested\""
    );

    let (code, body) = app.withdraw_answer(event.id).await;
    assert_eq!(code, StatusCode::OK, "{body}");
    for frame in [interested, going] {
        ingest.handle(frame).await.expect("applied");
        assert!(attendees(&app, &event).await.is_empty(), "withdrawn after that");
    }
    let deleted = frames_carrying(&uri, 3).await.remove(2);
    ingest.handle(&deleted).await.expect("applied");
    ingest.handle(interested).await.expect("applied");
    assert!(attendees(&app, &event).await.is_empty());
}

#[tokio::test]
async fn a_change_made_in_another_app_wins_and_an_answer_to_an_earlier_version_still_counts() {
    let (app, event, guest) = with_event_and_guest(crate::firehose::consuming_app().await).await;
    let (status, body) = answer(&app, &event, "going").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let record = list_records(&guest.did, RSVPS).await.remove(0);
    let rkey = record["uri"]
        .as_str()
        .and_then(|uri| uri.rsplit('/').next())
        .expect("rkey");

    // Another app changes the answer on the guest's PDS; the firehose brings it here.
    let mut changed = record["value"].clone();
    changed["status"] = json!("community.lexicon.calendar.rsvp#notgoing");
    put_record_directly(&guest, RSVPS, rkey, changed).await;
    let mut now = Vec::new();
    for _ in 0..200 {
        now = attendees(&app, &event).await;
        if now.first().is_some_and(|a| a.rsvp.status == RsvpStatus::NotGoing) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(now.len(), 1, "{now:?}");
    assert_eq!(now[0].rsvp.status, RsvpStatus::NotGoing, "the PDS wins");

    // The organiser edits the event: the answer (to the earlier version) still counts, and says so.
    let edited = app
        .state
        .store
        .event_by_id(event.id)
        .await
        .expect("query")
        .expect("event");
    let organiser = app
        .state
        .store
        .user_by_id(edited.owner_id.expect("owner"))
        .await
        .expect("query")
        .expect("user");
    let calendar = app.state.calendar().expect("calendar");
    let mut draft = skymeet::domain::EventDraft::parse(&skymeet::domain::EventInput {
        name: "Board games (new room)".to_owned(),
        ..Default::default()
    })
    .expect("draft");
    draft.time_zone = edited.time_zone.clone();
    let edited = calendar
        .update(&organiser, &edited, &draft, edited.visibility)
        .await
        .expect("edited on the PDS");
    assert_ne!(edited.source.cid, event.source.cid);
    let (_, html) = app.get_html(&format!("/events/{}", event.slug)).await;
    assert_eq!(shown(&html, "count-notgoing"), Some(1));
    assert!(html.contains(r#"data-testid="answered-earlier-version""#), "{html}");
}
