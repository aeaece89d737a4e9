//! The images an event's record carries in `media[]`, the extension field Smoke Signal, OpenMeet
//! and atmo.rsvp write: `{role, content: blob, alt, aspect_ratio}`. Pages show them through
//! Skymeet's own address for them, never from the owner's server directly.

use serde::{Deserialize, Serialize};

/// The most characters of an image's description that are kept.
pub const ALT_MAX_CHARS: usize = 1000;

/// What the record says an image is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ImageRole {
    /// The wide image at the top of the event's page.
    Header,
    /// A small square for lists.
    Thumbnail,
    /// Any other role a record names.
    Other,
}

impl ImageRole {
    pub fn from_token(token: &str) -> Self {
        match token {
            "header" => Self::Header,
            "thumbnail" => Self::Thumbnail,
            _ => Self::Other,
        }
    }
}

/// A blob's content identifier, checked to be a plain CID string (letters and digits only), so it
/// can sit in an address and a query without escaping.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct BlobCid(String);

impl BlobCid {
    pub fn parse(text: &str) -> Option<Self> {
        let fits = (8..=128).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_alphanumeric());
        fits.then(|| Self(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for BlobCid {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value).ok_or_else(|| format!("{value:?} is not a blob CID"))
    }
}

impl From<BlobCid> for String {
    fn from(cid: BlobCid) -> Self {
        cid.0
    }
}

impl std::fmt::Display for BlobCid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// One image of an event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventImage {
    pub role: ImageRole,
    pub cid: BlobCid,
    /// What the image shows, for people who cannot see it; empty when the record gives none.
    pub alt: String,
    /// Width and height, when the record gives them (both above zero).
    pub aspect_ratio: Option<(u32, u32)>,
}

impl EventImage {
    /// The image a page puts at the top: the header, else the first image of any role.
    pub fn header(images: &[Self]) -> Option<&Self> {
        images
            .iter()
            .find(|image| image.role == ImageRole::Header)
            .or_else(|| images.first())
    }

    /// Where Skymeet serves it, for the event at `/events/{slug}`.
    pub fn path(&self, event_path: &str) -> String {
        format!("{event_path}/images/{}", self.cid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_cids_are_taken() {
        assert!(BlobCid::parse("bafkreibme22gw2h7y2h7tg2fhqotaqjucnbc24deqo72b6mkl2egezxhvy").is_some());
        for bad in ["", "short", "../../etc/passwd", "bafy?x=1&y=2", &"a".repeat(129)] {
            assert_eq!(BlobCid::parse(bad), None, "{bad}");
        }
    }
}
