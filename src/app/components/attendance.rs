use super::sync_badge::{ago, SyncBadge};
use crate::api::{
    attendance::{AnswerEvent, WithdrawAnswer},
    views::{AttendanceView, AttendeeView, MyAnswerView},
};
use crate::domain::RsvpStatus;
use chrono::{DateTime, Utc};
use leptos::prelude::*;

/// Who is going: counts per answer, the attendee list, and the viewer's own answer with
/// buttons to give, change or withdraw it. Plain forms, so it works without JavaScript.
#[component]
pub fn Attendance(
    attendance: AttendanceView,
    event_id: i64,
    answer: ServerAction<AnswerEvent>,
    withdraw: ServerAction<WithdrawAnswer>,
    now: DateTime<Utc>,
) -> impl IntoView {
    let counts = RsvpStatus::ALL
        .into_iter()
        .map(|status| {
            let count = attendance.count(status);
            view! {
                <li class="rounded-lg bg-slate-100 px-3 py-2 text-center">
                    <span class="block text-2xl font-bold" data-testid=format!("count-{}", status.name())>{count}</span>
                    <span class="text-sm text-slate-600">{status.label()}</span>
                </li>
            }
        })
        .collect_view();
    let empty = attendance.attendees.is_empty();
    let attendees = attendance
        .attendees
        .into_iter()
        .map(|a| view! { <Attendee attendee=a /> })
        .collect_view();
    let mine = match attendance.mine {
        Some(mine) => view! { <MyAnswer mine event_id answer withdraw now /> }.into_any(),
        None => view! {
            <p class="mt-4 text-sm text-slate-600" data-testid="answer-sign-in">
                <a href="/login" class="text-sky-700 underline">"Sign in with Bluesky"</a>
                " or with an email account to answer."
            </p>
        }
        .into_any(),
    };
    view! {
        <section aria-labelledby="attendance" data-testid="attendance"
            class="mt-6 rounded-2xl border border-slate-200 bg-white p-6 shadow-sm">
            <h2 id="attendance" class="text-lg font-semibold">"Attendance"</h2>
            <ul class="mt-3 grid grid-cols-3 gap-3">{counts}</ul>
            {mine}
            <h3 class="mt-6 text-sm font-semibold text-slate-700">"Who is coming"</h3>
            {empty.then(|| view! { <p class="mt-1 text-sm text-slate-500">"No answers yet."</p> })}
            <ul class="mt-2 divide-y divide-slate-100" data-testid="attendees">{attendees}</ul>
        </section>
    }
}

#[component]
fn Attendee(attendee: AttendeeView) -> impl IntoView {
    let name = attendee.name();
    let href = attendee.handle.clone().map(|h| format!("/u/{h}"));
    let handle = attendee.handle.clone().map(|h| format!("@{h}"));
    view! {
        <li class="flex items-center gap-3 py-2" data-testid="attendee" data-status=attendee.status.name()>
            {match attendee.avatar_url {
                Some(src) => view! { <img src=src alt="" class="h-8 w-8 rounded-full object-cover" /> }.into_any(),
                None => view! { <span class="h-8 w-8 rounded-full bg-slate-200" aria-hidden="true"></span> }.into_any(),
            }}
            <div class="min-w-0 flex-1">
                <a href=href class="font-medium hover:text-sky-700">{name}</a>
                {handle.map(|h| view! { <span class="ml-2 text-sm text-slate-500">{h}</span> })}
                {attendee.earlier_version.then(|| view! {
                    <p class="text-xs text-slate-500">"Answered before the event was last changed"</p>
                })}
            </div>
            <span class="text-sm text-slate-600">{attendee.status.label()}</span>
        </li>
    }
}

#[component]
fn MyAnswer(
    mine: MyAnswerView,
    event_id: i64,
    answer: ServerAction<AnswerEvent>,
    withdraw: ServerAction<WithdrawAnswer>,
    now: DateTime<Utc>,
) -> impl IntoView {
    let current = mine.status;
    let buttons = RsvpStatus::ALL
        .into_iter()
        .map(|status| {
            let chosen = current == Some(status);
            let style = if chosen {
                "bg-sky-600 text-white border-sky-600"
            } else {
                "bg-white text-slate-800 border-slate-300 hover:bg-slate-100"
            };
            view! {
                <ActionForm action=answer>
                    <input type="hidden" name="id" value=event_id />
                    <input type="hidden" name="status" value=status.name() />
                    <button type="submit" aria-pressed=chosen.to_string() data-testid=format!("answer-{}", status.name())
                        class=format!("rounded-md border px-3 py-1.5 text-sm font-medium {style}")>
                        {status.label()}
                    </button>
                </ActionForm>
            }
        })
        .collect_view();
    let errors = move || {
        [answer.value().get(), withdraw.value().get()]
            .into_iter()
            .flatten()
            .filter_map(Result::err)
            .map(|error| view! { <p role="alert" class="mt-2 text-sm text-rose-700">{error.message}</p> })
            .collect_view()
    };
    let described = current.map_or("You have not answered yet.", |status| match status {
        RsvpStatus::Going => "You are going.",
        RsvpStatus::Interested => "You are interested.",
        RsvpStatus::NotGoing => "You are not going.",
    });
    let synced = mine
        .sync
        .last_synced_at
        .map(|at| format!("Last synced {}", ago(now, at)));
    view! {
        <div class="mt-4 rounded-lg border border-slate-200 bg-slate-50 p-4" data-testid="my-answer"
            data-status=current.map(RsvpStatus::name).unwrap_or("none")>
            <div class="flex flex-wrap items-center gap-2 text-sm">
                <span class="font-medium" data-testid="my-status">{described}</span>
                {current.map(|_| view! { <SyncBadge status=mine.sync.status /> })}
                {synced.filter(|_| current.is_some()).map(|s| view! { <span class="text-slate-500">{s}</span> })}
            </div>
            {mine.earlier_version.then(|| view! {
                <p class="mt-1 text-xs text-amber-800" data-testid="answered-earlier-version">
                    "You answered before the organiser last changed this event; your answer still counts."
                </p>
            })}
            <div class="mt-3 flex flex-wrap gap-2">
                {buttons}
                {current.map(|_| view! {
                    <ActionForm action=withdraw>
                        <input type="hidden" name="id" value=event_id />
                        <button type="submit" data-testid="withdraw"
                            class="rounded-md border border-rose-300 px-3 py-1.5 text-sm font-medium text-rose-700 hover:bg-rose-50">
                            "Withdraw"
                        </button>
                    </ActionForm>
                })}
            </div>
            {mine.sync.record_url.filter(|_| current.is_some()).map(|url| view! {
                <a href=url class="mt-2 inline-block text-xs text-sky-700 underline" rel="nofollow">
                    "View your RSVP record on your Bluesky server"
                </a>
            })}
            {mine.sync.last_error.map(|error| view! { <p class="mt-2 text-xs text-rose-700">"Last error: " {error}</p> })}
            {errors}
        </div>
    }
}
