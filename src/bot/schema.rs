//! The handler tree, as a function so the App and the tests build the same one.

use std::sync::Arc;

use teloxide::{
    dispatching::{HandlerExt, UpdateFilterExt, UpdateHandler},
    dptree,
    prelude::*,
    types::Me,
};

use super::{
    AdminCommand, BotContext, Command,
    handlers::{
        access, account, admin, albums, buttons, effects, generate, history, modes, pool, settings, start,
        status, token, voices,
    },
    sender_id,
};

pub fn schema() -> UpdateHandler<anyhow::Error> {
    let commands = dptree::entry()
        .filter_command::<Command>()
        .branch(dptree::case![Command::Start(param)].endpoint(start::start))
        .branch(dptree::case![Command::Help].endpoint(start::help))
        .branch(dptree::case![Command::T2v(text)].endpoint(generate::t2v))
        .branch(dptree::case![Command::I2v(text)].endpoint(generate::i2v))
        .branch(dptree::case![Command::Extend(text)].endpoint(modes::extend))
        .branch(dptree::case![Command::Sound(text)].endpoint(modes::sound))
        .branch(dptree::case![Command::Say(text)].endpoint(modes::say))
        .branch(dptree::case![Command::Transition(text)].endpoint(albums::transition))
        .branch(dptree::case![Command::Fusion(text)].endpoint(albums::fusion))
        .branch(dptree::case![Command::Voices].endpoint(voices::voices))
        .branch(dptree::case![Command::Effects].endpoint(effects::effects))
        .branch(
            dptree::case![Command::Cancel(arg)]
                .filter(|arg: String| arg.trim().is_empty())
                .endpoint(effects::cancel),
        )
        .branch(dptree::case![Command::Status].endpoint(status::status))
        .branch(dptree::case![Command::Balance].endpoint(account::balance))
        .branch(dptree::case![Command::Login(args)].endpoint(account::login))
        .branch(dptree::case![Command::Apikey(args)].endpoint(account::apikey))
        .branch(dptree::case![Command::Logout].endpoint(account::logout))
        .branch(dptree::case![Command::Settings].endpoint(settings::settings))
        .branch(dptree::case![Command::History].endpoint(history::history))
        .branch(dptree::case![Command::Language].endpoint(settings::language))
        .branch(dptree::case![Command::Token(args)].endpoint(token::token));

    // Checked on the server side: for anyone but an admin these are unknown commands.
    let admin_commands =
        dptree::filter(|msg: Message, ctx: Arc<BotContext>| ctx.service.is_admin(sender_id(&msg)))
            .filter_command::<AdminCommand>()
            .branch(dptree::case![AdminCommand::Access(arg)].endpoint(admin::access))
            .branch(dptree::case![AdminCommand::Allow(arg)].endpoint(admin::allow))
            .branch(dptree::case![AdminCommand::Deny(arg)].endpoint(admin::deny))
            .branch(dptree::case![AdminCommand::Ban(arg)].endpoint(admin::ban))
            .branch(dptree::case![AdminCommand::Unban(arg)].endpoint(admin::unban))
            .branch(dptree::case![AdminCommand::Allowgroup].endpoint(admin::allow_group))
            .branch(dptree::case![AdminCommand::Pool(args)].endpoint(pool::pool))
            .branch(dptree::case![AdminCommand::Quota(args)].endpoint(admin::quota))
            .branch(dptree::case![AdminCommand::Stats].endpoint(admin::stats))
            .branch(dptree::case![AdminCommand::Tasks(arg)].endpoint(admin::tasks))
            // A bare /cancel is everyone's (it forgets a picked effect); with a task id, the admin's.
            .branch(
                dptree::case![AdminCommand::Cancel(arg)]
                    .filter(|arg: String| !arg.trim().is_empty())
                    .endpoint(admin::cancel),
            )
            .branch(dptree::case![AdminCommand::Broadcast(text)].endpoint(admin::broadcast));

    let messages = Update::filter_message()
        // Channel posts have no sender to answer or bill.
        .filter(|msg: Message| msg.from.is_some())
        // Banned users and (in allowlist mode) strangers stop here, before any feature.
        .branch(dptree::filter_map_async(access::gate).endpoint(access::refuse))
        .branch(admin_commands)
        .branch(commands)
        .branch(dptree::filter(is_unknown_command).endpoint(start::unknown_command))
        .branch(
            dptree::filter(|msg: Message| msg.voice().is_some() || msg.audio().is_some())
                .endpoint(modes::voice),
        )
        .branch(
            dptree::filter(|msg: Message| msg.media_group_id().is_some() && msg.photo().is_some())
                .endpoint(albums::album_photo),
        )
        .branch(
            dptree::filter(|msg: Message| msg.photo().is_some() || msg.document().is_some())
                .endpoint(generate::media),
        )
        .branch(
            dptree::filter(|msg: Message| msg.chat.is_private() && msg.text().is_some())
                .endpoint(start::text_hint),
        );

    dptree::entry()
        // A group that became a supergroup keeps its allowlist entry and its members.
        .branch(
            Update::filter_message()
                .filter(access::is_migration)
                .endpoint(access::migrated),
        )
        // Anonymous group admins and channels: nobody to bill (see `access::on_behalf_of_a_chat`).
        .branch(
            Update::filter_message()
                .filter(access::on_behalf_of_a_chat)
                .endpoint(access::anonymous),
        )
        .branch(messages)
        // Inline buttons: results, failures, /settings, /language, /history.
        .branch(Update::filter_callback_query().endpoint(buttons::callback))
}

/// A `/word` we do not know, addressed to us: anything in a private chat, `/word@us` in a group
/// (a bare `/word` in a group may be meant for another bot).
fn is_unknown_command(msg: Message, me: Me) -> bool {
    let Some(text) = msg.text().or(msg.caption()) else {
        return false;
    };
    let Some(command) = text.split_whitespace().next().filter(|w| w.starts_with('/')) else {
        return false;
    };
    match command.split_once('@') {
        Some((_, to)) => to.eq_ignore_ascii_case(me.username()),
        None => msg.chat.is_private(),
    }
}
