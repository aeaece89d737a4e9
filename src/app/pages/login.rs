use crate::api::auth::Login;
use crate::app::pages::account::EmailSignIn;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

/// `/login`: one field for a handle or DID; the rest happens at the person's own server.
#[component]
pub fn LoginPage() -> impl IntoView {
    let login = ServerAction::<Login>::new();
    let query = use_query_map();
    // Set by the OAuth callback when coming back failed.
    let callback_error = move || {
        query.read().get("error").map(|reason| match reason.as_str() {
            "denied" => "You declined the sign-in at your Bluesky server, so nothing was shared. You can try again.",
            "unreachable" => "Your Bluesky server could not be reached to finish signing in. Please try again.",
            _ => "The sign-in could not be completed. Please try again.",
        })
    };
    let action_error = move || login.value().get().and_then(Result::err).map(|error| error.message);
    view! {
        <Title text="Sign in" />
        <section class="mx-auto max-w-md rounded-2xl border border-slate-200 bg-white p-8 shadow-sm">
            <h1 class="text-2xl font-bold">"Sign in with Bluesky"</h1>
            <p class="mt-2 text-sm text-slate-600">
                "You will confirm at your own Bluesky server. Skymeet never sees your password."
            </p>
            <ActionForm action=login attr:class="mt-6 space-y-4">
                <div>
                    <label for="identifier" class="block text-sm font-medium">
                        "Your handle or DID"
                    </label>
                    <input
                        id="identifier"
                        name="identifier"
                        type="text"
                        required
                        autocomplete="username"
                        autocapitalize="none"
                        spellcheck="false"
                        placeholder="alice.bsky.social"
                        class="mt-1 w-full rounded-md border border-slate-300 px-3 py-2"
                    />
                </div>
                {move || {
                    action_error()
                        .or_else(|| callback_error().map(str::to_owned))
                        .map(|message| {
                            view! {
                                <p role="alert" class="rounded-md bg-rose-50 px-3 py-2 text-sm text-rose-800">
                                    {message}
                                </p>
                            }
                        })
                }}
                <button
                    type="submit"
                    class="w-full rounded-md bg-sky-600 px-4 py-2 font-medium text-white hover:bg-sky-700 disabled:opacity-60"
                    disabled=move || login.pending().get()
                >
                    "Continue"
                </button>
            </ActionForm>
        </section>
        <EmailSignIn />
    }
}
