//! Firehose ingest throughput: a recorded `subscribeRepos` stream from the local PDS (mostly
//! commits to collections Skymeet does not keep, as on the real network) replayed through our
//! decoder + filter, and through the whole applier (decoder, filter, store) on the embedded
//! database. Prints frames per second for each.
//!
//! The recording is made once and kept in `$SKYMEET_CACHE/firehose-<N>.frames`: the PDS's stream
//! from the start, topped up with generated commits (one in a hundred a calendar event) until it
//! holds `BENCH_FRAMES` frames (default 100,000). Run with `scripts/bench.sh`.

#[allow(dead_code)]
#[path = "../tests/integration/helpers.rs"]
mod helpers;
#[allow(dead_code)]
#[path = "../tests/integration/network.rs"]
mod network;
#[path = "shared/report.rs"]
mod report;

use futures_util::StreamExt;
use helpers::AppOptions;
use network::{create_account, firehose_url, put_record_directly, put_record_with, spawn_local_network_app, Account};
use serde_json::json;
use skymeet::server::firehose::{frame, pipeline, Ingest};
use std::{
    io::{Read, Write},
    path::PathBuf,
    sync::Arc,
    time::{Duration, Instant},
};

fn recording_path(frames: usize) -> PathBuf {
    let cache = std::env::var("SKYMEET_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".cache/skymeet"));
    cache.join(format!("firehose-{frames}.frames"))
}

/// Reads frames from the PDS's firehose (from the start) until `want` or a quiet second.
async fn read_stream(want: usize) -> Vec<Vec<u8>> {
    let (socket, _) = tokio_tungstenite::connect_async(format!("{}?cursor=0", firehose_url()))
        .await
        .expect("firehose");
    let (_, mut read) = socket.split();
    let mut frames = Vec::new();
    while frames.len() < want {
        match tokio::time::timeout(Duration::from_secs(2), read.next()).await {
            Ok(Some(Ok(tokio_tungstenite::tungstenite::Message::Binary(bytes)))) => frames.push(bytes.to_vec()),
            Ok(Some(Ok(_))) => {}
            _ => break,
        }
    }
    frames
}

/// Commits `count` records: one in a hundred a calendar event, the rest notes of a collection
/// Skymeet does not keep. One HTTP client for all of them: each new client reads the system's CA
/// certificates, which a profile of this benchmark showed as most of its own CPU time.
async fn generate(accounts: &[Arc<Account>], count: usize) {
    let client = reqwest::Client::builder().no_proxy().build().expect("client");
    let writes: Vec<(Arc<Account>, usize)> = (0..count)
        .map(|i| (Arc::clone(&accounts[i % accounts.len()]), i))
        .collect();
    let client = &client;
    futures_util::stream::iter(writes)
        .for_each_concurrent(16, |(account, i)| async move {
            let nonce = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or_default();
            let rkey = format!("b{nonce}x{i}");
            let (collection, record) = if i % 100 == 0 {
                let collection = "community.lexicon.calendar.event";
                (
                    collection,
                    json!({"$type": collection, "name": format!("Bench {i}"), "createdAt": "2026-11-24T00:00:00Z"}),
                )
            } else {
                let collection = "org.example.bench.note";
                (
                    collection,
                    json!({"$type": collection, "text": format!("note {i}"), "createdAt": "2026-11-24T00:00:00Z"}),
                )
            };
            put_record_with(client, &account, collection, &rkey, record).await;
        })
        .await;
}

async fn recording(want: usize) -> Vec<Vec<u8>> {
    let path = recording_path(want);
    if let Ok(mut file) = std::fs::File::open(&path) {
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).expect("read the recording");
        let mut frames = Vec::new();
        let mut at = 0;
        while at + 4 <= bytes.len() {
            let len = u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]) as usize;
            frames.push(bytes[at + 4..at + 4 + len].to_vec());
            at += 4 + len;
        }
        if frames.len() >= want {
            return frames;
        }
    }
    let have = read_stream(want).await.len();
    if have < want {
        let mut accounts = Vec::new();
        for _ in 0..8 {
            accounts.push(Arc::new(create_account().await));
        }
        let started = Instant::now();
        eprintln!("generating {} commits on the local PDS (once)...", want - have);
        generate(&accounts, want - have).await;
        eprintln!("  took {:.0} s", started.elapsed().as_secs_f64());
    }
    let frames = read_stream(want).await;
    let mut file = std::fs::File::create(&path).expect("recording file");
    for frame in &frames {
        file.write_all(&(frame.len() as u32).to_le_bytes()).expect("write");
        file.write_all(frame).expect("write");
    }
    frames
}

#[tokio::main]
async fn main() {
    let want: usize = std::env::var("BENCH_FRAMES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    // Shared with the task that feeds the pipeline (see `apply_with`) without a copy.
    let frames: Arc<[Vec<u8>]> = recording(want).await.into();
    let bytes: usize = frames.iter().map(Vec::len).sum();
    let mut calendar = 0;
    let started = Instant::now();
    for bytes in frames.iter() {
        if let Ok(frame::Frame::Commit { ops, .. }) = frame::decode(bytes) {
            calendar += usize::from(!ops.is_empty());
        }
    }
    let decode = started.elapsed();

    // The same over a local websocket, as the JS consumer gets it.
    let over_socket = {
        let (address, relay) = relay(&frames).await;
        let (socket, _) = tokio_tungstenite::connect_async(format!("ws://{address}/"))
            .await
            .expect("connect");
        let (_, mut read) = socket.split();
        let started = Instant::now();
        let mut received = 0;
        while received < frames.len() {
            match read.next().await {
                Some(Ok(tokio_tungstenite::tungstenite::Message::Binary(bytes))) => {
                    let _ = frame::decode(&bytes);
                    received += 1;
                }
                Some(Ok(_)) => {}
                _ => break,
            }
        }
        relay.abort();
        started.elapsed()
    };

    let calendar_frames: Arc<[Vec<u8>]> = renumbered(
        frames
            .iter()
            .filter(|bytes| matches!(frame::decode(bytes), Ok(frame::Frame::Commit { ops, .. }) if !ops.is_empty())),
    )
    .into();
    // BENCH_PROFILE=N: the calendar frames, the other frames, then all, applied N times on each
    // engine (or on BENCH_ENGINE's alone: `sqlite` or `postgres`), for a profiler to watch, and
    // to tell the records' cost from the transactions' and the frames' own.
    if let Some(times) = std::env::var("BENCH_PROFILE")
        .ok()
        .and_then(|n| n.parse::<usize>().ok())
    {
        let only = std::env::var("BENCH_ENGINE").unwrap_or_default();
        // BENCH_GROUP: frames per transaction, decoded inline, for what fewer, larger transactions
        // would gain (without it: the consumer's own pipeline).
        let group = std::env::var("BENCH_GROUP").ok().and_then(|n| n.parse::<usize>().ok());
        let other_frames: Arc<[Vec<u8>]> =
            renumbered(frames.iter().filter(
                |bytes| !matches!(frame::decode(bytes), Ok(frame::Frame::Commit { ops, .. }) if !ops.is_empty()),
            ))
            .into();
        for (engine, options) in [
            ("sqlite", AppOptions::embedded as fn() -> AppOptions),
            ("postgres", AppOptions::production),
        ] {
            if !only.is_empty() && only != engine {
                continue;
            }
            for (what, recording) in [
                ("calendar frames", &calendar_frames),
                ("frames without calendar records", &other_frames),
                ("all frames", &frames),
            ] {
                for known in [false, true] {
                    let mut took = Duration::ZERO;
                    for _ in 0..times {
                        took += apply_with(options(), recording, group, known).await;
                    }
                    let rate = (times * recording.len()) as f64 / took.as_secs_f64();
                    println!("{what} applied {times} times on {engine} (owners known: {known}): {rate:.0} frames/s");
                }
            }
        }
        return;
    }
    let mut applied = Vec::new();
    for (engine, options) in [
        ("SQLite", AppOptions::embedded as fn() -> AppOptions),
        ("PostgreSQL", AppOptions::production),
    ] {
        for (what, recording) in [("", &frames), (", calendar frames only", &calendar_frames)] {
            for (how, batch) in [
                ("a transaction per frame", Some(1)),
                (
                    "pipelined (decoded on a task of its own, <= 4,096 frames a transaction)",
                    None,
                ),
            ] {
                // One pass is short and its first sight of each owner (a DID resolution) varies:
                // the median of a few passes, each on a fresh database.
                let mut took = Vec::with_capacity(APPLY_PASSES);
                for _ in 0..APPLY_PASSES {
                    took.push(apply(options(), recording, batch).await);
                }
                took.sort();
                applied.push((
                    format!("{engine}{what}, {how}"),
                    recording.len() as f64 / took[APPLY_PASSES / 2].as_secs_f64(),
                ));
            }
        }
    }

    let rate = |d: Duration| frames.len() as f64 / d.as_secs_f64();
    println!(
        "firehose ingest benchmark: {} frames ({:.1} MB) recorded from the local PDS, {calendar} with calendar records",
        frames.len(),
        bytes as f64 / 1e6
    );
    println!("  decode + filter (one core):          {:>10.0} frames/s", rate(decode));
    println!(
        "  websocket + decode + filter:         {:>10.0} frames/s",
        rate(over_socket)
    );
    println!(
        "  decode + filter + apply, median of {APPLY_PASSES} passes ({} of {} frames carry calendar records in the second rows):",
        calendar_frames.len(),
        frames.len()
    );
    report::row(
        &format!("ingest: decode + filter, {} frames", frames.len()),
        format!("{:.0} frames/s", rate(decode)),
        ">= 250,000 frames/s with apply",
    );
    for (what, rate) in applied {
        println!("    {what:<58} {rate:>10.0} frames/s");
        if what.contains("pipelined") {
            let share = 100 * calendar_frames.len() / frames.len().max(1);
            let what = what
                .replace(
                    ", pipelined (decoded on a task of its own, <= 4,096 frames a transaction)",
                    "",
                )
                .replace(", calendar frames only", ", 100% calendar");
            let what = if what.contains("100%") {
                what
            } else {
                format!("{what}, {share}% calendar")
            };
            report::row(
                &format!("ingest: decode + filter + apply, {what}"),
                format!("{rate:.0} frames/s"),
                ">= 250,000 frames/s (at 1% calendar)",
            );
        }
    }
    println!(
        "  peak memory of this process (the recording is in it): {} MiB",
        peak_rss_mib()
    );
    report::row(
        "ingest: peak memory of the benchmark process (recording included)",
        format!("{} MiB", peak_rss_mib()),
        "<= 50 MiB for the consumer",
    );
    match consumer_process(&frames).await {
        Some((peak, took)) => {
            println!(
                "  the app's own process (release build, SQLite) consuming the recording from a stand-in relay: \
                 {:.0} frames/s, peak memory {peak} MiB",
                frames.len() as f64 / took.as_secs_f64()
            );
            report::row(
                "ingest: peak memory of the app process consuming the recording (SQLite)",
                format!("{peak} MiB"),
                "<= 50 MiB for the consumer",
            );
        }
        None => println!("  (no release build of the app: its own peak memory was not measured)"),
    }
    for (engine, options) in [
        ("SQLite", AppOptions::embedded as fn() -> AppOptions),
        ("PostgreSQL", AppOptions::production),
    ] {
        for load in [None, Some(&frames)] {
            let (p50, p99) = commit_to_cache(options(), LATENCY_SAMPLES, load).await;
            let under = match load {
                None => "no other load",
                Some(_) => "while the recording is applied again and again",
            };
            println!(
                "  commit on the PDS to its row in the cache ({engine}, {LATENCY_SAMPLES} records, {under}): p50 {:.1} ms, p99 {:.1} ms",
                p50.as_secs_f64() * 1000.0,
                p99.as_secs_f64() * 1000.0
            );
            report::row(
                &format!("latency: commit on the PDS to the cache ({engine}, {under}, p50 / p99)"),
                format!(
                    "{:.1} / {:.1} ms",
                    p50.as_secs_f64() * 1000.0,
                    p99.as_secs_f64() * 1000.0
                ),
                "p99 <= 250 ms",
            );
        }
    }
}

const LATENCY_SAMPLES: usize = 200;

/// From a record's commit on the PDS (its `putRecord` answered) to its row in the cache, through a
/// consumer of the PDS's firehose on `options`' engine: the p50 and p99 of `samples` records.
/// With `load`, a second consumer in the same app applies those frames to the same database in
/// groups, over and over, the whole time (after the first pass they are replays: each record is
/// decoded, checked against the cache and left as it is).
async fn commit_to_cache(options: AppOptions, samples: usize, load: Option<&Arc<[Vec<u8>]>>) -> (Duration, Duration) {
    const EVENTS: &str = "community.lexicon.calendar.event";
    let app = spawn_local_network_app(options.with("FIREHOSE_URL", firehose_url())).await;
    let ingest = app.state.consumer().expect("a consumer");
    while !ingest.connected() {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let loader = load.map(|frames| {
        // Its own cursor (named by another address), so the consumer's is left alone.
        let replay = Arc::new(Ingest::new(
            app.state.store.clone(),
            app.state.identity().expect("identity"),
            "ws://127.0.0.1:9/replay".to_owned(),
        ));
        let frames = Arc::clone(frames);
        // Its own stop, so that it ends between two batches before the app closes its pool.
        let stop = tokio_util::sync::CancellationToken::new();
        let stopped = stop.clone();
        let task = tokio::spawn(async move {
            let mut passes = 0_usize;
            while !stop.is_cancelled() {
                for chunk in frames.chunks(pipeline::BATCH_FRAMES) {
                    if stop.is_cancelled() {
                        break;
                    }
                    replay.handle_batch(chunk).await.expect("applied");
                }
                passes += 1;
            }
            passes
        });
        (stopped, task)
    });
    // The load's first pass makes its records' owners known; let it get going.
    if loader.is_some() {
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    let account = create_account().await;
    let mut took = Vec::with_capacity(samples);
    // The first record also makes its owner known (a DID resolution): not counted.
    for i in 0..=samples {
        let rkey = format!("latency{i}");
        let record = json!({"$type": EVENTS, "name": format!("Latency {i}"), "createdAt": "2026-11-24T00:00:00Z"});
        put_record_directly(&account, EVENTS, &rkey, record).await;
        let committed = Instant::now();
        let uri = format!("at://{}/{EVENTS}/{rkey}", account.did);
        while app.state.store.event_by_at_uri(&uri).await.expect("query").is_none() {
            assert!(committed.elapsed() < Duration::from_secs(30), "{uri} never arrived");
            tokio::time::sleep(Duration::from_micros(250)).await;
        }
        if i > 0 {
            took.push(committed.elapsed());
        }
    }
    if let Some((stop, loader)) = loader {
        stop.cancel();
        let passes = loader.await.expect("the load ran");
        println!("    (the load applied the recording {passes} times meanwhile)");
    }
    app.shutdown.cancel();
    took.sort();
    (took[samples / 2], took[samples * 99 / 100])
}

/// Runs the app's release binary (SQLite, its consumer on) against a stand-in relay on loopback
/// that sends `frames`, until its metrics count them all: its own peak memory (`VmHWM`, MiB) and
/// how long that took. `None` without a release build.
async fn consumer_process(frames: &[Vec<u8>]) -> Option<(u64, Duration)> {
    let target = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".to_owned());
    let binary = PathBuf::from(target).join("release/skymeet");
    if !binary.exists() {
        return None;
    }
    let (relay_address, relay_task) = relay(frames).await;
    let site = std::net::TcpListener::bind("127.0.0.1:0").expect("port");
    let site_address = site.local_addr().expect("address");
    drop(site);
    let data = std::env::temp_dir().join(format!("skymeet-bench-consumer-{}", std::process::id()));
    std::fs::create_dir_all(&data).expect("data dir");
    let child = std::process::Command::new(&binary)
        .env("LEPTOS_SITE_ADDR", site_address.to_string())
        .env("SQLITE_PATH", data.join("skymeet.sqlite"))
        .env(
            "FIREHOSE_URL",
            format!("ws://{relay_address}/xrpc/com.atproto.sync.subscribeRepos"),
        )
        .env("ATPROTO_PLC_URL", network::plc_url())
        .env("ATPROTO_HANDLE_RESOLVER", network::pds_url())
        .env("RECONCILE_INTERVAL_SECONDS", "0")
        .env("METRICS_SAMPLE_SECONDS", "0")
        .env_remove("DATABASE_URL")
        .env_remove("REDIS_URL")
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("the app runs");
    let pid = child.id();
    let mut running = Stopped(child);
    let client = reqwest::Client::new();
    let started = Instant::now();
    let took = loop {
        assert!(
            started.elapsed() < Duration::from_secs(300),
            "the app never consumed the recording"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
        if let Ok(Some(status)) = running.0.try_wait() {
            panic!("the app stopped before it consumed the recording ({status}); its log is above");
        }
        let Ok(response) = client.get(format!("http://{site_address}/metrics")).send().await else {
            continue;
        };
        let text = response.text().await.unwrap_or_default();
        let counted = text
            .lines()
            .find_map(|line| line.strip_prefix("skymeet_firehose_frames_total "))
            .and_then(|value| value.trim().parse::<f64>().ok())
            .unwrap_or(0.0);
        if counted >= frames.len() as f64 {
            break started.elapsed();
        }
    };
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let mib = |field: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(field))
            .and_then(|value| value.split_whitespace().next()?.parse::<u64>().ok())
            .map_or(0, |kib| kib / 1024)
    };
    let peak = mib("VmHWM:");
    println!(
        "    (at the end: {} MiB resident, {} MiB of it the program's own pages and libraries, {} MiB the heap and stacks)",
        mib("VmRSS:"),
        mib("RssFile:"),
        mib("RssAnon:")
    );
    drop(running);
    relay_task.abort();
    let _ = std::fs::remove_dir_all(&data);
    Some((peak, took))
}

/// `frames` with their sequence numbers made consecutive, as a stream that carries only these
/// would have them. Picked out of a longer stream they have gaps, and a consumer that sees a gap
/// (rightly) has the repos it holds read again, which is not what this row measures.
fn renumbered<'a>(frames: impl Iterator<Item = &'a Vec<u8>>) -> Vec<Vec<u8>> {
    use ipld_core::ipld::Ipld;
    frames
        .zip(1_i128..)
        .map(|(bytes, seq)| {
            let mut reader = std::io::Cursor::new(bytes.as_slice());
            let header: Ipld = serde_ipld_dagcbor::de::from_reader_once(&mut reader).expect("a header");
            let body_at = usize::try_from(reader.position()).expect("an offset");
            let mut body: Ipld = serde_ipld_dagcbor::from_slice(&bytes[body_at..]).expect("a body");
            if let Ipld::Map(fields) = &mut body {
                fields.insert("seq".to_owned(), Ipld::Integer(seq));
            }
            let mut renumbered = serde_ipld_dagcbor::to_vec(&header).expect("encoded");
            renumbered.extend(serde_ipld_dagcbor::to_vec(&body).expect("encoded"));
            renumbered
        })
        .collect()
}

/// How often each apply row is measured (its median is printed).
const APPLY_PASSES: usize = 5;

/// Decodes and applies `frames` through a fresh app's consumer on `options`' engine (a fresh
/// database: every record is new); how long that took. With a `batch` size, in batches of that
/// many, each decoded and then applied on this task; without, as the consumer does it: a task
/// of its own decodes and hands over (`firehose::pipeline`), this one applies.
async fn apply(options: AppOptions, frames: &Arc<[Vec<u8>]>, batch: Option<usize>) -> Duration {
    apply_with(options, frames, batch, false).await
}

/// [`apply`], with the records' owners looked up before the clock starts when `owners_known`.
async fn apply_with(
    options: AppOptions,
    frames: &Arc<[Vec<u8>]>,
    batch: Option<usize>,
    owners_known: bool,
) -> Duration {
    let app = spawn_local_network_app(options).await;
    let ingest = Arc::new(Ingest::new(
        app.state.store.clone(),
        app.state.identity().expect("identity"),
        firehose_url(),
    ));
    if owners_known {
        for bytes in frames.iter() {
            if let Ok(frame::Frame::Commit { repo, ops, .. }) = frame::decode(bytes) {
                if !ops.is_empty() {
                    ingest.repos().locate(&repo).await.expect("located");
                }
            }
        }
    }
    let started = Instant::now();
    match batch {
        Some(batch) => {
            for chunk in frames.chunks(batch) {
                ingest.handle_batch(chunk).await.expect("applied");
            }
        }
        None => {
            let (sender, batches) = pipeline::channel(skymeet::server::firehose::Source::SubscribeRepos);
            let frames = Arc::clone(frames);
            let reader = tokio::spawn(async move {
                for bytes in frames.iter() {
                    assert!(sender.send(bytes).await, "the applier stopped");
                }
            });
            ingest.apply_batches(batches).await.expect("applied");
            reader.await.expect("the reader ran");
        }
    }
    let took = started.elapsed();
    app.shutdown.cancel();
    took
}

/// A stand-in relay on loopback: its first connection gets `frames`, then is held open until the
/// returned task is aborted.
async fn relay(frames: &[Vec<u8>]) -> (std::net::SocketAddr, tokio::task::JoinHandle<()>) {
    use futures_util::SinkExt;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("port");
    let address = listener.local_addr().expect("address");
    let sent = frames.to_vec();
    let task = tokio::spawn(async move {
        let (stream, _) = listener.accept().await.expect("connection");
        let mut socket = tokio_tungstenite::accept_async(stream).await.expect("handshake");
        for frame in sent {
            socket
                .send(tokio_tungstenite::tungstenite::Message::Binary(frame.into()))
                .await
                .expect("send");
        }
        std::future::pending::<()>().await;
    });
    (address, task)
}

/// A child process, killed (and waited for) when this is dropped.
struct Stopped(std::process::Child);

impl Drop for Stopped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The most memory this process held at once (`VmHWM`), in MiB.
fn peak_rss_mib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
            line.split_whitespace().nth(1)?.parse::<u64>().ok()
        })
        .map_or(0, |kib| kib / 1024)
}
