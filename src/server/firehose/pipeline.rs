//! The hand-over from the socket reader to the applier. The reader decodes each frame as it
//! arrives, on its own task (so on another core than the applier's database work), and queues
//! what it decoded; the applier takes whatever has arrived as its next batch, one transaction.
//!
//! Only a frame that does not decode travels with its raw bytes (they go to its dead letter).
//! Every other frame travels decoded, and the commits that touch no calendar record (almost all
//! of them) shrink to a sequence number, a DID, a revision and a time. So a batch can cover
//! thousands of frames and still hold little memory.
//!
//! Bounded twice: at most [`BATCH_FRAMES`] frames wait, and at most [`WEIGHT`] bytes of them
//! (see [`Decoded::weight`]); the reader waits for room beyond either.

use super::{
    frame::{self, Frame, FrameError},
    Source,
};
use std::sync::Arc;
use tokio::sync::{mpsc, OwnedSemaphorePermit, Semaphore};

/// The most frames applied in one transaction. Large, because a transaction's fixed cost (a few
/// round trips and a sync to disk) is most of the cost of frames without calendar records.
pub const BATCH_FRAMES: usize = 4_096;
/// The largest frame read (a commit carries at most 2 MB of blocks); the websocket ends a
/// connection that sends a bigger one rather than fill memory.
pub const MAX_FRAME_BYTES: usize = 4 * 1024 * 1024;
/// What the frames waiting may weigh in all: twice the largest frame, so that one always fits.
const WEIGHT: usize = 2 * MAX_FRAME_BYTES;
/// What a decoded frame without calendar records weighs: its DID, revision and time, and the
/// frame's own fields.
const SMALL: usize = 256;

/// A frame as the applier takes it.
#[derive(Debug)]
pub enum Decoded {
    Frame(Frame),
    /// It does not decode: the reason, and the bytes for its dead letter.
    Undecodable {
        error: FrameError,
        bytes: Vec<u8>,
    },
}

impl Decoded {
    /// Decodes `bytes` as `source` speaks.
    pub fn of(source: Source, bytes: &[u8]) -> Self {
        let decoded = match source {
            Source::SubscribeRepos => frame::decode(bytes),
            Source::Jetstream => frame::decode_jetstream(bytes),
        };
        match decoded {
            Ok(frame) => Self::Frame(frame),
            Err(error) => Self::Undecodable {
                error,
                bytes: bytes.to_vec(),
            },
        }
    }

    /// About the memory it holds, in bytes, given the `size` of the frame it came from. A frame
    /// with calendar records (or none at all) counts its whole size: its records or its bytes
    /// came out of those and are no bigger than a small multiple of them. Any other frame is
    /// small whatever its size, since its CAR was never opened.
    pub fn weight(&self, size: usize) -> usize {
        let whole = match self {
            Self::Frame(Frame::Commit { ops, rejected, .. }) => !ops.is_empty() || !rejected.is_empty(),
            Self::Frame(_) => false,
            Self::Undecodable { .. } => true,
        };
        let weight = if whole { size.max(SMALL) } else { SMALL };
        weight.min(WEIGHT)
    }
}

/// The reader's end: decodes frames and queues them.
pub struct Frames {
    source: Source,
    queue: mpsc::Sender<(Decoded, OwnedSemaphorePermit)>,
    room: Arc<Semaphore>,
}

/// The applier's end: takes the queued frames in batches.
pub struct Batches {
    queue: mpsc::Receiver<(Decoded, OwnedSemaphorePermit)>,
    waiting: Vec<(Decoded, OwnedSemaphorePermit)>,
}

/// The frames of one batch, in their order. Until it is dropped their weight counts against the
/// bound: they are in memory until they are applied.
pub struct Batch {
    pub frames: Vec<Decoded>,
    _room: Vec<OwnedSemaphorePermit>,
}

/// A hand-over for frames of `source`.
pub fn channel(source: Source) -> (Frames, Batches) {
    let (queue, receiver) = mpsc::channel(BATCH_FRAMES);
    let frames = Frames {
        source,
        queue,
        room: Arc::new(Semaphore::new(WEIGHT)),
    };
    let batches = Batches {
        queue: receiver,
        waiting: Vec::with_capacity(BATCH_FRAMES),
    };
    (frames, batches)
}

impl Frames {
    /// Decodes `bytes` and queues the frame once there is room for it; `false` when the applier
    /// is gone.
    pub async fn send(&self, bytes: &[u8]) -> bool {
        let decoded = Decoded::of(self.source, bytes);
        // At most WEIGHT, which fits in a u32 and in the semaphore.
        let weight = u32::try_from(decoded.weight(bytes.len())).unwrap_or(u32::MAX);
        let Ok(permit) = Arc::clone(&self.room).acquire_many_owned(weight).await else {
            return false;
        };
        self.queue.send((decoded, permit)).await.is_ok()
    }
}

impl Batches {
    /// Whatever has arrived since the last batch (one frame when the stream is calm, so nothing
    /// waits), at most [`BATCH_FRAMES`]; `None` once the reader is gone and all is taken.
    pub async fn next(&mut self) -> Option<Batch> {
        if self.queue.recv_many(&mut self.waiting, BATCH_FRAMES).await == 0 {
            return None;
        }
        let (frames, room) = self.waiting.drain(..).unzip();
        Some(Batch { frames, _room: room })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_frame_without_calendar_records_weighs_little_and_a_bad_one_its_size() {
        let commit = Decoded::Frame(Frame::Commit {
            seq: 1,
            repo: crate::domain::Did::parse("did:plc:aaaaaaaaaaaaaaaaaaaaaaaa").expect("DID"),
            rev: None,
            time: "2026-11-28T00:00:00Z".to_owned(),
            ops: Vec::new(),
            rejected: Vec::new(),
            too_big: false,
        });
        assert_eq!(commit.weight(100_000), SMALL);
        let bad = Decoded::of(Source::SubscribeRepos, &[0xff; 5_000]);
        assert!(matches!(bad, Decoded::Undecodable { ref bytes, .. } if bytes.len() == 5_000));
        assert_eq!(bad.weight(5_000), 5_000);
        assert_eq!(bad.weight(usize::MAX), WEIGHT);
    }

    #[tokio::test]
    async fn batches_take_what_has_arrived_in_order_and_end_with_the_reader() {
        let (frames, mut batches) = channel(Source::SubscribeRepos);
        for byte in 0..3u8 {
            assert!(frames.send(&[byte]).await);
        }
        drop(frames);
        let batch = batches.next().await.expect("a batch");
        let sizes: Vec<usize> = batch
            .frames
            .iter()
            .map(|decoded| match decoded {
                Decoded::Undecodable { bytes, .. } => usize::from(bytes[0]),
                Decoded::Frame(_) => usize::MAX,
            })
            .collect();
        assert_eq!(sizes, [0, 1, 2]);
        assert!(batches.next().await.is_none());
    }

    #[tokio::test]
    async fn the_reader_waits_while_the_frames_queued_weigh_too_much() {
        let (frames, mut batches) = channel(Source::SubscribeRepos);
        let big = vec![0xff; MAX_FRAME_BYTES];
        assert!(frames.send(&big).await);
        assert!(frames.send(&big).await);
        // A third would pass the bound: it waits until a batch is taken and dropped.
        let third = tokio::time::timeout(std::time::Duration::from_millis(100), frames.send(&big)).await;
        assert!(third.is_err(), "the reader did not wait");
        drop(batches.next().await.expect("a batch"));
        assert!(frames.send(&big).await);
    }
}
