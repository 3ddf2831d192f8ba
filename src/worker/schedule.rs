//! The poll schedule of the generating tasks, kept in memory between polls.
//!
//! While PixVerse generates a video nothing about its task changes, so nothing is written: after
//! its first poll a task is *parked* (stored as never due, one write; see
//! `Storage::park_generating`) and from then on polled from here, at the poll interval (closer
//! while its video is likely to finish: `Worker::next_poll_gap`). A poll that finds a change
//! (done, failed, past the deadline, or an error to handle) first takes the task's lease
//! (`Storage::claim_parked`) and moves it with the lease handle, fenced like every other
//! transition; a task that is no longer parked and generating (cancelled meanwhile) is not taken
//! and leaves the schedule.
//!
//! Crash story: this is only a timetable. After a restart every parked task is loaded and polled
//! once, right away; a poll that was due just before the crash is merely late.
//!
//! One process owns the database (the lock file in `app.rs`), so no other worker polls these
//! tasks; several processes sharing one database will each need their share of them.

use std::collections::BTreeSet;
use std::sync::Arc;

// Fx hashing: the keys are our own ids, not input an attacker picks, and every poll round hashes
// thousands of them.
use rustc_hash::{FxHashMap, FxHashSet};

use crate::{
    domain::{CredentialId, PoolAccountId, TaskId},
    storage::TaskRow,
};

/// The account a task is polled with: its owner's credential, or a pool account. A web account
/// answers for all its tasks with one listing call, so tasks are polled per account.
pub(super) type Account = (Option<CredentialId>, Option<PoolAccountId>);

pub(super) fn account_of(task: &TaskRow) -> Account {
    (task.credential_id, task.pool_account_id)
}

/// A generating task as the schedule knows it. Cheap to clone and to move: thousands pass
/// through the schedule every poll interval, and a poll keeps a copy of its group to put back
/// if it fails.
#[derive(Clone, Debug)]
pub(super) struct Watched {
    /// The row as of its last write (or the last time a progress edit re-read it).
    pub(super) task: Arc<TaskRow>,
    /// When a poll last saw it still generating (ms); `None` before its first such poll. Its
    /// video was done after this, which is what the learned generation time is made of.
    pub(super) seen_generating_at: Option<i64>,
}

impl Watched {
    /// A task not polled yet by this schedule.
    pub(super) fn new(task: TaskRow) -> Self {
        Self {
            task: Arc::new(task),
            seen_generating_at: None,
        }
    }
}

#[derive(Default)]
pub(super) struct Schedule {
    tasks: FxHashMap<TaskId, (Watched, i64)>,
    /// (due time in ms, task), in due order.
    due: BTreeSet<(i64, TaskId)>,
    /// Each account's tasks here: a handful (its generation slots).
    by_account: FxHashMap<Account, Vec<TaskId>>,
}

impl Schedule {
    /// Polls `watched` at `due_at` (ms); a task already here moves to the new time.
    pub(super) fn insert(&mut self, watched: Watched, due_at: i64) {
        let id = watched.task.id;
        self.remove(id);
        self.due.insert((due_at, id));
        self.by_account
            .entry(account_of(&watched.task))
            .or_default()
            .push(id);
        self.tasks.insert(id, (watched, due_at));
    }

    fn remove(&mut self, id: TaskId) -> Option<Watched> {
        let (watched, due_at) = self.tasks.remove(&id)?;
        self.due.remove(&(due_at, id));
        let account = account_of(&watched.task);
        if let Some(ids) = self.by_account.get_mut(&account) {
            ids.retain(|other| *other != id);
            if ids.is_empty() {
                self.by_account.remove(&account);
            }
        }
        Some(watched)
    }

    /// When the next task falls due (ms).
    pub(super) fn next_due(&self) -> Option<i64> {
        self.due.first().map(|(at, _)| *at)
    }

    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.tasks.len()
    }

    /// Takes out the tasks due by `now`, one group per account, each with the account's other
    /// tasks due before `now + early` that were polled before (one listing call answers for all
    /// of them, and from then on they stay in step; a first poll keeps its learned time). The
    /// poll that runs a group puts back what is still generating.
    pub(super) fn take_due(&mut self, now: i64, early: i64) -> Vec<Vec<Watched>> {
        // Each account once, in due order (a set beside the list: thousands of accounts may
        // fall due in one round).
        let mut accounts: Vec<Account> = Vec::new();
        let mut seen: FxHashSet<Account> = FxHashSet::default();
        for (_, id) in self.due.range(..=(now, TaskId(i64::MAX))) {
            let account = account_of(&self.tasks[id].0.task);
            if seen.insert(account) {
                accounts.push(account);
            }
        }
        let mut groups = Vec::with_capacity(accounts.len());
        for account in accounts {
            let ids: Vec<TaskId> = self.by_account[&account]
                .iter()
                .copied()
                .filter(|id| {
                    let (watched, due_at) = &self.tasks[id];
                    *due_at <= now || (*due_at <= now + early && watched.seen_generating_at.is_some())
                })
                .collect();
            groups.push(ids.into_iter().filter_map(|id| self.remove(id)).collect());
        }
        groups
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: i64, credential: i64) -> TaskRow {
        TaskRow {
            id: TaskId(id),
            user_id: crate::domain::UserId(1),
            chat_id: crate::domain::ChatId(1),
            request_message_id: 1,
            thread_id: None,
            progress_message_id: None,
            kind: crate::domain::TaskKind::T2v,
            prompt: String::new(),
            params: sqlx::types::Json(Default::default()),
            image_file_id: None,
            image_ref: None,
            credential_id: Some(CredentialId(credential)),
            pool_account_id: None,
            video_id: Some(id),
            video_url: None,
            state: crate::domain::TaskState::Generating,
            attempts: 0,
            next_run_at: crate::storage::PARKED,
            lease_until: None,
            last_error: None,
            wait_reason: None,
            video_file_id: None,
            seed_auto: false,
            submitted_at: Some(0),
            progress_edited_at: None,
            finished_at: None,
            created_at: 0,
            updated_at: 0,
            destination: crate::storage::DestinationKind::Telegram,
            mode_input: None,
        }
    }

    fn watched(id: i64, credential: i64) -> Watched {
        Watched {
            task: Arc::new(row(id, credential)),
            seen_generating_at: Some(0),
        }
    }

    fn ids(group: &[Watched]) -> Vec<i64> {
        group.iter().map(|w| w.task.id.0).collect()
    }

    #[test]
    fn due_tasks_come_out_per_account_with_the_accounts_nearly_due_ones() {
        let mut schedule = Schedule::default();
        schedule.insert(watched(1, 10), 100);
        schedule.insert(watched(2, 10), 140);
        schedule.insert(watched(3, 10), 400);
        schedule.insert(watched(4, 20), 150);
        schedule.insert(watched(5, 30), 90);
        // Nearly due, but never polled: its first poll keeps its (learned) time.
        schedule.insert(
            Watched {
                seen_generating_at: None,
                ..watched(6, 10)
            },
            120,
        );
        let groups = schedule.take_due(100, 50);
        let mut seen: Vec<Vec<i64>> = groups.iter().map(|g| ids(g)).collect();
        seen.sort();
        // Account 10: task 1 is due, task 2 nearly; task 3 is not. Account 20 has nothing due.
        assert_eq!(seen, vec![vec![1, 2], vec![5]]);
        assert_eq!(schedule.len(), 3);
        assert_eq!(schedule.next_due(), Some(120));
    }

    #[test]
    fn a_task_inserted_again_moves_to_its_new_time() {
        let mut schedule = Schedule::default();
        schedule.insert(watched(1, 10), 100);
        schedule.insert(watched(1, 10), 300);
        assert_eq!(schedule.len(), 1);
        assert!(schedule.take_due(200, 0).is_empty());
        assert_eq!(schedule.next_due(), Some(300));
    }
}
