-- Admins: who may use the bot, the shared PixVerse accounts (the pool), quotas.
-- Times are unix milliseconds, as everywhere.

-- Bot-wide settings an admin changes at run time (key/value; today only `access_mode`).
create table setting (
    key text primary key,
    value text not null
) strict;

-- What admins decided about one user. No foreign key to `user` on purpose: an admin may allow or
-- ban an id that has not written to the bot yet.
create table user_access (
    user_id integer primary key,
    -- 1: admitted in `allowlist` mode.
    allowed integer not null default 0,
    -- 1: ignored everywhere (admins excepted).
    banned integer not null default 0,
    -- 1 once the banned user got their one refusal; later messages get no answer.
    ban_notified integer not null default 0,
    -- Videos per UTC day on the pool; null means the default (POOL_DAILY_QUOTA).
    daily_quota integer,
    updated_at integer not null
) strict;

-- Groups whose members may use the bot in `allowlist` mode.
create table allowed_group (
    chat_id integer primary key,
    -- The admin who sent /allowgroup there.
    allowed_by integer not null,
    created_at integer not null
) strict;

-- Who was seen writing in which group: a member of an allowed group is admitted in private
-- chats too. Learnt from messages (privacy mode: commands, mentions and replies to the bot).
create table group_member (
    chat_id integer not null,
    user_id integer not null,
    last_seen_at integer not null,
    primary key (chat_id, user_id)
) strict;

-- The shared PixVerse accounts that users without their own credential generate on.
create table pool_account (
    id integer primary key,
    -- The admin's name for it (`operator` for PIXVERSE_API_KEY).
    name text not null unique,
    -- 'apikey': Platform API key; 'web': token from the web-app login.
    kind text not null check (kind in ('apikey', 'web')),
    -- nonce || ciphertext || tag, sealed like user credentials.
    secret blob not null,
    -- What we show: the key's last four characters, or the web username. Never the secret.
    label text not null,
    -- The web token's own expiry; null for API keys.
    expires_at integer,
    -- 'active'; 'out_of_credits' or 'invalid' once PixVerse said so: out of rotation until an
    -- admin enables it again.
    status text not null default 'active' check (status in ('active', 'out_of_credits', 'invalid')),
    -- 0 after /pool disable.
    enabled integer not null default 1,
    -- How many of its tasks may be submitting or generating at once.
    max_concurrency integer not null default 5,
    -- Credits at the last balance check (null: never checked); 0 keeps it out of rotation.
    credits integer,
    last_error text,
    created_at integer not null
) strict;

-- The pool account a task (credential_id null) was given at submit time; polls use the same one.
-- No foreign key: a task outlives a /pool remove and then fails with a clear message.
alter table task add column pool_account_id integer;

-- When a send to the user's private chat failed because they blocked the bot; cleared when they
-- write again. Broadcasts skip them.
alter table user add column blocked_at integer;

create index task_pool_account on task(pool_account_id, state);
create index task_created on task(created_at);
