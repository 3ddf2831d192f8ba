//! Scenario 1b: many users send `/t2v`; how fast the bot acknowledges them.

use std::{
    collections::HashMap,
    time::{Duration, Instant},
};

use serde_json::{Value, json};

use crate::harness::{Fakes, Instances, T2V, ms, percentile};
use crate::support::fake_telegram::{TgChat, TgUser};

/// Scenario 1b: `users` distinct users send `/t2v`, all at once (`rate: None`) or at `rate` per
/// second; a fresh bot and fresh fakes each time. With several `instances` (PostgreSQL) one of
/// them polls Telegram and handles the updates; all of them run the worker.
pub async fn accept(users: usize, rate: Option<f64>, instances: usize) -> Value {
    let fakes = Fakes::start().await;
    // Nothing finishes and every submit is accepted: the worker submits and polls while the
    // handlers accept, as it would in production.
    fakes.px.hold_videos();
    fakes.px.set_concurrency_limit(usize::MAX);
    let bots = Instances::spawn(&fakes, instances, &[]).await;
    bots.bots[0].first_get_updates(&fakes.tg, 0).await;
    tokio::time::sleep(Duration::from_millis(500)).await;

    let cpu_before = bots.cpu_secs();
    let from = fakes.tg.call_count();
    let mut pushed: HashMap<i64, Instant> = HashMap::with_capacity(users);
    let base = 7_000_000 + rate.map_or(0, |_| 100_000);
    let start = Instant::now();
    for i in 0..users as i64 {
        if let Some(rate) = rate {
            let due = start + Duration::from_secs_f64(i as f64 / rate);
            tokio::time::sleep_until(due.into()).await;
        }
        let id = base + i;
        let user = TgUser::new(id);
        let at = Instant::now();
        fakes.tg.send_text(TgChat::Private(id), &user, T2V);
        pushed.insert(id, at);
    }
    let pushed_all = Instant::now();
    // The first sendMessage to each chat is the "queued" reply (the worker only edits it).
    let mut acked: HashMap<i64, Instant> = HashMap::with_capacity(users);
    let mut seen = from;
    let started = Instant::now();
    while acked.len() < users {
        let calls = fakes.tg.call_times_since(seen);
        seen += calls.len();
        for (method, chat, at) in calls {
            if method == "sendmessage"
                && let Some(chat) = chat
                && pushed.contains_key(&chat)
            {
                acked.entry(chat).or_insert(at);
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "only {} of {users} requests acknowledged within 120 s",
            acked.len()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let cpu_per_instance: Vec<f64> = bots
        .cpu_secs()
        .iter()
        .zip(&cpu_before)
        .map(|(now, before)| now - before)
        .collect();
    let cpu: f64 = cpu_per_instance.iter().sum();
    let first_push = pushed.values().min().copied().expect("pushed");
    let last_ack = acked.values().max().copied().expect("acked");
    let wall = last_ack - first_push;
    let mut latencies: Vec<f64> = acked.iter().map(|(chat, at)| ms(*at - pushed[chat])).collect();
    latencies.sort_by(f64::total_cmp);
    let rps = users as f64 / wall.as_secs_f64();
    eprintln!(
        "accept ({}): {users} in {:.0} ms (pushing took {:.0} ms): {rps:.0}/s, p50 {:.1} ms, p99 {:.1} ms, \
         bot CPU {:.2} ms per request",
        rate.map_or("all at once".to_owned(), |r| format!("{r:.0}/s offered")),
        ms(wall),
        ms(pushed_all - first_push),
        percentile(&latencies, 50.0),
        percentile(&latencies, 99.0),
        cpu * 1000.0 / users as f64
    );
    let mut figures = json!({
        "users": users,
        "offered_per_s": rate,
        "wall_ms": ms(wall),
        "requests_per_s": rps,
        "p50_ms": percentile(&latencies, 50.0),
        "p99_ms": percentile(&latencies, 99.0),
        "max_ms": latencies.last(),
        "bot_cpu_s": cpu,
        "bot_cpu_ms_per_request": cpu * 1000.0 / users as f64,
        "peak_rss_mib": bots.peak_rss_mib(),
    });
    if instances > 1 {
        figures["instances"] = json!(instances);
        figures["bot_cpu_s_per_instance"] = json!(cpu_per_instance);
    }
    figures
}
