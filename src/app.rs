//! Wiring: storage, the PixVerse client, the bot and the worker, run as sibling tasks with one
//! shutdown.

use std::{future::Future, sync::Arc, time::Duration};

use anyhow::Context;
use secrecy::ExposeSecret;
use teloxide::{
    dispatching::Dispatcher, dptree, error_handlers::LoggingErrorHandler, prelude::*,
    update_listeners::Polling,
};
use tokio::sync::{Notify, watch};

use crate::{
    bot::{BotContext, PlainTextBudget, schema::schema},
    config::Config,
    pixverse::PixverseClient,
    service::{Limits, Service},
    storage::{Cipher, DatabaseLock, Storage, key_file_for, lock_database},
    telegram::{Cooldowns, register_admin_menu, register_commands},
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

pub struct App {
    config: Config,
    storage: Storage,
    bot: Bot,
    worker: Worker,
    context: Arc<BotContext>,
    /// Held until the App is dropped: this process owns the SQLite database.
    _database_lock: Option<DatabaseLock>,
}

impl App {
    /// Opens the database (applying migrations) and builds every part; talks to no network.
    pub async fn build(config: Config) -> anyhow::Result<App> {
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
        let token = config.telegram_token.expose_secret();
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
        let context = Arc::new(BotContext {
            storage: storage.clone(),
            pixverse,
            service: Service::new(storage.clone(), wake.clone(), config.admin_ids.clone(), limits),
            wake_worker: wake,
            admin_ids: config.admin_ids.clone(),
            cooldowns: Arc::new(Cooldowns::default()),
            plain_text: PlainTextBudget::default(),
        });
        Ok(App {
            config,
            storage,
            bot,
            worker,
            context,
            _database_lock: database_lock,
        })
    }

    pub fn storage(&self) -> &Storage {
        &self.storage
    }

    /// Runs the bot and the worker until `shutdown` resolves or the bot cannot start.
    pub async fn run_until(self, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
        let App {
            config,
            storage,
            bot,
            worker,
            context,
            _database_lock,
        } = self;
        let admin_ids = context.admin_ids.clone();
        let (stop_worker, worker_stopped) = watch::channel(false);
        let worker = tokio::spawn(Arc::new(worker).run(worker_stopped));

        let mut dispatcher = Dispatcher::builder(bot.clone(), schema())
            .dependencies(dptree::deps![context])
            // Updates we have no branch for (edited messages, joins, ...) are not errors.
            .default_handler(|_| async {})
            .error_handler(LoggingErrorHandler::with_custom_text("a handler failed"))
            .worker_queue_size(UPDATES_QUEUED_PER_CHAT)
            .build();
        let dispatcher_token = dispatcher.shutdown_token();
        let listener = Polling::builder(bot.clone())
            .timeout(config.telegram_poll_timeout)
            .build();
        let menu_bot = bot.clone();
        let mut dispatching = tokio::spawn(async move {
            register_commands(&menu_bot).await;
            register_admin_menu(&menu_bot, &admin_ids).await;
            dispatcher
                .try_dispatch_with_listener(
                    listener,
                    LoggingErrorHandler::with_custom_text("getUpdates failed"),
                )
                .await
        });

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

        // One shutdown for both: stop taking updates, let the worker finish its round.
        let _ = stop_worker.send(true);
        if let Ok(stopping) = dispatcher_token.shutdown() {
            let _ = tokio::time::timeout(SHUTDOWN_GRACE, stopping).await;
        }
        dispatching.abort();
        let _ = tokio::time::timeout(SHUTDOWN_GRACE, worker).await;
        storage.close().await;
        tracing::info!("stopped");
        result
    }
}
