//! Headers that tell the browser to refuse what an injected string might try: a
//! `Content-Security-Policy` for every page, `nosniff`, no framing, no referrer to other sites.
//!
//! Every string from a record is escaped where it lands; the policy is the second line. A page's
//! policy runs only scripts carrying that response's nonce: Leptos puts a fresh one on each page's
//! own scripts (its hydration loader and the data it streams), and scripts those load in turn are
//! trusted through `'strict-dynamic'`. Compiling the app's WebAssembly needs `'wasm-unsafe-eval'`.
//! Other responses (JSON, server functions, files) get a policy that allows nothing at all.

use axum::{
    extract::Request,
    http::{header, HeaderValue},
    middleware::Next,
    response::Response,
};
use leptos::prelude::use_context;

/// For anything that is not a page: nothing may run, load or frame it.
const NOTHING: &str = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'";

/// The policy of a page whose scripts carry `nonce`.
pub fn page_policy(nonce: &str) -> String {
    format!(
        "default-src 'self'; script-src 'nonce-{nonce}' 'strict-dynamic' 'wasm-unsafe-eval'; \
         style-src 'self'; img-src 'self' data: https:; object-src 'none'; base-uri 'none'; \
         frame-ancestors 'none'"
    )
}

/// Called while a page renders (from the Leptos context): sets the page's policy with the nonce
/// Leptos gave its scripts for this response.
pub fn provide_page_policy() {
    let (Some(nonce), Some(response)) = (
        leptos::nonce::use_nonce(),
        use_context::<leptos_axum::ResponseOptions>(),
    ) else {
        return;
    };
    // Leptos makes the nonce from URL-safe base64, which is always a valid header value.
    if let Ok(policy) = HeaderValue::from_str(&page_policy(&nonce.to_string())) {
        response.insert_header(header::CONTENT_SECURITY_POLICY, policy);
    }
}

/// Middleware: the headers every response gets, and the strict policy for those without one.
pub async fn add(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers
        .entry(header::CONTENT_SECURITY_POLICY)
        .or_insert(HeaderValue::from_static(NOTHING));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("strict-origin-when-cross-origin"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_runs_only_its_own_scripts() {
        let policy = page_policy("abc123");
        assert!(policy.contains("script-src 'nonce-abc123' 'strict-dynamic' 'wasm-unsafe-eval';"));
        assert!(!policy.contains("unsafe-inline"));
        assert!(policy.contains("frame-ancestors 'none'") && policy.contains("object-src 'none'"));
    }
}
