//! Test fakes and helpers shared by every e2e test.

pub mod fake_pixverse;
