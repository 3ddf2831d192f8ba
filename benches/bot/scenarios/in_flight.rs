//! Scenario 2: 10,000 unfinished tasks; what polling them costs.

use std::{
    collections::HashMap,
    time::{Duration, Instant},
};

use serde_json::{Value, json};

use crate::harness::{BotProcess, Fakes, GET_UPDATES, env_usize, ms};
use crate::seed::{Population, seed_in_flight};

/// What one measurement window of scenario 2 saw.
struct Window {
    cpu_percent: f64,
    pixverse_per_min: f64,
    by_kind_per_min: serde_json::Map<String, Value>,
    telegram_per_min: f64,
    peak_rss_mib: f64,
    end_rss_mib: f64,
}

/// Lets the bot settle for `warmup`, then measures `window` of steady state.
async fn measure_window(bot: &BotProcess, fakes: &Fakes, warmup: Duration, window: Duration) -> Window {
    tokio::time::sleep(warmup).await;
    let cpu0 = bot.cpu_secs();
    let px0 = fakes.px.request_count();
    let tg0 = fakes.tg.call_count();
    let t0 = Instant::now();
    tokio::time::sleep(window).await;
    let cpu = bot.cpu_secs() - cpu0;
    let elapsed = t0.elapsed().as_secs_f64();
    let per_min = 60.0 / elapsed;
    let paths = fakes.px.request_paths_since(px0);
    let mut by_kind: HashMap<&str, usize> = HashMap::new();
    for path in &paths {
        let kind = if path.ends_with("/video/list/personal") {
            "web listing"
        } else if path.contains("/video/result/") {
            "api result"
        } else if path.ends_with("/generate") || path.ends_with("/video/t2v") {
            "generate"
        } else {
            "other"
        };
        *by_kind.entry(kind).or_default() += 1;
    }
    let telegram = fakes
        .tg
        .call_times_since(tg0)
        .iter()
        .filter(|(m, _, _)| m != GET_UPDATES)
        .count();
    Window {
        cpu_percent: cpu / elapsed * 100.0,
        pixverse_per_min: paths.len() as f64 * per_min,
        by_kind_per_min: by_kind
            .into_iter()
            .map(|(k, n)| (k.to_owned(), json!((n as f64 * per_min).round())))
            .collect(),
        telegram_per_min: telegram as f64 * per_min,
        peak_rss_mib: bot.peak_rss_mib(),
        end_rss_mib: bot.rss_mib(),
    }
}

fn window_json(w: &Window) -> Value {
    json!({
        "cpu_percent_of_one_core": w.cpu_percent,
        "cpu_seconds_per_minute": w.cpu_percent * 0.6,
        "pixverse_requests_per_min": w.pixverse_per_min,
        "pixverse_requests_per_min_by_kind": w.by_kind_per_min,
        "telegram_requests_per_min": w.telegram_per_min,
        "peak_rss_mib": w.peak_rss_mib,
        "end_rss_mib": w.end_rss_mib,
    })
}

/// The production default, passed to the bot explicitly and reported as passed.
const POLL_MS: u64 = 5000;

/// Scenario 2: 10,000 unfinished tasks.
pub async fn in_flight(results: &mut serde_json::Map<String, Value>) {
    let window = Duration::from_secs(env_usize("BENCH_WINDOW_SECS", 30) as u64);
    let population = Population {
        web_accounts: 1_560,
        key_accounts: 80,
        generating_per_account: 5,
        queued_per_web_account: 1,
        pool_users: 240,
    };
    let poll = POLL_MS.to_string();
    let fakes = Fakes::start().await;
    fakes.px.hold_videos();
    let seeding = Instant::now();
    seed_in_flight(&fakes, &population).await;
    eprintln!(
        "in flight: seeded {} tasks in {:.1} s",
        population.tasks(),
        seeding.elapsed().as_secs_f64()
    );

    // Default settings: 5 s polls, progress edits every 5 s.
    let (startup, default_window) = {
        let bot = BotProcess::spawn(&fakes, &[("POLL_INTERVAL_MS", &poll)]);
        let first_poll = bot.first_get_updates(&fakes.tg, fakes.tg.call_count()).await;
        let startup = first_poll - bot.spawned;
        eprintln!("in flight: start-up {:.0} ms", ms(startup));
        let w = measure_window(&bot, &fakes, Duration::from_secs(10), window).await;
        eprintln!(
            "in flight (defaults): cpu {:.1} %, {:.0} PixVerse/min {:?}, {:.0} Telegram/min, peak {:.1} MiB",
            w.cpu_percent, w.pixverse_per_min, w.by_kind_per_min, w.telegram_per_min, w.peak_rss_mib
        );
        (startup, w)
    };
    // The same tasks with progress edits off: the cost of polling alone.
    let quiet_window = {
        let bot = BotProcess::spawn(
            &fakes,
            &[
                ("POLL_INTERVAL_MS", &poll),
                ("PROGRESS_EDIT_INTERVAL_MS", "3600000"),
            ],
        );
        bot.first_get_updates(&fakes.tg, fakes.tg.call_count()).await;
        let w = measure_window(&bot, &fakes, Duration::from_secs(10), window).await;
        eprintln!(
            "in flight (no progress edits): cpu {:.1} %, {:.0} PixVerse/min {:?}, {:.0} Telegram/min, peak {:.1} MiB",
            w.cpu_percent, w.pixverse_per_min, w.by_kind_per_min, w.telegram_per_min, w.peak_rss_mib
        );
        w
    };
    let generating =
        (population.web_accounts + population.key_accounts + 1) * population.generating_per_account;
    results.insert(
        "in_flight".into(),
        json!({
            "tasks": population.tasks(),
            "generating": generating,
            "queued": population.tasks() - generating,
            "web_accounts": population.web_accounts,
            "api_key_accounts": population.key_accounts,
            "pool_users": population.pool_users,
            "poll_interval_ms": POLL_MS,
            "window_s": window.as_secs(),
            "startup_to_first_get_updates_ms": ms(startup),
            "defaults": window_json(&default_window),
            "progress_edits_off": window_json(&quiet_window),
        }),
    );
}
