//! The further modes on the accept path: the earlier video a mode works on (the requester's,
//! delivered) decides the account the task runs on, and the mode's own input is checked.

use crate::{
    domain::{
        CredentialId, LipSyncAudio, ModeInput, PoolAccountId, SourceVideo, TaskState, UserId,
        sound_description,
    },
    storage::{CredentialKind, StorageError},
};

use super::{AcceptError, ModeOrder, Refusal, Service};

/// The account a task must run on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Account {
    /// The requester's own account if usable, else the pool (t2v and i2v).
    Any,
    /// This credential of the requester's (it made the source video).
    Own(CredentialId),
    /// This pool account (it made the source video).
    Pool(PoolAccountId),
}

/// A mode order with its source video looked up.
pub(super) struct ResolvedMode {
    pub source: SourceVideo,
    pub account: Account,
}

impl Service {
    /// The source video of `order`: the requester's, delivered, and on an account that can run
    /// the mode (a Platform API key; a web login cannot).
    pub(super) async fn resolve_mode(
        &self,
        requester: i64,
        order: &ModeOrder,
    ) -> Result<ResolvedMode, AcceptError> {
        let task = match self.storage.task(order.source()).await? {
            Some(task) if task.user_id == UserId(requester) => task,
            _ => return Err(Refusal::SourceNotFound { kind: order.kind() }.into()),
        };
        let video_id = match (task.state, task.video_id) {
            (TaskState::Delivered, Some(video_id)) => video_id,
            _ => return Err(Refusal::SourceNotReady.into()),
        };
        let account = match (task.credential_id, task.pool_account_id) {
            (Some(own), _) => Account::Own(own),
            (None, Some(pool)) => {
                let web = self
                    .storage
                    .pool_account_by_id(pool.0)
                    .await?
                    .is_some_and(|account| account.kind == CredentialKind::Web);
                if web {
                    return Err(Refusal::NeedsApiKey { kind: order.kind() }.into());
                }
                Account::Pool(pool)
            }
            (None, None) => {
                return Err(AcceptError::Storage(StorageError::Corrupt(format!(
                    "delivered task {} has no account",
                    task.id.0
                ))));
            }
        };
        Ok(ResolvedMode {
            source: SourceVideo {
                task_id: task.id.0,
                video_id,
            },
            account,
        })
    }
}

/// The stored input of a mode task; `prompt` (checked as any prompt) is the extension's prompt,
/// the sound's description or the text to speak, held to the mode's own limits here.
pub(super) fn mode_input(order: ModeOrder, source: SourceVideo, prompt: &str) -> Result<ModeInput, Refusal> {
    let kind = order.kind();
    let refuse = |error| Refusal::Mode { kind, error };
    Ok(match order {
        ModeOrder::Extend { .. } => ModeInput::Extend { source },
        ModeOrder::Sound {
            keep_original_sound, ..
        } => {
            sound_description(prompt).map_err(refuse)?;
            ModeInput::Sound {
                source,
                keep_original_sound,
            }
        }
        ModeOrder::LipSync { speaker_id, .. } => {
            LipSyncAudio::from_fields(None, Some(&speaker_id), Some(prompt)).map_err(refuse)?;
            ModeInput::LipSync { source, speaker_id }
        }
    })
}
