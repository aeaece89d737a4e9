//! One `com.atproto.sync.subscribeRepos` frame: a DAG-CBOR header and a DAG-CBOR body, and for
//! `#commit` a CAR file with the blocks of the records it writes. Decoding is lazy where it pays:
//! the CAR is opened only when an operation touches a collection we keep.

use crate::domain::{Collection, Did, Handle, Rev, Rkey};
use ipld_core::{cid::Cid, ipld::Ipld};
use serde::Deserialize;
use serde_json::{Map, Value};
use std::io::Cursor;

#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    #[error("the frame header does not decode: {0}")]
    Header(String),
    #[error("the frame body does not decode: {0}")]
    Body(String),
    #[error("the relay sent an error frame: {0}")]
    Remote(String),
    #[error("the commit's CAR blocks do not decode: {0}")]
    Car(String),
    #[error("operation {path:?} names a block the commit does not carry")]
    MissingBlock { path: String },
    #[error("the record at {path:?} does not decode: {reason}")]
    Record { path: String, reason: String },
    #[error("{0:?} is not a DID")]
    Did(String),
}

#[derive(Deserialize)]
struct Header {
    op: i64,
    #[serde(default)]
    t: Option<String>,
}

#[derive(Deserialize)]
struct ErrorBody {
    error: Option<String>,
    message: Option<String>,
}

#[derive(Deserialize)]
struct CommitBody<'a> {
    seq: i64,
    repo: String,
    rev: String,
    time: String,
    #[serde(default, rename = "tooBig")]
    too_big: bool,
    #[serde(borrow, with = "serde_bytes")]
    blocks: &'a [u8],
    ops: Vec<RepoOp>,
}

#[derive(Deserialize)]
struct RepoOp {
    action: String,
    path: String,
    cid: Option<Cid>,
}

#[derive(Deserialize)]
struct IdentityBody {
    seq: i64,
    did: String,
    #[serde(default)]
    handle: Option<String>,
}

#[derive(Deserialize)]
struct AccountBody {
    seq: i64,
    did: String,
    active: bool,
    #[serde(default)]
    status: Option<String>,
}

#[derive(Deserialize)]
struct SyncBody {
    seq: i64,
    did: String,
}

#[derive(Deserialize)]
struct InfoBody {
    name: String,
    #[serde(default)]
    message: Option<String>,
}

/// A frame, reduced to what Skymeet acts on, its names parsed.
#[derive(Debug, Clone, PartialEq)]
pub enum Frame {
    /// A commit. `ops` holds only the operations on calendar collections.
    Commit {
        seq: i64,
        repo: Did,
        /// `None` when the commit names no valid revision.
        rev: Option<Rev>,
        time: String,
        ops: Vec<RecordOp>,
        /// Operations on calendar collections that name no valid record (a bad record key).
        rejected: Vec<RejectedOp>,
        /// The commit was too big to carry its blocks: the repo has to be re-read.
        too_big: bool,
    },
    Identity {
        seq: i64,
        did: Did,
        /// `None` when the frame names no handle, or one that is not valid.
        handle: Option<Handle>,
    },
    Account {
        seq: i64,
        did: Did,
        active: bool,
        status: Option<String>,
    },
    /// The repo's state was reset (or must be re-read from scratch).
    Sync { seq: i64, did: Did },
    /// From the relay, e.g. `OutdatedCursor`.
    Info { name: String, message: Option<String> },
    /// A message type this version does not know: skipped.
    Other { kind: String },
}

impl Frame {
    pub fn seq(&self) -> Option<i64> {
        match self {
            Self::Commit { seq, .. }
            | Self::Identity { seq, .. }
            | Self::Account { seq, .. }
            | Self::Sync { seq, .. } => Some(*seq),
            Self::Info { .. } | Self::Other { .. } => None,
        }
    }
}

/// One write to a calendar record.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordOp {
    pub action: Action,
    pub collection: Collection,
    pub rkey: Rkey,
    /// The new record's CID (not for deletes).
    pub cid: Option<String>,
    /// The new record, as ATProto JSON (not for deletes).
    pub record: Option<Value>,
}

/// A write to a calendar collection that names no valid record.
#[derive(Debug, Clone, PartialEq)]
pub struct RejectedOp {
    /// `collection/rkey` as the frame has it.
    pub path: String,
    pub reason: String,
    pub record: Option<Value>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Create,
    Update,
    Delete,
}

/// Decodes a frame, keeping the commit operations on calendar collections.
pub fn decode(bytes: &[u8]) -> Result<Frame, FrameError> {
    let mut reader = Cursor::new(bytes);
    let header: Header =
        serde_ipld_dagcbor::de::from_reader_once(&mut reader).map_err(|e| FrameError::Header(e.to_string()))?;
    let body = &bytes[reader.position() as usize..];
    let decode_err = |e: serde_ipld_dagcbor::DecodeError<std::convert::Infallible>| FrameError::Body(e.to_string());
    if header.op == -1 {
        let error: ErrorBody = serde_ipld_dagcbor::from_slice(body).map_err(decode_err)?;
        return Err(FrameError::Remote(format!(
            "{}: {}",
            error.error.unwrap_or_default(),
            error.message.unwrap_or_default()
        )));
    }
    let kind = header.t.unwrap_or_default();
    Ok(match kind.as_str() {
        "#commit" => {
            let commit: CommitBody = serde_ipld_dagcbor::from_slice(body).map_err(decode_err)?;
            let wanted: Vec<(Collection, &RepoOp)> = commit
                .ops
                .iter()
                .filter_map(|op| {
                    let (collection, _) = op.path.split_once('/')?;
                    Some((Collection::from_nsid(collection)?, op))
                })
                .collect();
            let (ops, rejected) = if wanted.is_empty() {
                (Vec::new(), Vec::new())
            } else {
                record_ops(&wanted, commit.blocks)?
            };
            Frame::Commit {
                seq: commit.seq,
                repo: did(commit.repo)?,
                rev: Rev::parse(&commit.rev).ok(),
                time: commit.time,
                ops,
                rejected,
                too_big: commit.too_big,
            }
        }
        "#identity" => {
            let body: IdentityBody = serde_ipld_dagcbor::from_slice(body).map_err(decode_err)?;
            Frame::Identity {
                seq: body.seq,
                did: did(body.did)?,
                handle: body.handle.and_then(|handle| Handle::parse(&handle).ok()),
            }
        }
        "#account" => {
            let body: AccountBody = serde_ipld_dagcbor::from_slice(body).map_err(decode_err)?;
            Frame::Account {
                seq: body.seq,
                did: did(body.did)?,
                active: body.active,
                status: body.status,
            }
        }
        "#sync" => {
            let body: SyncBody = serde_ipld_dagcbor::from_slice(body).map_err(decode_err)?;
            Frame::Sync {
                seq: body.seq,
                did: did(body.did)?,
            }
        }
        "#info" => {
            let body: InfoBody = serde_ipld_dagcbor::from_slice(body).map_err(decode_err)?;
            Frame::Info {
                name: body.name,
                message: body.message,
            }
        }
        _ => Frame::Other { kind },
    })
}

fn did(text: String) -> Result<Did, FrameError> {
    Did::parse(&text).map_err(|_| FrameError::Did(text.chars().take(64).collect()))
}

/// The operations' records, from the commit's CAR: each a [`RecordOp`], or a [`RejectedOp`] when
/// its record key is not valid.
fn record_ops(ops: &[(Collection, &RepoOp)], car: &[u8]) -> Result<(Vec<RecordOp>, Vec<RejectedOp>), FrameError> {
    let blocks = read_car(car)?;
    let mut records = Vec::with_capacity(ops.len());
    let mut rejected = Vec::new();
    for &(collection, op) in ops {
        let rkey = op.path.split_once('/').map_or("", |(_, rkey)| rkey);
        let action = match op.action.as_str() {
            "create" => Action::Create,
            "update" => Action::Update,
            "delete" => Action::Delete,
            other => {
                return Err(FrameError::Record {
                    path: op.path.clone(),
                    reason: format!("unknown action {other:?}"),
                })
            }
        };
        let (cid, record) = match (action, &op.cid) {
            (Action::Delete, _) => (None, None),
            (_, None) => {
                return Err(FrameError::Record {
                    path: op.path.clone(),
                    reason: "no CID".to_owned(),
                })
            }
            (_, Some(cid)) => {
                let block = blocks
                    .iter()
                    .find(|(block_cid, _)| block_cid == cid)
                    .ok_or_else(|| FrameError::MissingBlock { path: op.path.clone() })?;
                let ipld: Ipld = serde_ipld_dagcbor::from_slice(&block.1).map_err(|e| FrameError::Record {
                    path: op.path.clone(),
                    reason: e.to_string(),
                })?;
                (Some(cid.to_string()), Some(to_json(ipld)))
            }
        };
        match Rkey::parse(rkey) {
            Ok(rkey) => records.push(RecordOp {
                action,
                collection,
                rkey,
                cid,
                record,
            }),
            Err(_) => rejected.push(RejectedOp {
                path: op.path.clone(),
                reason: format!("invalid record key {rkey:?}"),
                record,
            }),
        }
    }
    Ok((records, rejected))
}

/// The CAR file's blocks (CARv1, through iroh-car).
fn read_car(car: &[u8]) -> Result<Vec<(Cid, Vec<u8>)>, FrameError> {
    let read = async {
        let mut reader = iroh_car::CarReader::new(car).await?;
        let mut blocks = Vec::new();
        while let Some((cid, data)) = reader.next_block().await? {
            // iroh-car and ipld-core each name their own `cid` crate version; go through bytes.
            let cid = Cid::try_from(cid.to_bytes().as_slice()).map_err(|e| iroh_car::Error::Parsing(e.to_string()))?;
            blocks.push((cid, data));
        }
        Ok::<_, iroh_car::Error>(blocks)
    };
    // Reading from a slice never waits: poll it to completion right here.
    futures_util::FutureExt::now_or_never(read)
        .ok_or_else(|| FrameError::Car("reading the CAR did not complete".to_owned()))?
        .map_err(|e| FrameError::Car(e.to_string()))
}

/// DAG-CBOR data as ATProto JSON: links as `{"$link": cid}`, bytes as `{"$bytes": base64}`.
pub fn to_json(ipld: Ipld) -> Value {
    use base64::{engine::general_purpose::STANDARD_NO_PAD, Engine};
    match ipld {
        Ipld::Null => Value::Null,
        Ipld::Bool(b) => Value::Bool(b),
        Ipld::Integer(i) => i64::try_from(i)
            .map(Value::from)
            .unwrap_or_else(|_| Value::String(i.to_string())),
        Ipld::Float(f) => serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number),
        Ipld::String(s) => Value::String(s),
        Ipld::Bytes(bytes) => {
            let mut map = Map::new();
            map.insert("$bytes".to_owned(), Value::String(STANDARD_NO_PAD.encode(bytes)));
            Value::Object(map)
        }
        Ipld::List(items) => Value::Array(items.into_iter().map(to_json).collect()),
        Ipld::Map(entries) => Value::Object(entries.into_iter().map(|(k, v)| (k, to_json(v))).collect()),
        Ipld::Link(cid) => {
            let mut map = Map::new();
            map.insert("$link".to_owned(), Value::String(cid.to_string()));
            Value::Object(map)
        }
    }
}

/// A Jetstream event (JSON), reduced to the same [`Frame`]s. Its cursor is `time_us`, which
/// takes the place of the sequence number.
pub fn decode_jetstream(text: &[u8]) -> Result<Frame, FrameError> {
    #[derive(Deserialize)]
    struct Event {
        did: String,
        time_us: i64,
        kind: String,
        #[serde(default)]
        commit: Option<JetCommit>,
        #[serde(default)]
        identity: Option<JetIdentity>,
        #[serde(default)]
        account: Option<JetAccount>,
    }
    #[derive(Deserialize)]
    struct JetCommit {
        rev: String,
        operation: String,
        collection: String,
        rkey: String,
        #[serde(default)]
        record: Option<Value>,
        #[serde(default)]
        cid: Option<String>,
    }
    #[derive(Deserialize)]
    struct JetIdentity {
        #[serde(default)]
        handle: Option<String>,
    }
    #[derive(Deserialize)]
    struct JetAccount {
        active: bool,
        #[serde(default)]
        status: Option<String>,
    }
    let event: Event = serde_json::from_slice(text).map_err(|e| FrameError::Body(e.to_string()))?;
    let time = chrono::DateTime::from_timestamp_micros(event.time_us)
        .map(|t| t.to_rfc3339())
        .unwrap_or_default();
    Ok(
        match (event.kind.as_str(), event.commit, event.identity, event.account) {
            ("commit", Some(commit), _, _) => {
                let action = match commit.operation.as_str() {
                    "create" => Action::Create,
                    "update" => Action::Update,
                    "delete" => Action::Delete,
                    other => return Err(FrameError::Body(format!("unknown operation {other:?}"))),
                };
                let (mut ops, mut rejected) = (Vec::new(), Vec::new());
                if let Some(collection) = Collection::from_nsid(&commit.collection) {
                    match Rkey::parse(&commit.rkey) {
                        Ok(rkey) => ops.push(RecordOp {
                            action,
                            collection,
                            rkey,
                            cid: commit.cid,
                            record: commit.record,
                        }),
                        Err(_) => rejected.push(RejectedOp {
                            reason: format!("invalid record key {:?}", commit.rkey),
                            path: format!("{}/{}", commit.collection, commit.rkey),
                            record: commit.record,
                        }),
                    }
                }
                Frame::Commit {
                    seq: event.time_us,
                    repo: did(event.did)?,
                    rev: Rev::parse(&commit.rev).ok(),
                    time,
                    ops,
                    rejected,
                    too_big: false,
                }
            }
            ("identity", _, Some(identity), _) => Frame::Identity {
                seq: event.time_us,
                did: did(event.did)?,
                handle: identity.handle.and_then(|handle| Handle::parse(&handle).ok()),
            },
            ("account", _, _, Some(account)) => Frame::Account {
                seq: event.time_us,
                did: did(event.did)?,
                active: account.active,
                status: account.status,
            },
            (kind, ..) => Frame::Other { kind: kind.to_owned() },
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jetstream_events_become_frames() {
        let create = br#"{"did":"did:plc:abc","time_us":1732440000000000,"kind":"commit","commit":{"rev":"3lbq2aaaaaaa2","operation":"create","collection":"community.lexicon.calendar.event","rkey":"3lbq2aaaaaaa2","record":{"$type":"community.lexicon.calendar.event","name":"Jet"},"cid":"bafyreiabc"}}"#;
        let Frame::Commit { seq, repo, ops, .. } = decode_jetstream(create).expect("decodes") else {
            panic!("a commit");
        };
        assert_eq!((seq, repo.as_str()), (1_732_440_000_000_000, "did:plc:abc"));
        assert_eq!(ops.len(), 1);
        assert_eq!(ops[0].action, Action::Create);
        assert_eq!(
            ops[0].record.as_ref().map(|r| r["name"].clone()),
            Some(Value::from("Jet"))
        );

        let other = br#"{"did":"did:plc:abc","time_us":1,"kind":"commit","commit":{"rev":"r","operation":"create","collection":"app.bsky.feed.like","rkey":"k","record":{},"cid":"c"}}"#;
        assert!(matches!(decode_jetstream(other), Ok(Frame::Commit { ops, .. }) if ops.is_empty()));

        let account = br#"{"did":"did:plc:abc","time_us":2,"kind":"account","account":{"active":false,"did":"did:plc:abc","seq":9,"status":"deleted","time":"2026-11-24T00:00:00Z"}}"#;
        assert_eq!(
            decode_jetstream(account).expect("decodes"),
            Frame::Account {
                seq: 2,
                did: Did::parse("did:plc:abc").expect("a DID"),
                active: false,
                status: Some("deleted".to_owned())
            }
        );
        assert!(decode_jetstream(b"{not json").is_err());
    }

    #[test]
    fn hostile_names_are_refused_where_they_stand() {
        // A record key no record can have: that operation is rejected, the frame still decodes.
        let bad_key = br#"{"did":"did:plc:abc","time_us":3,"kind":"commit","commit":{"rev":"r","operation":"create","collection":"community.lexicon.calendar.rsvp","rkey":"../../etc","record":{"status":"going"},"cid":"c"}}"#;
        let Frame::Commit { ops, rejected, .. } = decode_jetstream(bad_key).expect("decodes") else {
            panic!("a commit");
        };
        assert!(ops.is_empty());
        assert_eq!(rejected.len(), 1);
        assert_eq!(rejected[0].path, "community.lexicon.calendar.rsvp/../../etc");
        assert!(
            rejected[0].reason.contains("invalid record key"),
            "{}",
            rejected[0].reason
        );

        // A repo that is not a DID: the whole frame does not decode (and is dead-lettered).
        let bad_repo = br#"{"did":"<script>","time_us":4,"kind":"commit","commit":{"rev":"r","operation":"delete","collection":"community.lexicon.calendar.event","rkey":"k"}}"#;
        assert!(matches!(decode_jetstream(bad_repo), Err(FrameError::Did(_))));

        // A handle that is not one is dropped; the identity frame still decodes.
        let bad_handle =
            br#"{"did":"did:plc:abc","time_us":5,"kind":"identity","identity":{"handle":"</title><script>"}}"#;
        assert!(matches!(
            decode_jetstream(bad_handle),
            Ok(Frame::Identity { handle: None, .. })
        ));
    }
}
