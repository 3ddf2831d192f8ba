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
    let kinds: Vec<String> = bot.px.videos().into_iter().map(|v| v.kind).collect();
    assert_eq!(kinds, ["t2v", "sound_effect", "lip_sync"]);
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
