//! Readable addresses of events and series, such as `/events/weekly-rust-meetup-2bx`.
//!
//! A slug is words from the name the event (or series) had when Skymeet first stored it, a dash,
//! and its id in base 36. The words are fixed at that moment, so a renamed event keeps its
//! address; the id makes every slug unique and lets an address be read back to its event without
//! looking the words up. A bare number (`/events/123`, the addresses of earlier versions) still
//! names an event: the server answers it with a redirect to the slug.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The most characters of words a slug keeps (the id comes on top).
pub const SLUG_WORDS_MAX_CHARS: usize = 60;

/// An event's or a series' address segment: `{words}-{id in base 36}`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Slug(String);

impl Slug {
    /// The slug of `id` with the `words` stored for it. Words that are not a slug's (only `a-z`,
    /// `0-9` and single dashes inside) are cleaned, so the result is always a safe path segment.
    pub fn new(words: &str, id: i64) -> Self {
        let words = clean(words);
        let words = if words.is_empty() { "event" } else { &words };
        Self(format!("{words}-{}", base36(id)))
    }

    /// The id an address segment names: a positive number, or a slug (its last part). `None` for
    /// anything else, such as `new` in `/events/new`.
    pub fn id_in(segment: &str) -> Option<i64> {
        let positive = |id: i64| (id > 0).then_some(id);
        if segment.len() > SLUG_WORDS_MAX_CHARS * 4 {
            return None;
        }
        if !segment.is_empty() && segment.bytes().all(|b| b.is_ascii_digit()) {
            return segment.parse().ok().and_then(positive);
        }
        let (words, id) = segment.rsplit_once('-')?;
        let slug_chars = |s: &str| {
            s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        };
        let id_chars = |s: &str| s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
        if words.is_empty() || id.is_empty() || id.len() > 13 || !slug_chars(words) || !id_chars(id) {
            return None;
        }
        i64::from_str_radix(id, 36).ok().and_then(positive)
    }

    /// The id this slug names.
    pub fn id(&self) -> i64 {
        Self::id_in(&self.0).unwrap_or_default()
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The words of an address for something called `name`: its letters and digits, transliterated
    /// to ASCII (`Café Zürich` becomes `cafe-zurich`), lower case, dashes between words, at most
    /// [`SLUG_WORDS_MAX_CHARS`] and cut at a dash. Empty when nothing of the name is left (a name of
    /// only symbols): [`Slug::new`] then says `event`. Only the server makes slugs, so the browser's
    /// code does not carry the transliteration tables.
    #[cfg(feature = "ssr")]
    pub fn words_of(name: &str) -> String {
        let words = ::slug::slugify(name);
        if words.len() <= SLUG_WORDS_MAX_CHARS {
            return words;
        }
        let cut = &words[..SLUG_WORDS_MAX_CHARS];
        match cut.rsplit_once('-') {
            Some((whole_words, _)) if !whole_words.is_empty() => whole_words.to_owned(),
            _ => cut.trim_end_matches('-').to_owned(),
        }
    }
}

impl fmt::Display for Slug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// `words` with only what a slug may hold: lower-case ASCII letters and digits, single dashes
/// between them, at most [`SLUG_WORDS_MAX_CHARS`].
fn clean(words: &str) -> String {
    let mut cleaned = String::with_capacity(words.len().min(SLUG_WORDS_MAX_CHARS));
    for part in words
        .split(|c: char| !(c.is_ascii_lowercase() || c.is_ascii_digit()))
        .filter(|part| !part.is_empty())
    {
        let needed = part.len() + usize::from(!cleaned.is_empty());
        if cleaned.len() + needed > SLUG_WORDS_MAX_CHARS {
            break;
        }
        if !cleaned.is_empty() {
            cleaned.push('-');
        }
        cleaned.push_str(part);
    }
    cleaned
}

fn base36(id: i64) -> String {
    const DIGITS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut n = id.unsigned_abs();
    let mut digits = Vec::new();
    loop {
        digits.push(DIGITS[(n % 36) as usize]);
        n /= 36;
        if n == 0 {
            break;
        }
    }
    digits.reverse();
    String::from_utf8(digits).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_slug_reads_back_to_its_id() {
        for id in [1, 35, 36, 1_295, 123_456_789, i64::MAX] {
            let slug = Slug::new("weekly-rust-meetup", id);
            assert!(slug.as_str().starts_with("weekly-rust-meetup-"), "{slug}");
            assert_eq!(Slug::id_in(slug.as_str()), Some(id), "{slug}");
            assert_eq!(slug.id(), id);
        }
        assert_eq!(Slug::new("weekly-rust-meetup", 1_295).as_str(), "weekly-rust-meetup-zz");
    }

    #[test]
    fn numbers_still_name_events_and_other_segments_do_not() {
        assert_eq!(Slug::id_in("123"), Some(123));
        assert_eq!(Slug::id_in("2026-1"), Some(1), "words that are a number");
        for segment in [
            "",
            "0",
            "-1",
            "new",
            "edit",
            "a-",
            "-a",
            "A-1",
            "a-1Z",
            "a b-1",
            "a-+1",
            "a-0",
            "../1",
            "a_1",
            "99999999999999999999",
            "a-zzzzzzzzzzzzzz",
        ] {
            assert_eq!(Slug::id_in(segment), None, "{segment:?}");
        }
    }

    #[test]
    fn stored_words_are_cleaned_into_a_safe_segment() {
        assert_eq!(Slug::new("", 1).as_str(), "event-1");
        assert_eq!(Slug::new("--a--b--", 1).as_str(), "a-b-1");
        assert_eq!(Slug::new("<script>/../x", 2).as_str(), "script-x-2");
        let long = "word-".repeat(40);
        let slug = Slug::new(&long, 3);
        assert!(slug.as_str().len() <= SLUG_WORDS_MAX_CHARS + 2, "{slug}");
        assert_eq!(Slug::id_in(slug.as_str()), Some(3));
    }

    #[cfg(feature = "ssr")]
    #[test]
    fn words_come_from_any_name() {
        assert_eq!(Slug::words_of("Weekly Rust Meetup!"), "weekly-rust-meetup");
        assert_eq!(Slug::words_of("Café Zürich — Ünïcode"), "cafe-zurich-unicode");
        assert_eq!(Slug::words_of("\u{202e}evil\u{202c} <b>x</b>"), "evil-b-x-b");
        assert_eq!(Slug::words_of("!!!"), "");
        let long = Slug::words_of(&"verylongword ".repeat(20));
        assert!(long.len() <= SLUG_WORDS_MAX_CHARS && !long.ends_with('-'), "{long}");
        assert_eq!(Slug::words_of(&"x".repeat(100)).len(), SLUG_WORDS_MAX_CHARS);
        // Whatever the name, the words make a slug that reads back to its id.
        for name in ["東京 Rust", "🎉🎉", "a\u{0}b", "ﷺ", "  ", "../../etc/passwd"] {
            let slug = Slug::new(&Slug::words_of(name), 42);
            assert_eq!(Slug::id_in(slug.as_str()), Some(42), "{name:?} -> {slug}");
        }
    }
}
