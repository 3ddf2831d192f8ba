-- Port of migrations/sqlite/0013_effects.sql: effect templates as /effects last listed them,
-- and the effect a user picked in a chat for their next photo there.
create table effect_template (
    template_id bigint primary key,
    name text not null,
    listed_at bigint not null
);

create table effect_pick (
    chat_id bigint not null,
    user_id bigint not null,
    template_id bigint not null,
    picked_at bigint not null,
    primary key (chat_id, user_id)
);

-- An album that made its request is kept for `/transition` or `/fusion` replying to it.
alter table album_photo add column used boolean not null default false;
