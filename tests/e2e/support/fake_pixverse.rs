//! A fake PixVerse (both APIs, the OSS bucket and the media host) on 127.0.0.1:0. It answers as
//! /work/shared/pixverse-api.md says the real one does, and records every protocol violation it
//! sees; dropping the handle fails the test if there was any (see [`FakePixverse`]). Faults can
//! be queued or sprinkled at random.
//!
//! Every request goes through one handler: record it, check its trace id, maybe inject a fault,
//! then route it (platform.rs, web.rs, oss.rs) with the state locked. Routes are synchronous
//! functions over the state, so no lock is held across an await.

// Each test uses a part of this helper; the rest would warn as dead code.
#![allow(dead_code)]

mod checks;
mod modes;
mod oss;
mod platform;
mod videos;
mod web;

use videos::{GenerationTime, Video};

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, Multipart, Request};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::Response;
use rand::Rng as _;
use serde_json::{Value, json};

/// Video ids start above 2^53 so that a client parsing them as floats gets them wrong.
const FIRST_VIDEO_ID: i64 = 300_000_000_000_000_001;
const FIRST_IMAGE_ID: i64 = 400_000_000_000_000_001;
const FIRST_ACCOUNT_ID: i64 = 500_000_000_000_000_001;
const DEFAULT_CREDITS: i64 = 10_000;
/// What one video costs; an account with any credits left may still start one.
const VIDEO_COST: i64 = 10;

/// A one-shot (or random) misbehaviour of the fake.
#[derive(Clone, Debug, PartialEq)]
pub enum FakeFault {
    /// HTTP 200 with this `ErrCode`.
    ErrCode(i64),
    /// This HTTP status with a non-JSON body.
    Http(u16),
    /// This status with `Retry-After: <seconds>`.
    HttpRetryAfter(u16, u64),
    /// HTTP 200 with an HTML body.
    Garbage,
    /// Sleep, then answer normally.
    Stall(Duration),
    /// Drop the connection mid-answer.
    Reset,
    /// Handle the request (a generation starts and is charged), then drop the connection before
    /// the answer arrives: the one way a client can pay twice. A retry with the same trace id
    /// gets the kept answer, as PixVerse's idempotency rule says.
    AnswerDropped,
}

#[derive(Clone, Debug)]
pub struct RecordedRequest {
    pub method: String,
    pub path: String,
    pub trace_id: Option<String>,
    /// The JSON body, or `Null` for anything else.
    pub body: Value,
    /// When it arrived.
    pub at: std::time::Instant,
}

#[derive(Clone, Debug, PartialEq)]
pub struct FakeVideo {
    pub id: i64,
    pub prompt: String,
    pub model: String,
    /// The API key or the web username that made it.
    pub account: String,
    /// "t2v" or "i2v".
    pub kind: String,
    /// `img_id` (as text) or the OSS path of the source image.
    pub image: Option<String>,
}

/// The test's handle on the fake. Dropping it (at the end of a test, or with its `TestBot`)
/// asserts that the fake recorded no protocol violation, unless the test provoked some on
/// purpose and said so with [`FakePixverse::allow_violations`]. Not `Clone`: one handle, one check.
pub struct FakePixverse {
    url: String,
    state: Arc<Mutex<State>>,
    violations_allowed: AtomicBool,
}

/// An answer, kept whole so a reused trace id can be answered with it again.
#[derive(Clone, Debug)]
struct Answer {
    status: u16,
    content_type: &'static str,
    headers: Vec<(&'static str, String)>,
    body: Bytes,
    reset: bool,
}

impl Answer {
    fn ok(resp: Value) -> Self {
        Self::json(json!({ "ErrCode": 0, "ErrMsg": "success", "Resp": resp }))
    }

    fn err(code: i64, message: &str) -> Self {
        Self::json(json!({ "ErrCode": code, "ErrMsg": message, "Resp": {} }))
    }

    fn json(body: Value) -> Self {
        Self::raw(200, "application/json", body.to_string())
    }

    fn raw(status: u16, content_type: &'static str, body: impl Into<Bytes>) -> Self {
        Self {
            status,
            content_type,
            headers: Vec::new(),
            body: body.into(),
            reset: false,
        }
    }

    fn not_found() -> Self {
        Self::raw(404, "text/plain", "404 page not found")
    }

    fn into_response(self) -> Response {
        let body = if self.reset {
            Body::from_stream(futures_util::stream::once(async {
                Err::<Bytes, _>(std::io::Error::other("connection reset by the fake"))
            }))
        } else {
            Body::from(self.body)
        };
        let mut builder = Response::builder()
            .status(self.status)
            .header(header::CONTENT_TYPE, self.content_type);
        for (name, value) in self.headers {
            builder = builder.header(name, value);
        }
        builder.body(body).expect("a valid response")
    }
}

/// What the fake keeps per trace id, to answer a retried submit as PixVerse does.
struct Trace {
    /// `METHOD path` and the body of the first request with this id.
    request: (String, Bytes),
    answer: Option<Answer>,
}

struct Account {
    id: i64,
    credits: i64,
}

struct WebUser {
    password: String,
    /// The one live session; logging in again logs the previous token out (10005).
    token: Option<String>,
}

struct OssGrant {
    secret: String,
    token: String,
}

/// The uploaded web image an i2v may reference.
struct WebImage {
    account: String,
    url: String,
}

struct State {
    base_url: String,
    accounts: HashMap<String, Account>,
    api_keys: HashSet<String>,
    users: HashMap<String, WebUser>,
    /// Every token ever issued, to its user: an old one answers 10005, an unknown one 10002.
    tokens: HashMap<String, String>,
    /// Token -> its `ExpireTime` (unix seconds); from then on it answers 10001.
    token_expiry: HashMap<String, i64>,
    /// How long a web token issued now stays valid (PixVerse: about a month).
    token_lifetime: Duration,
    oss_grants: HashMap<String, OssGrant>,
    /// OSS object key -> size.
    objects: HashMap<String, usize>,
    web_images: HashMap<String, WebImage>,
    platform_images: HashMap<i64, String>,
    /// `/media/upload`ed files by media id (modes.rs).
    media: HashMap<i64, modes::Media>,
    uploaded: Vec<(String, usize)>,
    videos: Vec<Video>,
    next_video_id: i64,
    next_image_id: i64,
    next_account_id: i64,
    next_grant: u64,
    generation_time: GenerationTime,
    final_status: i64,
    video_size: usize,
    concurrency: usize,
    fault_rate: u8,
    /// Percent of generation calls handled (and charged) whose answer is then dropped.
    answer_drop_rate: u8,
    faults: VecDeque<(String, FakeFault)>,
    requests: Vec<RecordedRequest>,
    violations: Vec<String>,
    /// Trace id -> the request it came with and the answer given (None while in flight or when
    /// a fault answered before the request was handled).
    traces: HashMap<String, Trace>,
}

impl FakePixverse {
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the fake PixVerse");
        let url = format!("http://{}", listener.local_addr().expect("local addr"));
        let fake = Self {
            url: url.clone(),
            violations_allowed: AtomicBool::new(false),
            state: Arc::new(Mutex::new(State {
                base_url: url,
                accounts: HashMap::new(),
                api_keys: HashSet::new(),
                users: HashMap::new(),
                tokens: HashMap::new(),
                token_expiry: HashMap::new(),
                token_lifetime: web::TOKEN_LIFETIME,
                oss_grants: HashMap::new(),
                objects: HashMap::new(),
                web_images: HashMap::new(),
                platform_images: HashMap::new(),
                media: HashMap::new(),
                uploaded: Vec::new(),
                videos: Vec::new(),
                next_video_id: FIRST_VIDEO_ID,
                next_image_id: FIRST_IMAGE_ID,
                next_account_id: FIRST_ACCOUNT_ID,
                next_grant: 1,
                generation_time: GenerationTime::default(),
                final_status: 1,
                video_size: 64 * 1024,
                concurrency: 5,
                fault_rate: 0,
                answer_drop_rate: 0,
                faults: VecDeque::new(),
                requests: Vec::new(),
                violations: Vec::new(),
                traces: HashMap::new(),
            })),
        };
        let app = axum::Router::new()
            .fallback(handle)
            .with_state(fake.state.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.expect("serve the fake PixVerse") });
        fake
    }

    /// `PIXVERSE_API_URL`.
    pub fn url(&self) -> String {
        self.url.clone()
    }

    /// `PIXVERSE_UPLOAD_URL`: the OSS bucket, on the same server.
    pub fn upload_url(&self) -> String {
        format!("{}/oss", self.url)
    }

    pub fn add_api_key(&self, key: &str) {
        let mut s = self.lock();
        s.api_keys.insert(key.to_owned());
        s.ensure_account(key);
    }

    pub fn add_web_account(&self, username: &str, password: &str) {
        let mut s = self.lock();
        s.users.insert(
            username.to_owned(),
            WebUser {
                password: password.to_owned(),
                token: None,
            },
        );
        s.ensure_account(username);
    }

    pub fn set_final_status(&self, status: i64) {
        self.lock().final_status = status;
    }

    pub fn fail_next(&self, path_suffix: &str, outcome: FakeFault) {
        self.lock().faults.push_back((path_suffix.to_owned(), outcome));
    }

    pub fn set_fault_rate(&self, percent: u8) {
        self.lock().fault_rate = percent.min(100);
    }

    /// From now on `percent`% of generation calls are handled (started and charged) but their
    /// answer is lost ([`FakeFault::AnswerDropped`]); a retry with the same trace id and body
    /// gets the kept answer.
    pub fn set_answer_drop_rate(&self, percent: u8) {
        self.lock().answer_drop_rate = percent.min(100);
    }

    pub fn set_video_size(&self, bytes: usize) {
        self.lock().video_size = bytes;
    }

    /// How many videos one account may have generating at once (5 unless set).
    pub fn set_concurrency_limit(&self, n: usize) {
        self.lock().concurrency = n;
    }

    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.lock().requests.clone()
    }

    pub fn count(&self, path_suffix: &str) -> usize {
        self.lock()
            .requests
            .iter()
            .filter(|r| r.path.ends_with(path_suffix))
            .count()
    }

    pub fn violations(&self) -> Vec<String> {
        self.lock().violations.clone()
    }

    pub fn videos(&self) -> Vec<FakeVideo> {
        self.lock().videos.iter().map(|v| v.public.clone()).collect()
    }

    pub fn uploaded_images(&self) -> Vec<(String, usize)> {
        self.lock().uploaded.clone()
    }

    pub fn set_credits(&self, account: &str, credits: i64) {
        let mut s = self.lock();
        s.ensure_account(account);
        s.accounts.get_mut(account).expect("just ensured").credits = credits;
    }

    pub fn credits(&self, account: &str) -> Option<i64> {
        self.lock().accounts.get(account).map(|a| a.credits)
    }

    /// The bytes `GET /media/<id>.mp4` serves at the current video size.
    pub fn video_bytes(&self, id: i64) -> Vec<u8> {
        video_bytes(id, self.lock().video_size)
    }

    /// Every web token the fake ever issued (tests check that none leaks).
    pub fn issued_tokens(&self) -> Vec<String> {
        self.lock().tokens.keys().cloned().collect()
    }

    /// Web tokens issued from now on expire after `lifetime` (whole seconds, rounded up; the
    /// JWT's `ExpireTime` says when). PixVerse's last about a month.
    pub fn set_token_lifetime(&self, lifetime: Duration) {
        self.lock().token_lifetime = lifetime;
    }

    /// The user logs in to pixverse.ai in a browser: the token the bot holds now answers 10005.
    pub fn sign_in_elsewhere(&self, username: &str) {
        if let Some(user) = self.lock().users.get_mut(username) {
            user.token = Some("browser-session".to_owned());
        }
    }

    /// This test provokes protocol violations on purpose (and asserts on `violations()`
    /// itself): dropping the fake will not fail the test for them.
    pub fn allow_violations(&self) {
        self.violations_allowed.store(true, Ordering::Relaxed);
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }
}

impl Drop for FakePixverse {
    /// The default end-of-test check: whatever a test asserted, the bot spoke PixVerse's
    /// protocol correctly throughout. Skipped while a test is already failing, so the first
    /// failure is the one reported.
    fn drop(&mut self) {
        if std::thread::panicking() || self.violations_allowed.load(Ordering::Relaxed) {
            return;
        }
        let violations = self.violations();
        assert!(
            violations.is_empty(),
            "the fake PixVerse recorded {} protocol violation(s):\n{}",
            violations.len(),
            violations.join("\n")
        );
    }
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    // A panicking test thread must not hide every later assertion behind a poison error.
    state.lock().unwrap_or_else(|e| e.into_inner())
}

/// A generation call: the one request a client retries with the same trace id.
fn is_submit(path: &str) -> bool {
    matches!(
        path,
        "/openapi/v2/video/text/generate"
            | "/openapi/v2/video/img/generate"
            | "/creative_platform/video/t2v"
            | "/creative_platform/video/i2v"
    ) || modes::is_submit(path)
}

/// A plausible MP4 start, then a pattern that depends on the id.
fn video_bytes(id: i64, size: usize) -> Vec<u8> {
    let mut bytes = b"\0\0\0\x18ftypmp42\0\0\0\0mp42isom".to_vec();
    bytes.extend((0..size).map(|i| (i as i64).wrapping_mul(31).wrapping_add(id) as u8));
    bytes.truncate(size);
    bytes
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_secs() as i64
}

/// The one handler: record, check the trace id, inject faults, then route.
async fn handle(
    axum::extract::State(state): axum::extract::State<Arc<Mutex<State>>>,
    request: Request,
) -> Response {
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, 64 << 20).await.unwrap_or_default();
    let method = parts.method.clone();
    let path = parts.uri.path().to_owned();
    let query = parts.uri.query().unwrap_or_default().to_owned();
    let headers = parts.headers;
    let is_api = path.starts_with("/openapi/") || path.starts_with("/creative_platform/");
    let trace_id = header_str(&headers, "ai-trace-id").map(str::to_owned);

    let fault = {
        let mut s = lock(&state);
        s.requests.push(RecordedRequest {
            method: method.to_string(),
            path: path.clone(),
            trace_id: trace_id.clone(),
            body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
            at: std::time::Instant::now(),
        });
        if let Some(previous) = s.check_trace_id(&method, &path, trace_id.as_deref(), is_api, &bytes) {
            return previous.into_response();
        }
        s.take_fault(&path)
    };
    match fault {
        Some(FakeFault::Stall(pause)) => tokio::time::sleep(pause).await,
        Some(FakeFault::AnswerDropped) | None => {}
        Some(fault) => return fault_answer(fault, &path).into_response(),
    }

    // Multipart needs an async parse, so the image is extracted before the state is locked.
    let image = match path.as_str() {
        "/openapi/v2/image/upload" => Some(read_file_field(&headers, bytes.clone(), "image").await),
        "/openapi/v2/media/upload" => Some(read_file_field(&headers, bytes.clone(), "file").await),
        _ => None,
    };
    let answer = {
        let mut s = lock(&state);
        let request = Incoming {
            method: &method,
            path: &path,
            query: &query,
            headers: &headers,
            body: &bytes,
        };
        let answer = s.route(&request, image);
        if let (true, Some(trace_id)) = (is_api, trace_id)
            && let Some(trace) = s.traces.get_mut(&trace_id)
        {
            trace.answer = Some(answer.clone());
        }
        answer
    };
    if fault == Some(FakeFault::AnswerDropped) {
        return fault_answer(FakeFault::Reset, &path).into_response();
    }
    answer.into_response()
}

/// A file part from a multipart body: (file name, content type, bytes), or why it is missing.
type ImageField = Result<(String, String, Bytes), String>;

async fn read_file_field(headers: &HeaderMap, body: Bytes, field_name: &str) -> ImageField {
    let content_type = header_str(headers, "content-type").unwrap_or_default().to_owned();
    let request = Request::builder()
        .header(header::CONTENT_TYPE, content_type)
        .body(Body::from(body))
        .expect("a valid request");
    let mut form = Multipart::from_request(request, &())
        .await
        .map_err(|e| format!("not multipart/form-data: {e}"))?;
    while let Some(field) = form.next_field().await.map_err(|e| e.to_string())? {
        if field.name() == Some(field_name) {
            let name = field.file_name().unwrap_or_default().to_owned();
            let content_type = field.content_type().unwrap_or_default().to_owned();
            let bytes = field.bytes().await.map_err(|e| e.to_string())?;
            return Ok((name, content_type, bytes));
        }
    }
    Err(format!("no multipart field named {field_name}"))
}

/// The parts of a request the routes look at.
struct Incoming<'a> {
    method: &'a Method,
    path: &'a str,
    /// The query string, without `?` (empty when there is none).
    query: &'a str,
    headers: &'a HeaderMap,
    body: &'a Bytes,
}

impl Incoming<'_> {
    fn header(&self, name: &str) -> Option<&str> {
        header_str(self.headers, name)
    }

    /// A query parameter's value.
    fn query_param(&self, name: &str) -> Option<&str> {
        self.query
            .split('&')
            .filter_map(|pair| pair.split_once('='))
            .find_map(|(key, value)| (key == name).then_some(value))
    }

    /// The body as a JSON object; a non-object is a violation (and a 400011 answer).
    fn json_object(&self, s: &mut State) -> Result<serde_json::Map<String, Value>, Answer> {
        if !self
            .header("content-type")
            .unwrap_or_default()
            .starts_with("application/json")
        {
            s.violation(self, "a JSON body without Content-Type: application/json");
        }
        match serde_json::from_slice(self.body) {
            Ok(Value::Object(map)) => Ok(map),
            _ => {
                s.violation(self, "the body is not a JSON object");
                Err(Answer::err(400011, "invalid request body"))
            }
        }
    }
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn fault_answer(fault: FakeFault, path: &str) -> Answer {
    match fault {
        FakeFault::ErrCode(code) => Answer::err(code, &format!("injected error {code}")),
        FakeFault::Http(status) => Answer::raw(status, "text/html", error_page(status)),
        FakeFault::HttpRetryAfter(status, seconds) => {
            let mut answer = Answer::raw(status, "text/html", error_page(status));
            answer.headers.push(("retry-after", seconds.to_string()));
            answer
        }
        FakeFault::Garbage => Answer::raw(200, "text/html", "<html><body>upstream hiccup</body></html>"),
        FakeFault::Reset => Answer {
            reset: true,
            ..Answer::raw(200, "application/json", "")
        },
        FakeFault::Stall(_) | FakeFault::AnswerDropped => {
            unreachable!("handled before it answers: {path}")
        }
    }
}

fn error_page(status: u16) -> String {
    let reason = StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("Error");
    format!(
        "<html><head><title>{status} {reason}</title></head><body><h1>{status} {reason}</h1></body></html>"
    )
}

impl State {
    fn ensure_account(&mut self, name: &str) {
        if !self.accounts.contains_key(name) {
            let id = self.next_account_id;
            self.next_account_id += 1;
            self.accounts.insert(
                name.to_owned(),
                Account {
                    id,
                    credits: DEFAULT_CREDITS,
                },
            );
        }
    }

    fn violation(&mut self, request: &Incoming<'_>, what: &str) {
        self.violations
            .push(format!("{} {}: {what}", request.method, request.path));
    }

    /// Records missing, malformed or reused trace ids. A reused id on the API gets the answer
    /// it got the first time, as the real PixVerse does. Reusing one is right only for the retry
    /// of a submit (same call, same body: the spec's idempotency rule); anywhere else, or with
    /// another body, it is a violation.
    fn check_trace_id(
        &mut self,
        method: &Method,
        path: &str,
        trace_id: Option<&str>,
        is_api: bool,
        body: &Bytes,
    ) -> Option<Answer> {
        let at = format!("{method} {path}");
        let Some(trace_id) = trace_id else {
            if is_api {
                self.violations.push(format!("{at}: no Ai-trace-id"));
            }
            return None;
        };
        let is_v4 = uuid::Uuid::parse_str(trace_id).is_ok_and(|u| u.get_version_num() == 4);
        if !is_v4 {
            self.violations
                .push(format!("{at}: Ai-trace-id {trace_id:?} is not a UUID v4"));
        }
        match self.traces.get(trace_id) {
            Some(previous) => {
                let same_request = previous.request.0 == at && previous.request.1 == *body;
                if !is_submit(path) {
                    self.violations
                        .push(format!("{at}: reused Ai-trace-id {trace_id}"));
                } else if !same_request {
                    self.violations.push(format!(
                        "{at}: Ai-trace-id {trace_id} reused for another request than {}",
                        previous.request.0
                    ));
                }
                previous.answer.clone().filter(|_| is_api)
            }
            None => {
                let trace = Trace {
                    request: (at, body.clone()),
                    answer: None,
                };
                self.traces.insert(trace_id.to_owned(), trace);
                None
            }
        }
    }

    fn take_fault(&mut self, path: &str) -> Option<FakeFault> {
        if let Some(i) = self
            .faults
            .iter()
            .position(|(suffix, _)| path.ends_with(suffix.as_str()))
        {
            return self.faults.remove(i).map(|(_, fault)| fault);
        }
        let mut rng = rand::thread_rng();
        if is_submit(path) && self.answer_drop_rate > 0 && rng.gen_range(0..100) < self.answer_drop_rate {
            return Some(FakeFault::AnswerDropped);
        }
        if self.fault_rate == 0 || rng.gen_range(0..100) >= self.fault_rate {
            return None;
        }
        // The media host and OSS fail like web servers, never with PixVerse's JSON.
        let choices: &[FakeFault] = if path.starts_with("/media/") || path.starts_with("/oss/") {
            &[FakeFault::Http(503), FakeFault::Reset]
        } else {
            &[
                FakeFault::Http(502),
                FakeFault::Http(503),
                FakeFault::HttpRetryAfter(429, 1),
                FakeFault::ErrCode(500069),
                FakeFault::Garbage,
                FakeFault::Reset,
            ]
        };
        Some(choices[rng.gen_range(0..choices.len())].clone())
    }

    fn route(&mut self, request: &Incoming<'_>, image: Option<ImageField>) -> Answer {
        let path = request.path;
        if let Some(rest) = path.strip_prefix("/openapi/v2/") {
            return platform::route(self, request, rest, image);
        }
        if let Some(rest) = path.strip_prefix("/creative_platform/") {
            if request.header("x-platform") != Some("Web") {
                self.violation(request, "web call without X-Platform: Web");
            }
            return web::route(self, request, rest);
        }
        if let Some(key) = path.strip_prefix("/oss/") {
            return oss::put(self, request, key);
        }
        if let Some(file) = path.strip_prefix("/media/") {
            return self.serve_media(request, file);
        }
        Answer::not_found()
    }

    fn serve_media(&mut self, request: &Incoming<'_>, file: &str) -> Answer {
        let id = file.strip_suffix(".mp4").and_then(|id| id.parse::<i64>().ok());
        let ready = id.is_some_and(|id| self.videos.iter().any(|v| v.public.id == id && v.ready()));
        match (request.method, id) {
            (&Method::GET, Some(id)) if ready => {
                Answer::raw(200, "video/mp4", video_bytes(id, self.video_size))
            }
            _ => Answer::not_found(),
        }
    }
}

/// Helpers for the benchmark (`benches/bot/`), which seeds thousands of tasks at once.
impl FakePixverse {
    /// How many requests the fake has received, cheaply (no copy of their bodies).
    pub fn request_count(&self) -> usize {
        self.lock().requests.len()
    }

    /// The paths of the requests received from the `from`-th on.
    pub fn request_paths_since(&self, from: usize) -> Vec<String> {
        let s = self.lock();
        s.requests.iter().skip(from).map(|r| r.path.clone()).collect()
    }
}
