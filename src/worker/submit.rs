//! Submit: upload the image (i2v) and ask PixVerse to generate, under the task's trace id.

use anyhow::Context;
use teloxide::{net::Download, prelude::*};

use crate::{
    domain::{GenerationParams, TaskKind, TaskState, WaitReason},
    pixverse::{self, GenerationRequest, UploadedImage},
    storage::{PoolPick, Resubmit, TaskLease, now_ms},
    texts::FailureReason,
};

use super::Worker;
use super::credential::Lookup;
use super::progress::Edit;

impl Worker {
    #[tracing::instrument(skip_all, fields(task_id = lease.id().0))]
    pub(super) async fn submit(&self, mut lease: TaskLease) -> anyhow::Result<()> {
        if lease.task().video_id.is_some() {
            // Never submit twice: PixVerse already has it (only reachable through a stale state).
            return Ok(lease.release(now_ms()).await?);
        }
        if self.past_queue_limit(lease.task()) {
            return self
                .fail(
                    lease,
                    FailureReason::QueueTimedOut,
                    "waited too long in the queue",
                )
                .await;
        }
        if lease.task().credential_id.is_none() {
            // A pool task: a slot on the least busy usable account, stored on the task.
            match lease.assign_pool_account().await? {
                PoolPick::Assigned(account) => {
                    tracing::debug!(task_id = lease.id().0, account = %account.name, "pool account assigned");
                }
                PoolPick::AllBusy => return self.wait_for_slot(lease).await,
                PoolPick::NoneUsable { out_of_credits } => {
                    let reason = if out_of_credits {
                        FailureReason::OutOfCredits { own: false }
                    } else {
                        FailureReason::CredentialInvalid { own: false }
                    };
                    return self.fail(lease, reason, "no usable pool account").await;
                }
            }
        }
        let (credential, own) = match self.credential_for(lease.task()).await? {
            Lookup::Ready { credential, own } => (credential, own),
            Lookup::Hold => return self.hold(lease).await,
            Lookup::Fail(reason) => return self.fail(lease, reason, "no usable credential").await,
        };
        if let Some(key) = own
            && lease.task().state == TaskState::Queued
            && !self
                .storage
                .take_own_slot(
                    lease.held(),
                    lease.task().user_id,
                    key,
                    self.settings.account_concurrency,
                )
                .await?
        {
            // Another step (here or on another instance) took the key's last slot since the plan.
            return self.wait_for_slot(lease).await;
        }
        // Crash story: `submitting` and the trace id are stored before PixVerse is asked. If we
        // die after PixVerse accepted but before the `video_id` is stored, the restart submits
        // again with the same trace id and the same body, and PixVerse answers with the video it
        // already started: the user pays once and gets the video.
        let trace_id = lease.submitting(own).await?;
        if let Some(input) = lease.task().mode_input().cloned() {
            return self.submit_mode(lease, &input, &credential, &trace_id, own).await;
        }
        let image = match lease.task().kind {
            TaskKind::I2v => match self.uploaded_image(&mut lease, &credential).await? {
                Ok(image) => Some(image),
                Err(Upload::PhotoUnavailable) => {
                    return self
                        .fail(lease, FailureReason::PhotoUnavailable, "photo unavailable")
                        .await;
                }
                Err(Upload::TelegramDown(error)) => {
                    return self.retry_later(lease, &error, None, Resubmit::SameTrace).await;
                }
                Err(Upload::Pixverse(error)) => return self.pixverse_failed(lease, &error, own).await,
            },
            _ => None,
        };
        let task = lease.task().clone();
        let request = generation_request(&task.prompt, task.params(), image);
        match self
            .pixverse
            .generate_traced(&credential, &request, &trace_id)
            .await
        {
            Ok(video_id) => self.submitted(lease, video_id).await,
            Err(error) => self.pixverse_failed(lease, &error, own).await,
        }
    }

    /// PixVerse accepted the task as `video_id`: from now on it is polled.
    pub(super) async fn submitted(&self, lease: TaskLease, video_id: i64) -> anyhow::Result<()> {
        let task = lease.task().clone();
        let first_poll = self.first_poll_after(&task);
        lease
            .generating(video_id, now_ms() + first_poll.as_millis() as i64)
            .await?;
        tracing::info!(
            task_id = task.id.0,
            video_id,
            first_poll_in_ms = first_poll.as_millis() as u64,
            "submitted to PixVerse"
        );
        let texts = self.texts_for(task.user_id).await;
        self.edit_progress(&task, texts.generating(std::time::Duration::ZERO), Edit::Stage)
            .await;
        Ok(())
    }

    /// Every usable pool account has all its slots taken: stay queued until a slot frees (see
    /// [`Worker::slot_recheck`]).
    async fn wait_for_slot(&self, lease: TaskLease) -> anyhow::Result<()> {
        let task = lease.task().clone();
        let next = now_ms() + self.slot_recheck();
        lease.wait(WaitReason::Slot, next).await?;
        if task.wait_reason != Some(WaitReason::Slot) {
            let texts = self.texts_for(task.user_id).await;
            self.edit_progress(&task, texts.waiting_for_slot(), Edit::Routine)
                .await;
        }
        Ok(())
    }

    /// The task's image on PixVerse: uploaded earlier (stored reference), or fetched from Telegram
    /// and uploaded now. Never hands PixVerse a Telegram URL: it contains the bot token.
    async fn uploaded_image(
        &self,
        lease: &mut TaskLease,
        credential: &pixverse::Credential,
    ) -> anyhow::Result<Result<UploadedImage, Upload>> {
        if let Some(stored) = &lease.task().image_ref {
            return Ok(Ok(serde_json::from_str(stored).context("stored image reference")?));
        }
        let _in_memory = self
            .photo_transfers
            .acquire()
            .await
            .context("the photo transfer limit is never closed")?;
        let (bytes, ext) = match &lease.task().image_file_id.clone() {
            Some(file_id) => match self.download_photo(file_id).await {
                Ok(found) => found,
                Err(teloxide::RequestError::Api(_)) => return Ok(Err(Upload::PhotoUnavailable)),
                Err(e) => return Ok(Err(Upload::TelegramDown(e.to_string()))),
            },
            // An API task: the image came with the request and is stored beside the task.
            None => match self.storage.task_upload(lease.id().0).await? {
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
                lease.store_image(&serde_json::to_string(&image)?).await?;
                Ok(Ok(image))
            }
            Err(error) => Ok(Err(Upload::Pixverse(error))),
        }
    }

    pub(super) async fn download_photo(
        &self,
        file_id: &str,
    ) -> Result<(Vec<u8>, String), teloxide::RequestError> {
        let (bytes, ext) = self.download_file(file_id).await?;
        let ext = match ext.as_str() {
            "png" => "png",
            "webp" => "webp",
            _ => "jpg",
        };
        Ok((bytes, ext.to_owned()))
    }

    /// A file from Telegram (at most 20 MB), with its path's extension, lower-cased.
    pub(super) async fn download_file(
        &self,
        file_id: &str,
    ) -> Result<(Vec<u8>, String), teloxide::RequestError> {
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
        let ext = file
            .path
            .rsplit('.')
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase();
        Ok((bytes, ext))
    }
}

enum Upload {
    PhotoUnavailable,
    TelegramDown(String),
    Pixverse(pixverse::PixverseError),
}

/// The wire request for PixVerse from our parameters. The same task gives the same request every
/// time: a retried submit must send the body its trace id was first sent with.
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
        sound_effect: params.sound_effect.clone(),
        template_id: params.template_id,
        image,
    }
}
