use super::time_zone_form::TimeZoneForm;
use leptos::prelude::*;

#[component]
pub fn Header() -> impl IntoView {
    view! {
        <header class="border-b border-slate-200 bg-white">
            <div class="mx-auto flex max-w-4xl items-center justify-between gap-4 px-4 py-3">
                <a href="/" class="flex items-center gap-2 text-xl font-bold text-sky-700">
                    <img src="/favicon.svg" alt="" class="h-7 w-7" />
                    "Skymeet"
                </a>
                <nav aria-label="Main" class="flex items-center gap-6 text-sm">
                    <a href="/" class="font-medium text-slate-700 hover:text-sky-700">
                        "Upcoming events"
                    </a>
                    <div data-testid="sign-in-area" class="flex items-center gap-2">
                        <span class="h-2 w-2 rounded-full bg-slate-300" title="Not signed in"></span>
                        <span class="text-slate-500">"Browsing as a guest"</span>
                    </div>
                </nav>
            </div>
        </header>
    }
}

#[component]
pub fn Footer() -> impl IntoView {
    view! {
        <footer class="border-t border-slate-200 bg-white">
            <div class="mx-auto flex max-w-4xl flex-col gap-3 px-4 py-6 text-sm text-slate-500 sm:flex-row sm:items-center sm:justify-between">
                <p>"Skymeet · community events on the AT Protocol. Your events live in your own PDS."</p>
                <TimeZoneForm />
            </div>
        </footer>
    }
}
