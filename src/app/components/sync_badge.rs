use crate::api::views::SyncView;
use crate::domain::SyncStatus;
use chrono::{DateTime, Utc};
use leptos::prelude::*;

/// A coloured badge naming an event's sync status.
#[component]
pub fn SyncBadge(status: SyncStatus) -> impl IntoView {
    let colours = match status {
        SyncStatus::InSync => "bg-emerald-100 text-emerald-800",
        SyncStatus::Pending => "bg-amber-100 text-amber-800",
        SyncStatus::Conflict => "bg-orange-100 text-orange-800",
        SyncStatus::Failed => "bg-rose-100 text-rose-800",
        SyncStatus::Local => "bg-slate-100 text-slate-700",
    };
    view! {
        <span
            class=format!("inline-flex items-center rounded-full px-2 py-0.5 text-xs font-medium {colours}")
            data-sync-status=status.as_str()
        >
            {status.label()}
        </span>
    }
}

/// Where an event's record lives and how it stands: badge, at-uri, a link to the record,
/// and when it was last in step with it.
#[component]
pub fn SyncDetails(sync: SyncView, now: DateTime<Utc>) -> impl IntoView {
    let synced = sync
        .last_synced_at
        .map(|at| format!("Last synced {}", ago(now, at)))
        .unwrap_or_else(|| "Not synced yet".to_owned());
    let published = if sync.at_uri.is_some() {
        "Published to Bluesky"
    } else {
        "Not published"
    };
    view! {
        <div data-testid="sync-details" class="rounded-lg border border-slate-200 bg-slate-50 p-4 text-sm">
            <div class="flex flex-wrap items-center gap-2">
                <SyncBadge status=sync.status />
                <span class="text-slate-700">{published}</span>
                <span class="text-slate-500" data-testid="last-synced">
                    {synced}
                </span>
            </div>
            {sync.at_uri.map(|uri| view! {
                <p class="mt-2 break-all font-mono text-xs text-slate-600" data-testid="at-uri">{uri}</p>
            })}
            {sync.record_url.map(|url| view! {
                <a href=url class="mt-1 inline-block text-xs text-sky-700 underline" rel="nofollow">
                    "View the record on its Bluesky server"
                </a>
            })}
            {sync.last_error.map(|error| view! {
                <p class="mt-2 text-xs text-rose-700">"Last error: " {error}</p>
            })}
        </div>
    }
}

/// "just now", "5 minutes ago", "3 hours ago", "2 days ago".
pub fn ago(now: DateTime<Utc>, then: DateTime<Utc>) -> String {
    let seconds = (now - then).num_seconds().max(0);
    let (amount, unit) = match seconds {
        0..=59 => return "just now".to_owned(),
        60..=3599 => (seconds / 60, "minute"),
        3600..=86_399 => (seconds / 3600, "hour"),
        _ => (seconds / 86_400, "day"),
    };
    let plural = if amount == 1 { "" } else { "s" };
    format!("{amount} {unit}{plural} ago")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_read_naturally() {
        let now = DateTime::parse_from_rfc3339("2026-11-24T12:00:00Z")
            .expect("time")
            .to_utc();
        let before = |s: i64| now - chrono::Duration::seconds(s);
        assert_eq!(ago(now, before(5)), "just now");
        assert_eq!(ago(now, before(60)), "1 minute ago");
        assert_eq!(ago(now, before(7200)), "2 hours ago");
        assert_eq!(ago(now, before(86_400 * 3)), "3 days ago");
        assert_eq!(ago(now, now + chrono::Duration::seconds(30)), "just now");
    }
}
