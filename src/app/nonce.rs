//! The page's Content-Security-Policy nonce, on both sides.

/// The nonce the page's own scripts carry: the request's on the server; in the browser, read back
/// from a script the server sent (its `nonce` property: browsers blank the attribute once the
/// page is parsed). An element rendered again in the browser (a page whose data is fetched again
/// when the visitor's time zone is set) carries it too, so every script in the page is its own.
pub fn page_nonce() -> Option<String> {
    #[cfg(not(feature = "hydrate"))]
    {
        leptos::nonce::use_nonce().map(|nonce| nonce.to_string())
    }
    #[cfg(feature = "hydrate")]
    {
        use leptos::{prelude::document, wasm_bindgen::JsCast, web_sys::HtmlElement};
        let script = document().query_selector("script[nonce]").ok()??;
        let nonce = script.dyn_into::<HtmlElement>().ok()?.nonce();
        (!nonce.is_empty()).then_some(nonce)
    }
}
