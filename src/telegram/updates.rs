//! The update stream as the dispatcher sees it, with no update body in the log at any level.
//!
//! teloxide logs an update it cannot parse in full, at error level ("Cannot parse an update"), and
//! a `/login` password can be in it; a `getUpdates` answer it cannot read comes back as an error
//! that carries the raw body. Such updates are dropped here with a line that names only the update
//! id, and listener errors are logged without their raw part.

use std::future::ready;

use futures_util::{StreamExt, stream::BoxStream};
use teloxide::{
    RequestError,
    stop::StopToken,
    types::{AllowedUpdate, Update, UpdateKind},
    update_listeners::{AsUpdateStream, UpdateListener},
};

/// Wraps a listener (long polling, a webhook) so that unparsable updates never reach teloxide's
/// dispatcher, which would log them whole.
pub struct QuietUpdates<L>(pub L);

impl<'a, L> AsUpdateStream<'a> for QuietUpdates<L>
where
    L: AsUpdateStream<'a>,
    L::StreamErr: Send + 'a,
{
    type StreamErr = L::StreamErr;
    type Stream = BoxStream<'a, Result<Update, L::StreamErr>>;

    fn as_stream(&'a mut self) -> Self::Stream {
        self.0
            .as_stream()
            .filter(|update| ready(!is_unparsable(update)))
            .boxed()
    }
}

impl<L> UpdateListener for QuietUpdates<L>
where
    L: UpdateListener,
    Self: for<'a> AsUpdateStream<'a, StreamErr = L::Err>,
{
    type Err = L::Err;

    fn stop_token(&mut self) -> StopToken {
        self.0.stop_token()
    }

    fn hint_allowed_updates(&mut self, hint: &mut dyn Iterator<Item = AllowedUpdate>) {
        self.0.hint_allowed_updates(hint)
    }
}

fn is_unparsable<E>(update: &Result<Update, E>) -> bool {
    match update {
        Ok(Update {
            id,
            kind: UpdateKind::Error(_),
        }) => {
            tracing::warn!(update_id = id.0, "skipped an update teloxide could not parse");
            true
        }
        _ => false,
    }
}

/// A Telegram error as it may be logged: what went wrong, never a response body (teloxide's
/// `InvalidJson` carries the raw answer, and serde's message may quote a value from it).
pub fn loggable(error: &RequestError) -> String {
    match error {
        RequestError::InvalidJson { source, .. } => format!(
            "unreadable answer from Telegram ({:?} error at line {}, column {})",
            source.classify(),
            source.line(),
            source.column()
        ),
        other => other.to_string(),
    }
}
