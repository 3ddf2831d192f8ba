//! One file per feature.

pub mod account;
pub mod generate;
pub mod start;
pub mod status;

use std::time::Duration;

use teloxide::{
    prelude::*,
    types::{Message, ReplyParameters},
};

/// Sends `text` as a reply to `msg` (or plainly, if that message is gone). Honours Telegram's
/// 429 by waiting it out (a few seconds at most) and trying again: an answer that arrives a
/// little late beats none.
pub async fn reply(bot: &Bot, msg: &Message, text: String) -> Result<Message, teloxide::RequestError> {
    const MAX_TRIES: u32 = 3;
    const MAX_WAIT: Duration = Duration::from_secs(10);
    let mut tries = 0;
    loop {
        tries += 1;
        let sent = bot
            .send_message(msg.chat.id, text.clone())
            .reply_parameters(ReplyParameters::new(msg.id).allow_sending_without_reply())
            .await;
        match sent {
            Err(teloxide::RequestError::RetryAfter(wait))
                if tries < MAX_TRIES && wait.duration() <= MAX_WAIT =>
            {
                tokio::time::sleep(wait.duration()).await;
            }
            other => return other,
        }
    }
}
