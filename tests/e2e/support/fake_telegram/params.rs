//! Request parameters, whatever the encoding (query, JSON, url-encoded, multipart): decoded to
//! one JSON object so a parameter looks the same whichever encoding teloxide chose.

use std::collections::HashMap;

use axum::{
    Form,
    body::Bytes,
    extract::{FromRequest, Multipart, Query, Request},
    http::{Method, header},
};
use serde_json::{Map, Value, json};

use super::ApiErr;

/// A file part of a multipart request.
pub(super) struct Upload {
    /// The parameter it belongs to (resolved through `attach://`).
    pub(super) field: String,
    pub(super) file_name: String,
    pub(super) bytes: Bytes,
}

/// Parameters that hold integers; url-encoded and multipart bodies send them as text.
pub(super) const INT_PARAMS: &[&str] = &[
    "chat_id",
    "message_id",
    "reply_to_message_id",
    "message_thread_id",
    "from_chat_id",
    "user_id",
    "offset",
    "limit",
    "timeout",
    "duration",
    "width",
    "height",
    "cache_time",
];
pub(super) const BOOL_PARAMS: &[&str] = &[
    "supports_streaming",
    "disable_notification",
    "protect_content",
    "has_spoiler",
    "show_alert",
    "show_caption_above_media",
    "disable_content_type_detection",
    "drop_pending_updates",
    "allow_sending_without_reply",
];

/// A text field as JSON: objects/arrays are decoded, known integer/bool params converted.
pub(super) fn decode_text_value(key: &str, value: &str) -> Value {
    let trimmed = value.trim_start();
    if (trimmed.starts_with('{') || trimmed.starts_with('['))
        && let Ok(v) = serde_json::from_str(value)
    {
        return v;
    }
    if INT_PARAMS.contains(&key)
        && let Ok(n) = value.parse::<i64>()
    {
        return json!(n);
    }
    if BOOL_PARAMS.contains(&key)
        && let Ok(b) = value.parse::<bool>()
    {
        return json!(b);
    }
    json!(value)
}

/// JSON bodies may still carry JSON-in-a-string fields (other clients do that); decode them.
pub(super) fn normalize_json_params(params: &mut Map<String, Value>) {
    for (key, value) in params.iter_mut() {
        if let Value::String(s) = value {
            let decoded = decode_text_value(key, s);
            if !decoded.is_string() {
                *value = decoded;
            }
        }
    }
}

pub(super) fn param_i64(p: &Map<String, Value>, key: &str) -> Option<i64> {
    match p.get(key)? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

pub(super) fn param_str<'a>(p: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    p.get(key)?.as_str()
}

pub(super) fn param_bool(p: &Map<String, Value>, key: &str) -> bool {
    match p.get(key) {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s == "true",
        _ => false,
    }
}

/// Reads the parameters and file parts of a request, whatever its encoding.
pub(super) async fn read_params(req: Request) -> Result<(Map<String, Value>, Vec<Upload>), ApiErr> {
    let bad = |e: String| ApiErr::bad_request(&format!("can't parse request: {e}"));
    if req.method() == Method::GET {
        let Query(pairs) =
            Query::<Vec<(String, String)>>::try_from_uri(req.uri()).map_err(|e| bad(e.to_string()))?;
        return Ok((
            pairs
                .into_iter()
                .map(|(k, v)| (k.clone(), decode_text_value(&k, &v)))
                .collect(),
            Vec::new(),
        ));
    }
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    if content_type.starts_with("multipart/form-data") {
        let mut multipart = Multipart::from_request(req, &())
            .await
            .map_err(|e| bad(e.to_string()))?;
        let mut parts = Vec::new();
        while let Some(field) = multipart.next_field().await.map_err(|e| bad(e.to_string()))? {
            let name = field.name().unwrap_or_default().to_owned();
            let file_name = field.file_name().map(str::to_owned);
            let bytes = field.bytes().await.map_err(|e| bad(e.to_string()))?;
            parts.push((name, file_name, bytes));
        }
        // teloxide sends `video=attach://<id>` plus a part named `<id>`.
        let attached: HashMap<String, String> = parts
            .iter()
            .filter(|(_, file_name, _)| file_name.is_none())
            .filter_map(|(name, _, bytes)| {
                let value = std::str::from_utf8(bytes).ok()?;
                Some((value.strip_prefix("attach://")?.to_owned(), name.clone()))
            })
            .collect();
        let mut params = Map::new();
        let mut uploads = Vec::new();
        for (name, file_name, bytes) in parts {
            if file_name.is_some() || attached.contains_key(&name) {
                let field = attached.get(&name).cloned().unwrap_or(name);
                uploads.push(Upload {
                    field,
                    file_name: file_name.unwrap_or_default(),
                    bytes,
                });
            } else {
                let value = String::from_utf8_lossy(&bytes);
                params.insert(name.clone(), decode_text_value(&name, &value));
            }
        }
        return Ok((params, uploads));
    }
    if content_type.starts_with("application/x-www-form-urlencoded") {
        let Form(pairs) = Form::<Vec<(String, String)>>::from_request(req, &())
            .await
            .map_err(|e| bad(e.to_string()))?;
        return Ok((
            pairs
                .into_iter()
                .map(|(k, v)| (k.clone(), decode_text_value(&k, &v)))
                .collect(),
            Vec::new(),
        ));
    }
    let body = Bytes::from_request(req, &())
        .await
        .map_err(|e| bad(e.to_string()))?;
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok((Map::new(), Vec::new()));
    }
    let mut params: Map<String, Value> = serde_json::from_slice(&body).map_err(|e| bad(e.to_string()))?;
    normalize_json_params(&mut params);
    Ok((params, Vec::new()))
}
