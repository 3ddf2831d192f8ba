//! Scenario 3: videos end to end at PixVerse's own pace; PixVerse calls per video and the time
//! from "done at PixVerse" to the video reaching Telegram.
//!
//! The fake makes each video in a time drawn from `GENERATION` (around PixVerse's typical 40 s)
//! and reports it done from that moment on, whoever asks and however often. Requests come in
//! staggered, as users send them, after a warm-up round that lets the bot learn the typical
//! generation time; so the measured videos get the learned first poll. The poll interval is
//! the production default, passed to the bot and reported.

use std::{
    collections::HashMap,
    time::{Duration, Instant},
};

use serde_json::{Value, json};

use crate::harness::{BotProcess, Fakes, ms, percentile};
use crate::seed::{seed_key_users, seed_web_users};
use crate::support::fake_telegram::{TgChat, TgUser};

const POLL_MS: u64 = 5000;
/// How long the fake takes for a video: drawn uniformly from this spread.
const GENERATION: (Duration, Duration) = (Duration::from_secs(35), Duration::from_secs(45));
/// Videos made first, to learn from, and not measured: twice as many as the bot's learned time
/// takes as a plain mean (`storage/tasks/timing.rs`), so the measured videos, all accepted before
/// the first of them is done, meet a settled time, as in a bot that has run a while (after 6,
/// the learned time was up to ±2 s off, and the p95 with it).
const WARMUP_VIDEOS: usize = 40;
const KEY_USERS: usize = 30;
const WEB_USERS: usize = 30;
/// Between two users' requests.
const STAGGER: Duration = Duration::from_millis(500);
/// The targets: submit, at most two polls, download; and done → sent within one interval.
const TARGET_CALLS: f64 = 4.0;

/// Sends `/t2v` for each of `users`, `STAGGER` apart, and waits for every video to reach its
/// chat; when each `sendVideo` arrived.
async fn videos_for(fakes: &Fakes, users: &[i64]) -> HashMap<i64, Instant> {
    let from = fakes.tg.call_count();
    let start = Instant::now();
    for (i, &id) in users.iter().enumerate() {
        tokio::time::sleep_until((start + STAGGER * i as u32).into()).await;
        fakes.tg.send_text(
            TgChat::Private(id),
            &TgUser::new(id),
            &format!("/t2v bench clip {id}"),
        );
    }
    let mut sent: HashMap<i64, Instant> = HashMap::new();
    let mut seen = from;
    let deadline = STAGGER * users.len() as u32 + GENERATION.1 + Duration::from_millis(POLL_MS * 6);
    while sent.len() < users.len() {
        let calls = fakes.tg.call_times_since(seen);
        seen += calls.len();
        for (method, chat, at) in calls {
            if method == "sendvideo"
                && let Some(chat) = chat
            {
                sent.entry(chat).or_insert(at);
            }
        }
        assert!(
            start.elapsed() < deadline,
            "only {} of {} videos delivered within {deadline:?}",
            sent.len(),
            users.len()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    sent
}

pub async fn per_video(results: &mut serde_json::Map<String, Value>) {
    let fakes = Fakes::start().await;
    fakes.px.set_generation_time(GENERATION.0, GENERATION.1);
    fakes.px.set_concurrency_limit(usize::MAX);
    seed_web_users(&fakes, 3_000_000, WEB_USERS + WARMUP_VIDEOS, "clipper").await;
    seed_key_users(&fakes, 2_000_000, KEY_USERS, "clip-key-").await;
    let poll = POLL_MS.to_string();
    let bot = BotProcess::spawn(&fakes, &[("POLL_INTERVAL_MS", &poll)]);
    bot.first_get_updates(&fakes.tg, 0).await;
    let warmup: Vec<i64> = (0..WARMUP_VIDEOS as i64)
        .map(|i| 3_000_000 + WEB_USERS as i64 + i)
        .collect();
    videos_for(&fakes, &warmup).await;
    // Let the warm-up's last deliveries finish their bookkeeping calls.
    tokio::time::sleep(Duration::from_millis(500)).await;

    let px_before = fakes.px.request_count();
    let users: Vec<i64> = (0..KEY_USERS as i64)
        .map(|i| 2_000_000 + i)
        .chain((0..WEB_USERS as i64).map(|i| 3_000_000 + i))
        .collect();
    let sent = videos_for(&fakes, &users).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let paths = fakes.px.request_paths_since(px_before);
    let mut latencies = Vec::new();
    for video in fakes.px.videos() {
        let Some(id) = video
            .prompt
            .strip_prefix("bench clip ")
            .and_then(|s| s.parse::<i64>().ok())
            .filter(|id| sent.contains_key(id))
        else {
            continue;
        };
        let done = fakes.px.finished_at(video.id).expect("the fake reported it done");
        latencies.push(ms(sent[&id].saturating_duration_since(done)));
    }
    latencies.sort_by(f64::total_cmp);
    let count = |f: &dyn Fn(&str) -> bool| paths.iter().filter(|p| f(p)).count();
    let generate = count(&|p| p.ends_with("/generate") || p.ends_with("/video/t2v"));
    let results_calls = count(&|p| p.contains("/video/result/"));
    let listings = count(&|p| p.ends_with("/video/list/personal"));
    let downloads = count(&|p| p.starts_with("/media/"));
    let n = users.len() as f64;
    let per_video = paths.len() as f64 / n;
    let polls_per_video = (results_calls + listings) as f64 / n;
    eprintln!(
        "per video (poll interval {POLL_MS} ms): {per_video:.2} PixVerse calls (target ≤ {TARGET_CALLS}); \
         generate {generate}, result {results_calls}, listing {listings}, download {downloads}; done → sent \
         p50 {:.0} ms, p95 {:.0} ms, max {:.0} ms",
        percentile(&latencies, 50.0),
        percentile(&latencies, 95.0),
        latencies.last().copied().unwrap_or(f64::NAN)
    );
    results.insert(
        "per_video".into(),
        json!({
            "videos": users.len(),
            "api_key_videos": KEY_USERS,
            "web_account_videos": WEB_USERS,
            "warmup_videos": WARMUP_VIDEOS,
            "poll_interval_ms": POLL_MS,
            "generation_ms": [GENERATION.0.as_millis(), GENERATION.1.as_millis()],
            "stagger_ms": STAGGER.as_millis(),
            "generation_polls": polls_per_video,
            "pixverse_calls_per_video": per_video,
            "ideal_calls_per_video": TARGET_CALLS,
            "calls": { "generate": generate, "api_result": results_calls, "web_listing": listings,
                       "download": downloads, "total": paths.len() },
            "delivery_latency_p50_ms": percentile(&latencies, 50.0),
            "delivery_latency_p95_ms": percentile(&latencies, 95.0),
            "delivery_latency_p99_ms": percentile(&latencies, 99.0),
            "delivery_latency_max_ms": latencies.last(),
            "peak_rss_mib": bot.peak_rss_mib(),
        }),
    );
}
