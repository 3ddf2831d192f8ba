//! /history: the user's last tasks (in a group, those of the group), with buttons that send a delivered video again by its
//! Telegram file id (no download, no new generation).

use std::{sync::Arc, time::Duration};

use teloxide::{
    prelude::*,
    types::{FileId, InlineKeyboardButton, InlineKeyboardMarkup, InputFile},
};

use super::{answer_with, buttons::Answer, reply};
use crate::{
    bot::{BotContext, HandlerResult, sender_id},
    domain::{self, Callback, TaskId, UserId},
    storage::now_ms,
    telegram::result_keyboard,
    texts::{TaskLine, Texts, history_button},
};

const SHOWN: i64 = 10;

pub async fn history(bot: Bot, msg: Message, ctx: Arc<BotContext>) -> HandlerResult {
    let texts = ctx.remember_sender(&msg).await;
    // In a group only what was requested there: the rest may be private.
    let chat = (!msg.chat.is_private()).then_some(msg.chat.id.0);
    let tasks = ctx
        .storage
        .recent_tasks(Some(UserId(sender_id(&msg))), chat.map(domain::ChatId), SHOWN)
        .await?;
    let now = now_ms();
    let lines: Vec<TaskLine<'_>> = tasks
        .iter()
        .map(|t| TaskLine {
            id: t.id.0,
            kind: t.kind,
            state: t.state,
            prompt: &t.prompt,
            age: Duration::from_millis((now - t.created_at).max(0) as u64),
        })
        .collect();
    let buttons: Vec<Vec<InlineKeyboardButton>> = tasks
        .iter()
        .filter(|t| t.video_file_id.is_some())
        .map(|t| {
            vec![InlineKeyboardButton::callback(
                history_button(t.id.0, &t.prompt),
                Callback::Resend(t.id.0).encode(),
            )]
        })
        .collect();
    let text = texts.history(&lines);
    if buttons.is_empty() {
        reply(&bot, &ctx, &msg, text).await?;
    } else {
        answer_with(&bot, &ctx, &msg, text, InlineKeyboardMarkup::new(buttons)).await?;
    }
    Ok(())
}

/// Sends the user's delivered video `task_id` to `chat` again, by file id. Into a group only a
/// video requested in that group (the button data could name any task).
pub(super) async fn resend(
    bot: &Bot,
    ctx: &BotContext,
    texts: &'static dyn Texts,
    user_id: i64,
    chat: ChatId,
    task_id: i64,
) -> anyhow::Result<Answer> {
    let task = match ctx.storage.task(TaskId(task_id)).await? {
        Some(task) if task.user_id == UserId(user_id) && (chat.is_user() || task.chat_id.0 == chat.0) => task,
        _ => return Ok(Answer::Alert(texts.button_task_not_found())),
    };
    let Some(file_id) = task.video_file_id.clone() else {
        return Ok(Answer::Alert(texts.history_unavailable()));
    };
    let params = task.params();
    bot.send_video(chat, InputFile::file_id(FileId(file_id)))
        .caption(texts.caption(&task.prompt, params))
        .reply_markup(result_keyboard(texts, task.id.0))
        .await?;
    Ok(Answer::Silent)
}
