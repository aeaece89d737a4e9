//! The visitor's preferences, kept in their session.

use super::ApiError;
use crate::domain::TimeZoneName;
use leptos::prelude::*;

/// The time zone pages show times in: the one chosen by the visitor, or UTC.
#[server(endpoint = "viewer_time_zone")]
pub async fn viewer_time_zone() -> Result<TimeZoneName, ApiError> {
    use crate::server::session::keys;
    let zone: Option<TimeZoneName> = super::ssr::session().await?.get(keys::TIME_ZONE).await?;
    Ok(zone.unwrap_or_default())
}

/// Remembers the time zone a visitor picked.
#[server(endpoint = "set_time_zone")]
pub async fn set_time_zone(time_zone: String) -> Result<TimeZoneName, ApiError> {
    use crate::server::session::keys;
    let zone = TimeZoneName::parse(&time_zone).map_err(|e| ApiError::invalid("time_zone", e.to_string()))?;
    super::ssr::session().await?.insert(keys::TIME_ZONE, &zone).await?;
    Ok(zone)
}
