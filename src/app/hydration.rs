//! Whether the browser has taken the server-rendered page over yet.
//!
//! The browser build hydrates asynchronously ([`hydrate`]): when the page shown was split out of
//! the main wasm module (a lazy route, see `app.rs`), its code is fetched first. Effects start
//! running meanwhile, so an effect that changes what the page shows waits for [`hydrated`]:
//! otherwise the page would no longer match the server's HTML by the time it is taken over.

use leptos::prelude::*;

/// The flag, provided at the root by [`hydrate`]; absent on the server.
#[derive(Clone)]
struct Hydrated(ArcReadSignal<bool>);

/// True once the page is hydrated, and from then on; always false on the server. Reading it in
/// an effect makes the effect run again when the page is hydrated.
pub fn hydrated() -> Signal<bool> {
    let flag = use_context::<Hydrated>();
    Signal::derive(move || flag.as_ref().is_some_and(|Hydrated(done)| done.get()))
}

/// Takes the server-rendered `<body>` over, as `leptos::mount::hydrate_lazy` does (it fetches the
/// split-out code of the page shown first, which `hydrate_body` cannot), then sets [`hydrated`].
#[cfg(feature = "hydrate")]
pub fn hydrate<V: IntoView + 'static>(app: fn() -> V) {
    let done = ArcRwSignal::new(false);
    let flag = Hydrated(done.read_only());
    // What `hydrate_lazy` does first: futures are driven by wasm-bindgen-futures. An error only
    // says it was set up already.
    _ = any_spawner::Executor::init_wasm_bindgen();
    leptos::task::spawn_local(async move {
        let root = leptos::mount::hydrate_from_async(leptos::tachys::dom::body(), move || {
            provide_context(flag);
            app()
        })
        .await;
        // The page lives as long as the tab: its reactive root is never cleaned up.
        root.forget();
        done.set(true);
    });
}
