//! Texts of the admin feature: what admins read, and what users see of access rules, the pool
//! quota and admin actions. Kept apart from [`super::Texts`] so the user texts stay small.

use std::time::Duration;

use super::{Lang, en::En, ru::Ru};
use crate::{domain::TaskState, storage::Stats};

pub fn admin_texts(lang: Lang) -> &'static dyn AdminTexts {
    match lang {
        Lang::En => &En,
        Lang::Ru => &Ru,
    }
}

/// One pool account in `/pool list` and `/stats`.
pub struct PoolLine<'a> {
    pub name: &'a str,
    /// "API key …abcd" or the web username.
    pub label: &'a str,
    pub web: bool,
    /// `active`, `out_of_credits` or `invalid`.
    pub status: &'a str,
    pub enabled: bool,
    pub credits: Option<i64>,
    pub in_flight: i64,
    pub max_concurrency: i64,
    pub last_error: Option<&'a str>,
}

/// One task in `/tasks`.
pub struct AdminTaskLine<'a> {
    pub id: i64,
    pub user_id: i64,
    pub state: TaskState,
    /// "own" or the pool account's name.
    pub account: &'a str,
    pub prompt: &'a str,
    pub age: Duration,
    pub last_error: Option<&'a str>,
}

/// Which admin command a usage text is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AdminUsage {
    Access,
    /// /allow, /deny, /ban, /unban.
    Target,
    Pool,
    Quota,
    Cancel,
    Broadcast,
}

pub trait AdminTexts: Sync {
    // What users see.
    fn not_allowed(&self, user_id: i64) -> String;
    fn banned(&self) -> String;
    fn quota_exceeded(&self, limit: i64, resets_in: Duration) -> String;
    fn quota_left(&self, left: i64, limit: i64, resets_in: Duration) -> String;
    fn cancelled_by_admin(&self, task_id: i64) -> String;
    fn announcement(&self, text: &str) -> String;

    // What admins see.
    fn admin_command_descriptions(&self) -> Vec<(&'static str, &'static str)>;
    fn usage(&self, command: AdminUsage) -> String;
    fn access_set(&self, allowlist: bool) -> String;
    fn unknown_user(&self, input: &str) -> String;
    fn user_allowed(&self, user_id: i64, allowed: bool) -> String;
    fn user_banned(&self, user_id: i64, banned: bool) -> String;
    fn group_allowed(&self) -> String;
    fn allowgroup_only_in_groups(&self) -> String;
    /// A reply to a message sent as the group or a channel: it names no user.
    fn target_anonymous(&self) -> String;
    /// In a group, after the answer went to the admin's private chat.
    fn answered_in_private(&self) -> String;
    /// In a group, when the private chat could not be written to.
    fn answer_only_in_private(&self, bot_username: &str) -> String;

    fn pool_added(&self, name: &str, label: &str, credits: Option<i64>) -> String;
    fn pool_refused(&self) -> String;
    fn pool_list(&self, accounts: &[PoolLine<'_>]) -> String;
    fn pool_removed(&self, name: &str) -> String;
    fn pool_not_found(&self, name: &str) -> String;
    fn pool_enabled(&self, name: &str, enabled: bool) -> String;
    /// To every admin when an account leaves rotation.
    fn pool_account_down(&self, name: &str, out_of_credits: bool, error: &str) -> String;

    fn quota_set(&self, user_id: i64, limit: i64) -> String;
    fn quota_show(&self, user_id: i64, used: i64, limit: i64) -> String;

    fn stats(&self, stats: &Stats, pool: &[PoolLine<'_>]) -> String;
    fn tasks_list(&self, tasks: &[AdminTaskLine<'_>]) -> String;
    fn cancel_done(&self, task_id: i64) -> String;
    fn cancel_not_found(&self, task_id: i64) -> String;
    fn broadcast_started(&self, recipients: usize) -> String;
    fn broadcast_done(&self, sent: usize, skipped: usize) -> String;
}

/// `5 h 12 min` / `5 ч 12 мин`.
pub(crate) fn hours_minutes(d: Duration, h: &str, min: &str) -> String {
    let mins = d.as_secs().div_ceil(60);
    match (mins / 60, mins % 60) {
        (0, m) => format!("{m} {min}"),
        (hours, 0) => format!("{hours} {h}"),
        (hours, m) => format!("{hours} {h} {m} {min}"),
    }
}

/// `1.5 s` style.
pub(crate) fn seconds(ms: Option<i64>) -> String {
    match ms {
        Some(ms) => format!("{:.1} s", ms as f64 / 1000.0),
        None => "—".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_naturally() {
        assert_eq!(
            hours_minutes(Duration::from_secs(5 * 3600 + 12 * 60), "h", "min"),
            "5 h 12 min"
        );
        assert_eq!(hours_minutes(Duration::from_secs(59), "h", "min"), "1 min");
        assert_eq!(hours_minutes(Duration::from_secs(7200), "h", "min"), "2 h");
        assert_eq!(seconds(Some(1500)), "1.5 s");
    }

    #[test]
    fn both_languages_list_the_same_admin_commands() {
        let en: Vec<_> = admin_texts(Lang::En).admin_command_descriptions();
        let ru: Vec<_> = admin_texts(Lang::Ru).admin_command_descriptions();
        assert_eq!(
            en.iter().map(|c| c.0).collect::<Vec<_>>(),
            ru.iter().map(|c| c.0).collect::<Vec<_>>()
        );
    }
}
