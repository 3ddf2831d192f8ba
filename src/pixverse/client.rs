//! The PixVerse client: one value for both surfaces; the credential picks the surface per call.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use futures_util::StreamExt as _;
use reqwest::Method;
use secrecy::{ExposeSecret, SecretString};

use super::credential::Credential;
use super::error::{ErrorKind, PixverseError};
use super::jwt;
use super::poll_http::PollHttp;
use super::transport::{Retry, call_json, run};
use super::types::{Balance, GenerationRequest, UploadedImage, VideoStatus, WebLogin};
use super::wire::{CreditsResp, GenerateBody, GenerateResp, ListResp, LoginResp, ResultResp};

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// Result calls in flight at once for one API-key status round.
const PARALLEL_RESULT_CALLS: usize = 4;
/// The first listing page of 50 videos: pending videos are among the newest, so one page
/// covers them. The same every time, so written once.
const LISTING_BODY: &str = r#"{"offset":0,"limit":50,"filter":{},"web_offset":0,"app_offset":0}"#;
/// PixVerse needs an aspect ratio for t2v; the domain layer normally sets one.
const DEFAULT_ASPECT_RATIO: &str = "16:9";

/// A cheap-to-clone handle: a pooled `reqwest::Client` and the two base URLs.
#[derive(Clone, Debug)]
pub struct PixverseClient {
    http: reqwest::Client,
    /// Status polls only: see `poll_http.rs`.
    polls: PollHttp,
    /// Parsed once: a status poll only sets its path on a copy (parsing the whole URL, host
    /// and all, was a noticeable part of what polling costs).
    api_base: reqwest::Url,
    upload_url: String,
}

impl PixverseClient {
    /// `api_url` is `PIXVERSE_API_URL`, `upload_url` is `PIXVERSE_UPLOAD_URL` (the OSS endpoint).
    pub fn new(api_url: &str, upload_url: &str) -> Result<Self, PixverseError> {
        const USER_AGENT: &str = concat!("pixverse-bot/", env!("CARGO_PKG_VERSION"));
        let http = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(USER_AGENT)
            .build()
            .map_err(|e| PixverseError::InvalidInput(format!("cannot build the HTTP client: {e}")))?;
        Ok(Self {
            http,
            polls: PollHttp::new(CONNECT_TIMEOUT, REQUEST_TIMEOUT, USER_AGENT),
            api_base: reqwest::Url::parse(&base_url(api_url)?)
                .map_err(|e| PixverseError::InvalidInput(format!("bad base URL: {e}")))?,
            upload_url: base_url(upload_url)?,
        })
    }

    pub(super) fn http(&self) -> &reqwest::Client {
        &self.http
    }

    pub(super) fn polls(&self) -> &PollHttp {
        &self.polls
    }

    /// The API host's URL of `path` (which may carry a query), under the base URL's own path.
    pub(super) fn api_endpoint(&self, path: &str) -> reqwest::Url {
        let (path, query) = match path.split_once('?') {
            Some((path, query)) => (path, Some(query)),
            None => (path, None),
        };
        let mut url = self.api_base.clone();
        let prefix = self.api_base.path().trim_end_matches('/');
        if prefix.is_empty() {
            url.set_path(path);
        } else {
            url.set_path(&format!("{prefix}{path}"));
        }
        url.set_query(query);
        url
    }

    pub(super) fn upload_url(&self) -> &str {
        &self.upload_url
    }

    /// Logs into the web app. Never retried: each login signs the account's other session out.
    /// The password travels only in the JSON body.
    #[tracing::instrument(skip_all)]
    pub async fn login(&self, username: &str, password: &SecretString) -> Result<WebLogin, PixverseError> {
        const PATH: &str = "/creative_platform/login";
        let resp: LoginResp = run(PATH, Retry::Never, || async {
            let body = serde_json::json!({ "Username": username, "Password": password.expose_secret() });
            call_json(self.api_request(Method::POST, PATH, None)?.json(&body)).await
        })
        .await?;
        let result = resp
            .result
            .ok_or_else(|| PixverseError::Decode("login answer has no Result".into()))?;
        let token = result
            .token
            .filter(|t| !t.is_empty())
            .ok_or_else(|| PixverseError::Decode("login answer has no Token".into()))?;
        Ok(WebLogin {
            account_id: result.account_id.unwrap_or_default(),
            username: result.username.unwrap_or_else(|| username.to_owned()),
            expires_at: jwt::expire_time(&token),
            token: SecretString::from(token),
        })
    }

    /// Starts a generation and returns its video id, as new work (a fresh trace id).
    pub async fn generate(&self, cred: &Credential, req: &GenerationRequest) -> Result<i64, PixverseError> {
        self.generate_traced(cred, req, &super::transport::trace_id())
            .await
    }

    /// Starts a generation under `trace_id`, PixVerse's idempotency key: sent again with the same
    /// id and the same request, it answers with the video it already started instead of starting
    /// (and charging) another. Never retried here: the worker stores the id and decides.
    #[tracing::instrument(skip_all, fields(surface = cred.surface(), model = %req.model, i2v = req.image.is_some()))]
    pub async fn generate_traced(
        &self,
        cred: &Credential,
        req: &GenerationRequest,
        trace_id: &str,
    ) -> Result<i64, PixverseError> {
        let (path, body) = generation_call(cred, req)?;
        let resp: GenerateResp = run(path, Retry::Never, || async {
            let mut request = self.api_request_traced(Method::POST, path, Some(cred), trace_id)?;
            if matches!(cred, Credential::WebToken(_)) {
                request = request.header("Refresh", "credit");
            }
            call_json(request.json(&body)).await
        })
        .await?;
        resp.video_id
            .or_else(|| resp.video_ids.and_then(|ids| ids.first().map(|id| id.0)))
            .ok_or_else(|| PixverseError::Decode("generation answer has no video_id".into()))
    }

    /// Current statuses. Ids PixVerse does not know (for this credential) are absent.
    /// API key: one result call per id; web: one listing call for all ids.
    #[tracing::instrument(level = "debug", skip_all, fields(surface = cred.surface(), ids = video_ids.len()))]
    pub async fn statuses(
        &self,
        cred: &Credential,
        video_ids: &[i64],
    ) -> Result<HashMap<i64, VideoStatus>, PixverseError> {
        let wanted: HashSet<i64> = video_ids.iter().copied().collect();
        if wanted.is_empty() {
            return Ok(HashMap::new());
        }
        match cred {
            Credential::ApiKey(_) => {
                let results: Vec<_> = futures_util::stream::iter(wanted)
                    .map(|id| async move { (id, self.platform_status(cred, id).await) })
                    .buffer_unordered(PARALLEL_RESULT_CALLS)
                    .collect()
                    .await;
                let mut out = HashMap::new();
                for (id, status) in results {
                    if let Some(status) = status? {
                        out.insert(id, status);
                    }
                }
                Ok(out)
            }
            Credential::WebToken(_) => self.web_statuses(cred, &wanted).await,
        }
    }

    /// `None` when PixVerse refuses the id as a bad parameter, i.e. it does not know it: the
    /// same answer as an id missing from the web listing.
    async fn platform_status(
        &self,
        cred: &Credential,
        id: i64,
    ) -> Result<Option<VideoStatus>, PixverseError> {
        let path = format!("/openapi/v2/video/result/{id}");
        let result = run(&path, Retry::Idempotent, || async {
            self.poll_json::<ResultResp>(Method::GET, &path, cred, None).await
        })
        .await;
        match result {
            Ok(r) => Ok(Some(VideoStatus::from_code(r.status, r.url.as_deref()))),
            Err(e @ PixverseError::Api { .. }) if e.kind() == ErrorKind::BadRequest => {
                tracing::debug!(video_id = id, error = %e, "pixverse does not know this video");
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    async fn web_statuses(
        &self,
        cred: &Credential,
        wanted: &HashSet<i64>,
    ) -> Result<HashMap<i64, VideoStatus>, PixverseError> {
        const PATH: &str = "/creative_platform/video/list/personal";
        let resp: ListResp = run(PATH, Retry::Idempotent, || {
            self.poll_json(Method::POST, PATH, cred, Some(LISTING_BODY))
        })
        .await?;
        Ok(resp
            .data
            .unwrap_or_default()
            .into_iter()
            .filter_map(|item| {
                let id = item.video_id.filter(|id| wanted.contains(id))?;
                Some((id, VideoStatus::from_code(item.video_status, item.url.as_deref())))
            })
            .collect())
    }

    /// Credits left on the credential's account; also a cheap check that it still works.
    #[tracing::instrument(skip_all, fields(surface = cred.surface()))]
    pub async fn balance(&self, cred: &Credential) -> Result<Balance, PixverseError> {
        let path = match cred {
            Credential::ApiKey(_) => "/openapi/v2/account/balance",
            Credential::WebToken(_) => "/creative_platform/user/credits",
        };
        let resp: CreditsResp = run(path, Retry::Idempotent, || async {
            call_json(self.api_request(Method::GET, path, Some(cred))?).await
        })
        .await?;
        Ok(Balance {
            daily: match cred {
                Credential::ApiKey(_) => None,
                Credential::WebToken(_) => Some(resp.credit_daily.unwrap_or_default()),
            },
            monthly: resp.credit_monthly.unwrap_or_default(),
            package: resp.credit_package.unwrap_or_default(),
        })
    }
}

/// Path and body of a generation. An image uploaded through the other surface is answered like
/// PixVerse's "invalid image id" (400032), so the caller's re-upload path handles it.
fn generation_call<'a>(
    cred: &Credential,
    req: &'a GenerationRequest,
) -> Result<(&'static str, GenerateBody<'a>), PixverseError> {
    let web = matches!(cred, Credential::WebToken(_));
    let mut body = GenerateBody {
        prompt: &req.prompt,
        model: &req.model,
        duration: req.duration,
        quality: &req.quality,
        aspect_ratio: None,
        motion_mode: req.motion_mode.as_deref(),
        negative_prompt: req.negative_prompt.as_deref(),
        seed: req.seed,
        style: req.style.as_deref(),
        generate_audio_switch: req.generate_audio,
        sound_effect_switch: req.sound_effect.as_ref().map(|_| true),
        sound_effect_content: req.sound_effect.as_deref(),
        img_id: None,
        template_id: None,
        lip_sync_tts_speaker_id: None,
        customer_img_path: None,
        customer_img_url: None,
    };
    if web && req.sound_effect.is_some() {
        return Err(PixverseError::InvalidInput(
            "a sound effect needs a Platform API key; the web surface has no such field".into(),
        ));
    }
    if web && req.template_id.is_some() {
        return Err(PixverseError::InvalidInput(
            "an effect template needs a Platform API key; the web surface has no such field".into(),
        ));
    }
    if web {
        // The web app always sends both; the spec lists them as required there.
        body.motion_mode = Some(body.motion_mode.unwrap_or("normal"));
        body.lip_sync_tts_speaker_id = Some("Auto");
    }
    let path = match (&req.image, web) {
        (None, _) => {
            body.aspect_ratio = Some(req.aspect_ratio.as_deref().unwrap_or(DEFAULT_ASPECT_RATIO));
            if web {
                "/creative_platform/video/t2v"
            } else {
                "/openapi/v2/video/text/generate"
            }
        }
        (Some(UploadedImage::Platform { img_id }), false) => {
            body.img_id = Some(*img_id);
            body.template_id = req.template_id;
            "/openapi/v2/video/img/generate"
        }
        (Some(UploadedImage::Web { path, url }), true) => {
            body.customer_img_path = Some(path);
            body.customer_img_url = Some(url);
            "/creative_platform/video/i2v"
        }
        (Some(_), _) => {
            return Err(PixverseError::Api {
                code: 400032,
                message: "the image was uploaded with another kind of credential; upload it again".into(),
            });
        }
    };
    Ok((path, body))
}

/// A base URL without its trailing slash; only http(s), no query.
fn base_url(raw: &str) -> Result<String, PixverseError> {
    let url = reqwest::Url::parse(raw.trim())
        .map_err(|e| PixverseError::InvalidInput(format!("bad base URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") || url.query().is_some() {
        return Err(PixverseError::InvalidInput(
            "base URL must be http(s) without a query".into(),
        ));
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(image: Option<UploadedImage>) -> GenerationRequest {
        GenerationRequest {
            prompt: "a cat".into(),
            model: "v5".into(),
            duration: 5,
            quality: "540p".into(),
            aspect_ratio: Some("9:16".into()),
            motion_mode: None,
            negative_prompt: None,
            seed: Some(7),
            style: None,
            generate_audio: None,
            sound_effect: None,
            template_id: None,
            image,
        }
    }

    #[test]
    fn i2v_bodies_carry_the_image_and_no_aspect_ratio() {
        let key = Credential::ApiKey("k".into());
        let req = request(Some(UploadedImage::Platform { img_id: 1 }));
        let (path, body) = generation_call(&key, &req).unwrap();
        assert_eq!(path, "/openapi/v2/video/img/generate");
        let json = serde_json::to_value(&body).unwrap();
        assert_eq!(json["img_id"], 1);
        assert!(json.get("aspect_ratio").is_none());

        let web = Credential::WebToken("t".into());
        let image = UploadedImage::Web {
            path: "upload/a.jpg".into(),
            url: "https://u/upload/a.jpg".into(),
        };
        let req = request(Some(image));
        let json = serde_json::to_value(generation_call(&web, &req).unwrap().1).unwrap();
        assert_eq!(json["customer_img_path"], "upload/a.jpg");
        assert_eq!(json["motion_mode"], "normal");
        assert!(json.get("aspect_ratio").is_none());
    }

    #[test]
    fn web_t2v_bodies_name_the_speaker() {
        let web = Credential::WebToken("t".into());
        let req = request(None);
        let (path, body) = generation_call(&web, &req).unwrap();
        assert_eq!(path, "/creative_platform/video/t2v");
        let json = serde_json::to_value(&body).unwrap();
        assert_eq!(json["lip_sync_tts_speaker_id"], "Auto");
        assert_eq!(json["aspect_ratio"], "9:16");
    }

    #[test]
    fn an_image_from_the_other_surface_asks_for_a_re_upload() {
        let web = Credential::WebToken("t".into());
        let req = request(Some(UploadedImage::Platform { img_id: 1 }));
        assert_eq!(generation_call(&web, &req).unwrap_err().code(), Some(400032));
    }

    #[test]
    fn endpoints_keep_the_base_path_and_the_query() {
        let client = PixverseClient::new("http://127.0.0.1:9/prefix/", "http://127.0.0.1:9").unwrap();
        assert_eq!(
            client.api_endpoint("/openapi/v2/video/result/7").as_str(),
            "http://127.0.0.1:9/prefix/openapi/v2/video/result/7"
        );
        assert_eq!(
            client.api_endpoint("/a/list?page_num=1&page_size=30").as_str(),
            "http://127.0.0.1:9/prefix/a/list?page_num=1&page_size=30"
        );
        let client = PixverseClient::new("http://127.0.0.1:9", "http://127.0.0.1:9").unwrap();
        assert_eq!(client.api_endpoint("/x").as_str(), "http://127.0.0.1:9/x");
    }

    #[test]
    fn base_urls_lose_their_trailing_slash() {
        assert_eq!(base_url("http://127.0.0.1:9/").unwrap(), "http://127.0.0.1:9");
        assert!(base_url("ftp://x").is_err());
        assert!(base_url("not a url").is_err());
    }
}
