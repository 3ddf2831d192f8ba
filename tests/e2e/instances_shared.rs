//! What several instances on one PostgreSQL database share as one: Telegram's budget for
//! routine progress edits (Telegram limits the bot, not each process), and the generation slots
//! of a user's own PixVerse key. On SQLite these return at once: one process owns a SQLite file.

use std::time::{Duration, Instant};

use crate::support::app::{DEADLINE, TestBot, private_user};

/// The whole bot's routine edits per second in [`two_instances_together_keep_to_the_bots_routine_edit_budget`].
const EDITS_PER_SEC: usize = 6;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_together_keep_to_the_bots_routine_edit_budget() {
    if !crate::POSTGRES {
        return;
    }
    // Each instance ticks the progress of the tasks it parked, so each must own some; which
    // instance claims a task is a race, so the split is made by who can claim at all. The first
    // instance's pool account takes `HALF` generations at once: it runs the first half alone,
    // and the second half waits for a slot. The second instance starts while the first is paused,
    // with room for all of them (the pool's limit is stored, so its start raises it): it alone
    // submits and parks the second half.
    const HALF: i64 = 6;
    const CHATS: i64 = 2 * HALF;
    let bot = TestBot::start_with(|env| {
        env.insert("TELEGRAM_ROUTINE_EDITS_PER_SEC".into(), EDITS_PER_SEC.to_string());
        env.insert("PIXVERSE_ACCOUNT_CONCURRENCY".into(), HALF.to_string());
    })
    .await;
    bot.px.set_concurrency_limit(CHATS as usize);
    bot.px.hold_videos();
    let request = |n: i64| {
        let (chat, user) = private_user(9701 + n);
        bot.tg
            .send_text(chat, &user, &format!("/t2v a ticking lantern {n}"));
    };
    for n in 0..HALF {
        request(n);
    }
    bot.wait_until("the first half to start", || {
        bot.px.videos().len() == HALF as usize
    })
    .await;
    wait_for_parked(&bot, HALF as usize).await;
    for n in HALF..CHATS {
        request(n);
    }
    let paused = loop {
        wait_for_waiting_for_a_slot(&bot, HALF).await;
        // Paused between two of its looks at the waiting tasks (it looks again every few poll
        // intervals, holding them for a moment), or else tried again.
        let paused = bot.pause();
        // A statement it sent just before the pause lands first.
        tokio::time::sleep(Duration::from_millis(50)).await;
        if waiting_for_a_slot(&bot).await == HALF {
            break paused;
        }
        drop(paused);
    };
    let other = bot
        .launch_another_with(|env| {
            env.insert("PIXVERSE_ACCOUNT_CONCURRENCY".into(), CHATS.to_string());
        })
        .await;
    bot.wait_until("the second half to start", || {
        bot.px.videos().len() == CHATS as usize
    })
    .await;
    wait_for_parked(&bot, CHATS as usize).await;
    drop(paused);
    assert_eq!(parked_owners(&bot).await, 2, "each instance parked its half");
    // Both count each other within a recount (2 s).
    tokio::time::sleep(Duration::from_millis(2500)).await;

    let window = Duration::from_secs(4);
    let started = Instant::now();
    tokio::time::sleep(window).await;
    let edits = bot
        .tg
        .calls_to("editmessagetext")
        .iter()
        .filter(|call| call.at >= started && call.at <= started + window)
        .count();
    let budget = EDITS_PER_SEC * window.as_secs() as usize;
    eprintln!("routine edits of two instances in {window:?}: {edits} (budget {budget})");
    // A quarter over for the buckets' saved-up second and the timing of the window's edges;
    // each instance on a budget of its own would send twice the budget.
    assert!(
        edits <= budget + budget / 4,
        "{edits} routine edits in {window:?}: the bot's budget is {EDITS_PER_SEC}/s"
    );
    assert!(
        edits >= budget / 3,
        "{edits} routine edits in {window:?}: the budget of {EDITS_PER_SEC}/s should be used"
    );
    bot.px.finish_videos();
    for n in 0..CHATS {
        bot.wait_for_videos(private_user(9701 + n).0, 1).await;
    }
    other.stop().await.expect("a clean stop");
}

/// How many queued tasks wait for a generation slot, given back (held by no step).
async fn waiting_for_a_slot(bot: &TestBot) -> i64 {
    let storage = bot.storage().await;
    let waiting = pixverse_bot::on_pool!(storage.engine(), |pool| {
        sqlx::query_scalar(
        "select count(*) from task where state = 'queued' and wait_reason = 'slot' and lease_token is null"
    )
    .fetch_one(pool)
    .await
    })
    .expect("count the waiting tasks");
    storage.close().await;
    waiting
}

/// Waits until `n` queued tasks wait for a slot (see [`waiting_for_a_slot`]).
async fn wait_for_waiting_for_a_slot(bot: &TestBot, n: i64) {
    let started = Instant::now();
    while waiting_for_a_slot(bot).await != n {
        assert!(
            started.elapsed() < DEADLINE,
            "{n} tasks not waiting for a slot in time"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// How many instances poll parked generating tasks now (`task.parked_by`).
async fn parked_owners(bot: &TestBot) -> usize {
    bot.parked_tasks().await.1.len()
}

/// Waits until `n` tasks are parked (polled from an instance's schedule).
async fn wait_for_parked(bot: &TestBot, n: usize) {
    let started = Instant::now();
    while bot.parked_tasks().await.0 < n {
        assert!(started.elapsed() < DEADLINE, "{n} tasks not parked in time");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_users_own_key_runs_no_more_generations_at_once_than_its_limit_across_instances() {
    if !crate::POSTGRES {
        return;
    }
    const USER_KEY: &str = "uk-shared-8812";
    const VIDEOS: usize = 10;
    let bot = TestBot::start_with(|env| {
        env.insert("PIXVERSE_ACCOUNT_CONCURRENCY".into(), "1".into());
        env.insert("USER_MAX_IN_FLIGHT".into(), VIDEOS.to_string());
        env.insert("USER_MAX_PER_HOUR".into(), "100".into());
        // Tasks waiting for the slot come due again every poll interval: a short one has both
        // instances look for a free slot again and again.
        env.insert("POLL_INTERVAL_MS".into(), "5".into());
    })
    .await;
    let other = bot.launch_another().await;
    bot.px.add_api_key(USER_KEY);
    // PixVerse refuses a second generation at once on the key (500044): every refusal is one
    // generate call more than the videos made.
    bot.px.set_concurrency_limit(1);
    bot.px
        .set_generation_time(Duration::from_millis(100), Duration::from_millis(200));
    let (chat, user) = private_user(9801);
    bot.tg.send_text(chat, &user, &format!("/apikey {USER_KEY}"));
    bot.wait_for_text(chat, "API key connected").await;
    for n in 0..VIDEOS {
        bot.tg.send_text(chat, &user, &format!("/t2v one at a time {n}"));
    }
    bot.tg
        .wait_for("every video", DEADLINE * 2, |tg| {
            tg.bot_messages(chat)
                .iter()
                .filter(|m| m.video_file_id.is_some())
                .count()
                >= VIDEOS
        })
        .await;
    assert_eq!(bot.px.videos().len(), VIDEOS, "one generation per request");
    eprintln!(
        "generate calls for {VIDEOS} videos on a one-slot key: {}",
        bot.px.count("/video/text/generate")
    );
    assert_eq!(
        bot.px.count("/video/text/generate"),
        VIDEOS,
        "a generate call PixVerse refused for the key's concurrency: two instances started a \
         second generation on a key with one slot"
    );
    other.stop().await.expect("a clean stop");
}
