//! The end-to-end tests of `tests/e2e` again, every one on a PostgreSQL database of its own
//! (a schema on the server at 127.0.0.1:5432, see `support/database.rs`): the same modules, only
//! the engine differs. Without a server the whole target is skipped with one message, except
//! under `CI=true`.

/// Which engine every test's fresh database uses.
const POSTGRES: bool = true;

#[path = "../e2e/support/mod.rs"]
mod support;

#[path = "../e2e/access.rs"]
mod access;
#[path = "../e2e/admin.rs"]
mod admin;
#[path = "../e2e/album_replies.rs"]
mod album_replies;
#[path = "../e2e/api.rs"]
mod api;
#[path = "../e2e/api_effects.rs"]
mod api_effects;
#[path = "../e2e/api_modes.rs"]
mod api_modes;
#[path = "../e2e/api_videos.rs"]
mod api_videos;
#[path = "../e2e/bad_input.rs"]
mod bad_input;
#[path = "../e2e/broadcast.rs"]
mod broadcast;
#[path = "../e2e/chat_effects.rs"]
mod chat_effects;
#[path = "../e2e/chat_modes.rs"]
mod chat_modes;
#[path = "../e2e/copy_database.rs"]
mod copy_database;
#[path = "../e2e/core_flows.rs"]
mod core_flows;
#[path = "../e2e/fake_telegram_conformance.rs"]
mod fake_telegram_conformance;
#[path = "../e2e/flood.rs"]
mod flood;
#[path = "../e2e/inbox.rs"]
mod inbox;
#[path = "../e2e/instances.rs"]
mod instances;
#[path = "../e2e/instances_shared.rs"]
mod instances_shared;
#[path = "../e2e/languages.rs"]
mod languages;
#[path = "../e2e/lifecycle.rs"]
mod lifecycle;
#[path = "../e2e/limits.rs"]
mod limits;
#[path = "../e2e/pacing.rs"]
mod pacing;
#[path = "../e2e/parsers_fuzz.rs"]
mod parsers_fuzz;
#[path = "../e2e/pixverse_client.rs"]
mod pixverse_client;
#[path = "../e2e/pixverse_modes.rs"]
mod pixverse_modes;
#[path = "../e2e/privacy.rs"]
mod privacy;
#[path = "../e2e/process.rs"]
mod process;
#[path = "../e2e/reliability.rs"]
mod reliability;
#[path = "../e2e/reply_limits.rs"]
mod reply_limits;
#[path = "../e2e/service.rs"]
mod service;
#[path = "../e2e/storage.rs"]
mod storage;
mod three_instances;
#[path = "../e2e/topics.rs"]
mod topics;
#[path = "../e2e/ux.rs"]
mod ux;
#[path = "../e2e/web_pool.rs"]
mod web_pool;
#[path = "../e2e/webhook_instances.rs"]
mod webhook_instances;
