//! Webhook mode with several instances on one PostgreSQL database: any instance takes updates;
//! each is stored in the inbox keyed by `update_id` before the 200, so an update delivered to
//! both instances, and retried, is handled once; and an update one instance stored but did not
//! finish handling is handled by another once its claim lapses. On SQLite these return
//! at once: one process owns a SQLite file (see `api.rs` for webhook mode on one instance).

use std::{
    collections::HashMap,
    time::{Duration, Instant},
};

use pixverse_bot::storage::UpdateClaim;
use reqwest::{Client, StatusCode};
use serde_json::Value;

use crate::support::{
    app::{DEADLINE, TestBot, private_user},
    fake_telegram::TgChat,
};

const SECRET: &str = "hook_secret-9";
/// The claim on a stored update lasts a task's lease: short here, so a take-over is quick.
const LEASE: Duration = Duration::from_millis(1500);
/// A second handling would follow the first within milliseconds (both instances hold the update
/// at once); this long without one counts as none.
const QUIET: Duration = Duration::from_millis(700);

fn webhook_env(env: &mut HashMap<String, String>) {
    env.insert(
        "TELEGRAM_WEBHOOK_URL".into(),
        "https://bot.example.com/tg/hook".into(),
    );
    env.insert("TELEGRAM_WEBHOOK_SECRET".into(), SECRET.into());
    env.insert("TASK_LEASE_MS".into(), LEASE.as_millis().to_string());
}

/// Posts `update` to the webhook at `base`, as Telegram does; the status.
async fn post(client: &Client, base: &str, update: &Value) -> StatusCode {
    client
        .post(format!("{base}/tg/hook"))
        .header("X-Telegram-Bot-Api-Secret-Token", SECRET)
        .json(update)
        .send()
        .await
        .expect("POST to the webhook")
        .status()
}

/// Waits until each of `chats` has a bot message, then for [`QUIET`]; how many each has.
async fn answers_after_quiet(bot: &TestBot, chats: &[TgChat]) -> Vec<usize> {
    bot.tg
        .wait_for("an answer in every chat", DEADLINE, |tg| {
            chats.iter().all(|&chat| !tg.bot_messages(chat).is_empty())
        })
        .await;
    tokio::time::sleep(QUIET).await;
    chats
        .iter()
        .map(|&chat| bot.tg.bot_messages(chat).len())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_webhook_instances_handle_an_update_once_though_both_get_it_and_it_is_retried() {
    if !crate::POSTGRES {
        return;
    }
    let bot = TestBot::start_with(webhook_env).await;
    let other = bot.launch_another().await;
    let bases = [bot.http_url(), other.http_url()];
    let client = Client::new();

    const CHATS: i64 = 8;
    let chats: Vec<TgChat> = (0..CHATS)
        .map(|n| {
            let (chat, user) = private_user(7601 + n);
            bot.tg.send_text(chat, &user, "/help");
            chat
        })
        .collect();
    let updates = bot.tg.drain_updates();
    assert_eq!(updates.len(), CHATS as usize);
    // Each update reaches both instances at once, then both again (Telegram's retry).
    for update in &updates {
        for _ in 0..2 {
            let (a, b) = tokio::join!(post(&client, &bases[0], update), post(&client, &bases[1], update));
            assert_eq!((a, b), (StatusCode::OK, StatusCode::OK));
        }
    }
    assert_eq!(
        answers_after_quiet(&bot, &chats).await,
        vec![1; CHATS as usize],
        "each /help answered once"
    );
    other.stop().await.expect("a clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_update_stored_by_an_instance_that_died_is_handled_by_another_once_its_claim_lapses() {
    if !crate::POSTGRES {
        return;
    }
    let mut bot = TestBot::start_with(webhook_env).await;
    let other = bot.launch_another().await;
    // The other instance must have joined before the first dies: a start that finds itself alone
    // releases every claim as a crash's leftover, and would take the update over at once.
    let storage = bot.storage().await;
    let started = Instant::now();
    while storage.live_instances().await.unwrap() < 2 {
        assert!(started.elapsed() < DEADLINE, "the other instance never joined");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The first instance stored an update (Telegram got its 200 and will not send it again) and
    // died before its handler finished: stored under a claim of its own, as it does.
    bot.crash();
    let (chat, user) = private_user(7701);
    bot.tg.send_text(chat, &user, "/help");
    let update = bot.tg.drain_updates().remove(0);
    let died = UpdateClaim::new(LEASE);
    let stored = Instant::now();
    assert!(
        storage
            .store_update(update["update_id"].as_i64().unwrap(), &update.to_string(), &died)
            .await
            .unwrap()
    );
    storage.close().await;

    assert_eq!(
        answers_after_quiet(&bot, &[chat]).await,
        vec![1],
        "the other instance answered it once"
    );
    let answered_at = bot
        .tg
        .calls_to("sendmessage")
        .iter()
        .find(|call| call.params["chat_id"] == chat.id())
        .expect("the answer")
        .at;
    assert!(
        answered_at >= stored + LEASE,
        "taken over after {:?}, before the claim lapsed ({LEASE:?})",
        answered_at - stored
    );
    other.stop().await.expect("a clean stop");
}
