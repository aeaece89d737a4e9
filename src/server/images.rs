//! Event images (`media[]` blobs) fetched from their owner's PDS through Skymeet, so a page never
//! loads anything from a server a stranger chose, and what it gets is known to be an image:
//!
//! - only a blob the event's record names is fetched (`com.atproto.sync.getBlob`), through the
//!   outgoing client with its SSRF guard, and never more than [`IMAGE_MAX_BYTES`] of it;
//! - the bytes themselves must be a JPEG, PNG, GIF, WebP or AVIF (sniffed with `infer`; the
//!   content type a server claims is ignored, and SVG, which can carry script, is never served);
//! - what passes is kept in memory, at most [`CACHE_MAX_BYTES`] in all, least useful first out.
//!   Nothing is kept for an image that failed, so it is tried again next time.

use crate::domain::{AtUri, BlobCid, Did};
use crate::server::{
    identity::Identity,
    outbound::OutboundError,
    pds::{calendar_event::CalendarEvent, PdsError},
    store::{Store, StoreError},
};
use quick_cache::{sync::Cache, Weighter};
use std::sync::Arc;

/// The largest image served (header images from other apps are well below this).
pub const IMAGE_MAX_BYTES: usize = 3 * 1024 * 1024;
/// The most bytes of images kept in memory at once.
pub const CACHE_MAX_BYTES: u64 = 64 * 1024 * 1024;

/// The image types served, by the type their bytes show.
const ALLOWED: [&str; 5] = ["image/jpeg", "image/png", "image/gif", "image/webp", "image/avif"];

/// An image ready to serve.
#[derive(Debug, Clone)]
pub struct Image {
    pub content_type: &'static str,
    pub bytes: Arc<[u8]>,
}

#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the owner's PDS could not be found: {0}")]
    Unresolved(#[from] PdsError),
    #[error("the PDS could not be read: {0}")]
    Fetch(#[from] OutboundError),
    #[error("the PDS answered {0}")]
    Status(u16),
    #[error("not an image we serve ({0})")]
    NotAnImage(&'static str),
}

#[derive(Clone)]
struct ByBytes;

impl Weighter<BlobCid, Image> for ByBytes {
    fn weight(&self, _cid: &BlobCid, image: &Image) -> u64 {
        image.bytes.len() as u64
    }
}

pub struct Images {
    store: Store,
    identity: Arc<Identity>,
    cache: Cache<BlobCid, Image, ByBytes>,
}

impl Images {
    pub fn new(store: Store, identity: Arc<Identity>) -> Self {
        Self {
            store,
            identity,
            // About 200 KB an image: an estimate of how many fit, which the cache sizes itself by.
            cache: Cache::with_weighter((CACHE_MAX_BYTES / (200 * 1024)) as usize, CACHE_MAX_BYTES, ByBytes),
        }
    }

    /// Image `cid` of event `event_id`; `None` when the event does not exist or its record names
    /// no such image.
    pub async fn of_event(&self, event_id: i64, cid: &BlobCid) -> Result<Option<Image>, ImageError> {
        let Some(event) = self.store.event_by_id(event_id).await? else {
            return Ok(None);
        };
        let named = event
            .record
            .and_then(|value| CalendarEvent::from_value(value).ok())
            .is_some_and(|record| record.images().iter().any(|image| image.cid == *cid));
        let owner = event.source.at_uri.as_deref().and_then(|uri| AtUri::parse(uri).ok());
        let (true, Some(owner)) = (named, owner) else {
            return Ok(None);
        };
        if let Some(image) = self.cache.get(cid) {
            return Ok(Some(image));
        }
        let image = self.fetch(owner.did(), cid).await?;
        self.cache.insert(cid.clone(), image.clone());
        Ok(Some(image))
    }

    async fn fetch(&self, did: &Did, cid: &BlobCid) -> Result<Image, ImageError> {
        let pds = self.identity.pds_endpoint(did).await?;
        let mut url = url::Url::parse(&pds)
            .and_then(|pds| pds.join("/xrpc/com.atproto.sync.getBlob"))
            .map_err(|e| OutboundError::BadRequest(e.to_string()))?;
        url.query_pairs_mut()
            .append_pair("did", did.as_str())
            .append_pair("cid", cid.as_str());
        let response = self.identity.http_client().get(&url, IMAGE_MAX_BYTES).await?;
        if !response.status().is_success() {
            return Err(ImageError::Status(response.status().as_u16()));
        }
        let bytes = response.into_body();
        let content_type = sniff(&bytes)?;
        Ok(Image {
            content_type,
            bytes: bytes.into(),
        })
    }
}

/// The type `bytes` are, if it is one of the [`ALLOWED`] image types.
pub fn sniff(bytes: &[u8]) -> Result<&'static str, ImageError> {
    let found = infer::get(bytes).map_or("unknown", |kind| kind.mime_type());
    ALLOWED
        .iter()
        .find(|allowed| **allowed == found)
        .copied()
        .ok_or(ImageError::NotAnImage(found))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_bytes_of_real_images_pass() {
        let png = [
            0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13, b'I', b'H', b'D', b'R',
        ];
        assert_eq!(sniff(&png).ok(), Some("image/png"));
        assert_eq!(sniff(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10]).ok(), Some("image/jpeg"));
        for bad in [
            &b"<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(1)</script></svg>"[..],
            b"<html><script>alert(1)</script>",
            b"%PDF-1.7",
            b"",
        ] {
            assert!(sniff(bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
    }
}
