pub mod attendance;
pub mod error_page;
pub mod event_card;
pub mod event_form;
pub mod layout;
pub mod pending_writes;
pub mod sync_badge;
pub mod time_zone_form;
