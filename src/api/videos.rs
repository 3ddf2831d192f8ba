//! `/v1/videos`: start text and image generations, follow them, list and cancel them.
//!
//! Work is accepted through the same service as the bot's (`crate::service`): the same
//! validation, access, per-user limits, pool quota and insert. An API task's result is only
//! recorded; the client reads it here.

use axum::{
    extract::{DefaultBodyLimit, Multipart, State, multipart::MultipartRejection},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{
    router::{OpenApiRouter, UtoipaMethodRouterExt},
    routes,
};

use super::{
    ApiState, Caller,
    problem::{Json, Path, Problem, Query},
    time::rfc3339,
};
use crate::{
    domain::{
        AspectRatio, GenerationParams, MAX_PROMPT_CHARS, MAX_SEED, Model, MotionMode, ParamError,
        ParamProblem, PromptError, Quality, RequestError, Style, TaskId, TaskKind, TaskState, UserId,
    },
    service::{
        AcceptError, Destination, EffectsError, ImageSource, MAX_IMAGE_BYTES, Refusal, Spec, WorkOrder,
        find_effect,
    },
    storage::{Reservation, TaskRow},
    texts::{Lang, texts},
};

/// Room for the form fields beside a 20 MB image.
const MULTIPART_LIMIT: usize = MAX_IMAGE_BYTES as usize + 1024 * 1024;
/// The longest `Idempotency-Key` kept.
const MAX_IDEMPOTENCY_KEY: usize = 255;

pub fn routes() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new()
        .routes(routes!(create_text))
        .routes(routes!(create_image).layer(DefaultBodyLimit::max(MULTIPART_LIMIT)))
        .routes(routes!(list))
        .routes(routes!(get_video, cancel))
}

/// What to generate. Fields left out take the caller's saved defaults (the bot's /settings),
/// else the service's (v5, 5 s, 540p, 16:9, normal motion, no audio).
#[derive(Clone, Debug, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"prompt": "a red fox running through fresh snow", "model": "v5.5", "duration": 8, "quality": "720p", "aspect_ratio": "9:16"}))]
pub struct VideoRequest {
    /// What the video shows (at most 2,048 characters).
    #[schema(example = "a red fox running through fresh snow")]
    pub prompt: String,
    /// One of v3.5, v4, v4.5, v5, v5.5, v5.6, v6, c1.
    #[schema(example = "v5.5")]
    pub model: Option<String>,
    /// Seconds: 5 or 8 for most models (v5.5/v5.6 also 10 below 1080p; v6 and c1 1–15).
    #[schema(example = 8, minimum = 1, maximum = 15)]
    pub duration: Option<u32>,
    /// One of 360p, 540p, 720p, 1080p.
    #[schema(example = "720p")]
    pub quality: Option<String>,
    /// One of 16:9, 4:3, 1:1, 3:4, 9:16 (v6 and c1 also 2:3, 3:2, 21:9).
    #[schema(example = "9:16")]
    pub aspect_ratio: Option<String>,
    /// `normal`, or `fast` (5-second videos below 1080p only).
    #[schema(example = "normal")]
    pub motion_mode: Option<String>,
    /// 0–2147483647; the same seed and request give the same video. Left out: one is picked and
    /// shown in the video object.
    #[schema(example = 42, minimum = 0, maximum = 2147483647)]
    pub seed: Option<u32>,
    /// What to avoid.
    #[schema(example = "blur, text")]
    pub negative_prompt: Option<String>,
    /// One of anime, 3d_animation, clay, comic, cyberpunk.
    #[schema(example = "anime")]
    pub style: Option<String>,
    /// Generate sound (v5.5 and later).
    #[schema(example = false)]
    pub audio: Option<bool>,
    /// A described sound made with the video (1–2048 characters). Platform API keys only: with
    /// a web login the request is refused (409).
    #[schema(example = "thunder and heavy rain")]
    pub sound_effect: Option<String>,
    /// `POST /v1/videos/image` only: one of PixVerse's effect templates (the bot's /effects),
    /// applied to the image. An id PixVerse does not list is a `422`. Platform API keys only.
    #[schema(example = 315000000000000001_i64)]
    pub template_id: Option<i64>,
}

/// The multipart form of `POST /v1/videos/image`: the same fields as the JSON of
/// `POST /v1/videos/text`, as form parts, plus the image.
#[derive(ToSchema)]
#[allow(dead_code)] // Documentation only: the handler reads the parts one by one.
pub struct ImageVideoForm {
    /// JPEG, PNG or WebP, at most 20 MB.
    #[schema(value_type = String, format = Binary)]
    image: Vec<u8>,
    prompt: String,
    model: Option<String>,
    duration: Option<u32>,
    quality: Option<String>,
    aspect_ratio: Option<String>,
    motion_mode: Option<String>,
    seed: Option<u32>,
    negative_prompt: Option<String>,
    style: Option<String>,
    audio: Option<bool>,
    sound_effect: Option<String>,
    template_id: Option<i64>,
}

/// The generation parameters a video was (or will be) made with.
#[derive(Serialize, ToSchema)]
pub struct VideoParams {
    #[schema(example = "v5.5")]
    model: &'static str,
    #[schema(example = 8)]
    duration: u32,
    #[schema(example = "720p")]
    quality: &'static str,
    #[schema(example = "9:16")]
    aspect_ratio: &'static str,
    #[schema(example = "normal")]
    motion_mode: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    negative_prompt: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    style: Option<&'static str>,
    audio: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    sound_effect: Option<String>,
    /// The effect template applied (image videos only).
    #[serde(skip_serializing_if = "Option::is_none")]
    template_id: Option<i64>,
}

/// Where a video is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum VideoStatus {
    /// Accepted; PixVerse has not started it yet (also: waiting for a free PixVerse slot).
    Queued,
    /// PixVerse is generating it.
    Generating,
    /// Done: `video_url` is set.
    Succeeded,
    /// Ended without a video: `error` says why.
    Failed,
    /// Cancelled (by the client or an admin) before it finished.
    Cancelled,
}

/// Why a video failed.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({"code": "moderation", "message": "PixVerse's moderation rejected the prompt or image."}))]
pub struct VideoError {
    /// moderation, generation_failed, timed_out, credential_invalid, out_of_credits,
    /// image_unavailable, unavailable or failed.
    code: String,
    message: String,
}

/// One video.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({
    "id": 42, "kind": "t2v", "status": "succeeded", "progress": 100,
    "prompt": "a red fox running through fresh snow",
    "params": {"model": "v5.5", "duration": 8, "quality": "720p", "aspect_ratio": "9:16", "motion_mode": "normal", "audio": false},
    "seed": 1234567, "video_url": "https://media.pixverse.ai/42.mp4",
    "created_at": "2026-12-01T14:05:09.123Z", "finished_at": "2026-12-01T14:06:02.481Z"
}))]
pub struct Video {
    id: i64,
    /// `t2v` (from text), `i2v` (from an image), or made from the video `source_id`: `extend`
    /// (continued), `sound` (a described sound added) or `lip_sync` (speaking a text).
    #[schema(example = "t2v")]
    kind: &'static str,
    /// The video this one was made from (`extend`, `sound`, `lip_sync`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = 41)]
    source_id: Option<i64>,
    status: VideoStatus,
    /// 0–100; an estimate while generating.
    #[schema(minimum = 0, maximum = 100)]
    progress: u8,
    prompt: String,
    params: VideoParams,
    /// The seed used (picked by the service when the request gave none).
    #[serde(skip_serializing_if = "Option::is_none")]
    seed: Option<u32>,
    /// The MP4, once `succeeded`.
    #[serde(skip_serializing_if = "Option::is_none")]
    video_url: Option<String>,
    /// Once `failed`.
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<VideoError>,
    /// RFC 3339.
    created_at: String,
    /// RFC 3339, once finished (succeeded, failed or cancelled).
    #[serde(skip_serializing_if = "Option::is_none")]
    finished_at: Option<String>,
}

/// A page of videos, newest first.
#[derive(Serialize, ToSchema)]
pub struct VideoPage {
    videos: Vec<Video>,
    /// Pass as `before` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    next_before: Option<i64>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Videos per page, 1–100 (default 20).
    #[param(minimum = 1, maximum = 100, example = 20)]
    limit: Option<i64>,
    /// Only videos with an id below this (the previous page's `next_before`).
    #[param(example = 40)]
    before: Option<i64>,
}

/// How a task looks through the API.
impl Video {
    fn of(task: &TaskRow) -> Result<Video, Problem> {
        let params = task.params();
        let status = status_of(task);
        let since = task.submitted_at.unwrap_or(task.created_at);
        let progress = match (task.state, status) {
            (_, VideoStatus::Succeeded) => 100,
            (TaskState::Delivering, _) => 99,
            (TaskState::Generating, _) => {
                // PixVerse reports no progress; a typical generation takes about a minute.
                let elapsed = (crate::storage::now_ms() - since).max(0) / 1000;
                (5 + elapsed * 90 / 60).min(95) as u8
            }
            _ => 0,
        };
        Ok(Video {
            id: task.id.0,
            kind: task.kind.as_str(),
            source_id: task
                .mode_input()
                .and_then(|input| input.source())
                .map(|source| source.task_id),
            status,
            progress,
            prompt: task.prompt.clone(),
            seed: params.seed,
            params: VideoParams {
                model: params.model.as_str(),
                duration: params.duration,
                quality: params.quality.as_str(),
                aspect_ratio: params.aspect_ratio.as_str(),
                motion_mode: params.motion_mode.as_str(),
                negative_prompt: params.negative_prompt.clone(),
                style: params.style.map(Style::as_str),
                audio: params.audio,
                sound_effect: params.sound_effect.clone(),
                template_id: params.template_id,
            },
            video_url: (status == VideoStatus::Succeeded)
                .then(|| task.video_url.clone())
                .flatten(),
            error: (status == VideoStatus::Failed).then(|| error_of(task.last_error.as_deref())),
            created_at: rfc3339(task.created_at),
            finished_at: task.finished_at.map(rfc3339),
        })
    }
}

/// What the admin's /cancel and the API's DELETE store as the failure.
const CANCELLED_PREFIX: &str = "cancelled";

fn status_of(task: &TaskRow) -> VideoStatus {
    match task.state {
        TaskState::Queued | TaskState::Submitting => VideoStatus::Queued,
        TaskState::Generating | TaskState::Delivering => VideoStatus::Generating,
        TaskState::Delivered => VideoStatus::Succeeded,
        TaskState::Failed
            if task
                .last_error
                .as_deref()
                .is_some_and(|e| e.starts_with(CANCELLED_PREFIX)) =>
        {
            VideoStatus::Cancelled
        }
        TaskState::Failed => VideoStatus::Failed,
    }
}

/// A stable code for the worker's failure note (it never holds a secret).
fn error_of(last_error: Option<&str>) -> VideoError {
    let note = last_error.unwrap_or("failed");
    let (code, message) = match note {
        crate::worker::MODERATED => (
            "moderation",
            "PixVerse's moderation rejected the prompt or image.",
        ),
        "generation failed" => ("generation_failed", "PixVerse could not generate this video."),
        n if n.starts_with("deadline passed") => ("timed_out", "The video did not finish in time."),
        "photo unavailable" => ("image_unavailable", "The image could not be read."),
        "no usable credential" | "no usable pool account" => (
            "credential_invalid",
            "No PixVerse account could take the video (a login expired or credits ran out).",
        ),
        n if n.to_ascii_lowercase().contains("credit") => {
            ("out_of_credits", "The PixVerse account has no credits left.")
        }
        _ => ("failed", note),
    };
    VideoError {
        code: code.into(),
        message: message.into(),
    }
}

/// Start a video from text.
///
/// Accepted work is queued at once (`202`); follow it with `GET /v1/videos/{id}` (the
/// `Location` header). An `Idempotency-Key` makes a retry safe: the same key and body within
/// 24 h return the same video and start nothing new.
#[utoipa::path(post, path = "/v1/videos/text", tag = "videos", security(("bearer" = [])),
    request_body(content = VideoRequest, content_type = "application/json"),
    params(("Idempotency-Key" = Option<String>, Header, description = "Up to 255 characters; the same key and body within 24 h return the same video")),
    responses(
        (status = 202, description = "Queued", body = Video, headers(("Location" = String, description = "/v1/videos/{id}"))),
        (status = 400, description = "The body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No or an unknown token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Banned, or not admitted in allowlist mode", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "No PixVerse account to generate with (log in again), a `sound_effect` with a web login (it needs a Platform API key), or the first request with this Idempotency-Key is still being accepted", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "The body is too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not application/json", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field or combination cannot be used (`field` names it, `detail` says what is accepted), or the Idempotency-Key was used with another body", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Over the token's rate limit, the tasks in flight, the hourly limit or the daily pool quota", body = Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
    ))]
async fn create_text(
    State(state): State<ApiState>,
    caller: Caller,
    headers: HeaderMap,
    Json(request): Json<VideoRequest>,
) -> Result<Response, Problem> {
    let hash = request_hash("text", &request, &[]);
    let work = accept(&state, caller, TaskKind::T2v, request, None);
    create(&state, caller, &headers, hash, work).await
}

/// Start a video from an image.
///
/// `multipart/form-data` with an `image` part (JPEG, PNG or WebP, at most 20 MB) and the fields
/// of `POST /v1/videos/text` as parts. A part that is not one of those images is a `415`, a body
/// over the limit a `413`, before anything reaches PixVerse.
#[utoipa::path(post, path = "/v1/videos/image", tag = "videos", security(("bearer" = [])),
    request_body(content = ImageVideoForm, content_type = "multipart/form-data"),
    params(("Idempotency-Key" = Option<String>, Header, description = "Up to 255 characters; the same key and body within 24 h return the same video")),
    responses(
        (status = 202, description = "Queued", body = Video, headers(("Location" = String, description = "/v1/videos/{id}"))),
        (status = 400, description = "The form cannot be read", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No or an unknown token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Banned, or not admitted in allowlist mode", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "No PixVerse account to generate with, a `sound_effect` or `template_id` without a Platform API key, or the first request with this Idempotency-Key is still being accepted", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "The image is over 20 MB", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not multipart, or the image is not JPEG, PNG or WebP", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field or combination cannot be used (a `template_id` PixVerse does not list, too), or the Idempotency-Key was used with another body", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Over the token's rate limit, the tasks in flight, the hourly limit or the daily pool quota", body = Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
        (status = 502, description = "PixVerse's effect templates could not be read to check `template_id`", body = Problem, content_type = "application/problem+json"),
    ))]
async fn create_image(
    State(state): State<ApiState>,
    caller: Caller,
    headers: HeaderMap,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Response, Problem> {
    let multipart = multipart.map_err(|e| {
        Problem::unsupported_media(format!(
            "{}; send multipart/form-data with an `image` part and the prompt",
            e.body_text()
        ))
    })?;
    let (request, image) = read_image_form(multipart).await?;
    let hash = request_hash("image", &request, &[&image]);
    let work = accept(&state, caller, TaskKind::I2v, request, Some(image));
    create(&state, caller, &headers, hash, work).await
}

/// The validated image of a multipart request.
pub(super) struct Image {
    pub(super) content_type: &'static str,
    pub(super) bytes: Bytes,
}

async fn read_image_form(multipart: Multipart) -> Result<(VideoRequest, Image), Problem> {
    let (fields, images) = read_form(multipart, &["image"]).await?;
    let request = form_request(fields)?;
    let image = images
        .into_iter()
        .next()
        .map(|(_, image)| image)
        .ok_or_else(|| Problem::invalid_field("image", "The `image` part is missing."))?;
    Ok((request, image))
}

/// A multipart form's parts: the images among `image_parts` (each checked by its bytes), in the
/// order they came, and the other parts as JSON values (numbers where a number is expected).
pub(super) async fn read_form(
    mut multipart: Multipart,
    image_parts: &[&str],
) -> Result<(serde_json::Map<String, serde_json::Value>, Vec<(String, Image)>), Problem> {
    let mut fields = serde_json::Map::new();
    let mut images = Vec::new();
    let read_error = |e: axum::extract::multipart::MultipartError| match e.status() {
        StatusCode::PAYLOAD_TOO_LARGE => Problem::payload_too_large(format!(
            "The body is too large; an image may have at most {} MB",
            MAX_IMAGE_BYTES / 1024 / 1024
        )),
        _ => Problem::bad_request(e.body_text()),
    };
    while let Some(field) = multipart.next_field().await.map_err(read_error)? {
        let name = field.name().unwrap_or_default().to_owned();
        if image_parts.contains(&name.as_str()) {
            let bytes = field.bytes().await.map_err(read_error)?;
            if bytes.len() as u64 > MAX_IMAGE_BYTES {
                return Err(Problem::payload_too_large("An image may have at most 20 MB."));
            }
            let Some(content_type) = sniff_image(&bytes) else {
                return Err(Problem::unsupported_media(format!(
                    "The `{name}` part is not a JPEG, PNG or WebP image."
                )));
            };
            images.push((name, Image { content_type, bytes }));
            continue;
        }
        let text = field.text().await.map_err(read_error)?;
        let value = match name.as_str() {
            "duration" | "seed" | "template_id" => match text.trim().parse::<u64>() {
                Ok(n) => serde_json::Value::from(n),
                Err(_) => {
                    return Err(Problem::invalid_field(
                        &name,
                        format!("{text} is not a valid value for {name}. Accepted: a whole number."),
                    ));
                }
            },
            "audio" => match text.trim() {
                "true" | "1" | "on" => true.into(),
                "false" | "0" | "off" | "" => false.into(),
                other => {
                    return Err(Problem::invalid_field(
                        "audio",
                        format!("{other} is not a valid value for audio. Accepted: true, false."),
                    ));
                }
            },
            _ => serde_json::Value::String(text),
        };
        fields.insert(name, value);
    }
    Ok((fields, images))
}

/// A form's text fields as the fields of `POST /v1/videos/text`.
pub(super) fn form_request(
    fields: serde_json::Map<String, serde_json::Value>,
) -> Result<VideoRequest, Problem> {
    serde_json::from_value(serde_json::Value::Object(fields)).map_err(|e| {
        Problem::unprocessable(
            "invalid-body",
            "The form does not have the expected fields",
            e.to_string(),
        )
    })
}

/// The image type by its first bytes (the declared type of a part proves nothing).
fn sniff_image(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some("image/webp")
    } else {
        None
    }
}

/// What an `Idempotency-Key` is bound to: the route, the fields, and the files.
pub(super) fn request_hash(route: &str, request: &impl Serialize, files: &[&Image]) -> Vec<u8> {
    let mut hasher = Sha256::new();
    hasher.update(route.as_bytes());
    hasher.update(serde_json::to_vec(request).unwrap_or_default());
    for file in files {
        hasher.update(Sha256::digest(&file.bytes));
    }
    hasher.finalize().to_vec()
}

/// Starts the work `accept` stands for (not run before the `Idempotency-Key` is reserved), and
/// answers `202` with the video; a key seen before answers with the video it started.
pub(super) async fn create(
    state: &ApiState,
    caller: Caller,
    headers: &HeaderMap,
    request_hash: Vec<u8>,
    accept: impl Future<Output = Result<i64, Problem>>,
) -> Result<Response, Problem> {
    let key = idempotency_key(headers)?;
    if let Some(key) = &key {
        match state
            .storage
            .reserve_idempotency(caller.user_id, key, &request_hash)
            .await?
        {
            Reservation::Reserved => {}
            Reservation::Existing(task_id) => return accepted(state, task_id, true).await,
            Reservation::OtherRequest => {
                return Err(Problem {
                    field: Some("Idempotency-Key".into()),
                    ..Problem::unprocessable(
                        "idempotency-key-reused",
                        "The Idempotency-Key was used with another request",
                        "This Idempotency-Key was used with another body within 24 h; use a new key for a new request.",
                    )
                });
            }
            Reservation::InProgress => {
                return Err(Problem::conflict(
                    "The first request with this Idempotency-Key is still being accepted; retry shortly.",
                ));
            }
        }
    }
    let outcome = accept.await;
    match (&outcome, &key) {
        (Ok(task_id), Some(key)) => {
            state
                .storage
                .complete_idempotency(caller.user_id, key, *task_id)
                .await?
        }
        (Err(_), Some(key)) => state.storage.release_idempotency(caller.user_id, key).await?,
        _ => {}
    }
    accepted(state, outcome?, false).await
}

/// Validates the request over the caller's saved defaults and hands it to the service.
async fn accept(
    state: &ApiState,
    caller: Caller,
    kind: TaskKind,
    request: VideoRequest,
    image: Option<Image>,
) -> Result<i64, Problem> {
    let defaults = state.storage.settings_of(caller.user_id).await?;
    let template_id = request.template_id;
    let (prompt, mut params) = params_of(request, defaults)?;
    if let Some(template_id) = template_id {
        if kind != TaskKind::I2v {
            return Err(Problem::invalid_field(
                "template_id",
                "Only an image video takes an effect template (POST /v1/videos/image).",
            ));
        }
        params.template_id = Some(known_effect(state, caller.user_id, template_id).await?);
    }
    let order = WorkOrder {
        requester: caller.user_id,
        destination: Destination::Api,
        kind,
        spec: Spec::Given { prompt, params },
        image: image.map(|image| ImageSource::Uploaded {
            content_type: image.content_type.to_owned(),
            bytes: image.bytes,
        }),
        mode: None,
        effect: None,
    };
    submit(state, order).await
}

/// `template_id` if PixVerse lists it: else a `422` (or why it could not be checked).
async fn known_effect(state: &ApiState, user_id: i64, template_id: i64) -> Result<i64, Problem> {
    match find_effect(&state.storage, &state.pixverse, user_id, template_id).await {
        Ok(Some(template)) => Ok(template.template_id),
        Ok(None) => Err(Problem::invalid_field(
            "template_id",
            format!(
                "PixVerse lists no effect template {template_id}; the bot's /effects shows the ones there are."
            ),
        )),
        Err(EffectsError::NoApiKey) => Err(Problem::conflict(
            "An effect template needs a PixVerse Platform API key; a web login cannot use one.",
        )),
        Err(EffectsError::Pixverse(e)) => Err(Problem::bad_gateway(format!(
            "PixVerse's effect templates could not be read: {e}"
        ))),
        Err(EffectsError::Storage(e)) => Err(e.into()),
    }
}

/// Hands `order` to the service: the task's id, or the refusal as a problem.
pub(super) async fn submit(state: &ApiState, order: WorkOrder) -> Result<i64, Problem> {
    match state.service.accept(order).await {
        // Dropping `Accepted` wakes the worker: the task is stored, nothing else must exist first.
        Ok(accepted) => Ok(accepted.task_id),
        Err(AcceptError::Refused(refusal)) => Err(problem_of(&refusal)),
        Err(AcceptError::Storage(e)) => Err(e.into()),
    }
}

/// The request's fields over `defaults`, each checked with the chat flags' parsers and words.
pub(super) fn params_of(
    request: VideoRequest,
    defaults: GenerationParams,
) -> Result<(String, GenerationParams), Problem> {
    fn choice<T: Copy>(
        field: &str,
        value: Option<String>,
        parse: impl Fn(&str) -> Option<T>,
        choices: Vec<&'static str>,
    ) -> Result<Option<T>, Problem> {
        value
            .map(|v| {
                parse(&v).ok_or_else(|| {
                    field_problem(
                        field,
                        &ParamError::InvalidValue {
                            flag: field.to_owned(),
                            value: v.clone(),
                            accepted: choices.join(", "),
                        },
                    )
                })
            })
            .transpose()
    }
    let mut params = GenerationParams {
        // A saved seed would make every video the same; the service picks one when left out.
        seed: None,
        negative_prompt: None,
        style: None,
        ..defaults
    };
    if let Some(model) = choice("model", request.model, Model::parse, Model::choices())? {
        params.model = model;
    }
    if let Some(quality) = choice("quality", request.quality, Quality::parse, Quality::choices())? {
        params.quality = quality;
    }
    if let Some(ratio) = choice(
        "aspect_ratio",
        request.aspect_ratio,
        AspectRatio::parse,
        AspectRatio::choices(),
    )? {
        params.aspect_ratio = ratio;
    }
    if let Some(motion) = choice(
        "motion_mode",
        request.motion_mode,
        MotionMode::parse,
        MotionMode::choices(),
    )? {
        params.motion_mode = motion;
    }
    params.style = choice("style", request.style, Style::parse, Style::choices())?;
    if let Some(duration) = request.duration {
        if !(1..=15).contains(&duration) {
            return Err(field_problem(
                "duration",
                &ParamError::InvalidValue {
                    flag: "duration".into(),
                    value: duration.to_string(),
                    accepted: "1–15".into(),
                },
            ));
        }
        params.duration = duration;
    }
    if let Some(seed) = request.seed {
        if seed > MAX_SEED {
            return Err(field_problem(
                "seed",
                &ParamError::InvalidValue {
                    flag: "seed".into(),
                    value: seed.to_string(),
                    accepted: format!("0–{MAX_SEED}"),
                },
            ));
        }
        params.seed = Some(seed);
    }
    params.negative_prompt = request.negative_prompt.filter(|n| !n.trim().is_empty());
    if let Some(audio) = request.audio {
        params.audio = audio;
    }
    if let Some(sound) = request.sound_effect.filter(|s| !s.trim().is_empty()) {
        let checked = crate::domain::sound_description(&sound).map_err(|_| {
            field_problem(
                "sound_effect",
                &ParamError::InvalidValue {
                    flag: "sound_effect".into(),
                    value: sound.clone(),
                    accepted: format!("1–{} characters", crate::domain::MAX_SOUND_CHARS),
                },
            )
        })?;
        params.sound_effect = Some(checked);
    }
    Ok((request.prompt, params))
}

/// A 422 naming the field, in the chat flags' words.
fn field_problem(field: &str, error: &ParamError) -> Problem {
    Problem::invalid_field(field, texts(Lang::En).param_error(error))
}

/// The field a combination problem is about.
fn combination_field(problem: &ParamProblem) -> &'static str {
    match problem {
        ParamProblem::Duration { .. } => "duration",
        ParamProblem::AspectRatio { .. } => "aspect_ratio",
        ParamProblem::FastMotion => "motion_mode",
        ParamProblem::Audio { .. } => "audio",
    }
}

/// How the API words a refusal of the service.
fn problem_of(refusal: &Refusal) -> Problem {
    let en = texts(Lang::En);
    match refusal {
        Refusal::Banned => Problem::forbidden("This account is banned from generating videos."),
        Refusal::NotAllowed => Problem::forbidden(
            "The service admits only allowed users at the moment; ask its operator to allow this account.",
        ),
        Refusal::AnonymousSender => Problem::forbidden("This sender cannot be billed."),
        Refusal::Invalid { error, .. } => match error {
            RequestError::Prompt(PromptError::Empty) => {
                Problem::invalid_field("prompt", "The prompt must not be empty.")
            }
            RequestError::Prompt(PromptError::TooLong { chars }) => {
                Problem::invalid_field("prompt", en.prompt_too_long(*chars, MAX_PROMPT_CHARS))
            }
            RequestError::Param(ParamError::Combination(problem)) => field_problem(
                combination_field(problem),
                &ParamError::Combination(problem.clone()),
            ),
            RequestError::Param(
                ParamError::InvalidValue { flag, .. } | ParamError::MissingValue { flag },
            ) => field_problem(
                flag.trim_start_matches('-'),
                match error {
                    RequestError::Param(e) => e,
                    RequestError::Prompt(_) => unreachable!("matched above"),
                },
            ),
            RequestError::Param(e @ ParamError::UnknownFlag(_)) => field_problem("prompt", e),
        },
        Refusal::ImageMismatch { kind } => Problem::invalid_field(
            "image",
            match kind {
                TaskKind::I2v => "An image is required.",
                _ => "Only an image video takes an image.",
            },
        ),
        Refusal::ImageTooLarge { max_bytes } => Problem::payload_too_large(format!(
            "The image may have at most {} MB.",
            max_bytes / 1024 / 1024
        )),
        Refusal::TooManyInFlight { limit } => Problem::too_many_requests(
            "too-many-in-flight",
            "Too many videos in progress",
            format!("An account may have {limit} unfinished videos at once; wait for one to finish."),
            30,
        ),
        Refusal::HourlyLimit { limit, retry_in } => Problem::too_many_requests(
            "hourly-limit",
            "Hourly limit reached",
            format!(
                "An account may request {limit} videos per hour; the next place frees in {} min.",
                retry_in.as_secs().div_ceil(60)
            ),
            retry_in.as_secs(),
        ),
        Refusal::PoolQuota { limit, resets_in } => Problem::too_many_requests(
            "pool-quota",
            "Daily quota on the shared accounts used up",
            format!(
                "{limit} videos per day on the shared accounts; the quota resets at 00:00 UTC. Log in with your own PixVerse account (POST /v1/auth) to go on."
            ),
            resets_in.as_secs(),
        ),
        Refusal::NeedAccount => Problem::conflict(
            "There is no PixVerse account to generate with: log in with your own (POST /v1/auth).",
        ),
        Refusal::ReconnectAccount => Problem::conflict(
            "PixVerse no longer accepts this account's login; log in again with POST /v1/auth.",
        ),
        Refusal::Mode { .. }
        | Refusal::SourceNotFound { .. }
        | Refusal::SourceNotReady
        | Refusal::SourceOtherAccount
        | Refusal::NeedsApiKey { .. }
        | Refusal::PoolNeedsApiKey { .. }
        | Refusal::AudioTooLarge { .. } => super::modes::problem_of_mode(refusal),
    }
}

fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, Problem> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let key = value.to_str().ok().map(str::trim).unwrap_or_default();
    if key.is_empty() || key.len() > MAX_IDEMPOTENCY_KEY {
        return Err(Problem {
            field: Some("Idempotency-Key".into()),
            ..Problem::unprocessable(
                "invalid-idempotency-key",
                "The Idempotency-Key cannot be used",
                "An Idempotency-Key is 1–255 visible ASCII characters (a UUID, say).",
            )
        });
    }
    Ok(Some(key.to_owned()))
}

/// `202` with the video and its `Location`.
async fn accepted(state: &ApiState, task_id: i64, replayed: bool) -> Result<Response, Problem> {
    let task = state
        .storage
        .task(TaskId(task_id))
        .await?
        .ok_or_else(|| Problem::internal(&format!("task {task_id} vanished after it was accepted")))?;
    let mut response = (StatusCode::ACCEPTED, axum::Json(Video::of(&task)?)).into_response();
    let location = HeaderValue::from_str(&format!("/v1/videos/{task_id}")).expect("ASCII");
    response.headers_mut().insert(header::LOCATION, location);
    if replayed {
        response
            .headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    Ok(response)
}

/// The caller's task, or 404 (also for another user's task: its existence is not revealed).
async fn own_task(state: &ApiState, caller: Caller, id: i64) -> Result<TaskRow, Problem> {
    match state.storage.task(TaskId(id)).await? {
        Some(task) if task.user_id == UserId(caller.user_id) => Ok(task),
        _ => Err(Problem::not_found(format!("There is no video {id} of yours."))),
    }
}

/// One video: status, progress, and the URL once it succeeded.
#[utoipa::path(get, path = "/v1/videos/{id}", tag = "videos", security(("bearer" = [])),
    params(("id" = i64, Path, description = "The video's id")),
    responses(
        (status = 200, description = "The video", body = Video),
        (status = 401, description = "No or an unknown token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such video of the caller's", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Over the token's rate limit", body = Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
    ))]
async fn get_video(
    State(state): State<ApiState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<axum::Json<Video>, Problem> {
    Ok(axum::Json(Video::of(&own_task(&state, caller, id).await?)?))
}

/// Cancel a video that has not finished.
#[utoipa::path(delete, path = "/v1/videos/{id}", tag = "videos", security(("bearer" = [])),
    params(("id" = i64, Path, description = "The video's id")),
    responses(
        (status = 200, description = "Cancelled; the video object says so", body = Video),
        (status = 401, description = "No or an unknown token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such video of the caller's", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "It already finished (succeeded, failed or cancelled)", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Over the token's rate limit", body = Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
    ))]
async fn cancel(
    State(state): State<ApiState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<axum::Json<Video>, Problem> {
    own_task(&state, caller, id).await?;
    // Crash story: one conditional write; a worker step in flight for this task finds it final
    // and changes nothing (finished tasks never move back).
    if state
        .storage
        .cancel_task(TaskId(id), "cancelled by the API client")
        .await?
        .is_none()
    {
        return Err(Problem::conflict(format!(
            "Video {id} already finished; there is nothing to cancel."
        )));
    }
    // Its generation slot may have freed: the tasks waiting for it are due now.
    state.wake_worker.notify_one();
    tracing::info!(
        task_id = id,
        user_id = caller.user_id,
        "task cancelled through the API"
    );
    Ok(axum::Json(Video::of(&own_task(&state, caller, id).await?)?))
}

/// The caller's videos, newest first, a page at a time (chat and API requests alike).
#[utoipa::path(get, path = "/v1/videos", tag = "videos", security(("bearer" = [])),
    params(ListQuery),
    responses(
        (status = 200, description = "A page of videos", body = VideoPage),
        (status = 400, description = "`limit` or `before` is not a number", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No or an unknown token", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`limit` is outside 1–100", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Over the token's rate limit", body = Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
    ))]
async fn list(
    State(state): State<ApiState>,
    caller: Caller,
    Query(query): Query<ListQuery>,
) -> Result<axum::Json<VideoPage>, Problem> {
    let limit = query.limit.unwrap_or(20);
    if !(1..=100).contains(&limit) {
        return Err(Problem::invalid_field(
            "limit",
            format!("{limit} is not a valid value for limit. Accepted: 1–100."),
        ));
    }
    // One more than asked: whether there is a next page.
    let mut tasks = state
        .storage
        .tasks_of_user_page(caller.user_id, query.before, limit + 1)
        .await?;
    let more = tasks.len() as i64 > limit;
    tasks.truncate(limit as usize);
    let next_before = more.then(|| tasks.last().map(|t| t.id.0)).flatten();
    let videos = tasks.iter().map(Video::of).collect::<Result<_, _>>()?;
    Ok(axum::Json(VideoPage { videos, next_before }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_are_recognised_by_their_bytes_not_their_declared_type() {
        assert_eq!(sniff_image(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 0]), Some("image/jpeg"));
        assert_eq!(sniff_image(b"\x89PNG\r\n\x1a\n...."), Some("image/png"));
        assert_eq!(sniff_image(b"RIFF\0\0\0\0WEBPVP8 "), Some("image/webp"));
        assert_eq!(sniff_image(b"GIF89a"), None);
        assert_eq!(sniff_image(b"%PDF-1.7"), None);
    }

    #[test]
    fn a_bad_field_names_itself_and_what_is_accepted() {
        let request = VideoRequest {
            prompt: "a fox".into(),
            quality: Some("4k".into()),
            ..Default::default()
        };
        let problem = params_of(request, GenerationParams::default()).unwrap_err();
        assert_eq!(problem.field.as_deref(), Some("quality"));
        assert!(
            problem.detail.contains("360p, 540p, 720p, 1080p"),
            "{}",
            problem.detail
        );
    }
}
