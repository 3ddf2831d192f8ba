//! Telegram webhook mode: Telegram posts each update to the path of `TELEGRAM_WEBHOOK_URL` on
//! this server, with the secret of `TELEGRAM_WEBHOOK_SECRET` in a header.
//!
//! Each update is stored in the inbox (`telegram_update`, keyed by `update_id`) before the 200
//! goes back, claimed by this instance, then handed to the dispatcher through [`listener`]. So:
//! - a crash after the 200 loses nothing: updates stored but not handed over are taken over once
//!   their claim lapses (`TASK_LEASE_MS`) by any instance running, or at the next start;
//! - an update Telegram delivers again (it retries when it saw no 200, e.g. we died between the
//!   insert and the answer) finds its `update_id` stored and is not handled a second time, whichever
//!   instance it reaches: with several instances in webhook mode any of them takes updates.
//!
//! Crash story of the hand-over: an update is marked dispatched when the dispatcher takes it,
//! and only while this instance's claim holds (another instance that took it over after the
//! claim lapsed hands it over instead; never both). Dying between that mark and the handler's own
//! write loses that one update, the same window as long polling's (teloxide confirms an update
//! when it asks for the next batch).

use std::{convert::Infallible, pin::Pin, sync::Arc, time::Duration};

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
use crate::storage::{Storage, UpdateClaim};

/// How often an instance looks for updates whose claim lapsed (one indexed read when there are
/// none), at most: with a shorter lease, twice per lease.
const TAKE_OVER_EVERY: Duration = Duration::from_secs(1);

/// The receiving side of webhook mode: stores updates and passes them on.
#[derive(Clone)]
pub struct Inbox {
    storage: Storage,
    secret: Arc<SecretString>,
    claim: Arc<UpdateClaim>,
    updates: mpsc::UnboundedSender<(i64, Update)>,
}

/// Stored updates on their way to the dispatcher, with the claim that fences their hand-over.
pub struct Receiver {
    updates: mpsc::UnboundedReceiver<(i64, Update)>,
    claim: Arc<UpdateClaim>,
}

impl Inbox {
    /// The inbox, and the receiver [`listener`] turns into the dispatcher's update stream. Stored
    /// updates nobody holds (an earlier run's, or an instance's that died) are queued first, and
    /// then whenever such updates turn up, as long as the receiver lives. `lease`: how long this
    /// instance's claim on an update holds before another instance may take it over.
    pub async fn open(
        storage: Storage,
        secret: SecretString,
        lease: Duration,
    ) -> anyhow::Result<(Inbox, Receiver)> {
        let (updates, receiver) = mpsc::unbounded_channel();
        let claim = Arc::new(UpdateClaim::new(lease));
        let inbox = Inbox {
            storage,
            secret: Arc::new(secret),
            claim: claim.clone(),
            updates,
        };
        inbox.take_over_lapsed().await?;
        tokio::spawn(inbox.clone().keep_taking_over());
        Ok((
            inbox,
            Receiver {
                updates: receiver,
                claim,
            },
        ))
    }

    /// Claims the stored updates whose claim lapsed and queues them for the dispatcher.
    async fn take_over_lapsed(&self) -> anyhow::Result<()> {
        for (update_id, body) in self.storage.claim_lapsed_updates(&self.claim).await? {
            tracing::info!(update_id, "taking over a stored update nobody handed over");
            self.queue(update_id, body.as_bytes()).await?;
        }
        Ok(())
    }

    /// [`Inbox::take_over_lapsed`] every [`TAKE_OVER_EVERY`] (or half a lease), until the
    /// dispatcher's receiver is gone.
    async fn keep_taking_over(self) {
        let every = TAKE_OVER_EVERY.min(self.claim.lease / 2);
        loop {
            tokio::time::sleep(every).await;
            if self.updates.is_closed() {
                return;
            }
            if let Err(e) = self.take_over_lapsed().await {
                tracing::warn!(error = %e, "could not look for stored updates to take over");
            }
        }
    }

    /// Hands a stored update claimed by this instance to the dispatcher; one teloxide cannot read
    /// is marked dispatched and skipped.
    async fn queue(&self, update_id: i64, body: &[u8]) -> anyhow::Result<()> {
        match serde_json::from_slice::<Update>(body) {
            Ok(update) => {
                // The receiver lives as long as the dispatcher; after it stopped, the update stays
                // stored and is taken over once the claim lapses, or at the next start.
                let _ = self.updates.send((update_id, update));
            }
            Err(e) => {
                tracing::warn!(update_id, error = %e, "an update teloxide cannot read; skipped");
                self.storage
                    .mark_update_dispatched(update_id, &self.claim)
                    .await?;
            }
        }
        Ok(())
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
        if !self.storage.store_update(update_id, &text, &self.claim).await? {
            tracing::debug!(update_id, "a redelivered update, already stored");
            return Ok(StatusCode::OK);
        }
        self.queue(update_id, body).await?;
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
    let Receiver { updates, claim } = receiver;
    let updates = futures_util::stream::unfold(updates, |mut updates| async move {
        let next = updates.recv().await?;
        Some((next, updates))
    })
    .take_until(stop_flag)
    .filter_map(move |(update_id, update)| {
        let (storage, claim) = (storage.clone(), claim.clone());
        async move {
            match storage.mark_update_dispatched(update_id, &claim).await {
                Ok(true) => Some(Ok::<_, Infallible>(update)),
                Ok(false) => {
                    tracing::info!(
                        update_id,
                        "another instance took this update over; not handled here"
                    );
                    None
                }
                Err(e) => {
                    // Handled rather than left: the claim still holds, so no other instance
                    // takes it before it lapses.
                    tracing::warn!(update_id, error = %e, "could not mark an update as dispatched");
                    Some(Ok(update))
                }
            }
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
