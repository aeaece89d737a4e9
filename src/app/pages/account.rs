//! The pages of a local account: sign up, the "check your inbox" page, confirming an address,
//! asking for a new password and choosing it. Each is a plain form that works without JavaScript.

use crate::api::{
    accounts::{ConfirmEmail, ForgotPassword, ResetPassword, SignIn, SignUp},
    ApiError,
};
use crate::app::components::{event_form::FieldError, layout::refresh_viewer_when};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

const INPUT: &str = "mt-1 w-full rounded-md border border-slate-300 px-3 py-2";
const BUTTON: &str =
    "w-full rounded-md bg-sky-600 px-4 py-2 font-medium text-white hover:bg-sky-700 disabled:opacity-60";
const CARD: &str = "mx-auto max-w-md rounded-2xl border border-slate-200 bg-white p-8 shadow-sm";

/// The error of the last answer, unless it is about one field (shown beside that field).
#[component]
fn FormError(error: Signal<Option<ApiError>>) -> impl IntoView {
    move || {
        error
            .get()
            .filter(|error| error.field.is_none() && error.fields.is_empty())
            .map(|error| {
                view! {
                    <p role="alert" data-testid="form-error" class="rounded-md bg-rose-50 px-3 py-2 text-sm text-rose-800">
                        {error.message}
                    </p>
                }
            })
    }
}

/// An email address field (`name="email"`) with its error.
#[component]
fn EmailField(id: &'static str, error: Signal<Option<ApiError>>) -> impl IntoView {
    view! {
        <div>
            <label for=id class="block text-sm font-medium">"Email address"</label>
            <input id=id name="email" type="email" required maxlength="254" autocomplete="email" class=INPUT />
            <FieldError error field="email" />
        </div>
    }
}

/// A field for a password being chosen (`name="password"`), with the rule and its error.
#[component]
fn NewPasswordField(label: &'static str, error: Signal<Option<ApiError>>) -> impl IntoView {
    view! {
        <div>
            <label for="password" class="block text-sm font-medium">{label}</label>
            <input
                id="password"
                name="password"
                type="password"
                required
                minlength="10"
                maxlength="128"
                autocomplete="new-password"
                class=INPUT
            />
            <p class="mt-1 text-xs text-slate-500">"At least 10 characters. A few unrelated words make a strong one."</p>
            <FieldError error field="password" />
        </div>
    }
}

/// `/signup`.
#[component]
pub fn SignUpPage() -> impl IntoView {
    let sign_up = ServerAction::<SignUp>::new();
    let error = Signal::derive(move || sign_up.value().get().and_then(Result::err));
    view! {
        <Title text="Sign up" />
        <section class=CARD>
            <h1 class="text-2xl font-bold">"Make a Skymeet account"</h1>
            <p class="mt-2 text-sm text-slate-600">
                "With an email address and a password. You can connect a Bluesky account later. Have one already? "
                <a href="/login" class="text-sky-700 underline">"Sign in"</a>
            </p>
            <ActionForm action=sign_up attr:class="mt-6 space-y-4" attr:data-testid="sign-up-form">
                <div>
                    <label for="name" class="block text-sm font-medium">"Your name"</label>
                    <input id="name" name="name" type="text" required maxlength="64" autocomplete="name" class=INPUT />
                    <FieldError error field="name" />
                </div>
                <EmailField id="email" error />
                <NewPasswordField label="Password" error />
                <FormError error />
                <button type="submit" class=BUTTON disabled=move || sign_up.pending().get()>"Sign up"</button>
            </ActionForm>
        </section>
    }
}

/// `/login`'s second way in: an email address and a password.
#[component]
pub fn EmailSignIn() -> impl IntoView {
    let sign_in = ServerAction::<SignIn>::new();
    refresh_viewer_when(Signal::derive(move || matches!(sign_in.value().get(), Some(Ok(())))));
    let error = Signal::derive(move || sign_in.value().get().and_then(Result::err));
    view! {
        <section class=format!("{CARD} mt-6")>
            <h2 class="text-xl font-bold">"Sign in with your email address"</h2>
            <ActionForm action=sign_in attr:class="mt-4 space-y-4" attr:data-testid="email-sign-in-form">
                <EmailField id="sign-in-email" error />
                <div>
                    <label for="sign-in-password" class="block text-sm font-medium">"Password"</label>
                    <input
                        id="sign-in-password"
                        name="password"
                        type="password"
                        required
                        autocomplete="current-password"
                        class=INPUT
                    />
                </div>
                <FormError error />
                <button type="submit" class=BUTTON disabled=move || sign_in.pending().get()>"Sign in"</button>
            </ActionForm>
            <p class="mt-4 flex justify-between text-sm">
                <a href="/reset-password" class="text-sky-700 underline">"Forgot your password?"</a>
                <a href="/signup" class="text-sky-700 underline">"Make an account"</a>
            </p>
        </section>
    }
}

/// `/check-inbox`: where a sign-up or a "forgot my password" ends. It says the same whether or
/// not the address has an account.
#[component]
pub fn CheckInboxPage() -> impl IntoView {
    let query = use_query_map();
    let what = move || {
        match query.read().get("for").as_deref() {
        Some("reset") => {
            "If an account uses that address, a link to choose a new password is on its way. It works once, for an hour."
        }
        _ => "A link to confirm your address is on its way. Open it to finish signing up; it works for two days.",
    }
    };
    view! {
        <Title text="Check your inbox" />
        <section class=CARD data-testid="check-inbox">
            <h1 class="text-2xl font-bold">"Check your inbox"</h1>
            <p class="mt-4 text-slate-700">{what}</p>
            <p class="mt-4 text-sm text-slate-500">"Nothing there after a few minutes? Look in the spam folder."</p>
        </section>
    }
}

/// The token of a link, from the address.
fn link_token() -> Signal<String> {
    let query = use_query_map();
    Signal::derive(move || query.read().get("token").unwrap_or_default())
}

/// `/confirm-email?token=…`: a button, not an automatic confirmation, so a mail scanner that
/// opens every link cannot spend it.
#[component]
pub fn ConfirmEmailPage() -> impl IntoView {
    let confirm = ServerAction::<ConfirmEmail>::new();
    refresh_viewer_when(Signal::derive(move || matches!(confirm.value().get(), Some(Ok(())))));
    let error = Signal::derive(move || confirm.value().get().and_then(Result::err));
    let token = link_token();
    view! {
        <Title text="Confirm your address" />
        <section class=CARD>
            <h1 class="text-2xl font-bold">"Confirm your address"</h1>
            <ActionForm action=confirm attr:class="mt-6 space-y-4">
                <input type="hidden" name="token" prop:value=token value=token.get_untracked() />
                <FormError error />
                <button type="submit" class=BUTTON disabled=move || confirm.pending().get()>
                    "Confirm and sign in"
                </button>
            </ActionForm>
            <LinkHelp error />
        </section>
    }
}

/// For a link that did not work: where to get a new one.
#[component]
fn LinkHelp(error: Signal<Option<ApiError>>) -> impl IntoView {
    move || {
        error.get().is_some().then(|| {
            view! {
                <p class="mt-4 text-sm text-slate-600">
                    "Signing in sends a new confirmation link; "
                    <a href="/reset-password" class="text-sky-700 underline">"a new password link is here"</a>
                    "."
                </p>
            }
        })
    }
}

/// `/reset-password`: asks for the address to mail a link to.
#[component]
pub fn ForgotPasswordPage() -> impl IntoView {
    let forgot = ServerAction::<ForgotPassword>::new();
    let error = Signal::derive(move || forgot.value().get().and_then(Result::err));
    view! {
        <Title text="Forgot your password?" />
        <section class=CARD>
            <h1 class="text-2xl font-bold">"Forgot your password?"</h1>
            <p class="mt-2 text-sm text-slate-600">"We will mail a link to choose a new one."</p>
            <ActionForm action=forgot attr:class="mt-6 space-y-4">
                <EmailField id="email" error />
                <FormError error />
                <button type="submit" class=BUTTON disabled=move || forgot.pending().get()>"Send the link"</button>
            </ActionForm>
        </section>
    }
}

/// `/reset-password/new?token=…`: choosing the new password.
#[component]
pub fn NewPasswordPage() -> impl IntoView {
    let reset = ServerAction::<ResetPassword>::new();
    refresh_viewer_when(Signal::derive(move || matches!(reset.value().get(), Some(Ok(())))));
    let error = Signal::derive(move || reset.value().get().and_then(Result::err));
    let token = link_token();
    view! {
        <Title text="Choose a new password" />
        <section class=CARD>
            <h1 class="text-2xl font-bold">"Choose a new password"</h1>
            <p class="mt-2 text-sm text-slate-600">"You will be signed out everywhere else."</p>
            <ActionForm action=reset attr:class="mt-6 space-y-4">
                <input type="hidden" name="token" prop:value=token value=token.get_untracked() />
                <NewPasswordField label="New password" error />
                <FormError error />
                <button type="submit" class=BUTTON disabled=move || reset.pending().get()>"Save the new password"</button>
            </ActionForm>
            <LinkHelp error />
        </section>
    }
}
