use super::event_form::FieldError;
use crate::api::ApiError;
use crate::domain::RepeatInput;
use leptos::prelude::*;

const INPUT: &str = "mt-1 w-full rounded-md border border-slate-300 px-3 py-2";
const LABEL: &str = "block text-sm font-medium";
const HINT: &str = "mt-1 text-xs text-slate-500";

/// The "Repeats" fields, named `repeat[...]` for the server functions that take a
/// [`RepeatInput`]. Every field is always there (the form works without JavaScript); each says
/// which choice it belongs to. `allow_none` offers "Does not repeat" (not when editing a series).
#[component]
pub fn RepeatFields(initial: RepeatInput, error: Signal<Option<ApiError>>, allow_none: bool) -> impl IntoView {
    let message = move |field: &'static str| view! { <FieldError error field /> };
    let frequencies = [
        ("none", "Does not repeat"),
        ("daily", "Daily"),
        ("weekly", "Weekly"),
        ("monthly", "Monthly"),
        ("yearly", "Yearly"),
        ("custom", "Custom rule (RRULE)"),
    ];
    let chosen = match initial.frequency.as_str() {
        "" if allow_none => "none",
        "" => "weekly",
        other => other,
    }
    .to_owned();
    let frequency_options = frequencies
        .into_iter()
        .filter(|(value, _)| allow_none || *value != "none")
        .map(|(value, label)| {
            let selected = chosen == value;
            view! { <option value=value selected=selected>{label}</option> }
        })
        .collect_view();
    let weekdays = [
        ("mo", "Mon", &initial.mo),
        ("tu", "Tue", &initial.tu),
        ("we", "Wed", &initial.we),
        ("th", "Thu", &initial.th),
        ("fr", "Fri", &initial.fr),
        ("sa", "Sat", &initial.sa),
        ("su", "Sun", &initial.su),
    ]
    .into_iter()
    .map(|(field, label, value)| {
        let checked = !value.is_empty();
        view! {
            <label class="inline-flex items-center gap-1 text-sm">
                <input type="checkbox" name=format!("repeat[{field}]") value="on" checked=checked />
                {label}
            </label>
        }
    })
    .collect_view();
    let radio = |name: &'static str, value: &'static str, current: &str, default: bool, label: &'static str| {
        let checked = current == value || (current.is_empty() && default);
        view! {
            <label class="inline-flex items-center gap-1 text-sm">
                <input type="radio" name=format!("repeat[{name}]") value=value checked=checked />
                {label}
            </label>
        }
    };
    view! {
        <fieldset class="rounded-lg border border-slate-200 p-4" data-testid="repeats">
            <legend class="px-1 text-sm font-semibold">"Repeats"</legend>
            <div class="grid gap-4 sm:grid-cols-2">
                <div>
                    <label for="repeat-frequency" class=LABEL>"How often"</label>
                    <select id="repeat-frequency" name="repeat[frequency]" class=INPUT>{frequency_options}</select>
                    {message("repeat_frequency")}
                </div>
                <div>
                    <label for="repeat-interval" class=LABEL>"Every"</label>
                    <input id="repeat-interval" name="repeat[interval]" type="number" min="1" max="99"
                        placeholder="1" value=initial.interval.clone() class=INPUT />
                    <p class=HINT>"1 for every day, week, month or year; 2 for every other one."</p>
                    {message("repeat_interval")}
                </div>
            </div>
            <div class="mt-4">
                <p class=LABEL>"On (weekly; none ticked: the first date's weekday)"</p>
                <div class="mt-1 flex flex-wrap gap-3">{weekdays}</div>
            </div>
            <div class="mt-4">
                <p class=LABEL>"Monthly on"</p>
                <div class="mt-1 flex flex-wrap gap-4">
                    {radio("monthly", "day", &initial.monthly, true, "the same day of the month (the 8th)")}
                    {radio("monthly", "weekday", &initial.monthly, false, "the same weekday (the 2nd Tuesday)")}
                </div>
                {message("repeat_monthly")}
            </div>
            <div class="mt-4">
                <p class=LABEL>"Ends"</p>
                <div class="mt-1 grid gap-2 sm:grid-cols-3">
                    <div>{radio("ends", "never", &initial.ends, true, "Never")}</div>
                    <div>
                        {radio("ends", "until", &initial.ends, false, "On")}
                        <input id="repeat-until" name="repeat[until]" type="date" aria-label="Last date"
                            value=initial.until.clone() class=INPUT />
                        {message("repeat_until")}
                    </div>
                    <div>
                        {radio("ends", "count", &initial.ends, false, "After")}
                        <input id="repeat-count" name="repeat[count]" type="number" min="1" max="1000"
                            aria-label="Number of times" placeholder="times" value=initial.count.clone() class=INPUT />
                        {message("repeat_count")}
                    </div>
                </div>
                {message("repeat_ends")}
            </div>
            <div class="mt-4">
                <label for="repeat-rule" class=LABEL>"Custom rule"</label>
                <input id="repeat-rule" name="repeat[rule]" type="text" placeholder="FREQ=WEEKLY;BYDAY=TU,TH"
                    value=initial.rule.clone() class=INPUT />
                <p class=HINT>"An RFC 5545 RRULE, used when How often is Custom; at most daily."</p>
                {message("repeat_rule")}
            </div>
        </fieldset>
    }
}
