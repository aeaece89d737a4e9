//! Samples of each instance's counters for the dashboard's charts over time.

use super::{with_pool, Store, StoreError};
use chrono::{DateTime, Utc};

/// One instance's counters at one moment. The counters only grow within one instance (one
/// process), so charts take differences between samples of the same instance.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct MetricSample {
    pub instance: String,
    pub taken_at: DateTime<Utc>,
    pub firehose_frames: i64,
    pub firehose_records: i64,
    pub sync_latency_sum: f64,
    pub sync_latency_count: i64,
    pub publish_sum: f64,
    pub publish_count: i64,
    /// The cache's events then, and how many of them were in sync.
    pub events_total: i64,
    pub events_in_sync: i64,
}

const SAMPLE_COLUMNS: &str = "instance, taken_at, firehose_frames, firehose_records, sync_latency_sum, \
     sync_latency_count, publish_sum, publish_count, events_total, events_in_sync";

impl Store {
    pub async fn add_metric_sample(&self, sample: &MetricSample) -> Result<(), StoreError> {
        let sql =
            format!("insert into metric_sample ({SAMPLE_COLUMNS}) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)");
        with_pool!(self, |pool| {
            sqlx::query(&sql)
                .bind(&sample.instance)
                .bind(sample.taken_at)
                .bind(sample.firehose_frames)
                .bind(sample.firehose_records)
                .bind(sample.sync_latency_sum)
                .bind(sample.sync_latency_count)
                .bind(sample.publish_sum)
                .bind(sample.publish_count)
                .bind(sample.events_total)
                .bind(sample.events_in_sync)
                .execute(pool)
                .await
                .map(|_| ())
        })?;
        Ok(())
    }

    /// Every sample taken since `since`, per instance in time order.
    pub async fn metric_samples_since(&self, since: DateTime<Utc>) -> Result<Vec<MetricSample>, StoreError> {
        let sql =
            format!("select {SAMPLE_COLUMNS} from metric_sample where taken_at >= $1 order by instance, taken_at");
        Ok(with_pool!(self, |pool| sqlx::query_as(&sql)
            .bind(since)
            .fetch_all(pool)
            .await)?)
    }

    /// Forgets samples taken before `before`; returns how many.
    pub async fn delete_metric_samples_before(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        let done = with_pool!(self, |pool| sqlx::query(
            "delete from metric_sample where taken_at < $1"
        )
        .bind(before)
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?;
        Ok(done)
    }
}
