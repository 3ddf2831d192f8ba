//! Telegram webhook mode: Telegram posts each update to the path of `TELEGRAM_WEBHOOK_URL` on
//! this server, with the secret of `TELEGRAM_WEBHOOK_SECRET` in a header.
//!
//! Each update is stored in the inbox (`telegram_update`, keyed by `update_id`) before the 200
//! goes back, then handed to the dispatcher through [`listener`]. So:
//! - a crash after the 200 loses nothing: updates stored but not handed over are handed over at
//!   the next start;
//! - an update Telegram delivers again (it retries when it saw no 200, e.g. we died between the
//!   insert and the answer) finds its `update_id` stored and is not handled a second time.
//!
//! Crash story of the hand-over: an update is marked dispatched when the dispatcher takes it;
//! dying between that mark and the handler's own write loses that one update, the same window as
//! long polling's (teloxide confirms an update when it asks for the next batch).

use std::{convert::Infallible, pin::Pin, sync::Arc};

use axum::{
    body::Bytes,
    extract::State,
    http::{HeaderMap, StatusCode},
};
use futures_util::{Stream, StreamExt};
use secrecy::{ExposeSecret, SecretString};
use teloxide::{
    stop::{StopToken, mk_stop_token},
    types::Update,
    update_listeners::{StatefulListener, UpdateListener},
};
use tokio::sync::mpsc;

use super::problem::Problem;
use crate::storage::Storage;

/// The receiving side of webhook mode: stores updates and passes them on.
#[derive(Clone)]
pub struct Inbox {
    storage: Storage,
    secret: Arc<SecretString>,
    updates: mpsc::UnboundedSender<(i64, Update)>,
}

/// Stored updates on their way to the dispatcher.
pub struct Receiver(mpsc::UnboundedReceiver<(i64, Update)>);

impl Inbox {
    /// The inbox, and the receiver [`listener`] turns into the dispatcher's update stream. Updates
    /// stored by an earlier run but never handed over are queued first.
    pub async fn open(storage: Storage, secret: SecretString) -> anyhow::Result<(Inbox, Receiver)> {
        let (updates, receiver) = mpsc::unbounded_channel();
        for (update_id, body) in storage.pending_updates().await? {
            match serde_json::from_str::<Update>(&body) {
                Ok(update) => {
                    let _ = updates.send((update_id, update));
                }
                Err(e) => {
                    tracing::warn!(update_id, error = %e, "a stored update cannot be read; skipped");
                    storage.mark_update_dispatched(update_id).await?;
                }
            }
        }
        let inbox = Inbox {
            storage,
            secret: Arc::new(secret),
            updates,
        };
        Ok((inbox, Receiver(receiver)))
    }

    /// Handles one POST from Telegram.
    pub async fn receive(&self, headers: &HeaderMap, body: &Bytes) -> Result<StatusCode, Problem> {
        let given = headers
            .get("x-telegram-bot-api-secret-token")
            .map(|v| v.as_bytes())
            .unwrap_or_default();
        if !constant_time_eq(given, self.secret.expose_secret().as_bytes()) {
            return Err(Problem::unauthorized(
                "The X-Telegram-Bot-Api-Secret-Token header is missing or wrong.",
            ));
        }
        let Some(update_id) = serde_json::from_slice::<serde_json::Value>(body)
            .ok()
            .and_then(|v| v.get("update_id").and_then(serde_json::Value::as_i64))
        else {
            return Err(Problem::bad_request(
                "The body is not a Telegram update (no update_id).",
            ));
        };
        let text = String::from_utf8_lossy(body);
        // Stored before the 200: from here on Telegram may forget it and we will not.
        if !self.storage.store_update(update_id, &text).await? {
            tracing::debug!(update_id, "a redelivered update, already stored");
            return Ok(StatusCode::OK);
        }
        match serde_json::from_slice::<Update>(body) {
            Ok(update) => {
                // The receiver lives as long as the dispatcher; after it stopped, the update stays
                // stored and is handed over at the next start.
                let _ = self.updates.send((update_id, update));
            }
            Err(e) => {
                tracing::warn!(update_id, error = %e, "an update teloxide cannot read; skipped");
                self.storage.mark_update_dispatched(update_id).await?;
            }
        }
        Ok(StatusCode::OK)
    }
}

/// The webhook's entry in the OpenAPI document (its path comes from the configuration).
pub fn documentation() -> utoipa::openapi::PathItem {
    use utoipa::openapi::{
        ContentBuilder, HttpMethod, PathItem, Ref, ResponseBuilder,
        path::{OperationBuilder, ParameterBuilder, ParameterIn},
        request_body::RequestBodyBuilder,
    };
    let problem = || {
        ContentBuilder::new()
            .schema(Some(Ref::from_schema_name("Problem")))
            .build()
    };
    let operation = OperationBuilder::new()
        .tag("operations")
        .summary(Some("Telegram webhook (TELEGRAM_WEBHOOK_URL's path)"))
        .description(Some(
            "Telegram posts each update here. The update is stored (keyed by update_id) before the \
             200; a redelivered update_id is taken once.",
        ))
        .parameter(
            ParameterBuilder::new()
                .name("X-Telegram-Bot-Api-Secret-Token")
                .parameter_in(ParameterIn::Header)
                .required(utoipa::openapi::Required::True)
                .description(Some("TELEGRAM_WEBHOOK_SECRET")),
        )
        .request_body(Some(
            RequestBodyBuilder::new()
                .description(Some("A Telegram Update"))
                .content("application/json", ContentBuilder::new().build())
                .build(),
        ))
        .response(
            "200",
            ResponseBuilder::new().description("Stored (or already stored)"),
        )
        .response(
            "400",
            ResponseBuilder::new()
                .description("Not an update")
                .content("application/problem+json", problem()),
        )
        .response(
            "401",
            ResponseBuilder::new()
                .description("Missing or wrong secret")
                .content("application/problem+json", problem()),
        )
        .build();
    PathItem::new(HttpMethod::Post, operation)
}

/// The POST handler for the webhook path.
pub async fn receive(
    State(inbox): State<Inbox>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<StatusCode, Problem> {
    inbox.receive(&headers, &body).await
}

type UpdateStream = Pin<Box<dyn Stream<Item = Result<Update, Infallible>> + Send>>;

/// The dispatcher's update listener in webhook mode: the inbox's updates, each marked dispatched
/// as the dispatcher takes it; the stream ends when the dispatcher stops it.
pub fn listener(storage: Storage, receiver: Receiver) -> impl UpdateListener<Err = Infallible> {
    let (stop_token, stop_flag) = mk_stop_token();
    let updates = futures_util::stream::unfold(receiver.0, |mut receiver| async move {
        let next = receiver.recv().await?;
        Some((next, receiver))
    })
    .take_until(stop_flag)
    .then(move |(update_id, update)| {
        let storage = storage.clone();
        async move {
            if let Err(e) = storage.mark_update_dispatched(update_id).await {
                tracing::warn!(update_id, error = %e, "could not mark an update as dispatched");
            }
            Ok::<_, Infallible>(update)
        }
    });
    let stream: UpdateStream = Box::pin(updates);
    StatefulListener::new(
        (stream, stop_token),
        first_mut,
        |state: &mut (UpdateStream, StopToken)| state.1.clone(),
    )
}

/// Compares without an early exit, so the time taken says nothing about the secret.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn first_mut(state: &mut (UpdateStream, StopToken)) -> &mut UpdateStream {
    &mut state.0
}
