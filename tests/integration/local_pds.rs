//! The local ATProto network (`scripts/local-pds.sh start`): a real PLC and PDS on loopback.
//! Each test creates its own account, so tests can run in parallel.

use serde_json::{json, Value};

fn pds_url() -> String {
    std::env::var("LOCAL_PDS_URL").expect(
        "LOCAL_PDS_URL is not set: start the local PDS with `scripts/local-pds.sh start` (the test command does)",
    )
}

#[tokio::test]
async fn a_fresh_account_on_the_local_pds_resolves_and_takes_a_calendar_record() {
    let pds = pds_url();
    let client = reqwest::Client::new();
    let handle = format!(
        "{}.test",
        crate::helpers::unique("t").chars().take(18).collect::<String>()
    );
    let password = crate::helpers::unique("pw-");

    let account: Value = client
        .post(format!("{pds}/xrpc/com.atproto.server.createAccount"))
        .json(&json!({"handle": handle, "password": password, "email": format!("{handle}@example.com")}))
        .send()
        .await
        .expect("createAccount sent")
        .error_for_status()
        .expect("account created")
        .json()
        .await
        .expect("JSON");
    let did = account["did"].as_str().expect("a DID").to_owned();
    assert!(did.starts_with("did:plc:"), "{did}");
    let token = account["accessJwt"].as_str().expect("an access token").to_owned();

    // The handle resolves through the PDS (no DNS for *.test), and the DID through the local PLC.
    let resolved: Value = client
        .get(format!("{pds}/xrpc/com.atproto.identity.resolveHandle"))
        .query(&[("handle", &handle)])
        .send()
        .await
        .expect("resolveHandle sent")
        .json()
        .await
        .expect("JSON");
    assert_eq!(resolved["did"], json!(did));

    let record = json!({
        "$type": "community.lexicon.calendar.event",
        "name": "Local network check",
        "createdAt": "2026-11-24T10:00:00.000Z",
        "startsAt": "2026-12-01T18:00:00.000Z",
        "mode": "community.lexicon.calendar.event#inperson",
    });
    let created: Value = client
        .post(format!("{pds}/xrpc/com.atproto.repo.createRecord"))
        .bearer_auth(&token)
        .json(&json!({"repo": did, "collection": "community.lexicon.calendar.event", "record": record}))
        .send()
        .await
        .expect("createRecord sent")
        .error_for_status()
        .expect("record accepted")
        .json()
        .await
        .expect("JSON");
    let uri = created["uri"].as_str().expect("an at-uri");
    assert!(
        uri.starts_with(&format!("at://{did}/community.lexicon.calendar.event/")),
        "{uri}"
    );

    let listed: Value = client
        .get(format!("{pds}/xrpc/com.atproto.repo.listRecords"))
        .query(&[
            ("repo", did.as_str()),
            ("collection", "community.lexicon.calendar.event"),
        ])
        .send()
        .await
        .expect("listRecords sent")
        .json()
        .await
        .expect("JSON");
    let records = listed["records"].as_array().expect("records");
    assert_eq!(records.len(), 1);
    assert_eq!(records[0]["value"]["name"], json!("Local network check"));
}
