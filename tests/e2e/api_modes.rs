//! `/v1/videos/extend`, `/v1/videos/sound`, `/v1/videos/lipsync` over real HTTP: a mode on a
//! succeeded video goes from 202 to `succeeded` through the real worker and the fake PixVerse,
//! on the account that made the source; bad combinations are 4xx before anything reaches
//! PixVerse; a PixVerse refusal fails the video with a reason.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::{
    api::{client, problem, web_token},
    api_videos::wait_for_status,
    support::{app::TestBot, fake_pixverse::FakeFault},
};

/// Logs in with a Platform API key (the further modes need one); returns the bearer token.
async fn key_token(bot: &TestBot, key: &str) -> String {
    bot.px.add_api_key(key);
    let auth: Value = client()
        .post(format!("{}/v1/auth", bot.http_url()))
        .json(&json!({ "api_key": key }))
        .send()
        .await
        .expect("POST /v1/auth")
        .json()
        .await
        .expect("JSON");
    auth["access_token"].as_str().expect("a token").to_owned()
}

async fn post(bot: &TestBot, token: &str, route: &str, body: Value) -> reqwest::Response {
    client()
        .post(format!("{}/v1/videos/{route}", bot.http_url()))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .expect("POST")
}

/// A text video, succeeded: the source of a mode. Returns its id.
async fn succeeded_text_video(bot: &TestBot, token: &str) -> i64 {
    let response = post(
        bot,
        token,
        "text",
        json!({"prompt": "a red fox in snow", "model": "v5"}),
    )
    .await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let id = response.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    wait_for_status(bot, token, id, "succeeded").await;
    id
}

/// `202`, then the video's id.
async fn accepted(response: reqwest::Response) -> Value {
    let status = response.status();
    let body: Value = response.json().await.expect("JSON");
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    body
}

#[tokio::test(flavor = "multi_thread")]
async fn an_extend_continues_a_succeeded_video_on_the_account_that_made_it() {
    let bot = TestBot::start().await;
    let token = key_token(&bot, "sk-extend").await;
    let source = succeeded_text_video(&bot, &token).await;

    let video = accepted(
        post(
            &bot,
            &token,
            "extend",
            json!({"video_id": source, "prompt": "the fox leaps a stream", "duration": 8, "seed": 7}),
        )
        .await,
    )
    .await;
    assert_eq!(video["kind"], "extend");
    assert_eq!(video["source_id"], source);
    assert_eq!(video["status"], "queued");
    let done = wait_for_status(&bot, &token, video["id"].as_i64().unwrap(), "succeeded").await;
    assert!(done["video_url"].as_str().unwrap().starts_with("http"), "{done}");

    let made = bot.px.videos();
    assert_eq!(made.len(), 2);
    assert_eq!(made[1].kind, "extend");
    assert_eq!(made[1].account, "sk-extend");
    assert_eq!(made[1].prompt, "the fox leaps a stream");
    assert_eq!(
        made[1].image.as_deref(),
        Some(format!("video {}", made[0].id).as_str())
    );
    let submit = bot
        .px
        .requests()
        .into_iter()
        .find(|r| r.path.ends_with("/video/extend/generate"))
        .expect("the extend submit");
    assert_eq!(submit.body["source_video_id"], made[0].id);
    assert_eq!(
        (submit.body["duration"].clone(), submit.body["seed"].clone()),
        (json!(8), json!(7))
    );
    assert!(submit.trace_id.is_some());
}

#[tokio::test(flavor = "multi_thread")]
async fn sound_and_lip_sync_remake_a_succeeded_video() {
    let bot = TestBot::start().await;
    let token = key_token(&bot, "sk-sound").await;
    let source = succeeded_text_video(&bot, &token).await;

    let sound = accepted(
        post(
            &bot,
            &token,
            "sound",
            json!({"video_id": source, "description": "wind and a distant owl", "keep_original_sound": true}),
        )
        .await,
    )
    .await;
    assert_eq!(
        (sound["kind"].as_str(), sound["source_id"].as_i64()),
        (Some("sound"), Some(source))
    );
    let speech = accepted(
        post(
            &bot,
            &token,
            "lipsync",
            json!({"video_id": source, "text": "Hello from the snow!", "speaker_id": "Emily"}),
        )
        .await,
    )
    .await;
    assert_eq!(speech["kind"], "lip_sync");
    wait_for_status(&bot, &token, sound["id"].as_i64().unwrap(), "succeeded").await;
    wait_for_status(&bot, &token, speech["id"].as_i64().unwrap(), "succeeded").await;

    let bodies: Vec<Value> = bot
        .px
        .requests()
        .into_iter()
        .filter(|r| r.path.ends_with("/sound_effect/generate") || r.path.ends_with("/lip_sync/generate"))
        .map(|r| r.body)
        .collect();
    assert_eq!(bodies.len(), 2, "{bodies:?}");
    let sound_body = bodies
        .iter()
        .find(|b| b.get("sound_effect_content").is_some())
        .unwrap();
    assert_eq!(sound_body["sound_effect_content"], "wind and a distant owl");
    assert_eq!(sound_body["original_sound_switch"], true);
    let speech_body = bodies
        .iter()
        .find(|b| b.get("lip_sync_tts_content").is_some())
        .unwrap();
    assert_eq!(speech_body["lip_sync_tts_speaker_id"], "Emily");
    assert_eq!(speech_body["lip_sync_tts_content"], "Hello from the snow!");
    // The two remakes run side by side: PixVerse may get them in either order.
    let mut kinds: Vec<String> = bot.px.videos().into_iter().map(|v| v.kind).collect();
    kinds[1..].sort();
    assert_eq!(kinds, ["t2v", "lip_sync", "sound_effect"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_combinations_are_refused_before_anything_reaches_pixverse() {
    let bot = TestBot::start().await;
    let token = key_token(&bot, "sk-bad").await;
    let other = key_token(&bot, "sk-other").await;
    let source = succeeded_text_video(&bot, &token).await;
    let submits_before = bot.px.videos().len();

    // Not a video of the caller's: another user's, and none at all.
    let body = problem(
        post(
            &bot,
            &other,
            "extend",
            json!({"video_id": source, "prompt": "more"}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(body["field"], "video_id");
    let body = problem(
        post(
            &bot,
            &token,
            "sound",
            json!({"video_id": 9999, "description": "rain"}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(body["field"], "video_id");
    // A source that has not succeeded.
    bot.px.set_final_status(8);
    let failed = post(&bot, &token, "text", json!({"prompt": "a storm"})).await;
    let failed = failed.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    wait_for_status(&bot, &token, failed, "failed").await;
    let body = problem(
        post(
            &bot,
            &token,
            "extend",
            json!({"video_id": failed, "prompt": "more"}),
        )
        .await,
        StatusCode::CONFLICT,
    )
    .await;
    assert!(
        body["detail"].as_str().unwrap().contains("not succeeded"),
        "{body}"
    );
    // The mode's own limits, and the parameters' combinations.
    let body = problem(
        post(
            &bot,
            &token,
            "sound",
            json!({"video_id": source, "description": "  "}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(body["field"], "description");
    let long = "a".repeat(201);
    let body = problem(
        post(
            &bot,
            &token,
            "lipsync",
            json!({"video_id": source, "text": long, "speaker_id": "Emily"}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(body["field"], "text");
    assert!(body["detail"].as_str().unwrap().contains("201"), "{body}");
    let body = problem(
        post(
            &bot,
            &token,
            "extend",
            json!({"video_id": source, "prompt": "more", "duration": 8, "motion_mode": "fast"}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(body["field"], "motion_mode");
    let body = problem(
        post(
            &bot,
            &token,
            "extend",
            json!({"video_id": source, "prompt": "more", "aspect_ratio": "9:16"}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(
        body["detail"].as_str().unwrap().contains("aspect_ratio"),
        "{body}"
    );

    assert_eq!(
        bot.px.videos().len(),
        submits_before + 1,
        "only the failed source reached PixVerse"
    );
    assert_eq!(
        bot.px.count("/extend/generate")
            + bot.px.count("/sound_effect/generate")
            + bot.px.count("/lip_sync/generate"),
        0
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_web_login_is_told_that_modes_need_an_api_key() {
    let bot = TestBot::start().await;
    let token = web_token(&bot, "wendy").await;
    let source = succeeded_text_video(&bot, &token).await;
    for (route, body) in [
        ("extend", json!({"video_id": source, "prompt": "more"})),
        ("sound", json!({"video_id": source, "description": "rain"})),
        (
            "lipsync",
            json!({"video_id": source, "text": "hi", "speaker_id": "Emily"}),
        ),
    ] {
        let body = problem(post(&bot, &token, route, body).await, StatusCode::CONFLICT).await;
        assert!(
            body["detail"].as_str().unwrap().contains("Platform API key"),
            "{route}: {body}"
        );
    }
    assert_eq!(bot.px.videos().len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pixverse_refusal_fails_the_mode_video_with_a_reason() {
    let bot = TestBot::start().await;
    let token = key_token(&bot, "sk-refused").await;
    let source = succeeded_text_video(&bot, &token).await;
    // PixVerse has no such voice: it refuses the submit.
    let video = accepted(
        post(
            &bot,
            &token,
            "lipsync",
            json!({"video_id": source, "text": "Hello", "speaker_id": "Nobody"}),
        )
        .await,
    )
    .await;
    let failed = wait_for_status(&bot, &token, video["id"].as_i64().unwrap(), "failed").await;
    assert!(
        failed["error"]["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{failed}"
    );
    assert!(failed.get("video_url").is_none());
    assert_eq!(bot.px.videos().len(), 1, "nothing was made");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_extend_whose_answer_was_lost_is_retried_under_its_trace_id_and_made_once() {
    let bot = TestBot::start().await;
    let token = key_token(&bot, "sk-lost").await;
    let source = succeeded_text_video(&bot, &token).await;
    // PixVerse starts (and charges) the extension, but its answer never arrives.
    bot.px.fail_next("/extend/generate", FakeFault::AnswerDropped);
    let video = accepted(
        post(
            &bot,
            &token,
            "extend",
            json!({"video_id": source, "prompt": "onwards"}),
        )
        .await,
    )
    .await;
    wait_for_status(&bot, &token, video["id"].as_i64().unwrap(), "succeeded").await;

    let submits: Vec<Option<String>> = bot
        .px
        .requests()
        .into_iter()
        .filter(|r| r.path.ends_with("/extend/generate"))
        .map(|r| r.trace_id)
        .collect();
    assert!(submits.len() >= 2, "the lost answer was retried: {submits:?}");
    assert!(
        submits.iter().all(|t| t == &submits[0]),
        "one trace id: {submits:?}"
    );
    let extensions = bot.px.videos().into_iter().filter(|v| v.kind == "extend").count();
    assert_eq!(extensions, 1, "made and charged once");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_lip_sync_to_an_uploaded_audio_succeeds_and_other_files_are_refused() {
    let bot = TestBot::start().await;
    let token = key_token(&bot, "sk-audio").await;
    let source = succeeded_text_video(&bot, &token).await;
    let form = |bytes: Vec<u8>| {
        reqwest::multipart::Form::new()
            .text("video_id", source.to_string())
            .part(
                "audio",
                reqwest::multipart::Part::bytes(bytes)
                    .file_name("hello.mp3")
                    .mime_str("audio/mpeg")
                    .unwrap(),
            )
    };
    let send = |form: reqwest::multipart::Form| {
        client()
            .post(format!("{}/v1/videos/lipsync", bot.http_url()))
            .bearer_auth(&token)
            .multipart(form)
            .send()
    };
    let mut mp3 = b"ID3\x04\0\0".to_vec();
    mp3.resize(4_000, 9);
    let video = accepted(send(form(mp3)).await.unwrap()).await;
    assert_eq!(
        (video["kind"].as_str(), video["source_id"].as_i64()),
        (Some("lip_sync"), Some(source))
    );
    wait_for_status(&bot, &token, video["id"].as_i64().unwrap(), "succeeded").await;
    let submit = bot
        .px
        .requests()
        .into_iter()
        .find(|r| r.path.ends_with("/lip_sync/generate"))
        .expect("the lip-sync submit");
    assert!(submit.body["audio_media_id"].is_i64(), "{}", submit.body);
    assert!(
        bot.px
            .uploaded_images()
            .iter()
            .any(|(name, size)| name.starts_with("media:") && *size == 4_000)
    );

    // A PNG is no audio, whatever the part says.
    let png = b"\x89PNG\r\n\x1a\n....".to_vec();
    problem(send(form(png)).await.unwrap(), StatusCode::UNSUPPORTED_MEDIA_TYPE).await;
    assert_eq!(bot.px.count("/lip_sync/generate"), 1);
}

/// A PNG's signature and enough bytes to pass for one.
fn png(len: usize, fill: u8) -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\n".to_vec();
    bytes.resize(len, fill);
    bytes
}

fn image_part(bytes: Vec<u8>) -> reqwest::multipart::Part {
    reqwest::multipart::Part::bytes(bytes)
        .file_name("photo.png")
        .mime_str("image/png")
        .unwrap()
}

async fn post_form(
    bot: &TestBot,
    token: &str,
    route: &str,
    form: reqwest::multipart::Form,
) -> reqwest::Response {
    client()
        .post(format!("{}/v1/videos/{route}", bot.http_url()))
        .bearer_auth(token)
        .multipart(form)
        .send()
        .await
        .expect("POST")
}

fn transition_form(prompt: &str) -> reqwest::multipart::Form {
    reqwest::multipart::Form::new()
        .part("first_image", image_part(png(3_000, 1)))
        .part("last_image", image_part(png(4_000, 2)))
        .text("prompt", prompt.to_owned())
}

fn fusion_form(prompt: &str, refs: &str, images: usize) -> reqwest::multipart::Form {
    let mut form = reqwest::multipart::Form::new()
        .text("prompt", prompt.to_owned())
        .text("refs", refs.to_owned())
        .text("model", "v4.5");
    for i in 0..images {
        form = form.part("image", image_part(png(2_000 + i, i as u8)));
    }
    form
}

#[tokio::test(flavor = "multi_thread")]
async fn a_transition_and_a_fusion_from_uploaded_images_succeed() {
    let bot = TestBot::start().await;
    let token = key_token(&bot, "sk-images").await;

    let video = accepted(
        post_form(
            &bot,
            &token,
            "transition",
            transition_form("day turns to night").text("duration", "5"),
        )
        .await,
    )
    .await;
    assert_eq!(video["kind"], "transition");
    assert!(video.get("source_id").is_none(), "{video}");
    wait_for_status(&bot, &token, video["id"].as_i64().unwrap(), "succeeded").await;

    let form = fusion_form("@cat naps on @beach at sunset", "cat, beach", 2).text("background", "beach");
    let video = accepted(post_form(&bot, &token, "fusion", form).await).await;
    assert_eq!(video["kind"], "fusion");
    wait_for_status(&bot, &token, video["id"].as_i64().unwrap(), "succeeded").await;

    let made = bot.px.videos();
    let kinds: Vec<&str> = made.iter().map(|v| v.kind.as_str()).collect();
    assert_eq!(kinds, ["transition", "fusion"]);
    assert_eq!(made[1].image.as_deref(), Some("cat,beach"));
    let sizes: Vec<usize> = bot
        .px
        .uploaded_images()
        .into_iter()
        .map(|(_, size)| size)
        .collect();
    assert_eq!(
        sizes,
        [3_000, 4_000, 2_000, 2_001],
        "each image uploaded once, in order"
    );
    let bodies: Vec<Value> = bot
        .px
        .requests()
        .into_iter()
        .filter(|r| r.path.ends_with("/generate"))
        .map(|r| r.body)
        .collect();
    assert_ne!(bodies[0]["first_frame_img"], bodies[0]["last_frame_img"]);
    let references = bodies[1]["image_references"].as_array().unwrap();
    let roles: Vec<(&str, &str)> = references
        .iter()
        .map(|r| (r["ref_name"].as_str().unwrap(), r["type"].as_str().unwrap()))
        .collect();
    assert_eq!(roles, [("cat", "subject"), ("beach", "background")]);
}

#[tokio::test(flavor = "multi_thread")]
async fn image_modes_refuse_bad_combinations_before_pixverse() {
    let bot = TestBot::start().await;
    let token = key_token(&bot, "sk-image-bad").await;
    let field = |body: &Value| body["field"].as_str().unwrap_or_default().to_owned();

    let no_last = reqwest::multipart::Form::new()
        .part("first_image", image_part(png(3_000, 1)))
        .text("prompt", "morph");
    let body = problem(
        post_form(&bot, &token, "transition", no_last).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(field(&body), "last_image");
    let body = problem(
        post_form(
            &bot,
            &token,
            "transition",
            transition_form("morph").text("aspect_ratio", "9:16"),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(field(&body), "aspect_ratio");
    let gif = reqwest::multipart::Form::new()
        .part("first_image", image_part(b"GIF89a....".to_vec()))
        .part("last_image", image_part(png(3_000, 1)))
        .text("prompt", "morph");
    problem(
        post_form(&bot, &token, "transition", gif).await,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
    )
    .await;

    let body = problem(
        post_form(
            &bot,
            &token,
            "fusion",
            fusion_form("@cat on a beach", "cat,beach", 2),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(field(&body), "prompt");
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .starts_with("The prompt does not name"),
        "{body}"
    );
    let body = problem(
        post_form(&bot, &token, "fusion", fusion_form("@cat on @beach", "cat", 2)).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(field(&body), "refs");
    let body = problem(
        post_form(
            &bot,
            &token,
            "fusion",
            fusion_form("@cat on @beach", "cat,beach", 2).text("background", "sea"),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(field(&body), "background");
    let body = problem(
        post_form(&bot, &token, "fusion", fusion_form("@a @b @c @d", "a,b,c,d", 4)).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(field(&body), "image");
    let body = problem(
        post_form(
            &bot,
            &token,
            "fusion",
            fusion_form("@cat! on @beach", "cat!,beach", 2),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(field(&body), "refs");

    let web = web_token(&bot, "winnie").await;
    let body = problem(
        post_form(&bot, &web, "transition", transition_form("morph")).await,
        StatusCode::CONFLICT,
    )
    .await;
    assert!(
        body["detail"].as_str().unwrap().contains("Platform API key"),
        "{body}"
    );

    assert!(bot.px.videos().is_empty());
    assert!(bot.px.uploaded_images().is_empty(), "nothing was uploaded");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pixverse_refusal_of_a_transition_fails_it_with_a_reason() {
    let bot = TestBot::start().await;
    let token = key_token(&bot, "sk-image-refused").await;
    bot.px
        .fail_next("/transition/generate", FakeFault::ErrCode(500054));
    let video =
        accepted(post_form(&bot, &token, "transition", transition_form("day turns to night")).await).await;
    let failed = wait_for_status(&bot, &token, video["id"].as_i64().unwrap(), "failed").await;
    // Reported as a text or image video's moderation is, not as PixVerse's raw answer.
    assert_eq!(failed["error"]["code"], "moderation", "{failed}");
    assert!(
        failed["error"]["message"]
            .as_str()
            .unwrap()
            .contains("moderation rejected"),
        "{failed}"
    );
    assert!(bot.px.videos().is_empty());
}

/// `sound_effect` on a text video: sent to PixVerse with the generation, shown in the video's
/// params; too long is a 422 naming the field; with a web login it is a 409 (Platform API only).
#[tokio::test(flavor = "multi_thread")]
async fn a_text_video_with_a_sound_effect_sends_the_sound_and_needs_a_key() {
    let bot = TestBot::start().await;
    let key = key_token(&bot, "pk-sfx-0001").await;
    let sound = "thunder and heavy rain";
    let body = json!({ "prompt": "a storm at sea", "sound_effect": sound });
    let response = post(&bot, &key, "text", body.clone()).await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let video: Value = response.json().await.unwrap();
    assert_eq!(video["params"]["sound_effect"], sound);
    bot.wait_until("the generation call", || bot.px.videos().len() == 1)
        .await;
    let generate = bot
        .px
        .requests()
        .into_iter()
        .find(|r| r.path.ends_with("/video/text/generate"))
        .expect("a generation");
    assert_eq!(generate.body["sound_effect_switch"], true);
    assert_eq!(generate.body["sound_effect_content"], sound);

    let long = json!({ "prompt": "a storm at sea", "sound_effect": "b".repeat(2049) });
    let refused = problem(
        post(&bot, &key, "text", long).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(refused.to_string().contains("sound_effect"), "{refused}");

    let web = web_token(&bot, "tina").await;
    let refused = problem(post(&bot, &web, "text", body).await, StatusCode::CONFLICT).await;
    assert!(refused.to_string().contains("API key"), "{refused}");
    assert_eq!(bot.px.videos().len(), 1, "nothing else reached PixVerse");
}
