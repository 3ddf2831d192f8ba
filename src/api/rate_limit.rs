//! The per-token rate limit: a token bucket per API token, in memory (one process serves the
//! API; a restart forgets the buckets, which only ever lets a client through earlier).

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

/// `per_minute` requests per minute per token, in a burst of up to `per_minute`.
pub struct RateLimiter {
    per_minute: u32,
    buckets: Mutex<HashMap<i64, Bucket>>,
}

#[derive(Clone, Copy)]
struct Bucket {
    tokens: f64,
    refilled_at: Instant,
}

impl RateLimiter {
    pub fn new(per_minute: u32) -> RateLimiter {
        RateLimiter {
            per_minute: per_minute.max(1),
            buckets: Mutex::default(),
        }
    }

    pub fn per_minute(&self) -> u32 {
        self.per_minute
    }

    /// Takes one request from `token_id`'s bucket: `Err(wait)` when it is empty.
    pub fn check(&self, token_id: i64) -> Result<(), Duration> {
        self.check_at(token_id, Instant::now())
    }

    fn check_at(&self, token_id: i64, now: Instant) -> Result<(), Duration> {
        let capacity = f64::from(self.per_minute);
        let per_second = capacity / 60.0;
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if buckets.len() > 100_000 {
            // Tokens idle long enough to be full again carry no state worth keeping.
            buckets.retain(|_, b| now.duration_since(b.refilled_at).as_secs_f64() * per_second < capacity);
        }
        let bucket = buckets.entry(token_id).or_insert(Bucket {
            tokens: capacity,
            refilled_at: now,
        });
        let elapsed = now.duration_since(bucket.refilled_at).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * per_second).min(capacity);
        bucket.refilled_at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - bucket.tokens) / per_second))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_of_the_limit_passes_then_one_request_per_refill() {
        let limiter = RateLimiter::new(60);
        let start = Instant::now();
        for _ in 0..60 {
            assert!(limiter.check_at(1, start).is_ok());
        }
        let wait = limiter.check_at(1, start).unwrap_err();
        assert!(wait <= Duration::from_secs(1) && wait > Duration::from_millis(900));
        assert!(
            limiter.check_at(2, start).is_ok(),
            "another token has its own bucket"
        );
        assert!(limiter.check_at(1, start + Duration::from_secs(1)).is_ok());
        assert!(limiter.check_at(1, start + Duration::from_secs(1)).is_err());
    }
}
