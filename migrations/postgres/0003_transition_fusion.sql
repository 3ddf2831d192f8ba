-- Port of migrations/sqlite/0010_transition_fusion.sql: transition and fusion as tasks. `task.kind`
-- takes their names (PostgreSQL changes the check in place, no table rebuild), and the images the
-- HTTP API receives for them are stored in `task_image` (a Telegram task names its photos by file
-- id in `task.mode_input` instead).

alter table task drop constraint task_kind_check;
alter table task add constraint task_kind_check
    check (kind in ('t2v', 'i2v', 'extend', 'sound', 'lip_sync', 'transition', 'fusion'));

create table task_image (
    task_id bigint not null references task(id) on delete cascade,
    -- The image's place in the task's `mode_input` (`ImageFile::Uploaded { position }`).
    position bigint not null,
    content_type text not null,
    bytes bytea not null,
    primary key (task_id, position)
);
