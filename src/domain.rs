//! Domain types shared by the server and the browser.
//!
//! Each type parses its input once (`parse`) and is trusted from then on. Nothing here depends on
//! other modules of this crate.

mod did;
mod handle;
mod sync_status;
mod time_zone;

pub use did::{Did, DidError};
pub use handle::{Handle, HandleError};
pub use sync_status::{SyncStatus, UnknownSyncStatus};
pub use time_zone::{TimeZoneError, TimeZoneName, COMMON_TIME_ZONES};

mod provider;
pub use provider::{Provider, UnknownProvider};
