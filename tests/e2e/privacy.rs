//! Privacy in groups: what a user did elsewhere, and other users' data, never show in a group.

use crate::support::{
    app::{DEADLINE, TestBot, private_user},
    fake_telegram::{FakeTelegram, TgChat},
};

const ADMIN: i64 = 9200;

/// The texts of the bot's messages in `chat`.
fn texts(bot: &TestBot, chat: TgChat) -> Vec<String> {
    bot.tg
        .bot_messages(chat)
        .into_iter()
        .filter_map(|m| m.text.or(m.caption))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_a_group_history_and_status_show_only_what_was_asked_there_and_balance_names_no_account() {
    let bot = TestBot::start().await;
    let (private, user) = private_user(5201);
    let group = TgChat::Group(-1_009_200_101);
    bot.tg
        .send_text(private, &user, "/t2v my secret birthday surprise");
    bot.wait_for_videos(private, 1).await;
    bot.tg.send_text(group, &user, "/t2v a fox for everyone");
    bot.wait_for_videos(group, 1).await;
    bot.wait_for_states(&[("delivered", 2)]).await;

    bot.tg.send_text(group, &user, "/history");
    let history = bot.wait_for_text(group, "Your last videos").await;
    assert!(history.contains("a fox for everyone"), "{history}");
    assert!(
        !history.contains("birthday"),
        "a private prompt in the group: {history}"
    );
    bot.tg.send_text(group, &user, "/status");
    let status = bot.wait_for_text(group, "Nothing in progress").await;
    assert!(status.contains("a fox for everyone"), "{status}");
    assert!(
        !status.contains("birthday"),
        "a private prompt in the group: {status}"
    );
    // In private the user sees everything.
    bot.tg.send_text(private, &user, "/history");
    let own = bot.wait_for_text(private, "Your last videos").await;
    assert!(
        own.contains("birthday") && own.contains("a fox for everyone"),
        "{own}"
    );

    // A forged re-send button cannot bring the private video into the group.
    let storage = bot.storage().await;
    let private_task: i64 = pixverse_bot::on_pool!(storage.engine(), |pool| sqlx::query_scalar(
        "select id from task where chat_id = $1"
    )
    .bind(private.id())
    .fetch_one(pool)
    .await)
    .unwrap();
    let anchor = bot.tg.bot_messages(group)[0].message_id;
    let id = bot
        .tg
        .press_button(group, &user, anchor, &format!("hist:{private_task}"));
    bot.tg
        .wait_for(
            "the answer to the forged button",
            DEADLINE,
            |tg: &FakeTelegram| {
                tg.calls_to("answerCallbackQuery")
                    .iter()
                    .any(|c| c.params["callback_query_id"].as_str() == Some(id.as_str()))
            },
        )
        .await;
    let videos = bot
        .tg
        .bot_messages(group)
        .iter()
        .filter(|m| m.video_file_id.is_some())
        .count();
    assert_eq!(videos, 1, "only the group's own video is in the group");

    // /balance in a group never shows the account's name (a web login's e-mail).
    bot.px.add_web_account("dana.private@example.com", "pw");
    bot.tg
        .send_text(private, &user, "/login dana.private@example.com pw");
    bot.wait_for_text(private, "Connected to PixVerse").await;
    bot.tg.send_text(group, &user, "/balance");
    let balance = bot.wait_for_text(group, "Credits of").await;
    assert!(!balance.contains("dana"), "{balance}");
    assert!(balance.contains("your account"), "{balance}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_lists_asked_for_in_a_group_are_answered_in_the_admins_private_chat() {
    let bot = TestBot::start_with(|env| {
        env.insert("ADMIN_IDS".into(), ADMIN.to_string());
    })
    .await;
    let (user_chat, user) = private_user(5211);
    bot.tg.send_text(user_chat, &user, "/t2v a very private prompt");
    bot.wait_for_videos(user_chat, 1).await;
    let (admin_chat, admin) = private_user(ADMIN);
    bot.tg.send_text(admin_chat, &admin, "/start");
    bot.tg
        .wait_for("the admin's welcome", DEADLINE, |tg| {
            !tg.bot_messages(admin_chat).is_empty()
        })
        .await;

    let group = TgChat::Group(-1_009_200_102);
    for command in ["/tasks", "/stats", "/pool list"] {
        bot.tg.send_text(group, &admin, command);
    }
    bot.tg
        .wait_for("three notes in the group", DEADLINE, |tg| {
            tg.bot_messages(group).len() >= 3
        })
        .await;
    let in_group = texts(&bot, group);
    assert!(
        in_group.iter().all(|t| t.contains("private chat")),
        "only notes in the group: {in_group:?}"
    );
    let answers = bot.wait_for_text(admin_chat, "a very private prompt").await;
    assert!(answers.contains("user 5211"), "{answers}");
    bot.wait_for_text(admin_chat, "Pool accounts").await;
    bot.tg
        .wait_for("the stats in private", DEADLINE, |tg| {
            tg.bot_messages(admin_chat).len() >= 4
        })
        .await;
}
