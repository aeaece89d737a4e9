use super::raw_text::raw_text;
use crate::api::ApiError;
use crate::domain::{
    EventInput, EventMode, EventStatus, Visibility, COMMON_TIME_ZONES, DESCRIPTION_MAX_CHARS, NAME_MAX_CHARS,
};
use leptos::prelude::*;

const INPUT: &str = "mt-1 w-full rounded-md border border-slate-300 px-3 py-2";
const LABEL: &str = "block text-sm font-medium";

/// The event form's fields, named `input[...]` for the server functions that take an
/// [`EventInput`]; the surrounding `ActionForm` decides what happens on submit.
#[component]
pub fn EventFields(initial: EventInput, error: Signal<Option<ApiError>>) -> impl IntoView {
    let message = move |field: &'static str| view! { <FieldError error field /> };
    let mut zones: Vec<String> = COMMON_TIME_ZONES.iter().map(|z| (*z).to_owned()).collect();
    if !initial.time_zone.is_empty() && !zones.contains(&initial.time_zone) {
        zones.push(initial.time_zone.clone());
    }
    let zone_options = zones
        .into_iter()
        .map(|zone| {
            let selected = zone == initial.time_zone;
            view! { <option value=zone.clone() selected=selected>{zone.clone()}</option> }
        })
        .collect_view();
    let mode_options = EventMode::ALL
        .into_iter()
        .map(|mode| {
            let selected = EventMode::from_token(&initial.mode).unwrap_or_default() == mode;
            view! { <option value=mode.name() selected=selected>{mode.label()}</option> }
        })
        .collect_view();
    let status_options = EventStatus::ALL
        .into_iter()
        .map(|status| {
            let selected = EventStatus::from_token(&initial.status).unwrap_or_default() == status;
            view! { <option value=status.name() selected=selected>{status.label()}</option> }
        })
        .collect_view();
    view! {
        <div class="space-y-5">
            <div>
                <label for="event-name" class=LABEL>"Name"</label>
                <input id="event-name" name="input[name]" type="text" required maxlength=NAME_MAX_CHARS
                    value=initial.name class=INPUT />
                {message("name")}
            </div>
            <div>
                <label for="event-description" class=LABEL>"Description"</label>
                <textarea id="event-description" name="input[description]" rows="5" maxlength=DESCRIPTION_MAX_CHARS
                    class=INPUT>{raw_text(initial.description)}</textarea>
                {message("description")}
            </div>
            <div class="grid gap-4 sm:grid-cols-3">
                <div>
                    <label for="event-starts-at" class=LABEL>"Starts"</label>
                    <input id="event-starts-at" name="input[starts_at]" type="datetime-local"
                        value=initial.starts_at class=INPUT />
                    {message("starts_at")}
                </div>
                <div>
                    <label for="event-ends-at" class=LABEL>"Ends"</label>
                    <input id="event-ends-at" name="input[ends_at]" type="datetime-local"
                        value=initial.ends_at class=INPUT />
                    {message("ends_at")}
                </div>
                <div>
                    <label for="event-time-zone" class=LABEL>"Time zone"</label>
                    <select id="event-time-zone" name="input[time_zone]" class=INPUT>{zone_options}</select>
                    {message("time_zone")}
                </div>
            </div>
            <div class="grid gap-4 sm:grid-cols-2">
                <div>
                    <label for="event-mode" class=LABEL>"How people attend"</label>
                    <select id="event-mode" name="input[mode]" class=INPUT>{mode_options}</select>
                    {message("mode")}
                </div>
                <div>
                    <label for="event-status" class=LABEL>"Status"</label>
                    <select id="event-status" name="input[status]" class=INPUT>{status_options}</select>
                    {message("status")}
                </div>
            </div>
            <fieldset class="rounded-lg border border-slate-200 p-4">
                <legend class="px-1 text-sm font-semibold">"Where"</legend>
                <div class="grid gap-4 sm:grid-cols-2">
                    <div>
                        <label for="event-venue" class=LABEL>"Venue"</label>
                        <input id="event-venue" name="input[venue]" type="text" value=initial.venue class=INPUT />
                        {message("venue")}
                    </div>
                    <div>
                        <label for="event-street" class=LABEL>"Street"</label>
                        <input id="event-street" name="input[street]" type="text" value=initial.street class=INPUT />
                        {message("street")}
                    </div>
                    <div>
                        <label for="event-locality" class=LABEL>"City"</label>
                        <input id="event-locality" name="input[locality]" type="text" value=initial.locality class=INPUT />
                        {message("locality")}
                    </div>
                    <div>
                        <label for="event-region" class=LABEL>"Region"</label>
                        <input id="event-region" name="input[region]" type="text" value=initial.region class=INPUT />
                        {message("region")}
                    </div>
                    <div>
                        <label for="event-postal-code" class=LABEL>"Postal code"</label>
                        <input id="event-postal-code" name="input[postal_code]" type="text"
                            value=initial.postal_code class=INPUT />
                        {message("postal_code")}
                    </div>
                    <div>
                        <label for="event-country" class=LABEL>"Country"</label>
                        <input id="event-country" name="input[country]" type="text" value=initial.country class=INPUT />
                        {message("country")}
                    </div>
                    <div>
                        <label for="event-latitude" class=LABEL>"Latitude"</label>
                        <input id="event-latitude" name="input[latitude]" type="text" inputmode="decimal"
                            value=initial.latitude class=INPUT />
                        {message("latitude")}
                    </div>
                    <div>
                        <label for="event-longitude" class=LABEL>"Longitude"</label>
                        <input id="event-longitude" name="input[longitude]" type="text" inputmode="decimal"
                            value=initial.longitude class=INPUT />
                        {message("longitude")}
                    </div>
                </div>
                <div class="mt-4">
                    <label for="event-online-url" class=LABEL>"Online at (link)"</label>
                    <input id="event-online-url" name="input[online_url]" type="url" placeholder="https://"
                        value=initial.online_url class=INPUT />
                    {message("online_url")}
                </div>
            </fieldset>
            <div>
                <label for="event-links" class=LABEL>"Links"</label>
                <textarea id="event-links" name="input[links]" rows="3"
                    placeholder="https://example.com Tickets" class=INPUT>{raw_text(initial.links)}</textarea>
                <p class="mt-1 text-xs text-slate-500">"One per line: the address, then optionally a title."</p>
                {message("links")}
            </div>
        </div>
    }
}

/// Who may see the event, as the form's `visibility`. `on_bluesky` says what "public" does for
/// this person: publish to their Bluesky account, or list it here.
#[component]
pub fn VisibilityField(initial: Visibility, on_bluesky: bool, error: Signal<Option<ApiError>>) -> impl IntoView {
    let choices = Visibility::ALL
        .into_iter()
        .map(|visibility| {
            let id = format!("visibility-{}", visibility.name());
            let (label_for, testid) = (id.clone(), id.clone());
            view! {
                <label for=label_for class="flex items-center gap-2 text-sm">
                    <input type="radio" id=id name="visibility" value=visibility.name()
                        checked=visibility == initial data-testid=testid />
                    {visibility.label()}
                </label>
            }
        })
        .collect_view();
    let public_means = match on_bluesky {
        true => "A public event is published to your Bluesky account, where the whole network can read it.                  Unlisted and private events stay on Skymeet and are never published.",
        false => "It is kept on Skymeet. Unlisted and private events are never listed, searched or in feeds.",
    };
    view! {
        <fieldset class="rounded-lg border border-slate-200 p-4">
            <legend class="px-1 text-sm font-semibold">"Who can see it"</legend>
            <div class="space-y-1">{choices}</div>
            <p class="mt-2 text-xs text-slate-500">{public_means}</p>
            <FieldError error field="visibility" />
        </fieldset>
    }
}

/// The message for one form field, when the last answer had one.
#[component]
pub fn FieldError(error: Signal<Option<ApiError>>, field: &'static str) -> impl IntoView {
    move || {
        error.with(|error| {
            error.as_ref().and_then(|e| e.for_field(field)).map(|message| {
                view! {
                    <p role="alert" data-field-error=field class="mt-1 text-sm text-rose-700">
                        {message.to_owned()}
                    </p>
                }
            })
        })
    }
}

/// An edit form's "Save changes" (disabled while it is sent) and the way `back` without saving.
#[component]
pub fn SaveOrCancel(pending: Memo<bool>, back: String) -> impl IntoView {
    view! {
        <div class="flex gap-3">
            <button type="submit"
                class="rounded-md bg-sky-600 px-4 py-2 font-medium text-white hover:bg-sky-700 disabled:opacity-60"
                disabled=move || pending.get()>
                "Save changes"
            </button>
            <a href=back class="px-4 py-2 text-slate-600 underline">"Cancel"</a>
        </div>
    }
}

/// A form-level error (one not about a single field), or the summary of field errors.
#[component]
pub fn FormError(error: Signal<Option<ApiError>>) -> impl IntoView {
    move || {
        error.get().map(|error| {
            view! {
                <p role="alert" data-testid="form-error" class="rounded-md bg-rose-50 px-3 py-2 text-sm text-rose-800">
                    {error.message}
                </p>
            }
        })
    }
}
