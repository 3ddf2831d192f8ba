-- PixVerse's effect templates as /effects last listed them: a picked button is checked here
-- (callback data comes back from clients and can be forged), and the API checks `template_id`.
create table effect_template (
    template_id integer primary key,
    name text not null,
    listed_at integer not null
) strict;

-- The effect a user picked in a chat; their next photo there is animated with it. Stored (not
-- in memory) so a restart keeps it; expires after a while (see storage/effects.rs).
create table effect_pick (
    chat_id integer not null,
    user_id integer not null,
    template_id integer not null,
    picked_at integer not null,
    primary key (chat_id, user_id)
) strict;

-- An album that made its request (or was refused) makes no other by itself, but is kept (for a
-- day, as any album) so `/transition` or `/fusion` replying to it can use its photos.
alter table album_photo add column used integer not null default false;
