//! How much our publish path costs over the PDS itself: the median wall time of creating an event
//! through Skymeet (the `create_event` server function, end to end: HTTP, session, validation,
//! pending write, OAuth/DPoP putRecord, cache transaction) against a bare `createRecord` with a
//! password session on the same PDS. Beside them, to tell apart what each part costs: a bare
//! `putRecord` (the write Skymeet makes, under a key it chooses) with the password session, and
//! that `putRecord` through the account's OAuth session (DPoP) without the app around it; and a
//! request to the app that does nothing (`/healthz`), what one more HTTP hop through our
//! middleware costs. Last, the first write of accounts that just signed in: a new session's
//! first request to a PDS, which needs the PDS's DPoP nonce.
//!
//! Run with `scripts/bench.sh` (it starts the local PDS), or `cargo bench --features ssr --bench
//! publish` with `LOCAL_PDS_URL` set.

#[allow(dead_code)]
#[path = "../tests/integration/helpers.rs"]
mod helpers;
#[allow(dead_code)]
#[path = "../tests/integration/network.rs"]
mod network;
#[path = "shared/report.rs"]
mod report;

use helpers::AppOptions;
use network::{create_account, pds_url, sign_in_headless, spawn_local_network_app, user_of, TEST_KEYS};
use serde_json::json;
use skymeet::domain::Rkey;
use std::time::{Duration, Instant};

const ROUNDS: usize = 100;
const WARM_UP: usize = 3;
/// How many accounts sign in for the first-write figure (a sign-in takes about a second).
const NEW_SESSIONS: usize = 9;

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn micros_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
}

/// How long, in all, other servers took to answer the app's requests so far (the sum of
/// `skymeet_outbound_request_duration_seconds`): read before and after a call, what of the call's
/// time was the PDS answering, measured by the app itself.
fn outbound_so_far(metrics: &metrics_exporter_prometheus::PrometheusHandle) -> Duration {
    let name = format!("{}_sum ", skymeet::server::metrics::OUTBOUND_REQUEST_DURATION_SECONDS);
    let seconds = metrics
        .render()
        .lines()
        .find_map(|line| {
            line.strip_prefix(name.as_str())
                .and_then(|value| value.trim().parse().ok())
        })
        .unwrap_or(0.0);
    Duration::from_secs_f64(seconds)
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

/// How long the PDS takes to answer `com.atproto.repo.{method}` with `input`, sent with a
/// password session's `token` (no OAuth).
async fn bare_write(client: &reqwest::Client, token: &str, method: &str, input: serde_json::Value) -> Duration {
    let started = Instant::now();
    let response = client
        .post(format!("{}/xrpc/com.atproto.repo.{method}", pds_url()))
        .bearer_auth(token)
        .json(&input)
        .send()
        .await
        .expect("sent");
    let elapsed = started.elapsed();
    assert!(response.status().is_success(), "{method} failed: {}", response.status());
    elapsed
}

#[tokio::main]
async fn main() {
    let engine = std::env::var("BENCH_ENGINE").unwrap_or_else(|_| "postgres".to_owned());
    let options = match engine.as_str() {
        "sqlite" => AppOptions::embedded(),
        _ => AppOptions::production(),
    };
    let app = spawn_local_network_app(options.with("CREDENTIALS_KEYS", TEST_KEYS)).await;
    let account = create_account().await;
    sign_in_headless(&app, &account).await;

    // Rounds alternate between the two, so both see the PDS in the same state (its repo grows,
    // its background work comes and goes).
    let client = reqwest::Client::new();
    let mut ours = Vec::with_capacity(ROUNDS);
    let mut bare = Vec::with_capacity(ROUNDS);
    let mut session = Vec::with_capacity(ROUNDS);
    let mut bare_put = Vec::with_capacity(ROUNDS);
    let mut repo_lookup = Vec::with_capacity(ROUNDS);
    let mut http = Vec::with_capacity(ROUNDS);
    // Per call, its time less the PDS's answering it: what the caller itself spent.
    let mut ours_own = Vec::with_capacity(ROUNDS);
    let mut session_own = Vec::with_capacity(ROUNDS);
    let auth = &app.state.bluesky.as_ref().expect("Bluesky is on").auth;
    let owner = user_of(&app, &account).await;
    for round in 0..WARM_UP + ROUNDS {
        let name = format!("Benchmark event {round}");
        let pds_before = outbound_so_far(&app.state.metrics);
        let started = Instant::now();
        let response = app
            .client
            .post(format!("{}/api/create_event", app.address))
            .form(&[
                ("input[name]", name.as_str()),
                ("input[starts_at]", "2031-01-01T18:00"),
                ("input[time_zone]", "Europe/Berlin"),
            ])
            .send()
            .await
            .expect("sent");
        let elapsed = started.elapsed();
        assert!(response.status().is_success(), "create failed: {}", response.status());
        let pds = outbound_so_far(&app.state.metrics).saturating_sub(pds_before);
        if round >= WARM_UP {
            ours.push(elapsed);
            ours_own.push(elapsed.saturating_sub(pds));
        }

        // A request through the same middleware that does nothing else: what HTTP itself costs.
        let started = Instant::now();
        let response = app.get("/healthz").await;
        let elapsed = started.elapsed();
        assert!(response.status().is_success(), "/healthz failed: {}", response.status());
        if round >= WARM_UP {
            http.push(elapsed);
        }

        let record = json!({
            "$type": "community.lexicon.calendar.event",
            "name": format!("Bare record {round}"),
            "createdAt": "2031-01-01T00:00:00.000Z",
            "startsAt": "2031-01-01T17:00:00.000Z",
        });
        let elapsed = bare_write(
            &client,
            &account.access_jwt,
            "createRecord",
            json!({"repo": account.did, "collection": "community.lexicon.calendar.event", "record": record}),
        )
        .await;
        if round >= WARM_UP {
            bare.push(elapsed);
        }

        // The write Skymeet makes (a putRecord under a key of its choosing), with the same
        // password session: what the PDS takes for it without OAuth.
        let elapsed = bare_write(
            &client,
            &account.access_jwt,
            "putRecord",
            json!({
                "repo": account.did,
                "collection": "community.lexicon.calendar.event",
                "rkey": Rkey::tid(micros_now(), 5).as_str(),
                "record": record,
            }),
        )
        .await;
        if round >= WARM_UP {
            bare_put.push(elapsed);
        }

        // The putRecord alone, through the account's OAuth session (DPoP), without the app
        // around it: what the PDS itself takes for the write Skymeet makes, as an OAuth client
        // must make it.
        let rkey = Rkey::tid(micros_now(), 7);
        let pds_before = outbound_so_far(&app.state.metrics);
        let started = Instant::now();
        let repo = auth.repo(&owner).await.expect("the account's repo");
        let got_repo = started.elapsed();
        repo.put_record("community.lexicon.calendar.event", &rkey, &record, None)
            .await
            .expect("putRecord through the OAuth session");
        let elapsed = started.elapsed();
        let pds = outbound_so_far(&app.state.metrics).saturating_sub(pds_before);
        if round >= WARM_UP {
            session.push(elapsed);
            session_own.push(elapsed.saturating_sub(pds));
            repo_lookup.push(got_repo);
        }
    }

    // Each new account's first write, through the session its sign-in made.
    let mut first_writes = Vec::with_capacity(NEW_SESSIONS);
    for round in 0..NEW_SESSIONS {
        let newcomer = create_account().await;
        sign_in_headless(&app, &newcomer).await;
        let user = user_of(&app, &newcomer).await;
        let record = json!({
            "$type": "community.lexicon.calendar.event",
            "name": format!("First record {round}"),
            "createdAt": "2031-01-01T00:00:00.000Z",
        });
        let started = Instant::now();
        let repo = auth.repo(&user).await.expect("the account's repo");
        repo.put_record(
            "community.lexicon.calendar.event",
            &Rkey::tid(micros_now(), 9),
            &record,
            None,
        )
        .await
        .expect("the first putRecord through a new session");
        first_writes.push(started.elapsed());
    }

    let (ours, bare, session) = (median(ours), median(bare), median(session));
    let (bare_put, repo_lookup, http) = (median(bare_put), median(repo_lookup), median(http));
    let (ours_own, session_own) = (median(ours_own), median(session_own));
    println!("publish benchmark ({ROUNDS} rounds after {WARM_UP} warm-up, {engine} + local PDS)");
    println!("  skymeet create_event (end to end): median {:.1} ms", ms(ours));
    println!("  bare createRecord on the same PDS: median {:.1} ms", ms(bare));
    println!("  ratio: {:.2}x", ours.as_secs_f64() / bare.as_secs_f64());
    println!(
        "  bare putRecord (the write Skymeet makes), same session: median {:.1} ms",
        ms(bare_put)
    );
    println!(
        "  the putRecord through the OAuth session (DPoP), alone: median {:.1} ms (finding the session: {:.2} ms)",
        ms(session),
        ms(repo_lookup)
    );
    println!(
        "  Skymeet around that putRecord: {:.1} ms ({:.2}x)",
        ms(ours.saturating_sub(session)),
        ours.as_secs_f64() / session.as_secs_f64()
    );
    println!(
        "  of which a request to the app that does nothing (/healthz): {:.2} ms",
        ms(http)
    );
    println!(
        "  per call, its time less the PDS answering it (the app's own clock): create {:.2} ms, the OAuth putRecord alone {:.2} ms; Skymeet adds {:.2} ms",
        ms(ours_own),
        ms(session_own),
        ms(ours_own.saturating_sub(session_own))
    );
    let first_write = median(first_writes);
    println!(
        "  a newly signed-in account's first putRecord (OAuth, {NEW_SESSIONS} accounts): median {:.1} ms ({:.2}x a later one)",
        ms(first_write),
        first_write.as_secs_f64() / session.as_secs_f64()
    );
    report::row(
        &format!("publish ({engine}): a new session's first putRecord"),
        format!(
            "{:.1} ms ({:.2}x a later one)",
            ms(first_write),
            first_write.as_secs_f64() / session.as_secs_f64()
        ),
        "one round trip",
    );
    report::row(
        &format!("publish ({engine}): create through Skymeet / bare createRecord"),
        format!(
            "{:.1} / {:.1} ms = {:.2}x (bare putRecord {:.1} ms; putRecord via OAuth alone {:.1} ms, Skymeet {:.2}x that)",
            ms(ours),
            ms(bare),
            ours.as_secs_f64() / bare.as_secs_f64(),
            ms(bare_put),
            ms(session),
            ours.as_secs_f64() / session.as_secs_f64()
        ),
        "<= 1.1x",
    );
    app.shutdown.cancel();
}
