//! Inline buttons: every callback query lands here, is routed by its data and is always answered.
//! Under results: Again / New seed; under failures: Retry. Each creates a NEW task for the
//! presser (in groups the presser becomes the requester), replying to the original request.

use std::sync::Arc;

use teloxide::{prelude::*, types::MessageId};

use super::{
    effects,
    generate::{Submitted, submit},
    history, modes, settings, voices,
};
use crate::{
    bot::{BotContext, HandlerResult},
    domain::{Callback, TaskId, TaskState},
    service::{Admission, Destination, ImageSource, ModeOrder, Spec, WorkOrder},
    storage::TaskRow,
    telegram::{Place, handled_update},
    texts::{Texts, admin::admin_texts, modes::mode_texts, shorten},
};

/// Telegram shows at most 200 characters in a callback answer.
const MAX_ANSWER_CHARS: usize = 200;

/// How a callback query is answered.
pub(super) enum Answer {
    /// Just stop the button's spinner.
    Silent,
    /// A short notice at the top of the chat.
    Toast(String),
    /// A dialog the user dismisses: for explanations.
    Alert(String),
}

pub async fn callback(bot: Bot, query: CallbackQuery, ctx: Arc<BotContext>) -> HandlerResult {
    let in_private = query.message.as_ref().is_some_and(|m| m.chat().is_private());
    let texts = ctx.remember_user(&query.from, in_private).await;
    let result = route(&bot, &ctx, texts, &query).await;
    let answer = match &result {
        Ok(answer) => answer,
        Err(_) => &Answer::Alert(texts.internal_error()),
    };
    let mut request = bot.answer_callback_query(query.id.clone());
    match answer {
        Answer::Silent => {}
        Answer::Toast(text) => request = request.text(shorten(text, MAX_ANSWER_CHARS)),
        Answer::Alert(text) => request = request.text(shorten(text, MAX_ANSWER_CHARS)).show_alert(true),
    }
    if let Err(e) = request.await {
        tracing::debug!(error = %e, "could not answer a callback query");
    }
    result.map(|_| ())
}

async fn route(
    bot: &Bot,
    ctx: &Arc<BotContext>,
    texts: &'static dyn Texts,
    query: &CallbackQuery,
) -> anyhow::Result<Answer> {
    let user_id = query.from.id.0 as i64;
    let (Some(callback), Some(message)) = (
        query.data.as_deref().and_then(Callback::parse),
        query.message.as_ref(),
    ) else {
        return Ok(Answer::Toast(texts.button_task_not_found()));
    };
    let place = (message.chat().id, message.id());
    // Every button passes the access rule first, whatever it does: a banned user or (in
    // allowlist mode) a stranger gets one short alert and nothing happens.
    let group_chat = (!message.chat().is_private()).then_some(place.0.0);
    match ctx.service.admission(user_id, group_chat).await? {
        Admission::Admitted => {}
        Admission::Banned => return Ok(Answer::Alert(admin_texts(texts.lang()).banned())),
        Admission::NotAllowed => {
            return Ok(Answer::Alert(admin_texts(texts.lang()).not_allowed(user_id)));
        }
    }
    match callback {
        Callback::Again(id) => again(bot, ctx, texts, user_id, place, id, Kind::Again).await,
        Callback::NewSeed(id) => again(bot, ctx, texts, user_id, place, id, Kind::NewSeed).await,
        Callback::Retry(id) => again(bot, ctx, texts, user_id, place, id, Kind::Retry).await,
        Callback::Resend(id) => {
            // In the list's chat and topic.
            let at = match message.regular_message() {
                Some(list) => Place::beside(list),
                None => Place::of_request(place.0.0, None, place.1.0).without_reply(),
            };
            history::resend(bot, ctx, texts, user_id, at, id).await
        }
        Callback::Extend(id) => modes::extend_button(bot, ctx, texts, user_id, place, id).await,
        Callback::Sound(_) => Ok(Answer::Alert(mode_texts(texts.lang()).describe_sound())),
        Callback::Voice(speaker_id) => voices::on_voice(ctx, texts, user_id, &speaker_id).await,
        Callback::EffectsPage(page) => Ok(effects::on_page(bot, ctx.clone(), texts, user_id, place, page)),
        Callback::Effect(template_id) => effects::on_pick(ctx, texts, user_id, place.0, template_id).await,
        Callback::EffectCancel => effects::on_cancel(ctx, texts, user_id, place.0).await,
        Callback::Language(code) => settings::on_language(bot, ctx, user_id, place, &code).await,
        settings_tap => settings::on_settings(bot, ctx, texts, user_id, place, settings_tap).await,
    }
}

/// The task a button names, if it is a task of the chat the button is in: a button only acts
/// there (forged data gets the same answer as a task that is gone).
pub(super) async fn task_in_chat(
    ctx: &BotContext,
    task_id: i64,
    chat: ChatId,
) -> anyhow::Result<Option<TaskRow>> {
    Ok(ctx
        .storage
        .task(TaskId(task_id))
        .await?
        .filter(|task| task.chat_id.0 == chat.0))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Again,
    NewSeed,
    Retry,
}

/// A new task from the task behind the button, for the presser.
async fn again(
    bot: &Bot,
    ctx: &BotContext,
    texts: &'static dyn Texts,
    user_id: i64,
    (chat, message): (ChatId, MessageId),
    task_id: i64,
    kind: Kind,
) -> anyhow::Result<Answer> {
    let Some(task) = task_in_chat(ctx, task_id, chat).await? else {
        return Ok(Answer::Alert(texts.button_task_not_found()));
    };
    if kind == Kind::Retry && task.state != TaskState::Failed {
        return Ok(Answer::Alert(texts.button_task_not_found()));
    }
    let mut params = task.params().clone();
    // "Again" keeps a seed the user chose; a seed the bot picked is picked anew. "New seed"
    // always picks a new one.
    if kind == Kind::NewSeed || task.seed_auto {
        params.seed = None;
    }
    let order = WorkOrder {
        requester: user_id,
        destination: Destination::Telegram {
            chat_id: task.chat_id.0,
            request_message_id: task.request_message_id as i32,
            thread_id: task.thread_id.map(|id| id as i32),
            source_update: handled_update(),
        },
        kind: task.kind,
        spec: Spec::Given {
            prompt: task.prompt.clone(),
            params,
        },
        // The size was checked when the task was first accepted.
        image: task
            .image_file_id
            .clone()
            .map(|file_id| ImageSource::Telegram { file_id, size: 0 }),
        // A mode works on the same earlier video again.
        mode: task.mode_input().and_then(ModeOrder::again),
        // An effect travels in the parameters.
        effect: None,
    };
    match submit(bot, ctx, texts, order).await? {
        Submitted::Queued(new_id) => {
            tracing::info!(
                task_id = new_id,
                from_task = task.id.0,
                "task queued from a button"
            );
            if kind == Kind::Retry {
                // One retry per failure: the button goes away (best effort).
                let _ = bot.edit_message_reply_markup(chat, message).await;
            }
            Ok(Answer::Toast(texts.button_queued()))
        }
        Submitted::Refused(why) => Ok(Answer::Alert(why)),
    }
}
