//! Login with Bluesky (F1-F3): the ATProto OAuth client, its encrypted credential stores and the
//! identity resolution it needs.

pub mod callback;
pub mod cipher;
pub mod credentials;
pub mod identity;
pub mod metadata;
pub mod oauth;
