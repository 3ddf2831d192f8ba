//! /broadcast skips banned users, runs one at a time, leaves room for video deliveries (it never
//! takes the whole send budget) and says plainly that it does not survive a restart.

use std::time::Duration;

use crate::support::{
    app::{TestBot, private_user},
    fake_telegram::TgChat,
};

const ADMIN: i64 = 9300;

fn announcements(bot: &TestBot, chat: TgChat, text: &str) -> usize {
    bot.tg
        .bot_messages(chat)
        .iter()
        .filter(|m| m.text.as_deref() == Some(text))
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broadcast_skips_banned_users_runs_alone_is_paced_and_says_it_does_not_resume() {
    let bot = TestBot::start_with(|env| {
        env.insert("ADMIN_IDS".into(), ADMIN.to_string());
    })
    .await;
    let (admin_chat, admin) = private_user(ADMIN);
    let users: Vec<_> = (5501..=5504).map(private_user).collect();
    for (chat, user) in &users {
        bot.tg.send_text(*chat, user, "/start");
        bot.wait_for_text(*chat, "Hi User").await;
    }
    bot.tg.send_text(admin_chat, &admin, "/ban 5502");
    bot.wait_for_text(admin_chat, "User 5502 is banned").await;

    bot.tg.send_text(admin_chat, &admin, "/broadcast First news");
    bot.tg.send_text(admin_chat, &admin, "/broadcast Second news");
    let started = bot.wait_for_text(admin_chat, "Sending the announcement").await;
    // 5501, 5503, 5504 and the admin; not the banned 5502.
    assert!(started.contains("to 4 users"), "{started}");
    assert!(started.contains("does not survive a restart"), "{started}");
    bot.wait_for_text(admin_chat, "A broadcast is still being sent")
        .await;
    let done = bot.wait_for_text(admin_chat, "Broadcast done").await;
    assert!(done.contains("delivered to 4 users, 0 skipped"), "{done}");

    assert_eq!(
        announcements(&bot, users[1].0, "📢 First news"),
        0,
        "the banned user got it"
    );
    for chat in [users[0].0, users[2].0, users[3].0, admin_chat] {
        assert_eq!(announcements(&bot, chat, "📢 First news"), 1);
        assert_eq!(announcements(&bot, chat, "📢 Second news"), 0);
    }
    // Paced well below Telegram's 30 a second: 4 messages span at least 3 gaps of 1/8 s.
    let times: Vec<_> = bot
        .tg
        .calls_to("sendMessage")
        .into_iter()
        .filter(|c| c.params["text"] == "📢 First news")
        .map(|c| c.at)
        .collect();
    assert_eq!(times.len(), 4);
    let span = times[3].duration_since(times[0]);
    assert!(span >= Duration::from_millis(370), "4 announcements in {span:?}");
}
