//! The iCalendar paths: `GET /events/{slug}/calendar.ics` (one event, to add to a calendar),
//! `GET /series/{slug}/calendar.ics` (a whole series), `GET /u/{handle}/calendar.ics` (what a person
//! organises), `GET /calendar.ics` (the site) and
//! `GET /feeds/{token}/going.ics` (a person's private feed of what they go to); and a search of
//! `/events` as `GET /events/calendar.ics?…` and `GET /events/feed.atom?…`. Feeds carry an
//! `ETag` (a conditional request that matches gets 304 and no body) and may be cached for a few
//! minutes, the private one by the person's own client only.

use crate::domain::{EventSearch, Handle, SearchInput, Slug, TimeZoneName};
use crate::server::{
    atom,
    feeds::{Feed, FeedError, FeedFormat},
    state::AppState,
    store::Looker,
};
use axum::{
    extract::{Path, Query, State},
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    routing::get,
    Router,
};
use std::hash::{DefaultHasher, Hash, Hasher};
use tower_sessions::Session;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/calendar.ics", get(site))
        .route("/events/{slug}/calendar.ics", get(event))
        .route("/series/{slug}/calendar.ics", get(series))
        .route("/u/{handle}/calendar.ics", get(organiser))
        .route("/feeds/{token}/going.ics", get(going))
        .route("/events/calendar.ics", get(found_calendar))
        .route("/events/feed.atom", get(found_atom))
}

/// The most events a search's feed holds (a search by words has at most this many anyway).
const FOUND_IN_FEED: u32 = crate::domain::RANKED_RESULTS_MAX;

async fn found_calendar(
    State(state): State<AppState>,
    Query(search): Query<SearchInput>,
    headers: HeaderMap,
) -> Response {
    found(state, search, headers, FeedFormat::Calendar).await
}

async fn found_atom(State(state): State<AppState>, Query(search): Query<SearchInput>, headers: HeaderMap) -> Response {
    found(state, search, headers, FeedFormat::Atom).await
}

/// A search of `/events` as a feed: the same events, in the same order, the first
/// [`FOUND_IN_FEED`] of them. A feed app has no session, so its dates are days in UTC.
async fn found(state: AppState, search: SearchInput, headers: HeaderMap, format: FeedFormat) -> Response {
    let parsed = match EventSearch::parse(&search) {
        Ok(parsed) => parsed,
        Err(errors) => {
            let messages: Vec<String> = errors.into_iter().map(|error| error.message).collect();
            return (StatusCode::BAD_REQUEST, format!("{}\n", messages.join("\n"))).into_response();
        }
    };
    let now = chrono::Utc::now();
    let found = match state
        .reads()
        .search(&parsed, &TimeZoneName::utc(), now, None, FOUND_IN_FEED, None)
        .await
    {
        Ok(found) => found,
        Err(error) => {
            tracing::warn!(error = %error, "could not read a search's feed");
            return unavailable();
        }
    };
    let reads: Vec<_> = found.results.iter().map(|found| &found.event).collect();
    let title = match &parsed.text {
        Some(text) => format!("Skymeet: events for \u{201c}{}\u{201d}", text.words().join(" ")),
        None => "Skymeet: events".to_owned(),
    };
    let feed = match format {
        FeedFormat::Calendar => {
            let events: Vec<_> = reads.iter().map(|read| &read.event).collect();
            state.feeds().found(&title, &events)
        }
        FeedFormat::Atom => {
            let public_url = &state.config.public_url;
            let query = match search.query_string() {
                query if query.is_empty() => String::new(),
                query => format!("?{query}"),
            };
            let url_of = |path: &str| {
                public_url
                    .join(&format!("{path}{query}"))
                    .map(String::from)
                    .unwrap_or_default()
            };
            let address = atom::FeedAddress {
                title: &title,
                feed_url: &url_of("events/feed.atom"),
                page_url: &url_of("events"),
                public_url,
            };
            Feed {
                name: "events".to_owned(),
                text: atom::feed(&address, &reads, now),
                format: FeedFormat::Atom,
            }
        }
    };
    answer(&headers, Ok(Some(feed)), false)
}

async fn going(State(state): State<AppState>, Path(token): Path<String>, headers: HeaderMap) -> Response {
    let mut response = answer(&headers, state.feeds().going(&token, chrono::Utc::now()).await, false);
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("private, max-age=300"));
    response
}

async fn site(State(state): State<AppState>, headers: HeaderMap) -> Response {
    answer(&headers, state.feeds().site(chrono::Utc::now()).await.map(Some), false)
}

/// `?invite=`: a private event's invitation code, from its link.
#[derive(serde::Deserialize)]
struct Invite {
    invite: Option<String>,
}

/// A private event's calendar is for its organiser and guests only (their session, or the
/// invitation's code): it is never kept by a shared cache.
async fn event(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    Query(Invite { invite }): Query<Invite>,
    session: Session,
    headers: HeaderMap,
) -> Response {
    let Some(id) = Slug::id_in(&slug) else {
        return not_found();
    };
    let viewer = match crate::api::ssr::viewer_of(&state, &session).await {
        Ok(viewer) => viewer,
        Err(_) => return unavailable(),
    };
    let looker = Looker {
        user_id: viewer.map(|viewer| viewer.id),
        invite: invite.as_deref(),
    };
    let (feed, private) = match state.feeds().event(id, looker).await {
        Ok(Some((feed, visibility))) => (Ok(Some(feed)), visibility.is_hidden()),
        other => (other.map(|found| found.map(|(feed, _)| feed)), false),
    };
    let mut response = answer(&headers, feed, true);
    if private {
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-cache"));
    }
    response
}

async fn series(State(state): State<AppState>, Path(slug): Path<String>, headers: HeaderMap) -> Response {
    let Some(id) = Slug::id_in(&slug) else {
        return not_found();
    };
    answer(&headers, state.feeds().series(id, chrono::Utc::now()).await, true)
}

async fn organiser(State(state): State<AppState>, Path(handle): Path<String>, headers: HeaderMap) -> Response {
    let Ok(handle) = Handle::parse(handle.trim_start_matches('@')) else {
        return not_found();
    };
    answer(
        &headers,
        state.feeds().organiser(&handle, chrono::Utc::now()).await,
        false,
    )
}

/// The feed as a response: 304 when the client holds this version, 404 when there is none,
/// 503 when it could not be read. `download` asks the browser to save it as a file.
fn answer(headers: &HeaderMap, feed: Result<Option<Feed>, FeedError>, download: bool) -> Response {
    let feed = match feed {
        Ok(Some(feed)) => feed,
        Ok(None) => return not_found(),
        Err(error) => {
            tracing::warn!(error = %error, "could not read a calendar feed");
            return unavailable();
        }
    };
    let etag = etag(&feed.text);
    let cache = [
        (header::ETAG, etag.clone()),
        (header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=300")),
    ];
    let matches = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|tags| tags.split(',').any(|tag| tag.trim() == etag || tag.trim() == "*"));
    if matches {
        return (StatusCode::NOT_MODIFIED, cache).into_response();
    }
    let disposition = match download {
        // The name is a slug or a handle: letters, digits, dots and dashes only.
        true => format!("attachment; filename=\"{}.{}\"", feed.name, feed.format.extension()),
        false => "inline".to_owned(),
    };
    let disposition = HeaderValue::from_str(&disposition).unwrap_or(HeaderValue::from_static("inline"));
    (
        cache,
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static(feed.format.content_type()),
            ),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        feed.text,
    )
        .into_response()
}

fn unavailable() -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        "The feed could not be read; try again soon.\n",
    )
        .into_response()
}

fn not_found() -> Response {
    (StatusCode::NOT_FOUND, "No such calendar.\n").into_response()
}

/// A strong validator of the text: its length and a 64-bit hash (SipHash with fixed keys, stable
/// for a build; a new build at worst makes clients fetch the feed once more).
fn etag(text: &str) -> HeaderValue {
    let mut hasher = DefaultHasher::new();
    text.hash(&mut hasher);
    let tag = format!("\"{:x}-{:016x}\"", text.len(), hasher.finish());
    HeaderValue::from_str(&tag).unwrap_or(HeaderValue::from_static("\"0\""))
}

/// `path` fit for the logs: a private feed's token is a secret, so it is left out (the request
/// log shows paths only, never query strings).
pub fn loggable_path(path: &str) -> std::borrow::Cow<'_, str> {
    match path.strip_prefix("/feeds/") {
        Some(rest) => format!("/feeds/[token]{}", rest.find('/').map_or("", |at| &rest[at..])).into(),
        None => path.into(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn tokens_stay_out_of_the_logs() {
        assert_eq!(
            super::loggable_path("/feeds/abc123/going.ics"),
            "/feeds/[token]/going.ics"
        );
        assert_eq!(super::loggable_path("/events/x-1"), "/events/x-1");
    }
}
