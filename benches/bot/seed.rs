//! What the scenarios start from: users, credentials (logged in at the fake PixVerse, sealed with
//! `SECRET_KEY`), progress messages at the fake Telegram and tasks, all written through the
//! storage API the bot itself uses: a task is inserted as a handler does, and one that is already
//! generating got there by the worker's own transitions (claim, submitting, generating).

use std::{collections::HashMap, time::Duration};

use futures_util::{StreamExt, stream};
use pixverse_bot::{
    domain::{ChatId, CredentialId, GenerationParams, TaskId, TaskKind, UserId},
    pixverse::PixverseClient,
    storage::{CredentialKind, NewTask, PoolPick, SeenUser, Storage, now_ms},
};
use secrecy::SecretString;

use crate::harness::{Fakes, OPERATOR_KEY};
use crate::support::fake_telegram::TgChat;

/// Who owns the seeded tasks of scenario 2.
pub struct Population {
    pub web_accounts: usize,
    pub key_accounts: usize,
    pub generating_per_account: usize,
    pub queued_per_web_account: usize,
    /// Users without a credential of their own, one task each on the shared pool (the operator's
    /// key, `operator`): the first `generating_per_account` generate on it, the rest wait for a
    /// pool slot.
    pub pool_users: usize,
}

impl Population {
    pub fn tasks(&self) -> usize {
        self.web_accounts * (self.generating_per_account + self.queued_per_web_account)
            + self.key_accounts * self.generating_per_account
            + self.pool_users
    }
}

/// One task to seed.
struct Planned {
    user_id: i64,
    credential_id: Option<CredentialId>,
    /// Generating on the operator's pool account (a pool task PixVerse accepted).
    on_pool: bool,
    /// The video the fake PixVerse is making for it; `None`: still queued.
    video_id: Option<i64>,
    progress_message_id: i32,
}

const PASSWORD: &str = "pw-123456";

async fn bench_user(storage: &Storage, user_id: i64) {
    storage
        .upsert_user(&SeenUser {
            id: user_id,
            username: None,
            first_name: "Bench",
            language: Some("en"),
            in_private_chat: true,
        })
        .await
        .expect("user");
}

/// A user logged in with a web account `name` at the fake (created there); their credential id.
async fn web_user(
    fakes: &Fakes,
    storage: &Storage,
    client: &PixverseClient,
    user_id: i64,
    name: &str,
) -> i64 {
    bench_user(storage, user_id).await;
    fakes.px.add_web_account(name, PASSWORD);
    let login = client
        .login(name, &SecretString::from(PASSWORD))
        .await
        .expect("login at the fake");
    storage
        .save_credential(
            user_id,
            CredentialKind::Web,
            name,
            &login.token,
            login.expires_at.map(|s| s * 1000),
        )
        .await
        .expect("credential")
}

/// A user with a Platform API key `key` (created at the fake); their credential id.
async fn key_user(fakes: &Fakes, storage: &Storage, user_id: i64, key: &str) -> i64 {
    bench_user(storage, user_id).await;
    fakes.px.add_api_key(key);
    storage
        .save_credential(
            user_id,
            CredentialKind::ApiKey,
            &key[key.len() - 4..],
            &SecretString::from(key.to_owned()),
            None,
        )
        .await
        .expect("credential")
}

/// `count` users (ids from `first_user_id`), each logged in with a web account of their own
/// (`{prefix}{i}`).
pub async fn seed_web_users(fakes: &Fakes, first_user_id: i64, count: usize, prefix: &str) {
    let storage = fakes.storage().await;
    let client = PixverseClient::new(&fakes.px.url(), &fakes.px.upload_url()).expect("client");
    for i in 0..count {
        web_user(
            fakes,
            &storage,
            &client,
            first_user_id + i as i64,
            &format!("{prefix}{i}"),
        )
        .await;
    }
    storage.close().await;
}

/// `count` users (ids from `first_user_id`), each with a Platform API key of their own
/// (`{prefix}{i}`).
pub async fn seed_key_users(fakes: &Fakes, first_user_id: i64, count: usize, prefix: &str) {
    let storage = fakes.storage().await;
    for i in 0..count {
        key_user(
            fakes,
            &storage,
            first_user_id + i as i64,
            &format!("{prefix}{i:04}"),
        )
        .await;
    }
    storage.close().await;
}

/// Seeds scenario 2: the population's users and credentials, and its tasks, generating at the
/// fake PixVerse or queued, each with a progress message at the fake Telegram.
pub async fn seed_in_flight(fakes: &Fakes, population: &Population) {
    let storage = fakes.storage().await;
    let client = PixverseClient::new(&fakes.px.url(), &fakes.px.upload_url()).expect("client");
    let mut planned: Vec<Planned> = Vec::new();

    let accounts = population.web_accounts + population.key_accounts;
    let credentials: Vec<(i64, CredentialId, String)> = stream::iter(0..accounts)
        .map(|i| {
            let (storage, client) = (&storage, &client);
            async move {
                let user_id = 1_000_000 + i as i64;
                if i < population.web_accounts {
                    let name = format!("webuser{i}");
                    let id = web_user(fakes, storage, client, user_id, &name).await;
                    (user_id, CredentialId(id), name)
                } else {
                    let key = format!("user-key-{i:06}");
                    let id = key_user(fakes, storage, user_id, &key).await;
                    (user_id, CredentialId(id), key)
                }
            }
        })
        .buffer_unordered(16)
        .collect()
        .await;
    for (user_id, credential_id, account) in &credentials {
        let chat = TgChat::Private(*user_id);
        for n in 0..population.generating_per_account {
            planned.push(Planned {
                user_id: *user_id,
                credential_id: Some(*credential_id),
                on_pool: false,
                video_id: Some(
                    fakes
                        .px
                        .add_generating_video(account, &format!("bench {user_id} {n}")),
                ),
                progress_message_id: fakes
                    .tg
                    .seed_bot_message(chat, "🎬 Generating… 0:05 (usually 30–60 s)"),
            });
        }
        if account.starts_with("webuser") {
            for _ in 0..population.queued_per_web_account {
                planned.push(Planned {
                    user_id: *user_id,
                    credential_id: Some(*credential_id),
                    on_pool: false,
                    video_id: None,
                    progress_message_id: fakes
                        .tg
                        .seed_bot_message(chat, "⏳ Accepted. Your video is queued…"),
                });
            }
        }
    }
    // The pool: the bot makes PIXVERSE_API_KEY the account `operator` at start; made here first
    // so the generating pool tasks can be given to it.
    storage
        .upsert_operator_account(&SecretString::from(OPERATOR_KEY))
        .await
        .expect("operator pool account");
    for i in 0..population.pool_users {
        let user_id = 4_000_000 + i as i64;
        bench_user(&storage, user_id).await;
        let chat = TgChat::Private(user_id);
        let generating = i < population.generating_per_account;
        planned.push(Planned {
            user_id,
            credential_id: None,
            on_pool: generating,
            video_id: generating.then(|| {
                fakes
                    .px
                    .add_generating_video(OPERATOR_KEY, &format!("bench pool {i}"))
            }),
            progress_message_id: fakes.tg.seed_bot_message(
                chat,
                if generating {
                    "🎬 Generating… 0:05 (usually 30–60 s)"
                } else {
                    "⏳ Accepted. Your video is queued…"
                },
            ),
        });
    }
    insert_tasks(&storage, planned).await;
    storage.close().await;
}

/// Inserts the tasks as a handler does, then moves the generating ones through the worker's own
/// transitions; the queued ones are given back untouched.
async fn insert_tasks(storage: &Storage, planned: Vec<Planned>) {
    let params = GenerationParams::default();
    let mut by_id: HashMap<TaskId, Planned> = HashMap::with_capacity(planned.len());
    for (i, task) in planned.into_iter().enumerate() {
        let id = storage
            .insert_task(&NewTask {
                user_id: UserId(task.user_id),
                chat_id: ChatId(task.user_id),
                request_message_id: i as i32 + 1,
                thread_id: None,
                kind: TaskKind::T2v,
                prompt: format!("bench {i}"),
                params: params.clone(),
                image_file_id: None,
                credential_id: task.credential_id,
                seed_auto: false,
                mode_input: None,
                pool_account_id: None,
                source_update: None,
            })
            .await
            .expect("insert task");
        storage
            .task_answered(id, Some(task.progress_message_id))
            .await
            .expect("progress message");
        by_id.insert(id, task);
    }
    let now = now_ms();
    let leases = storage
        .claim_due_tasks(by_id.len() as i64, Duration::from_secs(600))
        .await
        .expect("claim the seeded tasks");
    assert_eq!(leases.len(), by_id.len(), "every seeded task is due");
    for mut lease in leases {
        let task = &by_id[&lease.id()];
        let Some(video_id) = task.video_id else {
            lease.release(now).await.expect("give back a queued task");
            continue;
        };
        if task.on_pool {
            let pick = lease.assign_pool_account().await.expect("pick a pool account");
            assert!(
                matches!(pick, PoolPick::Assigned(_)),
                "a slot on the operator's account"
            );
        }
        lease.submitting(task.credential_id).await.expect("submitting");
        lease.generating(video_id, now).await.expect("generating");
    }
    // Progress messages last edited over the past ten minutes, as in a bot that has been running:
    // routine edits fall due steadily instead of all at once. No transition sets a past edit time
    // (the bot never needs one), hence this one statement of the benchmark's own.
    pixverse_bot::on_pool!(storage.writer(), |pool| sqlx::query(
        "update task set progress_edited_at = $1 - (id % 600) * 1000"
    )
    .bind(now)
    .execute(pool)
    .await
    .map(|_| ()))
    .expect("spread the progress edits");
}
