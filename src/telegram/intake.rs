//! The dispatcher's update listeners, both fed through the [`Inbox`]: in webhook mode the
//! updates the HTTP server stored; in long-polling mode a `getUpdates` loop that stores each
//! answer before it asks for the next (teloxide's own `Polling` asks for the next batch as soon
//! as the dispatcher took the last update, which confirms them to Telegram before they are
//! stored). Both also carry the stored updates this instance takes over from a dead one.

use std::{collections::VecDeque, convert::Infallible, future::ready, time::Duration};

use futures_util::{StreamExt, stream::BoxStream};
use teloxide::{
    Bot, RequestError,
    backoff::exponential_backoff_strategy,
    errors::AsResponseParameters,
    payloads::GetUpdatesSetters,
    prelude::Requester,
    stop::{StopFlag, StopToken, mk_stop_token},
    types::{AllowedUpdate, Update},
    update_listeners::{AsUpdateStream, StatefulListener, UpdateListener},
};

use super::inbox::{Inbox, Receiver};

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

/// Long-polling mode: `getUpdates` in a loop, each answer stored in the inbox (one statement)
/// before the next request, whose `offset` confirms it to Telegram; plus the updates the inbox
/// takes over. Ends when stopped.
pub struct StoredPolling {
    bot: Bot,
    timeout: Duration,
    inbox: Inbox,
    taken_over: Receiver,
    /// The update kinds the handlers take (the dispatcher's hint), sent with the first request.
    allowed_updates: Option<Vec<AllowedUpdate>>,
    stop: (StopToken, StopFlag),
}

impl StoredPolling {
    pub fn new(bot: Bot, timeout: Duration, inbox: Inbox, taken_over: Receiver) -> StoredPolling {
        let (token, flag) = mk_stop_token();
        StoredPolling {
            bot,
            timeout,
            inbox,
            taken_over,
            allowed_updates: None,
            stop: (token, flag),
        }
    }
}

/// Where the polling loop is.
struct Poll {
    /// The next `offset`: one past the last update stored.
    offset: i32,
    fetched: VecDeque<Update>,
    /// Failed requests in a row (the backoff grows with them).
    errors: u32,
    /// A wait before the next request (after an error).
    pause: Option<Duration>,
    allowed_updates: Option<Vec<AllowedUpdate>>,
}

impl<'a> AsUpdateStream<'a> for StoredPolling {
    type StreamErr = RequestError;
    type Stream = BoxStream<'a, Result<Update, RequestError>>;

    fn as_stream(&'a mut self) -> Self::Stream {
        let (bot, inbox, timeout) = (&self.bot, &self.inbox, self.timeout);
        let start = Poll {
            offset: 0,
            fetched: VecDeque::new(),
            errors: 0,
            pause: None,
            allowed_updates: self.allowed_updates.take(),
        };
        let polled = futures_util::stream::unfold(start, move |mut poll| async move {
            loop {
                if let Some(update) = poll.fetched.pop_front() {
                    return Some((Ok(update), poll));
                }
                if let Some(pause) = poll.pause.take() {
                    tokio::time::sleep(pause).await;
                }
                let mut request = bot
                    .get_updates()
                    .offset(poll.offset)
                    .timeout(u32::try_from(timeout.as_secs()).unwrap_or(u32::MAX));
                if let Some(allowed) = &poll.allowed_updates {
                    request = request.allowed_updates(allowed.clone());
                }
                match request.await {
                    Ok(updates) => {
                        poll.errors = 0;
                        // Sent once: Telegram keeps the list.
                        poll.allowed_updates = None;
                        let Some(last) = updates.last() else { continue };
                        let next_offset = last.id.as_offset();
                        poll.fetched = store(inbox, updates).await.into();
                        poll.offset = next_offset;
                    }
                    Err(e) => {
                        poll.pause = Some(match e.retry_after() {
                            Some(wait) => wait.duration(),
                            None => exponential_backoff_strategy(poll.errors),
                        });
                        poll.errors = poll.errors.saturating_add(1);
                        return Some((Err(e), poll));
                    }
                }
            }
        });
        let polled = polled.take_until(self.stop.1.clone());
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

/// Stores a `getUpdates` answer; the updates not stored before. Until the database takes them
/// the polling waits: the next request would confirm them to Telegram.
async fn store(inbox: &Inbox, mut updates: Vec<Update>) -> Vec<Update> {
    while let Err(e) = inbox.store_polled(&mut updates).await {
        tracing::warn!(error = %e, "could not store polled updates; trying again");
        tokio::time::sleep(STORE_RETRY).await;
    }
    updates
}

impl UpdateListener for StoredPolling {
    type Err = RequestError;

    fn stop_token(&mut self) -> StopToken {
        self.stop.0.clone()
    }

    fn hint_allowed_updates(&mut self, hint: &mut dyn Iterator<Item = AllowedUpdate>) {
        self.allowed_updates = Some(hint.collect());
    }
}
