use crate::api::{events::upcoming_events, views::EventSummary, ApiError};
use crate::app::components::{error_page::ErrorPage, sync_badge::SyncBadge, time_zone_form::ViewerTimeZone};
use crate::app::resource;
use crate::domain::ShownZone;
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn HomePage() -> impl IntoView {
    let viewer_zone = expect_context::<ViewerTimeZone>();
    let zone = viewer_zone.zone;
    let events = resource::streamed(move || viewer_zone.changes(), |_| upcoming_events());
    view! {
        <Title text="Upcoming events" />
        <section class="rounded-2xl bg-gradient-to-br from-sky-600 to-indigo-600 px-6 py-10 text-white shadow">
            <h1 class="text-3xl font-bold sm:text-4xl">"Meet up, on your own terms."</h1>
            <p class="mt-3 max-w-2xl text-sky-100">
                "Skymeet is where communities run their events with their Bluesky accounts. "
                "Every event and RSVP lives in its organiser's own data server, so it goes wherever they go."
            </p>
        </section>
        <section class="mt-10" aria-labelledby="upcoming">
            <h2 id="upcoming" class="text-xl font-semibold">
                "Upcoming events"
            </h2>
            <Transition fallback=|| view! { <p class="mt-4 text-slate-500">"Loading events…"</p> }>
                <ErrorBoundary fallback=|errors| view! { <ErrorPage errors /> }>
                    {move || Suspend::new(async move {
                        let zone = zone.await?;
                        let events = events.await?;
                        Ok::<_, ApiError>(view! { <EventList events zone /> })
                    })}
                </ErrorBoundary>
            </Transition>
        </section>
    }
}

#[component]
fn EventList(events: Vec<EventSummary>, zone: ShownZone) -> impl IntoView {
    let shown_in = zone.sentence();
    if events.is_empty() {
        return view! {
            <p class="mt-4 rounded-lg border border-dashed border-slate-300 bg-white p-6 text-slate-600">
                "No upcoming events yet. Events published on Bluesky with the community calendar lexicon will appear here."
            </p>
            <p data-testid="viewer-zone" class="mt-2 text-xs text-slate-500">
                {shown_in}
            </p>
        }
        .into_any();
    }
    let items = events
        .into_iter()
        .map(|event| {
            view! {
                <li class="flex items-center justify-between gap-4 rounded-lg border border-slate-200 bg-white p-4">
                    <div>
                        <a href=format!("/events/{}", event.slug) class="font-medium hover:text-sky-700">
                            {event.name}
                        </a>
                        <p class="text-sm text-slate-600">{event.when}</p>
                    </div>
                    <SyncBadge status=event.sync_status />
                </li>
            }
        })
        .collect_view();
    view! {
        <ul class="mt-4 space-y-3">{items}</ul>
        <p data-testid="viewer-zone" class="mt-2 text-xs text-slate-500">
            {shown_in}
        </p>
    }
    .into_any()
}
