//! The inputs of PixVerse's further modes (transition, extend, fusion, lip-sync, sound), checked
//! against the combinations /work/shared/pixverse-api.md documents. A value of these types is a
//! combination PixVerse accepts: "one of two video fields" is an enum, not two options.

use serde::{Deserialize, Serialize};

use super::task::TaskKind;

/// Fusion takes one to three references on v4.5 (newer models reportedly more; PixVerse decides).
pub const MAX_FUSION_REFERENCES: usize = 3;
pub const MAX_REFERENCE_NAME_CHARS: usize = 30;
/// Lip-sync's text-to-speech content.
pub const MAX_SPEECH_CHARS: usize = 200;
/// The described sound of a sound effect.
pub const MAX_SOUND_CHARS: usize = 2048;
/// The TTS voice that lets PixVerse choose (the web app sends it with every video).
pub const AUTO_VOICE: &str = "Auto";

/// The video a mode works on: one PixVerse made for this account (`source_video_id`), or one
/// uploaded through `/media/upload` (`video_media_id`). PixVerse takes exactly one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum VideoSource {
    Generated(i64),
    Uploaded(i64),
}

impl VideoSource {
    /// From the two optional fields of a request: exactly one must be set.
    pub fn from_fields(source_video_id: Option<i64>, video_media_id: Option<i64>) -> Result<Self, ModeError> {
        match (source_video_id, video_media_id) {
            (Some(id), None) => Ok(Self::Generated(id)),
            (None, Some(id)) => Ok(Self::Uploaded(id)),
            (None, None) => Err(ModeError::NoVideo),
            (Some(_), Some(_)) => Err(ModeError::TwoVideos),
        }
    }
}

/// An earlier video of the requester that a mode works on: the task that made it, and the id
/// PixVerse gave it (sent as `source_video_id`; PixVerse takes it only from the account that
/// made it, so a mode task runs on the source task's account).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceVideo {
    pub task_id: i64,
    pub video_id: i64,
}

/// What a mode task needs beyond its prompt and parameters, stored with it (as JSON). The
/// prompt holds the extension's prompt, the sound's description or the text to speak.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum ModeInput {
    Extend {
        source: SourceVideo,
    },
    Sound {
        source: SourceVideo,
        /// Keep the video's own sound under the new one.
        keep_original_sound: bool,
    },
    LipSync {
        source: SourceVideo,
        /// One of PixVerse's TTS voices (`lip_sync_tts_speaker_id`).
        speaker_id: String,
    },
    /// Lip-sync to an audio file (uploaded to PixVerse at submit: `/media/upload`).
    LipSyncAudio {
        source: SourceVideo,
        audio: AudioFile,
    },
    /// From the first image to the last (both uploaded to PixVerse at submit).
    Transition {
        first: ImageFile,
        last: ImageFile,
    },
    /// Named references combined as the prompt says (`@name`); checked against the prompt at
    /// accept (`FusionReferences::parse`) and again with their PixVerse ids at submit.
    Fusion {
        references: Vec<FusionImage>,
    },
}

/// Where an image of a transition or fusion task is until the worker uploads it to PixVerse.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "from", rename_all = "snake_case")]
pub enum ImageFile {
    /// A photo in Telegram, fetched at submit time.
    Telegram { file_id: String },
    /// Bytes the HTTP API received, stored beside the task at this position (`task_image`).
    Uploaded { position: u32 },
}

/// One reference of a fusion task: its role, its name in the prompt, and its image.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FusionImage {
    pub role: ReferenceRole,
    pub name: String,
    pub image: ImageFile,
}

/// Where the audio of a lip-sync task is until the worker uploads it to PixVerse.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "from", rename_all = "snake_case")]
pub enum AudioFile {
    /// A voice message or audio file in Telegram, fetched at submit time.
    Telegram { file_id: String },
    /// Bytes the HTTP API received, stored beside the task.
    Uploaded,
}

impl ModeInput {
    pub fn kind(&self) -> TaskKind {
        match self {
            Self::Extend { .. } => TaskKind::Extend,
            Self::Sound { .. } => TaskKind::Sound,
            Self::LipSync { .. } | Self::LipSyncAudio { .. } => TaskKind::LipSync,
            Self::Transition { .. } => TaskKind::Transition,
            Self::Fusion { .. } => TaskKind::Fusion,
        }
    }

    /// The earlier video the mode works on; `None` for the modes made from images.
    pub fn source(&self) -> Option<SourceVideo> {
        match self {
            Self::Extend { source }
            | Self::Sound { source, .. }
            | Self::LipSync { source, .. }
            | Self::LipSyncAudio { source, .. } => Some(*source),
            Self::Transition { .. } | Self::Fusion { .. } => None,
        }
    }
}

/// What a lip-synced video says: an uploaded audio (`audio_media_id`), or text spoken by one of
/// PixVerse's TTS voices (`lip_sync_tts_speaker_id` + `lip_sync_tts_content`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum LipSyncAudio {
    Uploaded(i64),
    Speech { speaker_id: String, text: String },
}

impl LipSyncAudio {
    /// From a request's three optional fields: the audio, or both speech fields, never a mix.
    pub fn from_fields(
        audio_media_id: Option<i64>,
        speaker_id: Option<&str>,
        text: Option<&str>,
    ) -> Result<Self, ModeError> {
        let speaker_id = speaker_id.map(str::trim).filter(|s| !s.is_empty());
        match (audio_media_id, speaker_id, text) {
            (Some(id), None, None) => Ok(Self::Uploaded(id)),
            (Some(_), _, _) => Err(ModeError::AudioAndSpeech),
            (None, None, None) => Err(ModeError::NoAudio),
            (None, Some(speaker_id), Some(text)) => Ok(Self::Speech {
                speaker_id: speaker_id.to_owned(),
                text: bounded_text(text, MAX_SPEECH_CHARS).map_err(|chars| ModeError::SpeechLength {
                    chars,
                    max: MAX_SPEECH_CHARS,
                })?,
            }),
            (None, _, _) => Err(ModeError::HalfSpeech),
        }
    }
}

/// The sound a sound effect adds: trimmed, not empty, at most [`MAX_SOUND_CHARS`].
pub fn sound_description(text: &str) -> Result<String, ModeError> {
    bounded_text(text, MAX_SOUND_CHARS).map_err(|chars| ModeError::SoundLength {
        chars,
        max: MAX_SOUND_CHARS,
    })
}

/// Whether a fusion reference is the subject or the background of the video.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReferenceRole {
    Subject,
    Background,
}

impl ReferenceRole {
    /// The `type` PixVerse expects.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Subject => "subject",
            Self::Background => "background",
        }
    }
}

/// One uploaded image of a fusion, named so the prompt can say where it goes (`@name`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FusionReference {
    pub role: ReferenceRole,
    pub img_id: i64,
    pub name: String,
}

/// A fusion's references, checked against its prompt: 1–3 of them, names of at most 30
/// characters of `[A-Za-z0-9_ ]`, unique, and each named in the prompt as `@name`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FusionReferences(Vec<FusionReference>);

impl FusionReferences {
    pub fn parse(prompt: &str, references: Vec<FusionReference>) -> Result<Self, ModeError> {
        if references.is_empty() {
            return Err(ModeError::NoReferences);
        }
        if references.len() > MAX_FUSION_REFERENCES {
            return Err(ModeError::TooManyReferences {
                count: references.len(),
            });
        }
        for (i, reference) in references.iter().enumerate() {
            let name = &reference.name;
            let chars = name.chars().count();
            let allowed = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == ' ';
            if name.trim().is_empty() || chars > MAX_REFERENCE_NAME_CHARS || !name.chars().all(allowed) {
                return Err(ModeError::BadReferenceName { name: name.clone() });
            }
            if references[..i].iter().any(|earlier| earlier.name == *name) {
                return Err(ModeError::DuplicateReference { name: name.clone() });
            }
            if !mentions(prompt, name) {
                return Err(ModeError::UnmentionedReference { name: name.clone() });
            }
        }
        Ok(Self(references))
    }

    pub fn as_slice(&self) -> &[FusionReference] {
        &self.0
    }
}

/// `@name` in the prompt, not as the start of a longer word (`@cat` is not in `@cats`).
fn mentions(prompt: &str, name: &str) -> bool {
    let needle = format!("@{name}");
    prompt.match_indices(&needle).any(|(at, _)| {
        prompt[at + needle.len()..]
            .chars()
            .next()
            .is_none_or(|c| !(c.is_ascii_alphanumeric() || c == '_'))
    })
}

/// Trimmed text of 1..=max characters; Err carries the length found (0 when empty).
fn bounded_text(text: &str, max: usize) -> Result<String, usize> {
    let text = text.trim();
    let chars = text.chars().count();
    if chars == 0 || chars > max {
        Err(chars)
    } else {
        Ok(text.to_owned())
    }
}

/// Why a mode's input is not a combination PixVerse accepts.
#[derive(thiserror::Error, Clone, Debug, PartialEq, Eq)]
pub enum ModeError {
    #[error("no video given: send source_video_id or video_media_id")]
    NoVideo,
    #[error("two videos given: send source_video_id or video_media_id, not both")]
    TwoVideos,
    #[error("no audio given: send audio_media_id, or a speaker and the text to speak")]
    NoAudio,
    #[error("send audio_media_id or text-to-speech, not both")]
    AudioAndSpeech,
    #[error("text-to-speech needs both a speaker and the text to speak")]
    HalfSpeech,
    #[error("the text to speak has {chars} characters; it must have 1 to {max}")]
    SpeechLength { chars: usize, max: usize },
    #[error("the sound description has {chars} characters; it must have 1 to {max}")]
    SoundLength { chars: usize, max: usize },
    #[error("fusion needs at least one reference image")]
    NoReferences,
    #[error("fusion takes at most {MAX_FUSION_REFERENCES} reference images, not {count}")]
    TooManyReferences { count: usize },
    #[error("reference name {name:?} must be 1 to 30 characters of letters, digits, _ and spaces")]
    BadReferenceName { name: String },
    #[error("reference name {name:?} is used twice")]
    DuplicateReference { name: String },
    #[error("the prompt does not name reference {name:?} as @{name}")]
    UnmentionedReference { name: String },
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reference(name: &str) -> FusionReference {
        FusionReference {
            role: ReferenceRole::Subject,
            img_id: 1,
            name: name.into(),
        }
    }

    #[test]
    fn a_mode_input_is_stored_as_tagged_json_and_read_back() {
        let input = ModeInput::LipSync {
            source: SourceVideo {
                task_id: 3,
                video_id: 400_000_000_000_000_001,
            },
            speaker_id: "Auto".into(),
        };
        let json = serde_json::to_value(&input).unwrap();
        assert_eq!(json["mode"], "lip_sync");
        assert_eq!(json["source"]["video_id"], 400_000_000_000_000_001_i64);
        assert_eq!(serde_json::from_value::<ModeInput>(json).unwrap(), input);
        assert_eq!(input.kind(), TaskKind::LipSync);
    }

    #[test]
    fn a_video_source_is_exactly_one_of_the_two_fields() {
        assert_eq!(
            VideoSource::from_fields(Some(7), None),
            Ok(VideoSource::Generated(7))
        );
        assert_eq!(
            VideoSource::from_fields(None, Some(8)),
            Ok(VideoSource::Uploaded(8))
        );
        assert_eq!(VideoSource::from_fields(None, None), Err(ModeError::NoVideo));
        assert_eq!(
            VideoSource::from_fields(Some(7), Some(8)),
            Err(ModeError::TwoVideos)
        );
    }

    #[test]
    fn lip_sync_audio_is_an_upload_or_both_speech_fields() {
        assert_eq!(
            LipSyncAudio::from_fields(Some(3), None, None),
            Ok(LipSyncAudio::Uploaded(3))
        );
        assert_eq!(
            LipSyncAudio::from_fields(None, Some("v1"), Some(" hello ")),
            Ok(LipSyncAudio::Speech {
                speaker_id: "v1".into(),
                text: "hello".into()
            })
        );
        assert_eq!(
            LipSyncAudio::from_fields(None, None, None),
            Err(ModeError::NoAudio)
        );
        assert_eq!(
            LipSyncAudio::from_fields(Some(3), Some("v1"), Some("hi")),
            Err(ModeError::AudioAndSpeech)
        );
        assert_eq!(
            LipSyncAudio::from_fields(Some(3), None, Some("hi")),
            Err(ModeError::AudioAndSpeech)
        );
        assert_eq!(
            LipSyncAudio::from_fields(None, Some("v1"), None),
            Err(ModeError::HalfSpeech)
        );
        assert_eq!(
            LipSyncAudio::from_fields(None, Some(" "), Some("hi")),
            Err(ModeError::HalfSpeech)
        );
        assert_eq!(
            LipSyncAudio::from_fields(None, None, Some("hi")),
            Err(ModeError::HalfSpeech)
        );
    }

    #[test]
    fn speech_holds_one_to_two_hundred_characters() {
        let max = "é".repeat(MAX_SPEECH_CHARS);
        assert!(LipSyncAudio::from_fields(None, Some("v"), Some(&max)).is_ok());
        assert_eq!(
            LipSyncAudio::from_fields(None, Some("v"), Some(&format!("{max}é"))),
            Err(ModeError::SpeechLength { chars: 201, max: 200 })
        );
        assert_eq!(
            LipSyncAudio::from_fields(None, Some("v"), Some("  ")),
            Err(ModeError::SpeechLength { chars: 0, max: 200 })
        );
    }

    #[test]
    fn a_sound_description_holds_one_to_2048_characters() {
        assert_eq!(
            sound_description(" rain on a tin roof ").unwrap(),
            "rain on a tin roof"
        );
        assert!(sound_description(&"a".repeat(2048)).is_ok());
        assert_eq!(
            sound_description(&"a".repeat(2049)),
            Err(ModeError::SoundLength {
                chars: 2049,
                max: 2048
            })
        );
        assert_eq!(
            sound_description(""),
            Err(ModeError::SoundLength { chars: 0, max: 2048 })
        );
    }

    #[test]
    fn fusion_takes_one_to_three_named_references() {
        let prompt = "@cat sits on @beach at @golden hour";
        let three = vec![reference("cat"), reference("beach"), reference("golden hour")];
        assert_eq!(
            FusionReferences::parse(prompt, three).unwrap().as_slice().len(),
            3
        );
        assert_eq!(
            FusionReferences::parse(prompt, vec![]),
            Err(ModeError::NoReferences)
        );
        let four = vec![
            reference("cat"),
            reference("beach"),
            reference("golden"),
            reference("hour"),
        ];
        assert_eq!(
            FusionReferences::parse(prompt, four),
            Err(ModeError::TooManyReferences { count: 4 })
        );
    }

    #[test]
    fn fusion_reference_names_are_short_plain_and_unique() {
        let long = "a".repeat(31);
        for bad in ["", "  ", "cat!", "кот", long.as_str()] {
            assert_eq!(
                FusionReferences::parse(&format!("@{bad}"), vec![reference(bad)]),
                Err(ModeError::BadReferenceName { name: bad.into() }),
                "{bad:?}"
            );
        }
        let thirty = "a_1 ".repeat(7) + "ab";
        assert!(FusionReferences::parse(&format!("@{thirty}"), vec![reference(&thirty)]).is_ok());
        assert_eq!(
            FusionReferences::parse("@cat and @cat", vec![reference("cat"), reference("cat")]),
            Err(ModeError::DuplicateReference { name: "cat".into() })
        );
    }

    #[test]
    fn every_fusion_reference_is_named_in_the_prompt() {
        assert_eq!(
            FusionReferences::parse("@cat on a beach", vec![reference("cat"), reference("beach")]),
            Err(ModeError::UnmentionedReference { name: "beach".into() })
        );
        assert_eq!(
            FusionReferences::parse("@cats play", vec![reference("cat")]),
            Err(ModeError::UnmentionedReference { name: "cat".into() })
        );
        assert!(FusionReferences::parse("look: @cat, then @cats", vec![reference("cat")]).is_ok());
    }
}
