-- Forum topics: a request made in a topic is answered in that topic, even after the request
-- message was deleted (a reply to a deleted message would land in the General topic).

-- The forum topic (`message_thread_id`) the request was made in; null outside forum topics and
-- for tasks from the HTTP API.
alter table task add column thread_id integer;
