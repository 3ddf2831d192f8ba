//! No chat can stall another: a user who floods one chat while Telegram rate-limits every send to
//! it does not delay anybody else's answer.

use std::time::{Duration, Instant};

use crate::support::{
    app::{DEADLINE, TestBot, private_user},
    fake_pixverse::FakeFault,
    fake_telegram::TgChat,
};

/// How soon another user's /start must be answered.
const PROMPT: Duration = Duration::from_secs(1);

/// Bot messages in `chat` whose text contains `needle`.
fn answers(bot: &TestBot, chat: TgChat, needle: &str) -> usize {
    bot.tg
        .bot_messages(chat)
        .iter()
        .filter(|m| m.text.as_deref().is_some_and(|t| t.contains(needle)))
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn while_one_chat_floods_a_rate_limited_chat_another_users_start_is_answered_within_a_second() {
    let bot = TestBot::start().await;
    let (flood_chat, flooder) = private_user(5001);
    let (calm_chat, calm) = private_user(5002);
    // Telegram answers 429 "retry after 5" to every send to the flooded chat.
    bot.tg.rate_limit_chat(flood_chat.id(), Some(5));
    for i in 0..150 {
        bot.tg
            .send_text(flood_chat, &flooder, &format!("hello there, line {i}"));
    }
    // The calm user writes right behind the flood.
    let asked = Instant::now();
    bot.tg.send_text(calm_chat, &calm, "/start");
    bot.tg
        .wait_for("the calm user's welcome", PROMPT, |tg| {
            tg.bot_messages(calm_chat)
                .iter()
                .any(|m| m.text.as_deref().is_some_and(|t| t.contains("Hi User5002")))
        })
        .await;
    let waited = asked.elapsed();
    assert!(waited <= PROMPT, "the welcome took {waited:?}");

    // Plain text is rate-limited per user: the flood earned a few tries at an answer, not 150.
    let tries = bot
        .tg
        .calls_to("sendMessage")
        .iter()
        .filter(|c| c.params["chat_id"] == flood_chat.id())
        .count();
    assert!(tries <= 6, "{tries} sends to the flooded chat");

    // Once Telegram lets the chat through again, the answers held back arrive (a few, not 150).
    bot.tg.rate_limit_chat(flood_chat.id(), None);
    bot.tg
        .wait_for("a held-back hint", Duration::from_secs(15), |tg| {
            tg.bot_messages(flood_chat)
                .iter()
                .any(|m| m.text.as_deref().is_some_and(|t| t.contains("/t2v")))
        })
        .await;
    assert!(answers(&bot, flood_chat, "/t2v") <= 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_pixverse_check_does_not_hold_up_the_next_message_of_the_same_chat() {
    const USER_KEY: &str = "uk-slow-check-4821";
    let bot = TestBot::start().await;
    bot.px.add_api_key(USER_KEY);
    let (chat, user) = private_user(5011);
    bot.tg.send_text(chat, &user, &format!("/apikey {USER_KEY}"));
    bot.wait_for_text(chat, "API key connected").await;

    // PixVerse takes 2 s to answer the balance (and then the login) check.
    for (check, waiting_for) in [
        ("/account/balance", "/balance"),
        ("/creative_platform/login", "/login erin@example.com hunter2"),
    ] {
        bot.px.fail_next(check, FakeFault::Stall(Duration::from_secs(2)));
        bot.tg.send_text(chat, &user, waiting_for);
        let helps = answers(&bot, chat, "What I can do");
        let asked = Instant::now();
        bot.tg.send_text(chat, &user, "/help");
        bot.tg
            .wait_for(&format!("/help behind {waiting_for}"), PROMPT, |tg| {
                tg.bot_messages(chat)
                    .iter()
                    .filter(|m| m.text.as_deref().is_some_and(|t| t.contains("What I can do")))
                    .count()
                    > helps
            })
            .await;
        assert!(asked.elapsed() <= PROMPT, "/help waited {:?}", asked.elapsed());
    }
    // The slow answers still come, later.
    bot.tg
        .wait_for("the balance", DEADLINE, |tg| {
            tg.bot_messages(chat)
                .iter()
                .any(|m| m.text.as_deref().is_some_and(|t| t.contains("Credits of")))
        })
        .await;
}
