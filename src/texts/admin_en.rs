//! English texts of the admin feature.

use std::time::Duration;

use super::{
    admin::{AdminTaskLine, AdminTexts, AdminUsage, PoolLine, hours_minutes, seconds},
    en::En,
    shorten,
};
use crate::storage::Stats;

fn resets(d: Duration) -> String {
    format!("at 00:00 UTC, in {}", hours_minutes(d, "h", "min"))
}

fn pool_line(a: &PoolLine<'_>) -> String {
    let kind = if a.web { "web" } else { "API" };
    let state = match (a.enabled, a.status) {
        (false, _) => "⏸ disabled",
        (true, "active") => "✅ active",
        (true, "out_of_credits") => "💳 out of credits",
        (true, _) => "🔑 invalid",
    };
    let credits = a.credits.map_or("?".to_owned(), |c| c.to_string());
    let mut line = format!(
        "• {} ({kind}, {}) — {state}, credits {credits}, tasks {}/{}",
        a.name, a.label, a.in_flight, a.max_concurrency
    );
    if let Some(error) = a.last_error {
        line.push_str(&format!("\n   last error: {}", shorten(error, 200)));
    }
    line
}

impl AdminTexts for En {
    fn not_allowed(&self, user_id: i64) -> String {
        format!(
            "Sorry, this bot is only open to invited people for now. \
             If you should have access, send an admin your id: {user_id}"
        )
    }

    fn banned(&self) -> String {
        "Sorry, you can no longer use this bot.".into()
    }

    fn quota_exceeded(&self, limit: i64, resets_in: Duration) -> String {
        format!(
            "You have used all {limit} videos of today's shared quota. It resets {}. \
             To generate more now, connect your own PixVerse account with /login or /apikey.",
            resets(resets_in)
        )
    }

    fn quota_left(&self, left: i64, limit: i64, resets_in: Duration) -> String {
        format!(
            "You generate on the shared accounts: {left} of {limit} videos left today (resets {}).",
            resets(resets_in)
        )
    }

    fn cancelled_by_admin(&self, task_id: i64) -> String {
        format!("An admin stopped your video #{task_id}. No video will come for this request.")
    }

    fn announcement(&self, text: &str) -> String {
        format!("📢 {text}")
    }

    fn admin_command_descriptions(&self) -> Vec<(&'static str, &'static str)> {
        vec![
            ("stats", "Admin: users, tasks, pool, queue"),
            ("tasks", "Admin: recent tasks [user]"),
            ("cancel", "Admin: stop a task: /cancel <id>"),
            ("pool", "Admin: shared accounts: add|list|remove|disable|enable"),
            ("quota", "Admin: /quota <user> <videos per day>"),
            ("access", "Admin: /access open|allowlist"),
            ("allow", "Admin: allow a user (id, @name or reply)"),
            ("deny", "Admin: take a user off the allowlist"),
            ("ban", "Admin: ban a user"),
            ("unban", "Admin: lift a ban"),
            ("allowgroup", "Admin: allow this group"),
            ("broadcast", "Admin: message every user"),
        ]
    }

    fn usage(&self, command: AdminUsage) -> String {
        match command {
            AdminUsage::Access => "Usage: /access open | /access allowlist".into(),
            AdminUsage::Target => "Usage: /allow, /deny, /ban or /unban followed by a user id or @username, \
                 or sent as a reply to the user's message."
                .into(),
            AdminUsage::Pool => "Usage (private chat):\n\
                 /pool add <name> apikey <key>\n\
                 /pool add <name> login <username> <password>\n\
                 /pool list\n/pool remove <name>\n/pool disable <name>\n/pool enable <name>"
                .into(),
            AdminUsage::Quota => {
                "Usage: /quota <user id | @username> <videos per day>, or /quota <user> to see it. \
                 /quota <user> default goes back to the default."
                    .into()
            }
            AdminUsage::Cancel => "Usage: /cancel <task id> (see /tasks).".into(),
            AdminUsage::Broadcast => "Usage: /broadcast <text for every user>".into(),
        }
    }

    fn access_set(&self, allowlist: bool) -> String {
        if allowlist {
            "Access: allowlist. Only allowed users and members of allowed groups may use the bot.".into()
        } else {
            "Access: open. Anyone may use the bot (banned users excepted).".into()
        }
    }

    fn unknown_user(&self, input: &str) -> String {
        format!("I don't know the user {input}. Use their numeric id, or reply to one of their messages.")
    }

    fn user_allowed(&self, user_id: i64, allowed: bool) -> String {
        if allowed {
            format!("User {user_id} is allowed.")
        } else {
            format!("User {user_id} is no longer on the allowlist.")
        }
    }

    fn user_banned(&self, user_id: i64, banned: bool) -> String {
        if banned {
            format!("User {user_id} is banned: one polite refusal, then silence.")
        } else {
            format!("User {user_id} is no longer banned.")
        }
    }

    fn group_allowed(&self) -> String {
        "This group is allowed: its members may use the bot here and in private.".into()
    }

    fn allowgroup_only_in_groups(&self) -> String {
        "Send /allowgroup in the group you want to allow.".into()
    }

    fn target_anonymous(&self) -> String {
        "That message was sent as the group or a channel, so it names no user. \
         Use their numeric id or @username instead."
            .into()
    }

    fn answered_in_private(&self) -> String {
        "I sent the answer to our private chat: it shows other users' data.".into()
    }

    fn answer_only_in_private(&self, bot_username: &str) -> String {
        format!(
            "This answer shows other users' data, so I send it only in a private chat. \
             Start one with me and ask there: https://t.me/{bot_username}"
        )
    }

    fn pool_added(&self, name: &str, label: &str, credits: Option<i64>) -> String {
        let credits = credits.map_or("unknown".to_owned(), |c| c.to_string());
        format!(
            "Pool account {name} ({label}) added; credits: {credits}. Your message with the secret was deleted."
        )
    }

    fn pool_refused(&self) -> String {
        "PixVerse refused these credentials; nothing was stored.".into()
    }

    fn pool_list(&self, accounts: &[PoolLine<'_>]) -> String {
        if accounts.is_empty() {
            return "The pool is empty. Add an account with /pool add <name> apikey <key>.".into();
        }
        let lines: Vec<String> = accounts.iter().map(pool_line).collect();
        format!("Pool accounts:\n{}", lines.join("\n"))
    }

    fn pool_removed(&self, name: &str) -> String {
        format!("Pool account {name} removed.")
    }

    fn pool_not_found(&self, name: &str) -> String {
        format!("There is no pool account named {name}. /pool list shows them.")
    }

    fn pool_enabled(&self, name: &str, enabled: bool) -> String {
        if enabled {
            format!("Pool account {name} is back in rotation.")
        } else {
            format!("Pool account {name} is disabled: no new tasks go to it.")
        }
    }

    fn pool_account_down(&self, name: &str, out_of_credits: bool, error: &str) -> String {
        let (what, fix) = if out_of_credits {
            ("is out of credits", "Top it up, then /pool enable")
        } else {
            (
                "was refused by PixVerse (credential invalid)",
                "Add it again with /pool add, or /pool enable",
            )
        };
        format!(
            "⚠️ Pool account {name} {what} and was taken out of rotation; its queued tasks move to the \
             other accounts.\nPixVerse said: {}\n{fix} {name}.",
            shorten(error, 200)
        )
    }

    fn quota_set(&self, user_id: i64, limit: i64) -> String {
        format!("User {user_id} may now make {limit} videos a day on the shared accounts.")
    }

    fn quota_show(&self, user_id: i64, used: i64, limit: i64) -> String {
        format!("User {user_id}: {used} of {limit} shared videos used today.")
    }

    fn stats(&self, s: &Stats, pool: &[PoolLine<'_>]) -> String {
        let tasks = if s.tasks_today.is_empty() {
            "none".to_owned()
        } else {
            s.tasks_today
                .iter()
                .map(|(state, n)| format!("{state} {n}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let pool = if pool.is_empty() {
            "empty".to_owned()
        } else {
            pool.iter()
                .map(|a| {
                    let credits = a.credits.map_or("?".to_owned(), |c| c.to_string());
                    let state = if a.enabled { a.status } else { "disabled" };
                    format!(
                        "{} {credits} ({state}, {}/{})",
                        a.name, a.in_flight, a.max_concurrency
                    )
                })
                .collect::<Vec<_>>()
                .join("; ")
        };
        format!(
            "📊 Users: {} total, {} active today\n\
             Tasks today: {tasks}\n\
             Delivered in 24 h: {}; time to delivery: average {}, p95 {}\n\
             Queue: {} waiting, {} generating or sending\n\
             Pool credits: {pool}",
            s.users_total,
            s.users_active_today,
            s.delivered_24h,
            seconds(s.avg_delivery_ms),
            seconds(s.p95_delivery_ms),
            s.queue_length,
            s.in_progress
        )
    }

    fn tasks_list(&self, tasks: &[AdminTaskLine<'_>]) -> String {
        if tasks.is_empty() {
            return "No tasks.".into();
        }
        let lines: Vec<String> = tasks
            .iter()
            .map(|t| {
                let mut line = format!(
                    "#{} user {} · {} · {} · {} min ago · {}",
                    t.id,
                    t.user_id,
                    t.state.as_str(),
                    t.account,
                    t.age.as_secs() / 60,
                    shorten(t.prompt, 40)
                );
                if let Some(error) = t.last_error {
                    line.push_str(&format!("\n   error: {}", shorten(error, 150)));
                }
                line
            })
            .collect();
        format!("Recent tasks:\n{}", lines.join("\n"))
    }

    fn cancel_done(&self, task_id: i64) -> String {
        format!("Task #{task_id} cancelled; its owner was told.")
    }

    fn cancel_not_found(&self, task_id: i64) -> String {
        format!("Task #{task_id} does not exist or has already finished.")
    }

    fn broadcast_started(&self, recipients: usize) -> String {
        format!("Sending the announcement to {recipients} users…")
    }

    fn broadcast_done(&self, sent: usize, skipped: usize) -> String {
        format!(
            "Broadcast done: delivered to {sent} users, {skipped} skipped (blocked the bot or unreachable)."
        )
    }
}
