//! Skymeet: community events on ATProto.
//!
//! Dependencies point one way: [`app`] (UI) -> [`api`] (server functions) -> `server` (server only)
//! -> [`domain`] (types every layer shares).

pub mod api;
pub mod app;
pub mod domain;
#[cfg(feature = "ssr")]
pub mod server;

/// The browser entry point: takes over the server-rendered page.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    app::hydration::hydrate(app::App);
}
