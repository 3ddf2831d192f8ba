-- Port of migrations/sqlite/0016_updates_handled.sql: the inbox keeps an update until handled,
-- bodies are sealed and cleared once handled, and a task remembers the update that asked for it.
alter table telegram_update rename column dispatched_at to handled_at;
update telegram_update set body = '' where handled_at is not null;
-- Every update passes the inbox now (long polling too): handled rows older than Telegram's
-- redelivery window are deleted every ten minutes, by this index.
create index telegram_update_handled on telegram_update(handled_at) where handled_at is not null;

alter table task add column source_update bigint;
create unique index task_source_update on task(source_update) where source_update is not null;
