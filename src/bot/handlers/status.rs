//! /status: the user's tasks in flight and the last few finished (in a group, those of the group).

use std::{sync::Arc, time::Duration};

use teloxide::prelude::*;

use super::reply;
use crate::{
    bot::{BotContext, HandlerResult, sender_id},
    domain::{ChatId, UserId},
    storage::{TaskRow, now_ms},
    texts::TaskLine,
};

const FINISHED_SHOWN: i64 = 5;

pub async fn status(bot: Bot, msg: Message, ctx: Arc<BotContext>) -> HandlerResult {
    let texts = ctx.remember_sender(&msg).await;
    let user_id = UserId(sender_id(&msg));
    // In a group only what was requested there: the rest may be private.
    let chat = (!msg.chat.is_private()).then_some(ChatId(msg.chat.id.0));
    let in_flight = ctx.storage.tasks_in_flight(user_id, chat).await?;
    let finished = ctx
        .storage
        .recent_finished_tasks(user_id, chat, FINISHED_SHOWN)
        .await?;
    let now = now_ms();
    let answer = texts.status(&lines(&in_flight, now), &lines(&finished, now));
    reply(&bot, &ctx, &msg, answer).await?;
    Ok(())
}

fn lines(rows: &[TaskRow], now: i64) -> Vec<TaskLine<'_>> {
    rows.iter()
        .map(|t| TaskLine {
            id: t.id.0,
            kind: t.kind,
            state: t.state,
            prompt: &t.prompt,
            age: Duration::from_millis((now - t.created_at).max(0) as u64),
        })
        .collect()
}
