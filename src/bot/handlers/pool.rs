//! `/pool`: the shared PixVerse accounts. `add` carries a secret: its message is deleted at once,
//! and in a group nothing from it is used or stored (as for /login).

use std::sync::Arc;

use secrecy::SecretString;
use teloxide::{prelude::*, types::Me};

use super::{admin::answer_in_private, reply, say};
use crate::{
    bot::{BotContext, HandlerResult, in_background, sender_id},
    pixverse::{self, ErrorKind},
    storage::{CredentialKind, PoolAccount, api_key_label},
    texts::admin::{AdminTexts, AdminUsage, PoolLine, admin_texts},
};

/// `add` and `list` talk to PixVerse: the whole command runs off the update path (see
/// `in_background`).
pub async fn pool(bot: Bot, msg: Message, me: Me, ctx: Arc<BotContext>, args: String) -> HandlerResult {
    in_background("pool", run(bot, msg, me, ctx, args));
    Ok(())
}

async fn run(bot: Bot, msg: Message, me: Me, ctx: Arc<BotContext>, args: String) -> HandlerResult {
    let user_texts = ctx.remember_sender(&msg).await;
    let texts = admin_texts(user_texts.lang());
    let words: Vec<&str> = args.split_whitespace().collect();
    if words.first() == Some(&"add") {
        // The message may hold a key or password: gone before anything else happens.
        if let Err(e) = bot.delete_message(msg.chat.id, msg.id).await {
            tracing::warn!(error = %e, "could not delete a message carrying a secret");
        }
        if !msg.chat.is_private() {
            say(&bot, &ctx, &msg, user_texts.secret_only_in_private(me.username())).await?;
            return Ok(());
        }
        let answer = add(&ctx, texts, &args).await?;
        say(&bot, &ctx, &msg, answer).await?;
        return Ok(());
    }
    let answer = match words.as_slice() {
        ["list"] => {
            refresh_credits(&ctx).await;
            let accounts = ctx.storage.pool_accounts().await?;
            let list = texts.pool_list(&accounts.iter().map(line).collect::<Vec<_>>());
            return answer_in_private(&bot, &ctx, &msg, &me, texts, list).await;
        }
        ["remove", name] => {
            if ctx.storage.remove_pool_account(name).await? {
                tracing::info!(admin = sender_id(&msg), account = %name, "pool account removed");
                texts.pool_removed(name)
            } else {
                texts.pool_not_found(name)
            }
        }
        [verb @ ("enable" | "disable"), name] => {
            let enabled = *verb == "enable";
            if ctx.storage.set_pool_account_enabled(name, enabled).await? {
                tracing::info!(admin = sender_id(&msg), account = %name, enabled, "pool account switched");
                ctx.wake_worker.notify_one();
                texts.pool_enabled(name, enabled)
            } else {
                texts.pool_not_found(name)
            }
        }
        _ => texts.usage(AdminUsage::Pool),
    };
    reply(&bot, &ctx, &msg, answer).await?;
    Ok(())
}

/// `add <name> apikey <key>` or `add <name> login <username> <password>`: checked with PixVerse
/// first; stored (sealed) only if PixVerse accepts it.
async fn add(ctx: &BotContext, texts: &'static dyn AdminTexts, args: &str) -> anyhow::Result<String> {
    let mut rest = args.trim().splitn(4, char::is_whitespace).skip(1);
    let (name, kind, secret) = (rest.next(), rest.next(), rest.next().map(str::trim));
    let valid_name = |n: &str| {
        !n.is_empty()
            && n.len() <= 32
            && n.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    };
    let (Some(name), Some(kind), Some(secret)) = (name, kind, secret) else {
        return Ok(texts.usage(AdminUsage::Pool));
    };
    if !valid_name(name) || secret.is_empty() {
        return Ok(texts.usage(AdminUsage::Pool));
    }
    let (kind, label, secret, expires_at) = match kind {
        "apikey" if !secret.contains(char::is_whitespace) => {
            let key = SecretString::from(secret.to_owned());
            let label = api_key_label(&key);
            (CredentialKind::ApiKey, label, key, None)
        }
        "login" => {
            // The password is everything after the username, so it may contain spaces.
            let Some((username, password)) = secret.split_once(char::is_whitespace) else {
                return Ok(texts.usage(AdminUsage::Pool));
            };
            let password = SecretString::from(password.trim().to_owned());
            match ctx.pixverse.login(username, &password).await {
                Ok(login) => (
                    CredentialKind::Web,
                    login.username.clone(),
                    login.token,
                    login.expires_at.map(|s| s * 1000),
                ),
                Err(e) => return Ok(refusal(texts, &e)),
            }
        }
        _ => return Ok(texts.usage(AdminUsage::Pool)),
    };
    let credential = match kind {
        CredentialKind::ApiKey => pixverse::Credential::ApiKey(secret.clone()),
        CredentialKind::Web => pixverse::Credential::WebToken(secret.clone()),
    };
    // A balance call is the cheapest way to learn whether PixVerse accepts it, and the credits.
    let credits = match ctx.pixverse.balance(&credential).await {
        Ok(b) => b.daily.unwrap_or(0) + b.monthly + b.package,
        Err(e) => return Ok(refusal(texts, &e)),
    };
    ctx.storage
        .save_pool_account(name, kind, &label, &secret, expires_at, Some(credits))
        .await?;
    tracing::info!(account = %name, "pool account added");
    ctx.wake_worker.notify_one();
    Ok(texts.pool_added(name, &label, Some(credits)))
}

/// PixVerse refused (or could not check) the credentials: nothing is stored either way.
fn refusal(texts: &dyn AdminTexts, error: &pixverse::PixverseError) -> String {
    if !matches!(error.kind(), ErrorKind::CredentialInvalid | ErrorKind::BadRequest) {
        tracing::warn!(error = %error, "PixVerse did not answer a pool credential check");
    }
    texts.pool_refused()
}

/// Asks PixVerse for the credits of every enabled account and stores them (best effort).
pub(super) async fn refresh_credits(ctx: &BotContext) {
    let Ok(accounts) = ctx.storage.pool_accounts().await else {
        return;
    };
    for account in accounts.iter().filter(|a| a.enabled) {
        match ctx.pixverse.balance(&account.to_pixverse()).await {
            Ok(b) => {
                let credits = b.daily.unwrap_or(0) + b.monthly + b.package;
                if let Err(e) = ctx.storage.set_pool_credits(account.id, credits).await {
                    tracing::warn!(error = %e, "could not store pool credits");
                }
            }
            Err(e) => tracing::info!(account = %account.name, error = %e, "pool balance check failed"),
        }
    }
}

pub(super) fn line(account: &PoolAccount) -> PoolLine<'_> {
    PoolLine {
        name: &account.name,
        label: &account.label,
        web: account.kind == CredentialKind::Web,
        status: account.status.as_str(),
        enabled: account.enabled,
        credits: account.credits,
        in_flight: account.in_flight,
        max_concurrency: account.max_concurrency,
        last_error: account.last_error.as_deref(),
    }
}
