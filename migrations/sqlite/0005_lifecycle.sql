-- The typed task lifecycle: fenced leases, idempotent submits, typed waits, a credential per
-- login, and the learned generation time.

-- The claim that holds the task: a fresh random number per claim statement, null when nobody
-- holds it. Every write of a holder names it ("where lease_token = ?"), so a step whose lease
-- was lost (expired and claimed again, or the task was cancelled) changes nothing.
alter table task add column lease_token integer;

-- The Ai-trace-id of the task's submit (a UUID v4), stored before the first attempt and sent on
-- every retry of that same submit: PixVerse answers a reused id with its earlier result, so an
-- answer lost after PixVerse accepted is not paid twice. Cleared (a new one is drawn) when the
-- submit becomes new work: PixVerse answered it with an error, the image was uploaded again, or
-- the task moved to another pool account.
alter table task add column submit_trace_id text;

-- Why an unfinished task waits (null: it does not): 'login' for a new login of its owner,
-- 'slot' for a free generation slot. Replaces error text that meant the same.
alter table task add column wait_reason text check (wait_reason in ('login', 'slot'));

-- A new /login or /apikey makes a new credential row instead of overwriting the old one: tasks
-- PixVerse already accepted keep polling with the credential that submitted them, and an error
-- on the old token never marks the new one invalid. Set when a newer credential of the same
-- owner replaced this one; new tasks use the owner's one credential where this is null.
alter table credential add column replaced_at integer;
drop index credential_owner;
create unique index credential_current on credential(owner_id) where replaced_at is null;

-- How long PixVerse typically takes for one kind of generation, learned from finished tasks
-- (submit to "done" as the polls saw it), so the first poll comes when the video is likely done.
create table generation_time (
    model text not null,
    quality text not null,
    -- Seconds of video.
    duration integer not null,
    -- Exponentially weighted mean of the observed times, milliseconds.
    typical_ms integer not null,
    samples integer not null,
    updated_at integer not null,
    primary key (model, quality, duration)
) strict;
