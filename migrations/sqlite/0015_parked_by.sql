-- Which instance polls a parked generating task (see storage/tasks/takeover.rs): its instance
-- key, set when the task is parked. Another instance takes the task over only when that
-- instance is gone. SQLite has one instance, which takes every parked task at its start.
alter table task add column parked_by text;
