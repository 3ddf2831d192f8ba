//! Admin commands: access (/access, /allow, /deny, /ban, /unban, /allowgroup), quotas, /stats,
//! /tasks, /cancel and /broadcast. Only reachable after the admin check in the handler tree.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use teloxide::{ApiError, RequestError, prelude::*, types::Me};

use super::{access::pool_quota, pool::refresh_credits, reply};
use crate::{
    bot::{BotContext, HandlerResult, in_background, sender_id},
    domain::{TaskId, UserId},
    service::is_placeholder,
    storage::{AccessMode, Storage, now_ms, utc_day_start},
    telegram::{Late, Place, lang_of_user, replied_message, send_text},
    texts::{
        Lang,
        admin::{AdminTaskLine, AdminTexts, AdminUsage, PoolLine, admin_texts},
    },
};

/// How many tasks `/tasks` shows.
const TASKS_SHOWN: i64 = 15;
/// Telegram takes about 30 messages a second from one bot. The worker's progress edits may use
/// 20 of them and videos and replies need room too, so a broadcast sends at most 8 a second.
const BROADCAST_GAP: Duration = Duration::from_millis(125);
/// Telegram takes about one message a second in one chat: the admin's chat gets the start notice,
/// their own copy and the report, so those three are kept this far apart.
const SAME_CHAT_GAP: Duration = Duration::from_millis(1100);

pub async fn access(bot: Bot, msg: Message, ctx: Arc<BotContext>, arg: String) -> HandlerResult {
    let texts = ctx.remember_admin(&msg).await;
    let answer = match AccessMode::parse(&arg) {
        Some(mode) => {
            ctx.storage.set_access_mode(mode).await?;
            tracing::info!(admin = sender_id(&msg), mode = mode.as_str(), "access mode set");
            texts.access_set(mode == AccessMode::Allowlist)
        }
        None => texts.usage(AdminUsage::Access),
    };
    reply(&bot, &ctx, &msg, answer).await?;
    Ok(())
}

pub async fn allow(bot: Bot, msg: Message, ctx: Arc<BotContext>, arg: String) -> HandlerResult {
    set_user(bot, msg, ctx, arg, UserChange::Allow(true)).await
}

pub async fn deny(bot: Bot, msg: Message, ctx: Arc<BotContext>, arg: String) -> HandlerResult {
    set_user(bot, msg, ctx, arg, UserChange::Allow(false)).await
}

pub async fn ban(bot: Bot, msg: Message, ctx: Arc<BotContext>, arg: String) -> HandlerResult {
    set_user(bot, msg, ctx, arg, UserChange::Ban(true)).await
}

pub async fn unban(bot: Bot, msg: Message, ctx: Arc<BotContext>, arg: String) -> HandlerResult {
    set_user(bot, msg, ctx, arg, UserChange::Ban(false)).await
}

enum UserChange {
    Allow(bool),
    Ban(bool),
}

async fn set_user(
    bot: Bot,
    msg: Message,
    ctx: Arc<BotContext>,
    arg: String,
    change: UserChange,
) -> HandlerResult {
    let texts = ctx.remember_admin(&msg).await;
    let user_id = match target(&msg, &ctx, arg.trim()).await? {
        Target::User(id) => id,
        Target::Unknown(input) => {
            reply(&bot, &ctx, &msg, texts.unknown_user(&input)).await?;
            return Ok(());
        }
        Target::Missing => {
            reply(&bot, &ctx, &msg, texts.usage(AdminUsage::Target)).await?;
            return Ok(());
        }
        Target::Anonymous => {
            reply(&bot, &ctx, &msg, texts.target_anonymous()).await?;
            return Ok(());
        }
    };
    let answer = match change {
        UserChange::Allow(allowed) => {
            ctx.storage.set_allowed(user_id, allowed).await?;
            texts.user_allowed(user_id, allowed)
        }
        UserChange::Ban(banned) => {
            ctx.storage.set_banned(user_id, banned).await?;
            texts.user_banned(user_id, banned)
        }
    };
    tracing::info!(admin = sender_id(&msg), user_id, "user access changed");
    reply(&bot, &ctx, &msg, answer).await?;
    Ok(())
}

pub async fn allow_group(bot: Bot, msg: Message, ctx: Arc<BotContext>) -> HandlerResult {
    let texts = ctx.remember_admin(&msg).await;
    let answer = if msg.chat.is_private() {
        texts.allowgroup_only_in_groups()
    } else {
        ctx.storage.allow_group(msg.chat.id.0, sender_id(&msg)).await?;
        tracing::info!(admin = sender_id(&msg), chat_id = msg.chat.id.0, "group allowed");
        texts.group_allowed()
    };
    reply(&bot, &ctx, &msg, answer).await?;
    Ok(())
}

/// `/quota <user> <n>` sets, `/quota <user> default` resets, `/quota <user>` shows; as a reply to
/// the user's message, `<user>` is left out.
pub async fn quota(bot: Bot, msg: Message, ctx: Arc<BotContext>, args: String) -> HandlerResult {
    let texts = ctx.remember_admin(&msg).await;
    let mut words: Vec<&str> = args.split_whitespace().collect();
    let replied = replied_message(&msg).and_then(|m| m.from.as_ref()).is_some();
    let user_arg = if replied || words.is_empty() {
        ""
    } else {
        words.remove(0)
    };
    let user_id = match target(&msg, &ctx, user_arg).await? {
        Target::User(id) => id,
        Target::Unknown(input) => {
            reply(&bot, &ctx, &msg, texts.unknown_user(&input)).await?;
            return Ok(());
        }
        Target::Missing => {
            reply(&bot, &ctx, &msg, texts.usage(AdminUsage::Quota)).await?;
            return Ok(());
        }
        Target::Anonymous => {
            reply(&bot, &ctx, &msg, texts.target_anonymous()).await?;
            return Ok(());
        }
    };
    let answer = match words.as_slice() {
        [] => {
            let (used, limit) = pool_quota(&ctx, user_id).await?;
            texts.quota_show(user_id, used, limit)
        }
        ["default"] => {
            ctx.storage.set_daily_quota(user_id, None).await?;
            texts.quota_set(user_id, ctx.service.limits().pool_daily_quota)
        }
        [n] => match n.parse::<i64>() {
            Ok(n) if n >= 0 => {
                ctx.storage.set_daily_quota(user_id, Some(n)).await?;
                texts.quota_set(user_id, n)
            }
            _ => texts.usage(AdminUsage::Quota),
        },
        _ => texts.usage(AdminUsage::Quota),
    };
    reply(&bot, &ctx, &msg, answer).await?;
    Ok(())
}

/// Refreshes the pool's credits from PixVerse first, off the update path (see `in_background`).
pub async fn stats(bot: Bot, msg: Message, me: Me, ctx: Arc<BotContext>) -> HandlerResult {
    in_background("stats", report_stats(bot, msg, me, ctx));
    Ok(())
}

async fn report_stats(bot: Bot, msg: Message, me: Me, ctx: Arc<BotContext>) -> HandlerResult {
    let texts = ctx.remember_admin(&msg).await;
    refresh_credits(&ctx).await;
    let now = now_ms();
    let stats = ctx.storage.stats(utc_day_start(now), now).await?;
    let accounts = ctx.storage.pool_accounts().await?;
    let lines: Vec<PoolLine<'_>> = accounts.iter().map(super::pool::line).collect();
    answer_in_private(&bot, &ctx, &msg, &me, texts, texts.stats(&stats, &lines)).await
}

pub async fn tasks(bot: Bot, msg: Message, me: Me, ctx: Arc<BotContext>, arg: String) -> HandlerResult {
    let texts = ctx.remember_admin(&msg).await;
    let user = match target(&msg, &ctx, arg.trim()).await? {
        Target::User(id) => Some(id),
        Target::Missing => None,
        Target::Unknown(input) => {
            reply(&bot, &ctx, &msg, texts.unknown_user(&input)).await?;
            return Ok(());
        }
        Target::Anonymous => {
            reply(&bot, &ctx, &msg, texts.target_anonymous()).await?;
            return Ok(());
        }
    };
    let rows = ctx
        .storage
        .recent_tasks(user.map(UserId), None, TASKS_SHOWN)
        .await?;
    let accounts = ctx.storage.pool_accounts().await?;
    let now = now_ms();
    let lines: Vec<AdminTaskLine<'_>> = rows
        .iter()
        .map(|t| AdminTaskLine {
            id: t.id.0,
            user_id: t.user_id.0,
            state: t.state,
            account: match (t.credential_id, t.pool_account_id) {
                (Some(_), _) => "own",
                (None, Some(id)) => accounts
                    .iter()
                    .find(|a| a.id == id.0)
                    .map_or("pool", |a| a.name.as_str()),
                (None, None) => "pool",
            },
            prompt: &t.prompt,
            age: Duration::from_millis((now - t.created_at).max(0) as u64),
            last_error: t.last_error.as_deref(),
        })
        .collect();
    answer_in_private(&bot, &ctx, &msg, &me, texts, texts.tasks_list(&lines)).await
}

/// Answers `msg` with `text`, which shows other users' data: in a private chat as a reply; asked
/// in a group, in the admin's private chat, with a short note in the group.
pub(super) async fn answer_in_private(
    bot: &Bot,
    ctx: &BotContext,
    msg: &Message,
    me: &Me,
    texts: &dyn AdminTexts,
    text: String,
) -> HandlerResult {
    if msg.chat.is_private() {
        reply(bot, ctx, msg, text).await?;
        return Ok(());
    }
    let private = Place::private_chat(sender_id(msg));
    let note = match send_text(bot, &ctx.cooldowns, private, text, None, Late::SendLater).await {
        Ok(_) => texts.answered_in_private(),
        Err(e) => {
            tracing::info!(error = %e, "could not answer an admin in their private chat");
            texts.answer_only_in_private(me.username())
        }
    };
    reply(bot, ctx, msg, note).await?;
    Ok(())
}

/// Stops tracking a task: it ends as failed ("cancelled by admin") and its owner is told. A step
/// the worker is running at this very moment may still finish (e.g. deliver the video).
pub async fn cancel(bot: Bot, msg: Message, ctx: Arc<BotContext>, arg: String) -> HandlerResult {
    let texts = ctx.remember_admin(&msg).await;
    let Ok(task_id) = arg.trim().trim_start_matches('#').parse::<i64>() else {
        reply(&bot, &ctx, &msg, texts.usage(AdminUsage::Cancel)).await?;
        return Ok(());
    };
    let Some(task) = ctx
        .storage
        .cancel_task(TaskId(task_id), "cancelled by admin")
        .await?
    else {
        reply(&bot, &ctx, &msg, texts.cancel_not_found(task_id)).await?;
        return Ok(());
    };
    // Its generation slot may have freed: the tasks waiting for it are due now.
    ctx.wake_worker.notify_one();
    tracing::info!(admin = sender_id(&msg), task_id, "task cancelled by an admin");
    let owner = owner_texts(&ctx.storage, task.user_id.0).await;
    let told = Place::of_request(
        task.chat_id.0,
        task.thread_id.map(|id| id as i32),
        task.request_message_id as i32,
    )
    .message(&bot, owner.cancelled_by_admin(task_id))
    .await;
    if let Err(e) = told {
        tracing::warn!(task_id, error = %e, "could not tell the owner about the cancel");
    }
    reply(&bot, &ctx, &msg, texts.cancel_done(task_id)).await?;
    Ok(())
}

/// Sends the announcement from a spawned task (the admin's chat is not blocked meanwhile), one
/// broadcast at a time, and reports the count to the admin when done. It is not resumed after a
/// restart, and the admin is told so when it starts.
pub async fn broadcast(bot: Bot, msg: Message, ctx: Arc<BotContext>, text: String) -> HandlerResult {
    let texts = ctx.remember_admin(&msg).await;
    let text = text.trim().to_owned();
    if text.is_empty() {
        reply(&bot, &ctx, &msg, texts.usage(AdminUsage::Broadcast)).await?;
        return Ok(());
    }
    let Some(running) = BroadcastRunning::take(&ctx.broadcasting) else {
        reply(&bot, &ctx, &msg, texts.broadcast_busy()).await?;
        return Ok(());
    };
    let mut recipients = ctx.storage.broadcast_recipients().await?;
    let storage = ctx.storage.clone();
    let admin_chat = msg.chat.id;
    // The admin's own copy last, so it does not follow the start notice in the same second.
    recipients.sort_by_key(|(user_id, _)| *user_id == admin_chat.0);
    tracing::info!(
        admin = sender_id(&msg),
        recipients = recipients.len(),
        "broadcast started"
    );
    if let Err(e) = reply(&bot, &ctx, &msg, texts.broadcast_started(recipients.len())).await {
        tracing::warn!(error = %e, "could not tell the admin the broadcast started");
    }
    let notice_at = tokio::time::Instant::now();
    tokio::spawn(async move {
        let own_copy = OwnCopy {
            chat: admin_chat,
            not_before: notice_at + SAME_CHAT_GAP,
        };
        let (sent, skipped) = send_broadcast(&bot, &storage, &recipients, &text, own_copy).await;
        drop(running);
        tracing::info!(sent, skipped, "broadcast done");
        // The report follows the admin's own copy, the last message sent.
        tokio::time::sleep(SAME_CHAT_GAP).await;
        if let Err(e) = bot
            .send_message(admin_chat, texts.broadcast_done(sent, skipped))
            .await
        {
            tracing::warn!(error = %e, "could not report the broadcast");
        }
    });
    Ok(())
}

/// The admin's own copy of a broadcast: not sent before `not_before` (their chat just got the
/// start notice).
struct OwnCopy {
    chat: ChatId,
    not_before: tokio::time::Instant,
}

/// The one broadcast being sent: taken from the flag, given back when dropped.
struct BroadcastRunning(Arc<AtomicBool>);

impl BroadcastRunning {
    fn take(flag: &Arc<AtomicBool>) -> Option<BroadcastRunning> {
        (!flag.swap(true, Ordering::AcqRel)).then(|| BroadcastRunning(flag.clone()))
    }
}

impl Drop for BroadcastRunning {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

/// One message per recipient, at most 8 a second (see [`BROADCAST_GAP`]), waiting out Telegram's RetryAfter. Users who
/// blocked the bot are skipped and remembered. Returns (sent, skipped).
async fn send_broadcast(
    bot: &Bot,
    storage: &Storage,
    recipients: &[(i64, Option<String>)],
    text: &str,
    own_copy: OwnCopy,
) -> (usize, usize) {
    let (mut sent, mut skipped) = (0, 0);
    let mut pace = tokio::time::interval(BROADCAST_GAP);
    for (user_id, language) in recipients {
        if *user_id == own_copy.chat.0 {
            tokio::time::sleep_until(own_copy.not_before).await;
        }
        let message = admin_texts(Lang::from_code(language.as_deref())).announcement(text);
        let mut retries = 0;
        loop {
            pace.tick().await;
            match bot.send_message(ChatId(*user_id), message.clone()).await {
                Ok(_) => sent += 1,
                Err(RequestError::RetryAfter(wait)) if retries < 3 => {
                    retries += 1;
                    tokio::time::sleep(wait.duration()).await;
                    continue;
                }
                Err(RequestError::Api(
                    ApiError::BotBlocked | ApiError::UserDeactivated | ApiError::ChatNotFound,
                )) => {
                    skipped += 1;
                    if let Err(e) = storage.mark_user_blocked(*user_id).await {
                        tracing::warn!(error = %e, "could not record a blocked user");
                    }
                }
                Err(e) => {
                    skipped += 1;
                    tracing::warn!(user_id, error = %e, "broadcast message failed");
                }
            }
            break;
        }
    }
    (sent, skipped)
}

/// Whom an admin command is about.
enum Target {
    User(i64),
    /// An `@username` (or word) we have never seen.
    Unknown(String),
    /// No argument and not a reply.
    Missing,
    /// A placeholder (a reply to a message sent as the group or a channel): thousands of people
    /// share that id, so no admin decision may fall on it.
    Anonymous,
}

/// The user named by `arg` (a numeric id or `@username`), or by the message replied to.
async fn target(msg: &Message, ctx: &BotContext, arg: &str) -> anyhow::Result<Target> {
    let arg = arg.split_whitespace().next().unwrap_or_default();
    if arg.is_empty() {
        return Ok(match replied_message(msg) {
            Some(replied) if replied.sender_chat.is_some() => Target::Anonymous,
            Some(replied) => match &replied.from {
                Some(user) if is_placeholder(user.id.0 as i64) => Target::Anonymous,
                Some(user) => Target::User(user.id.0 as i64),
                None => Target::Missing,
            },
            None => Target::Missing,
        });
    }
    if let Ok(id) = arg.parse::<i64>() {
        return Ok(if is_placeholder(id) {
            Target::Anonymous
        } else {
            Target::User(id)
        });
    }
    Ok(match ctx.storage.user_id_by_username(arg).await? {
        Some(id) => Target::User(id),
        None => Target::Unknown(arg.to_owned()),
    })
}

async fn owner_texts(storage: &Storage, user_id: i64) -> &'static dyn AdminTexts {
    admin_texts(lang_of_user(storage, user_id).await)
}
