//! Connecting a PixVerse account (/login, /apikey), disconnecting it (/logout) and /balance.
//!
//! The message carrying a password or key is deleted as soon as it has been read, in private
//! chats and groups alike; in a group nothing from it is used or stored.

use std::sync::Arc;

use secrecy::SecretString;
use teloxide::{prelude::*, types::Me};

use super::{reply, say};
use crate::{
    bot::{BotContext, HandlerResult, in_background, sender_id},
    domain::UserId,
    pixverse::{self, ErrorKind},
    storage::CredentialKind,
    texts::{Texts, admin::admin_texts},
};

/// Checked with PixVerse off the update path (see `in_background`).
pub async fn login(bot: Bot, msg: Message, me: Me, ctx: Arc<BotContext>, args: String) -> HandlerResult {
    in_background("login", check_login(bot, msg, me, ctx, args));
    Ok(())
}

async fn check_login(bot: Bot, msg: Message, me: Me, ctx: Arc<BotContext>, args: String) -> HandlerResult {
    let Some(texts) = take_secret_message(&bot, &msg, &me, &ctx).await? else {
        return Ok(());
    };
    // The password is everything after the username, so it may contain spaces.
    let Some((username, password)) = args.trim().split_once(char::is_whitespace) else {
        say(&bot, &ctx, &msg, texts.login_usage()).await?;
        return Ok(());
    };
    let password = SecretString::from(password.trim().to_owned());
    let answer = match ctx.pixverse.login(username, &password).await {
        Ok(login) => {
            ctx.storage
                .save_credential(
                    sender_id(&msg),
                    CredentialKind::Web,
                    &login.username,
                    &login.token,
                    login.expires_at.map(|s| s * 1000),
                )
                .await?;
            resume_held_tasks(&ctx, sender_id(&msg)).await?;
            tracing::info!(user_id = sender_id(&msg), "web account connected");
            texts.login_ok(&login.username)
        }
        Err(e) => refusal(texts, &e, texts.login_wrong_credentials()),
    };
    say(&bot, &ctx, &msg, answer).await?;
    Ok(())
}

/// Checked with PixVerse off the update path (see `in_background`).
pub async fn apikey(bot: Bot, msg: Message, me: Me, ctx: Arc<BotContext>, args: String) -> HandlerResult {
    in_background("apikey", check_apikey(bot, msg, me, ctx, args));
    Ok(())
}

async fn check_apikey(bot: Bot, msg: Message, me: Me, ctx: Arc<BotContext>, args: String) -> HandlerResult {
    let Some(texts) = take_secret_message(&bot, &msg, &me, &ctx).await? else {
        return Ok(());
    };
    let key = args.trim();
    if key.is_empty() || key.contains(char::is_whitespace) {
        say(&bot, &ctx, &msg, texts.apikey_usage()).await?;
        return Ok(());
    }
    let key = SecretString::from(key.to_owned());
    // A balance call is the cheapest way to learn whether PixVerse accepts the key.
    let answer = match ctx
        .pixverse
        .balance(&pixverse::Credential::ApiKey(key.clone()))
        .await
    {
        Ok(_) => {
            let label = key_label(&key);
            ctx.storage
                .save_credential(sender_id(&msg), CredentialKind::ApiKey, &label, &key, None)
                .await?;
            resume_held_tasks(&ctx, sender_id(&msg)).await?;
            tracing::info!(user_id = sender_id(&msg), "api key connected");
            texts.apikey_ok(&label)
        }
        Err(e) => refusal(texts, &e, texts.apikey_invalid()),
    };
    say(&bot, &ctx, &msg, answer).await?;
    Ok(())
}

pub async fn logout(bot: Bot, msg: Message, ctx: Arc<BotContext>) -> HandlerResult {
    let texts = ctx.remember_sender(&msg).await;
    let answer = if ctx.storage.delete_credential_of_user(sender_id(&msg)).await? {
        texts.logout_done()
    } else {
        texts.logout_nothing()
    };
    reply(&bot, &ctx, &msg, answer).await?;
    Ok(())
}

/// Asks PixVerse off the update path (see `in_background`).
pub async fn balance(bot: Bot, msg: Message, ctx: Arc<BotContext>) -> HandlerResult {
    in_background("balance", check_balance(bot, msg, ctx));
    Ok(())
}

async fn check_balance(bot: Bot, msg: Message, ctx: Arc<BotContext>) -> HandlerResult {
    let texts = ctx.remember_sender(&msg).await;
    let (source, credential) = match ctx.storage.credential_of_user(sender_id(&msg)).await? {
        // The account's name (a web login's e-mail) is for the owner's eyes only.
        Some(own) if msg.chat.is_private() => (own.label.clone(), own.to_pixverse()),
        Some(own) => (texts.balance_own_account().to_owned(), own.to_pixverse()),
        None if ctx.storage.pool_is_empty().await? => {
            reply(&bot, &ctx, &msg, texts.need_account()).await?;
            return Ok(());
        }
        None => {
            // On the shared pool what counts is the user's quota, not the accounts' credits.
            let (used, limit) = super::access::pool_quota(&ctx, sender_id(&msg)).await?;
            let answer = admin_texts(texts.lang()).quota_left(
                (limit - used).max(0),
                limit,
                super::access::quota_resets_in(),
            );
            reply(&bot, &ctx, &msg, answer).await?;
            return Ok(());
        }
    };
    let answer = match ctx.pixverse.balance(&credential).await {
        Ok(b) => texts.balance(&source, b.daily, b.monthly, b.package),
        Err(e) if e.kind() == ErrorKind::CredentialInvalid => texts.reconnect_account(),
        Err(e) => {
            tracing::warn!(error = %e, "balance failed");
            texts.pixverse_unreachable()
        }
    };
    reply(&bot, &ctx, &msg, answer).await?;
    Ok(())
}

/// Tasks that waited for this user to log in again go on now (with the new credential).
async fn resume_held_tasks(ctx: &BotContext, user_id: i64) -> anyhow::Result<()> {
    if ctx.storage.wake_tasks_waiting_for_login(UserId(user_id)).await? > 0 {
        ctx.wake_worker.notify_one();
    }
    Ok(())
}

/// Deletes the message that carries a secret. Returns the texts to answer with in a private chat;
/// `None` in a group, where the user was told to come to a private chat instead.
async fn take_secret_message(
    bot: &Bot,
    msg: &Message,
    me: &Me,
    ctx: &BotContext,
) -> anyhow::Result<Option<&'static dyn Texts>> {
    let texts = ctx.remember_sender(msg).await;
    if let Err(e) = bot.delete_message(msg.chat.id, msg.id).await {
        // In a group the bot may lack the right to delete; the warning below still goes out.
        tracing::warn!(error = %e, "could not delete a message carrying a secret");
    }
    if msg.chat.is_private() {
        Ok(Some(texts))
    } else {
        say(bot, ctx, msg, texts.secret_only_in_private(me.username())).await?;
        Ok(None)
    }
}

/// The answer when PixVerse refuses or fails a credential check.
fn refusal(texts: &dyn Texts, error: &pixverse::PixverseError, refused: String) -> String {
    match error.kind() {
        ErrorKind::CredentialInvalid | ErrorKind::BadRequest => refused,
        _ => {
            tracing::warn!(error = %error, "PixVerse did not answer a credential check");
            texts.pixverse_unreachable()
        }
    }
}

/// `…abcd`: enough for the owner to recognise the key, useless to anyone else.
fn key_label(key: &SecretString) -> String {
    use secrecy::ExposeSecret;
    let key = key.expose_secret();
    let tail: String = key
        .chars()
        .rev()
        .take(4)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    format!("API key …{tail}")
}
