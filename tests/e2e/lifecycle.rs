//! The task lifecycle seen from outside: a submit whose answer was lost is paid once, a slow
//! delivery is not repeated, a new login does not strand the tasks of the old one, an internal
//! error cannot keep a task in flight forever, and the deadlines count what they say.

use std::time::Duration;

use pixverse_bot::{domain::TaskId, storage::now_ms};

use crate::support::{
    app::{OPERATOR_KEY, TestBot, private_user},
    fake_pixverse::FakeFault,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_submit_whose_answer_was_lost_is_charged_once_and_delivered_once() {
    let bot = TestBot::start().await;
    bot.px.fail_next("/video/text/generate", FakeFault::AnswerDropped);
    let (chat, user) = private_user(3601);
    bot.tg.send_text(chat, &user, "/t2v a lighthouse in the fog");
    bot.wait_for_videos(chat, 1).await;
    bot.wait_for_states(&[("delivered", 1)]).await;

    assert_eq!(bot.px.videos().len(), 1, "one generation at PixVerse");
    assert_eq!(bot.px.credits(OPERATOR_KEY), Some(10_000 - 10), "charged once");
    let submits: Vec<_> = bot
        .px
        .requests()
        .into_iter()
        .filter(|r| r.path.ends_with("/video/text/generate"))
        .collect();
    assert_eq!(submits.len(), 2, "the lost submit was retried once");
    assert_eq!(
        submits[0].trace_id, submits[1].trace_id,
        "under the same trace id"
    );
    assert_eq!(submits[0].body, submits[1].body, "with the same body");
    assert_eq!(bot.px.violations(), Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_work_gets_a_new_trace_id() {
    let bot = TestBot::start().await;
    let (chat, user) = private_user(3602);
    bot.tg.send_text(chat, &user, "/t2v a red balloon --seed 7");
    bot.wait_for_videos(chat, 1).await;
    bot.tg.send_text(chat, &user, "/t2v a red balloon --seed 7");
    bot.wait_for_videos(chat, 2).await;
    let traces: Vec<_> = bot
        .px
        .requests()
        .into_iter()
        .filter(|r| r.path.ends_with("/video/text/generate"))
        .map(|r| r.trace_id)
        .collect();
    assert_eq!(traces.len(), 2);
    assert_ne!(traces[0], traces[1], "the same request twice is two videos");
    assert_eq!(bot.px.videos().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivery_stalled_longer_than_its_lease_is_not_delivered_twice() {
    let bot = TestBot::start_with(|env| {
        env.insert("TASK_LEASE_MS".into(), "300".into());
    })
    .await;
    // The video download hangs for several lease terms: a lease that is not kept alive expires
    // meanwhile, and the next round would claim the task and deliver it a second time.
    bot.px
        .fail_next(".mp4", FakeFault::Stall(Duration::from_millis(2_000)));
    let (chat, user) = private_user(3603);
    bot.tg.send_text(chat, &user, "/t2v a slow river");
    bot.wait_until("the delivery to fetch the video", || bot.px.count(".mp4") == 1)
        .await;
    // Wait out the lease term the delivery was claimed with (the time the bug needs), then make
    // the worker plan a round: another user's request.
    let storage = bot.storage().await;
    let task = storage.task(TaskId(1)).await.unwrap().expect("the task");
    let first_term_ends = task.lease_until.expect("held while delivering");
    bot.wait_until("the first lease term to pass", || now_ms() > first_term_ends + 50)
        .await;
    let (other_chat, other) = private_user(3613);
    bot.tg.send_text(other_chat, &other, "/t2v a quick brook");
    bot.wait_for_videos(other_chat, 1).await;

    bot.wait_for_videos(chat, 1).await;
    bot.wait_for_states(&[("delivered", 2)]).await;
    assert_eq!(
        bot.px.count(".mp4"),
        2,
        "each video was fetched by one delivery only"
    );
    let videos = bot
        .tg
        .bot_messages(chat)
        .iter()
        .filter(|m| m.video_file_id.is_some())
        .count();
    assert_eq!(videos, 1, "and sent once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_accepted_before_a_new_api_key_keeps_polling_with_the_key_that_submitted_it() {
    let bot = TestBot::start_with(|env| {
        env.remove("PIXVERSE_API_KEY");
        env.insert("TASK_DEADLINE_MS".into(), "5000".into());
    })
    .await;
    bot.px.add_api_key("sk-first-account-0001");
    bot.px.add_api_key("sk-other-account-0002");
    let (chat, user) = private_user(3604);
    bot.tg.send_text(chat, &user, "/apikey sk-first-account-0001");
    bot.wait_for_text(chat, "0001").await;
    bot.px.hold_videos();
    bot.tg.send_text(chat, &user, "/t2v a paper lantern");
    bot.wait_until("PixVerse to start the video", || bot.px.videos().len() == 1)
        .await;

    // A key of another PixVerse account: it does not know the video started with the first.
    bot.tg.send_text(chat, &user, "/apikey sk-other-account-0002");
    bot.wait_for_text(chat, "0002").await;
    bot.px.finish_videos();
    bot.wait_for_videos(chat, 1).await;
    bot.wait_for_states(&[("delivered", 1)]).await;
    assert_eq!(bot.px.videos()[0].account, "sk-first-account-0001");

    // New work goes out with the new key.
    bot.tg.send_text(chat, &user, "/t2v a second lantern");
    bot.wait_for_videos(chat, 2).await;
    assert_eq!(bot.px.videos()[1].account, "sk-other-account-0002");
    assert_eq!(bot.px.violations(), Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relogin_that_signs_the_old_token_out_keeps_the_new_login_valid() {
    let bot = TestBot::start_with(|env| {
        env.remove("PIXVERSE_API_KEY");
    })
    .await;
    bot.px.add_web_account("gil", "pw-gil");
    let (chat, user) = private_user(3605);
    bot.tg.send_text(chat, &user, "/login gil pw-gil");
    bot.wait_for_text(chat, "Connected to PixVerse").await;
    bot.px.hold_videos();
    bot.tg.send_text(chat, &user, "/t2v a night train");
    bot.wait_until("PixVerse to start the video", || bot.px.videos().len() == 1)
        .await;

    // Logging in again signs the old token out: its next poll answers 10005.
    bot.tg.send_text(chat, &user, "/login gil pw-gil");
    bot.tg
        .wait_for("a second confirmation", crate::support::app::DEADLINE, |tg| {
            tg.bot_messages(chat)
                .iter()
                .filter(|m| {
                    m.text
                        .as_deref()
                        .is_some_and(|t| t.contains("Connected to PixVerse"))
                })
                .count()
                == 2
        })
        .await;
    bot.px.finish_videos();
    bot.wait_for_videos(chat, 1).await;
    let storage = bot.storage().await;
    let current = storage
        .credential_of_user(3605)
        .await
        .unwrap()
        .expect("logged in");
    assert!(
        current.invalid_at.is_none(),
        "the new login was never marked invalid"
    );
    let asked_again = bot.tg.bot_messages(chat).iter().any(|m| {
        m.text
            .as_deref()
            .is_some_and(|t| t.contains("Please /login again"))
    });
    assert!(
        !asked_again,
        "nobody asks a user who just logged in to log in again"
    );
    assert_eq!(bot.px.videos().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_credential_that_no_longer_decrypts_ends_its_task_with_a_message() {
    let bot = TestBot::start_with(|env| {
        env.remove("PIXVERSE_API_KEY");
        env.insert("POLL_INTERVAL_MS".into(), "10".into());
    })
    .await;
    bot.px.add_api_key("sk-sealed-0003");
    let (chat, user) = private_user(3606);
    bot.tg.send_text(chat, &user, "/apikey sk-sealed-0003");
    bot.wait_for_text(chat, "0003").await;
    // The stored secret is damaged: it no longer opens with the bot's key, so every step of the
    // task fails inside the bot, not at PixVerse.
    let storage = bot.storage().await;
    pixverse_bot::on_pool!(storage.writer(), |pool| sqlx::query(
        "update credential set secret = $1"
    )
    .bind(vec![0u8; 64])
    .execute(pool)
    .await
    .map(|_| ()))
    .unwrap();
    storage.close().await;
    bot.tg.send_text(chat, &user, "/t2v a sealed letter");
    // Told once the task is stored as failed (the test cannot open the database to look: the
    // damaged secret makes every new connection refuse it).
    bot.wait_for_text(chat, "went wrong on my side").await;
    assert!(bot.px.videos().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_bot_on_the_same_database_refuses_to_start_in_one_line() {
    if crate::POSTGRES {
        // SQLite's lock file; on PostgreSQL several instances share one database.
        return;
    }
    let bot = TestBot::start().await;
    let second = pixverse_bot::app::App::build(bot.config()).await;
    let error = format!("{:#}", second.err().expect("the second one refuses"));
    assert!(error.contains("another pixverse-bot process"), "{error}");
    assert!(!error.contains('\n'), "one line: {error}");
    // The first one still works.
    let (chat, user) = private_user(3607);
    bot.tg.send_text(chat, &user, "/t2v a lone lighthouse");
    bot.wait_for_videos(chat, 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn once_a_kind_of_video_was_made_the_next_is_first_polled_when_it_is_likely_done() {
    let bot = TestBot::start().await;
    bot.px
        .set_generation_time(Duration::from_millis(600), Duration::from_millis(600));
    let (chat, user) = private_user(3608);
    let polls_of = |n: usize| {
        let id = bot.px.videos()[n].id;
        bot.px.count(&format!("/video/result/{id}"))
    };
    bot.tg.send_text(chat, &user, "/t2v the first comet");
    bot.wait_for_videos(chat, 1).await;
    let learning = polls_of(0);
    assert!(
        learning >= 5,
        "at a 40 ms interval, a 600 ms video is polled often: {learning}"
    );

    bot.tg.send_text(chat, &user, "/t2v the second comet");
    bot.wait_for_videos(chat, 2).await;
    let learned = polls_of(1);
    assert!(
        learned <= 2,
        "the second is polled when it is likely done: {learned} polls"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polls_come_closer_while_a_video_is_likely_to_finish_and_at_the_interval_after() {
    // A two-second interval, so that the two gaps (1.7 s and 2 s) stand well apart from the
    // jitter of a loaded machine.
    let bot = TestBot::start_with(|env| {
        env.insert("POLL_INTERVAL_MS".into(), "2000".into());
    })
    .await;
    let (chat, user) = private_user(3611);
    // Learned: polled at 2 s and 4 s, found done at 4 s, so about 3 s.
    bot.px
        .set_generation_time(Duration::from_millis(3000), Duration::from_millis(3000));
    bot.tg.send_text(chat, &user, "/t2v the first tide");
    bot.wait_for_videos(chat, 1).await;
    // This one takes far longer: first polled a little before the learned time (2.7 s), then
    // 1.7 s apart until two intervals past it (7 s), then 2 s apart until it is done.
    bot.px
        .set_generation_time(Duration::from_millis(13000), Duration::from_millis(13000));
    bot.tg.send_text(chat, &user, "/t2v the second tide");
    bot.wait_for_videos(chat, 2).await;
    let id = bot.px.videos()[1].id;
    let polls: Vec<std::time::Instant> = bot
        .px
        .requests()
        .iter()
        .filter(|r| r.path.ends_with(&format!("/video/result/{id}")))
        .map(|r| r.at)
        .collect();
    let gaps: Vec<u128> = polls.windows(2).map(|w| (w[1] - w[0]).as_millis()).collect();
    assert!(gaps.len() >= 5, "polled about seven times: {gaps:?}");
    assert!(
        gaps[..3].iter().all(|&gap| gap < 1850),
        "1.7 s apart near the learned time: {gaps:?}"
    );
    assert!(
        gaps[gaps.len() - 2..].iter().all(|&gap| gap >= 1850),
        "2 s apart well past it: {gaps:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_generating_task_is_polled_without_writes_until_its_video_is_done() {
    let bot = TestBot::start_with(|env| {
        // Routine progress edits record their time on the task: off, to see the polls alone.
        env.insert("PROGRESS_EDIT_INTERVAL_MS".into(), "3600000".into());
    })
    .await;
    bot.px
        .set_generation_time(Duration::from_millis(800), Duration::from_millis(800));
    let storage = bot.storage().await;
    let statements: &[&'static str] = if crate::POSTGRES {
        &[
            "create table generating_write (task_id bigint not null)",
            "create function generating_write() returns trigger language plpgsql as $$
             begin insert into generating_write values (new.id); return new; end $$",
            "create trigger generating_write after update on task for each row
             when (old.state = 'generating' and new.state = 'generating')
             execute function generating_write()",
        ]
    } else {
        &[
            "create table generating_write (task_id integer not null)",
            "create trigger generating_write after update on task
             when old.state = 'generating' and new.state = 'generating'
             begin insert into generating_write values (new.id); end",
        ]
    };
    for statement in statements {
        pixverse_bot::on_pool!(storage.writer(), |pool| sqlx::query(*statement)
            .execute(pool)
            .await
            .map(|_| ()))
        .unwrap();
    }
    let (chat, user) = private_user(3609);
    bot.tg.send_text(chat, &user, "/t2v a slow glacier");
    bot.wait_for_videos(chat, 1).await;
    let id = bot.px.videos()[0].id;
    let polls = bot.px.count(&format!("/video/result/{id}"));
    assert!(
        polls >= 8,
        "at a 40 ms interval an 800 ms video is polled often: {polls}"
    );
    let writes: i64 = pixverse_bot::on_pool!(storage.engine(), |pool| sqlx::query_scalar(
        "select count(*) from generating_write"
    )
    .fetch_one(pool)
    .await)
    .unwrap();
    // A few that do not grow with the polls: the "generating" edit's time, the first poll's
    // claim, handing the task to the in-memory schedule, and the lease taken when it was done.
    assert!(
        writes <= 4,
        "{writes} writes to the generating task for {polls} polls"
    );
    storage.close().await;
}
