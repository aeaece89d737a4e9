//! Login with Bluesky: the ATProto OAuth client and its encrypted credential stores.

pub mod cipher;
pub mod credentials;
pub mod oauth;
