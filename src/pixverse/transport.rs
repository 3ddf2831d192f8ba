//! How one PixVerse call travels: headers, the `{"ErrCode","ErrMsg","Resp"}` envelope, HTTP
//! failures, bounded body reads, and the retry loop for idempotent calls.

use std::future::Future;
use std::time::{Duration, SystemTime};

use bytes::{Bytes, BytesMut};
use reqwest::header::{HeaderMap, HeaderValue, RETRY_AFTER};
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use secrecy::ExposeSecret;
use serde::de::DeserializeOwned;

use super::client::PixverseClient;
use super::credential::Credential;
use super::error::{ErrorKind, PixverseError};
use super::wire::Envelope;

/// PixVerse de-duplicates on this header: a reused value returns the previous answer.
pub(super) const TRACE_ID: &str = "Ai-trace-id";
/// The most JSON a PixVerse answer may take; a listing of 50 videos is a few kB.
pub(super) const MAX_JSON_BYTES: u64 = 8 << 20;
/// How much of an error body is read at all, and how much of it is kept in the error.
pub(super) const MAX_ERROR_BODY_BYTES: u64 = 64 << 10;
const KEPT_ERROR_BODY_CHARS: usize = 300;
/// Pauses before the 2nd and 3rd attempt of an idempotent call.
const BACKOFF: [Duration; 2] = [Duration::from_millis(200), Duration::from_millis(600)];
/// A longer `Retry-After` is handed to the caller instead of blocking inside the client.
const MAX_INLINE_RETRY_AFTER: Duration = Duration::from_secs(5);

/// Whether the client may send a call again by itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Retry {
    /// Reading, or writing the same thing again (statuses, balance, uploads to a fixed key).
    Idempotent,
    /// A repeat could cost credits or sessions twice (generate, login): the caller decides.
    Never,
}

/// A fresh UUID v4 for every attempt, retries included. From the thread's generator, not
/// `Uuid::new_v4` (a `getrandom` system call each: one per status poll).
pub(super) fn trace_id() -> String {
    uuid::Builder::from_random_bytes(rand::random())
        .into_uuid()
        .to_string()
}

/// A header value carrying a secret: marked sensitive so reqwest's own Debug output hides it.
pub(super) fn secret_header(secret: &str) -> Result<HeaderValue, PixverseError> {
    let mut value = HeaderValue::from_str(secret).map_err(|_| PixverseError::MalformedCredential)?;
    value.set_sensitive(true);
    Ok(value)
}

impl PixverseClient {
    /// A request to the API host with a fresh trace id and the credential's headers.
    pub(super) fn api_request(
        &self,
        method: Method,
        path: &str,
        cred: Option<&Credential>,
    ) -> Result<RequestBuilder, PixverseError> {
        self.api_request_traced(method, path, cred, &trace_id())
    }

    /// [`Self::api_request`] with the caller's trace id (the retry of a submit reuses its own).
    pub(super) fn api_request_traced(
        &self,
        method: Method,
        path: &str,
        cred: Option<&Credential>,
        trace_id: &str,
    ) -> Result<RequestBuilder, PixverseError> {
        Ok(self
            .http()
            .request(method, self.api_endpoint(path))
            .headers(api_headers(path, cred, trace_id)?))
    }

    /// A status call (a listing or a result): through [`PollHttp`], returning its `Resp`.
    pub(super) async fn poll_json<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        cred: &Credential,
        json_body: Option<&'static str>,
    ) -> Result<T, PixverseError> {
        let uri = self
            .api_endpoint(path)
            .as_str()
            .parse()
            .map_err(|e| PixverseError::InvalidInput(format!("bad status URL: {e}")))?;
        let headers = api_headers(path, Some(cred), &trace_id())?;
        let body = self.polls().send(method, uri, headers, json_body).await?;
        decode_envelope(&body)
    }
}

/// The headers of an API-host call: its trace id and the credential's.
fn api_headers(path: &str, cred: Option<&Credential>, trace_id: &str) -> Result<HeaderMap, PixverseError> {
    let mut headers = HeaderMap::with_capacity(3);
    let trace =
        HeaderValue::from_str(trace_id).map_err(|_| PixverseError::InvalidInput("bad trace id".into()))?;
    headers.insert(TRACE_ID, trace);
    let web = HeaderValue::from_static("Web");
    match cred {
        None if path.starts_with("/creative_platform/") => {
            headers.insert("X-Platform", web);
        }
        None => {}
        Some(Credential::ApiKey(key)) => {
            headers.insert("API-KEY", secret_header(key.expose_secret())?);
        }
        Some(Credential::WebToken(token)) => {
            headers.insert("Token", secret_header(token.expose_secret())?);
            headers.insert("X-Platform", web);
        }
    }
    Ok(headers)
}

/// Sends an API request and returns its `Resp`, decoded, once `ErrCode` says success.
pub(super) async fn call_json<T: DeserializeOwned>(request: RequestBuilder) -> Result<T, PixverseError> {
    let body = send(request, MAX_JSON_BYTES).await?;
    decode_envelope(&body)
}

/// Sends a request; a non-2xx status becomes `PixverseError::Http`. Returns the (bounded) body.
pub(super) async fn send(request: RequestBuilder, max_body: u64) -> Result<Bytes, PixverseError> {
    let response = request.send().await.map_err(network)?;
    let response = check_status(response).await?;
    match read_limited(response, max_body).await? {
        Some(body) => Ok(body),
        None => Err(PixverseError::Decode(format!(
            "answer larger than {max_body} bytes"
        ))),
    }
}

/// Passes a 2xx response through; turns any other into `PixverseError::Http`.
pub(super) async fn check_status(response: Response) -> Result<Response, PixverseError> {
    let status = response.status();
    if status.is_success() {
        return Ok(response);
    }
    let headers = response.headers().clone();
    // A broken error body still leaves the status, which is what matters.
    let body = read_limited(response, MAX_ERROR_BODY_BYTES)
        .await
        .ok()
        .flatten()
        .unwrap_or_default();
    Err(http_error_of(status, &headers, &body))
}

/// Reads the body chunk by chunk; `None` as soon as it grows past `max` bytes.
pub(super) async fn read_limited(mut response: Response, max: u64) -> Result<Option<Bytes>, PixverseError> {
    let mut body = BytesMut::new();
    while let Some(chunk) = response.chunk().await.map_err(network)? {
        if (body.len() + chunk.len()) as u64 > max {
            return Ok(None);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Some(body.freeze()))
}

/// A transport failure, stripped of its URL (which could carry a signed query).
pub(super) fn network(err: reqwest::Error) -> PixverseError {
    PixverseError::Network(Box::new(err.without_url()))
}

/// A non-2xx answer as `PixverseError::Http`, with its `Retry-After`.
pub(super) fn http_error_of(status: StatusCode, headers: &HeaderMap, body: &[u8]) -> PixverseError {
    http_error(status, body, parse_retry_after(headers))
}

fn http_error(status: StatusCode, body: &[u8], retry_after: Option<Duration>) -> PixverseError {
    PixverseError::Http {
        status: status.as_u16(),
        body: summarise_body(&String::from_utf8_lossy(body)),
        retry_after,
    }
}

/// Keeps an error body short. OSS's XML errors echo the string to sign, which contains the
/// security token, so of XML only `<Code>` and `<Message>` are kept.
fn summarise_body(body: &str) -> String {
    let body = body.trim();
    if body.starts_with('<') {
        let tag = |name: &str| {
            let open = format!("<{name}>");
            let start = body.find(&open)? + open.len();
            let end = body[start..].find("</")? + start;
            Some(body[start..end].trim().to_owned())
        };
        if let Some(code) = tag("Code") {
            return truncate(&format!("{code}: {}", tag("Message").unwrap_or_default()));
        }
    }
    truncate(body)
}

fn truncate(text: &str) -> String {
    match text.char_indices().nth(KEPT_ERROR_BODY_CHARS) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

/// `Retry-After` as seconds or as an HTTP date.
fn parse_retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(SystemTime::now()).unwrap_or_default())
}

/// Checks `ErrCode` before touching `Resp`. The body is never quoted in the error: a login
/// answer holds a token.
pub(super) fn decode_envelope<T: DeserializeOwned>(body: &[u8]) -> Result<T, PixverseError> {
    let envelope: Envelope = serde_json::from_slice(body).map_err(|e| {
        PixverseError::Decode(format!(
            "not a PixVerse JSON envelope ({} bytes): {e}",
            body.len()
        ))
    })?;
    match envelope.err_code {
        Some(0) => {}
        Some(code) => {
            return Err(PixverseError::Api {
                code,
                message: envelope.err_msg.unwrap_or_default(),
            });
        }
        None => return Err(PixverseError::Decode("the answer has no ErrCode".into())),
    }
    let resp = envelope.resp.map_or("null", |raw| raw.get());
    serde_json::from_str(resp).map_err(|e| PixverseError::Decode(format!("unexpected Resp: {e}")))
}

/// Runs `attempt` once, or for an idempotent call up to twice more after a transient failure.
/// Logs each attempt's outcome with the path only: never headers, bodies or query strings.
pub(super) async fn run<T, F, Fut>(path: &str, retry: Retry, mut attempt: F) -> Result<T, PixverseError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, PixverseError>>,
{
    let mut backoff = BACKOFF.iter();
    let call = crate::telemetry::pixverse_call_label(path);
    for n in 1.. {
        let started = std::time::Instant::now();
        let result = attempt().await;
        let outcome = match &result {
            Ok(_) => "ok",
            Err(err) => err.kind().metric_label(),
        };
        metrics::counter!("pixverse_bot_pixverse_requests_total", "call" => call.clone(), "outcome" => outcome)
            .increment(1);
        metrics::histogram!("pixverse_bot_pixverse_request_duration_seconds", "call" => call.clone())
            .record(started.elapsed().as_secs_f64());
        let err = match result {
            Ok(value) => {
                tracing::debug!(path, attempt = n, "pixverse call succeeded");
                return Ok(value);
            }
            Err(err) => err,
        };
        tracing::debug!(path, attempt = n, kind = ?err.kind(), error = %err, "pixverse call failed");
        let pause = match (retry, err.kind(), backoff.next()) {
            (Retry::Idempotent, ErrorKind::Transient, Some(pause)) => *pause,
            _ => return Err(err),
        };
        let pause = match err.retry_after() {
            Some(wait) if wait > MAX_INLINE_RETRY_AFTER => return Err(err),
            Some(wait) => wait.max(pause),
            None => pause,
        };
        tokio::time::sleep(pause).await;
    }
    unreachable!("the loop returns on every path")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oss_xml_errors_keep_code_and_message_only() {
        let xml = "<?xml version=\"1.0\"?><Error><Code>SignatureDoesNotMatch</Code><Message>bad sig</Message>\
                   <StringToSign>x-oss-security-token:SECRET</StringToSign></Error>";
        let kept = summarise_body(xml);
        assert_eq!(kept, "SignatureDoesNotMatch: bad sig");
    }

    #[test]
    fn long_bodies_are_truncated() {
        let kept = summarise_body(&"é".repeat(1000));
        assert_eq!(kept.chars().count(), KEPT_ERROR_BODY_CHARS + 1);
    }

    #[test]
    fn error_codes_are_checked_before_resp() {
        let err = decode_envelope::<serde_json::Value>(br#"{"ErrCode":500044,"ErrMsg":"busy","Resp":null}"#)
            .unwrap_err();
        assert_eq!(err.code(), Some(500044));
        let err = decode_envelope::<serde_json::Value>(b"<html>").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Transient);
    }

    #[tokio::test(start_paused = true)]
    async fn idempotent_calls_stop_after_three_attempts() {
        let mut calls = 0;
        let result: Result<(), _> = run("/x", Retry::Idempotent, || {
            calls += 1;
            async { Err(PixverseError::Decode("garbage".into())) }
        })
        .await;
        assert!(result.is_err());
        assert_eq!(calls, 3);
    }

    #[tokio::test(start_paused = true)]
    async fn a_long_retry_after_is_left_to_the_caller() {
        let mut calls = 0;
        let result: Result<(), _> = run("/x", Retry::Idempotent, || {
            calls += 1;
            async {
                Err(PixverseError::Http {
                    status: 429,
                    body: String::new(),
                    retry_after: Some(Duration::from_secs(30)),
                })
            }
        })
        .await;
        assert_eq!(result.unwrap_err().retry_after(), Some(Duration::from_secs(30)));
        assert_eq!(calls, 1);
    }
}
