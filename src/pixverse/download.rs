//! Fetching the finished MP4, bounded by the size the caller can deliver.

use std::path::Path;

use reqwest::Url;
use tokio::io::AsyncWriteExt;

use super::client::PixverseClient;
use super::error::PixverseError;
use super::transport::{Retry, TRACE_ID, check_status, network, run, trace_id};
use super::types::DownloadedVideo;

impl PixverseClient {
    /// Streams the video into the file `to` (created, or emptied on each attempt), giving up as
    /// soon as it exceeds `max_bytes` (before reading anything when `Content-Length` already says
    /// so). Memory stays at one chunk however large the video: 16 deliveries at once would
    /// otherwise hold 16 × 50 MB. No credential is sent: the URL is PixVerse's media host.
    #[tracing::instrument(skip_all, fields(max_bytes = max_bytes))]
    pub async fn download_video(
        &self,
        url: &str,
        max_bytes: u64,
        to: &Path,
    ) -> Result<DownloadedVideo, PixverseError> {
        let url = Url::parse(url).map_err(|e| PixverseError::InvalidInput(format!("video URL: {e}")))?;
        // Logged by path only: a signed media URL carries its signature in the query.
        let log_path = format!("media:{}", url.path());
        run(&log_path, Retry::Idempotent, || {
            self.download_once(url.clone(), max_bytes, to)
        })
        .await
    }

    async fn download_once(
        &self,
        url: Url,
        max_bytes: u64,
        to: &Path,
    ) -> Result<DownloadedVideo, PixverseError> {
        let mut response = self
            .http()
            .get(url)
            .header(TRACE_ID, trace_id())
            .send()
            .await
            .map_err(network)?;
        response = check_status(response).await?;
        if let Some(size) = response.content_length().filter(|&size| size > max_bytes) {
            return Ok(DownloadedVideo::TooLarge { size: Some(size) });
        }
        let mut file = tokio::fs::File::create(to).await.map_err(PixverseError::Store)?;
        let mut written = 0u64;
        while let Some(chunk) = response.chunk().await.map_err(network)? {
            written += chunk.len() as u64;
            if written > max_bytes {
                return Ok(DownloadedVideo::TooLarge { size: None });
            }
            file.write_all(&chunk).await.map_err(PixverseError::Store)?;
        }
        file.flush().await.map_err(PixverseError::Store)?;
        Ok(DownloadedVideo::Saved { bytes: written })
    }
}
