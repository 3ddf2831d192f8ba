//! Randomised "arbitrary input never panics" tests for every parser that sees user input:
//! request text with flags, commands, and callback data. A seeded generator keeps failures
//! reproducible; the alphabet mixes the pieces parsers look for with hostile ones. What parses
//! must mean what was written, and what the bot accepts must be accepted by the fake PixVerse's
//! own rules.

use pixverse_bot::{
    bot::Command,
    domain::{Callback, GenerationParams, parse_request},
};
use rand::{Rng, SeedableRng, rngs::StdRng, seq::SliceRandom};
use teloxide::utils::command::BotCommands;

use crate::support::app::{DEADLINE, TestBot, private_user};

const PIECES: &[&str] = &[
    "--ar",
    "--q",
    "--d",
    "--model",
    "--seed",
    "--no",
    "--fast",
    "--style",
    "--audio",
    "—",
    "–",
    "--",
    "-",
    "9:16",
    "16:9",
    "21:9",
    "720p",
    "1080",
    "v5.5",
    "c1",
    "8",
    "15",
    "0",
    "-1",
    "99999999999999999999",
    "anime",
    "/t2v",
    "/i2v@",
    "@pixverse_test_bot",
    "/",
    ":",
    " ",
    "  ",
    "\n",
    "\t",
    "\u{0}",
    "я",
    "🎬",
    "\u{202e}",
    "a fox",
    "again:",
    "seed:",
    "retry:",
    "hist:",
    "set:",
    "lang:",
    "9223372036854775808",
];

fn random_text(rng: &mut StdRng) -> String {
    let pieces = rng.gen_range(0..12);
    let mut text = String::new();
    for _ in 0..pieces {
        if rng.gen_bool(0.2) {
            text.push(rng.r#gen::<char>());
        } else {
            text.push_str(PIECES.choose(rng).expect("not empty"));
        }
        if rng.gen_bool(0.5) {
            text.push(' ');
        }
    }
    text
}

/// A prompt with a few flags, each with a value PixVerse knows for some model (so that the
/// combinations, not the spelling, decide).
fn random_request(rng: &mut StdRng, n: usize) -> String {
    const FLAGS: &[(&str, &[&str])] = &[
        (
            "--ar",
            &["16:9", "9:16", "1:1", "4:3", "3:4", "21:9", "2:3", "3:2"],
        ),
        ("--q", &["360p", "540p", "720p", "1080p"]),
        ("--d", &["1", "5", "8", "10", "15"]),
        (
            "--model",
            &["v3.5", "v4", "v4.5", "v5", "v5.5", "v5.6", "v6", "c1"],
        ),
        ("--seed", &["0", "42", "2147483647"]),
        ("--no", &["blur"]),
        ("--fast", &[""]),
        (
            "--style",
            &["anime", "3d_animation", "clay", "comic", "cyberpunk"],
        ),
        ("--audio", &[""]),
    ];
    let mut text = format!("scene {n}");
    for _ in 0..rng.gen_range(1..5) {
        let (flag, values) = FLAGS.choose(rng).expect("not empty");
        text.push(' ');
        text.push_str(flag);
        let value = values.choose(rng).expect("not empty");
        if !value.is_empty() {
            text.push(' ');
            text.push_str(value);
        }
    }
    text
}

/// The name a parsed command was written with: `/T2v@Bot args` -> "t2v".
fn written_name(text: &str) -> String {
    let word = text.split_whitespace().next().unwrap_or_default();
    let word = word.strip_prefix('/').unwrap_or(word);
    word.split('@').next().unwrap_or_default().to_lowercase()
}

#[test]
fn twenty_thousand_random_inputs_never_panic_and_what_parses_means_what_was_written() {
    let mut rng = StdRng::seed_from_u64(0x5eed);
    let settings = GenerationParams::default();
    let (mut accepted, mut commands, mut callbacks) = (0, 0, 0);
    for _ in 0..20_000 {
        let text = random_text(&mut rng);
        if let Ok((prompt, params)) = parse_request(&text, &settings) {
            assert!(!prompt.as_str().trim().is_empty(), "{text:?}");
            assert_eq!(params.validate(), Ok(()), "{text:?}");
            accepted += 1;
        }
        if let Ok(command) = Command::parse(&text, "pixverse_test_bot") {
            // The command is the one written, addressed to no bot or to this one.
            let variant = format!("{command:?}");
            let variant = variant.split('(').next().unwrap_or_default().to_lowercase();
            assert_eq!(written_name(&text), variant, "{text:?} parsed as {command:?}");
            let word = text.split_whitespace().next().unwrap_or_default();
            if let Some((_, to)) = word.split_once('@') {
                assert!(to.eq_ignore_ascii_case("pixverse_test_bot"), "{text:?}");
            }
            commands += 1;
        }
        if let Some(callback) = Callback::parse(&text) {
            // Button data round-trips and fits Telegram's 64 bytes.
            let data = callback.encode();
            assert!(data.len() <= 64, "{data:?}");
            assert_eq!(Callback::parse(&data), Some(callback), "{text:?}");
            callbacks += 1;
        }
        for data in [
            format!("again:{}", rng.gen_range(-5..1_000_000_i64)),
            format!("seed:{}", rng.gen_range(0..1_000_000_i64)),
        ] {
            let parsed = Callback::parse(&data).expect("well-formed button data parses");
            assert_eq!(parsed.encode(), data);
        }
    }
    assert!(
        accepted > 1_000,
        "the generator also produces valid requests ({accepted})"
    );
    assert!(
        commands > 100 && callbacks > 0,
        "{commands} commands, {callbacks} callbacks"
    );
}

/// Whatever the bot accepts, PixVerse accepts: the requests the parser takes go through the
/// real bot to the fake PixVerse, which checks them by its own rules (fake_pixverse/checks.rs,
/// written from the API description, not from the bot's validator).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_request_the_parser_accepts_is_one_the_fake_pixverse_accepts() {
    const REQUESTS: usize = 150;
    let mut rng = StdRng::seed_from_u64(0xacce);
    let settings = GenerationParams::default();
    let mut texts = Vec::new();
    while texts.len() < REQUESTS {
        let text = random_request(&mut rng, texts.len());
        if parse_request(&text, &settings).is_ok() {
            texts.push(text);
        }
    }
    let bot = TestBot::start_with(|env| {
        env.insert("USER_MAX_IN_FLIGHT".into(), "1000".into());
        env.insert("USER_MAX_PER_HOUR".into(), "1000".into());
        env.insert("POOL_DAILY_QUOTA".into(), "1000".into());
        env.insert("PIXVERSE_ACCOUNT_CONCURRENCY".into(), "1000".into());
    })
    .await;
    bot.px.hold_videos();
    bot.px.set_concurrency_limit(1000);
    let users: Vec<_> = (0..15).map(|i| private_user(6000 + i)).collect();
    for (n, text) in texts.iter().enumerate() {
        let (chat, user) = &users[n % users.len()];
        bot.tg.send_text(*chat, user, &format!("/t2v {text}"));
    }
    bot.wait_until("every request to reach PixVerse or fail", || {
        bot.px.count("/video/text/generate") >= REQUESTS
    })
    .await;
    let storage = bot.storage().await;
    let settled = || async {
        let rows: Vec<(String, Option<String>, String)> =
            pixverse_bot::on_pool!(storage.engine(), |pool| sqlx::query_as(
                "select state, last_error, prompt from task order by id"
            )
            .fetch_all(pool)
            .await)
            .unwrap();
        rows
    };
    let started = std::time::Instant::now();
    let rows = loop {
        let rows = settled().await;
        if rows.len() == REQUESTS
            && rows
                .iter()
                .all(|(state, _, _)| state == "generating" || state == "failed")
        {
            break rows;
        }
        assert!(started.elapsed() < DEADLINE, "tasks did not settle: {rows:?}");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    let refused: Vec<_> = rows.iter().filter(|(state, _, _)| state == "failed").collect();
    assert!(
        refused.is_empty(),
        "PixVerse refused what the bot accepted: {refused:#?}"
    );
    assert_eq!(bot.px.videos().len(), REQUESTS);
}
