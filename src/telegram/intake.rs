//! The dispatcher's update listeners, both fed through the [`Inbox`]: in webhook mode the
//! updates the HTTP server stored; in long-polling mode teloxide's `getUpdates` loop, each update
//! stored before the loop may ask for the next batch. Both also carry the stored updates this
//! instance takes over from a dead one.

use std::{convert::Infallible, future::ready, time::Duration};

use futures_util::{StreamExt, stream::BoxStream};
use teloxide::{
    Bot, RequestError,
    stop::{StopToken, mk_stop_token},
    types::{AllowedUpdate, Update},
    update_listeners::{AsUpdateStream, Polling, StatefulListener, UpdateListener},
};

use super::inbox::{Inbox, Receiver, is_unparsable};

/// How long long polling waits before it tries again to store an update it fetched (the
/// database is down): the update is not confirmed to Telegram meanwhile.
const STORE_RETRY: Duration = Duration::from_secs(1);

/// Webhook mode: the updates the inbox queued; the stream ends when the dispatcher stops it.
pub fn stored_updates(receiver: Receiver) -> impl UpdateListener<Err = Infallible> {
    let (stop_token, stop_flag) = mk_stop_token();
    let Receiver(mut receiver) = receiver;
    let stream: StoredStream = futures_util::stream::poll_fn(move |cx| receiver.poll_recv(cx))
        .map(Ok)
        .take_until(stop_flag)
        .boxed();
    StatefulListener::new(
        (stream, stop_token),
        stream_of,
        |state: &mut (StoredStream, StopToken)| state.1.clone(),
    )
}

type StoredStream = BoxStream<'static, Result<Update, Infallible>>;

fn stream_of(state: &mut (StoredStream, StopToken)) -> &mut StoredStream {
    &mut state.0
}

/// Long-polling mode: teloxide's polling, with every update stored in the inbox before teloxide
/// asks for the next batch (the request that confirms this one to Telegram), plus the updates the
/// inbox takes over. Ends when the polling stops.
pub struct StoredPolling {
    polling: Polling<Bot>,
    inbox: Inbox,
    taken_over: Receiver,
}

impl StoredPolling {
    pub fn new(polling: Polling<Bot>, inbox: Inbox, taken_over: Receiver) -> StoredPolling {
        StoredPolling {
            polling,
            inbox,
            taken_over,
        }
    }
}

impl<'a> AsUpdateStream<'a> for StoredPolling {
    type StreamErr = RequestError;
    type Stream = BoxStream<'a, Result<Update, RequestError>>;

    fn as_stream(&'a mut self) -> Self::Stream {
        let inbox = &self.inbox;
        // `filter_map` polls teloxide's stream again only once the store finished, and teloxide
        // sends the next `getUpdates` only when polled with its batch used up.
        let polled = self
            .polling
            .as_stream()
            .filter_map(move |fetched| async move {
                let update = match fetched {
                    Ok(update) if is_unparsable(&update) => return None,
                    Ok(update) => update,
                    Err(e) => return Some(Err(e)),
                };
                loop {
                    match inbox.store_polled(&update).await {
                        Ok(true) => return Some(Ok(update)),
                        Ok(false) => return None,
                        Err(e) => {
                            tracing::warn!(update_id = update.id.0, error = %e, "could not store a polled update; trying again");
                            tokio::time::sleep(STORE_RETRY).await;
                        }
                    }
                }
            });
        // The taken-over updates never end; the merged stream ends with the polling.
        let polled = polled.map(Some).chain(futures_util::stream::once(ready(None)));
        let taken_over = &mut self.taken_over.0;
        let taken_over =
            futures_util::stream::poll_fn(|cx| taken_over.poll_recv(cx)).map(|update| Some(Ok(update)));
        futures_util::stream::select(polled, taken_over)
            .take_while(|item| ready(item.is_some()))
            .filter_map(ready)
            .boxed()
    }
}

impl UpdateListener for StoredPolling {
    type Err = RequestError;

    fn stop_token(&mut self) -> StopToken {
        self.polling.stop_token()
    }

    fn hint_allowed_updates(&mut self, hint: &mut dyn Iterator<Item = AllowedUpdate>) {
        self.polling.hint_allowed_updates(hint)
    }
}
