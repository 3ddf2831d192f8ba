//! The commands users type. The doc comments are the English command menu; the per-language menu
//! and `/help` come from [`crate::texts`].

use teloxide::utils::command::BotCommands;

#[derive(BotCommands, Clone, Debug, PartialEq, Eq)]
#[command(rename_rule = "lowercase")]
pub enum Command {
    /// What this bot does. Accepts a deep-link parameter.
    Start(String),
    /// Commands, flags and examples.
    Help,
    /// Video from text: /t2v <prompt>.
    T2v(String),
    /// Video from a photo: as its caption, or replying to it.
    I2v(String),
    /// Continue a video: reply to it with /extend <what happens next>.
    Extend(String),
    /// Give a video a sound: reply to it with /sound <description>.
    Sound(String),
    /// Make a video speak: reply to it with /say <text>.
    Say(String),
    /// A video from one photo to the next: reply to an album of two with /transition <prompt>.
    Transition(String),
    /// Combine photos: reply to an album with /fusion <prompt naming them as @name>.
    Fusion(String),
    /// Pick the voice /say speaks with.
    Voices,
    /// Effects for your next photo.
    Effects,
    /// Forget the picked effect. (`/cancel <task id>` is the admin's; for others it is unknown.)
    Cancel(String),
    /// Your videos in progress and recently finished.
    Status,
    /// Credits of the account you generate with.
    Balance,
    /// Connect a PixVerse account: /login <username> <password> (private chat only).
    Login(String),
    /// Connect a PixVerse API key: /apikey <key> (private chat only).
    Apikey(String),
    /// Disconnect your PixVerse account.
    Logout,
    /// Your default model, duration, quality, aspect ratio, motion and audio.
    Settings,
    /// Your last videos, to get them again.
    History,
    /// Choose English or Russian.
    Language,
    /// An API token for your account: /token, or /token revoke (private chat only).
    Token(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Option<Command> {
        Command::parse(text, "pixverse_test_bot").ok()
    }

    #[test]
    fn commands_parse_with_and_without_the_bot_name() {
        assert_eq!(parse("/t2v a fox"), Some(Command::T2v("a fox".into())));
        assert_eq!(
            parse("/t2v@pixverse_test_bot a fox"),
            Some(Command::T2v("a fox".into()))
        );
        assert_eq!(parse("/t2v@other_bot a fox"), None);
        assert_eq!(parse("/t2v"), Some(Command::T2v(String::new())));
        assert_eq!(parse("/start ref-42"), Some(Command::Start("ref-42".into())));
        assert_eq!(parse("/start"), Some(Command::Start(String::new())));
        assert_eq!(parse("/frobnicate"), None);
    }

    #[test]
    fn arbitrary_text_never_panics_the_parser() {
        for text in ["/", "//", "/@", "/t2v@", "/\u{0}", "/логин", "/t2v\n\n", "@/t2v"] {
            let _ = parse(text);
        }
    }
}
