//! The command menus Telegram shows beside the input field, per language and scope. Failures are
//! logged, not fatal: the bot works without a menu.

use std::collections::HashSet;

use teloxide::{
    prelude::*,
    types::{BotCommand, BotCommandScope, Recipient},
};

use crate::texts::{Lang, admin::admin_texts, texts};

/// Commands not listed in group chats: they are personal or take secrets.
const PRIVATE_ONLY_COMMANDS: [&str; 5] = ["login", "apikey", "logout", "settings", "token"];

/// Everyone's menu: private chats list every command, groups leave out the personal ones.
pub async fn register_commands(bot: &Bot) {
    let scopes = [
        (BotCommandScope::Default, false),
        (BotCommandScope::AllPrivateChats, false),
        (BotCommandScope::AllGroupChats, true),
    ];
    for lang in Lang::ALL {
        for (scope, group) in &scopes {
            let commands: Vec<BotCommand> = texts(lang)
                .command_descriptions()
                .into_iter()
                .filter(|(command, _)| !(*group && PRIVATE_ONLY_COMMANDS.contains(command)))
                .map(|(command, description)| BotCommand::new(command, description))
                .collect();
            set_menu(bot, commands, scope.clone(), lang).await;
        }
    }
}

/// The menu each admin sees in their private chat: the user commands plus the admin ones.
pub async fn register_admin_menu(bot: &Bot, admin_ids: &HashSet<i64>) {
    for &admin in admin_ids {
        for lang in Lang::ALL {
            let admin_commands = admin_texts(lang).admin_command_descriptions();
            // `/cancel` is both: the admin's description (a task id) says more.
            let commands: Vec<BotCommand> = texts(lang)
                .command_descriptions()
                .into_iter()
                .filter(|(command, _)| !admin_commands.iter().any(|(admin, _)| admin == command))
                .chain(admin_commands.iter().copied())
                .map(|(command, description)| BotCommand::new(command, description))
                .collect();
            let scope = BotCommandScope::Chat {
                chat_id: Recipient::Id(ChatId(admin)),
            };
            set_menu(bot, commands, scope, lang).await;
        }
    }
}

/// English is the default menu (no `language_code`); other languages are named.
async fn set_menu(bot: &Bot, commands: Vec<BotCommand>, scope: BotCommandScope, lang: Lang) {
    let mut request = bot.set_my_commands(commands).scope(scope);
    if lang != Lang::En {
        request = request.language_code(lang.code());
    }
    if let Err(e) = request.await {
        tracing::warn!(error = %e, language = lang.code(), "could not set a command menu");
    }
}
