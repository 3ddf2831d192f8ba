//! One process per SQLite database: an exclusive lock on a file beside it, held while the bot
//! runs. Two processes on one database would both claim, submit and deliver the same tasks
//! (the leases assume one worker per database; several come with PostgreSQL).

use std::{
    fs::{File, OpenOptions, TryLockError},
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use super::StorageError;

/// How long a start waits for a lock that is about to be released (a process that is just
/// exiting, e.g. a restart right after a crash) before it refuses.
const RELEASE_WAIT: Duration = Duration::from_secs(2);

/// The held lock; dropping it (or the process ending, however it ends) releases it.
#[derive(Debug)]
pub struct DatabaseLock {
    _file: File,
}

/// The lock file that sits beside a database file.
pub fn lock_file_for(database_path: &Path) -> PathBuf {
    let mut name = database_path.as_os_str().to_owned();
    name.push(".lock");
    name.into()
}

/// Takes the database's lock, or says in one line that another process holds it.
pub fn lock_database(database_path: &Path) -> Result<DatabaseLock, StorageError> {
    let path = lock_file_for(database_path);
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| StorageError::Locked(format!("cannot open the lock file {}: {e}", path.display())))?;
    let started = Instant::now();
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(DatabaseLock { _file: file }),
            Err(TryLockError::WouldBlock) if started.elapsed() < RELEASE_WAIT => {
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(TryLockError::WouldBlock) => {
                return Err(StorageError::Locked(format!(
                    "another pixverse-bot process is using the database {} (it holds {}); stop it first",
                    database_path.display(),
                    path.display()
                )));
            }
            Err(TryLockError::Error(e)) => {
                return Err(StorageError::Locked(format!(
                    "cannot lock {}: {e}",
                    path.display()
                )));
            }
        }
    }
}
