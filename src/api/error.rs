use crate::domain::FieldError;
use leptos::server_fn::{
    codec::JsonEncoding,
    error::{FromServerFnError, ServerFnErrorErr},
};
use serde::{Deserialize, Serialize};

/// What a person is told when something fails: a message safe to show and a stable code to quote.
/// Never carries a database error's text, an address or a credential; those stay in the server log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{message} ({code})")]
pub struct ApiError {
    pub code: String,
    pub message: String,
    /// The form field the error is about, when it is about one.
    pub field: Option<String>,
    /// A message per form field, when a whole form was checked.
    #[serde(default)]
    pub fields: Vec<FieldError>,
}

impl ApiError {
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        Self {
            code: code.to_owned(),
            message: message.into(),
            field: None,
            fields: Vec::new(),
        }
    }

    /// Bad input in one form field.
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        Self {
            code: "error-input-1".to_owned(),
            message: message.into(),
            field: Some(field.to_owned()),
            fields: Vec::new(),
        }
    }

    /// A form with one or more bad fields.
    pub fn form(fields: Vec<FieldError>) -> Self {
        Self {
            code: "error-input-1".to_owned(),
            message: "Some fields need another look.".to_owned(),
            field: None,
            fields,
        }
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
            ServerFnErrorErr::Request(_) | ServerFnErrorErr::Response(_) => Self::new(
                "error-network-1",
                "Could not reach Skymeet. Check your connection and try again.",
            ),
            ServerFnErrorErr::Args(_) | ServerFnErrorErr::Deserialization(_) => Self::new(
                "error-request-1",
                "The request was not understood. Reload the page and try again.",
            ),
            _ => Self::new(
                "error-internal-1",
                "Something went wrong on our side. Please try again.",
            ),
        }
    }
}

#[cfg(feature = "ssr")]
impl From<crate::server::error::ServerError> for ApiError {
    fn from(error: crate::server::error::ServerError) -> Self {
        use crate::server::error::ServerError;
        error.log();
        let message = match &error {
            ServerError::Store(_) | ServerError::Kv(_) | ServerError::Session(_) | ServerError::MissingState => {
                "Something went wrong on our side. Please try again in a moment."
            }
            ServerError::Request(_) => "The request was not understood. Reload the page and try again.",
        };
        Self::new(error.code(), message)
    }
}
