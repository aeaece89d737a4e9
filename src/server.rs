//! Everything that only runs on the server. [`http`] is its edge (router, handlers, start-up);
//! below it the services (publishing, reads, the firehose, reconciliation, sign-in), and below
//! those storage ([`store`]), the PDS client ([`pds`]) and the outgoing HTTP client. Only [`http`]
//! knows the UI (`crate::app`) and the server functions (`crate::api`).

pub mod accounts;
pub mod appview;
pub mod atom;
pub mod auth;
pub mod calendar;
pub mod charts;
pub mod config;
pub mod dashboard;
pub mod error;
pub mod feeds;
pub mod firehose;
pub mod http;
pub mod ics;
pub mod identity;
pub mod images;
pub mod kv;
pub mod mail;
pub mod metrics;
pub mod network_import;
pub mod outbound;
pub mod pds;
pub mod profiles;
pub mod reconcile;
pub mod records;
pub mod series;
pub mod session;
pub mod sharing;
pub mod state;
pub mod store;
pub mod telemetry;
