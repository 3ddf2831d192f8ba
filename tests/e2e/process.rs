//! The real binary as a child process: signals, crashes at chosen points, and what it writes to
//! its log and its database. The fakes run in the test process.

use std::{
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use crate::support::{
    app::{OPERATOR_KEY, TestBot, private_user},
    fake_pixverse::FakeFault,
    fake_telegram::{BOT_TOKEN, FakeTelegram, TgFault},
    process::BotProcess,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_the_binary_within_ten_seconds_and_the_task_resumes_after_a_restart() {
    let bot = TestBot::fakes_only(|_| {}).await;
    bot.px.hold_videos();
    let mut process = BotProcess::start(&bot, "info").await;
    let (chat, user) = private_user(5001);
    let request = bot.tg.send_text(chat, &user, "/t2v a lantern festival");
    bot.wait_until("PixVerse to start the video", || bot.px.videos().len() == 1)
        .await;

    let asked = Instant::now();
    process.signal("TERM");
    let status = process
        .exited_within(Duration::from_secs(10))
        .await
        .expect("stopped within 10 s");
    let took = asked.elapsed();
    assert!(
        status.success(),
        "a clean exit: {status:?}\n{}",
        process.log_text()
    );
    println!("SIGTERM to exit: {} ms", took.as_millis());
    let storage = bot.storage().await;
    assert!(storage.integrity_ok().await.unwrap(), "PRAGMA integrity_check");
    storage.close().await;
    assert_eq!(
        bot.task_states().await,
        [("generating".to_owned(), 1)],
        "nothing lost"
    );

    bot.px.finish_videos();
    let _process = BotProcess::start(&bot, "info").await;
    bot.wait_for_videos(chat, 1).await;
    assert_eq!(bot.px.count("/video/text/generate"), 1, "not submitted again");
    assert_eq!(bot.px.videos().len(), 1, "one charged generation");
    assert_eq!(bot.videos_replying_to(chat, request), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_while_submitting_polling_downloading_or_after_a_lost_answer_charges_and_delivers_once() {
    let bot = TestBot::fakes_only(|_| {}).await;

    // 1. Killed while PixVerse holds the submit: the task is resubmitted after the restart.
    let process = BotProcess::start(&bot, "info").await;
    let (chat1, user1) = private_user(5101);
    bot.px
        .fail_next("/video/text/generate", FakeFault::Stall(Duration::from_secs(3)));
    let request1 = bot.tg.send_text(chat1, &user1, "/t2v killed while submitting");
    bot.wait_until("the submit to reach PixVerse", || {
        bot.px.count("/video/text/generate") == 1
    })
    .await;
    process.kill().await;
    let process = BotProcess::start(&bot, "info").await;
    bot.wait_for_videos(chat1, 1).await;
    // Each phase ends with the task recorded as delivered, so the next kill cannot land in the
    // (documented) window between sending a video and recording it.
    bot.wait_for_states(&[("delivered", 1)]).await;

    // 2. Killed while polling: after the restart it polls the same video, never submits again.
    bot.px.hold_videos();
    let (chat2, user2) = private_user(5102);
    let request2 = bot.tg.send_text(chat2, &user2, "/t2v killed while polling");
    let polls = || {
        bot.px
            .requests()
            .iter()
            .filter(|r| r.path.contains("/video/result/"))
            .count()
    };
    let before = polls();
    bot.wait_until("the video to be polled", || polls() >= before + 2)
        .await;
    process.kill().await;
    bot.px.finish_videos();
    let process = BotProcess::start(&bot, "info").await;
    bot.wait_for_videos(chat2, 1).await;
    bot.wait_for_states(&[("delivered", 2)]).await;

    // 3. Killed while downloading the finished video: delivery resumes, once.
    bot.px.fail_next(".mp4", FakeFault::Stall(Duration::from_secs(3)));
    let (chat3, user3) = private_user(5103);
    let downloads = || {
        bot.px
            .requests()
            .iter()
            .filter(|r| r.path.ends_with(".mp4"))
            .count()
    };
    let downloads_before = downloads();
    let request3 = bot.tg.send_text(chat3, &user3, "/t2v killed while downloading");
    bot.wait_until("the download to start", || downloads() > downloads_before)
        .await;
    process.kill().await;
    let process = BotProcess::start(&bot, "info").await;
    bot.wait_for_videos(chat3, 1).await;
    bot.wait_for_states(&[("delivered", 3)]).await;

    // 4. PixVerse started (and charged) the generation but its answer was lost, and the process
    // dies before it can retry: the restart resubmits under the same trace id and gets that video.
    bot.px.fail_next("/video/text/generate", FakeFault::AnswerDropped);
    let (chat4, user4) = private_user(5104);
    let submits_before = bot.px.count("/video/text/generate");
    let request4 = bot.tg.send_text(chat4, &user4, "/t2v killed after a lost answer");
    bot.wait_until("the submit whose answer is lost", || {
        bot.px.count("/video/text/generate") > submits_before
    })
    .await;
    process.kill().await;
    let process = BotProcess::start(&bot, "info").await;
    bot.wait_for_videos(chat4, 1).await;
    bot.wait_for_states(&[("delivered", 4)]).await;

    // 5. Telegram took the video but its answer was lost, and the process dies: the restart sends
    // it again (the documented cost of a lost answer: one more copy), and PixVerse is not asked
    // again.
    bot.tg.fail_next("sendVideo", TgFault::AnswerDropped);
    let (chat5, user5) = private_user(5105);
    let request5 = bot
        .tg
        .send_text(chat5, &user5, "/t2v killed after telegram lost the answer");
    bot.wait_until("the video sent, its answer lost", || {
        bot.tg
            .calls_to("sendVideo")
            .iter()
            .any(|c| c.fault == Some(TgFault::AnswerDropped))
    })
    .await;
    process.kill().await;
    let _process = BotProcess::start(&bot, "info").await;
    bot.wait_for_states(&[("delivered", 5)]).await;
    assert_eq!(
        bot.videos_replying_to(chat5, request5),
        2,
        "the copy Telegram kept and the one re-sent after the restart, no more"
    );

    for (chat, request) in [
        (chat1, request1),
        (chat2, request2),
        (chat3, request3),
        (chat4, request4),
    ] {
        assert_eq!(
            bot.videos_replying_to(chat, request),
            1,
            "exactly one video for {chat:?}"
        );
    }
    // PixVerse's side: one charged generation per request. The submit killed in step 1 was
    // accepted by PixVerse after the kill; the resubmit reuses its trace id and gets that video.
    let generations = |prompt: &str| bot.px.videos().iter().filter(|v| v.prompt == prompt).count();
    assert_eq!(
        generations("killed while submitting"),
        1,
        "the resubmit reused the trace id"
    );
    assert_eq!(generations("killed while polling"), 1, "never submitted again");
    assert_eq!(
        generations("killed while downloading"),
        1,
        "never submitted again"
    );
    assert_eq!(
        generations("killed after a lost answer"),
        1,
        "the resubmit after the restart reused the trace id"
    );
    assert_eq!(
        generations("killed after telegram lost the answer"),
        1,
        "a re-sent video is not generated again"
    );
    assert_eq!(bot.px.videos().len(), 5);
    assert!(bot.storage().await.integrity_ok().await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_password_token_or_key_reaches_the_trace_log_or_the_database_file() {
    const PASSWORD: &str = "Pw-Secret-7q9z!";
    const USER_KEY: &str = "uk-Secret-3x8w5v";
    let bot = TestBot::fakes_only(|_| {}).await;
    bot.px.add_web_account("erin@example.com", PASSWORD);
    bot.px.add_api_key(USER_KEY);
    let mut process = BotProcess::start(&bot, "trace").await;

    let (chat, user) = private_user(5201);
    bot.tg
        .send_text(chat, &user, &format!("/login erin@example.com {PASSWORD}"));
    bot.wait_for_text(chat, "Connected to PixVerse").await;
    bot.tg.send_text(chat, &user, "/t2v a quiet harbour at dawn");
    bot.wait_for_videos(chat, 1).await;
    let (chat2, user2) = private_user(5202);
    bot.tg.send_text(chat2, &user2, &format!("/apikey {USER_KEY}"));
    bot.wait_for_text(chat2, "API key connected").await;
    bot.tg.send_text(chat2, &user2, "/t2v rain on a tin roof");
    bot.wait_for_videos(chat2, 1).await;
    let (chat3, user3) = private_user(5203);
    bot.tg.send_text(chat3, &user3, "/t2v on the shared account");
    bot.wait_for_videos(chat3, 1).await;

    process.signal("TERM");
    process
        .exited_within(Duration::from_secs(10))
        .await
        .expect("stopped");
    let log = process.log_text();
    assert!(
        log.lines().filter(|l| l.contains("TRACE")).count() > 50,
        "trace logging was on"
    );

    let token_secret = BOT_TOKEN.split_once(':').unwrap().1;
    let mut secrets = vec![
        PASSWORD.to_owned(),
        USER_KEY.to_owned(),
        OPERATOR_KEY.to_owned(),
        token_secret.to_owned(),
    ];
    let tokens = bot.px.issued_tokens();
    assert_eq!(tokens.len(), 1);
    secrets.extend(tokens);
    let stored = stored_bytes(&bot).await;
    // SQLite's files are whole pages; PostgreSQL's rows only what they hold.
    let least = if crate::POSTGRES { 1_000 } else { 10_000 };
    assert!(
        stored.len() > least,
        "the database was read: {} bytes",
        stored.len()
    );
    for secret in &secrets {
        assert!(
            !log.contains(secret.as_str()),
            "a secret is in the log: {}…",
            &secret[..4]
        );
        let bytes = secret.as_bytes();
        assert!(
            !stored.windows(bytes.len()).any(|w| w == bytes),
            "a secret is in the database: {}…",
            &secret[..4]
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_update_teloxide_cannot_parse_never_reaches_the_log_and_the_next_one_is_answered() {
    const PASSWORD: &str = "Pw-Unparsable-5k2m";
    let bot = TestBot::fakes_only(|_| {}).await;
    let mut process = BotProcess::start(&bot, "trace").await;

    // A message without `chat` or `date`: teloxide's parser gives up on it.
    bot.tg.send_raw_update(
        "message",
        serde_json::json!({
            "message_id": 1,
            "from": { "id": 5301, "is_bot": false, "first_name": "Mallory" },
            "text": format!("/login mallory@example.com {PASSWORD}"),
        }),
    );
    let (chat, user) = private_user(5302);
    bot.tg.send_text(chat, &user, "/start");
    bot.wait_for_text(chat, "Hi User5302").await;

    process.signal("TERM");
    process
        .exited_within(Duration::from_secs(10))
        .await
        .expect("stopped");
    let log = process.log_text();
    assert!(
        !log.contains(PASSWORD),
        "the unparsable update's body is in the log"
    );
    assert!(
        !log.contains("Mallory"),
        "the unparsable update's body is in the log"
    );
    assert!(log.contains("skipped an update"), "the skip is logged: {log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_secret_key_stops_the_binary_with_a_clear_error() {
    const KEY_A: &str = "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE="; // 32 × 'A'
    const KEY_B: &str = "QkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkI="; // 32 × 'B'
    let mut bot = TestBot::start_with(|env| {
        env.insert("SECRET_KEY".into(), KEY_A.into());
    })
    .await;
    bot.px.add_web_account("gus", "pw-gus");
    let (chat, user) = private_user(5301);
    bot.tg.send_text(chat, &user, "/login gus pw-gus");
    bot.wait_for_text(chat, "Connected to PixVerse").await;
    bot.stop().await.expect("a clean stop");

    let output = Command::new(env!("CARGO_BIN_EXE_pixverse-bot"))
        .env_clear()
        .envs(&bot.env)
        .env("SECRET_KEY", KEY_B)
        .current_dir(bot.dir())
        .stdin(Stdio::null())
        .output()
        .expect("run pixverse-bot");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "refuses to start");
    assert!(stderr.contains("SECRET_KEY"), "names the variable: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

/// Everything the database holds, as bytes to search: SQLite's files; on PostgreSQL every row of
/// every table as text, and every blob (BYTEA) column raw (its text form would be hex).
async fn stored_bytes(bot: &TestBot) -> Vec<u8> {
    let mut stored = Vec::new();
    if !crate::POSTGRES {
        for file in ["bot.db", "bot.db-wal"] {
            stored.extend(std::fs::read(bot.dir().join(file)).unwrap_or_default());
        }
        return stored;
    }
    let storage = bot.storage().await;
    let pixverse_bot::storage::Engine::Postgres(pool) = storage.engine() else {
        unreachable!("the PostgreSQL target")
    };
    let columns: Vec<(String, String, String)> = sqlx::query_as(
        "select table_name::text, column_name::text, data_type::text from information_schema.columns
         where table_schema = current_schema()",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    let tables: std::collections::BTreeSet<&str> = columns.iter().map(|(t, _, _)| t.as_str()).collect();
    for table in tables {
        let rows: Vec<String> =
            sqlx::query_scalar(sqlx::AssertSqlSafe(format!("select t::text from \"{table}\" t")))
                .fetch_all(pool)
                .await
                .unwrap();
        stored.extend(rows.concat().into_bytes());
    }
    for (table, column, _) in columns.iter().filter(|(_, _, kind)| kind == "bytea") {
        let blobs: Vec<Vec<u8>> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "select \"{column}\" from \"{table}\""
        )))
        .fetch_all(pool)
        .await
        .unwrap();
        stored.extend(blobs.concat());
    }
    storage.close().await;
    stored
}

/// Sixteen 50 MB videos delivered at once: each streams from PixVerse through a temporary file to
/// Telegram, so the real binary's peak resident memory stays far below 16 × 50 MB.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixteen_50_mb_videos_delivered_at_once_stay_under_200_mb_resident() {
    const VIDEOS: usize = 16;
    const VIDEO_BYTES: usize = 50_000_000;
    let bot = TestBot::fakes_only(|env| {
        env.insert("PIXVERSE_ACCOUNT_CONCURRENCY".into(), VIDEOS.to_string());
        env.insert("WORKER_CONCURRENCY".into(), VIDEOS.to_string());
    })
    .await;
    bot.px.set_video_size(VIDEO_BYTES);
    bot.px.set_concurrency_limit(VIDEOS);
    bot.px.hold_videos();
    let process = BotProcess::start(&bot, "info").await;
    let users: Vec<_> = (5301..5301 + VIDEOS as i64).map(private_user).collect();
    for (chat, user) in &users {
        bot.tg
            .send_text(*chat, user, "/t2v a very long and detailed scene");
    }
    bot.wait_until("all generating", || bot.px.videos().len() == VIDEOS)
        .await;
    bot.px.finish_videos();
    let delivered = |tg: &FakeTelegram| {
        users
            .iter()
            .flat_map(|(chat, _)| tg.bot_messages(*chat))
            .filter_map(|m| m.video_file_id)
            .collect::<Vec<_>>()
    };
    bot.tg
        .wait_for("sixteen large videos", Duration::from_secs(180), |tg| {
            delivered(tg).len() == VIDEOS
        })
        .await;
    for file in delivered(&bot.tg) {
        assert_eq!(bot.tg.file_size(&file), Some(VIDEO_BYTES as u64), "arrived whole");
    }
    let peak = process.peak_rss_mib();
    println!("16 deliveries of 50 MB at once: peak resident {peak:.1} MiB");
    assert!(peak < 200.0, "peak resident memory {peak:.1} MiB");
}
