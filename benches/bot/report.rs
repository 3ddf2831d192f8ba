//! The results: a Markdown table for the README and the JSON scripts read (keys stay stable).

use std::path::{Path, PathBuf};

use serde_json::Value;

pub fn results_path() -> PathBuf {
    if let Ok(path) = std::env::var("BENCH_RESULTS") {
        return path.into();
    }
    let target = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".into());
    Path::new(&target).join("bench-results.json")
}

/// Prints the table and writes the JSON.
pub fn publish(results: serde_json::Map<String, Value>) {
    match results.get("postgres") {
        Some(postgres) => println!("\n{}", postgres_table(postgres)),
        None => println!("\n{}", table(&results)),
    }
    let path = results_path();
    if let Some(dir) = path.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    std::fs::write(
        &path,
        serde_json::to_string_pretty(&Value::Object(results)).expect("json"),
    )
    .expect("write the results");
    println!("results: {}", path.display());
}

fn table(r: &serde_json::Map<String, Value>) -> String {
    let f = |v: &Value| v.as_f64().unwrap_or(f64::NAN);
    // A scenario left out (`BENCH_ONLY`) reads as null: its rows show NaN.
    let get = |key: &str| r.get(key).unwrap_or(&Value::Null);
    let accept = get("accept");
    let paced = get("accept_paced");
    let flight = get("in_flight");
    let video = get("per_video");
    let api = get("api_accept");
    let mut rows: Vec<(String, String, &str)> = vec![
        (
            format!("accept throughput ({} users at once)", accept["users"]),
            format!(
                "{:.0} requests/s, p50 {:.1} ms, p99 {:.1} ms",
                f(&accept["requests_per_s"]),
                f(&accept["p50_ms"]),
                f(&accept["p99_ms"])
            ),
            "≥ 1,000 requests/s, p99 ≤ 20 ms",
        ),
        (
            format!(
                "… Telegram offered at {:.0}/s ({} users)",
                f(&paced["offered_per_s"]),
                paced["users"]
            ),
            format!(
                "{:.0} requests/s, p50 {:.1} ms, p99 {:.1} ms",
                f(&paced["requests_per_s"]),
                f(&paced["p50_ms"]),
                f(&paced["p99_ms"])
            ),
            "",
        ),
        (
            format!(
                "API `POST /v1/videos/text` throughput ({} in flight)",
                api["throughput"]["in_flight"]
            ),
            format!(
                "{:.0} requests/s, p50 {:.1} ms, p99 {:.1} ms",
                f(&api["throughput"]["requests_per_s"]),
                f(&api["throughput"]["p50_ms"]),
                f(&api["throughput"]["p99_ms"])
            ),
            "≥ 1,000 requests/s",
        ),
        (
            format!(
                "… API offered at {:.0}/s ({} requests)",
                f(&api["paced"]["offered_per_s"]),
                api["paced"]["requests"]
            ),
            format!(
                "p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
                f(&api["paced"]["p50_ms"]),
                f(&api["paced"]["p99_ms"]),
                f(&api["paced"]["max_ms"])
            ),
            "p99 ≤ 20 ms",
        ),
        (
            format!("memory with {} tasks in flight", flight["tasks"]),
            format!(
                "{:.1} MiB resident (peak, VmHWM)",
                f(&flight["defaults"]["peak_rss_mib"])
            ),
            "≤ 100 MB resident",
        ),
        (
            format!(
                "polling CPU at {} ms interval (progress edits off)",
                flight["poll_interval_ms"]
            ),
            format!(
                "{:.1} % of one core ({:.0} PixVerse requests/min)",
                f(&flight["progress_edits_off"]["cpu_percent_of_one_core"]),
                f(&flight["progress_edits_off"]["pixverse_requests_per_min"])
            ),
            "≤ 3 % of one core",
        ),
        (
            "… the same with progress edits (defaults)".into(),
            format!(
                "{:.1} % of one core ({:.0} PixVerse, {:.0} Telegram requests/min)",
                f(&flight["defaults"]["cpu_percent_of_one_core"]),
                f(&flight["defaults"]["pixverse_requests_per_min"]),
                f(&flight["defaults"]["telegram_requests_per_min"])
            ),
            "",
        ),
        (
            format!(
                "PixVerse calls per video ({} videos of {}–{} ms)",
                video["videos"], video["generation_ms"][0], video["generation_ms"][1]
            ),
            format!(
                "{:.2} ({:.2} polls)",
                f(&video["pixverse_calls_per_video"]),
                f(&video["generation_polls"])
            ),
            "≤ 4 (submit, ≤ 2 polls, download)",
        ),
        (
            format!("start-up with {} unfinished tasks", flight["tasks"]),
            format!(
                "{:.0} ms to first getUpdates",
                f(&flight["startup_to_first_get_updates_ms"])
            ),
            "≤ 300 ms to first getUpdates",
        ),
        (
            "idle memory".into(),
            format!("{:.1} MiB resident", f(get("idle_rss_mib"))),
            "≤ 30 MB",
        ),
        (
            format!(
                "done at PixVerse → video sent (poll interval {} ms)",
                video["poll_interval_ms"]
            ),
            format!(
                "p50 {:.0} ms, p95 {:.0} ms, max {:.0} ms",
                f(&video["delivery_latency_p50_ms"]),
                f(&video["delivery_latency_p95_ms"]),
                f(&video["delivery_latency_max_ms"])
            ),
            "p95 ≤ one poll interval",
        ),
        (
            format!(
                "peak memory, {} deliveries of {:.0} MB at once",
                get("large_videos")["deliveries"],
                f(&get("large_videos")["video_bytes"]) / 1e6
            ),
            format!(
                "{:.1} MiB resident (VmHWM; {:.1} before the deliveries), all sent in {:.1} s",
                f(&get("large_videos")["peak_rss_mib"]),
                f(&get("large_videos")["peak_rss_mib_before"]),
                f(&get("large_videos")["all_delivered_ms"]) / 1000.0
            ),
            "< 200 MB resident",
        ),
    ];
    rows.insert(0, ("figure".into(), "measured".into(), "target"));
    let mut out = String::new();
    for (i, (a, b, c)) in rows.iter().enumerate() {
        out.push_str(&format!("| {a} | {b} | {c} |\n"));
        if i == 0 {
            out.push_str("|---|---|---|\n");
        }
    }
    out
}

fn number(v: &Value) -> f64 {
    v.as_f64().unwrap_or(f64::NAN)
}

fn rate_and_latency(r: &Value) -> String {
    format!(
        "{:.0} requests/s, p50 {:.1} ms, p99 {:.1} ms",
        number(&r["requests_per_s"]),
        number(&r["p50_ms"]),
        number(&r["p99_ms"])
    )
}

/// CPU of all instances together (and of each, with several) in one in-flight window.
fn polling_cost(w: &Value) -> String {
    let per_instance = w["cpu_percent_of_one_core_per_instance"]
        .as_array()
        .map(|each| {
            let each: Vec<String> = each.iter().map(|c| format!("{:.1}", number(c))).collect();
            format!(" ({} each)", each.join(" / "))
        })
        .unwrap_or_default();
    format!(
        "{:.1} %{per_instance} of one core, {:.0} PixVerse requests/min",
        number(&w["cpu_percent_of_one_core"]),
        number(&w["pixverse_requests_per_min"])
    )
}

/// How one row reads its figure from an instance count's results.
type Measured = fn(&Value) -> String;

/// The PostgreSQL column: one row per figure, one column per instance count.
fn postgres_table(postgres: &Value) -> String {
    let rows: [(&str, Measured); 8] = [
        ("Telegram accept, users at once", |c| {
            rate_and_latency(&c["accept"])
        }),
        ("… offered at 1,000/s", |c| rate_and_latency(&c["accept_paced"])),
        ("API `POST /v1/videos/text`, 32 in flight", |c| {
            rate_and_latency(&c["api_accept"]["throughput"])
        }),
        ("… offered at 1,000/s", |c| {
            rate_and_latency(&c["api_accept"]["paced"])
        }),
        ("polling CPU, 10,000 in flight (progress edits off)", |c| {
            polling_cost(&c["in_flight"]["progress_edits_off"])
        }),
        ("… with progress edits (defaults)", |c| {
            polling_cost(&c["in_flight"]["defaults"])
        }),
        ("memory, 10,000 in flight (peak of one instance)", |c| {
            format!("{:.1} MiB", number(&c["in_flight"]["defaults"]["peak_rss_mib"]))
        }),
        ("start-up to the first getUpdates", |c| {
            format!(
                "{:.0} ms",
                number(&c["in_flight"]["startup_to_first_get_updates_ms"])
            )
        }),
    ];
    let mut out = String::from("| PostgreSQL | 1 instance | 3 instances |\n|---|---|---|\n");
    for (figure, measured) in rows {
        out.push_str(&format!(
            "| {figure} | {} | {} |\n",
            measured(&postgres["instances_1"]),
            measured(&postgres["instances_3"])
        ));
    }
    out
}
