//! Scenario 4: the HTTP API's accept path. `POST /v1/videos/text` against the real binary: as
//! fast as it answers (throughput, a fixed number of requests in flight) and offered at a fixed
//! rate (latency). Paced latency is counted from when each request was due, not when it went
//! out, so a stall that holds requests back shows in the figure. With several instances
//! (PostgreSQL) the requests go to them in turn.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use futures_util::{StreamExt, stream};
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

use crate::harness::{Fakes, Instances, env_usize, ms, percentile};

/// API users, each with a Platform key of their own (their tasks spread over the accounts).
const USERS: usize = 50;
/// Requests in flight at once for the throughput figure.
const IN_FLIGHT: usize = 32;

/// One access token per user, from `POST /v1/auth` with their key.
async fn tokens(fakes: &Fakes, client: &Client, base: &str) -> Vec<String> {
    let mut tokens = Vec::with_capacity(USERS);
    for i in 0..USERS {
        let key = format!("api-bench-key-{i:04}");
        fakes.px.add_api_key(&key);
        let answer: Value = client
            .post(format!("{base}/v1/auth"))
            .json(&json!({ "api_key": key }))
            .send()
            .await
            .expect("POST /v1/auth")
            .error_for_status()
            .expect("a token")
            .json()
            .await
            .expect("auth JSON");
        tokens.push(answer["access_token"].as_str().expect("access_token").to_owned());
    }
    tokens
}

/// Sends request `n` (by user `n % USERS`, to instance `n % bases.len()`); its latency from
/// `from`.
async fn create(client: &Client, bases: &[String], tokens: &[String], n: usize, from: Instant) -> f64 {
    let base = &bases[n % bases.len()];
    let response = client
        .post(format!("{base}/v1/videos/text"))
        .bearer_auth(&tokens[n % tokens.len()])
        .json(&json!({ "prompt": format!("api bench clip {n}: a red fox in fresh snow") }))
        .send()
        .await
        .expect("POST /v1/videos/text");
    assert_eq!(
        response.status(),
        StatusCode::ACCEPTED,
        "request {n} was not accepted"
    );
    let _ = response.bytes().await;
    ms(from.elapsed())
}

fn summary(latencies: &mut [f64], wall: Duration, cpu: f64, offered: Option<f64>) -> Value {
    latencies.sort_by(f64::total_cmp);
    let n = latencies.len();
    json!({
        "requests": n,
        "offered_per_s": offered,
        "in_flight": offered.map_or(Some(IN_FLIGHT), |_| None),
        "wall_ms": ms(wall),
        "requests_per_s": n as f64 / wall.as_secs_f64(),
        "p50_ms": percentile(latencies, 50.0),
        "p99_ms": percentile(latencies, 99.0),
        "max_ms": latencies.last(),
        "bot_cpu_ms_per_request": cpu * 1000.0 / n as f64,
    })
}

/// Fresh bots with their HTTP servers, and a token per user.
struct Api {
    /// Stopped before the fakes and the database they run on (fields drop in order).
    bots: Instances,
    /// Kept while the API is measured: the fakes and the database.
    _fakes: Fakes,
    client: Client,
    bases: Arc<Vec<String>>,
    tokens: Arc<Vec<String>>,
}

impl Api {
    fn cpu_secs(&self) -> f64 {
        self.bots.cpu_secs().iter().sum()
    }
}

async fn start_api(instances: usize) -> Api {
    let fakes = Fakes::start().await;
    // Nothing finishes and every submit is accepted: the worker submits while the API accepts.
    fakes.px.hold_videos();
    fakes.px.set_concurrency_limit(usize::MAX);
    let unlimited = "1000000000";
    let bots = Instances::spawn(
        &fakes,
        instances,
        &[
            // The limits are the product's policy, not its cost: out of the way here.
            ("USER_MAX_IN_FLIGHT", unlimited),
            ("USER_MAX_PER_HOUR", unlimited),
            ("API_RATE_LIMIT_PER_MINUTE", unlimited),
        ],
    )
    .await;
    let client = Client::builder()
        .pool_max_idle_per_host(256)
        .build()
        .expect("client");
    let tokens = Arc::new(tokens(&fakes, &client, &bots.bases[0]).await);
    Api {
        bases: Arc::new(bots.bases.clone()),
        bots,
        _fakes: fakes,
        client,
        tokens,
    }
}

/// `BENCH_API_REQUESTS` requests (5,000) each way, each way on a fresh bot (so the paced run
/// does not pay for the backlog the first one queued); the paced run offers them at
/// `BENCH_API_RATE` per second (1,000).
pub async fn api_accept(results: &mut serde_json::Map<String, Value>) {
    results.insert("api_accept".into(), measure(1).await);
}

/// Scenario 4 with `instances` bots on one database.
pub async fn measure(instances: usize) -> Value {
    let requests = env_usize("BENCH_API_REQUESTS", 5000);
    let rate = env_usize("BENCH_API_RATE", 1000) as f64;

    // Throughput: IN_FLIGHT requests at a time, as fast as they are answered.
    let api = start_api(instances).await;
    let (client, bases, tokens) = (&api.client, &api.bases, &api.tokens);
    let cpu0 = api.cpu_secs();
    let start = Instant::now();
    let mut latencies: Vec<f64> = stream::iter(0..requests)
        .map(|n| async move { create(client, bases, tokens, n, Instant::now()).await })
        .buffer_unordered(IN_FLIGHT)
        .collect()
        .await;
    let throughput = summary(&mut latencies, start.elapsed(), api.cpu_secs() - cpu0, None);
    let throughput_peak = api.bots.peak_rss_mib();
    drop(api);

    // Paced: one request every 1/rate s, each on its own task, timed from when it was due.
    let api = start_api(instances).await;
    let (client, bases, tokens) = (&api.client, &api.bases, &api.tokens);
    let cpu0 = api.cpu_secs();
    let start = Instant::now();
    let mut sent = tokio::task::JoinSet::new();
    for n in 0..requests {
        let due = start + Duration::from_secs_f64(n as f64 / rate);
        tokio::time::sleep_until(due.into()).await;
        let (client, bases, tokens) = (client.clone(), bases.clone(), tokens.clone());
        sent.spawn(async move { create(&client, &bases, &tokens, n, due).await });
    }
    let mut latencies = Vec::with_capacity(requests);
    while let Some(latency) = sent.join_next().await {
        latencies.push(latency.expect("request task"));
    }
    let paced = summary(&mut latencies, start.elapsed(), api.cpu_secs() - cpu0, Some(rate));
    let peak = api.bots.peak_rss_mib().max(throughput_peak);
    eprintln!(
        "api accept ({instances} instance(s)): {:.0}/s with {IN_FLIGHT} in flight (p99 {:.1} ms); offered {rate:.0}/s: p50 {:.1} ms, \
         p99 {:.1} ms; peak {peak:.1} MiB",
        throughput["requests_per_s"].as_f64().unwrap_or(f64::NAN),
        throughput["p99_ms"].as_f64().unwrap_or(f64::NAN),
        paced["p50_ms"].as_f64().unwrap_or(f64::NAN),
        paced["p99_ms"].as_f64().unwrap_or(f64::NAN),
    );
    json!({ "users": USERS, "throughput": throughput, "paced": paced, "peak_rss_mib": peak })
}
