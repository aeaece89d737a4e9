//! The visitor's preferences, kept in their session.

use super::ApiError;
use crate::domain::{ShownZone, TimeZoneName};
use leptos::prelude::*;

/// The time zone pages show times in: the one the visitor chose or their browser reported, else
/// each event's own. A session that holds one is kept alive by the visit, a guest's too.
#[server(endpoint = "viewer_time_zone")]
pub async fn viewer_time_zone() -> Result<ShownZone, ApiError> {
    use crate::server::session::{keep_alive, keys};
    let session = super::ssr::session().await?;
    let zone: Option<TimeZoneName> = session.get(keys::TIME_ZONE).await?;
    if zone.is_some() {
        keep_alive(&session, super::ssr::state()?.config.limits.session_idle).await?;
    }
    Ok(zone.map_or(ShownZone::EventsOwn, ShownZone::Viewer))
}

/// Remembers the time zone a visitor picked, or the one their browser reported.
#[server(endpoint = "set_time_zone")]
pub async fn set_time_zone(time_zone: String) -> Result<TimeZoneName, ApiError> {
    use crate::server::session::keys;
    let zone = TimeZoneName::parse(&time_zone).map_err(|e| ApiError::invalid("time_zone", e.to_string()))?;
    super::ssr::session().await?.insert(keys::TIME_ZONE, &zone).await?;
    Ok(zone)
}
