//! The gate every update passes first: banned users and, in `allowlist` mode, strangers are
//! stopped here, before any user-facing handler, by the service's access rule. Also the bot's
//! wording of the service's refusals.

use std::{sync::Arc, time::Duration};

use teloxide::{prelude::*, types::Me};

use super::reply;
use crate::{
    bot::{BotContext, HandlerResult, sender_id},
    domain::{self, MAX_PROMPT_CHARS, PromptError, RequestError, TaskKind},
    service::{self, Admission, Refusal as ServiceRefusal, admission, is_placeholder},
    storage::{AccessMode, now_ms, utc_day_start},
    texts::{Lang, Texts, admin::admin_texts, modes::mode_texts, texts},
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
    let is_admin = ctx.service.is_admin(user_id);
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
        if is_admin {
            return Ok(None);
        }
        ctx.storage.user_access(user_id).await?
    };
    let mode = ctx.storage.access_mode().await?;
    // The group lookup only when it decides something.
    let by_group = mode == AccessMode::Allowlist
        && !is_admin
        && !access.allowed
        && !access.banned
        && if msg.chat.is_private() {
            ctx.storage.member_of_allowed_group(user_id).await?
        } else {
            ctx.storage.is_group_allowed(chat_id).await?
        };
    // Only a message meant for the bot may use up the one refusal or get an answer.
    let addressed = msg.chat.is_private()
        || msg
            .text()
            .or(msg.caption())
            .is_some_and(|t| t.trim_start().starts_with('/'));
    Ok(match (admission(is_admin, &access, mode, by_group), addressed) {
        (Admission::Admitted, _) => None,
        (Admission::Banned, true) if ctx.storage.take_ban_notice(user_id).await? => Some(Refusal::Banned),
        (Admission::NotAllowed, true) => Some(Refusal::NotAllowed),
        (Admission::Banned | Admission::NotAllowed, _) => Some(Refusal::Silent),
    })
}

/// A message sent on behalf of a chat: by an anonymous group admin or as a channel
/// (`sender_chat` set, `from` one of Telegram's placeholders). Thousands of people share each
/// placeholder id, so such a message is never billed, limited or banned as one user.
pub fn on_behalf_of_a_chat(msg: Message) -> bool {
    msg.sender_chat.is_some() || msg.from.as_ref().is_some_and(|u| is_placeholder(u.id.0 as i64))
}

/// One answer to a command sent on behalf of a chat, asking for it from a personal account;
/// nothing else (other messages of the kind, a channel's posts, are not for us).
pub async fn anonymous(bot: Bot, msg: Message, me: Me, ctx: Arc<BotContext>) -> HandlerResult {
    let Some(command) = msg
        .text()
        .or(msg.caption())
        .and_then(|t| t.split_whitespace().next())
        .filter(|w| w.starts_with('/'))
    else {
        return Ok(());
    };
    let for_us = command
        .split_once('@')
        .is_none_or(|(_, to)| to.eq_ignore_ascii_case(me.username()));
    if for_us {
        tracing::info!(
            chat_id = msg.chat.id.0,
            "a command on behalf of a chat was refused"
        );
        reply(&bot, &ctx, &msg, texts(Lang::En).anonymous_sender()).await?;
    }
    Ok(())
}

pub fn is_migration(msg: Message) -> bool {
    msg.migrate_to_chat_id().is_some() || msg.migrate_from_chat_id().is_some()
}

/// A group became a supergroup (a new chat id): its allowlist entry, its members' admission
/// and its unfinished tasks move to the new id. Telegram says so in both chats; each message
/// carries both ids and the move is idempotent.
pub async fn migrated(msg: Message, ctx: Arc<BotContext>) -> HandlerResult {
    let (old, new) = match (msg.migrate_to_chat_id(), msg.migrate_from_chat_id()) {
        (Some(to), _) => (msg.chat.id.0, to.0),
        (None, Some(from)) => (from.0, msg.chat.id.0),
        (None, None) => return Ok(()),
    };
    ctx.storage.migrate_group(old, new).await?;
    let tasks = ctx
        .storage
        .migrate_chat(domain::ChatId(old), domain::ChatId(new))
        .await?;
    tracing::info!(old, new, tasks, "a group became a supergroup");
    Ok(())
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
        .unwrap_or(ctx.service.limits().pool_daily_quota);
    let used = ctx
        .storage
        .pool_tasks_since(user_id, utc_day_start(now_ms()))
        .await?;
    Ok((used, limit))
}

/// Time until the pool quota resets (the next UTC midnight).
pub fn quota_resets_in() -> Duration {
    service::quota_resets_in(now_ms())
}

/// The bot's wording of a refusal from the service, in the requester's language.
pub(crate) fn word_refusal(texts: &'static dyn Texts, refusal: &ServiceRefusal, requester: i64) -> String {
    let admin = admin_texts(texts.lang());
    let modes = mode_texts(texts.lang());
    match refusal {
        ServiceRefusal::Banned => admin.banned(),
        ServiceRefusal::NotAllowed => admin.not_allowed(requester),
        ServiceRefusal::AnonymousSender => texts.anonymous_sender(),
        ServiceRefusal::Invalid { kind, error } => match error {
            RequestError::Prompt(PromptError::Empty) if *kind == TaskKind::I2v => texts.photo_needs_caption(),
            RequestError::Prompt(PromptError::Empty) if kind.is_mode() => modes.mode_usage(*kind),
            RequestError::Prompt(PromptError::Empty) => texts.t2v_usage(),
            RequestError::Prompt(PromptError::TooLong { chars }) => {
                texts.prompt_too_long(*chars, MAX_PROMPT_CHARS)
            }
            RequestError::Param(error) => texts.param_error(error),
        },
        ServiceRefusal::ImageMismatch { kind: TaskKind::I2v } => texts.i2v_usage(),
        ServiceRefusal::ImageMismatch { kind: TaskKind::T2v } => texts.t2v_usage(),
        ServiceRefusal::ImageMismatch { kind } => modes.mode_usage(*kind),
        ServiceRefusal::ImageTooLarge { max_bytes } => texts.image_too_large(max_bytes / 1024 / 1024),
        ServiceRefusal::TooManyInFlight { limit } => texts.too_many_in_flight(*limit),
        ServiceRefusal::HourlyLimit { limit, retry_in } => {
            texts.hourly_limit(*limit, (retry_in.as_secs() as i64 / 60).max(1))
        }
        ServiceRefusal::PoolQuota { limit, resets_in } => admin.quota_exceeded(*limit, *resets_in),
        ServiceRefusal::NeedAccount => texts.need_account(),
        ServiceRefusal::ReconnectAccount => texts.reconnect_account(),
        ServiceRefusal::Mode { error, .. } => modes.mode_error(error),
        ServiceRefusal::SourceNotFound { kind } => modes.source_not_found(*kind),
        ServiceRefusal::SourceNotReady => modes.source_not_ready(),
        ServiceRefusal::SourceOtherAccount => modes.source_other_account(),
        ServiceRefusal::NeedsApiKey { kind } | ServiceRefusal::PoolNeedsApiKey { kind } => {
            modes.needs_api_key(*kind)
        }
        ServiceRefusal::AudioTooLarge { max_bytes } => modes.audio_too_large(max_bytes / 1024 / 1024),
    }
}
