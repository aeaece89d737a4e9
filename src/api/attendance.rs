//! Answers (RSVPs) to events: going, interested or not going, written to the answering person's
//! PDS first.

use super::ApiError;
use leptos::prelude::*;

/// Answers an event for the signed-in user: their PDS first, then here.
/// `status` is `going`, `interested` or `notgoing` (or the record's full token).
#[server(endpoint = "answer_event")]
pub async fn answer_event(id: i64, status: String) -> Result<(), ApiError> {
    let Some(status) = crate::domain::RsvpStatus::from_token(&status) else {
        return Err(ApiError::invalid(
            "status",
            "Answer with going, interested or not going.",
        ));
    };
    let (state, user) = super::ssr::signed_in_user().await?;
    let calendar = super::ssr::calendar(&state)?;
    let event = super::ssr::seen_event(&state, &user, id).await?;
    calendar
        .answer(&user, &event, status)
        .await
        .map_err(ApiError::answering)?;
    Ok(())
}

/// Withdraws the signed-in user's answer: deletes their RSVP record, then here.
#[server(endpoint = "withdraw_answer")]
pub async fn withdraw_answer(id: i64) -> Result<(), ApiError> {
    let (state, user) = super::ssr::signed_in_user().await?;
    let calendar = super::ssr::calendar(&state)?;
    let event = super::ssr::seen_event(&state, &user, id).await?;
    calendar.withdraw(&user, &event).await.map_err(ApiError::answering)?;
    Ok(())
}

/// Publishes the signed-in person's answers kept here to events on Bluesky as RSVP records (once
/// they connected it); how many went.
#[server(endpoint = "publish_local_answers")]
pub async fn publish_local_answers() -> Result<usize, ApiError> {
    let (state, user) = super::ssr::signed_in_user().await?;
    let calendar = super::ssr::calendar(&state)?;
    calendar.publish_answers_here(&user).await.map_err(ApiError::answering)
}
