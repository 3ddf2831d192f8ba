//! Proves that teloxide 0.17 works against the fake Telegram exactly as it would against
//! api.telegram.org: every response parses into teloxide's types, and every error surfaces as
//! the `RequestError` / `ApiError` variant real Telegram would produce.

use std::time::{Duration, Instant};

use teloxide::{
    ApiError, RequestError,
    dispatching::{Dispatcher, HandlerExt, UpdateFilterExt, UpdateHandler},
    net::Download,
    prelude::*,
    types::{
        ChatId, InlineKeyboardButton, InlineKeyboardMarkup, InputFile, MessageId, ReplyParameters, Update,
        UpdateKind,
    },
    update_listeners::Polling,
    utils::command::BotCommands,
};

use crate::support::fake_telegram::{
    BOT_TOKEN, BOT_USERNAME, FakeTelegram, FloodControl, Rate, Scope, TgChat, TgFault, TgUser, Throttled,
};

const DEADLINE: Duration = Duration::from_secs(5);

fn bot(fake: &FakeTelegram) -> Bot {
    Bot::new(BOT_TOKEN).set_api_url(fake.api_url().parse().expect("api url"))
}

/// Receives queued updates with one short getUpdates, confirming them for the next call.
async fn next_updates(bot: &Bot, offset: i32) -> Vec<Update> {
    bot.get_updates()
        .offset(offset)
        .timeout(1)
        .await
        .expect("getUpdates")
}

#[tokio::test]
async fn get_me_returns_the_bot_with_its_username() {
    let fake = FakeTelegram::start().await;
    let me = bot(&fake).get_me().await.expect("getMe parses");
    assert_eq!(me.username(), BOT_USERNAME);
    assert!(me.user.is_bot);
    assert_eq!(
        fake.calls_to("getMe").len(),
        1,
        "method names are recorded lower-case"
    );
}

#[tokio::test]
async fn a_wrong_token_is_an_invalid_token_error() {
    let fake = FakeTelegram::start().await;
    let wrong = Bot::new("1:wrong").set_api_url(fake.api_url().parse().unwrap());
    let err = wrong.get_me().await.expect_err("401");
    assert!(
        matches!(err, RequestError::Api(ApiError::InvalidToken)),
        "{err:?}"
    );
}

#[tokio::test]
async fn send_message_with_reply_parameters_replies_to_the_user_message() {
    let fake = FakeTelegram::start().await;
    let bot = bot(&fake);
    let chat = TgChat::Private(42);
    let user_msg = fake.send_text(chat, &TgUser::new(42), "hello");

    let sent = bot
        .send_message(ChatId(42), "hi there")
        .reply_parameters(ReplyParameters::new(MessageId(user_msg)))
        .await
        .expect("sendMessage parses");

    assert_eq!(sent.text(), Some("hi there"));
    assert_eq!(sent.reply_to_message().map(|m| m.id), Some(MessageId(user_msg)));
    assert_eq!(sent.reply_to_message().and_then(|m| m.text()), Some("hello"));
    assert_eq!(sent.from.as_ref().map(|u| u.is_bot), Some(true));
    assert!(sent.id.0 > user_msg, "message ids increase per chat");

    let call = &fake.calls_to("sendMessage")[0];
    assert_eq!(call.params["reply_parameters"]["message_id"], user_msg);
    assert_eq!(call.params["chat_id"], 42);
    let mine = fake.bot_messages(chat);
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0].reply_to, Some(user_msg));
    assert_eq!(mine[0].text.as_deref(), Some("hi there"));
}

#[tokio::test]
async fn replying_to_a_missing_message_is_message_to_reply_not_found() {
    let fake = FakeTelegram::start().await;
    let err = bot(&fake)
        .send_message(ChatId(42), "hi")
        .reply_parameters(ReplyParameters::new(MessageId(999)))
        .await
        .expect_err("no such message");
    assert!(
        matches!(err, RequestError::Api(ApiError::MessageToReplyNotFound)),
        "{err:?}"
    );
}

#[tokio::test]
async fn edit_message_text_edits_and_reports_not_modified_and_not_found() {
    let fake = FakeTelegram::start().await;
    let bot = bot(&fake);
    let chat = TgChat::Private(7);
    let sent = bot.send_message(ChatId(7), "queued").await.unwrap();

    let edited = bot
        .edit_message_text(ChatId(7), sent.id, "generating")
        .await
        .expect("edit parses");
    assert_eq!(edited.text(), Some("generating"));
    assert!(edited.edit_date().is_some());
    let mine = &fake.bot_messages(chat)[0];
    assert_eq!((mine.text.as_deref(), mine.edits), (Some("generating"), 1));

    let same = bot
        .edit_message_text(ChatId(7), sent.id, "generating")
        .await
        .expect_err("same text");
    assert!(
        matches!(same, RequestError::Api(ApiError::MessageNotModified)),
        "{same:?}"
    );

    let missing = bot
        .edit_message_text(ChatId(7), MessageId(999), "x")
        .await
        .expect_err("no such message");
    assert!(
        matches!(missing, RequestError::Api(ApiError::MessageToEditNotFound)),
        "{missing:?}"
    );

    let user_msg = fake.send_text(chat, &TgUser::new(7), "mine");
    let foreign = bot
        .edit_message_text(ChatId(7), MessageId(user_msg), "x")
        .await
        .expect_err("user's message");
    assert!(
        matches!(foreign, RequestError::Api(ApiError::MessageCantBeEdited)),
        "{foreign:?}"
    );
}

#[tokio::test]
async fn delete_message_deletes_once_then_reports_not_found() {
    let fake = FakeTelegram::start().await;
    let bot = bot(&fake);
    let sent = bot.send_message(ChatId(7), "bye").await.unwrap();

    bot.delete_message(ChatId(7), sent.id)
        .await
        .expect("deleteMessage");
    assert!(fake.is_deleted(TgChat::Private(7), sent.id.0));

    let again = bot
        .delete_message(ChatId(7), sent.id)
        .await
        .expect_err("already deleted");
    assert!(
        matches!(again, RequestError::Api(ApiError::MessageToDeleteNotFound)),
        "{again:?}"
    );
    let edit = bot
        .edit_message_text(ChatId(7), sent.id, "x")
        .await
        .expect_err("deleted");
    assert!(
        matches!(edit, RequestError::Api(ApiError::MessageToEditNotFound)),
        "{edit:?}"
    );
}

#[tokio::test]
async fn a_photo_update_parses_and_get_file_then_download_returns_its_bytes() {
    let fake = FakeTelegram::start().await;
    let bot = bot(&fake);
    let bytes: Vec<u8> = (0..50_000u32).map(|i| (i % 251) as u8).collect();
    let chat = TgChat::Group(-1001234567890);
    let sent_id = fake.send_photo(
        chat,
        &TgUser::new(5),
        Some("/i2v@pixverse_test_bot a cat"),
        bytes.clone(),
    );

    let updates = next_updates(&bot, 0).await;
    let UpdateKind::Message(msg) = &updates[0].kind else {
        panic!("not a message: {updates:?}")
    };
    assert_eq!(msg.id, MessageId(sent_id));
    assert!(msg.chat.is_supergroup());
    assert_eq!(msg.caption(), Some("/i2v@pixverse_test_bot a cat"));
    let photo = msg.photo().expect("photo sizes");
    assert_eq!(photo.len(), 3);
    let largest = photo.iter().max_by_key(|p| p.width).unwrap();
    assert_eq!(largest.file.size as usize, bytes.len());

    let file = bot
        .get_file(largest.file.id.clone())
        .await
        .expect("getFile parses");
    assert!(
        file.path.contains('/'),
        "paths have a directory, so the download URL has %2F"
    );
    let mut downloaded = Vec::new();
    bot.download_file(&file.path, &mut downloaded)
        .await
        .expect("download");
    assert_eq!(downloaded, bytes);
    assert_eq!(
        fake.calls_to("download")[0].params["file_path"],
        file.path.as_str()
    );
}

#[tokio::test]
async fn get_file_of_a_photo_over_20_mb_is_file_is_too_big() {
    let fake = FakeTelegram::start().await;
    let bot = bot(&fake);
    fake.send_big_photo(TgChat::Private(5), &TgUser::new(5), None, 25 * 1024 * 1024);
    let updates = next_updates(&bot, 0).await;
    let UpdateKind::Message(msg) = &updates[0].kind else {
        panic!("{updates:?}")
    };
    let largest = msg.photo().unwrap().last().unwrap();

    let err = bot.get_file(largest.file.id.clone()).await.expect_err("too big");
    // teloxide has no variant for this one.
    assert!(
        matches!(&err, RequestError::Api(ApiError::Unknown(s)) if s == "Bad Request: file is too big"),
        "{err:?}"
    );
}

#[tokio::test]
async fn send_video_uploads_the_file_part_and_returns_a_video_message() {
    let fake = FakeTelegram::start().await;
    let bot = bot(&fake);
    let video = vec![7u8; 300_000];

    let chat = TgChat::Group(-1001234567890);
    let asked = fake.send_text(chat, &TgUser::new(5), "/t2v a cat");
    let keyboard = InlineKeyboardMarkup::new([[InlineKeyboardButton::callback("Again", "again:1")]]);
    let sent = bot
        .send_video(
            ChatId(-1001234567890),
            InputFile::memory(video.clone()).file_name("v.mp4"),
        )
        .caption("a cat, 5 s")
        .reply_parameters(ReplyParameters::new(MessageId(asked)))
        .reply_markup(keyboard)
        .await
        .expect("sendVideo parses");

    let v = sent.video().expect("video");
    assert_eq!(v.file.size as usize, video.len());
    assert_eq!(v.mime_type.as_ref().map(|m| m.essence_str()), Some("video/mp4"));
    assert_eq!(sent.caption(), Some("a cat, 5 s"));

    let call = &fake.calls_to("sendVideo")[0];
    assert_eq!(
        call.files,
        vec![("video".to_owned(), "v.mp4".to_owned(), video.len())]
    );
    assert_eq!(call.params["caption"], "a cat, 5 s");
    assert_eq!(
        call.params["chat_id"], -1001234567890i64,
        "multipart text ids are decoded to numbers"
    );
    // JSON-string multipart fields are decoded, so they look like JSON-body params.
    assert_eq!(call.params["reply_parameters"]["message_id"], asked);
    assert_eq!(
        call.params["reply_markup"]["inline_keyboard"][0][0]["callback_data"],
        "again:1"
    );
    assert_eq!(sent.reply_to_message().map(|m| m.id), Some(MessageId(asked)));
    let mine = &fake.bot_messages(chat)[0];
    assert_eq!(mine.video_file_id.as_deref(), Some(v.file.id.0.as_str()));
    assert_eq!(
        (mine.reply_to, mine.media_kind.as_deref()),
        (Some(asked), Some("video"))
    );

    let edited = bot
        .edit_message_caption(ChatId(-1001234567890), sent.id)
        .caption("done")
        .await
        .unwrap();
    assert_eq!(edited.caption(), Some("done"));
    assert_eq!(fake.bot_messages(chat)[0].caption.as_deref(), Some("done"));

    // The bot can fetch what it uploaded, and re-send it by file id.
    let file = bot.get_file(v.file.id.clone()).await.unwrap();
    let mut downloaded = Vec::new();
    bot.download_file(&file.path, &mut downloaded).await.unwrap();
    assert_eq!(downloaded, video);
    let again = bot
        .send_video(ChatId(5), InputFile::file_id(v.file.id.clone()))
        .await
        .unwrap();
    assert_eq!(again.video().unwrap().file.id, v.file.id);
}

#[tokio::test]
async fn get_updates_holds_the_long_poll_until_an_update_arrives() {
    let fake = FakeTelegram::start().await;
    let bot = bot(&fake);
    let poll = tokio::spawn({
        let bot = bot.clone();
        async move { bot.get_updates().timeout(10).await }
    });
    fake.wait_for("the long poll", DEADLINE, |f| {
        !f.calls_to("getUpdates").is_empty()
    })
    .await;

    let started = Instant::now();
    let id = fake.send_text(TgChat::Private(3), &TgUser::new(3).lang("ru"), "/start");
    let updates = poll.await.unwrap().expect("getUpdates");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "woken at once, not at the timeout"
    );
    let UpdateKind::Message(msg) = &updates[0].kind else {
        panic!("{updates:?}")
    };
    assert_eq!(msg.id, MessageId(id));
    assert_eq!(
        msg.from.as_ref().and_then(|u| u.language_code.as_deref()),
        Some("ru")
    );

    // Not confirmed yet: delivered again; confirmed by the next offset: gone.
    assert_eq!(next_updates(&bot, 0).await.len(), 1);
    let offset = updates[0].id.as_offset();
    assert!(next_updates(&bot, offset).await.is_empty());
    assert_eq!(fake.pending_updates(), 0);
}

#[tokio::test]
async fn group_messages_without_a_command_are_withheld_by_privacy_mode() {
    let fake = FakeTelegram::start().await;
    let bot = bot(&fake);
    let chat = TgChat::Group(-1009);
    fake.send_text(chat, &TgUser::new(1), "just chatting");
    fake.send_text(chat, &TgUser::new(1), "/t2v@some_other_bot x");
    let wanted = fake.send_text(chat, &TgUser::new(1), "/t2v a dog");
    let updates = next_updates(&bot, 0).await;
    assert_eq!(updates.len(), 1, "{}", fake.dump());
    let UpdateKind::Message(msg) = &updates[0].kind else {
        panic!()
    };
    assert_eq!(msg.id, MessageId(wanted));
}

#[derive(BotCommands, Clone, Debug)]
#[command(rename_rule = "lowercase")]
enum Cmd {
    /// Text to video.
    T2v(String),
}

type HandlerResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;

fn schema() -> UpdateHandler<Box<dyn std::error::Error + Send + Sync>> {
    Update::filter_message()
        .filter_command::<Cmd>()
        .endpoint(|bot: Bot, msg: Message, cmd: Cmd| async move {
            let Cmd::T2v(prompt) = cmd;
            bot.send_message(msg.chat.id, format!("queued: {prompt}"))
                .reply_parameters(ReplyParameters::new(msg.id))
                .await?;
            HandlerResult::Ok(())
        })
}

#[tokio::test]
async fn a_dispatcher_answers_a_group_command_via_long_polling_and_shuts_down_quickly() {
    let fake = FakeTelegram::start().await;
    let mut dispatcher = Dispatcher::builder(bot(&fake), schema()).build();
    let shutdown = dispatcher.shutdown_token();
    // `dispatch()` uses teloxide's default polling: getWebhookInfo, then getUpdates timeout=10.
    let running = tokio::spawn(async move { dispatcher.dispatch().await });
    fake.wait_for("the dispatcher to poll", DEADLINE, |f| {
        !f.calls_to("getUpdates").is_empty()
    })
    .await;
    assert_eq!(fake.calls_to("getUpdates")[0].params["timeout"], 10);
    assert_eq!(
        fake.calls_to("getUpdates")[0].params["allowed_updates"],
        serde_json::json!(["message"])
    );

    let chat = TgChat::Group(-1001234567890);
    let asked = fake.send_text(chat, &TgUser::new(77), "/t2v@pixverse_test_bot hello");
    fake.wait_for("the reply", DEADLINE, |f| {
        f.bot_messages(chat)
            .iter()
            .any(|m| m.text.as_deref() == Some("queued: hello") && m.reply_to == Some(asked))
    })
    .await;

    // The dispatcher is now holding a 10 s getUpdates; shutting down must not wait for it.
    let started = Instant::now();
    shutdown.shutdown().expect("the dispatcher is running").await;
    running.await.expect("dispatcher task");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "shutdown took {:?}",
        started.elapsed()
    );

    // Polling stops by dropping the held request and confirming with a last timeout=0 call.
    let last = fake.calls_to("getUpdates").pop().unwrap();
    assert_eq!(last.params["timeout"], 0);
    assert_eq!(
        fake.pending_updates(),
        0,
        "the answered update was confirmed:\n{}",
        fake.dump()
    );
}

#[tokio::test]
async fn a_dispatcher_with_a_short_polling_timeout_also_works() {
    let fake = FakeTelegram::start().await;
    let bot = bot(&fake);
    let mut dispatcher = Dispatcher::builder(bot.clone(), schema()).build();
    let shutdown = dispatcher.shutdown_token();
    let listener = Polling::builder(bot).timeout(Duration::from_secs(1)).build();
    let running = tokio::spawn(async move {
        dispatcher
            .dispatch_with_listener(listener, LoggingErrorHandler::with_custom_text("update listener"))
            .await
    });
    let chat = TgChat::Private(8);
    fake.send_text(chat, &TgUser::new(8), "/t2v sunrise");
    fake.wait_for("the reply", DEADLINE, |f| !f.bot_messages(chat).is_empty())
        .await;
    assert_eq!(fake.calls_to("getUpdates")[0].params["timeout"], 1);
    shutdown.shutdown().expect("running").await;
    tokio::time::timeout(DEADLINE, running)
        .await
        .expect("stops")
        .unwrap();
}

#[tokio::test]
async fn faults_surface_as_the_matching_request_error_variants() {
    let fake = FakeTelegram::start().await;
    let bot = bot(&fake);
    let send = |chat: i64| bot.send_message(ChatId(chat), "x");

    fake.fail_next("sendMessage", TgFault::RetryAfter(3));
    let err = send(9).await.expect_err("429");
    assert!(
        matches!(err, RequestError::RetryAfter(s) if s.seconds() == 3),
        "{err:?}"
    );

    fake.fail_next("SendMessage", TgFault::Blocked);
    let err = send(10).await.expect_err("403");
    assert!(matches!(err, RequestError::Api(ApiError::BotBlocked)), "{err:?}");

    fake.fail_next("sendmessage", TgFault::ChatNotFound);
    let err = send(11).await.expect_err("400");
    assert!(
        matches!(err, RequestError::Api(ApiError::ChatNotFound)),
        "{err:?}"
    );

    fake.fail_next("sendMessage", TgFault::Migrated(-1009876));
    let err = send(-12).await.expect_err("migrated");
    assert!(
        matches!(err, RequestError::MigrateToChatId(ChatId(-1009876))),
        "{err:?}"
    );

    fake.fail_next("sendMessage", TgFault::Reset);
    let err = send(13).await.expect_err("reset");
    assert!(matches!(err, RequestError::Network(_)), "{err:?}");

    send(13).await.expect("a queued fault is used once");
    let faults: Vec<_> = fake
        .calls_to("sendMessage")
        .iter()
        .map(|c| c.fault.clone())
        .collect();
    assert_eq!(faults.len(), 6);
    assert_eq!(faults[5], None);
    assert_eq!(
        fake.bot_messages(TgChat::Private(13)).len(),
        1,
        "failed sends leave no message"
    );

    fake.set_fault_rate(100);
    let err = send(14).await.expect_err("random fault");
    assert!(
        matches!(err, RequestError::RetryAfter(s) if s.seconds() == 1)
            || matches!(err, RequestError::Network(_)),
        "{err:?}"
    );
    fake.set_fault_rate(0);
    send(15).await.expect("no more random faults");
}

#[tokio::test]
async fn a_blocked_user_a_migrated_group_and_a_missing_chat_keep_failing_like_telegram() {
    let fake = FakeTelegram::start().await;
    let bot = bot(&fake);
    fake.fail_next("sendVideo", TgFault::Blocked);
    fake.fail_next("sendVideo", TgFault::Migrated(-1002));
    fake.fail_next("sendVideo", TgFault::ChatNotFound);
    for chat in [1, -2, 3] {
        let video = InputFile::memory(vec![0u8; 16]).file_name("v.mp4");
        bot.send_video(ChatId(chat), video)
            .await
            .expect_err("the queued fault");
    }
    for _ in 0..2 {
        let err = bot.send_message(ChatId(1), "x").await.expect_err("still blocked");
        assert!(matches!(err, RequestError::Api(ApiError::BotBlocked)), "{err:?}");
        let err = bot
            .send_message(ChatId(-2), "x")
            .await
            .expect_err("still migrated");
        assert!(
            matches!(err, RequestError::MigrateToChatId(ChatId(-1002))),
            "{err:?}"
        );
        let err = bot.send_message(ChatId(3), "x").await.expect_err("still missing");
        assert!(
            matches!(err, RequestError::Api(ApiError::ChatNotFound)),
            "{err:?}"
        );
    }
    bot.send_message(ChatId(-1002), "x")
        .await
        .expect("the new id works");

    fake.block_bot(TgChat::Private(4));
    fake.migrate_group(TgChat::Group(-5), TgChat::Group(-1005));
    let err = bot.send_message(ChatId(4), "x").await.expect_err("blocked");
    assert!(matches!(err, RequestError::Api(ApiError::BotBlocked)), "{err:?}");
    let err = bot.send_message(ChatId(-5), "x").await.expect_err("migrated");
    assert!(
        matches!(err, RequestError::MigrateToChatId(ChatId(-1005))),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_429_keeps_answering_for_its_chat_until_retry_after_has_passed() {
    let fake = FakeTelegram::start().await;
    let bot = bot(&fake);
    fake.fail_next("editMessageText", TgFault::RetryAfter(1));
    let sent = bot.send_message(ChatId(21), "x").await.unwrap();
    let started = Instant::now();
    let err = bot
        .edit_message_text(ChatId(21), sent.id, "y")
        .await
        .expect_err("the injected 429");
    assert!(
        matches!(err, RequestError::RetryAfter(s) if s.seconds() == 1),
        "{err:?}"
    );

    let err = bot
        .send_message(ChatId(21), "z")
        .await
        .expect_err("still waiting");
    assert!(
        matches!(err, RequestError::RetryAfter(s) if s.seconds() == 1),
        "{err:?}"
    );
    bot.send_message(ChatId(22), "z")
        .await
        .expect("another chat is not held");
    bot.send_chat_action(ChatId(21), teloxide::types::ChatAction::Typing)
        .await
        .expect("chat actions do not count");
    assert_eq!(fake.calls_ignoring_retry_after().len(), 1);

    tokio::time::sleep_until((started + Duration::from_millis(1050)).into()).await;
    bot.edit_message_text(ChatId(21), sent.id, "y")
        .await
        .expect("after retry_after it works");
}

#[tokio::test]
async fn flood_control_limits_each_chat_each_group_and_the_bot_as_telegram_does() {
    let fake = FakeTelegram::start().await;
    let bot = bot(&fake);
    fake.set_flood_control(FloodControl {
        per_chat: Some(Rate::per_second(1)),
        per_group: Some(Rate {
            messages: 2,
            per: Duration::from_secs(3),
        }),
        global: Some(Rate::per_second(5)),
    });
    bot.send_message(ChatId(31), "1")
        .await
        .expect("first in the chat");
    let err = bot
        .send_message(ChatId(31), "2")
        .await
        .expect_err("second within a second");
    assert!(
        matches!(err, RequestError::RetryAfter(s) if s.seconds() == 1),
        "{err:?}"
    );
    let throttled = fake.throttled_calls();
    assert_eq!(throttled.len(), 1);
    assert_eq!(throttled[0].1, Throttled::OverLimit(Scope::Chat(31)));

    // A group: one a second, and two in three seconds.
    bot.send_message(ChatId(-32), "1").await.unwrap();
    tokio::time::sleep(Duration::from_millis(1010)).await;
    bot.send_message(ChatId(-32), "2").await.unwrap();
    tokio::time::sleep(Duration::from_millis(1010)).await;
    let err = bot
        .send_message(ChatId(-32), "3")
        .await
        .expect_err("the group's limit");
    assert!(matches!(err, RequestError::RetryAfter(_)), "{err:?}");
    assert_eq!(
        fake.throttled_calls().last().unwrap().1,
        Throttled::OverLimit(Scope::Group(-32))
    );

    // The bot: five a second across chats.
    let mut refused = 0;
    for chat in 40..47 {
        if bot.send_message(ChatId(chat), "x").await.is_err() {
            refused += 1;
        }
    }
    assert!(refused >= 2, "{refused} of 7 refused");
    assert!(
        fake.throttled_calls()
            .iter()
            .any(|(_, t)| *t == Throttled::OverLimit(Scope::Global))
    );
}

#[tokio::test]
async fn a_dropped_answer_leaves_the_message_sent_and_the_client_with_a_network_error() {
    let fake = FakeTelegram::start().await;
    let bot = bot(&fake);
    fake.fail_next("sendMessage", TgFault::AnswerDropped);
    let err = bot
        .send_message(ChatId(51), "hello")
        .await
        .expect_err("no answer");
    assert!(matches!(err, RequestError::Network(_)), "{err:?}");
    let messages = fake.bot_messages(TgChat::Private(51));
    assert_eq!(messages.len(), 1, "the message was sent all the same");
    assert_eq!(messages[0].text.as_deref(), Some("hello"));
    assert_eq!(
        fake.calls_to("sendMessage")[0].fault,
        Some(TgFault::AnswerDropped)
    );
}

#[tokio::test]
async fn an_unknown_method_answers_404_as_telegram_does() {
    let fake = FakeTelegram::start().await;
    let answer = reqwest::Client::new()
        .post(format!("{}bot{BOT_TOKEN}/sendNonsense", fake.api_url()))
        .json(&serde_json::json!({ "chat_id": 1 }))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 404);
    let body: serde_json::Value = answer.json().await.unwrap();
    assert_eq!(
        body,
        serde_json::json!({ "ok": false, "error_code": 404, "description": "Not Found" })
    );
    bot(&fake)
        .send_chat_action(ChatId(1), teloxide::types::ChatAction::Typing)
        .await
        .expect("a known method that changes nothing still answers true");
}

/// Slow on purpose: teloxide sleeps 10 s after any 5xx before reading the body.
#[tokio::test]
async fn a_server_error_surfaces_as_invalid_json_after_teloxides_10_s_delay() {
    let fake = FakeTelegram::start().await;
    fake.fail_next("sendMessage", TgFault::ServerError);
    let started = Instant::now();
    let err = bot(&fake).send_message(ChatId(9), "x").await.expect_err("502");
    assert!(matches!(err, RequestError::InvalidJson { .. }), "{err:?}");
    assert!(started.elapsed() >= Duration::from_secs(10));
}

#[tokio::test]
async fn answer_callback_query_answers_a_pressed_button_once() {
    let fake = FakeTelegram::start().await;
    let bot = bot(&fake);
    let chat = TgChat::Private(11);
    let keyboard = InlineKeyboardMarkup::new([[InlineKeyboardButton::callback("Cancel", "cancel:1")]]);
    let sent = bot
        .send_message(ChatId(11), "queued")
        .reply_markup(keyboard)
        .await
        .unwrap();
    assert!(sent.reply_markup().is_some(), "inline keyboards are echoed");
    assert!(fake.bot_messages(chat)[0].reply_markup.is_some());

    let query_id = fake.press_button(chat, &TgUser::new(11), sent.id.0, "cancel:1");
    let updates = next_updates(&bot, 0).await;
    let UpdateKind::CallbackQuery(query) = &updates[0].kind else {
        panic!("{updates:?}")
    };
    assert_eq!(query.id.0, query_id);
    assert_eq!(query.data.as_deref(), Some("cancel:1"));
    assert_eq!(query.regular_message().map(|m| m.id), Some(sent.id));

    bot.answer_callback_query(query.id.clone())
        .text("Cancelled")
        .await
        .expect("answered");
    assert_eq!(
        fake.calls_to("answerCallbackQuery")[0].params["text"],
        "Cancelled"
    );
    let again = bot
        .answer_callback_query(query.id.clone())
        .await
        .expect_err("answered twice");
    assert!(
        matches!(again, RequestError::Api(ApiError::InvalidQueryId)),
        "{again:?}"
    );

    // Editing the text without reply_markup drops the keyboard, as Telegram does.
    bot.edit_message_text(ChatId(11), sent.id, "cancelled")
        .await
        .unwrap();
    assert_eq!(fake.bot_messages(chat)[0].reply_markup, None);
}

#[tokio::test]
async fn wait_for_panics_with_the_call_dump_on_timeout() {
    let fake = FakeTelegram::start().await;
    bot(&fake).get_me().await.unwrap();
    let waited = tokio::spawn({
        let fake = fake.clone();
        async move {
            fake.wait_for("something that never happens", Duration::from_millis(100), |_| {
                false
            })
            .await
        }
    });
    let panic = waited.await.expect_err("times out").into_panic();
    let text = panic.downcast_ref::<String>().expect("formatted panic");
    assert!(
        text.contains("something that never happens") && text.contains("getme"),
        "{text}"
    );
}

#[tokio::test]
async fn a_reply_to_a_photo_carries_the_photo_in_reply_to_message() {
    let fake = FakeTelegram::start().await;
    let bot = bot(&fake);
    let chat = TgChat::Private(12);
    let user = TgUser::new(12);
    let photo = fake.send_photo(chat, &user, None, vec![1, 2, 3]);
    let reply = fake.send_reply(chat, &user, "/i2v make it move", photo);

    let updates = next_updates(&bot, 0).await;
    let UpdateKind::Message(msg) = &updates[1].kind else {
        panic!("{updates:?}")
    };
    assert_eq!(msg.id, MessageId(reply));
    let original = msg.reply_to_message().expect("reply_to_message");
    assert_eq!(original.id, MessageId(photo));
    assert_eq!(original.photo().map(<[_]>::len), Some(3));
}

#[tokio::test]
async fn command_and_chat_action_methods_parse() {
    let fake = FakeTelegram::start().await;
    let bot = bot(&fake);
    bot.set_my_commands(Cmd::bot_commands())
        .await
        .expect("setMyCommands");
    let commands = bot.get_my_commands().await.expect("getMyCommands parses");
    assert_eq!(commands.len(), 1);
    assert_eq!(commands[0].command, "t2v");
    bot.delete_my_commands().await.expect("deleteMyCommands");
    assert!(bot.get_my_commands().await.unwrap().is_empty());
    bot.send_chat_action(ChatId(5), teloxide::types::ChatAction::UploadVideo)
        .await
        .expect("sendChatAction");
    assert_eq!(
        fake.calls_to("sendChatAction")[0].params["action"],
        "upload_video"
    );
}

#[tokio::test]
async fn url_encoded_and_get_requests_are_understood_too() {
    let fake = FakeTelegram::start().await;
    let client = reqwest::Client::new();
    let url = format!("{}bot{BOT_TOKEN}/sendMessage", fake.api_url());
    let keyboard = r#"{"inline_keyboard":[[{"text":"A","callback_data":"a"}]]}"#;
    let body: serde_json::Value = client
        .post(&url)
        .form(&[("chat_id", "5"), ("text", "hi"), ("reply_markup", keyboard)])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["result"]["text"], "hi", "{body}");
    let call = &fake.calls_to("sendmessage")[0];
    assert_eq!(call.params["chat_id"], 5);
    assert_eq!(call.params["reply_markup"]["inline_keyboard"][0][0]["text"], "A");

    let me: serde_json::Value = client
        .get(format!("{}bot{BOT_TOKEN}/getMe", fake.api_url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["result"]["username"], BOT_USERNAME);
}
