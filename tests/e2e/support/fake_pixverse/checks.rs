//! Field checks as PixVerse answers them: missing (400011), wrong type (400013), invalid value
//! (400017), too long (400018/400019). A wrong type or a missing field is also a protocol
//! violation; an invalid value is the bot's input and only answered.

use serde_json::{Map, Value};

pub struct Reject {
    pub code: i64,
    pub message: String,
    /// Recorded as a protocol violation besides being answered.
    pub violation: bool,
}

pub type Check<T> = Result<T, Reject>;

pub fn missing(field: &str) -> Reject {
    Reject {
        code: 400011,
        message: format!("{field} is required"),
        violation: true,
    }
}

pub fn wrong_type(field: &str, what: &str) -> Reject {
    Reject {
        code: 400013,
        message: format!("{field} {what}"),
        violation: true,
    }
}

pub fn invalid(field: &str) -> Reject {
    Reject {
        code: 400017,
        message: format!("{field} is invalid"),
        violation: false,
    }
}

pub fn opt_str<'a>(body: &'a Map<String, Value>, field: &str) -> Check<Option<&'a str>> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(wrong_type(field, "must be a string")),
    }
}

pub fn req_str<'a>(body: &'a Map<String, Value>, field: &str) -> Check<&'a str> {
    opt_str(body, field)?.ok_or_else(|| missing(field))
}

/// Integers (ids included) must be JSON numbers: a numeric string is the classic mistake.
pub fn opt_int(body: &Map<String, Value>, field: &str) -> Check<Option<i64>> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_i64()
            .map(Some)
            .ok_or_else(|| wrong_type(field, "must be an integer")),
        Some(Value::String(_)) => Err(wrong_type(field, "sent as a string, not a number")),
        Some(_) => Err(wrong_type(field, "must be an integer")),
    }
}

pub fn req_int(body: &Map<String, Value>, field: &str) -> Check<i64> {
    opt_int(body, field)?.ok_or_else(|| missing(field))
}

pub fn opt_bool(body: &Map<String, Value>, field: &str) -> Check<Option<bool>> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(wrong_type(field, "must be a boolean")),
    }
}

/// What the fake keeps of a valid generation body.
pub struct Generation {
    pub prompt: String,
    pub model: String,
}

pub const MODELS: &[&str] = &["v3.5", "v4", "v4.5", "v5", "v5.5", "v5.6", "v6", "c1"];
pub const QUALITIES: &[&str] = &["360p", "540p", "720p", "1080p"];
pub const RATIOS: &[&str] = &["16:9", "4:3", "1:1", "3:4", "9:16"];
const WIDE_RATIOS: &[&str] = &["2:3", "3:2", "21:9"];
const STYLES: &[&str] = &["anime", "3d_animation", "clay", "comic", "cyberpunk"];

/// The generation fields common to both surfaces and both kinds (the spec's table).
pub fn generation(body: &Map<String, Value>, i2v: bool) -> Check<Generation> {
    let prompt = req_str(body, "prompt")?;
    let model = req_str(body, "model")?;
    if !MODELS.contains(&model) {
        return Err(invalid("model"));
    }
    let newer = matches!(model, "v5.5" | "v5.6" | "v6" | "c1");
    let wide_ratios_ok = matches!(model, "v6" | "c1");
    if prompt.trim().is_empty() {
        return Err(invalid("prompt"));
    }
    if prompt.chars().count() > if newer { 5000 } else { 2048 } {
        return Err(Reject {
            code: 400018,
            message: "prompt is too long".into(),
            violation: false,
        });
    }
    let duration = req_int(body, "duration")?;
    let quality = req_str(body, "quality")?;
    if !QUALITIES.contains(&quality) {
        return Err(invalid("quality"));
    }
    let full_hd = quality == "1080p";
    let duration_ok = match model {
        "v6" | "c1" => (1..=15).contains(&duration),
        "v5.5" | "v5.6" => matches!(duration, 5 | 8) || (duration == 10 && !full_hd),
        "v3.5" if full_hd => duration == 5,
        _ => matches!(duration, 5 | 8),
    };
    if !duration_ok {
        return Err(invalid("duration"));
    }
    match (opt_str(body, "aspect_ratio")?, i2v) {
        (Some(_), true) => {
            return Err(Reject {
                code: 400017,
                message: "aspect_ratio is not accepted for image-to-video".into(),
                violation: true,
            });
        }
        (None, false) => return Err(missing("aspect_ratio")),
        (Some(r), false) if !(RATIOS.contains(&r) || wide_ratios_ok && WIDE_RATIOS.contains(&r)) => {
            return Err(invalid("aspect_ratio"));
        }
        _ => {}
    }
    match opt_str(body, "motion_mode")? {
        None | Some("normal") => {}
        Some("fast") if duration == 5 && !full_hd => {}
        Some(_) => return Err(invalid("motion_mode")),
    }
    if opt_str(body, "negative_prompt")?.is_some_and(|n| n.chars().count() > 2048) {
        return Err(Reject {
            code: 400019,
            message: "negative_prompt is too long".into(),
            violation: false,
        });
    }
    if opt_int(body, "seed")?.is_some_and(|s| !(0..=2_147_483_647).contains(&s)) {
        return Err(invalid("seed"));
    }
    if opt_str(body, "style")?.is_some_and(|s| !STYLES.contains(&s)) {
        return Err(invalid("style"));
    }
    if opt_bool(body, "generate_audio_switch")?.is_some() && !newer {
        return Err(invalid("generate_audio_switch"));
    }
    opt_bool(body, "water_mark")?;
    Ok(Generation {
        prompt: prompt.to_owned(),
        model: model.to_owned(),
    })
}
