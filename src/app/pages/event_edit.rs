use super::{
    event::{event_id, ImageForm},
    event_new::SignInFirst,
    not_found::NotFound,
};
use crate::api::{
    events::{event_details, UpdateEvent},
    ApiError,
};
use crate::app::components::{
    error_page::ErrorPage,
    event_form::{EventFields, FormError, SaveOrCancel, VisibilityField},
};
use crate::app::resource;
use leptos::prelude::*;
use leptos_meta::Title;

/// `/events/{slug}/edit`: the owner's form, filled with the event as its record holds it.
#[component]
pub fn EditEventPage() -> impl IntoView {
    let id = event_id();
    let update = ServerAction::<UpdateEvent>::new();
    let error = Signal::derive(move || update.value().get().and_then(Result::err));
    let page = resource::blocking(
        move || id.get(),
        |id| async move {
            match id {
                Some(id) => event_details(id, String::new()).await,
                None => Ok(None),
            }
        },
    );
    view! {
        <Title text="Edit event" />
        <Transition fallback=|| view! { <p class="text-slate-500">"Loading the event…"</p> }>
            <ErrorBoundary fallback=|errors| view! { <ErrorPage errors /> }>
                {move || Suspend::new(async move {
                    let Some(page) = page.await? else {
                        return Ok::<_, ApiError>(view! { <NotFound /> }.into_any());
                    };
                    let (Some(id), Some(slug), true) = (page.event.id, page.event.slug, page.event.can_edit) else {
                        return Ok(view! { <SignInFirst /> }.into_any());
                    };
                    let Some(initial) = page.input else {
                        return Ok(view! { <SignInFirst /> }.into_any());
                    };
                    // Kept on Skymeet only: saved here, its visibility may change, and it has no
                    // data server to hold an image.
                    let here = page.event.sync.at_uri.is_none();
                    let visibility = page.event.visibility;
                    let back = format!("/events/{slug}");
                    let current_image = crate::domain::EventImage::header(&page.event.images).map(|image| {
                        let src = image.path(&format!("/events/{slug}"));
                        view! { <img src=src alt=image.alt.clone() class="mt-2 max-h-32 rounded-lg" data-testid="current-image" /> }
                    });
                    Ok(view! {
                        <section class="mx-auto max-w-2xl rounded-2xl border border-slate-200 bg-white p-8 shadow-sm">
                            <h1 class="text-2xl font-bold">"Edit event"</h1>
                            <p class="mt-1 text-sm text-slate-600">
                                {match here {
                                    true => "It is kept on Skymeet: changes are saved here at once.",
                                    false => "Changes are saved to your Bluesky account first. Fields other apps added to the event are kept.",
                                }}
                            </p>
                            <ActionForm action=update attr:class="mt-6 space-y-5">
                                <input type="hidden" name="id" value=id />
                                <EventFields initial error />
                                {here.then(|| view! { <VisibilityField initial=visibility on_bluesky=false error /> })}
                                <FormError error />
                                <SaveOrCancel pending=update.pending() back=back />
                            </ActionForm>
                            // Its own form: the file goes to the PDS as it is, apart from the fields.
                            {(!here).then(|| view! {
                                <h2 class="mt-8 text-lg font-semibold">"Header image"</h2>
                                {current_image}
                                <ImageForm slug />
                            })}
                        </section>
                    }
                        .into_any())
                })}
            </ErrorBoundary>
        </Transition>
    }
}
