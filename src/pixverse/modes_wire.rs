//! The JSON of the further Platform API modes: request bodies (unset optional fields omitted)
//! and lenient readers for the voice and template lists, whose field names are third-hand.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::modes::{EffectTemplate, TtsVoice};
use super::wire::opt_i64;
use crate::domain::{LipSyncAudio, VideoSource};

/// `source_video_id` or `video_media_id`, flattened into a body.
#[derive(Serialize, Debug, Default)]
pub struct VideoFields {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_video_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub video_media_id: Option<i64>,
}

impl From<VideoSource> for VideoFields {
    fn from(source: VideoSource) -> Self {
        match source {
            VideoSource::Generated(id) => Self {
                source_video_id: Some(id),
                video_media_id: None,
            },
            VideoSource::Uploaded(id) => Self {
                source_video_id: None,
                video_media_id: Some(id),
            },
        }
    }
}

/// The fields every prompted mode shares (transition, extend, fusion).
#[derive(Serialize, Debug)]
pub struct PromptFields<'a> {
    pub prompt: &'a str,
    pub model: &'a str,
    pub duration: u32,
    pub quality: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub negative_prompt: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seed: Option<u32>,
}

#[derive(Serialize, Debug)]
pub struct TransitionBody<'a> {
    #[serde(flatten)]
    pub common: PromptFields<'a>,
    pub first_frame_img: i64,
    pub last_frame_img: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub motion_mode: Option<&'a str>,
    /// Sent (as true) only together with a described sound.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sound_effect_switch: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sound_effect_content: Option<&'a str>,
}

#[derive(Serialize, Debug)]
pub struct ExtendBody<'a> {
    #[serde(flatten)]
    pub common: PromptFields<'a>,
    #[serde(flatten)]
    pub video: VideoFields,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub motion_mode: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub style: Option<&'a str>,
}

#[derive(Serialize, Debug)]
pub struct FusionBody<'a> {
    #[serde(flatten)]
    pub common: PromptFields<'a>,
    pub aspect_ratio: &'a str,
    pub image_references: Vec<ImageReference<'a>>,
}

#[derive(Serialize, Debug)]
pub struct ImageReference<'a> {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub img_id: i64,
    pub ref_name: &'a str,
}

#[derive(Serialize, Debug)]
pub struct LipSyncBody<'a> {
    #[serde(flatten)]
    pub video: VideoFields,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audio_media_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lip_sync_tts_speaker_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lip_sync_tts_content: Option<&'a str>,
}

impl<'a> LipSyncBody<'a> {
    pub fn new(video: VideoSource, audio: &'a LipSyncAudio) -> Self {
        let (audio_media_id, speaker, text) = match audio {
            LipSyncAudio::Uploaded(id) => (Some(*id), None, None),
            LipSyncAudio::Speech { speaker_id, text } => {
                (None, Some(speaker_id.as_str()), Some(text.as_str()))
            }
        };
        Self {
            video: video.into(),
            audio_media_id,
            lip_sync_tts_speaker_id: speaker,
            lip_sync_tts_content: text,
        }
    }
}

#[derive(Serialize, Debug)]
pub struct SoundBody<'a> {
    #[serde(flatten)]
    pub video: VideoFields,
    pub sound_effect_content: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub original_sound_switch: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seed: Option<u32>,
}

#[derive(Deserialize)]
pub struct MediaUploadResp {
    #[serde(default, deserialize_with = "opt_i64")]
    pub media_id: Option<i64>,
    #[serde(default)]
    pub media_type: Option<String>,
    #[serde(default)]
    pub url: Option<String>,
}

/// The items of a paged list: `Resp` itself when it is an array, else the first array found
/// under a usual key.
fn list_items(resp: &Value) -> &[Value] {
    if let Some(items) = resp.as_array() {
        return items;
    }
    [
        "data",
        "list",
        "items",
        "records",
        "templates",
        "speakers",
        "result",
    ]
    .iter()
    .find_map(|key| resp.get(key).and_then(Value::as_array))
    .map_or(&[], Vec::as_slice)
}

/// The first of `keys` that holds a non-empty string or a number, as text.
fn text_field(item: &Value, keys: &[&str]) -> Option<String> {
    keys.iter().find_map(|key| match item.get(key)? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    })
}

/// TTS voices from either endpoint. Items without a speaker id are skipped; a voice without a
/// name is shown by its id.
pub fn tts_voices(resp: &Value) -> Vec<TtsVoice> {
    list_items(resp)
        .iter()
        .filter_map(|item| {
            let speaker_id = text_field(item, &["speaker_id", "speakerId", "id"])?;
            let name = text_field(item, &["name", "speaker_name", "display_name", "title"])
                .unwrap_or_else(|| speaker_id.clone());
            Some(TtsVoice { speaker_id, name })
        })
        .collect()
}

/// Effect templates. Items without an integer template id are skipped (i2v sends it as a
/// number); a template without a name is shown by its id.
pub fn effect_templates(resp: &Value) -> Vec<EffectTemplate> {
    list_items(resp)
        .iter()
        .filter_map(|item| {
            let template_id: i64 = text_field(item, &["template_id", "templateId", "id"])?
                .parse()
                .ok()?;
            let name = text_field(
                item,
                &["display_name", "name", "template_name", "title", "effect_name"],
            )
            .unwrap_or_else(|| template_id.to_string());
            Some(EffectTemplate { template_id, name })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn lip_sync_bodies_carry_one_video_and_one_kind_of_audio() {
        let speech = LipSyncAudio::Speech {
            speaker_id: "Emily".into(),
            text: "hello".into(),
        };
        let json = serde_json::to_value(LipSyncBody::new(VideoSource::Uploaded(5), &speech)).unwrap();
        assert_eq!(
            json,
            json!({ "video_media_id": 5, "lip_sync_tts_speaker_id": "Emily", "lip_sync_tts_content": "hello" })
        );
        let audio = LipSyncAudio::Uploaded(300_000_000_000_000_001);
        let json = serde_json::to_value(LipSyncBody::new(VideoSource::Generated(9), &audio)).unwrap();
        assert_eq!(
            json,
            json!({ "source_video_id": 9, "audio_media_id": 300_000_000_000_000_001_i64 })
        );
    }

    #[test]
    fn voice_lists_are_read_from_either_shape() {
        let old = json!({ "total": 2, "data": [{ "speaker_id": "1", "name": "Auto" }, { "speaker_id": 7 }] });
        assert_eq!(
            tts_voices(&old),
            vec![
                TtsVoice {
                    speaker_id: "1".into(),
                    name: "Auto".into()
                },
                TtsVoice {
                    speaker_id: "7".into(),
                    name: "7".into()
                },
            ]
        );
        let new = json!([{ "speakerId": "Emily", "speaker_name": "Emily (US)" }, { "name": "no id" }]);
        assert_eq!(tts_voices(&new).len(), 1);
        assert!(tts_voices(&json!({ "total": 0 })).is_empty());
    }

    #[test]
    fn templates_need_an_integer_id_and_fall_back_to_it_for_a_name() {
        let resp = json!({ "list": [
            { "template_id": 301, "display_name": "Hug" },
            { "template_id": "302", "template_name": "Kiss" },
            { "template_id": "abc", "name": "Broken" },
            { "id": 304 },
        ]});
        let names: Vec<_> = effect_templates(&resp)
            .into_iter()
            .map(|t| (t.template_id, t.name))
            .collect();
        assert_eq!(
            names,
            vec![(301, "Hug".into()), (302, "Kiss".into()), (304, "304".into())]
        );
    }
}
