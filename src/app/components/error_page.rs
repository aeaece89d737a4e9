use crate::api::{ApiError, ErrorCode};
use leptos::prelude::*;
use leptos_meta::Title;

/// Shown when a page cannot load its data. Only the safe message and the stable code of an
/// [`ApiError`] are shown; anything else gets a generic text. On the server it gives the page the
/// status of the first error (500 for one that is not an [`ApiError`]).
#[component]
pub fn ErrorPage(errors: ArcRwSignal<Errors>) -> impl IntoView {
    let messages = move || {
        errors
            .get()
            .into_iter()
            .map(|(_, error)| match error.downcast_ref::<ApiError>() {
                Some(api) => (api.message.clone(), api.code),
                None => (
                    "Something went wrong. Please try again.".to_owned(),
                    ErrorCode::Internal,
                ),
            })
            .collect::<Vec<_>>()
    };
    #[cfg(feature = "ssr")]
    {
        let status = messages()
            .first()
            .map_or(ErrorCode::Internal, |(_, code)| *code)
            .status();
        crate::api::error_status::set(status);
    }
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
                                    {message} " " <code class="rounded bg-slate-100 px-1 text-xs">{code.as_str()}</code>
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

/// The message of an action's last failure, as an alert under its form; nothing before it ran
/// or when it succeeded. Read it reactively: `move || failure(action.value().get())`.
pub fn failure<T>(result: Option<Result<T, ApiError>>) -> Option<impl IntoView> {
    result
        .and_then(Result::err)
        .map(|e| view! { <p role="alert" class="mt-2 text-sm text-rose-700">{e.message}</p> })
}
