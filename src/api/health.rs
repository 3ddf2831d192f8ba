//! `GET /healthz` (the process runs) and `GET /readyz` (the database answers and the worker is
//! ticking), for load balancers and orchestrators.

use std::sync::atomic::Ordering;

use axum::{extract::State, http::StatusCode};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{ApiState, problem::Problem};
use crate::storage::now_ms;

pub fn routes() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new()
        .routes(routes!(healthz))
        .routes(routes!(readyz))
}

#[derive(Serialize, ToSchema)]
#[schema(example = json!({"status": "ok"}))]
pub struct Health {
    /// Always `ok`.
    status: &'static str,
}

/// Liveness: 200 while the process runs.
#[utoipa::path(get, path = "/healthz", tag = "operations",
    responses((status = 200, description = "The process runs", body = Health)))]
async fn healthz() -> axum::Json<Health> {
    axum::Json(Health { status: "ok" })
}

/// Readiness: 200 when the database answers and the worker ticked within two poll intervals.
#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses(
        (status = 200, description = "Ready to take work", body = Health),
        (status = 503, description = "Not ready; `detail` says why", body = Problem, content_type = "application/problem+json"),
    ))]
async fn readyz(State(state): State<ApiState>) -> Result<axum::Json<Health>, Problem> {
    let not_ready = |detail: String| Problem {
        retry_after: Some(5),
        ..Problem::new(StatusCode::SERVICE_UNAVAILABLE, "not-ready", "Not ready", detail)
    };
    let database = tokio::time::timeout(std::time::Duration::from_secs(2), async {
        crate::on_pool!(state.storage.engine(), |pool| sqlx::query_scalar::<_, i64>(
            "select cast(1 as bigint)"
        )
        .fetch_one(pool)
        .await)
    })
    .await;
    match database {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => return Err(not_ready(format!("the database does not answer: {e}"))),
        Err(_) => return Err(not_ready("the database did not answer within 2 s".into())),
    }
    // A database file deleted or replaced under the running process (a volume gone, a wrong
    // restore) still answers queries, into an unlinked inode that is lost at the next start.
    if let Some((path, inode)) = &state.database_file {
        use std::os::unix::fs::MetadataExt;
        match std::fs::metadata(path) {
            Ok(meta) if meta.ino() == *inode => {}
            Ok(_) => {
                return Err(not_ready(format!(
                    "the database file {} was replaced",
                    path.display()
                )));
            }
            Err(e) => {
                return Err(not_ready(format!(
                    "the database file {} is gone: {e}",
                    path.display()
                )));
            }
        }
    }
    let last_tick = state.worker_heartbeat.load(Ordering::Relaxed);
    let allowed = 2 * state.poll_interval.as_millis() as i64;
    let since = now_ms() - last_tick;
    if last_tick == 0 {
        return Err(not_ready("the worker has not started".into()));
    }
    if since > allowed {
        return Err(not_ready(format!(
            "the worker last ticked {since} ms ago (allowed: two poll intervals, {allowed} ms)"
        )));
    }
    Ok(axum::Json(Health { status: "ok" }))
}
