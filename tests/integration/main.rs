//! One integration test binary (one link step): storage and key-value contracts against every
//! backend, the HTTP application end to end, and the local ATProto network.
//!
//! Needs PostgreSQL and Redis (defaults: the standard loopback ports; override with
//! `TEST_DATABASE_URL` and `TEST_REDIS_URL`) and, for `local_pds`, `LOCAL_PDS_URL`. The README's
//! test command starts all of them.

mod admin;
mod api;
mod attendance;
mod auth;
mod events;
mod firehose;
mod helpers;
mod hostile;
mod http;
mod kv_contract;
mod local_pds;
mod network;
mod recurrence;
mod series;
mod store_contract;
