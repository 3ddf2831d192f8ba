//! Image uploads: a multipart POST for API keys; for web tokens, temporary OSS credentials, a
//! signed PUT to the OSS bucket, then registering the object with PixVerse.

use std::time::SystemTime;

use bytes::Bytes;
use reqwest::Method;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, DATE};
use reqwest::multipart::{Form, Part};
use secrecy::{ExposeSecret, SecretString};

use super::client::PixverseClient;
use super::credential::Credential;
use super::error::PixverseError;
use super::oss;
use super::transport::{Retry, TRACE_ID, call_json, run, secret_header, send, trace_id};
use super::types::UploadedImage;
use super::wire::{BatchUploadResp, PlatformUploadResp, UploadTokenResp};

/// OSS answers a PUT with an empty body; anything longer is not read.
const MAX_OSS_ANSWER_BYTES: u64 = 64 << 10;

/// The temporary OSS credentials of one upload.
struct OssCredentials {
    access_key_id: String,
    access_key_secret: SecretString,
    security_token: SecretString,
}

impl PixverseClient {
    /// Uploads an image for i2v. `ext` is `jpg`, `jpeg`, `png` or `webp`.
    #[tracing::instrument(skip_all, fields(surface = cred.surface(), bytes = bytes.len(), ext = ext))]
    pub async fn upload_image(
        &self,
        cred: &Credential,
        bytes: Vec<u8>,
        ext: &str,
    ) -> Result<UploadedImage, PixverseError> {
        let content_type = content_type(ext)?;
        let bytes = Bytes::from(bytes);
        match cred {
            Credential::ApiKey(_) => self.upload_platform(cred, bytes, ext, content_type).await,
            Credential::WebToken(_) => self.upload_web(cred, bytes, ext, content_type).await,
        }
    }

    /// Not retried: the spec lists it with no idempotency, and the worker re-uploads on failure.
    async fn upload_platform(
        &self,
        cred: &Credential,
        bytes: Bytes,
        ext: &str,
        content_type: &str,
    ) -> Result<UploadedImage, PixverseError> {
        const PATH: &str = "/openapi/v2/image/upload";
        let resp: PlatformUploadResp = run(PATH, Retry::Never, || async {
            let len = bytes.len() as u64;
            let part = Part::stream_with_length(reqwest::Body::from(bytes.clone()), len)
                .file_name(format!("image.{ext}"))
                .mime_str(content_type)
                .map_err(|e| PixverseError::InvalidInput(format!("content type: {e}")))?;
            let form = Form::new().part("image", part);
            call_json(self.api_request(Method::POST, PATH, Some(cred))?.multipart(form)).await
        })
        .await?;
        let img_id = resp
            .img_id
            .ok_or_else(|| PixverseError::Decode("upload answer has no img_id".into()))?;
        Ok(UploadedImage::Platform { img_id })
    }

    /// Every step is idempotent (the object key is fixed before the first PUT), so each retries.
    async fn upload_web(
        &self,
        cred: &Credential,
        bytes: Bytes,
        ext: &str,
        content_type: &str,
    ) -> Result<UploadedImage, PixverseError> {
        let oss_creds = self.upload_token(cred).await?;
        let name = format!("{}.{ext}", uuid::Uuid::new_v4());
        let key = format!("upload/{name}");
        let md5 = oss::content_md5(&bytes);
        run(&format!("oss:/{key}"), Retry::Idempotent, || {
            self.oss_put(&oss_creds, &key, content_type, &md5, bytes.clone())
        })
        .await?;

        const PATH: &str = "/creative_platform/media/batch_upload_media";
        let body = serde_json::json!({ "images": [{ "name": name, "size": bytes.len(), "path": key }] });
        let resp: BatchUploadResp = run(PATH, Retry::Idempotent, || async {
            call_json(self.api_request(Method::POST, PATH, Some(cred))?.json(&body)).await
        })
        .await?;
        let item = resp
            .result
            .and_then(|items| items.into_iter().next())
            .ok_or_else(|| PixverseError::Decode("batch_upload_media answer has no result".into()))?;
        let url = item
            .url
            .ok_or_else(|| PixverseError::Decode("batch_upload_media answer has no url".into()))?;
        Ok(UploadedImage::Web {
            path: item.path.unwrap_or(key),
            url,
        })
    }

    async fn upload_token(&self, cred: &Credential) -> Result<OssCredentials, PixverseError> {
        const PATH: &str = "/creative_platform/getUploadToken";
        let resp: UploadTokenResp = run(PATH, Retry::Idempotent, || async {
            call_json(self.api_request(Method::POST, PATH, Some(cred))?).await
        })
        .await?;
        match (resp.ak, resp.sk, resp.token) {
            (Some(ak), Some(sk), Some(token)) => Ok(OssCredentials {
                access_key_id: ak,
                access_key_secret: sk.into(),
                security_token: token.into(),
            }),
            _ => Err(PixverseError::Decode(
                "upload token answer lacks Ak, Sk or Token".into(),
            )),
        }
    }

    /// One signed PUT; the Date, and so the signature, are fresh on every attempt.
    async fn oss_put(
        &self,
        creds: &OssCredentials,
        key: &str,
        content_type: &str,
        md5: &str,
        bytes: Bytes,
    ) -> Result<(), PixverseError> {
        let date = httpdate::fmt_http_date(SystemTime::now());
        let token = creds.security_token.expose_secret();
        let authorization = oss::authorization(
            &creds.access_key_id,
            creds.access_key_secret.expose_secret(),
            &oss::SignedRequest {
                method: "PUT",
                content_md5: md5,
                content_type,
                date: &date,
                oss_headers: &[("x-oss-security-token", token)],
                resource: &format!("/{}/{key}", oss::BUCKET),
            },
        );
        let request = self
            .http()
            .put(format!("{}/{key}", self.upload_url()))
            .header(TRACE_ID, trace_id())
            .header(CONTENT_TYPE, content_type)
            .header("Content-MD5", md5)
            .header(DATE, &date)
            .header("x-oss-security-token", secret_header(token)?)
            .header(AUTHORIZATION, secret_header(&authorization)?)
            .body(bytes);
        send(request, MAX_OSS_ANSWER_BYTES).await.map(drop)
    }
}

fn content_type(ext: &str) -> Result<&'static str, PixverseError> {
    match ext.to_ascii_lowercase().as_str() {
        "jpg" | "jpeg" => Ok("image/jpeg"),
        "png" => Ok("image/png"),
        "webp" => Ok("image/webp"),
        _ => Err(PixverseError::InvalidInput(format!(
            "image type {ext:?} is not jpg, png or webp"
        ))),
    }
}
