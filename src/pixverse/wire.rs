//! The JSON PixVerse sends and receives. Every response field is optional and unknown fields are
//! ignored, because the web API is reverse-engineered and the platform API grows fields.

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize};

/// An integer that may arrive as a JSON number or a numeric string. Ids exceed 2^53, so floats
/// are refused rather than silently rounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LenientI64(pub i64);

impl<'de> Deserialize<'de> for LenientI64 {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = LenientI64;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an integer or a numeric string")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<LenientI64, E> {
                Ok(LenientI64(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<LenientI64, E> {
                i64::try_from(v)
                    .map(LenientI64)
                    .map_err(|_| E::custom("integer out of range"))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<LenientI64, E> {
                v.trim()
                    .parse()
                    .map(LenientI64)
                    .map_err(|_| E::custom("not a numeric string"))
            }
        }
        d.deserialize_any(V)
    }
}

/// `deserialize_with` helper for `Option<i64>` fields: absent, null, number or numeric string.
pub fn opt_i64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    Ok(Option::<LenientI64>::deserialize(d)?.map(|v| v.0))
}

/// `{"ErrCode", "ErrMsg", "Resp"}`: `Resp` stays raw until `ErrCode` says it is a success. Raw
/// text, not a `serde_json::Value`: a status poll then parses its answer once, into its own
/// type, instead of building a tree of it first (polling is most of what the bot does).
#[derive(Deserialize)]
pub struct Envelope<'a> {
    #[serde(rename = "ErrCode", default, deserialize_with = "opt_i64")]
    pub err_code: Option<i64>,
    #[serde(rename = "ErrMsg", default)]
    pub err_msg: Option<String>,
    #[serde(rename = "Resp", default, borrow)]
    pub resp: Option<&'a serde_json::value::RawValue>,
}

/// The generation body of both surfaces; unset optional fields are omitted, not sent as null.
#[derive(Serialize, Debug)]
pub struct GenerateBody<'a> {
    pub prompt: &'a str,
    pub model: &'a str,
    pub duration: u32,
    pub quality: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aspect_ratio: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub motion_mode: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub negative_prompt: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seed: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub style: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub generate_audio_switch: Option<bool>,
    /// Platform only: a described sound with the video.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sound_effect_switch: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sound_effect_content: Option<&'a str>,
    /// Platform i2v only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub img_id: Option<i64>,
    /// Platform i2v only: an effect template.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub template_id: Option<i64>,
    /// Web only: PixVerse's web app always sends it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lip_sync_tts_speaker_id: Option<&'a str>,
    /// Web i2v only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer_img_path: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer_img_url: Option<&'a str>,
}

#[derive(Deserialize, Default)]
pub struct GenerateResp {
    #[serde(default, deserialize_with = "opt_i64")]
    pub video_id: Option<i64>,
    #[serde(default)]
    pub video_ids: Option<Vec<LenientI64>>,
}

#[derive(Deserialize)]
pub struct PlatformUploadResp {
    #[serde(default, deserialize_with = "opt_i64")]
    pub img_id: Option<i64>,
}

#[derive(Deserialize)]
pub struct ResultResp {
    #[serde(default, deserialize_with = "opt_i64")]
    pub status: Option<i64>,
    #[serde(default)]
    pub url: Option<String>,
}

#[derive(Deserialize)]
pub struct ListResp {
    #[serde(default)]
    pub data: Option<Vec<ListItem>>,
}

#[derive(Deserialize)]
pub struct ListItem {
    #[serde(default, deserialize_with = "opt_i64")]
    pub video_id: Option<i64>,
    #[serde(default, deserialize_with = "opt_i64")]
    pub video_status: Option<i64>,
    #[serde(default)]
    pub url: Option<String>,
}

/// Both balance answers: the platform one lacks `credit_daily`.
#[derive(Deserialize)]
pub struct CreditsResp {
    #[serde(default, deserialize_with = "opt_i64")]
    pub credit_daily: Option<i64>,
    #[serde(default, deserialize_with = "opt_i64")]
    pub credit_monthly: Option<i64>,
    #[serde(default, deserialize_with = "opt_i64")]
    pub credit_package: Option<i64>,
}

/// `Resp.Result` of a login. No `Debug`: it holds the token.
#[derive(Deserialize)]
pub struct LoginResp {
    #[serde(rename = "Result", default)]
    pub result: Option<LoginResult>,
}

#[derive(Deserialize)]
pub struct LoginResult {
    #[serde(rename = "AccountId", default, deserialize_with = "opt_i64")]
    pub account_id: Option<i64>,
    #[serde(rename = "Username", default)]
    pub username: Option<String>,
    #[serde(rename = "Token", default)]
    pub token: Option<String>,
}

/// Temporary OSS credentials. No `Debug`: `Sk` and `Token` are secrets.
#[derive(Deserialize)]
pub struct UploadTokenResp {
    #[serde(rename = "Ak", default)]
    pub ak: Option<String>,
    #[serde(rename = "Sk", default)]
    pub sk: Option<String>,
    #[serde(rename = "Token", default)]
    pub token: Option<String>,
}

#[derive(Deserialize)]
pub struct BatchUploadResp {
    #[serde(default)]
    pub result: Option<Vec<BatchUploadItem>>,
}

#[derive(Deserialize)]
pub struct BatchUploadItem {
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub path: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct Id {
        #[serde(default, deserialize_with = "opt_i64")]
        id: Option<i64>,
    }

    fn id(json: &str) -> Result<Option<i64>, serde_json::Error> {
        serde_json::from_str::<Id>(json).map(|v| v.id)
    }

    #[test]
    fn ids_parse_from_numbers_and_strings_without_rounding() {
        assert_eq!(
            id(r#"{"id": 300000000000000001}"#).unwrap(),
            Some(300_000_000_000_000_001)
        );
        assert_eq!(
            id(r#"{"id": "300000000000000001"}"#).unwrap(),
            Some(300_000_000_000_000_001)
        );
        assert_eq!(id(r#"{"id": null}"#).unwrap(), None);
        assert_eq!(id(r#"{}"#).unwrap(), None);
        assert!(id(r#"{"id": 3.0e17}"#).is_err());
        assert!(id(r#"{"id": "abc"}"#).is_err());
    }

    #[test]
    fn unset_optional_fields_are_omitted() {
        let body = GenerateBody {
            prompt: "a cat",
            model: "v5",
            duration: 5,
            quality: "540p",
            aspect_ratio: None,
            motion_mode: None,
            negative_prompt: None,
            seed: None,
            style: None,
            generate_audio_switch: None,
            sound_effect_switch: None,
            sound_effect_content: None,
            template_id: None,
            img_id: Some(300_000_000_000_000_001),
            lip_sync_tts_speaker_id: None,
            customer_img_path: None,
            customer_img_url: None,
        };
        assert_eq!(
            serde_json::to_string(&body).unwrap(),
            r#"{"prompt":"a cat","model":"v5","duration":5,"quality":"540p","img_id":300000000000000001}"#
        );
    }
}
