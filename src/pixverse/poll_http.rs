//! The HTTP path of status polls: hyper's pooled client, without reqwest's layers.
//!
//! At scale nearly every PixVerse call is a status poll (one listing per web account and one
//! result call per API-key task, every poll interval: ~390 a second for 10,000 tasks in flight).
//! Profiled, reqwest's own work per request was about a seventh of what polling cost: its
//! redirect layer parses each answer's URL again (IDNA and all), the request is rebuilt from a
//! `Url`, and the timeouts and the response wrapper come on top. Measured in turns against the
//! same build with reqwest: 2.3 % of one core against 2.7 % (`cargo bench --bench bot`, README).
//! Every other call keeps reqwest (JSON bodies, multipart, streamed downloads, uploads): they
//! are few, one or two per video.
//!
//! Both http and https: TLS by rustls with the webpki roots, as reqwest is built here.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full, Limited};
use hyper::header::{CONTENT_TYPE, HeaderMap, HeaderValue, USER_AGENT};
use hyper::{Method, Request, Uri};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::{Client, connect::HttpConnector};
use hyper_util::rt::TokioExecutor;

use super::error::PixverseError;
use super::transport::{MAX_ERROR_BODY_BYTES, MAX_JSON_BYTES, http_error_of};

/// A pooled HTTP/1 client for small JSON calls to the API host (http or https).
#[derive(Clone, Debug)]
pub(super) struct PollHttp {
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    user_agent: HeaderValue,
    timeout: Duration,
}

impl PollHttp {
    pub(super) fn new(connect_timeout: Duration, timeout: Duration, user_agent: &'static str) -> Self {
        let mut http = HttpConnector::new();
        http.set_connect_timeout(Some(connect_timeout));
        http.set_nodelay(true);
        http.enforce_http(false);
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_webpki_roots()
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        Self {
            client: Client::builder(TokioExecutor::new()).build(https),
            user_agent: HeaderValue::from_static(user_agent),
            timeout,
        }
    }

    /// Sends one request and returns its body once the status is 2xx; the whole exchange, body
    /// included, within the client's time-out.
    pub(super) async fn send(
        &self,
        method: Method,
        uri: Uri,
        headers: HeaderMap,
        json_body: Option<&'static str>,
    ) -> Result<Bytes, PixverseError> {
        let mut request = Request::builder().method(method).uri(uri);
        let request_headers = request.headers_mut().expect("a fresh builder has headers");
        *request_headers = headers;
        request_headers.insert(USER_AGENT, self.user_agent.clone());
        if json_body.is_some() {
            request_headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        }
        let request = request
            .body(Full::new(json_body.map_or_else(Bytes::new, |body| {
                Bytes::from_static(body.as_bytes())
            })))
            .map_err(|e| PixverseError::InvalidInput(format!("bad status request: {e}")))?;
        tokio::time::timeout(self.timeout, async {
            let response = self.client.request(request).await.map_err(network)?;
            let (parts, body) = response.into_parts();
            if !parts.status.is_success() {
                // A broken error body still leaves the status, which is what matters.
                let body = Limited::new(body, MAX_ERROR_BODY_BYTES as usize)
                    .collect()
                    .await
                    .map(|collected| collected.to_bytes())
                    .unwrap_or_default();
                return Err(http_error_of(parts.status, &parts.headers, &body));
            }
            let body = Limited::new(body, MAX_JSON_BYTES as usize)
                .collect()
                .await
                .map_err(|e| match e.downcast::<http_body_util::LengthLimitError>() {
                    Ok(_) => PixverseError::Decode(format!("answer larger than {MAX_JSON_BYTES} bytes")),
                    Err(e) => PixverseError::Network(e),
                })?;
            Ok(body.to_bytes())
        })
        .await
        .map_err(|_| PixverseError::Network("timed out".into()))?
    }
}

fn network(err: hyper_util::client::legacy::Error) -> PixverseError {
    PixverseError::Network(err.into())
}
