//! `/effects` end to end: PixVerse's templates as paged buttons, a pick remembered (across a
//! restart) for the presser in that chat, the next photo made into an image-to-video with that
//! `template_id`; forged buttons refused; a PixVerse refusal said in the chat.

use crate::support::{
    app::{DEADLINE, TestBot, private_user},
    fake_pixverse::FakeFault,
    fake_telegram::{BOT_USERNAME, BotMessage, TgChat, TgUser},
};

/// The fake PixVerse's first template id (its templates are "Effect 0", "Effect 1", …).
const FIRST_TEMPLATE: i64 = 315_000_000_000_000_001;

fn jpeg(len: usize) -> Vec<u8> {
    let mut bytes = vec![0xFF, 0xD8, 0xFF, 0xE0];
    bytes.resize(len, 7);
    bytes
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

/// The bot's message in `chat` whose text contains `needle`, once it exists.
async fn message_with(bot: &TestBot, chat: TgChat, needle: &str) -> BotMessage {
    bot.wait_for_text(chat, needle).await;
    bot.tg
        .bot_messages(chat)
        .into_iter()
        .rev()
        .find(|m| m.text.as_deref().is_some_and(|t| t.contains(needle)))
        .expect("just seen")
}

/// Waits until a button press is answered with a text containing `needle`; whether as an alert.
async fn button_answer(bot: &TestBot, needle: &str) -> bool {
    let found = |tg: &crate::support::fake_telegram::FakeTelegram| {
        tg.calls_to("answerCallbackQuery")
            .into_iter()
            .find(|c| c.params["text"].as_str().is_some_and(|t| t.contains(needle)))
    };
    bot.tg
        .wait_for(&format!("a button answer with {needle:?}"), DEADLINE, |tg| {
            found(tg).is_some()
        })
        .await;
    found(&bot.tg).expect("just seen").params["show_alert"] == true
}

/// The image-to-video submits PixVerse received, in order.
fn image_submits(bot: &TestBot) -> Vec<serde_json::Value> {
    bot.px
        .requests()
        .into_iter()
        .filter(|r| r.path.ends_with("/video/img/generate"))
        .map(|r| r.body)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_picked_effect_makes_the_next_photo_a_video_with_that_template() {
    let mut bot = TestBot::start().await;
    let (chat, user) = private_user(3101);
    bot.tg.send_text(chat, &user, "/effects");
    let list = message_with(&bot, chat, "Effects, page 1").await;
    let data = button_data(&list);
    assert!(data.contains(&format!("fx:{FIRST_TEMPLATE}")), "{data:?}");
    assert!(data.contains(&"fxp:2".to_owned()) && data.contains(&"fxx".to_owned()));
    assert!(!data.iter().any(|d| d == "fxp:0"), "no page before the first");

    // ▶: the same message shows page 2, with a way back and on.
    bot.tg.press_button(chat, &user, list.message_id, "fxp:2");
    let page_two = message_with(&bot, chat, "Effects, page 2").await;
    assert_eq!(page_two.message_id, list.message_id, "the list edits itself");
    let data = button_data(&page_two);
    let picked = FIRST_TEMPLATE + 21;
    assert!(data.contains(&format!("fx:{picked}")), "{data:?}");
    assert!(data.contains(&"fxp:1".to_owned()) && data.contains(&"fxp:3".to_owned()));
    bot.tg.press_button(chat, &user, list.message_id, "fxp:3");
    let last = message_with(&bot, chat, "Effects, page 3").await;
    assert!(
        !button_data(&last).iter().any(|d| d == "fxp:4"),
        "no page after the last"
    );

    bot.tg
        .press_button(chat, &user, list.message_id, &format!("fx:{picked}"));
    assert!(!button_answer(&bot, "Effect 21").await, "a toast, not an alert");
    // The pick is stored: a restart keeps it.
    bot.stop().await.unwrap();
    bot.launch().await;

    bot.tg.send_photo(chat, &user, None, jpeg(4_000));
    bot.wait_for_videos(chat, 1).await;
    let submits = image_submits(&bot);
    assert_eq!(submits.len(), 1);
    assert_eq!(submits[0]["template_id"], picked);
    assert_eq!(submits[0]["prompt"], "Effect 21", "no caption: the effect's name");

    // Used up: the next photo is an ordinary request again.
    bot.tg.send_photo(chat, &user, None, jpeg(4_000));
    bot.wait_for_text(chat, "Send it again with a caption").await;
    // A caption is the prompt; /cancel forgets a pick.
    bot.tg
        .press_button(chat, &user, list.message_id, &format!("fx:{FIRST_TEMPLATE}"));
    button_answer(&bot, "Effect 0").await;
    bot.tg
        .send_photo(chat, &user, Some("the cat dances"), jpeg(4_000));
    bot.wait_for_videos(chat, 2).await;
    let submits = image_submits(&bot);
    assert_eq!(submits[1]["template_id"], FIRST_TEMPLATE);
    assert_eq!(submits[1]["prompt"], "the cat dances");
    bot.tg
        .press_button(chat, &user, list.message_id, &format!("fx:{picked}"));
    button_answer(&bot, "Effect 21").await;
    bot.tg.send_text(chat, &user, "/cancel");
    bot.wait_for_text(chat, "Effect forgotten").await;
    bot.tg.send_photo(chat, &user, Some("plain"), jpeg(4_000));
    bot.wait_for_videos(chat, 3).await;
    assert!(image_submits(&bot)[2].get("template_id").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_effect_button_is_refused_and_a_group_pick_is_the_pressers_own() {
    let bot = TestBot::start().await;
    let (chat, user) = private_user(3102);
    bot.tg.send_text(chat, &user, "/effects");
    let list = message_with(&bot, chat, "Effects, page 1").await;
    // A template PixVerse never listed, and data that is not a template id at all.
    bot.tg.press_button(chat, &user, list.message_id, "fx:123456789");
    assert!(button_answer(&bot, "don't know that effect").await, "an alert");
    bot.tg.press_button(chat, &user, list.message_id, "fx:abc");
    bot.tg.send_photo(chat, &user, None, jpeg(4_000));
    bot.wait_for_text(chat, "Send it again with a caption").await;
    assert!(image_submits(&bot).is_empty(), "nothing was stored");

    // In a group, a pick acts for the one who pressed.
    let group = TgChat::Group(-1_009_310_001);
    let (asker, presser) = (TgUser::new(3103), TgUser::new(3104));
    bot.tg
        .send_text(group, &asker, &format!("/effects@{BOT_USERNAME}"));
    let list = message_with(&bot, group, "Effects, page 1").await;
    bot.tg
        .press_button(group, &presser, list.message_id, &format!("fx:{FIRST_TEMPLATE}"));
    button_answer(&bot, "Effect 0").await;
    // Groups hide plain photos from the bot (privacy mode): `/i2v` captions reach it.
    let caption = format!("/i2v@{BOT_USERNAME} a dog jumps");
    bot.tg.send_photo(group, &asker, Some(&caption), jpeg(4_000));
    bot.wait_for_videos(group, 1).await;
    bot.tg.send_photo(group, &presser, Some(&caption), jpeg(5_000));
    bot.wait_for_videos(group, 2).await;
    let submits = image_submits(&bot);
    assert!(submits[0].get("template_id").is_none(), "the asker's is ordinary");
    assert_eq!(submits[1]["template_id"], FIRST_TEMPLATE, "the presser's has it");
    assert_eq!(submits[1]["prompt"], "a dog jumps");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pixverse_refusal_of_an_effect_is_said_in_the_chat() {
    let bot = TestBot::start().await;
    let (chat, user) = private_user(3105);
    bot.tg.send_text(chat, &user, "/effects");
    let list = message_with(&bot, chat, "Effects, page 1").await;
    bot.tg
        .press_button(chat, &user, list.message_id, &format!("fx:{FIRST_TEMPLATE}"));
    button_answer(&bot, "Effect 0").await;
    bot.px
        .fail_next("/video/img/generate", FakeFault::ErrCode(500054));
    bot.tg.send_photo(chat, &user, None, jpeg(4_000));
    bot.wait_for_text(chat, "content filter").await;
    assert!(bot.px.videos().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pick_left_unused_expires() {
    let bot = TestBot::start().await;
    let (chat, user) = private_user(3106);
    bot.tg.send_text(chat, &user, "/effects");
    let list = message_with(&bot, chat, "Effects, page 1").await;
    bot.tg
        .press_button(chat, &user, list.message_id, &format!("fx:{FIRST_TEMPLATE}"));
    button_answer(&bot, "within 10 minutes").await;
    // Eleven minutes pass.
    let storage = bot.storage().await;
    pixverse_bot::on_pool!(storage.writer(), |pool| sqlx::query(
        "update effect_pick set picked_at = picked_at - 660000"
    )
    .execute(pool)
    .await
    .map(|_| ()))
    .unwrap();
    bot.tg.send_photo(chat, &user, None, jpeg(4_000));
    bot.wait_for_text(chat, "Send it again with a caption").await;
    bot.tg.send_text(chat, &user, "/cancel");
    bot.wait_for_text(chat, "No effect was picked").await;
    assert!(image_submits(&bot).is_empty());
}
