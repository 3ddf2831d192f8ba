//! PixVerse's further modes in the chat, on a delivered video: `/extend <prompt>`,
//! `/sound <description>`, `/say <text>` and a voice message or audio file as replies to it, and
//! the ➕ Extend and 🔊 Sound buttons under it. The video's task is found by the result buttons under it; the service
//! checks that it is the requester's and finished, and runs the mode on its account.

use std::sync::Arc;

use teloxide::{prelude::*, types::MessageId};

use super::{
    buttons::{Answer, task_in_chat},
    generate::{Submitted, submit},
    reply,
};
use crate::{
    bot::{BotContext, HandlerResult, sender_id},
    domain::{AUTO_VOICE, TaskId, TaskKind},
    service::{AudioSource, Destination, ModeOrder, Spec, WorkOrder},
    telegram::{Place, handled_update, replied_message, result_task_of},
    texts::{Texts, modes::mode_texts},
};

pub async fn extend(bot: Bot, msg: Message, ctx: Arc<BotContext>, text: String) -> HandlerResult {
    on_video(bot, msg, ctx, text, TaskKind::Extend).await
}

pub async fn sound(bot: Bot, msg: Message, ctx: Arc<BotContext>, text: String) -> HandlerResult {
    on_video(bot, msg, ctx, text, TaskKind::Sound).await
}

pub async fn say(bot: Bot, msg: Message, ctx: Arc<BotContext>, text: String) -> HandlerResult {
    on_video(bot, msg, ctx, text, TaskKind::LipSync).await
}

/// A voice message or an audio file replying to one of the user's delivered videos: the video
/// speaks it. Elsewhere: in a private chat the usage, in groups nothing (people share audio).
pub async fn voice(bot: Bot, msg: Message, ctx: Arc<BotContext>) -> HandlerResult {
    let Some(source) = source_of(&msg) else {
        if msg.chat.is_private() {
            let texts = ctx.remember_sender(&msg).await;
            reply(
                &bot,
                &ctx,
                &msg,
                mode_texts(texts.lang()).mode_usage(TaskKind::LipSync),
            )
            .await?;
        }
        return Ok(());
    };
    let file = match (msg.voice(), msg.audio()) {
        (Some(voice), _) => &voice.file,
        (None, Some(audio)) => &audio.file,
        (None, None) => return Ok(()),
    };
    let texts = ctx.remember_sender(&msg).await;
    let audio = AudioSource::Telegram {
        file_id: file.id.0.clone(),
        size: u64::from(file.size),
    };
    let order = ModeOrder::LipSyncAudio { source, audio };
    // What the history shows for a spoken audio; a caption's flags still apply.
    let text = format!("{VOICE_MARK} {}", msg.caption().unwrap_or_default());
    let order = WorkOrder::mode(sender_id(&msg), destination_of(&msg), Spec::Text(text), order);
    if let Submitted::Refused(answer) = submit(&bot, &ctx, texts, order).await? {
        reply(&bot, &ctx, &msg, answer).await?;
    }
    Ok(())
}

/// The prompt of a lip-sync to an audio (the audio has no words the bot could show).
const VOICE_MARK: &str = "🎤";

/// The task of the delivered video `msg` replies to, by the result buttons under it.
fn source_of(msg: &Message) -> Option<TaskId> {
    replied_message(msg)
        .and_then(|video| video.reply_markup())
        .and_then(result_task_of)
        .map(TaskId)
}

/// A reply to the request, in its topic.
fn destination_of(msg: &Message) -> Destination {
    Destination::Telegram {
        chat_id: msg.chat.id.0,
        request_message_id: msg.id.0,
        thread_id: Place::reply_to(msg).thread_id(),
        source_update: handled_update(),
    }
}

/// A mode command: it must reply to a delivered video (found by the buttons under it).
async fn on_video(
    bot: Bot,
    msg: Message,
    ctx: Arc<BotContext>,
    text: String,
    kind: TaskKind,
) -> HandlerResult {
    let texts = ctx.remember_sender(&msg).await;
    let modes = mode_texts(texts.lang());
    let Some(source) = source_of(&msg) else {
        reply(&bot, &ctx, &msg, modes.mode_usage(kind)).await?;
        return Ok(());
    };
    let requester = sender_id(&msg);
    let mut text = text.trim().to_owned();
    if text.is_empty() && kind == TaskKind::Extend {
        // A continuation of the same scene, as the ➕ Extend button makes.
        if let Some(task) = ctx.storage.task(source).await?
            && task.user_id.0 == requester
        {
            text = task.prompt;
        }
    }
    if text.is_empty() {
        let usage = match kind {
            TaskKind::Sound => modes.describe_sound(),
            _ => modes.mode_usage(kind),
        };
        reply(&bot, &ctx, &msg, usage).await?;
        return Ok(());
    }
    let order = match kind {
        TaskKind::Sound => ModeOrder::Sound {
            source,
            keep_original_sound: false,
        },
        TaskKind::LipSync => ModeOrder::LipSync {
            source,
            speaker_id: ctx
                .storage
                .chosen_voice(requester)
                .await?
                .unwrap_or_else(|| AUTO_VOICE.to_owned()),
        },
        _ => ModeOrder::Extend { source },
    };
    let order = WorkOrder::mode(requester, destination_of(&msg), Spec::Text(text), order);
    if let Submitted::Refused(answer) = submit(&bot, &ctx, texts, order).await? {
        reply(&bot, &ctx, &msg, answer).await?;
    }
    Ok(())
}

/// ➕ Extend under a delivered video: its continuation with the same prompt and parameters (a
/// new seed), delivered as a reply to the video.
pub(super) async fn extend_button(
    bot: &Bot,
    ctx: &BotContext,
    texts: &'static dyn Texts,
    user_id: i64,
    (chat, video_message): (ChatId, MessageId),
    task_id: i64,
) -> anyhow::Result<Answer> {
    let Some(task) = task_in_chat(ctx, task_id, chat).await? else {
        return Ok(Answer::Alert(texts.button_task_not_found()));
    };
    let mut params = task.params().clone();
    params.seed = None;
    let destination = Destination::Telegram {
        chat_id: chat.0,
        request_message_id: video_message.0,
        thread_id: task.thread_id.map(|id| id as i32),
        source_update: handled_update(),
    };
    let spec = Spec::Given {
        prompt: task.prompt.clone(),
        params,
    };
    let order = WorkOrder::mode(
        user_id,
        destination,
        spec,
        ModeOrder::Extend {
            source: TaskId(task_id),
        },
    );
    Ok(match submit(bot, ctx, texts, order).await? {
        Submitted::Queued(_) => Answer::Toast(texts.button_queued()),
        Submitted::Refused(why) => Answer::Alert(why),
    })
}
