//! Several instances of the bot on one PostgreSQL database: a task queued through one starts at
//! once on another, a logout on one reaches another's task at once, exactly one polls Telegram,
//! another taking over when it dies, and a worker that claims a new task at once still edits its
//! progress message. On SQLite most of these return at once: one process owns a SQLite file (see
//! `lifecycle.rs`); the progress message test runs there with the one worker kept busy.

use std::time::{Duration, Instant};

use pixverse_bot::{
    domain::{ChatId, GenerationParams, TaskKind, UserId},
    storage::NewTask,
};

use crate::support::{
    app::{DEADLINE, TestBot, private_user},
    fake_telegram::TgChat,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_queued_elsewhere_starts_at_once_on_an_idle_instance() {
    if !crate::POSTGRES {
        return;
    }
    let bot = TestBot::start().await;
    let (chat, user) = private_user(9101);
    bot.tg.send_text(chat, &user, "/t2v a first lantern");
    bot.wait_for_videos(chat, 1).await;
    bot.wait_for_states(&[("delivered", 1)]).await;

    // The instance's worker is idle now: with nothing due it sleeps up to a minute unless woken.
    // Another instance (here a bare storage handle, with no worker of its own) queues a task.
    let other = bot.storage().await;
    let queued = Instant::now();
    other
        .insert_task(&NewTask {
            user_id: UserId(chat.id()),
            chat_id: ChatId(chat.id()),
            request_message_id: 1,
            thread_id: None,
            kind: TaskKind::T2v,
            prompt: "a second lantern".to_owned(),
            params: GenerationParams::default(),
            image_file_id: None,
            credential_id: None,
            seed_auto: false,
            mode_input: None,
            pool_account_id: None,
            source_update: None,
        })
        .await
        .expect("queue a task");
    other.close().await;
    bot.wait_until("PixVerse to get the second task", || bot.px.videos().len() == 2)
        .await;
    assert!(
        queued.elapsed() < Duration::from_secs(5),
        "started {:?} after it was queued",
        queued.elapsed()
    );
    bot.wait_for_videos(chat, 2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_instance_polls_telegram_and_another_takes_over_within_ten_seconds() {
    if !crate::POSTGRES {
        return;
    }
    let mut bot = TestBot::start().await;
    let other = bot.launch_another().await;

    // Both run, one polls: every message is answered once, and Telegram never sees two
    // getUpdates at once (it would end the older with 409).
    let chats: Vec<_> = (0..4).map(|n| private_user(9201 + n)).collect();
    for (chat, user) in &chats {
        bot.tg.send_text(*chat, user, "/help");
        bot.tg.send_text(*chat, user, "/settings");
    }
    for (chat, _) in &chats {
        answered(&bot, *chat, 2).await;
    }
    for (chat, _) in &chats {
        assert_eq!(bot.tg.bot_messages(*chat).len(), 2, "two messages, two answers");
    }
    assert_eq!(bot.tg.poll_conflicts(), 0, "never two getUpdates at once");

    // The polling instance dies; the other one takes over.
    bot.crash();
    let died = Instant::now();
    let (chat, user) = private_user(9301);
    bot.tg.send_text(chat, &user, "/help");
    answered(&bot, chat, 1).await;
    assert!(
        died.elapsed() < Duration::from_secs(10),
        "answered {:?} after the poller died",
        died.elapsed()
    );
    assert_eq!(bot.tg.bot_messages(chat).len(), 1);
    other.stop().await.expect("a clean stop");
}

async fn answered(bot: &TestBot, chat: TgChat, n: usize) {
    bot.tg
        .wait_for("the answers", DEADLINE, |tg| tg.bot_messages(chat).len() >= n)
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_logout_on_another_instance_reaches_a_task_in_flight_at_once() {
    if !crate::POSTGRES {
        return;
    }
    const USER_KEY: &str = "uk-instances-7741";
    let bot = TestBot::start().await;
    bot.px.add_api_key(USER_KEY);
    let (chat, user) = private_user(9401);
    bot.tg.send_text(chat, &user, &format!("/apikey {USER_KEY}"));
    bot.wait_for_text(chat, "API key connected").await;
    bot.px.hold_videos();
    bot.tg.send_text(chat, &user, "/t2v a held lantern");
    bot.wait_until("PixVerse to start the video", || bot.px.videos().len() == 1)
        .await;

    // The worker polls the video with the credential it keeps decrypted in memory. Another
    // instance logs the user out: as on one instance, the task cannot go on without it.
    let other = bot.storage().await;
    assert!(other.delete_credential_of_user(chat.id()).await.expect("log out"));
    other.close().await;
    bot.wait_for_states(&[("failed", 1)]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_instances_generating_videos_are_taken_over_by_a_live_one_within_seconds() {
    if !crate::POSTGRES {
        return;
    }
    const VIDEOS: usize = 4;
    let mut bot = TestBot::start().await;
    bot.px.hold_videos();
    let chats: Vec<_> = (0..VIDEOS as i64).map(|n| private_user(9501 + n)).collect();
    for (chat, user) in &chats {
        bot.tg.send_text(*chat, user, "/t2v a lantern left behind");
    }
    bot.wait_until("every video to start", || bot.px.videos().len() == VIDEOS)
        .await;
    let owners_before = wait_until_parked(&bot, VIDEOS).await;
    assert_eq!(owners_before.len(), 1, "one instance ran: {owners_before:?}");

    // Another instance starts: it leaves the running instance's tasks alone.
    let other = bot.launch_another().await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(
        bot.parked_tasks().await,
        (VIDEOS, owners_before),
        "a live instance's tasks were taken"
    );

    // The first dies and never comes back: the other polls its videos and delivers them.
    bot.crash();
    let died = Instant::now();
    bot.px.finish_videos();
    for (chat, _) in &chats {
        bot.wait_for_videos(*chat, 1).await;
    }
    eprintln!(
        "a dead instance's {VIDEOS} generating videos delivered {:?} after it died",
        died.elapsed()
    );
    assert!(
        died.elapsed() < Duration::from_secs(10),
        "delivered {:?} after the instance died",
        died.elapsed()
    );
    assert_eq!(bot.px.videos().len(), VIDEOS, "none submitted again");
    other.stop().await.expect("a clean stop");
}

/// The "queued" answer is the message the worker edits to the end, even when Telegram answers
/// it slowly and a worker is ready to claim the task at once: on PostgreSQL a second instance
/// (woken by every new task), on SQLite the one worker, which claims every poll interval while
/// another video generates. Such a worker once took the task before its door had stored the
/// answer's id: the user saw "queued" to the end and the video without its progress.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slowly_answered_queued_message_is_still_the_progress_message_to_the_end() {
    let bot = TestBot::start().await;
    let other = if crate::POSTGRES {
        Some(bot.launch_another().await)
    } else {
        None
    };
    bot.px.hold_videos();
    let (busy_chat, busy_user) = private_user(9151);
    bot.tg.send_text(
        busy_chat,
        &busy_user,
        "/t2v a lantern that keeps the workers busy",
    );
    wait_until_parked(&bot, 1).await;

    let (chat, user) = private_user(9152);
    bot.tg.delay_next_answer("sendMessage", Duration::from_secs(2));
    let request = bot.tg.send_text(chat, &user, "/t2v a lantern answered slowly");
    bot.wait_until("the second video to start", || bot.px.videos().len() == 2)
        .await;
    let video = bot
        .px
        .videos()
        .iter()
        .find(|v| v.prompt.contains("answered slowly"))
        .expect("the second video")
        .id;
    bot.px.finish_video(video);
    bot.wait_for_videos(chat, 1).await;
    bot.tg
        .wait_for("the progress message to show the delivery", DEADLINE, |tg| {
            tg.bot_messages(chat).iter().any(|m| {
                m.reply_to == Some(request) && m.text.as_deref().is_some_and(|t| t.starts_with("✅"))
            })
        })
        .await;
    let messages = bot.tg.bot_messages(chat);
    assert_eq!(
        bot.videos_replying_to(chat, request),
        1,
        "one video: {messages:?}"
    );
    let texts: Vec<_> = messages.iter().filter(|m| m.video_file_id.is_none()).collect();
    assert_eq!(
        texts.len(),
        1,
        "the progress message and no outcome of its own: {messages:?}"
    );
    assert!(
        texts[0].edits >= 2,
        "the progress message went through its stages: {messages:?}"
    );

    bot.px.finish_videos();
    bot.wait_for_videos(busy_chat, 1).await;
    if let Some(other) = other {
        other.stop().await.expect("a clean stop");
    }
}

/// Waits until `n` tasks are parked; returns their owners.
async fn wait_until_parked(bot: &TestBot, n: usize) -> Vec<Option<String>> {
    let started = Instant::now();
    loop {
        let (tasks, owners) = bot.parked_tasks().await;
        if tasks == n {
            return owners;
        }
        assert!(started.elapsed() < DEADLINE, "{n} tasks not parked in time");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
