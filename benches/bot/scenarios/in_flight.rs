//! Scenario 2: 10,000 unfinished tasks; what polling them costs.

use std::{
    collections::HashMap,
    time::{Duration, Instant},
};

use serde_json::{Value, json};

use crate::harness::{Fakes, GET_UPDATES, Instances, env_usize, ms};
use crate::seed::{Population, seed_in_flight};

/// What one measurement window of scenario 2 saw.
struct Window {
    /// All instances together.
    cpu_percent: f64,
    cpu_percent_per_instance: Vec<f64>,
    pixverse_per_min: f64,
    by_kind_per_min: serde_json::Map<String, Value>,
    telegram_per_min: f64,
    peak_rss_mib: f64,
    end_rss_mib: f64,
}

impl Window {
    fn log(&self, what: &str) {
        eprintln!(
            "in flight ({what}): cpu {:.1} % {:.1?}, {:.0} PixVerse/min {:?}, {:.0} Telegram/min, peak {:.1} MiB",
            self.cpu_percent,
            self.cpu_percent_per_instance,
            self.pixverse_per_min,
            self.by_kind_per_min,
            self.telegram_per_min,
            self.peak_rss_mib
        );
    }
}

/// Lets the bot settle for `warmup`, then measures `window` of steady state.
async fn measure_window(bots: &Instances, fakes: &Fakes, warmup: Duration, window: Duration) -> Window {
    tokio::time::sleep(warmup).await;
    let cpu0 = bots.cpu_secs();
    let px0 = fakes.px.request_count();
    let tg0 = fakes.tg.call_count();
    let t0 = Instant::now();
    tokio::time::sleep(window).await;
    let elapsed = t0.elapsed().as_secs_f64();
    let cpu_percent_per_instance: Vec<f64> = bots
        .cpu_secs()
        .iter()
        .zip(&cpu0)
        .map(|(now, before)| (now - before) / elapsed * 100.0)
        .collect();
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
        cpu_percent: cpu_percent_per_instance.iter().sum(),
        cpu_percent_per_instance,
        pixverse_per_min: paths.len() as f64 * per_min,
        by_kind_per_min: by_kind
            .into_iter()
            .map(|(k, n)| (k.to_owned(), json!((n as f64 * per_min).round())))
            .collect(),
        telegram_per_min: telegram as f64 * per_min,
        peak_rss_mib: bots.peak_rss_mib(),
        end_rss_mib: bots.bots.iter().map(|bot| bot.rss_mib()).fold(0.0, f64::max),
    }
}

fn window_json(w: &Window) -> Value {
    let mut figures = json!({
        "cpu_percent_of_one_core": w.cpu_percent,
        "cpu_seconds_per_minute": w.cpu_percent * 0.6,
        "pixverse_requests_per_min": w.pixverse_per_min,
        "pixverse_requests_per_min_by_kind": w.by_kind_per_min,
        "telegram_requests_per_min": w.telegram_per_min,
        "peak_rss_mib": w.peak_rss_mib,
        "end_rss_mib": w.end_rss_mib,
    });
    if w.cpu_percent_per_instance.len() > 1 {
        figures["cpu_percent_of_one_core_per_instance"] = json!(w.cpu_percent_per_instance);
    }
    figures
}

/// The production default, passed to the bot explicitly and reported as passed.
const POLL_MS: u64 = 5000;

/// Scenario 2: 10,000 unfinished tasks, on one instance.
pub async fn in_flight(results: &mut serde_json::Map<String, Value>) {
    let [figures] = measure(&[1]).await.try_into().expect("one figure");
    results.insert("in_flight".into(), figures);
}

/// Scenario 2 with each of `instance_counts` bots (several: PostgreSQL) on one database seeded
/// once; their figures in that order.
pub async fn measure(instance_counts: &[usize]) -> Vec<Value> {
    let window = Duration::from_secs(env_usize("BENCH_WINDOW_SECS", 30) as u64);
    let population = Population {
        web_accounts: 1_560,
        key_accounts: 80,
        generating_per_account: 5,
        queued_per_web_account: 1,
        pool_users: 240,
    };
    let fakes = Fakes::start().await;
    fakes.px.hold_videos();
    let seeding = Instant::now();
    seed_in_flight(&fakes, &population).await;
    eprintln!(
        "in flight: seeded {} tasks in {:.1} s",
        population.tasks(),
        seeding.elapsed().as_secs_f64()
    );
    let mut figures = Vec::with_capacity(instance_counts.len());
    for &instances in instance_counts {
        figures.push(measure_instances(&fakes, &population, instances, window).await);
    }
    figures
}

/// Both windows (defaults, progress edits off) with `instances` bots on the seeded tasks.
async fn measure_instances(
    fakes: &Fakes,
    population: &Population,
    instances: usize,
    window: Duration,
) -> Value {
    let poll = POLL_MS.to_string();
    // Default settings: 5 s polls, progress edits every 5 s.
    let (startup, default_window) = {
        let from = fakes.tg.call_count();
        let bots = Instances::spawn(fakes, instances, &[("POLL_INTERVAL_MS", &poll)]).await;
        let first_poll = bots.bots[0].first_get_updates(&fakes.tg, from).await;
        let startup = first_poll - bots.spawned();
        eprintln!(
            "in flight ({instances} instance(s)): start-up {:.0} ms",
            ms(startup)
        );
        let w = measure_window(&bots, fakes, Duration::from_secs(10), window).await;
        w.log(&format!("defaults, {instances} instance(s)"));
        (startup, w)
    };
    // The same tasks with progress edits off: the cost of polling alone.
    let quiet_window = {
        let from = fakes.tg.call_count();
        let bots = Instances::spawn(
            fakes,
            instances,
            &[
                ("POLL_INTERVAL_MS", &poll),
                ("PROGRESS_EDIT_INTERVAL_MS", "3600000"),
            ],
        )
        .await;
        bots.bots[0].first_get_updates(&fakes.tg, from).await;
        let w = measure_window(&bots, fakes, Duration::from_secs(10), window).await;
        w.log(&format!("no progress edits, {instances} instance(s)"));
        w
    };
    let generating =
        (population.web_accounts + population.key_accounts + 1) * population.generating_per_account;
    let mut figures = json!({
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
    });
    if instances > 1 {
        figures["instances"] = json!(instances);
    }
    figures
}
