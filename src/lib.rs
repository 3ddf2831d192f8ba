//! pixverse-bot: a Telegram bot that turns chat messages into PixVerse AI videos.

/// Typed configuration from the environment.
pub mod config;
/// Pure domain types: prompts, generation parameters, task states.
pub mod domain;
/// The PixVerse HTTP client: both the Platform API and the web-app API.
pub mod pixverse;
/// SQLite storage: users, encrypted credentials, tasks.
pub mod storage;
