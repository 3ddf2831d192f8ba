//! `POST /v1/videos/lipsync`: one of the caller's succeeded videos speaking a text (JSON, a
//! PixVerse text-to-speech voice reads it) or an audio file (multipart). Accepted as the other
//! modes are (`super::modes`), answered with the same video object.

use axum::{
    extract::{DefaultBodyLimit, FromRequest, Multipart, Request, State},
    http::{HeaderMap, StatusCode, header},
    response::Response,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{
    router::{OpenApiRouter, UtoipaMethodRouterExt},
    routes,
};

use super::{
    ApiState, Caller,
    modes::sentence,
    problem::{Json, Problem},
    videos::{Image, VideoRequest, create, params_of, request_hash, submit},
};
use crate::{
    domain::{AUTO_VOICE, LipSyncAudio, ModeError, TaskId},
    service::{AudioSource, Destination, MAX_AUDIO_BYTES, ModeOrder, Spec, WorkOrder},
};

/// Room for the `video_id` part beside a 20 MB audio.
const MULTIPART_LIMIT: usize = MAX_AUDIO_BYTES as usize + 1024 * 1024;
/// What the video object shows as the prompt of a lip-sync to an audio file.
const AUDIO_PROMPT: &str = "🎤 audio";

pub fn routes() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new().routes(routes!(lipsync).layer(DefaultBodyLimit::max(MULTIPART_LIMIT)))
}

/// One of your videos speaking a text.
#[derive(Clone, Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"video_id": 42, "text": "Hello from the snow!", "speaker_id": "Auto"}))]
pub struct LipSyncRequest {
    /// The `id` of one of your succeeded videos.
    #[schema(example = 42)]
    pub video_id: i64,
    /// What the video says (1–200 characters).
    #[schema(example = "Hello from the snow!")]
    pub text: String,
    /// One of PixVerse's text-to-speech voices; left out: `Auto` (PixVerse picks one).
    #[schema(example = "Auto")]
    pub speaker_id: Option<String>,
}

/// One of your videos speaking an audio file.
#[derive(ToSchema)]
#[allow(dead_code)] // Documentation only: the handler reads the parts one by one.
pub struct LipSyncAudioForm {
    /// The `id` of one of your succeeded videos.
    video_id: i64,
    /// MP3, M4A, WAV or Ogg, at most 20 MB.
    #[schema(value_type = String, format = Binary)]
    audio: Vec<u8>,
}

/// Make one of your videos speak.
///
/// JSON: PixVerse's text-to-speech voice `speaker_id` reads `text`. `multipart/form-data` with
/// `video_id` and an `audio` part (MP3, M4A, WAV or Ogg by its bytes, at most 20 MB): the video
/// speaks that audio. Either way the video's lips follow. Runs on the PixVerse account that made
/// the video; needs a PixVerse Platform API key.
#[utoipa::path(post, path = "/v1/videos/lipsync", tag = "videos", security(("bearer" = [])),
    request_body(content(
        (LipSyncRequest = "application/json"),
        (LipSyncAudioForm = "multipart/form-data"),
    )),
    params(("Idempotency-Key" = Option<String>, Header, description = "Up to 255 characters; the same key and body within 24 h return the same video")),
    responses(
        (status = 202, description = "Queued", body = super::videos::Video, headers(("Location" = String, description = "/v1/videos/{id}"))),
        (status = 400, description = "The body is not JSON, or the form cannot be read", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No or an unknown token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Banned, or not admitted in allowlist mode", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The source video has not succeeded, was made with another PixVerse account, or its account is a web login (lip-sync needs an API key); or no account to generate with", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "The body or the audio is too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Neither JSON nor multipart, or the audio is not MP3, M4A, WAV or Ogg", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "No such video of yours (`video_id`), or the text is empty or over 200 characters", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Over the token's rate limit, the tasks in flight, the hourly limit or the daily pool quota", body = Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
    ))]
async fn lipsync(
    State(state): State<ApiState>,
    caller: Caller,
    headers: HeaderMap,
    request: Request,
) -> Result<Response, Problem> {
    let multipart = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("multipart/form-data"));
    if multipart {
        let form = Multipart::from_request(request, &state)
            .await
            .map_err(|e| Problem::bad_request(e.body_text()))?;
        let (video_id, audio) = read_audio_form(form).await?;
        let hash = request_hash("lipsync-audio", &video_id, &[&audio]);
        let audio = AudioSource::Uploaded {
            content_type: audio.content_type.to_owned(),
            bytes: audio.bytes,
        };
        let work = speak(&state, caller, video_id, AUDIO_PROMPT.to_owned(), |source| {
            ModeOrder::LipSyncAudio { source, audio }
        });
        return create(&state, caller, &headers, hash, work).await;
    }
    let Json(request) = Json::<LipSyncRequest>::from_request(request, &state).await?;
    let hash = request_hash("lipsync", &request, &[]);
    let speaker_id = request
        .speaker_id
        .clone()
        .unwrap_or_else(|| AUTO_VOICE.to_owned());
    let text = match LipSyncAudio::from_fields(None, Some(&speaker_id), Some(&request.text)) {
        Ok(LipSyncAudio::Speech { text, .. }) => text,
        Ok(LipSyncAudio::Uploaded(_)) => unreachable!("no audio was given"),
        Err(e @ ModeError::HalfSpeech) => {
            return Err(Problem::invalid_field("speaker_id", sentence(&e)));
        }
        Err(e) => return Err(Problem::invalid_field("text", sentence(&e))),
    };
    let work = speak(&state, caller, request.video_id, text, |source| {
        ModeOrder::LipSync { source, speaker_id }
    });
    create(&state, caller, &headers, hash, work).await
}

/// Hands a lip-sync of video `video_id` to the service; `prompt` is what the video object shows.
async fn speak(
    state: &ApiState,
    caller: Caller,
    video_id: i64,
    prompt: String,
    mode: impl FnOnce(TaskId) -> ModeOrder,
) -> Result<i64, Problem> {
    let fields = VideoRequest {
        prompt,
        ..Default::default()
    };
    let (prompt, params) = params_of(fields, state.storage.settings_of(caller.user_id).await?)?;
    let spec = Spec::Given { prompt, params };
    let order = WorkOrder::mode(caller.user_id, Destination::Api, spec, mode(TaskId(video_id)));
    submit(state, order).await
}

async fn read_audio_form(mut form: Multipart) -> Result<(i64, Image), Problem> {
    let read_error = |e: axum::extract::multipart::MultipartError| match e.status() {
        StatusCode::PAYLOAD_TOO_LARGE => Problem::payload_too_large("The audio may have at most 20 MB."),
        _ => Problem::bad_request(e.body_text()),
    };
    let (mut video_id, mut audio) = (None, None);
    while let Some(field) = form.next_field().await.map_err(read_error)? {
        match field.name().unwrap_or_default() {
            "audio" => {
                let bytes = field.bytes().await.map_err(read_error)?;
                if bytes.len() as u64 > MAX_AUDIO_BYTES {
                    return Err(Problem::payload_too_large("The audio may have at most 20 MB."));
                }
                let Some(content_type) = sniff_audio(&bytes) else {
                    return Err(Problem::unsupported_media(
                        "The `audio` part is not an MP3, M4A, WAV or Ogg file.",
                    ));
                };
                audio = Some(Image { content_type, bytes });
            }
            "video_id" => {
                let text = field.text().await.map_err(read_error)?;
                let id = text.trim().parse::<i64>().map_err(|_| {
                    Problem::invalid_field("video_id", format!("{text} is not a video id (a whole number)."))
                })?;
                video_id = Some(id);
            }
            other => {
                return Err(Problem::invalid_field(
                    other,
                    format!("Unknown part `{other}`; send `video_id` and `audio`."),
                ));
            }
        }
    }
    let video_id =
        video_id.ok_or_else(|| Problem::invalid_field("video_id", "The `video_id` part is missing."))?;
    let audio = audio.ok_or_else(|| Problem::invalid_field("audio", "The `audio` part is missing."))?;
    Ok((video_id, audio))
}

/// The audio type by its first bytes (the declared type of a part proves nothing).
fn sniff_audio(bytes: &[u8]) -> Option<&'static str> {
    let mp3_frame = bytes.len() >= 2 && bytes[0] == 0xFF && bytes[1] & 0xE0 == 0xE0;
    if bytes.starts_with(b"ID3") || mp3_frame {
        Some("audio/mpeg")
    } else if bytes.starts_with(b"OggS") {
        Some("audio/ogg")
    } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WAVE" {
        Some("audio/wav")
    } else if bytes.len() >= 8 && &bytes[4..8] == b"ftyp" {
        Some("audio/mp4")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audio_is_recognised_by_its_bytes_not_its_declared_type() {
        assert_eq!(sniff_audio(b"ID3\x04\0\0"), Some("audio/mpeg"));
        assert_eq!(sniff_audio(&[0xFF, 0xFB, 0x90, 0x00]), Some("audio/mpeg"));
        assert_eq!(sniff_audio(b"OggS\0\x02"), Some("audio/ogg"));
        assert_eq!(sniff_audio(b"RIFF\0\0\0\0WAVEfmt "), Some("audio/wav"));
        assert_eq!(sniff_audio(b"\0\0\0\x20ftypM4A "), Some("audio/mp4"));
        assert_eq!(sniff_audio(b"\x89PNG\r\n\x1a\n"), None);
        assert_eq!(sniff_audio(b""), None);
    }
}
