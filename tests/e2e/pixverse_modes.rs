//! The real `PixverseClient`'s further modes (transition, extend, fusion, lip-sync, sound effect,
//! media uploads, voices, templates) against the fake PixVerse: each call end to end, the fake's
//! checks of the documented combinations, and PixVerse's refusals mapped to error kinds.

use std::time::{Duration, Instant};

use pixverse_bot::domain::{FusionReference, FusionReferences, LipSyncAudio, ReferenceRole, VideoSource};
use pixverse_bot::pixverse::{
    Credential, ErrorKind, ExtendRequest, FusionRequest, GenerationRequest, LipSyncRequest, PixverseClient,
    PixverseError, SoundRequest, TransitionRequest, UploadedImage, VideoStatus,
};
use secrecy::SecretString;
use serde_json::{Value, json};

use crate::support::fake_pixverse::{FakeFault, FakePixverse};

const API_KEY: &str = "sk-modes-key-0123456789";
const USER: &str = "grace@example.com";
const PASSWORD: &str = "another correct horse";
const COST: i64 = 10;
const CREDITS: i64 = 10_000;

async fn setup() -> (FakePixverse, PixverseClient) {
    let fake = FakePixverse::start().await;
    fake.add_api_key(API_KEY);
    fake.add_web_account(USER, PASSWORD);
    let client = PixverseClient::new(&fake.url(), &fake.upload_url()).expect("client");
    (fake, client)
}

fn key() -> Credential {
    Credential::ApiKey(SecretString::from(API_KEY))
}

fn trace() -> String {
    uuid::Uuid::new_v4().to_string()
}

async fn image(client: &PixverseClient) -> i64 {
    match client.upload_image(&key(), vec![0xFF; 512], "png").await.unwrap() {
        UploadedImage::Platform { img_id } => img_id,
        other => panic!("expected a platform image, got {other:?}"),
    }
}

/// A finished t2v video of the key's account, to extend, lip-sync or sound.
async fn finished_video(client: &PixverseClient) -> i64 {
    let req = GenerationRequest {
        prompt: "a lighthouse at dusk".into(),
        model: "v5".into(),
        duration: 5,
        quality: "540p".into(),
        aspect_ratio: Some("16:9".into()),
        motion_mode: None,
        negative_prompt: None,
        seed: None,
        style: None,
        generate_audio: None,
        sound_effect: None,
        template_id: None,
        image: None,
    };
    let id = client.generate(&key(), &req).await.unwrap();
    assert_succeeds(client, id).await;
    id
}

/// Polls until the video leaves `Generating`, and asserts it succeeded, with a deadline.
async fn assert_succeeds(client: &PixverseClient, id: i64) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match client.statuses(&key(), &[id]).await.unwrap().get(&id) {
            Some(VideoStatus::Succeeded { .. }) => return,
            Some(VideoStatus::Generating) | None => {}
            Some(other) => panic!("video {id} ended {other:?}"),
        }
        assert!(
            Instant::now() < deadline,
            "video {id} still generating at the deadline"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// The last request to a path ending with `suffix`: its trace id and JSON body.
fn last_request(fake: &FakePixverse, suffix: &str) -> (Option<String>, Value) {
    let request = fake
        .requests()
        .into_iter()
        .rev()
        .find(|r| r.path.ends_with(suffix))
        .expect("such a request");
    (request.trace_id, request.body)
}

fn kind_of(fake: &FakePixverse, id: i64) -> (String, Option<String>) {
    let video = fake
        .videos()
        .into_iter()
        .find(|v| v.id == id)
        .expect("the fake knows it");
    (video.kind, video.image)
}

fn extend_req(video: VideoSource) -> ExtendRequest {
    ExtendRequest {
        prompt: "the camera keeps rising".into(),
        video,
        model: "v5".into(),
        duration: 5,
        quality: "540p".into(),
        negative_prompt: None,
        seed: Some(11),
        motion_mode: None,
        style: None,
    }
}

fn reference(role: ReferenceRole, img_id: i64, name: &str) -> FusionReference {
    FusionReference {
        role,
        img_id,
        name: name.into(),
    }
}

#[tokio::test]
async fn a_transition_goes_from_the_first_image_to_the_last_under_the_callers_trace_id() {
    let (fake, client) = setup().await;
    let (first, last) = (image(&client).await, image(&client).await);
    let trace_id = trace();
    let req = TransitionRequest {
        prompt: "day turns to night".into(),
        first_frame_img: first,
        last_frame_img: last,
        model: "v5".into(),
        duration: 5,
        quality: "540p".into(),
        negative_prompt: None,
        seed: None,
        motion_mode: None,
        sound: Some("crickets".into()),
    };
    let id = client.transition(&key(), &req, &trace_id).await.unwrap();
    assert_succeeds(&client, id).await;

    assert_eq!(
        kind_of(&fake, id),
        ("transition".into(), Some(format!("{first}>{last}")))
    );
    let (sent_trace, body) = last_request(&fake, "/video/transition/generate");
    assert_eq!(sent_trace.as_deref(), Some(trace_id.as_str()));
    assert_eq!(
        body["first_frame_img"],
        json!(first),
        "ids travel as JSON numbers"
    );
    assert_eq!(
        (&body["sound_effect_switch"], &body["sound_effect_content"]),
        (&json!(true), &json!("crickets"))
    );
    assert!(body.get("seed").is_none(), "unset fields are omitted: {body}");
    assert_eq!(fake.credits(API_KEY), Some(CREDITS - COST));
}

#[tokio::test]
async fn extend_continues_a_finished_video_or_an_uploaded_one() {
    let (fake, client) = setup().await;
    let source = finished_video(&client).await;
    let id = client
        .extend(&key(), &extend_req(VideoSource::Generated(source)), &trace())
        .await
        .unwrap();
    assert_succeeds(&client, id).await;
    assert_eq!(
        kind_of(&fake, id),
        ("extend".into(), Some(format!("video {source}")))
    );
    let (_, body) = last_request(&fake, "/video/extend/generate");
    assert!(body.get("video_media_id").is_none(), "{body}");

    let media = client
        .upload_media(&key(), vec![7; 4096], "clip.mp4", "video/mp4")
        .await
        .unwrap();
    assert_eq!(media.media_type.as_deref(), Some("video"));
    assert!(
        fake.uploaded_images()
            .contains(&(format!("media:{}", media.media_id), 4096))
    );
    let id = client
        .extend(
            &key(),
            &extend_req(VideoSource::Uploaded(media.media_id)),
            &trace(),
        )
        .await
        .unwrap();
    assert_succeeds(&client, id).await;
    assert_eq!(kind_of(&fake, id).1, Some(format!("media {}", media.media_id)));
    assert_eq!(fake.credits(API_KEY), Some(CREDITS - 3 * COST));
}

#[tokio::test]
async fn fusion_sends_each_named_reference_with_its_role() {
    let (fake, client) = setup().await;
    let (cat, beach) = (image(&client).await, image(&client).await);
    let prompt = "@cat naps on @sunny beach";
    let references = FusionReferences::parse(
        prompt,
        vec![
            reference(ReferenceRole::Subject, cat, "cat"),
            reference(ReferenceRole::Background, beach, "sunny beach"),
        ],
    )
    .unwrap();
    let req = FusionRequest {
        prompt: prompt.into(),
        references,
        model: "v4.5".into(),
        duration: 5,
        quality: "540p".into(),
        aspect_ratio: "9:16".into(),
        negative_prompt: Some("blur".into()),
        seed: None,
    };
    let id = client.fusion(&key(), &req, &trace()).await.unwrap();
    assert_succeeds(&client, id).await;
    assert_eq!(
        kind_of(&fake, id),
        ("fusion".into(), Some("cat,sunny beach".into()))
    );
    let (_, body) = last_request(&fake, "/video/fusion/generate");
    assert_eq!(
        body["image_references"],
        json!([
            { "type": "subject", "img_id": cat, "ref_name": "cat" },
            { "type": "background", "img_id": beach, "ref_name": "sunny beach" },
        ])
    );
}

#[tokio::test]
async fn lip_sync_speaks_an_uploaded_audio_or_a_listed_voice() {
    let (fake, client) = setup().await;
    let source = finished_video(&client).await;
    let audio = client
        .upload_media(&key(), vec![1; 2048], "voice.ogg", "audio/ogg")
        .await
        .unwrap();
    assert_eq!(audio.media_type.as_deref(), Some("audio"));
    let req = LipSyncRequest {
        video: VideoSource::Generated(source),
        audio: LipSyncAudio::Uploaded(audio.media_id),
    };
    let id = client.lip_sync(&key(), &req, &trace()).await.unwrap();
    assert_succeeds(&client, id).await;
    assert_eq!(kind_of(&fake, id).0, "lip_sync");

    let voice = client.tts_voices(&key()).await.unwrap().remove(1);
    assert_eq!(
        (voice.speaker_id.as_str(), voice.name.as_str()),
        ("Emily", "Emily")
    );
    let req = LipSyncRequest {
        video: VideoSource::Generated(source),
        audio: LipSyncAudio::from_fields(None, Some(&voice.speaker_id), Some("Hello there")).unwrap(),
    };
    let id = client.lip_sync(&key(), &req, &trace()).await.unwrap();
    assert_succeeds(&client, id).await;
    let (_, body) = last_request(&fake, "/video/lip_sync/generate");
    assert_eq!(
        body,
        json!({ "source_video_id": source, "lip_sync_tts_speaker_id": "Emily", "lip_sync_tts_content": "Hello there" })
    );
    assert_eq!(
        fake.videos().into_iter().find(|v| v.id == id).unwrap().prompt,
        "Hello there"
    );
}

#[tokio::test]
async fn a_sound_effect_gives_a_finished_video_its_described_sound() {
    let (fake, client) = setup().await;
    let source = finished_video(&client).await;
    let req = SoundRequest {
        video: VideoSource::Generated(source),
        description: pixverse_bot::domain::sound_description("  waves and gulls ").unwrap(),
        keep_original_sound: Some(false),
        seed: None,
    };
    let id = client.sound_effect(&key(), &req, &trace()).await.unwrap();
    assert_succeeds(&client, id).await;
    assert_eq!(
        kind_of(&fake, id),
        ("sound_effect".into(), Some(format!("video {source}")))
    );
    let (_, body) = last_request(&fake, "/video/sound_effect/generate");
    assert_eq!(
        body,
        json!({ "source_video_id": source, "sound_effect_content": "waves and gulls", "original_sound_switch": false })
    );
}

#[tokio::test]
async fn a_lip_sync_naming_an_audio_upload_as_its_video_is_refused_and_starts_nothing() {
    let (fake, client) = setup().await;
    let audio = client
        .upload_media(&key(), vec![1; 64], "a.mp3", "audio/mpeg")
        .await
        .unwrap();
    let req = LipSyncRequest {
        video: VideoSource::Uploaded(audio.media_id),
        audio: LipSyncAudio::Uploaded(audio.media_id),
    };
    let err = client.lip_sync(&key(), &req, &trace()).await.unwrap_err();
    assert_eq!(
        (err.code(), err.kind()),
        (Some(400017), ErrorKind::BadRequest),
        "{err}"
    );
    let unfinished = client
        .extend(&key(), &extend_req(VideoSource::Generated(42)), &trace())
        .await
        .unwrap_err();
    assert_eq!(unfinished.kind(), ErrorKind::BadRequest, "{unfinished}");
    assert!(fake.videos().is_empty());
    assert_eq!(fake.credits(API_KEY), Some(CREDITS));
}

#[tokio::test]
async fn the_fake_refuses_and_records_combinations_the_client_types_rule_out() {
    let (fake, client) = setup().await;
    fake.allow_violations();
    let img = image(&client).await;
    let http = reqwest::Client::new();
    let post = |path: &'static str, body: Value| {
        let request = http
            .post(format!("{}/openapi/v2/video/{path}/generate", fake.url()))
            .header("API-KEY", API_KEY)
            .header("Ai-trace-id", trace())
            .json(&body);
        async move { request.send().await.unwrap().json::<Value>().await.unwrap()["ErrCode"].clone() }
    };
    let common = json!({ "prompt": "@cat runs", "model": "v4.5", "duration": 5, "quality": "540p" });
    let with = |extra: Value| {
        let mut body = common.clone();
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        body
    };
    let answers = [
        post(
            "extend",
            with(json!({ "source_video_id": 1, "video_media_id": 2 })),
        )
        .await,
        post(
            "lip_sync",
            json!({ "video_media_id": 2, "audio_media_id": 3, "lip_sync_tts_content": "hi" }),
        )
        .await,
        post("sound_effect", json!({ "sound_effect_content": "rain" })).await,
        post(
            "fusion",
            with(json!({ "aspect_ratio": "16:9", "image_references": [
                { "type": "subject", "img_id": img, "ref_name": "cat" },
                { "type": "background", "img_id": img, "ref_name": "park" },
            ]})),
        )
        .await,
        post(
            "transition",
            with(json!({ "first_frame_img": img.to_string(), "last_frame_img": img })),
        )
        .await,
    ];
    assert_eq!(
        answers,
        [
            json!(400017),
            json!(400017),
            json!(400011),
            json!(400017),
            json!(400013)
        ]
    );
    let violations = fake.violations();
    assert_eq!(violations.len(), 5, "{violations:#?}");
    for (violation, says) in violations.iter().zip([
        "not both",
        "both lip_sync_tts_speaker_id",
        "source_video_id or video_media_id is required",
        "does not name @park",
        "first_frame_img sent as a string",
    ]) {
        assert!(violation.contains(says), "{violation:?} should say {says:?}");
    }
    assert!(fake.videos().is_empty());
}

#[tokio::test]
async fn pixverse_refusals_of_each_mode_map_to_their_error_kinds_and_are_not_retried() {
    let (fake, client) = setup().await;
    let source = finished_video(&client).await;
    let img = image(&client).await;
    let transition = TransitionRequest {
        prompt: "x".into(),
        first_frame_img: img,
        last_frame_img: img,
        model: "v5".into(),
        duration: 5,
        quality: "540p".into(),
        negative_prompt: None,
        seed: None,
        motion_mode: None,
        sound: None,
    };
    let sound = SoundRequest {
        video: VideoSource::Generated(source),
        description: "thunder".into(),
        keep_original_sound: None,
        seed: None,
    };
    let lip_sync = LipSyncRequest {
        video: VideoSource::Generated(source),
        audio: LipSyncAudio::from_fields(None, Some("1"), Some("hi")).unwrap(),
    };
    fake.fail_next("/video/transition/generate", FakeFault::ErrCode(500090));
    fake.fail_next("/video/extend/generate", FakeFault::ErrCode(500054));
    fake.fail_next("/video/sound_effect/generate", FakeFault::ErrCode(500044));
    fake.fail_next("/video/lip_sync/generate", FakeFault::ErrCode(10002));
    let errors: Vec<PixverseError> = vec![
        client
            .transition(&key(), &transition, &trace())
            .await
            .unwrap_err(),
        client
            .extend(&key(), &extend_req(VideoSource::Generated(source)), &trace())
            .await
            .unwrap_err(),
        client.sound_effect(&key(), &sound, &trace()).await.unwrap_err(),
        client.lip_sync(&key(), &lip_sync, &trace()).await.unwrap_err(),
    ];
    let kinds: Vec<_> = errors.iter().map(|e| (e.code(), e.kind())).collect();
    assert_eq!(
        kinds,
        [
            (Some(500090), ErrorKind::OutOfCredits),
            (Some(500054), ErrorKind::Moderation),
            (Some(500044), ErrorKind::Busy),
            (Some(10002), ErrorKind::CredentialInvalid),
        ]
    );
    for path in ["transition", "extend", "sound_effect", "lip_sync"] {
        assert_eq!(
            fake.count(&format!("/video/{path}/generate")),
            1,
            "{path} is sent once"
        );
    }
    assert_eq!(fake.videos().len(), 1, "only the source video was made");
}

#[tokio::test]
async fn a_mode_submit_whose_answer_was_lost_is_retried_under_its_trace_id_and_charged_once() {
    let (fake, client) = setup().await;
    let source = finished_video(&client).await;
    fake.fail_next("/video/extend/generate", FakeFault::AnswerDropped);
    let req = extend_req(VideoSource::Generated(source));
    let trace_id = trace();
    let lost = client.extend(&key(), &req, &trace_id).await.unwrap_err();
    assert_eq!(lost.kind(), ErrorKind::Transient, "{lost}");
    assert_eq!(fake.videos().len(), 2, "the extension started nonetheless");

    let id = client.extend(&key(), &req, &trace_id).await.unwrap();
    assert_eq!(
        id,
        fake.videos()[1].id,
        "the retry gets the video already started"
    );
    assert_eq!(fake.videos().len(), 2);
    assert_eq!(fake.credits(API_KEY), Some(CREDITS - 2 * COST));
}

#[tokio::test]
async fn voices_come_from_the_newer_listing_and_fall_back_to_the_older_one() {
    let (fake, client) = setup().await;
    let newer = client.tts_voices(&key()).await.unwrap();
    assert_eq!(newer.len(), 3);
    assert_eq!(
        (fake.count("/video/tts_speaker"), fake.count("/lip_sync/tts_list")),
        (1, 0)
    );

    fake.fail_next("/video/tts_speaker", FakeFault::Http(404));
    let older = client.tts_voices(&key()).await.unwrap();
    assert_eq!(older, newer, "both listings name the same voices");
    assert_eq!(
        (fake.count("/video/tts_speaker"), fake.count("/lip_sync/tts_list")),
        (2, 1)
    );

    fake.fail_next("/video/tts_speaker", FakeFault::ErrCode(10003));
    let refused = client.tts_voices(&key()).await.unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::CredentialInvalid, "{refused}");
    assert_eq!(
        fake.count("/lip_sync/tts_list"),
        1,
        "a refused key is not tried twice"
    );
}

#[tokio::test]
async fn effect_templates_are_read_whether_ids_are_numbers_or_strings() {
    let (fake, client) = setup().await;
    let templates = client.effect_templates(&key(), 1).await.unwrap();
    assert_eq!(templates.len(), 20);
    assert_eq!(templates[0].template_id, 315_000_000_000_000_001);
    assert_eq!(
        (templates[1].template_id, templates[1].name.as_str()),
        (315_000_000_000_000_002, "Effect 1")
    );
    fake.fail_next("/effects/templates/list", FakeFault::Http(503));
    assert_eq!(
        client.effect_templates(&key(), 2).await.unwrap().len(),
        20,
        "a 503 is retried"
    );
}

#[tokio::test]
async fn a_web_login_is_refused_before_any_mode_call_is_sent() {
    let (fake, client) = setup().await;
    let login = client.login(USER, &SecretString::from(PASSWORD)).await.unwrap();
    let web = Credential::WebToken(login.token);
    let before = fake.requests().len();
    let err = client
        .extend(&web, &extend_req(VideoSource::Generated(1)), &trace())
        .await
        .unwrap_err();
    assert!(matches!(err, PixverseError::InvalidInput(_)), "{err:?}");
    assert!(err.to_string().contains("Platform API key"), "{err}");
    assert_eq!(
        client.tts_voices(&web).await.unwrap_err().kind(),
        ErrorKind::BadRequest
    );
    assert_eq!(fake.requests().len(), before, "nothing reached PixVerse");
}
