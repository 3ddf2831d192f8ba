//! The per-user limits cannot be raced: requests that arrive at the same moment from many chats
//! (teloxide handles different chats concurrently) pass a limit at most as often as it allows.

use std::collections::HashMap;

use crate::support::{
    app::{DEADLINE, TestBot},
    fake_telegram::{TgChat, TgUser},
};

/// Chats the same user sends one request from each, all at once.
const CHATS: i64 = 8;

/// `user` sends `/t2v` in `CHATS` groups at once; returns the groups once every request was
/// answered (queued or refused).
async fn race(bot: &TestBot, user: &TgUser) -> Vec<TgChat> {
    // Stalled at PixVerse: every accepted task stays in flight.
    bot.px.hold_videos();
    let groups: Vec<TgChat> = (1..=CHATS)
        .map(|i| TgChat::Group(-1_001_000_000_000 - i))
        .collect();
    for group in &groups {
        bot.tg
            .send_text(*group, user, "/t2v the same fox, everywhere at once");
    }
    bot.tg
        .wait_for("an answer in every group", DEADLINE, |tg| {
            groups.iter().all(|g| !tg.bot_messages(*g).is_empty())
        })
        .await;
    groups
}

/// How many answers of each kind: "queued", or the first words of a refusal.
fn answers(bot: &TestBot, groups: &[TgChat]) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for group in groups {
        for text in bot.tg.bot_messages(*group).into_iter().filter_map(|m| m.text) {
            let kind = text.split_whitespace().take(3).collect::<Vec<_>>().join(" ");
            *counts.entry(kind).or_default() += 1;
        }
    }
    counts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simultaneous_requests_from_many_chats_pass_the_in_flight_limit_at_most() {
    let bot = TestBot::start_with(|env| {
        env.insert("USER_MAX_IN_FLIGHT".into(), "2".into());
        env.insert("POOL_DAILY_QUOTA".into(), "100".into());
    })
    .await;
    let groups = race(&bot, &TgUser::new(3201)).await;
    assert_eq!(bot.task_count().await, 2, "answers: {:?}", answers(&bot, &groups));
    let refused = answers(&bot, &groups)
        .get("You already have")
        .copied()
        .unwrap_or_default();
    assert_eq!(
        refused,
        (CHATS - 2) as usize,
        "every other request is refused with the limit"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simultaneous_requests_from_many_chats_pass_the_hourly_limit_at_most() {
    let bot = TestBot::start_with(|env| {
        env.insert("USER_MAX_IN_FLIGHT".into(), "20".into());
        env.insert("USER_MAX_PER_HOUR".into(), "3".into());
        env.insert("POOL_DAILY_QUOTA".into(), "100".into());
    })
    .await;
    let groups = race(&bot, &TgUser::new(3202)).await;
    assert_eq!(bot.task_count().await, 3, "answers: {:?}", answers(&bot, &groups));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simultaneous_requests_from_many_chats_pass_the_pool_quota_at_most() {
    let bot = TestBot::start_with(|env| {
        env.insert("USER_MAX_IN_FLIGHT".into(), "20".into());
        env.insert("POOL_DAILY_QUOTA".into(), "2".into());
    })
    .await;
    let groups = race(&bot, &TgUser::new(3203)).await;
    assert_eq!(bot.task_count().await, 2, "answers: {:?}", answers(&bot, &groups));
    let refused = answers(&bot, &groups)
        .get("You have used")
        .copied()
        .unwrap_or_default();
    assert_eq!(
        refused,
        (CHATS - 2) as usize,
        "every other request is refused with the quota"
    );
}
