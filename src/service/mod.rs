//! The one way work is accepted, shared by both doors (the Telegram bot and the HTTP API):
//! validate, access (bans, the allowlist), per-user limits, pool quota, insert. It returns the
//! stored task or a typed [`Refusal`] that each door words itself. Nothing here knows Telegram
//! beyond the ids a [`Destination`] records.

mod admission;
mod effects;
mod modes;

pub use modes::MAX_AUDIO_BYTES;
mod order;
mod refusal;

use std::{collections::HashSet, sync::Arc, time::Duration};

use tokio::sync::Notify;

use modes::{Account, ModeParts, ResolvedMode, mode_parts};

pub use admission::{Admission, admission};
pub use effects::{EffectsError, EffectsPage, effects_page, find_effect, listing_key};
pub use order::{
    AudioSource, Destination, FusionRef, ImageSource, ModeOrder, PLACEHOLDER_USERS, Spec, WorkOrder,
    is_placeholder,
};
pub use refusal::Refusal;

use crate::{
    domain::{
        ChatId, CredentialId, GenerationParams, MAX_SEED, Prompt, RequestError, TaskKind, UserId,
        parse_request,
    },
    storage::{
        AcceptFacts, Ceilings, DestinationKind, LimitWindows, NewTask, Storage, StorageError, UpdateOutcome,
        now_ms, utc_day_start,
    },
};

/// Telegram's `getFile` serves at most 20 MB, and PixVerse takes images below 20 MB.
pub const MAX_IMAGE_BYTES: u64 = 20 * 1024 * 1024;

const HOUR_MS: i64 = 60 * 60 * 1000;
const DAY_MS: i64 = 24 * HOUR_MS;
/// How often an insert that lost a race re-reads the facts before it gives up (each loss means
/// another request of the same user took a place, or freed one, in between).
const RACE_RETRIES: usize = 3;

/// The per-user limits, from the configuration.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Unfinished tasks one user may have at once (`USER_MAX_IN_FLIGHT`).
    pub max_in_flight: u32,
    /// Tasks one user may request per rolling hour (`USER_MAX_PER_HOUR`).
    pub max_per_hour: u32,
    /// Default videos per user per UTC day on the pool (`POOL_DAILY_QUOTA`).
    pub pool_daily_quota: i64,
}

/// Why `accept` stored nothing.
#[derive(Debug, thiserror::Error)]
pub enum AcceptError {
    /// A rule said no; the door tells the requester.
    #[error("request refused: {0:?}")]
    Refused(Refusal),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl From<Refusal> for AcceptError {
    fn from(refusal: Refusal) -> Self {
        AcceptError::Refused(refusal)
    }
}

/// A stored, queued task. Dropping it wakes the worker: the door first does what must exist
/// before the worker's first step (the bot's progress message the worker edits), then lets go.
#[must_use = "dropping it wakes the worker; do what the worker needs first"]
pub struct Accepted {
    pub task_id: i64,
    /// The seed the task will use (picked by the service when the request left it open).
    pub seed: u32,
    /// An earlier handling of the same Telegram update accepted the task and posted its
    /// progress message (it died before the update was marked handled): nothing more to say.
    pub already_answered: bool,
    wake_worker: Arc<Notify>,
}

impl Drop for Accepted {
    fn drop(&mut self) {
        self.wake_worker.notify_one();
    }
}

#[derive(Clone)]
pub struct Service {
    storage: Storage,
    wake_worker: Arc<Notify>,
    admin_ids: Arc<HashSet<i64>>,
    limits: Limits,
}

impl Service {
    pub fn new(storage: Storage, wake_worker: Arc<Notify>, admin_ids: HashSet<i64>, limits: Limits) -> Self {
        Service {
            storage,
            wake_worker,
            admin_ids: Arc::new(admin_ids),
            limits,
        }
    }

    pub fn limits(&self) -> Limits {
        self.limits
    }

    pub fn is_admin(&self, user_id: i64) -> bool {
        self.admin_ids.contains(&user_id)
    }

    /// Wakes the worker for work that did not come through `accept` (tasks held for a login
    /// that can go on now).
    pub fn wake_worker(&self) {
        self.wake_worker.notify_one();
    }

    /// The access rule for `user_id` asking from `group_chat` (a Telegram group) or from
    /// elsewhere (a private chat, the HTTP API). For doors that act without storing a task
    /// (buttons that re-send or change settings); `accept` checks the same rule itself.
    pub async fn admission(&self, user_id: i64, group_chat: Option<i64>) -> Result<Admission, StorageError> {
        if is_placeholder(user_id) {
            return Ok(Admission::NotAllowed);
        }
        let access = self.storage.user_access(user_id).await?;
        let mode = self.storage.access_mode().await?;
        // The group lookup only when it decides something.
        let by_group = mode == crate::storage::AccessMode::Allowlist
            && !self.is_admin(user_id)
            && !access.allowed
            && !access.banned
            && match group_chat {
                Some(chat) => self.storage.is_group_allowed(chat).await?,
                None => self.storage.member_of_allowed_group(user_id).await?,
            };
        Ok(admission(self.is_admin(user_id), &access, mode, by_group))
    }

    /// Checks `order` against every rule and stores it as a queued task.
    ///
    /// One Telegram update gets one answer, however often it is handled (its run died before it
    /// was marked handled, or its claim lapsed while the run went on; see `telegram/inbox.rs`):
    /// the task an earlier handling queued, or the refusal it gave when that could change (a
    /// limit, access, the account), recorded with the update. Without the record, a request
    /// refused at the in-flight limit and handled again once a place was free would queue the
    /// video the user was told no to (and they, told to send it again, would get it twice).
    #[tracing::instrument(skip_all, fields(user_id = order.requester, kind = order.kind.as_str()))]
    pub async fn accept(&self, order: WorkOrder) -> Result<Accepted, AcceptError> {
        let requester = order.requester;
        let source_update = order.destination.source_update();
        match (self.check_and_store(order).await, source_update) {
            (Err(AcceptError::Refused(refusal)), Some(update_id)) if refusal.may_change() => {
                self.record_refusal(update_id, requester, refusal).await
            }
            (outcome, _) => outcome,
        }
    }

    /// Records `refusal` as the answer to `update_id`, unless another handling of it queued its
    /// task meanwhile; answers as the update's recorded outcome says.
    async fn record_refusal(
        &self,
        update_id: i64,
        requester: i64,
        refusal: Refusal,
    ) -> Result<Accepted, AcceptError> {
        let json = serde_json::to_string(&refusal).expect("a refusal that may change serializes");
        match self.storage.record_refusal(update_id, requester, &json).await? {
            Some(outcome) => self.answer_as(update_id, outcome).unwrap_or(Err(refusal.into())),
            // Not in the inbox (nothing to key on): this handling's own answer.
            None => Err(refusal.into()),
        }
    }

    /// The answer an update's recorded outcome gives: its task (already answered if its progress
    /// message was posted), or its refusal. `None` for a refusal this build cannot read.
    fn answer_as(&self, update_id: i64, outcome: UpdateOutcome) -> Option<Result<Accepted, AcceptError>> {
        match outcome {
            UpdateOutcome::Task(task) => {
                tracing::info!(
                    task_id = task.task_id,
                    update_id,
                    "this update's task was accepted before"
                );
                Some(Ok(Accepted {
                    task_id: task.task_id,
                    seed: task.seed.unwrap_or_default(),
                    already_answered: task.progress_posted,
                    wake_worker: self.wake_worker.clone(),
                }))
            }
            UpdateOutcome::Refused(json) => match serde_json::from_str::<Refusal>(&json) {
                Ok(refusal) => {
                    tracing::info!(update_id, "this update was refused before");
                    Some(Err(refusal.into()))
                }
                Err(error) => {
                    tracing::warn!(update_id, %error, "an earlier refusal could not be read");
                    None
                }
            },
        }
    }

    /// What an earlier handling of the order's update decided, as `facts` read it, if it did.
    async fn earlier_answer(
        &self,
        facts: &AcceptFacts,
        source_update: Option<i64>,
    ) -> Result<Option<Result<Accepted, AcceptError>>, AcceptError> {
        let Some(update_id) = source_update else {
            return Ok(None);
        };
        let outcome = if facts.update_task_id.is_some() {
            self.storage
                .task_of_update(update_id)
                .await?
                .map(UpdateOutcome::Task)
        } else {
            facts.update_refusal.clone().map(UpdateOutcome::Refused)
        };
        Ok(outcome.and_then(|outcome| self.answer_as(update_id, outcome)))
    }

    /// Every rule, then the insert (see `accept`).
    async fn check_and_store(&self, order: WorkOrder) -> Result<Accepted, AcceptError> {
        let WorkOrder {
            requester,
            destination,
            kind,
            spec,
            image,
            mode: mode_order,
            effect,
        } = order;
        let kind = mode_order.as_ref().map_or(kind, ModeOrder::kind);
        if kind.is_mode() && mode_order.is_none() {
            // A mode without the video it works on.
            return Err(Refusal::SourceNotFound { kind }.into());
        }
        if is_placeholder(requester) {
            return Err(Refusal::AnonymousSender.into());
        }
        let is_admin = self.is_admin(requester);
        let now = now_ms();
        let windows = LimitWindows {
            hour_start: now - HOUR_MS,
            day_start: utc_day_start(now),
        };
        // Limits, credential, quota and access in one statement: see `storage/accept.rs`.
        let source_update = destination.source_update();
        let facts = self
            .storage
            .accept_facts(requester, destination.group_chat(), source_update, windows)
            .await?;
        if let Some(answer) = self.earlier_answer(&facts, source_update).await? {
            return answer;
        }
        let mode = self.storage.access_mode().await?;
        match admission(is_admin, &facts.access(), mode, facts.admitted_by_group) {
            Admission::Admitted => {}
            Admission::Banned => return Err(Refusal::Banned.into()),
            Admission::NotAllowed => return Err(Refusal::NotAllowed.into()),
        }
        if image.is_some() != (kind == TaskKind::I2v) {
            return Err(Refusal::ImageMismatch { kind }.into());
        }
        let (prompt, mut params) = self.validate(requester, kind, spec).await?;
        if let Some(template_id) = effect {
            params.template_id = Some(template_id);
        }
        if params.template_id.is_some() && kind != TaskKind::I2v {
            // PixVerse applies a template to an image-to-video only.
            return Err(Refusal::ImageMismatch { kind }.into());
        }
        let (mode_input, mode_upload, images, account) = match mode_order {
            None => (None, None, Vec::new(), Account::Any),
            Some(order) => {
                let ResolvedMode { source, account } = self.resolve_mode(requester, &order).await?;
                let ModeParts {
                    input,
                    upload,
                    images,
                } = mode_parts(order, source, &prompt)?;
                (Some(input), upload, images, account)
            }
        };
        if let Some(image) = &image
            && image.size() > MAX_IMAGE_BYTES
        {
            return Err(Refusal::ImageTooLarge {
                max_bytes: MAX_IMAGE_BYTES,
            }
            .into());
        }
        let mut decision = self.decide(&facts, is_admin, now, account)?;
        // Refused now rather than failed later in the worker, which gives such work only a
        // pool account with an API key.
        if decision.credential_id.is_none()
            && account == Account::Any
            && !facts.pool_has_api_key
            && let Some(kind) = needs_api_key(kind, &params)
        {
            return Err(Refusal::PoolNeedsApiKey { kind }.into());
        }
        if decision.credential_id.is_some() && facts.credential_is_web == Some(true) {
            if kind.is_mode() {
                return Err(Refusal::NeedsApiKey { kind }.into());
            }
            // `--sfx` and effect templates are Platform API fields: the web surface has none.
            if params.sound_effect.is_some() {
                return Err(Refusal::NeedsApiKey {
                    kind: TaskKind::Sound,
                }
                .into());
            }
            if params.template_id.is_some() {
                return Err(Refusal::NeedsApiKey { kind }.into());
            }
        }

        // A seed we pick is a seed we can show; PixVerse would pick one at random anyway.
        let seed_auto = params.seed.is_none();
        let seed = *params
            .seed
            .get_or_insert_with(|| rand::random::<u32>() % (MAX_SEED + 1));
        let (image_file_id, upload) = image.map(ImageSource::into_stored).unwrap_or_default();
        // A task has at most one upload: the i2v image or the lip-sync audio.
        let upload = upload.or(mode_upload);
        let (chat_id, request_message_id, thread_id, source_update, destination_kind) = match destination {
            Destination::Telegram {
                chat_id,
                request_message_id,
                thread_id,
                source_update,
            } => (
                chat_id,
                request_message_id,
                thread_id,
                source_update,
                DestinationKind::Telegram,
            ),
            Destination::Api => (0, 0, None, None, DestinationKind::Api),
        };
        let mut task = NewTask {
            user_id: UserId(requester),
            chat_id: ChatId(chat_id),
            request_message_id,
            thread_id,
            kind,
            prompt,
            params,
            image_file_id,
            credential_id: decision.credential_id.map(CredentialId),
            seed_auto,
            mode_input,
            source_update,
            pool_account_id: match account {
                Account::Pool(pool) => Some(pool),
                Account::Any | Account::Own(_) => None,
            },
        };
        // Crash story: the task is stored before any door says anything, so a crash from here
        // on loses nothing; at worst the requester sees no "queued" answer but gets the video.
        // The insert re-checks the limits in its own statement (see `insert_task_within`): when
        // a simultaneous request took the last place, the facts are read again for the reason.
        for _ in 0..RACE_RETRIES {
            let inserted = self
                .storage
                .insert_task_within(
                    &task,
                    destination_kind,
                    upload.as_ref(),
                    &images,
                    decision.ceilings,
                    windows,
                )
                .await?;
            if let Some(task_id) = inserted {
                tracing::info!(task_id, "task accepted");
                return Ok(Accepted {
                    task_id,
                    seed,
                    already_answered: false,
                    wake_worker: self.wake_worker.clone(),
                });
            }
            // Another handling of the same update queued its task or recorded its refusal.
            let facts = self
                .storage
                .accept_facts(requester, destination.group_chat(), source_update, windows)
                .await?;
            if let Some(answer) = self.earlier_answer(&facts, source_update).await? {
                return answer;
            }
            decision = self.decide(&facts, is_admin, now, account)?;
            task.credential_id = decision.credential_id.map(CredentialId);
        }
        // Places keep being taken and freed under us; say the limit that moved last.
        Err(Refusal::TooManyInFlight {
            limit: self.limits.max_in_flight,
        }
        .into())
    }

    /// The prompt and parameters of `spec`, checked; a chat text is read over the requester's
    /// saved settings.
    async fn validate(
        &self,
        requester: i64,
        kind: TaskKind,
        spec: Spec,
    ) -> Result<(String, GenerationParams), AcceptError> {
        let invalid = |error| Refusal::Invalid { kind, error };
        let (prompt, params) = match spec {
            Spec::Text(text) => {
                let settings = self.storage.settings_of(requester).await?;
                parse_request(&text, &settings).map_err(invalid)?
            }
            Spec::Given { prompt, params } => {
                let prompt = Prompt::parse(&prompt).map_err(|e| invalid(RequestError::Prompt(e)))?;
                if let Some(negative) = &params.negative_prompt {
                    Prompt::parse(negative).map_err(|e| invalid(RequestError::Prompt(e)))?;
                }
                params.validate().map_err(|e| invalid(RequestError::Param(e)))?;
                (prompt, params)
            }
        };
        Ok((prompt.into_inner(), params))
    }

    /// The limits, then the account the task runs on (the requester's own first; without one
    /// the shared pool, within the daily quota; the pool account itself is chosen by the
    /// worker at submit time). A mode task runs where its source video was made.
    fn decide(
        &self,
        facts: &AcceptFacts,
        is_admin: bool,
        now: i64,
        account: Account,
    ) -> Result<Decision, Refusal> {
        let limits = self.limits;
        if facts.in_flight >= i64::from(limits.max_in_flight) {
            return Err(Refusal::TooManyInFlight {
                limit: limits.max_in_flight,
            });
        }
        if facts.last_hour >= i64::from(limits.max_per_hour) {
            // A place frees when the oldest task of the window leaves it.
            let frees_at = facts.oldest_in_hour.unwrap_or(now) + HOUR_MS;
            return Err(Refusal::HourlyLimit {
                limit: limits.max_per_hour,
                retry_in: Duration::from_millis((frees_at - now).max(0) as u64),
            });
        }
        let pool = || {
            if is_admin {
                return Ok((None, None));
            }
            let quota = facts.daily_quota.unwrap_or(limits.pool_daily_quota);
            if facts.pool_used_today >= quota {
                return Err(Refusal::PoolQuota {
                    limit: quota,
                    resets_in: quota_resets_in(now),
                });
            }
            Ok((None, Some(quota)))
        };
        let (credential_id, pool_quota) = match (account, facts.credential_id) {
            (Account::Pool(_), _) => pool()?,
            (Account::Own(wanted), Some(own)) if wanted.0 != own => return Err(Refusal::SourceOtherAccount),
            (Account::Own(_), None) => return Err(Refusal::SourceOtherAccount),
            (Account::Any | Account::Own(_), Some(own)) if facts.credential_usable(now) => (Some(own), None),
            (Account::Any | Account::Own(_), Some(_expired_or_refused)) => {
                return Err(Refusal::ReconnectAccount);
            }
            (Account::Any, None) if facts.pool_is_empty => return Err(Refusal::NeedAccount),
            (Account::Any, None) => pool()?,
        };
        Ok(Decision {
            credential_id,
            ceilings: Ceilings {
                max_in_flight: i64::from(limits.max_in_flight),
                max_per_hour: i64::from(limits.max_per_hour),
                pool_quota,
            },
        })
    }
}

/// The kind named when `kind` with `params` needs a Platform API key (a further mode, `--sfx`,
/// an effect template); `None` when any account can make it.
fn needs_api_key(kind: TaskKind, params: &GenerationParams) -> Option<TaskKind> {
    if kind.is_mode() || params.template_id.is_some() {
        Some(kind)
    } else if params.sound_effect.is_some() {
        Some(TaskKind::Sound)
    } else {
        None
    }
}

/// Which account a task runs on and the limits its insert must still be under.
struct Decision {
    credential_id: Option<i64>,
    ceilings: Ceilings,
}

/// Time from `now` until the pool quota resets (the next UTC midnight).
pub fn quota_resets_in(now: i64) -> Duration {
    let next = utc_day_start(now) + DAY_MS;
    Duration::from_millis((next - now).max(0) as u64)
}
