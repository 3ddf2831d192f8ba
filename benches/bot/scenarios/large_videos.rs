//! Scenario 5: sixteen 50 MB videos delivered at once; the bot's peak resident memory.
//!
//! Each delivery streams the video from PixVerse into a temporary file and from there to
//! Telegram, so the peak should stay near the idle figure, not at 16 × 50 MB.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::harness::{BotProcess, Fakes, ms};
use crate::support::fake_telegram::{TgChat, TgUser};

pub async fn large_videos(results: &mut serde_json::Map<String, Value>) {
    const DELIVERIES: usize = 16;
    // Just under Telegram's 50 MiB upload limit for bots, so each goes as a file, not a link.
    const VIDEO_BYTES: usize = 50_000_000;
    let fakes = Fakes::start().await;
    fakes.px.set_video_size(VIDEO_BYTES);
    fakes.px.set_concurrency_limit(DELIVERIES);
    fakes.px.hold_videos();
    let slots = DELIVERIES.to_string();
    let bot = BotProcess::spawn(
        &fakes,
        &[
            ("POLL_INTERVAL_MS", "200"),
            ("PIXVERSE_ACCOUNT_CONCURRENCY", &slots),
            ("WORKER_CONCURRENCY", &slots),
        ],
    );
    bot.first_get_updates(&fakes.tg, 0).await;
    let users: Vec<i64> = (0..DELIVERIES as i64).map(|i| 5_000_000 + i).collect();
    for &id in &users {
        let text = format!("/t2v large video {id}");
        fakes.tg.send_text(TgChat::Private(id), &TgUser::new(id), &text);
    }
    let started = Instant::now();
    while fakes.px.videos().len() < DELIVERIES {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the videos never all started"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let before_rss = bot.peak_rss_mib();
    // All done at once: the sixteen deliveries download and upload side by side.
    let done = Instant::now();
    fakes.px.finish_videos();
    let sent = |tg: &crate::support::fake_telegram::FakeTelegram| {
        users
            .iter()
            .filter(|&&id| {
                tg.bot_messages(TgChat::Private(id))
                    .iter()
                    .any(|m| m.video_file_id.is_some())
            })
            .count()
    };
    while sent(&fakes.tg) < DELIVERIES {
        assert!(
            done.elapsed() < Duration::from_secs(300),
            "only {} of {DELIVERIES} large videos delivered within 300 s",
            sent(&fakes.tg)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let all_sent = done.elapsed();
    results.insert(
        "large_videos".into(),
        json!({
            "deliveries": DELIVERIES,
            "video_bytes": VIDEO_BYTES,
            "peak_rss_mib_before": before_rss,
            "peak_rss_mib": bot.peak_rss_mib(),
            "all_delivered_ms": ms(all_sent),
        }),
    );
}
