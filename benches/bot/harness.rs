//! What every scenario shares: the fakes, the bot as a child process, and reading its costs
//! from `/proc`.

use std::{
    fs::File,
    net::TcpListener,
    path::PathBuf,
    process::{Child, Command, Stdio},
    sync::atomic::{AtomicUsize, Ordering},
    time::{Duration, Instant},
};

use base64::Engine as _;
use pixverse_bot::storage::{Cipher, Storage, now_ms};
use secrecy::SecretString;
use tempfile::TempDir;

use crate::support::{
    database::TestDatabase,
    fake_pixverse::FakePixverse,
    fake_telegram::{BOT_TOKEN, FakeTelegram},
};

pub const OPERATOR_KEY: &str = "op-key-0123456789";
pub const T2V: &str = "/t2v a red fox running through fresh snow at dawn";
/// Telegram's `getUpdates` long poll is a request too; never count it as work.
pub const GET_UPDATES: &str = "getupdates";

pub fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

pub fn secret_key() -> String {
    base64::engine::general_purpose::STANDARD.encode([42u8; 32])
}

/// `BENCH_DATABASE=postgres`: the PostgreSQL column (the server at 127.0.0.1:5432, trust
/// authentication, database `test`); otherwise SQLite.
pub fn on_postgres() -> bool {
    std::env::var("BENCH_DATABASE").is_ok_and(|engine| engine == "postgres")
}

/// Both fakes, a working directory and a fresh database: a SQLite file in that directory, or a
/// PostgreSQL schema of its own, dropped with the fakes (as the e2e tests' databases are).
pub struct Fakes {
    pub tg: FakeTelegram,
    pub px: FakePixverse,
    pub dir: TempDir,
    database: TestDatabase,
}

impl Fakes {
    pub async fn start() -> Fakes {
        let tg = FakeTelegram::start().await;
        let px = FakePixverse::start().await;
        px.add_api_key(OPERATOR_KEY);
        let dir = tempfile::tempdir().expect("temp dir");
        let database = TestDatabase::on(on_postgres(), dir.path(), "bot.db").await;
        Fakes {
            tg,
            px,
            dir,
            database,
        }
    }

    pub fn database_url(&self) -> String {
        self.database.url.clone()
    }

    pub async fn storage(&self) -> Storage {
        let cipher = Cipher::from_base64(&SecretString::from(secret_key())).expect("key");
        Storage::connect(&self.database_url(), cipher)
            .await
            .expect("open the database")
    }
}

/// The real binary, killed when dropped.
pub struct BotProcess {
    child: Child,
    pub spawned: Instant,
}

impl BotProcess {
    pub fn spawn(fakes: &Fakes, extra: &[(&str, &str)]) -> BotProcess {
        // `BENCH_LOG_DIR` keeps the bot's logs (`BENCH_RUST_LOG` sets their filter, e.g.
        // `info,sqlx::query=debug` to count statements); by default they vanish with the run.
        let log_dir =
            std::env::var("BENCH_LOG_DIR").map_or_else(|_| fakes.dir.path().to_owned(), PathBuf::from);
        // Instances started within one millisecond must not share a log.
        static STARTED: AtomicUsize = AtomicUsize::new(0);
        let log_name = format!("bot-{}-{}.log", now_ms(), STARTED.fetch_add(1, Ordering::Relaxed));
        let log = File::create(log_dir.join(log_name)).expect("log file");
        let mut command = Command::new(env!("CARGO_BIN_EXE_pixverse-bot"));
        command
            // No `.env` from the repository, no variables from the caller's shell.
            .current_dir(fakes.dir.path())
            .env_clear()
            .env("TELOXIDE_TOKEN", BOT_TOKEN)
            .env("TELOXIDE_API_URL", fakes.tg.api_url())
            .env("PIXVERSE_API_URL", fakes.px.url())
            .env("PIXVERSE_UPLOAD_URL", fakes.px.upload_url())
            .env("PIXVERSE_API_KEY", OPERATOR_KEY)
            .env("DATABASE_URL", fakes.database_url())
            .env("SECRET_KEY", secret_key())
            // Any free port: the benchmark must not depend on 8080 being free.
            .env("HTTP_ADDR", "127.0.0.1:0")
            .env(
                "RUST_LOG",
                std::env::var("BENCH_RUST_LOG").unwrap_or_else(|_| "info".into()),
            )
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log);
        for (name, value) in extra {
            command.env(name, value);
        }
        // `BENCH_BOT_ENV="NAME=value NAME2=value"` passes settings to the bot for experiments
        // (the environment is cleared above so that nothing else leaks in).
        let passed = std::env::var("BENCH_BOT_ENV").unwrap_or_default();
        for pair in passed.split_whitespace() {
            if let Some((name, value)) = pair.split_once('=') {
                command.env(name, value);
            }
        }
        let spawned = Instant::now();
        let child = command.spawn().expect("start target/release/pixverse-bot");
        BotProcess { child, spawned }
    }

    /// Waits for the first `getUpdates` after `from` (a call index); returns when it arrived. Of
    /// several instances, only one polls Telegram: it may be another one's.
    pub async fn first_get_updates(&self, tg: &FakeTelegram, from: usize) -> Instant {
        wait_for_call(tg, from, GET_UPDATES, Duration::from_secs(30)).await
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Resident memory in MiB now (`VmRSS`).
    pub fn rss_mib(&self) -> f64 {
        self.status_mib("VmRSS:")
    }

    /// The most resident memory the process ever had, in MiB (`VmHWM`, the kernel's high-water mark).
    pub fn peak_rss_mib(&self) -> f64 {
        self.status_mib("VmHWM:")
    }

    fn status_mib(&self, field: &str) -> f64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).expect("proc status");
        let kib: f64 = status
            .lines()
            .find_map(|l| l.strip_prefix(field))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect(field);
        kib / 1024.0
    }

    /// CPU time used so far (user + system), in seconds.
    pub fn cpu_secs(&self) -> f64 {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid())).expect("proc stat");
        // Fields after the parenthesised name: state is field 3, utime 14, stime 15.
        let rest = &stat[stat.rfind(')').expect("stat format") + 2..];
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let ticks: f64 =
            fields[11].parse::<f64>().expect("utime") + fields[12].parse::<f64>().expect("stime");
        ticks / clock_ticks()
    }
}

impl Drop for BotProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Several instances of the bot on one database (PostgreSQL), each with an HTTP server of its own.
pub struct Instances {
    pub bots: Vec<BotProcess>,
    /// Each instance's HTTP base URL (`http://127.0.0.1:<port>`), in the order of `bots`.
    pub bases: Vec<String>,
}

impl Instances {
    /// Starts `count` instances with `extra` settings and waits until each one's HTTP server
    /// answers.
    pub async fn spawn(fakes: &Fakes, count: usize, extra: &[(&str, &str)]) -> Instances {
        let mut bots = Vec::with_capacity(count);
        let mut bases = Vec::with_capacity(count);
        for _ in 0..count {
            let addr = format!("127.0.0.1:{}", free_port());
            let mut settings = extra.to_vec();
            settings.push(("HTTP_ADDR", &addr));
            bots.push(BotProcess::spawn(fakes, &settings));
            bases.push(format!("http://{addr}"));
        }
        let client = reqwest::Client::new();
        for base in &bases {
            wait_until_serving(&client, base).await;
        }
        Instances { bots, bases }
    }

    /// Each instance's CPU time so far (user + system), in seconds.
    pub fn cpu_secs(&self) -> Vec<f64> {
        self.bots.iter().map(BotProcess::cpu_secs).collect()
    }

    /// The highest `VmHWM` among the instances, in MiB.
    pub fn peak_rss_mib(&self) -> f64 {
        self.bots.iter().map(BotProcess::peak_rss_mib).fold(0.0, f64::max)
    }

    /// When the first of them was started.
    pub fn spawned(&self) -> Instant {
        self.bots
            .iter()
            .map(|bot| bot.spawned)
            .min()
            .expect("an instance")
    }
}

/// A port nothing listens on right now, for a bot's HTTP server.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

pub async fn wait_until_serving(client: &reqwest::Client, base: &str) {
    let started = Instant::now();
    loop {
        if let Ok(r) = client.get(format!("{base}/healthz")).send().await
            && r.status().is_success()
        {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the HTTP server at {base} never answered"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

pub fn clock_ticks() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

/// Polls the fake's call log (from index `from`) until `method` shows up; its arrival time.
pub async fn wait_for_call(tg: &FakeTelegram, mut from: usize, method: &str, deadline: Duration) -> Instant {
    let started = Instant::now();
    loop {
        let calls = tg.call_times_since(from);
        if let Some((_, _, at)) = calls.iter().find(|(m, _, _)| m == method) {
            return *at;
        }
        from += calls.len();
        assert!(started.elapsed() < deadline, "no {method} within {deadline:?}");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
