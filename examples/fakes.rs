//! The end-to-end tests' fake PixVerse as a standalone process, for `.ci/api-check` and for
//! trying the HTTP API by hand without a PixVerse account:
//!
//! ```sh
//! cargo run --example fakes     # prints PIXVERSE_API_URL=… and PIXVERSE_UPLOAD_URL=…, runs until killed
//! ```
//!
//! It knows one web account (`demo` / `demo-password`) and one Platform key (`demo-key`);
//! videos finish after a few polls.

/// The e2e support's database engine switch (unused here: no database).
#[allow(dead_code)]
const POSTGRES: bool = false;

#[allow(dead_code, unused_imports)]
#[path = "../tests/e2e/support/mod.rs"]
mod support;

#[tokio::main]
async fn main() {
    let px = support::fake_pixverse::FakePixverse::start().await;
    // Whatever a client sends is its own business here; the tests check the protocol.
    px.allow_violations();
    px.add_web_account("demo", "demo-password");
    px.add_api_key("demo-key");
    px.add_api_key(support::app::OPERATOR_KEY);
    println!("PIXVERSE_API_URL={}", px.url());
    println!("PIXVERSE_UPLOAD_URL={}", px.upload_url());
    println!("PIXVERSE_API_KEY={}", support::app::OPERATOR_KEY);
    let _ = tokio::signal::ctrl_c().await;
}
