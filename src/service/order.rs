//! What a door asks the service for: who asks, where the result goes, and what to make.

use bytes::Bytes;

use crate::{
    domain::{AudioFile, GenerationParams, ImageFile, ModeInput, ReferenceRole, TaskId, TaskKind},
    storage::Upload,
};

/// One request for a video, from either door.
#[derive(Clone, Debug)]
pub struct WorkOrder {
    /// The user who asks and is billed (limits, quota, their own account). A Telegram user id,
    /// or an HTTP API user's id.
    pub requester: i64,
    pub destination: Destination,
    pub kind: TaskKind,
    pub spec: Spec,
    /// i2v: the image to animate. Required for i2v, refused for every other kind.
    pub image: Option<ImageSource>,
    /// One of PixVerse's further modes (then `kind` is its kind): what it works on.
    pub mode: Option<ModeOrder>,
    /// i2v only: one of PixVerse's effect templates (`template_id`), checked by the door
    /// against the templates PixVerse listed.
    pub effect: Option<i64>,
}

impl WorkOrder {
    /// A mode request: the spec's prompt is the extension's prompt, the sound's description or
    /// the text to speak; its flags set the parameters as for any request.
    pub fn mode(requester: i64, destination: Destination, spec: Spec, mode: ModeOrder) -> Self {
        WorkOrder {
            requester,
            destination,
            kind: mode.kind(),
            spec,
            image: None,
            mode: Some(mode),
            effect: None,
        }
    }
}

/// A further mode, as a door asks for it: the requester's earlier video it works on (by task
/// id; the service checks it is theirs and finished) and the mode's own choices.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ModeOrder {
    Extend {
        source: TaskId,
    },
    Sound {
        source: TaskId,
        keep_original_sound: bool,
    },
    LipSync {
        source: TaskId,
        speaker_id: String,
    },
    /// Lip-sync to an audio file: a voice message or audio file in Telegram, or an API upload.
    LipSyncAudio {
        source: TaskId,
        audio: AudioSource,
    },
    /// A video from the first image to the last.
    Transition {
        first: ImageSource,
        last: ImageSource,
    },
    /// Up to three named images combined as the prompt names them (`@name`).
    Fusion {
        references: Vec<FusionRef>,
    },
}

/// One reference of a fusion request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FusionRef {
    pub role: ReferenceRole,
    pub name: String,
    pub image: ImageSource,
}

/// The audio of a lip-sync request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AudioSource {
    /// A voice message or audio file in Telegram; the worker downloads it at submit time.
    /// `size` is what Telegram reported.
    Telegram { file_id: String, size: u64 },
    /// Bytes the HTTP API received (their type read from them), stored with the task.
    Uploaded { content_type: String, bytes: Bytes },
}

impl AudioSource {
    pub fn size(&self) -> u64 {
        match self {
            AudioSource::Telegram { size, .. } => *size,
            AudioSource::Uploaded { bytes, .. } => bytes.len() as u64,
        }
    }
}

impl ModeOrder {
    /// The same mode on the same video or photos as an earlier task (its "Again" button);
    /// `None` for files the HTTP API uploaded (they are not kept for another task).
    pub fn again(input: &ModeInput) -> Option<Self> {
        let source = input.source().map(|source| TaskId(source.task_id));
        let telegram = |image: &ImageFile| match image {
            ImageFile::Telegram { file_id } => Some(ImageSource::Telegram {
                file_id: file_id.clone(),
                size: 0,
            }),
            ImageFile::Uploaded { .. } => None,
        };
        Some(match input {
            ModeInput::Extend { .. } => ModeOrder::Extend { source: source? },
            ModeInput::Sound {
                keep_original_sound, ..
            } => ModeOrder::Sound {
                source: source?,
                keep_original_sound: *keep_original_sound,
            },
            ModeInput::LipSync { speaker_id, .. } => ModeOrder::LipSync {
                source: source?,
                speaker_id: speaker_id.clone(),
            },
            ModeInput::LipSyncAudio {
                audio: AudioFile::Telegram { file_id },
                ..
            } => ModeOrder::LipSyncAudio {
                source: source?,
                // The size was checked when the task was first accepted.
                audio: AudioSource::Telegram {
                    file_id: file_id.clone(),
                    size: 0,
                },
            },
            ModeInput::LipSyncAudio {
                audio: AudioFile::Uploaded,
                ..
            } => return None,
            ModeInput::Transition { first, last } => ModeOrder::Transition {
                first: telegram(first)?,
                last: telegram(last)?,
            },
            ModeInput::Fusion { references } => ModeOrder::Fusion {
                references: references
                    .iter()
                    .map(|r| {
                        Some(FusionRef {
                            role: r.role,
                            name: r.name.clone(),
                            image: telegram(&r.image)?,
                        })
                    })
                    .collect::<Option<_>>()?,
            },
        })
    }

    pub fn kind(&self) -> TaskKind {
        match self {
            ModeOrder::Extend { .. } => TaskKind::Extend,
            ModeOrder::Sound { .. } => TaskKind::Sound,
            ModeOrder::LipSync { .. } | ModeOrder::LipSyncAudio { .. } => TaskKind::LipSync,
            ModeOrder::Transition { .. } => TaskKind::Transition,
            ModeOrder::Fusion { .. } => TaskKind::Fusion,
        }
    }

    /// The earlier video the mode works on; `None` for the modes made from images.
    pub fn source(&self) -> Option<TaskId> {
        match self {
            ModeOrder::Extend { source }
            | ModeOrder::Sound { source, .. }
            | ModeOrder::LipSync { source, .. }
            | ModeOrder::LipSyncAudio { source, .. } => Some(*source),
            ModeOrder::Transition { .. } | ModeOrder::Fusion { .. } => None,
        }
    }
}

/// Where the result goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Destination {
    /// A reply in a Telegram chat, under the request message (progress, video, failure).
    Telegram {
        chat_id: i64,
        request_message_id: i32,
        /// The forum topic the request was made in, if any: every answer goes there.
        thread_id: Option<i32>,
        /// The update that made the request (`telegram::handled_update`), if known: one update
        /// queues at most one task, however often it is handled.
        source_update: Option<i64>,
    },
    /// Only recorded: the HTTP API's client asks for the result.
    Api,
}

impl Destination {
    /// The group chat the request comes from, if it does (its allowlist entry admits members).
    /// Telegram gives groups, supergroups and channels negative ids and users positive ones.
    pub fn group_chat(self) -> Option<i64> {
        match self {
            Destination::Telegram { chat_id, .. } if chat_id < 0 => Some(chat_id),
            _ => None,
        }
    }

    /// The Telegram update that made the request, if known.
    pub fn source_update(self) -> Option<i64> {
        match self {
            Destination::Telegram { source_update, .. } => source_update,
            Destination::Api => None,
        }
    }
}

/// What to generate.
#[derive(Clone, Debug)]
pub enum Spec {
    /// The chat form: a prompt followed by flags (`a fox --ar 9:16 --d 8`) that override the
    /// requester's saved settings for this request.
    Text(String),
    /// A prompt and the full parameters, already chosen (the API's fields, a button that runs an
    /// earlier task again). `params.seed: None` means "any": the service picks one to show.
    Given {
        prompt: String,
        params: GenerationParams,
    },
}

/// The image of an i2v request (or of a transition or fusion).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ImageSource {
    /// A photo or image document in Telegram; the worker downloads it at submit time.
    /// `size` is what Telegram reported (0 when unknown).
    Telegram { file_id: String, size: u64 },
    /// Bytes the HTTP API received, stored with the task.
    Uploaded { content_type: String, bytes: Bytes },
}

impl ImageSource {
    pub fn size(&self) -> u64 {
        match self {
            ImageSource::Telegram { size, .. } => *size,
            ImageSource::Uploaded { bytes, .. } => bytes.len() as u64,
        }
    }

    /// `(Telegram file id, upload)`: how the task row and its upload table store it.
    pub(super) fn into_stored(self) -> (Option<String>, Option<Upload>) {
        match self {
            ImageSource::Telegram { file_id, .. } => (Some(file_id), None),
            ImageSource::Uploaded { content_type, bytes } => (None, Some(Upload { content_type, bytes })),
        }
    }
}

/// Telegram's placeholder senders: a message from an anonymous group admin comes `from`
/// GroupAnonymousBot, one sent on behalf of a channel from Channel_Bot, and a channel post
/// forwarded into its discussion group from "Telegram". Thousands of people share each id, so
/// none of them may be billed, limited or banned as one user.
pub const PLACEHOLDER_USERS: [i64; 3] = [1087968824, 136817688, 777000];

pub fn is_placeholder(user_id: i64) -> bool {
    PLACEHOLDER_USERS.contains(&user_id)
}
