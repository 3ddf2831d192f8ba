//! Wiring: storage, the PixVerse client, the bot, the HTTP server and the worker, run as sibling
//! tasks with one shutdown.

use std::{future::Future, net::SocketAddr, sync::Arc, time::Duration};

use anyhow::Context;
use secrecy::ExposeSecret;
use teloxide::{dispatching::Dispatcher, dptree, error_handlers::LoggingErrorHandler, prelude::*};
use tokio::sync::{Notify, watch};

use crate::{
    api::{self, ApiState, RateLimiter, webhook},
    bot::{BotContext, PlainTextBudget, schema::schema},
    config::Config,
    pixverse::PixverseClient,
    service::{Limits, Service},
    storage::{Cipher, DatabaseLock, Storage, key_file_for, lock_database},
    telegram::{self, Cooldowns, Inbox, StoredPolling, loggable, register_admin_menu, register_commands},
    worker::{Worker, WorkerSettings},
};

/// How long a video upload to Telegram may take (50 MB on a slow link).
const UPLOAD_TIMEOUT: Duration = Duration::from_secs(300);
/// Updates teloxide queues per chat (its default is 64). When one chat's queue is full the
/// dispatcher waits for it and every other chat waits too; handlers answer within about a second
/// (see `telegram::send_text`) and plain-text floods are dropped cheaply, so a deep queue only
/// absorbs bursts (an update is a few kB).
const UPDATES_QUEUED_PER_CHAT: usize = 1024;
/// How long the dispatcher and the worker get to finish after a shutdown request.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(8);

/// Without TELOXIDE_TOKEN there is no bot; the worker still gets a `Bot` (it delivers chat tasks
/// an earlier run accepted), whose calls then fail and are retried like any Telegram outage.
const NO_BOT_TOKEN: &str = "0:no-telegram-token";

pub struct App {
    config: Config,
    storage: Storage,
    bot: Bot,
    worker: Worker,
    context: Arc<BotContext>,
    /// Held until the App is dropped: this process owns the SQLite database.
    _database_lock: Option<DatabaseLock>,
    /// The HTTP server's socket (bound at build, so a busy port fails the start) and its routes.
    http: Option<(tokio::net::TcpListener, axum::Router)>,
    /// With a bot: the inbox every update passes, and its queue of stored updates for the
    /// dispatcher.
    inbox: Option<(Inbox, telegram::Receiver)>,
}

impl App {
    /// Opens the database (applying migrations) and builds every part; talks to no network.
    pub async fn build(config: Config) -> anyhow::Result<App> {
        // The metrics recorder first: events before it is installed are not counted.
        crate::telemetry::metrics();
        let cipher = match (&config.secret_key, config.database_path()) {
            (Some(key), _) => Cipher::from_base64(key)?,
            (None, Some(path)) => Cipher::from_key_file(&key_file_for(&path))?,
            (None, None) => Cipher::ephemeral(),
        };
        // Before anything is read or written: a second process on this database stops here.
        let database_lock = config
            .database_path()
            .map(|path| lock_database(&path))
            .transpose()?;
        let storage = Storage::connect(&config.database_url, cipher)
            .await
            .with_context(|| format!("cannot open the database at DATABASE_URL={}", config.database_url))?;
        let pixverse = PixverseClient::new(&config.pixverse_api_url, &config.pixverse_upload_url)?;
        let token = config
            .telegram_token
            .as_ref()
            .map_or(NO_BOT_TOKEN, |t| t.expose_secret());
        let bot = Bot::new(token).set_api_url(config.telegram_api_url.clone());
        let upload_client = teloxide::net::default_reqwest_settings()
            .timeout(UPLOAD_TIMEOUT)
            .build()
            .context("building the upload HTTP client")?;
        let upload_bot = Bot::with_client(token, upload_client).set_api_url(config.telegram_api_url.clone());

        let wake = Arc::new(Notify::new());
        let settings = WorkerSettings {
            poll_interval: config.poll_interval,
            task_deadline: config.task_deadline,
            queue_wait_limit: config.queue_wait_limit,
            progress_edit_interval: config.progress_edit_interval,
            routine_edits_per_sec: config.routine_edits_per_sec,
            concurrency: config.worker_concurrency,
            lease: config.task_lease,
            account_concurrency: config.account_concurrency,
            credential_hold: config.credential_hold,
        };
        let worker = Worker::new(
            storage.clone(),
            pixverse.clone(),
            bot.clone(),
            upload_bot,
            settings,
            wake.clone(),
        )
        .with_admin_ids(config.admin_ids.iter().copied());
        if let Some(key) = &config.pixverse_api_key {
            // PIXVERSE_API_KEY is the pool's first member.
            storage
                .upsert_operator_account(key)
                .await
                .context("adding PIXVERSE_API_KEY to the pool")?;
        }
        storage.set_pool_concurrency(config.account_concurrency).await?;
        let limits = Limits {
            max_in_flight: config.user_max_in_flight,
            max_per_hour: config.user_max_per_hour,
            pool_daily_quota: config.pool_daily_quota,
        };
        let service = Service::new(storage.clone(), wake.clone(), config.admin_ids.clone(), limits);
        let inbox = match config.telegram_token {
            // An update's claim lasts as long as a task's lease: the time another instance
            // waits before it takes over from a dead one.
            Some(_) => Some(Inbox::open(storage.clone(), config.task_lease).await?),
            None => None,
        };
        let http = match config.http_addr {
            None => None,
            Some(addr) => {
                let state = ApiState::new(api::Shared {
                    storage: storage.clone(),
                    pixverse: pixverse.clone(),
                    service: service.clone(),
                    wake_worker: wake.clone(),
                    limiter: RateLimiter::new(config.api_rate_per_minute),
                    worker_heartbeat: worker.heartbeat(),
                    poll_interval: config.poll_interval,
                    pool_daily_quota: config.pool_daily_quota,
                    database_file: config.database_path().and_then(|path| {
                        use std::os::unix::fs::MetadataExt;
                        let inode = std::fs::metadata(&path).ok()?.ino();
                        Some((path, inode))
                    }),
                    metrics_mark: Default::default(),
                });
                let webhook = config
                    .webhook
                    .as_ref()
                    .zip(inbox.as_ref())
                    .map(|(hook, (inbox, _))| {
                        let receiver = webhook::Webhook::new(inbox.clone(), hook.secret.clone());
                        (hook.url.path().to_owned(), receiver)
                    });
                let listener = tokio::net::TcpListener::bind(addr).await.with_context(|| {
                    format!("cannot listen on HTTP_ADDR={addr} (set another address, or `off`)")
                })?;
                Some((listener, api::router(state, webhook)))
            }
        };
        let context = Arc::new(BotContext {
            storage: storage.clone(),
            pixverse,
            service: service.clone(),
            wake_worker: wake,
            admin_ids: config.admin_ids.clone(),
            cooldowns: Arc::new(Cooldowns::default()),
            plain_text: PlainTextBudget::default(),
            broadcasting: Default::default(),
        });
        Ok(App {
            config,
            storage,
            bot,
            worker,
            context,
            _database_lock: database_lock,
            http,
            inbox,
        })
    }

    pub fn storage(&self) -> &Storage {
        &self.storage
    }

    /// Where the HTTP server listens (the real port when `HTTP_ADDR` asked for port 0).
    pub fn http_addr(&self) -> Option<SocketAddr> {
        self.http
            .as_ref()
            .and_then(|(listener, _)| listener.local_addr().ok())
    }

    /// Runs the bot, the HTTP server and the worker until `shutdown` resolves or the bot cannot
    /// start.
    pub async fn run_until(self, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
        let http_addr = self.http_addr();
        let App {
            config,
            storage,
            bot,
            worker,
            context,
            _database_lock,
            http,
            inbox,
        } = self;
        let admin_ids = context.admin_ids.clone();
        let (stop_worker, worker_stopped) = watch::channel(false);
        let worker = tokio::spawn(Arc::new(worker).run(worker_stopped));

        let (stop_server, server_stopped) = watch::channel(false);
        let server = http.map(|(listener, router)| {
            tracing::info!(address = %listener.local_addr().map(|a| a.to_string()).unwrap_or_default(), "HTTP server listening (API docs at /docs)");
            let mut stopped = server_stopped;
            tokio::spawn(api::serve(listener, router, async move {
                let _ = stopped.wait_for(|stop| *stop).await;
            }))
        });

        let flush_inbox = inbox.as_ref().map(|(inbox, _)| inbox.clone());
        let (dispatcher_token, mut dispatching) = if let Some((inbox, stored)) = inbox {
            let handlers = inbox.clone().mark_handled_after(schema());
            let mut dispatcher = Dispatcher::builder(bot.clone(), handlers)
                .dependencies(dptree::deps![context])
                // Updates we have no branch for (edited messages, joins, ...) are not errors.
                .default_handler(|_| async {})
                .error_handler(LoggingErrorHandler::with_custom_text("a handler failed"))
                .worker_queue_size(UPDATES_QUEUED_PER_CHAT)
                .build();
            let token = dispatcher.shutdown_token();
            let menu_bot = bot.clone();
            let webhook = config.webhook.clone();
            let poll_timeout = config.telegram_poll_timeout;
            let polling_storage = storage.clone();
            let dispatching = tokio::spawn(async move {
                register_commands(&menu_bot).await;
                register_admin_menu(&menu_bot, &admin_ids).await;
                match webhook {
                    Some(hook) => {
                        // The webhook stays set at shutdown: Telegram keeps (and retries) updates
                        // while we are down, and the next start takes them.
                        menu_bot
                            .set_webhook(hook.url.clone())
                            .secret_token(hook.secret.expose_secret().to_owned())
                            .await
                            .map_err(|e| anyhow::anyhow!("setWebhook failed: {e}"))?;
                        tracing::info!(
                            path = hook.url.path(),
                            "Telegram webhook set; taking updates on the HTTP server"
                        );
                        inbox.start_taking_over().await;
                        dispatcher
                            .dispatch_with_listener(
                                telegram::stored_updates(stored),
                                LoggingErrorHandler::with_custom_text("the webhook listener failed"),
                            )
                            .await;
                        Ok(())
                    }
                    None => {
                        // One instance polls (several would take each other's updates); held
                        // until the polling ends with this task.
                        let _poller = polling_storage
                            .wait_to_poll()
                            .await
                            .map_err(|e| anyhow::anyhow!("cannot take the polling lock: {e}"))?;
                        inbox.start_taking_over().await;
                        let listener = StoredPolling::new(menu_bot.clone(), poll_timeout, inbox, stored);
                        let listener_failed = |e: teloxide::RequestError| async move {
                            tracing::error!(error = loggable(&e), "getUpdates failed");
                        };
                        dispatcher
                            .try_dispatch_with_listener(listener, Arc::new(listener_failed))
                            .await
                            .map_err(|e| anyhow::anyhow!("{e}"))
                    }
                }
            });
            (Some(token), dispatching)
        } else {
            tracing::info!(
                "no TELOXIDE_TOKEN (or .env.example's placeholder): running the HTTP API alone on {}",
                http_addr.map_or_else(
                    || "nothing (HTTP_ADDR=off)".to_owned(),
                    |a| format!("http://{a}/docs")
                )
            );
            (None, tokio::spawn(std::future::pending::<anyhow::Result<()>>()))
        };

        tokio::pin!(shutdown);
        let result = tokio::select! {
            _ = &mut shutdown => Ok(()),
            finished = &mut dispatching => match finished {
                Ok(Ok(())) => Ok(()),
                Ok(Err(e)) => Err(anyhow::anyhow!(
                    "could not start the bot: Telegram was unreachable or rejected the token ({e}); check TELOXIDE_TOKEN and TELOXIDE_API_URL"
                )),
                Err(e) => Err(anyhow::anyhow!("the dispatcher panicked: {e}")),
            },
        };

        // One shutdown for all: stop taking requests and updates, let the worker finish its round.
        let _ = stop_worker.send(true);
        let _ = stop_server.send(true);
        if let Some(token) = dispatcher_token
            && let Ok(stopping) = token.shutdown()
        {
            let _ = tokio::time::timeout(SHUTDOWN_GRACE, stopping).await;
        }
        dispatching.abort();
        if let Some(inbox) = flush_inbox {
            // The updates handled by now are marked so; a restart would handle them again.
            let _ = tokio::time::timeout(SHUTDOWN_GRACE, inbox.flush()).await;
        }
        if let Some(server) = server {
            match tokio::time::timeout(SHUTDOWN_GRACE, server).await {
                Ok(Ok(Err(e))) => tracing::warn!(error = %e, "the HTTP server failed"),
                Err(_) => tracing::warn!("the HTTP server did not stop in time"),
                _ => {}
            }
        }
        let _ = tokio::time::timeout(SHUTDOWN_GRACE, worker).await;
        storage.close().await;
        tracing::info!("stopped");
        result
    }
}
