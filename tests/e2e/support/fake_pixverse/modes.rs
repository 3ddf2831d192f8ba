//! The Platform API's further modes (/work/shared/pixverse-api.md, "More generation modes"):
//! transition, extend, fusion, lip-sync and sound effect start a video like t2v (charged, walked
//! through its statuses); media uploads, TTS voices and effect templates. Each body is checked as
//! generate's is: field types, required fields, and the documented combinations. A combination
//! the client's types cannot express (two videos, audio and speech, an unnamed reference) is a
//! protocol violation; a valid shape naming the wrong thing (an audio as the video) is only
//! refused, as it is the user's input.

use serde_json::{Map, Value, json};

use super::checks::{self, Check, Reject, invalid, missing, opt_bool, opt_int, opt_str, req_int, req_str};
use super::{Answer, ImageField, Incoming, State};

/// A file `/media/upload` took.
pub struct Media {
    pub account: String,
    pub kind: MediaKind,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MediaKind {
    Video,
    Audio,
}

const SUBMITS: &[&str] = &[
    "/openapi/v2/video/transition/generate",
    "/openapi/v2/video/extend/generate",
    "/openapi/v2/video/fusion/generate",
    "/openapi/v2/video/lip_sync/generate",
    "/openapi/v2/video/sound_effect/generate",
];

/// The voices both listings answer (the newer one in its own shape).
const VOICES: &[(&str, &str)] = &[("1", "Auto"), ("Emily", "Emily"), ("James", "James")];
/// The effect templates, three pages of twenty-ish.
const TEMPLATE_COUNT: i64 = 45;
const FIRST_TEMPLATE_ID: i64 = 315_000_000_000_000_001;

pub fn is_submit(path: &str) -> bool {
    SUBMITS.contains(&path)
}

/// The routes of this file, after `API-KEY` was checked; `rest` follows `/openapi/v2/`.
pub fn route(
    s: &mut State,
    request: &Incoming<'_>,
    key: &str,
    rest: &str,
    file: Option<ImageField>,
) -> Answer {
    match (request.method.as_str(), rest) {
        ("POST", "media/upload") => upload(s, request, key, file),
        ("GET", "video/lip_sync/tts_list") => Answer::ok(json!({
            "total": VOICES.len(),
            "data": VOICES.iter().map(|(id, name)| json!({ "speaker_id": id, "name": name })).collect::<Vec<_>>(),
        })),
        ("GET", "video/tts_speaker") => Answer::ok(json!({
            "total": VOICES.len(),
            "list": VOICES.iter().map(|(id, name)| json!({ "speaker_id": id, "speaker_name": name, "source": "third_party" })).collect::<Vec<_>>(),
        })),
        ("GET", "video/effects/templates/list") => templates(request),
        ("POST", _) if is_submit(&format!("/openapi/v2/{rest}")) => {
            let body = match request.json_object(s) {
                Ok(body) => body,
                Err(answer) => return answer,
            };
            match check(s, key, rest, &body) {
                Ok((kind, params, source)) => start(s, key, kind, params, source),
                Err(reject) => s.reject(request, reject),
            }
        }
        _ => Answer::not_found(),
    }
}

/// Whether PixVerse lists this template (i2v's `template_id` must be one).
pub fn is_template(template_id: i64) -> bool {
    (FIRST_TEMPLATE_ID..FIRST_TEMPLATE_ID + TEMPLATE_COUNT).contains(&template_id)
}

/// One page (`page` from 1, `pageSize` of them) of the templates. They carry their ids in both
/// forms PixVerse is reported to use (number and string).
fn templates(request: &Incoming<'_>) -> Answer {
    let number = |name: &str, default: i64| {
        request
            .query_param(name)
            .and_then(|v| v.parse::<i64>().ok())
            .filter(|n| *n > 0)
            .unwrap_or(default)
    };
    let (page, size) = (number("page", 1), number("pageSize", 20));
    let list: Vec<Value> = (0..TEMPLATE_COUNT)
        .skip(((page - 1) * size) as usize)
        .take(size as usize)
        .map(|i| {
            let id = FIRST_TEMPLATE_ID + i;
            if i % 2 == 0 {
                json!({ "template_id": id, "display_name": format!("Effect {i}") })
            } else {
                json!({ "template_id": id.to_string(), "template_name": format!("Effect {i}") })
            }
        })
        .collect();
    Answer::ok(json!({ "total": TEMPLATE_COUNT, "list": list }))
}

fn upload(s: &mut State, request: &Incoming<'_>, key: &str, file: Option<ImageField>) -> Answer {
    let (_name, content_type, bytes) = match file.unwrap_or_else(|| Err("no multipart body".into())) {
        Ok(file) => file,
        Err(why) => {
            s.violation(request, &format!("media upload: {why}"));
            return Answer::err(400011, "file is required");
        }
    };
    let kind = if content_type.starts_with("video/") {
        MediaKind::Video
    } else if content_type.starts_with("audio/") {
        MediaKind::Audio
    } else {
        return Answer::err(500032, "unsupported media format");
    };
    if bytes.is_empty() {
        return Answer::err(400017, "file is empty");
    }
    let media_id = s.next_image_id;
    s.next_image_id += 1;
    s.media.insert(
        media_id,
        Media {
            account: key.to_owned(),
            kind,
        },
    );
    let media_type = if kind == MediaKind::Video {
        "video"
    } else {
        "audio"
    };
    s.uploaded.push((format!("media:{media_id}"), bytes.len()));
    Answer::ok(json!({
        "media_id": media_id,
        "media_type": media_type,
        "url": format!("{}/media/upload/{media_id}", s.base_url),
    }))
}

/// The valid body's kind, prompt and model (for the recorded video) and its source.
type Checked = (&'static str, checks::Generation, Option<String>);

fn check(s: &State, key: &str, rest: &str, body: &Map<String, Value>) -> Check<Checked> {
    match rest {
        "video/transition/generate" => {
            let params = prompted(body)?;
            let first = own_image(s, key, req_int(body, "first_frame_img")?)?;
            let last = own_image(s, key, req_int(body, "last_frame_img")?)?;
            opt_str(body, "motion_mode")?;
            sound_pair(body)?;
            Ok(("transition", params, Some(format!("{first}>{last}"))))
        }
        "video/extend/generate" => {
            let params = prompted(body)?;
            opt_str(body, "motion_mode")?;
            opt_str(body, "style")?;
            let source = video_source(s, key, body)?;
            Ok(("extend", params, Some(source)))
        }
        "video/fusion/generate" => {
            let params = prompted(body)?;
            let ratio = req_str(body, "aspect_ratio")?;
            if !checks::RATIOS.contains(&ratio) {
                return Err(invalid("aspect_ratio"));
            }
            let names = references(s, key, body, &params)?;
            Ok(("fusion", params, Some(names)))
        }
        "video/lip_sync/generate" => {
            let audio = opt_int(body, "audio_media_id")?;
            let speaker = opt_str(body, "lip_sync_tts_speaker_id")?;
            let content = opt_str(body, "lip_sync_tts_content")?;
            let spoken = match (audio, speaker, content) {
                (Some(id), None, None) => {
                    own_media(s, key, id, MediaKind::Audio, "audio_media_id")?;
                    format!("audio {id}")
                }
                (None, Some(speaker), Some(text)) => {
                    // `Auto` lets PixVerse choose (the web app sends it with every video).
                    if speaker != "Auto" && !VOICES.iter().any(|(id, _)| *id == speaker) {
                        return Err(invalid("lip_sync_tts_speaker_id"));
                    }
                    if text.trim().is_empty() || text.chars().count() > 200 {
                        return Err(violation(
                            400018,
                            "lip_sync_tts_content must have 1 to 200 characters",
                        ));
                    }
                    text.to_owned()
                }
                (None, None, None) => return Err(missing("audio_media_id or lip_sync_tts_speaker_id")),
                _ => {
                    return Err(violation(
                        400017,
                        "send audio_media_id, or both lip_sync_tts_speaker_id and lip_sync_tts_content",
                    ));
                }
            };
            let source = video_source(s, key, body)?;
            Ok(("lip_sync", generation(spoken, "lip_sync"), Some(source)))
        }
        "video/sound_effect/generate" => {
            let content = req_str(body, "sound_effect_content")?;
            if content.trim().is_empty() || content.chars().count() > 2048 {
                return Err(violation(
                    400018,
                    "sound_effect_content must have 1 to 2048 characters",
                ));
            }
            opt_bool(body, "original_sound_switch")?;
            seed(body)?;
            let source = video_source(s, key, body)?;
            Ok((
                "sound_effect",
                generation(content.to_owned(), "sound_effect"),
                Some(source),
            ))
        }
        other => unreachable!("not a mode submit: {other}"),
    }
}

/// Starts the video (credits and concurrency as for t2v), then records its kind.
fn start(s: &mut State, key: &str, kind: &str, params: checks::Generation, source: Option<String>) -> Answer {
    let before = s.videos.len();
    let answer = s.start_video(key, false, params, source);
    if s.videos.len() > before
        && let Some(video) = s.videos.last_mut()
    {
        video.public.kind = kind.to_owned();
    }
    answer
}

fn generation(prompt: String, model: &str) -> checks::Generation {
    checks::Generation {
        prompt,
        model: model.to_owned(),
    }
}

fn violation(code: i64, message: &str) -> Reject {
    Reject {
        code,
        message: message.to_owned(),
        violation: true,
    }
}

/// prompt, model, duration, quality, negative_prompt, seed: the fields the prompted modes share.
fn prompted(body: &Map<String, Value>) -> Check<checks::Generation> {
    let prompt = req_str(body, "prompt")?;
    if prompt.trim().is_empty() {
        return Err(invalid("prompt"));
    }
    if prompt.chars().count() > 2048 {
        return Err(Reject {
            code: 400018,
            message: "prompt is too long".into(),
            violation: false,
        });
    }
    let model = req_str(body, "model")?;
    if !checks::MODELS.contains(&model) {
        return Err(invalid("model"));
    }
    let duration = req_int(body, "duration")?;
    let duration_ok = match model {
        "v6" | "c1" => (1..=15).contains(&duration),
        _ => matches!(duration, 5 | 8),
    };
    if !duration_ok {
        return Err(invalid("duration"));
    }
    if !checks::QUALITIES.contains(&req_str(body, "quality")?) {
        return Err(invalid("quality"));
    }
    opt_str(body, "negative_prompt")?;
    seed(body)?;
    Ok(generation(prompt.to_owned(), model))
}

fn seed(body: &Map<String, Value>) -> Check<()> {
    if opt_int(body, "seed")?.is_some_and(|s| !(0..=2_147_483_647).contains(&s)) {
        return Err(invalid("seed"));
    }
    Ok(())
}

/// `sound_effect_content` only with `sound_effect_switch: true`.
pub fn sound_pair(body: &Map<String, Value>) -> Check<()> {
    match (
        opt_bool(body, "sound_effect_switch")?,
        opt_str(body, "sound_effect_content")?,
    ) {
        (Some(true), Some(content)) if content.chars().count() > 2048 => {
            Err(violation(400018, "sound_effect_content is too long"))
        }
        (Some(false) | None, Some(_)) => Err(violation(
            400017,
            "sound_effect_content without sound_effect_switch: true",
        )),
        _ => Ok(()),
    }
}

/// Exactly one of `source_video_id` (a finished video of this account) and `video_media_id`
/// (an uploaded video of this account). Returns how the fake records it.
fn video_source(s: &State, key: &str, body: &Map<String, Value>) -> Check<String> {
    match (
        opt_int(body, "source_video_id")?,
        opt_int(body, "video_media_id")?,
    ) {
        (Some(id), None) => {
            let finished = s
                .videos
                .iter()
                .any(|v| v.public.id == id && v.public.account == key && v.ready());
            if !finished {
                return Err(Reject {
                    code: 400017,
                    message: "source video not found or not finished".into(),
                    violation: false,
                });
            }
            Ok(format!("video {id}"))
        }
        (None, Some(id)) => {
            own_media(s, key, id, MediaKind::Video, "video_media_id")?;
            Ok(format!("media {id}"))
        }
        (None, None) => Err(missing("source_video_id or video_media_id")),
        (Some(_), Some(_)) => Err(violation(
            400017,
            "send source_video_id or video_media_id, not both",
        )),
    }
}

fn own_image(s: &State, key: &str, img_id: i64) -> Check<i64> {
    if s.platform_images.get(&img_id).map(String::as_str) == Some(key) {
        Ok(img_id)
    } else {
        Err(Reject {
            code: 400032,
            message: "invalid image id".into(),
            violation: false,
        })
    }
}

fn own_media(s: &State, key: &str, id: i64, kind: MediaKind, field: &str) -> Check<()> {
    match s.media.get(&id) {
        Some(media) if media.account == key && media.kind == kind => Ok(()),
        Some(media) if media.account == key => Err(Reject {
            code: 400017,
            message: format!("{field} is a {:?} file, not a {kind:?} file", media.kind),
            violation: false,
        }),
        _ => Err(invalid(field)),
    }
}

/// `image_references`: 1–3 objects of `type`, `img_id`, `ref_name`, names unique and each in
/// the prompt as `@name`. Returns the names, in order.
fn references(s: &State, key: &str, body: &Map<String, Value>, params: &checks::Generation) -> Check<String> {
    let Some(value) = body.get("image_references") else {
        return Err(missing("image_references"));
    };
    let Some(items) = value.as_array() else {
        return Err(checks::wrong_type("image_references", "must be an array"));
    };
    if items.is_empty() || (params.model == "v4.5" && items.len() > 3) {
        return Err(violation(
            400017,
            "image_references must hold 1 to 3 references on v4.5",
        ));
    }
    let mut names: Vec<&str> = Vec::new();
    for item in items {
        let Some(item) = item.as_object() else {
            return Err(checks::wrong_type("image_references[]", "must be an object"));
        };
        if !matches!(req_str(item, "type")?, "subject" | "background") {
            return Err(violation(
                400017,
                "image_references[].type must be subject or background",
            ));
        }
        own_image(s, key, req_int(item, "img_id")?)?;
        let name = req_str(item, "ref_name")?;
        let plain = name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ' ');
        if name.trim().is_empty() || name.chars().count() > 30 || !plain {
            return Err(violation(400017, &format!("ref_name {name:?} is invalid")));
        }
        if names.contains(&name) {
            return Err(violation(400017, &format!("ref_name {name:?} is used twice")));
        }
        if !params.prompt.contains(&format!("@{name}")) {
            return Err(violation(400017, &format!("the prompt does not name @{name}")));
        }
        names.push(name);
    }
    Ok(names.join(","))
}
