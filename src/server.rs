//! Everything that only runs on the server: configuration, storage, sessions, telemetry and the
//! HTTP application itself. The UI (`crate::app`) never reaches in here directly; it calls
//! `#[server]` functions in `crate::api`.

pub mod auth;
pub mod calendar;
pub mod charts;
pub mod config;
pub mod error;
pub mod firehose;
pub mod health;
pub mod kv;
pub mod metrics;
pub mod outbound;
pub mod pds;
pub mod reconcile;
pub mod rest;
pub mod session;
pub mod startup;
pub mod state;
pub mod store;
pub mod telemetry;
