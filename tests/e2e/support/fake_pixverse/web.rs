//! `/creative_platform/*`: the web-app API, authenticated by a JWT in `Token`.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::Rng as _;
use serde_json::{Value, json};

use super::checks::{self, Check};
use super::{Answer, Incoming, OssGrant, State, WebImage, now};

/// How long a web token stays valid unless a test says otherwise: about a month, as PixVerse's.
pub(super) const TOKEN_LIFETIME: std::time::Duration = std::time::Duration::from_secs(30 * 24 * 3600);

pub fn route(s: &mut State, request: &Incoming<'_>, rest: &str) -> Answer {
    if rest == "login" && request.method.as_str() == "POST" {
        return login(s, request);
    }
    let user = match request.header("token") {
        None => {
            s.violation(request, "web call without Token");
            return Answer::err(10002, "not logged in");
        }
        Some(token) => match s.tokens.get(token) {
            None => return Answer::err(10002, "token invalid"),
            Some(user) if s.users[user].token.as_deref() != Some(token) => {
                return Answer::err(10005, "logged in elsewhere");
            }
            Some(_) if s.token_expiry.get(token).is_some_and(|expiry| now() >= *expiry) => {
                return Answer::err(10001, "token expired");
            }
            Some(user) => user.clone(),
        },
    };
    match (request.method.as_str(), rest) {
        ("POST", "getUploadToken") => upload_token(s),
        ("POST", "media/batch_upload_media") => {
            with_body(s, request, |s, body| register_images(s, &user, body))
        }
        ("POST", "video/t2v") => generate(s, request, &user, false),
        ("POST", "video/i2v") => generate(s, request, &user, true),
        ("POST", "video/list/personal") => with_body(s, request, |s, body| list(s, &user, body)),
        ("GET", "user/credits") => {
            let credits = s.accounts[&user].credits;
            Answer::ok(json!({ "credit_daily": 0, "credit_monthly": credits, "credit_package": 0 }))
        }
        _ => Answer::not_found(),
    }
}

/// Parses the JSON body and runs `f`, answering any `Reject` (and recording violations).
fn with_body(
    s: &mut State,
    request: &Incoming<'_>,
    f: impl FnOnce(&mut State, &serde_json::Map<String, Value>) -> Check<Answer>,
) -> Answer {
    match request.json_object(s) {
        Ok(body) => f(s, &body).unwrap_or_else(|reject| s.reject(request, reject)),
        Err(answer) => answer,
    }
}

fn login(s: &mut State, request: &Incoming<'_>) -> Answer {
    with_body(s, request, |s, body| {
        let username = checks::req_str(body, "Username")?;
        let password = checks::req_str(body, "Password")?;
        let Some(user) = s.users.get_mut(username) else {
            return Ok(Answer::err(500200, "user does not exist"));
        };
        if user.password != password {
            return Ok(Answer::err(500200, "wrong username or password"));
        }
        let account_id = s.accounts[username].id;
        let expires_at = now() + s.token_lifetime.as_secs_f64().ceil() as i64;
        let token = jwt(account_id, username, expires_at);
        s.token_expiry.insert(token.clone(), expires_at);
        // One session per account: the previous token now answers 10005.
        s.users.get_mut(username).expect("checked above").token = Some(token.clone());
        s.tokens.insert(token.clone(), username.to_owned());
        Ok(Answer::ok(json!({ "Result": {
            "AccountId": account_id, "Username": username, "Token": token, "DeleteAt": ""
        }})))
    })
}

/// header.payload.signature, base64url; the payload carries `ExpireTime` (unix seconds).
fn jwt(account_id: i64, username: &str, expires_at: i64) -> String {
    let part = |v: Value| URL_SAFE_NO_PAD.encode(v.to_string());
    let nonce: u64 = rand::thread_rng().r#gen();
    let signature: [u8; 32] = rand::thread_rng().r#gen();
    format!(
        "{}.{}.{}",
        part(json!({ "alg": "HS256", "typ": "JWT" })),
        part(
            json!({ "AccountId": account_id, "Username": username, "ExpireTime": expires_at, "Nonce": nonce })
        ),
        URL_SAFE_NO_PAD.encode(signature)
    )
}

fn upload_token(s: &mut State) -> Answer {
    let ak = format!("STS.fake{}", s.next_grant);
    s.next_grant += 1;
    let random = |n: usize| -> String {
        let mut rng = rand::thread_rng();
        (0..n)
            .map(|_| rng.sample(rand::distributions::Alphanumeric) as char)
            .collect()
    };
    let grant = OssGrant {
        secret: random(30),
        token: format!("CAIS{}", random(120)),
    };
    let answer = Answer::ok(json!({ "Ak": ak, "Sk": grant.secret, "Token": grant.token }));
    s.oss_grants.insert(ak, grant);
    answer
}

/// Registers OSS objects as the user's images. Each must exist and have the announced size.
fn register_images(s: &mut State, user: &str, body: &serde_json::Map<String, Value>) -> Check<Answer> {
    let Some(Value::Array(images)) = body.get("images") else {
        return Err(checks::Reject {
            code: 400011,
            message: "images must be an array".into(),
            violation: true,
        });
    };
    let mut result = Vec::new();
    for image in images {
        let Value::Object(image) = image else {
            return Err(checks::invalid("images[]"));
        };
        let name = checks::req_str(image, "name")?;
        let path = checks::req_str(image, "path")?;
        let size = checks::req_int(image, "size")?;
        match s.objects.get(path) {
            None => return Err(checks::invalid("path")),
            Some(&stored) if stored as i64 != size => {
                return Err(checks::Reject {
                    code: 400017,
                    message: format!("size {size} does not match the uploaded {stored} bytes"),
                    violation: true,
                });
            }
            Some(_) => {}
        }
        let url = format!("{}/oss/{path}", s.base_url);
        s.web_images.insert(
            path.to_owned(),
            WebImage {
                account: user.to_owned(),
                url: url.clone(),
            },
        );
        result.push(json!({ "name": name, "path": path, "url": url, "size": size }));
    }
    Ok(Answer::ok(json!({ "result": result })))
}

fn generate(s: &mut State, request: &Incoming<'_>, user: &str, i2v: bool) -> Answer {
    if request.header("refresh") != Some("credit") {
        s.violation(request, "generation without Refresh: credit");
    }
    with_body(s, request, |s, body| {
        let params = checks::generation(body, i2v)?;
        if checks::opt_str(body, "motion_mode")?.is_none() {
            s.violation(request, "web generation without motion_mode");
        }
        if checks::opt_str(body, "lip_sync_tts_speaker_id")?.is_none() {
            s.violation(request, "web generation without lip_sync_tts_speaker_id");
        }
        if body.contains_key("sound_effect_switch") || body.contains_key("sound_effect_content") {
            s.violation(
                request,
                "web generation with a sound effect (a Platform API field)",
            );
        }
        let image = if i2v {
            let path = checks::req_str(body, "customer_img_path")?;
            let url = checks::req_str(body, "customer_img_url")?;
            match s.web_images.get(path) {
                Some(image) if image.account == user => {
                    if image.url != url {
                        s.violation(request, "customer_img_url is not the uploaded image's url");
                    }
                }
                _ => return Ok(Answer::err(400032, "invalid image")),
            }
            Some(path.to_owned())
        } else {
            None
        };
        Ok(s.start_video(user, true, params, image))
    })
}

/// The user's videos, newest first; each listed video counts as one status observation.
fn list(s: &mut State, user: &str, body: &serde_json::Map<String, Value>) -> Check<Answer> {
    let offset = checks::opt_int(body, "offset")?.unwrap_or(0).max(0) as usize;
    let limit = checks::opt_int(body, "limit")?.unwrap_or(20).clamp(1, 100) as usize;
    checks::opt_int(body, "web_offset")?;
    checks::opt_int(body, "app_offset")?;
    let mine: Vec<usize> = (0..s.videos.len())
        .rev()
        .filter(|&i| s.videos[i].public.account == user)
        .skip(offset)
        .take(limit)
        .collect();
    let data: Vec<Value> = mine.into_iter().map(|i| s.observe(i, true)).collect();
    Ok(Answer::ok(json!({ "data": data, "total": data.len() })))
}
