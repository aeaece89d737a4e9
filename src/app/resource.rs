//! The app's resources: Leptos's [`Resource`](leptos::prelude::Resource) with a codec that reads
//! JSON the way the server functions' answers are read.
//!
//! A resource's value travels from the server's render to the browser inside the page, as JSON.
//! Leptos's default codec reads it back with `serde_json::from_str`, while the answers of server
//! functions (the same view types, fetched again later) are read with `serde_json::from_slice`.
//! serde_json's reader is a type parameter, so with both every view type's deserializer is
//! compiled into the wasm twice. Reading resources from the slice too keeps one copy.

use leptos::server::codee::{Decoder, Encoder};
use serde::{de::DeserializeOwned, Serialize};
use std::future::Future;

/// JSON, written as Leptos's default codec writes it and read as server functions read theirs.
pub struct SliceJson;

impl<T: Serialize> Encoder<T> for SliceJson {
    type Error = serde_json::Error;
    type Encoded = String;

    fn encode(value: &T) -> Result<String, serde_json::Error> {
        serde_json::to_string(value)
    }
}

impl<T: DeserializeOwned> Decoder<T> for SliceJson {
    type Error = serde_json::Error;
    type Encoded = str;

    fn decode(text: &str) -> Result<T, serde_json::Error> {
        serde_json::from_slice(text.as_bytes())
    }
}

/// A resource of the app's (see the module's note).
pub type Resource<T> = leptos::prelude::Resource<T, SliceJson>;

/// A resource the page waits for before any of it is sent (its data is in the first HTML).
#[track_caller]
pub fn blocking<S, T, Fut>(
    source: impl Fn() -> S + Send + Sync + 'static,
    fetcher: impl Fn(S) -> Fut + Send + Sync + 'static,
) -> Resource<T>
where
    S: PartialEq + Clone + Send + Sync + 'static,
    T: Serialize + DeserializeOwned + Send + Sync + 'static,
    Fut: Future<Output = T> + Send + 'static,
{
    Resource::new_with_options(source, fetcher, true)
}

/// A resource whose part of the page is streamed in once it has loaded.
#[track_caller]
pub fn streamed<S, T, Fut>(
    source: impl Fn() -> S + Send + Sync + 'static,
    fetcher: impl Fn(S) -> Fut + Send + Sync + 'static,
) -> Resource<T>
where
    S: PartialEq + Clone + Send + Sync + 'static,
    T: Serialize + DeserializeOwned + Send + Sync + 'static,
    Fut: Future<Output = T> + Send + 'static,
{
    Resource::new_with_options(source, fetcher, false)
}
