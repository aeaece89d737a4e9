use crate::api::{
    preferences::{viewer_time_zone, SetTimeZone},
    ApiError,
};
use crate::app::{hydration::hydrated, resource};
use crate::domain::{ShownZone, TimeZoneName, COMMON_TIME_ZONES};
use leptos::prelude::*;

/// The visitor's time zone, shared by every component that shows a time.
#[derive(Clone, Copy)]
pub struct ViewerTimeZone {
    pub save: ServerAction<SetTimeZone>,
    /// The browser's zone, sent once on a first visit.
    pub detect: ServerAction<SetTimeZone>,
    pub zone: resource::Resource<Result<ShownZone, ApiError>>,
}

impl ViewerTimeZone {
    /// Moves each time the visitor's zone is saved. The server writes the times a page shows
    /// (see `views::When`), so a resource with times in it tracks this and is fetched again.
    pub fn changes(&self) -> (usize, usize) {
        (self.save.version().get(), self.detect.version().get())
    }
}

/// Call once, high in the tree; read it with `expect_context::<ViewerTimeZone>()`.
///
/// Until the visitor picks a zone, pages show each event in its own zone. Once the page runs
/// (JavaScript on), the browser's zone is kept in the session and the times change to it.
pub fn provide_viewer_time_zone() {
    let save = ServerAction::<SetTimeZone>::new();
    let detect = ServerAction::<SetTimeZone>::new();
    // Blocking: the page is sent only once it is known, so it is complete without JavaScript.
    let zone = resource::blocking(
        move || (save.version().get(), detect.version().get()),
        |_| viewer_time_zone(),
    );
    // Not before the page is hydrated: the times it shows would change under the hydration.
    let hydrated = hydrated();
    Effect::new(move |_| {
        let unknown = matches!(zone.get(), Some(Ok(ShownZone::EventsOwn)));
        if unknown && hydrated.get() && detect.version().get_untracked() == 0 {
            if let Some(time_zone) = browser_time_zone() {
                detect.dispatch(SetTimeZone { time_zone });
            }
        }
    });
    provide_context(ViewerTimeZone { save, detect, zone });
}

/// The zone the browser runs in (`Intl`), e.g. `Europe/Berlin`.
#[cfg(feature = "hydrate")]
fn browser_time_zone() -> Option<String> {
    use leptos::web_sys::js_sys::{Array, Intl::DateTimeFormat, Object, Reflect};
    let options = DateTimeFormat::new(&Array::new(), &Object::new()).resolved_options();
    Reflect::get(&options, &"timeZone".into()).ok()?.as_string()
}

/// Effects do not run on the server; this is never called there.
#[cfg(not(feature = "hydrate"))]
fn browser_time_zone() -> Option<String> {
    None
}

/// "Times shown in [zone] Save": a plain form post without JavaScript, an in-place update with it.
#[component]
pub fn TimeZoneForm() -> impl IntoView {
    let ViewerTimeZone { save, zone, .. } = expect_context();
    let status = move || match save.value().get() {
        Some(Ok(zone)) => format!("Saved: times are now shown in {zone}."),
        Some(Err(error)) => error.message,
        None => String::new(),
    };
    view! {
        <ActionForm action=save attr:class="flex flex-wrap items-center gap-2 text-sm sm:flex-nowrap">
            <label for="time_zone" class="text-slate-600">
                "Times shown in"
            </label>
            <Transition fallback=|| view! { <span class="text-slate-400">"…"</span> }>
                {move || Suspend::new(async move {
                    let current = zone.await.unwrap_or_default();
                    view! { <ZoneSelect current=current.viewer().cloned() /> }
                })}
            </Transition>
            <button
                type="submit"
                class="rounded-md border border-slate-300 bg-white px-3 py-1 font-medium hover:bg-slate-100"
            >
                "Save"
            </button>
            <span role="status" class="text-slate-600">
                {status}
            </span>
        </ActionForm>
    }
}

/// The zones to pick from; with none picked yet, "Each event's own" comes first.
#[component]
fn ZoneSelect(current: Option<TimeZoneName>) -> impl IntoView {
    let mut names: Vec<String> = COMMON_TIME_ZONES.iter().map(|name| (*name).to_owned()).collect();
    if let Some(current) = current
        .as_ref()
        .filter(|c| !names.iter().any(|name| name == c.as_str()))
    {
        names.push(current.to_string());
    }
    let own = current
        .is_none()
        .then(|| view! { <option value="" selected=true disabled=true>"each event's own zone"</option> });
    let options = names
        .into_iter()
        .map(|name| {
            let selected = current.as_ref().is_some_and(|c| c.as_str() == name);
            view! {
                <option value=name.clone() selected=selected>
                    {name.clone()}
                </option>
            }
        })
        .collect_view();
    view! {
        <select id="time_zone" name="time_zone" class="rounded-md border border-slate-300 bg-white px-2 py-1">
            {own}
            {options}
        </select>
    }
}
