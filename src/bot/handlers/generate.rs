//! /t2v, /i2v and captioned photos: validate, store a queued task, answer at once.

use std::sync::Arc;

use teloxide::{prelude::*, types::MessageId};

use super::{reply, reply_to};
use crate::{
    bot::{BotContext, HandlerResult, sender_id},
    domain::{
        self, CredentialId, GenerationParams, MAX_PROMPT_CHARS, MAX_SEED, PromptError, RequestError,
        TaskKind, UserId, parse_request,
    },
    storage::{AcceptFacts, NewTask, now_ms, utc_day_start},
    texts::Texts,
};

/// Telegram's `getFile` serves at most 20 MB, and PixVerse takes images below 20 MB.
pub const MAX_IMAGE_BYTES: u64 = 20 * 1024 * 1024;

/// An image found in (or replied to by) a request.
struct Image {
    file_id: String,
    size: u64,
}

pub async fn t2v(bot: Bot, msg: Message, ctx: Arc<BotContext>, text: String) -> HandlerResult {
    let texts = ctx.remember_sender(&msg).await;
    if text.trim().is_empty() {
        reply(&bot, &msg, texts.t2v_usage()).await?;
        return Ok(());
    }
    accept(&bot, &msg, &ctx, texts, TaskKind::T2v, &text, None).await
}

pub async fn i2v(bot: Bot, msg: Message, ctx: Arc<BotContext>, text: String) -> HandlerResult {
    let texts = ctx.remember_sender(&msg).await;
    let image = match image_of(&msg).or_else(|| msg.reply_to_message().and_then(image_of)) {
        Some(Ok(image)) => image,
        Some(Err(ImageProblem::NotAnImage)) => {
            reply(&bot, &msg, texts.not_an_image()).await?;
            return Ok(());
        }
        None => {
            reply(&bot, &msg, texts.i2v_usage()).await?;
            return Ok(());
        }
    };
    if text.trim().is_empty() {
        reply(&bot, &msg, texts.photo_needs_caption()).await?;
        return Ok(());
    }
    accept(&bot, &msg, &ctx, texts, TaskKind::I2v, &text, Some(image)).await
}

/// A photo or document that is not a command. In private chats its caption is the prompt; in
/// groups only `/i2v` counts, so the bot does not animate every photo people share.
pub async fn media(bot: Bot, msg: Message, ctx: Arc<BotContext>) -> HandlerResult {
    if !msg.chat.is_private() {
        return Ok(());
    }
    let texts = ctx.remember_sender(&msg).await;
    match (image_of(&msg), msg.caption()) {
        (Some(Err(ImageProblem::NotAnImage)) | None, _) => {
            reply(&bot, &msg, texts.not_an_image()).await?;
        }
        (Some(Ok(_)), None) => {
            reply(&bot, &msg, texts.photo_needs_caption()).await?;
        }
        (Some(Ok(image)), Some(caption)) => {
            accept(&bot, &msg, &ctx, texts, TaskKind::I2v, caption, Some(image)).await?;
        }
    }
    Ok(())
}

enum ImageProblem {
    NotAnImage,
}

/// The largest size of a photo, or a document that is an image.
fn image_of(msg: &Message) -> Option<Result<Image, ImageProblem>> {
    if let Some(sizes) = msg.photo() {
        let largest = sizes.iter().max_by_key(|p| (p.width * p.height, p.file.size))?;
        return Some(Ok(Image {
            file_id: largest.file.id.0.clone(),
            size: u64::from(largest.file.size),
        }));
    }
    let document = msg.document()?;
    let is_image = document
        .mime_type
        .as_ref()
        .is_some_and(|m| matches!(m.essence_str(), "image/jpeg" | "image/png" | "image/webp"));
    Some(if is_image {
        Ok(Image {
            file_id: document.file.id.0.clone(),
            size: u64::from(document.file.size),
        })
    } else {
        Err(ImageProblem::NotAnImage)
    })
}

/// Validates the request over the user's saved settings, stores it as a queued task, wakes the
/// worker and answers.
async fn accept(
    bot: &Bot,
    msg: &Message,
    ctx: &BotContext,
    texts: &'static dyn Texts,
    kind: TaskKind,
    text: &str,
    image: Option<Image>,
) -> HandlerResult {
    let user_id = sender_id(msg);
    let settings = ctx.storage.settings_of(user_id).await?;
    let (prompt, params) = match parse_request(text, &settings) {
        Ok(parsed) => parsed,
        Err(error) => {
            let answer = match error {
                RequestError::Prompt(PromptError::Empty) if kind == TaskKind::I2v => {
                    texts.photo_needs_caption()
                }
                RequestError::Prompt(PromptError::Empty) => texts.t2v_usage(),
                RequestError::Prompt(PromptError::TooLong { chars }) => {
                    texts.prompt_too_long(chars, MAX_PROMPT_CHARS)
                }
                RequestError::Param(error) => texts.param_error(&error),
            };
            reply(bot, msg, answer).await?;
            return Ok(());
        }
    };
    if let Some(image) = &image
        && image.size > MAX_IMAGE_BYTES
    {
        reply(bot, msg, texts.image_too_large(MAX_IMAGE_BYTES / 1024 / 1024)).await?;
        return Ok(());
    }
    let request = Request {
        user_id,
        chat_id: msg.chat.id.0,
        request_message_id: msg.id.0,
        kind,
        prompt: prompt.into_inner(),
        params,
        image_file_id: image.map(|i| i.file_id),
    };
    if let Enqueued::Refused(answer) = enqueue(bot, ctx, texts, request).await? {
        reply(bot, msg, answer).await?;
    }
    Ok(())
}

/// The per-user limits: tasks in flight, and tasks per rolling hour. `Some(reply)` when over.
fn over_limit(ctx: &BotContext, texts: &'static dyn Texts, facts: &AcceptFacts, now: i64) -> Option<String> {
    if facts.in_flight >= i64::from(ctx.user_max_in_flight) {
        return Some(texts.too_many_in_flight(ctx.user_max_in_flight));
    }
    if facts.last_hour >= i64::from(ctx.user_max_per_hour) {
        // A slot frees when the oldest task of the window leaves it.
        let minutes = (facts.oldest_in_hour.unwrap_or_default() + HOUR_MS - now).max(60_000) / 60_000;
        return Some(texts.hourly_limit(ctx.user_max_per_hour, minutes));
    }
    None
}

const HOUR_MS: i64 = 60 * 60 * 1000;

/// A validated request, from a message or from a button under an earlier result.
pub(crate) struct Request {
    pub user_id: i64,
    pub chat_id: i64,
    /// The message the progress message and the video reply to.
    pub request_message_id: i32,
    pub kind: TaskKind,
    pub prompt: String,
    /// `seed: None` means "any": the bot picks one, so the caption can show it.
    pub params: GenerationParams,
    pub image_file_id: Option<String>,
}

pub(crate) enum Enqueued {
    Queued(i64),
    /// Not queued; the text says why (no account, expired login).
    Refused(String),
}

/// Stores `request` as a queued task with the requester's credential, replies to the request
/// message with a progress message and wakes the worker.
pub(crate) async fn enqueue(
    bot: &Bot,
    ctx: &BotContext,
    texts: &'static dyn Texts,
    request: Request,
) -> anyhow::Result<Enqueued> {
    let Request {
        user_id,
        chat_id,
        request_message_id,
        kind,
        prompt,
        mut params,
        image_file_id,
    } = request;
    // Limits, credential and quota in one statement (they were seven): see `storage/accept.rs`.
    let now = now_ms();
    let facts = ctx
        .storage
        .accept_facts(user_id, now - HOUR_MS, utc_day_start(now))
        .await?;
    if let Some(refusal) = over_limit(ctx, texts, &facts, now) {
        return Ok(Enqueued::Refused(refusal));
    }
    // The user's own account comes first; without one, the shared pool (within the quota). The
    // pool account itself is chosen by the worker at submit time.
    let credential_id = match facts.credential_id {
        Some(own) if facts.credential_usable(now) => Some(own),
        Some(_expired_or_refused) => return Ok(Enqueued::Refused(texts.reconnect_account())),
        None if facts.pool_is_empty => return Ok(Enqueued::Refused(texts.need_account())),
        None if ctx.is_admin(user_id) => None,
        None => {
            let limit = facts.daily_quota.unwrap_or(ctx.pool_daily_quota);
            match super::access::quota_refusal_of(facts.pool_used_today, limit, texts.lang()) {
                Some(over) => return Ok(Enqueued::Refused(over)),
                None => None,
            }
        }
    };
    // A seed we pick is a seed we can show; PixVerse would pick one at random anyway.
    let seed_auto = params.seed.is_none();
    if seed_auto {
        params.seed = Some(rand::random::<u32>() % (MAX_SEED + 1));
    }

    let task = NewTask {
        user_id: UserId(user_id),
        chat_id: domain::ChatId(chat_id),
        request_message_id,
        kind,
        prompt,
        params,
        image_file_id,
        credential_id: credential_id.map(CredentialId),
        seed_auto,
    };
    // Crash story: the task is stored before anything is said, so a crash from here on loses
    // nothing; at worst the user sees no "queued" message but still gets the video. The worker
    // is woken only once the progress message exists, so its first edits have a message to edit.
    // `seed_auto` is stored with the row (one statement, no window between the two).
    let task_id = ctx.storage.insert_task(&task).await?;
    tracing::info!(
        task_id = task_id.0,
        user_id,
        kind = kind.as_str(),
        "task accepted"
    );
    let progress = reply_to(
        bot,
        ChatId(chat_id),
        MessageId(request_message_id),
        texts.queued(),
    )
    .await;
    if let Ok(progress) = &progress {
        ctx.storage.set_progress_message(task_id, progress.id.0).await?;
    }
    ctx.wake_worker.notify_one();
    progress?;
    Ok(Enqueued::Queued(task_id.0))
}
