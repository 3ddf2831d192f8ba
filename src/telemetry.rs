//! Logging: `tracing` with an env filter (`RUST_LOG`, default `info`), human-readable or JSON
//! (`LOG_FORMAT=json`). teloxide logs through `log`; the subscriber picks that up too.

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber. Safe to call more than once (later calls do nothing), so tests
/// that build several Apps can call it freely.
pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = if std::env::var("LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json")) {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}

/// For tests: like [`init`], but through libtest's capture, so a passing test prints nothing and
/// a failing one shows its logs.
pub fn init_for_tests() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_test_writer()
        .try_init();
}

/// The process-wide Prometheus recorder behind the `metrics` macros, installed on first use.
/// One per process (the `metrics` facade has a single global recorder), so every App in a test
/// process shares it.
pub fn metrics() -> &'static metrics_exporter_prometheus::PrometheusHandle {
    use metrics_exporter_prometheus::{Matcher, PrometheusBuilder};
    static HANDLE: std::sync::OnceLock<metrics_exporter_prometheus::PrometheusHandle> =
        std::sync::OnceLock::new();
    HANDLE.get_or_init(|| {
        // Seconds: HTTP and PixVerse calls take milliseconds to seconds; generations and queue
        // waits take tens of seconds to minutes.
        const FAST: &[f64] = &[
            0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
        ];
        const SLOW: &[f64] = &[1.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0];
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("request_duration_seconds".into()), FAST)
            .and_then(|b| {
                b.set_buckets_for_metric(
                    Matcher::Full("pixverse_bot_generation_duration_seconds".into()),
                    SLOW,
                )
            })
            .and_then(|b| {
                b.set_buckets_for_metric(Matcher::Full("pixverse_bot_queue_wait_seconds".into()), SLOW)
            })
            .expect("bucket lists are not empty")
            .build_recorder();
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("a metrics recorder was already installed; /metrics shows only this one's");
        }
        handle
    })
}

/// The `call` label of a PixVerse request: its path with ids and keys replaced, so the label
/// has a handful of values (`/openapi/v2/video/result/{id}`, `oss`).
pub fn pixverse_call_label(path: &str) -> String {
    if path.starts_with("oss:") {
        return "oss".into();
    }
    let path = path.split('?').next().unwrap_or_default();
    path.split('/')
        .map(|segment| {
            if segment.bytes().any(|b| b.is_ascii_digit()) && segment.len() > 3 {
                "{id}"
            } else {
                segment
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Counts one Telegram call of `kind` (`send_message`, `edit_message`, `send_video`) by its
/// outcome: `ok`, `retry_after` (Telegram's 429) or `error`.
pub fn telegram_call<T>(kind: &'static str, result: &Result<T, teloxide::RequestError>) {
    let outcome = match result {
        Ok(_) => "ok",
        Err(teloxide::RequestError::RetryAfter(_)) => "retry_after",
        Err(_) => "error",
    };
    metrics::counter!("pixverse_bot_telegram_requests_total", "kind" => kind, "outcome" => outcome)
        .increment(1);
}
