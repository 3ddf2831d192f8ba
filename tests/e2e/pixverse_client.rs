//! The real `PixverseClient` against the fake PixVerse: both surfaces, every error class,
//! retries, and that no secret leaks into errors or logs of the client's types.

use std::time::{Duration, Instant};

use pixverse_bot::pixverse::{
    Balance, Credential, DownloadedVideo, ErrorKind, GenerationRequest, PixverseClient, PixverseError,
    UploadedImage, VideoStatus,
};
use secrecy::{ExposeSecret, SecretString};

use crate::support::fake_pixverse::{FakeFault, FakePixverse};

const API_KEY: &str = "sk-test-key-0123456789";
const USER: &str = "ada@example.com";
const PASSWORD: &str = "correct horse battery staple";

async fn setup() -> (FakePixverse, PixverseClient) {
    let fake = FakePixverse::start().await;
    fake.add_api_key(API_KEY);
    fake.add_web_account(USER, PASSWORD);
    let client = PixverseClient::new(&fake.url(), &fake.upload_url()).expect("client");
    (fake, client)
}

fn api_key() -> Credential {
    Credential::ApiKey(SecretString::from(API_KEY))
}

async fn web_token(client: &PixverseClient) -> Credential {
    let login = client
        .login(USER, &SecretString::from(PASSWORD))
        .await
        .expect("login");
    Credential::WebToken(login.token)
}

fn t2v(prompt: &str) -> GenerationRequest {
    GenerationRequest {
        prompt: prompt.into(),
        model: "v5".into(),
        duration: 5,
        quality: "540p".into(),
        aspect_ratio: Some("16:9".into()),
        motion_mode: None,
        negative_prompt: Some("blurry".into()),
        seed: Some(42),
        style: None,
        generate_audio: None,
        sound_effect: None,
        template_id: None,
        image: None,
    }
}

fn i2v(prompt: &str, image: UploadedImage) -> GenerationRequest {
    GenerationRequest {
        aspect_ratio: None,
        image: Some(image),
        ..t2v(prompt)
    }
}

/// Polls until the video leaves `Generating`, failing the test after a deadline.
async fn final_status(client: &PixverseClient, cred: &Credential, id: i64) -> VideoStatus {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let statuses = client.statuses(cred, &[id]).await.expect("statuses");
        match statuses.get(&id) {
            Some(VideoStatus::Generating) | None => {}
            Some(status) => return status.clone(),
        }
        assert!(
            Instant::now() < deadline,
            "video {id} still generating at the deadline"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

async fn download(client: &PixverseClient, url: &str) -> Vec<u8> {
    let file = tempfile::NamedTempFile::new().unwrap();
    match client
        .download_video(url, 50 << 20, file.path())
        .await
        .expect("download")
    {
        DownloadedVideo::Saved { bytes } => {
            let saved = std::fs::read(file.path()).unwrap();
            assert_eq!(saved.len() as u64, bytes, "the size reported is the size written");
            saved
        }
        DownloadedVideo::TooLarge { size } => panic!("unexpectedly too large: {size:?}"),
    }
}

/// The JSON body of the first request whose path ends with `suffix`.
fn body_of(fake: &FakePixverse, suffix: &str) -> serde_json::Value {
    let requests = fake.requests();
    let request = requests.into_iter().find(|r| r.path.ends_with(suffix));
    request.expect("such a request").body
}

fn assert_clean(fake: &FakePixverse) {
    assert_eq!(fake.violations(), Vec::<String>::new());
}

#[tokio::test]
async fn api_key_text_to_video_round_trip_delivers_the_video() {
    let (fake, client) = setup().await;
    let cred = api_key();
    let id = client.generate(&cred, &t2v("a red fox in snow")).await.unwrap();

    let VideoStatus::Succeeded { url } = final_status(&client, &cred, id).await else {
        panic!("video did not succeed");
    };
    assert_eq!(download(&client, &url).await, fake.video_bytes(id));
    let video = &fake.videos()[0];
    assert_eq!(
        (video.kind.as_str(), video.prompt.as_str()),
        ("t2v", "a red fox in snow")
    );
    assert_eq!(fake.count("/openapi/v2/video/text/generate"), 1);
    assert_clean(&fake);
}

#[tokio::test]
async fn api_key_image_to_video_uploads_then_generates_from_the_img_id() {
    let (fake, client) = setup().await;
    let cred = api_key();
    let image = client.upload_image(&cred, vec![0xFF; 1234], "jpg").await.unwrap();
    let UploadedImage::Platform { img_id } = image else {
        panic!("expected a platform image, got {image:?}");
    };
    assert_eq!(fake.uploaded_images(), vec![(img_id.to_string(), 1234)]);

    let id = client
        .generate(&cred, &i2v("it starts to rain", image))
        .await
        .unwrap();
    assert!(matches!(
        final_status(&client, &cred, id).await,
        VideoStatus::Succeeded { .. }
    ));
    let video = &fake.videos()[0];
    assert_eq!(video.kind, "i2v");
    assert_eq!(video.image, Some(img_id.to_string()));
    let body = body_of(&fake, "/img/generate");
    assert!(body.get("aspect_ratio").is_none());
    assert_clean(&fake);
}

#[tokio::test]
async fn web_login_returns_a_token_that_expires_in_about_a_month() {
    let (fake, client) = setup().await;
    let login = client.login(USER, &SecretString::from(PASSWORD)).await.unwrap();
    assert_eq!(login.username, USER);
    assert!(login.account_id > 0);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let expires_at = login.expires_at.expect("ExpireTime read from the token");
    assert!((now + 29 * 86_400..=now + 31 * 86_400).contains(&expires_at));
    assert_eq!(login.token.expose_secret().split('.').count(), 3);
    assert_clean(&fake);
}

#[tokio::test]
async fn web_upload_is_signed_so_oss_accepts_it_and_i2v_uses_its_path() {
    let (fake, client) = setup().await;
    let cred = web_token(&client).await;
    let image = client
        .upload_image(&cred, b"\x89PNG fake".to_vec(), "png")
        .await
        .unwrap();
    let UploadedImage::Web { path, url } = image.clone() else {
        panic!("expected a web image, got {image:?}");
    };
    assert!(path.starts_with("upload/") && path.ends_with(".png"), "{path}");
    assert!(url.ends_with(&path));
    assert_eq!(fake.uploaded_images(), vec![(path.clone(), 9)]);

    let id = client
        .generate(&cred, &i2v("the logo spins", image))
        .await
        .unwrap();
    assert!(matches!(
        final_status(&client, &cred, id).await,
        VideoStatus::Succeeded { .. }
    ));
    assert_eq!(fake.videos()[0].image, Some(path));
    assert_clean(&fake);
}

#[tokio::test]
async fn web_text_to_video_round_trip_delivers_the_video() {
    let (fake, client) = setup().await;
    let cred = web_token(&client).await;
    let id = client.generate(&cred, &t2v("a paper boat")).await.unwrap();
    let VideoStatus::Succeeded { url } = final_status(&client, &cred, id).await else {
        panic!("video did not succeed");
    };
    assert_eq!(download(&client, &url).await, fake.video_bytes(id));
    let body = body_of(&fake, "/video/t2v");
    assert_eq!(body["lip_sync_tts_speaker_id"], "Auto");
    assert_eq!(fake.videos()[0].account, USER);
    assert_clean(&fake);
}

#[tokio::test]
async fn web_statuses_for_several_videos_take_one_listing_call() {
    let (fake, client) = setup().await;
    let cred = web_token(&client).await;
    fake.hold_videos();
    let mut ids = Vec::new();
    for prompt in ["one", "two", "three"] {
        ids.push(client.generate(&cred, &t2v(prompt)).await.unwrap());
    }
    let unknown = 42;
    let mut all = ids.clone();
    all.push(unknown);

    let first = client.statuses(&cred, &all).await.unwrap();
    assert_eq!(fake.count("/video/list/personal"), 1);
    assert_eq!(first.len(), 3, "the unknown id is absent");
    assert!(first.values().all(|s| *s == VideoStatus::Generating));
    fake.finish_videos();
    let second = client.statuses(&cred, &all).await.unwrap();
    assert_eq!(fake.count("/video/list/personal"), 2);
    assert!(
        ids.iter()
            .all(|id| matches!(second[id], VideoStatus::Succeeded { .. }))
    );
    assert_clean(&fake);
}

#[tokio::test]
async fn ids_above_two_to_the_53_survive_the_round_trip() {
    let (fake, client) = setup().await;
    let id = client.generate(&api_key(), &t2v("precision")).await.unwrap();
    assert!(id > 1 << 53);
    assert_eq!(id, fake.videos()[0].id);
    assert_ne!(id as f64 as i64, id, "the fake's ids must not survive a float");
    let statuses = client.statuses(&api_key(), &[id]).await.unwrap();
    assert!(statuses.contains_key(&id));
    assert_clean(&fake);
}

#[tokio::test]
async fn a_wrong_password_is_credential_invalid() {
    let (fake, client) = setup().await;
    let err = client
        .login(USER, &SecretString::from("wrong password"))
        .await
        .err()
        .expect("login must fail");
    assert_eq!(err.kind(), ErrorKind::CredentialInvalid);
    assert!(!format!("{err} {err:?}").contains("wrong password"));
    assert_clean(&fake);
}

#[tokio::test]
async fn a_wrong_api_key_and_a_logged_out_token_are_credential_invalid() {
    let (fake, client) = setup().await;
    let wrong = Credential::ApiKey(SecretString::from("sk-not-a-key"));
    let err = client.balance(&wrong).await.unwrap_err();
    assert_eq!(
        (err.kind(), err.code()),
        (ErrorKind::CredentialInvalid, Some(10004))
    );

    let old = web_token(&client).await;
    let _new = web_token(&client).await; // one session per account: the old token is out
    let err = client.balance(&old).await.unwrap_err();
    assert_eq!(
        (err.kind(), err.code()),
        (ErrorKind::CredentialInvalid, Some(10005))
    );
    assert_clean(&fake);
}

#[tokio::test]
async fn each_error_code_class_maps_to_its_error_kind() {
    let (fake, client) = setup().await;
    let cases = [
        (10002, ErrorKind::CredentialInvalid),
        (400017, ErrorKind::BadRequest),
        (400032, ErrorKind::ImageExpired),
        (500031, ErrorKind::BadImage),
        (500041, ErrorKind::Transient),
        (500090, ErrorKind::OutOfCredits),
        (500044, ErrorKind::Busy),
        (500054, ErrorKind::Moderation),
        (500069, ErrorKind::Transient),
        (99999, ErrorKind::Transient),
        (500200, ErrorKind::CredentialInvalid),
    ];
    for (code, kind) in cases {
        fake.fail_next("/video/text/generate", FakeFault::ErrCode(code));
        let err = client.generate(&api_key(), &t2v("x")).await.unwrap_err();
        assert_eq!((err.code(), err.kind()), (Some(code), kind), "{err}");
    }
    assert_eq!(
        fake.count("/video/text/generate"),
        cases.len(),
        "generate is never retried"
    );
    assert!(fake.videos().is_empty());
    assert_clean(&fake);
}

#[tokio::test]
async fn out_of_credits_and_the_concurrency_limit_come_from_the_account() {
    let (fake, client) = setup().await;
    fake.set_credits(API_KEY, 0);
    let err = client.generate(&api_key(), &t2v("x")).await.unwrap_err();
    assert_eq!((err.code(), err.kind()), (Some(500090), ErrorKind::OutOfCredits));

    let web = web_token(&client).await;
    // Held, so none of the five finishes (30-60 ms) before the sixth is sent on a loaded machine.
    fake.hold_videos();
    for n in 0..5 {
        client.generate(&web, &t2v(&format!("video {n}"))).await.unwrap();
    }
    let err = client.generate(&web, &t2v("the sixth")).await.unwrap_err();
    assert_eq!((err.code(), err.kind()), (Some(500044), ErrorKind::Busy));
    assert!(err.is_retryable());
    fake.set_credits(USER, 0);
    let err = client.generate(&web, &t2v("x")).await.unwrap_err();
    assert_eq!((err.code(), err.kind()), (Some(500043), ErrorKind::OutOfCredits));
    assert_clean(&fake);
}

#[tokio::test]
async fn moderated_and_failed_videos_report_their_status() {
    let (fake, client) = setup().await;
    fake.set_generation_time(Duration::ZERO, Duration::ZERO);
    fake.set_final_status(7);
    let moderated = client.generate(&api_key(), &t2v("x")).await.unwrap();
    fake.set_final_status(8);
    let failed = client.generate(&api_key(), &t2v("y")).await.unwrap();
    let statuses = client.statuses(&api_key(), &[moderated, failed]).await.unwrap();
    assert_eq!(statuses[&moderated], VideoStatus::Moderated);
    assert_eq!(statuses[&failed], VideoStatus::Failed);
    assert_clean(&fake);
}

#[tokio::test]
async fn a_429_with_a_long_retry_after_surfaces_retry_after() {
    let (fake, client) = setup().await;
    fake.fail_next("/account/balance", FakeFault::HttpRetryAfter(429, 30));
    let err = client.balance(&api_key()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Transient);
    assert_eq!(err.retry_after(), Some(Duration::from_secs(30)));
    assert_eq!(fake.count("/account/balance"), 1, "a long wait is the caller's");
    assert_clean(&fake);
}

#[tokio::test]
async fn a_short_retry_after_is_waited_out_inside_the_client() {
    let (fake, client) = setup().await;
    fake.fail_next("/account/balance", FakeFault::HttpRetryAfter(429, 1));
    let started = Instant::now();
    let balance = client.balance(&api_key()).await.unwrap();
    assert!(started.elapsed() >= Duration::from_secs(1));
    assert_eq!(
        balance,
        Balance {
            daily: None,
            monthly: 10_000,
            package: 0
        }
    );
    assert_eq!(fake.count("/account/balance"), 2);
    assert_clean(&fake);
}

#[tokio::test]
async fn a_5xx_then_success_is_retried_for_statuses_with_a_fresh_trace_id() {
    let (fake, client) = setup().await;
    fake.hold_videos();
    let id = client.generate(&api_key(), &t2v("x")).await.unwrap();
    fake.fail_next(&format!("/video/result/{id}"), FakeFault::Http(502));
    fake.fail_next(&format!("/video/result/{id}"), FakeFault::Reset);
    let statuses = client.statuses(&api_key(), &[id]).await.unwrap();
    assert_eq!(statuses[&id], VideoStatus::Generating);
    let traces: Vec<_> = fake
        .requests()
        .iter()
        .filter(|r| r.path.contains("/video/result/"))
        .map(|r| r.trace_id.clone().unwrap())
        .collect();
    assert_eq!(traces.len(), 3);
    assert!(traces[0] != traces[1] && traces[1] != traces[2] && traces[0] != traces[2]);
    assert_clean(&fake);
}

/// Status polls travel their own HTTP path (`poll_http.rs`): its failures must come out as
/// every other call's do.
#[tokio::test]
async fn a_failing_listing_comes_out_as_the_same_errors_with_its_retries() {
    let (fake, client) = setup().await;
    let cred = web_token(&client).await;
    fake.hold_videos();
    let id = client.generate(&cred, &t2v("x")).await.unwrap();
    const LISTING: &str = "/video/list/personal";

    for _ in 0..3 {
        fake.fail_next(LISTING, FakeFault::Reset);
    }
    let err = client.statuses(&cred, &[id]).await.unwrap_err();
    assert!(matches!(err, PixverseError::Network(_)), "{err:?}");
    assert_eq!(err.kind(), ErrorKind::Transient);
    assert_eq!(fake.count(LISTING), 3, "one try and two retries");

    for _ in 0..3 {
        fake.fail_next(LISTING, FakeFault::Garbage);
    }
    let err = client.statuses(&cred, &[id]).await.unwrap_err();
    assert!(matches!(err, PixverseError::Decode(_)), "{err:?}");

    fake.fail_next(LISTING, FakeFault::ErrCode(10005));
    let err = client.statuses(&cred, &[id]).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::CredentialInvalid, "{err:?}");

    // A Retry-After is waited out inline, and the call then succeeds.
    fake.fail_next(LISTING, FakeFault::HttpRetryAfter(503, 1));
    let started = std::time::Instant::now();
    let statuses = client.statuses(&cred, &[id]).await.unwrap();
    assert!(started.elapsed() >= std::time::Duration::from_secs(1));
    assert_eq!(statuses[&id], VideoStatus::Generating);
    assert_clean(&fake);
}

#[tokio::test]
async fn a_5xx_on_generate_is_not_retried() {
    let (fake, client) = setup().await;
    fake.fail_next("/video/t2v", FakeFault::Http(503));
    let web = web_token(&client).await;
    let err = client.generate(&web, &t2v("x")).await.unwrap_err();
    assert!(matches!(err, PixverseError::Http { status: 503, .. }), "{err:?}");
    assert_eq!(err.kind(), ErrorKind::Transient);
    assert_eq!(fake.count("/video/t2v"), 1);
    assert_clean(&fake);
}

#[tokio::test]
async fn a_garbage_body_is_a_transient_decode_error() {
    let (fake, client) = setup().await;
    fake.fail_next("/video/text/generate", FakeFault::Garbage);
    let err = client.generate(&api_key(), &t2v("x")).await.unwrap_err();
    assert!(matches!(err, PixverseError::Decode(_)), "{err:?}");
    assert_eq!(err.kind(), ErrorKind::Transient);

    for _ in 0..3 {
        fake.fail_next("/account/balance", FakeFault::Garbage);
    }
    let err = client.balance(&api_key()).await.unwrap_err();
    assert!(matches!(err, PixverseError::Decode(_)), "{err:?}");
    assert_eq!(fake.count("/account/balance"), 3, "one try and two retries");
    assert_clean(&fake);
}

#[tokio::test]
async fn a_dropped_connection_on_generate_is_a_network_error_and_not_retried() {
    let (fake, client) = setup().await;
    fake.fail_next("/video/text/generate", FakeFault::Reset);
    let err = client.generate(&api_key(), &t2v("x")).await.unwrap_err();
    assert!(matches!(err, PixverseError::Network(_)), "{err:?}");
    assert_eq!(err.kind(), ErrorKind::Transient);
    assert!(
        !format!("{err:?}").contains("127.0.0.1"),
        "no URL in the error: {err:?}"
    );
    assert_eq!(fake.count("/video/text/generate"), 1);
    assert_clean(&fake);
}

#[tokio::test]
async fn a_failed_oss_put_is_retried_and_the_upload_completes() {
    let (fake, client) = setup().await;
    let cred = web_token(&client).await;
    fake.fail_next(".jpg", FakeFault::Http(503));
    let image = client.upload_image(&cred, vec![1; 100], "jpg").await.unwrap();
    assert!(matches!(image, UploadedImage::Web { .. }));
    assert_eq!(fake.count(".jpg"), 2);
    assert_clean(&fake);
}

#[tokio::test]
async fn balances_come_from_both_surfaces() {
    let (fake, client) = setup().await;
    fake.set_credits(USER, 250);
    let web = web_token(&client).await;
    let balance = client.balance(&web).await.unwrap();
    assert_eq!(
        balance,
        Balance {
            daily: Some(0),
            monthly: 250,
            package: 0
        }
    );
    assert_eq!(client.balance(&api_key()).await.unwrap().daily, None);
    assert_clean(&fake);
}

#[tokio::test]
async fn a_video_above_the_size_limit_is_not_read() {
    let (fake, client) = setup().await;
    fake.set_generation_time(Duration::ZERO, Duration::ZERO);
    fake.set_video_size(4096);
    let id = client.generate(&api_key(), &t2v("x")).await.unwrap();
    let VideoStatus::Succeeded { url } = final_status(&client, &api_key(), id).await else {
        panic!("video did not succeed");
    };
    let file = tempfile::NamedTempFile::new().unwrap();
    let too_large = client.download_video(&url, 1000, file.path()).await.unwrap();
    assert_eq!(too_large, DownloadedVideo::TooLarge { size: Some(4096) });
    assert_eq!(download(&client, &url).await, fake.video_bytes(id));
    assert_clean(&fake);
}

#[tokio::test]
async fn no_secret_appears_in_debug_or_display() {
    let (fake, client) = setup().await;
    let login = client.login(USER, &SecretString::from(PASSWORD)).await.unwrap();
    let token = login.token.expose_secret().to_owned();
    let web = Credential::WebToken(login.token);
    let key = api_key();
    let mut shown = vec![format!("{web:?}"), format!("{key:?}"), format!("{client:?}")];

    fake.fail_next("/user/credits", FakeFault::Http(401));
    let err = client.balance(&web).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::CredentialInvalid);
    shown.push(format!("{err} {err:?}"));
    let err = client
        .balance(&Credential::ApiKey("bad\nkey".into()))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::CredentialInvalid);
    shown.push(format!("{err} {err:?}"));

    for text in shown {
        for secret in [token.as_str(), API_KEY, PASSWORD, "bad\nkey"] {
            assert!(!text.contains(secret), "{text:?} leaks a secret");
        }
    }
    assert_clean(&fake);
}

#[tokio::test]
async fn the_fake_records_string_ids_and_trace_ids_reused_for_another_request() {
    let (fake, _client) = setup().await;
    fake.allow_violations();
    let http = reqwest::Client::new();
    let trace = uuid::Uuid::new_v4().to_string();
    for prompt in ["x", "y"] {
        let body = serde_json::json!({
            "prompt": prompt, "model": "v5", "duration": 5, "quality": "540p", "img_id": "400000000000000001"
        });
        let answer: serde_json::Value = http
            .post(format!("{}/openapi/v2/video/img/generate", fake.url()))
            .header("API-KEY", API_KEY)
            .header("Ai-trace-id", &trace)
            .json(&body)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(answer["ErrCode"], 400013);
    }
    let violations = fake.violations();
    assert_eq!(violations.len(), 2, "{violations:?}");
    assert!(violations[0].contains("img_id sent as a string"));
    assert!(violations[1].contains("reused for another request"));
}

#[tokio::test]
async fn a_submit_whose_answer_was_dropped_and_retried_with_its_trace_id_is_charged_once() {
    let (fake, _client) = setup().await;
    fake.fail_next("/video/text/generate", FakeFault::AnswerDropped);
    let http = reqwest::Client::new();
    let trace = uuid::Uuid::new_v4().to_string();
    let body = serde_json::json!({
        "prompt": "x", "model": "v5", "duration": 5, "quality": "540p", "aspect_ratio": "16:9"
    });
    let submit = || {
        http.post(format!("{}/openapi/v2/video/text/generate", fake.url()))
            .header("API-KEY", API_KEY)
            .header("Ai-trace-id", &trace)
            .json(&body)
            .send()
    };
    let first = async { submit().await?.bytes().await }.await;
    assert!(first.is_err(), "the first answer is lost: {first:?}");
    assert_eq!(fake.videos().len(), 1, "but the generation started");
    let retried: serde_json::Value = submit().await.unwrap().json().await.unwrap();
    assert_eq!(retried["ErrCode"], 0, "{retried}");
    assert_eq!(retried["Resp"]["video_id"], fake.videos()[0].id);
    assert_eq!(fake.videos().len(), 1, "the retry started nothing new");
    assert_eq!(fake.credits(API_KEY), Some(10_000 - 10), "and was not charged");
    assert_clean(&fake);
}
