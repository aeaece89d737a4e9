use crate::api::ApiError;
use leptos::prelude::*;
use leptos_meta::Title;

/// Shown when a page cannot load its data; sets HTTP status 500 on the server unless the failing
/// server function set one. Only the safe
/// message and the stable code of an [`ApiError`] are shown; anything else gets a generic text.
#[component]
pub fn ErrorPage(errors: ArcRwSignal<Errors>) -> impl IntoView {
    #[cfg(feature = "ssr")]
    {
        // A server function may have set a more telling status already (401, 403, 404).
        if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
            let unset = response.0.read().map(|parts| parts.status.is_none()).unwrap_or(true);
            if unset {
                response.set_status(axum::http::StatusCode::INTERNAL_SERVER_ERROR);
            }
        }
    }
    let messages = move || {
        errors
            .get()
            .into_iter()
            .map(|(_, error)| match error.downcast_ref::<ApiError>() {
                Some(api) => (api.message.clone(), api.code.clone()),
                None => (
                    "Something went wrong. Please try again.".to_owned(),
                    "error-internal-1".to_owned(),
                ),
            })
            .collect::<Vec<_>>()
    };
    view! {
        <Title text="Something went wrong" />
        <section role="alert" class="mx-auto max-w-md py-16 text-center">
            <p class="text-sm font-semibold uppercase tracking-wide text-rose-700">"Error"</p>
            <h1 class="mt-2 text-3xl font-bold">"Something went wrong"</h1>
            <ul class="mt-4 space-y-2 text-slate-600">
                {move || {
                    messages()
                        .into_iter()
                        .map(|(message, code)| {
                            view! {
                                <li>
                                    {message} " " <code class="rounded bg-slate-100 px-1 text-xs">{code}</code>
                                </li>
                            }
                        })
                        .collect_view()
                }}
            </ul>
            <a href="/" class="mt-8 inline-block rounded-md bg-sky-600 px-4 py-2 font-medium text-white hover:bg-sky-700">
                "Try again"
            </a>
        </section>
    }
}
