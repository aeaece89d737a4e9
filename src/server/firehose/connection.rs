//! The firehose connection: one consumer per database (a lock), a websocket reader feeding a
//! bounded channel, a liveliness timeout on every read, and reconnects with capped, jittered
//! backoff that resets after a healthy connection.

use super::{
    consumer::Ingest,
    pipeline::{self, MAX_FRAME_BYTES},
    Source,
};
use crate::domain::Collection;
use crate::server::{error::Chain, store::StoreError};
use futures_util::{SinkExt, StreamExt};
use std::{
    sync::Arc,
    time::{Duration, Instant},
};
use tokio_tungstenite::tungstenite::{protocol::WebSocketConfig, Message};
use tokio_util::sync::CancellationToken;

/// A connection that says nothing for this long is asked whether it is still there (a ping: a
/// quiet PDS may send nothing for minutes), and dropped when it says nothing for as long again.
const QUIET_PERIOD: Duration = Duration::from_secs(30);
const MIN_BACKOFF: Duration = Duration::from_millis(250);
const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// A connection that lasted this long resets the backoff.
const HEALTHY_PERIOD: Duration = Duration::from_secs(30);
/// How often the consumer checks that it still holds the lock.
const LOCK_CHECK: Duration = Duration::from_secs(1);
/// How often an instance without the consumer lock asks for it again.
const LOCK_RETRY: Duration = Duration::from_secs(2);

#[derive(Debug, thiserror::Error)]
pub enum FirehoseError {
    #[error("connecting to the firehose failed")]
    Connect(#[source] tokio_tungstenite::tungstenite::Error),
    #[error("reading the firehose failed")]
    Read(#[source] tokio_tungstenite::tungstenite::Error),
    #[error("no frame and no answer to a ping for {} s: the connection is dead", 2 * QUIET_PERIOD.as_secs())]
    Silent,
    #[error("the server closed the connection")]
    Closed,
    #[error("the endpoint is not a URL: {0}")]
    Endpoint(String),
    #[error("the store failed")]
    Store(#[from] StoreError),
    #[error("the cursor belongs to another endpoint ({0}); set FIREHOSE_RESET_CURSOR=true to start over")]
    OtherEndpoint(String),
}

/// Reads the firehose until shutdown, reconnecting as needed (see the module docs).
pub async fn run(ingest: Arc<Ingest>, reset_cursor: bool, shutdown: CancellationToken) {
    if let Err(e) = check_endpoint(&ingest, reset_cursor).await {
        tracing::error!(error = %Chain(&e), "the firehose consumer does not start");
        shutdown.cancelled().await;
        return;
    }
    // The backfills frames ask for run beside the consumer, never inside it.
    tokio::spawn({
        let (ingest, stop) = (Arc::clone(&ingest), shutdown.clone());
        async move { ingest.backfills.run(Arc::clone(ingest.repos()), stop).await }
    });
    loop {
        // One consumer per database: wait for the lock (another instance may hold it until it dies).
        let Some(mut lock) = take_lock(&ingest, &shutdown).await else {
            return;
        };
        // If the lock's connection dies, another instance may take over: stop consuming then (a
        // dropped consumer is safe at any point: each frame commits whole or not at all).
        let watch = async {
            loop {
                tokio::time::sleep(LOCK_CHECK).await;
                if !lock.alive().await {
                    return;
                }
            }
        };
        tokio::select! {
            () = consume(&ingest, &shutdown) => return,
            () = watch => tracing::warn!("lost the consumer lock; consuming again once it is retaken"),
        }
        ingest.telemetry.set_connected(false);
        ingest.telemetry.lost_lock();
    }
}

async fn take_lock(ingest: &Ingest, shutdown: &CancellationToken) -> Option<crate::server::store::ConsumerLock> {
    loop {
        match ingest.store.try_consumer_lock().await {
            Ok(Some(lock)) => return Some(lock),
            Ok(None) => tracing::debug!("another instance runs the firehose consumer"),
            Err(e) => tracing::warn!(error = %Chain(&e), "taking the consumer lock failed"),
        }
        tokio::select! {
            () = shutdown.cancelled() => return None,
            () = tokio::time::sleep(LOCK_RETRY) => {}
        }
    }
}

/// Connects, applies, reconnects with backoff; returns at shutdown.
async fn consume(ingest: &Arc<Ingest>, shutdown: &CancellationToken) {
    let mut backoff = MIN_BACKOFF;
    loop {
        let started = Instant::now();
        let result = connection(ingest, shutdown).await;
        if let Err(e) = ingest.flush_cursor().await {
            tracing::warn!(error = %Chain(&e), "persisting the cursor failed");
        }
        if shutdown.is_cancelled() {
            return;
        }
        if let Err(e) = result {
            let error = Chain(&e).to_string();
            if ingest.telemetry.connection_failed(&error) {
                tracing::warn!(%error, "firehose connection ended; retrying with backoff");
            } else {
                tracing::debug!(%error, "firehose connection ended again");
            }
        }
        if started.elapsed() >= HEALTHY_PERIOD {
            backoff = MIN_BACKOFF;
        }
        ingest.telemetry.reconnected();
        let wait = jitter(backoff);
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(wait) => {}
        }
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

async fn check_endpoint(ingest: &Ingest, reset: bool) -> Result<(), FirehoseError> {
    let endpoints = ingest.store.firehose_endpoints().await?;
    let foreign = endpoints.iter().find(|endpoint| *endpoint != ingest.endpoint());
    match (foreign, reset) {
        (Some(_), true) => {
            tracing::warn!(?endpoints, "FIREHOSE_RESET_CURSOR: forgetting the cursors");
            ingest.store.reset_firehose_cursors().await?;
            Ok(())
        }
        (Some(other), false) => Err(FirehoseError::OtherEndpoint(other.clone())),
        (None, _) => Ok(()),
    }
}

/// One connection: a reader task feeding a bounded channel, and this task applying frames.
async fn connection(ingest: &Arc<Ingest>, shutdown: &CancellationToken) -> Result<(), FirehoseError> {
    let mut url = url::Url::parse(ingest.endpoint()).map_err(|e| FirehoseError::Endpoint(e.to_string()))?;
    if ingest.source == Source::Jetstream {
        for collection in Collection::ALL {
            url.query_pairs_mut()
                .append_pair("wantedCollections", collection.nsid());
        }
    }
    if let Some(cursor) = ingest.store.firehose_cursor(ingest.endpoint()).await? {
        url.query_pairs_mut().append_pair("cursor", &cursor.to_string());
    }
    let limits = WebSocketConfig::default()
        .max_message_size(Some(MAX_FRAME_BYTES))
        .max_frame_size(Some(MAX_FRAME_BYTES));
    // A `wss://` endpoint uses the process's TLS settings (set up once, not at every reconnect).
    let tls = crate::server::outbound::shared_tls().map(tokio_tungstenite::Connector::NativeTls);
    let (socket, _) = tokio_tungstenite::connect_async_tls_with_config(url.as_str(), Some(limits), false, tls)
        .await
        .map_err(FirehoseError::Connect)?;
    tracing::info!(endpoint = ingest.endpoint(), "firehose connected");
    ingest.connection_started();
    ingest.telemetry.set_connected(true);
    let (mut write, mut read) = socket.split();
    // The reader decodes as it reads (on its own task: another core than the applier's).
    let (frames, batches) = pipeline::channel(ingest.source);
    let reading = shutdown.child_token();
    let reader = {
        let reading = reading.clone();
        tokio::spawn(async move {
            let mut pinged = false;
            loop {
                let next = tokio::select! {
                    () = reading.cancelled() => return Ok(()),
                    next = tokio::time::timeout(QUIET_PERIOD, read.next()) => next,
                };
                // Anything heard (a frame, the pong) shows the other end is there.
                pinged = pinged && next.is_err();
                match next {
                    Err(_) if !pinged => {
                        if write.send(Message::Ping(Default::default())).await.is_err() {
                            return Err(FirehoseError::Silent);
                        }
                        pinged = true;
                    }
                    Err(_) => return Err(FirehoseError::Silent),
                    Ok(None) => return Err(FirehoseError::Closed),
                    Ok(Some(Err(e))) => return Err(FirehoseError::Read(e)),
                    Ok(Some(Ok(Message::Binary(bytes)))) => {
                        if !frames.send(&bytes).await {
                            return Ok(());
                        }
                    }
                    // Jetstream speaks JSON text.
                    Ok(Some(Ok(Message::Text(text)))) => {
                        if !frames.send(text.as_bytes()).await {
                            return Ok(());
                        }
                    }
                    Ok(Some(Ok(Message::Close(_)))) => return Err(FirehoseError::Closed),
                    Ok(Some(Ok(_))) => {}
                }
            }
        })
    };
    let applied = ingest.apply_batches(batches).await;
    reading.cancel();
    ingest.telemetry.set_connected(false);
    let read = reader.await.unwrap_or(Err(FirehoseError::Closed));
    applied.map_err(FirehoseError::from).and(read)
}

/// ±25% around `base`.
fn jitter(base: Duration) -> Duration {
    use chacha20poly1305::aead::{rand_core::RngCore, OsRng};
    base.mul_f64(0.75 + f64::from(OsRng.next_u32() % 1000) / 2000.0)
}
