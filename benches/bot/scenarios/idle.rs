//! Scenario 1a: start-up and idle memory with an empty database.

use std::time::Duration;

use serde_json::{Value, json};

use crate::harness::{BotProcess, Fakes, ms};

/// Scenario 1a: start-up and idle memory with an empty database.
pub async fn idle(results: &mut serde_json::Map<String, Value>) {
    let fakes = Fakes::start().await;
    let bot = BotProcess::spawn(&fakes, &[]);
    let first_poll = bot.first_get_updates(&fakes.tg, 0).await;
    let startup_empty = first_poll - bot.spawned;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let idle_rss = bot.rss_mib();
    eprintln!(
        "idle: start-up {:.0} ms, {idle_rss:.1} MiB resident",
        ms(startup_empty)
    );
    results.insert("startup_empty_ms".into(), json!(ms(startup_empty)));
    results.insert("idle_rss_mib".into(), json!(idle_rss));
}
