//! A per-user budget for plain text that is not a request: past a few messages a minute the bot
//! stops answering them, quietly. Someone pasting a hundred lines costs one database read per line
//! and earns no hundred hints (each of which Telegram would rate-limit anyway).

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

/// Answered plain messages per user per window.
const ANSWERS_PER_WINDOW: u32 = 3;
const WINDOW: Duration = Duration::from_secs(60);
/// Users remembered at most; past this the expired windows are forgotten.
const REMEMBERED: usize = 4096;

#[derive(Debug, Default)]
pub struct PlainTextBudget {
    windows: Mutex<HashMap<i64, (Instant, u32)>>,
}

impl PlainTextBudget {
    /// Whether `user_id`'s plain message gets an answer; counts it either way.
    pub fn admit(&self, user_id: i64) -> bool {
        let now = Instant::now();
        let mut windows = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        if windows.len() > REMEMBERED {
            windows.retain(|_, (start, _)| now.duration_since(*start) < WINDOW);
        }
        let (start, count) = windows.entry(user_id).or_insert((now, 0));
        if now.duration_since(*start) >= WINDOW {
            (*start, *count) = (now, 0);
        }
        *count += 1;
        *count <= ANSWERS_PER_WINDOW
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_user_gets_three_answers_a_minute_and_others_are_not_affected() {
        let budget = PlainTextBudget::default();
        let answered = (0..10).filter(|_| budget.admit(1)).count();
        assert_eq!(answered, 3);
        assert!(budget.admit(2));
    }
}
