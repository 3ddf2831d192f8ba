-- Photos of Telegram albums (media groups). Telegram sends each photo of an album as its own
-- message, with the caption on one of them; the bot keeps them here until the album is complete
-- (two photos for a transition, one per name for a fusion) and then makes the request.

create table album_photo (
    chat_id integer not null,
    -- Telegram's `media_group_id` of the album.
    media_group_id text not null,
    message_id integer not null,
    user_id integer not null,
    -- The largest size's Telegram file id, and its size in bytes (0 when unknown).
    file_id text not null,
    size integer not null,
    caption text,
    -- Albums are complete within seconds; rows older than a day are dropped at the next photo.
    received_at integer not null,
    primary key (chat_id, media_group_id, message_id)
) strict;
