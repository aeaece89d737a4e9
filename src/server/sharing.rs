//! What makes an event page share well: a short description for link previews (Open Graph,
//! Twitter cards) and schema.org `Event` JSON-LD for search engines, built from what the page
//! shows.

use crate::domain::{EventDraft, EventMode, EventStatus, Place};
use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};

/// The most characters of the description a link preview gets.
pub const PREVIEW_MAX_CHARS: usize = 300;

/// The one who organises an event, as the page names them.
pub struct Organiser {
    pub name: String,
    /// Their page here, when they have one.
    pub url: Option<String>,
}

/// A line for link previews: the start of the description, else when and where.
pub fn preview(draft: &EventDraft, place: Option<&str>) -> String {
    let description = draft.description.as_deref().map(str::trim).unwrap_or_default();
    let text = if description.is_empty() {
        let when = draft.starts_at.map(|at| draft.time_zone.format(at));
        [when.as_deref(), place]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" · ")
    } else {
        description.split_whitespace().collect::<Vec<_>>().join(" ")
    };
    let mut preview: String = text
        .chars()
        .filter(|c| !c.is_control())
        .take(PREVIEW_MAX_CHARS)
        .collect();
    if text.chars().count() > PREVIEW_MAX_CHARS {
        preview.push('…');
    }
    preview
}

/// The event as schema.org `Event` JSON-LD, ready to be the body of a
/// `<script type="application/ld+json">`: nothing in it can end the script early.
pub fn json_ld(
    draft: &EventDraft,
    places: &[Place],
    organiser: Option<&Organiser>,
    image: Option<&str>,
    page_url: &str,
) -> String {
    let mut event = Map::new();
    event.insert("@context".into(), json!("https://schema.org"));
    event.insert("@type".into(), json!("Event"));
    event.insert("name".into(), json!(draft.name));
    event.insert("url".into(), json!(page_url));
    if let Some(description) = draft.description.as_deref() {
        event.insert("description".into(), json!(description));
    }
    let with_offset = |at: DateTime<Utc>| at.with_timezone(&draft.time_zone.tz()).to_rfc3339();
    if let Some(start) = draft.starts_at {
        event.insert("startDate".into(), json!(with_offset(start)));
    }
    if let Some(end) = draft.ends_at {
        event.insert("endDate".into(), json!(with_offset(end)));
    }
    let status = match draft.status {
        EventStatus::Scheduled | EventStatus::Planned => "EventScheduled",
        EventStatus::Cancelled => "EventCancelled",
        EventStatus::Postponed => "EventPostponed",
        EventStatus::Rescheduled => "EventRescheduled",
    };
    event.insert("eventStatus".into(), json!(format!("https://schema.org/{status}")));
    let mode = match draft.mode {
        EventMode::InPerson => "OfflineEventAttendanceMode",
        EventMode::Virtual => "OnlineEventAttendanceMode",
        EventMode::Hybrid => "MixedEventAttendanceMode",
    };
    event.insert(
        "eventAttendanceMode".into(),
        json!(format!("https://schema.org/{mode}")),
    );
    let locations: Vec<Value> = places.iter().filter_map(location).collect();
    if !locations.is_empty() {
        event.insert("location".into(), Value::Array(locations));
    }
    if let Some(image) = image {
        event.insert("image".into(), json!([image]));
    }
    if let Some(organiser) = organiser {
        let mut person = json!({"@type": "Person", "name": organiser.name});
        if let Some(url) = &organiser.url {
            person["url"] = json!(url);
        }
        event.insert("organizer".into(), person);
    }
    script_safe(&Value::Object(event).to_string())
}

/// A place as schema.org sees it; kinds it has no words for are left out.
fn location(place: &Place) -> Option<Value> {
    let geo = |geo: &crate::domain::Geo| {
        geo.point().map(
            |(latitude, longitude)| json!({"@type": "GeoCoordinates", "latitude": latitude, "longitude": longitude}),
        )
    };
    match place {
        Place::Address { name, lines } => Some(json!({
            "@type": "Place",
            "name": name.clone().unwrap_or_else(|| lines.first().cloned().unwrap_or_default()),
            "address": lines.join(", "),
        })),
        Place::Point { name, geo: point } => geo(point)
            .map(|coordinates| json!({"@type": "Place", "name": name.clone().unwrap_or_default(), "geo": coordinates})),
        Place::Foursquare { name, geo: point, .. } => {
            let mut place = json!({"@type": "Place", "name": name.clone().unwrap_or_default()});
            if let Some(coordinates) = point.as_ref().and_then(geo) {
                place["geo"] = coordinates;
            }
            Some(place)
        }
        Place::Online(link) => link.href().map(|url| json!({"@type": "VirtualLocation", "url": url})),
        Place::H3Cell { .. } | Place::Other { .. } => None,
    }
}

/// JSON that can sit inside a `<script>` element: `<`, `>` and `&` (and the two line separators
/// older JavaScript parsers choke on) become `\u` escapes, which JSON reads back as the same
/// characters. A name such as `</script><script>…` therefore stays a string.
fn script_safe(json: &str) -> String {
    let mut safe = String::with_capacity(json.len());
    for c in json.chars() {
        match c {
            '<' => safe.push_str("\\u003c"),
            '>' => safe.push_str("\\u003e"),
            '&' => safe.push_str("\\u0026"),
            '\u{2028}' => safe.push_str("\\u2028"),
            '\u{2029}' => safe.push_str("\\u2029"),
            c => safe.push(c),
        }
    }
    safe
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{EventInput, Link};

    fn draft(name: &str) -> EventDraft {
        EventDraft::parse(&EventInput {
            name: name.to_owned(),
            starts_at: "2031-06-01T18:30".to_owned(),
            time_zone: "Europe/Berlin".to_owned(),
            mode: "hybrid".to_owned(),
            ..Default::default()
        })
        .expect("valid")
    }

    #[test]
    fn the_json_ld_reads_back_as_a_schema_org_event() {
        let places = [
            Place::Address {
                name: Some("Library".to_owned()),
                lines: vec!["1 Main St".to_owned(), "Lyon".to_owned()],
            },
            Place::Online(Link {
                uri: "javascript:alert(1)".to_owned(),
                name: None,
            }),
            Place::Online(Link {
                uri: "https://meet.example/x".to_owned(),
                name: None,
            }),
        ];
        let organiser = Organiser {
            name: "Ada".to_owned(),
            url: Some("https://skymeet.example/u/ada.test".to_owned()),
        };
        let text = json_ld(
            &draft("Night"),
            &places,
            Some(&organiser),
            Some("https://skymeet.example/events/night-1/images/bafkreiabc"),
            "https://skymeet.example/events/night-1",
        );
        let value: Value = serde_json::from_str(&text).expect("JSON");
        assert_eq!(value["@type"], "Event");
        assert_eq!(
            value["startDate"], "2031-06-01T18:30:00+02:00",
            "wall time with its offset"
        );
        assert_eq!(
            value["eventAttendanceMode"],
            "https://schema.org/MixedEventAttendanceMode"
        );
        assert_eq!(
            value["location"].as_array().map(Vec::len),
            Some(2),
            "no javascript: place"
        );
        assert_eq!(value["location"][1]["url"], "https://meet.example/x");
        assert_eq!(value["organizer"]["name"], "Ada");
        assert_eq!(
            value["image"][0],
            "https://skymeet.example/events/night-1/images/bafkreiabc"
        );
    }

    #[test]
    fn nothing_in_a_name_can_end_the_script() {
        let name = "</script><script>alert(1)</script> & \u{2028} <!--";
        let text = json_ld(&draft(name), &[], None, None, "https://skymeet.example/events/x-1");
        assert!(
            !text.contains('<') && !text.contains('>') && !text.contains('&'),
            "{text}"
        );
        let value: Value = serde_json::from_str(&text).expect("JSON");
        assert_eq!(value["name"], name, "and it reads back unchanged");
    }

    #[test]
    fn a_preview_is_short_and_plain() {
        let mut long = draft("Night");
        long.description = Some(format!("Line one\n\nline\u{7} two {}", "x".repeat(400)));
        let text = preview(&long, None);
        assert!(text.starts_with("Line one line two "), "{text}");
        assert_eq!(text.chars().count(), PREVIEW_MAX_CHARS + 1);
        assert_eq!(
            preview(&draft("Night"), Some("Library, Lyon")),
            "Sun 1 Jun 2031, 18:30 CEST · Library, Lyon"
        );
    }
}
