//! Faults injected on both sides: outages, rate limits, refused credentials, abuse. Every task
//! still ends (delivered exactly once, or failed with a message) and the bot never crashes.

use std::{collections::HashMap, time::Duration};

use pixverse_bot::storage::CredentialKind;
use secrecy::SecretString;

use crate::support::{
    app::{DEADLINE, OPERATOR_KEY, TestBot, private_user},
    fake_pixverse::FakeFault,
    fake_telegram::{TgChat, TgFault, TgUser},
};

fn videos_per_request(bot: &TestBot, chat: TgChat) -> HashMap<i32, usize> {
    let mut per_request = HashMap::new();
    for m in bot.tg.bot_messages(chat) {
        if let (Some(_), Some(request)) = (&m.video_file_id, m.reply_to) {
            *per_request.entry(request).or_default() += 1;
        }
    }
    per_request
}

/// `sendVideo` calls to `chat` that Telegram handled but whose answer was lost, per request.
fn dropped_video_answers(bot: &TestBot, chat: TgChat) -> HashMap<i32, usize> {
    let mut per_request = HashMap::new();
    for call in bot.tg.calls_to("sendVideo") {
        if call.fault == Some(TgFault::AnswerDropped) && call.params["chat_id"] == chat.id() {
            let request = call.params["reply_parameters"]["message_id"]
                .as_i64()
                .unwrap_or(0) as i32;
            *per_request.entry(request).or_default() += 1;
        }
    }
    per_request
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_third_of_all_calls_failing_100_tasks_are_each_generated_once_and_delivered() {
    let bot = TestBot::start_with(|env| {
        env.insert("USER_MAX_IN_FLIGHT".into(), "10".into());
        env.insert("POOL_DAILY_QUOTA".into(), "100".into());
        env.insert("POLL_INTERVAL_MS".into(), "30".into());
    })
    .await;
    bot.px.set_fault_rate(30);
    bot.tg.set_fault_rate(30);
    // Sent, but the answer lost: the bot cannot tell it from a failure, so it sends again
    // (the documented cost); every other video arrives once.
    bot.tg.set_answer_drop_rate(3);
    // And PixVerse starts (and charges) a generation whose answer is lost: the bot must retry
    // with the same trace id, so PixVerse answers with the same video instead of a second one.
    bot.px.set_answer_drop_rate(5);
    let started = std::time::Instant::now();

    let users: Vec<_> = (0..10).map(|i| private_user(3000 + i)).collect();
    let mut requests = Vec::new();
    for n in 0..10 {
        for (chat, user) in &users {
            requests.push((
                *chat,
                bot.tg
                    .send_text(*chat, user, &format!("/t2v scene {n} for {}", user.id)),
            ));
        }
    }
    bot.wait_for_states_within(&[("delivered", 100)], Duration::from_secs(90))
        .await;
    let elapsed = started.elapsed();

    let mut duplicates = 0;
    for (chat, _) in &users {
        let per_request = videos_per_request(&bot, *chat);
        let dropped = dropped_video_answers(&bot, *chat);
        assert_eq!(per_request.len(), 10, "every request of {chat:?} got its video");
        for (request, videos) in &per_request {
            let lost_answers = dropped.get(request).copied().unwrap_or(0);
            assert_eq!(
                *videos,
                1 + lost_answers,
                "request {request} in {chat:?}: one video, plus one per lost answer"
            );
            duplicates += lost_answers;
        }
    }
    // PixVerse's side: one charged generation per request.
    let videos = bot.px.videos();
    assert_eq!(videos.len(), 100, "one generation per request");
    let prompts: std::collections::HashSet<_> = videos.iter().map(|v| v.prompt.clone()).collect();
    assert_eq!(prompts.len(), 100, "no request generated twice");

    let tg_faults = bot.tg.calls().iter().filter(|c| c.fault.is_some()).count();
    let px_calls = bot.px.requests().len();
    println!(
        "fault soak: 100 tasks, 10 users, {tg_faults} Telegram faults injected, {px_calls} PixVerse calls \
         (30% faulted), 100 delivered, {duplicates} sent again after a lost answer, {:.1} s",
        elapsed.as_secs_f64()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_status_that_never_changes_fails_at_the_deadline_with_a_message() {
    let bot = TestBot::start_with(|env| {
        env.insert("TASK_DEADLINE_MS".into(), "1500".into());
    })
    .await;
    bot.px.hold_videos();
    let (chat, user) = private_user(3101);
    bot.tg.send_text(chat, &user, "/t2v an endless render");
    bot.wait_for_text(chat, "took far too long").await;
    assert_eq!(bot.task_states().await, [("failed".to_owned(), 1)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_who_blocked_the_bot_ends_delivery_without_retries() {
    let bot = TestBot::start().await;
    let (chat, user) = private_user(3102);
    bot.tg.fail_next("sendVideo", TgFault::Blocked);
    bot.tg.send_text(chat, &user, "/t2v a quiet lake");
    bot.wait_for_states(&[("failed", 1)]).await;
    assert_eq!(
        bot.tg.calls_to("sendvideo").len(),
        1,
        "no retry storm against a blocked chat"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_migrated_to_a_supergroup_gets_its_video_at_the_new_id() {
    let bot = TestBot::start().await;
    let old_group = TgChat::Group(-4_001);
    let new_group = TgChat::Group(-1_004_001);
    let user = TgUser::new(3103);
    bot.tg.fail_next("sendVideo", TgFault::Migrated(new_group.id()));
    bot.tg
        .send_text(old_group, &user, "/t2v@pixverse_test_bot a parade");
    bot.wait_for_videos(new_group, 1).await;
    bot.wait_for_states(&[("delivered", 1)]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn telegram_rate_limits_on_sends_and_edits_are_waited_out() {
    let bot = TestBot::start().await;
    let (chat, user) = private_user(3104);
    bot.px.hold_videos();
    bot.tg.fail_next("sendMessage", TgFault::RetryAfter(1));
    bot.tg.send_text(chat, &user, "/t2v a hummingbird");
    bot.wait_until("PixVerse to start the video", || bot.px.videos().len() == 1)
        .await;
    let acks = bot.tg.calls_to("sendmessage");
    assert_eq!(acks.len(), 2, "the acknowledgement was sent again after the 429");
    assert!(acks[1].at.duration_since(acks[0].at) >= Duration::from_secs(1));

    // A 429 on an edit of the progress message: the chat waits it out (the fake answers 429 to
    // anything sooner), then the edits go on.
    bot.tg.fail_next("editMessageText", TgFault::RetryAfter(1));
    bot.tg
        .wait_for("an edit after the 429 has passed", DEADLINE, |tg| {
            let edits = tg.calls_to("editMessageText");
            let Some(limited) = edits.iter().position(|c| c.fault.is_some()) else {
                return false;
            };
            edits[limited + 1..].iter().any(|c| {
                c.error.is_none() && c.at.duration_since(edits[limited].at) >= Duration::from_secs(1)
            })
        })
        .await;

    // And a 429 on the video itself, then on the final edit.
    bot.tg.fail_next("sendVideo", TgFault::RetryAfter(1));
    bot.tg.fail_next("editMessageText", TgFault::RetryAfter(1));
    bot.px.finish_videos();
    bot.wait_for_videos(chat, 1).await;
    let videos = bot.tg.calls_to("sendvideo");
    assert_eq!(videos.len(), 2);
    assert!(videos[1].at.duration_since(videos[0].at) >= Duration::from_secs(1));
    assert_eq!(videos_per_request(&bot, chat).values().sum::<usize>(), 1);
    let progress = acks[1].params["reply_parameters"]["message_id"]
        .as_i64()
        .unwrap_or(0);
    let progress = bot
        .tg
        .bot_messages(chat)
        .into_iter()
        .find(|m| m.reply_to == Some(progress as i32) && m.video_file_id.is_none())
        .expect("the progress message");
    bot.tg
        .wait_for("the final edit, after its 429", DEADLINE, |tg| {
            tg.bot_messages(chat).iter().any(|m| {
                m.message_id == progress.message_id
                    && m.text.as_deref().is_some_and(|t| t.contains("Delivered in"))
            })
        })
        .await;
    let impatient: Vec<_> = bot
        .tg
        .calls_ignoring_retry_after()
        .into_iter()
        .map(|c| c.method)
        .collect();
    assert!(
        impatient.is_empty(),
        "calls to the chat before a 429's retry_after had passed: {impatient:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_used_elsewhere_holds_the_task_until_the_user_logs_in_again() {
    let bot = TestBot::start_with(|env| {
        env.remove("PIXVERSE_API_KEY");
    })
    .await;
    bot.px.add_web_account("dana", "pw-dana");
    let (chat, user) = private_user(3105);
    bot.tg.send_text(chat, &user, "/login dana pw-dana");
    bot.wait_for_text(chat, "Connected to PixVerse").await;
    bot.px.hold_videos();
    bot.tg.send_text(chat, &user, "/t2v a paper plane");
    bot.wait_until("PixVerse to start the video", || bot.px.videos().len() == 1)
        .await;

    bot.px.sign_in_elsewhere("dana");
    bot.wait_for_text(chat, "Please /login again").await;
    bot.wait_for_text(chat, "Waiting for you to /login again").await;
    assert_eq!(
        bot.task_states().await,
        [("generating".to_owned(), 1)],
        "held, not failed"
    );

    bot.px.finish_videos();
    bot.tg.send_text(chat, &user, "/login dana pw-dana");
    bot.wait_for_videos(chat, 1).await;
    assert_eq!(bot.px.videos().len(), 1, "the held video was not generated again");
    assert_eq!(
        bot.tg
            .calls_to("sendmessage")
            .iter()
            .filter(|c| c.params["text"]
                .as_str()
                .unwrap_or("")
                .contains("Please /login again"))
            .count(),
        1,
        "told once"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_held_task_fails_with_a_message_once_the_hold_window_passes() {
    let bot = TestBot::start_with(|env| {
        env.remove("PIXVERSE_API_KEY");
        env.insert("CREDENTIAL_HOLD_MS".into(), "300".into());
    })
    .await;
    bot.px.add_web_account("fay", "pw-fay");
    let (chat, user) = private_user(3109);
    bot.tg.send_text(chat, &user, "/login fay pw-fay");
    bot.wait_for_text(chat, "Connected to PixVerse").await;
    bot.px.hold_videos();
    let request = bot.tg.send_text(chat, &user, "/t2v a kite");
    bot.wait_until("PixVerse to start the video", || bot.px.videos().len() == 1)
        .await;

    bot.px.sign_in_elsewhere("fay");
    bot.wait_for_states(&[("failed", 1)]).await;
    // The user is told on the progress message: no longer waiting, log in again.
    bot.tg
        .wait_for("the progress message to say the video failed", DEADLINE, |tg| {
            tg.bot_messages(chat).iter().any(|m| {
                m.reply_to == Some(request)
                    && m.text.as_deref().is_some_and(|t| {
                        t.contains("expired or was used elsewhere") && !t.contains("Waiting")
                    })
            })
        })
        .await;
    let storage = bot.storage().await;
    let refused = storage
        .credential_of_user(3109)
        .await
        .unwrap()
        .expect("kept for a re-login");
    assert!(refused.invalid_at.is_some(), "the refusal time is recorded");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_user_limits_refuse_politely_and_say_when_to_try_again() {
    let bot = TestBot::start_with(|env| {
        env.insert("USER_MAX_IN_FLIGHT".into(), "1".into());
        env.insert("USER_MAX_PER_HOUR".into(), "2".into());
    })
    .await;
    bot.px.hold_videos();
    let (chat, user) = private_user(3106);
    bot.tg.send_text(chat, &user, "/t2v first");
    bot.tg.send_text(chat, &user, "/t2v second");
    bot.wait_for_text(chat, "already have 1 videos in progress").await;
    bot.wait_until("PixVerse to start the first video", || bot.px.videos().len() == 1)
        .await;
    bot.px.finish_videos();
    bot.wait_for_videos(chat, 1).await;
    // Sent before it is recorded: until then the first one still counts as in flight.
    bot.wait_for_states(&[("delivered", 1)]).await;

    bot.tg.send_text(chat, &user, "/t2v third");
    bot.wait_for_videos(chat, 2).await;
    // The video is sent before the task is recorded as delivered; until then it is in flight.
    bot.wait_for_states(&[("delivered", 2)]).await;
    bot.tg.send_text(chat, &user, "/t2v fourth");
    let refusal = bot.wait_for_text(chat, "in the last hour").await;
    assert!(refusal.contains("more in"), "{refusal}");
    assert_eq!(bot.task_count().await, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_users_backlog_does_not_delay_another_users_single_task() {
    let bot = TestBot::start_with(|env| {
        env.insert("USER_MAX_IN_FLIGHT".into(), "20".into());
        env.insert("POOL_DAILY_QUOTA".into(), "100".into());
        env.insert("PIXVERSE_ACCOUNT_CONCURRENCY".into(), "1".into());
    })
    .await;
    let (busy_chat, busy) = private_user(3107);
    let (chat, user) = private_user(3108);
    for n in 0..8 {
        bot.tg.send_text(busy_chat, &busy, &format!("/t2v backlog {n}"));
    }
    bot.tg
        .wait_for("8 acknowledgements", DEADLINE, |tg| {
            tg.bot_messages(busy_chat).len() >= 8
        })
        .await;
    bot.tg.send_text(chat, &user, "/t2v just one");
    bot.wait_for_videos(chat, 1).await;

    let backlog_done = bot
        .tg
        .bot_messages(busy_chat)
        .iter()
        .filter(|m| m.video_file_id.is_some())
        .count();
    assert!(
        backlog_done <= 3,
        "the single task waited for {backlog_done} of the backlog's videos"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_web_login_holds_the_task_until_the_user_logs_in_again() {
    let bot = TestBot::start_with(|env| {
        env.remove("PIXVERSE_API_KEY");
    })
    .await;
    bot.px.add_web_account("hal", "pw-hal");
    bot.px.set_token_lifetime(Duration::from_secs(2));
    let (chat, user) = private_user(3110);
    bot.tg.send_text(chat, &user, "/login hal pw-hal");
    bot.wait_for_text(chat, "Connected to PixVerse").await;
    bot.px.hold_videos();
    bot.tg.send_text(chat, &user, "/t2v a sand castle");
    bot.wait_until("PixVerse to start the video", || bot.px.videos().len() == 1)
        .await;

    // The token's ExpireTime passes while the video is being made.
    bot.wait_for_text(chat, "Please /login again").await;
    bot.wait_for_text(chat, "Waiting for you to /login again").await;
    assert_eq!(
        bot.task_states().await,
        [("generating".to_owned(), 1)],
        "held, not failed"
    );

    bot.px.set_token_lifetime(Duration::from_secs(30 * 24 * 3600));
    bot.px.finish_videos();
    bot.tg.send_text(chat, &user, "/login hal pw-hal");
    bot.wait_for_videos(chat, 1).await;
    assert_eq!(bot.px.videos().len(), 1, "the held video was not generated again");
    bot.wait_for_states(&[("delivered", 1)]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chat_telegram_cannot_find_ends_delivery_without_retries() {
    let bot = TestBot::start().await;
    let (chat, user) = private_user(3111);
    bot.tg.fail_next("sendVideo", TgFault::ChatNotFound);
    bot.tg.send_text(chat, &user, "/t2v a lost letter");
    bot.wait_for_states(&[("failed", 1)]).await;
    let calls = bot.tg.calls();
    let refused = calls
        .iter()
        .position(|c| c.method == "sendvideo")
        .expect("the video was tried");
    let sends_after: Vec<_> = calls[refused + 1..]
        .iter()
        .filter(|c| c.method.starts_with("send") && c.params["chat_id"] == chat.id())
        .map(|c| c.method.clone())
        .collect();
    assert!(
        sends_after.is_empty(),
        "nothing more is sent to a chat that does not exist: {sends_after:?}"
    );
    assert_eq!(bot.px.videos().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_the_last_transient_attempt_the_task_fails_with_a_message_and_a_retry_button() {
    let bot = TestBot::start_with(|env| {
        // Backoff grows from the poll interval: keep the eight attempts short.
        env.insert("POLL_INTERVAL_MS".into(), "5".into());
    })
    .await;
    for _ in 0..20 {
        bot.px.fail_next("/video/text/generate", FakeFault::Http(503));
    }
    let (chat, user) = private_user(3112);
    let request = bot.tg.send_text(chat, &user, "/t2v an unlucky comet");
    bot.wait_for_states(&[("failed", 1)]).await;
    assert_eq!(
        bot.px.count("/video/text/generate"),
        8,
        "eight attempts, then it gives up"
    );
    bot.tg
        .wait_for("the message that it gave up", DEADLINE, |tg| {
            tg.bot_messages(chat).iter().any(|m| {
                m.reply_to == Some(request)
                    && m.text
                        .as_deref()
                        .is_some_and(|t| t.contains("gave up on this video"))
                    && m.reply_markup
                        .as_ref()
                        .is_some_and(|k| k.to_string().contains("Retry"))
            })
        })
        .await;
    assert!(bot.px.videos().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_video_above_50_mb_is_sent_as_a_link_instead() {
    let bot = TestBot::start().await;
    bot.px.set_video_size(50 * 1024 * 1024 + 1);
    let (chat, user) = private_user(3113);
    let request = bot.tg.send_text(chat, &user, "/t2v a very long take");
    bot.wait_for_states(&[("delivered", 1)]).await;
    let id = bot.px.videos()[0].id;
    let link = bot
        .tg
        .bot_messages(chat)
        .into_iter()
        .find(|m| {
            m.text
                .as_deref()
                .is_some_and(|t| t.contains("too large to send here"))
        })
        .expect("the link message");
    assert!(
        link.text
            .as_deref()
            .unwrap()
            .contains(&format!("/media/{id}.mp4")),
        "{link:?}"
    );
    assert_eq!(link.reply_to, Some(request));
    assert!(
        bot.tg.calls_to("sendVideo").is_empty(),
        "no upload Telegram would refuse"
    );
}

/// A submit whose answer was lost may be running (and charged) at PixVerse. Its retries go to the
/// same pool account with the same trace id, so PixVerse answers with that generation, even when
/// another account has meanwhile become the less busy one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_submit_whose_answer_was_lost_stays_on_its_pool_account_and_is_charged_once() {
    let bot = TestBot::start_with(|env| {
        env.insert("PIXVERSE_ACCOUNT_CONCURRENCY".into(), "2".into());
    })
    .await;
    bot.px.add_api_key("pool-key-2222");
    bot.storage()
        .await
        .save_pool_account(
            "second",
            CredentialKind::ApiKey,
            "API key …2222",
            &SecretString::from("pool-key-2222"),
            None,
            None,
        )
        .await
        .unwrap();
    bot.px.hold_videos();
    let users: Vec<_> = (3201..=3203).map(private_user).collect();
    // One generation on each account.
    for (n, (chat, user)) in users[..2].iter().enumerate() {
        bot.tg
            .send_text(*chat, user, &format!("/t2v keeps account {n} busy"));
        bot.wait_until("the generation started", || bot.px.videos().len() == n + 1)
            .await;
    }
    // The third goes to the operator account (a tie; the first account wins). PixVerse starts it
    // but the answer is lost, and the next submits do not get through either, for a while.
    bot.px.fail_next("/video/text/generate", FakeFault::AnswerDropped);
    for _ in 0..4 {
        bot.px.fail_next("/video/text/generate", FakeFault::Reset);
    }
    let (chat, user) = &users[2];
    bot.tg.send_text(*chat, user, "/t2v the lost answer");
    bot.wait_until("the lost generation started", || bot.px.videos().len() == 3)
        .await;
    // Meanwhile the second account's video is done: that account is now the less busy one.
    let on_second = bot.px.videos().into_iter().find(|v| v.account == "pool-key-2222");
    bot.px
        .finish_video(on_second.expect("a video on the second account").id);
    bot.wait_for_videos(users[1].0, 1).await;

    bot.px.finish_videos();
    for (chat, _) in &users {
        bot.wait_for_videos(*chat, 1).await;
    }
    let lost: Vec<_> = bot
        .px
        .videos()
        .into_iter()
        .filter(|v| v.prompt == "the lost answer")
        .collect();
    assert_eq!(lost.len(), 1, "charged once: {lost:?}");
    assert_eq!(
        lost[0].account, OPERATOR_KEY,
        "on the account it was first sent to"
    );
}
