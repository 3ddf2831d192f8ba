//! Admins end to end: access control, the shared account pool, quotas, /stats and /broadcast.

use crate::support::{
    app::{DEADLINE, OPERATOR_KEY, TestBot, private_user},
    fake_pixverse::FakeFault,
    fake_telegram::{BOT_USERNAME, TgChat, TgUser},
};

const ADMIN: i64 = 9000;
const UNKNOWN: &str = "I don't know that command";

async fn bot_with_admin() -> TestBot {
    TestBot::start_with(|env| {
        env.insert("ADMIN_IDS".into(), ADMIN.to_string());
    })
    .await
}

fn admin() -> (TgChat, TgUser) {
    private_user(ADMIN)
}

/// Bot messages in `chat` whose text contains `needle`.
fn texts_with(bot: &TestBot, chat: TgChat, needle: &str) -> Vec<String> {
    bot.tg
        .bot_messages(chat)
        .into_iter()
        .filter_map(|m| m.text)
        .filter(|t| t.contains(needle))
        .collect()
}

/// Waits until `chat` has `n` bot messages containing `needle`.
async fn wait_for_n(bot: &TestBot, chat: TgChat, needle: &str, n: usize) {
    bot.tg
        .wait_for(
            &format!("{n} messages with {needle:?} in {chat:?}"),
            DEADLINE,
            |tg| {
                tg.bot_messages(chat)
                    .iter()
                    .filter(|m| m.text.as_deref().is_some_and(|t| t.contains(needle)))
                    .count()
                    >= n
            },
        )
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_non_admin_gets_the_unknown_command_reply_for_every_admin_command() {
    let bot = bot_with_admin().await;
    let (chat, user) = private_user(3001);
    let commands = [
        "/access allowlist",
        "/allow 3002",
        "/deny 3002",
        "/ban 3002",
        "/unban 3002",
        "/allowgroup",
        "/pool list",
        "/pool add x apikey secret-key-1234",
        "/quota 3002 9",
        "/stats",
        "/tasks",
        "/cancel 1",
        "/broadcast hello everyone",
    ];
    for command in commands {
        bot.tg.send_text(chat, &user, command);
    }
    wait_for_n(&bot, chat, UNKNOWN, commands.len()).await;
    assert_eq!(
        bot.tg.bot_messages(chat).len(),
        commands.len(),
        "nothing but the unknown-command reply, once per command"
    );
    // Nothing changed: the bot is still open, and no pool account was added.
    bot.tg.send_text(chat, &user, "/t2v a fox");
    bot.wait_for_videos(chat, 1).await;
    let storage = bot.storage().await;
    assert_eq!(
        storage.pool_accounts().await.unwrap().len(),
        1,
        "only the operator key"
    );
    // The admin does get the admin menu, in their own chat scope.
    let scoped = bot
        .tg
        .calls_to("setMyCommands")
        .into_iter()
        .filter(|c| c.params["scope"]["chat_id"] == ADMIN)
        .count();
    assert!(scoped >= 1, "the admin menu was registered for the admin");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allowlist_mode_admits_allowed_users_and_members_of_allowed_groups_only() {
    let bot = bot_with_admin().await;
    let (admin_chat, admin_user) = admin();
    bot.tg.send_text(admin_chat, &admin_user, "/access allowlist");
    bot.wait_for_text(admin_chat, "Access: allowlist").await;

    // A stranger in private: refused, with their id so an admin can allow them.
    let (alice_chat, alice) = private_user(3001);
    bot.tg.send_text(alice_chat, &alice, "/t2v a fox");
    bot.wait_for_text(alice_chat, "send an admin your id: 3001").await;
    bot.tg.send_text(admin_chat, &admin_user, "/allow 3001");
    bot.wait_for_text(admin_chat, "User 3001 is allowed").await;
    bot.tg.send_text(alice_chat, &alice, "/t2v a fox");
    bot.wait_for_videos(alice_chat, 1).await;

    // A group: refused until an admin allows it there.
    let group = TgChat::Group(-100_555);
    let bob = TgUser::new(3002);
    bot.tg
        .send_text(group, &bob, &format!("/t2v@{BOT_USERNAME} a boat"));
    bot.wait_for_text(group, "send an admin your id: 3002").await;
    bot.tg
        .send_text(group, &admin_user, &format!("/allowgroup@{BOT_USERNAME}"));
    bot.wait_for_text(group, "This group is allowed").await;
    bot.tg
        .send_text(group, &bob, &format!("/t2v@{BOT_USERNAME} a boat"));
    bot.wait_for_videos(group, 1).await;

    // A member of the allowed group is admitted in private too; someone who is not, is not.
    let bob_chat = TgChat::Private(3002);
    bot.tg.send_text(bob_chat, &bob, "/t2v a boat at night");
    bot.wait_for_videos(bob_chat, 1).await;
    let (carol_chat, carol) = private_user(3003);
    bot.tg.send_text(carol_chat, &carol, "/t2v a cat");
    bot.wait_for_text(carol_chat, "send an admin your id: 3003").await;

    // Taking a user off the list works; back to open mode admits everyone.
    bot.tg.send_text(admin_chat, &admin_user, "/deny 3001");
    bot.wait_for_text(admin_chat, "User 3001 is no longer on the allowlist")
        .await;
    bot.tg.send_text(alice_chat, &alice, "/help");
    wait_for_n(&bot, alice_chat, "send an admin your id", 2).await;
    bot.tg.send_text(admin_chat, &admin_user, "/access open");
    bot.wait_for_text(admin_chat, "Access: open").await;
    bot.tg.send_text(carol_chat, &carol, "/t2v a cat");
    bot.wait_for_videos(carol_chat, 1).await;
    assert_eq!(bot.px.videos().len(), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_banned_user_gets_one_polite_refusal_and_then_silence() {
    let bot = bot_with_admin().await;
    let (admin_chat, admin_user) = admin();
    let (mallory_chat, mallory) = private_user(3001);
    bot.tg.send_text(mallory_chat, &mallory, "/start");
    bot.wait_for_text(mallory_chat, "Hi User3001").await;

    bot.tg.send_text(admin_chat, &admin_user, "/ban @user3001");
    bot.wait_for_text(admin_chat, "User 3001 is banned").await;
    bot.tg.send_text(mallory_chat, &mallory, "/t2v a fox");
    bot.wait_for_text(mallory_chat, "you can no longer use this bot")
        .await;

    // Later messages get no answer. Updates of one chat are handled in order, so the admin's
    // /unban in the same group is a sync point: everything before it was handled while banned.
    let group = TgChat::Group(-100_777);
    bot.tg.send_text(mallory_chat, &mallory, "/t2v another fox");
    bot.tg
        .send_text(group, &mallory, &format!("/t2v@{BOT_USERNAME} a fox in a group"));
    bot.tg
        .send_text(group, &mallory, &format!("/help@{BOT_USERNAME}"));
    bot.tg
        .send_text(group, &admin_user, &format!("/unban@{BOT_USERNAME} 3001"));
    bot.wait_for_text(group, "User 3001 is no longer banned").await;
    bot.tg
        .send_text(group, &mallory, &format!("/help@{BOT_USERNAME}"));
    bot.wait_for_text(group, "What I can do").await;
    bot.tg.send_text(mallory_chat, &mallory, "/help");
    bot.wait_for_text(mallory_chat, "What I can do").await;

    let private: Vec<_> = bot
        .tg
        .bot_messages(mallory_chat)
        .into_iter()
        .filter_map(|m| m.text)
        .collect();
    assert_eq!(private.len(), 3, "start, one refusal, help: {private:?}");
    let in_group: Vec<_> = bot
        .tg
        .bot_messages(group)
        .into_iter()
        .filter_map(|m| m.text)
        .collect();
    assert_eq!(in_group.len(), 2, "the unban and the help after it: {in_group:?}");
    assert_eq!(bot.task_count().await, 0, "a banned user's requests made no task");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pool_spreads_tasks_and_fails_over_when_an_account_runs_out_of_credits() {
    let bot = bot_with_admin().await;
    let (admin_chat, admin_user) = admin();
    bot.px.add_api_key("pool-key-2222");
    let add = bot
        .tg
        .send_text(admin_chat, &admin_user, "/pool add second apikey pool-key-2222");
    bot.wait_for_text(admin_chat, "Pool account second (API key …2222) added")
        .await;
    assert!(
        bot.tg.is_deleted(admin_chat, add),
        "the message with the key was deleted"
    );

    // Four requests at once while videos take a while: two per account.
    bot.px.hold_videos();
    let users: Vec<_> = (3001..=3004).map(private_user).collect();
    for (chat, user) in &users {
        bot.tg.send_text(*chat, user, "/t2v a lighthouse");
    }
    bot.wait_until("four videos generating at once", || bot.px.videos().len() == 4)
        .await;
    bot.px.finish_videos();
    for (chat, _) in &users {
        bot.wait_for_videos(*chat, 1).await;
    }
    let on = |key: &str| bot.px.videos().iter().filter(|v| v.account == key).count();
    assert_eq!(
        (on(OPERATOR_KEY), on("pool-key-2222")),
        (2, 2),
        "{:?}",
        bot.px.videos()
    );

    // The operator account runs dry: it leaves rotation, the admin hears once, tasks move over.
    bot.px.set_credits(OPERATOR_KEY, 0);
    for (chat, user) in &users[..2] {
        bot.tg.send_text(*chat, user, "/t2v a second lighthouse");
    }
    for (chat, _) in &users[..2] {
        bot.wait_for_videos(*chat, 2).await;
    }
    assert_eq!((on(OPERATOR_KEY), on("pool-key-2222")), (2, 4));
    bot.wait_for_text(admin_chat, "Pool account operator is out of credits")
        .await;
    assert_eq!(
        texts_with(&bot, admin_chat, "out of credits").len(),
        1,
        "the admin is told once"
    );
    bot.wait_for_states(&[("delivered", 6)]).await;

    bot.tg.send_text(admin_chat, &admin_user, "/pool list");
    let list = bot.wait_for_text(admin_chat, "Pool accounts:").await;
    assert!(
        list.contains("operator (API, API key …6789) — 💳 out of credits, credits 0"),
        "{list}"
    );
    assert!(list.contains("second (API, API key …2222) — ✅ active"), "{list}");

    // With no usable account left, users get the existing out-of-credits message.
    bot.px.set_credits("pool-key-2222", 0);
    bot.tg.send_text(admin_chat, &admin_user, "/pool disable second");
    bot.wait_for_text(admin_chat, "second is disabled").await;
    let (chat, user) = &users[2];
    bot.tg.send_text(*chat, user, "/t2v a third lighthouse");
    bot.wait_for_text(*chat, "The shared PixVerse account is out of credits")
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daily_pool_quota_is_enforced_and_resets_the_next_day() {
    let bot = TestBot::start_with(|env| {
        env.insert("ADMIN_IDS".into(), ADMIN.to_string());
        env.insert("POOL_DAILY_QUOTA".into(), "2".into());
    })
    .await;
    let (chat, user) = private_user(3001);
    bot.tg.send_text(chat, &user, "/t2v one");
    bot.tg.send_text(chat, &user, "/t2v two");
    bot.wait_for_videos(chat, 2).await;
    bot.tg.send_text(chat, &user, "/t2v three");
    let refusal = bot.wait_for_text(chat, "You have used all 2 videos").await;
    assert!(refusal.contains("resets at 00:00 UTC, in "), "{refusal}");
    bot.tg.send_text(chat, &user, "/balance");
    bot.wait_for_text(chat, "0 of 2 videos left today").await;
    assert_eq!(bot.task_count().await, 2, "no task over quota");

    // A per-user override from an admin.
    let (admin_chat, admin_user) = admin();
    bot.tg.send_text(admin_chat, &admin_user, "/quota 3001 3");
    bot.wait_for_text(admin_chat, "User 3001 may now make 3 videos a day")
        .await;
    bot.tg.send_text(chat, &user, "/t2v three");
    bot.wait_for_videos(chat, 3).await;
    bot.tg.send_text(chat, &user, "/t2v four");
    bot.wait_for_text(chat, "You have used all 3 videos").await;

    // The next UTC day: yesterday's videos no longer count.
    let storage = bot.storage().await;
    pixverse_bot::on_pool!(storage.writer(), |pool| sqlx::query(
        "update task set created_at = created_at - 86400000"
    )
    .execute(pool)
    .await
    .map(|_| ()))
    .unwrap();
    bot.tg.send_text(chat, &user, "/balance");
    bot.wait_for_text(chat, "3 of 3 videos left today").await;
    bot.tg.send_text(chat, &user, "/t2v four");
    bot.wait_for_videos(chat, 4).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stats_tasks_and_cancel_show_and_change_what_ran() {
    let bot = bot_with_admin().await;
    let (admin_chat, admin_user) = admin();
    let (alice_chat, alice) = private_user(3001);
    let (bob_chat, bob) = private_user(3002);
    bot.tg.send_text(alice_chat, &alice, "/t2v one");
    bot.wait_for_videos(alice_chat, 1).await;
    bot.tg.send_text(bob_chat, &bob, "/t2v two");
    bot.wait_for_videos(bob_chat, 1).await;
    bot.px.fail_next("text/generate", FakeFault::ErrCode(500054));
    bot.tg.send_text(bob_chat, &bob, "/t2v three");
    bot.wait_for_text(bob_chat, "content filter").await;

    // Known inputs, known answer: the two videos took 10 s and 31 s from request to delivery.
    bot.wait_for_states(&[("delivered", 2), ("failed", 1)]).await;
    let storage = bot.storage().await;
    for (id, took_ms) in [(1, 10_000), (2, 31_000)] {
        pixverse_bot::on_pool!(storage.writer(), |pool| sqlx::query(
            "update task set created_at = finished_at - $2 where id = $1"
        )
        .bind(id)
        .bind(took_ms)
        .execute(pool)
        .await
        .map(|_| ()))
        .unwrap();
    }
    bot.tg.send_text(admin_chat, &admin_user, "/stats");
    let stats = bot.wait_for_text(admin_chat, "📊").await;
    assert!(stats.contains("Users: 3 total, 3 active today"), "{stats}");
    assert!(stats.contains("Tasks today: delivered 2, failed 1"), "{stats}");
    assert!(
        stats.contains("Delivered in 24 h: 2; time to delivery: average 20.5 s, p95 31.0 s"),
        "{stats}"
    );
    assert!(
        stats.contains("Queue: 0 waiting, 0 generating or sending"),
        "{stats}"
    );
    assert!(
        stats.contains("Pool credits: operator 9980 (active, 0/5)"),
        "{stats}"
    );

    bot.tg.send_text(admin_chat, &admin_user, "/tasks @user3002");
    let tasks = bot.wait_for_text(admin_chat, "Recent tasks:").await;
    assert!(tasks.contains("#3 user 3002 · failed · operator"), "{tasks}");
    assert!(tasks.contains("#2 user 3002 · delivered"), "{tasks}");
    assert!(!tasks.contains("user 3001"), "{tasks}");

    // A task that never finishes: the admin stops it and its owner hears.
    bot.px.hold_videos();
    bot.tg.send_text(alice_chat, &alice, "/t2v stuck");
    bot.wait_until("the task to be generating", || bot.px.videos().len() == 3)
        .await;
    bot.tg.send_text(admin_chat, &admin_user, "/cancel 4");
    bot.wait_for_text(admin_chat, "Task #4 cancelled").await;
    bot.wait_for_text(alice_chat, "An admin stopped your video #4")
        .await;
    let (state, error): (String, String) = pixverse_bot::on_pool!(storage.engine(), |pool| sqlx::query_as(
        "select state, last_error from task where id = 4"
    )
    .fetch_one(pool)
    .await)
    .unwrap();
    assert_eq!((state.as_str(), error.as_str()), ("failed", "cancelled by admin"));
    bot.tg.send_text(admin_chat, &admin_user, "/cancel 4");
    bot.wait_for_text(admin_chat, "has already finished").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broadcast_reaches_every_private_user_once_and_skips_one_who_blocked_the_bot() {
    let bot = bot_with_admin().await;
    let (admin_chat, admin_user) = admin();
    let users: Vec<_> = (3001..=3003).map(private_user).collect();
    for (chat, user) in &users {
        bot.tg.send_text(*chat, user, "/start");
        bot.wait_for_text(*chat, "Hi User").await;
    }
    // Seen only in a group: never messaged in private.
    let group = TgChat::Group(-100_888);
    let dave = TgUser::new(3004);
    bot.tg.send_text(group, &dave, &format!("/help@{BOT_USERNAME}"));
    bot.wait_for_text(group, "What I can do").await;

    // 3001 has blocked the bot: the broadcast finds out (and the admin's "sending…" note goes out
    // first, so a fault on the next sendMessage would hit that note instead).
    bot.tg.block_bot(users[0].0);
    bot.tg
        .send_text(admin_chat, &admin_user, "/broadcast Maintenance at 18:00 UTC");
    let done = bot.wait_for_text(admin_chat, "Broadcast done").await;
    // 3002, 3003 and the admin (who wrote in private) get it; 3001 blocked the bot.
    assert!(done.contains("delivered to 3 users, 1 skipped"), "{done}");
    for (chat, _) in &users[1..] {
        assert_eq!(texts_with(&bot, *chat, "📢 Maintenance at 18:00 UTC").len(), 1);
    }
    assert_eq!(texts_with(&bot, admin_chat, "📢 Maintenance").len(), 1);
    assert!(texts_with(&bot, users[0].0, "📢").is_empty());
    assert!(bot.tg.bot_messages(TgChat::Private(3004)).is_empty());

    // The next broadcast does not even try the user who blocked the bot.
    let tries_before = bot
        .tg
        .calls_to("sendMessage")
        .iter()
        .filter(|c| c.params["chat_id"] == 3001)
        .count();
    bot.tg
        .send_text(admin_chat, &admin_user, "/broadcast Back online");
    wait_for_n(&bot, admin_chat, "Broadcast done", 2).await;
    assert_eq!(
        texts_with(&bot, admin_chat, "Broadcast done")[1],
        "Broadcast done: delivered to 3 users, 0 skipped (blocked the bot or unreachable)."
    );
    let tries_after = bot
        .tg
        .calls_to("sendMessage")
        .iter()
        .filter(|c| c.params["chat_id"] == 3001)
        .count();
    assert_eq!(tries_before, tries_after);
}
