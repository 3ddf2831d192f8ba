-- Port of migrations/sqlite/0009_modes.sql: PixVerse's further modes (extend, sound, lip-sync) as
-- tasks. `task.kind` takes their names, and `task.mode_input` holds what a mode needs beyond its
-- prompt and parameters (`ModeInput` as JSONB, like `params`; null for t2v and i2v). PostgreSQL
-- changes a check constraint in place, so no table rebuild.

alter table task drop constraint task_kind_check;
alter table task add constraint task_kind_check
    check (kind in ('t2v', 'i2v', 'extend', 'sound', 'lip_sync'));
alter table task add column mode_input jsonb;
alter table task add constraint task_mode_input_check
    check ((kind in ('t2v', 'i2v')) = (mode_input is null));
