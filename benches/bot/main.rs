//! The bot's own cost beside Telegram and PixVerse: `cargo bench --bench bot` (a few minutes).
//!
//! The real binary (`target/release/pixverse-bot`) runs as a child process against the e2e fakes
//! (fake Telegram Bot API, fake PixVerse), which run in this process. Memory and CPU are read
//! from `/proc/<pid>` of the child only, so the fakes' own work is not counted there; latencies
//! and throughput are measured at the fakes (the time a request arrived there) and so include
//! the fakes' answer time and the loopback network. The fakes and the bot share the machine's
//! cores, so on a busy machine every figure gets worse, never better.
//!
//! Scenarios:
//! 1. idle + accept: empty database; start-up and idle memory; then N users send `/t2v` at once,
//!    and (a fresh bot) 1.5 N users at 1,000 per second.
//! 2. in flight: 10,000 unfinished tasks seeded into SQLite (generating on many web accounts and
//!    API keys, plus queued ones waiting for a slot); start-up, memory, CPU and PixVerse calls
//!    per minute at the default 5 s poll interval, with progress edits on (default) and off.
//! 3. per video: videos end to end at PixVerse's pace (the fake finishes each at a time drawn
//!    around 40 s), requests staggered after a warm-up that teaches the bot the typical time;
//!    PixVerse calls per video, and the delay from the video being done at PixVerse to
//!    `sendVideo` arriving at Telegram, at the default 5 s poll interval.
//! 4. API accept: `POST /v1/videos/text` over real HTTP, as fast as answered and paced at
//!    1,000 per second (`BENCH_API_REQUESTS`, `BENCH_API_RATE`).
//! 5. large videos: sixteen 50 MB videos delivered at once; the bot's peak resident memory.
//!
//! `BENCH_DATABASE=postgres` measures the PostgreSQL column instead (the server at
//! 127.0.0.1:5432, trust authentication, database `test`; each bot gets a fresh schema, dropped
//! after): scenarios 1b, 4 and 2 with one instance and with three on one schema (each its own
//! `HTTP_ADDR`; API requests go to them in turn; one of them polls Telegram), CPU per instance
//! and in total. Its figures go under `"postgres"` in the JSON; idle, per video and large videos
//! (one bot's memory and PixVerse pacing) are left out.
//!
//! Peak memory is the kernel's `VmHWM` of the child, not a sample.
//!
//! Layout: `harness.rs` (fakes, the child process, /proc), `seed.rs` (what scenario 2 starts
//! from, written through the storage API), `scenarios/` (one file each), `report.rs`.
//!
//! Results: a table on stdout and JSON in `$BENCH_RESULTS` (default
//! `$CARGO_TARGET_DIR/bench-results.json`, else `target/bench-results.json`).
//! Sizes: `BENCH_USERS` (accept, 2000), `BENCH_WINDOW_SECS` (measurement window, 30).
//! `BENCH_BOT_ENV="NAME=value …"` passes settings to the bot under test (its environment is
//! otherwise cleared), e.g. `TOKIO_WORKER_THREADS=1`.

/// The e2e support's default engine; the benchmark picks its own (`BENCH_DATABASE`).
#[allow(dead_code)]
const POSTGRES: bool = false;

#[path = "../../tests/e2e/support/mod.rs"]
mod support;

mod harness;
mod report;
mod scenarios;
mod seed;

use serde_json::json;

use harness::env_usize;

/// `BENCH_ONLY=in_flight` (or `idle,accept,api_accept,in_flight,per_video,large_videos`,
/// comma-separated) runs a part;
/// the table then shows only what was measured.
fn wanted(scenario: &str) -> bool {
    std::env::var("BENCH_ONLY").map_or(true, |only| only.split(',').any(|s| s.trim() == scenario))
}

#[tokio::main]
async fn main() {
    // `cargo bench` passes `--bench`; a filter argument is not supported (see `BENCH_ONLY`).
    let mut results = serde_json::Map::new();
    results.insert(
        "machine".into(),
        json!({ "cpus": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0) }),
    );
    if harness::on_postgres() {
        scenarios::postgres::postgres(&mut results, wanted).await;
        report::publish(results);
        return;
    }
    if wanted("idle") {
        scenarios::idle::idle(&mut results).await;
    }
    let users = env_usize("BENCH_USERS", 2000);
    if wanted("accept") {
        results.insert("accept".into(), scenarios::accept::accept(users, None, 1).await);
        // Telegram's own limit is ~30 messages/s per bot; 1,000/s is the target throughput.
        results.insert(
            "accept_paced".into(),
            scenarios::accept::accept(3 * users / 2, Some(1000.0), 1).await,
        );
    }
    if wanted("api_accept") {
        scenarios::api_accept::api_accept(&mut results).await;
    }
    if wanted("in_flight") {
        scenarios::in_flight::in_flight(&mut results).await;
    }
    if wanted("per_video") {
        scenarios::per_video::per_video(&mut results).await;
    }
    if wanted("large_videos") {
        scenarios::large_videos::large_videos(&mut results).await;
    }
    report::publish(results);
}
