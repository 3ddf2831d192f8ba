//! `template_id` on `POST /v1/videos/image`: one of PixVerse's effect templates (looked up in
//! PixVerse's listing when the bot has not listed it yet) reaches the image-to-video submit; an
//! id PixVerse does not list, or a template on a text video, is a 422 before PixVerse.

use reqwest::{StatusCode, multipart};
use serde_json::{Value, json};

use crate::{
    api::{client, problem},
    api_videos::{png, wait_for_status},
    support::app::TestBot,
};

/// The fake PixVerse's first template id; its listing pages hold 20.
const FIRST_TEMPLATE: i64 = 315_000_000_000_000_001;

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

async fn post_image(bot: &TestBot, token: &str, template_id: &str) -> reqwest::Response {
    let form = multipart::Form::new()
        .part(
            "image",
            multipart::Part::bytes(png(20_000))
                .file_name("cat.png")
                .mime_str("image/png")
                .unwrap(),
        )
        .text("prompt", "the cat spins")
        .text("template_id", template_id.to_owned());
    client()
        .post(format!("{}/v1/videos/image", bot.http_url()))
        .bearer_auth(token)
        .multipart(form)
        .send()
        .await
        .expect("POST /v1/videos/image")
}

#[tokio::test(flavor = "multi_thread")]
async fn an_image_video_with_a_listed_template_id_applies_that_effect() {
    let bot = TestBot::start().await;
    let token = key_token(&bot, "sk-effects").await;
    // On the second page of PixVerse's listing, never shown by /effects.
    let template = FIRST_TEMPLATE + 25;
    let response = post_image(&bot, &token, &template.to_string()).await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let video: Value = response.json().await.unwrap();
    assert_eq!(video["params"]["template_id"], template);
    wait_for_status(&bot, &token, video["id"].as_i64().unwrap(), "succeeded").await;
    let submit = bot
        .px
        .requests()
        .into_iter()
        .find(|r| r.path.ends_with("/video/img/generate"))
        .expect("the image-to-video submit");
    assert_eq!(submit.body["template_id"], template);
    assert_eq!(submit.body["prompt"], "the cat spins");

    // An id PixVerse does not list, and a template on a text video: 422, nothing sent.
    let unknown = post_image(&bot, &token, "123456789").await;
    let answer = problem(unknown, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(answer["field"], "template_id", "{answer}");
    let text = client()
        .post(format!("{}/v1/videos/text", bot.http_url()))
        .bearer_auth(&token)
        .json(&json!({"prompt": "a fox", "template_id": FIRST_TEMPLATE}))
        .send()
        .await
        .unwrap();
    let answer = problem(text, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(answer["field"], "template_id", "{answer}");
    assert_eq!(bot.px.videos().len(), 1);
}
