-- Port of migrations/sqlite/0011_albums.sql: the photos of Telegram albums (media groups), kept
-- until the album is complete (two photos for a transition, one per name for a fusion).

create table album_photo (
    chat_id bigint not null,
    -- Telegram's `media_group_id` of the album.
    media_group_id text not null,
    message_id bigint not null,
    user_id bigint not null,
    -- The largest size's Telegram file id, and its size in bytes (0 when unknown).
    file_id text not null,
    size bigint not null,
    caption text,
    -- Albums are complete within seconds; rows older than a day are dropped at the next photo.
    received_at bigint not null,
    primary key (chat_id, media_group_id, message_id)
);
