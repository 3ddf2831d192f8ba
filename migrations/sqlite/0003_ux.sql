-- Per-user settings (/settings, /language) and the seed the bot chose for a task.

create table user_settings (
    user_id integer primary key references user(id) on delete cascade,
    -- The user's default GenerationParams as JSON (no seed, negative prompt or style: those are
    -- per request). Null: the bot's defaults.
    params text,
    -- 'en' or 'ru' as chosen with /language; wins over Telegram's language_code. Null: follow
    -- Telegram.
    language text check (language in ('en', 'ru')),
    updated_at integer not null
) strict;

-- 1 when the request gave no seed and the bot picked params.seed at random (so the caption can
-- show it). "Again" then picks a new one; a seed the user gave (0) is kept.
alter table task add column seed_auto integer not null default 0;
