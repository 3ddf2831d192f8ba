//! `pixverse-bot copy-database --from sqlite://bot.db --to postgres://…`: moves a SQLite database
//! to PostgreSQL once, before the bot runs on PostgreSQL (see README "Running several
//! instances"). Either side may be left out and is then `DATABASE_URL`.

use anyhow::{Context, bail};
use secrecy::SecretString;

use crate::storage::{
    Cipher, Storage, copy_sqlite_to_postgres, is_postgres_url, key_file_for, lock_database, sqlite_file,
};

/// The subcommand's name, as the first argument.
pub const COMMAND: &str = "copy-database";

const USAGE: &str = "usage: pixverse-bot copy-database --from sqlite://<file> --to postgres://<database>\n\
                     (either side left out is DATABASE_URL)";

/// Runs the copy with `args` (after the subcommand's name); returns what to print.
pub async fn run(args: &[String], lookup: impl Fn(&str) -> Option<String>) -> anyhow::Result<String> {
    let (mut from, mut to) = (None, None);
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let slot = match arg.as_str() {
            "--from" => &mut from,
            "--to" => &mut to,
            other => bail!("unknown argument `{other}`\n{USAGE}"),
        };
        *slot = Some(
            args.next()
                .with_context(|| format!("{arg} needs a database URL\n{USAGE}"))?
                .clone(),
        );
    }
    let database_url = lookup("DATABASE_URL").filter(|url| !url.trim().is_empty());
    let (Some(from), Some(to)) = (from.or(database_url.clone()), to.or(database_url)) else {
        bail!("name both databases\n{USAGE}");
    };
    if !is_postgres_url(&to) {
        bail!("--to must be a PostgreSQL URL (postgres://…), not `{to}`\n{USAGE}");
    }
    let Some(path) = sqlite_file(&from) else {
        bail!("--from must be a SQLite file URL (sqlite://<file>), not `{from}`\n{USAGE}");
    };
    if !path.exists() {
        bail!("there is no SQLite database at {}", path.display());
    }
    // Held until the copy is done: a running bot refuses the copy, and no bot starts on the file
    // meanwhile (its writes after the copy would be left behind).
    let _lock = lock_database(&path)?;
    let key_note = check_key(&from, &path, &lookup).await?;
    let copied = copy_sqlite_to_postgres(&from, &to)
        .await
        .context("the copy failed; no row was written to PostgreSQL")?;
    let mut report = format!("copied {} into PostgreSQL:\n", path.display());
    for (table, rows) in &copied {
        report.push_str(&format!("  {table:<18} {rows:>9} rows\n"));
    }
    report.push_str(&key_note);
    Ok(report)
}

/// The credentials are copied sealed: the PostgreSQL instances need the key that sealed them.
/// Checks that `SECRET_KEY`, or else the key file beside the SQLite file, opens them, and says
/// which key the instances need.
async fn check_key(
    from: &str,
    path: &std::path::Path,
    lookup: &impl Fn(&str) -> Option<String>,
) -> anyhow::Result<String> {
    let key_file = key_file_for(path);
    let (cipher, note) = match lookup("SECRET_KEY").filter(|key| !key.trim().is_empty()) {
        Some(key) => (
            Cipher::from_base64(&SecretString::from(key))?,
            "The credentials stay sealed with this SECRET_KEY: run every PostgreSQL instance with it.\n"
                .to_owned(),
        ),
        None if key_file.exists() => (
            Cipher::from_key_file(&key_file)?,
            format!(
                "The credentials stay sealed with the key in {}: run every PostgreSQL instance with \
                 SECRET_KEY set to that file's content.\n",
                key_file.display()
            ),
        ),
        // No key at all: the bot never ran on this file with credentials to seal.
        None => return Ok(String::new()),
    };
    // Opening the database checks that the key opens a stored secret (and applies the migrations
    // this binary has, as a start of the bot would).
    Storage::connect(from, cipher)
        .await
        .context("checking the SQLite database and its key")?
        .close()
        .await;
    Ok(note)
}
