//! Texts of PixVerse's further modes (extend, sound, lip-sync) in the chat: their usage, the
//! refusals about the video they work on, and their buttons. Kept apart from [`super::Texts`]
//! so the user texts stay small; the trait makes every text exist in both languages.

use super::{Lang, en::En, ru::Ru};
use crate::domain::{ModeError, TaskKind};

pub fn mode_texts(lang: Lang) -> &'static dyn ModeTexts {
    match lang {
        Lang::En => &En,
        Lang::Ru => &Ru,
    }
}

/// The mark a mode's video carries in /status and /history (none for t2v and i2v).
pub fn kind_mark(kind: TaskKind) -> &'static str {
    match kind {
        TaskKind::T2v | TaskKind::I2v => "",
        TaskKind::Extend => "➕ ",
        TaskKind::Sound => "🔊 ",
        TaskKind::LipSync => "🗣 ",
        TaskKind::Transition => "🎞 ",
        TaskKind::Fusion => "🧩 ",
    }
}

pub trait ModeTexts: Send + Sync {
    /// How to ask for `kind` (sent for a command without its text, or not as a reply to a video).
    fn mode_usage(&self, kind: TaskKind) -> String;
    /// The mode's own input cannot be used (too long, empty).
    fn mode_error(&self, error: &ModeError) -> String;
    /// The replied-to message is not one of the requester's delivered videos.
    fn source_not_found(&self, kind: TaskKind) -> String;
    /// The video has not been delivered.
    fn source_not_ready(&self) -> String;
    /// The video was made with a PixVerse account the requester no longer uses.
    fn source_other_account(&self) -> String;
    /// The mode needs a Platform API key; the video's account is a web login.
    fn needs_api_key(&self, kind: TaskKind) -> String;
    fn audio_too_large(&self, max_mb: u64) -> String;
    /// The /voices list's header (`count` voices as buttons under it).
    fn voices(&self, count: usize) -> String;
    fn voice_chosen(&self, speaker_id: &str) -> String;
    fn button_extend(&self) -> String;
    fn button_sound(&self) -> String;
    /// The answer to the 🔊 Sound button: how to describe the sound.
    fn describe_sound(&self) -> String;
}
