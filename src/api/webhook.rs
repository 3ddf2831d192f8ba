//! Telegram webhook mode: Telegram posts each update to the path of `TELEGRAM_WEBHOOK_URL` on
//! this server, with the secret of `TELEGRAM_WEBHOOK_SECRET` in a header.
//!
//! Each update is stored in the inbox (`telegram::Inbox`, keyed by `update_id`) before the 200
//! goes back, so a crash after the 200 loses nothing, and an update Telegram delivers again (it
//! retries when it saw no 200) finds its `update_id` stored and is not handled a second time,
//! whichever instance it reaches: with several instances in webhook mode any of them takes
//! updates.

use std::sync::Arc;

use axum::{
    body::Bytes,
    extract::State,
    http::{HeaderMap, StatusCode},
};
use secrecy::{ExposeSecret, SecretString};

use super::problem::Problem;
use crate::telegram::Inbox;

/// The receiving side of webhook mode: checks the secret and stores the update.
#[derive(Clone)]
pub struct Webhook {
    inbox: Inbox,
    secret: Arc<SecretString>,
}

impl Webhook {
    pub fn new(inbox: Inbox, secret: SecretString) -> Webhook {
        Webhook {
            inbox,
            secret: Arc::new(secret),
        }
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
        // Stored before the 200: from here on Telegram may forget it and we will not.
        self.inbox.receive(update_id, body).await?;
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
    State(webhook): State<Webhook>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<StatusCode, Problem> {
    webhook.receive(&headers, &body).await
}

/// Compares without an early exit, so the time taken says nothing about the secret.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
