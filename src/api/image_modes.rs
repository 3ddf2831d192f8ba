//! `POST /v1/videos/transition` and `POST /v1/videos/fusion`: PixVerse's modes made from
//! uploaded images (multipart), accepted as the other modes are (`super::modes`) and answered
//! with the same video object. They need a PixVerse Platform API key.

use axum::{
    extract::{DefaultBodyLimit, Multipart, State, multipart::MultipartRejection},
    http::HeaderMap,
    response::Response,
};
use serde_json::{Map, Value};
use utoipa::ToSchema;
use utoipa_axum::{
    router::{OpenApiRouter, UtoipaMethodRouterExt},
    routes,
};

use super::{
    ApiState, Caller,
    problem::Problem,
    videos::{Image, create, form_request, params_of, read_form, request_hash, submit},
};
use crate::{
    domain::{MAX_FUSION_REFERENCES, ReferenceRole},
    service::{Destination, FusionRef, ImageSource, MAX_IMAGE_BYTES, ModeOrder, Spec, WorkOrder},
};

/// Room for the form fields beside three 20 MB images.
const FORM_LIMIT: usize = MAX_FUSION_REFERENCES * MAX_IMAGE_BYTES as usize + 1024 * 1024;

pub fn routes() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new()
        .routes(routes!(transition).layer(DefaultBodyLimit::max(FORM_LIMIT)))
        .routes(routes!(fusion).layer(DefaultBodyLimit::max(FORM_LIMIT)))
}

/// The multipart form of `POST /v1/videos/transition`.
#[derive(ToSchema)]
#[allow(dead_code)] // Documentation only: the handler reads the parts one by one.
pub struct TransitionForm {
    /// The first frame: JPEG, PNG or WebP, at most 20 MB.
    #[schema(value_type = String, format = Binary)]
    first_image: Vec<u8>,
    /// The last frame.
    #[schema(value_type = String, format = Binary)]
    last_image: Vec<u8>,
    /// What happens between them (at most 2,048 characters).
    prompt: String,
    model: Option<String>,
    duration: Option<u32>,
    quality: Option<String>,
    motion_mode: Option<String>,
    seed: Option<u32>,
    negative_prompt: Option<String>,
}

/// The multipart form of `POST /v1/videos/fusion`.
#[derive(ToSchema)]
#[allow(dead_code)] // Documentation only: the handler reads the parts one by one.
pub struct FusionForm {
    /// One to three `image` parts (JPEG, PNG or WebP, at most 20 MB each), in the order `refs`
    /// names them.
    #[schema(value_type = Vec<String>, format = Binary)]
    image: Vec<Vec<u8>>,
    /// The images' names, comma-separated, in order (`cat,beach`): 1–30 letters, digits, `_`
    /// or spaces each, all different.
    #[schema(example = "cat,beach")]
    refs: String,
    /// The name of the image that is the background (the others are subjects).
    #[schema(example = "beach")]
    background: Option<String>,
    /// Names every image as `@name`.
    #[schema(example = "@cat naps on @beach at sunset")]
    prompt: String,
    model: Option<String>,
    duration: Option<u32>,
    quality: Option<String>,
    aspect_ratio: Option<String>,
    seed: Option<u32>,
    negative_prompt: Option<String>,
}

/// Start a video from one image to another.
///
/// `multipart/form-data` with `first_image` and `last_image` parts and the prompt (the other
/// fields of `POST /v1/videos/text` as parts, without `aspect_ratio`, `style` and `audio`).
#[utoipa::path(post, path = "/v1/videos/transition", tag = "videos", security(("bearer" = [])),
    request_body(content = TransitionForm, content_type = "multipart/form-data"),
    params(("Idempotency-Key" = Option<String>, Header, description = "Up to 255 characters; the same key and body within 24 h return the same video")),
    responses(
        (status = 202, description = "Queued", body = super::videos::Video, headers(("Location" = String, description = "/v1/videos/{id}"))),
        (status = 400, description = "The form cannot be read", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No or an unknown token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Banned, or not admitted in allowlist mode", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The account is a web login (transition needs an API key), or there is no account to generate with", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "An image is over 20 MB", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not multipart, or an image is not JPEG, PNG or WebP", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "An image is missing, or a field or combination cannot be used", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Over the token's rate limit, the tasks in flight, the hourly limit or the daily pool quota", body = Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
    ))]
async fn transition(
    State(state): State<ApiState>,
    caller: Caller,
    headers: HeaderMap,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Response, Problem> {
    let (fields, mut images) = read_images(multipart, &["first_image", "last_image"], "transition").await?;
    refuse_fields(&fields, &["aspect_ratio", "style", "audio"], "a transition")?;
    let request = form_request(fields)?;
    let first = take_image(&mut images, "first_image")?;
    let last = take_image(&mut images, "last_image")?;
    let hash = request_hash("transition", &request, &[&first, &last]);
    let work = async {
        let (prompt, params) = params_of(request, state.storage.settings_of(caller.user_id).await?)?;
        let mode = ModeOrder::Transition {
            first: uploaded(first),
            last: uploaded(last),
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

/// Start a video that combines up to three named images.
///
/// `multipart/form-data` with one to three `image` parts, `refs` naming them in order, the
/// `prompt` naming each as `@name`, optionally `background` (the name of the background image;
/// the others are subjects), and the other fields of `POST /v1/videos/text` as parts (without
/// `style`, `motion_mode` and `audio`).
#[utoipa::path(post, path = "/v1/videos/fusion", tag = "videos", security(("bearer" = [])),
    request_body(content = FusionForm, content_type = "multipart/form-data"),
    params(("Idempotency-Key" = Option<String>, Header, description = "Up to 255 characters; the same key and body within 24 h return the same video")),
    responses(
        (status = 202, description = "Queued", body = super::videos::Video, headers(("Location" = String, description = "/v1/videos/{id}"))),
        (status = 400, description = "The form cannot be read", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No or an unknown token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Banned, or not admitted in allowlist mode", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The account is a web login (fusion needs an API key), or there is no account to generate with", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "An image is over 20 MB", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not multipart, or an image is not JPEG, PNG or WebP", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Images and names do not match (`refs`), the prompt does not name each image, or a field or combination cannot be used", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Over the token's rate limit, the tasks in flight, the hourly limit or the daily pool quota", body = Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
    ))]
async fn fusion(
    State(state): State<ApiState>,
    caller: Caller,
    headers: HeaderMap,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Response, Problem> {
    let (mut fields, images) = read_images(multipart, &["image"], "fusion").await?;
    let refs = take_text(&mut fields, "refs")
        .ok_or_else(|| Problem::invalid_field("refs", "Name each image, in order: refs=cat,beach."))?;
    let background = take_text(&mut fields, "background");
    refuse_fields(&fields, &["style", "motion_mode", "audio"], "a fusion")?;
    let request = form_request(fields)?;
    let names: Vec<String> = refs.split(',').map(|n| n.trim().to_owned()).collect();
    if images.is_empty() || images.len() > MAX_FUSION_REFERENCES {
        return Err(Problem::invalid_field(
            "image",
            format!(
                "Send 1 to {MAX_FUSION_REFERENCES} `image` parts, not {}.",
                images.len()
            ),
        ));
    }
    if names.len() != images.len() {
        return Err(Problem::invalid_field(
            "refs",
            format!(
                "{} images and {} names: name each image once, in order (refs=cat,beach).",
                images.len(),
                names.len()
            ),
        ));
    }
    if let Some(background) = &background
        && !names.contains(background)
    {
        return Err(Problem::invalid_field(
            "background",
            format!("{background} is none of the names in refs ({refs})."),
        ));
    }
    let hashed: Vec<&Image> = images.iter().map(|(_, image)| image).collect();
    let hash = request_hash("fusion", &(&request, &refs, &background), &hashed);
    let references: Vec<FusionRef> = names
        .into_iter()
        .zip(images)
        .map(|(name, (_, image))| FusionRef {
            role: if background.as_ref() == Some(&name) {
                ReferenceRole::Background
            } else {
                ReferenceRole::Subject
            },
            name,
            image: uploaded(image),
        })
        .collect();
    let work = async {
        let (prompt, params) = params_of(request, state.storage.settings_of(caller.user_id).await?)?;
        let spec = Spec::Given { prompt, params };
        let mode = ModeOrder::Fusion { references };
        submit(
            &state,
            WorkOrder::mode(caller.user_id, Destination::Api, spec, mode),
        )
        .await
    };
    create(&state, caller, &headers, hash, work).await
}

/// The form's text fields and its images among `image_parts`, in the order they came.
async fn read_images(
    multipart: Result<Multipart, MultipartRejection>,
    image_parts: &[&str],
    mode: &str,
) -> Result<(Map<String, Value>, Vec<(String, Image)>), Problem> {
    let multipart = multipart.map_err(|e| {
        Problem::unsupported_media(format!(
            "{}; send multipart/form-data with the images and the prompt of the {mode}",
            e.body_text()
        ))
    })?;
    read_form(multipart, image_parts).await
}

/// The image part `name`, taken out of `images`.
fn take_image(images: &mut Vec<(String, Image)>, name: &str) -> Result<Image, Problem> {
    let at = images
        .iter()
        .position(|(part, _)| part == name)
        .ok_or_else(|| Problem::invalid_field(name, format!("The `{name}` part is missing.")))?;
    Ok(images.remove(at).1)
}

/// A text field taken out of `fields` (blank counts as absent).
fn take_text(fields: &mut Map<String, Value>, name: &str) -> Option<String> {
    match fields.remove(name) {
        Some(Value::String(text)) if !text.trim().is_empty() => Some(text.trim().to_owned()),
        _ => None,
    }
}

/// A 422 for a field this mode does not use.
fn refuse_fields(fields: &Map<String, Value>, unused: &[&str], mode: &str) -> Result<(), Problem> {
    match unused.iter().find(|name| fields.contains_key(**name)) {
        Some(name) => Err(Problem::invalid_field(name, format!("{mode} takes no `{name}`."))),
        None => Ok(()),
    }
}

fn uploaded(image: Image) -> ImageSource {
    ImageSource::Uploaded {
        content_type: image.content_type.to_owned(),
        bytes: image.bytes,
    }
}
