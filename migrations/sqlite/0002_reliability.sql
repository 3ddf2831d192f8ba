-- When PixVerse refused a credential: the owner's tasks wait for a new login until
-- invalid_at + CREDENTIAL_HOLD_MS, then fail.
alter table credential add column invalid_at integer;
