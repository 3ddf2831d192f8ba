-- The one service layer accepts work from two doors: Telegram and the HTTP API.

-- Where a task's result goes. 'telegram': replies in `chat_id` under `request_message_id`.
-- 'api': the result is only recorded (the client asks for it); `chat_id` and
-- `request_message_id` are 0 then, never a real chat.
alter table task add column destination text not null default 'telegram'
    check (destination in ('telegram', 'api'));

-- An image the HTTP API received with an i2v request (a Telegram task names its photo by
-- `task.image_file_id` instead). Apart from `task` so that claims, which read whole task rows,
-- never carry the bytes. Written in the same transaction as its task: the worker never sees an
-- i2v task without its image.
create table task_upload (
    task_id integer primary key references task(id) on delete cascade,
    -- The media type the client declared and we checked: image/jpeg, image/png or image/webp.
    content_type text not null,
    bytes blob not null
) strict;
