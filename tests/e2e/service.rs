//! The service layer on its own, as a door other than Telegram (the HTTP API) uses it: a real
//! database, no bot.

use std::{collections::HashSet, sync::Arc};

use bytes::Bytes;
use pixverse_bot::{
    domain::{GenerationParams, TaskId, TaskKind},
    service::{AcceptError, Destination, ImageSource, Limits, Refusal, Service, Spec, WorkOrder},
    storage::{AccessMode, Cipher, SeenUser, Storage},
};
use secrecy::SecretString;
use tokio::sync::Notify;

use super::support::database::TestDatabase;

const USER: i64 = 4001;

async fn service(database: &TestDatabase) -> (Service, Storage, Arc<Notify>) {
    let storage = Storage::connect(&database.url, Cipher::ephemeral())
        .await
        .expect("database");
    storage
        .upsert_operator_account(&SecretString::from("op-key".to_owned()))
        .await
        .expect("a pool account");
    storage
        .upsert_user(&SeenUser {
            id: USER,
            username: None,
            first_name: "Api",
            language: None,
            in_private_chat: false,
        })
        .await
        .expect("the user");
    let wake = Arc::new(Notify::new());
    let limits = Limits {
        max_in_flight: 2,
        max_per_hour: 10,
        pool_daily_quota: 5,
    };
    let service = Service::new(storage.clone(), wake.clone(), HashSet::new(), limits);
    (service, storage, wake)
}

fn api_order(kind: TaskKind, image: Option<ImageSource>) -> WorkOrder {
    WorkOrder {
        requester: USER,
        destination: Destination::Api,
        kind,
        spec: Spec::Given {
            prompt: "a lighthouse in fog".into(),
            params: GenerationParams::default(),
        },
        image,
        mode: None,
        effect: None,
    }
}

#[tokio::test]
async fn an_api_request_is_stored_with_its_uploaded_image_and_wakes_the_worker_once_let_go() {
    let dir = tempfile::tempdir().unwrap();
    let database = TestDatabase::new(dir.path(), "service.db").await;
    let (service, storage, wake) = service(&database).await;
    let image = ImageSource::Uploaded {
        content_type: "image/png".into(),
        bytes: Bytes::from_static(b"\x89PNG fake"),
    };
    let accepted = service
        .accept(api_order(TaskKind::I2v, Some(image)))
        .await
        .expect("accepted");
    let woken = wake.notified();
    tokio::pin!(woken);
    assert!(
        futures_util::poll!(woken.as_mut()).is_pending(),
        "the worker waits while the door holds the task"
    );
    let task_id = accepted.task_id;
    drop(accepted);
    tokio::time::timeout(std::time::Duration::from_secs(1), woken)
        .await
        .expect("letting go wakes the worker");

    let task = storage.task(TaskId(task_id)).await.unwrap().expect("stored");
    assert_eq!(
        (task.user_id.0, task.chat_id.0, task.image_file_id),
        (USER, 0, None)
    );
    let upload = storage
        .task_upload(task_id)
        .await
        .unwrap()
        .expect("the image is stored");
    assert_eq!(upload.content_type, "image/png");
    assert_eq!(upload.bytes.as_ref(), b"\x89PNG fake");
    let destination: String = pixverse_bot::on_pool!(storage.engine(), |pool| sqlx::query_scalar(
        "select destination from task where id = $1"
    )
    .bind(task_id)
    .fetch_one(pool)
    .await)
    .unwrap();
    assert_eq!(destination, "api");
}

#[tokio::test]
async fn the_api_door_gets_typed_refusals_and_nothing_is_stored() {
    let dir = tempfile::tempdir().unwrap();
    let database = TestDatabase::new(dir.path(), "service.db").await;
    let (service, storage, _wake) = service(&database).await;
    let refusal = |result: Result<_, AcceptError>| match result {
        Err(AcceptError::Refused(refusal)) => refusal,
        Err(e) => panic!("unexpected error: {e}"),
        Ok(_) => panic!("accepted"),
    };

    // An i2v request needs an image; a bad combination names the problem.
    let no_image = service.accept(api_order(TaskKind::I2v, None)).await;
    assert_eq!(refusal(no_image), Refusal::ImageMismatch { kind: TaskKind::I2v });
    let mut fast_8s = api_order(TaskKind::T2v, None);
    fast_8s.spec = Spec::Given {
        prompt: "x".into(),
        params: GenerationParams {
            motion_mode: pixverse_bot::domain::MotionMode::Fast,
            duration: 8,
            ..Default::default()
        },
    };
    assert!(matches!(
        refusal(service.accept(fast_8s).await),
        Refusal::Invalid { .. }
    ));

    // Allowlist mode: a stranger is refused; banned beats allowed.
    storage.set_access_mode(AccessMode::Allowlist).await.unwrap();
    let stranger = service.accept(api_order(TaskKind::T2v, None)).await;
    assert_eq!(refusal(stranger), Refusal::NotAllowed);
    storage.set_allowed(USER, true).await.unwrap();
    storage.set_banned(USER, true).await.unwrap();
    let banned = service.accept(api_order(TaskKind::T2v, None)).await;
    assert_eq!(refusal(banned), Refusal::Banned);

    // A placeholder sender (an anonymous group admin) is never billed.
    let mut anonymous = api_order(TaskKind::T2v, None);
    anonymous.requester = 1087968824;
    assert_eq!(refusal(service.accept(anonymous).await), Refusal::AnonymousSender);

    let tasks: i64 = pixverse_bot::on_pool!(storage.engine(), |pool| sqlx::query_scalar(
        "select count(*) from task"
    )
    .fetch_one(pool)
    .await)
    .unwrap();
    assert_eq!(tasks, 0);
}
