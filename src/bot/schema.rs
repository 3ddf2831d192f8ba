//! The handler tree, as a function so the App and the tests build the same one.

use teloxide::{
    dispatching::{HandlerExt, UpdateFilterExt, UpdateHandler},
    dptree,
    prelude::*,
    types::Me,
};

use super::{
    Command,
    handlers::{account, buttons, generate, history, settings, start, status},
};

pub fn schema() -> UpdateHandler<anyhow::Error> {
    let commands = dptree::entry()
        .filter_command::<Command>()
        .branch(dptree::case![Command::Start(param)].endpoint(start::start))
        .branch(dptree::case![Command::Help].endpoint(start::help))
        .branch(dptree::case![Command::T2v(text)].endpoint(generate::t2v))
        .branch(dptree::case![Command::I2v(text)].endpoint(generate::i2v))
        .branch(dptree::case![Command::Status].endpoint(status::status))
        .branch(dptree::case![Command::Balance].endpoint(account::balance))
        .branch(dptree::case![Command::Login(args)].endpoint(account::login))
        .branch(dptree::case![Command::Apikey(args)].endpoint(account::apikey))
        .branch(dptree::case![Command::Logout].endpoint(account::logout))
        .branch(dptree::case![Command::Settings].endpoint(settings::settings))
        .branch(dptree::case![Command::History].endpoint(history::history))
        .branch(dptree::case![Command::Language].endpoint(settings::language));

    let messages = Update::filter_message()
        // Channel posts and anonymous admins have no sender to answer or bill.
        .filter(|msg: Message| msg.from.is_some())
        .branch(commands)
        .branch(dptree::filter(is_unknown_command).endpoint(start::unknown_command))
        .branch(
            dptree::filter(|msg: Message| msg.photo().is_some() || msg.document().is_some())
                .endpoint(generate::media),
        )
        .branch(
            dptree::filter(|msg: Message| msg.chat.is_private() && msg.text().is_some())
                .endpoint(start::text_hint),
        );

    dptree::entry()
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
