//! Login with Bluesky: the ATProto OAuth client, its encrypted credential stores, and DPoP for
//! the signed-in accounts' requests to their PDSes.

pub mod cipher;
pub mod credentials;
pub mod dpop;
pub mod oauth;
