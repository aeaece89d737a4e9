use crate::api::{
    accounts::SignOutEverywhere,
    attendance::PublishLocalAnswers,
    auth::{current_user, ConnectBluesky, Disconnect, RefreshProfile},
    events::{kept_here, PublishLocalEvent},
    feeds::{calendar_feed, NewCalendarFeed},
    series::{my_series, AcceptSeriesProposal},
    views::{KeptHere as KeptHereView, SeriesOverview, Viewer},
    ApiError, ErrorCode,
};
use crate::app::components::{
    error_page::failure,
    layout::{refresh_viewer_when, ViewerContext},
    time_zone_form::ViewerTimeZone,
};
use crate::app::resource;
use crate::domain::Visibility;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

/// `/me`: the signed-in person's Bluesky profile and connection.
#[component]
pub fn MePage() -> impl IntoView {
    let refresh = ServerAction::<RefreshProfile>::new();
    let ViewerContext { disconnect, .. } = expect_context();
    let me = resource::blocking(move || refresh.version().get(), |_| current_user());
    // The parts' data is asked for here, before anything waits, not in the parts (which are made
    // once `me` has arrived): Leptos matches a resource with the value the server sent by the
    // order resources are created in, and the browser takes a lazy page over asynchronously, so
    // only resources made before the first wait are made in the same order on both sides.
    let kept = KeptHereData::new();
    let feed = CalendarFeedData::new();
    let series = YourSeriesData::new();
    view! {
        <Title text="Your profile" />
        <Transition fallback=|| view! { <p class="text-slate-500">"Loading your profile…"</p> }>
            {move || Suspend::new(async move {
                match me.await {
                    Ok(Some(viewer)) if viewer.did.is_none() => {
                        view! { <LocalProfile viewer /> <KeptHere on_bluesky=false data=kept /> <CalendarFeed data=feed /> }
                            .into_any()
                    }
                    Ok(Some(viewer)) => {
                        view! {
                            <Profile viewer refresh disconnect />
                            <KeptHere on_bluesky=true data=kept />
                            <CalendarFeed data=feed />
                            <YourSeries data=series />
                        }
                            .into_any()
                    }
                    Ok(None) => {
                        view! {
                            <section class="mx-auto max-w-md text-center">
                                <h1 class="text-2xl font-bold">"Your profile"</h1>
                                <p class="mt-4 text-slate-600">"Sign in to see your profile."</p>
                                <a
                                    href="/login"
                                    class="mt-6 inline-block rounded-md bg-sky-600 px-4 py-2 font-medium text-white"
                                >
                                    "Sign in with Bluesky"
                                </a>
                            </section>
                        }
                            .into_any()
                    }
                    Err(error) => view! { <p role="alert">{error.message}</p> }.into_any(),
                }
            })}
        </Transition>
    }
}

/// `/me` for a local account: who they are, and signing out everywhere.
#[component]
fn LocalProfile(viewer: Viewer) -> impl IntoView {
    let everywhere = ServerAction::<SignOutEverywhere>::new();
    refresh_viewer_when(Signal::derive(move || matches!(everywhere.value().get(), Some(Ok(())))));
    view! {
        <section class="mx-auto max-w-2xl rounded-2xl border border-slate-200 bg-white p-8 shadow-sm" data-testid="local-profile">
            <h1 class="text-2xl font-bold">{viewer.display_name.clone()}</h1>
            <p class="text-slate-600" data-testid="profile-email">{viewer.email.clone()}</p>
            <p class="mt-6 flex items-center gap-2 text-sm" data-testid="connection-status">
                <span class=format!("h-2 w-2 rounded-full {}", viewer.connection_dot_class())></span>
                {viewer.connection_status()}
            </p>
            <div class="mt-8 flex flex-wrap gap-3">
                <ActionForm action=everywhere>
                    <button type="submit" class="rounded-md border border-rose-300 px-3 py-1.5 text-sm font-medium text-rose-700 hover:bg-rose-50">
                        "Sign out everywhere"
                    </button>
                </ActionForm>
            </div>
            {move || everywhere.value().get().and_then(Result::err).map(|error| view! {
                <p role="alert" class="text-sm text-rose-700">{error.message}</p>
            })}
            <ConnectBluesky />
        </section>
    }
}

#[component]
fn Profile(
    viewer: Viewer,
    refresh: ServerAction<RefreshProfile>,
    disconnect: ServerAction<Disconnect>,
) -> impl IntoView {
    let handle = viewer.handle.clone().map(|h| format!("@{h}")).unwrap_or_default();
    let name = viewer.display_name.clone().unwrap_or_else(|| handle.clone());
    let bluesky_url = viewer.bluesky_url();
    let errors = move || {
        [refresh.value().get(), disconnect.value().get()]
            .into_iter()
            .flatten()
            .filter_map(Result::err)
            .map(|error| view! { <p role="alert" class="text-sm text-rose-700">{error.message}</p> })
            .collect_view()
    };
    let (status, status_class) = (viewer.connection_status(), viewer.connection_dot_class());
    view! {
        <section class="mx-auto max-w-2xl rounded-2xl border border-slate-200 bg-white p-8 shadow-sm">
            <div class="flex items-center gap-5">
                {viewer
                    .avatar_url
                    .clone()
                    .map(|src| view! { <img src=src alt="" class="h-20 w-20 rounded-full object-cover" /> })}
                <div>
                    <h1 class="text-2xl font-bold">{name}</h1>
                    <p class="text-slate-600">{handle}</p>
                    <p
                        data-testid="verified-badge"
                        class="mt-2 inline-flex items-center gap-1 rounded-full bg-sky-100 px-2 py-0.5 text-xs font-medium text-sky-800"
                    >
                        "✓ Verified via Bluesky"
                    </p>
                </div>
            </div>
            {viewer.followers_count.zip(viewer.follows_count).map(|(followers, follows)| view! {
                <p class="mt-4 text-sm text-slate-600" data-testid="follow-counts">
                    <strong class="text-slate-900">{followers}</strong> " followers · "
                    <strong class="text-slate-900">{follows}</strong> " following"
                </p>
            })}
            {viewer.description.clone().map(|text| view! { <p class="mt-6 whitespace-pre-line text-slate-700">{text}</p> })}
            <p class="mt-6 flex items-center gap-2 text-sm" data-testid="connection-status">
                <span class=format!("h-2 w-2 rounded-full {status_class}")></span>
                {status}
            </p>
            <p class="mt-2 text-sm text-slate-600">
                "While you are connected, the events and RSVPs you create on Skymeet are published to your Bluesky account, in your own data server."
            </p>
            {viewer.claimed_at.map(|at| view! {
                <p class="mt-2 text-sm text-slate-600" data-testid="claimed">
                    "Skymeet had already seen your calendar on Bluesky before you first signed in; those events and RSVPs became yours on "
                    {at.format("%Y-%m-%d").to_string()} "."
                </p>
            })}
            {bluesky_url.map(|url| view! {
                <a href=url class="mt-2 inline-block text-sm text-sky-700 underline">"View on Bluesky"</a>
            })}
            <div class="mt-8 flex flex-wrap gap-3">
                <ActionForm action=refresh>
                    <button type="submit" class="rounded-md border border-slate-300 px-3 py-1.5 text-sm font-medium hover:bg-slate-100">
                        "Refresh profile"
                    </button>
                </ActionForm>
                <ActionForm action=disconnect>
                    <button type="submit" class="rounded-md border border-rose-300 px-3 py-1.5 text-sm font-medium text-rose-700 hover:bg-rose-50">
                        "Disconnect Bluesky"
                    </button>
                </ActionForm>
            </div>
            {errors}
        </section>
    }
}

/// The person's events kept on Skymeet only (unlisted and private ones, and every event of
/// someone without Bluesky), each with who may see it; once they connected Bluesky, a button
/// that publishes a public one there, and one that publishes their answers kept here.
/// [`KeptHere`]'s actions and data (see `MePage`).
#[derive(Clone, Copy)]
struct KeptHereData {
    publish: ServerAction<PublishLocalEvent>,
    answers: ServerAction<PublishLocalAnswers>,
    kept: resource::Resource<Result<KeptHereView, ApiError>>,
}

impl KeptHereData {
    fn new() -> Self {
        let publish = ServerAction::<PublishLocalEvent>::new();
        let answers = ServerAction::<PublishLocalAnswers>::new();
        let viewer_zone = expect_context::<ViewerTimeZone>();
        let kept = resource::blocking(
            move || (publish.version().get(), answers.version().get(), viewer_zone.changes()),
            |_| kept_here(),
        );
        Self { publish, answers, kept }
    }
}

#[component]
fn KeptHere(on_bluesky: bool, data: KeptHereData) -> impl IntoView {
    let KeptHereData { publish, answers, kept } = data;
    let errors = move || {
        [
            failure(publish.value().get()),
            failure(answers.value().get().map(|answered| answered.map(drop))),
        ]
        .into_iter()
        .flatten()
        .collect_view()
    };
    view! {
        <section class="mx-auto mt-6 max-w-2xl rounded-2xl border border-slate-200 bg-white p-8 shadow-sm" data-testid="kept-here">
            <div class="flex items-center justify-between gap-3">
                <h2 class="text-lg font-semibold">"Your events on Skymeet only"</h2>
                <a href="/events/new" class="rounded-md bg-sky-600 px-3 py-1.5 text-sm font-medium text-white hover:bg-sky-700">
                    "New event"
                </a>
            </div>
            <Transition fallback=|| view! { <p class="text-slate-500">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    let kept = match kept.await {
                        Ok(kept) => kept,
                        Err(error) => return view! { <p role="alert">{error.message}</p> }.into_any(),
                    };
                    let empty = kept.events.is_empty();
                    let items = kept.events.into_iter().map(|(event, visibility)| {
                        let publishable = on_bluesky && visibility == Visibility::Public;
                        view! {
                            <li class="flex flex-wrap items-center gap-2 py-2">
                                <a href=format!("/events/{}", event.slug) class="font-medium text-sky-700 underline">{event.name}</a>
                                <span class="text-xs text-slate-500">{visibility.label()}</span>
                                {publishable.then(|| view! {
                                    <ActionForm action=publish attr:class="ml-auto">
                                        <input type="hidden" name="id" value=event.id />
                                        <button type="submit" data-testid="publish-local-event"
                                            class="rounded-md border border-slate-300 px-2 py-1 text-xs font-medium hover:bg-slate-100">
                                            "Publish to Bluesky"
                                        </button>
                                    </ActionForm>
                                })}
                            </li>
                        }
                    }).collect_view();
                    let answers_to_publish = (on_bluesky && kept.answers_to_publish > 0).then(|| view! {
                        <ActionForm action=answers attr:class="mt-4">
                            <button type="submit" data-testid="publish-local-answers"
                                class="rounded-md border border-slate-300 px-3 py-1.5 text-sm font-medium hover:bg-slate-100">
                                {format!("Publish your {} answers kept here to Bluesky", kept.answers_to_publish)}
                            </button>
                        </ActionForm>
                    });
                    view! {
                        {empty.then(|| view! { <p class="mt-2 text-sm text-slate-500">"None yet."</p> })}
                        <ul class="mt-2 divide-y divide-slate-100" data-testid="kept-here-list">{items}</ul>
                        {answers_to_publish}
                    }.into_any()
                })}
            </Transition>
            {errors}
        </section>
    }
}

/// For a local account: connect Bluesky through its sign-in (the account gets the DID), with the
/// reason when the last try was refused (`?connect_error={code}`).
#[component]
fn ConnectBluesky() -> impl IntoView {
    let connect = ServerAction::<ConnectBluesky>::new();
    let query = use_query_map();
    let refused = move || {
        query
            .read()
            .get("connect_error")
            .and_then(|code| ErrorCode::from_code(&code))
            .map(|code| code.message().to_owned())
            .or_else(|| connect.value().get().and_then(Result::err).map(|e| e.message))
            .map(|message| view! { <p role="alert" class="mt-2 text-sm text-rose-700" data-testid="connect-error">{message}</p> })
    };
    view! {
        <div class="mt-8 border-t border-slate-100 pt-6">
            <h2 class="text-lg font-semibold">"Connect Bluesky"</h2>
            <p class="mt-1 text-sm text-slate-600">
                "Your account gets your Bluesky identity; then you can publish your public events and your answers there."
            </p>
            <ActionForm action=connect attr:class="mt-3 flex flex-wrap items-end gap-3">
                <label class="flex flex-col gap-1 text-sm">
                    <span class="font-medium">"Bluesky handle"</span>
                    <input type="text" name="identifier" required placeholder="alice.bsky.social"
                        class="rounded-md border border-slate-300 px-3 py-1.5" />
                </label>
                <button type="submit" class="rounded-md bg-sky-600 px-3 py-1.5 text-sm font-medium text-white hover:bg-sky-700">
                    "Connect Bluesky"
                </button>
            </ActionForm>
            {refused}
        </div>
    }
}

/// The private calendar feed of what the person answered going or interested to: its address,
/// and a button that makes a new one (so a leaked address can be cut off).
/// [`CalendarFeed`]'s action and data (see `MePage`).
#[derive(Clone, Copy)]
struct CalendarFeedData {
    renew: ServerAction<NewCalendarFeed>,
    feed: resource::Resource<Result<Option<String>, ApiError>>,
}

impl CalendarFeedData {
    fn new() -> Self {
        let renew = ServerAction::<NewCalendarFeed>::new();
        let feed = resource::blocking(move || renew.version().get(), |_| calendar_feed());
        Self { renew, feed }
    }
}

#[component]
fn CalendarFeed(data: CalendarFeedData) -> impl IntoView {
    let CalendarFeedData { renew, feed } = data;
    let error = move || failure(renew.value().get());
    view! {
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                let address = feed.await.ok().flatten();
                let button = if address.is_some() { "Make a new link" } else { "Get a private link" };
                view! {
                    <section aria-labelledby="calendar-feed" class="mx-auto mt-8 max-w-2xl rounded-2xl border border-slate-200 bg-white p-6 shadow-sm">
                        <h2 id="calendar-feed" class="text-lg font-semibold">"Your calendar"</h2>
                        <p class="mt-1 text-sm text-slate-600">
                            "Subscribe to this link in your calendar app to see the events you answered going or interested to. Anyone with the link can read it; making a new link stops the old one."
                        </p>
                        {address.map(|address| view! {
                            <input type="text" readonly value=address aria-label="Your calendar link" data-testid="calendar-feed"
                                class="mt-3 w-full rounded-md border border-slate-300 px-2 py-1 font-mono text-xs" />
                        })}
                        <ActionForm action=renew attr:class="mt-3">
                            <button type="submit" class="rounded-md border border-slate-300 px-3 py-1.5 text-sm font-medium hover:bg-slate-100">
                                {button}
                            </button>
                        </ActionForm>
                        {error}
                    </section>
                }
            })}
        </Transition>
    }
}

/// The organiser's series, and the series their own events look like (with a button to make
/// one of them).
/// [`YourSeries`]'s action and data (see `MePage`).
#[derive(Clone, Copy)]
struct YourSeriesData {
    accept: ServerAction<AcceptSeriesProposal>,
    overview: resource::Resource<Result<SeriesOverview, ApiError>>,
}

impl YourSeriesData {
    fn new() -> Self {
        let accept = ServerAction::<AcceptSeriesProposal>::new();
        let overview = resource::blocking(move || accept.version().get(), |_| my_series());
        Self { accept, overview }
    }
}

#[component]
fn YourSeries(data: YourSeriesData) -> impl IntoView {
    let YourSeriesData { accept, overview } = data;
    let error = move || failure(accept.value().get());
    view! {
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                // Without Bluesky publishing there are no series to show.
                let Ok(SeriesOverview { series, proposals }) = overview.await else {
                    return ().into_any();
                };
                let series = series
                    .into_iter()
                    .map(|s| view! {
                        <li data-testid="my-series">
                            <a href=format!("/series/{}", s.slug) class="font-medium text-sky-700 underline">{s.name}</a>
                            " · " {s.rule_words} {s.cancelled.then_some(" · cancelled")}
                        </li>
                    })
                    .collect_view();
                let proposals = proposals
                    .into_iter()
                    .map(|p| {
                        let count = p.events.len();
                        let names = p.events.iter().map(|e| e.name.clone()).collect::<Vec<_>>().join(" · ");
                        view! {
                            <li data-testid="series-proposal" class="rounded-lg border border-slate-200 bg-white p-4">
                                <p class="font-medium">
                                    {format!("These {count} events look like a series: {}.", p.rule_words)}
                                </p>
                                <p class="mt-1 text-sm text-slate-600">{names}</p>
                                <p class="mt-1 text-xs text-slate-500">{format!("Confidence {}%", p.confidence)}</p>
                                <ActionForm action=accept attr:class="mt-2">
                                    <input type="hidden" name="events" value=p.event_ids />
                                    <button type="submit"
                                        class="rounded-md border border-slate-300 px-3 py-1.5 text-sm font-medium hover:bg-slate-100">
                                        "Make it one series"
                                    </button>
                                </ActionForm>
                            </li>
                        }
                    })
                    .collect_view();
                view! {
                    <section aria-labelledby="your-series" class="mx-auto mt-6 max-w-2xl">
                        <h2 id="your-series" class="text-lg font-semibold">"Your series"</h2>
                        <ul class="mt-2 space-y-1">{series}</ul>
                        <ul class="mt-4 space-y-3">{proposals}</ul>
                        {error}
                    </section>
                }
                .into_any()
            })}
        </Transition>
    }
}
