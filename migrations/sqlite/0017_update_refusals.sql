-- An update refused for something that can change (a limit, access, the account) remembers its
-- refusal, so that handling it again (its run died, or its claim lapsed while it ran) says the
-- same instead of queueing the video the user was told no to. A refusal and a task of the same
-- update exclude each other (see storage/accept.rs). JSON of service::Refusal.
alter table telegram_update add column refusal text;
