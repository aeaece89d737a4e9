use super::not_found::NotFound;
use crate::api::{events::user_events, views::UserPage, ApiError};
use crate::app::components::{
    error_page::ErrorPage,
    event_card::EventCard,
    pending_writes::{PendingWrites, WriteActions},
    time_zone_form::ViewerTimeZone,
};
use crate::app::resource;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

/// `/u/{handle}`: a Bluesky user's events, read from their PDS.
#[component]
pub fn UserEventsPage() -> impl IntoView {
    let params = use_params_map();
    let handle = Memo::new(move |_| params.read().get("handle").unwrap_or_default());
    let query = use_query_map();
    let page_number = Memo::new(move |_| {
        query
            .read()
            .get("page")
            .and_then(|p| p.parse::<u32>().ok())
            .unwrap_or(1)
    });
    let viewer_zone = expect_context::<ViewerTimeZone>();
    let actions = WriteActions::new();
    let page = resource::blocking(
        move || {
            (
                handle.get(),
                page_number.get(),
                actions.version(),
                viewer_zone.changes(),
            )
        },
        |(handle, page, ..)| user_events(handle, page),
    );
    view! {
        <Transition fallback=|| view! { <p class="text-slate-500">"Loading events…"</p> }>
            <ErrorBoundary fallback=|errors| view! { <ErrorPage errors /> }>
                {move || Suspend::new(async move {
                    let view = match page.await? {
                        Some(page) => view! { <UserEvents page actions /> }.into_any(),
                        None => view! { <NotFound /> }.into_any(),
                    };
                    Ok::<_, ApiError>(view)
                })}
            </ErrorBoundary>
        </Transition>
    }
}

#[component]
fn UserEvents(page: UserPage, actions: WriteActions) -> impl IntoView {
    let UserPage {
        handle,
        display_name,
        avatar_url,
        is_owner,
        upcoming,
        past,
        page,
        has_next,
        going,
        cached,
        pending,
        now,
        ..
    } = page;
    let title = display_name.clone().unwrap_or_else(|| format!("@{handle}"));
    let empty = upcoming.is_empty() && past.is_empty();
    let cards = |events: Vec<crate::api::views::EventView>| {
        events
            .into_iter()
            .map(|event| view! { <EventCard event /> })
            .collect_view()
    };
    let upcoming = (!upcoming.is_empty()).then(|| {
        view! {
            <h3 class="mt-3 text-sm font-semibold uppercase tracking-wide text-slate-500">"Coming up"</h3>
            <ul data-testid="upcoming-events" class="mt-2 space-y-3">{cards(upcoming)}</ul>
        }
    });
    let past = (!past.is_empty()).then(|| {
        view! {
            <h3 class="mt-5 text-sm font-semibold uppercase tracking-wide text-slate-500">"Past"</h3>
            <ul data-testid="past-events" class="mt-2 space-y-3">{cards(past)}</ul>
        }
    });
    let previous = (page > 1).then(|| {
        view! { <a data-testid="user-previous" href=format!("?page={}", page - 1) class="underline">"← Earlier page"</a> }
    });
    let next = has_next.then(|| {
        view! { <a data-testid="user-next" href=format!("?page={}", page + 1) class="underline">"Next page →"</a> }
    });
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
            {upcoming}
            {past}
            <nav aria-label="Pages" class="mt-4 flex justify-between text-sm text-sky-700">
                <span>{previous}</span>
                <span>{next}</span>
            </nav>
        </section>
        <section aria-labelledby="going" class="mt-8">
            <h2 id="going" class="text-lg font-semibold">"Going to"</h2>
            {going.is_empty().then(|| view! { <p class="mt-2 text-slate-600">"Not going to any event yet."</p> })}
            <ul class="mt-3 space-y-2" data-testid="going">
                {going.into_iter().map(|event| {
                    view! {
                        <li class="rounded-lg border border-slate-200 bg-white p-3">
                            <a href=format!("/events/{}", event.slug) class="font-medium hover:text-sky-700">{event.name}</a>
                            <p class="text-sm text-slate-600">{event.when}</p>
                        </li>
                    }
                }).collect_view()}
            </ul>
        </section>
    }
}
