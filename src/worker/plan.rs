//! Planning a round: claim the due tasks and turn them into steps, handing out generation slots
//! fairly between users and within each account's limit.

use std::collections::HashMap;

use crate::{
    domain::{CredentialId, TaskState, UserId},
    storage::{Held, TaskLease, now_ms},
};

use super::Worker;
use super::schedule::Watched;

/// A unit of work in a round: one submit, one delivery, or one status poll for the due
/// generating tasks of an account (a web account answers all of them with one listing call).
pub(super) enum Step {
    Submit(TaskLease),
    /// Parked tasks from the in-memory schedule: no lease until a poll finds a change.
    Poll(Vec<Watched>),
    Deliver(TaskLease),
}

impl Step {
    /// The tasks this step holds, to count a failed attempt against them if it errs.
    pub(super) fn held(&self) -> Vec<Held> {
        match self {
            Step::Submit(lease) | Step::Deliver(lease) => vec![lease.held()],
            Step::Poll(_) => Vec::new(),
        }
    }
}

/// Due tasks in turns: a user's first waiting task counts after the generations they were served
/// in the last hour, and every user's n-th task comes before anyone's (n+1)-th. So one user's
/// backlog does not delay another user's single task.
fn fair_order(mut tasks: Vec<TaskLease>, served: &HashMap<UserId, i64>) -> Vec<TaskLease> {
    tasks.sort_by_key(|t| (t.task().next_run_at, t.id()));
    let mut turns: HashMap<UserId, i64> = HashMap::new();
    let mut ranked: Vec<(i64, TaskLease)> = tasks
        .into_iter()
        .map(|t| {
            let user = t.task().user_id;
            let turn = turns
                .entry(user)
                .or_insert_with(|| served.get(&user).copied().unwrap_or(0));
            *turn += 1;
            (*turn, t)
        })
        .collect();
    ranked.sort_by_key(|(turn, _)| *turn);
    ranked.into_iter().map(|(_, t)| t).collect()
}

impl Worker {
    /// Claims the due tasks (with a lease; only when `claim`) and groups them into steps, with
    /// the polls the in-memory schedule has due; also says whether the claim was full (more
    /// tasks may be due).
    pub(super) async fn plan_round(&self, claim: bool) -> anyhow::Result<(Vec<Step>, bool)> {
        let limit = (self.settings.concurrency * 64) as i64;
        let claimed = if claim {
            self.storage.claim_due_tasks(limit, self.settings.lease).await?
        } else {
            Vec::new()
        };
        let Some(first) = claimed.first() else {
            return Ok((self.due_polls(), false));
        };
        self.claims
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(first.claim());
        let full = claimed.len() as i64 >= limit;
        let wants_slot = |t: &TaskLease| matches!(t.task().state, TaskState::Queued | TaskState::Submitting);
        // Only the users who have a task waiting for a slot matter to the slot counts below.
        let mut waiting_users: Vec<UserId> = claimed
            .iter()
            .filter(|t| wants_slot(t))
            .map(|t| t.task().user_id)
            .collect();
        waiting_users.sort_unstable();
        waiting_users.dedup();
        // Free generation slots per account, filled in fair order; the rest wait for a slot
        // here instead of being refused by PixVerse (500044 stays handled as a fallback).
        let mut busy: HashMap<Option<CredentialId>, i64> = HashMap::new();
        let mut served: HashMap<UserId, i64> = HashMap::new();
        if !waiting_users.is_empty() {
            busy.extend(self.storage.generating_per_credential(&waiting_users).await?);
            let hour_ago = now_ms() - 60 * 60 * 1000;
            served.extend(
                self.storage
                    .recent_starts_per_user(&waiting_users, hour_ago)
                    .await?,
            );
        }
        let mut steps = Vec::new();
        // Generating tasks due to a claim (the first poll, or one after a retry): parked in the
        // in-memory schedule, due now.
        let mut to_park: Vec<TaskLease> = Vec::new();
        // Tasks that wait for a slot: given back in one write.
        let mut no_slot: Vec<TaskLease> = Vec::new();
        let mut pool_free: Option<i64> = None;
        for lease in fair_order(claimed, &served) {
            let task = lease.task();
            match task.state {
                // A submit under way holds its slot (and, on the pool, its account) already: its
                // outcome may be unknown, and only the same account and trace id can settle it
                // without a second charge. It never waits for a slot.
                TaskState::Submitting => steps.push(Step::Submit(lease)),
                // Pool tasks: as many as the pool has free slots, in fair order; the account itself
                // is picked at submit time (`assign_pool_account`).
                TaskState::Queued if task.credential_id.is_none() => {
                    let free = match pool_free {
                        Some(free) => free,
                        // No usable account at all: the submit step fails the task with why.
                        None => *pool_free.insert(self.storage.pool_free_slots().await?.unwrap_or(i64::MAX)),
                    };
                    if free > 0 {
                        pool_free = Some(free - 1);
                        steps.push(Step::Submit(lease));
                    } else {
                        no_slot.push(lease);
                    }
                }
                TaskState::Queued => {
                    let used = busy.entry(task.credential_id).or_default();
                    if *used >= i64::from(self.settings.account_concurrency) {
                        no_slot.push(lease);
                    } else {
                        *used += 1;
                        steps.push(Step::Submit(lease));
                    }
                }
                TaskState::Generating => to_park.push(lease),
                TaskState::Delivering => steps.push(Step::Deliver(lease)),
                TaskState::Delivered | TaskState::Failed => {}
            }
        }
        self.storage
            .wait_for_slot(no_slot, now_ms() + self.slot_recheck())
            .await?;
        self.park(to_park).await?;
        steps.extend(self.due_polls());
        Ok((steps, full))
    }

    /// Hands claimed generating tasks to the in-memory schedule, due now (one write for all).
    async fn park(&self, leases: Vec<TaskLease>) -> anyhow::Result<()> {
        if leases.is_empty() {
            return Ok(());
        }
        let rows: Vec<_> = leases.iter().map(|l| l.task().clone()).collect();
        self.storage.park_generating(leases).await?;
        let now = now_ms();
        let mut schedule = self.schedule.lock().unwrap_or_else(|e| e.into_inner());
        for mut task in rows {
            task.next_run_at = crate::storage::PARKED;
            task.wait_reason = None;
            task.lease_until = None;
            schedule.insert(Watched::new(task), now);
        }
        Ok(())
    }

    /// The polls the in-memory schedule has due, one per account.
    fn due_polls(&self) -> Vec<Step> {
        let early = self.settings.poll_interval.as_millis() as i64 / 2;
        self.schedule
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take_due(now_ms(), early)
            .into_iter()
            .map(Step::Poll)
            .collect()
    }
}
