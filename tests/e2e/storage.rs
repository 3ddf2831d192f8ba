//! Storage on its own: claims, leases (expiry, renewal, fencing) and the task transitions, on a
//! fresh database per test. Only `fresh_storage` knows the engine, so the same tests can run on
//! PostgreSQL once it lands.

use std::time::{Duration, Instant};

use pixverse_bot::{
    domain::{ChatId, GenerationParams, TaskId, TaskKind, TaskState, UserId, WaitReason},
    storage::{Cipher, LeaseError, NewTask, Resubmit, SeenUser, Storage, TaskLease, now_ms},
};
use tempfile::TempDir;

use super::support::database::TestDatabase;

const LONG: Duration = Duration::from_secs(60);
const OWNER: i64 = 5001;

/// A fresh database on this target's engine (kept until the test ends) with one user.
async fn fresh_storage() -> (Storage, TestDatabase, TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let database = TestDatabase::new(dir.path(), "storage.db").await;
    let storage = Storage::connect(&database.url, Cipher::ephemeral())
        .await
        .expect("open the database");
    let seen = SeenUser {
        id: OWNER,
        username: None,
        first_name: "Ada",
        language: None,
        in_private_chat: true,
    };
    storage.upsert_user(&seen).await.expect("a user");
    (storage, database, dir)
}

async fn queue(storage: &Storage, prompt: &str) -> TaskId {
    storage
        .insert_task(&NewTask {
            user_id: UserId(OWNER),
            chat_id: ChatId(OWNER),
            request_message_id: 1,
            thread_id: None,
            kind: TaskKind::T2v,
            prompt: prompt.to_owned(),
            params: GenerationParams::default(),
            image_file_id: None,
            credential_id: None,
            seed_auto: false,
            mode_input: None,
            pool_account_id: None,
            source_update: None,
        })
        .await
        .expect("insert a task")
}

async fn claim_one(storage: &Storage, lease: Duration) -> TaskLease {
    let mut claimed = storage.claim_due_tasks(10, lease).await.expect("claim");
    assert_eq!(claimed.len(), 1, "exactly one task claimed");
    claimed.pop().expect("one")
}

async fn state(storage: &Storage, id: TaskId) -> TaskState {
    storage.task(id).await.expect("read").expect("the task").state
}

fn is_lost<T: std::fmt::Debug>(result: Result<T, LeaseError>) -> bool {
    matches!(result, Err(LeaseError::Lost(_)))
}

#[tokio::test]
async fn a_claim_takes_each_due_task_once() {
    let (storage, _database, _dir) = fresh_storage().await;
    queue(&storage, "one").await;
    queue(&storage, "two").await;
    let first = storage.claim_due_tasks(10, LONG).await.unwrap();
    assert_eq!(first.len(), 2);
    assert!(
        storage.claim_due_tasks(10, LONG).await.unwrap().is_empty(),
        "held tasks are not claimed again"
    );
}

#[tokio::test]
async fn an_expired_lease_is_claimed_again_and_its_old_holder_changes_nothing() {
    let (storage, _database, _dir) = fresh_storage().await;
    let id = queue(&storage, "a fox").await;
    let stale = claim_one(&storage, Duration::from_millis(50)).await;
    let started = Instant::now();
    let fresh = loop {
        if let Some(lease) = storage.claim_due_tasks(10, LONG).await.unwrap().pop() {
            break lease;
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "the lease never expired"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    let expired_at = stale.task().lease_until.expect("held");
    assert!(now_ms() >= expired_at, "not before it expired");

    assert!(
        is_lost(stale.generating(42, now_ms()).await),
        "the stale holder is fenced off"
    );
    let task = storage.task(id).await.unwrap().unwrap();
    assert_eq!(
        (task.state, task.video_id),
        (TaskState::Queued, None),
        "and wrote nothing"
    );

    fresh
        .generating(7, now_ms())
        .await
        .expect("the new holder moves it");
    let task = storage.task(id).await.unwrap().unwrap();
    assert_eq!((task.state, task.video_id), (TaskState::Generating, Some(7)));
}

#[tokio::test]
async fn a_renewed_lease_outlives_its_first_term() {
    let (storage, _database, _dir) = fresh_storage().await;
    queue(&storage, "a kite").await;
    // Terms long enough that a busy machine (the whole suite on both engines) cannot stall a
    // renewal past one; the loop still runs three of them.
    let term = Duration::from_millis(400);
    let lease = claim_one(&storage, term).await;
    let token = lease.claim().upgrade().expect("held").token();
    let started = Instant::now();
    while started.elapsed() < term * 3 {
        storage.renew_leases(&[token], term).await.unwrap();
        assert!(
            storage.claim_due_tasks(10, LONG).await.unwrap().is_empty(),
            "a renewed lease is not taken over"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    lease.delivering("https://media/1.mp4").await.expect("still held");
}

#[tokio::test]
async fn a_cancelled_task_refuses_the_writes_of_its_holder() {
    let (storage, _database, _dir) = fresh_storage().await;
    let id = queue(&storage, "a boat").await;
    let lease = claim_one(&storage, LONG).await;
    storage
        .cancel_task(id, "cancelled by admin")
        .await
        .unwrap()
        .expect("cancelled");
    assert!(is_lost(lease.delivered(Some("file")).await));
    assert_eq!(
        state(&storage, id).await,
        TaskState::Failed,
        "cancelled stays cancelled"
    );
}

#[tokio::test]
async fn the_transitions_walk_a_task_from_queued_to_delivered() {
    let (storage, _database, _dir) = fresh_storage().await;
    let id = queue(&storage, "a lighthouse").await;

    let mut lease = claim_one(&storage, LONG).await;
    let trace = lease.submitting(None).await.unwrap();
    assert!(uuid::Uuid::parse_str(&trace).is_ok(), "a UUID trace id: {trace}");
    assert_eq!(state(&storage, id).await, TaskState::Submitting);
    // An unknown outcome: the retry is the same submit, under the same trace id.
    lease
        .retry(now_ms(), "connection reset", Resubmit::SameTrace)
        .await
        .unwrap();
    let mut lease = claim_one(&storage, LONG).await;
    assert_eq!(lease.task().attempts, 1);
    assert_eq!(
        lease.submitting(None).await.unwrap(),
        trace,
        "same submit, same trace id"
    );
    // PixVerse answered with an error: the next attempt is new work.
    lease
        .retry(now_ms(), "ErrCode 500069", Resubmit::NewWork)
        .await
        .unwrap();
    let mut lease = claim_one(&storage, LONG).await;
    let second = lease.submitting(None).await.unwrap();
    assert_ne!(second, trace, "new work, new trace id");

    lease.generating(99, now_ms()).await.unwrap();
    let task = storage.task(id).await.unwrap().unwrap();
    assert_eq!(
        (task.state, task.video_id, task.attempts),
        (TaskState::Generating, Some(99), 0)
    );
    assert!(task.submitted_at.is_some() && task.lease_until.is_none());

    let lease = claim_one(&storage, LONG).await;
    lease.delivering("https://media/99.mp4").await.unwrap();
    // Handed to its own step: due now, not held.
    let lease = claim_one(&storage, LONG).await;
    assert_eq!(lease.task().state, TaskState::Delivering);
    assert_eq!(lease.task().video_url.as_deref(), Some("https://media/99.mp4"));
    lease.delivered(Some("file-99")).await.unwrap();
    let task = storage.task(id).await.unwrap().unwrap();
    assert_eq!(task.state, TaskState::Delivered);
    assert_eq!(task.video_file_id.as_deref(), Some("file-99"));
    assert!(task.finished_at.is_some());
    assert!(
        storage.claim_due_tasks(10, LONG).await.unwrap().is_empty(),
        "final"
    );
}

/// Tasks waiting for a slot are rechecked rarely (a minute at the default poll interval), so
/// every transition that frees a slot must make them due at once: here a failed generation, and
/// a cancelled one. A task waiting for a login stays asleep.
#[tokio::test]
async fn a_generation_that_ends_or_is_cancelled_wakes_the_tasks_waiting_for_its_slot() {
    let (storage, _database, _dir) = fresh_storage().await;
    let an_hour = now_ms() + 3_600_000;
    let first = queue(&storage, "first").await;
    let mut lease = claim_one(&storage, LONG).await;
    lease.submitting(None).await.unwrap();
    lease.generating(41, now_ms()).await.unwrap();
    let generating = claim_one(&storage, LONG).await;
    let waiting = queue(&storage, "waiting").await;
    storage
        .wait_for_slot(vec![claim_one(&storage, LONG).await], an_hour)
        .await
        .unwrap();
    let login = queue(&storage, "login").await;
    claim_one(&storage, LONG)
        .await
        .wait(WaitReason::Login, an_hour)
        .await
        .unwrap();
    assert!(storage.claim_due_tasks(10, LONG).await.unwrap().is_empty());

    generating.fail("generation failed").await.unwrap();
    assert_eq!(state(&storage, first).await, TaskState::Failed);
    let woken = claim_one(&storage, LONG).await;
    assert_eq!(woken.id(), waiting, "the slot waiter is due at once");

    // It generates; another task waits for its slot; the user cancels it.
    let mut woken = woken;
    woken.submitting(None).await.unwrap();
    woken.generating(42, an_hour).await.unwrap();
    let next = queue(&storage, "next").await;
    storage
        .wait_for_slot(vec![claim_one(&storage, LONG).await], an_hour)
        .await
        .unwrap();
    assert!(storage.claim_due_tasks(10, LONG).await.unwrap().is_empty());
    storage.cancel_task(waiting, "cancelled").await.unwrap();
    assert_eq!(claim_one(&storage, LONG).await.id(), next);
    assert_eq!(
        storage.task(login).await.unwrap().unwrap().next_run_at,
        an_hour,
        "a task waiting for a login is not woken by a free slot"
    );
}

#[tokio::test]
async fn a_task_waiting_for_a_login_is_woken_by_the_next_login() {
    let (storage, _database, _dir) = fresh_storage().await;
    let id = queue(&storage, "a tram").await;
    let mut lease = claim_one(&storage, LONG).await;
    lease.submitting(None).await.unwrap();
    lease.wait(WaitReason::Login, now_ms() + 3_600_000).await.unwrap();
    let task = storage.task(id).await.unwrap().unwrap();
    assert_eq!(
        task.wait_reason,
        Some(WaitReason::Login),
        "a typed reason, not error text"
    );
    assert_eq!(
        task.state,
        TaskState::Queued,
        "a submit not taken is queued again"
    );
    assert!(
        storage.claim_due_tasks(10, LONG).await.unwrap().is_empty(),
        "not due for an hour"
    );

    assert_eq!(
        storage.wake_tasks_waiting_for_login(UserId(OWNER)).await.unwrap(),
        1
    );
    let lease = claim_one(&storage, LONG).await;
    assert_eq!(lease.task().wait_reason, None);
}

#[tokio::test]
async fn a_step_that_keeps_failing_ends_its_task_at_the_last_attempt() {
    let (storage, _database, _dir) = fresh_storage().await;
    let id = queue(&storage, "a comet").await;
    for attempt in 1..=3 {
        let lease = claim_one(&storage, LONG).await;
        let ended = storage
            .step_failed(&[lease.held()], "internal error: cannot decrypt", now_ms(), 3)
            .await
            .unwrap();
        let task = storage.task(id).await.unwrap().unwrap();
        assert_eq!(task.attempts, attempt);
        if attempt < 3 {
            assert!(ended.is_empty(), "attempt {attempt} retries");
            assert_eq!(task.state, TaskState::Queued);
        } else {
            assert_eq!(ended.len(), 1, "the last attempt ends it");
            assert_eq!(task.state, TaskState::Failed);
        }
    }
}

#[tokio::test]
async fn a_stored_value_that_does_not_decode_is_an_error_not_a_default() {
    let (storage, _database, _dir) = fresh_storage().await;
    let id = queue(&storage, "a bell").await;
    pixverse_bot::on_pool!(storage.writer(), |pool| sqlx::query(
        "update task set params = '{\"model\":\"v99\"}' where id = $1"
    )
    .bind(id)
    .execute(pool)
    .await
    .map(|_| ()))
    .unwrap();
    assert!(storage.task(id).await.is_err(), "unknown parameters are refused");
}

#[tokio::test]
async fn a_generation_time_is_learned_as_a_weighted_mean_and_kept() {
    let (storage, _database, _dir) = fresh_storage().await;
    let first = storage
        .record_generation_time("v5", "540p", 5, 40_000)
        .await
        .unwrap();
    assert_eq!(first, 40_000, "the first observation is the mean");
    let second = storage
        .record_generation_time("v5", "540p", 5, 50_000)
        .await
        .unwrap();
    assert_eq!(second, 45_000, "the first ones make a plain mean");
    for _ in 0..18 {
        storage
            .record_generation_time("v5", "540p", 5, 45_000)
            .await
            .unwrap();
    }
    let next = storage
        .record_generation_time("v5", "540p", 5, 55_000)
        .await
        .unwrap();
    assert_eq!(next, 45_500, "from the 21st on, the newest counts a twentieth");
    storage
        .record_generation_time("v6", "1080p", 8, 90_000)
        .await
        .unwrap();
    let mut times = storage.generation_times().await.unwrap();
    times.sort_by_key(|t| t.typical_ms);
    assert_eq!(times.len(), 2, "one per kind");
    assert_eq!((times[0].typical_ms, times[0].samples), (45_500, 21));
}

/// A task PixVerse accepted, polled once and parked (as the worker does after a first poll that
/// found it still generating).
async fn parked(storage: &Storage, prompt: &str) -> TaskId {
    let id = queue(storage, prompt).await;
    let mut lease = claim_one(storage, LONG).await;
    lease.submitting(None).await.unwrap();
    lease.generating(7, now_ms()).await.unwrap();
    let first_poll = claim_one(storage, LONG).await;
    storage.park_generating(vec![first_poll]).await.unwrap();
    id
}

#[tokio::test]
async fn a_parked_task_is_never_claimed_and_is_taken_back_once_under_a_fresh_lease() {
    let (storage, _database, _dir) = fresh_storage().await;
    let id = parked(&storage, "a kite").await;
    assert!(
        storage.claim_due_tasks(10, LONG).await.unwrap().is_empty(),
        "parked: polled from the worker's memory, never claimed"
    );
    let all: Vec<TaskId> = storage
        .parked_tasks()
        .await
        .unwrap()
        .iter()
        .map(|t| t.id)
        .collect();
    assert_eq!(all, vec![id], "what a restart polls once");

    let mut taken = storage.claim_parked(&[id], LONG).await.unwrap();
    assert_eq!(taken.len(), 1);
    assert!(
        storage.claim_parked(&[id], LONG).await.unwrap().is_empty(),
        "held: not taken twice"
    );
    taken
        .pop()
        .unwrap()
        .delivering("https://media/7.mp4")
        .await
        .unwrap();
    assert!(storage.parked_tasks().await.unwrap().is_empty());
    assert_eq!(state(&storage, id).await, TaskState::Delivering);
}

#[tokio::test]
async fn a_parked_task_cancelled_meanwhile_is_not_taken_and_not_polled_on() {
    let (storage, _database, _dir) = fresh_storage().await;
    let id = parked(&storage, "a balloon").await;
    storage
        .cancel_task(id, "cancelled by the user")
        .await
        .unwrap()
        .expect("cancelled");
    assert!(storage.claim_parked(&[id], LONG).await.unwrap().is_empty());
    assert!(storage.still_parked(&[id]).await.unwrap().is_empty());
    assert!(storage.parked_tasks().await.unwrap().is_empty());
    assert_eq!(state(&storage, id).await, TaskState::Failed);
}

#[tokio::test]
async fn a_lease_a_failed_step_left_on_a_parked_task_counts_once_expired() {
    let (storage, _database, _dir) = fresh_storage().await;
    let id = parked(&storage, "a comet").await;
    let short = Duration::from_millis(100);
    let abandoned = storage.claim_parked(&[id], short).await.unwrap();
    assert_eq!(abandoned.len(), 1);
    drop(abandoned);
    assert!(
        storage.claim_parked(&[id], LONG).await.unwrap().is_empty(),
        "still held"
    );
    tokio::time::sleep(short + Duration::from_millis(50)).await;
    let mut taken = storage.claim_parked(&[id], LONG).await.unwrap();
    assert_eq!(taken.len(), 1, "expired: taken again");
    taken.pop().unwrap().fail("generation failed").await.unwrap();
    assert_eq!(state(&storage, id).await, TaskState::Failed);
}

/// SQLite: every write goes through the one writer connection, and the read pool refuses one
/// (so a write that took the wrong pool fails in the tests instead of quietly competing with the
/// writer in SQLite's busy handler). PostgreSQL reads and writes on one pool.
#[tokio::test]
async fn on_sqlite_the_read_pool_refuses_a_write_and_the_writer_takes_it() {
    let (storage, _database, _dir) = fresh_storage().await;
    let id = queue(&storage, "a lantern").await;
    let through_readers = set_attempts(storage.engine(), id).await;
    if crate::POSTGRES {
        assert_eq!(through_readers.unwrap(), 1, "one pool for both on PostgreSQL");
    } else {
        let error = through_readers.expect_err("a read-only connection refuses a write");
        assert!(error.to_string().contains("readonly"), "{error}");
        assert_eq!(set_attempts(storage.writer(), id).await.unwrap(), 1);
    }
    let task = storage.task(id).await.unwrap().expect("the task");
    assert_eq!(task.attempts, 7, "a read sees what the writer committed");
}

async fn set_attempts(engine: &pixverse_bot::storage::Engine, id: TaskId) -> Result<u64, sqlx::Error> {
    pixverse_bot::on_pool!(engine, |pool| sqlx::query(
        "update task set attempts = 7 where id = $1"
    )
    .bind(id)
    .execute(pool)
    .await
    .map(|done| done.rows_affected()))
}

/// The inbox: an update's body is sealed at rest (a `/login` carries a password) and cleared once
/// handled; marking is fenced by the claim; handled updates are forgotten after 48 hours, those
/// not handled never.
#[tokio::test]
async fn inbox_bodies_are_sealed_and_cleared_when_handled_and_old_handled_updates_are_forgotten() {
    use pixverse_bot::storage::UpdateClaim;
    let (storage, _database, _dir) = fresh_storage().await;
    let mine = UpdateClaim::new(LONG);
    let body = r#"{"update_id":41,"message":{"text":"/login ann hunter2-secret"}}"#;
    let stored = storage
        .store_updates(&[(41, body), (42, "{}"), (43, "{}")], &mine)
        .await
        .unwrap();
    assert_eq!(stored, vec![41, 42, 43]);
    assert!(
        !storage.store_update(41, body, &mine).await.unwrap(),
        "a redelivery is not stored again"
    );
    let bodies = || async {
        pixverse_bot::on_pool!(storage.engine(), |pool| sqlx::query_as::<_, (i64, String)>(
            "select update_id, body from telegram_update order by update_id"
        )
        .fetch_all(pool)
        .await)
        .unwrap()
    };
    let at_rest = bodies().await;
    assert!(
        at_rest
            .iter()
            .all(|(_, body)| !body.contains("hunter2") && !body.contains("update_id")),
        "bodies are sealed: {at_rest:?}"
    );

    let other = UpdateClaim::new(LONG);
    assert_eq!(
        storage.mark_updates_handled(&[41, 42], &other).await.unwrap(),
        0,
        "not its claim"
    );
    assert_eq!(storage.mark_updates_handled(&[41, 42], &mine).await.unwrap(), 2);
    let after = bodies().await;
    assert_eq!(after[0].1, "", "cleared once handled");
    assert_eq!(after[1].1, "");
    assert_ne!(after[2].1, "", "not handled yet");

    // Update 41 was handled three days ago, 42 just now; 43 is not handled.
    pixverse_bot::on_pool!(storage.writer(), |pool| sqlx::query(
        "update telegram_update set handled_at = $1 where update_id = 41"
    )
    .bind(now_ms() - 72 * 3600 * 1000)
    .execute(pool)
    .await
    .map(|done| done.rows_affected()))
    .unwrap();
    assert_eq!(storage.forget_old_updates().await.unwrap(), 1);
    let left: Vec<i64> = bodies().await.into_iter().map(|(id, _)| id).collect();
    assert_eq!(left, vec![42, 43]);
}
