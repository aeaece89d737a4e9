use super::{event_new::SignInFirst, not_found::NotFound};
use crate::api::{
    series::{
        edit_series_form, occurrence_details, series_details, AnswerOccurrence, CancelOccurrence, CancelSeries,
        ChangeOccurrence, DeleteSeries, UpdateSeries,
    },
    views::{OccurrencePage, OccurrenceState, OccurrenceView, SeriesPage},
    ApiError,
};
use crate::app::components::{
    error_page::{failure, ErrorPage},
    event_form::{EventFields, FormError, SaveOrCancel},
    repeat_fields::RepeatFields,
};
use crate::app::resource;
use crate::domain::{RsvpStatus, Slug};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

const BUTTON: &str = "rounded-md border border-slate-300 px-3 py-1.5 text-sm font-medium hover:bg-slate-100";

/// The series `/series/{slug}...` names (by its slug, or by its id as older addresses do);
/// `None` when the segment is neither.
fn series_id() -> Memo<Option<i64>> {
    let params = use_params_map();
    Memo::new(move |_| params.read().get("slug").and_then(|slug| Slug::id_in(&slug)))
}

/// `/series/{slug}`: a recurring series, which of its occurrences is on Bluesky, and its dates.
#[component]
pub fn SeriesDetailPage() -> impl IntoView {
    let id = series_id();
    let actions = SeriesActions {
        change_occurrence: ServerAction::new(),
        cancel_occurrence: ServerAction::new(),
        cancel: ServerAction::new(),
        delete: ServerAction::new(),
    };
    let page = resource::blocking(
        move || {
            let versions = [
                actions.change_occurrence.version().get(),
                actions.cancel_occurrence.version().get(),
                actions.cancel.version().get(),
                actions.delete.version().get(),
            ];
            (id.get(), versions)
        },
        |(id, _)| async move {
            match id {
                Some(id) => series_details(id).await,
                None => Ok(None),
            }
        },
    );
    view! {
        <Transition fallback=|| view! { <p class="text-slate-500">"Loading the series…"</p> }>
            <ErrorBoundary fallback=|errors| view! { <ErrorPage errors /> }>
                {move || Suspend::new(async move {
                    let view = match page.await? {
                        Some(page) => view! { <SeriesDetail page actions /> }.into_any(),
                        None => view! { <NotFound /> }.into_any(),
                    };
                    Ok::<_, ApiError>(view)
                })}
            </ErrorBoundary>
        </Transition>
    }
}

#[derive(Clone, Copy)]
struct SeriesActions {
    change_occurrence: ServerAction<ChangeOccurrence>,
    cancel_occurrence: ServerAction<CancelOccurrence>,
    cancel: ServerAction<CancelSeries>,
    delete: ServerAction<DeleteSeries>,
}

#[component]
fn SeriesDetail(page: SeriesPage, actions: SeriesActions) -> impl IntoView {
    let SeriesPage {
        id,
        slug,
        draft,
        rule_words,
        rule,
        cancelled,
        owner,
        is_owner,
        current,
        upcoming,
        past,
    } = page;
    let zone = draft.time_zone.clone();
    let SeriesActions {
        change_occurrence,
        cancel_occurrence,
        cancel,
        delete,
    } = actions;
    let error = move || {
        [
            change_occurrence.value().get().and_then(Result::err),
            cancel_occurrence.value().get().and_then(Result::err),
            cancel.value().get().and_then(Result::err),
            delete.value().get().and_then(Result::err),
        ]
        .into_iter()
        .flatten()
        .next()
        .map(|e| view! { <p role="alert" class="mt-2 text-sm text-rose-700">{e.message}</p> })
    };
    let on_bluesky = match current {
        Some(current) => {
            let when = current.when.clone();
            let record = current.record_url.clone().map(|url| {
                view! {
                    " · " <a href=url class="text-sky-700 underline" data-testid="record-link"
                        rel="nofollow noopener noreferrer">"its record"</a>
                }
            });
            let open = current.event.clone().map(|event| {
                view! { " · " <a href=format!("/events/{event}") class="underline">"open it"</a> }
            });
            let waiting = (current.state == OccurrenceState::Queued).then_some(" (waiting for your Bluesky server)");
            view! {
                <p class="mt-4 rounded-md bg-sky-50 px-3 py-2 text-sm text-sky-900" data-testid="on-bluesky">
                    "On Bluesky now: " <strong>{when}</strong> {waiting} {record} {open}
                </p>
            }
            .into_any()
        }
        None => view! {
            <p class="mt-4 rounded-md bg-slate-50 px-3 py-2 text-sm text-slate-700" data-testid="on-bluesky">
                "No occurrence of this series is on Bluesky now."
            </p>
        }
        .into_any(),
    };
    let owner_actions = is_owner.then(|| {
        view! {
            <div class="mt-6 flex flex-wrap gap-3">
                <a href=format!("/series/{slug}/edit") class=BUTTON>"Edit series"</a>
                {(!cancelled).then(|| view! {
                    <ActionForm action=cancel>
                        <input type="hidden" name="id" value=id />
                        <button type="submit" class=BUTTON>"Cancel series"</button>
                    </ActionForm>
                })}
                <ActionForm action=delete>
                    <input type="hidden" name="id" value=id />
                    <button type="submit"
                        class="rounded-md border border-rose-300 px-3 py-1.5 text-sm font-medium text-rose-700 hover:bg-rose-50">
                        "Delete series"
                    </button>
                </ActionForm>
            </div>
        }
    });
    let rows = |occurrences: Vec<OccurrenceView>, testid: &'static str| {
        occurrences
            .into_iter()
            .map(|occurrence| {
                view! {
                    <OccurrenceRow occurrence series_id=id series_slug=slug.clone() is_owner
                        cancel=cancel_occurrence change=change_occurrence testid series_cancelled=cancelled />
                }
            })
            .collect_view()
    };
    let upcoming_rows = rows(upcoming, "occurrence");
    let has_past = !past.is_empty();
    let past_rows = rows(past, "past-occurrence");
    view! {
        <Title text=draft.name.clone() />
        <article class="rounded-2xl border border-slate-200 bg-white p-8 shadow-sm">
            {cancelled.then(|| view! {
                <p class="mb-2 inline-block rounded bg-amber-100 px-2 py-0.5 text-sm font-medium text-amber-800">
                    "Cancelled"
                </p>
            })}
            <p class="text-sm font-medium uppercase tracking-wide text-slate-500">"Series"</p>
            <h1 class="text-3xl font-bold">{draft.name.clone()}</h1>
            <p class="mt-2 text-slate-700" data-testid="rule-words">{rule_words}</p>
            <p class="text-sm text-slate-500">"Times in " {zone.to_string()} " · " <code data-testid="rule">{rule}</code></p>
            <p class="text-xs text-slate-500">
                "Every date keeps the same local time across daylight-saving changes; on a date whose time the clocks skip, it moves forward by the gap."
            </p>
            <p class="mt-2 text-sm" data-testid="series-calendar">
                <a href=format!("/series/{slug}/calendar.ics") class="text-sky-700 underline" download>
                    "Add every date to your calendar (.ics)"
                </a>
            </p>
            {owner.map(|owner| {
                let href = owner.handle.clone().map(|h| format!("/u/{h}")).unwrap_or_default();
                view! { <p class="mt-2 text-sm text-slate-500">"Organised by " <a href=href class="underline">{owner.name()}</a></p> }
            })}
            {draft.description.clone().map(|text| view! {
                <p class="mt-6 whitespace-pre-line text-slate-800">{text}</p>
            })}
            {on_bluesky}
            {owner_actions}
            {error}
        </article>
        <section aria-labelledby="upcoming" class="mt-6">
            <h2 id="upcoming" class="text-lg font-semibold">"Upcoming"</h2>
            <ul class="mt-3 space-y-2">{upcoming_rows}</ul>
        </section>
        {has_past.then(|| view! {
            <section aria-labelledby="past" class="mt-6">
                <h2 id="past" class="text-lg font-semibold">"Past"</h2>
                <ul class="mt-3 space-y-2">{past_rows}</ul>
            </section>
        })}
    }
}

/// One occurrence in a series' list: its date, where it stands, and a way to open it.
#[component]
fn OccurrenceRow(
    occurrence: OccurrenceView,
    series_id: i64,
    series_slug: Slug,
    is_owner: bool,
    cancel: ServerAction<CancelOccurrence>,
    change: ServerAction<ChangeOccurrence>,
    testid: &'static str,
    series_cancelled: bool,
) -> impl IntoView {
    let when = occurrence.when.clone();
    let moved = occurrence.moved_from.as_ref().map(|from| format!("moved from {from}"));
    let renamed = occurrence.name.clone();
    let changing = (is_owner && !series_cancelled && !occurrence.cancelled).then(|| {
        let starts = occurrence.starts_input.clone();
        let name = occurrence.name.clone().unwrap_or_default();
        let key = occurrence.key.clone();
        view! {
            <details class="w-full text-sm">
                <summary class="cursor-pointer text-slate-600 underline">"Change this date"</summary>
                <ActionForm action=change attr:class="mt-2 flex flex-wrap items-end gap-3">
                    <input type="hidden" name="id" value=series_id />
                    <input type="hidden" name="key" value=key />
                    <label class="text-sm">"Takes place"
                        <input type="datetime-local" name="starts_at" value=starts
                            class="ml-1 rounded-md border border-slate-300 px-2 py-1" />
                    </label>
                    <label class="text-sm">"Name for this date"
                        <input type="text" name="name" value=name placeholder="the series' name"
                            class="ml-1 rounded-md border border-slate-300 px-2 py-1" />
                    </label>
                    <button type="submit" class="rounded-md border border-slate-300 px-3 py-1 font-medium hover:bg-slate-100">
                        "Save this date"
                    </button>
                </ActionForm>
            </details>
        }
    });
    let href = match &occurrence.event {
        Some(event) => format!("/events/{event}"),
        None => format!("/series/{series_slug}/at/{}", occurrence.key),
    };
    let state = state_label(&occurrence);
    let toggle = (is_owner && !series_cancelled).then(|| {
        let (value, label) = if occurrence.cancelled {
            ("false", "Restore")
        } else {
            ("true", "Cancel")
        };
        view! {
            <ActionForm action=cancel>
                <input type="hidden" name="id" value=series_id />
                <input type="hidden" name="key" value=occurrence.key.clone() />
                <input type="hidden" name="cancelled" value=value />
                <button type="submit" class="text-sm text-slate-600 underline">{label}</button>
            </ActionForm>
        }
    });
    view! {
        <li data-testid=testid data-state=state_name(occurrence.state) data-cancelled=occurrence.cancelled.to_string()
            class="flex flex-wrap items-center gap-3 rounded-lg border border-slate-200 bg-white px-4 py-2">
            <a href=href class="font-medium text-sky-700 underline">{when}</a>
            {renamed.map(|name| view! { <span class="text-sm font-medium" data-testid="occurrence-name">{name}</span> })}
            {moved.map(|moved| view! { <span class="text-sm text-amber-800" data-testid="moved">{moved}</span> })}
            <span class="text-sm text-slate-600">{state}</span>
            {toggle}
            {changing}
        </li>
    }
}

fn state_label(occurrence: &OccurrenceView) -> &'static str {
    match (occurrence.cancelled, occurrence.state) {
        (true, OccurrenceState::Published) => "Cancelled (Bluesky says so)",
        (true, _) => "Cancelled",
        (false, OccurrenceState::Published) => "On Bluesky",
        (false, OccurrenceState::Queued) => "Waiting for the organiser's Bluesky server",
        (false, OccurrenceState::NotYet) => "Not on Bluesky yet",
        (false, OccurrenceState::Gone) => "Deleted on Bluesky",
    }
}

fn state_name(state: OccurrenceState) -> &'static str {
    match state {
        OccurrenceState::NotYet => "not-yet",
        OccurrenceState::Queued => "queued",
        OccurrenceState::Published => "published",
        OccurrenceState::Gone => "gone",
    }
}

/// `/series/{slug}/at/{key}`: one occurrence not on Bluesky yet, which anyone may answer (that
/// publishes it).
#[component]
pub fn OccurrenceDetailPage() -> impl IntoView {
    let params = use_params_map();
    let target = Memo::new(move |_| {
        let params = params.read();
        let id = params.get("slug").and_then(|slug| Slug::id_in(&slug));
        id.zip(params.get("key"))
    });
    let answer = ServerAction::<AnswerOccurrence>::new();
    let page = resource::blocking(
        move || target.get(),
        |target| async move {
            match target {
                Some((id, key)) => occurrence_details(id, key).await,
                None => Ok(None),
            }
        },
    );
    view! {
        <Transition fallback=|| view! { <p class="text-slate-500">"Loading…"</p> }>
            <ErrorBoundary fallback=|errors| view! { <ErrorPage errors /> }>
                {move || Suspend::new(async move {
                    let view = match page.await? {
                        Some(page) => view! { <OccurrenceDetail page answer /> }.into_any(),
                        None => view! { <NotFound /> }.into_any(),
                    };
                    Ok::<_, ApiError>(view)
                })}
            </ErrorBoundary>
        </Transition>
    }
}

#[component]
fn OccurrenceDetail(page: OccurrencePage, answer: ServerAction<AnswerOccurrence>) -> impl IntoView {
    let OccurrencePage {
        series_id,
        series_slug,
        draft,
        rule_words,
        occurrence,
        when,
    } = page;
    let error = move || failure(answer.value().get());
    let key = occurrence.key.clone();
    let buttons = RsvpStatus::ALL
        .into_iter()
        .map(|status| {
            let key = key.clone();
            view! {
                <ActionForm action=answer>
                    <input type="hidden" name="id" value=series_id />
                    <input type="hidden" name="key" value=key />
                    <input type="hidden" name="status" value=status.name() />
                    <button type="submit" class=BUTTON disabled=move || answer.pending().get()>{status.label()}</button>
                </ActionForm>
            }
        })
        .collect_view();
    let answerable = !occurrence.cancelled;
    view! {
        <Title text=draft.name.clone() />
        <article class="rounded-2xl border border-slate-200 bg-white p-8 shadow-sm">
            {occurrence.cancelled.then(|| view! {
                <p class="mb-2 inline-block rounded bg-amber-100 px-2 py-0.5 text-sm font-medium text-amber-800">"Cancelled"</p>
            })}
            <h1 class="text-3xl font-bold">{draft.name.clone()}</h1>
            <p class="mt-2 text-slate-700" data-testid="event-when">{when}</p>
            <p class="mt-2 text-sm text-slate-600">
                "One date of a series: " {rule_words} " · "
                <a href=format!("/series/{series_slug}") class="underline" data-testid="series-link">"all dates"</a>
            </p>
            <p class="mt-4 text-sm text-slate-600">
                "This date is not on Bluesky yet. Answering it publishes it to its organiser's Bluesky account, so that your answer has an event to point at."
            </p>
            {answerable.then(|| view! {
                <div class="mt-4 flex flex-wrap gap-3" data-testid="answer-occurrence">{buttons}</div>
            })}
            {error}
        </article>
    }
}

/// `/series/{slug}/edit`: the organiser's form for the whole series.
#[component]
pub fn EditSeriesPage() -> impl IntoView {
    let id = series_id();
    let update = ServerAction::<UpdateSeries>::new();
    let error = Signal::derive(move || update.value().get().and_then(Result::err));
    let form = resource::blocking(
        move || id.get(),
        |id| async move {
            match id {
                Some(id) => edit_series_form(id).await.map(Some),
                None => Ok(None),
            }
        },
    );
    view! {
        <Title text="Edit series" />
        <Transition fallback=|| view! { <p class="text-slate-500">"Loading the series…"</p> }>
            <ErrorBoundary fallback=|errors| view! { <ErrorPage errors /> }>
                {move || Suspend::new(async move {
                    let (Some(id), Some(form)) = (id.get_untracked(), form.await?) else {
                        return Ok::<_, ApiError>(view! { <SignInFirst /> }.into_any());
                    };
                    Ok(view! {
                        <section class="mx-auto max-w-2xl rounded-2xl border border-slate-200 bg-white p-8 shadow-sm">
                            <h1 class="text-2xl font-bold">"Edit series"</h1>
                            <p class="mt-1 text-sm text-slate-600">
                                "The date on Bluesky follows your changes; so does every later one."
                            </p>
                            <ActionForm action=update attr:class="mt-6 space-y-5">
                                <input type="hidden" name="id" value=id />
                                <EventFields initial=form.input error />
                                <RepeatFields initial=form.repeat error allow_none=false />
                                <FormError error />
                                <SaveOrCancel pending=update.pending() back=format!("/series/{}", form.slug) />
                            </ActionForm>
                        </section>
                    }
                        .into_any())
                })}
            </ErrorBoundary>
        </Transition>
    }
}
