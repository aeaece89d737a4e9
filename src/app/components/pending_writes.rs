use super::sync_badge::ago;
use crate::api::{
    events::{DiscardWrite, ReapplyWrite, RetryWrite},
    views::PendingWriteView,
};
use crate::domain::WriteState;
use chrono::{DateTime, Utc};
use leptos::prelude::*;

/// The actions a pending write offers.
#[derive(Clone, Copy)]
pub struct WriteActions {
    pub retry: ServerAction<RetryWrite>,
    pub discard: ServerAction<DiscardWrite>,
    pub reapply: ServerAction<ReapplyWrite>,
}

impl WriteActions {
    pub fn new() -> Self {
        Self {
            retry: ServerAction::new(),
            discard: ServerAction::new(),
            reapply: ServerAction::new(),
        }
    }

    /// Changes whenever one of them completes: pages reload their data on it.
    pub fn version(&self) -> [usize; 3] {
        [
            self.retry.version().get(),
            self.discard.version().get(),
            self.reapply.version().get(),
        ]
    }
}

impl Default for WriteActions {
    fn default() -> Self {
        Self::new()
    }
}

/// Writes the PDS has not accepted yet, each with "Retry now" and "Discard"; a conflict
/// with "Re-apply mine" and "Keep Bluesky's".
#[component]
pub fn PendingWrites(writes: Vec<PendingWriteView>, actions: WriteActions, now: DateTime<Utc>) -> impl IntoView {
    let WriteActions {
        retry,
        discard,
        reapply,
    } = actions;
    if writes.is_empty() {
        return ().into_any();
    }
    let errors = move || {
        [retry.value().get(), discard.value().get(), reapply.value().get()]
            .into_iter()
            .flatten()
            .filter_map(Result::err)
            .map(|error| view! { <p role="alert" class="text-sm text-rose-700">{error.message}</p> })
            .collect_view()
    };
    let items = writes
        .into_iter()
        .map(|write| {
            let next = if write.state == WriteState::Pending {
                if write.next_attempt_at <= now {
                    "Next try: now".to_owned()
                } else {
                    format!("Next try in {}", ago(write.next_attempt_at, now).trim_end_matches(" ago"))
                }
            } else {
                String::new()
            };
            let conflict = write.state == WriteState::Conflict;
            let attempts = format!("{} attempt{}", write.attempts, if write.attempts == 1 { "" } else { "s" });
            view! {
                <li data-testid="pending-write" data-state=write.state.as_str()
                    class="rounded-lg border border-amber-200 bg-amber-50 p-4 text-sm">
                    <p class="font-medium text-amber-900">{write.describe()}</p>
                    <p class="text-amber-800">{attempts} " · " {next}</p>
                    {write.last_error.clone().map(|e| view! { <p class="text-xs text-amber-700">"Last error: " {e}</p> })}
                    <div class="mt-2 flex gap-2">
                        {if conflict {
                            view! {
                                <ActionForm action=reapply>
                                    <input type="hidden" name="id" value=write.id />
                                    <button type="submit" class="rounded-md border border-amber-300 bg-white px-3 py-1 font-medium hover:bg-amber-100">
                                        "Re-apply mine"
                                    </button>
                                </ActionForm>
                            }
                            .into_any()
                        } else {
                            view! {
                                <ActionForm action=retry>
                                    <input type="hidden" name="id" value=write.id />
                                    <button type="submit" class="rounded-md border border-amber-300 bg-white px-3 py-1 font-medium hover:bg-amber-100">
                                        "Retry now"
                                    </button>
                                </ActionForm>
                            }
                            .into_any()
                        }}
                        <ActionForm action=discard>
                            <input type="hidden" name="id" value=write.id />
                            <button type="submit" class="rounded-md border border-slate-300 bg-white px-3 py-1 font-medium hover:bg-slate-100">
                                {if conflict { "Keep Bluesky's" } else { "Discard" }}
                            </button>
                        </ActionForm>
                    </div>
                </li>
            }
        })
        .collect_view();
    view! {
        <section aria-labelledby="pending" class="mt-6">
            <h2 id="pending" class="text-lg font-semibold">"Pending"</h2>
            <p class="text-sm text-slate-600">
                "Not on Bluesky yet. Skymeet keeps these and retries them until your server accepts them."
            </p>
            <ul class="mt-3 space-y-3">{items}</ul>
            {errors}
        </section>
    }
    .into_any()
}
