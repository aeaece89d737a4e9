//! The firehose consumer: reads `com.atproto.sync.subscribeRepos` from a relay (or, on the local
//! network, the PDS), or a Jetstream, keeps every calendar event and RSVP from anyone in the
//! cache, and never loses or duplicates one.
//!
//! - [`connection`]: the socket, the one-consumer lock, liveliness and reconnect backoff.
//! - [`frame`]: decoding. Header and body are DAG-CBOR; a commit's CAR is opened only when one of
//!   its operations touches a calendar collection, which almost none do. Names are parsed here.
//! - [`pipeline`]: the hand-over from the socket reader, which decodes each frame as it arrives,
//!   to the applier, which takes what has arrived as one batch; bounded in frames and bytes.
//! - [`consumer`] ([`Ingest`]): applying. Each frame's records become changes to the cache through
//!   the one record mapping (`crate::server::records`); creates and updates upsert by at-uri and
//!   keep the newest repo revision, deletes remove, our own writes coming back (same CID) only
//!   confirm "in sync". The changes and the cursor commit in one transaction, so replaying frames
//!   after a crash changes nothing. Frames without calendar records move the cursor at most once
//!   a second.
//! - [`backfill`] ([`Repos`]): reading whole repos (sign-in, repair, reconciliation) and replaying
//!   dead letters.
//! - [`queue`]: the backfills frames ask for (`#sync`, a commit too big, a gap's repair), run in
//!   the background, bounded, one per repo at a time.
//! - [`telemetry`]: what the consumer tells the dashboard.
//!
//! Never fatal: a frame or record that does not decode or apply goes to the dead-letter table with
//! its raw bytes and the reason, and the consumer goes on. Only a failing store stops a frame.

pub mod backfill;
pub mod connection;
pub mod consumer;
pub mod frame;
pub mod pipeline;
pub mod queue;
pub mod telemetry;

pub use backfill::{BackfillError, Differences, ReplayError, Repos};
pub use connection::{run, FirehoseError};
pub use consumer::Ingest;

/// What the endpoint speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// `com.atproto.sync.subscribeRepos`: DAG-CBOR frames with consecutive sequence numbers.
    SubscribeRepos,
    /// Jetstream: JSON events, filtered by collection at the server; the cursor is `time_us`.
    Jetstream,
}

impl Source {
    /// Jetstream serves `/subscribe`; anything else is taken as subscribeRepos.
    pub fn of(endpoint: &str) -> Self {
        let path = endpoint.split('?').next().unwrap_or(endpoint);
        if path.ends_with("/subscribe") {
            Self::Jetstream
        } else {
            Self::SubscribeRepos
        }
    }
}
