//! `/openapi/v2/*`: the Platform API, authenticated by `API-KEY`.

use serde_json::json;

use super::checks::{self, Reject};
use super::{Answer, ImageField, Incoming, State};

pub fn route(s: &mut State, request: &Incoming<'_>, rest: &str, image: Option<ImageField>) -> Answer {
    let key = match request.header("api-key") {
        None => {
            s.violation(request, "platform call without API-KEY");
            return Answer::err(10004, "API key is empty");
        }
        Some(key) if !s.api_keys.contains(key) => return Answer::err(10004, "API key is invalid"),
        Some(key) => key.to_owned(),
    };
    let method = request.method.as_str();
    match (method, rest) {
        ("POST", "image/upload") => upload(s, request, &key, image),
        ("POST", "video/text/generate") => generate(s, request, &key, false),
        ("POST", "video/img/generate") => generate(s, request, &key, true),
        ("GET", "account/balance") => {
            let account = &s.accounts[&key];
            Answer::ok(
                json!({ "account_id": account.id, "credit_monthly": account.credits, "credit_package": 0 }),
            )
        }
        ("GET", _) if rest.starts_with("video/result/") => result(s, &key, &rest["video/result/".len()..]),
        _ => super::modes::route(s, request, &key, rest, image),
    }
}

impl State {
    pub(super) fn reject(&mut self, request: &Incoming<'_>, reject: Reject) -> Answer {
        if reject.violation {
            self.violation(request, &reject.message);
        }
        Answer::err(reject.code, &reject.message)
    }
}

fn upload(s: &mut State, request: &Incoming<'_>, key: &str, image: Option<ImageField>) -> Answer {
    let (name, content_type, bytes) = match image.unwrap_or_else(|| Err("no multipart body".into())) {
        Ok(image) => image,
        Err(why) => {
            s.violation(request, &format!("image upload: {why}"));
            return Answer::err(400011, "image is required");
        }
    };
    let ext_ok = [".jpg", ".jpeg", ".png", ".webp"]
        .iter()
        .any(|e| name.to_ascii_lowercase().ends_with(e));
    let type_ok = matches!(content_type.as_str(), "image/jpeg" | "image/png" | "image/webp");
    if !ext_ok || !type_ok {
        return Answer::err(500032, "unsupported image format");
    }
    if bytes.len() >= 20 << 20 {
        return Answer::err(500030, "image too large");
    }
    let img_id = s.next_image_id;
    s.next_image_id += 1;
    s.platform_images.insert(img_id, key.to_owned());
    s.uploaded.push((img_id.to_string(), bytes.len()));
    Answer::ok(json!({ "img_id": img_id, "img_url": format!("{}/media/img/{img_id}", s.base_url) }))
}

fn generate(s: &mut State, request: &Incoming<'_>, key: &str, i2v: bool) -> Answer {
    let body = match request.json_object(s) {
        Ok(body) => body,
        Err(answer) => return answer,
    };
    let params = match checks::generation(&body, i2v).and_then(|params| {
        // t2v and i2v take a described sound too (`--sfx`), as transition does.
        super::modes::sound_pair(&body).map(|()| params)
    }) {
        Ok(params) => params,
        Err(reject) => return s.reject(request, reject),
    };
    let image = if i2v {
        let img_id = match checks::req_int(&body, "img_id") {
            Ok(id) => id,
            Err(reject) => return s.reject(request, reject),
        };
        if s.platform_images.get(&img_id).map(String::as_str) != Some(key) {
            return Answer::err(400032, "invalid image id");
        }
        match checks::opt_int(&body, "template_id") {
            Ok(Some(template_id)) if !super::modes::is_template(template_id) => {
                return Answer::err(400017, "invalid template_id");
            }
            Ok(_) => {}
            Err(reject) => return s.reject(request, reject),
        }
        Some(img_id.to_string())
    } else {
        None
    };
    s.start_video(key, false, params, image)
}

fn result(s: &mut State, key: &str, id: &str) -> Answer {
    let Ok(id) = id.parse::<i64>() else {
        return Answer::err(400013, "video id must be an integer");
    };
    match s
        .videos
        .iter()
        .position(|v| v.public.id == id && v.public.account == key)
    {
        Some(index) => Answer::ok(s.observe(index, false)),
        None => Answer::err(400017, "video not found"),
    }
}
