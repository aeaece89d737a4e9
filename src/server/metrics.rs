//! Prometheus metrics: every metric name lives here, and the HTTP middleware counts requests by
//! route and status. `/metrics` itself is served by `crate::server::http::scrape`.

use axum::{
    extract::{MatchedPath, Request},
    http::{Method, StatusCode},
    middleware::Next,
    response::Response,
};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::{sync::OnceLock, time::Instant};

pub const HTTP_REQUESTS_TOTAL: &str = "skymeet_http_requests_total";
pub const HTTP_REQUEST_DURATION_SECONDS: &str = "skymeet_http_request_duration_seconds";
/// Requests refused by the per-client rate limit (answered 429).
pub const HTTP_RATE_LIMITED_TOTAL: &str = "skymeet_http_rate_limited_total";
/// State-changing requests refused because another site's page sent them (answered 403).
pub const CROSS_SITE_REFUSED_TOTAL: &str = "skymeet_cross_site_refused_total";
pub const KV_EXPIRED_PURGED_TOTAL: &str = "skymeet_kv_expired_purged_total";
/// Firehose frames applied (a frame the store failed on counts once it comes again and applies).
pub const FIREHOSE_FRAMES_TOTAL: &str = "skymeet_firehose_frames_total";
/// Calendar records from the firehose by `collection` (event | rsvp) and `outcome` (inserted |
/// updated | unchanged | deleted | absent).
pub const FIREHOSE_RECORDS_TOTAL: &str = "skymeet_firehose_records_total";
/// Frames and records that went to the dead-letter table.
pub const FIREHOSE_DEAD_LETTERS_TOTAL: &str = "skymeet_firehose_dead_letters_total";
/// `#info` frames by `name` (e.g. OutdatedCursor).
pub const FIREHOSE_INFO_TOTAL: &str = "skymeet_firehose_info_total";
pub const FIREHOSE_RECONNECTS_TOTAL: &str = "skymeet_firehose_reconnects_total";
/// Jumps in firehose sequence numbers (frames missed), each followed by a repair.
pub const FIREHOSE_GAPS_TOTAL: &str = "skymeet_firehose_gaps_total";
/// 1 while connected.
pub const FIREHOSE_CONNECTED: &str = "skymeet_firehose_connected";
/// The last applied sequence number.
/// 1 while the consumer is stuck: frames keep failing to apply and its cursor does not move.
pub const FIREHOSE_STUCK: &str = "skymeet_firehose_stuck";
/// Repos waiting for (or in) a backfill a frame asked for.
pub const BACKFILLS_QUEUED: &str = "skymeet_backfills_queued";
/// Backfill requests dropped because the queue was full.
pub const BACKFILLS_DROPPED_TOTAL: &str = "skymeet_backfills_dropped_total";
pub const FIREHOSE_CURSOR: &str = "skymeet_firehose_cursor";
/// Now minus the last commit's time.
pub const FIREHOSE_LAG_SECONDS: &str = "skymeet_firehose_lag_seconds";
/// PDS writes of events (create, update, delete) by outcome: `status` = ok | error.
pub const EVENTS_PUBLISHED_TOTAL: &str = "skymeet_events_published_total";
/// Writes the PDS refused because the record changed there since we read it (swapRecord).
pub const SYNC_CONFLICTS_TOTAL: &str = "skymeet_sync_conflicts_total";
/// From a calendar record's commit on its PDS to applying it here (firehose commits that carry one).
pub const SYNC_LATENCY_SECONDS: &str = "skymeet_sync_latency_seconds";
/// PDS writes of RSVPs (answer, change, withdraw) by outcome: `status` = ok | error.
pub const RSVPS_PUBLISHED_TOTAL: &str = "skymeet_rsvps_published_total";
/// Repos a reconciliation could not compare (their PDS failed).
pub const RECONCILIATION_ERRORS_TOTAL: &str = "skymeet_reconciliation_errors_total";
/// Records reconciliation repaired (added, updated or removed).
pub const RECONCILIATION_REPAIRS_TOTAL: &str = "skymeet_reconciliation_repairs_total";
/// How long one PDS write of an event took, including settling it here.
pub const PUBLISH_DURATION_SECONDS: &str = "skymeet_publish_duration_seconds";
/// How long another server (a PDS, a directory, an image host) took to answer one request of
/// ours, each retry apart. No labels: the servers are anyone's, and a label must come from a
/// closed set.
pub const OUTBOUND_REQUEST_DURATION_SECONDS: &str = "skymeet_outbound_request_duration_seconds";
/// Occurrences of recurring series published to their organiser's PDS (by the scheduler, or
/// early because someone answered one).
pub const SERIES_OCCURRENCES_PUBLISHED_TOTAL: &str = "skymeet_series_occurrences_published_total";
/// How well series detection does on a fixed labelled set of generated histories (true series
/// with noise, and look-alikes): the harmonic mean of its precision and recall, from 0 to 1.
pub const SERIES_DETECTION_ACCURACY: &str = "skymeet_series_detection_accuracy";
/// Sign-ins with Bluesky that came back to us, by `outcome` (ok | denied | failed | unreachable).
pub const SIGN_INS_TOTAL: &str = "skymeet_sign_ins_total";
/// OAuth token sets stored: one per sign-in and per token refresh.
pub const CREDENTIAL_WRITES_TOTAL: &str = "skymeet_credential_writes_total";
/// Sessions ended by their owner ("Disconnect") or an admin ("Reset"): tokens revoked and forgotten.
pub const SESSION_RESETS_TOTAL: &str = "skymeet_session_resets_total";

/// Route label for requests that matched no route, so unknown paths cannot blow up cardinality.
const UNMATCHED_ROUTE: &str = "unmatched";

const LATENCY_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Sync latency spans network delays and catch-up after downtime: milliseconds to hours.
const SYNC_LATENCY_BUCKETS: &[f64] = &[0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 3600.0];

/// Installs the process-wide recorder on first call and returns its handle. A process has one
/// recorder, so apps started side by side in tests share it.
pub fn recorder() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Full(HTTP_REQUEST_DURATION_SECONDS.to_owned()), LATENCY_BUCKETS)
                .and_then(|builder| {
                    builder.set_buckets_for_metric(Matcher::Full(PUBLISH_DURATION_SECONDS.to_owned()), LATENCY_BUCKETS)
                })
                .and_then(|builder| {
                    builder.set_buckets_for_metric(
                        Matcher::Full(OUTBOUND_REQUEST_DURATION_SECONDS.to_owned()),
                        LATENCY_BUCKETS,
                    )
                })
                .and_then(|builder| {
                    builder.set_buckets_for_metric(Matcher::Full(SYNC_LATENCY_SECONDS.to_owned()), SYNC_LATENCY_BUCKETS)
                })
                .unwrap_or_else(|e| {
                    tracing::warn!(error = %e, "latency buckets rejected; histograms render as summaries");
                    PrometheusBuilder::new()
                });
            let recorder = builder.build_recorder();
            let handle = recorder.handle();
            // Fails only if another recorder was installed first; ours then just stays unused.
            if metrics::set_global_recorder(recorder).is_err() {
                tracing::warn!("a metrics recorder was already installed");
            }
            handle
        })
        .clone()
}

/// Middleware: counts every request and observes its latency, labelled by method, matched route
/// and status.
pub async fn track_http(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|path| path.as_str().to_owned())
        .unwrap_or_else(|| UNMATCHED_ROUTE.to_owned());
    let method = method_label(request.method()).to_owned();
    let response = next.run(request).await;
    let status = response.status();
    let labels = [("method", method), ("route", route), ("status", status_label(status))];
    metrics::counter!(HTTP_REQUESTS_TOTAL, &labels).increment(1);
    metrics::histogram!(HTTP_REQUEST_DURATION_SECONDS, &labels).record(started.elapsed().as_secs_f64());
    response
}

/// A client may send any method name: the label takes the standard ones and `other`, so it cannot
/// grow the metric without bound.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// The name of a firehose `#info` frame as a label: the one name the protocol defines, or `other`
/// (the relay is not ours, and a label must come from a closed set).
pub fn info_label(name: &str) -> &'static str {
    match name {
        "OutdatedCursor" => "OutdatedCursor",
        _ => "other",
    }
}

fn status_label(status: StatusCode) -> String {
    status.as_u16().to_string()
}
