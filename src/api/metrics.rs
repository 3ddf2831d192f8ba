//! `GET /metrics` in Prometheus text format, and the middleware that counts API requests.
//!
//! Counters and histograms of events (PixVerse calls, API requests) are recorded where they
//! happen through the `metrics` macros. Figures that live in the database (tasks by state, pool
//! credits, generation times) are read from it at each scrape, so the worker needs no metrics
//! code and the figures survive restarts.

use std::{sync::atomic::Ordering, time::Instant};

use axum::{
    extract::{MatchedPath, Request, State},
    http::header,
    middleware::Next,
    response::{IntoResponse, Response},
};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{ApiState, problem::Problem};
use crate::{domain::TaskState, storage::now_ms};

pub fn routes() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new().routes(routes!(scrape))
}

/// Prometheus metrics (text exposition format).
///
/// `pixverse_bot_tasks{state}`, `pixverse_bot_tasks_finished_total{outcome}`,
/// `pixverse_bot_pixverse_requests_total{call,outcome}`,
/// `pixverse_bot_pixverse_request_duration_seconds{call}`,
/// `pixverse_bot_generation_duration_seconds`, `pixverse_bot_queue_wait_seconds`,
/// `pixverse_bot_telegram_requests_total{kind,outcome}` (outcome `retry_after`: Telegram's 429), `pixverse_bot_pool_account_credits{account}`,
/// `pixverse_bot_api_requests_total{route,method,status}`,
/// `pixverse_bot_api_request_duration_seconds{route}`.
#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses(
        (status = 200, description = "Prometheus text format", body = String, content_type = "text/plain; version=0.0.4"),
        (status = 500, description = "The database could not be read", body = Problem, content_type = "application/problem+json"),
    ))]
async fn scrape(State(state): State<ApiState>) -> Result<Response, Problem> {
    record_database_figures(&state).await?;
    let handle = crate::telemetry::metrics();
    handle.run_upkeep();
    Ok((
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        handle.render(),
    )
        .into_response())
}

async fn record_database_figures(state: &ApiState) -> Result<(), Problem> {
    let engine = state.storage.engine();
    let by_state: Vec<(String, i64)> = crate::on_pool!(engine, |pool| sqlx::query_as(
        "select state, count(*) from task group by state"
    )
    .fetch_all(pool)
    .await)
    .map_err(|e| Problem::internal(&e))?;
    for task_state in TaskState::ALL {
        let n = by_state
            .iter()
            .find(|(s, _)| s == task_state.as_str())
            .map_or(0, |(_, n)| *n);
        metrics::gauge!("pixverse_bot_tasks", "state" => task_state.as_str()).set(n as f64);
        if task_state.is_final() {
            metrics::counter!("pixverse_bot_tasks_finished_total", "outcome" => task_state.as_str())
                .absolute(n as u64);
        }
    }

    let credits: Vec<(String, Option<i64>)> = crate::on_pool!(engine, |pool| sqlx::query_as(
        "select name, credits from pool_account"
    )
    .fetch_all(pool)
    .await)
    .map_err(|e| Problem::internal(&e))?;
    for (name, credits) in credits {
        if let Some(credits) = credits {
            metrics::gauge!("pixverse_bot_pool_account_credits", "account" => name).set(credits as f64);
        }
    }

    // Generation and queue times of tasks that got that far since the last scrape. The mark
    // moves only forward, so each task is observed once per process.
    let now = now_ms();
    let since = state.metrics_mark.swap(now, Ordering::AcqRel);
    let generations: Vec<(i64,)> = crate::on_pool!(engine, |pool| sqlx::query_as(
        "select finished_at - submitted_at from task
         where state = 'delivered' and finished_at > $1 and finished_at <= $2 and submitted_at is not null",
    )
    .bind(since)
    .bind(now)
    .fetch_all(pool)
    .await)
    .map_err(|e| Problem::internal(&e))?;
    for (ms,) in generations {
        metrics::histogram!("pixverse_bot_generation_duration_seconds").record(ms as f64 / 1000.0);
    }
    let waits: Vec<(i64,)> = crate::on_pool!(engine, |pool| sqlx::query_as(
        "select submitted_at - created_at from task where submitted_at > $1 and submitted_at <= $2",
    )
    .bind(since)
    .bind(now)
    .fetch_all(pool)
    .await)
    .map_err(|e| Problem::internal(&e))?;
    for (ms,) in waits {
        metrics::histogram!("pixverse_bot_queue_wait_seconds").record(ms as f64 / 1000.0);
    }
    Ok(())
}

/// Counts every request by its route template (never the raw path: ids would make the label
/// unbounded), method and status, and times it.
pub async fn count_requests(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = request.method().as_str().to_owned();
    let started = Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    metrics::counter!("pixverse_bot_api_requests_total", "route" => route.clone(), "method" => method, "status" => status)
        .increment(1);
    metrics::histogram!("pixverse_bot_api_request_duration_seconds", "route" => route)
        .record(started.elapsed().as_secs_f64());
    response
}
