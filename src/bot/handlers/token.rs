//! `/token` and `/token revoke` (private chat only): API tokens for the caller's own account,
//! so chat and API share one credential, history, limits and quota.

use std::sync::Arc;

use teloxide::prelude::*;

use super::reply;
use crate::{
    bot::{BotContext, HandlerResult, sender_id},
    storage::TokenSource,
    texts::api::api_texts,
};

pub async fn token(bot: Bot, msg: Message, ctx: Arc<BotContext>, args: String) -> HandlerResult {
    let texts = ctx.remember_sender(&msg).await;
    let api = api_texts(texts.lang());
    if !msg.chat.is_private() {
        // A token posted in a group is everyone's; nothing is issued or revoked there.
        reply(&bot, &ctx, &msg, api.token_only_in_private()).await?;
        return Ok(());
    }
    let user_id = sender_id(&msg);
    let answer = match args.trim().to_lowercase().as_str() {
        "" => {
            let token = ctx
                .storage
                .issue_api_token(user_id, TokenSource::Telegram)
                .await?;
            tracing::info!(user_id, "API token issued in the chat");
            api.token_issued(&token.0)
        }
        "revoke" => {
            let count = ctx.storage.revoke_api_tokens(user_id).await?;
            tracing::info!(user_id, count, "API tokens revoked in the chat");
            api.tokens_revoked(count)
        }
        _ => api.token_usage(),
    };
    reply(&bot, &ctx, &msg, answer).await?;
    Ok(())
}
