-- The HTTP API: its own accounts and tokens, idempotency keys, and the Telegram webhook inbox.
-- Times are unix milliseconds, as everywhere.

-- Who an API account is. Decision: an account made by POST /v1/auth has no Telegram id, so it gets
-- its own `user` row with a NEGATIVE id (-1, -2, ...). Telegram user ids are positive, so the two
-- id spaces cannot collide, and everything keyed by `user.id` (credential, tasks, settings, limits,
-- quota, bans) works for API accounts unchanged. A Telegram user who sends /token gets a token for
-- their own (positive) row: one person, one credential, one history, whichever door they use.
-- An API account is found again by the PixVerse identity it logged in with (below), so logging in
-- twice with the same PixVerse account reaches the same history.
create table api_account (
    -- 'web:<username, lowercased>' for a PixVerse web login, 'apikey:<sha-256 of the key, hex>'
    -- for a Platform key (the key itself is stored only sealed, in `credential`).
    identity text primary key,
    user_id integer not null unique references user(id) on delete cascade,
    created_at integer not null
) strict;

-- Bearer tokens of this service (never PixVerse's). A user may hold several.
create table api_token (
    id integer primary key,
    user_id integer not null references user(id) on delete cascade,
    -- SHA-256 of the token. The token is 256 random bits, so a plain hash cannot be guessed back;
    -- the token itself is shown once and never stored.
    token_hash blob not null unique,
    -- Where it was issued: 'auth' (POST /v1/auth) or 'telegram' (/token in a private chat).
    source text not null check (source in ('auth', 'telegram')),
    created_at integer not null,
    -- Last request with it, to the minute (written at most once a minute per token).
    last_used_at integer
) strict;

create index api_token_user on api_token(user_id);

-- Idempotency-Key of the POSTs that create tasks: the same key and body within 24 h return the
-- same task. A row is reserved (task_id null) before the task is accepted, so two concurrent
-- requests with one key cannot both start a task; a refused request deletes its reservation.
create table api_idempotency (
    user_id integer not null references user(id) on delete cascade,
    key text not null,
    -- SHA-256 of the route and the request body: the same key with another body is a 422.
    request_hash blob not null,
    -- null while the first request with this key is being accepted.
    task_id integer,
    created_at integer not null,
    primary key (user_id, key)
) strict;

-- Telegram updates received by the webhook, stored before the 200 goes back: a crash after the
-- 200 loses nothing, and an update Telegram delivers again (same update_id) is taken once.
create table telegram_update (
    update_id integer primary key,
    -- The update as Telegram sent it (JSON).
    body text not null,
    received_at integer not null,
    -- When it was handed to the dispatcher; null: not yet (handed over at the next start).
    dispatched_at integer
) strict;

create index telegram_update_pending on telegram_update(update_id) where dispatched_at is null;
