//! The further modes in the chat, end to end: ➕ Extend and 🔊 Sound under a delivered video,
//! `/extend`, `/sound` and `/say` as replies to it; bad combinations answered with the expected
//! form; a web login told that the modes need an API key; a PixVerse refusal said in the chat.

use serde_json::Value;

use crate::support::{
    app::{DEADLINE, OPERATOR_KEY, TestBot, private_user},
    fake_pixverse::FakeFault,
    fake_telegram::{BOT_USERNAME, BotMessage, TgChat, TgUser},
};

/// `/t2v` in `chat`, delivered: returns the video message and its task id (from its buttons).
async fn delivered_video(bot: &TestBot, chat: TgChat, user: &TgUser, prompt: &str) -> (BotMessage, i64) {
    let before = videos_in(bot, chat).len();
    bot.tg.send_text(chat, user, &format!("/t2v {prompt}"));
    bot.wait_for_videos(chat, before + 1).await;
    let video = videos_in(bot, chat).pop().expect("the video");
    let task = task_of(&video);
    // The bot records the delivery just after Telegram's answer; a press on the video's buttons
    // before that is (rightly) told the video is not finished.
    let storage = bot.storage().await;
    let started = std::time::Instant::now();
    while storage
        .task(pixverse_bot::domain::TaskId(task))
        .await
        .unwrap()
        .is_none_or(|t| t.state != pixverse_bot::domain::TaskState::Delivered)
    {
        assert!(
            started.elapsed() < DEADLINE,
            "task {task} never recorded as delivered"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    (video, task)
}

/// Waits until the bot answers a button press with a text containing `needle`.
async fn wait_for_button_answer(bot: &TestBot, needle: &str) {
    bot.tg
        .wait_for(&format!("a button answer with {needle:?}"), DEADLINE, |tg| {
            tg.calls_to("answerCallbackQuery")
                .iter()
                .any(|c| c.params["text"].as_str().is_some_and(|t| t.contains(needle)))
        })
        .await;
}

fn videos_in(bot: &TestBot, chat: TgChat) -> Vec<BotMessage> {
    bot.tg
        .bot_messages(chat)
        .into_iter()
        .filter(|m| m.video_file_id.is_some())
        .collect()
}

/// The task id a result button under `video` names, and the buttons' data.
fn task_of(video: &BotMessage) -> i64 {
    let data = button_data(video);
    let again = data
        .iter()
        .find(|d| d.starts_with("again:"))
        .expect("an Again button");
    again["again:".len()..].parse().expect("a task id")
}

fn button_data(message: &BotMessage) -> Vec<String> {
    let markup = message.reply_markup.as_ref().expect("buttons");
    markup["inline_keyboard"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|row| row.as_array().cloned().unwrap_or_default())
        .filter_map(|button| button["callback_data"].as_str().map(str::to_owned))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_extend_button_and_extend_command_continue_a_delivered_video() {
    let bot = TestBot::start().await;
    let (chat, user) = private_user(3001);
    let (video, task) = delivered_video(&bot, chat, &user, "a fox running through snow").await;
    let data = button_data(&video);
    assert!(
        data.contains(&format!("ext:{task}")) && data.contains(&format!("snd:{task}")),
        "{data:?}"
    );

    // ➕ Extend: the same prompt continued, delivered as a reply to the video.
    bot.tg
        .press_button(chat, &user, video.message_id, &format!("ext:{task}"));
    bot.wait_for_videos(chat, 2).await;
    let extended = videos_in(&bot, chat).pop().unwrap();
    assert_eq!(extended.reply_to, Some(video.message_id));
    assert!(
        button_data(&extended).iter().any(|d| d.starts_with("ext:")),
        "an extension can be extended"
    );
    // /extend <prompt> as a reply to the video.
    let request = bot.tg.send_reply(
        chat,
        &user,
        "/extend the fox dives into a drift",
        video.message_id,
    );
    bot.wait_for_videos(chat, 3).await;
    assert_eq!(videos_in(&bot, chat).pop().unwrap().reply_to, Some(request));

    let made = bot.px.videos();
    let kinds: Vec<&str> = made.iter().map(|v| v.kind.as_str()).collect();
    assert_eq!(kinds, ["t2v", "extend", "extend"]);
    assert_eq!(made[1].prompt, "a fox running through snow");
    assert_eq!(made[2].prompt, "the fox dives into a drift");
    let source = format!("video {}", made[0].id);
    assert!(
        made[1..]
            .iter()
            .all(|v| v.image.as_deref() == Some(source.as_str()) && v.account == OPERATOR_KEY)
    );
    bot.tg.send_text(chat, &user, "/history");
    let history = bot.wait_for_text(chat, "Your last videos").await;
    assert!(history.contains("➕"), "{history}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sound_and_say_as_replies_remake_a_delivered_video() {
    let bot = TestBot::start().await;
    let (chat, user) = private_user(3002);
    let (video, task) = delivered_video(&bot, chat, &user, "a quiet forest").await;

    // 🔊 Sound asks for the description.
    bot.tg
        .press_button(chat, &user, video.message_id, &format!("snd:{task}"));
    wait_for_button_answer(&bot, "/sound").await;
    bot.tg
        .send_reply(chat, &user, "/sound birdsong and wind", video.message_id);
    bot.wait_for_videos(chat, 2).await;
    bot.tg
        .send_reply(chat, &user, "/say Welcome to the forest", video.message_id);
    bot.wait_for_videos(chat, 3).await;

    let made = bot.px.videos();
    let kinds: Vec<&str> = made.iter().map(|v| v.kind.as_str()).collect();
    assert_eq!(kinds, ["t2v", "sound_effect", "lip_sync"]);
    assert_eq!(made[1].prompt, "birdsong and wind");
    assert_eq!(made[2].prompt, "Welcome to the forest");
    let speech: Vec<Value> = bot
        .px
        .requests()
        .into_iter()
        .filter(|r| r.path.ends_with("/lip_sync/generate"))
        .map(|r| r.body)
        .collect();
    assert_eq!(speech[0]["lip_sync_tts_speaker_id"], "Auto");
    assert_eq!(speech[0]["source_video_id"], made[0].id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_combinations_get_the_expected_form_and_reach_nothing() {
    let bot = TestBot::start().await;
    let (chat, user) = private_user(3003);
    let (video, _) = delivered_video(&bot, chat, &user, "a paper boat").await;

    bot.tg.send_text(chat, &user, "/extend more waves");
    bot.wait_for_text(chat, "Reply to one of your videos with /extend")
        .await;
    bot.tg.send_reply(chat, &user, "/sound", video.message_id);
    bot.wait_for_text(chat, "Describe the sound").await;
    let long = "a".repeat(201);
    bot.tg
        .send_reply(chat, &user, &format!("/say {long}"), video.message_id);
    bot.wait_for_text(chat, "That text has 201 characters").await;
    bot.tg
        .send_reply(chat, &user, "/extend more waves --fast --d 8", video.message_id);
    bot.wait_for_text(chat, "Fast motion works only").await;

    // Someone else's video, in a group: not theirs to extend.
    let group = TgChat::Group(-3003);
    let owner = TgUser::new(3004);
    let stranger = TgUser::new(3005);
    bot.tg
        .send_text(group, &owner, &format!("/t2v@{BOT_USERNAME} a lighthouse"));
    bot.wait_for_videos(group, 1).await;
    let theirs = videos_in(&bot, group).pop().unwrap();
    bot.tg
        .send_reply(group, &stranger, "/extend the storm comes", theirs.message_id);
    bot.wait_for_text(group, "one of your own videos").await;

    let kinds: Vec<String> = bot.px.videos().into_iter().map(|v| v.kind).collect();
    assert_eq!(kinds, ["t2v", "t2v"], "no mode reached PixVerse");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_web_login_is_told_that_the_modes_need_an_api_key() {
    let bot = TestBot::start_with(|env| {
        env.remove("PIXVERSE_API_KEY");
    })
    .await;
    bot.px.add_web_account("webby", "pw-secret");
    let (chat, user) = private_user(3006);
    bot.tg.send_text(chat, &user, "/login webby pw-secret");
    bot.wait_for_text(chat, "webby").await;
    let (video, task) = delivered_video(&bot, chat, &user, "a night market").await;

    bot.tg
        .send_reply(chat, &user, "/extend lanterns rise", video.message_id);
    bot.wait_for_text(chat, "Extending a video needs a PixVerse Platform API key")
        .await;
    bot.tg
        .press_button(chat, &user, video.message_id, &format!("ext:{task}"));
    wait_for_button_answer(&bot, "API key").await;
    assert_eq!(bot.px.videos().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pixverse_refusal_of_a_mode_is_said_in_the_chat() {
    let bot = TestBot::start().await;
    let (chat, user) = private_user(3007);
    let (video, _) = delivered_video(&bot, chat, &user, "a city at night").await;
    bot.px
        .fail_next("/sound_effect/generate", FakeFault::ErrCode(500054));
    bot.tg.send_reply(chat, &user, "/sound gunfire", video.message_id);
    bot.wait_for_text(chat, "content filter").await;
    assert_eq!(bot.px.videos().len(), 1);
    assert_eq!(videos_in(&bot, chat).len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_voice_message_replying_to_a_video_makes_it_speak_that_audio() {
    let bot = TestBot::start().await;
    let (chat, user) = private_user(3008);
    let (video, _) = delivered_video(&bot, chat, &user, "a talking cat").await;
    let voice = b"OggS voice of the user".to_vec();
    let request = bot
        .tg
        .send_voice_reply(chat, &user, voice.clone(), video.message_id);
    bot.wait_for_videos(chat, 2).await;
    assert_eq!(videos_in(&bot, chat).pop().unwrap().reply_to, Some(request));

    let uploads = bot.px.uploaded_images();
    let (media, size) = uploads
        .iter()
        .find(|(name, _)| name.starts_with("media:"))
        .expect("the audio upload");
    assert_eq!(*size, voice.len());
    let submit = bot
        .px
        .requests()
        .into_iter()
        .find(|r| r.path.ends_with("/lip_sync/generate"))
        .expect("the lip-sync submit");
    assert_eq!(format!("media:{}", submit.body["audio_media_id"]), *media);
    assert_eq!(bot.px.videos()[1].kind, "lip_sync");

    // Not a reply to a video: how to do it.
    bot.tg.send_voice_reply(chat, &user, b"OggS".to_vec(), request);
    bot.wait_for_text(chat, "voice message or an audio file").await;
    assert_eq!(bot.px.videos().len(), 2);
}

fn jpeg(len: usize, fill: u8) -> Vec<u8> {
    let mut bytes = vec![0xFF, 0xD8, 0xFF, 0xE0];
    bytes.resize(len, fill);
    bytes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_album_of_two_photos_with_a_caption_makes_a_transition() {
    let bot = TestBot::start().await;
    let (chat, user) = private_user(3009);
    let album = bot.tg.send_album(
        chat,
        &user,
        "day turns to night",
        vec![jpeg(5_000, 1), jpeg(6_000, 2)],
    );
    bot.wait_for_videos(chat, 1).await;
    assert_eq!(videos_in(&bot, chat)[0].reply_to, Some(album[0]));

    let made = bot.px.videos();
    assert_eq!(
        (made[0].kind.as_str(), made[0].prompt.as_str()),
        ("transition", "day turns to night")
    );
    let sizes: Vec<usize> = bot
        .px
        .uploaded_images()
        .into_iter()
        .map(|(_, size)| size)
        .collect();
    assert_eq!(sizes, [5_000, 6_000], "the first photo first");
    assert!(
        !bot.tg
            .bot_messages(chat)
            .iter()
            .any(|m| m.text.as_deref().is_some_and(|t| t.contains("caption"))),
        "no complaint about the photo without a caption"
    );
    bot.tg.send_text(chat, &user, "/history");
    let history = bot.wait_for_text(chat, "Your last videos").await;
    assert!(history.contains("🎞"), "{history}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_album_naming_its_photos_makes_a_fusion_and_names_that_do_not_fit_get_the_form() {
    let bot = TestBot::start().await;
    let (chat, user) = private_user(3010);
    bot.tg.send_album(
        chat,
        &user,
        "@cat naps on @beach --bg beach --model v4.5",
        vec![jpeg(5_000, 1), jpeg(6_000, 2)],
    );
    bot.wait_for_videos(chat, 1).await;
    let submit = bot
        .px
        .requests()
        .into_iter()
        .find(|r| r.path.ends_with("/fusion/generate"))
        .expect("the fusion submit");
    let roles: Vec<(String, String)> = submit.body["image_references"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["ref_name"].as_str().unwrap().to_owned(),
                r["type"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        roles,
        [
            ("cat".to_owned(), "subject".to_owned()),
            ("beach".to_owned(), "background".to_owned())
        ]
    );
    assert_eq!(submit.body["prompt"], "@cat naps on @beach");

    bot.tg.send_album(
        chat,
        &user,
        "@cat naps on the sand --refs cat,beach",
        vec![jpeg(5_000, 3), jpeg(6_000, 4)],
    );
    let answer = bot
        .wait_for_text(chat, "@cat naps on @beach (or --refs cat,beach)")
        .await;
    assert!(answer.contains("beach"), "{answer}");
    assert_eq!(bot.px.videos().len(), 1, "the second album reached nothing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_voice_picked_in_voices_is_the_one_say_speaks_with() {
    let bot = TestBot::start().await;
    let (chat, user) = private_user(3011);
    let (video, _) = delivered_video(&bot, chat, &user, "a singing bird").await;
    bot.tg.send_text(chat, &user, "/voices");
    bot.wait_for_text(chat, "Pick the voice").await;
    let list = bot
        .tg
        .bot_messages(chat)
        .into_iter()
        .rev()
        .find(|m| m.text.as_deref().is_some_and(|t| t.contains("Pick the voice")))
        .unwrap();
    let data = button_data(&list);
    assert!(data.contains(&"voice:Emily".to_owned()), "{data:?}");
    bot.tg.press_button(chat, &user, list.message_id, "voice:Emily");
    wait_for_button_answer(&bot, "Emily").await;

    bot.tg
        .send_reply(chat, &user, "/say Good morning", video.message_id);
    bot.wait_for_videos(chat, 2).await;
    let submit = bot
        .px
        .requests()
        .into_iter()
        .find(|r| r.path.ends_with("/lip_sync/generate"))
        .expect("the lip-sync submit");
    assert_eq!(submit.body["lip_sync_tts_speaker_id"], "Emily");
}
