//! Submit of the further modes (extend, sound, lip-sync): the task's stored input becomes the
//! mode's PixVerse request, sent under the task's trace id like t2v and i2v. Crash story as in
//! `submit.rs`: the trace id was stored with `submitting` before this call, and the request is
//! built from the stored task alone, so a retry after an unknown outcome sends the same body
//! under the same id and PixVerse answers with the video it already started.

use crate::{
    domain::{CredentialId, LipSyncAudio, ModeInput, VideoSource},
    pixverse::{Credential, ExtendRequest, LipSyncRequest, SoundRequest},
    storage::{TaskLease, TaskRow},
};

use super::Worker;

impl Worker {
    pub(super) async fn submit_mode(
        &self,
        lease: TaskLease,
        input: &ModeInput,
        credential: &Credential,
        trace_id: &str,
        own: Option<CredentialId>,
    ) -> anyhow::Result<()> {
        let task = lease.task();
        let video = VideoSource::Generated(input.source().video_id);
        let answer = match input {
            ModeInput::Extend { .. } => {
                self.pixverse
                    .extend(credential, &extend_request(task, video), trace_id)
                    .await
            }
            ModeInput::Sound {
                keep_original_sound, ..
            } => {
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
                        text: task.prompt.clone(),
                    },
                };
                self.pixverse.lip_sync(credential, &request, trace_id).await
            }
        };
        match answer {
            Ok(video_id) => self.submitted(lease, video_id).await,
            Err(error) => self.pixverse_failed(lease, &error, own).await,
        }
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
