//! Why work was not accepted. Each door words it: the bot in the user's language, the HTTP API
//! as problem+json.

use std::time::Duration;

use crate::domain::{ModeError, PromptError, RequestError, TaskKind};

///
/// A refusal that could change (`may_change`) is recorded with the Telegram update that asked, as
/// JSON: the variants that depend on the request alone are never recorded (`serde(skip)`).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Refusal {
    /// Banned by an admin.
    Banned,
    /// `allowlist` mode, and the requester is neither allowed nor admitted through a group.
    NotAllowed,
    /// A placeholder sender (an anonymous group admin, a channel): nobody to bill.
    #[serde(skip)]
    AnonymousSender,
    /// The prompt or a parameter cannot be used; `kind` says which usage to point to.
    #[serde(skip)]
    Invalid { kind: TaskKind, error: RequestError },
    /// An i2v request without an image, or a t2v request with one.
    #[serde(skip)]
    ImageMismatch { kind: TaskKind },
    #[serde(skip)]
    ImageTooLarge { max_bytes: u64 },
    /// As many unfinished tasks as one user may have.
    TooManyInFlight { limit: u32 },
    /// As many tasks in the rolling hour as one user may request; a place frees in `retry_in`.
    HourlyLimit { limit: u32, retry_in: Duration },
    /// The user's videos on the shared pool for today are used up; the quota resets in `resets_in`.
    PoolQuota { limit: i64, resets_in: Duration },
    /// No own account, and the pool has no account either.
    NeedAccount,
    /// The own account's login expired or PixVerse refused it: connect it again.
    ReconnectAccount,
    /// A mode's own input cannot be used (the sound's description or the speech is too long).
    #[serde(skip)]
    Mode { kind: TaskKind, error: ModeError },
    /// The video a mode should work on is not one of the requester's.
    SourceNotFound { kind: TaskKind },
    /// The video a mode should work on has not been delivered (still running, or failed).
    SourceNotReady,
    /// The video a mode should work on was made with a PixVerse account the requester no longer
    /// uses; PixVerse knows the video only there.
    SourceOtherAccount,
    /// The mode needs a Platform API key and the task would run on a web login.
    NeedsApiKey { kind: TaskKind },
    /// The work needs a Platform API key (a mode, `--sfx`, an effect), the requester has no
    /// account of their own, and the shared pool holds only web logins.
    PoolNeedsApiKey { kind: TaskKind },
    /// A lip-sync audio over what Telegram serves and PixVerse takes.
    #[serde(skip)]
    AudioTooLarge { max_bytes: u64 },
}

impl Refusal {
    /// Whether the same request could be accepted another time: the answer depended on the
    /// moment (limits, access, the account, the source video), not on the request alone. Such a
    /// refusal is recorded with its update (`Service::accept`).
    pub fn may_change(&self) -> bool {
        !matches!(
            self,
            Refusal::AnonymousSender
                | Refusal::Invalid { .. }
                | Refusal::ImageMismatch { .. }
                | Refusal::ImageTooLarge { .. }
                | Refusal::Mode { .. }
                | Refusal::AudioTooLarge { .. }
        )
    }

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
