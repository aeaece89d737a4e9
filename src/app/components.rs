pub mod error_page;
pub mod layout;
pub mod sync_badge;
pub mod time_zone_form;
