//! One way to learn a user's language: the one chosen with /language wins over Telegram's
//! everywhere, not only in the replies that happened to read it (refusals, /balance, admin
//! replies and the notices a user gets unprompted).

use crate::support::{
    app::{TestBot, private_user},
    fake_telegram::{TgChat, TgUser},
};

const ADMIN: i64 = 9100;

/// `user` opens /language and picks Russian; waits until the choice is stored.
async fn choose_russian(bot: &TestBot, chat: TgChat, user: &TgUser) {
    bot.tg.send_text(chat, user, "/language");
    let menu = bot.wait_for_text(chat, "language").await;
    let menu_id = bot
        .tg
        .bot_messages(chat)
        .into_iter()
        .rev()
        .find(|m| m.text.as_deref() == Some(menu.as_str()))
        .expect("the language menu")
        .message_id;
    bot.tg.press_button(chat, user, menu_id, "lang:ru");
    bot.wait_for_text(chat, "по-русски").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_language_chosen_with_the_language_command_is_used_for_admin_replies_quota_cancel_and_refusals() {
    let bot = TestBot::start_with(|env| {
        env.insert("ADMIN_IDS".into(), ADMIN.to_string());
    })
    .await;
    // Everyone's Telegram speaks English; each of them chooses Russian in the bot.
    let (admin_chat, admin) = private_user(ADMIN);
    let (alice_chat, alice) = private_user(3101);
    let (bob_chat, bob) = private_user(3102);
    for (chat, user) in [(admin_chat, &admin), (alice_chat, &alice), (bob_chat, &bob)] {
        choose_russian(&bot, chat, user).await;
    }

    // An admin command answers in the admin's chosen language.
    bot.tg.send_text(admin_chat, &admin, "/access open");
    bot.wait_for_text(admin_chat, "Доступ:").await;

    // /balance on the shared pool tells the quota in the user's chosen language.
    bot.tg.send_text(alice_chat, &alice, "/balance");
    bot.wait_for_text(alice_chat, "Вы генерируете на общих аккаунтах")
        .await;

    // The owner of a cancelled task hears it in their chosen language.
    bot.px.hold_videos();
    bot.tg
        .send_text(alice_chat, &alice, "/t2v a fox that never arrives");
    bot.wait_until("the task to be generating", || bot.px.videos().len() == 1)
        .await;
    bot.tg.send_text(admin_chat, &admin, "/cancel 1");
    bot.wait_for_text(admin_chat, "Задача #1 отменена").await;
    bot.wait_for_text(alice_chat, "Администратор остановил ваше видео #1")
        .await;

    // A banned user's one refusal comes in their chosen language.
    bot.tg.send_text(admin_chat, &admin, "/ban 3102");
    bot.wait_for_text(admin_chat, "Пользователь 3102 заблокирован")
        .await;
    bot.tg.send_text(bob_chat, &bob, "/help");
    bot.wait_for_text(bob_chat, "Извините, вы больше не можете").await;

    // Nothing of it came in English.
    for chat in [admin_chat, alice_chat, bob_chat] {
        let english: Vec<String> = bot
            .tg
            .bot_messages(chat)
            .into_iter()
            .filter_map(|m| m.text)
            .filter(|t| {
                [
                    "Access:",
                    "shared accounts",
                    "An admin stopped",
                    "Sorry, you can",
                    "is banned",
                ]
                .iter()
                .any(|phrase| t.contains(phrase))
            })
            .collect();
        assert!(english.is_empty(), "English in {chat:?}: {english:?}");
    }
}
