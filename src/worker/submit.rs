//! Submit: upload the image (i2v) and ask PixVerse to generate.

use anyhow::Context;
use teloxide::{net::Download, prelude::*};

use crate::{
    domain::{GenerationParams, TaskKind, TaskState},
    pixverse::{self, GenerationRequest, UploadedImage},
    storage::{TaskRow, now_ms},
    texts::FailureReason,
};

use super::progress::Edit;
use super::{Lookup, Worker};

impl Worker {
    #[tracing::instrument(skip_all, fields(task_id = task.id))]
    pub(super) async fn submit(&self, task: TaskRow) -> anyhow::Result<()> {
        if task.video_id.is_some() {
            // Never submit twice: PixVerse already has it. (Only reachable through a stale state.)
            let next = now_ms();
            self.storage
                .reschedule_task(task.id, TaskState::Generating, next, false, None)
                .await?;
            return Ok(());
        }
        if self.past_deadline(&task) {
            return self
                .fail(&task, FailureReason::TimedOut, "deadline passed before submit")
                .await;
        }
        let Some(task) = self.assign_pool_account(task).await? else {
            return Ok(());
        };
        let (credential, own) = match self.credential_for(&task).await? {
            Lookup::Ready(credential, own) => (credential, own),
            Lookup::Hold => return self.hold(&task).await,
            Lookup::Fail(reason) => return self.fail(&task, reason, "no usable credential").await,
        };
        // Crash story: `submitting` is stored before PixVerse is asked. If we die after PixVerse
        // accepted but before `video_id` is stored, the task is submitted again after the restart:
        // the user may pay twice but gets the video. The other choice (failing every task found in
        // `submitting`) would lose videos PixVerse never started; the window is one HTTP call.
        self.storage.mark_submitting(task.id).await?;

        let params = task.params()?;
        let image = match task.kind() {
            TaskKind::T2v => None,
            TaskKind::I2v => match self.uploaded_image(&task, &credential).await? {
                Ok(image) => Some(image),
                Err(Upload::PhotoUnavailable) => {
                    return self
                        .fail(&task, FailureReason::PhotoUnavailable, "photo unavailable")
                        .await;
                }
                Err(Upload::TelegramDown(error)) => {
                    return self.retry_later(&task, TaskState::Queued, &error, None).await;
                }
                Err(Upload::Pixverse(error)) => {
                    return self
                        .handle_pixverse_error(&task, &error, TaskState::Queued, own)
                        .await;
                }
            },
        };
        let request = generation_request(&task.prompt, &params, image);
        match self.pixverse.generate(&credential, &request).await {
            Ok(video_id) => {
                let next_poll = now_ms() + self.settings.poll_interval.as_millis() as i64;
                self.storage.mark_generating(task.id, video_id, next_poll).await?;
                tracing::info!(task_id = task.id, video_id, "submitted to PixVerse");
                let texts = self.texts_for(task.user_id).await;
                self.edit_progress(&task, texts.generating(std::time::Duration::ZERO), Edit::Stage)
                    .await;
                Ok(())
            }
            Err(error) => {
                self.handle_pixverse_error(&task, &error, TaskState::Queued, own)
                    .await
            }
        }
    }

    /// The task's image on PixVerse: uploaded earlier (stored reference), or fetched from Telegram
    /// and uploaded now. Never hands PixVerse a Telegram URL: it contains the bot token.
    async fn uploaded_image(
        &self,
        task: &TaskRow,
        credential: &pixverse::Credential,
    ) -> anyhow::Result<Result<UploadedImage, Upload>> {
        if let Some(stored) = &task.image_ref {
            return Ok(Ok(serde_json::from_str(stored).context("stored image reference")?));
        }
        let (bytes, ext) = match &task.image_file_id {
            Some(file_id) => match self.download_photo(file_id).await {
                Ok(found) => found,
                Err(teloxide::RequestError::Api(_)) => return Ok(Err(Upload::PhotoUnavailable)),
                Err(e) => return Ok(Err(Upload::TelegramDown(e.to_string()))),
            },
            // An API task: the image came with the request and is stored beside the task.
            None => match self.storage.task_upload(task.id).await? {
                Some(upload) => {
                    let ext = upload
                        .content_type
                        .strip_prefix("image/")
                        .map_or("jpg", |t| if t == "jpeg" { "jpg" } else { t })
                        .to_owned();
                    (upload.bytes.to_vec(), ext)
                }
                None => return Ok(Err(Upload::PhotoUnavailable)),
            },
        };
        match self.pixverse.upload_image(credential, bytes, &ext).await {
            Ok(image) => {
                // Stored so a retried submit does not upload (and pay for storage) again.
                self.storage
                    .store_image_ref(task.id, Some(&serde_json::to_string(&image)?))
                    .await?;
                Ok(Ok(image))
            }
            Err(error) => Ok(Err(Upload::Pixverse(error))),
        }
    }

    async fn download_photo(&self, file_id: &str) -> Result<(Vec<u8>, String), teloxide::RequestError> {
        let file = self
            .bot
            .get_file(teloxide::types::FileId(file_id.to_owned()))
            .await?;
        let mut bytes = Vec::with_capacity(file.size as usize);
        self.bot
            .download_file(&file.path, &mut bytes)
            .await
            .map_err(|e| match e {
                teloxide::DownloadError::Network(e) => teloxide::RequestError::Network(e),
                teloxide::DownloadError::Io(e) => teloxide::RequestError::Io(e),
            })?;
        let ext = match file
            .path
            .rsplit('.')
            .next()
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("png") => "png",
            Some("webp") => "webp",
            _ => "jpg",
        };
        Ok((bytes, ext.to_owned()))
    }
}

enum Upload {
    PhotoUnavailable,
    TelegramDown(String),
    Pixverse(pixverse::PixverseError),
}

/// The wire request for PixVerse from our parameters.
fn generation_request(
    prompt: &str,
    params: &GenerationParams,
    image: Option<UploadedImage>,
) -> GenerationRequest {
    GenerationRequest {
        prompt: prompt.to_owned(),
        model: params.model.as_str().to_owned(),
        duration: params.duration,
        quality: params.quality.as_str().to_owned(),
        // PixVerse takes the ratio from the image on i2v and rejects the field there.
        aspect_ratio: image.is_none().then(|| params.aspect_ratio.as_str().to_owned()),
        motion_mode: Some(params.motion_mode.as_str().to_owned()),
        negative_prompt: params.negative_prompt.clone(),
        seed: params.seed,
        style: params.style.map(|s| s.as_str().to_owned()),
        generate_audio: params.model.supports_audio().then_some(params.audio),
        image,
    }
}
