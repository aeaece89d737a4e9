//! One integration test binary (one link step): storage and key-value contracts against every
//! backend, the HTTP application end to end, and the local ATProto network.
//!
//! Needs PostgreSQL and Redis (defaults: the standard loopback ports; override with
//! `TEST_DATABASE_URL` and `TEST_REDIS_URL`) and, for `local_pds`, `LOCAL_PDS_URL`. The README's
//! test command starts all of them.

/// Runs `scenario(options)` as two tests, `scenario::on_postgres` (PostgreSQL and Redis) and
/// `scenario::on_sqlite` (the embedded default). Defined before the modules so all of them see it.
macro_rules! on_both_engines {
    ($name:ident) => {
        mod $name {
            use crate::helpers::AppOptions;

            #[tokio::test]
            async fn on_postgres() {
                super::$name(AppOptions::production()).await;
            }

            #[tokio::test]
            async fn on_sqlite() {
                super::$name(AppOptions::embedded()).await;
            }
        }
    };
}

mod accounts;
mod admin;
mod api;
mod attendance;
mod auth;
mod demo;
mod discovery;
mod event_pages;
mod events;
mod feeds;
mod firehose;
mod helpers;
mod hostile;
mod http;
mod kv_contract;
mod local_events;
mod local_pds;
mod network;
mod network_import;
mod page_cache;
mod recurrence;
mod series;
mod slugs;
mod store_contract;
mod tls;
