use crate::api::{events::list_events, ApiError};
use crate::app::components::{error_page::ErrorPage, event_card::EventCard, time_zone_form::ViewerTimeZone};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

/// `/events`: events not over yet, most recently changed first, paginated.
#[component]
pub fn EventsPage() -> impl IntoView {
    let query = use_query_map();
    let page_number = Memo::new(move |_| {
        query
            .read()
            .get("page")
            .and_then(|p| p.parse::<u32>().ok())
            .unwrap_or(1)
            .max(1)
    });
    let ViewerTimeZone { zone, .. } = expect_context();
    let page = Resource::new_blocking(move || page_number.get(), list_events);
    view! {
        <Title text="Events" />
        <div class="flex items-center justify-between">
            <h1 class="text-2xl font-bold">"Events"</h1>
            <a href="/events/new" class="rounded-md bg-sky-600 px-3 py-1.5 text-sm font-medium text-white hover:bg-sky-700">
                "New event"
            </a>
        </div>
        <Transition fallback=|| view! { <p class="mt-4 text-slate-500">"Loading events…"</p> }>
            <ErrorBoundary fallback=|errors| view! { <ErrorPage errors /> }>
                {move || Suspend::new(async move {
                    let zone = zone.await?;
                    let page = page.await?;
                    let number = page.page;
                    let cards = page
                        .events
                        .into_iter()
                        .map(|event| view! { <EventCard event zone=zone.clone() /> })
                        .collect_view();
                    let previous = (number > 1).then(|| view! {
                        <a href=format!("/events?page={}", number - 1) class="underline">"← Newer"</a>
                    });
                    let next = page.has_next.then(|| view! {
                        <a href=format!("/events?page={}", number + 1) class="underline">"Older →"</a>
                    });
                    Ok::<_, ApiError>(view! {
                        <ul class="mt-6 space-y-3">{cards}</ul>
                        <nav aria-label="Pages" class="mt-6 flex justify-between text-sm text-sky-700">
                            <span>{previous}</span>
                            <span>{next}</span>
                        </nav>
                    })
                })}
            </ErrorBoundary>
        </Transition>
    }
}
