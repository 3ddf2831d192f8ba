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

/// The bot's messages in `chat` that reply to `request` other than videos.
fn text_replies(bot: &TestBot, chat: TgChat, request: i32) -> usize {
    bot.tg
        .bot_messages(chat)
        .iter()
        .filter(|m| m.reply_to == Some(request) && m.video_file_id.is_none())
        .count()
}

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
        assert_eq!(
            text_replies(&bot, chat, request),
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

/// The refusal a request at the in-flight limit gets (`USER_MAX_IN_FLIGHT` = 1 below).
const AT_THE_LIMIT: &str = "videos in progress";

async fn one_in_flight_per_user() -> TestBot {
    TestBot::start_with(|env| {
        env.insert("USER_MAX_IN_FLIGHT".into(), "1".into());
    })
    .await
}

fn replies_containing(bot: &TestBot, chat: TgChat, request: i32, needle: &str) -> usize {
    bot.tg
        .bot_messages(chat)
        .iter()
        .filter(|m| m.reply_to == Some(request) && m.text.as_deref().is_some_and(|t| t.contains(needle)))
        .count()
}

/// A handled-again request whose task is the user's one place in flight is answered as
/// accepted: the earlier handling's task is found before the limits are counted (they count
/// that task too).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_accepted_at_the_limit_and_handled_again_is_not_refused_for_its_own_task() {
    let mut bot = one_in_flight_per_user().await;
    let (chat, user) = private_user(7821);
    bot.tg.stall_calls("sendMessage");
    let request = bot.tg.send_text(chat, &user, "/t2v a lantern at the limit");
    bot.tg
        .wait_for("the handler to hang in its answer", DEADLINE, |tg| {
            !tg.calls_to("sendMessage").is_empty()
                && tg.unconfirmed_updates() == 0
                && tg.calls_to("getUpdates").len() >= 3
        })
        .await;
    bot.crash();
    bot.tg.drop_stalled_calls("sendMessage");

    bot.launch().await;
    bot.wait_for_videos(chat, 1).await;
    tokio::time::sleep(QUIET).await;
    assert_eq!(
        replies_containing(&bot, chat, request, AT_THE_LIMIT),
        0,
        "refused for its own task"
    );
    assert_eq!(
        text_replies(&bot, chat, request),
        1,
        "one answer (the progress message, edited since)"
    );
    assert_eq!(bot.videos_replying_to(chat, request), 1);
    assert_eq!(bot.px.videos().len(), 1, "one generation");
}

/// A request refused at the in-flight limit stays refused when its update is handled again (its
/// run died before marking it handled) after a place came free: the user, told to send it
/// again, would otherwise get that video and the one they sent again, and pay for both.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_refused_at_the_limit_and_handled_again_after_a_place_came_free_stays_refused() {
    let mut bot = one_in_flight_per_user().await;
    let (chat, user) = private_user(7822);
    bot.px.hold_videos();
    let first = bot.tg.send_text(chat, &user, "/t2v the first lantern");
    bot.wait_for_text(chat, "Accepted").await;
    bot.tg
        .wait_for("the first video to be generating", DEADLINE, |_| {
            bot.px.videos().len() == 1
        })
        .await;

    // The second is refused; its handler hangs in the refusal.
    let sent_before = bot.tg.calls_to("sendMessage").len();
    bot.tg.stall_calls("sendMessage");
    let second = bot.tg.send_text(chat, &user, "/t2v the second lantern");
    bot.tg
        .wait_for("the refusal to hang", DEADLINE, |tg| {
            tg.calls_to("sendMessage").len() > sent_before
                && tg.unconfirmed_updates() == 0
                && tg.calls_to("getUpdates").len() >= 3
        })
        .await;
    let hung = bot.tg.calls_to("sendMessage");
    let refusal = hung
        .last()
        .and_then(|c| c.params["text"].as_str())
        .unwrap_or_default();
    assert!(
        refusal.contains(AT_THE_LIMIT),
        "refused for the limit: {refusal:?}"
    );
    // Meanwhile the first video is done: a place is free when the second is handled again.
    bot.px.finish_videos();
    bot.wait_for_videos(chat, 1).await;
    bot.wait_for_states(&[("delivered", 1)]).await;
    bot.crash();
    bot.tg.drop_stalled_calls("sendMessage");

    bot.launch().await;
    bot.tg
        .wait_for("the refusal, said again", DEADLINE, |_| {
            replies_containing(&bot, chat, second, AT_THE_LIMIT) == 1
        })
        .await;
    tokio::time::sleep(QUIET).await;
    assert_eq!(
        bot.videos_replying_to(chat, second),
        0,
        "a video for the refused request"
    );
    let other_answers = bot
        .tg
        .bot_messages(chat)
        .iter()
        .filter(|m| {
            m.reply_to == Some(second) && !m.text.as_deref().is_some_and(|t| t.contains(AT_THE_LIMIT))
        })
        .count();
    assert_eq!(other_answers, 0, "an answer besides the refusal");
    assert_eq!(bot.videos_replying_to(chat, first), 1);
    assert_eq!(bot.px.videos().len(), 1, "one generation (one charge)");
    assert_eq!(bot.task_states().await, vec![("delivered".to_owned(), 1)]);
}
