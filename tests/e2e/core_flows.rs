//! The core bot end to end: a message in, the video out, through both fakes and the real App.

use std::time::Duration;

use crate::support::{
    app::{DEADLINE, TestBot, private_user},
    fake_pixverse::FakeFault,
    fake_telegram::{BOT_USERNAME, TgChat, TgUser},
};

fn jpeg(len: usize) -> Vec<u8> {
    let mut bytes = vec![0xFF, 0xD8, 0xFF, 0xE0];
    bytes.extend((0..len).map(|i| (i % 251) as u8));
    bytes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t2v_with_the_operator_key_delivers_a_video_replying_to_the_request() {
    let bot = TestBot::start().await;
    let (chat, user) = private_user(1001);
    let request = bot
        .tg
        .send_text(chat, &user, "/t2v a fox running through snow --ar 9:16");

    bot.wait_for_videos(chat, 1).await;

    let messages = bot.tg.bot_messages(chat);
    let progress = messages
        .iter()
        .find(|m| m.text.is_some())
        .expect("a progress message");
    assert_eq!(
        progress.reply_to,
        Some(request),
        "the progress message replies to the request"
    );
    let video = messages.iter().find(|m| m.video_file_id.is_some()).unwrap();
    assert_eq!(video.reply_to, Some(request), "the video replies to the request");
    let caption = video.caption.as_deref().unwrap();
    assert!(
        caption.contains("a fox running through snow") && caption.contains("9:16"),
        "{caption}"
    );
    bot.tg
        .wait_for("the progress message to say delivered", DEADLINE, |tg| {
            tg.bot_messages(chat)
                .iter()
                .any(|m| m.text.as_deref().is_some_and(|t| t.starts_with("✅")))
        })
        .await;

    let videos = bot.px.videos();
    assert_eq!(videos.len(), 1);
    assert_eq!(videos[0].prompt, "a fox running through snow");
    assert_eq!(videos[0].account, crate::support::app::OPERATOR_KEY);
    assert_eq!(bot.px.violations(), Vec::<String>::new());
    assert_eq!(bot.task_states().await, [("delivered".to_owned(), 1)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn photo_with_caption_delivers_an_i2v_video_with_the_operator_key() {
    let bot = TestBot::start().await;
    let (chat, user) = private_user(1002);
    let request = bot
        .tg
        .send_photo(chat, &user, Some("the waves roll in"), jpeg(30_000));

    bot.wait_for_videos(chat, 1).await;

    let video = bot
        .tg
        .bot_messages(chat)
        .into_iter()
        .find(|m| m.video_file_id.is_some())
        .unwrap();
    assert_eq!(video.reply_to, Some(request));
    let made = bot.px.videos();
    assert_eq!((made.len(), made[0].kind.as_str()), (1, "i2v"));
    let uploads = bot.px.uploaded_images();
    assert_eq!(uploads.len(), 1, "the photo is uploaded once");
    assert_eq!(uploads[0].1, 30_004, "PixVerse receives the photo's bytes");
    assert_eq!(bot.px.violations(), Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_then_t2v_and_i2v_generate_on_the_web_account() {
    let bot = TestBot::start_with(|env| {
        env.remove("PIXVERSE_API_KEY");
    })
    .await;
    bot.px
        .add_web_account("alice@example.com", "correct horse battery");
    let (chat, user) = private_user(1003);

    let login = bot
        .tg
        .send_text(chat, &user, "/login alice@example.com correct horse battery");
    let reply = bot.wait_for_text(chat, "Connected to PixVerse as").await;
    assert!(reply.contains("alice@example.com"));
    assert!(
        bot.tg.is_deleted(chat, login),
        "the message with the password is deleted"
    );

    bot.tg.send_text(chat, &user, "/t2v a lighthouse in a storm");
    bot.wait_for_videos(chat, 1).await;
    let group = TgChat::Group(-100_777);
    bot.tg
        .send_photo(group, &user, Some("/i2v the cat blinks"), jpeg(5_000));
    bot.wait_for_videos(group, 1).await;

    let videos = bot.px.videos();
    assert_eq!(videos.len(), 2);
    assert!(
        videos.iter().all(|v| v.account == "alice@example.com"),
        "{videos:?}"
    );
    assert!(
        videos
            .iter()
            .any(|v| v.kind == "i2v" && v.image.as_deref().is_some_and(|p| p.starts_with("upload/")))
    );
    assert!(
        bot.px
            .requests()
            .iter()
            .any(|r| r.method == "PUT" && r.path.contains("/oss/upload/")),
        "the photo went through the signed OSS upload"
    );
    assert_eq!(bot.px.violations(), Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_in_a_group_is_deleted_refused_and_stores_nothing() {
    let bot = TestBot::start().await;
    bot.px.add_web_account("bob", "hunter2");
    let group = TgChat::Group(-100_123);
    let user = TgUser::new(1004);

    let login = bot
        .tg
        .send_text(group, &user, &format!("/login@{BOT_USERNAME} bob hunter2"));
    let reply = bot.wait_for_text(group, "private chat").await;

    assert!(reply.contains(&format!("t.me/{BOT_USERNAME}")));
    assert!(bot.tg.is_deleted(group, login));
    assert_eq!(
        bot.px.count("/creative_platform/login"),
        0,
        "nothing from it is used"
    );
    let storage = bot.storage().await;
    assert!(storage.credential_of_user(1004).await.unwrap().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_password_is_refused_and_nothing_is_stored() {
    let bot = TestBot::start().await;
    bot.px.add_web_account("carol", "right");
    let (chat, user) = private_user(1005);

    let login = bot.tg.send_text(chat, &user, "/login carol wrong");
    let reply = bot.wait_for_text(chat, "did not accept").await;

    assert!(!reply.contains("wrong"), "the password is never echoed");
    assert!(bot.tg.is_deleted(chat, login));
    assert!(
        bot.storage()
            .await
            .credential_of_user(1005)
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moderated_and_failed_generations_tell_the_user_why() {
    let bot = TestBot::start().await;
    let (chat, user) = private_user(1006);

    bot.px.set_final_status(7);
    bot.tg
        .send_text(chat, &user, "/t2v something the filter dislikes");
    bot.wait_for_text(chat, "content filter").await;

    bot.px.set_final_status(8);
    bot.tg.send_text(chat, &user, "/t2v something that fails");
    bot.wait_for_text(chat, "could not generate").await;

    assert_eq!(bot.task_states().await, [("failed".to_owned(), 2)]);
    assert!(bot.tg.calls_to("sendvideo").is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_account_keeps_the_task_queued_then_delivers() {
    let bot = TestBot::start().await;
    let (chat, user) = private_user(1007);
    bot.px
        .fail_next("/video/text/generate", FakeFault::ErrCode(500044));

    bot.tg.send_text(chat, &user, "/t2v a slow river");
    bot.wait_for_videos(chat, 1).await;

    assert_eq!(
        bot.px.count("/video/text/generate"),
        2,
        "refused once for concurrency, then accepted"
    );
    assert_eq!(bot.px.videos().len(), 1);
    assert!(
        bot.tg
            .calls_to("editmessagetext")
            .iter()
            .any(|c| c.params["text"].as_str().unwrap_or("").contains("busy")),
        "the user saw that the task waits for a slot"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_request_is_answered_in_the_group_replying_to_the_requester() {
    let bot = TestBot::start().await;
    let group = TgChat::Group(-100_555);
    let user = TgUser::new(1008);

    let request = bot.tg.send_text(
        group,
        &user,
        &format!("/t2v@{BOT_USERNAME} fireworks over a harbour"),
    );
    bot.wait_for_videos(group, 1).await;

    let video = bot
        .tg
        .bot_messages(group)
        .into_iter()
        .find(|m| m.video_file_id.is_some())
        .unwrap();
    assert_eq!(video.reply_to, Some(request));
    bot.wait_for_states(&[("delivered", 1)]).await;

    // A bare photo with a caption in a group is people chatting, not a request: with privacy
    // mode on it never reaches the bot; with it off the bot sees it and leaves it alone.
    for privacy in [true, false] {
        bot.tg.set_privacy_mode(privacy);
        let withheld_before = bot.tg.withheld_updates();
        let photo = bot.tg.send_photo(group, &user, Some("look at my cat"), jpeg(100));
        let status = bot.tg.send_text(group, &user, "/status");
        // Updates of one chat are handled in order: once /status is answered, the photo was seen.
        bot.tg
            .wait_for("the /status answer", crate::support::app::DEADLINE, |tg| {
                tg.bot_messages(group).iter().any(|m| m.reply_to == Some(status))
            })
            .await;
        assert_eq!(
            bot.tg.withheld_updates() - withheld_before,
            usize::from(privacy),
            "privacy mode {privacy}: the photo reaches the bot only with it off"
        );
        assert!(
            bot.tg
                .bot_messages(group)
                .iter()
                .all(|m| m.reply_to != Some(photo)),
            "no answer to the photo (privacy mode {privacy})"
        );
    }
    assert_eq!(bot.task_count().await, 1);
    assert_eq!(bot.px.videos().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
/// Not a crash: the process lives on and the runtime's tasks stop at their await points (the
/// real SIGKILL is `process::sigkill_while_submitting_polling_or_downloading_still_delivers_each_video_once`).
async fn an_app_whose_runtime_is_dropped_mid_generation_delivers_exactly_once_after_a_restart() {
    let mut bot = TestBot::start().await;
    let (chat, user) = private_user(1009);
    bot.px.hold_videos();

    bot.tg.send_text(chat, &user, "/t2v a clock tower at dusk");
    let polls = || {
        bot.px
            .requests()
            .iter()
            .filter(|r| r.path.contains("/video/result/"))
            .count()
    };
    bot.wait_until("the worker to poll a generating video", || polls() >= 2)
        .await;
    bot.crash();
    bot.launch().await;
    bot.px.finish_videos();
    bot.wait_for_videos(chat, 1).await;

    assert_eq!(bot.px.count("/video/text/generate"), 1, "never submitted twice");
    assert_eq!(bot.tg.calls_to("sendvideo").len(), 1, "delivered once");
    bot.wait_for_states(&[("delivered", 1)]).await;
    bot.storage()
        .await
        .integrity_ok()
        .await
        .unwrap()
        .then_some(())
        .expect("database intact");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
/// Not a crash either (see above): the App stops while Telegram has not answered the "queued"
/// message yet, so the task is still held for that answer (no worker may claim it before its
/// progress message is stored). The restart handles the update again (it was never marked
/// handled), finds its task and answers: the task starts then, not when the hold runs out.
async fn a_task_whose_queued_answer_was_cut_off_by_a_restart_starts_at_once_after_it() {
    let mut bot = TestBot::start().await;
    let (chat, user) = private_user(1012);
    bot.tg.delay_next_answer("sendMessage", Duration::from_secs(60));
    let request = bot.tg.send_text(chat, &user, "/t2v a lighthouse in fog");
    bot.tg
        .wait_for("the queued message", DEADLINE, |tg| {
            !tg.bot_messages(chat).is_empty()
        })
        .await;
    // A poll after the handler began confirms the update: Telegram forgets it, and the restart
    // takes it from the bot's own inbox.
    let polls = bot.tg.calls_to("getupdates").len();
    bot.tg
        .wait_for("the update to be confirmed", DEADLINE, |tg| {
            tg.calls_to("getupdates").len() > polls
        })
        .await;
    assert!(bot.px.videos().is_empty(), "held until the answer");
    bot.crash();
    let restarted = std::time::Instant::now();
    bot.launch().await;
    bot.wait_for_videos(chat, 1).await;
    assert!(
        restarted.elapsed() < Duration::from_secs(15),
        "delivered {:?} after the restart",
        restarted.elapsed()
    );
    assert_eq!(
        bot.px.count("/video/text/generate"),
        1,
        "one task, submitted once"
    );
    bot.wait_for_states(&[("delivered", 1)]).await;
    // The answer of the second handling is the progress message (the first one's id was lost
    // with the App).
    bot.tg
        .wait_for("the progress message to show the delivery", DEADLINE, |tg| {
            tg.bot_messages(chat).iter().any(|m| {
                m.reply_to == Some(request) && m.text.as_deref().is_some_and(|t| t.starts_with("✅"))
            })
        })
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_any_account_the_user_is_told_how_to_connect_one() {
    let bot = TestBot::start_with(|env| {
        env.remove("PIXVERSE_API_KEY");
    })
    .await;
    let (chat, user) = private_user(1010);
    bot.tg.send_text(chat, &user, "/t2v a fox");
    let reply = bot.wait_for_text(chat, "/login").await;
    assert!(reply.contains("/apikey"));
    assert_eq!(bot.task_count().await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apikey_connects_after_a_check_and_logout_forgets_it() {
    let bot = TestBot::start_with(|env| {
        env.remove("PIXVERSE_API_KEY");
    })
    .await;
    bot.px.add_api_key("user-key-abcd1234");
    let (chat, user) = private_user(1011);

    let bad = bot.tg.send_text(chat, &user, "/apikey not-a-key");
    bot.wait_for_text(chat, "did not accept that API key").await;
    assert!(bot.tg.is_deleted(chat, bad));

    bot.tg.send_text(chat, &user, "/apikey user-key-abcd1234");
    let ok = bot.wait_for_text(chat, "API key connected").await;
    assert!(
        ok.contains("1234") && !ok.contains("abcd1234"),
        "only the last four characters are shown: {ok}"
    );
    bot.tg.send_text(chat, &user, "/balance");
    bot.wait_for_text(chat, "Credits of").await;
    bot.tg.send_text(chat, &user, "/t2v a neon city");
    bot.wait_for_videos(chat, 1).await;
    assert_eq!(bot.px.videos()[0].account, "user-key-abcd1234");

    bot.tg.send_text(chat, &user, "/logout");
    bot.wait_for_text(chat, "disconnected").await;
    assert!(
        bot.storage()
            .await
            .credential_of_user(1011)
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_web_video_reported_in_progress_as_5_9_and_10_is_polled_until_done_and_delivered_once() {
    let bot = TestBot::start_with(|env| {
        env.remove("PIXVERSE_API_KEY");
    })
    .await;
    bot.px.add_web_account("ivy", "pw-ivy");
    let (chat, user) = private_user(1020);
    bot.tg.send_text(chat, &user, "/login ivy pw-ivy");
    bot.wait_for_text(chat, "Connected to PixVerse").await;
    // Long enough for several listings at the 40 ms poll interval: 5, 9 and 10 in turn.
    bot.px
        .set_generation_time(Duration::from_millis(400), Duration::from_millis(600));
    let request = bot.tg.send_text(chat, &user, "/t2v a paper lantern");
    bot.wait_for_videos(chat, 1).await;
    assert!(
        bot.px.in_progress_observations() >= 3,
        "the listing reported 5, 9 and 10 ({} in-progress answers)",
        bot.px.in_progress_observations()
    );
    let videos: Vec<_> = bot
        .tg
        .bot_messages(chat)
        .into_iter()
        .filter(|m| m.video_file_id.is_some())
        .collect();
    assert_eq!(videos.len(), 1);
    assert_eq!(videos[0].reply_to, Some(request));
    assert_eq!(bot.px.videos().len(), 1);
}
