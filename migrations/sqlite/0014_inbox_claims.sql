-- Webhook mode with several instances: the inbox is the queue. The instance that stores an
-- update (or later takes one over) claims it until `claimed_until`; it marks the update
-- dispatched only while the claim is still its own. An update whose claim lapsed (its instance
-- died before handing it to the dispatcher) is taken over by any instance (see storage/inbox.rs).
alter table telegram_update add column claimed_by text;
alter table telegram_update add column claimed_until integer;
