//! A shared pool of web logins only: work that needs a Platform API key (a further mode, `--sfx`,
//! an effect) from a user without an account of their own is refused when it is asked for,
//! in the chat and in the API, instead of failing later in the worker.

use reqwest::StatusCode;
use secrecy::SecretString;
use serde_json::{Value, json};

use crate::{
    api::{client, problem},
    support::app::{TestBot, private_user},
};
use pixverse_bot::storage::CredentialKind;

fn jpeg(len: usize, fill: u8) -> Vec<u8> {
    let mut bytes = vec![0xFF, 0xD8, 0xFF, 0xE0];
    bytes.resize(len, fill);
    bytes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pool_of_web_logins_refuses_api_key_work_at_once() {
    let bot = TestBot::start_with(|env| {
        env.remove("PIXVERSE_API_KEY");
    })
    .await;
    bot.storage()
        .await
        .save_pool_account(
            "shared-web",
            CredentialKind::Web,
            "web login",
            &SecretString::from("a-web-token"),
            None,
            None,
        )
        .await
        .unwrap();
    let (chat, user) = private_user(3301);
    bot.tg.send_text(chat, &user, "/t2v a storm at sea --sfx thunder");
    bot.wait_for_text(chat, "Adding sound to a video needs a PixVerse Platform API key")
        .await;
    bot.tg.send_album(
        chat,
        &user,
        "day turns to night",
        vec![jpeg(5_000, 1), jpeg(6_000, 2)],
    );
    bot.wait_for_text(chat, "A transition needs a PixVerse Platform API key")
        .await;
    assert_eq!(bot.task_count().await, 0, "nothing queued to fail later");

    // The same user through the API (their token, no PixVerse account of their own).
    bot.tg.send_text(chat, &user, "/token");
    let answer = bot.wait_for_text(chat, "pvb_").await;
    let token = answer
        .split_whitespace()
        .find(|w| w.starts_with("pvb_"))
        .expect("the token in the reply")
        .to_owned();
    let response = client()
        .post(format!("{}/v1/videos/text", bot.http_url()))
        .bearer_auth(&token)
        .json(&json!({"prompt": "a storm at sea", "sound_effect": "thunder"}))
        .send()
        .await
        .unwrap();
    let answer: Value = problem(response, StatusCode::CONFLICT).await;
    let detail = answer["detail"].as_str().unwrap();
    assert!(
        detail.contains("A sound effect needs a PixVerse Platform API key")
            && detail.contains("only web logins"),
        "{answer}"
    );
    assert_eq!(bot.task_count().await, 0);
    assert!(bot.px.requests().iter().all(|r| !r.path.contains("generate")));
}
