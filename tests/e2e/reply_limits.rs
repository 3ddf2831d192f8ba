//! Replies never exceed Telegram's limits: an echoed bad value is cut short, and a list too long
//! for one message is trimmed, so the answer is never refused for its length.

use crate::support::{
    app::{TestBot, private_user},
    fake_telegram::TgChat,
};

const ADMIN: i64 = 9200;

/// Waits for a reply in `chat` containing `needle`; asserts it fits Telegram's limit and does not
/// repeat the whole of `echoed`.
async fn fitting_reply(bot: &TestBot, chat: TgChat, needle: &str, echoed: &str) {
    let reply = bot.wait_for_text(chat, needle).await;
    assert!(
        reply.chars().count() <= 4096,
        "{} characters",
        reply.chars().count()
    );
    assert!(!reply.contains(echoed), "the whole bad value was echoed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flag_errors_and_admin_replies_with_a_4000_character_value_are_answered_within_the_limit() {
    let bot = TestBot::start_with(|env| {
        env.insert("ADMIN_IDS".into(), ADMIN.to_string());
    })
    .await;
    let (chat, user) = private_user(5401);

    let flag = format!("--{}", "z".repeat(4000));
    bot.tg.send_text(chat, &user, &format!("/t2v a cat {flag}"));
    fitting_reply(&bot, chat, "I don't know the flag", &flag).await;

    let value = "9".repeat(4060);
    bot.tg
        .send_text(chat, &user, &format!("/t2v a cat --duration {value}"));
    fitting_reply(&bot, chat, "is not a valid value", &value).await;

    let (admin_chat, admin) = private_user(ADMIN);
    let name = format!("@{}", "u".repeat(4070));
    bot.tg.send_text(admin_chat, &admin, &format!("/tasks {name}"));
    fitting_reply(&bot, admin_chat, "I don't know the user", &name).await;
    assert_eq!(bot.task_count().await, 0);
}
