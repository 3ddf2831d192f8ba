//! Pure types of the bot's domain: what a request is and what state a task is in. No I/O.

mod album;
mod callback;
mod ids;
mod modes;
mod params;
mod prompt;
mod request;
mod task;

pub use album::{AlbumRequest, parse_album_caption};
pub use callback::{Callback, MAX_CALLBACK_DATA, SettingField};
pub use ids::{ChatId, CredentialId, PoolAccountId, TaskId, UserId};
pub use modes::{
    AUTO_VOICE, AudioFile, FusionImage, FusionReference, FusionReferences, ImageFile, LipSyncAudio,
    MAX_FUSION_REFERENCES, MAX_REFERENCE_NAME_CHARS, MAX_SOUND_CHARS, MAX_SPEECH_CHARS, ModeError, ModeInput,
    ReferenceRole, SourceVideo, VideoSource, sound_description,
};
pub use params::{
    AspectRatio, GenerationParams, MAX_SEED, Model, MotionMode, ParamError, ParamProblem, Quality, Style,
};
pub use prompt::{MAX_PROMPT_CHARS, Prompt, PromptError};
pub use request::{RequestError, parse_request};
pub use task::{TaskKind, TaskState, WaitReason};
