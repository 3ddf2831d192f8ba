//! Why work was not accepted. Each door words it: the bot in the user's language, the HTTP API
//! as problem+json.

use std::time::Duration;

use crate::domain::{ModeError, PromptError, RequestError, TaskKind};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Banned by an admin.
    Banned,
    /// `allowlist` mode, and the requester is neither allowed nor admitted through a group.
    NotAllowed,
    /// A placeholder sender (an anonymous group admin, a channel): nobody to bill.
    AnonymousSender,
    /// The prompt or a parameter cannot be used; `kind` says which usage to point to.
    Invalid {
        kind: TaskKind,
        error: RequestError,
    },
    /// An i2v request without an image, or a t2v request with one.
    ImageMismatch {
        kind: TaskKind,
    },
    ImageTooLarge {
        max_bytes: u64,
    },
    /// As many unfinished tasks as one user may have.
    TooManyInFlight {
        limit: u32,
    },
    /// As many tasks in the rolling hour as one user may request; a place frees in `retry_in`.
    HourlyLimit {
        limit: u32,
        retry_in: Duration,
    },
    /// The user's videos on the shared pool for today are used up; the quota resets in `resets_in`.
    PoolQuota {
        limit: i64,
        resets_in: Duration,
    },
    /// No own account, and the pool has no account either.
    NeedAccount,
    /// The own account's login expired or PixVerse refused it: connect it again.
    ReconnectAccount,
    /// A mode's own input cannot be used (the sound's description or the speech is too long).
    Mode {
        kind: TaskKind,
        error: ModeError,
    },
    /// The video a mode should work on is not one of the requester's.
    SourceNotFound {
        kind: TaskKind,
    },
    /// The video a mode should work on has not been delivered (still running, or failed).
    SourceNotReady,
    /// The video a mode should work on was made with a PixVerse account the requester no longer
    /// uses; PixVerse knows the video only there.
    SourceOtherAccount,
    /// The mode needs a Platform API key and the task would run on a web login.
    NeedsApiKey {
        kind: TaskKind,
    },
    /// The work needs a Platform API key (a mode, `--sfx`, an effect), the requester has no
    /// account of their own, and the shared pool holds only web logins.
    PoolNeedsApiKey {
        kind: TaskKind,
    },
    /// A lip-sync audio over what Telegram serves and PixVerse takes.
    AudioTooLarge {
        max_bytes: u64,
    },
}

impl Refusal {
    /// An empty prompt: the door answers with the usage of the command.
    pub fn is_empty_prompt(&self) -> bool {
        matches!(
            self,
            Refusal::Invalid {
                error: RequestError::Prompt(PromptError::Empty),
                ..
            }
        )
    }
}
