use crate::api::{
    attendance::{AnswerEvent, WithdrawAnswer},
    events::{event_details, DeleteEvent, SyncEvent},
    views::{ConflictView, EventPage, SyncOutcome},
    ApiError, ErrorCode,
};
use crate::app::components::{
    attendance::Attendance,
    error_page::ErrorPage,
    event_card::place,
    pending_writes::{PendingWrites, WriteActions},
    sync_badge::SyncDetails,
    time_zone_form::ViewerTimeZone,
};
use crate::app::pages::not_found::NotFound;
use crate::app::{nonce::page_nonce, resource};
use crate::domain::{Decision, EventImage, EventMode, EventStatus, Geo, Link, Place, SearchInput, ShownZone, Slug};
use leptos::prelude::*;
use leptos_meta::{Link as MetaLink, Meta, Title};
use leptos_router::hooks::{use_params_map, use_query_map};

/// The event `/events/{slug}...` names (by its slug, or by its id as older addresses do); `None`
/// when the segment is neither.
pub fn event_id() -> Memo<Option<i64>> {
    let params = use_params_map();
    Memo::new(move |_| params.read().get("slug").and_then(|slug| Slug::id_in(&slug)))
}

/// `/events/{id}`: one event, its sync status, and for its owner edit / delete.
#[component]
pub fn EventDetailPage() -> impl IntoView {
    let id = event_id();
    // A private event's invitation code, from its link.
    let query = use_query_map();
    let invite = Memo::new(move |_| query.read().get("invite").unwrap_or_default());
    let viewer_zone = expect_context::<ViewerTimeZone>();
    let zone = viewer_zone.zone;
    let delete = ServerAction::<DeleteEvent>::new();
    let actions = Actions {
        delete,
        sync: ServerAction::<SyncEvent>::new(),
        writes: WriteActions::new(),
        answer: ServerAction::<AnswerEvent>::new(),
        withdraw: ServerAction::<WithdrawAnswer>::new(),
    };
    let page = resource::blocking(
        move || {
            let versions = [
                actions.answer.version().get(),
                actions.withdraw.version().get(),
                actions.sync.version().get(),
            ];
            (
                id.get(),
                invite.get(),
                actions.writes.version(),
                versions,
                viewer_zone.changes(),
            )
        },
        |(id, invite, ..)| async move {
            match id {
                Some(id) => event_details(id, invite).await,
                None => Ok(None),
            }
        },
    );
    view! {
        <Transition fallback=|| view! { <p class="text-slate-500">"Loading the event…"</p> }>
            <ErrorBoundary fallback=|errors| view! { <ErrorPage errors /> }>
                {move || Suspend::new(async move {
                    let zone = zone.await?;
                    let view = match page.await? {
                        Some(page) => view! { <EventDetail page zone actions /> }.into_any(),
                        None => view! { <NotFound /> }.into_any(),
                    };
                    Ok::<_, ApiError>(view)
                })}
            </ErrorBoundary>
        </Transition>
    }
}

/// What can be done on the page; each action's completion reloads it.
#[derive(Clone, Copy)]
struct Actions {
    delete: ServerAction<DeleteEvent>,
    sync: ServerAction<SyncEvent>,
    writes: WriteActions,
    answer: ServerAction<AnswerEvent>,
    withdraw: ServerAction<WithdrawAnswer>,
}

#[component]
fn EventDetail(page: EventPage, zone: ShownZone, actions: Actions) -> impl IntoView {
    let Actions {
        delete,
        sync,
        writes,
        answer,
        withdraw,
    } = actions;
    let EventPage {
        event,
        pending,
        attendance,
        answer_pending,
        conflicts,
        series,
        add_to_calendar,
        share,
        invite_link,
        now,
        input: _,
    } = page;
    // Kept on Skymeet only: nothing to sync, and no data server to hold an image.
    let published = event.sync.at_uri.is_some();
    let hidden = event.visibility.is_hidden().then(|| event.visibility.label());
    let when_shown = event.when.shown.clone();
    // Where the viewer's zone is not the event's, the event's own wall time too; with no viewer
    // zone known (JavaScript off, nothing chosen), which zone the times are in.
    let own_zone = event.draft.time_zone.clone();
    let own_time = match zone.viewer() {
        Some(viewer) if *viewer == own_zone => None,
        Some(_) if event.draft.starts_at.is_some() => {
            Some(format!("In the event's time zone ({own_zone}): {}", event.when.own))
        }
        Some(_) => None,
        None => Some(format!("In the event's own time zone, {own_zone}.")),
    };
    let unknown_zone = event.unknown_zone.clone().map(|unknown| {
        format!(
            "This event's record names the time zone \u{201c}{}\u{201d}, which is not one we know, so its times are read as {}.",
            unknown.named, unknown.used
        )
    });
    let place = place(&event);
    let draft = event.draft.clone();
    let status = (draft.status != EventStatus::Scheduled).then(|| draft.status.label());
    let mode = (draft.mode != EventMode::InPerson).then(|| draft.mode.label());
    let delete_error = move || delete.value().get().and_then(Result::err).map(|e| e.message);
    let synced = move || {
        sync.value().get().map(|result| match result {
            Ok(done) => {
                let said = match done.outcome {
                    SyncOutcome::Sent => "Sent to Bluesky: it has your latest version now.",
                    SyncOutcome::Refreshed => "Read again from Bluesky: this is the version your data server holds.",
                    SyncOutcome::Deleted | SyncOutcome::Gone => {
                        "This event is gone from Bluesky, so it is gone here too."
                    }
                };
                view! { <p role="status" class="mt-2 text-sm text-emerald-800" data-testid="synced">{said}</p> }
                    .into_any()
            }
            Err(e) => view! { <p role="alert" class="mt-2 text-sm text-rose-700">{e.message}</p> }.into_any(),
        })
    };
    let owner_actions = event.id.zip(event.slug.clone()).filter(|_| event.can_edit).map(|(id, slug)| {
        view! {
            <div class="mt-6 flex flex-wrap gap-3">
                <a href=format!("/events/{slug}/edit")
                    class="rounded-md border border-slate-300 px-3 py-1.5 text-sm font-medium hover:bg-slate-100">
                    "Edit"
                </a>
                <ActionForm action=delete>
                    <input type="hidden" name="id" value=id />
                    <button type="submit"
                        class="rounded-md border border-rose-300 px-3 py-1.5 text-sm font-medium text-rose-700 hover:bg-rose-50">
                        "Delete"
                    </button>
                </ActionForm>
                {published.then(|| view! {
                    <ActionForm action=sync>
                        <input type="hidden" name="id" value=id />
                        <button type="submit" disabled=move || sync.pending().get()
                            class="rounded-md border border-slate-300 px-3 py-1.5 text-sm font-medium hover:bg-slate-100 disabled:opacity-50">
                            {move || if sync.pending().get() { "Syncing…" } else { "Sync now" }}
                        </button>
                    </ActionForm>
                })}
            </div>
            {published.then(|| view! { <ImageForm slug=slug.clone() /> })}
            {invite_link.clone().map(|link| view! {
                <p class="mt-4 text-sm text-slate-700">
                    "Invitation link (whoever opens it while signed in becomes a guest): "
                    <code class="break-all rounded bg-slate-100 px-1" data-testid="invite-link">{link}</code>
                </p>
            })}
            {synced}
            {move || delete_error().map(|message| view! {
                <p role="alert" class="mt-2 text-sm text-rose-700">{message}</p>
            })}
        }
    });
    let links = draft
        .links
        .iter()
        .map(|link| {
            let text = link.name.clone().unwrap_or_else(|| link.uri.clone());
            view! { <li><LinkTo link=link.clone() text /></li> }
        })
        .collect_view();
    let shared = share.map(|share| {
        view! {
            <MetaLink rel="canonical" href=share.canonical.clone() />
            <Meta name="description" content=share.preview.clone() />
            <Meta property="og:type" content="website" />
            <Meta property="og:site_name" content="Skymeet" />
            <Meta property="og:title" content=draft.name.clone() />
            <Meta property="og:description" content=share.preview.clone() />
            <Meta property="og:url" content=share.canonical.clone() />
            <Meta name="twitter:card" content=if share.image.is_some() { "summary_large_image" } else { "summary" } />
            {share.image.clone().map(|image| view! { <Meta property="og:image" content=image /> })}
            // Not run by browsers (its type is data), but the page's policy still wants the nonce.
            <script type="application/ld+json" nonce=page_nonce() inner_html=share.json_ld data-testid="json-ld"></script>
        }
    });
    // The header image, through Skymeet (an image that cannot be fetched or is not an image
    // answers 404; with JavaScript the broken image is then hidden).
    let header = event.slug.clone().and_then(|slug| {
        EventImage::header(&event.images).map(|image| {
            let src = image.path(&format!("/events/{slug}"));
            let (width, height) = image.aspect_ratio.unwrap_or((16, 9));
            let hidden = RwSignal::new(false);
            view! {
                <img src=src alt=image.alt.clone() width=width height=height data-testid="event-image"
                    class="mb-6 max-h-96 w-full rounded-xl object-cover" class:hidden=move || hidden.get()
                    on:error=move |_| hidden.set(true) />
            }
        })
    });
    view! {
        <Title text=draft.name.clone() />
        {shared}
        {hidden.map(|_| view! { <Meta name="robots" content="noindex" /> })}
        <article class="rounded-2xl border border-slate-200 bg-white p-8 shadow-sm">
            {header}
            {status.map(|status| view! {
                <p class="mb-2 inline-block rounded bg-amber-100 px-2 py-0.5 text-sm font-medium text-amber-800">{status}</p>
            })}
            {hidden.map(|label| view! {
                <p class="mb-2 ml-1 inline-block rounded bg-slate-200 px-2 py-0.5 text-sm font-medium text-slate-800"
                    data-testid="visibility">{label}</p>
            })}
            <h1 class="text-3xl font-bold">{draft.name.clone()}</h1>
            <p class="mt-2 text-slate-700" data-testid="event-when">{when_shown}</p>
            {own_time.map(|text| view! { <p class="text-sm text-slate-500" data-testid="event-own-zone">{text}</p> })}
            {unknown_zone.map(|text| view! {
                <p class="mt-1 text-sm text-amber-800" data-testid="unknown-zone">{text}</p>
            })}
            {series.map(|series| view! {
                <p class="mt-1 text-sm text-slate-600">
                    "One date of a series: " {series.rule_words} " · "
                    <a href=format!("/series/{}", series.slug) class="underline" data-testid="series-link">"all dates"</a>
                </p>
            })}
            {place.map(|place| view! { <p class="text-slate-600" data-testid="event-place">{place}</p> })}
            {mode.map(|mode| view! { <p class="text-slate-600">{mode}</p> })}
            <Places places=event.places.clone() />
            {event.owner.clone().map(|owner| {
                // Someone without Bluesky has no page of their own.
                let name = match owner.handle.clone() {
                    Some(handle) => view! { <a href=format!("/u/{handle}") class="underline">{owner.name()}</a> }.into_any(),
                    None => view! { <span>{owner.name()}</span> }.into_any(),
                };
                view! { <p class="mt-2 text-sm text-slate-500">"Organised by " {name}</p> }
            })}
            {draft.description.clone().map(|text| view! {
                <p class="mt-6 whitespace-pre-line text-slate-800" data-testid="event-description">{text}</p>
            })}
            <ul class="mt-4 space-y-1 text-sm">{links}</ul>
            {add_to_calendar.map(|add| view! {
                <p class="mt-4 text-sm text-slate-700" data-testid="add-to-calendar">
                    "Add to calendar: "
                    <a href=add.ics class="text-sky-700 underline" download>"Calendar file (.ics)"</a>
                    " · "
                    <a href=add.google class="text-sky-700 underline" rel="nofollow noopener noreferrer" target="_blank">"Google Calendar"</a>
                    " · "
                    <a href=add.outlook class="text-sky-700 underline" rel="nofollow noopener noreferrer" target="_blank">"Outlook"</a>
                </p>
            })}
            {event.slug.clone().filter(|_| event.sync.at_uri.is_some()).map(|slug| view! {
                <p class="mt-2 text-sm">
                    // `external`: a file, not a page of the app, so the router leaves the click to the browser.
                    <a href=format!("/events/{slug}/record.json") rel="external" class="text-sky-700 underline" data-testid="record-json">
                        "The record as JSON"
                    </a>
                    <span class="text-slate-500">" (every field, as its data server holds it)"</span>
                </p>
            })}
            <div class="mt-6">
                <SyncDetails sync=event.sync.clone() now />
            </div>
            {owner_actions}
        </article>
        {event.id.map(|event_id| view! { <Attendance attendance event_id answer withdraw now /> })}
        <PendingWrites writes=pending.into_iter().chain(answer_pending).collect() actions=writes now />
        <Conflicts conflicts />
    }
}

/// A link from a record: live only when it goes to an http(s) URL, otherwise its text alone (a
/// `javascript:` or `data:` link must never be clickable).
#[component]
fn LinkTo(link: Link, text: String) -> impl IntoView {
    match link.href() {
        Some(href) => view! {
            <a href=href.to_owned() class="text-sky-700 underline" rel="nofollow noopener noreferrer">{text}</a>
        }
        .into_any(),
        None => view! { <span class="break-all text-slate-600" data-testid="inert-link">{text}</span> }.into_any(),
    }
}

/// The organiser's header image form: a plain multipart post (with or without JavaScript) to
/// `/events/{slug}/image`, which sends the image to their PDS and comes back here, with
/// `?image_error={code}` when it was refused.
#[component]
pub fn ImageForm(slug: Slug) -> impl IntoView {
    let query = use_query_map();
    let refused = move || {
        query
            .read()
            .get("image_error")
            .and_then(|code| ErrorCode::from_code(&code))
            .map(|code| view! { <p role="alert" class="mt-2 text-sm text-rose-700" data-testid="image-error">{code.message()}</p> })
    };
    view! {
        <form method="post" action=format!("/events/{slug}/image") enctype="multipart/form-data"
            class="mt-4 flex flex-wrap items-end gap-3 text-sm" data-testid="image-form">
            <label class="flex flex-col gap-1">
                <span class="font-medium text-slate-700">"Header image (JPEG, PNG, GIF, WebP or AVIF, at most 2 MB)"</span>
                <input type="file" name="image" required accept="image/jpeg,image/png,image/gif,image/webp,image/avif" />
            </label>
            <label class="flex flex-col gap-1">
                <span class="font-medium text-slate-700">"What it shows (for people who cannot see it)"</span>
                <input type="text" name="alt" maxlength="1000" class="rounded-md border border-slate-300 px-2 py-1" />
            </label>
            <button type="submit" class="rounded-md border border-slate-300 px-3 py-1.5 font-medium hover:bg-slate-100">
                "Upload image"
            </button>
        </form>
        {refused}
    }
}

/// Every place the event names, each with what it holds: the lines of an address, a point with a
/// link to the map, an online link, and for kinds this version cannot read, what they are called.
#[component]
fn Places(places: Vec<Place>) -> impl IntoView {
    if places.is_empty() {
        return ().into_any();
    }
    // A point links to the map, and to the other events around it.
    let map_link = |geo: &Geo| {
        let (latitude, longitude) = geo.point()?;
        let href = geo.map_url()?;
        let text = format!("{}, {} on the map", geo.latitude.trim(), geo.longitude.trim());
        let near = SearchInput {
            near: format!("{latitude},{longitude}"),
            ..Default::default()
        };
        Some(view! {
            <a href=href class="text-sky-700 underline" rel="nofollow noopener noreferrer">{text}</a>
            " · "
            <a data-testid="events-near" href=format!("/events?{}", near.query_string()) class="text-sky-700 underline">
                "Events near here"
            </a>
        })
    };
    let items = places
        .into_iter()
        .map(|place| {
            let kind = place.kind();
            let body = match place {
                Place::Address { name, lines } => view! {
                    {name.map(|name| view! { <span class="font-medium">{name}</span> })}
                    {lines.into_iter().map(|line| view! { <span class="block">{line}</span> }).collect_view()}
                }
                .into_any(),
                Place::Point { name, geo } => view! {
                    {name.map(|name| view! { <span class="block font-medium">{name}</span> })}
                    {map_link(&geo)}
                }
                .into_any(),
                Place::Foursquare { name, place_id, geo } => view! {
                    <span class="block font-medium">{name.unwrap_or_else(|| "A Foursquare place".to_owned())}</span>
                    <span class="block text-slate-500">"Foursquare place " {place_id}</span>
                    {geo.as_ref().and_then(map_link)}
                }
                .into_any(),
                Place::H3Cell { name, cell } => view! {
                    {name.map(|name| view! { <span class="block font-medium">{name}</span> })}
                    <span class="block text-slate-500">"Map cell (H3) " {cell}</span>
                }
                .into_any(),
                Place::Online(link) => {
                    let text = link.name.clone().unwrap_or_else(|| link.uri.clone());
                    view! { "Online: " <LinkTo link text /> }.into_any()
                }
                Place::Other { kind, name } => view! {
                    {name.map(|name| view! { <span class="block font-medium">{name}</span> })}
                    <span class="block text-slate-500">
                        "A kind of place this site cannot show yet: " {kind.unwrap_or_else(|| "unnamed".to_owned())}
                    </span>
                }
                .into_any(),
            };
            view! { <li data-testid="place" data-kind=kind class="text-slate-700">{body}</li> }
        })
        .collect_view();
    view! {
        <ul class="mt-2 space-y-2 text-sm" data-testid="event-places" aria-label="Where">{items}</ul>
    }
    .into_any()
}

/// The organiser's record of this event's conflicts: both versions and the decision.
#[component]
fn Conflicts(conflicts: Vec<ConflictView>) -> impl IntoView {
    if conflicts.is_empty() {
        return ().into_any();
    }
    let items = conflicts
        .into_iter()
        .map(|c| {
            let decision = match c.decision {
                Some(Decision::KeptTheirs) => "Kept Bluesky's version",
                Some(Decision::ReappliedOurs) => "Re-applied Skymeet's version",
                None => "Open",
            };
            let when = c.created_at.format("%Y-%m-%d %H:%M UTC").to_string();
            let ours = c.ours.unwrap_or_else(|| "(deleted)".to_owned());
            let theirs = c.theirs.unwrap_or_else(|| "(gone, or unreadable)".to_owned());
            view! {
                <li data-testid="conflict" data-decision=c.decision.map_or("", Decision::as_str)
                    class="rounded-lg border border-orange-200 bg-orange-50 p-3 text-sm">
                    <p class="font-medium text-orange-900">{decision} " · " {when}</p>
                    <p>"Skymeet's: " {ours}</p>
                    <p>"On Bluesky: " {theirs}</p>
                </li>
            }
        })
        .collect_view();
    view! {
        <section aria-labelledby="conflicts" class="mt-6">
            <h2 id="conflicts" class="text-lg font-semibold">"Conflicts"</h2>
            <ul class="mt-3 space-y-2">{items}</ul>
        </section>
    }
    .into_any()
}
