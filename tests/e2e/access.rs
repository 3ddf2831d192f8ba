//! Access holds at every door: buttons pass the same rule as messages, requests made on behalf of
//! a chat (anonymous group admins, channels) are never billed to Telegram's placeholder users,
//! and a group that becomes a supergroup keeps its allowlist entry.

use pixverse_bot::domain::{Callback, GenerationParams, Model, SettingField};
use serde_json::Value;

use crate::support::{
    app::{DEADLINE, TestBot, private_user},
    fake_telegram::{BotMessage, FakeTelegram, OnBehalf, TgCall, TgChat, TgUser},
};

const ADMIN: i64 = 9100;
const GROUPS_ANONYMOUS_ADMIN: i64 = 1087968824;

async fn bot_with_admin() -> TestBot {
    TestBot::start_with(|env| {
        env.insert("ADMIN_IDS".into(), ADMIN.to_string());
    })
    .await
}

/// Presses a button and returns the bot's answer to the callback query.
async fn press(bot: &TestBot, chat: TgChat, user: &TgUser, message_id: i32, data: &str) -> TgCall {
    let id = bot.tg.press_button(chat, user, message_id, data);
    let answered = |tg: &FakeTelegram| {
        tg.calls_to("answerCallbackQuery")
            .into_iter()
            .find(|c| c.params["callback_query_id"].as_str() == Some(id.as_str()))
    };
    bot.tg
        .wait_for(&format!("an answer to {data}"), DEADLINE, |tg| {
            answered(tg).is_some()
        })
        .await;
    answered(&bot.tg).expect("just seen")
}

/// The alert text of a callback answer shown as a dialog (`None` for a toast or no text).
fn alert(call: &TgCall) -> Option<String> {
    (call.params["show_alert"] == Value::Bool(true))
        .then(|| call.params["text"].as_str().unwrap_or_default().to_owned())
}

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

/// `owner` asks for a video in `group` and gets it; returns the video message.
async fn video_in(bot: &TestBot, group: TgChat, owner: &TgUser, prompt: &str) -> BotMessage {
    bot.tg.send_text(group, owner, &format!("/t2v {prompt}"));
    bot.wait_for_videos(group, 1).await;
    bot.tg
        .bot_messages(group)
        .into_iter()
        .find(|m| m.video_file_id.is_some())
        .expect("just seen")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_banned_user_pressing_again_under_someone_elses_video_gets_one_alert_and_nothing_is_queued() {
    let bot = bot_with_admin().await;
    let group = TgChat::Group(-1_009_100_001);
    let owner = TgUser::new(5101);
    let video = video_in(&bot, group, &owner, "a fox in the snow").await;
    let buttons = button_data(&video);
    assert_eq!(
        buttons.len(),
        4,
        "Again, New seed, Extend and Sound under the video: {buttons:?}"
    );

    let (admin_chat, admin) = private_user(ADMIN);
    bot.tg.send_text(admin_chat, &admin, "/ban 5102");
    bot.wait_for_text(admin_chat, "User 5102 is banned").await;
    let banned = TgUser::new(5102);
    for data in &buttons {
        let answer = press(&bot, group, &banned, video.message_id, data).await;
        let text = alert(&answer).unwrap_or_else(|| panic!("an alert for {data}: {:?}", answer.params));
        assert!(text.contains("no longer use this bot"), "{text}");
    }
    assert_eq!(bot.task_count().await, 1, "nothing queued for the banned user");
    assert_eq!(bot.px.videos().len(), 1, "nothing generated on the shared pool");
    assert_eq!(
        bot.tg.bot_messages(group).len(),
        2,
        "no progress message either: the owner's progress message and video only"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_allowlist_mode_a_strangers_button_presses_change_nothing() {
    let bot = bot_with_admin().await;
    let (admin_chat, admin) = private_user(ADMIN);
    bot.tg.send_text(admin_chat, &admin, "/access allowlist");
    bot.wait_for_text(admin_chat, "Access: allowlist").await;
    bot.tg.send_text(admin_chat, &admin, "/allow 5111");
    bot.wait_for_text(admin_chat, "5111").await;

    // An allowed user's video in a group that is not allowed; a stranger presses its buttons.
    let group = TgChat::Group(-1_009_100_002);
    let video = video_in(&bot, group, &TgUser::new(5111), "a lighthouse").await;
    let stranger = TgUser::new(5112);
    for data in button_data(&video) {
        let answer = press(&bot, group, &stranger, video.message_id, &data).await;
        let text = alert(&answer).unwrap_or_else(|| panic!("an alert for {data}: {:?}", answer.params));
        assert!(text.contains("only open to invited people"), "{text}");
    }
    assert_eq!(bot.task_count().await, 1, "nothing queued for the stranger");

    // Settings buttons pass the same check: a forged settings tap changes nothing.
    let (stranger_chat, _) = private_user(5112);
    bot.tg.send_text(stranger_chat, &stranger, "/start");
    bot.wait_for_text(stranger_chat, "only open to invited people")
        .await;
    let refusal = bot.tg.bot_messages(stranger_chat)[0].message_id;
    let choose_v6 = Callback::SettingsChoose(SettingField::Model, Model::V6.as_str().to_owned()).encode();
    let answer = press(&bot, stranger_chat, &stranger, refusal, &choose_v6).await;
    assert!(alert(&answer).is_some(), "{:?}", answer.params);
    let storage = bot.storage().await;
    assert_eq!(
        storage.settings_of(5112).await.unwrap(),
        GenerationParams::default()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_from_an_anonymous_admin_or_a_channel_gets_one_answer_and_queues_nothing() {
    let bot = TestBot::start().await;
    let group = TgChat::Group(-1_009_100_003);
    // A channel post forwarded into its discussion group is not for us: no answer.
    bot.tg.send_on_behalf(
        group,
        OnBehalf::LinkedChannelPost(-1_009_200_001),
        "news of the day",
    );
    bot.tg
        .send_on_behalf(group, OnBehalf::AnonymousAdmin, "/t2v a fox");
    bot.wait_for_text(group, "from your own account").await;
    bot.tg.send_on_behalf(
        group,
        OnBehalf::Channel(-1_009_200_002),
        "/t2v@pixverse_test_bot a cat",
    );
    bot.tg
        .wait_for("a second answer", DEADLINE, |tg| {
            tg.bot_messages(group).len() >= 2
        })
        .await;
    // A user after them in the same chat is answered, so both were handled before.
    let (_, user) = private_user(5121);
    bot.tg.send_text(group, &user, "/t2v a real request");
    bot.wait_for_videos(group, 1).await;

    let answers: Vec<String> = bot
        .tg
        .bot_messages(group)
        .into_iter()
        .filter_map(|m| m.text)
        .collect();
    let refusals = answers
        .iter()
        .filter(|t| t.contains("from your own account"))
        .count();
    assert_eq!(refusals, 2, "one answer each: {answers:?}");
    bot.wait_for_states(&[("delivered", 1)]).await;
    let storage = bot.storage().await;
    for placeholder in [GROUPS_ANONYMOUS_ADMIN, 136817688, 777000] {
        assert!(
            storage.user(placeholder).await.unwrap().is_none(),
            "placeholder {placeholder} is not recorded as a user"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_commands_given_as_a_reply_never_target_a_placeholder() {
    let bot = bot_with_admin().await;
    let group = TgChat::Group(-1_009_100_004);
    let anonymous = bot
        .tg
        .send_on_behalf(group, OnBehalf::AnonymousAdmin, "hello everyone");
    let (_, admin) = private_user(ADMIN);
    bot.tg.send_reply(group, &admin, "/ban", anonymous);
    bot.wait_for_text(group, "names no user").await;
    bot.tg.send_reply(group, &admin, "/quota 0", anonymous);
    bot.tg
        .wait_for("two answers", DEADLINE, |tg| {
            tg.bot_messages(group)
                .iter()
                .filter(|m| m.text.as_deref().is_some_and(|t| t.contains("names no user")))
                .count()
                == 2
        })
        .await;
    let storage = bot.storage().await;
    let access = storage.user_access(GROUPS_ANONYMOUS_ADMIN).await.unwrap();
    assert!(!access.banned && access.daily_quota.is_none(), "{access:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_that_becomes_a_supergroup_keeps_its_allowlist_entry_and_its_members_admission() {
    let bot = bot_with_admin().await;
    let (admin_chat, admin) = private_user(ADMIN);
    bot.tg.send_text(admin_chat, &admin, "/access allowlist");
    bot.wait_for_text(admin_chat, "Access: allowlist").await;
    let old = TgChat::Group(-4_009_100);
    let new = TgChat::Group(-1_004_009_100);
    bot.tg.make_basic_group(old);
    bot.tg.send_text(old, &admin, "/allowgroup");
    bot.wait_for_text(old, "This group is allowed").await;
    let member = TgUser::new(5131);
    bot.tg.send_text(old, &member, "/t2v before the upgrade");
    bot.wait_for_videos(old, 1).await;

    bot.tg.migrate_to_supergroup(old, new, &admin);
    bot.tg.send_text(new, &member, "/t2v after the upgrade");
    bot.wait_for_videos(new, 1).await;
    // Someone new in the supergroup is admitted there, and so in private.
    let newcomer = TgUser::new(5132);
    bot.tg.send_text(new, &newcomer, "/t2v hello");
    bot.wait_for_videos(new, 2).await;
    let (newcomer_chat, _) = private_user(5132);
    bot.tg.send_text(newcomer_chat, &newcomer, "/t2v in private");
    bot.wait_for_videos(newcomer_chat, 1).await;
    let refused = |chat| {
        bot.tg
            .bot_messages(chat)
            .into_iter()
            .filter_map(|m| m.text)
            .any(|t| t.contains("only open to invited people"))
    };
    assert!(!refused(new) && !refused(newcomer_chat));
}
