//! The one error type of the PixVerse client, and what each failure means for the caller.

use std::time::Duration;

/// What the caller should do about a failure; the worker branches on this, not on codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The key or token is wrong, expired or logged out elsewhere: the user must log in again.
    CredentialInvalid,
    /// The account has no credits left: permanent for this credential.
    OutOfCredits,
    /// PixVerse's moderation rejected the prompt or image: ask for another one.
    Moderation,
    /// The account's concurrent generation limit is reached: keep the task queued, try later.
    Busy,
    /// May succeed if tried again later (network, overload, 5xx, garbage).
    Transient,
    /// PixVerse no longer knows the uploaded image (400032): upload it again, then retry.
    ImageExpired,
    /// The image cannot be used (too large, unreadable, wrong format: 500030–500033).
    BadImage,
    /// The request itself is wrong: retrying the same request cannot help.
    BadRequest,
}

impl ErrorKind {
    /// The `outcome` label of the PixVerse request metrics.
    pub fn metric_label(self) -> &'static str {
        match self {
            ErrorKind::CredentialInvalid => "credential_invalid",
            ErrorKind::OutOfCredits => "out_of_credits",
            ErrorKind::Moderation => "moderation",
            ErrorKind::Busy => "busy",
            ErrorKind::Transient => "transient",
            ErrorKind::ImageExpired => "image_expired",
            ErrorKind::BadImage => "bad_image",
            ErrorKind::BadRequest => "bad_request",
        }
    }
}

/// A failed PixVerse call. Display and Debug never contain a key, token, password or URL.
#[derive(thiserror::Error, Debug)]
pub enum PixverseError {
    /// HTTP 2xx with a non-zero `ErrCode` (PixVerse's usual way to fail).
    #[error("PixVerse answered ErrCode {code}: {message}")]
    Api { code: i64, message: String },
    /// A non-2xx HTTP status; `body` is truncated and may be HTML or XML.
    #[error("PixVerse answered HTTP {status}: {body}")]
    Http {
        status: u16,
        body: String,
        retry_after: Option<Duration>,
    },
    /// Connect, timeout or reset. The inner error names no URL (a signed OSS query could be in
    /// one): reqwest's is stripped of it, and a status poll's (`poll_http.rs`) names at most the
    /// socket address.
    #[error("could not talk to PixVerse")]
    Network(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The answer was not the JSON the spec describes.
    #[error("unexpected PixVerse answer: {0}")]
    Decode(String),
    /// The caller handed the client something unusable (a bad base URL, an unknown image type).
    #[error("invalid input to the PixVerse client: {0}")]
    InvalidInput(String),
    /// The credential cannot even be sent (e.g. a control character in it). The secret is not shown.
    #[error("the PixVerse credential is malformed")]
    MalformedCredential,
    /// A download could not be written to the local file it streams into (disk full, say).
    #[error("could not store the downloaded video: {0}")]
    Store(#[source] std::io::Error),
}

impl PixverseError {
    /// How the caller should react; see the ErrCode table in /work/shared/pixverse-api.md.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::Api { code, .. } => kind_of_code(*code),
            Self::Http { status, .. } => match status {
                401 | 403 => ErrorKind::CredentialInvalid,
                429 | 500..=599 => ErrorKind::Transient,
                _ => ErrorKind::BadRequest,
            },
            Self::Network(_) | Self::Decode(_) | Self::Store(_) => ErrorKind::Transient,
            Self::InvalidInput(_) => ErrorKind::BadRequest,
            Self::MalformedCredential => ErrorKind::CredentialInvalid,
        }
    }

    /// Whether the same work may succeed later: transient failures, and a busy account (whose
    /// task should stay queued). The client itself only re-sends idempotent calls on `Transient`.
    pub fn is_retryable(&self) -> bool {
        matches!(self.kind(), ErrorKind::Transient | ErrorKind::Busy)
    }

    /// Whether PixVerse answered the request itself (an `ErrCode`): then the request is settled,
    /// and a submit sent again under the same trace id would only get this answer back, so a
    /// retry is new work. Otherwise (network, HTTP status, garbage) PixVerse may or may not have
    /// taken it, and a retried submit must reuse its trace id.
    pub fn was_answered(&self) -> bool {
        matches!(self, Self::Api { .. })
    }

    /// The server's `Retry-After`, when it sent one.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Http { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// PixVerse's `ErrCode`, for an API-level failure.
    pub fn code(&self) -> Option<i64> {
        match self {
            Self::Api { code, .. } => Some(*code),
            _ => None,
        }
    }
}

/// Classifies an `ErrCode`. Unknown non-zero codes are `BadRequest`: re-sending blindly could
/// charge credits twice, so the unknown is treated as permanent and shows up in the logs.
pub fn kind_of_code(code: i64) -> ErrorKind {
    match code {
        10001..=10005 | 500200 => ErrorKind::CredentialInvalid,
        400011 | 400013 | 400017 | 400018 | 400019 => ErrorKind::BadRequest,
        // An invalid image id: the caller re-uploads the image, so the task is not lost.
        400032 => ErrorKind::ImageExpired,
        500030..=500033 => ErrorKind::BadImage,
        500041 | 500069 | 500100 | 99999 => ErrorKind::Transient,
        500043 | 500090 => ErrorKind::OutOfCredits,
        500044 => ErrorKind::Busy,
        500054 | 500063 => ErrorKind::Moderation,
        _ => ErrorKind::BadRequest,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_documented_code_has_its_kind() {
        use ErrorKind::*;
        let table = [
            (10001, CredentialInvalid),
            (10002, CredentialInvalid),
            (10003, CredentialInvalid),
            (10004, CredentialInvalid),
            (10005, CredentialInvalid),
            (400011, BadRequest),
            (400013, BadRequest),
            (400017, BadRequest),
            (400018, BadRequest),
            (400019, BadRequest),
            (400032, ImageExpired),
            (500030, BadImage),
            (500031, BadImage),
            (500032, BadImage),
            (500033, BadImage),
            (500041, Transient),
            (500043, OutOfCredits),
            (500090, OutOfCredits),
            (500044, Busy),
            (500054, Moderation),
            (500063, Moderation),
            (500069, Transient),
            (500100, Transient),
            (99999, Transient),
            (500200, CredentialInvalid),
            (123456, BadRequest),
        ];
        for (code, kind) in table {
            assert_eq!(kind_of_code(code), kind, "ErrCode {code}");
        }
    }

    #[test]
    fn http_statuses_have_their_kind() {
        let http = |status| PixverseError::Http {
            status,
            body: String::new(),
            retry_after: None,
        };
        assert_eq!(http(401).kind(), ErrorKind::CredentialInvalid);
        assert_eq!(http(403).kind(), ErrorKind::CredentialInvalid);
        assert_eq!(http(429).kind(), ErrorKind::Transient);
        assert_eq!(http(503).kind(), ErrorKind::Transient);
        assert_eq!(http(404).kind(), ErrorKind::BadRequest);
        assert!(http(502).is_retryable());
        assert!(!http(400).is_retryable());
    }
}
