use super::not_found::NotFound;
use crate::api::{events::user_events, views::UserPage, ApiError};
use crate::app::components::{
    error_page::ErrorPage,
    event_card::EventCard,
    pending_writes::{PendingWrites, WriteActions},
    time_zone_form::ViewerTimeZone,
};
use crate::domain::ShownZone;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

/// `/u/{handle}`: a Bluesky user's events, read from their PDS.
#[component]
pub fn UserEventsPage() -> impl IntoView {
    let params = use_params_map();
    let handle = Memo::new(move |_| params.read().get("handle").unwrap_or_default());
    let ViewerTimeZone { zone, .. } = expect_context();
    let actions = WriteActions::new();
    let page = Resource::new_blocking(
        move || (handle.get(), actions.version()),
        |(handle, _)| user_events(handle),
    );
    view! {
        <Transition fallback=|| view! { <p class="text-slate-500">"Loading events…"</p> }>
            <ErrorBoundary fallback=|errors| view! { <ErrorPage errors /> }>
                {move || Suspend::new(async move {
                    let zone = zone.await?;
                    let view = match page.await? {
                        Some(page) => view! { <UserEvents page zone actions /> }.into_any(),
                        None => view! { <NotFound /> }.into_any(),
                    };
                    Ok::<_, ApiError>(view)
                })}
            </ErrorBoundary>
        </Transition>
    }
}

#[component]
fn UserEvents(page: UserPage, zone: ShownZone, actions: WriteActions) -> impl IntoView {
    let UserPage {
        handle,
        display_name,
        avatar_url,
        is_owner,
        events,
        going,
        cached,
        pending,
        now,
        ..
    } = page;
    let title = display_name.clone().unwrap_or_else(|| format!("@{handle}"));
    let empty = events.is_empty();
    let cards = events
        .into_iter()
        .map(|event| view! { <EventCard event zone=zone.clone() /> })
        .collect_view();
    view! {
        <Title text=format!("Events by {title}") />
        <header class="flex items-center justify-between gap-4">
            <div class="flex items-center gap-4">
                {avatar_url.map(|src| view! { <img src=src alt="" class="h-14 w-14 rounded-full object-cover" /> })}
                <div>
                    <h1 class="text-2xl font-bold">{title}</h1>
                    <p class="text-slate-600">"@" {handle.clone()}</p>
                </div>
            </div>
            {is_owner.then(|| view! {
                <a href="/events/new" class="rounded-md bg-sky-600 px-3 py-1.5 text-sm font-medium text-white hover:bg-sky-700">
                    "New event"
                </a>
            })}
        </header>
        {cached.then(|| view! {
            <p role="status" data-testid="cached-notice" class="mt-4 rounded-md bg-amber-50 px-3 py-2 text-sm text-amber-900">
                "Showing cached data: this account's Bluesky server could not be reached just now."
            </p>
        })}
        <PendingWrites writes=pending actions now />
        <section aria-labelledby="events" class="mt-6">
            <h2 id="events" class="text-lg font-semibold">"Events"</h2>
            {empty.then(|| view! { <p class="mt-2 text-slate-600">"No events yet."</p> })}
            <ul class="mt-3 space-y-3">{cards}</ul>
        </section>
        <section aria-labelledby="going" class="mt-8">
            <h2 id="going" class="text-lg font-semibold">"Going to"</h2>
            {going.is_empty().then(|| view! { <p class="mt-2 text-slate-600">"Not going to any event yet."</p> })}
            <ul class="mt-3 space-y-2" data-testid="going">
                {going.into_iter().map(|event| {
                    let when = event.starts_at.map(|at| zone.format(at, &event.time_zone)).unwrap_or_else(|| "Date to be announced".to_owned());
                    view! {
                        <li class="rounded-lg border border-slate-200 bg-white p-3">
                            <a href=format!("/events/{}", event.slug) class="font-medium hover:text-sky-700">{event.name}</a>
                            <p class="text-sm text-slate-600">{when}</p>
                        </li>
                    }
                }).collect_view()}
            </ul>
        </section>
    }
}
