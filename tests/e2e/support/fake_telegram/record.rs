//! What the fake received: every call, in order, and a readable dump of calls and chats for
//! failure messages.

use std::{fmt::Write as _, time::Instant};

use axum::{
    Json,
    response::{IntoResponse, Response},
};
use serde_json::{Value, json};

use super::{ApiErr, FakeTelegram, TgFault, Throttled};

/// One request the fake received.
#[derive(Clone, Debug)]
pub struct TgCall {
    /// Lower-case method name, e.g. "sendmessage"; "download" for a file download.
    pub method: String,
    /// All parameters as one JSON object. Fields that arrive as JSON strings in multipart or
    /// url-encoded bodies (`reply_markup`, `reply_parameters`, ...) are decoded to JSON, and
    /// integer ids to numbers, so a parameter looks the same whichever encoding teloxide chose.
    pub params: Value,
    /// Uploaded file parts: (parameter name, file name, byte length). For teloxide's
    /// `attach://<id>` uploads the parameter name is the one that referenced the part
    /// (e.g. "video"), not the random part name.
    pub files: Vec<(String, String, usize)>,
    pub at: Instant,
    /// The error description returned, if the call failed (a fault or a natural error).
    pub error: Option<String>,
    /// The injected fault, if one was returned (or, for `AnswerDropped`, acted on).
    pub fault: Option<TgFault>,
    /// Why flood control answered 429, if it did.
    pub throttled: Option<Throttled>,
}

impl FakeTelegram {
    /// Every request so far, in arrival order.
    pub fn calls(&self) -> Vec<TgCall> {
        self.state().calls.clone()
    }

    /// The calls to one method (any case: "sendMessage", "SendMessage", "sendmessage").
    pub fn calls_to(&self, method: &str) -> Vec<TgCall> {
        let method = method.to_ascii_lowercase();
        self.state()
            .calls
            .iter()
            .filter(|c| c.method == method)
            .cloned()
            .collect()
    }

    /// Takes the queued updates, as Telegram does when it posts them to a webhook instead of
    /// answering getUpdates.
    pub fn drain_updates(&self) -> Vec<Value> {
        self.state().updates.drain(..).collect()
    }

    /// A readable dump of calls, chats and undelivered updates, for failure messages.
    pub fn dump(&self) -> String {
        let st = self.state();
        let mut out = format!("--- fake Telegram: {} calls ---\n", st.calls.len());
        for (i, call) in st.calls.iter().enumerate() {
            let at = call.at.duration_since(self.inner.started).as_millis();
            let mut params = call.params.to_string();
            if params.chars().count() > 400 {
                params = params.chars().take(400).collect::<String>() + "…";
            }
            let _ = write!(out, "#{i} +{at}ms {} {params}", call.method);
            if !call.files.is_empty() {
                let _ = write!(out, " files={:?}", call.files);
            }
            if let Some(error) = &call.error {
                let _ = write!(out, " -> ERROR {error}");
            }
            out.push('\n');
        }
        let mut chats: Vec<_> = st.chats.keys().copied().collect();
        chats.sort_unstable();
        for chat_id in chats {
            let _ = writeln!(out, "--- chat {chat_id} ---");
            for m in &st.chats[&chat_id].messages {
                let who = if m.from_bot { "bot" } else { "user" };
                let body = m.text.as_deref().or(m.caption.as_deref()).unwrap_or("");
                let media = m.media.as_ref().map_or("", |(k, _, _)| *k);
                let _ = writeln!(
                    out,
                    "  [{}] {who}{}{} reply_to={:?} edits={} markup={} {body:?}",
                    m.id,
                    if media.is_empty() {
                        String::new()
                    } else {
                        format!(" {media}")
                    },
                    if m.deleted { " DELETED" } else { "" },
                    m.reply_to,
                    m.edits,
                    m.reply_markup.is_some(),
                );
            }
        }
        let _ = writeln!(
            out,
            "--- {} pending updates, {} withheld ---",
            st.updates.len(),
            st.withheld_updates.len()
        );
        for (why, update) in &st.withheld_updates {
            let _ = writeln!(out, "  withheld ({why}): {update}");
        }
        out
    }

    pub(super) fn record(&self, method: String, params: Value, files: Vec<(String, String, usize)>) -> usize {
        let idx = {
            let mut st = self.state();
            st.calls.push(TgCall {
                method,
                params,
                files,
                at: Instant::now(),
                error: None,
                fault: None,
                throttled: None,
            });
            st.calls.len() - 1
        };
        self.notify();
        idx
    }

    pub(super) fn finish(&self, idx: usize, result: Result<Value, ApiErr>) -> Response {
        match result {
            Ok(result) => {
                self.notify();
                Json(json!({ "ok": true, "result": result })).into_response()
            }
            Err(err) => {
                self.state().calls[idx].error = Some(err.description.clone());
                self.notify();
                err.into_response()
            }
        }
    }

    /// How many calls the fake has received, cheaply (no copy of them).
    pub fn call_count(&self) -> usize {
        self.state().calls.len()
    }

    /// `(method, chat_id, when)` of the calls from the `from`-th on.
    pub fn call_times_since(&self, from: usize) -> Vec<(String, Option<i64>, Instant)> {
        let st = self.state();
        st.calls
            .iter()
            .skip(from)
            .map(|c| {
                (
                    c.method.clone(),
                    c.params.get("chat_id").and_then(Value::as_i64),
                    c.at,
                )
            })
            .collect()
    }
}
