use super::sync_badge::SyncBadge;
use crate::api::views::EventView;
use crate::domain::{EventStatus, Marked};
use leptos::prelude::*;

/// Where an event happens, in a few words.
pub fn place(event: &EventView) -> Option<String> {
    let address = event.draft.address.as_ref().map(|a| {
        [&a.name, &a.locality, &a.country]
            .into_iter()
            .flatten()
            .cloned()
            .collect::<Vec<_>>()
            .join(", ")
    });
    let online = event.draft.online.as_ref().map(|_| "Online".to_owned());
    match (address.filter(|a| !a.is_empty()), online) {
        (Some(address), Some(online)) => Some(format!("{address} · {online}")),
        (address, online) => address.or(online),
    }
}

/// A text with a search's matches in `<mark>` (the text itself escaped like any other).
#[component]
pub fn MarkedText(marked: Marked) -> impl IntoView {
    marked
        .0
        .into_iter()
        .map(|(text, matched)| match matched {
            true => view! { <mark class="rounded bg-amber-100 px-0.5">{text}</mark> }.into_any(),
            false => text.into_any(),
        })
        .collect_view()
}

/// One event in a list; a search's result shows its matches marked in its name and in a passage
/// of its description.
#[component]
pub fn EventCard(
    event: EventView,
    #[prop(default = None)] marked_name: Option<Marked>,
    #[prop(default = None)] passage: Option<Marked>,
) -> impl IntoView {
    let when = event.when.shown.clone();
    let place = place(&event);
    let status = (event.draft.status != EventStatus::Scheduled).then(|| event.draft.status.label());
    let name = match marked_name {
        Some(marked) => view! { <MarkedText marked /> }.into_any(),
        None => event.draft.name.clone().into_any(),
    };
    let passage = passage.map(|marked| {
        view! {
            <p data-testid="search-passage" class="mt-1 text-sm text-slate-600">
                <MarkedText marked />
            </p>
        }
    });
    let title = match event.slug.clone() {
        Some(slug) => view! {
            <a href=format!("/events/{slug}") class="font-medium text-slate-900 hover:text-sky-700">
                {name}
            </a>
        }
        .into_any(),
        None => view! { <span class="font-medium text-slate-900">{name}</span> }.into_any(),
    };
    view! {
        <li
            data-testid="event-card"
            class="flex items-start justify-between gap-4 rounded-lg border border-slate-200 bg-white p-4"
        >
            <div>
                <p>{title}</p>
                <p class="text-sm text-slate-600">{when}</p>
                {place.map(|place| view! { <p class="text-sm text-slate-500">{place}</p> })}
                {status.map(|status| view! { <p class="text-sm font-medium text-amber-700">{status}</p> })}
                {passage}
                {event.owner.map(|owner| view! { <p class="text-xs text-slate-500">"By " {owner.name()}</p> })}
            </div>
            <SyncBadge status=event.sync.status />
        </li>
    }
}
