//! This instance's share of the bot's routine progress edits.
//!
//! Telegram limits the bot (about 30 messages a second), not each process, so the routine edits'
//! budget (`TELEGRAM_ROUTINE_EDITS_PER_SEC`, see `progress.rs`) is the whole bot's: each instance
//! takes an equal part, the total divided by the instances alive now, recounted every
//! [`RECOUNT`]. Every running instance holds the presence lock (`storage/instances.rs`), so
//! PostgreSQL's lock table says how many run, and an instance that dies (SIGKILL included)
//! drops out of the count with its connection. SQLite has one instance: it takes all.
//!
//! Why a share and not one token bucket in a database row: a bucket costs a write to one hot row
//! for every edit, from every instance, and a slow database would then hold up the edits; the
//! share costs one read every few seconds and no write. What it gives up: for up to one recount
//! after an instance starts the others still take their old share (a few seconds slightly over
//! budget), and an instance with few tasks in flight leaves part of its share unused.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use tokio::sync::watch;

use super::Worker;

/// How often the instances alive are counted again.
const RECOUNT: Duration = Duration::from_secs(2);

/// The bot's total and this instance's part of it, per second.
#[derive(Debug)]
pub(super) struct EditShare {
    total: f64,
    /// `f64` bits of this instance's part.
    part: AtomicU64,
}

impl EditShare {
    /// Alone until the first count.
    pub(super) fn new(total_per_sec: u32) -> EditShare {
        let total = f64::from(total_per_sec.max(1));
        EditShare {
            total,
            part: AtomicU64::new(total.to_bits()),
        }
    }

    /// This instance's routine edits per second.
    pub(super) fn per_sec(&self) -> f64 {
        f64::from_bits(self.part.load(Ordering::Relaxed))
    }

    fn set_instances(&self, instances: u32) {
        let part = self.total / f64::from(instances.max(1));
        self.part.store(part.to_bits(), Ordering::Relaxed);
    }
}

impl Worker {
    /// Counts the instances alive every [`RECOUNT`] until shutdown, and takes this one's share.
    /// Called after the instance joined the others, so the first count includes it. A failed
    /// count keeps the last share.
    pub(super) fn keep_edit_share(self: &Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        let worker = self.clone();
        tokio::spawn(async move {
            loop {
                match worker.storage.live_instances().await {
                    Ok(instances) => worker.edit_share.set_instances(instances),
                    Err(e) => tracing::debug!(error = %e, "could not count the instances alive"),
                }
                tokio::select! {
                    _ = tokio::time::sleep(RECOUNT) => {}
                    _ = shutdown.changed() => return,
                }
            }
        });
    }
}
