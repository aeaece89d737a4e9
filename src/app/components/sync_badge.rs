use crate::domain::SyncStatus;
use leptos::prelude::*;

/// A coloured badge naming an event's sync status (F12).
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
