//! Where a message goes: the chat, the forum topic inside it, and the message it answers.
//!
//! In a forum a reply lands in its target's topic by itself, but not when the target is gone
//! (`allow_sending_without_reply` then posts to the General topic): so the topic is always named.

use teloxide::{
    payloads::{SendMessage, SendVideo},
    payloads::{SendMessageSetters, SendVideoSetters},
    prelude::*,
    requests::{JsonRequest, MultipartRequest},
    types::{Message, MessageId, ReplyParameters, ThreadId},
};

/// A chat, the forum topic in it (if any) and the message answered (if any).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Place {
    pub chat: ChatId,
    pub thread: Option<ThreadId>,
    pub reply_to: Option<MessageId>,
}

impl Place {
    /// A reply to `msg`, in its topic.
    pub fn reply_to(msg: &Message) -> Place {
        Place {
            chat: msg.chat.id,
            thread: topic_of(msg),
            reply_to: Some(msg.id),
        }
    }

    /// In `msg`'s chat and topic, answering nothing (a menu, a re-sent video).
    pub fn beside(msg: &Message) -> Place {
        Place {
            reply_to: None,
            ..Place::reply_to(msg)
        }
    }

    /// A task's place: the request message (which may be deleted by now) in its topic.
    pub fn of_request(chat_id: i64, thread_id: Option<i32>, request_message_id: i32) -> Place {
        Place {
            chat: ChatId(chat_id),
            thread: thread_id.map(|id| ThreadId(MessageId(id))),
            reply_to: Some(MessageId(request_message_id)),
        }
    }

    /// The private chat with the user `user_id` (an answer that must not show in a group).
    pub fn private_chat(user_id: i64) -> Place {
        Place {
            chat: ChatId(user_id),
            thread: None,
            reply_to: None,
        }
    }

    /// The same chat and topic, answering nothing.
    pub fn without_reply(self) -> Place {
        Place {
            reply_to: None,
            ..self
        }
    }

    /// The topic as stored with a task.
    pub fn thread_id(&self) -> Option<i32> {
        self.thread.map(|t| t.0.0)
    }

    /// A reply to a message that may be gone by now: then it is sent plainly (in its topic).
    fn reply_parameters(&self) -> Option<ReplyParameters> {
        self.reply_to
            .map(|id| ReplyParameters::new(id).allow_sending_without_reply())
    }

    /// `sendMessage` at this place; the caller may add buttons before sending.
    pub fn message(&self, bot: &Bot, text: String) -> JsonRequest<SendMessage> {
        let mut request = bot.send_message(self.chat, text);
        if let Some(thread) = self.thread {
            request = request.message_thread_id(thread);
        }
        if let Some(reply) = self.reply_parameters() {
            request = request.reply_parameters(reply);
        }
        request
    }

    /// `sendVideo` at this place (`bot` may be the one with the long upload timeout).
    pub fn video(&self, bot: &Bot, video: teloxide::types::InputFile) -> MultipartRequest<SendVideo> {
        let mut request = bot.send_video(self.chat, video);
        if let Some(thread) = self.thread {
            request = request.message_thread_id(thread);
        }
        if let Some(reply) = self.reply_parameters() {
            request = request.reply_parameters(reply);
        }
        request
    }
}

/// The forum topic `msg` was written in; `None` outside forums.
fn topic_of(msg: &Message) -> Option<ThreadId> {
    if msg.is_topic_message { msg.thread_id } else { None }
}

/// The message `msg` answers, if the user chose one. Inside a forum topic every message that
/// replies to nothing carries the topic's first message as `reply_to_message`; that is not a
/// choice, and an admin command "as a reply" must not target the topic's creator.
pub fn replied_message(msg: &Message) -> Option<&Message> {
    let replied = msg.reply_to_message()?;
    let is_topic_root = topic_of(msg).is_some_and(|thread| thread.0 == replied.id);
    (!is_topic_root).then_some(replied)
}
