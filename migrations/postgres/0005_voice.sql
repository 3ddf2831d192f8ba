-- Port of migrations/sqlite/0012_voice.sql: the TTS voice a user picked with /voices; `/say`
-- speaks with it. Null: PixVerse's automatic voice (`Auto`).
alter table user_settings add column voice text;
