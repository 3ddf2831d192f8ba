//! End-to-end tests: fake Telegram + fake PixVerse on loopback, the real App.
mod pixverse_client;
mod support;
