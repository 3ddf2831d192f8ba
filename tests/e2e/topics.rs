//! Forum topics: every message about a request made in a topic goes to that topic, even after
//! the request message was deleted; and inside a topic, the topic's first message (which Telegram
//! hands over as `reply_to_message` of every message there) is not a reply target for /ban.

use crate::support::{
    app::{TestBot, private_user},
    fake_telegram::{BOT_USERNAME, TgChat, TgUser},
};

const ADMIN: i64 = 9400;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_made_in_a_forum_topic_is_answered_in_that_topic_even_after_it_was_deleted() {
    let bot = TestBot::start_with(|env| {
        env.insert("ADMIN_IDS".into(), ADMIN.to_string());
    })
    .await;
    let forum = TgChat::Group(-100_5600);
    let creator = TgUser::new(5601);
    let user = TgUser::new(5602);
    let topic = bot.tg.open_topic(forum, &creator, "Videos");

    let request = bot
        .tg
        .send_text_in_topic(forum, &user, "/t2v a lighthouse in a storm", topic);
    bot.wait_for_text(forum, "queued").await;
    // The user deletes the request: later answers cannot reply to it any more.
    bot.tg.delete_user_message(forum, request);
    bot.wait_for_videos(forum, 1).await;
    bot.wait_for_text(forum, "Delivered").await;

    bot.tg
        .send_text_in_topic(forum, &user, &format!("/status@{BOT_USERNAME}"), topic);
    bot.wait_for_text(forum, "lighthouse").await;
    bot.tg
        .send_text_in_topic(forum, &user, &format!("/language@{BOT_USERNAME}"), topic);
    bot.wait_for_text(forum, "Choose your language").await;

    let outside: Vec<String> = bot
        .tg
        .bot_messages(forum)
        .into_iter()
        .filter(|m| m.thread_id != Some(i64::from(topic)))
        .map(|m| format!("{:?}", m.text.or(m.caption)))
        .collect();
    assert!(outside.is_empty(), "outside the topic: {outside:?}");

    // An admin's /ban in the topic, replying to nothing, targets nobody (not the topic's creator).
    let (_, admin) = private_user(ADMIN);
    bot.tg.send_text_in_topic(forum, &admin, "/ban", topic);
    bot.wait_for_text(forum, "Usage: /allow, /deny, /ban").await;
    let storage = bot.storage().await;
    let banned: Vec<i64> = pixverse_bot::on_pool!(storage.engine(), |pool| sqlx::query_scalar(
        "select user_id from user_access where banned = true"
    )
    .fetch_all(pool)
    .await)
    .unwrap();
    assert!(banned.is_empty(), "banned: {banned:?}");
}
