//! Submit of the further modes (extend, sound, lip-sync): the task's stored input becomes the
//! mode's PixVerse request, sent under the task's trace id like t2v and i2v. Crash story as in
//! `submit.rs`: the trace id was stored with `submitting` before this call, and the request is
//! built from the stored task alone (a lip-sync audio is uploaded once and its media id stored
//! before the submit), so a retry after an unknown outcome sends the same body under the same
//! id and PixVerse answers with the video it already started.

use anyhow::Context;
use serde::{Deserialize, Serialize};

use crate::{
    domain::{AudioFile, CredentialId, LipSyncAudio, ModeInput, VideoSource},
    pixverse::{Credential, ExtendRequest, LipSyncRequest, PixverseError, SoundRequest},
    storage::{Resubmit, TaskLease, TaskRow},
    texts::FailureReason,
};

use super::Worker;

/// The audio PixVerse holds for a lip-sync task (stored in `task.image_ref`, which holds an
/// i2v task's uploaded image: one upload reference per task).
#[derive(Serialize, Deserialize)]
struct StoredMedia {
    media_id: i64,
}

/// Why a lip-sync's audio is not on PixVerse.
enum AudioProblem {
    Unavailable,
    TelegramDown(String),
    Pixverse(PixverseError),
}

impl Worker {
    pub(super) async fn submit_mode(
        &self,
        mut lease: TaskLease,
        input: &ModeInput,
        credential: &Credential,
        trace_id: &str,
        own: Option<CredentialId>,
    ) -> anyhow::Result<()> {
        let video = VideoSource::Generated(input.source().video_id);
        let answer = match input {
            ModeInput::Extend { .. } => {
                let request = extend_request(lease.task(), video);
                self.pixverse.extend(credential, &request, trace_id).await
            }
            ModeInput::Sound {
                keep_original_sound, ..
            } => {
                let task = lease.task();
                let request = SoundRequest {
                    video,
                    description: task.prompt.clone(),
                    keep_original_sound: Some(*keep_original_sound),
                    seed: task.params().seed,
                };
                self.pixverse.sound_effect(credential, &request, trace_id).await
            }
            ModeInput::LipSync { speaker_id, .. } => {
                let request = LipSyncRequest {
                    video,
                    audio: LipSyncAudio::Speech {
                        speaker_id: speaker_id.clone(),
                        text: lease.task().prompt.clone(),
                    },
                };
                self.pixverse.lip_sync(credential, &request, trace_id).await
            }
            ModeInput::LipSyncAudio { audio, .. } => {
                let media_id = match self.uploaded_audio(&mut lease, audio, credential).await? {
                    Ok(media_id) => media_id,
                    Err(AudioProblem::Unavailable) => {
                        return self
                            .fail(lease, FailureReason::AudioUnavailable, "audio unavailable")
                            .await;
                    }
                    Err(AudioProblem::TelegramDown(error)) => {
                        return self.retry_later(lease, &error, None, Resubmit::SameTrace).await;
                    }
                    Err(AudioProblem::Pixverse(error)) => {
                        return self.pixverse_failed(lease, &error, own).await;
                    }
                };
                let request = LipSyncRequest {
                    video,
                    audio: LipSyncAudio::Uploaded(media_id),
                };
                self.pixverse.lip_sync(credential, &request, trace_id).await
            }
        };
        match answer {
            Ok(video_id) => self.submitted(lease, video_id).await,
            Err(error) => self.pixverse_failed(lease, &error, own).await,
        }
    }

    /// The lip-sync's audio on PixVerse: uploaded earlier (stored media id), or fetched (from
    /// Telegram, or the API's upload stored beside the task) and uploaded now.
    async fn uploaded_audio(
        &self,
        lease: &mut TaskLease,
        audio: &AudioFile,
        credential: &Credential,
    ) -> anyhow::Result<Result<i64, AudioProblem>> {
        if let Some(stored) = &lease.task().image_ref {
            let stored: StoredMedia = serde_json::from_str(stored).context("stored media reference")?;
            return Ok(Ok(stored.media_id));
        }
        let (bytes, content_type) = match audio {
            AudioFile::Telegram { file_id } => match self.download_file(file_id).await {
                Ok((bytes, ext)) => (bytes, audio_type(&ext).to_owned()),
                Err(teloxide::RequestError::Api(_)) => return Ok(Err(AudioProblem::Unavailable)),
                Err(e) => return Ok(Err(AudioProblem::TelegramDown(e.to_string()))),
            },
            AudioFile::Uploaded => match self.storage.task_upload(lease.id().0).await? {
                Some(upload) => (upload.bytes.to_vec(), upload.content_type),
                None => return Ok(Err(AudioProblem::Unavailable)),
            },
        };
        let file_name = format!("audio.{}", audio_ext(&content_type));
        match self
            .pixverse
            .upload_media(credential, bytes, &file_name, &content_type)
            .await
        {
            Ok(media) => {
                let stored = serde_json::to_string(&StoredMedia {
                    media_id: media.media_id,
                })?;
                lease.store_image(&stored).await?;
                Ok(Ok(media.media_id))
            }
            Err(error) => Ok(Err(AudioProblem::Pixverse(error))),
        }
    }
}

/// The media type of a Telegram audio by its file's extension (voice messages are Ogg Opus).
fn audio_type(ext: &str) -> &'static str {
    match ext {
        "mp3" => "audio/mpeg",
        "m4a" | "mp4" | "aac" => "audio/mp4",
        "wav" => "audio/wav",
        "flac" => "audio/flac",
        _ => "audio/ogg",
    }
}

/// A file extension for a media type (PixVerse reads the name as well as the type).
fn audio_ext(content_type: &str) -> &'static str {
    match content_type {
        "audio/mpeg" => "mp3",
        "audio/mp4" => "m4a",
        "audio/wav" => "wav",
        "audio/flac" => "flac",
        _ => "ogg",
    }
}

/// A continuation with the task's own parameters (PixVerse takes the ratio from the video).
fn extend_request(task: &TaskRow, video: VideoSource) -> ExtendRequest {
    let params = task.params();
    ExtendRequest {
        prompt: task.prompt.clone(),
        video,
        model: params.model.as_str().to_owned(),
        duration: params.duration,
        quality: params.quality.as_str().to_owned(),
        negative_prompt: params.negative_prompt.clone(),
        seed: params.seed,
        motion_mode: Some(params.motion_mode.as_str().to_owned()),
        style: params.style.map(|s| s.as_str().to_owned()),
    }
}
