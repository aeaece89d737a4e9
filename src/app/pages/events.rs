use crate::api::{events::search_events, views::EventsPage as Found, ApiError};
use crate::app::components::{error_page::ErrorPage, event_card::EventCard, time_zone_form::ViewerTimeZone};
use crate::app::{hydration::hydrated, resource};
use crate::domain::{EventMode, QuickRange, SearchInput, NEAR_DEFAULT_KM};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{components::Form, hooks::use_query_map};

/// How long the search waits after the last key before it asks (results as you type).
#[cfg(feature = "hydrate")]
const TYPING_PAUSE: std::time::Duration = std::time::Duration::from_millis(250);

/// `/events`: what is coming, soonest first, or what a search finds. The search is a plain GET
/// form, so its address can be shared and bookmarked, and it works without JavaScript; with it,
/// results follow as you type.
#[component]
pub fn EventsPage() -> impl IntoView {
    let query = use_query_map();
    let asked = Memo::new(move |_| {
        let query = query.read();
        let input = SearchInput::from_pairs(
            SearchInput::FIELDS
                .into_iter()
                .filter_map(|name| Some((name, query.get_str(name)?))),
        );
        let after = query.get("after").unwrap_or_default();
        (input, after)
    });
    let viewer_zone = expect_context::<ViewerTimeZone>();
    let page = resource::blocking(
        move || (asked.get(), viewer_zone.changes()),
        |((search, after), _)| search_events(search, after),
    );
    let input = Signal::derive(move || asked.get().0);
    view! {
        <Title text="Events" />
        <div class="flex items-center justify-between">
            <h1 class="text-2xl font-bold">"Events"</h1>
            <a href="/events/new" class="rounded-md bg-sky-600 px-3 py-1.5 text-sm font-medium text-white hover:bg-sky-700">
                "New event"
            </a>
        </div>
        <SearchForm input />
        <Transition fallback=|| view! { <p class="mt-4 text-slate-500">"Loading events…"</p> }>
            <ErrorBoundary fallback=|errors| view! { <ErrorPage errors /> }>
                {move || Suspend::new(async move {
                    let found = page.await?;
                    Ok::<_, ApiError>(view! { <Results found /> })
                })}
            </ErrorBoundary>
        </Transition>
    }
}

#[component]
fn Results(found: Found) -> impl IntoView {
    let Found {
        results,
        query,
        next,
        later,
        errors,
        ranked,
    } = found;
    let joined = |extra: &str| match (query.is_empty(), extra.is_empty()) {
        (true, _) => format!("?{extra}"),
        (false, true) => format!("?{query}"),
        (false, false) => format!("?{query}&{extra}"),
    };
    let errors = (!errors.is_empty()).then(|| {
        let items = errors
            .into_iter()
            .map(|error| view! { <li data-field=error.field>{error.message}</li> })
            .collect_view();
        view! {
            <ul data-testid="search-errors" role="alert" class="mt-4 list-disc rounded-md bg-red-50 p-3 pl-8 text-sm text-red-800">
                {items}
            </ul>
        }
    });
    let empty = results.is_empty();
    let count = results.len();
    let cards = results
        .into_iter()
        .map(|found| {
            view! { <EventCard event=found.event marked_name=found.name passage=found.passage /> }
        })
        .collect_view();
    let nothing = (empty && errors.is_none()).then(|| {
        view! {
            <p data-testid="no-results" class="mt-6 rounded-lg border border-dashed border-slate-300 bg-white p-6 text-slate-600">
                "No events found. Try fewer words, other dates or a wider distance."
            </p>
        }
    });
    let first = later.then(|| {
        let href = format!("/events{}", joined(""));
        view! { <a data-testid="search-first" href=href class="underline">"← First page"</a> }
    });
    let next = next.map(|after| {
        let href = format!("/events{}", joined(&format!("after={after}")));
        let label = if ranked { "More results →" } else { "Later events →" };
        view! { <a data-testid="search-next" href=href class="underline">{label}</a> }
    });
    let order = if ranked {
        "Best matches first."
    } else {
        "Soonest first; events under way lead."
    };
    let feeds = joined("");
    view! {
        {errors}
        <p data-testid="search-order" class="mt-4 text-sm text-slate-500">
            {order} " " {(!empty).then(|| format!("{count} on this page."))}
        </p>
        <ul data-testid="search-results" class="mt-3 space-y-3">
            {cards}
        </ul>
        {nothing}
        <nav aria-label="Pages" class="mt-6 flex justify-between text-sm text-sky-700">
            <span>{first}</span>
            <span>{next}</span>
        </nav>
        <p class="mt-6 text-sm text-slate-600">
            "This search as a feed: "
            <a data-testid="search-ics" rel="external" class="underline" href=format!("/events/calendar.ics{feeds}")>
                "calendar (.ics)"
            </a>
            " · "
            <a data-testid="search-atom" rel="external" class="underline" href=format!("/events/feed.atom{feeds}")>
                "Atom"
            </a>
        </p>
    }
}

/// The search form, filled in from the address.
#[component]
fn SearchForm(input: Signal<SearchInput>) -> impl IntoView {
    // Results as you type: once typing pauses, the form is sent through the router, so the page
    // is not reloaded and the address follows.
    #[cfg(feature = "hydrate")]
    let typing = StoredValue::new(None::<TimeoutHandle>);
    let on_input = move |_event: leptos::ev::Event| {
        #[cfg(feature = "hydrate")]
        {
            use leptos::wasm_bindgen::JsCast;
            if let Some(handle) = typing.get_value() {
                handle.clear();
            }
            let form = _event
                .target()
                .and_then(|target| target.dyn_into::<leptos::web_sys::HtmlInputElement>().ok())
                .and_then(|input| input.form());
            let handle = form.and_then(|form| {
                set_timeout_with_handle(
                    move || {
                        let _ = form.request_submit();
                    },
                    TYPING_PAUSE,
                )
                .ok()
            });
            typing.set_value(handle);
        }
    };
    let field = "rounded-md border border-slate-300 bg-white px-2 py-1";
    let near = NodeRef::<leptos::html::Input>::new();
    // The words field is set once and then only as a property: re-creating it would take the
    // focus from someone typing.
    let first = input.get_untracked();
    view! {
        <Form method="GET" action="/events" attr:data-testid="search-form" attr:class="mt-4 space-y-3 rounded-lg border border-slate-200 bg-white p-4 text-sm">
            <div class="flex gap-2">
                <label for="search-q" class="sr-only">"Search events"</label>
                <input
                    id="search-q"
                    type="search"
                    name="q"
                    value=first.q
                    prop:value=move || input.read().q.clone()
                    placeholder="Search names, descriptions and places"
                    maxlength="200"
                    autocomplete="off"
                    class=format!("{field} flex-1")
                    on:input=on_input
                />
                <button type="submit" class="rounded-md bg-sky-600 px-3 py-1 font-medium text-white hover:bg-sky-700">
                    "Search"
                </button>
            </div>
            {move || {
                let input = input.get();
                let when_options = QuickRange::ALL
                    .into_iter()
                    .map(|range| {
                        view! {
                            <option value=range.name() selected=input.when == range.name()>
                                {range.label()}
                            </option>
                        }
                    })
                    .collect_view();
                let mode_options = EventMode::ALL
                    .into_iter()
                    .map(|mode| {
                        view! {
                            <option value=mode.name() selected=input.mode == mode.name()>
                                {mode.label()}
                            </option>
                        }
                    })
                    .collect_view();
                view! {
                    <div class="flex flex-wrap items-end gap-3">
                        <label class="flex flex-col gap-1">
                            <span class="text-slate-600">"When"</span>
                            <select name="when" class=field>
                                <option value="" selected=input.when.is_empty()>"Any time ahead, or these dates"</option>
                                {when_options}
                            </select>
                        </label>
                        <label class="flex flex-col gap-1">
                            <span class="text-slate-600">"From"</span>
                            <input type="date" name="from" value=input.from.clone() class=field />
                        </label>
                        <label class="flex flex-col gap-1">
                            <span class="text-slate-600">"To"</span>
                            <input type="date" name="to" value=input.to.clone() class=field />
                        </label>
                        <label class="flex flex-col gap-1">
                            <span class="text-slate-600">"How people attend"</span>
                            <select name="mode" class=field>
                                <option value="" selected=input.mode.is_empty()>"Any way"</option>
                                {mode_options}
                            </select>
                        </label>
                        <label class="flex flex-col gap-1">
                            <span class="text-slate-600">"Organiser"</span>
                            <input type="text" name="by" value=input.by.clone() placeholder="handle" class=field />
                        </label>
                        <label class="flex flex-col gap-1">
                            <span class="text-slate-600">"Near (latitude, longitude)"</span>
                            <input
                                type="text"
                                name="near"
                                node_ref=near
                                value=input.near.clone()
                                placeholder="52.52, 13.40"
                                class=field
                            />
                        </label>
                        <NearMe near />
                        <label class="flex flex-col gap-1">
                            <span class="text-slate-600">"Within (km)"</span>
                            <input
                                type="number"
                                name="km"
                                min="1"
                                max="500"
                                value=input.km.clone()
                                placeholder=NEAR_DEFAULT_KM.to_string()
                                class=format!("{field} w-24")
                            />
                        </label>
                        <label class="flex items-center gap-2 pb-1">
                            <input type="checkbox" name="cancelled" value="hide" checked=input.cancelled == "hide" />
                            "Hide cancelled"
                        </label>
                    </div>
                }
            }}
        </Form>
    }
}

/// "Near me": asks the browser where the viewer is (the browser asks them first) and searches
/// around it. Only with JavaScript, so it appears once the page is live; without it the point is
/// typed in. The position is rounded to about 100 m before it goes into the address.
#[component]
fn NearMe(near: NodeRef<leptos::html::Input>) -> impl IntoView {
    let live = hydrated();
    let refused = RwSignal::new(false);
    let locate = move |_| {
        refused.set(false);
        #[cfg(feature = "hydrate")]
        if let Some(input) = near.get_untracked() {
            locate(input, refused);
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = near;
    };
    view! {
        <Show when=move || live.get()>
            <div class="flex flex-col gap-1">
                <button
                    type="button"
                    data-testid="near-me"
                    on:click=locate
                    class="rounded-md border border-slate-300 bg-white px-2 py-1 hover:bg-slate-50"
                >
                    "Near me"
                </button>
                <Show when=move || refused.get()>
                    <span data-testid="near-me-refused" role="status" class="text-xs text-red-700">
                        "The browser did not share a location."
                    </span>
                </Show>
            </div>
        </Show>
    }
}

/// Fills `input` with the browser's position and sends its form; sets `refused` when there is none.
#[cfg(feature = "hydrate")]
fn locate(input: leptos::web_sys::HtmlInputElement, refused: RwSignal<bool>) {
    use leptos::wasm_bindgen::{closure::Closure, JsCast, JsValue};
    let Ok(geolocation) = window().navigator().geolocation() else {
        refused.set(true);
        return;
    };
    let found = Closure::once_into_js(move |position: web_sys::Position| {
        let coords = position.coords();
        input.set_value(&format!("{:.3}, {:.3}", coords.latitude(), coords.longitude()));
        if let Some(form) = input.form() {
            let _ = form.request_submit();
        }
    });
    let failed = Closure::once_into_js(move |_: JsValue| refused.set(true));
    if geolocation
        .get_current_position_with_error_callback(found.unchecked_ref(), Some(failed.unchecked_ref()))
        .is_err()
    {
        refused.set(true);
    }
}
