//! Randomised "arbitrary input never panics" tests for every parser that sees user input:
//! request text with flags, commands, and callback data. A seeded generator keeps failures
//! reproducible; the alphabet mixes the pieces parsers look for with hostile ones.

use pixverse_bot::{
    bot::Command,
    domain::{Callback, GenerationParams, parse_request},
};
use rand::{Rng, SeedableRng, rngs::StdRng, seq::SliceRandom};
use teloxide::utils::command::BotCommands;

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

#[test]
fn twenty_thousand_random_inputs_never_panic_any_parser() {
    let mut rng = StdRng::seed_from_u64(0x5eed);
    let settings = GenerationParams::default();
    let mut accepted = 0;
    for _ in 0..20_000 {
        let text = random_text(&mut rng);
        if let Ok((prompt, params)) = parse_request(&text, &settings) {
            // What parses is also what PixVerse accepts.
            assert!(!prompt.as_str().is_empty(), "{text:?}");
            assert_eq!(params.validate(), Ok(()), "{text:?}");
            accepted += 1;
        }
        let _ = Command::parse(&text, "pixverse_test_bot");
        let _ = Callback::parse(&text);
    }
    assert!(
        accepted > 1_000,
        "the generator also produces valid requests ({accepted})"
    );
}
