-- The inbox keeps an update until its handler has run, not only until the dispatcher took it:
-- an instance that dies with updates queued or being handled leaves them to another (see
-- telegram/inbox.rs). `dispatched_at` becomes `handled_at`.
alter table telegram_update rename column dispatched_at to handled_at;
-- Bodies are sealed with the credentials' key from now on (a /login update carries a password)
-- and cleared once handled; handled rows only remember their update_id.
update telegram_update set body = '' where handled_at is not null;
-- Every update passes the inbox now (long polling too): handled rows older than Telegram's
-- redelivery window are deleted every ten minutes, by this index.
create index telegram_update_handled on telegram_update(handled_at) where handled_at is not null;

-- The Telegram update that asked for a task: an update handled again after a crash finds its
-- task instead of queueing (and charging) a second one.
alter table task add column source_update integer;
create unique index task_source_update on task(source_update) where source_update is not null;
