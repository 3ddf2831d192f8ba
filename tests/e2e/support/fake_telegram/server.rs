//! The HTTP surface: routing, the token check and the method table.

use axum::{
    Router,
    extract::{DefaultBodyLimit, Path, Request, State},
    http::StatusCode,
    response::Response,
    routing::{any, get},
};
use serde_json::{Map, Value, json};

use super::{
    ApiErr, BOT_FIRST_NAME, BOT_ID, BOT_TOKEN, BOT_USERNAME, FakeTelegram, TgFault, TgState, UPLOAD_LIMIT,
    faults::{self, Verdict},
    files::handle_download,
    params::{Upload, param_str, read_params},
};

/// Real Bot API methods the fake does not model beyond answering `true`.
const ANSWERED_TRUE: &[&str] = &[
    "sendchataction",
    "setwebhook",
    "deletewebhook",
    "setmydescription",
    "setmyshortdescription",
    "setmyname",
    "setchatmenubutton",
    "setmydefaultadministratorrights",
    "setmessagereaction",
    "leavechat",
    "close",
    "logout",
];

/// The fake's routes: Bot API methods and file downloads.
pub(super) fn router(fake: FakeTelegram) -> Router {
    Router::new()
        .route("/{bot}/{method}", any(handle_method))
        .route("/file/{bot}/{*path}", get(handle_download))
        // Telegram takes uploads up to 50 MB; the handler answers 413 above that.
        .layer(DefaultBodyLimit::max(UPLOAD_LIMIT + 1024 * 1024))
        .with_state(fake)
}

/// 401 Unauthorized unless the path segment is `bot<BOT_TOKEN>`.
pub(super) fn unauthorized(bot: &str) -> Option<Response> {
    (bot.strip_prefix("bot") != Some(BOT_TOKEN)).then(|| {
        ApiErr {
            status: StatusCode::UNAUTHORIZED,
            description: "Unauthorized".to_owned(),
            parameters: None,
        }
        .into_response()
    })
}

pub(super) async fn handle_method(
    State(fake): State<FakeTelegram>,
    Path((bot, method)): Path<(String, String)>,
    req: Request,
) -> Response {
    if let Some(response) = unauthorized(&bot) {
        return response;
    }
    let method = method.to_ascii_lowercase();
    let (params, uploads) = match read_params(req).await {
        Ok(parsed) => parsed,
        Err(err) => return err.into_response(),
    };
    let files = uploads
        .iter()
        .map(|u| (u.field.clone(), u.file_name.clone(), u.bytes.len()))
        .collect();
    let idx = fake.record(method.clone(), Value::Object(params.clone()), files);
    if fake.state().stalled_methods.contains(&method) {
        // Failed from the start: the bot may hang up first (it died), and then this ends here.
        fake.state().calls[idx].error = Some("stalled, then dropped".to_owned());
        let mut changed = fake.inner.changed.subscribe();
        while fake.state().stalled_methods.contains(&method) {
            let _ = changed.changed().await;
        }
        return faults::dropped_connection();
    }

    let verdict = fake.state().verdict(&method, &params);
    let drop_answer = match verdict {
        Verdict::Handle { drop_answer } => drop_answer,
        Verdict::Refuse {
            fault,
            injected,
            throttled,
        } => {
            {
                let mut st = fake.state();
                st.calls[idx].error = Some(fault.description());
                st.calls[idx].fault = injected.then(|| fault.clone());
                st.calls[idx].throttled = throttled;
            }
            fake.notify();
            return fault.into_response();
        }
    };

    let result = if method == "getupdates" {
        fake.get_updates(&params).await
    } else {
        fake.state().handle(&method, &params, &uploads)
    };
    let delay = fake
        .state()
        .answer_delays
        .get_mut(&method)
        .and_then(std::collections::VecDeque::pop_front);
    if let Some(delay) = delay {
        tokio::time::sleep(delay).await;
    }
    if drop_answer {
        fake.state().calls[idx].fault = Some(TgFault::AnswerDropped);
        let _ = fake.finish(idx, result);
        return faults::dropped_connection();
    }
    fake.finish(idx, result)
}

impl TgState {
    pub(super) fn commands_key(p: &Map<String, Value>) -> String {
        let scope = p
            .get("scope")
            .cloned()
            .unwrap_or_else(|| json!({ "type": "default" }));
        format!("{scope}|{}", param_str(p, "language_code").unwrap_or_default())
    }

    /// Every method except getUpdates (which waits).
    pub(super) fn handle(
        &mut self,
        method: &str,
        p: &Map<String, Value>,
        uploads: &[Upload],
    ) -> Result<Value, ApiErr> {
        match method {
            "getme" => Ok(json!({
                "id": BOT_ID,
                "is_bot": true,
                "first_name": BOT_FIRST_NAME,
                "username": BOT_USERNAME,
                "can_join_groups": true,
                "can_read_all_group_messages": self.privacy_off,
                "supports_inline_queries": false,
                "can_connect_to_business": false,
                "has_main_web_app": false,
            })),
            "getwebhookinfo" => Ok(json!({
                "url": "",
                "has_custom_certificate": false,
                "pending_update_count": self.updates.len(),
            })),
            "sendmessage" => self.send_message(p).map(|sent| self.in_topic(p, sent)),
            "sendvideo" => self
                .send_media("video", p, uploads)
                .map(|sent| self.in_topic(p, sent)),
            "sendphoto" => self
                .send_media("photo", p, uploads)
                .map(|sent| self.in_topic(p, sent)),
            "senddocument" => self
                .send_media("document", p, uploads)
                .map(|sent| self.in_topic(p, sent)),
            "editmessagetext" | "editmessagecaption" | "editmessagereplymarkup" => self.edit(method, p),
            "deletemessage" => self.delete_message(p),
            "getfile" => self.get_file(p),
            "answercallbackquery" => self.answer_callback_query(p),
            "setmycommands" => {
                let mut commands = p.get("commands").cloned().unwrap_or_else(|| json!([]));
                // teloxide's `BotCommands::bot_commands()` keeps the "/"; Telegram stores
                // commands without it (and getMyCommands returns them without it).
                for command in commands.as_array_mut().into_iter().flatten() {
                    if let Some(name) = command.get("command").and_then(Value::as_str) {
                        command["command"] = json!(name.trim_start_matches('/'));
                    }
                }
                self.commands.insert(Self::commands_key(p), commands);
                Ok(json!(true))
            }
            "deletemycommands" => {
                self.commands.remove(&Self::commands_key(p));
                Ok(json!(true))
            }
            "getmycommands" => Ok(self
                .commands
                .get(&Self::commands_key(p))
                .cloned()
                .unwrap_or_else(|| json!([]))),
            // Methods the bot may call that change nothing the tests look at: `true`, as
            // Telegram answers them.
            _ if ANSWERED_TRUE.contains(&method) => Ok(json!(true)),
            // Telegram answers 404 to a method it does not know (a typo, a removed method).
            _ => Err(ApiErr {
                status: StatusCode::NOT_FOUND,
                description: "Not Found".to_owned(),
                parameters: None,
            }),
        }
    }
}
