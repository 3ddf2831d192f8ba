-- Users, their PixVerse credentials and every generation task.
-- Times are unix milliseconds (`*_at`). Tables are strict: a wrong type is an error, not a surprise.

create table user (
    -- The Telegram user id.
    id integer primary key,
    username text,
    first_name text not null default '',
    -- IETF tag from Telegram (`en`, `ru`, ...); replies follow it.
    language text,
    -- 1 once the user has talked to the bot in a private chat (we may message them there).
    has_private_chat integer not null default 0,
    first_seen_at integer not null,
    last_seen_at integer not null
) strict;

create table credential (
    id integer primary key,
    -- The user who connected it; one credential per user (see the index below).
    owner_id integer not null references user(id) on delete cascade,
    -- 'apikey': PixVerse Platform API key; 'web': token from the web-app login.
    kind text not null check (kind in ('apikey', 'web')),
    -- What we show: the web account's name, or the key's last four characters. Never the secret.
    label text not null,
    -- nonce || ciphertext || tag, XChaCha20-Poly1305 under the bot's secret key.
    secret blob not null,
    -- The web token's own expiry (JWT `ExpireTime`), unix milliseconds; null for API keys.
    expires_at integer,
    -- 'active', or 'invalid' once PixVerse refused it (the owner must connect again).
    status text not null default 'active' check (status in ('active', 'invalid')),
    created_at integer not null
) strict;

create unique index credential_owner on credential(owner_id);

create table task (
    id integer primary key,
    user_id integer not null references user(id),
    chat_id integer not null,
    -- The user's message we reply to with the video.
    request_message_id integer not null,
    -- The bot's message that shows progress; null until it was sent.
    progress_message_id integer,
    kind text not null check (kind in ('t2v', 'i2v')),
    prompt text not null,
    -- GenerationParams as JSON.
    params text not null,
    -- i2v: the Telegram file id of the photo; the bytes are fetched when the task is submitted.
    image_file_id text,
    -- i2v: PixVerse's reference to the uploaded image (UploadedImage as JSON), kept so a retried
    -- submit does not upload again.
    image_ref text,
    -- The user's own credential; null means the operator's PIXVERSE_API_KEY. No foreign key on
    -- purpose: a task outlives a /logout and then fails with a clear message.
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
    updated_at integer not null
) strict;

-- The worker's claim query: due tasks in unfinished states.
create index task_due on task(next_run_at) where state not in ('delivered', 'failed');
create index task_user on task(user_id, created_at);
