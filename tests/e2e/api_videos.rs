//! `/v1/videos` over real HTTP: from 202 to `succeeded` through the real worker and the fake
//! PixVerse, the 4xx answers, ownership, cancel, idempotency and pages.

use std::time::{Duration, Instant};

use reqwest::{StatusCode, multipart};
use serde_json::{Value, json};

use crate::{
    api::{client, problem, web_token},
    support::app::{DEADLINE, TestBot, private_user},
};

/// A PNG's signature and enough bytes to pass for one.
pub(crate) fn png(len: usize) -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\n".to_vec();
    bytes.resize(len, 7);
    bytes
}

async fn post_text(bot: &TestBot, token: &str, body: Value) -> reqwest::Response {
    client()
        .post(format!("{}/v1/videos/text", bot.http_url()))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .expect("POST /v1/videos/text")
}

async fn get_json(bot: &TestBot, token: &str, path: &str) -> (StatusCode, Value) {
    let response = client()
        .get(format!("{}{path}", bot.http_url()))
        .bearer_auth(token)
        .send()
        .await
        .expect("GET");
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// Polls `GET /v1/videos/{id}` until its status is `status`.
pub(crate) async fn wait_for_status(bot: &TestBot, token: &str, id: i64, status: &str) -> Value {
    let started = Instant::now();
    loop {
        let (code, video) = get_json(bot, token, &format!("/v1/videos/{id}")).await;
        assert_eq!(code, StatusCode::OK, "{video}");
        if video["status"] == status {
            return video;
        }
        assert!(
            started.elapsed() < DEADLINE,
            "video {id} never became {status}; it is {video}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_text_video_goes_from_202_to_succeeded_with_a_video_url() {
    let bot = TestBot::start().await;
    let token = web_token(&bot, "tina").await;
    let response = post_text(
        &bot,
        &token,
        json!({"prompt": "a red fox in snow", "model": "v5.5", "duration": 8, "quality": "720p", "aspect_ratio": "9:16", "seed": 42}),
    )
    .await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let video: Value = response.json().await.unwrap();
    let id = video["id"].as_i64().unwrap();
    assert_eq!(location, format!("/v1/videos/{id}"));
    assert_eq!(video["status"], "queued");
    assert_eq!(video["params"]["model"], "v5.5");
    assert_eq!(video["seed"], 42);

    let done = wait_for_status(&bot, &token, id, "succeeded").await;
    assert_eq!(done["progress"], 100);
    assert!(done["video_url"].as_str().unwrap().starts_with("http"), "{done}");
    assert!(done["finished_at"].as_str().unwrap().ends_with('Z'));
    let made = bot.px.videos();
    assert_eq!(made.len(), 1);
    assert_eq!(
        (made[0].account.as_str(), made[0].model.as_str()),
        ("tina", "v5.5")
    );
    assert!(
        bot.tg.calls_to("sendvideo").is_empty() && bot.tg.calls_to("sendmessage").is_empty(),
        "an API task sends nothing to Telegram"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_image_video_from_a_multipart_upload_succeeds() {
    let bot = TestBot::start().await;
    bot.px.add_api_key("sk-image-key");
    let auth: Value = client()
        .post(format!("{}/v1/auth", bot.http_url()))
        .json(&json!({"api_key": "sk-image-key"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = auth["access_token"].as_str().unwrap();
    let form = multipart::Form::new()
        .part(
            "image",
            multipart::Part::bytes(png(50_000))
                .file_name("cat.png")
                .mime_str("image/png")
                .unwrap(),
        )
        .text("prompt", "the cat waves")
        .text("duration", "5");
    let response = client()
        .post(format!("{}/v1/videos/image", bot.http_url()))
        .bearer_auth(token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let video: Value = response.json().await.unwrap();
    assert_eq!(video["kind"], "i2v");
    let done = wait_for_status(&bot, token, video["id"].as_i64().unwrap(), "succeeded").await;
    assert!(done["video_url"].is_string());
    assert_eq!(
        bot.px.uploaded_images().len(),
        1,
        "the uploaded bytes reached PixVerse"
    );
    assert_eq!(bot.px.uploaded_images()[0].1, 50_000);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_non_image_or_an_oversized_image_is_refused_before_pixverse() {
    let bot = TestBot::start().await;
    let token = web_token(&bot, "uma").await;
    let url = format!("{}/v1/videos/image", bot.http_url());
    let pdf = multipart::Form::new()
        .part(
            "image",
            multipart::Part::bytes(b"%PDF-1.7 not an image".to_vec())
                .file_name("x.png")
                .mime_str("image/png")
                .unwrap(),
        )
        .text("prompt", "wave");
    let response = client()
        .post(&url)
        .bearer_auth(&token)
        .multipart(pdf)
        .send()
        .await
        .unwrap();
    problem(response, StatusCode::UNSUPPORTED_MEDIA_TYPE).await;
    let json_instead = client()
        .post(&url)
        .bearer_auth(&token)
        .json(&json!({"prompt": "wave"}))
        .send()
        .await
        .unwrap();
    problem(json_instead, StatusCode::UNSUPPORTED_MEDIA_TYPE).await;
    let huge = multipart::Form::new().text("prompt", "wave").part(
        "image",
        multipart::Part::bytes(png(22 * 1024 * 1024))
            .file_name("big.png")
            .mime_str("image/png")
            .unwrap(),
    );
    let response = client()
        .post(&url)
        .bearer_auth(&token)
        .multipart(huge)
        .send()
        .await;
    // The server may answer 413 before it has read the whole body (and close the connection).
    if let Ok(response) = response {
        problem(response, StatusCode::PAYLOAD_TOO_LARGE).await;
    }
    let big_text = post_text(&bot, &token, json!({"prompt": "x".repeat(3 * 1024 * 1024)})).await;
    problem(big_text, StatusCode::PAYLOAD_TOO_LARGE).await;
    assert!(bot.px.uploaded_images().is_empty() && bot.px.videos().is_empty());
    assert_eq!(bot.task_count().await, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn invalid_values_and_combinations_are_422s_naming_the_field_and_storing_nothing() {
    let bot = TestBot::start().await;
    let token = web_token(&bot, "vera").await;
    let cases = [
        (
            json!({"prompt": "fox", "quality": "4k"}),
            "quality",
            "360p, 540p, 720p, 1080p",
        ),
        (json!({"prompt": "fox", "model": "v9"}), "model", "v5.5"),
        (
            json!({"prompt": "fox", "motion_mode": "fast", "duration": 8}),
            "motion_mode",
            "5-second",
        ),
        (
            json!({"prompt": "fox", "model": "v5", "duration": 10}),
            "duration",
            "5, 8",
        ),
        (
            json!({"prompt": "fox", "model": "v4", "audio": true}),
            "audio",
            "v5.5",
        ),
        (
            json!({"prompt": "fox", "aspect_ratio": "21:9"}),
            "aspect_ratio",
            "16:9",
        ),
        (json!({"prompt": "   "}), "prompt", "empty"),
        (
            json!({"prompt": "fox", "seed": 4_000_000_000u64}),
            "seed",
            "2147483647",
        ),
    ];
    for (body, field, accepted) in cases {
        let answer = problem(
            post_text(&bot, &token, body.clone()).await,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
        assert_eq!(answer["field"], field, "{body} -> {answer}");
        assert!(
            answer["detail"].as_str().unwrap().contains(accepted),
            "{body} -> {answer}"
        );
    }
    let unknown = post_text(&bot, &token, json!({"prompt": "fox", "colour": "red"})).await;
    problem(unknown, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(bot.task_count().await, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn another_users_video_is_a_404_and_cannot_be_cancelled() {
    let bot = TestBot::start().await;
    bot.px.hold_videos();
    let owner = web_token(&bot, "wes").await;
    let other = web_token(&bot, "xia").await;
    let video: Value = post_text(&bot, &owner, json!({"prompt": "a boat"}))
        .await
        .json()
        .await
        .unwrap();
    let id = video["id"].as_i64().unwrap();
    let (status, _) = get_json(&bot, &other, &format!("/v1/videos/{id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let cancel = client()
        .delete(format!("{}/v1/videos/{id}", bot.http_url()))
        .bearer_auth(&other)
        .send()
        .await
        .unwrap();
    problem(cancel, StatusCode::NOT_FOUND).await;
    let (status, list) = get_json(&bot, &other, "/v1/videos").await;
    assert_eq!(
        (status, list["videos"].as_array().unwrap().len()),
        (StatusCode::OK, 0)
    );
    let (status, mine) = get_json(&bot, &owner, &format!("/v1/videos/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_ne!(mine["status"], "cancelled");
}

#[tokio::test(flavor = "multi_thread")]
async fn cancel_ends_an_unfinished_video_and_a_finished_one_is_a_409() {
    let bot = TestBot::start().await;
    bot.px.hold_videos();
    let token = web_token(&bot, "yuri").await;
    let video: Value = post_text(&bot, &token, json!({"prompt": "slow clouds"}))
        .await
        .json()
        .await
        .unwrap();
    let id = video["id"].as_i64().unwrap();
    wait_for_status(&bot, &token, id, "generating").await;
    let url = format!("{}/v1/videos/{id}", bot.http_url());
    let cancelled = client().delete(&url).bearer_auth(&token).send().await.unwrap();
    assert_eq!(cancelled.status(), StatusCode::OK);
    let cancelled: Value = cancelled.json().await.unwrap();
    assert_eq!(cancelled["status"], "cancelled");
    assert!(cancelled["finished_at"].is_string());
    let again = client().delete(&url).bearer_auth(&token).send().await.unwrap();
    problem(again, StatusCode::CONFLICT).await;
    // It stays cancelled: the worker's next poll does not bring it back.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (_, later) = get_json(&bot, &token, &format!("/v1/videos/{id}")).await;
    assert_eq!(later["status"], "cancelled");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_same_idempotency_key_and_body_return_the_same_video_and_start_nothing_new() {
    let bot = TestBot::start().await;
    bot.px.hold_videos();
    let token = web_token(&bot, "zoe").await;
    let post = |body: Value, key: &'static str| {
        let url = format!("{}/v1/videos/text", bot.http_url());
        let token = token.clone();
        async move {
            client()
                .post(url)
                .bearer_auth(token)
                .header("Idempotency-Key", key)
                .json(&body)
                .send()
                .await
                .unwrap()
        }
    };
    let body = json!({"prompt": "a lighthouse at dusk", "duration": 5});
    let first = post(body.clone(), "key-1").await;
    assert_eq!(first.status(), StatusCode::ACCEPTED);
    let first: Value = first.json().await.unwrap();
    let second = post(body.clone(), "key-1").await;
    assert_eq!(second.status(), StatusCode::ACCEPTED);
    assert_eq!(second.headers()["idempotent-replayed"], "true");
    let second: Value = second.json().await.unwrap();
    assert_eq!(first["id"], second["id"]);
    assert_eq!(bot.task_count().await, 1, "one task for two requests");

    let other_body = post(json!({"prompt": "a lighthouse at noon"}), "key-1").await;
    let answer = problem(other_body, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(answer["field"], "Idempotency-Key");
    let new_key = post(body, "key-2").await;
    assert_eq!(new_key.status(), StatusCode::ACCEPTED);
    assert_eq!(bot.task_count().await, 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_list_pages_newest_first_and_includes_the_same_users_chat_videos() {
    let bot = TestBot::start_with(|env| {
        env.insert("USER_MAX_IN_FLIGHT".into(), "10".into());
    })
    .await;
    bot.px.hold_videos();
    // A Telegram user asks in the chat, then takes a token: one account, one history.
    let (chat, user) = private_user(7401);
    bot.tg.send_text(chat, &user, "/t2v a chat fox");
    bot.wait_for_states(&[("generating", 1)]).await;
    bot.tg.send_text(chat, &user, "/token");
    let answer = bot.wait_for_text(chat, "pvb_").await;
    let token = answer
        .split_whitespace()
        .find(|w| w.starts_with("pvb_"))
        .unwrap()
        .to_owned();
    for n in 0..3 {
        let response = post_text(&bot, &token, json!({"prompt": format!("api fox {n}")})).await;
        assert_eq!(response.status(), StatusCode::ACCEPTED);
    }
    let (_, page) = get_json(&bot, &token, "/v1/videos?limit=3").await;
    let prompts: Vec<&str> = page["videos"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["prompt"].as_str().unwrap())
        .collect();
    assert_eq!(prompts, ["api fox 2", "api fox 1", "api fox 0"]);
    let next = page["next_before"].as_i64().expect("a next page");
    let (_, rest) = get_json(&bot, &token, &format!("/v1/videos?limit=3&before={next}")).await;
    let prompts: Vec<&str> = rest["videos"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["prompt"].as_str().unwrap())
        .collect();
    assert_eq!(prompts, ["a chat fox"]);
    assert!(rest.get("next_before").is_none());
    let (status, _) = get_json(&bot, &token, "/v1/videos?limit=0").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_per_user_limits_of_the_chat_hold_for_the_api_too() {
    let bot = TestBot::start_with(|env| {
        env.insert("USER_MAX_IN_FLIGHT".into(), "1".into());
    })
    .await;
    bot.px.hold_videos();
    let token = web_token(&bot, "limit").await;
    assert_eq!(
        post_text(&bot, &token, json!({"prompt": "one"})).await.status(),
        StatusCode::ACCEPTED
    );
    let second = post_text(&bot, &token, json!({"prompt": "two"})).await;
    assert!(second.headers().contains_key("retry-after"));
    let answer = problem(second, StatusCode::TOO_MANY_REQUESTS).await;
    assert_eq!(answer["type"], "/problems/too-many-in-flight");
    assert_eq!(bot.task_count().await, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn simultaneous_requests_with_one_idempotency_key_start_one_video_and_never_fail() {
    let bot = TestBot::start().await;
    bot.px.hold_videos();
    let token = web_token(&bot, "racer").await;
    let url = format!("{}/v1/videos/text", bot.http_url());
    let requests = (0..16).map(|_| {
        let (url, token) = (url.clone(), token.clone());
        tokio::spawn(async move {
            client()
                .post(url)
                .bearer_auth(token)
                .header("Idempotency-Key", "same-key")
                .json(&json!({"prompt": "one fox, asked many times"}))
                .send()
                .await
                .unwrap()
                .status()
        })
    });
    for request in requests.collect::<Vec<_>>() {
        let status = request.await.unwrap();
        // 202 (made or replayed) or 409 (the first is still being accepted): never a 500.
        assert!(matches!(status.as_u16(), 202 | 409), "{status}");
    }
    assert_eq!(bot.task_count().await, 1);
}
