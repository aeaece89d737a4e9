use leptos::prelude::*;
use leptos_meta::Title;

/// Shown for any path no route matches, with HTTP status 404.
#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    {
        if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
            response.set_status(axum::http::StatusCode::NOT_FOUND);
        }
    }
    view! {
        <Title text="Page not found" />
        <section class="mx-auto max-w-md py-16 text-center">
            <p class="text-sm font-semibold uppercase tracking-wide text-sky-700">"404"</p>
            <h1 class="mt-2 text-3xl font-bold">"Page not found"</h1>
            <p class="mt-4 text-slate-600">
                "There is nothing at this address. It may have moved, or the link may be mistyped."
            </p>
            <a href="/" class="mt-8 inline-block rounded-md bg-sky-600 px-4 py-2 font-medium text-white hover:bg-sky-700">
                "Back to upcoming events"
            </a>
        </section>
    }
}
