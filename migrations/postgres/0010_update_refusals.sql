-- Port of migrations/sqlite/0017_update_refusals.sql: an update refused for something that can
-- change remembers its refusal (JSON of service::Refusal); handling it again says the same.
alter table telegram_update add column refusal text;
