//! The isomorphic UI: rendered on the server, hydrated in the browser.

mod components;
mod pages;
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
    path, SsrMode,
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

/// The HTML document around the app (server only).
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <AutoReload options=options.clone() />
                // `/pkg/skymeet.css`, or under its hashed name when the build hashes file names.
                <HashedStylesheet options=options.clone() id="leptos" />
                <HydrationScripts options />
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
    provide_viewer_time_zone();
    provide_viewer();
    // Effects run only in the browser, after hydration: mark the page so tests (and CSS) can tell.
    Effect::new(|| {
        if let Some(body) = document().body() {
            let _ = body.set_attribute("data-hydrated", "true");
        }
    });
    view! {
        <Link rel="icon" href="/favicon.svg" type_="image/svg+xml" />
        // The one formatter every page's title goes through: escaped here (see `raw_text`).
        <Title formatter=|page: String| raw_text(format!("{page} · Skymeet")) />
        <Meta name="description" content="Community events on Bluesky: your events live in your own PDS." />
        <Router>
            <div class="flex min-h-screen flex-col">
                <Header />
                <main class="mx-auto w-full max-w-4xl flex-1 px-4 py-8">
                    <Routes fallback=NotFound>
                        // Async: each page is sent whole once its data is there, so it is complete without
                        // JavaScript and an error can still set the HTTP status.
                        <Route path=path!("/") view=HomePage ssr=SsrMode::Async />
                        <Route path=path!("/admin") view=AdminPage ssr=SsrMode::Async />
                        <Route path=path!("/login") view=LoginPage ssr=SsrMode::Async />
                        <Route path=path!("/signup") view=SignUpPage ssr=SsrMode::Async />
                        <Route path=path!("/check-inbox") view=CheckInboxPage ssr=SsrMode::Async />
                        <Route path=path!("/confirm-email") view=ConfirmEmailPage ssr=SsrMode::Async />
                        <Route path=path!("/reset-password") view=ForgotPasswordPage ssr=SsrMode::Async />
                        <Route path=path!("/reset-password/new") view=NewPasswordPage ssr=SsrMode::Async />
                        <Route path=path!("/me") view=MePage ssr=SsrMode::Async />
                        <Route path=path!("/events") view=EventsPage ssr=SsrMode::Async />
                        <Route path=path!("/events/new") view=NewEventPage ssr=SsrMode::Async />
                        <Route path=path!("/events/:slug") view=EventDetailPage ssr=SsrMode::Async />
                        <Route path=path!("/events/:slug/edit") view=EditEventPage ssr=SsrMode::Async />
                        <Route path=path!("/series/:slug") view=SeriesDetailPage ssr=SsrMode::Async />
                        <Route path=path!("/series/:slug/edit") view=EditSeriesPage ssr=SsrMode::Async />
                        <Route path=path!("/series/:slug/at/:key") view=OccurrenceDetailPage ssr=SsrMode::Async />
                        <Route path=path!("/u/:handle") view=UserEventsPage ssr=SsrMode::Async />
                    </Routes>
                </main>
                <Footer />
            </div>
        </Router>
    }
}
