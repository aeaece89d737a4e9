//! The HTTP edge: the router and start-up, redirects to readable addresses, the JSON paths that name an event, health checks, and
//! the OAuth callback and client documents. The only server code that knows the UI (`crate::app`)
//! and the server functions (`crate::api`); everything below it is called as services.

pub mod addresses;
pub mod assets;
pub mod callback;
pub mod event_images;
pub mod feeds;
pub mod health;
pub mod limits;
pub mod metadata;
pub mod page_cache;
pub mod record_json;
pub mod rest;
pub mod same_origin;
pub mod scrape;
pub mod security_headers;
pub mod series_api;
pub mod startup;
