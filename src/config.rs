//! Typed configuration from the environment (and `.env`, loaded by `main`).
//!
//! Every variable is documented in `.env.example`. A missing or invalid value is a
//! [`ConfigError`] whose message names the variable and says how to fix it.

use std::{collections::HashSet, net::SocketAddr, path::PathBuf, time::Duration};

use secrecy::SecretString;

pub const DEFAULT_TELEGRAM_API_URL: &str = "https://api.telegram.org";
pub const DEFAULT_PIXVERSE_API_URL: &str = "https://app-api.pixverse.ai";
pub const DEFAULT_PIXVERSE_UPLOAD_URL: &str = "https://pixverse-fe-upload.oss-accelerate.aliyuncs.com";
pub const DEFAULT_DATABASE_URL: &str = "sqlite://pixverse-bot.db";
pub const DEFAULT_HTTP_ADDR: &str = "127.0.0.1:8080";
/// `.env.example`'s value of `TELOXIDE_TOKEN`: a fresh copy runs the HTTP API alone.
pub const PLACEHOLDER_TELEGRAM_TOKEN: &str = "123456789:replace-with-your-bot-token";

#[derive(Clone, Debug)]
pub struct Config {
    /// `None` (unset, or `.env.example`'s placeholder): no bot, the HTTP API runs alone.
    pub telegram_token: Option<SecretString>,
    pub telegram_api_url: reqwest::Url,
    pub pixverse_api_url: String,
    pub pixverse_upload_url: String,
    /// The operator's Platform API key, used by users without a credential of their own.
    pub pixverse_api_key: Option<SecretString>,
    pub database_url: String,
    pub admin_ids: HashSet<i64>,
    /// Base interval between two status polls of one generating task.
    pub poll_interval: Duration,
    /// Base64 of 32 bytes; `None` means "use (or create) the key file beside the database".
    pub secret_key: Option<SecretString>,
    /// A video PixVerse has not finished this long after it accepted the task fails with a message.
    pub task_deadline: Duration,
    /// A task PixVerse has not accepted this long after the request fails with its own message.
    pub queue_wait_limit: Duration,
    /// How long a claimed task stays held by the worker without a renewal (renewed every third).
    pub task_lease: Duration,
    /// Minimum time between two edits of one progress message in a private chat.
    pub progress_edit_interval: Duration,
    /// Routine progress edits per second for the whole bot, shared by its instances.
    pub routine_edits_per_sec: u32,
    /// How many task steps (submits, deliveries) the worker runs at once; a round's status polls
    /// run as many at once beside them.
    pub worker_concurrency: usize,
    /// Long-polling timeout of `getUpdates`.
    pub telegram_poll_timeout: Duration,
    /// Tasks one user may have unfinished at once.
    pub user_max_in_flight: u32,
    /// Tasks one user may request per rolling hour.
    pub user_max_per_hour: u32,
    /// Generations the bot runs at once on one PixVerse account (PixVerse: 2 free, 5 paid).
    pub account_concurrency: u32,
    /// How long tasks wait for their owner to log in again after PixVerse refused the credential.
    pub credential_hold: Duration,
    /// Videos a user may make per UTC day on the shared pool (admins can override per user).
    pub pool_daily_quota: i64,
    /// Where the HTTP server (API, docs, health, metrics, webhook) listens; `None`: `off`.
    pub http_addr: Option<SocketAddr>,
    /// Webhook mode: the public URL Telegram posts updates to, and the secret it sends along.
    pub webhook: Option<Webhook>,
    /// Requests one API token may make per minute (a burst of that many, refilled evenly).
    pub api_rate_per_minute: u32,
}

/// Telegram webhook mode (`TELEGRAM_WEBHOOK_URL` + `TELEGRAM_WEBHOOK_SECRET`).
#[derive(Clone, Debug)]
pub struct Webhook {
    pub url: reqwest::Url,
    /// Telegram allows 1–256 characters of `A-Z a-z 0-9 _ -`.
    pub secret: SecretString,
}

#[derive(Debug, thiserror::Error)]
#[error("{variable}: {problem}")]
pub struct ConfigError {
    pub variable: &'static str,
    pub problem: String,
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads configuration through `lookup`, so tests can build one without touching the
    /// process environment (which is shared by every test thread).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| {
            lookup(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };

        let telegram_token = get("TELOXIDE_TOKEN").filter(|t| t != PLACEHOLDER_TELEGRAM_TOKEN);
        if let Some(token) = &telegram_token
            && !token.contains(':')
        {
            return Err(ConfigError {
                variable: "TELOXIDE_TOKEN",
                problem:
                    "does not look like a bot token (expected <digits>:<letters>, as @BotFather gives it)"
                        .into(),
            });
        }

        let database_url = get("DATABASE_URL").unwrap_or_else(|| DEFAULT_DATABASE_URL.into());
        // A generated key file lives beside a SQLite file; a PostgreSQL database has no "beside",
        // and every instance must seal and open credentials with the same key.
        if crate::storage::is_postgres_url(&database_url) && get("SECRET_KEY").is_none() {
            return Err(ConfigError {
                variable: "SECRET_KEY",
                problem: "is required with a PostgreSQL DATABASE_URL (every instance needs the same key); \
                          generate one with `openssl rand -base64 32`"
                    .into(),
            });
        }

        let telegram_api_url = get("TELOXIDE_API_URL").unwrap_or_else(|| DEFAULT_TELEGRAM_API_URL.into());
        let telegram_api_url = reqwest::Url::parse(&telegram_api_url).map_err(|e| ConfigError {
            variable: "TELOXIDE_API_URL",
            problem: format!("is not a valid URL ({e}); expected e.g. {DEFAULT_TELEGRAM_API_URL}"),
        })?;
        let pixverse_api_url = url(&get, "PIXVERSE_API_URL", DEFAULT_PIXVERSE_API_URL)?;
        let pixverse_upload_url = url(&get, "PIXVERSE_UPLOAD_URL", DEFAULT_PIXVERSE_UPLOAD_URL)?;

        let admin_ids = match get("ADMIN_IDS") {
            None => HashSet::new(),
            Some(list) => list
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|id| {
                    id.parse::<i64>().map_err(|_| ConfigError {
                        variable: "ADMIN_IDS",
                        problem: format!(
                            "`{id}` is not a Telegram user id; expected comma-separated numbers like 12345,67890"
                        ),
                    })
                })
                .collect::<Result<_, _>>()?,
        };

        let http_addr = match get("HTTP_ADDR").as_deref() {
            Some(off) if off.eq_ignore_ascii_case("off") => None,
            value => Some(
                value
                    .unwrap_or(DEFAULT_HTTP_ADDR)
                    .parse::<SocketAddr>()
                    .map_err(|_| ConfigError {
                        variable: "HTTP_ADDR",
                        problem: format!(
                            "`{}` is not an address to listen on; expected host:port like {DEFAULT_HTTP_ADDR} (or `off`)",
                            value.unwrap_or_default()
                        ),
                    })?,
            ),
        };
        let webhook = webhook(&get, telegram_token.is_some(), http_addr.is_some())?;

        Ok(Config {
            telegram_token: telegram_token.map(SecretString::from),
            telegram_api_url,
            pixverse_api_url,
            pixverse_upload_url,
            pixverse_api_key: get("PIXVERSE_API_KEY").map(SecretString::from),
            database_url,
            admin_ids,
            poll_interval: millis(&get, "POLL_INTERVAL_MS", 5_000)?,
            secret_key: get("SECRET_KEY").map(SecretString::from),
            task_deadline: millis(&get, "TASK_DEADLINE_MS", 30 * 60 * 1000)?,
            queue_wait_limit: millis(&get, "QUEUE_WAIT_LIMIT_MS", 60 * 60 * 1000)?,
            task_lease: millis(&get, "TASK_LEASE_MS", 60_000)?,
            progress_edit_interval: millis(&get, "PROGRESS_EDIT_INTERVAL_MS", 5_000)?,
            routine_edits_per_sec: positive(&get, "TELEGRAM_ROUTINE_EDITS_PER_SEC", 20)?,
            worker_concurrency: number(&get, "WORKER_CONCURRENCY", 16)?.max(1) as usize,
            telegram_poll_timeout: millis(&get, "TELEGRAM_POLL_TIMEOUT_MS", 10_000)?,
            user_max_in_flight: positive(&get, "USER_MAX_IN_FLIGHT", 2)?,
            user_max_per_hour: positive(&get, "USER_MAX_PER_HOUR", 20)?,
            account_concurrency: positive(&get, "PIXVERSE_ACCOUNT_CONCURRENCY", 5)?,
            credential_hold: millis(&get, "CREDENTIAL_HOLD_MS", 24 * 60 * 60 * 1000)?,
            pool_daily_quota: number(&get, "POOL_DAILY_QUOTA", 5)? as i64,
            http_addr,
            webhook,
            api_rate_per_minute: positive(&get, "API_RATE_LIMIT_PER_MINUTE", 120)?,
        })
    }

    /// The SQLite file behind `database_url`, used to place the generated key file beside it.
    pub fn database_path(&self) -> Option<PathBuf> {
        crate::storage::sqlite_file(&self.database_url)
    }
}

/// `TELEGRAM_WEBHOOK_URL` and `TELEGRAM_WEBHOOK_SECRET` come together, need a bot and the server.
fn webhook(
    get: &impl Fn(&str) -> Option<String>,
    has_bot: bool,
    has_server: bool,
) -> Result<Option<Webhook>, ConfigError> {
    let Some(url) = get("TELEGRAM_WEBHOOK_URL") else {
        return Ok(None);
    };
    let url = reqwest::Url::parse(&url)
        .ok()
        .filter(|u| matches!(u.scheme(), "https" | "http"))
        .ok_or_else(|| ConfigError {
            variable: "TELEGRAM_WEBHOOK_URL",
            problem: format!("`{url}` is not an http(s) URL; expected e.g. https://bot.example.com/telegram"),
        })?;
    let secret = get("TELEGRAM_WEBHOOK_SECRET").ok_or_else(|| ConfigError {
        variable: "TELEGRAM_WEBHOOK_SECRET",
        problem: "must be set with TELEGRAM_WEBHOOK_URL: 1-256 characters of A-Z, a-z, 0-9, _ and - \
                  (e.g. `openssl rand -hex 32`)"
            .into(),
    })?;
    let valid = (1..=256).contains(&secret.len())
        && secret
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if !valid {
        return Err(ConfigError {
            variable: "TELEGRAM_WEBHOOK_SECRET",
            problem: "must be 1-256 characters of A-Z, a-z, 0-9, _ and - (Telegram's rule)".into(),
        });
    }
    if !has_bot {
        return Err(ConfigError {
            variable: "TELEGRAM_WEBHOOK_URL",
            problem: "is set but TELOXIDE_TOKEN is not: webhook mode needs a bot".into(),
        });
    }
    if !has_server {
        return Err(ConfigError {
            variable: "TELEGRAM_WEBHOOK_URL",
            problem: "is set but HTTP_ADDR is `off`: the webhook is served by the HTTP server".into(),
        });
    }
    Ok(Some(Webhook {
        url,
        secret: SecretString::from(secret),
    }))
}

fn url(
    get: &impl Fn(&str) -> Option<String>,
    variable: &'static str,
    default: &str,
) -> Result<String, ConfigError> {
    let value = get(variable).unwrap_or_else(|| default.into());
    reqwest::Url::parse(&value).map_err(|e| ConfigError {
        variable,
        problem: format!("is not a valid URL ({e}); expected e.g. {default}"),
    })?;
    Ok(value.trim_end_matches('/').to_owned())
}

fn number(
    get: &impl Fn(&str) -> Option<String>,
    variable: &'static str,
    default: u64,
) -> Result<u64, ConfigError> {
    match get(variable) {
        None => Ok(default),
        Some(v) => v.parse().map_err(|_| ConfigError {
            variable,
            problem: format!("`{v}` is not a whole number; expected e.g. {default}"),
        }),
    }
}

fn positive(
    get: &impl Fn(&str) -> Option<String>,
    variable: &'static str,
    default: u32,
) -> Result<u32, ConfigError> {
    match number(get, variable, u64::from(default))? {
        0 => Err(ConfigError {
            variable,
            problem: format!("must be at least 1; default {default}"),
        }),
        n => Ok(u32::try_from(n).unwrap_or(u32::MAX)),
    }
}

fn millis(
    get: &impl Fn(&str) -> Option<String>,
    variable: &'static str,
    default: u64,
) -> Result<Duration, ConfigError> {
    let ms = number(get, variable, default)?;
    if ms == 0 {
        return Err(ConfigError {
            variable,
            problem: format!("must be above 0 (milliseconds); default {default}"),
        });
    }
    Ok(Duration::from_millis(ms))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: std::collections::HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn without_a_token_or_with_the_placeholder_there_is_no_bot() {
        assert!(config(&[]).unwrap().telegram_token.is_none());
        let placeholder = config(&[("TELOXIDE_TOKEN", PLACEHOLDER_TELEGRAM_TOKEN)]).unwrap();
        assert!(placeholder.telegram_token.is_none());
        let err = config(&[("TELOXIDE_TOKEN", "nonsense")]).unwrap_err();
        assert_eq!(err.variable, "TELOXIDE_TOKEN");
    }

    #[test]
    fn the_http_server_listens_on_loopback_8080_unless_told_otherwise() {
        let c = config(&[]).unwrap();
        assert_eq!(c.http_addr, Some("127.0.0.1:8080".parse().unwrap()));
        assert_eq!(config(&[("HTTP_ADDR", "off")]).unwrap().http_addr, None);
        let err = config(&[("HTTP_ADDR", "localhost")]).unwrap_err();
        assert_eq!(err.variable, "HTTP_ADDR");
    }

    #[test]
    fn webhook_mode_needs_a_valid_secret_a_bot_and_the_server() {
        let url = ("TELEGRAM_WEBHOOK_URL", "https://bot.example.com/tg");
        let token = ("TELOXIDE_TOKEN", "1:abc");
        assert_eq!(
            config(&[token, url]).unwrap_err().variable,
            "TELEGRAM_WEBHOOK_SECRET"
        );
        let bad = ("TELEGRAM_WEBHOOK_SECRET", "has spaces");
        assert_eq!(
            config(&[token, url, bad]).unwrap_err().variable,
            "TELEGRAM_WEBHOOK_SECRET"
        );
        let secret = ("TELEGRAM_WEBHOOK_SECRET", "s3cret_-x");
        assert_eq!(
            config(&[url, secret]).unwrap_err().variable,
            "TELEGRAM_WEBHOOK_URL"
        );
        let off = ("HTTP_ADDR", "off");
        assert_eq!(
            config(&[token, url, secret, off]).unwrap_err().variable,
            "TELEGRAM_WEBHOOK_URL"
        );
        let c = config(&[token, url, secret]).unwrap();
        assert_eq!(c.webhook.unwrap().url.path(), "/tg");
    }

    #[test]
    fn defaults_apply_when_only_the_token_is_set() {
        let c = config(&[("TELOXIDE_TOKEN", "1:abc")]).unwrap();
        assert_eq!(c.pixverse_api_url, DEFAULT_PIXVERSE_API_URL);
        assert_eq!(c.poll_interval, Duration::from_secs(5));
        assert_eq!(c.database_path(), Some(PathBuf::from("pixverse-bot.db")));
        assert!(c.admin_ids.is_empty());
    }

    #[test]
    fn bad_admin_ids_and_intervals_are_rejected_with_the_variable_name() {
        let err = config(&[("TELOXIDE_TOKEN", "1:abc"), ("ADMIN_IDS", "12, bob")]).unwrap_err();
        assert_eq!(err.variable, "ADMIN_IDS");
        let err = config(&[("TELOXIDE_TOKEN", "1:abc"), ("POLL_INTERVAL_MS", "fast")]).unwrap_err();
        assert_eq!(err.variable, "POLL_INTERVAL_MS");
        let ok = config(&[("TELOXIDE_TOKEN", "1:abc"), ("ADMIN_IDS", "12, 34")]).unwrap();
        assert_eq!(ok.admin_ids.len(), 2);
    }

    #[test]
    fn debug_output_hides_the_token() {
        let c = config(&[
            ("TELOXIDE_TOKEN", "1:supersecret"),
            ("PIXVERSE_API_KEY", "sk-hidden"),
        ])
        .unwrap();
        let debug = format!("{c:?}");
        assert!(!debug.contains("supersecret") && !debug.contains("sk-hidden"));
    }
}
