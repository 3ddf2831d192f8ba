//! Every user-facing text, per language. Handlers and the worker ask [`texts`] for the user's
//! language and never spell a text themselves. Adding a text to the trait makes the compiler ask
//! for it in every language.

pub mod admin;
mod admin_en;
mod admin_ru;
/// Texts of `/token` (API tokens).
pub mod api;
pub mod effects;
mod effects_en;
mod effects_ru;
mod en;
/// Texts of the further modes (extend, sound, lip-sync).
pub mod modes;
mod modes_en;
mod modes_ru;
mod ru;

use std::time::Duration;

use crate::domain::{GenerationParams, MotionMode, ParamError, TaskKind, TaskState};

/// The languages the bot speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    En,
    Ru,
}

impl Lang {
    /// From Telegram's `language_code` (IETF tag); English unless we speak the language.
    pub fn from_code(code: Option<&str>) -> Lang {
        match code.map(|c| c.to_ascii_lowercase()) {
            Some(c) if c == "ru" || c.starts_with("ru-") => Lang::Ru,
            _ => Lang::En,
        }
    }

    pub const ALL: [Lang; 2] = [Lang::En, Lang::Ru];

    /// The language's own name, for the language menu.
    pub fn native_name(self) -> &'static str {
        match self {
            Lang::En => "🇬🇧 English",
            Lang::Ru => "🇷🇺 Русский",
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Ru => "ru",
        }
    }
}

pub fn texts(lang: Lang) -> &'static dyn Texts {
    match lang {
        Lang::En => &en::En,
        Lang::Ru => &ru::Ru,
    }
}

/// One line of `/status`.
pub struct TaskLine<'a> {
    pub id: i64,
    pub kind: TaskKind,
    pub state: TaskState,
    pub prompt: &'a str,
    /// How long ago it was created.
    pub age: Duration,
}

/// Why a task ended without a video.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailureReason {
    /// PixVerse's moderation refused the prompt or image.
    Moderation,
    /// PixVerse reported the generation as failed or deleted.
    GenerationFailed,
    /// The credential used has no credits left; `own` tells whose it was.
    OutOfCredits { own: bool },
    /// PixVerse refused the credential (expired, logged in elsewhere, wrong key).
    CredentialInvalid { own: bool },
    /// PixVerse refused the request itself (e.g. a parameter or the image).
    Rejected,
    /// The image could not be used (too large, unreadable, wrong format).
    BadImage,
    /// PixVerse did not finish the video before the deadline (counted from when it accepted it).
    TimedOut,
    /// The task waited in the queue longer than the queue-wait limit; PixVerse never started it.
    QueueTimedOut,
    /// PixVerse kept failing; we gave up after retrying.
    Unavailable,
    /// The bot itself kept failing on this task (e.g. a stored credential it cannot read).
    Internal,
    /// The user disconnected the account the task was using.
    AccountRemoved,
    /// The photo could not be fetched from Telegram.
    PhotoUnavailable,
    /// The audio of a lip-sync could not be fetched (from Telegram, or its stored upload).
    AudioUnavailable,
}

pub trait Texts: Sync {
    /// A task's state in a word or two, for lists.
    fn state_word(&self, state: TaskState) -> &'static str;
    /// How long ago, in words: `5 min ago`.
    fn ago(&self, age: Duration) -> String;
    /// The language these texts are in.
    fn lang(&self) -> Lang;
    fn start(&self, first_name: &str, has_own_account: bool, shared_available: bool) -> String;
    fn help(&self) -> String;
    /// Descriptions for the command menu, in the order of `Command`.
    fn command_descriptions(&self) -> Vec<(&'static str, &'static str)>;

    fn unknown_command(&self) -> String;
    fn text_hint(&self) -> String;
    fn internal_error(&self) -> String;

    fn secret_only_in_private(&self, bot_username: &str) -> String;
    fn login_usage(&self) -> String;
    fn login_ok(&self, account: &str) -> String;
    fn login_wrong_credentials(&self) -> String;
    fn apikey_usage(&self) -> String;
    fn apikey_ok(&self, label: &str) -> String;
    fn apikey_invalid(&self) -> String;
    fn pixverse_unreachable(&self) -> String;
    fn logout_done(&self) -> String;
    fn logout_nothing(&self) -> String;

    fn t2v_usage(&self) -> String;
    fn i2v_usage(&self) -> String;
    fn prompt_too_long(&self, chars: usize, max: usize) -> String;
    fn param_error(&self, error: &ParamError) -> String;
    fn photo_needs_caption(&self) -> String;
    fn not_an_image(&self) -> String;
    fn image_too_large(&self, max_mb: u64) -> String;
    fn need_account(&self) -> String;
    fn reconnect_account(&self) -> String;
    /// A request from an anonymous group admin or a channel: nobody to bill.
    fn anonymous_sender(&self) -> String;

    fn queued(&self) -> String;
    fn waiting_for_slot(&self) -> String;
    fn held_for_login(&self) -> String;
    fn too_many_in_flight(&self, limit: u32) -> String;
    fn hourly_limit(&self, limit: u32, retry_in_minutes: i64) -> String;
    fn generating(&self, elapsed: Duration) -> String;
    fn uploading(&self) -> String;
    fn delivered(&self, elapsed: Duration) -> String;
    fn failed(&self, reason: FailureReason) -> String;
    fn caption(&self, prompt: &str, params: &GenerationParams) -> String;
    fn video_link(&self, prompt: &str, url: &str) -> String;

    fn status(&self, in_flight: &[TaskLine<'_>], finished: &[TaskLine<'_>]) -> String;
    fn balance(&self, source: &str, daily: Option<i64>, monthly: i64, package: i64) -> String;
    /// The user's own account, unnamed (in a group its name stays private).
    fn balance_own_account(&self) -> &'static str;

    // Buttons under results and failures.
    fn button_again(&self) -> String;
    fn button_new_seed(&self) -> String;
    fn button_retry(&self) -> String;
    /// Callback answer: a new task was queued from a button.
    fn button_queued(&self) -> String;
    /// Callback answer: the task behind a button is gone or belongs elsewhere.
    fn button_task_not_found(&self) -> String;

    // /settings
    fn settings_menu(&self, params: &GenerationParams) -> String;
    fn settings_choose(&self, field: SettingField) -> String;
    fn setting_name(&self, field: SettingField) -> &'static str;
    fn motion_name(&self, mode: MotionMode) -> &'static str;
    fn on_off(&self, on: bool) -> &'static str;
    /// A duration in seconds, short: `5 s`.
    fn seconds(&self, n: u32) -> String;
    fn button_back(&self) -> String;
    /// Callback answer after a change was saved.
    fn settings_saved(&self) -> String;
    fn settings_private_only(&self, bot_username: &str) -> String;

    // /language
    fn language_menu(&self) -> String;
    /// Said in the newly chosen language.
    fn language_set(&self) -> String;

    // /history
    fn history(&self, tasks: &[TaskLine<'_>]) -> String;
    /// Callback answer when a video cannot be re-sent (not delivered as a file).
    fn history_unavailable(&self) -> String;
}

pub use crate::domain::SettingField;

/// How long a generation typically takes; the progress bar fills against it.
pub const TYPICAL_GENERATION: Duration = Duration::from_secs(45);

/// A text progress bar for a generation running `elapsed`: 90% at the typical duration, then
/// creeping on, and never 100% before the video is actually done.
pub fn progress_bar(elapsed: Duration) -> String {
    const CELLS: usize = 10;
    let t = elapsed.as_secs_f64();
    let typical = TYPICAL_GENERATION.as_secs_f64();
    let fraction = if t <= typical {
        0.9 * t / typical
    } else {
        0.9 + 0.09 * (1.0 - (-(t - typical) / 60.0).exp())
    };
    let percent = ((fraction * 100.0) as u32).min(99);
    let filled = (percent as usize * CELLS / 100).min(CELLS - 1);
    format!("{}{} {percent}%", "▰".repeat(filled), "▱".repeat(CELLS - filled))
}

/// The label of a history button: `▶️ #12 a fox…`.
pub(crate) fn history_button(id: i64, prompt: &str) -> String {
    format!("▶️ #{id} {}", shorten(prompt, 24))
}

/// `#12 ✅ delivered — a fox… — 5 min ago`: one task in `/status` and `/history`.
pub(crate) fn task_line(texts: &dyn Texts, line: &TaskLine<'_>) -> String {
    format!(
        "#{} {}{} — {} — {}",
        line.id,
        modes::kind_mark(line.kind),
        texts.state_word(line.state),
        shorten(line.prompt, 60),
        texts.ago(line.age)
    )
}

/// `1:05` style elapsed time.
pub(crate) fn clock(elapsed: Duration) -> String {
    let secs = elapsed.as_secs();
    format!("{}:{:02}", secs / 60, secs % 60)
}

/// The prompt cut to `max` characters with an ellipsis, for captions and lists.
/// The most of a user's own input a reply repeats back: enough to recognise it, never enough to
/// push the reply past Telegram's 4,096 characters.
pub const ECHO_CHARS: usize = 64;

/// `input` as a reply repeats it: cut short (see [`ECHO_CHARS`]).
pub fn echo(input: &str) -> String {
    shorten(input, ECHO_CHARS)
}

pub fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        let cut: String = text.chars().take(max.saturating_sub(1)).collect();
        format!("{cut}…")
    }
}

/// The parameters as a compact line: `v5 · 5s · 540p · 16:9 · seed 42`.
pub(crate) fn params_line(params: &GenerationParams) -> String {
    let mut parts = vec![
        params.model.as_str().to_owned(),
        format!("{}s", params.duration),
        params.quality.as_str().to_owned(),
        params.aspect_ratio.as_str().to_owned(),
    ];
    if params.motion_mode == crate::domain::MotionMode::Fast {
        parts.push("fast".into());
    }
    if let Some(style) = params.style {
        parts.push(style.as_str().into());
    }
    if let Some(seed) = params.seed {
        parts.push(format!("seed {seed}"));
    }
    parts.join(" · ")
}

/// `5, 8, 10`.
pub(crate) fn join_numbers(values: &[u32]) -> String {
    values.iter().map(u32::to_string).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn russian_speakers_get_russian_and_everyone_else_english() {
        assert_eq!(Lang::from_code(Some("ru")), Lang::Ru);
        assert_eq!(Lang::from_code(Some("ru-RU")), Lang::Ru);
        assert_eq!(Lang::from_code(Some("de")), Lang::En);
        assert_eq!(Lang::from_code(None), Lang::En);
    }

    #[test]
    fn captions_fit_telegrams_limit_even_for_the_longest_prompt() {
        let prompt = "x".repeat(crate::domain::MAX_PROMPT_CHARS);
        for lang in [Lang::En, Lang::Ru] {
            let caption = texts(lang).caption(&prompt, &GenerationParams::default());
            assert!(caption.chars().count() <= 1024, "{lang:?}");
        }
    }

    #[test]
    fn the_progress_bar_advances_and_never_reaches_100_before_done() {
        assert_eq!(progress_bar(Duration::ZERO), "▱▱▱▱▱▱▱▱▱▱ 0%");
        let half = progress_bar(TYPICAL_GENERATION / 2);
        assert!(half.ends_with(" 45%"), "{half}");
        assert!(progress_bar(TYPICAL_GENERATION).ends_with(" 90%"));
        for secs in [60, 300, 3600, 86_400] {
            let bar = progress_bar(Duration::from_secs(secs));
            assert!(bar.contains('▱') && !bar.contains("100%"), "{bar}");
        }
    }

    #[test]
    fn command_menus_match_the_commands_in_every_language() {
        use teloxide::utils::command::BotCommands;
        let commands: Vec<String> = crate::bot::Command::bot_commands()
            .into_iter()
            .map(|c| c.command.trim_start_matches('/').to_owned())
            .collect();
        for lang in [Lang::En, Lang::Ru] {
            let menu: Vec<String> = texts(lang)
                .command_descriptions()
                .into_iter()
                .map(|(c, _)| c.to_owned())
                .collect();
            assert_eq!(menu, commands, "{lang:?}");
        }
    }

    #[test]
    fn clock_and_shorten_format_as_shown_to_users() {
        assert_eq!(clock(Duration::from_secs(65)), "1:05");
        assert_eq!(shorten("abcdef", 4), "abc…");
        assert_eq!(shorten("abc", 4), "abc");
    }
}
