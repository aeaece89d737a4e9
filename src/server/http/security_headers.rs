//! Headers that tell the browser to refuse what an injected string might try: a
//! `Content-Security-Policy` for every page, `nosniff`, no framing, no referrer to other sites.
//!
//! Every string from a record is escaped where it lands; the policy is the second line. A page's
//! policy runs only scripts carrying that response's nonce: this middleware makes a fresh one for
//! each request and hands it to Leptos (through the request's extensions), which puts it on the
//! page's own scripts (its hydration loader and the data it streams); scripts those load in turn
//! are trusted through `'strict-dynamic'`. Compiling the app's WebAssembly needs
//! `'wasm-unsafe-eval'`. Other responses (JSON, server functions, files) get a policy that allows
//! nothing at all.
//!
//! The middleware, not the page, writes the header, and it chooses the policy by what the response
//! is (HTML or not). A page cannot end up with the wrong one: Leptos copies headers a page sets
//! into the response only on some of its paths, and a page that once went out with the strict
//! policy could not run its scripts.

use axum::{
    extract::Request,
    http::{header, HeaderValue},
    middleware::Next,
    response::Response,
};
use leptos::{
    nonce::Nonce,
    prelude::{provide_context, use_context},
};

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

/// Called before a page renders (from the Leptos context): its scripts carry the nonce the
/// middleware made for this request, replacing the one Leptos made itself.
pub fn provide_page_nonce() {
    let nonce = use_context::<axum::http::request::Parts>().and_then(|parts| parts.extensions.get::<Nonce>().cloned());
    if let Some(nonce) = nonce {
        provide_context(nonce);
    }
}

/// Middleware: the headers every response gets, with the page policy for HTML and the strict one
/// for everything else.
pub async fn add(mut request: Request, next: Next) -> Response {
    let nonce = Nonce::new();
    request.extensions_mut().insert(nonce.clone());
    let mut response = next.run(request).await;
    let is_page = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("text/html"));
    let policy = if is_page {
        // Leptos makes the nonce from URL-safe base64, which is always a valid header value.
        HeaderValue::from_str(&page_policy(&nonce)).unwrap_or(HeaderValue::from_static(NOTHING))
    } else {
        HeaderValue::from_static(NOTHING)
    };
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_SECURITY_POLICY, policy);
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
