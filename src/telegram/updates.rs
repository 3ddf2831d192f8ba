//! Telegram errors as they may be logged.

use teloxide::RequestError;

/// A Telegram error as it may be logged: what went wrong, never a response body (teloxide's
/// `InvalidJson` carries the raw answer, and serde's message may quote a value from it).
pub fn loggable(error: &RequestError) -> String {
    match error {
        RequestError::InvalidJson { source, .. } => format!(
            "unreadable answer from Telegram ({:?} error at line {}, column {})",
            source.classify(),
            source.line(),
            source.column()
        ),
        other => other.to_string(),
    }
}
