use crate::api::{
    preferences::{viewer_time_zone, SetTimeZone},
    ApiError,
};
use crate::domain::{TimeZoneName, COMMON_TIME_ZONES};
use leptos::prelude::*;

/// The visitor's time zone, shared by every component that shows a time.
#[derive(Clone, Copy)]
pub struct ViewerTimeZone {
    pub save: ServerAction<SetTimeZone>,
    pub zone: Resource<Result<TimeZoneName, ApiError>>,
}

/// Call once, high in the tree; read it with `expect_context::<ViewerTimeZone>()`.
pub fn provide_viewer_time_zone() {
    let save = ServerAction::<SetTimeZone>::new();
    // Blocking: the page is sent only once it is known, so it is complete without JavaScript.
    let zone = Resource::new_blocking(move || save.version().get(), |_| viewer_time_zone());
    provide_context(ViewerTimeZone { save, zone });
}

/// "Times shown in [zone] Save": a plain form post without JavaScript, an in-place update with it.
#[component]
pub fn TimeZoneForm() -> impl IntoView {
    let ViewerTimeZone { save, zone } = expect_context();
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
                    view! { <ZoneSelect current /> }
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

#[component]
fn ZoneSelect(current: TimeZoneName) -> impl IntoView {
    let mut names: Vec<String> = COMMON_TIME_ZONES.iter().map(|name| (*name).to_owned()).collect();
    if !names.iter().any(|name| name == current.as_str()) {
        names.push(current.to_string());
    }
    let options = names
        .into_iter()
        .map(|name| {
            let selected = name == current.as_str();
            view! {
                <option value=name.clone() selected=selected>
                    {name.clone()}
                </option>
            }
        })
        .collect_view();
    view! {
        <select id="time_zone" name="time_zone" class="rounded-md border border-slate-300 bg-white px-2 py-1">
            {options}
        </select>
    }
}
