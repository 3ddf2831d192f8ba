//! What the accept path (`service::Service::accept`) needs to know, and the insert that cannot
//! be raced, in as few statements as possible: each statement is a round trip to sqlx's SQLite
//! thread (~80 µs of CPU with the wake-ups), and accepting ~1,000 requests/s on two cores leaves
//! no room for a dozen of them. The happy path is two statements: [`Storage::accept_facts`] and
//! [`Storage::insert_task_within`].

use std::{
    sync::{
        Arc,
        atomic::{AtomicU8, Ordering},
    },
    time::Duration,
};

use bytes::Bytes;
use sqlx::types::Json;

use super::{AccessMode, NewTask, Storage, StorageError, UserAccess, now_ms};
use crate::domain::GenerationParams;

/// The task an update asked for (see [`Storage::task_of_update`]).
#[derive(Clone, Copy, Debug)]
pub struct UpdateTask {
    pub task_id: i64,
    pub seed: Option<u32>,
    pub progress_posted: bool,
}

/// What a handling of a Telegram update decided (see [`Storage::record_refusal`]).
#[derive(Clone, Debug)]
pub enum UpdateOutcome {
    Task(UpdateTask),
    /// JSON of the service's refusal.
    Refused(String),
}

/// How long a Telegram task waits for its door's answer before a worker may claim it anyway
/// (see [`Storage::insert_task_within`]): longer than the door can take to send the progress
/// message (a second of patience for a rate-limited chat and two tries within teloxide's 17 s
/// timeout). Only a backstop: a door that dies before its answer leaves its update unhandled,
/// and the update's next handling (after the restart, or on another instance once the claim
/// lapses; see `telegram/inbox.rs`) finds the task, answers and releases it. Releasing holds at
/// start instead would let a worker take the task before that answer, the race the hold is
/// for. Held tasks are told apart by `next_run_at = created_at + PROGRESS_HOLD`, which nothing
/// else writes.
pub(super) const PROGRESS_HOLD: Duration = Duration::from_secs(40);

/// Everything the service checks before it stores a task, read in one statement.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct AcceptFacts {
    /// The user's unfinished tasks (the per-user limit).
    pub in_flight: i64,
    /// Tasks requested since the start of the rolling hour, and the oldest of them.
    pub last_hour: i64,
    pub oldest_in_hour: Option<i64>,
    /// The user's own credential, if any: id, whether it is `invalid`, and its expiry. Not
    /// decrypted here (nothing on the accept path needs the secret; the worker opens it).
    pub credential_id: Option<i64>,
    pub credential_invalid: Option<bool>,
    pub credential_expires_at: Option<i64>,
    /// The user's own credential is a web login (PixVerse's further modes need an API key).
    pub credential_is_web: Option<bool>,
    pub pool_is_empty: bool,
    /// The shared pool holds a Platform API key (the further modes, `--sfx` and effects run
    /// only on one).
    pub pool_has_api_key: bool,
    /// The user's own daily pool quota (`None`: the default) and pool videos asked for today.
    pub daily_quota: Option<i64>,
    pub pool_used_today: i64,
    /// What admins decided about the user (see `user_access`).
    pub allowed: bool,
    pub banned: bool,
    /// Admitted in allowlist mode through a group: the group the request comes from is allowed,
    /// or (outside groups) the user was seen in an allowed group.
    pub admitted_by_group: bool,
    /// What an earlier handling of the request's Telegram update decided, if one did: the task
    /// it queued, or the refusal it recorded (see [`Storage::record_refusal`]).
    pub update_task_id: Option<i64>,
    pub update_refusal: Option<String>,
}

impl AcceptFacts {
    /// As [`super::Credential::is_usable`]: active and not past its own expiry.
    pub fn credential_usable(&self, now_ms: i64) -> bool {
        self.credential_invalid == Some(false) && self.credential_expires_at.is_none_or(|at| at > now_ms)
    }

    pub fn access(&self) -> UserAccess {
        UserAccess {
            allowed: self.allowed,
            banned: self.banned,
            daily_quota: self.daily_quota,
        }
    }
}

/// The windows the limits count in, as ms timestamps.
#[derive(Clone, Copy, Debug)]
pub struct LimitWindows {
    /// The start of the rolling hour (`now - 1 h`).
    pub hour_start: i64,
    /// The start of the UTC day (the pool quota's day).
    pub day_start: i64,
}

/// The per-user limits the insert checks again inside its own statement, so that requests
/// accepted at the same moment cannot pass them together.
#[derive(Clone, Copy, Debug)]
pub struct Ceilings {
    pub max_in_flight: i64,
    pub max_per_hour: i64,
    /// The user's daily pool quota, for a task that goes to the pool (`None`: the task runs on
    /// the user's own account, or the user is an admin).
    pub pool_quota: Option<i64>,
}

/// Where a task's result goes (the `task.destination` column, decoded by name).
#[derive(Clone, Copy, Debug, PartialEq, Eq, sqlx::Type)]
#[sqlx(type_name = "text", rename_all = "lowercase")]
pub enum DestinationKind {
    /// A reply in `task.chat_id`.
    Telegram,
    /// Only recorded; the HTTP API's client asks for it.
    Api,
}

impl DestinationKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DestinationKind::Telegram => "telegram",
            DestinationKind::Api => "api",
        }
    }
}

/// An image the HTTP API received (a Telegram task names its photo by file id instead).
#[derive(Clone, Debug)]
pub struct Upload {
    /// `image/jpeg`, `image/png` or `image/webp`.
    pub content_type: String,
    pub bytes: Bytes,
}

/// The access mode, cached: every message passes the gate, and the mode changes only through
/// [`Storage::set_access_mode`] (which refreshes this). 0 = not read yet.
#[derive(Clone, Default)]
pub(super) struct AccessModeCache(Arc<AtomicU8>);

impl AccessModeCache {
    pub(super) fn get(&self) -> Option<AccessMode> {
        match self.0.load(Ordering::Acquire) {
            1 => Some(AccessMode::Open),
            2 => Some(AccessMode::Allowlist),
            _ => None,
        }
    }

    pub(super) fn put(&self, mode: AccessMode) {
        let code = match mode {
            AccessMode::Open => 1,
            AccessMode::Allowlist => 2,
        };
        self.0.store(code, Ordering::Release);
    }
}

impl Storage {
    /// The per-user limits, the user's credential, the pool quota, what admins decided about
    /// the user and what an earlier handling of `source_update` decided, in one statement.
    /// `group_chat` is the group the request comes from, if any.
    pub async fn accept_facts(
        &self,
        user_id: i64,
        group_chat: Option<i64>,
        source_update: Option<i64>,
        windows: LimitWindows,
    ) -> Result<AcceptFacts, StorageError> {
        Ok(on_pool!(&self.engine, |pool| sqlx::query_as(
            "select
                 (select count(*) from task where user_id = $1 and state not in ('delivered', 'failed'))
                     as in_flight,
                 h.n as last_hour, h.oldest as oldest_in_hour,
                 c.id as credential_id, c.status = 'invalid' as credential_invalid,
                 c.expires_at as credential_expires_at, c.kind = 'web' as credential_is_web,
                 not exists (select 1 from pool_account) as pool_is_empty,
                 exists (select 1 from pool_account where kind = 'apikey') as pool_has_api_key,
                 a.daily_quota as daily_quota,
                 (select count(*) from task where user_id = $1 and credential_id is null
                      and created_at >= $3 and state != 'failed') as pool_used_today,
                 coalesce(a.allowed, false) as allowed, coalesce(a.banned, false) as banned,
                 case when $4 is not null
                      then exists (select 1 from allowed_group where chat_id = $4)
                      else exists (select 1 from group_member m
                                   join allowed_group g on g.chat_id = m.chat_id
                                   where m.user_id = $1)
                 end as admitted_by_group,
                 (select id from task where source_update = $5) as update_task_id,
                 (select refusal from telegram_update where update_id = $5) as update_refusal
             from (select count(*) as n, min(created_at) as oldest from task
                   where user_id = $1 and created_at >= $2) h
             left join credential c on c.owner_id = $1 and c.replaced_at is null
             left join user_access a on a.user_id = $1",
        )
        .bind(user_id)
        .bind(windows.hour_start)
        .bind(windows.day_start)
        .bind(group_chat)
        .bind(source_update)
        .fetch_one(pool)
        .await)?)
    }

    /// Stores an accepted request as a queued task only if the user is still under `ceilings`;
    /// `None` when a request accepted at the same moment took the last place, or when the
    /// task's update already has its task ([`Storage::task_of_update`]) or its refusal
    /// ([`Storage::record_refusal`]).
    ///
    /// An API task is due now (its client learns everything from the task). A Telegram task is
    /// held for [`PROGRESS_HOLD`]: the door answers with a progress message first and then lets
    /// the worker go ([`Storage::task_answered`]), so whichever instance claims the task knows the
    /// message it edits. Without the hold, a worker (here or on another instance) that claimed the
    /// task in between held a row without the message: the user saw "queued" to the end and the
    /// outcome in a message of its own. The work notice goes out with the release then, not here.
    ///
    /// Atomicity: the counts and the insert are one statement, and SQLite runs one writer at a
    /// time, so N simultaneous requests can never all see "one place left" (a read followed by a
    /// separate insert could). PostgreSQL runs writers side by side, so there the statement runs
    /// in a transaction that first takes the user's lock ([`super::Dialect::user_lock`]): one user's
    /// accepts take turns, on every instance. With an upload, the task and its image are one
    /// transaction, so the worker never claims an i2v task whose image is not stored yet.
    pub async fn insert_task_within(
        &self,
        task: &NewTask,
        destination: DestinationKind,
        upload: Option<&Upload>,
        images: &[Upload],
        ceilings: Ceilings,
        windows: LimitWindows,
    ) -> Result<Option<i64>, StorageError> {
        let now = now_ms();
        let user_lock = self.engine.dialect().user_lock();
        let (due_at, work_notice) = match destination {
            DestinationKind::Api => (now, self.engine.dialect().work_notice()),
            DestinationKind::Telegram => (now + PROGRESS_HOLD.as_millis() as i64, None),
        };
        on_pool!(&self.writer, |pool| {
            let insert = sqlx::query_scalar(
                "insert into task (user_id, chat_id, request_message_id, kind, prompt, params, image_file_id,
                               credential_id, seed_auto, destination, state, next_run_at, created_at,
                               updated_at, thread_id, mode_input, pool_account_id, source_update)
             select $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'queued', $21, $11, $11, $17, $18, $19, $20
             where (select count(*) from task
                    where user_id = $1 and state not in ('delivered', 'failed')) < $12
               and (select count(*) from task where user_id = $1 and created_at >= $13) < $14
               and ($15 is null
                    or (select count(*) from task where user_id = $1 and credential_id is null
                            and created_at >= $16 and state != 'failed') < $15)
               and not exists (select 1 from telegram_update
                               where update_id = $20 and refusal is not null)
             on conflict (source_update) where source_update is not null do nothing
             returning id",
            )
            .bind(task.user_id)
            .bind(task.chat_id)
            .bind(task.request_message_id)
            .bind(task.kind.as_str())
            .bind(&task.prompt)
            .bind(Json(&task.params))
            .bind(&task.image_file_id)
            .bind(task.credential_id)
            .bind(task.seed_auto)
            .bind(destination.as_str())
            .bind(now)
            .bind(ceilings.max_in_flight)
            .bind(windows.hour_start)
            .bind(ceilings.max_per_hour)
            .bind(ceilings.pool_quota)
            .bind(windows.day_start)
            .bind(task.thread_id)
            .bind(task.mode_input.as_ref().map(Json))
            .bind(task.pool_account_id)
            .bind(task.source_update)
            .bind(due_at);
            // Without an upload or a lock, one statement and no transaction around it (BEGIN and
            // COMMIT would be two more round trips on the accept path).
            if upload.is_none() && images.is_empty() && user_lock.is_none() {
                return Ok(insert.fetch_optional(pool).await?);
            }
            let mut tx = pool.begin().await?;
            if let Some(lock) = user_lock {
                sqlx::query(lock).bind(task.user_id).execute(&mut *tx).await?;
            }
            let id: Option<i64> = insert.fetch_optional(&mut *tx).await?;
            if let (Some(_), Some(notice)) = (id, work_notice) {
                sqlx::query(notice)
                    .bind(self.instance.as_ref())
                    .execute(&mut *tx)
                    .await?;
            }
            if let (Some(id), Some(upload)) = (id, upload) {
                sqlx::query("insert into task_upload (task_id, content_type, bytes) values ($1, $2, $3)")
                    .bind(id)
                    .bind(&upload.content_type)
                    .bind(upload.bytes.as_ref())
                    .execute(&mut *tx)
                    .await?;
            }
            if let Some(id) = id {
                for (position, image) in images.iter().enumerate() {
                    sqlx::query(
                        "insert into task_image (task_id, position, content_type, bytes) values ($1, $2, $3, $4)",
                    )
                    .bind(id)
                    .bind(position as i64)
                    .bind(&image.content_type)
                    .bind(image.bytes.as_ref())
                    .execute(&mut *tx)
                    .await?;
                }
            }
            tx.commit().await?;
            Ok(id)
        })
    }

    /// The image at `position` the HTTP API received for transition or fusion task `task_id`.
    pub async fn task_image(&self, task_id: i64, position: u32) -> Result<Option<Upload>, StorageError> {
        let row: Option<(String, Vec<u8>)> = on_pool!(&self.engine, |pool| sqlx::query_as(
            "select content_type, bytes from task_image where task_id = $1 and position = $2"
        )
        .bind(task_id)
        .bind(i64::from(position))
        .fetch_optional(pool)
        .await)?;
        Ok(row.map(|(content_type, bytes)| Upload {
            content_type,
            bytes: Bytes::from(bytes),
        }))
    }

    /// The image the HTTP API received for task `task_id`, if it has one.
    pub async fn task_upload(&self, task_id: i64) -> Result<Option<Upload>, StorageError> {
        let row: Option<(String, Vec<u8>)> = on_pool!(&self.engine, |pool| sqlx::query_as(
            "select content_type, bytes from task_upload where task_id = $1"
        )
        .bind(task_id)
        .fetch_optional(pool)
        .await)?;
        Ok(row.map(|(content_type, bytes)| Upload {
            content_type,
            bytes: Bytes::from(bytes),
        }))
    }

    /// [`Storage::user_access`] and whether the user is marked as blocking the bot, in one read:
    /// the gate clears the mark on every private message, and a write that finds nothing to
    /// clear costs as much as a read (`clear_user_blocked` runs only when there is a mark).
    pub async fn user_access_and_blocked(&self, user_id: i64) -> Result<(UserAccess, bool), StorageError> {
        let (allowed, banned, daily_quota, blocked): (Option<bool>, Option<bool>, Option<i64>, bool) =
            on_pool!(&self.engine, |pool| sqlx::query_as(
                "select a.allowed, a.banned, a.daily_quota,
                        exists (select 1 from \"user\" where id = $1 and blocked_at is not null)
                 from (select 1) as one left join user_access a on a.user_id = $1",
            )
            .bind(user_id)
            .fetch_one(pool)
            .await)?;
        let access = UserAccess {
            allowed: allowed.unwrap_or_default(),
            banned: banned.unwrap_or_default(),
            daily_quota,
        };
        Ok((access, blocked))
    }

    /// Records that Telegram update `update_id` of `user_id` was refused (`refusal`, JSON), unless
    /// a handling of the same update queued its task meanwhile; returns the update's outcome as
    /// it stands then (`None`: the update is not in the inbox, so there is nothing to key on).
    ///
    /// Atomicity, with [`Storage::insert_task_within`] (which inserts nothing once a refusal is
    /// recorded): SQLite runs one writer at a time, and on PostgreSQL both take the user's lock
    /// first. So two handlings of one update at once (a claim that lapsed while its handler ran)
    /// end with the task or with the refusal, never both; the loser answers as the winner did.
    pub async fn record_refusal(
        &self,
        update_id: i64,
        user_id: i64,
        refusal: &str,
    ) -> Result<Option<UpdateOutcome>, StorageError> {
        const RECORD: &str = "update telegram_update set refusal = $2
             where update_id = $1 and refusal is null
               and not exists (select 1 from task where source_update = $1)";
        let recorded = on_pool!(&self.writer, |pool| {
            let mut tx = pool.begin().await?;
            if let Some(lock) = self.engine.dialect().user_lock() {
                sqlx::query(lock).bind(user_id).execute(&mut *tx).await?;
            }
            let recorded = sqlx::query(RECORD)
                .bind(update_id)
                .bind(refusal)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                > 0;
            tx.commit().await?;
            recorded
        });
        if recorded {
            return Ok(Some(UpdateOutcome::Refused(refusal.to_owned())));
        }
        if let Some(task) = self.task_of_update(update_id).await? {
            return Ok(Some(UpdateOutcome::Task(task)));
        }
        let earlier: Option<Option<String>> = on_pool!(&self.writer, |pool| sqlx::query_scalar(
            "select refusal from telegram_update where update_id = $1"
        )
        .bind(update_id)
        .fetch_optional(pool)
        .await)?;
        Ok(earlier.flatten().map(UpdateOutcome::Refused))
    }

    /// The task Telegram update `update_id` asked for, if it has one: its id, its seed, and
    /// whether its progress message was posted.
    pub async fn task_of_update(&self, update_id: i64) -> Result<Option<UpdateTask>, StorageError> {
        let found: Option<(i64, Json<GenerationParams>, Option<i64>)> =
            on_pool!(&self.writer, |pool| sqlx::query_as(
                "select id, params, progress_message_id from task where source_update = $1"
            )
            .bind(update_id)
            .fetch_optional(pool)
            .await)?;
        Ok(found.map(|(id, params, progress)| UpdateTask {
            task_id: id,
            seed: params.0.seed,
            progress_posted: progress.is_some(),
        }))
    }
}
