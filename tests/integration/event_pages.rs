//! What an event page shows of a record from another app (issue 16), against the real local PDS,
//! on both engines: the zone the record names (atmo.rsvp's `timezone`), else the offset of its
//! times, else UTC with a note; times in the viewer's zone with the event's own beside them; every
//! place it names; the record itself as JSON; and the tags that make the page share well. Hostile
//! text in places and names stays text everywhere, the JSON-LD script included.

use crate::helpers::{attrs, texts, AppOptions, TestApp};
use crate::hostile::assert_safe_page;
use crate::network::{
    create_account, put_record_directly, sign_in_headless, spawn_local_network_app, Account, TEST_KEYS,
};
use reqwest::StatusCode;
use scraper::Html;
use serde_json::{json, Value};
use skymeet::domain::Did;
use skymeet::server::store::Event;

const EVENTS: &str = "community.lexicon.calendar.event";

/// Reads `account`'s repo into the cache as a backfill does, and returns the event at `rkey`.
async fn backfilled(app: &TestApp, account: &Account, rkey: &str) -> Event {
    let did = Did::parse(&account.did).expect("DID");
    let bluesky = app.state.bluesky.as_ref().expect("Bluesky is on");
    bluesky.repos.backfill(&did, None).await.expect("backfill");
    let uri = format!("at://{}/{EVENTS}/{rkey}", account.did);
    crate::network::event_at(app, &uri)
        .await
        .unwrap_or_else(|| panic!("{uri} is cached"))
}

async fn page(app: &TestApp, event: &Event) -> Html {
    let (status, html) = app.get_html(&format!("/events/{}", event.slug)).await;
    assert_eq!(status, StatusCode::OK);
    Html::parse_document(&html)
}

async fn records_from_other_apps_keep_their_zone_and_places(options: AppOptions) {
    let app = spawn_local_network_app(options).await;
    let account = create_account().await;
    let hostile = r#"<img src=x onerror="window.__pwned = 1"></script><script>window.__pwned = 2</script>"#;
    put_record_directly(
        &account,
        EVENTS,
        "chicago",
        json!({
            "$type": EVENTS,
            "name": format!("Lakeside meetup {hostile}"),
            "createdAt": "2026-11-24T00:00:00.000Z",
            "startsAt": "2031-06-01T23:00:00.000Z",
            "timezone": "America/Chicago",
            "mode": "community.lexicon.calendar.event#hybrid",
            "locations": [
                {"$type": "community.lexicon.location.address", "name": format!("Pier {hostile}"),
                 "street": "600 E Grand Ave", "locality": "Chicago", "region": "IL", "country": "US"},
                {"$type": "community.lexicon.location.geo", "latitude": "41.8916", "longitude": "-87.6079", "name": "The pier"},
                {"$type": "community.lexicon.location.geo", "latitude": "91", "longitude": "javascript:alert(1)"},
                {"$type": "community.lexicon.location.fsq", "fsq_place_id": "4b0588", "name": "Café"},
                {"$type": "community.lexicon.location.hthree", "value": "872664c1effffff"},
                {"$type": "community.lexicon.calendar.event#uri", "uri": "javascript:window.__pwned = 3", "name": "the stream"},
                {"$type": "com.example.room", "name": format!("Room {hostile}")}
            ],
            "media": [{"role": "header", "alt": "kept as it is"}]
        }),
    )
    .await;
    let chicago = backfilled(&app, &account, "chicago").await;
    assert_eq!(chicago.time_zone.as_str(), "America/Chicago");

    // No zone known for the visitor yet: the event's own wall time, and which zone that is.
    let shown = page(&app, &chicago).await;
    assert_eq!(texts(&shown, "[data-testid=event-when]"), ["Sun 1 Jun 2031, 18:00 CDT"]);
    assert_eq!(
        texts(&shown, "[data-testid=event-own-zone]"),
        ["In the event's own time zone, America/Chicago."]
    );
    assert!(texts(&shown, "[data-testid=unknown-zone]").is_empty());
    // Every place, in the record's order; a map link only for a point on the globe.
    assert_eq!(
        attrs(&shown, "[data-testid=place]", "data-kind"),
        ["address", "point", "point", "foursquare", "h3", "online", "other"]
    );
    let places = texts(&shown, "[data-testid=place]");
    assert!(
        places[0].contains("600 E Grand Ave") && places[0].contains("Chicago"),
        "{places:?}"
    );
    assert!(
        places[0].contains(hostile),
        "markup in a place name is text: {places:?}"
    );
    assert!(places[4].contains("872664c1effffff"), "{places:?}");
    assert!(
        places[6].contains("com.example.room") && places[6].contains(hostile),
        "{places:?}"
    );
    assert_eq!(
        attrs(&shown, "[data-testid=place] a[href*='openstreetmap.org']", "href"),
        ["https://www.openstreetmap.org/?mlat=41.8916&mlon=-87.6079#map=16/41.8916/-87.6079"]
    );
    assert_eq!(
        texts(&shown, "[data-testid=place] [data-testid=inert-link]"),
        ["the stream"]
    );

    // Shared: a canonical address, Open Graph tags, and JSON-LD that reads back as the event.
    let canonical = app
        .state
        .config
        .public_url
        .join(&format!("/events/{}", chicago.slug))
        .expect("URL")
        .to_string();
    assert_eq!(attrs(&shown, "link[rel=canonical]", "href"), [canonical.as_str()]);
    assert_eq!(
        attrs(&shown, "meta[property='og:url']", "content"),
        [canonical.as_str()]
    );
    assert_eq!(
        attrs(&shown, "meta[property='og:title']", "content"),
        [format!("Lakeside meetup {hostile}")]
    );
    let ld: Vec<Value> = texts(&shown, "script[type='application/ld+json']")
        .iter()
        .map(|text| serde_json::from_str(text).expect("JSON-LD is JSON"))
        .collect();
    assert_eq!(ld.len(), 1);
    assert_eq!(ld[0]["@type"], "Event");
    assert_eq!(ld[0]["name"], format!("Lakeside meetup {hostile}"));
    assert_eq!(ld[0]["startDate"], "2031-06-01T18:00:00-05:00");
    assert_eq!(ld[0]["url"], canonical);
    assert_eq!(
        ld[0]["eventAttendanceMode"],
        "https://schema.org/MixedEventAttendanceMode"
    );
    assert_safe_page(&app, &format!("/events/{}", chicago.slug)).await;

    // The record as its PDS holds it, extension fields and all.
    let response = app.get(&format!("/events/{}/record.json", chicago.slug)).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["x-record-source"], "pds");
    let record: Value = response.json().await.expect("JSON");
    assert_eq!(record["uri"], format!("at://{}/{EVENTS}/chicago", account.did));
    assert_eq!(record["cid"].as_str(), chicago.source.cid.as_deref());
    assert_eq!(record["value"]["timezone"], "America/Chicago");
    assert_eq!(record["value"]["media"][0]["alt"], "kept as it is");
    assert_eq!(
        attrs(&shown, "[data-testid=record-json]", "href"),
        [format!("/events/{}/record.json", chicago.slug)]
    );
    assert_eq!(
        app.get("/events/no-such-event-zz/record.json").await.status(),
        StatusCode::NOT_FOUND
    );

    // A zone we do not know: the offset its times were written with stands in, and the page says so.
    put_record_directly(
        &account,
        EVENTS,
        "mars",
        json!({"$type": EVENTS, "name": "Olympus", "createdAt": "2026-11-24T00:00:00.000Z",
               "startsAt": "2031-06-01T18:00:00+02:00", "timezone": "Mars/Olympus_Mons"}),
    )
    .await;
    // No zone at all, but an offset: the fixed zone of that offset.
    put_record_directly(
        &account,
        EVENTS,
        "offset",
        json!({"$type": EVENTS, "name": "Offset only", "createdAt": "2026-11-24T00:00:00.000Z",
               "startsAt": "2031-06-01T18:00:00-03:00"}),
    )
    .await;
    let mars = backfilled(&app, &account, "mars").await;
    assert_eq!(mars.time_zone.as_str(), "Etc/GMT-2");
    let shown = page(&app, &mars).await;
    assert_eq!(texts(&shown, "[data-testid=event-when]"), ["Sun 1 Jun 2031, 18:00 +02"]);
    let note = texts(&shown, "[data-testid=unknown-zone]");
    assert!(
        note.len() == 1 && note[0].contains("Mars/Olympus_Mons") && note[0].contains("Etc/GMT-2"),
        "{note:?}"
    );
    let offset = backfilled(&app, &account, "offset").await;
    assert_eq!(offset.time_zone.as_str(), "Etc/GMT+3");

    // Once the visitor's zone is known, times are in it, with the event's own beside them.
    app.post_time_zone_form("Asia/Tokyo").await;
    let shown = page(&app, &chicago).await;
    assert_eq!(texts(&shown, "[data-testid=event-when]"), ["Mon 2 Jun 2031, 08:00 JST"]);
    assert_eq!(
        texts(&shown, "[data-testid=event-own-zone]"),
        ["In the event's time zone (America/Chicago): Sun 1 Jun 2031, 18:00 CDT"]
    );
}
on_both_engines!(records_from_other_apps_keep_their_zone_and_places);

async fn our_records_name_their_zone_and_follow_a_change_made_elsewhere(options: AppOptions) {
    let app = spawn_local_network_app(options.with("CREDENTIALS_KEYS", TEST_KEYS)).await;
    let account = create_account().await;
    sign_in_headless(&app, &account).await;
    let (status, body) = app
        .create_event(&[
            ("name", "Zone keeper"),
            ("starts_at", "2031-03-29T10:00"),
            ("time_zone", "Europe/Berlin"),
        ])
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let event = crate::network::only_event_of(&app, &account).await;
    let rkey = event.source.rkey.clone().expect("published");
    let (_, record) = crate::network::get_record(&account.did, EVENTS, &rkey)
        .await
        .expect("on the PDS");
    assert_eq!(record["timezone"], "Europe/Berlin", "other apps can read our zone");
    assert_eq!(record["startsAt"], "2031-03-29T09:00:00.000Z", "10:00 CET");

    // Another app moves it to Tokyo: the cache follows the record.
    let mut changed = record.clone();
    changed["timezone"] = json!("Asia/Tokyo");
    put_record_directly(&account, EVENTS, &rkey, changed).await;
    let moved = backfilled(&app, &account, &rkey).await;
    assert_eq!(moved.time_zone.as_str(), "Asia/Tokyo");
}
on_both_engines!(our_records_name_their_zone_and_follow_a_change_made_elsewhere);

/// A 1×1 PNG.
const PNG: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=";

/// Uploads `bytes` to `account`'s PDS as another app would; the blob reference to put in a record.
async fn upload_blob(account: &Account, bytes: Vec<u8>, content_type: &str) -> Value {
    let body: Value = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client")
        .post(format!(
            "{}/xrpc/com.atproto.repo.uploadBlob",
            crate::network::pds_url()
        ))
        .bearer_auth(&account.access_jwt)
        .header(reqwest::header::CONTENT_TYPE, content_type)
        .body(bytes)
        .send()
        .await
        .expect("uploadBlob sent")
        .error_for_status()
        .expect("uploadBlob accepted")
        .json()
        .await
        .expect("JSON");
    body["blob"].clone()
}

async fn images_in_a_record_are_shown_checked_and_nothing_else(options: AppOptions) {
    use base64::Engine as _;
    let app = spawn_local_network_app(options).await;
    let account = create_account().await;
    let png = base64::engine::general_purpose::STANDARD.decode(PNG).expect("a PNG");
    let header = upload_blob(&account, png.clone(), "image/png").await;
    // Script that says it is a PNG, and an "image" above the size we serve.
    let lying = upload_blob(&account, b"<svg><script>alert(1)</script></svg>".to_vec(), "image/png").await;
    let mut big = png.clone();
    big.resize(3 * 1024 * 1024 + 1, 0);
    let too_big = upload_blob(&account, big, "image/png").await;
    let unnamed = upload_blob(&account, [png.clone(), vec![1]].concat(), "image/png").await;
    let cid = |blob: &Value| blob["ref"]["$link"].as_str().expect("a CID").to_owned();
    put_record_directly(
        &account,
        EVENTS,
        "pictured",
        json!({
            "$type": EVENTS, "name": "Pictured", "createdAt": "2026-11-24T00:00:00.000Z",
            "startsAt": "2031-06-01T18:00:00.000Z",
            "media": [
                {"role": "thumbnail", "content": lying, "alt": "a lie"},
                {"role": "header", "content": header, "alt": "The <b>pier</b> at dusk", "aspect_ratio": {"width": 1600, "height": 900}},
                {"role": "other", "content": too_big, "alt": "too big"}
            ]
        }),
    )
    .await;
    let event = backfilled(&app, &account, "pictured").await;
    let shown = page(&app, &event).await;
    let src = format!("/events/{}/images/{}", event.slug, cid(&header));
    assert_eq!(attrs(&shown, "img[data-testid=event-image]", "src"), [src.as_str()]);
    assert_eq!(
        attrs(&shown, "img[data-testid=event-image]", "alt"),
        ["The <b>pier</b> at dusk"]
    );
    assert_eq!(attrs(&shown, "img[data-testid=event-image]", "width"), ["1600"]);
    let full = app.state.config.public_url.join(&src).expect("URL").to_string();
    assert_eq!(attrs(&shown, "meta[property='og:image']", "content"), [full.as_str()]);
    assert_safe_page(&app, &format!("/events/{}", event.slug)).await;

    // The header is served, from the PDS's bytes, as what they are.
    for _ in 0..2 {
        let response = app.get(&src).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()["content-type"], "image/png");
        assert_eq!(response.headers()["x-content-type-options"], "nosniff");
        assert_eq!(response.bytes().await.expect("bytes").to_vec(), png);
    }
    // Not an image, too big, not named by the record, not a CID: nothing.
    for bad in [cid(&lying), cid(&too_big), cid(&unnamed), "..%2F..%2Fetc".to_owned()] {
        let response = app.get(&format!("/events/{}/images/{bad}", event.slug)).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{bad}");
    }
}
on_both_engines!(images_in_a_record_are_shown_checked_and_nothing_else);

/// Posts the header image form as a browser does; where it sends the browser back to.
async fn post_image(app: &TestApp, slug: &str, bytes: Vec<u8>, alt: &str) -> String {
    let form = reqwest::multipart::Form::new()
        .part(
            "image",
            reqwest::multipart::Part::bytes(bytes)
                .file_name("header.png")
                .mime_str("image/png")
                .expect("type"),
        )
        .text("alt", alt.to_owned());
    let response = app
        .client
        .post(format!("{}/events/{slug}/image", app.address))
        .multipart(form)
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    response.headers()["location"].to_str().expect("ASCII").to_owned()
}

async fn an_organiser_uploads_a_header_image_other_apps_can_read(options: AppOptions) {
    use base64::Engine as _;
    let app = spawn_local_network_app(options.with("CREDENTIALS_KEYS", TEST_KEYS)).await;
    let account = create_account().await;
    sign_in_headless(&app, &account).await;
    let (status, body) = app
        .create_event(&[
            ("name", "With a picture"),
            ("starts_at", "2031-06-01T18:00"),
            ("time_zone", "UTC"),
        ])
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let event = crate::network::only_event_of(&app, &account).await;
    let slug = event.slug.to_string();
    let rkey = event.source.rkey.clone().expect("published");
    let png = base64::engine::general_purpose::STANDARD.decode(PNG).expect("a PNG");

    // Refused, each with its reason on the page, and the record untouched.
    let mut too_big = png.clone();
    too_big.resize(2 * 1024 * 1024 + 1, 0);
    for (bytes, alt, code) in [
        (b"<svg onload=alert(1)>".to_vec(), "", "error-image-2"),
        (too_big, "", "error-image-1"),
        (Vec::new(), "", "error-image-4"),
        (png.clone(), "x".repeat(1001).as_str(), "error-image-3"),
    ] {
        let location = post_image(&app, &slug, bytes, alt).await;
        assert_eq!(location, format!("/events/{slug}?image_error={code}"));
    }
    let (_, unchanged) = crate::network::get_record(&account.did, EVENTS, &rkey)
        .await
        .expect("on the PDS");
    assert!(unchanged.get("media").is_none(), "{unchanged}");
    let (_, html) = app.get_html(&format!("/events/{slug}?image_error=error-image-2")).await;
    let shown = Html::parse_document(&html);
    assert_eq!(
        texts(&shown, "[data-testid=image-error]"),
        ["That file is not an image Skymeet can use: choose a JPEG, PNG, GIF, WebP or AVIF file."]
    );
    let (_, html) = app.get_html(&format!("/events/{slug}?image_error=%3Cscript%3E")).await;
    assert!(texts(&Html::parse_document(&html), "[data-testid=image-error]").is_empty());

    // Accepted: the image is a blob on the organiser's PDS, named in media[] as other apps do.
    let location = post_image(&app, &slug, png.clone(), "A one-pixel sunset").await;
    assert_eq!(location, format!("/events/{slug}"));
    let (_, record) = crate::network::get_record(&account.did, EVENTS, &rkey)
        .await
        .expect("on the PDS");
    let media = &record["media"][0];
    assert_eq!(media["role"], "header");
    assert_eq!(media["alt"], "A one-pixel sunset");
    assert_eq!(media["aspect_ratio"], json!({"width": 1, "height": 1}));
    assert_eq!(media["content"]["$type"], "blob");
    assert_eq!(media["content"]["mimeType"], "image/png");
    assert_eq!(record["name"], "With a picture", "the rest of the record is kept");
    let cid = media["content"]["ref"]["$link"].as_str().expect("a CID");
    let shown = page(&app, &crate::network::only_event_of(&app, &account).await).await;
    assert_eq!(
        attrs(&shown, "img[data-testid=event-image]", "src"),
        [format!("/events/{slug}/images/{cid}")]
    );
    let served = app.get(&format!("/events/{slug}/images/{cid}")).await;
    assert_eq!(served.status(), StatusCode::OK);
    assert_eq!(served.bytes().await.expect("bytes").to_vec(), png);

    // Someone else may not change it.
    let stranger = create_account().await;
    let mut app = app;
    crate::network::switch_to(&mut app, &stranger).await;
    let location = post_image(&app, &slug, png, "").await;
    assert_eq!(location, format!("/events/{slug}?image_error=error-event-1"));
}
on_both_engines!(an_organiser_uploads_a_header_image_other_apps_can_read);

/// An event another app wrote in Chicago, with its image, is edited here: the edit form offers
/// its zone, and the record keeps the zone, the image and the other app's fields.
async fn a_zone_written_elsewhere_survives_an_edit_here(options: AppOptions) {
    let app = spawn_local_network_app(options.with("CREDENTIALS_KEYS", TEST_KEYS)).await;
    let account = create_account().await;
    put_record_directly(
        &account,
        EVENTS,
        "elsewhere",
        json!({
            "$type": EVENTS, "name": "Written elsewhere", "createdAt": "2026-11-24T00:00:00.000Z",
            "startsAt": "2031-06-01T23:00:00.000Z", "timezone": "America/Chicago",
            "media": [{"role": "header", "alt": "kept", "content": {"$type": "blob", "ref": {"$link": "bafkreiabcdefghijklmn"}, "mimeType": "image/png", "size": 1}}],
            "openMeetMeta": {"seriesSlug": "x"}
        }),
    )
    .await;
    sign_in_headless(&app, &account).await;
    let event = backfilled(&app, &account, "elsewhere").await;
    assert_eq!(event.time_zone.as_str(), "America/Chicago");
    let (_, html) = app.get_html(&format!("/events/{}/edit", event.slug)).await;
    let form = Html::parse_document(&html);
    assert_eq!(texts(&form, "#event-time-zone option[selected]"), ["America/Chicago"]);
    assert_eq!(attrs(&form, "#event-starts-at", "value"), ["2031-06-01T18:00"]);

    let (status, body) = app
        .update_event(
            event.id,
            &[
                ("name", "Edited here"),
                ("starts_at", "2031-06-01T19:00"),
                ("time_zone", "America/Chicago"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, record) = crate::network::get_record(&account.did, EVENTS, "elsewhere")
        .await
        .expect("on the PDS");
    assert_eq!(record["name"], "Edited here");
    assert_eq!(record["timezone"], "America/Chicago");
    assert_eq!(record["startsAt"], "2031-06-02T00:00:00.000Z", "19:00 CDT");
    assert_eq!(record["media"][0]["alt"], "kept");
    assert_eq!(record["openMeetMeta"], json!({"seriesSlug": "x"}));
    let edited = crate::network::only_event_of(&app, &account).await;
    assert_eq!(edited.time_zone.as_str(), "America/Chicago");
}
on_both_engines!(a_zone_written_elsewhere_survives_an_edit_here);

/// The firehose brings another app's record with its zone (a named one whose offset, +05:30, no
/// fixed zone has), and a later change of that zone.
async fn the_firehose_brings_a_record_s_zone_and_its_change(options: AppOptions) {
    use skymeet::server::firehose::Ingest;
    let app = spawn_local_network_app(options).await;
    let identity = app.state.identity().expect("identity");
    let ingest = std::sync::Arc::new(Ingest::new(
        app.state.store.clone(),
        identity,
        crate::network::firehose_url(),
    ));
    let account = create_account().await;
    let uri = format!("at://{}/{EVENTS}/kolkata", account.did);
    let record = json!({"$type": EVENTS, "name": "Chai and code", "createdAt": "2026-11-24T00:00:00.000Z",
                        "startsAt": "2031-06-01T13:30:00.000Z", "timezone": "Asia/Kolkata"});
    put_record_directly(&account, EVENTS, "kolkata", record.clone()).await;
    let mut moved = record;
    moved["timezone"] = json!("Europe/Lisbon");
    put_record_directly(&account, EVENTS, "kolkata", moved).await;
    let frames = crate::network::frames_carrying(&uri, 2).await;

    ingest.handle(&frames[0]).await.expect("applied");
    let event = crate::network::event_at(&app, &uri).await.expect("cached");
    assert_eq!(event.time_zone.as_str(), "Asia/Kolkata");
    assert_eq!(
        texts(&page(&app, &event).await, "[data-testid=event-when]"),
        ["Sun 1 Jun 2031, 19:00 IST"]
    );
    ingest.handle(&frames[1]).await.expect("applied");
    let event = crate::network::event_at(&app, &uri).await.expect("cached");
    assert_eq!(event.time_zone.as_str(), "Europe/Lisbon");
}
on_both_engines!(the_firehose_brings_a_record_s_zone_and_its_change);
