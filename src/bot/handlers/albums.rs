//! Albums in a private chat: two photos sent together with a caption make a transition from
//! the first to the second; photos the caption names (`@cat on @beach`, or `--refs cat,beach`;
//! `--bg beach` for the background) make a fusion. Telegram sends each photo of an album as its
//! own message, so the photos are kept until the album is complete, and for a day after, so
//! `/transition <prompt>` or `/fusion <prompt>` replying to the album can use them too.

use std::sync::Arc;

use teloxide::prelude::*;

use super::{
    generate::{Submitted, submit},
    reply,
};
use crate::{
    bot::{BotContext, HandlerResult, sender_id},
    domain::{AlbumRequest, ReferenceRole, TaskKind, parse_album_caption},
    service::{Destination, FusionRef, ImageSource, ModeOrder, Spec, WorkOrder},
    storage::AlbumPhoto,
    telegram::{Place, handled_update, replied_message},
    texts::{Texts, modes::mode_texts},
};

pub async fn album_photo(bot: Bot, msg: Message, ctx: Arc<BotContext>) -> HandlerResult {
    let (Some(group), Some(sizes)) = (msg.media_group_id(), msg.photo()) else {
        return Ok(());
    };
    if !msg.chat.is_private() {
        // In groups people share albums; the bot stays out of them.
        return Ok(());
    }
    let Some(largest) = sizes.iter().max_by_key(|p| (p.width * p.height, p.file.size)) else {
        return Ok(());
    };
    let photo = AlbumPhoto {
        message_id: i64::from(msg.id.0),
        user_id: sender_id(&msg),
        file_id: largest.file.id.0.clone(),
        size: i64::from(largest.file.size),
        caption: msg.caption().map(str::to_owned),
        used: false,
    };
    let chat = msg.chat.id.0;
    let photos = ctx.storage.add_album_photo(chat, &group.0, &photo).await?;
    if photos.iter().any(|p| p.used) {
        // A late photo of an album that made its request already.
        return Ok(());
    }
    let Some((captioned, caption)) = photos
        .iter()
        .find_map(|p| p.caption.as_deref().map(|c| (p.message_id, c.to_owned())))
    else {
        // The caption comes with another photo of the album (or the album waits for a reply).
        return Ok(());
    };
    let request = parse_album_caption(&caption);
    if photos.len() < request.photos() {
        return Ok(());
    }
    ctx.storage.close_album(chat, &group.0).await?;
    let texts = ctx.remember_sender(&msg).await;
    request_from_album(&bot, &ctx, &msg, texts, request, &photos, captioned as i32).await
}

/// `/transition <prompt>` replying to an album: a video from its first photo to its second.
pub async fn transition(bot: Bot, msg: Message, ctx: Arc<BotContext>, text: String) -> HandlerResult {
    on_album(bot, msg, ctx, text, TaskKind::Transition).await
}

/// `/fusion <prompt naming the photos>` replying to an album: a fusion of its photos.
pub async fn fusion(bot: Bot, msg: Message, ctx: Arc<BotContext>, text: String) -> HandlerResult {
    on_album(bot, msg, ctx, text, TaskKind::Fusion).await
}

/// A mode command replying to one of the sender's albums (any of its photos).
async fn on_album(
    bot: Bot,
    msg: Message,
    ctx: Arc<BotContext>,
    text: String,
    kind: TaskKind,
) -> HandlerResult {
    let texts = ctx.remember_sender(&msg).await;
    let photos = match replied_message(&msg).and_then(Message::media_group_id) {
        Some(group) => ctx
            .storage
            .album_photos(msg.chat.id.0, &group.0)
            .await?
            .into_iter()
            .filter(|p| p.user_id == sender_id(&msg))
            .collect(),
        None => Vec::new(),
    };
    let request = match (kind, parse_album_caption(&text)) {
        (TaskKind::Transition, _) => Some(AlbumRequest::Transition { text }),
        (_, fusion @ AlbumRequest::Fusion { .. }) => Some(fusion),
        // A fusion whose prompt names no photo.
        (_, AlbumRequest::Transition { .. }) => None,
    };
    match request {
        Some(request) if !photos.is_empty() && photos.len() >= request.photos() => {
            request_from_album(&bot, &ctx, &msg, texts, request, &photos, msg.id.0).await
        }
        _ => {
            reply(&bot, &ctx, &msg, mode_texts(texts.lang()).mode_usage(kind)).await?;
            Ok(())
        }
    }
}

/// The transition or fusion `request` asks of `photos`, answered as a reply to message
/// `request_message_id` (the captioned photo, or the command).
async fn request_from_album(
    bot: &Bot,
    ctx: &BotContext,
    msg: &Message,
    texts: &'static dyn Texts,
    request: AlbumRequest,
    photos: &[AlbumPhoto],
    request_message_id: i32,
) -> HandlerResult {
    let image = |p: &AlbumPhoto| ImageSource::Telegram {
        file_id: p.file_id.clone(),
        size: p.size.max(0) as u64,
    };
    let (text, order) = match request {
        AlbumRequest::Transition { text } => (
            text,
            ModeOrder::Transition {
                first: image(&photos[0]),
                last: image(&photos[1]),
            },
        ),
        AlbumRequest::Fusion {
            names,
            background,
            text,
        } => {
            let references = names
                .into_iter()
                .zip(photos)
                .map(|(name, photo)| FusionRef {
                    role: if background.as_ref() == Some(&name) {
                        ReferenceRole::Background
                    } else {
                        ReferenceRole::Subject
                    },
                    name,
                    image: image(photo),
                })
                .collect();
            (text, ModeOrder::Fusion { references })
        }
    };
    if text.trim().is_empty() {
        let usage = mode_texts(texts.lang()).mode_usage(order.kind());
        reply(bot, ctx, msg, usage).await?;
        return Ok(());
    }
    let destination = Destination::Telegram {
        chat_id: msg.chat.id.0,
        request_message_id,
        thread_id: Place::reply_to(msg).thread_id(),
        source_update: handled_update(),
    };
    let order = WorkOrder::mode(sender_id(msg), destination, Spec::Text(text), order);
    if let Submitted::Refused(answer) = submit(bot, ctx, texts, order).await? {
        reply(bot, ctx, msg, answer).await?;
    }
    Ok(())
}
