//! The HTTP API over real HTTP on loopback: the real App, both fakes, a fresh SQLite file.

use std::time::Duration;

use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

use crate::support::{
    app::{DEADLINE, TestBot, private_user},
    fake_telegram::{TgChat, TgUser},
};

pub fn client() -> Client {
    Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("HTTP client")
}

/// Logs in with a fresh web account on the fake PixVerse; returns the bearer token.
pub async fn web_token(bot: &TestBot, username: &str) -> String {
    bot.px.add_web_account(username, "pw-secret");
    let response = client()
        .post(format!("{}/v1/auth", bot.http_url()))
        .json(&json!({"username": username, "password": "pw-secret"}))
        .send()
        .await
        .expect("POST /v1/auth");
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.expect("JSON");
    body["access_token"].as_str().expect("a token").to_owned()
}

/// Asserts an RFC 9457 problem with this status and returns its body.
pub async fn problem(response: reqwest::Response, status: StatusCode) -> Value {
    assert_eq!(response.status(), status, "status");
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert_eq!(content_type, "application/problem+json");
    let body: Value = response.json().await.expect("problem JSON");
    assert_eq!(body["status"], status.as_u16(), "{body}");
    for field in ["type", "title", "detail"] {
        assert!(
            body[field].as_str().is_some_and(|s| !s.is_empty()),
            "{field} in {body}"
        );
    }
    body
}

async fn get(bot: &TestBot, path: &str, token: Option<&str>) -> reqwest::Response {
    let mut request = client().get(format!("{}{path}", bot.http_url()));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.expect("GET")
}

#[tokio::test(flavor = "multi_thread")]
async fn without_a_telegram_token_the_binary_serves_the_api_alone() {
    let mut bot = TestBot::start_with(|env| {
        env.remove("TELOXIDE_TOKEN");
    })
    .await;
    assert_eq!(get(&bot, "/healthz", None).await.status(), StatusCode::OK);
    let token = web_token(&bot, "solo").await;
    assert_eq!(
        get(&bot, "/v1/balance", Some(&token)).await.status(),
        StatusCode::OK
    );
    assert!(
        bot.tg.calls_to("getupdates").is_empty() && bot.tg.calls_to("getme").is_empty(),
        "no Telegram call without a token"
    );
    bot.stop().await.expect("a clean stop");
}

#[tokio::test(flavor = "multi_thread")]
async fn web_login_as_json_or_form_and_an_api_key_each_give_a_working_token() {
    let bot = TestBot::start().await;
    bot.px.add_web_account("alice", "pw-alice");
    bot.px.add_api_key("sk-platform-key-42");
    let url = format!("{}/v1/auth", bot.http_url());

    let as_json: Value = client()
        .post(&url)
        .json(&json!({"username": "alice", "password": "pw-alice"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let as_form = client()
        .post(&url)
        .form(&[("username", "alice"), ("password", "pw-alice")])
        .send()
        .await
        .unwrap();
    assert_eq!(as_form.status(), StatusCode::OK);
    let as_form: Value = as_form.json().await.unwrap();
    let by_key = client()
        .post(&url)
        .json(&json!({"api_key": "sk-platform-key-42"}))
        .send()
        .await
        .unwrap();
    assert_eq!(by_key.status(), StatusCode::OK);
    let by_key: Value = by_key.json().await.unwrap();

    for body in [&as_json, &as_form, &by_key] {
        assert_eq!(body["token_type"], "bearer");
        let token = body["access_token"].as_str().unwrap();
        // 256 random bits, base64url: 43 characters after the prefix.
        assert!(token.starts_with("pvb_") && token.len() >= 4 + 43, "{token}");
        let balance: Value = get(&bot, "/v1/balance", Some(token)).await.json().await.unwrap();
        assert_eq!(balance["source"], "own", "{balance}");
    }
    assert_ne!(
        as_json["access_token"], as_form["access_token"],
        "a new token per login"
    );

    // Two logins with the same PixVerse account reach one API account; the key is another.
    let storage = bot.storage().await;
    let accounts: Vec<(i64,)> = pixverse_bot::on_pool!(storage.engine(), |pool| sqlx::query_as(
        "select user_id from api_account order by user_id desc"
    )
    .fetch_all(pool)
    .await)
    .unwrap();
    assert_eq!(
        accounts,
        [(-1,), (-2,)],
        "negative ids, one per PixVerse identity"
    );
    let hashes: Vec<(Vec<u8>,)> = pixverse_bot::on_pool!(storage.engine(), |pool| sqlx::query_as(
        "select token_hash from api_token"
    )
    .fetch_all(pool)
    .await)
    .unwrap();
    assert_eq!(hashes.len(), 3);
    let token = as_json["access_token"].as_str().unwrap();
    assert!(
        hashes
            .iter()
            .all(|(h,)| h.len() == 32 && h.as_slice() != token.as_bytes()),
        "only SHA-256 hashes are stored"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_password_or_key_is_a_401_problem_and_stores_nothing() {
    let bot = TestBot::start().await;
    bot.px.add_web_account("bob", "pw-bob");
    let url = format!("{}/v1/auth", bot.http_url());
    let wrong = client()
        .post(&url)
        .json(&json!({"username": "bob", "password": "nope"}))
        .send()
        .await
        .unwrap();
    let body = problem(wrong, StatusCode::UNAUTHORIZED).await;
    assert!(!body.to_string().contains("nope"), "the password is not echoed");
    let wrong_key = client()
        .post(&url)
        .json(&json!({"api_key": "sk-unknown"}))
        .send()
        .await
        .unwrap();
    problem(wrong_key, StatusCode::UNAUTHORIZED).await;
    let neither = client()
        .post(&url)
        .json(&json!({"user": "bob"}))
        .send()
        .await
        .unwrap();
    problem(neither, StatusCode::UNPROCESSABLE_ENTITY).await;
    let not_json = client()
        .post(&url)
        .header("content-type", "application/json")
        .body("{")
        .send()
        .await
        .unwrap();
    problem(not_json, StatusCode::BAD_REQUEST).await;

    let storage = bot.storage().await;
    let tokens: i64 = pixverse_bot::on_pool!(storage.engine(), |pool| sqlx::query_scalar(
        "select count(*) from api_token"
    )
    .fetch_one(pool)
    .await)
    .unwrap();
    assert_eq!(tokens, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn requests_without_a_valid_token_and_unknown_paths_get_problems() {
    let bot = TestBot::start().await;
    let none = get(&bot, "/v1/balance", None).await;
    assert_eq!(none.headers()["www-authenticate"], "Bearer");
    problem(none, StatusCode::UNAUTHORIZED).await;
    problem(
        get(&bot, "/v1/balance", Some("pvb_made-up")).await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    problem(get(&bot, "/v2/nothing", None).await, StatusCode::NOT_FOUND).await;
    let wrong_method = client()
        .delete(format!("{}/v1/auth", bot.http_url()))
        .send()
        .await
        .unwrap();
    problem(wrong_method, StatusCode::METHOD_NOT_ALLOWED).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_token_over_its_rate_limit_gets_429_with_retry_after() {
    let bot = TestBot::start_with(|env| {
        env.insert("API_RATE_LIMIT_PER_MINUTE".into(), "3".into());
    })
    .await;
    let token = web_token(&bot, "carol").await;
    for _ in 0..3 {
        assert_eq!(
            get(&bot, "/v1/balance", Some(&token)).await.status(),
            StatusCode::OK
        );
    }
    let limited = get(&bot, "/v1/balance", Some(&token)).await;
    let retry_after: u64 = limited.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=20).contains(&retry_after), "{retry_after}");
    problem(limited, StatusCode::TOO_MANY_REQUESTS).await;
    // Another token of another account has its own budget.
    let other = web_token(&bot, "dave").await;
    assert_eq!(
        get(&bot, "/v1/balance", Some(&other)).await.status(),
        StatusCode::OK
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_docs_page_and_an_openapi_3_1_document_are_served() {
    let bot = TestBot::start().await;
    let doc: Value = get(&bot, "/openapi.json", None).await.json().await.unwrap();
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3.1"),
        "{}",
        doc["openapi"]
    );
    for path in ["/v1/auth", "/v1/balance", "/healthz", "/readyz", "/metrics"] {
        assert!(doc["paths"].get(path).is_some(), "{path} is documented");
    }
    assert_eq!(doc["components"]["securitySchemes"]["bearer"]["scheme"], "bearer");
    assert!(doc["components"]["schemas"]["Problem"].is_object());

    let docs = get(&bot, "/docs/", None).await;
    assert_eq!(docs.status(), StatusCode::OK);
    let html = docs.text().await.unwrap();
    assert!(html.contains("swagger-ui"), "{html}");
    let script = get(&bot, "/docs/swagger-ui-bundle.js", None).await;
    assert_eq!(
        script.status(),
        StatusCode::OK,
        "the UI is served from the binary"
    );
    assert!(script.bytes().await.unwrap().len() > 100_000);
}

#[tokio::test(flavor = "multi_thread")]
async fn readiness_fails_with_the_reason_when_the_database_file_is_gone() {
    if crate::POSTGRES {
        // A SQLite file; PostgreSQL has none to lose.
        return;
    }
    let bot = TestBot::start().await;
    assert_eq!(get(&bot, "/healthz", None).await.status(), StatusCode::OK);
    let ready = get(&bot, "/readyz", None).await;
    assert_eq!(ready.status(), StatusCode::OK);
    std::fs::remove_file(bot.db_path()).expect("delete the database file");
    let gone = problem(get(&bot, "/readyz", None).await, StatusCode::SERVICE_UNAVAILABLE).await;
    assert!(gone["detail"].as_str().unwrap().contains("database"), "{gone}");
    assert_eq!(
        get(&bot, "/healthz", None).await.status(),
        StatusCode::OK,
        "still alive"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn metrics_count_api_requests_by_route_and_pixverse_calls_by_outcome() {
    let bot = TestBot::start().await;
    let token = web_token(&bot, "erin").await;
    get(&bot, "/v1/balance", Some(&token)).await;
    let (chat, user) = private_user(7001);
    bot.tg.send_text(chat, &user, "/help");
    bot.tg
        .wait_for("the /help answer", DEADLINE, |tg| {
            !tg.bot_messages(chat).is_empty()
        })
        .await;
    let text = get(&bot, "/metrics", None).await.text().await.unwrap();
    for needle in [
        r#"pixverse_bot_api_requests_total{route="/v1/auth",method="POST",status="200"}"#,
        r#"pixverse_bot_pixverse_requests_total{call="/creative_platform/login",outcome="ok"}"#,
        "pixverse_bot_pixverse_request_duration_seconds_bucket",
        r#"pixverse_bot_tasks{state="queued"}"#,
        r#"pixverse_bot_tasks_finished_total{outcome="delivered"}"#,
        r#"pixverse_bot_telegram_requests_total{kind="send_message",outcome="ok"}"#,
    ] {
        assert!(text.contains(needle), "{needle} in\n{text}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn token_in_a_private_chat_reaches_the_same_account_and_revoke_ends_it() {
    let bot = TestBot::start().await;
    let (chat, user) = private_user(7101);
    bot.tg.send_text(chat, &user, "/token");
    let answer = bot.wait_for_text(chat, "pvb_").await;
    let token = answer
        .split_whitespace()
        .find(|w| w.starts_with("pvb_"))
        .expect("the token in the reply")
        .to_owned();
    let balance: Value = get(&bot, "/v1/balance", Some(&token)).await.json().await.unwrap();
    // The chat user has no own account: the API shows their pool quota, the same as /balance.
    assert_eq!(balance["source"], "pool", "{balance}");
    let storage = bot.storage().await;
    let owner: i64 = pixverse_bot::on_pool!(storage.engine(), |pool| sqlx::query_scalar(
        "select user_id from api_token"
    )
    .fetch_one(pool)
    .await)
    .unwrap();
    assert_eq!(owner, 7101, "the token is the Telegram user's own account");

    bot.tg.send_text(chat, &user, "/token revoke");
    bot.wait_for_text(chat, "revoked").await;
    problem(
        get(&bot, "/v1/balance", Some(&token)).await,
        StatusCode::UNAUTHORIZED,
    )
    .await;

    // In a group no token is issued (it would be everyone's).
    let group = TgChat::Group(-7102);
    bot.tg.send_text(group, &TgUser::new(7103), "/token");
    bot.wait_for_text(group, "private chat").await;
    let tokens: i64 = pixverse_bot::on_pool!(storage.engine(), |pool| sqlx::query_scalar(
        "select count(*) from api_token"
    )
    .fetch_one(pool)
    .await)
    .unwrap();
    assert_eq!(tokens, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn webhook_mode_stores_each_update_once_and_refuses_a_wrong_secret() {
    let mut bot = TestBot::start_with(|env| {
        env.insert(
            "TELEGRAM_WEBHOOK_URL".into(),
            "https://bot.example.com/tg/hook".into(),
        );
        env.insert("TELEGRAM_WEBHOOK_SECRET".into(), "hook_secret-1".into());
    })
    .await;
    let set = bot.tg.calls_to("setwebhook");
    assert_eq!(set[0].params["url"], "https://bot.example.com/tg/hook");
    assert_eq!(set[0].params["secret_token"], "hook_secret-1");
    assert!(
        bot.tg.calls_to("getupdates").is_empty(),
        "no long polling in webhook mode"
    );
    let doc: Value = get(&bot, "/openapi.json", None).await.json().await.unwrap();
    assert!(
        doc["paths"]["/tg/hook"]["post"].is_object(),
        "the webhook is documented"
    );

    let (chat, user) = private_user(7201);
    bot.tg.send_text(chat, &user, "/help");
    let updates = bot.tg.drain_updates();
    assert_eq!(updates.len(), 1);
    let hook = format!("{}/tg/hook", bot.http_url());
    let post = |secret: &'static str, update: Value| {
        let hook = hook.clone();
        async move {
            client()
                .post(hook)
                .header("X-Telegram-Bot-Api-Secret-Token", secret)
                .json(&update)
                .send()
                .await
                .unwrap()
        }
    };
    problem(post("wrong", updates[0].clone()).await, StatusCode::UNAUTHORIZED).await;
    let no_secret = client().post(&hook).json(&updates[0]).send().await.unwrap();
    problem(no_secret, StatusCode::UNAUTHORIZED).await;
    assert!(
        bot.tg.bot_messages(chat).is_empty(),
        "nothing handled without the secret"
    );

    // Telegram retries when it sees no 200: deliver the same update three times.
    for _ in 0..3 {
        assert_eq!(
            post("hook_secret-1", updates[0].clone()).await.status(),
            StatusCode::OK
        );
    }
    bot.tg
        .wait_for("the /help answer", DEADLINE, |tg| {
            !tg.bot_messages(chat).is_empty()
        })
        .await;
    // A later update proves the earlier ones were all dispatched before we count.
    bot.tg.send_text(chat, &user, "/token");
    let next = bot.tg.drain_updates();
    assert_eq!(
        post("hook_secret-1", next[0].clone()).await.status(),
        StatusCode::OK
    );
    bot.wait_for_text(chat, "pvb_").await;
    assert_eq!(
        bot.tg.bot_messages(chat).len(),
        2,
        "the redelivered /help was handled once"
    );

    // The webhook stays set at shutdown, so updates wait at Telegram for the next start.
    bot.stop().await.expect("a clean stop");
    assert!(bot.tg.calls_to("deletewebhook").is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn an_update_stored_before_a_crash_is_handled_after_the_restart() {
    let mut bot = TestBot::start_with(|env| {
        env.insert(
            "TELEGRAM_WEBHOOK_URL".into(),
            "https://bot.example.com/hook".into(),
        );
        env.insert("TELEGRAM_WEBHOOK_SECRET".into(), "s3".into());
    })
    .await;
    bot.crash();
    // Stored by the webhook, then the process died before handing it over.
    let (chat, user) = private_user(7301);
    bot.tg.send_text(chat, &user, "/help");
    let update = bot.tg.drain_updates().remove(0);
    let storage = bot.storage().await;
    // Claimed for an hour by the run that crashed: the restart, alone, knows it is a leftover.
    let crashed = pixverse_bot::storage::UpdateClaim::new(Duration::from_secs(3600));
    assert!(
        storage
            .store_update(
                update["update_id"].as_i64().unwrap(),
                &update.to_string(),
                &crashed
            )
            .await
            .unwrap()
    );
    storage.close().await;
    bot.launch().await;
    bot.tg
        .wait_for("the stored /help answered after the restart", DEADLINE, |tg| {
            !tg.bot_messages(chat).is_empty()
        })
        .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_idempotency_key_left_reserved_by_a_crash_is_free_again_after_a_minute() {
    use pixverse_bot::storage::Reservation;
    let bot = TestBot::start().await;
    let storage = bot.storage().await;
    let (chat, user) = private_user(7501);
    bot.tg.send_text(chat, &user, "/token");
    bot.wait_for_text(chat, "pvb_").await;
    let hash = [7u8; 32];
    assert_eq!(
        storage.reserve_idempotency(7501, "k", &hash).await.unwrap(),
        Reservation::Reserved
    );
    // The request died before its task was stored: a retry meanwhile is told to wait...
    assert_eq!(
        storage.reserve_idempotency(7501, "k", &hash).await.unwrap(),
        Reservation::InProgress
    );
    // ...and after a minute the key is taken over instead of being stuck for 24 h.
    pixverse_bot::on_pool!(storage.writer(), |pool| sqlx::query(
        "update api_idempotency set created_at = created_at - 61000"
    )
    .execute(pool)
    .await
    .map(|_| ()))
    .unwrap();
    assert_eq!(
        storage.reserve_idempotency(7501, "k", &hash).await.unwrap(),
        Reservation::Reserved
    );
    storage.complete_idempotency(7501, "k", 99).await.unwrap();
    assert_eq!(
        storage.reserve_idempotency(7501, "k", &hash).await.unwrap(),
        Reservation::Existing(99)
    );
    assert_eq!(
        storage.reserve_idempotency(7501, "k", &[8u8; 32]).await.unwrap(),
        Reservation::OtherRequest
    );
}
