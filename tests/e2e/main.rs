//! End-to-end tests: fake Telegram + fake PixVerse on loopback, the real App, on SQLite. The
//! `e2e_postgres` target runs these same modules on PostgreSQL.

/// Which engine every test's fresh database uses (see `support/database.rs`).
const POSTGRES: bool = false;

mod support;

mod access;
mod admin;
mod album_replies;
mod api;
mod api_effects;
mod api_modes;
mod api_videos;
mod bad_input;
mod broadcast;
mod chat_effects;
mod chat_modes;
mod copy_database;
mod core_flows;
mod fake_telegram_conformance;
mod flood;
mod inbox;
mod instances;
mod instances_shared;
mod languages;
mod lifecycle;
mod limits;
mod pacing;
mod parsers_fuzz;
mod pixverse_client;
mod pixverse_modes;
mod privacy;
mod process;
mod reliability;
mod reply_limits;
mod service;
mod storage;
mod topics;
mod ux;
mod web_pool;
mod webhook_instances;
