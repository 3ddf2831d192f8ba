//! PixVerse's further Platform API modes: transition, extend, fusion, lip-sync and sound effect
//! (each answers a video id, polled like any video), media uploads, the TTS voices and the
//! effect templates. Platform API only: a web token is refused before anything is sent.
//!
//! Submits go out under the caller's trace id, PixVerse's idempotency key, and are never retried
//! here: a lost answer may still have started (and charged) a video, so the caller retries with
//! the same id and gets the video it already started.

use bytes::Bytes;
use reqwest::multipart::{Form, Part};
use reqwest::{Method, RequestBuilder};
use serde::Serialize;

use super::client::PixverseClient;
use super::credential::Credential;
use super::error::PixverseError;
use super::modes_wire::{
    self, ExtendBody, FusionBody, ImageReference, LipSyncBody, MediaUploadResp, PromptFields, SoundBody,
    TransitionBody,
};
use super::transport::{Retry, call_json, run, trace_id};
use super::wire::GenerateResp;
use crate::domain::{FusionReferences, LipSyncAudio, VideoSource};

/// A video from the first image to the second.
#[derive(Clone, Debug, PartialEq)]
pub struct TransitionRequest {
    pub prompt: String,
    pub first_frame_img: i64,
    pub last_frame_img: i64,
    pub model: String,
    pub duration: u32,
    pub quality: String,
    pub negative_prompt: Option<String>,
    pub seed: Option<u32>,
    pub motion_mode: Option<String>,
    /// A described sound on the new video (`sound_effect_switch` + `sound_effect_content`).
    pub sound: Option<String>,
}

/// A continuation of a video.
#[derive(Clone, Debug, PartialEq)]
pub struct ExtendRequest {
    pub prompt: String,
    pub video: VideoSource,
    pub model: String,
    pub duration: u32,
    pub quality: String,
    pub negative_prompt: Option<String>,
    pub seed: Option<u32>,
    pub motion_mode: Option<String>,
    pub style: Option<String>,
}

/// A video combining named reference images. The references were checked against this prompt.
#[derive(Clone, Debug, PartialEq)]
pub struct FusionRequest {
    pub prompt: String,
    pub references: FusionReferences,
    pub model: String,
    pub duration: u32,
    pub quality: String,
    pub aspect_ratio: String,
    pub negative_prompt: Option<String>,
    pub seed: Option<u32>,
}

/// A video made to speak an audio.
#[derive(Clone, Debug, PartialEq)]
pub struct LipSyncRequest {
    pub video: VideoSource,
    pub audio: LipSyncAudio,
}

/// A video given a described sound.
#[derive(Clone, Debug, PartialEq)]
pub struct SoundRequest {
    pub video: VideoSource,
    /// Checked by `domain::sound_description`.
    pub description: String,
    /// Keep the video's own sound under the new one.
    pub keep_original_sound: Option<bool>,
    pub seed: Option<u32>,
}

/// A video or audio file PixVerse holds for extend, lip-sync or sound.
#[derive(Clone, Debug, PartialEq)]
pub struct UploadedMedia {
    pub media_id: i64,
    /// `video` or `audio`, as PixVerse says.
    pub media_type: Option<String>,
    pub url: Option<String>,
}

/// One of PixVerse's text-to-speech voices for lip-sync.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TtsVoice {
    pub speaker_id: String,
    pub name: String,
}

/// One of PixVerse's effect templates, applied with i2v's `template_id`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EffectTemplate {
    pub template_id: i64,
    pub name: String,
}

const TRANSITION: &str = "/openapi/v2/video/transition/generate";
const EXTEND: &str = "/openapi/v2/video/extend/generate";
const FUSION: &str = "/openapi/v2/video/fusion/generate";
const LIP_SYNC: &str = "/openapi/v2/video/lip_sync/generate";
const SOUND: &str = "/openapi/v2/video/sound_effect/generate";
const MEDIA_UPLOAD: &str = "/openapi/v2/media/upload";
/// Newer accounts list voices here; older ones only at [`OLD_VOICES`].
const NEW_VOICES: &str = "/openapi/v2/video/tts_speaker?page_num=1&page_size=20&speaker_type=all";
const OLD_VOICES: &str = "/openapi/v2/video/lip_sync/tts_list?page_num=1&page_size=30";
const TEMPLATES: &str = "/openapi/v2/video/effects/templates/list";
/// Templates per page of the listing (a shorter page is the last).
pub const TEMPLATES_PER_PAGE: u32 = 20;

impl PixverseClient {
    #[tracing::instrument(skip_all, fields(model = %req.model))]
    pub async fn transition(
        &self,
        cred: &Credential,
        req: &TransitionRequest,
        trace_id: &str,
    ) -> Result<i64, PixverseError> {
        let body = TransitionBody {
            common: prompt_fields(
                &req.prompt,
                &req.model,
                req.duration,
                &req.quality,
                &req.negative_prompt,
                req.seed,
            ),
            first_frame_img: req.first_frame_img,
            last_frame_img: req.last_frame_img,
            motion_mode: req.motion_mode.as_deref(),
            sound_effect_switch: req.sound.as_ref().map(|_| true),
            sound_effect_content: req.sound.as_deref(),
        };
        self.submit(cred, TRANSITION, &body, trace_id).await
    }

    #[tracing::instrument(skip_all, fields(model = %req.model))]
    pub async fn extend(
        &self,
        cred: &Credential,
        req: &ExtendRequest,
        trace_id: &str,
    ) -> Result<i64, PixverseError> {
        let body = ExtendBody {
            common: prompt_fields(
                &req.prompt,
                &req.model,
                req.duration,
                &req.quality,
                &req.negative_prompt,
                req.seed,
            ),
            video: req.video.into(),
            motion_mode: req.motion_mode.as_deref(),
            style: req.style.as_deref(),
        };
        self.submit(cred, EXTEND, &body, trace_id).await
    }

    #[tracing::instrument(skip_all, fields(model = %req.model, references = req.references.as_slice().len()))]
    pub async fn fusion(
        &self,
        cred: &Credential,
        req: &FusionRequest,
        trace_id: &str,
    ) -> Result<i64, PixverseError> {
        let body = FusionBody {
            common: prompt_fields(
                &req.prompt,
                &req.model,
                req.duration,
                &req.quality,
                &req.negative_prompt,
                req.seed,
            ),
            aspect_ratio: &req.aspect_ratio,
            image_references: req
                .references
                .as_slice()
                .iter()
                .map(|r| ImageReference {
                    kind: r.role.as_str(),
                    img_id: r.img_id,
                    ref_name: &r.name,
                })
                .collect(),
        };
        self.submit(cred, FUSION, &body, trace_id).await
    }

    #[tracing::instrument(skip_all)]
    pub async fn lip_sync(
        &self,
        cred: &Credential,
        req: &LipSyncRequest,
        trace_id: &str,
    ) -> Result<i64, PixverseError> {
        self.submit(cred, LIP_SYNC, &LipSyncBody::new(req.video, &req.audio), trace_id)
            .await
    }

    #[tracing::instrument(skip_all)]
    pub async fn sound_effect(
        &self,
        cred: &Credential,
        req: &SoundRequest,
        trace_id: &str,
    ) -> Result<i64, PixverseError> {
        let body = SoundBody {
            video: req.video.into(),
            sound_effect_content: &req.description,
            original_sound_switch: req.keep_original_sound,
            seed: req.seed,
        };
        self.submit(cred, SOUND, &body, trace_id).await
    }

    /// Uploads a video or audio file (multipart field `file`). Not retried, like image uploads:
    /// the caller uploads again on failure.
    #[tracing::instrument(skip_all, fields(bytes = bytes.len(), content_type))]
    pub async fn upload_media(
        &self,
        cred: &Credential,
        bytes: Vec<u8>,
        file_name: &str,
        content_type: &str,
    ) -> Result<UploadedMedia, PixverseError> {
        let bytes = Bytes::from(bytes);
        let resp: MediaUploadResp = run(MEDIA_UPLOAD, Retry::Never, || async {
            let part = Part::stream_with_length(reqwest::Body::from(bytes.clone()), bytes.len() as u64)
                .file_name(file_name.to_owned())
                .mime_str(content_type)
                .map_err(|e| PixverseError::InvalidInput(format!("content type: {e}")))?;
            let request = self.platform_request(Method::POST, MEDIA_UPLOAD, cred, &trace_id())?;
            call_json(request.multipart(Form::new().part("file", part))).await
        })
        .await?;
        let media_id = resp
            .media_id
            .ok_or_else(|| PixverseError::Decode("media upload answer has no media_id".into()))?;
        Ok(UploadedMedia {
            media_id,
            media_type: resp.media_type,
            url: resp.url,
        })
    }

    /// PixVerse's TTS voices: the newer listing, or the older one where the account lacks it.
    /// A refused credential is not tried twice.
    #[tracing::instrument(skip_all)]
    pub async fn tts_voices(&self, cred: &Credential) -> Result<Vec<TtsVoice>, PixverseError> {
        match self.list(cred, NEW_VOICES).await {
            Ok(resp) => Ok(modes_wire::tts_voices(&resp)),
            Err(e) if e.kind() == super::error::ErrorKind::CredentialInvalid => Err(e),
            Err(e) => {
                tracing::debug!(error = %e, "no newer TTS voice listing; trying the older one");
                Ok(modes_wire::tts_voices(&self.list(cred, OLD_VOICES).await?))
            }
        }
    }

    /// One page (from 1) of PixVerse's effect templates.
    #[tracing::instrument(skip_all, fields(page))]
    pub async fn effect_templates(
        &self,
        cred: &Credential,
        page: u32,
    ) -> Result<Vec<EffectTemplate>, PixverseError> {
        let path = format!(
            "{TEMPLATES}?type=1&page={}&pageSize={TEMPLATES_PER_PAGE}",
            page.max(1)
        );
        Ok(modes_wire::effect_templates(&self.list(cred, &path).await?))
    }

    /// A read: retried on transient failures, each attempt under a fresh trace id.
    async fn list(
        &self,
        cred: &Credential,
        path_and_query: &str,
    ) -> Result<serde_json::Value, PixverseError> {
        let path = path_and_query.split('?').next().unwrap_or(path_and_query);
        run(path, Retry::Idempotent, || async {
            call_json(self.platform_request(Method::GET, path_and_query, cred, &trace_id())?).await
        })
        .await
    }

    /// One submit under the caller's trace id; the answer's `video_id`.
    async fn submit<B: Serialize>(
        &self,
        cred: &Credential,
        path: &str,
        body: &B,
        trace_id: &str,
    ) -> Result<i64, PixverseError> {
        let resp: GenerateResp = run(path, Retry::Never, || async {
            call_json(
                self.platform_request(Method::POST, path, cred, trace_id)?
                    .json(body),
            )
            .await
        })
        .await?;
        resp.video_id
            .ok_or_else(|| PixverseError::Decode(format!("{path} answer has no video_id")))
    }

    /// A Platform API request with the given trace id; a web token is refused.
    fn platform_request(
        &self,
        method: Method,
        path_and_query: &str,
        cred: &Credential,
        trace_id: &str,
    ) -> Result<RequestBuilder, PixverseError> {
        if !matches!(cred, Credential::ApiKey(_)) {
            return Err(PixverseError::InvalidInput(
                "this PixVerse mode needs a Platform API key; a web login cannot use it".into(),
            ));
        }
        self.api_request_traced(method, path_and_query, Some(cred), trace_id)
    }
}

fn prompt_fields<'a>(
    prompt: &'a str,
    model: &'a str,
    duration: u32,
    quality: &'a str,
    negative_prompt: &'a Option<String>,
    seed: Option<u32>,
) -> PromptFields<'a> {
    PromptFields {
        prompt,
        model,
        duration,
        quality,
        negative_prompt: negative_prompt.as_deref(),
        seed,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::domain::{FusionReference, ReferenceRole};

    #[test]
    fn fusion_bodies_name_each_reference_and_omit_unset_fields() {
        let references = FusionReferences::parse(
            "@cat on @beach",
            vec![
                FusionReference {
                    role: ReferenceRole::Subject,
                    img_id: 400_000_000_000_000_001,
                    name: "cat".into(),
                },
                FusionReference {
                    role: ReferenceRole::Background,
                    img_id: 2,
                    name: "beach".into(),
                },
            ],
        )
        .unwrap();
        let body = FusionBody {
            common: prompt_fields("@cat on @beach", "v4.5", 5, "540p", &None, None),
            aspect_ratio: "16:9",
            image_references: references
                .as_slice()
                .iter()
                .map(|r| ImageReference {
                    kind: r.role.as_str(),
                    img_id: r.img_id,
                    ref_name: &r.name,
                })
                .collect(),
        };
        assert_eq!(
            serde_json::to_value(&body).unwrap(),
            json!({
                "prompt": "@cat on @beach", "model": "v4.5", "duration": 5, "quality": "540p",
                "aspect_ratio": "16:9",
                "image_references": [
                    { "type": "subject", "img_id": 400_000_000_000_000_001_i64, "ref_name": "cat" },
                    { "type": "background", "img_id": 2, "ref_name": "beach" },
                ],
            })
        );
    }

    #[test]
    fn a_transition_sends_the_sound_switch_only_with_a_sound() {
        let body = |sound: Option<&'static str>| TransitionBody {
            common: prompt_fields("morph", "v5", 5, "540p", &None, Some(3)),
            first_frame_img: 1,
            last_frame_img: 2,
            motion_mode: None,
            sound_effect_switch: sound.map(|_| true),
            sound_effect_content: sound,
        };
        let silent = serde_json::to_value(body(None)).unwrap();
        assert!(silent.get("sound_effect_switch").is_none());
        assert_eq!(silent["seed"], 3);
        let loud = serde_json::to_value(body(Some("wind"))).unwrap();
        assert_eq!(loud["sound_effect_switch"], true);
        assert_eq!(loud["sound_effect_content"], "wind");
    }
}
