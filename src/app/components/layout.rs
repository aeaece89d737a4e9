use super::time_zone_form::TimeZoneForm;
use crate::api::{
    auth::{current_user, Disconnect, Logout},
    views::Viewer,
    ApiError,
};
use crate::app::resource;
use leptos::prelude::*;

/// Who is looking at the page, shared by the header and every page that cares.
#[derive(Clone, Copy)]
pub struct ViewerContext {
    pub viewer: resource::Resource<Result<Option<Viewer>, ApiError>>,
    pub logout: ServerAction<Logout>,
    pub disconnect: ServerAction<Disconnect>,
    /// Raised when a local account's form signed someone in or out, so the header reads the
    /// viewer again (without JavaScript the whole page loads anyway).
    pub changed: RwSignal<u64>,
}

pub fn provide_viewer() {
    let logout = ServerAction::<Logout>::new();
    let disconnect = ServerAction::<Disconnect>::new();
    let changed = RwSignal::new(0);
    // Blocking: the header is complete in the first HTML sent, which matters without JavaScript.
    let viewer = resource::blocking(
        move || (logout.version().get(), disconnect.version().get(), changed.get()),
        |_| current_user(),
    );
    provide_context(ViewerContext {
        viewer,
        logout,
        disconnect,
        changed,
    });
}

/// After a form whose success signs someone in or out, the header reads the viewer again.
pub fn refresh_viewer_when(succeeded: Signal<bool>) {
    let ViewerContext { changed, .. } = expect_context();
    Effect::new(move |_| {
        if succeeded.get() {
            changed.update(|n| *n += 1);
        }
    });
}

/// The header's sign-in area: the handle and "Sign out" for a signed-in person, a sign-in link
/// for a guest.
#[component]
fn SignInArea() -> impl IntoView {
    let ViewerContext { viewer, logout, .. } = expect_context();
    view! {
        <div data-testid="sign-in-area" class="flex items-center gap-3">
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    match viewer.await {
                        Ok(Some(viewer)) => {
                            let (dot, status) = (viewer.connection_dot_class(), viewer.connection_status());
                            let my_events = viewer.handle.clone().map(|h| view! {
                                <a href=format!("/u/{h}") class="font-medium text-slate-700 hover:text-sky-700">
                                    "My events"
                                </a>
                            });
                            let admin = viewer.is_admin.then(|| view! {
                                <a href="/admin" class="font-medium text-slate-700 hover:text-sky-700">"Admin"</a>
                            });
                            let name = viewer.short_name();
                            view! {
                                {my_events}
                                {admin}
                                <span class=format!("h-2 w-2 rounded-full {dot}") title=status></span>
                                {viewer.avatar_url.map(|src| view! { <img src=src alt="" class="h-7 w-7 rounded-full" /> })}
                                <a href="/me" class="font-medium text-slate-800 hover:text-sky-700">
                                    {name}
                                </a>
                                <ActionForm action=logout>
                                    <button type="submit" class="text-slate-500 underline hover:text-slate-800">
                                        "Sign out"
                                    </button>
                                </ActionForm>
                            }
                                .into_any()
                        }
                        _ => {
                            view! {
                                <a
                                    href="/login"
                                    class="rounded-md bg-sky-600 px-3 py-1.5 font-medium text-white hover:bg-sky-700"
                                >
                                    "Sign in with Bluesky"
                                </a>
                            }
                                .into_any()
                        }
                    }
                })}
            </Transition>
        </div>
    }
}

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
                    <a href="/events" class="font-medium text-slate-700 hover:text-sky-700">
                        "Events"
                    </a>
                    <SignInArea />
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
