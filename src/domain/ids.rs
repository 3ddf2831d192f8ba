//! Id newtypes: a task id cannot be passed where a user id is meant. Each is stored as the
//! integer it wraps (`#[sqlx(transparent)]`) and shown as that number.

use std::fmt;

macro_rules! id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(
            Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, sqlx::Type, serde::Serialize, serde::Deserialize,
        )]
        #[sqlx(transparent)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl From<i64> for $name {
            fn from(id: i64) -> Self {
                $name(id)
            }
        }
    };
}

id!(
    /// A task (one requested video).
    TaskId
);
id!(
    /// A Telegram user (also the bot's user id).
    UserId
);
id!(
    /// A Telegram chat a result goes to.
    ChatId
);
id!(
    /// A user's own PixVerse credential.
    CredentialId
);
id!(
    /// An account of the shared pool.
    PoolAccountId
);
