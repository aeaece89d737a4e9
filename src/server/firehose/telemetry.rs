//! What the consumer tells about itself: connected or not, sequence gaps, lock losses, reconnects
//! and lag, for the admin dashboard (the same figures go to `/metrics`).

use crate::server::metrics;
use std::sync::{
    atomic::{AtomicBool, AtomicU64, Ordering},
    Mutex,
};

/// The consumer's counters; each updates its gauge or counter in `/metrics` too.
#[derive(Debug)]
pub struct Telemetry {
    connected: AtomicBool,
    /// The last sequence number handled, to notice gaps.
    last_seq: Mutex<Option<i64>>,
    gaps: AtomicU64,
    lock_losses: AtomicU64,
    reconnects: AtomicU64,
    /// Now minus the last commit's time when it was applied, in milliseconds; `u64::MAX` before one.
    lag_millis: AtomicU64,
    /// Frames that failed to apply in a row (the same one, again after each reconnect); 0 once
    /// one applies.
    failures_in_a_row: AtomicU64,
    /// Why the last frame failed to apply, while frames keep failing.
    last_error: Mutex<Option<String>>,
    /// Why the last connection failed or ended, until one opens again.
    connection_error: Mutex<Option<String>>,
}

/// Failures in a row after which the consumer counts as stuck: frames arrive, the cursor does not
/// move.
pub const STUCK_AFTER: u64 = 3;

impl Default for Telemetry {
    fn default() -> Self {
        Self {
            connected: AtomicBool::new(false),
            last_seq: Mutex::new(None),
            gaps: AtomicU64::new(0),
            lock_losses: AtomicU64::new(0),
            reconnects: AtomicU64::new(0),
            lag_millis: AtomicU64::new(u64::MAX),
            failures_in_a_row: AtomicU64::new(0),
            last_error: Mutex::new(None),
            connection_error: Mutex::new(None),
        }
    }
}

impl Telemetry {
    /// Whether a connection to the firehose is open now.
    pub fn connected(&self) -> bool {
        self.connected.load(Ordering::Relaxed)
    }

    pub fn set_connected(&self, connected: bool) {
        if connected {
            *self.connection_error.lock().unwrap_or_else(|p| p.into_inner()) = None;
        }
        self.connected.store(connected, Ordering::Relaxed);
        ::metrics::gauge!(metrics::FIREHOSE_CONNECTED).set(if connected { 1.0 } else { 0.0 });
    }

    /// How many sequence gaps this consumer has seen.
    pub fn gaps(&self) -> u64 {
        self.gaps.load(Ordering::Relaxed)
    }

    /// Notes `seq` as handled; `true` when numbers before it were skipped. (Going back is a replay
    /// after a reconnect, which applying idempotently makes harmless.)
    pub fn gap_before(&self, seq: i64) -> bool {
        let previous = self.last_seq.lock().unwrap_or_else(|p| p.into_inner()).replace(seq);
        let Some(previous) = previous.filter(|previous| seq > previous + 1) else {
            return false;
        };
        tracing::warn!(
            previous,
            seq,
            missing = seq - previous - 1,
            "sequence gap on the firehose"
        );
        ::metrics::counter!(metrics::FIREHOSE_GAPS_TOTAL).increment(1);
        self.gaps.fetch_add(1, Ordering::Relaxed);
        true
    }

    /// How often this consumer stopped because its lock was lost.
    pub fn lock_losses(&self) -> u64 {
        self.lock_losses.load(Ordering::Relaxed)
    }

    pub fn lost_lock(&self) {
        self.lock_losses.fetch_add(1, Ordering::Relaxed);
    }

    /// How often a connection ended and the consumer connected again.
    pub fn reconnects(&self) -> u64 {
        self.reconnects.load(Ordering::Relaxed)
    }

    pub fn reconnected(&self) {
        ::metrics::counter!(metrics::FIREHOSE_RECONNECTS_TOTAL).increment(1);
        self.reconnects.fetch_add(1, Ordering::Relaxed);
    }

    /// How far behind the network the last applied commit was, in seconds.
    pub fn lag_seconds(&self) -> Option<f64> {
        let millis = self.lag_millis.load(Ordering::Relaxed);
        (millis != u64::MAX).then(|| millis as f64 / 1000.0)
    }

    pub fn record_lag(&self, lag_seconds: f64) {
        ::metrics::gauge!(metrics::FIREHOSE_LAG_SECONDS).set(lag_seconds);
        let millis = (lag_seconds * 1000.0) as u64;
        self.lag_millis.store(millis.min(u64::MAX - 1), Ordering::Relaxed);
    }

    /// A frame applied: whatever failed before is past.
    pub fn applied(&self) {
        if self.failures_in_a_row.swap(0, Ordering::Relaxed) > 0 {
            *self.last_error.lock().unwrap_or_else(|p| p.into_inner()) = None;
            ::metrics::gauge!(metrics::FIREHOSE_STUCK).set(0.0);
        }
    }

    /// A frame failed to apply (the store failed): it comes again after the reconnect.
    pub fn failed(&self, error: &str) {
        let failures = self.failures_in_a_row.fetch_add(1, Ordering::Relaxed) + 1;
        *self.last_error.lock().unwrap_or_else(|p| p.into_inner()) = Some(error.to_owned());
        if failures >= STUCK_AFTER {
            ::metrics::gauge!(metrics::FIREHOSE_STUCK).set(1.0);
        }
    }

    /// Whether ingestion is stuck: the last [`STUCK_AFTER`] or more frames failed in a row.
    pub fn stuck(&self) -> bool {
        self.failures_in_a_row.load(Ordering::Relaxed) >= STUCK_AFTER
    }

    /// Why frames are failing, while they are.
    pub fn last_error(&self) -> Option<String> {
        self.last_error.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// A connection failed or ended with `error`; `true` when that is news (the first failure,
    /// or a different one), which is worth a log line: an endpoint that stays unreachable (no
    /// network) is said once, not on every retry.
    pub fn connection_failed(&self, error: &str) -> bool {
        let mut last = self.connection_error.lock().unwrap_or_else(|p| p.into_inner());
        let news = last.as_deref() != Some(error);
        *last = Some(error.to_owned());
        news
    }

    /// Why the last connection failed or ended, until one opens again.
    pub fn connection_error(&self) -> Option<String> {
        self.connection_error.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failing_frames_in_a_row_make_it_stuck_until_one_applies() {
        let telemetry = Telemetry::default();
        for _ in 1..STUCK_AFTER {
            telemetry.failed("the store failed");
        }
        assert!(!telemetry.stuck(), "a failure or two is a blip");
        telemetry.failed("the store failed: disk full");
        assert!(telemetry.stuck());
        assert_eq!(telemetry.last_error().as_deref(), Some("the store failed: disk full"));
        telemetry.applied();
        assert!(!telemetry.stuck());
        assert_eq!(telemetry.last_error(), None);
    }

    #[test]
    fn the_same_connection_failure_is_news_once_until_a_connection_opens() {
        let telemetry = Telemetry::default();
        assert!(telemetry.connection_failed("connecting to the firehose failed: no route"));
        assert!(!telemetry.connection_failed("connecting to the firehose failed: no route"));
        assert!(telemetry.connection_failed("the server closed the connection"));
        assert_eq!(
            telemetry.connection_error().as_deref(),
            Some("the server closed the connection")
        );
        telemetry.set_connected(true);
        assert_eq!(telemetry.connection_error(), None);
        assert!(telemetry.connection_failed("the server closed the connection"));
    }
}
