//! The real binary as a child process, configured like a deployment (environment only), with its
//! log in the test's folder: started, signalled, killed.

#![allow(dead_code)]

use std::{
    fs::File,
    path::PathBuf,
    process::{Child, Command, ExitStatus, Stdio},
    time::{Duration, Instant},
};

use super::app::{DEADLINE, TestBot};

/// One run of `pixverse-bot`, configured like a deployment: environment only, no `.env`.
pub struct BotProcess {
    child: Child,
    log: PathBuf,
}

impl BotProcess {
    /// Starts the binary and waits until it polls Telegram.
    pub async fn start(bot: &TestBot, rust_log: &str) -> BotProcess {
        let polls_before = bot.tg.calls_to("getupdates").len();
        let process = Self::spawn(bot, rust_log);
        bot.tg
            .wait_for("the binary to poll for updates", DEADLINE, |tg| {
                tg.calls_to("getupdates").len() > polls_before
            })
            .await;
        process
    }

    /// Starts another instance beside running ones (on PostgreSQL) and waits until it has
    /// built its App (its HTTP server listens); only one instance polls Telegram at a time.
    pub async fn start_beside(bot: &TestBot, rust_log: &str) -> BotProcess {
        let process = Self::spawn(bot, rust_log);
        let started = Instant::now();
        while !process.log_text().contains("HTTP server listening") {
            assert!(
                started.elapsed() < DEADLINE,
                "the instance did not start:\n{}",
                process.log_text()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        process
    }

    /// Starts the binary without waiting for anything.
    fn spawn(bot: &TestBot, rust_log: &str) -> BotProcess {
        static RUNS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let run = RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let log = bot.dir().join(format!("bot-{run}.log"));
        let out = File::create(&log).expect("log file");
        // Cargo names the binary to integration tests and benchmarks; the examples that share
        // these helpers never start it.
        let Some(binary) = option_env!("CARGO_BIN_EXE_pixverse-bot") else {
            panic!("cargo names the binary to tests and benchmarks only");
        };
        let child = Command::new(binary)
            .env_clear()
            .envs(&bot.env)
            .env("RUST_LOG", rust_log)
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .current_dir(bot.dir())
            .stdin(Stdio::null())
            .stdout(out.try_clone().expect("log file"))
            .stderr(out)
            .spawn()
            .expect("start pixverse-bot");
        BotProcess { child, log }
    }

    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.child.id().to_string())
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{signal} failed");
    }

    /// Waits for the process to exit; `None` if it is still running after `limit`.
    pub async fn exited_within(&mut self, limit: Duration) -> Option<ExitStatus> {
        let started = Instant::now();
        while started.elapsed() < limit {
            if let Some(status) = self.child.try_wait().expect("wait for the child") {
                return Some(status);
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        None
    }

    /// The most resident memory the process ever had, in MiB (the kernel's high-water mark).
    pub fn peak_rss_mib(&self) -> f64 {
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).expect("proc status");
        let kib: f64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmHWM");
        kib / 1024.0
    }

    /// SIGKILL: no chance to clean up, as in a power cut of the process.
    pub async fn kill(mut self) {
        self.signal("KILL");
        self.exited_within(Duration::from_secs(5))
            .await
            .expect("SIGKILL ends the process");
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGTERM, then waits up to `limit` for a clean exit; panics with the log otherwise.
    pub async fn stop_within(mut self, limit: Duration) {
        self.signal("TERM");
        let status = self.exited_within(limit).await;
        assert!(
            status.is_some_and(|s| s.success()),
            "no clean exit within {limit:?} after SIGTERM ({status:?}):\n{}",
            self.log_text()
        );
    }
}

impl Drop for BotProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
