//! Moving a SQLite database to PostgreSQL with the real binary's `copy-database`: a database the
//! real App made, copied into a fresh schema, then served by a bot on PostgreSQL. It needs both
//! engines, so it runs in the PostgreSQL target only; in the SQLite target it returns at once.

use std::process::{Command, Output, Stdio};

use serde_json::Value;

use crate::support::{
    app::{TestBot, private_user},
    database::TestDatabase,
};

/// Runs `pixverse-bot copy-database --from … --to …` with no other environment.
fn copy_database(bot: &TestBot, from: &str, to: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pixverse-bot"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .args(["copy-database", "--from", from, "--to", to])
        .current_dir(bot.dir())
        .stdin(Stdio::null())
        .output()
        .expect("run pixverse-bot copy-database")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The row count `copy-database` printed for `table`.
fn copied_rows(report: &str, table: &str) -> u64 {
    report
        .lines()
        .find_map(|line| {
            let mut words = line.split_whitespace();
            (words.next() == Some(table)).then(|| words.next()?.parse().ok())?
        })
        .unwrap_or_else(|| panic!("no count for {table} in\n{report}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sqlite_database_copied_to_postgresql_serves_its_users_and_finishes_their_tasks() {
    if !crate::POSTGRES {
        return;
    }
    const USER_KEY: &str = "uk-copy-5511";
    // One generation at a time on the user's key: the third request waits queued for a slot.
    let mut bot = TestBot::start_on(false, |env| {
        env.insert("PIXVERSE_ACCOUNT_CONCURRENCY".into(), "1".into());
        env.insert("USER_MAX_IN_FLIGHT".into(), "5".into());
    })
    .await;
    let sqlite_url = bot.env["DATABASE_URL"].clone();
    bot.px.add_api_key(USER_KEY);
    let (chat, user) = private_user(9601);
    bot.tg.send_text(chat, &user, &format!("/apikey {USER_KEY}"));
    bot.wait_for_text(chat, "API key connected").await;
    bot.tg.send_text(chat, &user, "/t2v a delivered lantern");
    bot.wait_for_videos(chat, 1).await;
    bot.tg.send_text(chat, &user, "/token");
    let answer = bot.wait_for_text(chat, "pvb_").await;
    let token = answer
        .split_whitespace()
        .find(|w| w.starts_with("pvb_"))
        .expect("the token in the reply")
        .to_owned();
    bot.px.hold_videos();
    bot.tg.send_text(chat, &user, "/t2v a generating lantern");
    bot.wait_until("PixVerse to start the second video", || {
        bot.px.videos().len() == 2
    })
    .await;
    bot.tg.send_text(chat, &user, "/t2v a queued lantern");
    bot.wait_for_states(&[("delivered", 1), ("generating", 1), ("queued", 1)])
        .await;

    let postgres = TestDatabase::on(true, bot.dir(), "copy").await;
    // While the bot holds the SQLite file, the copy refuses (it would miss the bot's later writes).
    let refused = copy_database(&bot, &sqlite_url, &postgres.url);
    assert!(!refused.status.success(), "copied while the bot runs");
    assert!(
        text(&refused.stderr).contains("stop it first"),
        "{}",
        text(&refused.stderr)
    );
    bot.stop().await.expect("a clean stop");

    let copied = copy_database(&bot, &sqlite_url, &postgres.url);
    let report = text(&copied.stdout);
    assert!(copied.status.success(), "{report}\n{}", text(&copied.stderr));
    for (table, rows) in [("user", 1), ("credential", 1), ("task", 3), ("api_token", 1)] {
        assert_eq!(copied_rows(&report, table), rows, "{table} in\n{report}");
    }
    assert!(report.contains("SECRET_KEY"), "says which key to use:\n{report}");
    let again = copy_database(&bot, &sqlite_url, &postgres.url);
    assert!(!again.status.success(), "copied twice into one database");
    assert!(
        text(&again.stderr).contains("not empty"),
        "{}",
        text(&again.stderr)
    );

    // The bot on PostgreSQL, with the key the SQLite file's credentials were sealed with.
    let key = std::fs::read_to_string(bot.dir().join("bot.db.key")).expect("the key file");
    bot.env.insert("DATABASE_URL".into(), postgres.url.clone());
    bot.env.insert("SECRET_KEY".into(), key.trim().to_owned());
    bot.launch().await;
    let balance: Value = crate::api::client()
        .get(format!("{}/v1/balance", bot.http_url()))
        .bearer_auth(&token)
        .send()
        .await
        .expect("GET /v1/balance")
        .error_for_status()
        .map_err(|e| e.status())
        .expect("the token still works")
        .json()
        .await
        .expect("JSON");
    assert_eq!(balance["source"], "own", "the user's own key, opened: {balance}");
    bot.tg.send_text(chat, &user, "/history");
    let history = bot.wait_for_text(chat, "Your last videos").await;
    assert!(history.contains("a delivered lantern"), "{history}");

    // The generating task is polled, the queued one takes the freed slot, and a new request gets
    // an id PostgreSQL numbers after the copied ones.
    bot.px.finish_videos();
    bot.wait_for_videos(chat, 3).await;
    bot.tg.send_text(chat, &user, "/t2v a lantern on PostgreSQL");
    bot.wait_for_videos(chat, 4).await;
    bot.wait_for_states(&[("delivered", 4)]).await;
    assert_eq!(bot.px.videos().len(), 4, "each task generated once");
    bot.stop().await.expect("a clean stop");
}
