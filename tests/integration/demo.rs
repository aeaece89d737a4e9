//! The demo of `scripts/run.sh --local` (`scripts/local-pds/demo.mjs`), written to the real local
//! PDS and read by the consumer, on both engines: every demo event and RSVP arrives as the
//! person trying Skymeet out is told, in its zone, with nothing dead-lettered.

use crate::firehose::{consuming_app_on, eventually};
use crate::helpers::AppOptions;
use crate::network::pds_url;
use skymeet::domain::{Did, TimeZoneName};
use std::{path::Path, process::Command, time::Duration};

/// Runs `demo.mjs COMMAND FILE` with the machine's Node against the local PDS; its standard output.
fn demo(command: &str, file: &Path) -> String {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/local-pds/demo.mjs");
    let output = Command::new("node")
        .args([script, command, &file.to_string_lossy()])
        .env("LOCAL_PDS_URL", pds_url())
        .output()
        .expect("node runs");
    assert!(
        output.status.success(),
        "demo.mjs {command}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("UTF-8")
}

async fn the_demo_arrives_whole(options: AppOptions) {
    let app = consuming_app_on(options).await;
    let folder = tempfile::tempdir().expect("a folder");
    let file = folder.path().join("demo-accounts.json");
    let printed: serde_json::Value = serde_json::from_str(&demo("accounts", &file)).expect("JSON");
    let people = printed["people"].as_array().expect("people");
    assert_eq!(people.len(), 2);
    for person in people {
        assert!(
            person["handle"].as_str().is_some_and(|h| h.ends_with(".test")),
            "{person}"
        );
        assert!(person["password"].as_str().is_some_and(|p| p.len() >= 12), "{person}");
    }
    // Asked again, it gives the same people (they still sign in) and makes none.
    let again: serde_json::Value = serde_json::from_str(&demo("accounts", &file)).expect("JSON");
    assert_eq!(again["people"], printed["people"]);
    demo("events", &file);
    // Events are written once per file.
    demo("events", &file);

    let did = |i: usize| people[i]["did"].as_str().expect("a DID").to_owned();
    let (alice, bob) = (did(0), did(1));
    let alices = eventually(&app, &alice, |events| events.len() == 5).await;
    let bobs = eventually(&app, &bob, |events| events.len() == 3).await;
    let berlin = TimeZoneName::parse("Europe/Berlin").expect("a zone");
    for event in alices.iter().chain(&bobs) {
        assert_eq!(event.time_zone, berlin, "{}", event.name);
        assert!(
            event.starts_at.is_some() && event.ends_at > event.starts_at,
            "{}",
            event.name
        );
    }
    let meetups = alices.iter().filter(|e| e.name == "Rust Berlin meetup").count();
    assert_eq!(meetups, 3, "the weekly meetup, three weeks of it");

    // Six RSVPs, each to an event the other person organises.
    let uri_of = |events: &[skymeet::server::store::Event], name: &str| {
        events
            .iter()
            .filter(|e| e.name == name)
            .filter_map(|e| Some((e.starts_at?, e.source.at_uri.clone()?)))
            .min()
            .map(|(_, uri)| uri)
            .unwrap_or_else(|| panic!("{name} is cached"))
    };
    let answered = [
        (uri_of(&alices, "Rust Berlin meetup"), &bob),
        (uri_of(&alices, "Bluesky builders' breakfast"), &bob),
        (uri_of(&alices, "ATProto office hours"), &bob),
        (uri_of(&bobs, "Sunday hike: Grunewald to Wannsee"), &alice),
        (uri_of(&bobs, "Board game night"), &alice),
        (uri_of(&bobs, "Autumn picnic"), &alice),
    ];
    for (uri, who) in answered {
        let mut attendees = Vec::new();
        for _ in 0..600 {
            attendees = app.state.store.attendees(&uri).await.expect("query");
            if !attendees.is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let dids: Vec<_> = attendees.iter().filter_map(|a| a.did.as_ref()).collect();
        assert_eq!(dids, [&Did::parse(who).expect("DID")], "{uri}");
    }
    let ours = |uri: &Option<String>| uri.as_deref().is_some_and(|u| u.contains(&alice) || u.contains(&bob));
    let dead = app.state.store.dead_letters(1000).await.expect("query");
    let dead: Vec<_> = dead.iter().filter(|d| ours(&d.uri)).map(|d| &d.error).collect();
    assert!(dead.is_empty(), "demo records dead-lettered: {dead:?}");
}

on_both_engines!(the_demo_arrives_whole);
