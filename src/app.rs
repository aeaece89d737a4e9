//! The isomorphic UI: rendered on the server, hydrated in the browser.

mod components;
pub(crate) mod hydration;
mod nonce;
mod pages;
mod preload;
mod resource;

use components::{
    layout::{provide_viewer, Footer, Header},
    raw_text::raw_text,
    time_zone_form::provide_viewer_time_zone,
};
use leptos::prelude::*;
use leptos_meta::{provide_meta_context, HashedStylesheet, Link, Meta, MetaTags, Title};
use leptos_router::{
    components::{Route, Router, Routes},
    lazy_route, path, Lazy, LazyRoute, SsrMode,
};
use pages::{
    account::{CheckInboxPage, ConfirmEmailPage, ForgotPasswordPage, NewPasswordPage, SignUpPage},
    admin::AdminPage,
    event::EventDetailPage,
    event_edit::EditEventPage,
    event_new::NewEventPage,
    events::EventsPage,
    home::HomePage,
    login::LoginPage,
    me::MePage,
    not_found::NotFound,
    series::{EditSeriesPage, OccurrenceDetailPage, SeriesDetailPage},
    user::UserEventsPage,
};

/// Makes each page a lazy route. In the browser build, a lazy route's code is split out of the
/// main wasm module (`scripts/build.sh` runs the splitter) and fetched when the page is first
/// shown, so the first download holds only the shell and the home page. The server renders a
/// lazy route like any other, and tells the browser to preload the files of the page it sends
/// (`preload`).
macro_rules! lazy_pages {
    ($($route:ident => $page:ident),* $(,)?) => {$(
        struct $route;

        #[lazy_route]
        impl LazyRoute for $route {
            fn data() -> Self {
                Self
            }

            fn view(_this: Self) -> AnyView {
                preload::page_files(stringify!($route));
                view! { <$page /> }.into_any()
            }
        }
    )*};
}

lazy_pages! {
    AdminRoute => AdminPage,
    LoginRoute => LoginPage,
    SignUpRoute => SignUpPage,
    CheckInboxRoute => CheckInboxPage,
    ConfirmEmailRoute => ConfirmEmailPage,
    ForgotPasswordRoute => ForgotPasswordPage,
    NewPasswordRoute => NewPasswordPage,
    MeRoute => MePage,
    EventsRoute => EventsPage,
    NewEventRoute => NewEventPage,
    EventDetailRoute => EventDetailPage,
    EditEventRoute => EditEventPage,
    SeriesDetailRoute => SeriesDetailPage,
    EditSeriesRoute => EditSeriesPage,
    OccurrenceDetailRoute => OccurrenceDetailPage,
    UserEventsRoute => UserEventsPage,
}

/// What every page's title ends with.
const TITLE_SUFFIX: &str = " · Skymeet";

/// The title's text until a page's own `<Title>` replaces it. In the browser, the title the
/// server sent (without [`TITLE_SUFFIX`]): while the code of a page split out of the main module
/// is fetched (see `hydration`), the page's `<Title>` is not there yet, and Leptos would blank the
/// tab's title meanwhile. Empty on the server, where every page sets its own.
fn title_sent() -> String {
    #[cfg(feature = "hydrate")]
    {
        let title = document().title();
        title.strip_suffix(TITLE_SUFFIX).map(str::to_owned).unwrap_or_default()
    }
    #[cfg(not(feature = "hydrate"))]
    {
        String::new()
    }
}

/// Whether the browser half (the wasm) is built yet, provided by the server for each page. While
/// `scripts/run.sh` still builds it, pages go out without the scripts that load it and work as
/// they do with JavaScript off. Without the context, they load it.
#[derive(Clone, Copy, Debug)]
pub struct ClientBuilt(pub bool);

/// The HTML document around the app (server only).
pub fn shell(options: LeptosOptions) -> impl IntoView {
    let scripts = use_context::<ClientBuilt>().is_none_or(|built| built.0);
    // For the pages' preload links, which look for the site's files (`preload.rs`).
    provide_context(options.clone());
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <AutoReload options=options.clone() />
                // `/pkg/skymeet.css`, or under its hashed name when the build hashes file names.
                <HashedStylesheet options=options.clone() id="leptos" />
                {scripts.then(|| view! { <HydrationScripts options /> })}
                <MetaTags />
            </head>
            <body class="min-h-screen bg-slate-50 text-slate-900 antialiased">
                <App />
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    preload::take_over();
    provide_viewer_time_zone();
    provide_viewer();
    // Mark the page once it is hydrated (only ever in the browser), so tests (and CSS) can tell.
    let hydrated = hydration::hydrated();
    Effect::new(move || {
        if let Some(body) = hydrated.get().then(document).and_then(|document| document.body()) {
            let _ = body.set_attribute("data-hydrated", "true");
        }
    });
    view! {
        <Link rel="icon" href="/favicon.svg" type_="image/svg+xml" />
        // The one formatter every page's title goes through: escaped here (see `raw_text`).
        <Title formatter=|page: String| raw_text(format!("{page}{TITLE_SUFFIX}")) text=title_sent() />
        <Meta name="description" content="Community events on Bluesky: your events live in your own PDS." />
        <Router>
            <div class="flex min-h-screen flex-col">
                <Header />
                <main class="mx-auto w-full max-w-4xl flex-1 px-4 py-8">
                    <Routes fallback=NotFound>
                        // Async: each page is sent whole once its data is there, so it is complete without
                        // JavaScript and an error can still set the HTTP status.
                        <Route path=path!("/") view=HomePage ssr=SsrMode::Async />
                        <Route path=path!("/admin") view={Lazy::<AdminRoute>::new()} ssr=SsrMode::Async />
                        <Route path=path!("/login") view={Lazy::<LoginRoute>::new()} ssr=SsrMode::Async />
                        <Route path=path!("/signup") view={Lazy::<SignUpRoute>::new()} ssr=SsrMode::Async />
                        <Route path=path!("/check-inbox") view={Lazy::<CheckInboxRoute>::new()} ssr=SsrMode::Async />
                        <Route path=path!("/confirm-email") view={Lazy::<ConfirmEmailRoute>::new()} ssr=SsrMode::Async />
                        <Route path=path!("/reset-password") view={Lazy::<ForgotPasswordRoute>::new()} ssr=SsrMode::Async />
                        <Route path=path!("/reset-password/new") view={Lazy::<NewPasswordRoute>::new()} ssr=SsrMode::Async />
                        <Route path=path!("/me") view={Lazy::<MeRoute>::new()} ssr=SsrMode::Async />
                        <Route path=path!("/events") view={Lazy::<EventsRoute>::new()} ssr=SsrMode::Async />
                        <Route path=path!("/events/new") view={Lazy::<NewEventRoute>::new()} ssr=SsrMode::Async />
                        <Route path=path!("/events/:slug") view={Lazy::<EventDetailRoute>::new()} ssr=SsrMode::Async />
                        <Route path=path!("/events/:slug/edit") view={Lazy::<EditEventRoute>::new()} ssr=SsrMode::Async />
                        <Route path=path!("/series/:slug") view={Lazy::<SeriesDetailRoute>::new()} ssr=SsrMode::Async />
                        <Route path=path!("/series/:slug/edit") view={Lazy::<EditSeriesRoute>::new()} ssr=SsrMode::Async />
                        <Route path=path!("/series/:slug/at/:key") view={Lazy::<OccurrenceDetailRoute>::new()} ssr=SsrMode::Async />
                        <Route path=path!("/u/:handle") view={Lazy::<UserEventsRoute>::new()} ssr=SsrMode::Async />
                    </Routes>
                </main>
                <Footer />
            </div>
        </Router>
    }
}
