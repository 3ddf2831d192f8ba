//! The types the rest of the bot exchanges with the PixVerse client (not the JSON on the wire).

use secrecy::SecretString;
use serde::{Deserialize, Serialize};

/// A successful web login. Only the token is kept; the password is never stored.
pub struct WebLogin {
    pub account_id: i64,
    pub username: String,
    pub token: SecretString,
    /// Unix seconds, from the token's `ExpireTime` claim (read unverified), if present.
    pub expires_at: Option<i64>,
}

/// An image PixVerse holds for an i2v generation. Stored as JSON in the task row, so a restart
/// does not upload the image again. Each variant is only usable on the surface that made it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum UploadedImage {
    /// Uploaded through `/openapi/v2/image/upload` (API key).
    Platform { img_id: i64 },
    /// Uploaded to the web app's OSS bucket (`path` is `upload/<uuid>.<ext>`).
    Web { path: String, url: String },
}

/// One generation, validated by the domain layer before it reaches the client.
#[derive(Clone, Debug, PartialEq)]
pub struct GenerationRequest {
    pub prompt: String,
    pub model: String,
    pub duration: u32,
    pub quality: String,
    /// Text-to-video only; never sent for i2v. `16:9` when unset on t2v (PixVerse requires one).
    pub aspect_ratio: Option<String>,
    pub motion_mode: Option<String>,
    pub negative_prompt: Option<String>,
    pub seed: Option<u32>,
    pub style: Option<String>,
    pub generate_audio: Option<bool>,
    /// A described sound made with the video (Platform API only; a web token is refused).
    pub sound_effect: Option<String>,
    /// An effect template applied to an image-to-video (Platform API only).
    pub template_id: Option<i64>,
    /// Some: image-to-video from this image; None: text-to-video.
    pub image: Option<UploadedImage>,
}

/// Where a video stands, from PixVerse's status codes.
#[derive(Clone, Debug, PartialEq)]
pub enum VideoStatus {
    Generating,
    Succeeded {
        url: String,
    },
    /// Status 7: moderation refused it (PixVerse refunds the credits).
    Moderated,
    /// Status 8.
    Failed,
    /// Status 6.
    Deleted,
}

impl VideoStatus {
    /// 1 ok, 7 moderated, 8 failed, 6 deleted; anything else (5, 9, 10, undocumented) is still
    /// running, so the task's own deadline decides. A "success" without a URL is not usable yet.
    pub fn from_code(status: Option<i64>, url: Option<&str>) -> Self {
        match (status, url.map(str::trim).filter(|u| !u.is_empty())) {
            (Some(1), Some(url)) => Self::Succeeded { url: url.to_owned() },
            (Some(7), _) => Self::Moderated,
            (Some(8), _) => Self::Failed,
            (Some(6), _) => Self::Deleted,
            _ => Self::Generating,
        }
    }
}

/// Credits left. The Platform API has no daily credits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Balance {
    pub daily: Option<i64>,
    pub monthly: i64,
    pub package: i64,
}

/// A downloaded MP4 (in the file the caller named), or why it was not read.
#[derive(Clone, Debug, PartialEq)]
pub enum DownloadedVideo {
    Saved {
        bytes: u64,
    },
    /// Larger than the caller's limit; `size` when the server announced it.
    TooLarge {
        size: Option<u64>,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_codes_map_to_statuses() {
        let ok = VideoStatus::from_code(Some(1), Some("https://m/x.mp4"));
        assert_eq!(
            ok,
            VideoStatus::Succeeded {
                url: "https://m/x.mp4".into()
            }
        );
        assert_eq!(VideoStatus::from_code(Some(1), Some("")), VideoStatus::Generating);
        assert_eq!(VideoStatus::from_code(Some(5), None), VideoStatus::Generating);
        assert_eq!(VideoStatus::from_code(Some(9), None), VideoStatus::Generating);
        assert_eq!(VideoStatus::from_code(None, None), VideoStatus::Generating);
        assert_eq!(VideoStatus::from_code(Some(7), None), VideoStatus::Moderated);
        assert_eq!(VideoStatus::from_code(Some(8), None), VideoStatus::Failed);
        assert_eq!(VideoStatus::from_code(Some(6), None), VideoStatus::Deleted);
    }

    #[test]
    fn uploaded_image_round_trips_through_json() {
        for image in [
            UploadedImage::Platform {
                img_id: 300_000_000_000_000_001,
            },
            UploadedImage::Web {
                path: "upload/a.jpg".into(),
                url: "https://x/upload/a.jpg".into(),
            },
        ] {
            let json = serde_json::to_string(&image).unwrap();
            assert_eq!(serde_json::from_str::<UploadedImage>(&json).unwrap(), image);
        }
    }
}
