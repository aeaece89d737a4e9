//! Sends a page address of an event or a series that is not its slug to the slug: the numeric
//! addresses of earlier versions (`/events/123`) and slugs with other words than the stored ones
//! get a permanent redirect, keeping the rest of the path and the query
//! (`/events/123/edit?x` to `/events/weekly-rust-meetup-3f/edit?x`). Only `GET` and `HEAD`: a form
//! posts to a server function, and the JSON API takes ids and slugs alike.

use crate::domain::Slug;
use crate::server::{state::AppState, store::Addressed};
use axum::{
    extract::{Request, State},
    http::Method,
    middleware::Next,
    response::{IntoResponse, Redirect, Response},
};

/// The middleware: see the module docs.
pub async fn redirect(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if matches!(*request.method(), Method::GET | Method::HEAD) {
        if let Some(address) = Address::of(request.uri().path()) {
            match state.store.slug_of(address.kind, address.id).await {
                Ok(Some(slug)) if slug.as_str() != address.segment => {
                    let query = request.uri().query().map(|q| format!("?{q}")).unwrap_or_default();
                    let to = format!("/{}/{slug}{}{query}", address.prefix, address.tail);
                    return Redirect::permanent(&to).into_response();
                }
                // Unknown ids are the page's to answer (not found), and so are database failures.
                Ok(_) => {}
                Err(error) => tracing::warn!(error = %error, "could not look up a slug"),
            }
        }
    }
    next.run(request).await
}

/// A page path that names an event or a series by its id or slug.
#[derive(Debug, PartialEq)]
struct Address<'a> {
    kind: Addressed,
    /// `events` or `series`.
    prefix: &'a str,
    /// The id or slug as the path has it.
    segment: &'a str,
    id: i64,
    /// What follows the segment (`/edit`, `/at/20261201T180000Z`), or nothing.
    tail: &'a str,
}

impl<'a> Address<'a> {
    fn of(path: &'a str) -> Option<Self> {
        let (prefix, rest) = path.strip_prefix('/')?.split_once('/')?;
        let kind = match prefix {
            "events" => Addressed::Event,
            "series" => Addressed::Series,
            _ => return None,
        };
        let (segment, tail) = rest.find('/').map_or((rest, ""), |at| rest.split_at(at));
        Slug::id_in(segment).map(|id| Self {
            kind,
            prefix,
            segment,
            id,
            tail,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_id_in_event_and_series_pages() {
        let event = Address::of("/events/123/edit").expect("an event");
        assert_eq!(
            (event.kind, event.segment, event.id, event.tail),
            (Addressed::Event, "123", 123, "/edit")
        );
        let series = Address::of("/series/rust-meetup-zz/at/20261201T180000Z").expect("a series");
        assert_eq!(
            (series.kind, series.id, series.tail),
            (Addressed::Series, 1295, "/at/20261201T180000Z")
        );
        for path in [
            "/events",
            "/events/",
            "/events/new",
            "/u/123",
            "/api/events/1/sync",
            "/",
            "/series/x",
        ] {
            assert_eq!(Address::of(path), None, "{path}");
        }
    }
}
