//! The gate every update passes first: banned users and, in `allowlist` mode, strangers are
//! stopped here, before any user-facing handler. Also the pool quota check.

use std::{sync::Arc, time::Duration};

use teloxide::prelude::*;

use super::reply;
use crate::{
    bot::{BotContext, HandlerResult, sender_id},
    storage::{AccessMode, now_ms, utc_day_start},
    texts::{Lang, admin::admin_texts},
};

/// Why a message goes no further.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// `allowlist` mode and the sender is neither allowed nor in an allowed group.
    NotAllowed,
    /// Banned, and this is the one refusal they get.
    Banned,
    /// Stopped without an answer (a banned user who was told, or a message not meant for us).
    Silent,
}

/// `Some` when the message must stop here. A database failure lets it through (and is logged):
/// the bot is unusable then anyway, and the handlers will report it.
pub async fn gate(msg: Message, ctx: Arc<BotContext>) -> Option<Refusal> {
    match check(&msg, &ctx).await {
        Ok(refusal) => refusal,
        Err(e) => {
            tracing::error!(error = format!("{e:#}"), "access check failed");
            None
        }
    }
}

async fn check(msg: &Message, ctx: &BotContext) -> anyhow::Result<Option<Refusal>> {
    let user_id = sender_id(msg);
    let chat_id = msg.chat.id.0;
    // One read in a private chat (access and the "blocked" mark together); the write only when
    // there is a mark to clear. Every message passes here, so each statement counts.
    let access = if msg.chat.is_private() {
        let (access, blocked) = ctx.storage.user_access_and_blocked(user_id).await?;
        if blocked {
            ctx.storage.clear_user_blocked(user_id).await?;
        }
        access
    } else {
        ctx.storage.record_group_member(chat_id, user_id).await?;
        if ctx.is_admin(user_id) {
            return Ok(None);
        }
        ctx.storage.user_access(user_id).await?
    };
    if ctx.is_admin(user_id) {
        return Ok(None);
    }
    // Only a message meant for the bot may use up the one refusal or get an answer.
    let addressed = msg.chat.is_private()
        || msg
            .text()
            .or(msg.caption())
            .is_some_and(|t| t.trim_start().starts_with('/'));
    if access.banned {
        let tell = addressed && ctx.storage.take_ban_notice(user_id).await?;
        return Ok(Some(if tell { Refusal::Banned } else { Refusal::Silent }));
    }
    if ctx.storage.access_mode().await? == AccessMode::Open || access.allowed {
        return Ok(None);
    }
    let admitted = if msg.chat.is_private() {
        ctx.storage.member_of_allowed_group(user_id).await?
    } else {
        ctx.storage.is_group_allowed(chat_id).await?
    };
    Ok(match (admitted, addressed) {
        (true, _) => None,
        (false, true) => Some(Refusal::NotAllowed),
        (false, false) => Some(Refusal::Silent),
    })
}

pub async fn refuse(bot: Bot, msg: Message, ctx: Arc<BotContext>, refusal: Refusal) -> HandlerResult {
    let Some(sender) = msg.from.as_ref() else {
        return Ok(());
    };
    let texts = admin_texts(ctx.lang_of(sender).await);
    let text = match refusal {
        Refusal::NotAllowed => texts.not_allowed(sender_id(&msg)),
        Refusal::Banned => texts.banned(),
        Refusal::Silent => return Ok(()),
    };
    reply(&bot, &ctx, &msg, text).await?;
    Ok(())
}

/// A user's pool quota today: (videos used, daily limit).
pub async fn pool_quota(ctx: &BotContext, user_id: i64) -> anyhow::Result<(i64, i64)> {
    let limit = ctx
        .storage
        .user_access(user_id)
        .await?
        .daily_quota
        .unwrap_or(ctx.pool_daily_quota);
    let used = ctx
        .storage
        .pool_tasks_since(user_id, utc_day_start(now_ms()))
        .await?;
    Ok((used, limit))
}

/// The reply for a user over their pool quota today (`used` of `limit`), `None` when they may go
/// on. The accept path reads the figures with its other facts in one statement (see
/// `storage/accept.rs`) and excepts admins itself.
pub fn quota_refusal_of(used: i64, limit: i64, lang: Lang) -> Option<String> {
    (used >= limit).then(|| admin_texts(lang).quota_exceeded(limit, quota_resets_in()))
}

/// Time until the quota resets (the next UTC midnight).
pub fn quota_resets_in() -> Duration {
    let now = now_ms();
    let next = utc_day_start(now) + 24 * 3600 * 1000;
    Duration::from_millis((next - now).max(0) as u64)
}
