//! Domain types shared by the server and the browser.
//!
//! Each type parses its input once (`parse`) and is trusted from then on. Nothing here depends on
//! other modules of this crate.

mod at_uri;
mod collection;
mod did;
mod display_name;
mod email;
mod event_draft;
mod handle;
mod image;
mod place;
mod record_key;
mod repeat;
mod rev;
mod search;
mod slug;
mod sync_status;
mod time_zone;
mod visibility;
mod write;

pub use at_uri::{AtUri, AtUriError};
pub use collection::Collection;
pub use did::{Did, DidError};
pub use display_name::{DisplayName, DisplayNameError, DISPLAY_NAME_MAX_CHARS};
pub use email::{EmailAddress, EmailError, EMAIL_MAX_CHARS};
#[cfg(feature = "ssr")]
pub use event_draft::local_to_utc;
pub use event_draft::{
    check_url, Address, EventDraft, EventInput, EventMode, EventStatus, FieldError, Geo, Link, RsvpStatus,
    DESCRIPTION_MAX_CHARS, NAME_MAX_CHARS,
};
pub use handle::{Handle, HandleError};
pub use image::{BlobCid, EventImage, ImageRole, ALT_MAX_CHARS};
pub use place::{place_text, Place, PLACE_TEXT_MAX_CHARS};
pub use record_key::{Rkey, RkeyError};
pub use repeat::{
    occurrence_key, parse_occurrence_key, weekday_code, Frequency, MonthlyBy, Repeat, RepeatInput, SeriesEnd,
};
pub use rev::{Rev, RevError};
pub use search::{
    unmarked, Cursor, Dates, EventSearch, Marked, Near, QuickRange, SearchInput, SearchText, Window, MARK_END,
    MARK_START, NEAR_DEFAULT_KM, NEAR_MAX_KM, RANKED_RESULTS_MAX, SEARCH_TEXT_MAX_CHARS,
};
pub use slug::{Slug, SLUG_WORDS_MAX_CHARS};
pub use sync_status::{SyncStatus, UnknownSyncStatus};
pub use time_zone::{ShownZone, TimeZoneError, TimeZoneName, UnknownZone, COMMON_TIME_ZONES};
pub use visibility::{UnknownVisibility, Visibility};
pub use write::{Decision, UnknownName, WriteOperation, WriteState};

mod provider;
pub use provider::{Provider, UnknownProvider};
