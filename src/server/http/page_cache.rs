//! Pages for visitors who are not signed in, rendered once and served again while nothing they
//! show has changed.
//!
//! Most page views come from people who are not signed in, and for them a page depends only on its
//! address and on the data behind it. Rendering it (the queries, then Leptos) costs about a
//! millisecond of CPU; sending a kept copy costs a few microseconds. A copy is served again only
//! while both hold:
//! - the store's [`version`](crate::server::store::Store::version) is the one read before the page
//!   was rendered: any change this process makes to events, answers, series or people's names
//!   moves it, so such a change shows on the very next request;
//! - it is younger than `PAGE_CACHE_SECONDS` (default 10). This bounds what the version cannot
//!   see: another instance's writes on a shared PostgreSQL, a PDS's own copy of a record that an
//!   event page shows, and the passing of time (an event that has just ended).
//!
//! Kept are only pages the app rendered ([`mark_rendered`]; files are not kept here), answering
//! `200 text/html` to a `GET` without the session cookie and setting no cookie: a signed-in page,
//! or one in a visitor's time zone, is never kept. Each copy is served with a fresh CSP nonce in
//! place of the one the page was rendered with, so no two responses share a nonce. At most
//! [`KEPT_BYTES`] of pages are kept, none larger than [`LARGEST_PAGE`] and none under an address
//! longer than [`LONGEST_ADDRESS`].

use crate::server::{session::COOKIE_NAME, store::Store};
use axum::{
    body::{Body, Bytes},
    extract::{Request, State},
    http::{header, HeaderMap, Method, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
};
use leptos::nonce::Nonce;
use quick_cache::{sync::Cache, Weighter};
use std::{
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

/// The most bytes of pages kept at once.
pub const KEPT_BYTES: u64 = 32 * 1024 * 1024;
/// A larger page is sent but not kept.
pub const LARGEST_PAGE: usize = 512 * 1024;
/// A page under a longer address (path and query) is sent but not kept.
pub const LONGEST_ADDRESS: usize = 2048;

/// What was learnt of an address: its page, or that its answer is not one to keep (a file, JSON,
/// a not-found page, a page too large), so that its requests go straight through, none waiting
/// for another, until the version moves or the lifetime ends.
struct Kept {
    /// The store's version read before rendering.
    version: u64,
    made: Instant,
    page: Option<Page>,
}

/// A page as it was sent.
struct Page {
    headers: HeaderMap,
    body: Bytes,
    /// The nonce the page's scripts carry.
    nonce: String,
}

#[derive(Clone)]
struct ByBytes;

/// What an entry costs beside its address and body: the headers, the nonce, the bookkeeping. It
/// also bounds the entries that hold no page (each address a crawler invents is one).
const ENTRY_BYTES: usize = 512;

impl Weighter<String, Arc<Kept>> for ByBytes {
    fn weight(&self, address: &String, kept: &Arc<Kept>) -> u64 {
        (ENTRY_BYTES + address.len() + kept.page.as_ref().map_or(0, |page| page.body.len())) as u64
    }
}

/// The kept pages, shared by every request of one app.
pub struct PageCache {
    store: Store,
    /// How long a page is kept at most.
    lifetime: Duration,
    pages: Cache<String, Arc<Kept>, ByBytes>,
}

impl PageCache {
    pub fn new(store: Store, lifetime: Duration) -> Self {
        Self {
            store,
            lifetime,
            // About 40 KB a page: an estimate of how many fit, which the cache sizes itself by.
            pages: Cache::with_weighter((KEPT_BYTES / (40 * 1024)) as usize, KEPT_BYTES, ByBytes),
        }
    }

    /// Whether `page` is still what a render would show.
    fn is_fresh(&self, page: &Kept) -> bool {
        page.version == self.store.version() && page.made.elapsed() < self.lifetime
    }

    /// The fresh copy of the page at `address`; otherwise the right to render it, or `None` when
    /// the copy another request rendered meanwhile is already out of date. Requests for a page
    /// that is being rendered wait for it, so a page that has just expired is rendered once, not
    /// once for each request that comes in meanwhile.
    async fn fresh_or_guard(&self, address: &str) -> Result<Arc<Kept>, Option<Guard<'_>>> {
        if let Some(page) = self.pages.get(address) {
            if self.is_fresh(&page) {
                return Ok(page);
            }
            // Out of date: gone (unless another request has just put a new copy in its place).
            self.pages.remove_if(address, |kept| Arc::ptr_eq(kept, &page));
        }
        match self.pages.get_value_or_guard_async(address).await {
            Ok(page) if self.is_fresh(&page) => Ok(page),
            Ok(_) => Err(None),
            Err(guard) => Err(Some(guard)),
        }
    }
}

/// The right to render a page others wait for.
type Guard<'a> = quick_cache::sync::PlaceholderGuard<
    'a,
    String,
    Arc<Kept>,
    ByBytes,
    quick_cache::DefaultHashBuilder,
    quick_cache::sync::DefaultLifecycle<String, Arc<Kept>>,
>;

/// Whether the app rendered the answer to a request: set through the request's extensions while
/// a page renders, so that files (served by the same fallback) are never kept.
#[derive(Clone, Default)]
struct Rendered(Arc<AtomicBool>);

/// Called before a page renders (from the Leptos context): it may be kept.
pub fn mark_rendered() {
    let parts = leptos::prelude::use_context::<axum::http::request::Parts>();
    if let Some(rendered) = parts.as_ref().and_then(|parts| parts.extensions.get::<Rendered>()) {
        rendered.0.store(true, Ordering::Release);
    }
}

/// Middleware: serves a kept copy, or lets the app answer and keeps the page it rendered.
pub async fn serve(State(cache): State<Arc<PageCache>>, mut request: Request, next: Next) -> Response {
    let Some(address) = keepable_request(&request) else {
        return next.run(request).await;
    };
    // The security headers' middleware made this response's nonce; without one nothing is kept.
    let Some(nonce) = request.extensions().get::<Nonce>().map(|nonce| nonce.to_string()) else {
        return next.run(request).await;
    };
    let guard = match cache.fresh_or_guard(&address).await {
        Ok(kept) => match &kept.page {
            Some(page) => return with_nonce(page, &nonce),
            None => return next.run(request).await,
        },
        Err(guard) => guard,
    };
    let version = cache.store.version();
    let made = Instant::now();
    let rendered = Rendered::default();
    request.extensions_mut().insert(rendered.clone());
    let response = next.run(request).await;
    // Whoever waits for this address learns now what it is (a guard dropped unused would hand
    // the request to the next one waiting).
    let remember = |page: Option<Page>| {
        let kept = Arc::new(Kept { version, made, page });
        match guard {
            Some(guard) => drop(guard.insert(kept)),
            None => cache.pages.insert(address, kept),
        }
    };
    if !rendered.0.load(Ordering::Acquire) || !keepable_response(&response) {
        remember(None);
        return response;
    }
    let (parts, body) = response.into_parts();
    // The page is already rendered in memory or streaming from it: what is collected here is
    // bounded by what the app renders (every listing is paged).
    let body = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(body) => body,
        Err(e) => {
            tracing::warn!(error = %e, "a page failed while it was sent");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    let page = (body.len() <= LARGEST_PAGE).then(|| {
        let mut headers = parts.headers.clone();
        headers.remove(header::CONTENT_LENGTH);
        Page {
            headers,
            body: body.clone(),
            nonce,
        }
    });
    remember(page);
    Response::from_parts(parts, Body::from(body))
}

/// The address to keep the answer to `request` under, if it may be kept: a `GET` by someone
/// without a session.
fn keepable_request(request: &Request) -> Option<String> {
    if request.method() != Method::GET || has_session(request.headers()) {
        return None;
    }
    let address = request.uri().path_and_query()?.as_str();
    (address.len() <= LONGEST_ADDRESS).then(|| address.to_owned())
}

fn has_session(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .any(|cookie| cookie.trim().split('=').next() == Some(COOKIE_NAME))
}

/// Whether a rendered answer may be served again to others: a whole page, that sets nothing.
fn keepable_response(response: &Response) -> bool {
    let headers = response.headers();
    response.status() == StatusCode::OK
        && !headers.contains_key(header::SET_COOKIE)
        && headers
            .get(header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|value| value.starts_with("text/html"))
}

/// The kept page with `nonce` in place of the one it was rendered with, wherever Leptos wrote it
/// (its scripts' `nonce`, and the `crossorigin` of its preload links). A nonce is 128 random
/// bits, made after the data the page shows was written: nothing else on the page can equal it.
fn with_nonce(page: &Page, nonce: &str) -> Response {
    let body = replace_all(&page.body, page.nonce.as_bytes(), nonce.as_bytes());
    let mut response = Response::new(Body::from(body));
    *response.headers_mut() = page.headers.clone();
    response
}

/// `haystack` with every `from` replaced by `to`.
fn replace_all(haystack: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(haystack.len() + 64);
    let mut rest = haystack;
    while let Some(at) = memchr::memmem::find(rest, from) {
        out.extend_from_slice(&rest[..at]);
        out.extend_from_slice(to);
        rest = &rest[at + from.len()..];
    }
    out.extend_from_slice(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_occurrence_is_replaced() {
        let page = b"<script nonce=\"abc\">x</script><link crossorigin=\"abc\"><p>ab c</p>abc";
        let out = replace_all(page, b"abc", b"xyz");
        assert_eq!(
            out,
            b"<script nonce=\"xyz\">x</script><link crossorigin=\"xyz\"><p>ab c</p>xyz"
        );
        assert_eq!(replace_all(b"none here", b"abc", b"xyz"), b"none here");
    }

    #[test]
    fn only_requests_without_a_session_are_kept() {
        let request = |cookie: Option<&str>, method: Method| {
            let mut builder = Request::builder().method(method).uri("/events?q=walk");
            if let Some(cookie) = cookie {
                builder = builder.header(header::COOKIE, cookie);
            }
            builder.body(Body::empty()).expect("request")
        };
        assert_eq!(
            keepable_request(&request(None, Method::GET)).as_deref(),
            Some("/events?q=walk")
        );
        assert_eq!(
            keepable_request(&request(Some("theme=dark"), Method::GET)).as_deref(),
            Some("/events?q=walk")
        );
        assert_eq!(
            keepable_request(&request(Some(&format!("theme=dark; {COOKIE_NAME}=abc")), Method::GET)),
            None
        );
        assert_eq!(keepable_request(&request(None, Method::POST)), None);
        assert_eq!(keepable_request(&request(None, Method::HEAD)), None);
    }

    #[test]
    fn only_whole_pages_that_set_nothing_are_kept() {
        let page = |status: StatusCode, content_type: &str, cookie: bool| {
            let mut response = Response::builder()
                .status(status)
                .header(header::CONTENT_TYPE, content_type);
            if cookie {
                response = response.header(header::SET_COOKIE, "a=b");
            }
            response.body(Body::empty()).expect("response")
        };
        assert!(keepable_response(&page(
            StatusCode::OK,
            "text/html; charset=utf-8",
            false
        )));
        assert!(!keepable_response(&page(StatusCode::OK, "text/html", true)));
        assert!(!keepable_response(&page(StatusCode::NOT_FOUND, "text/html", false)));
        assert!(!keepable_response(&page(StatusCode::OK, "application/json", false)));
    }
}
