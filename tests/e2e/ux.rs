//! Feeling native in Telegram: the settings menu, flags over settings, the buttons under results
//! and failures, /history re-sends, two languages, the progress message's pace and bar, and the
//! command menus per language and scope.

use std::time::Duration;

use pixverse_bot::domain::{GenerationParams, Model, TaskId, UserId};
use serde_json::Value;

use crate::support::{
    app::{DEADLINE, TestBot, private_user},
    fake_telegram::{BotMessage, TgCall, TgChat, TgUser},
};

/// The JSON bodies of every generate request the fake PixVerse received, oldest first.
fn generate_bodies(bot: &TestBot) -> Vec<Value> {
    bot.px
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST" && r.path.ends_with("/generate"))
        .map(|r| r.body)
        .collect()
}

/// The `callback_data` of every button under `message`, row by row.
fn button_data(message: &BotMessage) -> Vec<String> {
    message
        .reply_markup
        .as_ref()
        .and_then(|m| m["inline_keyboard"].as_array())
        .into_iter()
        .flatten()
        .filter_map(Value::as_array)
        .flatten()
        .filter_map(|b| b["callback_data"].as_str().map(str::to_owned))
        .collect()
}

fn button_labels(message: &BotMessage) -> Vec<String> {
    message
        .reply_markup
        .as_ref()
        .and_then(|m| m["inline_keyboard"].as_array())
        .into_iter()
        .flatten()
        .filter_map(Value::as_array)
        .flatten()
        .filter_map(|b| b["text"].as_str().map(str::to_owned))
        .collect()
}

fn videos(bot: &TestBot, chat: TgChat) -> Vec<BotMessage> {
    bot.tg
        .bot_messages(chat)
        .into_iter()
        .filter(|m| m.video_file_id.is_some())
        .collect()
}

fn message(bot: &TestBot, chat: TgChat, id: i32) -> BotMessage {
    bot.tg
        .bot_messages(chat)
        .into_iter()
        .find(|m| m.message_id == id)
        .expect("the bot's message")
}

/// Presses a button and waits until the bot answers the callback; returns the answer call.
async fn press(bot: &TestBot, chat: TgChat, user: &TgUser, message_id: i32, data: &str) -> TgCall {
    let id = bot.tg.press_button(chat, user, message_id, data);
    let answered = |tg: &crate::support::fake_telegram::FakeTelegram| {
        tg.calls_to("answerCallbackQuery")
            .into_iter()
            .find(|c| c.params["callback_query_id"].as_str() == Some(id.as_str()))
    };
    bot.tg
        .wait_for(&format!("an answer to {data}"), DEADLINE, |tg| {
            answered(tg).is_some()
        })
        .await;
    let call = answered(&bot.tg).expect("just seen");
    assert_eq!(call.error, None, "the callback answer is accepted");
    call
}

/// Waits for the bot's latest message in `chat` that carries buttons and whose text or caption
/// contains `needle`.
async fn wait_for_message(bot: &TestBot, chat: TgChat, needle: &str) -> BotMessage {
    let find = |tg: &crate::support::fake_telegram::FakeTelegram| {
        tg.bot_messages(chat).into_iter().rev().find(|m| {
            m.text
                .as_deref()
                .or(m.caption.as_deref())
                .is_some_and(|t| t.contains(needle))
        })
    };
    bot.tg
        .wait_for(&format!("a message with {needle:?}"), DEADLINE, |tg| {
            find(tg).is_some()
        })
        .await;
    find(&bot.tg).expect("just seen")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_settings_menu_edits_itself_in_place_and_shapes_the_next_video() {
    let bot = TestBot::start().await;
    let (chat, user) = private_user(4001);
    bot.tg.send_text(chat, &user, "/settings");
    let menu = wait_for_message(&bot, chat, "Model: v5").await;
    assert!(button_data(&menu).contains(&"set:model".to_owned()), "{menu:?}");
    assert!(
        !menu.text.as_deref().unwrap().contains("Audio"),
        "v5 has no sound, so audio is not offered"
    );

    // Open the model page: the same message now lists the models, the current one marked.
    let answer = press(&bot, chat, &user, menu.message_id, "set:model").await;
    assert_eq!(answer.params.get("show_alert"), None);
    let page = message(&bot, chat, menu.message_id);
    assert_eq!(page.edits, 1, "edited in place");
    assert!(button_labels(&page).contains(&"✅ v5".to_owned()), "{page:?}");
    assert!(button_data(&page).iter().all(|d| d.len() <= 64));

    // Choose v5.5: saved, back on the main page, audio now offered.
    let answer = press(&bot, chat, &user, menu.message_id, "set:model:v5.5").await;
    assert!(answer.params["text"].as_str().unwrap().contains("Saved"));
    let home = message(&bot, chat, menu.message_id);
    let text = home.text.clone().unwrap();
    assert!(
        text.contains("Model: v5.5") && text.contains("Audio: off"),
        "{text}"
    );

    // Durations offered follow the model: v5.5 at 540p makes 5, 8 and 10 s.
    press(&bot, chat, &user, menu.message_id, "set:d").await;
    let durations = button_data(&message(&bot, chat, menu.message_id));
    assert_eq!(durations, ["set:d:5", "set:d:8", "set:d:10", "set"]);
    press(&bot, chat, &user, menu.message_id, "set:d:8").await;
    press(&bot, chat, &user, menu.message_id, "set:ar:9:16").await;

    // Fast motion needs 5 s: the tap is explained, nothing is saved.
    let refused = press(&bot, chat, &user, menu.message_id, "set:motion:fast").await;
    assert_eq!(refused.params["show_alert"], Value::Bool(true));
    assert!(
        refused.params["text"].as_str().unwrap().contains("Fast motion"),
        "{refused:?}"
    );
    let text = message(&bot, chat, menu.message_id).text.unwrap();
    assert!(
        text.contains("Motion: normal") && text.contains("Duration: 8 s"),
        "{text}"
    );
    assert_eq!(
        bot.tg.bot_messages(chat).len(),
        1,
        "one menu message, edited in place"
    );

    // The next request uses the saved settings.
    bot.tg.send_text(chat, &user, "/t2v a heron in the reeds");
    bot.wait_for_videos(chat, 1).await;
    let body = &generate_bodies(&bot)[0];
    assert_eq!(body["model"], "v5.5");
    assert_eq!(body["duration"], 8);
    assert_eq!(body["aspect_ratio"], "9:16");
    assert_eq!(bot.px.videos()[0].model, "v5.5");
    let storage = bot.storage().await;
    let saved = storage.settings_of(4001).await.unwrap();
    assert_eq!((saved.model, saved.duration), (Model::V5_5, 8));
    storage.close().await;
    assert_eq!(bot.px.violations(), Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flags_override_the_saved_settings_and_invalid_flags_are_refused() {
    let bot = TestBot::start().await;
    let (chat, user) = private_user(4002);
    bot.tg.send_text(chat, &user, "/help");
    bot.wait_for_text(chat, "/settings").await;
    let storage = bot.storage().await;
    let saved = GenerationParams {
        model: Model::V6,
        duration: 12,
        ..Default::default()
    };
    storage.save_settings(4002, &saved).await.unwrap();
    storage.close().await;

    bot.tg
        .send_text(chat, &user, "/t2v a red kite --ar 21:9 --q 720p");
    bot.wait_for_videos(chat, 1).await;
    let body = &generate_bodies(&bot)[0];
    assert_eq!(body["model"], "v6", "from the settings");
    assert_eq!(body["duration"], 12, "from the settings");
    assert_eq!(body["aspect_ratio"], "21:9", "from the flag");
    assert_eq!(body["quality"], "720p", "from the flag");

    bot.tg.send_text(chat, &user, "/t2v a red kite --d 99");
    let refusal = bot.wait_for_text(chat, "99 is not a valid value").await;
    assert!(refusal.contains("--d") && refusal.contains("1–15"), "{refusal}");
    bot.tg
        .send_text(chat, &user, "/t2v a red kite --model v5 --d 5 --ar 21:9");
    let refusal = bot.wait_for_text(chat, "does not support 21:9").await;
    assert!(refusal.contains("v5"), "{refusal}");
    assert_eq!(
        generate_bodies(&bot).len(),
        1,
        "nothing more was sent to PixVerse"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn again_and_new_seed_buttons_queue_new_tasks_with_the_right_seed() {
    let bot = TestBot::start().await;
    let (chat, user) = private_user(4003);
    let request = bot.tg.send_text(chat, &user, "/t2v a fox in snow --seed 42");
    bot.wait_for_videos(chat, 1).await;
    let video = videos(&bot, chat).remove(0);
    assert!(video.caption.as_deref().unwrap().contains("seed 42"));
    assert_eq!(button_data(&video), ["again:1", "seed:1", "ext:1", "snd:1"]);
    assert_eq!(
        button_labels(&video),
        ["🔁 Again", "🎲 New seed", "➕ Extend", "🔊 Sound"]
    );

    // Again: the same request, the same seed, a new progress message replying to the request.
    let answer = press(&bot, chat, &user, video.message_id, "again:1").await;
    assert!(answer.params["text"].as_str().unwrap().contains("Queued"));
    bot.wait_for_videos(chat, 2).await;
    // New seed: the same request with another seed.
    press(&bot, chat, &user, video.message_id, "seed:1").await;
    bot.wait_for_videos(chat, 3).await;

    let bodies = generate_bodies(&bot);
    assert_eq!(bodies.len(), 3);
    assert!(bodies.iter().all(|b| b["prompt"] == "a fox in snow"));
    assert_eq!(
        (bodies[0]["seed"].as_i64(), bodies[1]["seed"].as_i64()),
        (Some(42), Some(42))
    );
    let new_seed = bodies[2]["seed"].as_i64().expect("a seed is always sent");
    assert_ne!(new_seed, 42);
    let last = videos(&bot, chat).pop().unwrap();
    assert!(
        last.caption
            .as_deref()
            .unwrap()
            .contains(&format!("seed {new_seed}")),
        "the caption shows the seed used: {last:?}"
    );
    let progress: Vec<_> = bot
        .tg
        .bot_messages(chat)
        .into_iter()
        .filter(|m| m.text.is_some())
        .collect();
    assert_eq!(progress.len(), 3, "one progress message per task");
    assert!(progress.iter().all(|m| m.reply_to == Some(request)));
    assert!(videos(&bot, chat).iter().all(|m| m.reply_to == Some(request)));

    // A task that is not there (or not of this chat) gets a polite answer and nothing else.
    let answer = press(&bot, chat, &user, video.message_id, "again:999").await;
    assert!(answer.params["text"].as_str().unwrap().contains("can't find"));
    let (other_chat, other) = private_user(4004);
    bot.tg.send_text(other_chat, &other, "/t2v a cat");
    bot.wait_for_videos(other_chat, 1).await;
    let their_video = videos(&bot, other_chat).remove(0);
    let answer = press(&bot, other_chat, &other, their_video.message_id, "again:1").await;
    assert!(answer.params["text"].as_str().unwrap().contains("can't find"));
    assert_eq!(bot.task_count().await, 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_video_without_a_seed_shows_the_seed_used_and_again_picks_a_new_one() {
    let bot = TestBot::start().await;
    let (chat, user) = private_user(4005);
    bot.tg.send_text(chat, &user, "/t2v waves at dusk");
    bot.wait_for_videos(chat, 1).await;
    let first_seed = generate_bodies(&bot)[0]["seed"]
        .as_i64()
        .expect("the bot picks a seed");
    let video = videos(&bot, chat).remove(0);
    assert!(video.caption.unwrap().contains(&format!("seed {first_seed}")));
    press(&bot, chat, &user, video.message_id, "again:1").await;
    bot.wait_for_videos(chat, 2).await;
    let second_seed = generate_bodies(&bot)[1]["seed"]
        .as_i64()
        .expect("again sends a seed too");
    assert_ne!(second_seed, first_seed, "a new one");
    let again = videos(&bot, chat).pop().unwrap();
    assert!(
        again.caption.unwrap().contains(&format!("seed {second_seed}")),
        "and shows it"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_a_group_the_presser_of_again_becomes_the_requester() {
    let bot = TestBot::start().await;
    let group = TgChat::Group(-1_004_006);
    let (alice, bob) = (TgUser::new(4006), TgUser::new(4007));
    let request = bot.tg.send_text(
        group,
        &alice,
        &format!(
            "/t2v@{} a lighthouse",
            crate::support::fake_telegram::BOT_USERNAME
        ),
    );
    bot.wait_for_videos(group, 1).await;
    let video = videos(&bot, group).remove(0);
    press(&bot, group, &bob, video.message_id, "again:1").await;
    bot.wait_for_videos(group, 2).await;

    let storage = bot.storage().await;
    let task = storage.task(TaskId(2)).await.unwrap().expect("a new task");
    assert_eq!(task.user_id, UserId(4007), "Bob asked for this one");
    assert_eq!(task.request_message_id, i64::from(request));
    storage.close().await;
    let second = videos(&bot, group).pop().unwrap();
    assert_eq!(second.reply_to, Some(request));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_on_a_failed_generation_queues_it_again_and_moderation_offers_none() {
    let bot = TestBot::start().await;
    let (chat, user) = private_user(4008);
    bot.px.set_final_status(8);
    bot.tg.send_text(chat, &user, "/t2v a storm --seed 7");
    let failed = wait_for_message(&bot, chat, "could not generate").await;
    assert_eq!(button_data(&failed), ["retry:1"]);

    bot.px.set_final_status(1);
    let answer = press(&bot, chat, &user, failed.message_id, "retry:1").await;
    assert!(answer.params["text"].as_str().unwrap().contains("Queued"));
    bot.wait_for_videos(chat, 1).await;
    assert_eq!(
        button_data(&message(&bot, chat, failed.message_id)),
        Vec::<String>::new(),
        "the Retry button goes away once used"
    );
    let bodies = generate_bodies(&bot);
    assert_eq!(bodies.len(), 2);
    assert_eq!(bodies[1]["seed"], 7);
    assert_eq!(bodies[1]["prompt"], "a storm");

    bot.px.set_final_status(7);
    bot.tg.send_text(chat, &user, "/t2v something naughty");
    let moderated = wait_for_message(&bot, chat, "content filter").await;
    assert_eq!(
        button_data(&moderated),
        Vec::<String>::new(),
        "retrying cannot help"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_resends_a_delivered_video_by_its_file_id() {
    let bot = TestBot::start().await;
    let (chat, user) = private_user(4009);
    bot.tg.send_text(chat, &user, "/t2v a paper boat");
    bot.wait_for_videos(chat, 1).await;
    let delivered = videos(&bot, chat).remove(0);
    let file_id = delivered.video_file_id.clone().unwrap();
    bot.px.set_final_status(8);
    bot.tg.send_text(chat, &user, "/t2v a broken one");
    wait_for_message(&bot, chat, "could not generate").await;

    bot.tg.send_text(chat, &user, "/history");
    let history = wait_for_message(&bot, chat, "Your last videos").await;
    let text = history.text.clone().unwrap();
    assert!(
        text.contains("a paper boat") && text.contains("a broken one"),
        "{text}"
    );
    assert_eq!(
        button_data(&history),
        ["hist:1"],
        "only delivered videos can be re-sent"
    );

    let downloads_before = bot.px.requests().len();
    press(&bot, chat, &user, history.message_id, "hist:1").await;
    bot.wait_for_videos(chat, 2).await;
    let sends = bot.tg.calls_to("sendVideo");
    let resend = sends.last().unwrap();
    assert_eq!(resend.params["video"], file_id.as_str());
    assert!(resend.files.is_empty(), "no upload: {:?}", resend.files);
    assert_eq!(
        bot.px.requests().len(),
        downloads_before,
        "nothing fetched from PixVerse"
    );

    // Someone else cannot fetch it through forged data.
    let (other_chat, other) = private_user(4010);
    bot.tg.send_text(other_chat, &other, "/history");
    let theirs = wait_for_message(&bot, other_chat, "no videos yet").await;
    let answer = press(&bot, other_chat, &other, theirs.message_id, "hist:1").await;
    assert!(answer.params["text"].as_str().unwrap().contains("can't find"));
    assert_eq!(bot.tg.calls_to("sendVideo").len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_russian_user_gets_russian_until_language_switches_to_english() {
    let bot = TestBot::start().await;
    let chat = TgChat::Private(4011);
    let user = TgUser::new(4011).lang("ru");
    bot.tg.send_text(chat, &user, "/t2v лиса в снегу");
    bot.wait_for_videos(chat, 1).await;
    bot.wait_for_text(chat, "Доставлено").await;
    let video = videos(&bot, chat).remove(0);
    assert_eq!(
        button_labels(&video),
        ["🔁 Ещё раз", "🎲 Новый seed", "➕ Продолжить", "🔊 Звук"]
    );

    bot.tg.send_text(chat, &user, "/language");
    let menu = wait_for_message(&bot, chat, "Выберите язык").await;
    assert_eq!(button_data(&menu), ["lang:en", "lang:ru"]);
    let answer = press(&bot, chat, &user, menu.message_id, "lang:en").await;
    assert!(answer.params["text"].as_str().unwrap().contains("English"));
    assert!(
        message(&bot, chat, menu.message_id)
            .text
            .unwrap()
            .contains("English")
    );

    // The stored choice wins over Telegram's language, in handlers and in the worker.
    bot.tg.send_text(chat, &user, "/t2v a fox in snow");
    bot.wait_for_videos(chat, 2).await;
    bot.wait_for_text(chat, "Delivered").await;
    let last = videos(&bot, chat).pop().unwrap();
    assert_eq!(
        button_labels(&last),
        ["🔁 Again", "🎲 New seed", "➕ Extend", "🔊 Sound"]
    );
    bot.tg.send_text(chat, &user, "/settings");
    wait_for_message(&bot, chat, "Your settings").await;

    let english = TgUser::new(4012);
    let chat2 = TgChat::Private(4012);
    bot.tg.send_text(chat2, &english, "/language");
    let menu = wait_for_message(&bot, chat2, "Choose your language").await;
    press(&bot, chat2, &english, menu.message_id, "lang:ru").await;
    bot.tg.send_text(chat2, &english, "/help");
    bot.wait_for_text(chat2, "Что я умею").await;
}

/// The edits of one progress message: (time, text), in order.
fn progress_edits(bot: &TestBot, chat: TgChat, message_id: i32) -> Vec<(std::time::Instant, String)> {
    bot.tg
        .calls_to("editMessageText")
        .into_iter()
        .filter(|c| c.params["chat_id"] == chat.id() && c.params["message_id"] == message_id)
        .map(|c| (c.at, c.params["text"].as_str().unwrap_or_default().to_owned()))
        .collect()
}

async fn check_progress_pace(chat: TgChat, user: TgUser, interval: Duration) {
    let bot = TestBot::start_with(|env| {
        env.insert("POLL_INTERVAL_MS".into(), "20".into());
        env.insert("PROGRESS_EDIT_INTERVAL_MS".into(), "100".into());
    })
    .await;
    bot.px
        .set_generation_time(Duration::from_millis(600), Duration::from_millis(600));
    let command = match chat {
        TgChat::Private(_) => "/t2v a slow sunrise".to_owned(),
        TgChat::Group(_) => format!(
            "/t2v@{} a slow sunrise",
            crate::support::fake_telegram::BOT_USERNAME
        ),
    };
    bot.tg.send_text(chat, &user, &command);
    bot.wait_for_videos(chat, 1).await;
    let progress = wait_for_message(&bot, chat, "Delivered").await;
    let edits = progress_edits(&bot, chat, progress.message_id);
    let generating: Vec<_> = edits.iter().filter(|(_, t)| t.contains("Generating")).collect();
    assert!(
        generating.iter().all(|(_, t)| t.contains('▱') && t.contains('%')),
        "{generating:?}"
    );
    assert!(generating.len() >= 2, "the message advances: {edits:?}");
    for pair in generating.windows(2) {
        let gap = pair[1].0 - pair[0].0;
        assert!(
            gap + Duration::from_millis(15) >= interval,
            "edits {gap:?} apart, the pace is {interval:?}: {edits:?}"
        );
    }
    let span = edits.last().unwrap().0 - edits[0].0;
    let bound = 3 + (span.as_millis() / interval.as_millis()) as usize + 1;
    assert!(
        edits.len() <= bound,
        "{} edits in {span:?}: {edits:?}",
        edits.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn progress_edits_keep_the_pace_and_show_a_progress_bar_in_a_private_chat() {
    let (chat, user) = private_user(4013);
    check_progress_pace(chat, user, Duration::from_millis(100)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn progress_edits_in_a_group_go_at_half_the_pace() {
    check_progress_pace(
        TgChat::Group(-1_004_014),
        TgUser::new(4014),
        Duration::from_millis(200),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn command_menus_are_registered_per_language_and_scope() {
    let bot = TestBot::start().await;
    bot.tg
        .wait_for("six command menus", DEADLINE, |tg| {
            tg.calls_to("setMyCommands").len() >= 6
        })
        .await;
    let menus = bot.tg.calls_to("setMyCommands");
    let menu = |scope: &str, lang: Option<&str>| -> Vec<(String, String)> {
        let call = menus
            .iter()
            .find(|c| c.params["scope"]["type"] == scope && c.params["language_code"].as_str() == lang)
            .unwrap_or_else(|| panic!("a {scope} menu for {lang:?}"));
        call.params["commands"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                (
                    c["command"].as_str().unwrap().trim_start_matches('/').to_owned(),
                    c["description"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    };
    let names = |m: Vec<(String, String)>| m.into_iter().map(|(c, _)| c).collect::<Vec<_>>();
    let private = names(menu("all_private_chats", None));
    for command in ["settings", "history", "language", "login", "apikey", "t2v"] {
        assert!(private.contains(&command.to_owned()), "{private:?}");
    }
    let group = names(menu("all_group_chats", None));
    assert!(group.contains(&"t2v".to_owned()) && group.contains(&"history".to_owned()));
    for command in ["login", "apikey", "settings"] {
        assert!(!group.contains(&command.to_owned()), "{group:?}");
    }
    let russian = menu("all_private_chats", Some("ru"));
    assert!(
        russian
            .iter()
            .any(|(c, d)| c == "settings" && d.contains("Модель"))
    );
    assert_eq!(names(menu("all_group_chats", Some("ru"))), group);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_in_a_group_point_to_the_private_chat_and_the_deep_link_opens_them() {
    let bot = TestBot::start().await;
    let group = TgChat::Group(-1_004_015);
    let user = TgUser::new(4015);
    bot.tg.send_text(
        group,
        &user,
        &format!("/settings@{}", crate::support::fake_telegram::BOT_USERNAME),
    );
    let answer = bot.wait_for_text(group, "private chat").await;
    assert!(answer.contains("start=settings"), "{answer}");
    let chat = TgChat::Private(4015);
    bot.tg.send_text(chat, &user, "/start settings");
    let menu = wait_for_message(&bot, chat, "Your settings").await;
    assert!(!button_data(&menu).is_empty());
    assert_eq!(bot.task_count().await, 0);
}
