//! Bad input gets a clear reply and creates no task.

use crate::support::{
    app::{TestBot, private_user},
    fake_telegram::{TgChat, TgUser},
};

/// Sends one message as the user and returns its id.
type SendFn<'a> = Box<dyn Fn() -> i32 + 'a>;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_bad_request_gets_a_clear_reply_and_no_task() {
    let bot = TestBot::start().await;
    let (chat, user) = private_user(2001);
    let cases: Vec<(SendFn<'_>, &str)> = vec![
        (Box::new(|| bot.tg.send_text(chat, &user, "/t2v")), "Add a prompt"),
        (
            Box::new(|| bot.tg.send_text(chat, &user, "/t2v    ")),
            "Add a prompt",
        ),
        (
            Box::new(|| {
                bot.tg
                    .send_text(chat, &user, &format!("/t2v {}", "a".repeat(2049)))
            }),
            "the limit is 2048",
        ),
        (
            Box::new(|| bot.tg.send_photo(chat, &user, None, vec![0xFF, 0xD8, 1, 2])),
            "with a caption",
        ),
        (
            Box::new(|| {
                bot.tg.send_document(
                    chat,
                    &user,
                    Some("animate"),
                    "notes.pdf",
                    "application/pdf",
                    vec![1; 10],
                )
            }),
            "only animate images",
        ),
        (
            Box::new(|| {
                bot.tg
                    .send_big_photo(chat, &user, Some("a big one"), 25 * 1024 * 1024)
            }),
            "larger than 20 MB",
        ),
        (
            Box::new(|| bot.tg.send_text(chat, &user, "/t2v a fox --fast --d 8")),
            "Fast motion works only",
        ),
        (
            Box::new(|| bot.tg.send_text(chat, &user, "/t2v a fox --zoom 3")),
            "don't know the flag --zoom",
        ),
        (
            Box::new(|| bot.tg.send_text(chat, &user, "/t2v a fox --q 4k")),
            "not a valid value for --q",
        ),
        (Box::new(|| bot.tg.send_text(chat, &user, "/frobnicate")), "/help"),
        (
            Box::new(|| bot.tg.send_text(chat, &user, "/i2v make it move")),
            "Send a photo with the caption /i2v",
        ),
        (
            Box::new(|| bot.tg.send_text(chat, &user, "/login onlyname")),
            "Usage: /login",
        ),
    ];
    for (send, expected) in &cases {
        let request = send();
        bot.tg
            .wait_for(
                &format!("a reply containing {expected:?}"),
                crate::support::app::DEADLINE,
                |tg| {
                    tg.bot_messages(chat).iter().any(|m| {
                        m.text.as_deref().is_some_and(|t| t.contains(expected))
                            && (m.reply_to == Some(request) || m.reply_to.is_none())
                    })
                },
            )
            .await;
    }
    assert_eq!(bot.task_count().await, 0, "no bad request created a task");
    assert!(bot.px.videos().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn russian_users_get_russian_replies() {
    let bot = TestBot::start().await;
    let chat = TgChat::Private(2002);
    let user = TgUser::new(2002).lang("ru");
    bot.tg.send_text(chat, &user, "/t2v");
    bot.wait_for_text(chat, "Добавьте промпт").await;
    bot.tg.send_text(chat, &user, "/t2v кот --d 99");
    bot.wait_for_text(chat, "недопустимое значение").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_commands_in_groups_are_ignored_unless_addressed_to_the_bot() {
    let bot = TestBot::start().await;
    let group = TgChat::Group(-100_999);
    let user = TgUser::new(2003);
    let unaddressed = bot.tg.send_text(group, &user, "/frobnicate");
    let addressed = bot.tg.send_text(group, &user, "/frobnicate@pixverse_test_bot");
    bot.wait_for_text(group, "/help").await;
    // Both updates come from one chat, handled in order: by the time the addressed one is
    // answered, the bare one has been looked at too.
    let replies: Vec<_> = bot.tg.bot_messages(group).iter().map(|m| m.reply_to).collect();
    assert_eq!(
        replies,
        [Some(addressed)],
        "one answer, to the addressed command (not to {unaddressed})"
    );
}
