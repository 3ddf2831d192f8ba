//! `/v1/videos/extend`, `/v1/videos/sound` (and `/v1/videos/lipsync`, in `super::lipsync`):
//! PixVerse's further modes on
//! one of the caller's succeeded videos. Accepted through the same service as text and image
//! videos (the same rules, limits and quota), answered with the same video object; the new video
//! runs on the PixVerse account that made the source video (PixVerse knows it only there).

use axum::{extract::State, http::HeaderMap, response::Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{
    ApiState, Caller,
    problem::{Json, Problem},
    videos::{VideoRequest, create, params_of, request_hash, submit},
};
use crate::{
    domain::{ModeError, TaskId, TaskKind, sound_description},
    service::{Destination, ModeOrder, Refusal, Spec, WorkOrder},
};

pub fn routes() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new()
        .routes(routes!(extend))
        .routes(routes!(sound))
}

/// A continuation of one of your videos. Fields left out take your saved defaults, as for
/// `POST /v1/videos/text` (the aspect ratio is the video's own).
#[derive(Clone, Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"video_id": 42, "prompt": "the fox leaps over a frozen stream", "duration": 5}))]
pub struct ExtendRequest {
    /// The `id` of one of your succeeded videos.
    #[schema(example = 42)]
    pub video_id: i64,
    /// What happens next (at most 2,048 characters).
    #[schema(example = "the fox leaps over a frozen stream")]
    pub prompt: String,
    /// One of v3.5, v4, v4.5, v5, v5.5, v5.6, v6, c1.
    #[schema(example = "v5")]
    pub model: Option<String>,
    /// Seconds, as for `POST /v1/videos/text`.
    #[schema(example = 5, minimum = 1, maximum = 15)]
    pub duration: Option<u32>,
    /// One of 360p, 540p, 720p, 1080p.
    #[schema(example = "540p")]
    pub quality: Option<String>,
    /// `normal`, or `fast` (5-second videos below 1080p only).
    #[schema(example = "normal")]
    pub motion_mode: Option<String>,
    #[schema(example = 42, minimum = 0, maximum = 2147483647)]
    pub seed: Option<u32>,
    #[schema(example = "blur")]
    pub negative_prompt: Option<String>,
    /// One of anime, 3d_animation, clay, comic, cyberpunk.
    #[schema(example = "anime")]
    pub style: Option<String>,
}

/// One of your videos with a described sound.
#[derive(Clone, Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"video_id": 42, "description": "wind over snow, a distant owl", "keep_original_sound": false}))]
pub struct SoundRequest {
    /// The `id` of one of your succeeded videos.
    #[schema(example = 42)]
    pub video_id: i64,
    /// The sound (1–2,048 characters).
    #[schema(example = "wind over snow, a distant owl")]
    pub description: String,
    /// Keep the video's own sound under the new one (default false).
    #[schema(example = false)]
    pub keep_original_sound: Option<bool>,
    #[schema(example = 42, minimum = 0, maximum = 2147483647)]
    pub seed: Option<u32>,
}

/// Start a continuation of one of your videos.
///
/// The new video continues the video `video_id` names and runs on the PixVerse account that
/// made it. Needs a PixVerse Platform API key (a web login cannot extend). `Idempotency-Key` as
/// for `POST /v1/videos/text`.
#[utoipa::path(post, path = "/v1/videos/extend", tag = "videos", security(("bearer" = [])),
    request_body(content = ExtendRequest, content_type = "application/json"),
    params(("Idempotency-Key" = Option<String>, Header, description = "Up to 255 characters; the same key and body within 24 h return the same video")),
    responses(
        (status = 202, description = "Queued", body = super::videos::Video, headers(("Location" = String, description = "/v1/videos/{id}"))),
        (status = 400, description = "The body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No or an unknown token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Banned, or not admitted in allowlist mode", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The source video has not succeeded, was made with another PixVerse account, or its account is a web login (extend needs an API key); or no account to generate with", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "The body is too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not application/json", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "No such video of yours (`video_id`), or a field or combination cannot be used", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Over the token's rate limit, the tasks in flight, the hourly limit or the daily pool quota", body = Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
    ))]
async fn extend(
    State(state): State<ApiState>,
    caller: Caller,
    headers: HeaderMap,
    Json(request): Json<ExtendRequest>,
) -> Result<Response, Problem> {
    let hash = request_hash("extend", &request, &[]);
    let work = async {
        let defaults = state.storage.settings_of(caller.user_id).await?;
        let (prompt, params) = params_of(as_video_request(&request), defaults)?;
        let mode = ModeOrder::Extend {
            source: TaskId(request.video_id),
        };
        let spec = Spec::Given { prompt, params };
        submit(
            &state,
            WorkOrder::mode(caller.user_id, Destination::Api, spec, mode),
        )
        .await
    };
    create(&state, caller, &headers, hash, work).await
}

/// Start one of your videos again with a described sound.
///
/// Runs on the PixVerse account that made the video; needs a PixVerse Platform API key.
#[utoipa::path(post, path = "/v1/videos/sound", tag = "videos", security(("bearer" = [])),
    request_body(content = SoundRequest, content_type = "application/json"),
    params(("Idempotency-Key" = Option<String>, Header, description = "Up to 255 characters; the same key and body within 24 h return the same video")),
    responses(
        (status = 202, description = "Queued", body = super::videos::Video, headers(("Location" = String, description = "/v1/videos/{id}"))),
        (status = 400, description = "The body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No or an unknown token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Banned, or not admitted in allowlist mode", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The source video has not succeeded, was made with another PixVerse account, or its account is a web login (sound needs an API key); or no account to generate with", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "The body is too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not application/json", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "No such video of yours (`video_id`), or the description is empty or too long", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Over the token's rate limit, the tasks in flight, the hourly limit or the daily pool quota", body = Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
    ))]
async fn sound(
    State(state): State<ApiState>,
    caller: Caller,
    headers: HeaderMap,
    Json(request): Json<SoundRequest>,
) -> Result<Response, Problem> {
    let hash = request_hash("sound", &request, &[]);
    let work = async {
        let description = sound_description(&request.description)
            .map_err(|e| Problem::invalid_field("description", sentence(&e)))?;
        let fields = VideoRequest {
            prompt: description,
            seed: request.seed,
            ..Default::default()
        };
        let (prompt, params) = params_of(fields, state.storage.settings_of(caller.user_id).await?)?;
        let mode = ModeOrder::Sound {
            source: TaskId(request.video_id),
            keep_original_sound: request.keep_original_sound.unwrap_or(false),
        };
        let spec = Spec::Given { prompt, params };
        submit(
            &state,
            WorkOrder::mode(caller.user_id, Destination::Api, spec, mode),
        )
        .await
    };
    create(&state, caller, &headers, hash, work).await
}

/// An extend request's fields in the text request's shape (its parsers and words).
fn as_video_request(request: &ExtendRequest) -> VideoRequest {
    VideoRequest {
        prompt: request.prompt.clone(),
        model: request.model.clone(),
        duration: request.duration,
        quality: request.quality.clone(),
        motion_mode: request.motion_mode.clone(),
        seed: request.seed,
        negative_prompt: request.negative_prompt.clone(),
        style: request.style.clone(),
        // The video's own, and extend generates no separate audio.
        aspect_ratio: None,
        audio: None,
        sound_effect: None,
        template_id: None,
    }
}

/// What a refused work is, for the sentence that says it needs an API key.
fn what_needs_a_key(kind: TaskKind) -> &'static str {
    match kind {
        TaskKind::Extend => "An extension",
        TaskKind::Sound => "A sound effect",
        TaskKind::LipSync => "Lip-sync",
        TaskKind::Transition => "A transition",
        TaskKind::Fusion => "A fusion",
        TaskKind::I2v => "An effect template",
        TaskKind::T2v => "This",
    }
}

/// `error` as a sentence: capitalised, with a full stop.
pub(super) fn sentence(error: &ModeError) -> String {
    let text = error.to_string();
    let mut chars = text.chars();
    let first = chars
        .next()
        .map(|c| c.to_uppercase().collect::<String>())
        .unwrap_or_default();
    format!("{first}{}.", chars.as_str())
}

/// How the API words a refusal about a mode.
pub(super) fn problem_of_mode(refusal: &Refusal) -> Problem {
    match refusal {
        Refusal::Mode { error, .. } => {
            let field = match error {
                ModeError::SpeechLength { .. } | ModeError::HalfSpeech => "text",
                ModeError::SoundLength { .. } => "description",
                ModeError::NoReferences | ModeError::TooManyReferences { .. } => "image",
                ModeError::BadReferenceName { .. } | ModeError::DuplicateReference { .. } => "refs",
                ModeError::UnmentionedReference { .. } => "prompt",
                ModeError::NoVideo
                | ModeError::TwoVideos
                | ModeError::NoAudio
                | ModeError::AudioAndSpeech => "body",
            };
            Problem::invalid_field(field, sentence(error))
        }
        Refusal::SourceNotFound { .. } => {
            Problem::invalid_field("video_id", "There is no video with this id of yours.")
        }
        Refusal::SourceNotReady => Problem::conflict(
            "The video has not succeeded (it is still being made, or it failed); wait for it, or pick another.",
        ),
        Refusal::SourceOtherAccount => Problem::conflict(
            "The video was made with a PixVerse account this account no longer uses; PixVerse knows it only there.",
        ),
        Refusal::NeedsApiKey { .. } => Problem::conflict(
            "This mode needs a PixVerse Platform API key, and the account it would run on (the one that made the video, for a mode on a video) is a web login. Log in with an API key (POST /v1/auth) and use it.",
        ),
        Refusal::PoolNeedsApiKey { kind } => Problem::conflict(format!(
            "{} needs a PixVerse Platform API key. This account has no PixVerse account of its own and \
             the shared pool holds only web logins, which cannot do it. Log in with an API key \
             (POST /v1/auth with api_key) and use it.",
            what_needs_a_key(*kind)
        )),
        Refusal::AudioTooLarge { max_bytes } => Problem::payload_too_large(format!(
            "The audio may have at most {} MB.",
            max_bytes / 1024 / 1024
        )),
        _ => Problem::internal(&"not a mode refusal"),
    }
}
