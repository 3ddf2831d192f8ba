//! pixverse-bot: a Telegram bot that turns chat messages into PixVerse AI videos.

/// The PixVerse HTTP client: both the Platform API and the web-app API.
pub mod pixverse;
