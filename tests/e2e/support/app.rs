//! The real App against both fakes: a fresh database per test (see `database.rs`), configured through the same
//! variables a deployment uses. The App runs on its own Tokio runtime so a test can "kill" it:
//! shutting that runtime down drops every task at its current await point (a stand-in for a
//! crash; the real SIGKILL tests run the binary, see `process.rs`).

#![allow(dead_code)]

use std::{
    collections::HashMap,
    sync::{Arc, Barrier},
    time::Duration,
};

use pixverse_bot::{app::App, config::Config, storage::Storage};
use tempfile::TempDir;
use tokio::{sync::oneshot, task::JoinHandle};

use super::{
    database::TestDatabase,
    fake_pixverse::FakePixverse,
    fake_telegram::{BOT_TOKEN, FakeTelegram, TgChat, TgUser},
};

/// The operator's Platform API key the fakes know.
pub const OPERATOR_KEY: &str = "op-key-0123456789";
/// A generous bound for one whole video (fast intervals make it take well under a second).
pub const DEADLINE: Duration = Duration::from_secs(20);

pub struct TestBot {
    pub tg: FakeTelegram,
    pub px: FakePixverse,
    pub env: HashMap<String, String>,
    dir: TempDir,
    database: TestDatabase,
    running: Option<RunningApp>,
    /// Where the running App's HTTP server listens (`HTTP_ADDR=127.0.0.1:0` picks a free port).
    http_addr: Option<std::net::SocketAddr>,
}

struct RunningApp {
    runtime: tokio::runtime::Runtime,
    stop: oneshot::Sender<()>,
    done: JoinHandle<anyhow::Result<()>>,
}

impl TestBot {
    /// Both fakes, the operator key configured, and the App running.
    pub async fn start() -> TestBot {
        Self::start_with(|_| {}).await
    }

    /// Like [`TestBot::start`], with `configure` adjusting the environment first (remove
    /// `PIXVERSE_API_KEY` for a bot without an operator key, say).
    pub async fn start_with(configure: impl FnOnce(&mut HashMap<String, String>)) -> TestBot {
        let mut bot = Self::fakes_only(configure).await;
        bot.launch().await;
        bot
    }

    /// Both fakes and the environment, without starting the App (for tests that run the real
    /// binary as a child process).
    pub async fn fakes_only(configure: impl FnOnce(&mut HashMap<String, String>)) -> TestBot {
        Self::fakes_only_on(crate::POSTGRES, configure).await
    }

    /// Like [`TestBot::start_with`], on the engine `postgres` says whatever this target's is.
    pub async fn start_on(postgres: bool, configure: impl FnOnce(&mut HashMap<String, String>)) -> TestBot {
        let mut bot = Self::fakes_only_on(postgres, configure).await;
        bot.launch().await;
        bot
    }

    /// [`TestBot::fakes_only`] on the engine `postgres` says.
    async fn fakes_only_on(postgres: bool, configure: impl FnOnce(&mut HashMap<String, String>)) -> TestBot {
        pixverse_bot::telemetry::init_for_tests();
        let tg = FakeTelegram::start().await;
        let px = FakePixverse::start().await;
        px.add_api_key(OPERATOR_KEY);
        let dir = tempfile::tempdir().expect("temp dir");
        let database = TestDatabase::on(postgres, dir.path(), "bot.db").await;
        let mut env: HashMap<String, String> = [
            ("TELOXIDE_TOKEN", BOT_TOKEN.to_owned()),
            ("TELOXIDE_API_URL", tg.api_url()),
            ("PIXVERSE_API_URL", px.url()),
            ("PIXVERSE_UPLOAD_URL", px.upload_url()),
            ("PIXVERSE_API_KEY", OPERATOR_KEY.to_owned()),
            ("DATABASE_URL", database.url.clone()),
            ("POLL_INTERVAL_MS", "40".to_owned()),
            ("PROGRESS_EDIT_INTERVAL_MS", "20".to_owned()),
            ("TELEGRAM_POLL_TIMEOUT_MS", "1000".to_owned()),
            ("HTTP_ADDR", "127.0.0.1:0".to_owned()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        if let Some(key) = database.secret_key() {
            env.insert("SECRET_KEY".into(), key.into());
        }
        configure(&mut env);
        TestBot {
            tg,
            px,
            env,
            dir,
            database,
            running: None,
            http_addr: None,
        }
    }

    /// The folder holding the database (and the child process's log, when there is one).
    pub fn dir(&self) -> &std::path::Path {
        self.dir.path()
    }

    pub fn config(&self) -> Config {
        Config::from_lookup(|name| self.env.get(name).cloned()).expect("test config is valid")
    }

    pub fn db_path(&self) -> std::path::PathBuf {
        self.dir.path().join("bot.db")
    }

    /// Starts the App and waits until it polls Telegram for updates.
    pub async fn launch(&mut self) {
        assert!(self.running.is_none(), "the App is already running");
        let config = self.config();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(APP_THREADS)
            .enable_all()
            .build()
            .expect("app runtime");
        let (stop, stopped) = oneshot::channel();
        let (built, addr) = oneshot::channel();
        let polls_before = self.tg.calls_to("getupdates").len();
        let webhooks_before = self.tg.calls_to("setwebhook").len();
        let done = runtime.spawn(async move {
            let app = App::build(config).await?;
            let _ = built.send(app.http_addr());
            app.run_until(async {
                let _ = stopped.await;
            })
            .await
        });
        self.running = Some(RunningApp { runtime, stop, done });
        self.http_addr = tokio::time::timeout(DEADLINE, addr)
            .await
            .expect("the App builds in time")
            .expect("the App builds");
        let has_bot = self.env.get("TELOXIDE_TOKEN").is_some_and(|t| !t.is_empty());
        if !has_bot {
            return;
        }
        if self.env.contains_key("TELEGRAM_WEBHOOK_URL") {
            self.tg
                .wait_for("the App to set its webhook", DEADLINE, |tg| {
                    tg.calls_to("setwebhook").len() > webhooks_before
                })
                .await;
            return;
        }
        self.tg
            .wait_for("the App to poll for updates", DEADLINE, |tg| {
                tg.calls_to("getupdates").len() > polls_before
            })
            .await;
    }

    /// Another instance of the App on the same database and fakes, in its own runtime (on
    /// PostgreSQL several instances share one database). Does not wait for it to poll: only one
    /// instance polls at a time.
    pub async fn launch_another(&self) -> OtherInstance {
        self.launch_another_with(|_| {}).await
    }

    /// [`TestBot::launch_another`] with `configure` adjusting that instance's environment (its
    /// own settings; the database and the fakes stay the same).
    pub async fn launch_another_with(
        &self,
        configure: impl FnOnce(&mut HashMap<String, String>),
    ) -> OtherInstance {
        let mut env = self.env.clone();
        configure(&mut env);
        let config = Config::from_lookup(|name| env.get(name).cloned()).expect("test config is valid");
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(APP_THREADS)
            .enable_all()
            .build()
            .expect("app runtime");
        let (stop, stopped) = oneshot::channel();
        let (built, ready) = oneshot::channel();
        let done = runtime.spawn(async move {
            let app = App::build(config).await?;
            let _ = built.send(app.http_addr());
            app.run_until(async {
                let _ = stopped.await;
            })
            .await
        });
        let http_addr = tokio::time::timeout(DEADLINE, ready)
            .await
            .expect("the other instance builds in time")
            .expect("the other instance builds");
        OtherInstance {
            running: Some(RunningApp { runtime, stop, done }),
            http_addr,
        }
    }

    /// The base URL of the running App's HTTP server (`http://127.0.0.1:<port>`).
    pub fn http_url(&self) -> String {
        format!(
            "http://{}",
            self.http_addr.expect("the App runs with its HTTP server")
        )
    }

    /// Asks the App to stop, as SIGTERM does, and waits for it.
    pub async fn stop(&mut self) -> anyhow::Result<()> {
        let running = self.running.take().expect("the App is running");
        let _ = running.stop.send(());
        let result = tokio::time::timeout(Duration::from_secs(15), running.done)
            .await
            .expect("the App stops within 15 s")
            .expect("the App task did not panic");
        running.runtime.shutdown_background();
        result
    }

    /// Stops the App wherever it is: every task is dropped at its current await point, without
    /// the graceful shutdown. The process (and any write in flight inside SQLite) lives on.
    pub fn crash(&mut self) {
        let running = self.running.take().expect("the App is running");
        running.runtime.shutdown_background();
    }

    /// Pauses the App, as SIGSTOP pauses a process: both threads of its runtime block until the
    /// returned guard is dropped, so it runs no step, no poll and no timer meanwhile, while its
    /// connections (and the locks PostgreSQL ties to them) stay open. Returns once it is paused.
    pub fn pause(&self) -> Paused {
        let running = self.running.as_ref().expect("the App is running");
        // The runtime's worker threads (see `launch`), and this thread.
        let paused = Arc::new(Barrier::new(APP_THREADS + 1));
        let resume = Arc::new(Barrier::new(APP_THREADS + 1));
        for _ in 0..APP_THREADS {
            let (paused, resume) = (paused.clone(), resume.clone());
            running.runtime.spawn(async move {
                paused.wait();
                resume.wait();
            });
        }
        paused.wait();
        Paused { resume }
    }

    /// A second handle on the bot's database (same database, same key), for assertions.
    pub async fn storage(&self) -> Storage {
        let config = self.config();
        let cipher = match (&config.secret_key, config.database_path()) {
            (Some(key), _) => pixverse_bot::storage::Cipher::from_base64(key),
            (None, path) => pixverse_bot::storage::Cipher::from_key_file(
                &pixverse_bot::storage::key_file_for(&path.expect("a file database")),
            ),
        }
        .expect("the key");
        Storage::connect(&config.database_url, cipher)
            .await
            .expect("open the database")
    }

    /// `(state, count)` for every task state present.
    pub async fn task_states(&self) -> Vec<(String, i64)> {
        let storage = self.storage().await;
        let rows = pixverse_bot::on_pool!(storage.engine(), |pool| sqlx::query_as(
            "select state, count(*) from task group by state order by state"
        )
        .fetch_all(pool)
        .await)
        .expect("count tasks");
        storage.close().await;
        rows
    }

    /// Waits until the tasks' states are exactly `expected` (`(state, count)`, sorted by state).
    pub async fn wait_for_states(&self, expected: &[(&str, i64)]) {
        self.wait_for_states_within(expected, DEADLINE).await
    }

    /// [`TestBot::wait_for_states`] with another deadline (for soaks).
    pub async fn wait_for_states_within(&self, expected: &[(&str, i64)], deadline: Duration) {
        let expected: Vec<(String, i64)> = expected.iter().map(|(s, n)| (s.to_string(), *n)).collect();
        let started = std::time::Instant::now();
        loop {
            let states = self.task_states().await;
            if states == expected {
                return;
            }
            assert!(
                started.elapsed() < deadline,
                "timed out waiting for tasks {expected:?}; they are {states:?}"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    pub async fn task_count(&self) -> i64 {
        self.task_states().await.iter().map(|(_, n)| n).sum()
    }

    /// Waits until `condition` holds (for state outside the fake Telegram, e.g. the fake
    /// PixVerse), checking every 10 ms. Panics after [`DEADLINE`].
    pub async fn wait_until(&self, what: &str, condition: impl Fn() -> bool) {
        let started = std::time::Instant::now();
        while !condition() {
            assert!(
                started.elapsed() < DEADLINE,
                "timed out waiting for {what}\n{}",
                self.tg.dump()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Waits until the bot has sent `n` videos (or links) to `chat`.
    pub async fn wait_for_videos(&self, chat: TgChat, n: usize) {
        self.tg
            .wait_for(&format!("{n} video(s) in {chat:?}"), DEADLINE, |tg| {
                tg.bot_messages(chat)
                    .iter()
                    .filter(|m| m.video_file_id.is_some())
                    .count()
                    >= n
            })
            .await;
    }

    /// How many of the bot's videos in `chat` reply to the request message `request`.
    pub fn videos_replying_to(&self, chat: TgChat, request: i32) -> usize {
        self.tg
            .bot_messages(chat)
            .iter()
            .filter(|m| m.video_file_id.is_some() && m.reply_to == Some(request))
            .count()
    }

    /// The parked generating tasks now (polled from an instance's schedule): how many, and the
    /// instance keys that parked them (`task.parked_by`, each once).
    pub async fn parked_tasks(&self) -> (usize, Vec<Option<String>>) {
        let storage = self.storage().await;
        let mut owners: Vec<Option<String>> = pixverse_bot::on_pool!(storage.engine(), |pool| {
            sqlx::query_scalar(
            "select parked_by from task where state = 'generating' and next_run_at = $1 order by parked_by"
        )
        .bind(pixverse_bot::storage::PARKED)
        .fetch_all(pool)
        .await
        })
        .expect("read the parked tasks");
        storage.close().await;
        let tasks = owners.len();
        owners.dedup();
        (tasks, owners)
    }

    /// Waits for a bot message in `chat` whose text contains `needle` and returns it.
    pub async fn wait_for_text(&self, chat: TgChat, needle: &str) -> String {
        self.tg
            .wait_for(
                &format!("a message containing {needle:?} in {chat:?}"),
                DEADLINE,
                |tg| {
                    tg.bot_messages(chat)
                        .iter()
                        .any(|m| m.text.as_deref().is_some_and(|t| t.contains(needle)))
                },
            )
            .await;
        self.tg
            .bot_messages(chat)
            .into_iter()
            .filter_map(|m| m.text)
            .find(|t| t.contains(needle))
            .expect("just seen")
    }
}

/// The App's runtime threads (see [`TestBot::launch`]).
const APP_THREADS: usize = 2;

/// A paused App (see [`TestBot::pause`]); it goes on when this is dropped.
pub struct Paused {
    resume: Arc<Barrier>,
}

impl Drop for Paused {
    fn drop(&mut self) {
        self.resume.wait();
    }
}

/// A further instance of the App (see [`TestBot::launch_another`]); crashed when dropped.
pub struct OtherInstance {
    running: Option<RunningApp>,
    http_addr: Option<std::net::SocketAddr>,
}

impl OtherInstance {
    /// The base URL of its HTTP server (`http://127.0.0.1:<port>`).
    pub fn http_url(&self) -> String {
        format!(
            "http://{}",
            self.http_addr.expect("the instance runs with its HTTP server")
        )
    }

    /// Stops it wherever it is, as [`TestBot::crash`] does.
    pub fn crash(self) {
        drop(self);
    }

    /// Asks it to stop, as SIGTERM does, and waits for it.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        let RunningApp { runtime, stop, done } = self.running.take().expect("running");
        let _ = stop.send(());
        let result = tokio::time::timeout(Duration::from_secs(15), done)
            .await
            .expect("the instance stops within 15 s")
            .expect("the instance task did not panic");
        runtime.shutdown_background();
        result
    }
}

impl Drop for OtherInstance {
    fn drop(&mut self) {
        if let Some(running) = self.running.take() {
            running.runtime.shutdown_background();
        }
    }
}

impl Drop for TestBot {
    fn drop(&mut self) {
        if let Some(running) = self.running.take() {
            running.runtime.shutdown_background();
        }
    }
}

/// A private chat with a fresh user.
pub fn private_user(id: i64) -> (TgChat, TgUser) {
    (TgChat::Private(id), TgUser::new(id))
}
