use crate::api::events::CreateEvent;
use crate::app::components::{
    event_form::{EventFields, FormError, VisibilityField},
    layout::ViewerContext,
    repeat_fields::RepeatFields,
    time_zone_form::ViewerTimeZone,
};
use crate::domain::{EventInput, RepeatInput, Visibility};
use leptos::prelude::*;
use leptos_meta::Title;

/// `/events/new`: publish an event to your Bluesky account.
#[component]
pub fn NewEventPage() -> impl IntoView {
    let create = ServerAction::<CreateEvent>::new();
    let ViewerContext { viewer, .. } = expect_context();
    let ViewerTimeZone { zone, .. } = expect_context();
    let error = Signal::derive(move || create.value().get().and_then(Result::err));
    view! {
        <Title text="New event" />
        <Transition fallback=|| view! { <p class="text-slate-500">"Loading…"</p> }>
            {move || Suspend::new(async move {
                let viewer = viewer.await.ok().flatten();
                let signed_in = viewer.is_some();
                let on_bluesky = viewer.as_ref().is_some_and(|viewer| viewer.did.is_some());
                // A new event starts in the visitor's zone, or UTC before one is known.
                let zone = zone.await.unwrap_or_default().viewer().cloned().unwrap_or_default();
                if !signed_in {
                    return view! { <SignInFirst /> }.into_any();
                }
                let initial = EventInput {
                    time_zone: zone.to_string(),
                    ..Default::default()
                };
                view! {
                    <section class="mx-auto max-w-2xl rounded-2xl border border-slate-200 bg-white p-8 shadow-sm">
                        <h1 class="text-2xl font-bold">"New event"</h1>
                        <p class="mt-1 text-sm text-slate-600">
                            {match on_bluesky {
                                true => "A public event is published to your Bluesky account first, in your own data server. \
                                         You can add a header image on its page once it is published.",
                                false => "It is kept on Skymeet. Connect Bluesky from your account page to publish it there later.",
                            }}
                        </p>
                        <ActionForm action=create attr:class="mt-6 space-y-5">
                            <EventFields initial error />
                            <VisibilityField initial=Visibility::Public on_bluesky error />
                            <RepeatFields initial=RepeatInput::default() error allow_none=true />
                            <FormError error />
                            <button type="submit"
                                class="rounded-md bg-sky-600 px-4 py-2 font-medium text-white hover:bg-sky-700 disabled:opacity-60"
                                disabled=move || create.pending().get()>
                                {if on_bluesky { "Publish event" } else { "Create event" }}
                            </button>
                        </ActionForm>
                    </section>
                }
                    .into_any()
            })}
        </Transition>
    }
}

#[component]
pub fn SignInFirst() -> impl IntoView {
    view! {
        <section class="mx-auto max-w-md text-center">
            <p class="text-slate-600">
                "Sign in with Bluesky to publish events. Signed in with an email account, your events are kept on Skymeet."
            </p>
            <a href="/login" class="mt-6 inline-block rounded-md bg-sky-600 px-4 py-2 font-medium text-white">
                "Sign in"
            </a>
        </section>
    }
}
