//! `community.lexicon.calendar.rsvp` records: one person's answer to one event.
//!
//! Like events, read leniently and written back whole: fields of other apps are kept.

use crate::domain::{AtUri, RsvpStatus};
use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

pub const COLLECTION: &str = crate::domain::Collection::Rsvp.nsid();

/// One RSVP record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CalendarRsvp {
    #[serde(rename = "$type", default = "collection")]
    pub record_type: String,
    /// The event answered: a strong reference (`com.atproto.repo.strongRef`).
    pub subject: Subject,
    /// A status token (`…rsvp#going`); the lexicon's default is going. Kept as written and read
    /// with [`CalendarRsvp::status`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Subject {
    pub uri: String,
    /// Required by the lexicon; some apps leave it out, and the uri is what links it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cid: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

fn collection() -> String {
    COLLECTION.to_owned()
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("not a usable RSVP record: {0}")]
pub struct RsvpError(String);

impl CalendarRsvp {
    /// A new answer to the event `subject` (at its version `cid`).
    pub fn new(subject: &AtUri, cid: &str, status: RsvpStatus, now: DateTime<Utc>) -> Self {
        Self {
            record_type: collection(),
            subject: Subject {
                uri: subject.to_string(),
                cid: Some(cid.to_owned()),
                extra: Map::new(),
            },
            status: Some(status.token()),
            created_at: Some(now.to_rfc3339_opts(SecondsFormat::Millis, true)),
            extra: Map::new(),
        }
    }

    /// Reads a record from any app. Fails without a subject at-uri or with a status it does not
    /// know.
    pub fn from_value(value: Value) -> Result<Self, RsvpError> {
        let record: Self = serde_json::from_value(value).map_err(|e| RsvpError(e.to_string()))?;
        record.subject_uri()?;
        record.status()?;
        Ok(record)
    }

    pub fn to_value(&self) -> Value {
        // Serialising plain data into a `Value` cannot fail (every key is a string).
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    pub fn subject_uri(&self) -> Result<AtUri, RsvpError> {
        AtUri::parse(&self.subject.uri).map_err(|e| RsvpError(format!("subject {:?}: {e}", self.subject.uri)))
    }

    pub fn status(&self) -> Result<RsvpStatus, RsvpError> {
        match &self.status {
            None => Ok(RsvpStatus::default()),
            Some(token) => RsvpStatus::from_token(token).ok_or_else(|| RsvpError(format!("unknown status {token:?}"))),
        }
    }

    /// Changes the answer, now to the event's version `cid`; everything else stays.
    pub fn answer(&mut self, cid: &str, status: RsvpStatus) {
        self.subject.cid = Some(cid.to_owned());
        self.status = Some(status.token());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const EVENT: &str = "at://did:plc:abc/community.lexicon.calendar.event/3kabc";

    #[test]
    fn a_new_answer_is_a_strong_reference_with_a_full_status_token() {
        let subject = AtUri::parse(EVENT).expect("uri");
        let now = DateTime::parse_from_rfc3339("2026-11-24T10:00:00Z")
            .expect("time")
            .to_utc();
        let record = CalendarRsvp::new(&subject, "bafycid", RsvpStatus::Interested, now);
        assert_eq!(
            record.to_value(),
            json!({
                "$type": COLLECTION,
                "subject": {"uri": EVENT, "cid": "bafycid"},
                "status": "community.lexicon.calendar.rsvp#interested",
                "createdAt": "2026-11-24T10:00:00.000Z",
            })
        );
    }

    #[test]
    fn changing_the_answer_keeps_other_apps_fields() {
        let mut record = CalendarRsvp::from_value(json!({
            "$type": COLLECTION,
            "subject": {"uri": EVENT, "cid": "old", "note": "kept"},
            "status": "community.lexicon.calendar.rsvp#going",
            "createdAt": "2025-01-01T00:00:00Z",
            "app.example.guests": 2,
        }))
        .expect("record");
        record.answer("new", RsvpStatus::NotGoing);
        let value = record.to_value();
        assert_eq!(value["subject"], json!({"uri": EVENT, "cid": "new", "note": "kept"}));
        assert_eq!(value["status"], "community.lexicon.calendar.rsvp#notgoing");
        assert_eq!(value["app.example.guests"], 2);
        assert_eq!(value["createdAt"], "2025-01-01T00:00:00Z");
    }

    #[test]
    fn reading_is_lenient_about_what_the_uri_does_not_need() {
        let record = CalendarRsvp::from_value(json!({"subject": {"uri": EVENT}, "status": "interested"}))
            .expect("short token, no cid, no $type");
        assert_eq!(record.status(), Ok(RsvpStatus::Interested));
        assert_eq!(record.subject.cid, None);
        let record = CalendarRsvp::from_value(json!({"subject": {"uri": EVENT}})).expect("no status");
        assert_eq!(record.status(), Ok(RsvpStatus::Going));
    }

    #[test]
    fn a_record_without_a_usable_subject_or_status_is_refused() {
        assert!(CalendarRsvp::from_value(json!({"status": "going"})).is_err());
        assert!(CalendarRsvp::from_value(json!({"subject": {"uri": "https://example.com"}})).is_err());
        assert!(CalendarRsvp::from_value(json!({"subject": {"uri": EVENT}, "status": "#maybe"})).is_err());
        assert!(CalendarRsvp::from_value(json!({"subject": "at://x"})).is_err());
    }
}
