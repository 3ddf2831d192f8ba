//! What a door asks the service for: who asks, where the result goes, and what to make.

use bytes::Bytes;

use crate::{
    domain::{GenerationParams, TaskKind},
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
    /// i2v: the image to animate. Required for i2v, refused for t2v.
    pub image: Option<ImageSource>,
}

/// Where the result goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Destination {
    /// A reply in a Telegram chat, under the request message (progress, video, failure).
    Telegram { chat_id: i64, request_message_id: i32 },
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

/// The image of an i2v request.
#[derive(Clone, Debug)]
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
