//! End-to-end tests: fake Telegram + fake PixVerse on loopback, the real App.
mod fake_telegram_conformance;
mod support;
