//! The further modes on the accept path: the earlier video a mode works on (the requester's,
//! delivered) decides the account the task runs on, and the mode's own input is checked.

use crate::{
    domain::{
        AudioFile, CredentialId, FusionImage, FusionReference, FusionReferences, ImageFile, LipSyncAudio,
        ModeInput, PoolAccountId, SourceVideo, TaskState, UserId, sound_description,
    },
    storage::{CredentialKind, StorageError, Upload},
};

use super::{AcceptError, AudioSource, ImageSource, MAX_IMAGE_BYTES, ModeOrder, Refusal, Service};

/// Telegram's `getFile` serves at most 20 MB; PixVerse's media upload takes that much.
pub const MAX_AUDIO_BYTES: u64 = 20 * 1024 * 1024;

/// The account a task must run on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Account {
    /// The requester's own account if usable, else the pool (t2v, i2v and the modes made from
    /// images; the worker gives a mode task only a pool account with an API key).
    Any,
    /// This credential of the requester's (it made the source video).
    Own(CredentialId),
    /// This pool account (it made the source video).
    Pool(PoolAccountId),
}

/// A mode order with its source video (if it has one) looked up.
pub(super) struct ResolvedMode {
    pub source: Option<SourceVideo>,
    pub account: Account,
}

/// What a mode task stores: its input, the upload beside it (an API lip-sync's audio) and the
/// images beside it (an API transition's or fusion's, by position).
pub(super) struct ModeParts {
    pub input: ModeInput,
    pub upload: Option<Upload>,
    pub images: Vec<Upload>,
}

impl Service {
    /// The source video of `order`: the requester's, delivered, and on an account that can run
    /// the mode (a Platform API key; a web login cannot).
    pub(super) async fn resolve_mode(
        &self,
        requester: i64,
        order: &ModeOrder,
    ) -> Result<ResolvedMode, AcceptError> {
        let Some(source) = order.source() else {
            return Ok(ResolvedMode {
                source: None,
                account: Account::Any,
            });
        };
        let task = match self.storage.task(source).await? {
            Some(task) if task.user_id == UserId(requester) => task,
            _ => return Err(Refusal::SourceNotFound { kind: order.kind() }.into()),
        };
        // PixVerse finished it once the task is delivering: a button pressed under the video
        // just before its delivery is recorded works on it too.
        let video_id = match (task.state, task.video_id) {
            (TaskState::Delivering | TaskState::Delivered, Some(video_id)) => video_id,
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
            source: Some(SourceVideo {
                task_id: task.id.0,
                video_id,
            }),
            account,
        })
    }
}

/// The stored parts of a mode task; `prompt` (checked as any prompt) is the extension's prompt,
/// the sound's description, the text to speak or the transition's or fusion's prompt, held to
/// the mode's own rules here.
pub(super) fn mode_parts(
    order: ModeOrder,
    source: Option<SourceVideo>,
    prompt: &str,
) -> Result<ModeParts, Refusal> {
    let kind = order.kind();
    let refuse = |error| Refusal::Mode { kind, error };
    let needs_source = || source.ok_or(Refusal::SourceNotFound { kind });
    let mut upload = None;
    let mut images = Vec::new();
    let input = match order {
        ModeOrder::Extend { .. } => ModeInput::Extend {
            source: needs_source()?,
        },
        ModeOrder::Sound {
            keep_original_sound, ..
        } => {
            sound_description(prompt).map_err(refuse)?;
            ModeInput::Sound {
                source: needs_source()?,
                keep_original_sound,
            }
        }
        ModeOrder::LipSync { speaker_id, .. } => {
            LipSyncAudio::from_fields(None, Some(&speaker_id), Some(prompt)).map_err(refuse)?;
            ModeInput::LipSync {
                source: needs_source()?,
                speaker_id,
            }
        }
        ModeOrder::LipSyncAudio { audio, .. } => {
            if audio.size() > MAX_AUDIO_BYTES {
                return Err(Refusal::AudioTooLarge {
                    max_bytes: MAX_AUDIO_BYTES,
                });
            }
            let audio = match audio {
                AudioSource::Telegram { file_id, .. } => AudioFile::Telegram { file_id },
                AudioSource::Uploaded { content_type, bytes } => {
                    upload = Some(Upload { content_type, bytes });
                    AudioFile::Uploaded
                }
            };
            ModeInput::LipSyncAudio {
                source: needs_source()?,
                audio,
            }
        }
        ModeOrder::Transition { first, last } => ModeInput::Transition {
            first: image_file(first, &mut images)?,
            last: image_file(last, &mut images)?,
        },
        ModeOrder::Fusion { references } => {
            // Names, count and mentions now; PixVerse's image ids are known at submit.
            let named = references
                .iter()
                .map(|r| FusionReference {
                    role: r.role,
                    img_id: 0,
                    name: r.name.clone(),
                })
                .collect();
            FusionReferences::parse(prompt, named).map_err(refuse)?;
            let references = references
                .into_iter()
                .map(|r| {
                    Ok(FusionImage {
                        role: r.role,
                        name: r.name,
                        image: image_file(r.image, &mut images)?,
                    })
                })
                .collect::<Result<_, Refusal>>()?;
            ModeInput::Fusion { references }
        }
    };
    Ok(ModeParts {
        input,
        upload,
        images,
    })
}

/// How a task stores one image of a transition or fusion: a Telegram file id, or the API's
/// bytes beside the task (appended to `images`, at their position).
fn image_file(image: ImageSource, images: &mut Vec<Upload>) -> Result<ImageFile, Refusal> {
    if image.size() > MAX_IMAGE_BYTES {
        return Err(Refusal::ImageTooLarge {
            max_bytes: MAX_IMAGE_BYTES,
        });
    }
    Ok(match image {
        ImageSource::Telegram { file_id, .. } => ImageFile::Telegram { file_id },
        ImageSource::Uploaded { content_type, bytes } => {
            images.push(Upload { content_type, bytes });
            ImageFile::Uploaded {
                position: images.len() as u32 - 1,
            }
        }
    })
}
