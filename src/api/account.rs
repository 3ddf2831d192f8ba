//! `GET /v1/balance`: what the caller can still generate, on their own PixVerse account or on
//! the shared pool.

use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{ApiState, Caller, problem::Problem};
use crate::{
    pixverse::ErrorKind,
    storage::{now_ms, utc_day_start},
};

pub fn routes() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new().routes(routes!(balance))
}

/// Where the caller's videos are generated, and what is left there.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({"source": "own", "account": "alice", "credits": {"daily": 30, "monthly": 0, "package": 500}}))]
pub struct Balance {
    /// `own`: the caller's PixVerse account (from /v1/auth or the bot's /login); `pool`: the
    /// operator's shared accounts, within a daily quota.
    #[schema(example = "own")]
    source: Source,
    /// The own account's name (web login) or `API key …abcd`.
    #[serde(skip_serializing_if = "Option::is_none")]
    account: Option<String>,
    /// Credits on the own account.
    #[serde(skip_serializing_if = "Option::is_none")]
    credits: Option<Credits>,
    /// Videos left today on the pool.
    #[serde(skip_serializing_if = "Option::is_none")]
    pool_quota: Option<PoolQuota>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    Own,
    Pool,
}

#[derive(Serialize, ToSchema)]
pub struct Credits {
    /// Daily free credits (web accounts only).
    #[serde(skip_serializing_if = "Option::is_none")]
    daily: Option<i64>,
    monthly: i64,
    package: i64,
}

#[derive(Serialize, ToSchema)]
pub struct PoolQuota {
    /// Videos made on the pool today (UTC).
    used: i64,
    /// Videos allowed per UTC day.
    limit: i64,
    /// When the count starts again (RFC 3339, 00:00 UTC).
    resets_at: String,
}

/// Credits of the caller's own PixVerse account, or their quota on the shared pool.
#[utoipa::path(get, path = "/v1/balance", tag = "account", security(("bearer" = [])),
    responses(
        (status = 200, description = "What is left", body = Balance),
        (status = 401, description = "No or an unknown token", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "No own account and no shared pool, or the own login expired", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Over the token's rate limit", body = Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
        (status = 502, description = "PixVerse did not answer", body = Problem, content_type = "application/problem+json"),
    ))]
async fn balance(State(state): State<ApiState>, caller: Caller) -> Result<axum::Json<Balance>, Problem> {
    let storage = &state.storage;
    if let Some(own) = storage.credential_of_user(caller.user_id).await? {
        return match state.pixverse.balance(&own.to_pixverse()).await {
            Ok(b) => Ok(axum::Json(Balance {
                source: Source::Own,
                account: Some(own.label.clone()),
                credits: Some(Credits {
                    daily: b.daily,
                    monthly: b.monthly,
                    package: b.package,
                }),
                pool_quota: None,
            })),
            Err(e) if e.kind() == ErrorKind::CredentialInvalid => Err(Problem::conflict(
                "PixVerse no longer accepts this account's login; log in again with POST /v1/auth.",
            )),
            Err(e) => {
                tracing::warn!(error = %e, "balance failed");
                Err(Problem::bad_gateway(
                    "PixVerse did not answer; try again shortly.",
                ))
            }
        };
    }
    if storage.pool_is_empty().await? {
        return Err(Problem::conflict(
            "This account has no PixVerse credential and there is no shared pool; log in with POST /v1/auth.",
        ));
    }
    let today = utc_day_start(now_ms());
    let limit = storage
        .user_access(caller.user_id)
        .await?
        .daily_quota
        .unwrap_or(state.pool_daily_quota);
    let used = storage.pool_tasks_since(caller.user_id, today).await?;
    Ok(axum::Json(Balance {
        source: Source::Pool,
        account: None,
        credits: None,
        pool_quota: Some(PoolQuota {
            used,
            limit,
            resets_at: super::time::rfc3339(today + 24 * 3600 * 1000),
        }),
    }))
}
