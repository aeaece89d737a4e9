//! The dashboard's charts over time: firehose rate, sync latency, publish duration and the
//! share of events in sync.
//!
//! Every instance samples, once a `METRICS_SAMPLE_SECONDS`, the counters `/metrics` shows (read
//! from the same recorder, so the charts and Prometheus never disagree) and how many cached events
//! are in sync. The dashboard turns consecutive samples of one instance into rates and means, and
//! adds the instances up per time bucket.

use crate::server::{
    error::Chain,
    metrics,
    store::{MetricSample, Store, StoreError},
};
use chrono::{DateTime, Duration, Utc};
use metrics_exporter_prometheus::PrometheusHandle;
use std::{
    collections::HashMap,
    sync::atomic::{AtomicU64, Ordering},
};
use tokio_util::sync::CancellationToken;

/// How long samples are kept.
const RETENTION: Duration = Duration::hours(48);

/// Takes this instance's samples.
pub struct Sampler {
    store: Store,
    recorder: PrometheusHandle,
    /// Tells this process's samples from another's (their counters start from zero).
    instance: String,
}

impl Sampler {
    pub fn new(store: Store, recorder: PrometheusHandle) -> Self {
        // Apps started side by side in one process (tests) are told apart by the counter.
        static STARTED: AtomicU64 = AtomicU64::new(0);
        let instance = format!(
            "{}-{}-{}",
            std::process::id(),
            Utc::now().timestamp_micros(),
            STARTED.fetch_add(1, Ordering::Relaxed)
        );
        Self {
            store,
            recorder,
            instance,
        }
    }

    /// Records one sample now, and forgets those older than the retention.
    pub async fn sample(&self) -> Result<(), StoreError> {
        let now = Utc::now();
        let counters = Counters::read(&self.recorder.render());
        let by_status = self.store.events_by_sync_status().await?;
        let events_total = by_status.iter().map(|(_, count)| count).sum();
        let events_in_sync = by_status
            .iter()
            .find(|(status, _)| *status == crate::domain::SyncStatus::InSync)
            .map_or(0, |(_, count)| *count);
        self.store
            .add_metric_sample(&MetricSample {
                instance: self.instance.clone(),
                taken_at: now,
                firehose_frames: counters.firehose_frames as i64,
                firehose_records: counters.firehose_records as i64,
                sync_latency_sum: counters.sync_latency_sum,
                sync_latency_count: counters.sync_latency_count as i64,
                publish_sum: counters.publish_sum,
                publish_count: counters.publish_count as i64,
                events_total,
                events_in_sync,
            })
            .await?;
        self.store.delete_metric_samples_before(now - RETENTION).await?;
        Ok(())
    }

    /// Samples every `interval` until shutdown, starting now.
    pub async fn run(self, interval: std::time::Duration, shutdown: CancellationToken) {
        loop {
            if let Err(e) = self.sample().await {
                tracing::warn!(error = %Chain(&e), "sampling metrics for the dashboard failed");
            }
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(interval) => {}
            }
        }
    }
}

/// The counters a sample keeps, as the recorder renders them.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
struct Counters {
    firehose_frames: f64,
    firehose_records: f64,
    sync_latency_sum: f64,
    sync_latency_count: f64,
    publish_sum: f64,
    publish_count: f64,
}

impl Counters {
    fn read(text: &str) -> Self {
        let total = |name: &str| sum_of(text, name);
        Self {
            firehose_frames: total(metrics::FIREHOSE_FRAMES_TOTAL),
            firehose_records: total(metrics::FIREHOSE_RECORDS_TOTAL),
            sync_latency_sum: total(&format!("{}_sum", metrics::SYNC_LATENCY_SECONDS)),
            sync_latency_count: total(&format!("{}_count", metrics::SYNC_LATENCY_SECONDS)),
            publish_sum: total(&format!("{}_sum", metrics::PUBLISH_DURATION_SECONDS)),
            publish_count: total(&format!("{}_count", metrics::PUBLISH_DURATION_SECONDS)),
        }
    }
}

/// The sum of every series named `name` (whatever its labels) in Prometheus's text format.
fn sum_of(text: &str, name: &str) -> f64 {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| {
            let rest = line.strip_prefix(name)?;
            let value = match rest.chars().next()? {
                // Label values may hold spaces: the value follows the closing brace.
                '{' => &rest[rest.rfind('}')? + 1..],
                ' ' => rest,
                _ => return None, // another metric whose name starts with this one
            };
            value.split_whitespace().next()?.parse::<f64>().ok()
        })
        .filter(|value| value.is_finite())
        .sum()
}

/// The four series over one window, one value per bucket (`None`: nothing to show there).
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub firehose_frames_per_second: Vec<Option<f64>>,
    pub sync_latency_seconds: Vec<Option<f64>>,
    pub publish_milliseconds: Vec<Option<f64>>,
    pub in_sync_percent: Vec<Option<f64>>,
}

/// What one bucket gathers: per instance its frames and seconds, and the means' sums and counts.
#[derive(Default)]
struct Bucket {
    frames: HashMap<String, (f64, f64)>,
    latency: (f64, f64),
    publish: (f64, f64),
    in_sync: Option<f64>,
}

/// Turns samples (per instance in time order, as the store returns them) into `buckets` values
/// per series between `start` and `end`. A difference between two samples counts in the bucket
/// where the later one was taken.
pub fn series(samples: &[MetricSample], start: DateTime<Utc>, end: DateTime<Utc>, buckets: usize) -> Series {
    let width = ((end - start).num_milliseconds().max(1) as f64) / buckets.max(1) as f64;
    let index = |at: DateTime<Utc>| {
        let offset = (at - start).num_milliseconds() as f64 / width;
        (offset >= 0.0).then(|| (offset as usize).min(buckets.saturating_sub(1)))
    };
    let mut gathered: Vec<Bucket> = (0..buckets).map(|_| Bucket::default()).collect();
    for (i, sample) in samples.iter().enumerate() {
        let Some(bucket) = index(sample.taken_at).and_then(|at| gathered.get_mut(at)) else {
            continue;
        };
        bucket.in_sync = Some(if sample.events_total == 0 {
            100.0
        } else {
            100.0 * sample.events_in_sync as f64 / sample.events_total as f64
        });
        let Some(before) = i.checked_sub(1).map(|j| &samples[j]) else {
            continue;
        };
        let seconds = (sample.taken_at - before.taken_at).num_milliseconds() as f64 / 1000.0;
        let frames = (sample.firehose_frames - before.firehose_frames) as f64;
        // Another instance, or counters that went backwards (not one process after all): no difference.
        if before.instance != sample.instance || seconds <= 0.0 || frames < 0.0 {
            continue;
        }
        let entry = bucket.frames.entry(sample.instance.clone()).or_default();
        entry.0 += frames;
        entry.1 += seconds;
        let latency_count = (sample.sync_latency_count - before.sync_latency_count) as f64;
        if latency_count > 0.0 {
            bucket.latency.0 += sample.sync_latency_sum - before.sync_latency_sum;
            bucket.latency.1 += latency_count;
        }
        let publish_count = (sample.publish_count - before.publish_count) as f64;
        if publish_count > 0.0 {
            bucket.publish.0 += sample.publish_sum - before.publish_sum;
            bucket.publish.1 += publish_count;
        }
    }
    let mean = |(sum, count): (f64, f64)| (count > 0.0).then(|| sum / count);
    Series {
        start,
        end,
        firehose_frames_per_second: gathered
            .iter()
            .map(|b| (!b.frames.is_empty()).then(|| b.frames.values().map(|(n, s)| n / s).sum()))
            .collect(),
        sync_latency_seconds: gathered.iter().map(|b| mean(b.latency)).collect(),
        publish_milliseconds: gathered.iter().map(|b| mean(b.publish).map(|s| s * 1000.0)).collect(),
        in_sync_percent: gathered.iter().map(|b| b.in_sync).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(instance: &str, seconds: i64, frames: i64, latency: (f64, i64), in_sync: (i64, i64)) -> MetricSample {
        MetricSample {
            instance: instance.to_owned(),
            taken_at: DateTime::<Utc>::UNIX_EPOCH + Duration::seconds(seconds),
            firehose_frames: frames,
            firehose_records: 0,
            sync_latency_sum: latency.0,
            sync_latency_count: latency.1,
            publish_sum: 0.0,
            publish_count: 0,
            events_total: in_sync.1,
            events_in_sync: in_sync.0,
        }
    }

    #[test]
    fn sums_every_label_set_of_one_metric_and_nothing_else() {
        let text = "# TYPE skymeet_firehose_records_total counter\n\
                    skymeet_firehose_records_total{collection=\"event\",outcome=\"inserted\"} 3\n\
                    skymeet_firehose_records_total{collection=\"rsvp\",outcome=\"a b}\"} 4\n\
                    skymeet_firehose_records_total_other 100\n\
                    skymeet_firehose_frames_total 10\n";
        assert_eq!(sum_of(text, "skymeet_firehose_records_total"), 7.0);
        assert_eq!(sum_of(text, "skymeet_firehose_frames_total"), 10.0);
        assert_eq!(sum_of(text, "skymeet_missing"), 0.0);
    }

    #[test]
    fn rates_and_means_come_from_differences_within_one_instance() {
        let start = DateTime::<Utc>::UNIX_EPOCH;
        let samples = [
            sample("a", 0, 100, (0.0, 0), (1, 2)),
            sample("a", 10, 200, (3.0, 2), (2, 2)),
            sample("a", 20, 200, (3.0, 2), (2, 2)),
            // Another process: its counters start again and are not differenced against "a".
            sample("b", 15, 5, (0.0, 0), (2, 2)),
            sample("b", 19, 25, (1.0, 1), (2, 2)),
        ];
        let series = series(&samples, start, start + Duration::seconds(30), 3);
        assert_eq!(series.firehose_frames_per_second, [None, Some(10.0 + 5.0), Some(0.0)]);
        assert_eq!(series.sync_latency_seconds, [None, Some(4.0 / 3.0), None]);
        assert_eq!(series.in_sync_percent, [Some(50.0), Some(100.0), Some(100.0)]);
        assert_eq!(series.publish_milliseconds, [None, None, None]);
    }

    #[test]
    fn samples_outside_the_window_are_left_out() {
        let start = DateTime::<Utc>::UNIX_EPOCH + Duration::seconds(100);
        let samples = [
            sample("a", 0, 0, (0.0, 0), (0, 0)),
            sample("a", 110, 50, (0.0, 0), (0, 0)),
        ];
        let series = series(&samples, start, start + Duration::seconds(20), 2);
        // The difference spans the window's edge: it still counts where the later sample falls.
        assert_eq!(series.firehose_frames_per_second, [None, Some(50.0 / 110.0)]);
        assert_eq!(series.in_sync_percent, [None, Some(100.0)]);
    }
}
