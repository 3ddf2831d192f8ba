//! The HTTP door: the REST API (`/v1`), its OpenAPI document and Swagger UI, health, metrics and
//! the Telegram webhook receiver, on one axum server.
//!
//! Routes are written with their documentation (utoipa's `OpenApiRouter`), so `/openapi.json`
//! cannot drift from the code. Every error is a [`problem::Problem`].

mod account;
mod auth;
mod health;
mod image_modes;
mod lipsync;
mod metrics;
mod modes;
pub mod problem;
mod rate_limit;
mod time;
mod videos;
pub mod webhook;

use std::{
    path::PathBuf,
    sync::{
        Arc,
        atomic::{AtomicI64, Ordering},
    },
    time::Duration,
};

use axum::{Router, routing::post};
use tokio::sync::Notify;
use utoipa::{
    Modify, OpenApi,
    openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme},
};
use utoipa_axum::router::OpenApiRouter;
use utoipa_swagger_ui::SwaggerUi;

pub use auth::Caller;
pub use rate_limit::RateLimiter;

use crate::{pixverse::PixverseClient, service::Service, storage::Storage};

/// What the handlers share.
#[derive(Clone)]
pub struct ApiState(Arc<Shared>);

pub struct Shared {
    pub storage: Storage,
    pub pixverse: PixverseClient,
    /// The one way work is accepted (shared with the bot).
    pub service: Service,
    pub wake_worker: Arc<Notify>,
    pub limiter: RateLimiter,
    /// When the worker last went round its loop (ms); readiness wants it recent.
    pub worker_heartbeat: Arc<AtomicI64>,
    pub poll_interval: Duration,
    /// Videos per user per UTC day on the shared pool (POOL_DAILY_QUOTA).
    pub pool_daily_quota: i64,
    /// The SQLite file and its inode at start (readiness notices a deleted or replaced file).
    pub database_file: Option<(PathBuf, u64)>,
    /// Tasks finished or submitted after this (ms) are not yet in the time histograms.
    pub metrics_mark: AtomicI64,
}

impl std::ops::Deref for ApiState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}

impl ApiState {
    pub fn new(shared: Shared) -> ApiState {
        shared
            .metrics_mark
            .store(crate::storage::now_ms(), Ordering::Relaxed);
        ApiState(Arc::new(shared))
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "pixverse-bot API",
        description = "PixVerse video generation as a REST service: the same accounts, rules, \
                       limits and history as the Telegram bot. Log in with POST /v1/auth, then send \
                       `Authorization: Bearer <access_token>`. Errors are RFC 9457 problems \
                       (`application/problem+json`).",
        license(name = "MIT")
    ),
    modifiers(&BearerAuth),
    tags(
        (name = "auth", description = "Getting a token"),
        (name = "videos", description = "Generating videos"),
        (name = "account", description = "The account behind the token"),
        (name = "operations", description = "Health and metrics"),
    )
)]
struct ApiDoc;

/// Declares the bearer scheme the `/v1` routes name in their `security`.
struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "A token from POST /v1/auth or /token in the bot's private chat",
                    ))
                    .build(),
            ),
        );
    }
}

/// Every documented route, with the document.
fn documented() -> OpenApiRouter<ApiState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(auth::routes())
        .merge(account::routes())
        .merge(videos::routes())
        .merge(modes::routes())
        .merge(lipsync::routes())
        .merge(image_modes::routes())
        .merge(health::routes())
        .merge(metrics::routes())
}

/// The whole HTTP service. `webhook` adds the Telegram webhook receiver at its path.
pub fn router(state: ApiState, webhook: Option<(String, webhook::Webhook)>) -> Router {
    let (routes, mut openapi) = documented().split_for_parts();
    if let Some((path, _)) = &webhook {
        openapi.paths.paths.insert(path.clone(), webhook::documentation());
    }
    let mut app = routes
        .with_state(state)
        .merge(SwaggerUi::new("/docs").url("/openapi.json", openapi));
    if let Some((path, webhook)) = webhook {
        app = app.merge(
            Router::new()
                .route(&path, post(webhook::receive))
                .with_state(webhook),
        );
    }
    app.fallback(problem::not_found)
        .method_not_allowed_fallback(problem::method_not_allowed)
        .layer(axum::middleware::from_fn(metrics::count_requests))
}

/// Serves `router` on `listener` until `shutdown` resolves; requests in flight may finish.
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await
}
