//! pixverse-bot: a Telegram bot that turns chat messages into PixVerse AI videos.

/// The HTTP door: REST API, OpenAPI and Swagger UI, health, metrics, the Telegram webhook.
pub(crate) mod api;
/// Wiring: builds every part and runs the bot, the HTTP server and the worker with one shutdown.
pub mod app;
/// The Telegram side: commands, the handler tree, handlers.
pub mod bot;
/// Typed configuration from the environment.
pub mod config;
/// `pixverse-bot copy-database`: moves a SQLite database to PostgreSQL.
pub mod copy_database;
/// Pure domain types: prompts, generation parameters, task states.
pub mod domain;
/// The PixVerse HTTP client: both the Platform API and the web-app API.
pub mod pixverse;
/// The one way work is accepted, shared by the bot and the HTTP API: access, limits, insert.
pub mod service;
/// SQLite storage: users, encrypted credentials, tasks.
pub mod storage;
/// Telegram plumbing shared by the bot and the worker: places, the 429 policy, menus, keyboards.
pub(crate) mod telegram;
/// Logging setup.
pub mod telemetry;
/// Every user-facing text, in English and Russian.
pub(crate) mod texts;
/// The worker: claims due tasks and drives them through PixVerse to the chat.
pub(crate) mod worker;
