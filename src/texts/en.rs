//! English texts.

use std::time::Duration;

use super::{
    FailureReason, Lang, SettingField, TaskLine, Texts, clock, echo, join_numbers, params_line, progress_bar,
    shorten, task_line,
};
use crate::domain::{GenerationParams, MotionMode, ParamError, ParamProblem, TaskState};

pub struct En;

const FLAGS: &str = "Flags after the prompt change one request:\n\
  --ar 9:16   aspect ratio (16:9, 4:3, 1:1, 3:4, 9:16)\n\
  --q 720p    quality (360p, 540p, 720p, 1080p)\n\
  --d 8       duration in seconds\n\
  --model v5  model (v3.5 … v6, c1)\n\
  --seed 42   repeatable result\n\
  --no text   what to avoid\n\
  --fast      fast motion (5 s, below 1080p)\n\
  --style anime  anime, 3d_animation, clay, comic, cyberpunk\n\
  --audio     generated sound (v5.5 and newer)\n\
  --sfx rain  a described sound with the video (needs an API key)";

impl Texts for En {
    fn lang(&self) -> Lang {
        Lang::En
    }

    fn start(&self, first_name: &str, has_own_account: bool, shared_available: bool) -> String {
        let next = if has_own_account {
            "Your PixVerse account is connected. Send /t2v followed by a prompt, or a photo with a caption."
        } else if shared_available {
            "You can start right away: send /t2v followed by a prompt, or a photo with a caption. \
             To use your own PixVerse credits, connect your account with /login or /apikey."
        } else {
            "First connect your PixVerse account: /login <email> <password> or /apikey <key> \
             (in this private chat; the message is deleted at once)."
        };
        format!(
            "Hi {first_name}! I turn words and photos into PixVerse AI videos.\n\n{next}\n\n\
             Example: /t2v a fox running through snow at sunset --ar 9:16\n/help lists everything."
        )
    }

    fn help(&self) -> String {
        format!(
            "What I can do:\n\
             /t2v <prompt> — a video from text. Example: /t2v a paper boat on a rainy street\n\
             /i2v <prompt> — a video from a photo: send it as the photo's caption, or reply to a photo\n\
             A photo with a caption (private chat) — the same as /i2v\n\
             /extend <prompt> — reply to one of your videos: its continuation\n\
             /sound <description> — reply to one of your videos: the same video with that sound\n\
             /say <text> — reply to one of your videos: the video speaks the text (up to 200 characters); \
             a voice message or audio file as a reply does the same with that audio; /voices picks the voice\n\
             /effects — PixVerse's effects as buttons: pick one, then send a photo; /cancel forgets the pick\n\
             Two photos as an album with a caption (or /transition <prompt> as a reply to the album) — \
             a transition from the first to the second\n\
             Up to three photos as an album, the caption naming them (@cat naps on @beach, --bg beach; \
             or /fusion <that caption> as a reply to the album) — a fusion\n\
             /status — your videos in progress and the last finished ones\n\
             /balance — credits of the account you generate with\n\
             /settings — your defaults (model, duration, quality, aspect ratio, motion, audio), \
             with buttons; flags still win for one request\n\
             /history — your last 10 videos; tap one to get it again\n\
             /language — English or Russian\n\
             /login <email> <password> — connect your PixVerse account (private chat only)\n\
             /apikey <key> — connect a PixVerse API key (private chat only)\n\
             /logout — disconnect your account\n\n{FLAGS}\n\n\
             Example: /t2v a lighthouse in a storm --ar 9:16 --q 720p --d 8 --seed 42 --no text\n\
             Under every video: 🔁 Again (same request), 🎲 New seed (a new variation), \
             ➕ Extend (a continuation) and 🔊 Sound. Extend, sound, /say and effects need a PixVerse API key (/apikey).\n\n\
             In groups: /t2v@botname <prompt>, or a photo captioned /i2v <prompt>."
        )
    }

    fn command_descriptions(&self) -> Vec<(&'static str, &'static str)> {
        vec![
            ("start", "What this bot does"),
            ("help", "Commands, flags and examples"),
            ("t2v", "Video from text: /t2v <prompt>"),
            ("i2v", "Video from a photo: caption or reply"),
            ("extend", "Continue a video: reply to it"),
            ("sound", "Give a video a sound: reply to it"),
            ("say", "Make a video speak: reply to it"),
            ("transition", "Photo to photo: reply to an album"),
            ("fusion", "Combine photos: reply to an album"),
            ("voices", "Pick the voice /say speaks with"),
            ("effects", "Effects for your next photo"),
            ("cancel", "Forget the picked effect"),
            ("status", "Your videos in progress"),
            ("balance", "Credits left"),
            ("login", "Connect a PixVerse account (private)"),
            ("apikey", "Connect a PixVerse API key (private)"),
            ("logout", "Disconnect your account"),
            ("settings", "Default model, duration, quality…"),
            ("history", "Your last videos, to get them again"),
            ("language", "Language: English or Russian"),
            ("token", "API token for this account (private)"),
        ]
    }

    fn unknown_command(&self) -> String {
        "I don't know that command. /help lists what I can do.".into()
    }

    fn text_hint(&self) -> String {
        "To make a video, send /t2v followed by a prompt, e.g. /t2v a cat surfing a wave. \
         Or send a photo with a caption. /help lists everything."
            .into()
    }

    fn internal_error(&self) -> String {
        "Something went wrong on my side. Please try again in a minute.".into()
    }

    fn secret_only_in_private(&self, bot_username: &str) -> String {
        format!(
            "Never share passwords or keys in a group. I deleted the message if I could and stored nothing. \
             Connect your account in a private chat with me: https://t.me/{bot_username}"
        )
    }

    fn login_usage(&self) -> String {
        "Usage: /login <email or username> <password>\nI delete the message at once and never store the password."
            .into()
    }

    fn login_ok(&self, account: &str) -> String {
        format!(
            "✅ Connected to PixVerse as {account}. I deleted your message; the password was not stored.\n\n\
             Note: PixVerse allows one session per account, so this signed your browser out of PixVerse, and \
             logging in there again will disconnect me. For uninterrupted use, connect an API key with /apikey."
        )
    }

    fn login_wrong_credentials(&self) -> String {
        "❌ PixVerse did not accept that username and password. Check them and try /login again.".into()
    }

    fn apikey_usage(&self) -> String {
        "Usage: /apikey <key>\nGet a key at platform.pixverse.ai. I delete the message at once.".into()
    }

    fn apikey_ok(&self, label: &str) -> String {
        format!("✅ PixVerse API key connected ({label}). I deleted your message.")
    }

    fn apikey_invalid(&self) -> String {
        "❌ PixVerse did not accept that API key. Check it at platform.pixverse.ai and try again.".into()
    }

    fn pixverse_unreachable(&self) -> String {
        "PixVerse is not answering right now. Nothing was changed; please try again in a few minutes.".into()
    }

    fn logout_done(&self) -> String {
        "Your PixVerse account is disconnected and its token deleted.".into()
    }

    fn logout_nothing(&self) -> String {
        "No PixVerse account is connected.".into()
    }

    fn t2v_usage(&self) -> String {
        "Add a prompt after the command, e.g.\n/t2v a fox running through snow at sunset".into()
    }

    fn i2v_usage(&self) -> String {
        "Send a photo with the caption /i2v <prompt>, or reply to a photo with /i2v <prompt>.".into()
    }

    fn prompt_too_long(&self, chars: usize, max: usize) -> String {
        format!("That prompt has {chars} characters; the limit is {max}. Please shorten it.")
    }

    fn param_error(&self, error: &ParamError) -> String {
        match error {
            ParamError::UnknownFlag(flag) => format!("I don't know the flag {}.\n\n{FLAGS}", echo(flag)),
            ParamError::MissingValue { flag } => format!("The flag {} needs a value.\n\n{FLAGS}", echo(flag)),
            ParamError::InvalidValue {
                flag,
                value,
                accepted,
            } => {
                format!(
                    "{} is not a valid value for {}. Accepted: {accepted}.",
                    echo(value),
                    echo(flag)
                )
            }
            ParamError::Combination(problem) => match problem {
                ParamProblem::Duration {
                    model,
                    quality,
                    duration,
                    accepted,
                } => format!(
                    "{} at {} cannot make {duration} s videos. Choose one of: {} s.",
                    model.as_str(),
                    quality.as_str(),
                    join_numbers(accepted)
                ),
                ParamProblem::AspectRatio { model, aspect_ratio } => format!(
                    "{} does not support {}. Use 16:9, 4:3, 1:1, 3:4 or 9:16 (v6 and c1 also 2:3, 3:2, 21:9).",
                    model.as_str(),
                    aspect_ratio.as_str()
                ),
                ParamProblem::FastMotion => {
                    "Fast motion works only with 5-second videos below 1080p. Drop --fast or change --d/--q."
                        .into()
                }
                ParamProblem::Audio { model } => {
                    format!(
                        "{} cannot generate sound; audio needs v5.5 or later.",
                        model.as_str()
                    )
                }
            },
        }
    }

    fn photo_needs_caption(&self) -> String {
        "Nice photo! Send it again with a caption describing the motion, e.g. \"waves roll in, camera pans left\"."
            .into()
    }

    fn not_an_image(&self) -> String {
        "I can only animate images (JPEG, PNG or WebP). Please send a photo.".into()
    }

    fn image_too_large(&self, max_mb: u64) -> String {
        format!("That image is larger than {max_mb} MB. Please send a smaller one (or send it as a photo).")
    }

    fn need_account(&self) -> String {
        "To generate videos, connect your PixVerse account first, in a private chat with me:\n\
         /login <email> <password> or /apikey <key>"
            .into()
    }

    fn reconnect_account(&self) -> String {
        "Your PixVerse login has expired or was used elsewhere. Please /login again (or use /apikey).".into()
    }

    fn anonymous_sender(&self) -> String {
        "You are writing as the group or a channel, so I can't tell who is asking. \
         Please send the request from your own account."
            .into()
    }

    fn queued(&self) -> String {
        "⏳ Accepted. Your video is queued…".into()
    }

    fn waiting_for_slot(&self) -> String {
        "⏳ PixVerse is busy with your other videos; this one starts as soon as a slot frees up…".into()
    }

    fn held_for_login(&self) -> String {
        "⏸ Waiting for you to /login again; this video continues as soon as you do.".into()
    }

    fn too_many_in_flight(&self, limit: u32) -> String {
        format!("You already have {limit} videos in progress. Send this again when one of them is done.")
    }

    fn hourly_limit(&self, limit: u32, retry_in_minutes: i64) -> String {
        format!(
            "You have made {limit} videos in the last hour, the limit. You can make more in {retry_in_minutes} min."
        )
    }

    fn generating(&self, elapsed: Duration) -> String {
        format!(
            "🎬 Generating…\n{}\n⏱ {} (usually 30–60 s)",
            progress_bar(elapsed),
            clock(elapsed)
        )
    }

    fn uploading(&self) -> String {
        "📤 Done! Sending the video…".into()
    }

    fn delivered(&self, elapsed: Duration) -> String {
        format!("✅ Delivered in {}.", clock(elapsed))
    }

    fn failed(&self, reason: FailureReason) -> String {
        match reason {
            FailureReason::Moderation => {
                "🚫 PixVerse's content filter rejected this request (no credits were charged). Try a different prompt or image.".into()
            }
            FailureReason::GenerationFailed => "❌ PixVerse could not generate this video. Please try again.".into(),
            FailureReason::OutOfCredits { own: true } => {
                "💳 Your PixVerse account is out of credits. Top up at pixverse.ai, then try again.".into()
            }
            FailureReason::OutOfCredits { own: false } => {
                "💳 The shared PixVerse account is out of credits. The admins know; try again later, or connect your own account with /login.".into()
            }
            FailureReason::CredentialInvalid { own: true } => self.reconnect_account(),
            FailureReason::CredentialInvalid { own: false } => {
                "🔑 The shared PixVerse account stopped working. The admins know; try again later, or connect your own account.".into()
            }
            FailureReason::Rejected => "❌ PixVerse refused these settings. Try other parameters (see /help).".into(),
            FailureReason::BadImage => {
                "🖼 PixVerse could not use this image. Send a JPEG or PNG under 20 MB, at most 4000 px a side.".into()
            }
            FailureReason::TimedOut => {
                "⌛ This video took far too long and was stopped. Please try again.".into()
            }
            FailureReason::QueueTimedOut => {
                "⌛ Your request waited too long in the queue and was not started (nothing was charged). \
                 Please try again later."
                    .into()
            }
            FailureReason::Internal => {
                "⚠️ Something went wrong on my side with this video, and retrying did not help. The \
                 operator can see why in the logs. Please try again later."
                    .into()
            }
            FailureReason::Unavailable => {
                "⚠️ PixVerse kept failing, so I gave up on this video. Please try again later.".into()
            }
            FailureReason::AccountRemoved => {
                "The PixVerse account this video was using was disconnected, so it was stopped.".into()
            }
            FailureReason::PhotoUnavailable => {
                "I could not fetch your photo from Telegram. Please send it again.".into()
            }
            FailureReason::AudioUnavailable => {
                "I could not fetch your audio from Telegram. Please send it again.".into()
            }
        }
    }

    fn caption(&self, prompt: &str, params: &GenerationParams) -> String {
        format!("🎬 {}\n\n{}", shorten(prompt, 900), params_line(params))
    }

    fn video_link(&self, prompt: &str, url: &str) -> String {
        format!(
            "🎬 {}\n\nThe video is too large to send here; download it: {url}",
            shorten(prompt, 900)
        )
    }

    fn status(&self, in_flight: &[TaskLine<'_>], finished: &[TaskLine<'_>]) -> String {
        if in_flight.is_empty() && finished.is_empty() {
            return "You have no videos yet. Try /t2v a fox running through snow".into();
        }
        let mut out = String::new();
        if in_flight.is_empty() {
            out.push_str("Nothing in progress.\n");
        } else {
            out.push_str("In progress:\n");
            for line in in_flight {
                out.push_str(&task_line(self, line));
                out.push('\n');
            }
        }
        if !finished.is_empty() {
            out.push_str("\nRecently finished:\n");
            for line in finished {
                out.push_str(&task_line(self, line));
                out.push('\n');
            }
        }
        out
    }

    fn balance(&self, source: &str, daily: Option<i64>, monthly: i64, package: i64) -> String {
        let daily = daily.map(|d| format!("daily {d}, ")).unwrap_or_default();
        format!("Credits of {source}: {daily}monthly {monthly}, package {package}.")
    }

    fn balance_own_account(&self) -> &'static str {
        "your account"
    }

    fn button_again(&self) -> String {
        "🔁 Again".into()
    }

    fn button_new_seed(&self) -> String {
        "🎲 New seed".into()
    }

    fn button_retry(&self) -> String {
        "🔁 Retry".into()
    }

    fn button_queued(&self) -> String {
        "⏳ Queued a new video".into()
    }

    fn button_task_not_found(&self) -> String {
        "Sorry, I can't find that request any more. Send it again, please.".into()
    }

    fn settings_menu(&self, p: &GenerationParams) -> String {
        let mut out = format!(
            "⚙️ Your settings — used for every request; flags after a prompt change one request.\n\n\
             Model: {}\nDuration: {} s\nQuality: {}\nAspect ratio: {}\nMotion: {}",
            p.model.as_str(),
            p.duration,
            p.quality.as_str(),
            p.aspect_ratio.as_str(),
            self.motion_name(p.motion_mode),
        );
        if p.model.supports_audio() {
            out.push_str(&format!("\nAudio: {}", self.on_off(p.audio)));
        }
        out.push_str("\n\nTap a setting to change it.");
        out
    }

    fn settings_choose(&self, field: SettingField) -> String {
        let hint = match field {
            SettingField::Model => "Newer models look better; v6 and c1 allow 1–15 s and more aspect ratios.",
            SettingField::Duration => "Only the durations your model and quality allow are shown.",
            SettingField::Quality => "Higher quality costs more credits.",
            SettingField::AspectRatio => "16:9 landscape, 9:16 for stories and reels, 1:1 square.",
            SettingField::Motion => "Fast motion needs 5 s and a quality below 1080p.",
            SettingField::Audio => "Generate a soundtrack with the video.",
        };
        format!("⚙️ {} — choose one.\n{hint}", self.setting_name(field))
    }

    fn setting_name(&self, field: SettingField) -> &'static str {
        match field {
            SettingField::Model => "Model",
            SettingField::Duration => "Duration",
            SettingField::Quality => "Quality",
            SettingField::AspectRatio => "Aspect ratio",
            SettingField::Motion => "Motion",
            SettingField::Audio => "Audio",
        }
    }

    fn motion_name(&self, mode: MotionMode) -> &'static str {
        match mode {
            MotionMode::Normal => "normal",
            MotionMode::Fast => "fast",
        }
    }

    fn on_off(&self, on: bool) -> &'static str {
        if on { "on" } else { "off" }
    }

    fn seconds(&self, n: u32) -> String {
        format!("{n} s")
    }

    fn button_back(&self) -> String {
        "« Back".into()
    }

    fn settings_saved(&self) -> String {
        "✅ Saved".into()
    }

    fn settings_private_only(&self, bot_username: &str) -> String {
        format!(
            "Settings are personal: open them in a private chat with me: https://t.me/{bot_username}?start=settings"
        )
    }

    fn language_menu(&self) -> String {
        "🌐 Choose your language:".into()
    }

    fn language_set(&self) -> String {
        "🌐 I'll speak English with you from now on.".into()
    }

    fn history(&self, tasks: &[TaskLine<'_>]) -> String {
        if tasks.is_empty() {
            return "You have no videos yet. Try /t2v a fox running through snow".into();
        }
        let mut out = String::from("🗂 Your last videos (tap one to get it again):\n");
        for line in tasks {
            out.push('\n');
            out.push_str(&task_line(self, line));
        }
        out
    }

    fn history_unavailable(&self) -> String {
        "That video can't be sent again (it was delivered as a link or not at all).".into()
    }

    fn state_word(&self, state: TaskState) -> &'static str {
        match state {
            TaskState::Queued => "queued",
            TaskState::Submitting => "starting",
            TaskState::Generating => "generating",
            TaskState::Delivering => "sending",
            TaskState::Delivered => "✅ delivered",
            TaskState::Failed => "❌ failed",
        }
    }

    fn ago(&self, age: Duration) -> String {
        let mins = age.as_secs() / 60;
        match mins {
            0 => "just now".into(),
            m if m < 60 => format!("{m} min ago"),
            m if m < 48 * 60 => format!("{} h ago", m / 60),
            m => format!("{} days ago", m / 60 / 24),
        }
    }
}
