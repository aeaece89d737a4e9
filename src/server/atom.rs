//! Atom feeds (RFC 4287) of events, for feed readers: one entry per event, linking to its page.
//! `atom_syndication` escapes every text for XML; what XML cannot hold at all (most control
//! characters, which a stranger's record may contain) is left out first.

use crate::server::calendar::reads::EventRead;
use atom_syndication::{Entry, Feed, Link, Person, Text};
use chrono::{DateTime, Utc};

/// The most characters of a description an entry's summary carries.
const SUMMARY_MAX_CHARS: usize = 1000;

/// Where the feed lives and which page it mirrors.
pub struct FeedAddress<'a> {
    pub title: &'a str,
    /// The feed's own URL (also its id).
    pub feed_url: &'a str,
    /// The page showing the same events.
    pub page_url: &'a str,
    /// Where event pages are (`{public_url}events/{slug}`).
    pub public_url: &'a url::Url,
}

/// `events` as an Atom document, in their order.
pub fn feed(address: &FeedAddress<'_>, events: &[&EventRead], now: DateTime<Utc>) -> String {
    let entries: Vec<Entry> = events.iter().map(|read| entry(address.public_url, read)).collect();
    // The feed changed when its newest entry did (an empty one: now).
    let updated = events.iter().map(|read| read.event.updated_at).max().unwrap_or(now);
    let mut feed = Feed::default();
    feed.set_title(Text::plain(xml_text(address.title)));
    feed.set_id(address.feed_url);
    feed.set_updated(updated.fixed_offset());
    feed.set_links(vec![
        link(address.feed_url, "self", Some("application/atom+xml")),
        link(address.page_url, "alternate", Some("text/html")),
    ]);
    feed.set_generator(Some(atom_syndication::Generator {
        value: "Skymeet".to_owned(),
        ..Default::default()
    }));
    feed.set_entries(entries);
    feed.to_string()
}

fn entry(public_url: &url::Url, read: &EventRead) -> Entry {
    let event = &read.event;
    let page = public_url
        .join(&format!("events/{}", event.slug))
        .map(String::from)
        .unwrap_or_default();
    let mut entry = Entry::default();
    entry.set_title(Text::plain(xml_text(&read.draft.name)));
    // An event's id is its record when it has one: the same event found through two instances
    // is one entry.
    entry.set_id(event.source.at_uri.clone().unwrap_or_else(|| page.clone()));
    entry.set_updated(event.updated_at.fixed_offset());
    entry.set_published(Some(event.created_at.fixed_offset()));
    entry.set_links(vec![link(&page, "alternate", Some("text/html"))]);
    let when = read.draft.starts_at.map(|at| read.draft.time_zone.format(at));
    let description: Option<String> = read
        .draft
        .description
        .as_deref()
        .map(|text| text.chars().take(SUMMARY_MAX_CHARS).collect());
    let summary = [when, description]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join("\n\n");
    if !summary.is_empty() {
        entry.set_summary(Some(Text::plain(xml_text(&summary))));
    }
    if let Some(owner) = &read.owner {
        let name = match (&owner.display_name, &owner.handle) {
            (Some(name), _) => name.clone(),
            (None, Some(handle)) => format!("@{handle}"),
            (None, None) => "Someone".to_owned(),
        };
        entry.set_authors(vec![Person {
            name: xml_text(&name),
            uri: owner
                .handle
                .as_ref()
                .and_then(|handle| public_url.join(&format!("u/{handle}")).ok())
                .map(String::from),
            ..Default::default()
        }]);
    }
    entry
}

fn link(href: &str, rel: &str, mime: Option<&str>) -> Link {
    Link {
        href: href.to_owned(),
        rel: rel.to_owned(),
        mime_type: mime.map(str::to_owned),
        ..Default::default()
    }
}

/// `text` without the characters XML 1.0 cannot carry (most control characters, lone
/// surrogates cannot occur in a `str`, and U+FFFE/U+FFFF).
fn xml_text(text: &str) -> String {
    text.chars()
        .filter(|&c| matches!(c, '\t' | '\n' | '\r') || (c >= ' ' && c != '\u{FFFE}' && c != '\u{FFFF}'))
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn control_characters_never_reach_the_xml() {
        assert_eq!(super::xml_text("a\u{1}b\u{0}c\td\u{FFFF}"), "abc\td");
    }
}
