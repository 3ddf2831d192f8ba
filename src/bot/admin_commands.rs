//! The commands only admins may use. Parsed after a server-side admin check in the handler tree
//! (the per-admin command menu is only a hint); for anyone else they are unknown commands.

use teloxide::utils::command::BotCommands;

#[derive(BotCommands, Clone, Debug, PartialEq, Eq)]
#[command(rename_rule = "lowercase")]
pub enum AdminCommand {
    /// Who may use the bot: /access open|allowlist.
    Access(String),
    /// Allow a user (id, @username, or as a reply).
    Allow(String),
    /// Take a user off the allowlist.
    Deny(String),
    /// Ban a user: one polite refusal, then silence.
    Ban(String),
    /// Lift a ban.
    Unban(String),
    /// Allow the group this is sent in.
    Allowgroup,
    /// Shared PixVerse accounts: add, list, remove, disable, enable.
    Pool(String),
    /// A user's daily pool quota: /quota <user> [<n>|default].
    Quota(String),
    /// Users, tasks, delivery times, pool credits, queue.
    Stats,
    /// Recent tasks, of everyone or of one user.
    Tasks(String),
    /// Stop tracking a task: /cancel <task id>.
    Cancel(String),
    /// Send an announcement to every user.
    Broadcast(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admin_commands_parse_and_user_commands_do_not() {
        let parse = |t: &str| AdminCommand::parse(t, "pixverse_test_bot").ok();
        assert_eq!(parse("/stats"), Some(AdminCommand::Stats));
        assert_eq!(parse("/pool list"), Some(AdminCommand::Pool("list".into())));
        assert_eq!(
            parse("/ban@pixverse_test_bot 42"),
            Some(AdminCommand::Ban("42".into()))
        );
        assert_eq!(parse("/t2v a fox"), None);
    }
}
