-- Port of migrations/sqlite/0014_inbox_claims.sql: the webhook inbox is the queue of several
-- instances; an update is claimed by one of them until `claimed_until`, and taken over by any
-- instance once that claim lapsed.
alter table telegram_update add column claimed_by text;
alter table telegram_update add column claimed_until bigint;
