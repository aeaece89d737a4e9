//! What a person (or a script) is told when something fails.
//!
//! [`ErrorCode`] is the one list of stable codes: each knows its HTTP status and a message safe to
//! show. [`ApiError`] is what crosses the wire: a code, the message (the code's own, or a more
//! specific one that is just as safe), and the form fields it is about. A database error's text,
//! an address or a credential never gets in: those stay in the server log.
//!
//! The status is set in one place per way out: [`FromServerFnError::ser`] for a server function
//! answering over HTTP, the error page for a page whose data failed, and `IntoResponse` for the
//! JSON handlers of `crate::server::http`.

use crate::domain::FieldError;
use leptos::server_fn::{
    codec::JsonEncoding,
    error::{FromServerFnError, ServerFnErrorErr},
};
use serde::{Deserialize, Serialize};

/// Declares [`ErrorCode`]: for each variant its code (never reused for another meaning), its HTTP
/// status and its default message.
macro_rules! error_codes {
    ($($(#[$doc:meta])* $variant:ident = $code:literal, $status:literal, $message:literal;)*) => {
        /// Every stable error code Skymeet answers with.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum ErrorCode {
            $($(#[$doc])* #[serde(rename = $code)] $variant,)*
        }

        impl ErrorCode {
            /// Every code, in the order declared.
            pub const ALL: &'static [ErrorCode] = &[$(Self::$variant),*];

            /// The code people quote in a bug report, such as `error-auth-6`.
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $code,)* }
            }

            /// The HTTP status a script gets with this code.
            pub fn status(self) -> u16 {
                match self { $(Self::$variant => $status,)* }
            }

            /// The message shown when nothing more specific is said.
            pub fn message(self) -> &'static str {
                match self { $(Self::$variant => $message,)* }
            }
        }
    };
}

error_codes! {
    /// One or more form fields need another look.
    Input = "error-input-1", 400, "Some fields need another look.";
    /// The request could not be read (missing or malformed arguments).
    Request = "error-request-1", 400, "The request was not understood. Reload the page and try again.";
    /// The browser could not reach Skymeet (made on the client; never sent by the server).
    Network = "error-network-1", 503, "Could not reach Skymeet. Check your connection and try again.";
    /// A failure on our side with no more telling code.
    Internal = "error-internal-1", 500, "Something went wrong on our side. Please try again.";
    /// The database failed.
    Store = "error-store-1", 500, "Something went wrong on our side. Please try again in a moment.";
    /// The key-value store (Redis or the in-process one) failed.
    Kv = "error-kv-1", 500, "Something went wrong on our side. Please try again in a moment.";
    /// The session store failed.
    Session = "error-session-1", 500, "Something went wrong on our side. Please try again in a moment.";
    /// A state-changing request sent by another site's page (or another origin): refused.
    CrossSite = "error-request-2", 403, "This request came from another site, so it was refused. Open Skymeet itself and try again.";
    /// The client sent too many requests in a short time.
    RateLimited = "error-request-3", 429, "Too many requests. Please wait a moment and try again.";
    /// The request took longer than the server allows.
    TimedOut = "error-request-4", 503, "That took too long. Please try again in a moment.";
    /// The server is handling as many requests as it takes at once.
    Busy = "error-request-5", 503, "Skymeet is busy. Please try again in a moment.";
    /// The metrics need the bearer token this server was configured with.
    MetricsToken = "error-request-6", 401, "The metrics need this server's token.";

    /// No account answers to the handle or DID given at sign-in.
    AuthUnknownAccount = "error-auth-1", 404, "No Bluesky account was found. Check the spelling and try again.";
    /// The account's Bluesky server (or its authorization server) could not be reached.
    AuthUnreachable = "error-auth-2", 502, "The account's Bluesky server could not be reached. Please try again in a moment.";
    /// This server has no Bluesky sign-in (and so no publishing).
    AuthUnavailable = "error-auth-3", 503, "Signing in with Bluesky is not available on this server yet.";
    /// The profile could not be read from the person's PDS.
    AuthProfileUnreadable = "error-auth-4", 502, "Your profile could not be read from your Bluesky server. Please try again.";
    /// Revoking and forgetting the person's tokens failed.
    AuthDisconnectFailed = "error-auth-5", 502, "Disconnecting failed. Please try again.";
    /// Nobody is signed in (or not with Bluesky).
    AuthSignInFirst = "error-auth-6", 401, "Please sign in with Bluesky first.";
    /// The person's Bluesky session has ended at their server.
    AuthSessionEnded = "error-auth-7", 401, "Your Bluesky session has ended. Please sign in again.";
    /// The account's server is on an address Skymeet does not contact.
    AuthPrivateAddress = "error-auth-9", 400, "That account's server is on a private network address, which Skymeet does not contact.";
    /// Claiming an account that is not the signed-in Bluesky account.
    AuthNotYourAccount = "error-auth-10", 403, "You can only claim the account of the DID you signed in with.";
    /// The Bluesky account has a Skymeet account of its own, so it cannot be connected to another.
    AuthDidTaken = "error-auth-11", 409, "That Bluesky account already has its own Skymeet account. Sign in with Bluesky to use it.";
    /// The account is connected to Bluesky already.
    AuthConnectedAlready = "error-auth-12", 409, "Your account is connected to Bluesky already.";

    /// Only the event's organiser may do this.
    EventNotOrganiser = "error-event-1", 403, "Only the event's organiser can change it.";
    /// Publishing needs a Bluesky account.
    EventNotBluesky = "error-event-2", 403, "Events are published to Bluesky: sign in with Bluesky first.";
    /// No event has this id.
    EventNotFound = "error-event-3", 404, "That event does not exist (any more).";
    /// The event has no record on Bluesky.
    EventNotPublished = "error-event-4", 409, "This event is not on Bluesky.";
    /// The event has no open conflict to resolve.
    EventNoConflict = "error-event-5", 409, "This event has no open conflict to resolve.";
    /// A published event cannot be hidden: its record is public on the network.
    EventPublishedIsPublic = "error-event-6", 409, "This event is on Bluesky, where every record is public, so it cannot be made unlisted or private. Make a new unlisted or private event instead.";
    /// Only a public event is published to Bluesky.
    EventNotPublic = "error-event-7", 409, "Only a public event is published to Bluesky. Make it public first.";

    /// The write waits as a pending write: the PDS could not take it now.
    PdsQueued = "error-pds-1", 503, "Not published yet: your Bluesky server could not be reached. Skymeet keeps it as pending and retries automatically.";
    /// The record changed on the PDS since it was read: nothing was overwritten.
    PdsConflict = "error-pds-2", 409, "This was changed on Bluesky since you opened it, so nothing was overwritten.";
    /// The PDS refused the write.
    PdsRejected = "error-pds-3", 502, "Your Bluesky server refused it. It is kept under Pending on your page, where you can retry or discard it.";
    /// The stored copy of a record cannot be read.
    PdsBadRecord = "error-pds-4", 500, "The stored copy of this event cannot be read; it will be refreshed from Bluesky.";
    /// The account's PDS could not be found or reached to read it.
    PdsUnresolved = "error-pds-5", 502, "That account's Bluesky server could not be reached. Please try again.";
    /// The person did not let Skymeet write calendar records.
    PdsScopeMissing = "error-pds-6", 502, "Your Bluesky account did not allow Skymeet to write calendar records. Sign out, sign in again and allow it.";
    /// The PDS could not be reached to read the record again.
    PdsUnreachable = "error-pds-7", 503, "Your Bluesky server could not be reached, so the event keeps its last copy. Please try again in a moment.";

    /// The event has no record to answer yet.
    RsvpNotPublished = "error-rsvp-1", 409, "This event is not on Bluesky yet, so it cannot be answered. Try again once it is published.";

    /// No series has this id.
    SeriesNotFound = "error-series-1", 404, "That series does not exist (any more).";
    /// Only the series' organiser may change it.
    SeriesNotOrganiser = "error-series-2", 403, "Only the series' organiser can change it.";
    /// The series has no occurrence at the time given.
    SeriesNoOccurrence = "error-series-3", 404, "That series has no occurrence at that time.";
    /// The occurrence's record is not on its organiser's PDS yet, so it cannot be answered.
    SeriesNotPublishedYet = "error-series-4", 409, "This occurrence is not on Bluesky yet: its organiser's server has not taken it. Please try again in a little while.";
    /// The events given do not follow one date pattern (or are not the person's, or are in a
    /// series already).
    SeriesNoPattern = "error-series-5", 422, "These events do not follow one pattern, so they cannot become a series.";
    /// A series is listed (and published) occurrence by occurrence, so it is public.
    SeriesIsPublic = "error-series-6", 409, "A repeating series is public. Leave \"Repeats\" off for an unlisted or private event.";

    /// Only admins may open the dashboard and use its actions.
    AdminOnly = "error-admin-1", 403, "Only Skymeet's admins may open this.";
    /// The admin action needs Bluesky, which this server does not have.
    AdminBlueskyOff = "error-admin-2", 503, "This needs Bluesky sign-in, which is off here.";
    /// A reconciliation is running already.
    AdminReconciling = "error-admin-3", 409, "A reconciliation is already running.";
    /// A dead letter's record still does not apply.
    AdminNotReplayed = "error-admin-4", 422, "Not replayed: the record still does not apply.";
    /// No dead letter has this id.
    AdminNoDeadLetter = "error-admin-5", 404, "That dead letter is gone (replayed or discarded).";
    /// No account answers to the DID or handle to backfill.
    AdminUnknownAccount = "error-admin-6", 404, "No Bluesky account answers to that DID or handle.";
    /// The repo to backfill could not be read.
    AdminRepoUnreadable = "error-admin-7", 502, "That account's repo could not be read.";
    /// No Bluesky user has this id.
    AdminNoUser = "error-admin-8", 404, "No such user.";
    /// Resetting a session failed.
    AdminResetFailed = "error-admin-9", 502, "The session could not be reset. Please try again.";
    /// Importing the network needs a relay, and none is configured.
    AdminNoRelay = "error-admin-10", 503, "No relay is configured (RELAY_URL), so the network cannot be imported.";
    /// An import of the network is running already.
    AdminImporting = "error-admin-11", 409, "An import of the network is already running.";
    /// An admin may not disable their own account.
    AdminNotYourself = "error-admin-12", 409, "You cannot disable your own account.";

    /// An uploaded image is larger than Skymeet takes.
    ImageTooLarge = "error-image-1", 413, "That image is too large: choose one of at most 2 MB.";
    /// An uploaded file is not an image of a kind Skymeet shows (judged by its bytes).
    ImageUnsupported = "error-image-2", 415, "That file is not an image Skymeet can use: choose a JPEG, PNG, GIF, WebP or AVIF file.";
    /// The image's description is longer than Skymeet keeps.
    ImageAltTooLong = "error-image-3", 400, "The image's description is too long: at most 1,000 characters.";
    /// The form came without a file.
    ImageMissing = "error-image-4", 400, "Choose an image file first.";

    /// No local account has this address and password (said the same whichever is wrong).
    AccountWrongCredentials = "error-account-1", 401, "That email address and password do not match an account.";
    /// The account's address is not confirmed yet; a new link went out.
    AccountUnconfirmed = "error-account-2", 403, "Confirm your email address first: we have sent you a new link.";
    /// Too many sign-in attempts for this address or from this client.
    AccountThrottled = "error-account-3", 429, "Too many tries. Please wait a few minutes and try again.";
    /// An admin disabled the account.
    AccountDisabled = "error-account-4", 403, "This account is disabled.";
    /// An emailed link that was never sent (or was mistyped).
    AccountLinkUnknown = "error-account-5", 404, "This link is not valid. Check that it was copied whole, or ask for a new one.";
    /// An emailed link that worked once already.
    AccountLinkUsed = "error-account-6", 410, "This link was used already. Ask for a new one if you still need it.";
    /// An emailed link past its time.
    AccountLinkExpired = "error-account-7", 410, "This link has expired. Ask for a new one.";
    /// The mail server did not take a message.
    AccountMailFailed = "error-account-8", 502, "The email could not be sent just now. Please try again in a moment.";
}

impl ErrorCode {
    /// The code a stable string names, such as `error-image-1`.
    pub fn from_code(text: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|code| code.as_str() == text)
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a person is told when something fails: a message safe to show and a stable code to quote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{message} ({code})")]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
    /// The form field the error is about, when it is about one.
    pub field: Option<String>,
    /// A message per form field, when a whole form was checked.
    #[serde(default)]
    pub fields: Vec<FieldError>,
}

impl From<ErrorCode> for ApiError {
    fn from(code: ErrorCode) -> Self {
        Self::with_message(code, code.message())
    }
}

impl ApiError {
    /// The code with a message more specific than its own (just as safe to show).
    pub fn with_message(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            field: None,
            fields: Vec::new(),
        }
    }

    /// Bad input in one form field.
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        Self::with_message(ErrorCode::Input, message).about(field)
    }

    /// The same error, about one form field.
    pub fn about(mut self, field: &str) -> Self {
        self.field = Some(field.to_owned());
        self
    }

    /// A form with one or more bad fields.
    pub fn form(fields: Vec<FieldError>) -> Self {
        Self {
            fields,
            ..ErrorCode::Input.into()
        }
    }

    /// The HTTP status of this error.
    pub fn status(&self) -> u16 {
        self.code.status()
    }

    /// The message for one form field, if there is one.
    pub fn for_field(&self, field: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|error| error.field == field)
            .map(|error| error.message.as_str())
            .or_else(|| (self.field.as_deref() == Some(field)).then_some(self.message.as_str()))
    }
}

impl FromServerFnError for ApiError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(error: ServerFnErrorErr) -> Self {
        match error {
            ServerFnErrorErr::Request(_) | ServerFnErrorErr::Response(_) => ErrorCode::Network.into(),
            ServerFnErrorErr::Args(_) | ServerFnErrorErr::Deserialization(_) => ErrorCode::Request.into(),
            _ => ErrorCode::Internal.into(),
        }
    }

    /// Encodes the error for its answer, and (on the server) gives that answer the code's status.
    /// `server_fn` calls this exactly when a server function's error becomes its HTTP answer.
    fn ser(&self) -> leptos::server_fn::Bytes {
        #[cfg(feature = "ssr")]
        status::set(self.status());
        // Serializing strings and a unit enum cannot fail; should it, the code alone still goes out.
        <JsonEncoding as leptos::server_fn::Encodes<Self>>::encode(self).unwrap_or_else(|_| {
            leptos::server_fn::Bytes::from(format!(r#"{{"code":"{}","message":""}}"#, ErrorCode::Internal))
        })
    }
}

#[cfg(feature = "ssr")]
pub(crate) mod status {
    use axum::http::{header::ACCEPT, Method, StatusCode};
    use leptos::prelude::use_context;

    /// Sets the status of the answer being made (a server function's, or the page whose rendering
    /// failed). A plain form post (which accepts HTML) keeps the redirect back to its page, which
    /// carries the error instead.
    pub fn set(status: u16) {
        let Some(response) = use_context::<leptos_axum::ResponseOptions>() else {
            return;
        };
        let form_post = use_context::<axum::http::request::Parts>().is_some_and(|parts| {
            parts.method == Method::POST
                && parts
                    .headers
                    .get(ACCEPT)
                    .and_then(|v| v.to_str().ok())
                    .is_some_and(|v| v.contains("text/html"))
        });
        if !form_post {
            response.set_status(StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR));
        }
    }
}

#[cfg(feature = "ssr")]
mod from_server {
    use super::{ApiError, ErrorCode};
    use crate::server::{
        calendar::{reads::ReadError, PublishError},
        dashboard::DashboardError,
        error::{Chain, ServerError},
        kv::KvError,
        pds::PdsError,
        series::{RuleError, SeriesError},
        store::StoreError,
    };

    impl From<ServerError> for ApiError {
        fn from(error: ServerError) -> Self {
            error.log();
            let code = match &error {
                ServerError::Store(_) => ErrorCode::Store,
                ServerError::Kv(_) => ErrorCode::Kv,
                ServerError::Session(_) => ErrorCode::Session,
                ServerError::Request(_) => ErrorCode::Request,
                ServerError::MissingState => ErrorCode::Internal,
            };
            // The same safe words for every failure on our side; the cause is in the log.
            let message = match code {
                ErrorCode::Request => ErrorCode::Request.message(),
                _ => ErrorCode::Store.message(),
            };
            Self::with_message(code, message)
        }
    }

    impl From<StoreError> for ApiError {
        fn from(error: StoreError) -> Self {
            ServerError::from(error).into()
        }
    }

    impl From<KvError> for ApiError {
        fn from(error: KvError) -> Self {
            ServerError::from(error).into()
        }
    }

    impl From<crate::server::feeds::FeedError> for ApiError {
        fn from(error: crate::server::feeds::FeedError) -> Self {
            match error {
                crate::server::feeds::FeedError::Store(error) => error.into(),
                crate::server::feeds::FeedError::Unresolved(error) => {
                    tracing::warn!(error = %error, "could not resolve a handle for a feed");
                    ErrorCode::Internal.into()
                }
            }
        }
    }

    impl From<tower_sessions::session::Error> for ApiError {
        fn from(error: tower_sessions::session::Error) -> Self {
            ServerError::from(error).into()
        }
    }

    impl From<ReadError> for ApiError {
        fn from(error: ReadError) -> Self {
            match error {
                ReadError::Store(e) => e.into(),
                ReadError::Unresolved(e) => {
                    tracing::warn!(error = %Chain(&e), "resolving a handle failed");
                    ErrorCode::PdsUnresolved.into()
                }
            }
        }
    }

    impl From<DashboardError> for ApiError {
        fn from(error: DashboardError) -> Self {
            match error {
                DashboardError::Store(e) => e.into(),
                DashboardError::Kv(e) => e.into(),
            }
        }
    }

    /// Why a queued write has not reached the PDS yet, in words.
    fn why_not_sent(cause: &PdsError) -> &'static str {
        match cause {
            PdsError::SessionEnded => "your Bluesky session has ended; sign in again and it will go out",
            _ => "your Bluesky server could not be reached",
        }
    }

    impl ApiError {
        /// What the organiser is told when writing an event to their PDS failed.
        pub fn publishing(error: PublishError) -> Self {
            tracing::warn!(error = %Chain(&error), "publishing an event failed");
            Self::from_publish_error(error)
        }

        fn from_publish_error(error: PublishError) -> Self {
            match error {
                PublishError::Forbidden => ErrorCode::EventNotOrganiser.into(),
                PublishError::NotBluesky => ErrorCode::EventNotBluesky.into(),
                PublishError::NotPublished => ErrorCode::EventNotPublished.into(),
                PublishError::PublishedIsPublic => ErrorCode::EventPublishedIsPublic.into(),
                PublishError::NotPublic => ErrorCode::EventNotPublic.into(),
                PublishError::NoConflict => ErrorCode::EventNoConflict.into(),
                PublishError::Queued { cause, .. } => Self::with_message(
                    ErrorCode::PdsQueued,
                    format!(
                        "Not published yet: {}. Nothing is lost: Skymeet keeps your event as pending and retries automatically (see Pending on your page).",
                        why_not_sent(&cause)
                    ),
                ),
                PublishError::Conflict { .. } => Self::with_message(
                    ErrorCode::PdsConflict,
                    "This event was changed on Bluesky since you opened it, so your edit was not applied and nothing was overwritten. Your version is kept under Pending on your page.",
                ),
                PublishError::Rejected {
                    cause: PdsError::ScopeMissing,
                    ..
                } => Self::with_message(
                    ErrorCode::PdsScopeMissing,
                    "Your Bluesky account did not allow Skymeet to write calendar events. Sign out, sign in again and allow it; your event is kept under Pending meanwhile.",
                ),
                PublishError::Rejected { cause, .. } => {
                    let detail = match cause {
                        PdsError::Rejected(detail) => detail,
                        other => other.to_string(),
                    };
                    Self::with_message(
                        ErrorCode::PdsRejected,
                        format!("Your Bluesky server refused the event ({detail}). It is kept under Pending on your page, where you can retry or discard it."),
                    )
                }
                PublishError::Unreachable(PdsError::ScopeMissing) => ErrorCode::PdsScopeMissing.into(),
                PublishError::Unreachable(_) => ErrorCode::PdsUnreachable.into(),
                PublishError::BadRecord(_) => ErrorCode::PdsBadRecord.into(),
                PublishError::Store(e) => e.into(),
            }
        }

        /// What someone changing (or answering) a series is told.
        pub fn series(error: SeriesError) -> Self {
            match error {
                SeriesError::Rule(rule @ RuleError::EndsBeforeStart) => Self::invalid("repeat_until", rule.to_string()),
                SeriesError::Rule(rule) => Self::invalid("repeat_rule", rule.to_string()),
                SeriesError::NoStart => Self::invalid("starts_at", "A repeating event needs a start time."),
                SeriesError::Forbidden => ErrorCode::SeriesNotOrganiser.into(),
                SeriesError::NoSuchOccurrence => ErrorCode::SeriesNoOccurrence.into(),
                SeriesError::NotPublishedYet => ErrorCode::SeriesNotPublishedYet.into(),
                SeriesError::NoPattern => ErrorCode::SeriesNoPattern.into(),
                SeriesError::Publish(e) => Self::publishing(e),
                SeriesError::Store(e) => e.into(),
            }
        }

        /// What someone answering an event is told when writing their RSVP failed.
        pub fn answering(error: PublishError) -> Self {
            tracing::warn!(error = %Chain(&error), "answering an event failed");
            match error {
                PublishError::NotPublished => ErrorCode::RsvpNotPublished.into(),
                PublishError::Queued { cause, .. } => Self::with_message(
                    ErrorCode::PdsQueued,
                    format!(
                        "Your answer is not on Bluesky yet: {}. Skymeet keeps it as pending and retries automatically.",
                        why_not_sent(&cause)
                    ),
                ),
                PublishError::Conflict { .. } => Self::with_message(
                    ErrorCode::PdsConflict,
                    "Your answer was changed in another app since this page was loaded, so nothing was overwritten. Keep Bluesky's answer (Discard) or try again.",
                ),
                PublishError::Rejected {
                    cause: PdsError::ScopeMissing,
                    ..
                } => Self::with_message(
                    ErrorCode::PdsScopeMissing,
                    "Your Bluesky account did not allow Skymeet to write RSVPs. Sign out, sign in again and allow it.",
                ),
                PublishError::Rejected { cause, .. } => Self::with_message(
                    ErrorCode::PdsRejected,
                    format!("Your Bluesky server refused the answer ({cause}). You can retry or discard it below."),
                ),
                other => Self::from_publish_error(other),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    /// The codes that exist, each with the status it has always had: a code never changes meaning.
    const KNOWN: &[(&str, u16)] = &[
        ("error-input-1", 400),
        ("error-request-1", 400),
        ("error-network-1", 503),
        ("error-internal-1", 500),
        ("error-store-1", 500),
        ("error-kv-1", 500),
        ("error-session-1", 500),
        ("error-request-2", 403),
        ("error-request-3", 429),
        ("error-request-4", 503),
        ("error-request-5", 503),
        ("error-request-6", 401),
        ("error-auth-1", 404),
        ("error-auth-2", 502),
        ("error-auth-3", 503),
        ("error-auth-4", 502),
        ("error-auth-5", 502),
        ("error-auth-6", 401),
        ("error-auth-7", 401),
        ("error-auth-9", 400),
        ("error-auth-10", 403),
        ("error-auth-11", 409),
        ("error-auth-12", 409),
        ("error-event-1", 403),
        ("error-event-2", 403),
        ("error-event-3", 404),
        ("error-event-4", 409),
        ("error-event-5", 409),
        ("error-event-6", 409),
        ("error-event-7", 409),
        ("error-pds-1", 503),
        ("error-pds-2", 409),
        ("error-pds-3", 502),
        ("error-pds-4", 500),
        ("error-pds-5", 502),
        ("error-pds-6", 502),
        ("error-pds-7", 503),
        ("error-rsvp-1", 409),
        ("error-series-1", 404),
        ("error-series-2", 403),
        ("error-series-3", 404),
        ("error-series-4", 409),
        ("error-series-5", 422),
        ("error-series-6", 409),
        ("error-admin-1", 403),
        ("error-admin-2", 503),
        ("error-admin-3", 409),
        ("error-admin-4", 422),
        ("error-admin-5", 404),
        ("error-admin-6", 404),
        ("error-admin-7", 502),
        ("error-admin-8", 404),
        ("error-admin-9", 502),
        ("error-admin-10", 503),
        ("error-admin-11", 409),
        ("error-admin-12", 409),
        ("error-image-1", 413),
        ("error-image-2", 415),
        ("error-image-3", 400),
        ("error-image-4", 400),
        ("error-account-1", 401),
        ("error-account-2", 403),
        ("error-account-3", 429),
        ("error-account-4", 403),
        ("error-account-5", 404),
        ("error-account-6", 410),
        ("error-account-7", 410),
        ("error-account-8", 502),
    ];

    #[test]
    fn every_code_is_listed_once_with_one_status_and_a_message() {
        let listed: Vec<(&str, u16)> = ErrorCode::ALL.iter().map(|c| (c.as_str(), c.status())).collect();
        assert_eq!(listed, KNOWN, "a new code is added to KNOWN; an old one never changes");
        let unique: HashSet<&str> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(unique.len(), ErrorCode::ALL.len(), "no code is used twice");
        for code in ErrorCode::ALL {
            assert!((400..600).contains(&code.status()), "{code}: an error status");
            assert!(!code.message().is_empty(), "{code}: a message");
        }
    }

    #[test]
    fn the_api_document_names_only_codes_that_exist() {
        let document = include_str!("../server/http/openapi.json");
        let known: HashSet<&str> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
        let mut named = 0;
        for (start, _) in document.match_indices("error-") {
            let code: String = document[start..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
                .collect();
            assert!(
                known.contains(code.as_str()),
                "{code} is in the OpenAPI document, not in ErrorCode"
            );
            named += 1;
        }
        assert!(named > 0, "the document names codes");
    }

    #[test]
    fn a_code_travels_as_its_stable_string() {
        for code in ErrorCode::ALL {
            let error = ApiError::from(*code);
            let json = serde_json::to_value(&error).expect("serializes");
            assert_eq!(json["code"], code.as_str());
            assert_eq!(json["message"], code.message());
            let back: ApiError = serde_json::from_value(json).expect("deserializes");
            assert_eq!(back, error);
        }
    }
}
