//! English texts of the further modes.

use super::{en::En, modes::ModeTexts};
use crate::domain::{MAX_SOUND_CHARS, MAX_SPEECH_CHARS, ModeError, TaskKind};

/// How a fusion is asked for.
const FUSION_FORM: &str = "Send up to three photos together (an album) with a caption that names them in \
                           order as @name: @cat naps on @beach (or --refs cat,beach). --bg beach makes one \
                           the background.";

impl ModeTexts for En {
    fn mode_usage(&self, kind: TaskKind) -> String {
        match kind {
            TaskKind::Extend => "Reply to one of your videos with /extend <what happens next>, \
                                 or press ➕ Extend under it."
                .into(),
            TaskKind::Sound => "Reply to one of your videos with /sound <the sound>, \
                                e.g. /sound rain on a tin roof."
                .into(),
            TaskKind::LipSync => format!(
                "Reply to one of your videos with a voice message or an audio file, or with /say <text> \
                 (up to {MAX_SPEECH_CHARS} characters): the video speaks it."
            ),
            TaskKind::Transition => {
                "Send two photos together (an album) with a caption, or reply to such an \
                                     album with /transition <prompt>: a video from the first to the second, \
                                     e.g. day turns to night."
                    .into()
            }
            TaskKind::Fusion => format!("{FUSION_FORM} Or reply to the album with /fusion <that caption>."),
            TaskKind::T2v | TaskKind::I2v => "Send a prompt, or a photo with a caption.".into(),
        }
    }

    fn mode_error(&self, error: &ModeError) -> String {
        match error {
            ModeError::SpeechLength { chars, max } => {
                format!("That text has {chars} characters; a video can say 1 to {max}.")
            }
            ModeError::SoundLength { chars, max } => {
                format!("That description has {chars} characters; it may have 1 to {max}.")
            }
            ModeError::NoReferences
            | ModeError::TooManyReferences { .. }
            | ModeError::BadReferenceName { .. }
            | ModeError::DuplicateReference { .. }
            | ModeError::UnmentionedReference { .. } => format!("That does not fit: {error}.\n{FUSION_FORM}"),
            other => format!("That cannot be used: {other}."),
        }
    }

    fn source_not_found(&self, kind: TaskKind) -> String {
        format!(
            "I can only do that with one of your own videos. {}",
            self.mode_usage(kind)
        )
    }

    fn source_not_ready(&self) -> String {
        "That video is not finished (or it failed). Wait for it to arrive, then try again.".into()
    }

    fn source_other_account(&self) -> String {
        "That video was made with a PixVerse account you no longer use, and PixVerse knows it only \
         there. Try it with a video made since."
            .into()
    }

    fn needs_api_key(&self, kind: TaskKind) -> String {
        let what = match kind {
            TaskKind::Extend => "Extending a video",
            TaskKind::Sound => "Adding sound to a video",
            TaskKind::LipSync => "Lip-sync",
            TaskKind::Transition => "A transition",
            TaskKind::Fusion => "A fusion",
            // i2v needs a key only with an effect template.
            TaskKind::I2v => "An effect",
            TaskKind::T2v => "This",
        };
        format!(
            "{what} needs a PixVerse Platform API key; a web login (/login) cannot do it. \
             Connect a key with /apikey <key> (from platform.pixverse.ai) and use it on a video made with it."
        )
    }

    fn audio_too_large(&self, max_mb: u64) -> String {
        format!("That audio is over {max_mb} MB; please send a shorter one.")
    }

    fn voices(&self, count: usize) -> String {
        if count == 0 {
            return "PixVerse lists no voices right now; /say uses its automatic voice.".into();
        }
        "Pick the voice /say speaks with (✅ is yours):".into()
    }

    fn voice_chosen(&self, speaker_id: &str) -> String {
        format!("/say now speaks with voice {speaker_id}.")
    }

    fn button_extend(&self) -> String {
        "➕ Extend".into()
    }

    fn button_sound(&self) -> String {
        "🔊 Sound".into()
    }

    fn describe_sound(&self) -> String {
        format!(
            "Describe the sound: reply to the video with /sound <description> (up to {MAX_SOUND_CHARS} \
             characters), e.g. /sound wind over snow, a distant owl."
        )
    }
}
