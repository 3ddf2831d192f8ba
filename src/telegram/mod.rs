//! Telegram plumbing shared by the bot and the worker: where a message goes (chat, forum topic,
//! reply target), how long a 429 may hold up a send, whose language a message is in, the command
//! menus and the inline keyboards. Neither the bot nor the worker spells these out itself. And
//! the way in: the inbox every update passes on its way to the handlers.

mod inbox;
mod intake;
mod keyboards;
mod language;
mod limits;
mod menus;
mod place;
mod send;
mod updates;

pub use inbox::{Inbox, Receiver, handled_update};
pub use intake::{StoredPolling, stored_updates};
pub use keyboards::{result_keyboard, result_task_of, retry_keyboard};
pub use language::{lang_of_sender, lang_of_user};
pub use limits::fit_text;
pub use menus::{register_admin_menu, register_commands};
pub use place::{Place, replied_message};
pub use send::{Cooldowns, Late, Sent, send_text};
pub use updates::loggable;
