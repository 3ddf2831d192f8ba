//! Every Telegram update passes through the inbox (`storage/inbox.rs`) on its way to the
//! handlers, whether it came by webhook or by long polling:
//! - it is stored before Telegram may forget it: before the webhook's 200, and before long
//!   polling asks for the next batch (which confirms this one);
//! - it is marked handled when its handler has returned ([`Inbox::mark_handled_after`]), and
//!   until then this instance renews its claim on it;
//! - an update whose claim lapsed (its instance died with it queued or half handled) is taken
//!   over by any instance running, or at the next start.
//!
//! So no update is lost to a crash. An update whose handler was cut short runs again; the one
//! effect that must not happen twice, queueing (and charging) a task, is keyed by the update (see
//! [`handled_update`]), as is a refusal that could change (a limit, access): a run again answers
//! as the first did, so a request refused at a limit is not queued once a place is free
//! (`Service::accept`). The rest is a reply that may be sent again.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    time::Duration,
};

use teloxide::{
    dispatching::{DpHandlerDescription, UpdateHandler},
    dptree::{self, HandlerDescription, HandlerSignature},
    types::{Update, UpdateKind},
};
use tokio::sync::{mpsc, oneshot};

use crate::storage::{Storage, StorageError, UpdateClaim};

/// How often an instance renews its claims and looks for updates whose claim lapsed (one
/// indexed read when there are none), at most: with a shorter lease, three times per lease.
const UPKEEP_EVERY: Duration = Duration::from_secs(1);

/// How often an instance deletes the handled updates too old to be redelivered.
const FORGET_EVERY: Duration = Duration::from_secs(600);

/// At most this many updates are marked handled in one statement.
const MARKS_PER_STATEMENT: usize = 256;

tokio::task_local! {
    /// The update whose handler is running: set around each handler by
    /// [`Inbox::mark_handled_after`]. Read where a handler queues a task (see
    /// [`handled_update`]); threading it through every handler's arguments would say the same at
    /// a dozen call sites.
    static HANDLING: i64;
}

/// The id of the update being handled, when called from a handler (`None` elsewhere, e.g. in a
/// task a handler spawned).
pub fn handled_update() -> Option<i64> {
    HANDLING.try_with(|id| *id).ok()
}

/// An update of a kind teloxide could not parse: never handed to the dispatcher, which would log
/// it whole (a `/login` password may be in it); logged here by its id alone.
pub(super) fn is_unparsable(update: &Update) -> bool {
    let unparsable = matches!(update.kind, UpdateKind::Error(_));
    if unparsable {
        tracing::warn!(
            update_id = update.id.0,
            "skipped an update teloxide could not parse"
        );
    }
    unparsable
}

/// This instance's side of the inbox: stores updates, hands them to the dispatcher and marks
/// them handled.
#[derive(Clone)]
pub struct Inbox {
    storage: Storage,
    claim: Arc<UpdateClaim>,
    updates: mpsc::UnboundedSender<Update>,
    /// Updates handed to the dispatcher and not yet marked handled: their claims are renewed.
    in_hand: Arc<AtomicUsize>,
    /// To the task that marks handled updates, in batches ([`mark_in_batches`]).
    marks: mpsc::UnboundedSender<Mark>,
    /// Whether this instance's dispatcher reads the queue, so that it may take updates over
    /// ([`Inbox::start_taking_over`]).
    dispatching: Arc<AtomicBool>,
}

/// What the marking task is asked to do.
enum Mark {
    Handled(i64),
    /// Answer once every update handled before is marked.
    Flush(oneshot::Sender<()>),
}

/// Stored updates (new ones from the webhook, taken-over ones in either mode) on their way to the
/// dispatcher.
pub struct Receiver(pub(super) mpsc::UnboundedReceiver<Update>);

impl Inbox {
    /// The inbox, and the receiver the update listener reads. Stored updates nobody holds (an
    /// earlier run's, or an instance's that died) are taken over once the dispatcher runs
    /// ([`Inbox::start_taking_over`]), as long as the receiver lives. `lease`: how long this
    /// instance's claim on an update holds unless renewed, so how long another instance waits
    /// before it takes over.
    pub async fn open(storage: Storage, lease: Duration) -> Result<(Inbox, Receiver), StorageError> {
        let (updates, receiver) = mpsc::unbounded_channel();
        let (marks, to_mark) = mpsc::unbounded_channel();
        let claim = Arc::new(UpdateClaim::new(lease));
        tokio::spawn(mark_in_batches(storage.clone(), claim.clone(), to_mark));
        let inbox = Inbox {
            storage,
            claim,
            updates,
            in_hand: Arc::default(),
            marks,
            dispatching: Arc::default(),
        };
        tokio::spawn(inbox.clone().keep_up());
        Ok((inbox, Receiver(receiver)))
    }

    /// Called when this instance's dispatcher is about to read the queue: takes over the stored
    /// updates nobody holds now, and from then on whenever such updates turn up. Not before: an
    /// instance waiting for its turn to poll Telegram reads no queue, and updates it took over
    /// would sit there, their claims renewed, until it polled or stopped (seen: two requests
    /// unanswered for a minute in a rolling restart).
    pub async fn start_taking_over(&self) {
        self.dispatching.store(true, Ordering::Relaxed);
        if let Err(e) = self.take_over_lapsed().await {
            tracing::warn!(error = %e, "could not look for stored updates to take over; trying again shortly");
        }
    }

    /// Stores an update that just arrived and queues it for the dispatcher; a redelivery (its
    /// `update_id` stored before, by any instance) is dropped.
    pub async fn receive(&self, update_id: i64, body: &[u8]) -> Result<(), StorageError> {
        let text = String::from_utf8_lossy(body);
        if !self.storage.store_update(update_id, &text, &self.claim).await? {
            tracing::debug!(update_id, "a redelivered update, already stored");
            return Ok(());
        }
        self.queue(update_id, body).await
    }

    /// Stores the updates one `getUpdates` fetched, in one statement, before the next
    /// `getUpdates` confirms them; leaves in `updates` those not stored before, for the caller to
    /// hand to the dispatcher. Updates teloxide could not parse are dropped, unstored.
    pub(super) async fn store_polled(&self, updates: &mut Vec<Update>) -> Result<(), StorageError> {
        updates.retain(|update| !is_unparsable(update));
        let bodies: Vec<(i64, String)> = updates
            .iter()
            .map(|u| (i64::from(u.id.0), serde_json::to_string(u).unwrap_or_default()))
            .collect();
        let rows: Vec<(i64, &str)> = bodies.iter().map(|(id, body)| (*id, body.as_str())).collect();
        let stored = self.storage.store_updates(&rows, &self.claim).await?;
        updates.retain(|u| stored.contains(&i64::from(u.id.0)));
        self.in_hand.fetch_add(updates.len(), Ordering::Relaxed);
        Ok(())
    }

    /// Claims the stored updates whose claim lapsed and queues them for the dispatcher.
    async fn take_over_lapsed(&self) -> Result<(), StorageError> {
        for (update_id, body) in self.storage.claim_lapsed_updates(&self.claim).await? {
            tracing::info!(update_id, "taking over a stored update nobody handled");
            self.queue(update_id, body.as_bytes()).await?;
        }
        Ok(())
    }

    /// Renews the claims in hand and takes lapsed updates over (once the dispatcher runs), every
    /// [`UPKEEP_EVERY`] (or a third of a lease), and forgets old handled updates every
    /// [`FORGET_EVERY`], until the dispatcher's receiver is gone.
    async fn keep_up(self) {
        let every = UPKEEP_EVERY.min(self.claim.lease / 3);
        let mut forgotten_at = tokio::time::Instant::now();
        loop {
            tokio::time::sleep(every).await;
            if self.updates.is_closed() {
                return;
            }
            if forgotten_at.elapsed() >= FORGET_EVERY {
                forgotten_at = tokio::time::Instant::now();
                if let Err(e) = self.storage.forget_old_updates().await {
                    tracing::warn!(error = %e, "could not forget old handled updates");
                }
            }
            if self.in_hand.load(Ordering::Relaxed) > 0
                && let Err(e) = self.storage.renew_update_claims(&self.claim).await
            {
                tracing::warn!(error = %e, "could not renew the claims on updates in hand");
            }
            if self.dispatching.load(Ordering::Relaxed)
                && let Err(e) = self.take_over_lapsed().await
            {
                tracing::warn!(error = %e, "could not look for stored updates to take over");
            }
        }
    }

    /// Hands a stored update claimed by this instance to the dispatcher; one teloxide cannot read
    /// (or whose body cannot be opened) is marked handled and skipped.
    async fn queue(&self, update_id: i64, body: &[u8]) -> Result<(), StorageError> {
        match serde_json::from_slice::<Update>(body) {
            Ok(update) if is_unparsable(&update) => {
                self.storage
                    .mark_updates_handled(&[update_id], &self.claim)
                    .await?;
            }
            Ok(update) => {
                self.in_hand.fetch_add(1, Ordering::Relaxed);
                // The receiver lives as long as the dispatcher; after it stopped, the update stays
                // stored and is taken over once the claim lapses, or at the next start.
                let _ = self.updates.send(update);
            }
            Err(e) => {
                tracing::warn!(update_id, error = %e, "an update teloxide cannot read; skipped");
                self.storage
                    .mark_updates_handled(&[update_id], &self.claim)
                    .await?;
            }
        }
        Ok(())
    }

    /// `handler`, with each update marked handled when it returns (whether a branch took the
    /// update or none did), and its id in [`handled_update`] meanwhile.
    pub fn mark_handled_after(self, handler: UpdateHandler<anyhow::Error>) -> UpdateHandler<anyhow::Error> {
        let marking: UpdateHandler<anyhow::Error> = dptree::from_fn_with_description(
            DpHandlerDescription::entry(),
            move |deps: dptree::di::DependencyMap, cont| {
                let inbox = self.clone();
                async move {
                    let update_id = i64::from(deps.get::<Update>().id.0);
                    let flow = HANDLING.scope(update_id, cont(deps)).await;
                    inbox.handled(update_id);
                    flow
                }
            },
            HandlerSignature::Entry,
        );
        marking.chain(handler)
    }

    /// Has an update this instance handed over marked handled.
    fn handled(&self, update_id: i64) {
        self.in_hand.fetch_sub(1, Ordering::Relaxed);
        // The marking task lives as long as any inbox: the send fails only at the very end,
        // and then the update is handled again after its claim lapses, which beats losing it.
        let _ = self.marks.send(Mark::Handled(update_id));
    }

    /// Waits until every update handled so far is marked (at shutdown: a restart would handle
    /// the rest again).
    pub async fn flush(&self) {
        let (done, flushed) = oneshot::channel();
        if self.marks.send(Mark::Flush(done)).is_ok() {
            let _ = flushed.await;
        }
    }
}

/// Marks handled updates, as many per statement as have come in meanwhile (one write for a
/// burst, not one per update), until every inbox is gone.
async fn mark_in_batches(
    storage: Storage,
    claim: Arc<UpdateClaim>,
    mut marks: mpsc::UnboundedReceiver<Mark>,
) {
    let mut received = Vec::new();
    while marks.recv_many(&mut received, MARKS_PER_STATEMENT).await > 0 {
        let mut handled = Vec::with_capacity(received.len());
        let mut flushes = Vec::new();
        for mark in received.drain(..) {
            match mark {
                Mark::Handled(update_id) => handled.push(update_id),
                Mark::Flush(done) => flushes.push(done),
            }
        }
        match storage.mark_updates_handled(&handled, &claim).await {
            Ok(marked) if marked < handled.len() => tracing::warn!(
                lapsed = handled.len() - marked,
                "updates whose claim had lapsed: another instance may handle them too"
            ),
            Ok(_) => {}
            // Left claimed: once the claims lapse they are handled again, which beats losing them.
            Err(e) => tracing::warn!(updates = handled.len(), error = %e, "could not mark updates handled"),
        }
        for done in flushes {
            let _ = done.send(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::Cipher;

    #[tokio::test]
    async fn stored_updates_are_taken_over_only_once_the_dispatcher_reads_the_queue() {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("inbox.db").display());
        let storage = Storage::connect(&url, Cipher::ephemeral())
            .await
            .expect("open the database");
        // Stored by an instance that died before handling it: its claim has lapsed.
        let died = UpdateClaim::new(Duration::from_millis(1));
        let body = r#"{"update_id": 41, "message": {"message_id": 1, "date": 0,
            "chat": {"id": 7, "type": "private", "first_name": "Ada"},
            "from": {"id": 7, "is_bot": false, "first_name": "Ada"}, "text": "/help"}}"#;
        assert!(storage.store_update(41, body, &died).await.unwrap());
        tokio::time::sleep(Duration::from_millis(5)).await;

        // An instance waiting for its turn to poll: its dispatcher reads nothing, so it leaves
        // the update for one that does, however many upkeep rounds pass (one per 100 ms here).
        let (inbox, mut receiver) = Inbox::open(storage.clone(), Duration::from_millis(300))
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(450)).await;
        assert!(
            receiver.0.try_recv().is_err(),
            "not taken over while not dispatching"
        );

        inbox.start_taking_over().await;
        let update = receiver.0.try_recv().expect("taken over once dispatching");
        assert_eq!(update.id.0, 41);
    }
}
