use crate::api::{
    attendance::{AnswerEvent, WithdrawAnswer},
    events::{event_details, DeleteEvent, DiscardWrite, EventPage, RetryWrite},
    ApiError,
};
use crate::app::components::{
    attendance::Attendance,
    error_page::ErrorPage,
    event_card::{place, when},
    pending_writes::PendingWrites,
    sync_badge::SyncDetails,
    time_zone_form::ViewerTimeZone,
};
use crate::app::pages::not_found::NotFound;
use crate::domain::{EventMode, EventStatus, TimeZoneName};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

/// The `{id}` of `/events/{id}...`; `None` when it is not a number.
pub fn event_id() -> Memo<Option<i64>> {
    let params = use_params_map();
    Memo::new(move |_| params.read().get("id").and_then(|id| id.parse().ok()))
}

/// `/events/{id}`: one event, its sync status, and for its owner edit / delete (F12).
#[component]
pub fn EventDetailPage() -> impl IntoView {
    let id = event_id();
    let ViewerTimeZone { zone, .. } = expect_context();
    let delete = ServerAction::<DeleteEvent>::new();
    let retry = ServerAction::<RetryWrite>::new();
    let discard = ServerAction::<DiscardWrite>::new();
    let actions = Actions {
        delete,
        retry,
        discard,
        answer: ServerAction::<AnswerEvent>::new(),
        withdraw: ServerAction::<WithdrawAnswer>::new(),
    };
    let page = Resource::new_blocking(
        move || {
            let versions = [
                retry.version().get(),
                discard.version().get(),
                actions.answer.version().get(),
                actions.withdraw.version().get(),
            ];
            (id.get(), versions)
        },
        |(id, ..)| async move {
            match id {
                Some(id) => event_details(id).await,
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
    retry: ServerAction<RetryWrite>,
    discard: ServerAction<DiscardWrite>,
    answer: ServerAction<AnswerEvent>,
    withdraw: ServerAction<WithdrawAnswer>,
}

#[component]
fn EventDetail(page: EventPage, zone: TimeZoneName, actions: Actions) -> impl IntoView {
    let Actions {
        delete,
        retry,
        discard,
        answer,
        withdraw,
    } = actions;
    let EventPage {
        event,
        pending,
        attendance,
        answer_pending,
        now,
    } = page;
    let when = when(&event, &zone);
    let place = place(&event);
    let draft = event.draft.clone();
    let status = (draft.status != EventStatus::Scheduled).then(|| draft.status.label());
    let mode = (draft.mode != EventMode::InPerson).then(|| draft.mode.label());
    let delete_error = move || delete.value().get().and_then(Result::err).map(|e| e.message);
    let owner_actions = event.id.filter(|_| event.can_edit).map(|id| {
        view! {
            <div class="mt-6 flex flex-wrap gap-3">
                <a href=format!("/events/{id}/edit")
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
            </div>
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
            view! { <li><a href=link.uri.clone() class="text-sky-700 underline" rel="nofollow">{text}</a></li> }
        })
        .collect_view();
    let online = draft.online.clone().map(|link| {
        let href = link.uri.clone();
        view! {
            <p class="mt-1">
                "Online: " <a href=href class="text-sky-700 underline" rel="nofollow">{link.uri}</a>
            </p>
        }
    });
    view! {
        <Title text=draft.name.clone() />
        <article class="rounded-2xl border border-slate-200 bg-white p-8 shadow-sm">
            {status.map(|status| view! {
                <p class="mb-2 inline-block rounded bg-amber-100 px-2 py-0.5 text-sm font-medium text-amber-800">{status}</p>
            })}
            <h1 class="text-3xl font-bold">{draft.name.clone()}</h1>
            <p class="mt-2 text-slate-700" data-testid="event-when">{when}</p>
            {place.map(|place| view! { <p class="text-slate-600" data-testid="event-place">{place}</p> })}
            {mode.map(|mode| view! { <p class="text-slate-600">{mode}</p> })}
            {online}
            {event.owner.clone().map(|owner| {
                let href = owner.handle.clone().map(|h| format!("/u/{h}")).unwrap_or_default();
                view! { <p class="mt-2 text-sm text-slate-500">"Organised by " <a href=href class="underline">{owner.name()}</a></p> }
            })}
            {draft.description.clone().map(|text| view! {
                <p class="mt-6 whitespace-pre-line text-slate-800" data-testid="event-description">{text}</p>
            })}
            <ul class="mt-4 space-y-1 text-sm">{links}</ul>
            <div class="mt-6">
                <SyncDetails sync=event.sync.clone() now />
            </div>
            {owner_actions}
        </article>
        {event.id.map(|event_id| view! { <Attendance attendance event_id answer withdraw now /> })}
        <PendingWrites writes=pending.into_iter().chain(answer_pending).collect() retry discard now />
    }
}
