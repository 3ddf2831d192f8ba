//! /t2v, /i2v and captioned photos: hand the request to the service, answer at once.

use std::sync::Arc;

use teloxide::prelude::*;

use super::access::word_refusal;
use super::reply;
use crate::{
    bot::{BotContext, HandlerResult, sender_id},
    domain::{TaskId, TaskKind},
    service::{AcceptError, Destination, ImageSource, Spec, WorkOrder},
    storage::EffectTemplateRow,
    telegram::{Late, Place, Sent, handled_update, replied_message, send_text},
    texts::Texts,
};

/// An image found in (or replied to by) a request.
struct Image {
    file_id: String,
    size: u64,
}

pub async fn t2v(bot: Bot, msg: Message, ctx: Arc<BotContext>, text: String) -> HandlerResult {
    let texts = ctx.remember_sender(&msg).await;
    if text.trim().is_empty() {
        reply(&bot, &ctx, &msg, texts.t2v_usage()).await?;
        return Ok(());
    }
    accept(&bot, &msg, &ctx, texts, TaskKind::T2v, &text, None).await
}

pub async fn i2v(bot: Bot, msg: Message, ctx: Arc<BotContext>, text: String) -> HandlerResult {
    let texts = ctx.remember_sender(&msg).await;
    let image = match image_of(&msg).or_else(|| replied_message(&msg).and_then(image_of)) {
        Some(Ok(image)) => image,
        Some(Err(ImageProblem::NotAnImage)) => {
            reply(&bot, &ctx, &msg, texts.not_an_image()).await?;
            return Ok(());
        }
        None => {
            reply(&bot, &ctx, &msg, texts.i2v_usage()).await?;
            return Ok(());
        }
    };
    let effect = pending_effect(&ctx, &msg).await?;
    if text.trim().is_empty() && effect.is_none() {
        reply(&bot, &ctx, &msg, texts.photo_needs_caption()).await?;
        return Ok(());
    }
    accept_image(&bot, &msg, &ctx, texts, &text, image, effect).await
}

/// The effect the sender picked in this chat with /effects, if it is still pending.
async fn pending_effect(ctx: &BotContext, msg: &Message) -> anyhow::Result<Option<EffectTemplateRow>> {
    Ok(ctx.storage.pending_effect(msg.chat.id.0, sender_id(msg)).await?)
}

/// An i2v, with the sender's picked effect if any: then the text may be empty (the effect's
/// name is the prompt PixVerse requires), and the pick is used up once the task is queued.
async fn accept_image(
    bot: &Bot,
    msg: &Message,
    ctx: &BotContext,
    texts: &'static dyn Texts,
    text: &str,
    image: Image,
    effect: Option<EffectTemplateRow>,
) -> HandlerResult {
    let Some(effect) = effect else {
        return accept(bot, msg, ctx, texts, TaskKind::I2v, text, Some(image)).await;
    };
    let text = if text.trim().is_empty() {
        &effect.name
    } else {
        text
    };
    let mut order = work_order(msg, TaskKind::I2v, text, Some(image));
    order.effect = Some(effect.template_id);
    match submit(bot, ctx, texts, order).await? {
        Submitted::Queued(_) => {
            ctx.storage
                .clear_effect_pick(msg.chat.id.0, sender_id(msg))
                .await?;
        }
        Submitted::Refused(answer) => {
            reply(bot, ctx, msg, answer).await?;
        }
    }
    Ok(())
}

/// A photo or document that is not a command. In private chats its caption is the prompt; in
/// groups only `/i2v` counts, so the bot does not animate every photo people share, unless
/// the sender picked an effect there (/effects) for their next photo.
pub async fn media(bot: Bot, msg: Message, ctx: Arc<BotContext>) -> HandlerResult {
    let effect = pending_effect(&ctx, &msg).await?;
    if !msg.chat.is_private() && effect.is_none() {
        return Ok(());
    }
    let texts = ctx.remember_sender(&msg).await;
    match (image_of(&msg), msg.caption(), effect) {
        (Some(Err(ImageProblem::NotAnImage)) | None, _, _) => {
            reply(&bot, &ctx, &msg, texts.not_an_image()).await?;
        }
        (Some(Ok(_)), None, None) => {
            reply(&bot, &ctx, &msg, texts.photo_needs_caption()).await?;
        }
        (Some(Ok(image)), caption, effect) => {
            let caption = caption.unwrap_or_default();
            accept_image(&bot, &msg, &ctx, texts, caption, image, effect).await?;
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

/// Hands the request to the service and answers: a progress message, or the refusal.
async fn accept(
    bot: &Bot,
    msg: &Message,
    ctx: &BotContext,
    texts: &'static dyn Texts,
    kind: TaskKind,
    text: &str,
    image: Option<Image>,
) -> HandlerResult {
    let order = work_order(msg, kind, text, image);
    if let Submitted::Refused(answer) = submit(bot, ctx, texts, order).await? {
        reply(bot, ctx, msg, answer).await?;
    }
    Ok(())
}

/// The order for a request made by `msg`, answered as a reply to it.
fn work_order(msg: &Message, kind: TaskKind, text: &str, image: Option<Image>) -> WorkOrder {
    WorkOrder {
        requester: sender_id(msg),
        destination: Destination::Telegram {
            chat_id: msg.chat.id.0,
            request_message_id: msg.id.0,
            thread_id: Place::reply_to(msg).thread_id(),
            source_update: handled_update(),
        },
        kind,
        spec: Spec::Text(text.to_owned()),
        image: image.map(|i| ImageSource::Telegram {
            file_id: i.file_id,
            size: i.size,
        }),
        mode: None,
        effect: None,
    }
}

pub(crate) enum Submitted {
    Queued(i64),
    /// Not queued; the text says why, in the requester's language.
    Refused(String),
}

/// The bot's side of accepting work (messages and buttons alike): the service checks and
/// stores the task; the bot replies to the request message with a progress message, records
/// it, and only then lets the worker go (it edits that message).
pub(crate) async fn submit(
    bot: &Bot,
    ctx: &BotContext,
    texts: &'static dyn Texts,
    order: WorkOrder,
) -> anyhow::Result<Submitted> {
    let requester = order.requester;
    let Destination::Telegram {
        chat_id,
        request_message_id,
        thread_id,
        ..
    } = order.destination
    else {
        anyhow::bail!("the bot only submits work that is answered in Telegram");
    };
    let accepted = match ctx.service.accept(order).await {
        Ok(accepted) => accepted,
        Err(AcceptError::Refused(refusal)) => {
            return Ok(Submitted::Refused(word_refusal(texts, &refusal, requester)));
        }
        Err(AcceptError::Storage(e)) => return Err(e.into()),
    };
    // Crash story: the task is stored, so a crash from here on loses nothing; at worst the user
    // sees no "queued" message but still gets the video: the update's next handling finds the
    // task and answers here (or the task's hold for this answer runs out, `PROGRESS_HOLD`). Until
    // `task_answered` no worker, here or on another instance, may claim the task, so the one
    // that does has the progress message to edit; `accepted` then wakes this instance's worker
    // when it is dropped (the release wakes the others). In a chat Telegram rate-limits there
    // is no progress message: the worker then says the outcome in a new message.
    let task_id = accepted.task_id;
    if accepted.already_answered {
        return Ok(Submitted::Queued(task_id));
    }
    let place = Place::of_request(chat_id, thread_id, request_message_id);
    let progress = send_text(bot, &ctx.cooldowns, place, texts.queued(), None, Late::Skip).await;
    let progress_message_id = match &progress {
        Ok(Sent::Now(progress)) => Some(progress.0),
        _ => None,
    };
    ctx.storage
        .task_answered(TaskId(task_id), progress_message_id)
        .await?;
    drop(accepted);
    progress?;
    Ok(Submitted::Queued(task_id))
}
