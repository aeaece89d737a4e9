//! Refuses state-changing requests that another site's page made the browser send (cross-site
//! request forgery, including signing a victim in as someone else at `/api/login`).
//!
//! A cookie with `SameSite=Lax` still goes with a request from another port of the same host, or
//! from a sibling subdomain ("same-site" is not "same-origin"), so every request that is not
//! `GET`, `HEAD` or `OPTIONS` must show it came from one of our own pages. The rule is the one Go's
//! `net/http.CrossOriginProtection` uses:
//!
//! 1. A browser that sends `Sec-Fetch-Site` (every current one) says where the request came from:
//!    only `same-origin` (our page) and `none` (typed by the person) pass.
//! 2. Without it, an `Origin` header must name the host the request was sent to.
//! 3. A request with neither did not come from a browser page (a script, `curl`): it passes, since
//!    it cannot carry a victim's cookie without the victim's help.
//!
//! A refused request gets 403 with [`ErrorCode::CrossSite`], and nothing behind this runs.

use crate::api::{ApiError, ErrorCode};
use axum::{
    extract::Request,
    http::{header, HeaderMap, Method},
    middleware::Next,
    response::{IntoResponse, Response},
};

/// The middleware: see the module docs.
pub async fn guard(request: Request, next: Next) -> Response {
    if changes_state(request.method()) && !same_origin(request.headers()) {
        ::metrics::counter!(crate::server::metrics::CROSS_SITE_REFUSED_TOTAL).increment(1);
        return ApiError::from(ErrorCode::CrossSite).into_response();
    }
    next.run(request).await
}

fn changes_state(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Whether the request's headers show it came from our own origin (or from no page at all).
fn same_origin(headers: &HeaderMap) -> bool {
    if let Some(site) = headers.get("sec-fetch-site") {
        return matches!(site.as_bytes(), b"same-origin" | b"none");
    }
    let Some(origin) = headers.get(header::ORIGIN) else {
        return true;
    };
    let (Ok(origin), Some(Ok(host))) = (origin.to_str(), headers.get(header::HOST).map(|h| h.to_str())) else {
        return false;
    };
    // `Origin` is `scheme://host[:port]` (or `null`, which matches no host).
    origin
        .split_once("://")
        .is_some_and(|(_, authority)| authority.eq_ignore_ascii_case(host))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn fetch_metadata_decides_when_the_browser_sends_it() {
        assert!(same_origin(&headers(&[("sec-fetch-site", "same-origin")])));
        assert!(same_origin(&headers(&[("sec-fetch-site", "none")])));
        assert!(!same_origin(&headers(&[("sec-fetch-site", "same-site")])));
        assert!(!same_origin(&headers(&[("sec-fetch-site", "cross-site")])));
        // Fetch metadata wins over an Origin that would pass.
        assert!(!same_origin(&headers(&[
            ("sec-fetch-site", "cross-site"),
            ("origin", "http://skymeet.test"),
            ("host", "skymeet.test"),
        ])));
    }

    #[test]
    fn without_fetch_metadata_the_origin_must_name_the_host() {
        let ours = headers(&[("origin", "http://skymeet.test:3000"), ("host", "skymeet.test:3000")]);
        assert!(same_origin(&ours));
        let other_port = headers(&[("origin", "http://skymeet.test:4000"), ("host", "skymeet.test:3000")]);
        assert!(!same_origin(&other_port));
        let other_site = headers(&[("origin", "https://evil.test"), ("host", "skymeet.test")]);
        assert!(!same_origin(&other_site));
        let opaque = headers(&[("origin", "null"), ("host", "skymeet.test")]);
        assert!(!same_origin(&opaque));
        let no_host = headers(&[("origin", "http://skymeet.test")]);
        assert!(!same_origin(&no_host));
    }

    #[test]
    fn requests_from_no_page_pass() {
        assert!(same_origin(&HeaderMap::new()));
        assert!(same_origin(&headers(&[("host", "skymeet.test")])));
    }

    #[test]
    fn only_state_changing_methods_are_checked() {
        assert!(!changes_state(&Method::GET));
        assert!(!changes_state(&Method::HEAD));
        assert!(!changes_state(&Method::OPTIONS));
        assert!(changes_state(&Method::POST));
        assert!(changes_state(&Method::DELETE));
        assert!(changes_state(&Method::PUT));
    }
}
