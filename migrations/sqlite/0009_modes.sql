-- PixVerse's further modes (extend, sound, lip-sync) as tasks: `task.kind` takes their names, and
-- `task.mode_input` holds what a mode needs beyond its prompt and parameters.
--
-- SQLite cannot change a column's check constraint in place, so the table is rebuilt (SQLite's
-- documented "make other kinds of table schema changes" procedure). It runs in the migration's
-- transaction with foreign keys on: dropping the old table deletes the `task_upload` rows that
-- point at it (on delete cascade), so they are kept aside and put back under the same task ids.

create table task_new (
    id integer primary key,
    user_id integer not null references user(id),
    chat_id integer not null,
    -- The user's message we reply to with the video.
    request_message_id integer not null,
    -- The bot's message that shows progress; null until it was sent.
    progress_message_id integer,
    -- `TaskKind` by name.
    kind text not null check (kind in ('t2v', 'i2v', 'extend', 'sound', 'lip_sync')),
    -- The prompt; for `sound` the described sound, for `lip_sync` the text spoken.
    prompt text not null,
    -- GenerationParams as JSON.
    params text not null,
    -- i2v: the Telegram file id of the photo; the bytes are fetched when the task is submitted.
    image_file_id text,
    -- i2v: PixVerse's reference to the uploaded image (UploadedImage as JSON), kept so a retried
    -- submit does not upload again.
    image_ref text,
    -- The user's own credential; null means the pool. No foreign key on purpose: a task
    -- outlives a /logout and then fails with a clear message.
    credential_id integer,
    -- PixVerse's id once it accepted the generation. Its presence means: never submit again.
    video_id integer,
    video_url text,
    state text not null check (state in ('queued', 'submitting', 'generating', 'delivering', 'delivered', 'failed')),
    -- How many times a step of this task failed in a row; drives the backoff.
    attempts integer not null default 0,
    -- When the worker should look at it next.
    next_run_at integer not null,
    -- While a worker holds the task: until when. Expired leases are claimable again.
    lease_until integer,
    -- The last error, for /status and the logs; never contains a secret.
    last_error text,
    -- The Telegram file id of the delivered video, for re-sends without re-downloading.
    video_file_id text,
    -- When PixVerse accepted it; the progress message counts from here.
    submitted_at integer,
    progress_edited_at integer,
    finished_at integer,
    created_at integer not null,
    updated_at integer not null,
    seed_auto integer not null default 0,
    -- The pool account given at submit time (pool tasks only). A mode task on the pool is given
    -- its source video's account at insert: PixVerse knows the video only there.
    pool_account_id integer,
    lease_token integer,
    submit_trace_id text,
    wait_reason text check (wait_reason in ('login', 'slot')),
    destination text not null default 'telegram' check (destination in ('telegram', 'api')),
    thread_id integer,
    -- A mode task's inputs (`ModeInput` as JSON: the source video and the mode's own choices);
    -- null for t2v and i2v.
    mode_input text,
    check ((kind in ('t2v', 'i2v')) = (mode_input is null))
) strict;

insert into task_new (id, user_id, chat_id, request_message_id, progress_message_id, kind, prompt,
                      params, image_file_id, image_ref, credential_id, video_id, video_url, state,
                      attempts, next_run_at, lease_until, last_error, video_file_id, submitted_at,
                      progress_edited_at, finished_at, created_at, updated_at, seed_auto,
                      pool_account_id, lease_token, submit_trace_id, wait_reason, destination,
                      thread_id)
select id, user_id, chat_id, request_message_id, progress_message_id, kind, prompt,
       params, image_file_id, image_ref, credential_id, video_id, video_url, state,
       attempts, next_run_at, lease_until, last_error, video_file_id, submitted_at,
       progress_edited_at, finished_at, created_at, updated_at, seed_auto,
       pool_account_id, lease_token, submit_trace_id, wait_reason, destination,
       thread_id
from task;

create temporary table task_upload_kept as select task_id, content_type, bytes from task_upload;
drop table task;
alter table task_new rename to task;
insert into task_upload (task_id, content_type, bytes)
    select task_id, content_type, bytes from task_upload_kept;
drop table task_upload_kept;

create index task_due on task(next_run_at) where state not in ('delivered', 'failed');
create index task_user on task(user_id, created_at);
create index task_pool_account on task(pool_account_id, state);
create index task_created on task(created_at);
