//! Scenario 3: videos end to end; PixVerse calls per video and delivery latency.

use std::{
    collections::HashMap,
    time::{Duration, Instant},
};

use serde_json::{Value, json};

use crate::harness::{BotProcess, Fakes, ms, percentile};
use crate::seed::seed_web_users;
use crate::support::fake_telegram::{TgChat, TgUser};

/// Scenario 3: videos end to end; calls per video and delivery latency.
pub async fn per_video(results: &mut serde_json::Map<String, Value>) {
    const OPERATOR_USERS: usize = 40;
    const WEB_USERS: usize = 40;
    const POLL_MS: u64 = 1000;
    // The fake finishes a video this long after it started (about four polls).
    const GENERATION_MS: u64 = 4 * POLL_MS + POLL_MS / 2;
    let fakes = Fakes::start().await;
    let generation = Duration::from_millis(GENERATION_MS);
    fakes.px.set_generation_time(generation, generation);
    fakes.px.set_concurrency_limit(usize::MAX);
    seed_web_users(&fakes, 3_000_000, WEB_USERS, "clipper").await;
    let poll = POLL_MS.to_string();
    let bot = BotProcess::spawn(&fakes, &[("POLL_INTERVAL_MS", &poll)]);
    bot.first_get_updates(&fakes.tg, 0).await;
    let px_before = fakes.px.request_count();
    let tg_before = fakes.tg.call_count();
    let users: Vec<i64> = (0..OPERATOR_USERS as i64)
        .map(|i| 2_000_000 + i)
        .chain((0..WEB_USERS as i64).map(|i| 3_000_000 + i))
        .collect();
    for &id in &users {
        fakes.tg.send_text(
            TgChat::Private(id),
            &TgUser::new(id),
            &format!("/t2v bench clip {id}"),
        );
    }
    let mut sent_video: HashMap<i64, Instant> = HashMap::new();
    let mut seen = tg_before;
    let started = Instant::now();
    while sent_video.len() < users.len() {
        let calls = fakes.tg.call_times_since(seen);
        seen += calls.len();
        for (method, chat, at) in calls {
            if method == "sendvideo"
                && let Some(chat) = chat
            {
                sent_video.entry(chat).or_insert(at);
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "only {} of {} videos delivered within 60 s",
            sent_video.len(),
            users.len()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Let the last deliveries finish their bookkeeping calls before counting.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let paths = fakes.px.request_paths_since(px_before);
    let videos = fakes.px.videos();
    let mut latencies = Vec::new();
    for video in &videos {
        let Some(id) = video
            .prompt
            .strip_prefix("bench clip ")
            .and_then(|s| s.parse::<i64>().ok())
        else {
            continue;
        };
        let done = fakes.px.finished_at(video.id).expect("the fake reported it done");
        latencies.push(ms(sent_video[&id].saturating_duration_since(done)));
    }
    latencies.sort_by(f64::total_cmp);
    let count = |f: &dyn Fn(&str) -> bool| paths.iter().filter(|p| f(p)).count();
    let generate = count(&|p| p.ends_with("/generate") || p.ends_with("/video/t2v"));
    let results_calls = count(&|p| p.contains("/video/result/"));
    let listings = count(&|p| p.ends_with("/video/list/personal"));
    let downloads = count(&|p| p.starts_with("/media/"));
    let n = users.len() as f64;
    // The fake's generation spans this many poll intervals: a poller at a fixed pace looks
    // that many times, submits once and downloads once.
    let generation_polls = GENERATION_MS.div_ceil(POLL_MS);
    let ideal = generation_polls as f64 + 2.0;
    let per_video = paths.len() as f64 / n;
    eprintln!(
        "per video: {per_video:.2} PixVerse calls (ideal {ideal}); generate {generate}, result {results_calls}, \
         listing {listings}, download {downloads}; delivery p50 {:.1} ms, max {:.1} ms",
        percentile(&latencies, 50.0),
        latencies.last().copied().unwrap_or(f64::NAN)
    );
    results.insert(
        "per_video".into(),
        json!({
            "videos": users.len(),
            "operator_key_videos": OPERATOR_USERS,
            "web_account_videos": WEB_USERS,
            "poll_interval_ms": POLL_MS,
            "generation_polls": generation_polls,
            "pixverse_calls_per_video": per_video,
            "ideal_calls_per_video": ideal,
            "calls": { "generate": generate, "api_result": results_calls, "web_listing": listings,
                       "download": downloads, "total": paths.len() },
            "delivery_latency_p50_ms": percentile(&latencies, 50.0),
            "delivery_latency_p99_ms": percentile(&latencies, 99.0),
            "delivery_latency_max_ms": latencies.last(),
        }),
    );
}
