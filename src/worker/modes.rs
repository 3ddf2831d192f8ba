//! Submit of the further modes: the task's stored input becomes the mode's PixVerse request,
//! sent under the task's trace id like t2v and i2v. Crash story as in `submit.rs`: the trace id
//! was stored with `submitting` before this call, and the request is built from the stored task
//! alone (a lip-sync's audio and a transition's or fusion's images are uploaded once and their
//! PixVerse ids stored before the submit), so a retry after an unknown outcome sends the same
//! body under the same id and PixVerse answers with the video it already started.

use anyhow::Context;
use serde::{Deserialize, Serialize};

use crate::{
    domain::{
        AudioFile, CredentialId, FusionReference, FusionReferences, ImageFile, LipSyncAudio, ModeInput,
        VideoSource,
    },
    pixverse::{
        Credential, ExtendRequest, FusionRequest, LipSyncRequest, PixverseError, SoundRequest,
        TransitionRequest, UploadedImage,
    },
    storage::{Resubmit, TaskLease, TaskRow},
    texts::FailureReason,
};

use super::Worker;

/// What PixVerse holds for a mode task (stored in `task.image_ref`, which holds an i2v task's
/// uploaded image: one upload reference per task).
#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum StoredUpload {
    /// A lip-sync's audio.
    Media { media_id: i64 },
    /// A transition's or fusion's images, in the order of the task's input.
    Images { img_ids: Vec<i64> },
}

/// Why a file of a mode task is not on PixVerse.
enum FileProblem {
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
        let video = input
            .source()
            .map(|source| VideoSource::Generated(source.video_id));
        let video = || video.context("a mode on a video has its source");
        let answer = match input {
            ModeInput::Extend { .. } => {
                let request = extend_request(lease.task(), video()?);
                self.pixverse.extend(credential, &request, trace_id).await
            }
            ModeInput::Sound {
                keep_original_sound, ..
            } => {
                let task = lease.task();
                let request = SoundRequest {
                    video: video()?,
                    description: task.prompt.clone(),
                    keep_original_sound: Some(*keep_original_sound),
                    seed: task.params().seed,
                };
                self.pixverse.sound_effect(credential, &request, trace_id).await
            }
            ModeInput::LipSync { speaker_id, .. } => {
                let request = LipSyncRequest {
                    video: video()?,
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
                    Err(problem) => {
                        return self
                            .file_problem(lease, problem, FailureReason::AudioUnavailable, own)
                            .await;
                    }
                };
                let request = LipSyncRequest {
                    video: video()?,
                    audio: LipSyncAudio::Uploaded(media_id),
                };
                self.pixverse.lip_sync(credential, &request, trace_id).await
            }
            ModeInput::Transition { first, last } => {
                let ids = match self
                    .uploaded_images(&mut lease, &[first, last], credential)
                    .await?
                {
                    Ok(ids) => ids,
                    Err(problem) => {
                        return self
                            .file_problem(lease, problem, FailureReason::PhotoUnavailable, own)
                            .await;
                    }
                };
                let task = lease.task();
                let params = task.params();
                let request = TransitionRequest {
                    prompt: task.prompt.clone(),
                    first_frame_img: ids[0],
                    last_frame_img: ids[1],
                    model: params.model.as_str().to_owned(),
                    duration: params.duration,
                    quality: params.quality.as_str().to_owned(),
                    negative_prompt: params.negative_prompt.clone(),
                    seed: params.seed,
                    motion_mode: Some(params.motion_mode.as_str().to_owned()),
                    sound: None,
                };
                self.pixverse.transition(credential, &request, trace_id).await
            }
            ModeInput::Fusion { references } => {
                let images: Vec<&ImageFile> = references.iter().map(|r| &r.image).collect();
                let ids = match self.uploaded_images(&mut lease, &images, credential).await? {
                    Ok(ids) => ids,
                    Err(problem) => {
                        return self
                            .file_problem(lease, problem, FailureReason::PhotoUnavailable, own)
                            .await;
                    }
                };
                let task = lease.task();
                let params = task.params();
                let named = references
                    .iter()
                    .zip(ids)
                    .map(|(r, img_id)| FusionReference {
                        role: r.role,
                        img_id,
                        name: r.name.clone(),
                    })
                    .collect();
                // Checked against this prompt when the task was accepted.
                let references =
                    FusionReferences::parse(&task.prompt, named).context("stored fusion references")?;
                let request = FusionRequest {
                    prompt: task.prompt.clone(),
                    references,
                    model: params.model.as_str().to_owned(),
                    duration: params.duration,
                    quality: params.quality.as_str().to_owned(),
                    aspect_ratio: params.aspect_ratio.as_str().to_owned(),
                    negative_prompt: params.negative_prompt.clone(),
                    seed: params.seed,
                };
                self.pixverse.fusion(credential, &request, trace_id).await
            }
        };
        match answer {
            Ok(video_id) => self.submitted(lease, video_id).await,
            Err(error) => self.pixverse_failed(lease, &error, own).await,
        }
    }

    /// A file the submit needs could not be put on PixVerse.
    async fn file_problem(
        &self,
        lease: TaskLease,
        problem: FileProblem,
        unavailable: FailureReason,
        own: Option<CredentialId>,
    ) -> anyhow::Result<()> {
        match problem {
            FileProblem::Unavailable => self.fail(lease, unavailable, "file unavailable").await,
            FileProblem::TelegramDown(error) => {
                self.retry_later(lease, &error, None, Resubmit::SameTrace).await
            }
            FileProblem::Pixverse(error) => self.pixverse_failed(lease, &error, own).await,
        }
    }

    /// The lip-sync's audio on PixVerse: uploaded earlier (stored media id), or fetched (from
    /// Telegram, or the API's upload stored beside the task) and uploaded now.
    async fn uploaded_audio(
        &self,
        lease: &mut TaskLease,
        audio: &AudioFile,
        credential: &Credential,
    ) -> anyhow::Result<Result<i64, FileProblem>> {
        if let Some(StoredUpload::Media { media_id }) = stored_upload(lease.task())? {
            return Ok(Ok(media_id));
        }
        let (bytes, content_type) = match audio {
            AudioFile::Telegram { file_id } => match self.download_file(file_id).await {
                Ok((bytes, ext)) => (bytes, audio_type(&ext).to_owned()),
                Err(teloxide::RequestError::Api(_)) => return Ok(Err(FileProblem::Unavailable)),
                Err(e) => return Ok(Err(FileProblem::TelegramDown(e.to_string()))),
            },
            AudioFile::Uploaded => match self.storage.task_upload(lease.id().0).await? {
                Some(upload) => (upload.bytes.to_vec(), upload.content_type),
                None => return Ok(Err(FileProblem::Unavailable)),
            },
        };
        let file_name = format!("audio.{}", audio_ext(&content_type));
        match self
            .pixverse
            .upload_media(credential, bytes, &file_name, &content_type)
            .await
        {
            Ok(media) => {
                let stored = serde_json::to_string(&StoredUpload::Media {
                    media_id: media.media_id,
                })?;
                lease.store_image(&stored).await?;
                Ok(Ok(media.media_id))
            }
            Err(error) => Ok(Err(FileProblem::Pixverse(error))),
        }
    }

    /// The images of a transition or fusion on PixVerse, in order: uploaded earlier (stored
    /// ids), or fetched (from Telegram, or the API's images stored beside the task) and uploaded
    /// now, all before any id is stored (a retry uploads all again, never half).
    async fn uploaded_images(
        &self,
        lease: &mut TaskLease,
        images: &[&ImageFile],
        credential: &Credential,
    ) -> anyhow::Result<Result<Vec<i64>, FileProblem>> {
        if let Some(StoredUpload::Images { img_ids }) = stored_upload(lease.task())?
            && img_ids.len() == images.len()
        {
            return Ok(Ok(img_ids));
        }
        let mut img_ids = Vec::with_capacity(images.len());
        for image in images {
            let (bytes, ext) = match image {
                ImageFile::Telegram { file_id } => match self.download_photo(file_id).await {
                    Ok(found) => found,
                    Err(teloxide::RequestError::Api(_)) => return Ok(Err(FileProblem::Unavailable)),
                    Err(e) => return Ok(Err(FileProblem::TelegramDown(e.to_string()))),
                },
                ImageFile::Uploaded { position } => {
                    match self.storage.task_image(lease.id().0, *position).await? {
                        Some(upload) => {
                            let ext = image_ext(&upload.content_type);
                            (upload.bytes.to_vec(), ext.to_owned())
                        }
                        None => return Ok(Err(FileProblem::Unavailable)),
                    }
                }
            };
            match self.pixverse.upload_image(credential, bytes, &ext).await {
                Ok(UploadedImage::Platform { img_id }) => img_ids.push(img_id),
                Ok(UploadedImage::Web { .. }) => anyhow::bail!("a mode task ran on a web login"),
                Err(error) => return Ok(Err(FileProblem::Pixverse(error))),
            }
        }
        let stored = serde_json::to_string(&StoredUpload::Images {
            img_ids: img_ids.clone(),
        })?;
        lease.store_image(&stored).await?;
        Ok(Ok(img_ids))
    }
}

/// What the task's `image_ref` says PixVerse already holds for it.
fn stored_upload(task: &TaskRow) -> anyhow::Result<Option<StoredUpload>> {
    task.image_ref
        .as_deref()
        .map(|stored| serde_json::from_str(stored).context("stored upload reference"))
        .transpose()
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

/// A file extension for an audio type (PixVerse reads the name as well as the type).
fn audio_ext(content_type: &str) -> &'static str {
    match content_type {
        "audio/mpeg" => "mp3",
        "audio/mp4" => "m4a",
        "audio/wav" => "wav",
        "audio/flac" => "flac",
        _ => "ogg",
    }
}

/// The extension PixVerse's image upload takes for an image type.
fn image_ext(content_type: &str) -> &'static str {
    match content_type {
        "image/png" => "png",
        "image/webp" => "webp",
        _ => "jpg",
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
