//! Fetching the finished MP4, bounded by the size the caller can deliver.

use reqwest::Url;

use super::client::PixverseClient;
use super::error::PixverseError;
use super::transport::{Retry, TRACE_ID, check_status, network, read_limited, run, trace_id};
use super::types::DownloadedVideo;

impl PixverseClient {
    /// Streams the video into memory, giving up as soon as it exceeds `max_bytes` (before
    /// reading anything when `Content-Length` already says so). No credential is sent: the
    /// URL is PixVerse's media host.
    #[tracing::instrument(skip_all, fields(max_bytes = max_bytes))]
    pub async fn download_video(&self, url: &str, max_bytes: u64) -> Result<DownloadedVideo, PixverseError> {
        let url = Url::parse(url).map_err(|e| PixverseError::InvalidInput(format!("video URL: {e}")))?;
        // Logged by path only: a signed media URL carries its signature in the query.
        let log_path = format!("media:{}", url.path());
        run(&log_path, Retry::Idempotent, || {
            self.download_once(url.clone(), max_bytes)
        })
        .await
    }

    async fn download_once(&self, url: Url, max_bytes: u64) -> Result<DownloadedVideo, PixverseError> {
        let response = self
            .http()
            .get(url)
            .header(TRACE_ID, trace_id())
            .send()
            .await
            .map_err(network)?;
        let response = check_status(response).await?;
        if let Some(size) = response.content_length().filter(|&size| size > max_bytes) {
            return Ok(DownloadedVideo::TooLarge { size: Some(size) });
        }
        Ok(match read_limited(response, max_bytes).await? {
            Some(bytes) => DownloadedVideo::Bytes(bytes),
            None => DownloadedVideo::TooLarge { size: None },
        })
    }
}
