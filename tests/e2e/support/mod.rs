//! Test fakes and helpers shared by every e2e test.

pub mod app;
pub mod database;
pub mod fake_pixverse;
pub mod fake_telegram;
pub mod process;
