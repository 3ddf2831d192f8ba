//! No Telegram update is lost to a crash, and none queues a second task: every update is stored
//! in the inbox before Telegram may forget it and marked handled only when its handler returned,
//! so a run that dies with requests queued or half handled leaves them to the next, which finds
//! the tasks they already queued (long polling here; webhook mode in `api.rs` and
//! `webhook_instances.rs`).

use std::time::Duration;

use crate::support::{
    app::{DEADLINE, TestBot, private_user},
    fake_telegram::TgChat,
};

/// Time for a second answer or video to show up after the first.
const QUIET: Duration = Duration::from_millis(1500);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_queued_or_half_handled_when_the_bot_dies_are_answered_once_after_the_restart() {
    let mut bot = TestBot::start().await;
    // Each handler queues its task, then hangs in its "queued" answer.
    bot.tg.stall_calls("sendMessage");
    let mut requests: Vec<(TgChat, i32)> = (0..4)
        .map(|n| {
            let (chat, user) = private_user(7801 + n);
            let message_id = bot
                .tg
                .send_text(chat, &user, &format!("/t2v a crashing lantern {n}"));
            (chat, message_id)
        })
        .collect();
    bot.tg
        .wait_for("every handler to hang in its answer", DEADLINE, |tg| {
            tg.calls_to("sendMessage").len() >= requests.len()
        })
        .await;
    // One more in the first chat: it waits behind that chat's hung handler, not yet handled.
    let (chat, user) = private_user(7801);
    let message_id = bot.tg.send_text(chat, &user, "/t2v a patient lantern");
    requests.push((chat, message_id));
    // Telegram forgets updates once the next poll confirms them: it will not send these again.
    bot.tg
        .wait_for("every update confirmed", DEADLINE, |tg| {
            tg.unconfirmed_updates() == 0 && tg.calls_to("getUpdates").len() >= 3
        })
        .await;
    bot.crash();
    bot.tg.drop_stalled_calls("sendMessage");

    bot.launch().await;
    let has_video = |tg: &crate::support::fake_telegram::FakeTelegram, (chat, request): (TgChat, i32)| {
        tg.bot_messages(chat)
            .iter()
            .any(|m| m.reply_to == Some(request) && m.video_file_id.is_some())
    };
    bot.tg
        .wait_for("a video for every request", DEADLINE, |tg| {
            requests.iter().all(|&request| has_video(tg, request))
        })
        .await;
    tokio::time::sleep(QUIET).await;

    for &(chat, request) in &requests {
        let progress_messages = bot
            .tg
            .bot_messages(chat)
            .iter()
            .filter(|m| m.reply_to == Some(request) && m.video_file_id.is_none())
            .count();
        assert_eq!(
            progress_messages,
            1,
            "one \"queued\" message for request {request} in chat {}",
            chat.id()
        );
        assert_eq!(
            bot.videos_replying_to(chat, request),
            1,
            "one video for request {request} in chat {}",
            chat.id()
        );
    }
    assert_eq!(
        bot.px.videos().len(),
        requests.len(),
        "one generation (one charge) per request"
    );
    assert_eq!(
        bot.task_states().await,
        vec![("delivered".to_owned(), requests.len() as i64)],
        "one task per request"
    );
}
